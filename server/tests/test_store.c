/*
 * test_store.c - the tables of store.h through db.h: users (add, duplicate, passwd, role, del,
 * list, re-hash), the change log the plugin polls, notifications (a data record stored once
 * however often it comes, msgid NULL never collides, 1 MB and non-UTF-8 payloads byte-exact),
 * QoS 2 bookkeeping, and errors: bad URLs, a locked SQLite file (SRV_EBUSY), a full one
 * (SRV_EFULL).  With --pg the same against a PostgreSQL server the test starts (SQLite-only
 * cases are skipped there).
 */
#include "testutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "srv_error.h"
#include "srvtest.h"
#include "store.h"

static const char *g_pg_url;

static struct db *open_db(char **dirp, char **urlp)
{
  char *dir = harness_tmpdir();
  char *url = g_pg_url ? srv_fmt("%s", g_pg_url) : srv_fmt("sqlite:%s/t.db", dir);
  struct db *db;
  char err[256];
  assert_int_equal(db_open(url, &db, err, sizeof(err)), 0);
  assert_int_equal(store_migrate(db), 0);
  if (g_pg_url)
    srv_db_reset(url);
  *dirp = dir;
  *urlp = url;
  return db;
}

static void collect(void *ctx, const char *user, const char *role)
{
  char *s = ctx;
  strcat(s, user);
  strcat(s, ":");
  strcat(s, role);
  strcat(s, ",");
}

static void count_change(void *ctx, const char *user)
{
  (*(int *)ctx)++;
}

static void test_users(void **state)
{
  char *dir, *url;
  struct db *db = open_db(&dir, &url);
  long long head;
  assert_int_equal(store_changes_head(db, &head), 0);
  assert_int_equal(head, 0);
  assert_int_equal(store_user_add(db, "alice", "h1"), 0);
  assert_int_equal(store_user_add(db, "alice", "h2"), -EEXIST);
  assert_int_equal(store_user_add(db, "bob", "hb"), 0);
  struct store_user u;
  assert_int_equal(store_user_get(db, "alice", &u), 0);
  assert_string_equal(u.hash, "h1");
  assert_string_equal(u.role, "user");
  assert_int_equal(store_user_get(db, "carol", &u), -ENOENT);
  assert_int_equal(store_user_set_hash(db, "alice", "h3"), 0);
  assert_int_equal(store_user_set_hash(db, "carol", "h3"), -ENOENT);
  assert_int_equal(store_user_set_role(db, "bob", "notifier"), 0);
  assert_int_equal(store_user_rehash(db, "alice", "h3", "h4"), 0);
  assert_int_equal(store_user_rehash(db, "alice", "stale", "h5"), 0);
  assert_int_equal(store_user_get(db, "alice", &u), 0);
  assert_string_equal(u.hash, "h4");
  char list[256] = "";
  assert_int_equal(store_user_list(db, collect, list), 0);
  assert_string_equal(list, "alice:user,bob:notifier,");
  assert_int_equal(store_user_del(db, "bob"), 0);
  assert_int_equal(store_user_del(db, "bob"), -ENOENT);
  /* add alice, add bob, passwd alice, role bob, del bob: five changes; re-hash is none */
  long long rev = 0;
  int n = 0;
  assert_int_equal(store_changes_since(db, &rev, count_change, &n), 0);
  assert_int_equal(n, 5);
  n = 0;
  assert_int_equal(store_changes_since(db, &rev, count_change, &n), 0);
  assert_int_equal(n, 0);
  assert_int_equal(store_changes_head(db, &head), 0);
  assert_int_equal(head, rev);
  db_close(db);
  free(url);
  free(dir);
}

