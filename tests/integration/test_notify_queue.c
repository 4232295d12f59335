/*
 * test_notify_queue.c - one bad notification never blocks the others, and a run does not end
 * with its backlog unsent (issue 16, items 1 and 2), against a real mosquitto:
 *   - a raise with an invalid subtype (not UTF-8; 70,000 bytes) over MQTT gets an error
 *     answer, and the good raise after it is delivered;
 *   - an undeliverable entry left in a state directory by an older version is moved aside to
 *     notify.dead (reported, exit 3) and the entry queued after it is delivered;
 *   - a scenario that raises 100 notifications at one instant delivers all 100 before a
 *     --fast run ends (counted at a subscriber), and a run whose broker goes away reports
 *     what is still queued and exits 3.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/sbuf.h"
#include "mqtt_harness.h"
#include "notify/journal.h"

#define P "ovms/alice/MYCAR/"

static char *dir;
static struct broker B;

static int setup(void **state)
{
  harness_broker_setup(&B, &dir);
  return 0;
}

static int teardown(void **state)
{
  harness_broker_teardown(&B, dir);
  return 0;
}

static char *url(void)
{
  return broker_url(&B, "alice");
}

static char *read_in(const char *d, const char *name)
{
  char p[512];
  snprintf(p, sizeof(p), "%s/%s", d, name);
  return test_read_file(p, NULL);
}

/* Sends command over MQTT as app1 and returns the index of its response (asserted). */
static long command(struct sub *s, const char *id, const char *cmd)
{
  char t[128], r[128];
  snprintf(t, sizeof(t), P "client/app1/command/%s", id);
  snprintf(r, sizeof(r), P "client/app1/response/%s", id);
  size_t from = sub_count(s);
  assert_int_equal(sub_publish(s, t, cmd, 1, false), 0);
  long i = sub_wait(s, from, r, NULL, 30);
  assert_true(i >= 0);
  return i;
}

static void test_bad_raise_refused_good_delivered(void **state)
{
  struct sub *s = sub_new(B.port, "app1", true, NULL, NULL, P "#", 2);
  assert_non_null(s);
  assert_int_equal(sub_ready(s, 10), 0);
  char *argv[] = {"ovms-sim", "--speed", "20", "--vehicle-id", "MYCAR", "--broker", url(),
                  "--quiet", NULL};
  size_t subacks = broker_log_count(&B, "Sending SUBACK to MYCAR");
  pid_t pid = sim_spawn(dir, argv, NULL);
  assert_true(sub_wait(s, 0, P "metric/s/v3/connected", "yes", 30) >= 0);
  for (int i = 0; i < 500 && broker_log_count(&B, "Sending SUBACK to MYCAR") <= subacks; i++)
    harness_sleep_ms(10);

  /* a subtype that is not UTF-8 */
  long r = command(s, "b1", "notify raise text info bad.\xff\xfe poison");
  assert_string_equal(sub_get(s, (size_t)r).payload,
                      "Error: notification not raised: the subtype is not valid UTF-8 (byte 5)\n");
  /* a subtype of 300 bytes (the shell line holds 800) */
  struct sbuf big = SBUF_INIT;
  sbuf_adds(&big, "notify raise text info ");
  for (int i = 0; i < 300; i++)
    sbuf_addc(&big, 'a');
  sbuf_adds(&big, " poison");
  r = command(s, "b2", big.p);
  sbuf_free(&big);
  assert_non_null(strstr(sub_get(s, (size_t)r).payload, "Error: notification not raised: "
                                                        "the subtype is 300 bytes long (at most "
                                                        "128)"));
  /* a wildcard in the subtype */
  r = command(s, "b3", "notify raise text alert usr.# poison");
  assert_non_null(strstr(sub_get(s, (size_t)r).payload, "the character '#'"));

  /* the good one after them is delivered, and nothing of the bad ones reached the broker */
  size_t from = sub_count(s);
  r = command(s, "g1", "notify raise text info usr.good hello");
  assert_string_equal(sub_get(s, (size_t)r).payload,
                      "Raise text notification for info/usr.good as hello\n");
  assert_true(sub_wait(s, from, P "notify/info/usr/good", "hello", 30) >= 0);
  from = sub_count(s);
  command(s, "g2", "notify raise text alert usr.after also");
  assert_true(sub_wait(s, from, P "notify/alert/usr/after", "also", 30) >= 0);
  for (size_t i = 0; i < sub_count(s); i++)
    assert_string_not_equal(sub_get(s, i).payload, "poison");
  proc_kill(pid);
  sub_free(s);
}

