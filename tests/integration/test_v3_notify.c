/*
 * test_v3_notify.c - "nothing lost": a QoS 2 data notification is delivered exactly once
 * across a broker restart and across a restart (SIGKILL) of the simulator, through the
 * durable queue of --state-dir (docs/v3.md "Nothing lost"); a backlog of data records drains
 * at the broker's pace, in order.
 *
 * The module runs in a forked child through the library (so the test can raise the
 * notification at the right moment); the collector is a persistent-session (CleanSession 0)
 * QoS 2 subscriber, as a notification daemon (PyOVMS) is, on a broker with persistence.
 */
#include "testutil.h"

#include <ev.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vehicle/housekeeping.h"
#include "model/metrics.h"
#include "mqtt_harness.h"
#include "simenv.h"
#include "notify/queue.h"
#include "model/sim.h"
#include "v3/v3.h"

#define P "ovms/alice/MYCAR/"
#define RECORD "*-LOG-Test,1,86400,hello"

enum mode { RAISE_NONE, RAISE_AT_START, RAISE_ON_DISCONNECT, RAISE_BACKLOG };

enum { BACKLOG = 50 }; /* records of RAISE_BACKLOG */

struct child_args {
  int port;
  const char *state_dir;
  enum mode mode;
};

static bool was_connected;

static void on_connected(void *ctx, struct metric *m)
{
  struct sim *sim = ctx;
  if (metric_bool(m)) {
    was_connected = true;
  } else if (was_connected) {
    was_connected = false;
    sim_notify_raise(sim, NOTIFY_DATA, "log.test", RECORD "\nsecond line");
  }
}

static int child(void *p)
{
  struct child_args *a = p;
  struct test_sim car;
  int rc = test_v3_car(&car, "MYCAR", a->state_dir, a->port);
  if (rc)
    return rc;
  struct sim *sim = car.sim;
  struct sim_loop *loop = car.loop;
  if (a->mode == RAISE_AT_START)
    sim_notify_raise(sim, NOTIFY_DATA, "log.test", RECORD "\nsecond line");
  for (int i = 1; a->mode == RAISE_BACKLOG && i <= BACKLOG; i++) {
    char text[32];
    snprintf(text, sizeof(text), "*-LOG-Test,%d", i);
    sim_notify_raise(sim, NOTIFY_DATA, "log.test", text);
  }
  if (a->mode == RAISE_ON_DISCONNECT)
    metrics_listen(sim->metrics, "s.v3.connected", on_connected, sim);
  sim_loop_run(loop);
  return 0;
}

static bool journal_has(const char *state_dir, const char *needle)
{
  char p[512];
  snprintf(p, sizeof(p), "%s/notify.journal", state_dir);
  FILE *f = fopen(p, "r");
  if (!f)
    return false;
  char line[1024];
  bool found = false;
  while (fgets(line, sizeof(line), f))
    if (strstr(line, needle))
      found = true;
  fclose(f);
  return found;
}

static bool wait_journal(const char *state_dir, const char *needle, double timeout)
{
  for (int i = 0; i < timeout * 100; i++) {
    if (journal_has(state_dir, needle))
      return true;
    harness_sleep_ms(10);
  }
  return false;
}

/* Number of data notifications received, checking each one. */
static size_t data_count(struct sub *s)
{
  size_t c = 0, n = sub_count(s);
  const char *pre = P "notify/data/log/test/1/";
  for (size_t i = 0; i < n; i++) {
    struct rmsg m = sub_get(s, i);
    if (strncmp(m.topic, pre, strlen(pre)))
      continue;
    assert_int_equal(m.qos, 2);
    assert_false(m.retain);
    assert_string_equal(m.payload, RECORD); /* the first line only */
    const char *age = m.topic + strlen(pre);
    assert_true(*age == '0' || *age == '-');
    c++;
  }
  return c;
}

static size_t wait_data(struct sub *s, double timeout)
{
  for (int i = 0; i < timeout * 100; i++) {
    size_t c = data_count(s);
    if (c)
      return c;
    harness_sleep_ms(10);
  }
  return 0;
}

static void test_across_broker_restart(void **state)
{
  char *bdir = harness_tmpdir(), *sdir = harness_tmpdir();
  struct broker b;
  if (broker_start(&b, bdir, 0, NULL) < 0)
    skip();
  struct sub *col = sub_new(b.port, "collector", false, NULL, NULL, P "notify/#", 2);
  struct sub *obs = sub_new(b.port, "observer", true, NULL, NULL, P "metric/s/v3/connected", 2);
  assert_int_equal(sub_ready(col, 10), 0);
  assert_int_equal(sub_ready(obs, 10), 0);
  struct child_args a = {b.port, sdir, RAISE_ON_DISCONNECT};
  pid_t pid = proc_fork(child, &a);
  assert_true(sub_wait(obs, 0, P "metric/s/v3/connected", "yes", 30) >= 0);
  broker_stop(&b);
  /* the module lost the broker and queued the record durably */
  assert_true(wait_journal(sdir, "N data 1 ", 30));
  assert_int_equal(broker_restart(&b), 0);
  assert_int_equal(wait_data(col, 60), 1);
  /* acknowledged (end of the QoS 2 exchange): marked read in the journal */
  assert_true(wait_journal(sdir, "R ovmsv3 data 1", 30));
  harness_sleep_ms(500);
  assert_int_equal(data_count(col), 1);
  proc_kill(pid);
  sub_free(col);
  sub_free(obs);
  broker_free(&b);
  harness_rmtree(bdir);
  harness_rmtree(sdir);
}

