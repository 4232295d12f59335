/*
 * test_auth_broker.c - ovms_auth.so loaded into a real mosquitto (docker/server/mosquitto.conf
 * with paths rewritten), users made with ovms-users: wrong password, unknown user and
 * anonymous refused with the reason logged and the password never; user A can neither read
 * nor write user B's tree; a car (ovms-sim) publishes in its own tree; the simulator's
 * refused-login path (one attempt, reconnects suspended); revocation (ovms-users del /
 * passwd) in force within 5 s and the user's clients disconnected; the notifier role reads
 * notifications but cannot publish or read anything else; a Drupal 7 hash accepted and
 * re-hashed.  Run with --pg: the same against a PostgreSQL server started by the test
 * (skipped, exit 77, where the Debian postgresql package is not installed).
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/array.h"
#include "srvtest.h"

static const char *g_pg_url; /* NULL: SQLite in the test's directory */

struct env {
  char *dir;
  char *db;
  struct broker b;
};

static void env_start(struct env *e)
{
  e->dir = harness_tmpdir();
  e->db = srv_test_db(e->dir, g_pg_url);
  assert_int_equal(srv_users(e->db, "s3cret-alice\n", "add", "alice", NULL), 0);
  assert_int_equal(srv_users(e->db, "s3cret-bob\n", "add", "bob", NULL), 0);
  assert_int_equal(srv_users(e->db, "s3cret-notifier\n", "add", "notifier", NULL), 0);
  assert_int_equal(srv_users(e->db, NULL, "role", "notifier", "notifier"), 0);
  if (srv_broker_start(&e->b, e->dir, e->db, NULL) < 0) {
    if (!getenv("MOSQUITTO_BIN"))
      skip();
    fail_msg("mosquitto with ovms_auth.so did not start (see %s/broker.log)", e->dir);
  }
}

static void env_stop(struct env *e)
{
  broker_free(&e->b);
  free(e->db);
  free(e->dir);
}

static char *url(const char *user, int port)
{
  return srv_fmt("mqtt://%s@127.0.0.1:%d", user, port);
}

static void test_refused_logins(void **state)
{
  struct env e;
  env_start(&e);
  assert_int_equal(srv_try_login(e.b.port, "alice", "wr0ng-secret"), 5);
  assert_int_equal(srv_try_login(e.b.port, "mallory", "whatever-pw"), 5);
  assert_int_equal(srv_try_login(e.b.port, NULL, NULL), 5);
  assert_int_equal(srv_try_login(e.b.port, "alice", ""), 5);
  assert_int_equal(srv_try_login(e.b.port, "alice", "s3cret-alice"), 0);
  assert_true(broker_log_count(&e.b, "refused login of user 'alice'") >= 2);
  assert_int_equal(broker_log_count(&e.b, "wrong password"), 1);
  assert_int_equal(broker_log_count(&e.b, "no password"), 1);
  assert_int_equal(broker_log_count(&e.b, "user 'mallory'"), 1);
  assert_int_equal(broker_log_count(&e.b, "unknown user"), 1);
  assert_int_equal(broker_log_count(&e.b, "no user name"), 1);
  /* never the password */
  assert_int_equal(broker_log_count(&e.b, "wr0ng-secret"), 0);
  assert_int_equal(broker_log_count(&e.b, "whatever-pw"), 0);
  assert_int_equal(broker_log_count(&e.b, "s3cret"), 0);
  env_stop(&e);
}