static int take_any(void *ctx, const char *payload, size_t len, struct sbuf *why)
{
  (void)ctx, (void)payload, (void)len, (void)why;
  return 0;
}

/* An older version accepted any subtype without a space, '/', '+' or '#' into the journal:
 * such an entry ahead of a good one must not block it. */
static void test_undeliverable_moved_aside(void **state)
{
  char *sd = harness_tmpdir();
  struct notify_journal *j = NULL;
  assert_int_equal(notify_journal_open(&j, sd, NULL, take_any, NULL, NULL), 0);
  struct sbuf rec = SBUF_INIT;
  sbuf_adds(&rec, "I info 2\nN info 1 1717228800000000000 ovmsv3 bad.\xc3\x28 706f69736f6e\n"
                  "N info 2 1717228800000000000 ovmsv3 usr.next 6e657874\n");
  assert_int_equal(notify_journal_rewrite(j, &rec, NULL), 0);
  sbuf_free(&rec);
  notify_journal_close(j);

  struct sub *s = sub_new(B.port, "app2", true, NULL, NULL, P "notify/#", 2);
  assert_non_null(s);
  assert_int_equal(sub_ready(s, 10), 0);
  char *argv[] = {"ovms-sim", "--fast", "--duration", "30s", "--vehicle-id", "MYCAR",
                  "--broker", url(), "--state-dir", sd, "--stats", "--quiet", NULL};
  assert_int_equal(proc_wait(sim_spawn(sd, argv, NULL), 60), 3);
  assert_true(sub_wait(s, 0, P "notify/info/usr/next", "next", 10) >= 0);
  assert_int_equal(sub_count(s), 1);
  char *err = read_in(sd, "sim.err");
  assert_non_null(strstr(err, "notification info 1 can never be delivered (the subtype is not "
                              "valid UTF-8 (byte 5)): moved aside"));
  assert_non_null(strstr(err, "notifications: 1 delivered, 0 still queued, 1 moved aside"));
  assert_non_null(strstr(err, "/notify.dead"));
  free(err);
  char *dead = read_in(sd, "notify.dead");
  assert_non_null(dead);
  assert_non_null(strstr(dead, "info 1 1717228800000000000 x:6261642ec328 706f69736f6e the "
                               "subtype is not valid UTF-8 (byte 5)\n"));
  free(dead);
  /* and it stays aside: the next run neither retries it nor fails */
  char *argv2[] = {"ovms-sim", "--fast", "--duration", "30s", "--vehicle-id", "MYCAR",
                   "--broker", url(), "--state-dir", sd, "--quiet", NULL};
  assert_int_equal(proc_wait(sim_spawn(sd, argv2, NULL), 60), 0);
  assert_int_equal(sub_count(s), 1);
  sub_free(s);
  assert_int_equal(harness_rmtree(sd), 0);
}

/* A scenario of n notify steps at one instant. */
static char *burst_scenario(const char *d, int n)
{
  struct sbuf b = SBUF_INIT;
  sbuf_adds(&b, "name: burst\nvehicle:\n  id: MYCAR\ntimeline:\n");
  for (int i = 0; i < n; i++)
    sbuf_printf(&b, "  - notify: {subtype: usr.burst, text: \"n%d\"}\n", i);
  char *p = harness_write(d, "burst.yaml", b.p);
  sbuf_free(&b);
  return p;
}

