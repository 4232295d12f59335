/*
 * test_auth_core.c - the plugin's decisions without a broker, on virtual time (the now
 * argument): logins checked against the database and then answered from the cache until the
 * TTL, wrong password / unknown user refused with their reasons, failure limits per user and
 * per address and their expiry, revocation through user_changes (old password refused after
 * the next poll, the user reported for disconnection), ACL roles from the database, Drupal
 * hashes re-hashed to PBKDF2 on success.
 */
#include "testutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "auth_core.h"
#include "pwhash.h"
#include "srvtest.h"
#include "store.h"

struct fixture {
  char *dir, *url;
  struct db *db;
  struct auth *a;
  double t;
};

static void add(struct fixture *f, const char *user, const char *pw)
{
  char h[PWHASH_MAX];
  assert_int_equal(pwhash_make(pw, strlen(pw), 1000, h), 0);
  assert_int_equal(store_user_add(f->db, user, h), 0);
}

static int setup(void **state)
{
  struct fixture *f = calloc(1, sizeof(*f));
  f->dir = harness_tmpdir();
  f->url = srv_fmt("sqlite:%s/u.db", f->dir);
  char err[256];
  assert_int_equal(db_open(f->url, &f->db, err, sizeof(err)), 0);
  assert_int_equal(store_migrate(f->db), 0);
  add(f, "alice", "pa55");
  add(f, "notifier", "n0t");
  assert_int_equal(store_user_set_role(f->db, "notifier", "notifier"), 0);
  struct auth_config c;
  auth_config_defaults(&c);
  c.database = f->url;
  c.iterations = 1000;
  c.fail_user = 3;
  c.fail_addr = 5;
  f->a = auth_new(&c, err, sizeof(err));
  assert_non_null(f->a);
  f->t = auth_now() + 10;
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fixture *f = *state;
  auth_free(f->a);
  db_close(f->db);
  free(f->url);
  free(f->dir);
  free(f);
  return 0;
}

static void test_login_and_cache(void **state)
{
  struct fixture *f = *state;
  const char *why = NULL;
  bool cached = true;
  assert_int_equal(auth_login(f->a, "alice", "pa55", "1.2.3.4", f->t, &why, &cached), AUTH_OK);
  assert_false(cached);
  assert_int_equal(auth_login(f->a, "alice", "pa55", "1.2.3.4", f->t + 1, &why, &cached), AUTH_OK);
  assert_true(cached);
  /* a wrong password is never answered from the cache */
  assert_int_equal(auth_login(f->a, "alice", "pa56", "1.2.3.4", f->t + 2, &why, &cached),
                   AUTH_REFUSED);
  assert_string_equal(why, "wrong password");
  assert_int_equal(auth_login(f->a, "nobody", "x", "1.2.3.4", f->t + 2, &why, NULL), AUTH_REFUSED);
  assert_string_equal(why, "unknown user");
  assert_int_equal(auth_login(f->a, NULL, "x", NULL, f->t, &why, NULL), AUTH_REFUSED);
  assert_int_equal(auth_login(f->a, "alice", NULL, NULL, f->t, &why, NULL), AUTH_REFUSED);
  /* after the TTL the database is asked again */
  assert_int_equal(auth_login(f->a, "alice", "pa55", "1.2.3.4", f->t + AUTH_DEFAULT_CACHE_TTL + 5,
                              &why, &cached),
                   AUTH_OK);
  assert_false(cached);
  struct auth_stats st;
  auth_get_stats(f->a, &st);
  assert_int_equal(st.cache_hits, 1);
}

static void test_user_limit(void **state)
{
  struct fixture *f = *state;
  const char *why = NULL;
  for (int i = 0; i < 3; i++)
    assert_int_equal(auth_login(f->a, "alice", "bad", NULL, f->t + i, &why, NULL), AUTH_REFUSED);
  assert_int_equal(auth_login(f->a, "alice", "pa55", NULL, f->t + 4, &why, NULL), AUTH_REFUSED);
  assert_string_equal(why, "too many failed logins for this user");
  /* a window after the last failure, the right password works again */
  assert_int_equal(auth_login(f->a, "alice", "pa55", NULL, f->t + 2 + AUTH_DEFAULT_FAIL_WINDOW + 1,
                              &why, NULL),
                   AUTH_OK);
  /* and the count starts again */
  assert_int_equal(auth_login(f->a, "alice", "bad", NULL, f->t + 70, &why, NULL), AUTH_REFUSED);
  assert_int_equal(auth_login(f->a, "alice", "pa55", NULL, f->t + 71, &why, NULL), AUTH_OK);
}

