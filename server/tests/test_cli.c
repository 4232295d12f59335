/*
 * test_cli.c - the command lines of ovms-users and ovms-notifyd: every subcommand, exit
 * status 0 / 1 (operation failed) / 2 (bad invocation with one error and "try --help"),
 * --help on stdout with exit 0, passwords only from stdin (never an argument, never echoed),
 * a password in the broker URL refused.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "srvtest.h"

static char *users(const char *db, const char *in, int *rc, const char *a, const char *b,
                   const char *c)
{
  char *argv[] = {(char *)getenv("OVMS_USERS_BIN"), "--database", (char *)db, "--iterations",
                  "1000", (char *)a, (char *)b, (char *)c, NULL};
  char *out = NULL;
  *rc = srv_run(in, argv, &out);
  return out;
}

static void test_users(void **state)
{
  char *dir = harness_tmpdir();
  char *db = srv_fmt("sqlite:%s/u.db", dir);
  int rc;
  free(users(db, "pw-one\n", &rc, "add", "alice", NULL));
  assert_int_equal(rc, 0);
  char *o = users(db, "pw-two\n", &rc, "add", "alice", NULL);
  assert_int_equal(rc, 1);
  assert_non_null(strstr(o, "user exists: alice"));
  free(o);
  free(users(db, "pw-two\n", &rc, "add", "bob", NULL));
  free(users(db, NULL, &rc, "role", "bob", "notifier"));
  assert_int_equal(rc, 0);
  o = users(db, NULL, &rc, "list", NULL, NULL);
  assert_int_equal(rc, 0);
  assert_string_equal(o, "alice user\nbob notifier\n");
  free(o);
  free(users(db, "pw-three\n", &rc, "passwd", "alice", NULL));
  assert_int_equal(rc, 0);
  o = users(db, "x\n", &rc, "passwd", "carol", NULL);
  assert_int_equal(rc, 1);
  assert_non_null(strstr(o, "no such user: carol"));
  free(o);
  free(users(db, NULL, &rc, "del", "bob", NULL));
  assert_int_equal(rc, 0);
  free(users(db, NULL, &rc, "del", "bob", NULL));
  assert_int_equal(rc, 1);
  /* the hash, not the password, is stored */
  char *h = srv_sql_text(db, "SELECT hash FROM users WHERE username = 'alice'");
  assert_non_null(h);
  assert_memory_equal(h, "$pbkdf2-sha512$1000$", 20);
  assert_null(strstr(h, "pw-three"));
  free(h);
  /* bad invocations: exit 2 */
  const char *bad[][3] = {{"add", NULL, NULL},           {"add", "a/b", NULL},
                          {"role", "alice", "admin"},    {"frobnicate", NULL, NULL},
                          {"list", "extra", NULL},       {"add", "x", "y"}};
  for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
    o = users(db, "pw\n", &rc, bad[i][0], bad[i][1], bad[i][2]);
    if (rc != 2 || !strstr(o, "try 'ovms-users --help'"))
      fail_msg("%s: rc %d: %s", bad[i][0], rc, o);
    free(o);
  }
  o = users(db, "", &rc, "add", "dave", NULL);
  assert_int_equal(rc, 2);
  free(o);
  o = users(db, "$S$nonsense\n", &rc, "import", "erin", NULL);
  assert_int_equal(rc, 2);
  free(o);
  char *argv[] = {(char *)getenv("OVMS_USERS_BIN"), "--help", NULL};
  assert_int_equal(srv_run(NULL, argv, &o), 0);
  assert_non_null(strstr(o, "usage: ovms-users"));
  free(o);
  free(db);
  free(dir);
}

static void test_notifyd(void **state)
{
  const char *bin = getenv("OVMS_NOTIFYD_BIN");
  char *o;
  char *help[] = {(char *)bin, "--help", NULL};
  assert_int_equal(srv_run(NULL, help, &o), 0);
  assert_non_null(strstr(o, "usage: ovms-notifyd"));
  free(o);
  char *nodb[] = {(char *)bin, "--broker", "mqtt://n@127.0.0.1", NULL};
  assert_int_equal(srv_run(NULL, nodb, &o), 2);
  assert_non_null(strstr(o, "--database is required"));
  free(o);
  char *pwurl[] = {(char *)bin, "--broker", "mqtt://n:secret@127.0.0.1", "--database",
                   "sqlite:/tmp/x.db", NULL};
  assert_int_equal(srv_run(NULL, pwurl, &o), 2);
  assert_null(strstr(o, "secret"));
  free(o);
  char *badopt[] = {(char *)bin, "--batch", "0", NULL};
  assert_int_equal(srv_run(NULL, badopt, &o), 2);
  assert_non_null(strstr(o, "try 'ovms-notifyd --help'"));
  free(o);
  /* nothing listening: --once gives up with exit 1 */
  char *port = srv_fmt("mqtt://127.0.0.1:%d", harness_free_port());
  char *dir = harness_tmpdir();
  char *db = srv_fmt("sqlite:%s/n.db", dir);
  char *once[] = {(char *)bin, "--broker", port, "--database", db, "--once", NULL};
  assert_int_equal(srv_run(NULL, once, &o), 1);
  assert_non_null(strstr(o, "cannot connect"));
  free(o);
  free(port);
  free(db);
  free(dir);
}

int main(void)
{
  if (!getenv("OVMS_USERS_BIN") || !getenv("OVMS_NOTIFYD_BIN"))
    return TEST_SKIP_EXIT;
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_users), cmocka_unit_test(test_notifyd)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