static void test_user_trees(void **state)
{
  struct env e;
  env_start(&e);
  struct sub *alice = sub_new(e.b.port, "alice-app", true, "alice", "s3cret-alice",
                              "ovms/alice/#", 2);
  struct sub *bob = sub_new(e.b.port, "bob-app", true, "bob", "s3cret-bob", "ovms/alice/#", 2);
  struct sub *bobw = sub_new(e.b.port, "bob-all", true, "bob", "s3cret-bob", "#", 2);
  struct sub *bobown = sub_new(e.b.port, "bob-own", true, "bob", "s3cret-bob", "ovms/bob/#", 2);
  assert_non_null(alice);
  assert_non_null(bob);
  assert_non_null(bobw);
  assert_non_null(bobown);
  assert_int_equal(sub_ready(alice, 10), 0);
  assert_int_equal(sub_ready(bob, 10), 0);
  assert_int_equal(sub_ready(bobw, 10), 0);
  assert_int_equal(sub_ready(bobown, 10), 0);
  /* B writes into A's tree: dropped; B writes its own: fine */
  assert_int_equal(sub_publish(bobown, "ovms/alice/CAR/client/x/command/1", "lock 1234", 1,
                               false), 0);
  assert_int_equal(sub_publish(bobown, "ovms/bob/CAR2/metric/v/b/soc", "50", 1, false), 0);
  assert_true(sub_wait(bobown, 0, "ovms/bob/CAR2/metric/v/b/soc", "50", 10) >= 0);
  /* A publishes: A sees it, B's subscriptions to A's tree and to # were refused */
  assert_int_equal(sub_publish(alice, "ovms/alice/CAR/metric/v/b/soc", "80", 1, false), 0);
  assert_true(sub_wait(alice, 0, "ovms/alice/CAR/metric/v/b/soc", "80", 10) >= 0);
  harness_sleep_ms(300);
  assert_int_equal(sub_count(bob), 0);
  assert_int_equal(sub_count_topic(bobw, 0, "ovms/alice/CAR/metric/v/b/soc", NULL), 0);
  assert_int_equal(sub_count_topic(alice, 0, "ovms/alice/CAR/client/x/command/1", NULL), 0);
  assert_true(broker_log_count(&e.b, "denied subscribe of 'ovms/alice/#' to user 'bob'") >= 1);
  assert_true(broker_log_count(&e.b, "denied subscribe of '#' to user 'bob'") >= 1);
  assert_true(broker_log_count(&e.b, "denied write of 'ovms/alice/CAR/client/x/command/1' to "
                                     "user 'bob'") >= 1);
  sub_free(alice);
  sub_free(bob);
  sub_free(bobw);
  sub_free(bobown);
  env_stop(&e);
}

static void test_car_publishes_and_refused_path(void **state)
{
  struct env e;
  env_start(&e);
  struct sub *app = sub_new(e.b.port, "alice-app", true, "alice", "s3cret-alice",
                            "ovms/alice/CAR/metric/#", 2);
  assert_int_equal(sub_ready(app, 10), 0);
  char *pw = harness_write(e.dir, "pw", "s3cret-alice\n");
  char *u = url("alice", e.b.port);
  char *argv[] = {"ovms-sim", "--fast", "--duration", "60s", "--vehicle-id", "CAR", "--broker", u,
                  "--password-file", pw, "--quiet", NULL};
  assert_int_equal(proc_wait(sim_spawn(e.dir, argv, NULL), 60), 0);
  assert_true(sub_wait(app, 0, "ovms/alice/CAR/metric/s/v3/connected", "yes", 10) >= 0);
  assert_true(sub_wait(app, 0, "ovms/alice/CAR/metric/m/version", NULL, 10) >= 0);
  assert_int_equal(broker_log_count(&e.b, "denied"), 0);

  /* a wrong password: refused once, and the simulator suspends its reconnects */
  char *bad = harness_write(e.dir, "pw-bad", "not-her-password\n");
  char *argv2[] = {"ovms-sim", "--fast", "--duration", "900s", "--vehicle-id", "CAR", "--broker",
                   u, "--password-file", bad, "--quiet", NULL};
  /* never connected: exit 3 (README "Exit codes") */
  assert_int_equal(proc_wait(sim_spawn(e.dir, argv2, NULL), 60), 3);
  assert_int_equal(broker_log_count(&e.b, "refused login of user 'alice' (client CAR)"), 1);
  assert_int_equal(broker_log_count(&e.b, "not-her-password"), 0);
  free(bad);
  free(pw);
  free(u);
  sub_free(app);
  env_stop(&e);
}

static void test_revocation(void **state)
{
  struct env e;
  env_start(&e);
  /* bob is connected; deleting him disconnects him and refuses his next login within 5 s */
  assert_int_equal(srv_try_login(e.b.port, "bob", "s3cret-bob"), 0);
  struct sub *bob = sub_new(e.b.port, "bob-app", true, "bob", "s3cret-bob", "ovms/bob/#", 1);
  assert_int_equal(sub_ready(bob, 10), 0);
  assert_int_equal(srv_users(e.db, NULL, "del", "bob", NULL), 0);
  int rc = 0;
  for (int i = 0; i < 50 && rc == 0; i++) {
    harness_sleep_ms(100);
    rc = srv_try_login(e.b.port, "bob", "s3cret-bob");
  }
  assert_int_equal(rc, 5);
  assert_true(broker_log_count(&e.b, "user 'bob' changed in the database") >= 1);
  assert_true(broker_log_count(&e.b, "Client bob-app been disconnected") >= 1);
  sub_free(bob);

  /* alice's password changes: the cached old one stops working within 5 s */
  assert_int_equal(srv_try_login(e.b.port, "alice", "s3cret-alice"), 0);
  assert_int_equal(srv_users(e.db, "n3w-alice\n", "passwd", "alice", NULL), 0);
  rc = 0;
  for (int i = 0; i < 50 && rc == 0; i++) {
    harness_sleep_ms(100);
    rc = srv_try_login(e.b.port, "alice", "s3cret-alice");
  }
  assert_int_equal(rc, 5);
  assert_int_equal(srv_try_login(e.b.port, "alice", "n3w-alice"), 0);
  env_stop(&e);
}

