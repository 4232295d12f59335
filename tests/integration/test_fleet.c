/*
 * test_fleet.c - a fleet (--fleet) against a real mosquitto on a free loopback port:
 *  - 200 cars: every car's retained metrics and will present, ids from the pattern, values
 *    varied per car; a broker restart while notifications are being raised: every car back
 *    and republished, reconnects spread over time, every notification delivered (durable
 *    queues under --state-dir); SIGKILL: every car's will fires;
 *  - --fleet-users with a password file and docker/'s ACL (ovms/%u/#): every car logs in with
 *    its own credentials into its own tree, a car cannot publish in another user's tree;
 *  - shards: two processes with --fleet-shard 0/2 and 1/2 together make the whole fleet.
 * The simulator runs at --speed 20, so the firmware's 60 s retry is 3 s of wall time.
 */
#include "testutil.h"

#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <unistd.h>

#include "core/sbuf.h"
#include "mqtt_harness.h"

#define N 200

/* park 400 s, then an info notification, then parked: raised during the broker outage for
 * most cars (every car's timeline starts 0..300 s late) */
static const char *const SCENARIO =
  "name: fleet test\n"
  "vehicle: {soc: 60%}\n"
  "timeline:\n"
  "  - park: 400s\n"
  "  - notify: {type: info, subtype: fleet.test, text: hello}\n"
  "  - park: 10h\n";

static char *topic(const char *user, int car, const char *rest)
{
  static char buf[256];
  snprintf(buf, sizeof(buf), "ovms/%s/SIM%04d/%s", user, car, rest);
  return buf;
}

