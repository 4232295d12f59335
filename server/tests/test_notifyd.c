/*
 * test_notifyd.c - ovms-notifyd against a real mosquitto with ovms_auth.so (role notifier)
 * and a simulated car (ovms-sim as user alice, notifications raised with `notify raise`
 * commands sent over MQTT, as an app would):
 *
 *  - killed with SIGKILL at random moments while the car raises data and info notifications,
 *    restarted each time: every data record is stored exactly once, no info notification is
 *    lost;
 *  - killed once deliberately between receipt and commit (OVMS_NOTIFYD_TEST_PAUSE_FILE):
 *    nothing was acknowledged, everything arrives after the restart;
 *  - bad input: malformed notification topics, a 1 MB payload, ill-formed UTF-8 in a payload
 *    and (raw packet) in a topic, a locked database and a full one: nothing acknowledged that
 *    was not stored;
 *  - --once drains and exits.
 * With --pg the same against a PostgreSQL server started by the test (the SQLite-specific
 * locked/full cases are skipped there).
 */
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mqtt_codec.h"
#include "db.h"
#include "core/array.h"
#include "srvtest.h"

static const char *g_pg_url;

struct env {
  char *dir, *db, *pwfile, *carpw, *broker_url;
  struct broker b;
  pid_t car;
  struct sub *app;
  int cmd;
};

static void env_start(struct env *e, bool car)
{
  memset(e, 0, sizeof(*e));
  e->dir = harness_tmpdir();
  e->db = srv_test_db(e->dir, g_pg_url);
  assert_int_equal(srv_users(e->db, "s3cret-alice\n", "add", "alice", NULL), 0);
  assert_int_equal(srv_users(e->db, "s3cret-notifier\n", "add", "notifier", NULL), 0);
  assert_int_equal(srv_users(e->db, NULL, "role", "notifier", "notifier"), 0);
  if (srv_broker_start(&e->b, e->dir, e->db, NULL) < 0)
    fail_msg("mosquitto with ovms_auth.so did not start (see %s/broker.log)", e->dir);
  e->pwfile = harness_write(e->dir, "notifier.pw", "s3cret-notifier\n");
  e->carpw = harness_write(e->dir, "alice.pw", "s3cret-alice\n");
  e->broker_url = srv_fmt("mqtt://notifier@127.0.0.1:%d", e->b.port);
  e->app = sub_new(e->b.port, "alice-app", true, "alice", "s3cret-alice",
                   "ovms/alice/CAR/client/t/response/#", 1);
  assert_non_null(e->app);
  assert_int_equal(sub_ready(e->app, 10), 0);
  if (car) {
    char *u = srv_fmt("mqtt://alice@127.0.0.1:%d", e->b.port);
    char *state = srv_fmt("%s/carstate", e->dir);
    char *argv[] = {"ovms-sim", "--speed", "1", "--duration", "600s", "--vehicle-id", "CAR",
                    "--broker", u, "--password-file", e->carpw, "--state-dir", state, "--quiet",
                    NULL};
    e->car = sim_spawn(e->dir, argv, NULL);
    struct sub *w = sub_new(e->b.port, "w", true, "alice", "s3cret-alice",
                            "ovms/alice/CAR/metric/s/v3/connected", 1);
    assert_true(sub_wait(w, 0, "ovms/alice/CAR/metric/s/v3/connected", "yes", 30) >= 0);
    sub_free(w);
    free(u);
    free(state);
  }
}

static void env_stop(struct env *e)
{
  if (e->car > 0)
    proc_kill(e->car);
  sub_free(e->app);
  broker_free(&e->b);
  free(e->dir), free(e->db), free(e->pwfile), free(e->carpw), free(e->broker_url);
}

/* Sends a shell command to the car and waits for its response. */
static void car_command(struct env *e, const char *cmd)
{
  char topic[96], resp[96];
  e->cmd++;
  snprintf(topic, sizeof(topic), "ovms/alice/CAR/client/t/command/%d", e->cmd);
  snprintf(resp, sizeof(resp), "ovms/alice/CAR/client/t/response/%d", e->cmd);
  assert_int_equal(sub_publish(e->app, topic, cmd, 1, false), 0);
  assert_true(sub_wait(e->app, 0, resp, NULL, 30) >= 0);
}

static pid_t notifyd(struct env *e, const char *db, bool once, char *const env[])
{
  const char *bin = getenv("OVMS_NOTIFYD_BIN");
  char *argv[] = {"ovms-notifyd", "--broker", e->broker_url, "--password-file", e->pwfile,
                  "--database", (char *)(db ? db : e->db), "--idle-ms", "1500", once ? "--once"
                                                                                    : NULL,
                  NULL};
  return srv_spawn(e->dir, "notifyd", bin, argv, env);
}