static void test_notifier_role(void **state)
{
  struct env e;
  env_start(&e);
  struct sub *n = sub_new(e.b.port, "notifyd", true, "notifier", "s3cret-notifier",
                          "ovms/+/+/notify/#", 2);
  struct sub *nm = sub_new(e.b.port, "notifyd-m", true, "notifier", "s3cret-notifier",
                           "ovms/+/+/metric/#", 2);
  struct sub *alice = sub_new(e.b.port, "alice-app", true, "alice", "s3cret-alice",
                              "ovms/alice/#", 2);
  assert_int_equal(sub_ready(n, 10), 0);
  assert_int_equal(sub_ready(nm, 10), 0);
  assert_int_equal(sub_ready(alice, 10), 0);
  assert_int_equal(sub_publish(alice, "ovms/alice/CAR/notify/info/charge/stopped", "stopped", 1,
                               false), 0);
  assert_int_equal(sub_publish(alice, "ovms/alice/CAR/metric/v/b/soc", "81", 1, false), 0);
  assert_true(sub_wait(n, 0, "ovms/alice/CAR/notify/info/charge/stopped", "stopped", 10) >= 0);
  /* the notifier writes nothing, not even into the notify tree */
  assert_int_equal(sub_publish(n, "ovms/alice/CAR/notify/info/fake", "forged", 1, false), 0);
  assert_int_equal(sub_publish(n, "ovms/alice/CAR/client/n/command/1", "unlock", 1, false), 0);
  assert_true(sub_wait(alice, 0, "ovms/alice/CAR/metric/v/b/soc", "81", 10) >= 0);
  harness_sleep_ms(300);
  assert_int_equal(sub_count_topic(alice, 0, "ovms/alice/CAR/notify/info/fake", NULL), 0);
  assert_int_equal(sub_count_topic(alice, 0, "ovms/alice/CAR/client/n/command/1", NULL), 0);
  assert_int_equal(sub_count(nm), 0);
  assert_true(broker_log_count(&e.b, "notifier role may not publish") >= 2);
  assert_true(broker_log_count(&e.b, "denied subscribe of 'ovms/+/+/metric/#' to user "
                                     "'notifier'") >= 1);
  sub_free(n);
  sub_free(nm);
  sub_free(alice);
  env_stop(&e);
}

static void test_drupal_hash_rehashed(void **state)
{
  struct env e;
  env_start(&e);
  /* hashcat's example for Drupal 7 (src/modules/module_07900.c): password "hashcat" */
  const char *drupal = "$S$C20340258nzjDWpoQthrdNTR02f0pmev0K/5/Nx80WSkOQcPEQRh\n";
  assert_int_equal(srv_users(e.db, drupal, "import", "carol", NULL), 0);
  assert_int_equal(srv_try_login(e.b.port, "carol", "hashcat!"), 5);
  assert_int_equal(srv_try_login(e.b.port, "carol", "hashcat"), 0);
  char *h = srv_sql_text(e.db, "SELECT hash FROM users WHERE username = 'carol'");
  assert_non_null(h);
  assert_memory_equal(h, "$pbkdf2-sha512$100000$", 22);
  free(h);
  assert_int_equal(srv_try_login(e.b.port, "carol", "hashcat"), 0);
  env_stop(&e);
}

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_refused_logins),
      cmocka_unit_test(test_user_trees),
      cmocka_unit_test(test_car_publishes_and_refused_path),
      cmocka_unit_test(test_revocation),
      cmocka_unit_test(test_notifier_role),
      cmocka_unit_test(test_drupal_hash_rehashed),
  };
  return srv_test_broker_main(argc, argv, tests, ARRAY_SIZE(tests), &g_pg_url);
}