static void test_notifications(void **state)
{
  char *dir, *url;
  struct db *db = open_db(&dir, &url);
  struct store_notification n = {"alice", "CAR", "data", "log.test", "t", true, 7, "rec", 3,
                                 1000, 900};
  assert_int_equal(db_begin(db), 0);
  assert_int_equal(store_notification_add(db, &n), 1);
  assert_int_equal(store_notification_add(db, &n), 0);
  n.msgid = 8;
  assert_int_equal(store_notification_add(db, &n), 1);
  n.vehicle = "CAR2";
  assert_int_equal(store_notification_add(db, &n), 1);
  struct store_notification info = {"alice", "CAR", "info", "charge.stopped", "t2", false, 0,
                                    "stopped", 7, 1000, 1000};
  assert_int_equal(store_notification_add(db, &info), 1);
  assert_int_equal(store_notification_add(db, &info), 1);
  /* 1 MB of every byte value, and ill-formed UTF-8 */
  size_t big = 1024 * 1024;
  unsigned char *p = malloc(big);
  for (size_t i = 0; i < big; i++)
    p[i] = (unsigned char)(i * 7 + 3);
  struct store_notification b = {"alice", "CAR", "info", "big", "t3", false, 0, p, big, 1, 1};
  assert_int_equal(store_notification_add(db, &b), 1);
  struct store_notification inv = {"alice", "CAR", "info", "inv", "t4", false, 0, "\xff\xfe\xc3(", 4,
                                   1, 1};
  assert_int_equal(store_notification_add(db, &inv), 1);
  assert_int_equal(db_commit(db), 0);
  assert_int_equal(srv_sql_int(url, "SELECT COUNT(*) FROM notifications"), 7);
  assert_int_equal(srv_sql_int(url, "SELECT COUNT(*) FROM notifications WHERE type = 'data'"), 3);
  assert_int_equal(srv_sql_int(url, "SELECT length(payload) FROM notifications WHERE subtype = 'big'"),
                   (long long)big);
  char *hex = srv_sql_text(url, g_pg_url ? "SELECT encode(payload, 'hex') FROM notifications "
                                            "WHERE subtype = 'inv'"
                                          : "SELECT lower(hex(payload)) FROM notifications "
                                            "WHERE subtype = 'inv'");
  assert_non_null(hex);
  assert_string_equal(hex, "fffec328");
  free(hex);
  free(p);
  db_close(db);
  free(url);
  free(dir);
}

static void test_qos2(void **state)
{
  char *dir, *url;
  struct db *db = open_db(&dir, &url);
  assert_int_equal(store_qos2_held(db, "d", 5), 0);
  assert_int_equal(store_qos2_hold(db, "d", 5), 1);
  assert_int_equal(store_qos2_hold(db, "d", 5), 0);
  assert_int_equal(store_qos2_held(db, "d", 5), 1);
  assert_int_equal(store_qos2_held(db, "other", 5), 0);
  assert_int_equal(store_qos2_release(db, "d", 5), 0);
  assert_int_equal(store_qos2_held(db, "d", 5), 0);
  /* hold + insert as one: a held id is a resend, not stored again */
  struct store_notification n = {"alice", "CAR", "data", "log.q2", "t", true, 1, "r", 1, 1, 1};
  assert_int_equal(store_notification_add_qos2(db, &n, "d", 9), 1);
  assert_int_equal(store_notification_add_qos2(db, &n, "d", 9), 0);
  n.msgid = 2;
  assert_int_equal(store_notification_add_qos2(db, &n, "d", 9), 0);
  assert_int_equal(store_qos2_release(db, "d", 9), 0);
  /* pipelined (PostgreSQL; immediate on SQLite): the same outcome, known at the end */
  assert_int_equal(db_begin(db), 0);
  assert_int_equal(db_pipeline(db, true), 0);
  assert_true(store_notification_add_qos2(db, &n, "d", 10) >= 0);
  assert_true(store_notification_add_qos2(db, &n, "d", 11) >= 0); /* same record, new id */
  assert_int_equal(store_qos2_release(db, "d", 10), 0);
  assert_int_equal(db_pipeline(db, false), 0);
  assert_int_equal(db_commit(db), 0);
  assert_int_equal(srv_sql_int(url, "SELECT COUNT(*) FROM notifications WHERE subtype = 'log.q2'"),
                   2);
  assert_int_equal(srv_sql_int(url, "SELECT COUNT(*) FROM notifyd_qos2"), 1);
  /* a failing statement in a pipeline fails the pipeline */
  assert_int_equal(db_begin(db), 0);
  assert_int_equal(db_pipeline(db, true), 0);
  struct db_val v[] = {DB_INTV(1)};
  int rc = db_exec(db, "INSERT INTO no_such_table VALUES ($1)", v, 1, NULL, NULL, NULL);
  int prc = db_pipeline(db, false);
  assert_true(rc < 0 || prc < 0);
  db_rollback(db);
  assert_false(db_pipelined(db));
  db_close(db);
  free(url);
  free(dir);
}