static double wall(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Waits until every car has a live (not retained: published while subscribed) message on
 * ovms/<user>/<car>/<rest> (with payload, unless NULL) at index >= from.  Returns how many
 * cars have one. */
static int wait_all(struct sub *s, size_t from, const char *user, const char *rest,
                    const char *payload, double timeout)
{
  char prefix[64];
  snprintf(prefix, sizeof(prefix), "ovms/%s/SIM", user);
  size_t pl = strlen(prefix), rl = strlen(rest);
  bool have[N + 1] = {false};
  int n = 0;
  size_t i = from;
  for (double t0 = wall(); wall() - t0 < timeout && n < N;) {
    size_t end = sub_count(s);
    for (; i < end; i++) {
      struct rmsg m = sub_get(s, i);
      size_t tl = strlen(m.topic);
      if (m.retain || strncmp(m.topic, prefix, pl) || tl < pl + 5 + rl ||
          strcmp(m.topic + pl + 5, rest) || m.topic[pl + 4] != '/' ||
          (payload && strcmp(m.payload, payload)))
        continue;
      int c = atoi(m.topic + pl);
      if (c >= 1 && c <= N && !have[c]) {
        have[c] = true;
        n++;
      }
    }
    if (n < N)
      harness_sleep_ms(100);
  }
  return n;
}

/*
 * Counts the cars the broker log shows after its last start: a line with `what` ("New client
 * connected" / "Received PUBLISH from") naming the car's client id and, unless NULL, with
 * `topic_end` in it.  Waits until all N are there (at most timeout s).  The log shows what
 * the broker received, whether or not a subscriber was connected then (QoS 0 messages to an
 * offline persistent session are dropped, and those seen later are retained copies).
 */
static int wait_log_all(const struct broker *b, const char *what, const char *topic_end,
                        double timeout)
{
  int n = 0;
  for (double t0 = wall(); wall() - t0 < timeout;) {
    char *log = broker_log(b);
    const char *p = log, *q;
    while ((q = strstr(p, "mosquitto version")) != NULL)
      p = q + 1;
    bool have[N + 1] = {false};
    n = 0;
    for (const char *line = p; line && *line;) {
      const char *nl = strchr(line, '\n');
      size_t len = nl ? (size_t)(nl - line) : strlen(line);
      char buf[512];
      if (len < sizeof(buf)) {
        memcpy(buf, line, len);
        buf[len] = '\0';
        const char *w = strstr(buf, what);
        const char *id = w ? strstr(w, "SIM") : NULL;
        if (id && (!topic_end || strstr(buf, topic_end))) {
          int c = atoi(id + 3);
          if (c >= 1 && c <= N && !have[c]) {
            have[c] = true;
            n++;
          }
        }
      }
      line = nl ? nl + 1 : NULL;
    }
    free(log);
    if (n == N)
      break;
    harness_sleep_ms(500);
  }
  return n;
}

/* A mosquitto on a free port in a new temporary folder (returned, malloc'd); skips the test
 * when there is none. */
static char *start_broker(struct broker *b)
{
  char *d = harness_tmpdir();
  if (broker_start(b, d, 0, NULL) < 0)
    skip();
  return d;
}

static void test_fleet_200(void **state)
{
  (void)state;
  struct broker b;
  char *d = start_broker(&b);
  char *sc = harness_write(d, "fleet.yaml", SCENARIO);
  char sdir[600], rep[600];
  snprintf(sdir, sizeof(sdir), "%s/state", d);
  snprintf(rep, sizeof(rep), "%s/report.json", d);
  struct sub *s = sub_new(b.port, "watch", false, NULL, NULL, "ovms/#", 1);
  assert_non_null(s);
  assert_int_equal(sub_ready(s, 10), 0);
  char *argv[] = {"ovms-sim", "--fleet", "200", "--speed", "20", "--scenario", (char *)sc,
                  "--broker", broker_url(&b, "alice"), "--state-dir", sdir, "--connect-rate",
                  "400", "--report", rep, "--quiet", "--no-progress", NULL};
  double t0 = wall();
  pid_t pid = sim_spawn(d, argv, NULL);

  /* every car connected, its metrics retained */
  assert_int_equal(wait_all(s, 0, "alice", "metric/s/v3/connected", "yes", 60), N);
  assert_int_equal(wait_all(s, 0, "alice", "metric/v/b/soc", NULL, 30), N);
  /* a subscriber that connects later gets every car's retained values */
  struct sub *late = sub_new(b.port, "late", true, NULL, NULL, "ovms/+/+/metric/v/b/soc", 0);
  assert_int_equal(sub_ready(late, 10), 0);
  for (double t = 0; t < 10 && sub_count(late) < N; t += 0.1)
    harness_sleep_ms(100);
  assert_true(sub_count(late) >= N);
  size_t distinct = 0;
  for (size_t i = 0; i < sub_count(late); i++) {
    struct rmsg m = sub_get(late, i);
    assert_true(m.retain);
    bool seen = false;
    for (size_t j = 0; j < i && !seen; j++)
      seen = !strcmp(sub_get(late, j).payload, m.payload);
    distinct += !seen;
  }
  assert_true(distinct > N / 4); /* varied per car, not N copies */
  sub_free(late);
  /* ids from the pattern, nothing beyond */
  assert_int_equal(sub_count_topic(s, 0, "ovms/alice/SIM0000/metric/s/v3/connected", NULL), 0);
  assert_int_equal(sub_count_topic(s, 0, "ovms/alice/SIM0201/metric/s/v3/connected", NULL), 0);
  /* each car's will, as CONNECT declared it */
  assert_int_equal(broker_log_count(&b, "Will message specified (2 bytes) (r1, q0)."), N);

  /* the broker goes away while the notifications are raised (400..700 s of simulation
   * time = 20..35 s of wall time) and comes back */
  if (wall() - t0 < 18) /* on a slow machine: at once, the check below holds all the same */
    harness_sleep_ms((int)((18 - (wall() - t0)) * 1000));
  broker_stop(&b);
  harness_sleep_ms(8000);
  assert_int_equal(broker_restart(&b), 0);
  /* every car back, and its metrics published again */
  assert_int_equal(wait_log_all(&b, "New client connected", NULL, 60), N);
  assert_int_equal(wait_log_all(&b, "Received PUBLISH from", "/metric/v/b/soc'", 30), N);
  assert_int_equal(wait_log_all(&b, "Received PUBLISH from", "/metric/s/v3/connected'", 30), N);
  /* nothing lost: every car's notification arrives (they are raised until 35 s) */
  assert_int_equal(wait_all(s, 0, "alice", "notify/info/fleet/test", "hello", 60), N);

  /* SIGKILL: the broker publishes every car's will */
  size_t from = sub_count(s);
  kill(pid, SIGKILL);
  proc_wait(pid, 10);
  assert_int_equal(wait_all(s, from, "alice", "metric/s/v3/connected", "no", 30), N);
  sub_free(s);
  broker_free(&b);
  free(sc);
  assert_int_equal(harness_rmtree(d), 0);
}

/* The report of a run with a broker restart: reconnects counted, and their spread. */
static void test_fleet_report(void **state)
{
  (void)state;
  struct broker b;
  char *d = start_broker(&b);
  char rep[600];
  snprintf(rep, sizeof(rep), "%s/report.json", d);
  struct sub *s = sub_new(b.port, "watch", true, NULL, NULL, "ovms/+/+/metric/s/v3/connected", 0);
  assert_int_equal(sub_ready(s, 10), 0);
  char *argv[] = {"ovms-sim", "--fleet", "50", "--speed", "20", "--broker", broker_url(&b, "bob"),
                  "--duration", "20min", "--report", rep, "--stats", "--quiet", NULL};
  pid_t pid = sim_spawn(d, argv, NULL);
  for (double t = 0; t < 30 && sub_count(s) < 50; t += 0.2)
    harness_sleep_ms(200);
  broker_stop(&b);
  harness_sleep_ms(1000);
  assert_int_equal(broker_restart(&b), 0);
  assert_int_equal(proc_wait(pid, 120), 0);
  char *r = test_read_file(rep, NULL);
  assert_non_null(r);
  assert_non_null(strstr(r, "\"cars\":50,"));
  assert_non_null(strstr(r, "\"reconnects\":50,"));
  assert_non_null(strstr(r, "\"first_id\":\"SIM0001\""));
  assert_non_null(strstr(r, "\"last_id\":\"SIM0050\""));
  const char *sp = strstr(r, "\"reconnect_spread_s\":");
  assert_non_null(sp);
  /* the fixed 60 s retry after an unexpected close (MG_EV_CLOSE: m_connretry = 60 in
   * OvmsServerV3MongooseCallback(), no jitter; the cars tick at the same whole seconds):
   * all back in one tick, not spread over the 0..5 s jitter the simulator once added */
  assert_true(atof(sp + strlen("\"reconnect_spread_s\":")) < 1.0);
  char errp[600];
  snprintf(errp, sizeof(errp), "%s/sim.err", d);
  char *err = test_read_file(errp, NULL);
  assert_non_null(strstr(err, "fleet: 50 cars (SIM0001 .. SIM0050"));
  assert_non_null(strstr(err, "50 reconnects"));
  free(err);
  free(r);
  sub_free(s);
  broker_free(&b);
  free(d);
}

/* --fleet-users with a password file and docker/mosquitto/acl. */
static void test_fleet_users_acl(void **state)
{
  (void)state;
  if (!getenv("MOSQUITTO_BIN") || system("command -v mosquitto_passwd >/dev/null 2>&1") != 0)
    skip();
  char *d = harness_tmpdir();
  char cmd[2048];
  snprintf(cmd, sizeof(cmd),
           "cd '%s' && touch passwd && mosquitto_passwd -b passwd u1 pw-one && "
           "mosquitto_passwd -b passwd u2 pw-two && mosquitto_passwd -b passwd admin adm && "
           "cp '%s' acl && printf 'user admin\\ntopic read #\\n' >> acl",
           d, test_src_path("docker/mosquitto/acl"));
  assert_int_equal(system(cmd), 0);
  char extra[1400];
  snprintf(extra, sizeof(extra), "allow_anonymous false\npassword_file %s/passwd\n"
                                 "acl_file %s/acl\n", d, d);
  struct broker b;
  if (broker_start(&b, d, 0, extra) < 0)
    skip();
  char *users = harness_write(d, "users.csv",
                                    "user,password,vehicle-id\n"
                                    "u1,pw-one,A1\n"
                                    "u1,pw-one,A2\n"
                                    "u2,pw-two,B1\n"
                                    "\"u2\",\"pw-two\",B2\n");
  char *bad = harness_write(d, "bad.csv", "u1,pw-one,X1\nu1,wrong-secret,X2\n");
  struct sub *s = sub_new(b.port, "admin", true, "admin", "adm", "ovms/#", 0);
  assert_non_null(s);
  assert_int_equal(sub_ready(s, 10), 0);
  char *argv[] = {"ovms-sim", "--fleet", "4", "--fleet-users", (char *)users, "--speed", "20",
                  "--broker", broker_url(&b, "ignored"), "--quiet", NULL};
  pid_t pid = sim_spawn(d, argv, NULL);
  assert_true(sub_wait(s, 0, "ovms/u1/A1/metric/s/v3/connected", "yes", 30) >= 0);
  assert_true(sub_wait(s, 0, "ovms/u1/A2/metric/s/v3/connected", "yes", 30) >= 0);
  assert_true(sub_wait(s, 0, "ovms/u2/B1/metric/s/v3/connected", "yes", 30) >= 0);
  assert_true(sub_wait(s, 0, "ovms/u2/B2/metric/s/v3/connected", "yes", 30) >= 0);
  proc_kill(pid);

  /* a car of u1 whose topic prefix points into u2's tree: every publication denied */
  char *argv2[] = {"ovms-sim", "--fleet", "1", "--fleet-users", (char *)users, "--speed", "20",
                   "--set", "server.v3.topic.prefix=ovms/u2/INTRUDER/", "--broker",
                   broker_url(&b, "ignored"), "--quiet", NULL};
  size_t from = sub_count(s);
  pid = sim_spawn(d, argv2, NULL);
  for (double t = 0; t < 30 && broker_log_count(&b, "Denied PUBLISH from A1") < 5; t += 0.2)
    harness_sleep_ms(200);
  assert_true(broker_log_count(&b, "Denied PUBLISH from A1") >= 5);
  assert_int_equal(sub_count_topic(s, from, "ovms/u2/INTRUDER/metric/s/v3/connected", NULL), 0);
  proc_kill(pid);

  /* a wrong password in the file: that car is refused, the others connect */
  char *argv3[] = {"ovms-sim", "--fleet", "2", "--fleet-users", (char *)bad, "--speed", "20",
                   "--broker", broker_url(&b, "ignored"), "--quiet", NULL};
  pid = sim_spawn(d, argv3, NULL);
  assert_true(sub_wait(s, 0, "ovms/u1/X1/metric/s/v3/connected", "yes", 30) >= 0);
  for (double t = 0; t < 20 && broker_log_count(&b, "as X2") < 1; t += 0.2)
    harness_sleep_ms(200);
  assert_int_equal(sub_count_topic(s, 0, "ovms/u1/X2/metric/s/v3/connected", "yes"), 0);
  proc_kill(pid);
  /* the file's passwords are never printed */
  char p[600];
  snprintf(p, sizeof(p), "%s/sim.err", d);
  char *err = test_read_file(p, NULL);
  assert_null(strstr(err ? err : "", "wrong-secret"));
  free(err);
  snprintf(p, sizeof(p), "%s/sim.out", d);
  err = test_read_file(p, NULL);
  assert_null(strstr(err ? err : "", "wrong-secret"));
  free(err);
  sub_free(s);
  broker_free(&b);
  free(users);
  free(bad);
  free(d);
}

/* Two shards of a fleet of 10 cover SIM0001..SIM0010 exactly once. */
static void test_fleet_shards(void **state)
{
  (void)state;
  struct broker b;
  char *d = start_broker(&b);
  struct sub *s = sub_new(b.port, "watch", true, NULL, NULL, "ovms/+/+/metric/s/v3/connected", 0);
  assert_int_equal(sub_ready(s, 10), 0);
  char *a0[] = {"ovms-sim", "--fleet", "10", "--fleet-shard", "0/2", "--speed", "20",
                "--broker", broker_url(&b, "sh"), "--quiet", NULL};
  char *a1[] = {"ovms-sim", "--fleet", "10", "--fleet-shard", "1/2", "--speed", "20",
                "--broker", broker_url(&b, "sh"), "--quiet", NULL};
  pid_t p0 = sim_spawn(d, a0, NULL), p1 = sim_spawn(d, a1, NULL);
  for (double t = 0; t < 30 && sub_count(s) < 10; t += 0.2)
    harness_sleep_ms(200);
  for (int c = 1; c <= 10; c++)
    assert_int_equal(sub_count_topic(s, 0, topic("sh", c, "metric/s/v3/connected"), "yes"), 1);
  assert_int_equal(sub_count_topic(s, 0, topic("sh", 11, "metric/s/v3/connected"), NULL), 0);
  proc_kill(p0);
  proc_kill(p1);
  sub_free(s);
  broker_free(&b);
  free(d);
}

/* --apps beside a fleet: presence (s.v3.peers on every car), the re-announce, commands with
 * matched and timed responses, and the apps' wills. */
static void test_fleet_apps(void **state)
{
  (void)state;
  struct broker b;
  char *d = start_broker(&b);
  char rep[600];
  snprintf(rep, sizeof(rep), "%s/report.json", d);
  struct sub *s = sub_new(b.port, "watch", true, NULL, NULL, "ovms/#", 1);
  assert_int_equal(sub_ready(s, 10), 0);
  char *argv[] = {"ovms-sim", "--fleet", "3", "--apps", "3", "--app-command", "stat", "--speed",
                  "20", "--broker", broker_url(&b, "carol"), "--duration", "5min", "--report", rep,
                  "--quiet", NULL};
  pid_t pid = sim_spawn(d, argv, NULL);
  for (int c = 1; c <= 3; c++) {
    char app[64];
    snprintf(app, sizeof(app), "client/simapp%d/active", c);
    assert_true(sub_wait(s, 0, topic("carol", c, app), "1", 30) >= 0);
    assert_true(sub_wait(s, 0, topic("carol", c, "metric/s/v3/peers"), "1", 30) >= 0);
    snprintf(app, sizeof(app), "client/simapp%d/response/1", c);
    assert_true(sub_wait(s, 0, topic("carol", c, app), NULL, 30) >= 0);
  }
  assert_int_equal(proc_wait(pid, 60), 0);
  /* the process ended without DISCONNECT: every app's will */
  for (int c = 1; c <= 3; c++) {
    char app[64];
    snprintf(app, sizeof(app), "client/simapp%d/active", c);
    assert_true(sub_wait(s, 0, topic("carol", c, app), "0", 10) >= 0);
  }
  char *r = test_read_file(rep, NULL);
  assert_non_null(r);
  assert_non_null(strstr(r, "\"apps\":{\"apps\":3,"));
  const char *resp = strstr(r, "\"responses\":");
  assert_non_null(resp);
  assert_true(atoi(resp + 12) >= 3);
  assert_non_null(strstr(r, "\"pending\":0,"));
  free(r);
  sub_free(s);
  broker_free(&b);
  free(d);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_fleet_200),
    cmocka_unit_test(test_fleet_report),
    cmocka_unit_test(test_fleet_users_acl),
    cmocka_unit_test(test_fleet_shards),
    cmocka_unit_test(test_fleet_apps),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