static void test_address_limit(void **state)
{
  struct fixture *f = *state;
  const char *why = NULL;
  char user[16];
  for (int i = 0; i < 5; i++) {
    snprintf(user, sizeof(user), "guess%d", i);
    assert_int_equal(auth_login(f->a, user, "x", "10.0.0.9", f->t, &why, NULL), AUTH_REFUSED);
  }
  assert_int_equal(auth_login(f->a, "alice", "pa55", "10.0.0.9", f->t, &why, NULL), AUTH_REFUSED);
  assert_string_equal(why, "too many failed logins from this address");
  assert_int_equal(auth_login(f->a, "alice", "pa55", "10.0.0.10", f->t, &why, NULL), AUTH_OK);
}

static void note(void *ctx, const char *user)
{
  strcat(ctx, user);
  strcat(ctx, ",");
}

static void test_revocation(void **state)
{
  struct fixture *f = *state;
  const char *why = NULL;
  bool cached;
  assert_int_equal(auth_login(f->a, "alice", "pa55", NULL, f->t, &why, NULL), AUTH_OK);
  assert_true(auth_acl(f->a, "alice", "ovms/alice/CAR/metric/x", ACL_WRITE, f->t, &why));
  char h[PWHASH_MAX];
  assert_int_equal(pwhash_make("new", 3, 1000, h), 0);
  assert_int_equal(store_user_set_hash(f->db, "alice", h), 0);
  /* the next poll (poll interval 1 s) drops the cached login */
  assert_int_equal(auth_poll(f->a, f->t + 2), 0);
  char seen[64] = "";
  auth_take_revoked(f->a, note, seen);
  assert_string_equal(seen, "alice,");
  assert_int_equal(auth_login(f->a, "alice", "pa55", NULL, f->t + 2, &why, &cached), AUTH_REFUSED);
  assert_int_equal(auth_login(f->a, "alice", "new", NULL, f->t + 2, &why, &cached), AUTH_OK);
  /* deleted: logins and ACL checks refused after the poll (auth_acl polls by itself) */
  assert_int_equal(store_user_del(f->db, "alice"), 0);
  assert_false(auth_acl(f->a, "alice", "ovms/alice/CAR/metric/x", ACL_WRITE, f->t + 4, &why));
  assert_string_equal(why, "user no longer exists");
  assert_int_equal(auth_login(f->a, "alice", "new", NULL, f->t + 4, &why, &cached), AUTH_REFUSED);
  assert_string_equal(why, "unknown user");
}

static void test_acl_roles(void **state)
{
  struct fixture *f = *state;
  const char *why = NULL;
  assert_true(auth_acl(f->a, "notifier", "ovms/+/+/notify/#", ACL_SUBSCRIBE, f->t, &why));
  assert_true(auth_acl(f->a, "notifier", "ovms/alice/CAR/notify/info/x", ACL_READ, f->t, &why));
  assert_false(auth_acl(f->a, "notifier", "ovms/alice/CAR/notify/info/x", ACL_WRITE, f->t, &why));
  assert_false(auth_acl(f->a, "alice", "ovms/+/+/notify/#", ACL_SUBSCRIBE, f->t, &why));
  assert_false(auth_acl(f->a, NULL, "ovms/x", ACL_READ, f->t, &why));
  /* a role change is seen after the poll */
  assert_int_equal(store_user_set_role(f->db, "alice", "notifier"), 0);
  assert_true(auth_acl(f->a, "alice", "ovms/+/+/notify/#", ACL_SUBSCRIBE, f->t + 2, &why));
}

static void test_drupal_rehash(void **state)
{
  struct fixture *f = *state;
  const char *why = NULL;
  /* hashcat's Drupal 7 example (src/modules/module_07900.c), password "hashcat" */
  assert_int_equal(
      store_user_add(f->db, "carol", "$S$C20340258nzjDWpoQthrdNTR02f0pmev0K/5/Nx80WSkOQcPEQRh"),
      0);
  assert_int_equal(auth_login(f->a, "carol", "hashcat", NULL, f->t + 2, &why, NULL), AUTH_OK);
  struct store_user u;
  assert_int_equal(store_user_get(f->db, "carol", &u), 0);
  assert_memory_equal(u.hash, "$pbkdf2-sha512$1000$", 20);
  assert_int_equal(pwhash_verify(u.hash, "hashcat", 7), 1);
  struct auth_stats st;
  auth_get_stats(f->a, &st);
  assert_int_equal(st.rehashed, 1);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_login_and_cache, setup, teardown),
      cmocka_unit_test_setup_teardown(test_user_limit, setup, teardown),
      cmocka_unit_test_setup_teardown(test_address_limit, setup, teardown),
      cmocka_unit_test_setup_teardown(test_revocation, setup, teardown),
      cmocka_unit_test_setup_teardown(test_acl_roles, setup, teardown),
      cmocka_unit_test_setup_teardown(test_drupal_rehash, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