/* Waits until the daemon's session exists on the broker (its n-th SUBACK): from then on the
 * broker keeps what is published for it. */
static void wait_subscribed(struct env *e, size_t n)
{
  for (int i = 0; i < 300 && broker_log_count(&e->b, "Sending SUBACK to ovms-notifyd") < n; i++)
    harness_sleep_ms(100);
  assert_true(broker_log_count(&e->b, "Sending SUBACK to ovms-notifyd") >= n);
}

static long long rows(struct env *e, const char *where)
{
  char *sql = srv_fmt("SELECT COUNT(*) FROM notifications WHERE %s", where);
  long long n = srv_sql_int(e->db, sql);
  free(sql);
  return n;
}

/* Waits until rows(where) >= n (timeout seconds); returns the last count. */
static long long wait_rows(struct env *e, const char *where, long long n, double timeout)
{
  long long r = -1;
  for (int i = 0; i < timeout * 10; i++) {
    r = rows(e, where);
    if (r >= n)
      break;
    harness_sleep_ms(100);
  }
  return r;
}

/* The drain after a test: notifyd --once, exit 0. */
static void drain(struct env *e)
{
  assert_int_equal(proc_wait(notifyd(e, NULL, true, NULL), 120), 0);
}

/* The SQLite-only tests' start (PostgreSQL has no lock or size cap to set up): *e started. */
static void env_start_sqlite(struct env *e)
{
  if (g_pg_url)
    skip();
  env_start(e, false);
}

/* Asserts that the daemon's log (notifyd.log in the test folder) contains text. */
static void assert_log_has(const struct env *e, const char *text)
{
  char *logpath = srv_fmt("%s/notifyd.log", e->dir);
  char *log = test_read_file(logpath, NULL);
  free(logpath);
  assert_non_null(log);
  assert_non_null(strstr(log, text));
  free(log);
}

static void test_kill_at_random_moments(void **state)
{
  struct env e;
  env_start(&e, true);
  unsigned seed = (unsigned)time(NULL);
  printf("seed %u\n", seed);
  srand(seed);
  const int N = 40;
  pid_t d = notifyd(&e, NULL, false, NULL);
  wait_subscribed(&e, 1);
  int kills = 0;
  for (int k = 1; k <= N; k++) {
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "notify raise data data log.test *-LOG-Test,%d,1", k);
    car_command(&e, cmd);
    snprintf(cmd, sizeof(cmd), "notify raise text info test.kill info-%d", k);
    car_command(&e, cmd);
    if (rand() % 4 == 0) {
      harness_sleep_ms(rand() % 150);
      proc_kill(d);
      kills++;
      if (rand() % 2)
        harness_sleep_ms(rand() % 300);
      d = notifyd(&e, NULL, false, NULL);
    }
  }
  printf("%d kills\n", kills);
  /* the last daemon stores the rest */
  long long data = wait_rows(&e, "type = 'data'", N, 60);
  long long info = wait_rows(&e, "type = 'info'", N, 60);
  harness_sleep_ms(500);
  proc_kill(d);
  assert_int_equal(data, N);
  assert_true(info >= N);
  assert_int_equal(rows(&e, "type = 'data'"), N);
  assert_int_equal(srv_sql_int(e.db, "SELECT COUNT(DISTINCT msgid) FROM notifications WHERE "
                                     "type = 'data' AND vehicle = 'CAR' AND subtype = 'log.test'"),
                   N);
  assert_int_equal(srv_sql_int(e.db, "SELECT MIN(msgid) FROM notifications WHERE type = 'data'"),
                   1);
  assert_int_equal(srv_sql_int(e.db, "SELECT MAX(msgid) FROM notifications WHERE type = 'data'"),
                   N);
  /* every info text at least once */
  for (int k = 1; k <= N; k++) {
    char *payload = g_pg_url ? srv_fmt("convert_to('info-%d', 'UTF8')", k)
                             : srv_fmt("CAST('info-%d' AS BLOB)", k);
    char *sql2 = srv_fmt("SELECT COUNT(*) FROM notifications WHERE type = 'info' AND "
                         "subtype = 'test.kill' AND topic = 'ovms/alice/CAR/notify/info/test/kill'"
                         " AND payload = %s",
                         payload);
    long long n = srv_sql_int(e.db, sql2);
    if (n < 1)
      fail_msg("info-%d lost (seed %u)", k, seed);
    free(payload);
    free(sql2);
  }
  /* the data rows carry the recorded time (received minus age, never later) */
  assert_int_equal(rows(&e, "type = 'data' AND recorded > received"), 0);
  env_stop(&e);
}