static void test_burst_delivered_before_the_end(void **state)
{
  char *d = harness_tmpdir();
  char *scen = burst_scenario(d, 100);
  struct sub *s = sub_new(B.port, "app3", true, NULL, NULL, P "notify/#", 1);
  assert_non_null(s);
  assert_int_equal(sub_ready(s, 10), 0);
  char *argv[] = {"ovms-sim", "--scenario", scen, "--fast", "--broker", url(), "--stats",
                  "--quiet", NULL};
  assert_int_equal(proc_wait(sim_spawn(d, argv, NULL), 120), 0);
  /* every one of them, each once, in order (QoS 1 may repeat only after a reconnect) */
  for (int i = 0; i < 100 && sub_count(s) < 100; i++)
    harness_sleep_ms(50);
  assert_int_equal(sub_count(s), 100);
  for (int i = 0; i < 100; i++) {
    char want[16];
    snprintf(want, sizeof(want), "n%d", i);
    struct rmsg m = sub_get(s, (size_t)i);
    assert_string_equal(m.topic, P "notify/info/usr/burst");
    assert_string_equal(m.payload, want);
  }
  char *err = read_in(d, "sim.err");
  assert_non_null(strstr(err, "notifications: 100 delivered, 0 still queued, 0 moved aside"));
  free(err);
  sub_free(s);
  free(scen);
  assert_int_equal(harness_rmtree(d), 0);
}

/* A broker that accepts the connection but is stopped before the queue is drained: the
 * run ends after --drain-timeout, says what was lost, and exits 3; with --state-dir the
 * backlog is kept (exit 0) and delivered by the next run. */
static void test_backlog_reported(void **state)
{
  char *d = harness_tmpdir();
  char *scen = burst_scenario(d, 30);
  struct broker b2;
  assert_int_equal(broker_start(&b2, d, 0, NULL), 0);
  char u[128];
  snprintf(u, sizeof(u), "mqtt://alice@127.0.0.1:%d", b2.port);
  /* speed 5: 30 notifications need about 6 s of wall time; the broker goes after 2 s */
  char *argv[] = {"ovms-sim", "--scenario", scen, "--speed", "5", "--broker", u,
                  "--drain-timeout", "20s", "--quiet", NULL};
  pid_t pid = sim_spawn(d, argv, NULL);
  for (int i = 0; i < 600 && broker_log_count(&b2, "notify/info/usr/burst") < 3; i++)
    harness_sleep_ms(10);
  broker_stop(&b2);
  assert_int_equal(proc_wait(pid, 120), 3);
  char *err = read_in(d, "sim.err");
  assert_non_null(strstr(err, "info) were not delivered and are lost"));
  free(err);

  char *sd = harness_tmpdir();
  assert_int_equal(broker_restart(&b2), 0);
  char *argv2[] = {"ovms-sim", "--scenario", scen, "--speed", "5", "--broker", u,
                   "--drain-timeout", "20s", "--state-dir", sd, "--quiet", NULL};
  size_t seen = broker_log_count(&b2, "notify/info/usr/burst");
  pid = sim_spawn(sd, argv2, NULL);
  for (int i = 0; i < 600 && broker_log_count(&b2, "notify/info/usr/burst") < seen + 3; i++)
    harness_sleep_ms(10);
  broker_stop(&b2);
  assert_int_equal(proc_wait(pid, 120), 0);
  err = read_in(sd, "sim.err");
  assert_non_null(strstr(err, "were not delivered yet; "));
  assert_non_null(strstr(err, "keeps them for the next run"));
  free(err);
  /* the next run (no scenario) delivers the rest */
  assert_int_equal(broker_restart(&b2), 0);
  struct sub *s = sub_new(b2.port, "app4", true, NULL, NULL, P "notify/#", 1);
  assert_non_null(s);
  assert_int_equal(sub_ready(s, 10), 0);
  char *argv3[] = {"ovms-sim", "--fast", "--duration", "5s", "--vehicle-id", "MYCAR",
                   "--broker", u, "--state-dir", sd, "--stats", "--quiet", NULL};
  assert_int_equal(proc_wait(sim_spawn(sd, argv3, NULL), 120), 0);
  assert_true(sub_wait(s, 0, P "notify/info/usr/burst", "n29", 10) >= 0);
  err = read_in(sd, "sim.err");
  assert_non_null(strstr(err, " still queued, 0 moved aside"));
  assert_non_null(strstr(err, "0 still queued"));
  free(err);
  sub_free(s);
  broker_free(&b2);
  free(scen);
  assert_int_equal(harness_rmtree(d), 0);
  assert_int_equal(harness_rmtree(sd), 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_bad_raise_refused_good_delivered),
    cmocka_unit_test(test_undeliverable_moved_aside),
    cmocka_unit_test(test_burst_delivered_before_the_end),
    cmocka_unit_test(test_backlog_reported),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