static void test_across_simulator_restart(void **state)
{
  char *bdir = harness_tmpdir(), *sdir = harness_tmpdir();
  struct broker b;
  if (broker_start(&b, bdir, 0, NULL) < 0)
    skip();
  struct sub *col = sub_new(b.port, "collector2", false, NULL, NULL, P "notify/#", 2);
  assert_int_equal(sub_ready(col, 10), 0);
  broker_stop(&b); /* the collector's session stays in the broker's persistence */
  /* first run: no broker; the record is raised and queued, then the process is killed */
  struct child_args a = {b.port, sdir, RAISE_AT_START};
  pid_t pid = proc_fork(child, &a);
  assert_true(wait_journal(sdir, "N data 1 ", 30));
  kill(pid, SIGKILL);
  proc_wait(pid, 10);
  assert_int_equal(broker_restart(&b), 0);
  struct sub *obs = sub_new(b.port, "observer2", true, NULL, NULL, P "metric/s/v3/connected", 2);
  assert_int_equal(sub_ready(obs, 10), 0);
  /* second run, same state directory: the record goes out once */
  a.mode = RAISE_NONE;
  pid = proc_fork(child, &a);
  assert_int_equal(wait_data(col, 60), 1);
  assert_true(wait_journal(sdir, "R ovmsv3 data 1", 30));
  proc_kill(pid);
  /* third run: nothing is sent again */
  size_t from = sub_count(obs);
  pid = proc_fork(child, &a);
  assert_true(sub_wait(obs, from, P "metric/s/v3/connected", "yes", 30) >= 0);
  harness_sleep_ms(1000);
  assert_int_equal(data_count(col), 1);
  proc_kill(pid);
  sub_free(col);
  sub_free(obs);
  broker_free(&b);
  harness_rmtree(bdir);
  harness_rmtree(sdir);
}

/* A backlog of 50 data records raised before the connect drains as the firmware drains it:
 * the next record as soon as the previous one's QoS 2 exchange ends (IncomingPubRec() calls
 * TransmitPendingNotificationsData(), ovms_server_v3.cpp), not one per Ticker1.  The span
 * is read from the records' own <-age> (simulation seconds since the raise): one per second
 * would make it 49 s; received in order, each once. */
static void test_backlog_drains(void **state)
{
  char *bdir = harness_tmpdir(), *sdir = harness_tmpdir();
  struct broker b;
  if (broker_start(&b, bdir, 0, NULL) < 0)
    skip();
  struct sub *col = sub_new(b.port, "collector3", false, NULL, NULL, P "notify/data/#", 2);
  assert_int_equal(sub_ready(col, 10), 0);
  struct child_args a = {b.port, sdir, RAISE_BACKLOG};
  pid_t pid = proc_fork(child, &a);
  const char *pre = P "notify/data/log/test/";
  size_t n = 0;
  for (int i = 0; i < 6000 && n < BACKLOG; i++) {
    harness_sleep_ms(10);
    n = sub_count(col);
  }
  assert_int_equal(n, BACKLOG);
  long first_age = 0, last_age = 0;
  for (size_t i = 0; i < n; i++) {
    struct rmsg m = sub_get(col, i);
    assert_int_equal(strncmp(m.topic, pre, strlen(pre)), 0);
    char *end;
    long id = strtol(m.topic + strlen(pre), &end, 10);
    assert_int_equal(id, (long)i + 1); /* in order, each once */
    assert_int_equal(*end, '/');
    long age = -strtol(end + 1, NULL, 10);
    if (i == 0)
      first_age = age;
    last_age = age;
    char text[32];
    snprintf(text, sizeof(text), "*-LOG-Test,%zu", i + 1);
    assert_string_equal(m.payload, text);
  }
  printf("# 50 queued data records: ages %ld..%ld s (simulation time)\n", first_age, last_age);
  assert_true(last_age - first_age < BACKLOG / 2);
  assert_true(wait_journal(sdir, "R ovmsv3 data 50", 30));
  harness_sleep_ms(500);
  assert_int_equal(sub_count(col), BACKLOG);
  proc_kill(pid);
  sub_free(col);
  broker_free(&b);
  harness_rmtree(bdir);
  harness_rmtree(sdir);
}

int main(void)
{
  if (!getenv("MOSQUITTO_BIN"))
    return TEST_SKIP_EXIT;
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_across_broker_restart),
    cmocka_unit_test(test_across_simulator_restart),
    cmocka_unit_test(test_backlog_drains),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