static void test_bad_urls(void **state)
{
  struct db *db;
  char err[256];
  assert_int_equal(db_open("mysql://x", &db, err, sizeof(err)), SRV_EURL);
  assert_int_equal(db_open("sqlite:/nonexistent-dir/x.db", &db, err, sizeof(err)), SRV_EDB);
  assert_true(strlen(err) > 0);
  assert_int_equal(db_open("sqlite:/tmp/x.db?max_page_count=abc", &db, err, sizeof(err)),
                   SRV_EURL);
  assert_int_equal(db_open("postgresql://nobody@127.0.0.1:1/none?connect_timeout=2", &db, err,
                           sizeof(err)),
                   SRV_EDB);
}

static void test_sqlite_locked_and_full(void **state)
{
  if (g_pg_url)
    skip();
  char *dir = harness_tmpdir();
  char *url = srv_fmt("sqlite:%s/t.db?busy_timeout=50", dir);
  struct db *a, *b;
  char err[256];
  assert_int_equal(db_open(url, &a, err, sizeof(err)), 0);
  assert_int_equal(db_open(url, &b, err, sizeof(err)), 0);
  assert_int_equal(store_migrate(a), 0);
  /* a holds the write lock: b's insert fails with SRV_EBUSY, nothing half-done */
  assert_int_equal(db_exec(a, "BEGIN IMMEDIATE", NULL, 0, NULL, NULL, NULL), 0);
  struct store_notification n = {"alice", "CAR", "info", "x", "t", false, 0, "p", 1, 1, 1};
  assert_int_equal(db_begin(b), 0);
  assert_int_equal(store_notification_add(b, &n), SRV_EBUSY);
  db_rollback(b);
  db_rollback(a);
  assert_int_equal(db_begin(b), 0);
  assert_int_equal(store_notification_add(b, &n), 1);
  assert_int_equal(db_commit(b), 0);
  db_close(a);
  db_close(b);
  /* a file capped at a few pages: SRV_EFULL */
  char *capped = srv_fmt("sqlite:%s/t.db?max_page_count=12", dir);
  assert_int_equal(db_open(capped, &a, err, sizeof(err)), 0);
  unsigned char big[8192] = {0};
  struct store_notification bn = {"alice", "CAR", "info", "big", "t", false, 0, big, sizeof(big),
                                  1, 1};
  int rc = 0;
  for (int i = 0; i < 20 && rc >= 0; i++)
    rc = store_notification_add(a, &bn);
  assert_int_equal(rc, SRV_EFULL);
  db_close(a);
  free(capped);
  free(url);
  free(dir);
}

int main(int argc, char **argv)
{
  struct pg pg;
  bool use_pg = argc > 1 && strcmp(argv[1], "--pg") == 0;
  if (use_pg) {
    if (pg_start(&pg) < 0)
      return TEST_SKIP_EXIT;
    g_pg_url = pg.url;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_users),    cmocka_unit_test(test_notifications),
      cmocka_unit_test(test_qos2),     cmocka_unit_test(test_bad_urls),
      cmocka_unit_test(test_sqlite_locked_and_full),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  if (use_pg)
    pg_stop(&pg);
  return rc;
}