static void test_kill_between_receipt_and_commit(void **state)
{
  struct env e;
  env_start(&e, true);
  char *pause = srv_fmt("%s/paused", e.dir);
  char *envv = srv_fmt("OVMS_NOTIFYD_TEST_PAUSE_FILE=%s", pause);
  char *env[] = {envv, NULL};
  pid_t d = notifyd(&e, NULL, false, env);
  wait_subscribed(&e, 1);
  car_command(&e, "notify raise data data log.pause *-LOG-Pause,1");
  car_command(&e, "notify raise text info test.pause held");
  assert_int_equal(srv_wait_file(pause, 30), 0);
  harness_sleep_ms(300);
  /* received, not committed, not acknowledged */
  assert_int_equal(rows(&e, "1 = 1"), 0);
  assert_int_equal(broker_log_count(&e.b, "Received PUBREC from ovms-notifyd"), 0);
  assert_int_equal(broker_log_count(&e.b, "Received PUBACK from ovms-notifyd"), 0);
  proc_kill(d);
  drain(&e);
  assert_int_equal(rows(&e, "type = 'data' AND subtype = 'log.pause' AND msgid = 1"), 1);
  assert_int_equal(rows(&e, "type = 'info' AND subtype = 'test.pause'"), 1);
  assert_true(broker_log_count(&e.b, "Received PUBREC from ovms-notifyd") >= 1);
  free(pause);
  free(envv);
  env_stop(&e);
}

/* A PUBLISH with an ill-formed UTF-8 topic, sent raw (libmosquitto refuses to build one). */
static void raw_bad_topic(int port)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
  uint8_t b[256];
  long n = mqtt_build_connect(b, sizeof(b), "raw", "alice", "s3cret-alice", 30, true);
  assert_true(send(fd, b, (size_t)n, 0) == n);
  uint8_t ack[4];
  assert_int_equal(recv(fd, ack, 4, MSG_WAITALL), 4);
  assert_int_equal(ack[3], 0);
  const char topic[] = "ovms/alice/CAR/notify/info/\xff\xfe";
  size_t tl = sizeof(topic) - 1;
  uint8_t p[128] = {0x32, (uint8_t)(2 + tl + 2 + 1), 0, (uint8_t)tl};
  memcpy(p + 4, topic, tl);
  p[4 + tl] = 0;
  p[5 + tl] = 1;
  p[6 + tl] = 'x';
  ssize_t w = send(fd, p, 7 + tl, MSG_NOSIGNAL);
  (void)w;
  harness_sleep_ms(200);
  close(fd);
}

static void test_bad_input(void **state)
{
  struct env e;
  env_start(&e, false);
  pid_t d = notifyd(&e, NULL, false, NULL);
  wait_subscribed(&e, 1);
  /* malformed notification topics: stored as they are, without msgid */
  assert_int_equal(sub_publish(e.app, "ovms/alice/CAR/notify", "no type", 1, false), 0);
  assert_int_equal(sub_publish(e.app, "ovms/alice/CAR/notify/data/x", "no id", 2, false), 0);
  assert_int_equal(sub_publish(e.app, "ovms/alice/CAR/notify/data/x/y/z", "bad id", 2, false),
                   0);
  assert_int_equal(sub_publish(e.app, "ovms/alice/CAR/notify/info", "no subtype", 1, false), 0);
  /* 1 MB payload, ill-formed UTF-8 payload */
  size_t big = 1024 * 1024;
  char *p = malloc(big + 1);
  for (size_t i = 0; i < big; i++)
    p[i] = (char)('A' + i % 26);
  p[big] = '\0';
  assert_int_equal(sub_publish(e.app, "ovms/alice/CAR/notify/info/big", p, 1, false), 0);
  assert_int_equal(sub_publish(e.app, "ovms/alice/CAR/notify/alert/bin", "\xff\xfe\xc3(", 1,
                               false), 0);
  raw_bad_topic(e.b.port);
  assert_int_equal(wait_rows(&e, "1 = 1", 6, 30), 6);
  assert_int_equal(rows(&e, "topic = 'ovms/alice/CAR/notify' AND msgid IS NULL"), 1);
  assert_int_equal(rows(&e, "topic = 'ovms/alice/CAR/notify/data/x' AND msgid IS NULL"), 1);
  assert_int_equal(rows(&e, "topic = 'ovms/alice/CAR/notify/data/x/y/z' AND msgid IS NULL"), 1);
  assert_int_equal(rows(&e, "topic = 'ovms/alice/CAR/notify/info'"), 1);
  assert_int_equal(srv_sql_int(e.db, "SELECT length(payload) FROM notifications WHERE "
                                     "subtype = 'big'"),
                   (long long)big);
  char *hex = srv_sql_text(e.db, g_pg_url ? "SELECT encode(payload, 'hex') FROM notifications "
                                             "WHERE subtype = 'bin'"
                                           : "SELECT lower(hex(payload)) FROM notifications "
                                             "WHERE subtype = 'bin'");
  assert_non_null(hex);
  assert_string_equal(hex, "fffec328");
  free(hex);
  /* the broker dropped the raw client with the bad topic; the daemon is still there */
  assert_int_equal(rows(&e, "topic LIKE '%?%'"), 0);
  assert_int_equal(sub_publish(e.app, "ovms/alice/CAR/notify/info/after", "still here", 1, false),
                   0);
  assert_int_equal(wait_rows(&e, "subtype = 'after'", 1, 30), 1);
  proc_kill(d);
  free(p);
  env_stop(&e);
}

static void test_locked_database(void **state)
{
  struct env e;
  env_start_sqlite(&e);
  pid_t d = notifyd(&e, NULL, false, NULL);
  wait_subscribed(&e, 1);
  /* another connection holds the write lock */
  struct db *lock;
  char err[256];
  assert_int_equal(db_open(e.db, &lock, err, sizeof(err)), 0);
  assert_int_equal(db_exec(lock, "BEGIN IMMEDIATE", NULL, 0, NULL, NULL, NULL), 0);
  assert_int_equal(sub_publish(e.app, "ovms/alice/CAR/notify/data/log/locked/1/-2", "rec", 2,
                               false), 0);
  assert_int_equal(sub_publish(e.app, "ovms/alice/CAR/notify/info/locked", "inf", 1, false), 0);
  harness_sleep_ms(2500);
  /* not stored, so not acknowledged */
  assert_int_equal(broker_log_count(&e.b, "Received PUBREC from ovms-notifyd"), 0);
  assert_int_equal(broker_log_count(&e.b, "Received PUBACK from ovms-notifyd"), 0);
  assert_log_has(&e, "database locked");
  /* killed while locked; the lock goes; the next daemon gets both from the broker */
  proc_kill(d);
  db_rollback(lock);
  db_close(lock);
  drain(&e);
  assert_int_equal(rows(&e, "subtype = 'log.locked' AND msgid = 1"), 1);
  assert_int_equal(rows(&e, "subtype = 'locked'"), 1);

  /* and without a kill: the daemon retries until the lock is gone */
  d = notifyd(&e, NULL, false, NULL);
  wait_subscribed(&e, 3);
  assert_int_equal(db_open(e.db, &lock, err, sizeof(err)), 0);
  assert_int_equal(db_exec(lock, "BEGIN IMMEDIATE", NULL, 0, NULL, NULL, NULL), 0);
  assert_int_equal(sub_publish(e.app, "ovms/alice/CAR/notify/info/retry", "later", 1, false), 0);
  harness_sleep_ms(1500);
  assert_int_equal(rows(&e, "subtype = 'retry'"), 0);
  db_rollback(lock);
  db_close(lock);
  assert_int_equal(wait_rows(&e, "subtype = 'retry'", 1, 30), 1);
  proc_kill(d);
  env_stop(&e);
}

static void test_full_database(void **state)
{
  struct env e;
  env_start_sqlite(&e);
  /* a cap a few pages above the current size: a 1 MB record does not fit */
  long long pages = srv_sql_int(e.db, "PRAGMA page_count");
  assert_true(pages > 0);
  char *capped = srv_fmt("%s?max_page_count=%lld", e.db, pages + 8);
  pid_t d = notifyd(&e, capped, false, NULL);
  wait_subscribed(&e, 1);
  size_t big = 1024 * 1024;
  char *p = malloc(big + 1);
  memset(p, 'F', big);
  p[big] = '\0';
  assert_int_equal(sub_publish(e.app, "ovms/alice/CAR/notify/data/log/full/1/0", p, 2, false),
                   0);
  harness_sleep_ms(2500);
  assert_int_equal(rows(&e, "1 = 1"), 0);
  assert_int_equal(broker_log_count(&e.b, "Received PUBREC from ovms-notifyd"), 0);
  assert_log_has(&e, "database full");
  proc_kill(d);
  /* room again: the broker still had it */
  drain(&e);
  assert_int_equal(rows(&e, "subtype = 'log.full' AND msgid = 1"), 1);
  assert_int_equal(srv_sql_int(e.db, "SELECT length(payload) FROM notifications"), (long long)big);
  free(p);
  free(capped);
  env_stop(&e);
}

int main(int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_kill_at_random_moments),
      cmocka_unit_test(test_kill_between_receipt_and_commit),
      cmocka_unit_test(test_bad_input),
      cmocka_unit_test(test_locked_database),
      cmocka_unit_test(test_full_database),
  };
  return srv_test_broker_main(argc, argv, tests, ARRAY_SIZE(tests), &g_pg_url);
}
