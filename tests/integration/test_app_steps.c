/*
 * test_app_steps.c - a scenario's app: steps (docs/scenarios.md "app") against a real
 * mosquitto on a free loopback port, with a recording subscriber on ovms/#:
 *  - in one process with the simulated car: the app connects (presence client/phone/active 1
 *    at QoS 1 on the wire, the car's s.v3.peers goes to 1), a command gets its response
 *    (client/phone/command/1 -> client/phone/response/1) and expects on the text and the
 *    latency pass, a clean disconnect (active 0) takes s.v3.peers back to 0: exit 0;
 *  - a failing expectation on the response: exit 1, the FAIL line shows what came;
 *  - --app-only against a separate ovms-sim module: commands answered, a drop makes the
 *    broker publish the app's will (active 0);
 *  - --app-only against a vehicle that does not answer: "no response within 1 s", exit 1;
 *    interrupted while a command waits: NOT REACHED, exit 130; a broker that refuses the
 *    connection: exit 3 with the cause.
 * The car runs at --speed 5 (its connection comes 2-3 s after the start).
 */
#include "testutil.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mqtt_harness.h"

#define P "ovms/alice/DEMO/"

static char *dir;
static struct broker B;
static char url[128];

static int setup(void **state)
{
  (void)state;
  harness_broker_setup(&B, &dir);
  snprintf(url, sizeof(url), "mqtt://alice@127.0.0.1:%d", B.port);
  return 0;
}

static int teardown(void **state)
{
  (void)state;
  harness_broker_teardown(&B, dir);
  return 0;
}

static char *file_in_dir(const char *name)
{
  static char p[512];
  snprintf(p, sizeof(p), "%s/%s", dir, name);
  return p;
}

/* Starts the simulator in dir with a fresh sim.err. */
static pid_t spawn(char *const argv[])
{
  unlink(file_in_dir("sim.err"));
  return sim_spawn(dir, argv, NULL);
}

/* The simulator's stderr of the last run. */
static char *sim_err(void)
{
  return test_read_file(file_in_dir("sim.err"), NULL);
}

static const char *const SAME =
  "name: app and car\n"
  "timeline:\n"
  "  - app: {id: phone, connect: yes, wait_online: yes, expect: {within: 30s}}\n"
  "  - name: seen\n"
  "    park: 10s\n"
  "  - app: {id: phone, command: \"metrics get v.b.soc\",\n"
  "          expect: {response: \"55%\", within: 10s}}\n"
  "  - app: {id: phone, command: stat, expect: {contains: \"SOC: 55.0%\", match: \"^ODO: \"}}\n"
  "  - app: {id: phone, disconnect: yes}\n"
  "  - park: 10s\n"
  "vehicle: {soc: 55%, noise: no}\n"
  "expect:\n"
  "  - {metric: s.v3.peers, value: 1, after: seen}\n"
  "  - {metric: s.v3.peers, value: 0}\n";

static void test_same_process(void **state)
{
  (void)state;
  struct sub *s = sub_new(B.port, "obs1", true, NULL, NULL, "ovms/#", 2);
  assert_non_null(s);
  assert_int_equal(sub_ready(s, 10), 0);
  char *sc = harness_write(dir, "same.yaml", SAME);
  char report[512];
  snprintf(report, sizeof(report), "%s", file_in_dir("same.json"));
  /* not --quiet: it would leave out the PASS lines read below */
  char *argv[] = {"ovms-sim", "--scenario", sc, "--speed", "5", "--broker", url, "--report",
                  report, NULL};
  int rc = proc_wait(spawn(argv), 120);
  char *err = sim_err();
  fprintf(stderr, "%s", err);
  assert_int_equal(rc, 0);
  assert_non_null(strstr(err, "PASS app phone connect: in "));
  assert_non_null(strstr(err, "PASS app phone command 'metrics get v.b.soc': '55%' in "));
  assert_non_null(strstr(err, "PASS app phone command 'stat': "));
  assert_non_null(strstr(err, "PASS s.v3.peers = 1"));
  assert_non_null(strstr(err, "PASS s.v3.peers = 0"));
  assert_non_null(strstr(err, "app and car: 5 checks, 5 passed, 0 failed"));
  char *rep = test_read_file(report, NULL);
  assert_non_null(strstr(rep, "\"app\":\"phone\",\"action\":\"command\",\"command\":\"stat\","
                              "\"latency_ms\":"));
  free(rep);
  /* what crossed the wire: presence at QoS 1 (again when the module came up), the commands
   * and their answers (the observer may get an answer before the QoS 2 command), active 0 at
   * the disconnect, last */
  long a1 = sub_wait(s, 0, P "client/phone/active", "1", 5);
  assert_true(a1 >= 0);
  assert_int_equal(sub_get(s, (size_t)a1).qos, 1);
  assert_true(sub_count_topic(s, 0, P "client/phone/active", "1") >= 2);
  assert_true(sub_wait(s, (size_t)a1, P "client/phone/command/1", "metrics get v.b.soc", 5) >= 0);
  long r1 = sub_wait(s, (size_t)a1, P "client/phone/response/1", NULL, 5);
  assert_true(r1 >= 0);
  assert_non_null(strstr(sub_get(s, (size_t)r1).payload, "55%"));
  assert_true(sub_wait(s, (size_t)a1, P "client/phone/command/2", "stat", 5) >= 0);
  long r2 = sub_wait(s, (size_t)a1, P "client/phone/response/2", NULL, 5);
  assert_true(r2 >= 0);
  assert_non_null(strstr(sub_get(s, (size_t)r2).payload, "SOC: 55.0%"));
  long a0 = sub_wait(s, (size_t)r2, P "client/phone/active", "0", 5);
  assert_true(a0 >= 0);
  assert_int_equal(sub_count_topic(s, (size_t)a0 + 1, P "client/phone/active", NULL), 0);
  /* a clean disconnect: no will from the broker */
  assert_int_equal(broker_log_count(&B, "Client phone disconnected."), 1);
  free(err);
  free(sc);
  sub_free(s);
}

static const char *const FAILING =
  "timeline:\n"
  "  - app: {id: tablet, connect: yes, wait_online: yes}\n"
  "  - app: {id: tablet, command: \"metrics get v.b.soc\", expect: {response: \"99%\"}}\n"
  "  - app: {id: tablet, command: \"metrics get v.b.soc\", expect: {contains: \"%\"}}\n"
  "vehicle: {soc: 55%, noise: no}\n";

static void test_failing_expect(void **state)
{
  (void)state;
  char *sc = harness_write(dir, "fail.yaml", FAILING);
  char *argv[] = {"ovms-sim", "--scenario", sc, "--speed", "5", "--broker", url, NULL};
  int rc = proc_wait(spawn(argv), 120);
  char *err = sim_err();
  fprintf(stderr, "%s", err);
  assert_int_equal(rc, 1);
  assert_non_null(strstr(err, "fail.yaml:3:63: FAIL app tablet command 'metrics get v.b.soc': "
                              "'55%' in "));
  assert_non_null(strstr(err, "(expected response '99%') after step 2"));
  assert_non_null(strstr(err, "PASS app tablet command 'metrics get v.b.soc': '55%'"));
  assert_non_null(strstr(err, "2 checks, 1 passed, 1 failed"));
  free(err);
  free(sc);
}

static const char *const REMOTE =
  "name: a module from the app end\n"
  "timeline:\n"
  "  - app: {id: ci, connect: yes, wait_online: yes, timeout: 60s}\n"
  "  - app: {id: ci, command: \"metrics get v.b.soc\", expect: {match: \"^[0-9.]+%$\", "
  "within: 10s}}\n"
  "  - app: {id: ci, command: \"charge stop\", expect: {contains: \"Could not stop\"}}\n"
  "  - app: {id: ci, drop: yes}\n";

static void test_app_only_module(void **state)
{
  (void)state;
  struct sub *s = sub_new(B.port, "obs2", true, NULL, NULL, "ovms/alice/CAR7/client/#", 2);
  assert_non_null(s);
  assert_int_equal(sub_ready(s, 10), 0);
  char *car = harness_write(dir, "car.yaml", "timeline:\n  - park: 1h\n");
  char *cargv[] = {"ovms-sim", "--scenario", car, "--speed", "5", "--vehicle-id", "CAR7",
                   "--broker", url, "--quiet", NULL};
  char *cdir = harness_tmpdir();
  pid_t module = sim_spawn(cdir, cargv, NULL);
  char *sc = harness_write(dir, "remote.yaml", REMOTE);
  char *argv[] = {"ovms-sim", "--scenario", sc, "--app-only", "--vehicle-id", "CAR7",
                  "--broker", url, NULL};
  int rc = proc_wait(spawn(argv), 120);
  char *err = sim_err();
  fprintf(stderr, "%s", err);
  assert_int_equal(rc, 0);
  assert_non_null(strstr(err, "a module from the app end: 2 checks, 2 passed, 0 failed"));
  /* the drop: no DISCONNECT, the broker publishes the will */
  long a1 = sub_wait(s, 0, "ovms/alice/CAR7/client/ci/active", "1", 5);
  assert_true(a1 >= 0);
  assert_true(sub_wait(s, (size_t)a1, "ovms/alice/CAR7/client/ci/response/2", NULL, 5) >= 0);
  assert_true(sub_wait(s, (size_t)a1, "ovms/alice/CAR7/client/ci/active", "0", 10) >= 0);
  assert_int_equal(broker_log_count(&B, "Client ci closed its connection."), 1);
  proc_kill(module);
  free(err);
  free(sc);
  free(car);
  sub_free(s);
  assert_int_equal(harness_rmtree(cdir), 0);
}

static void test_app_only_no_answer(void **state)
{
  (void)state;
  char *sc = harness_write(dir, "silent.yaml",
                           "timeline:\n"
                           "  - app: {id: ci2, connect: yes}\n"
                           "  - app: {id: ci2, command: stat, timeout: 1s, expect: {contains: SOC}}\n");
  char *argv[] = {"ovms-sim", "--scenario", sc, "--app-only", "--vehicle-id", "NOBODY",
                  "--broker", url, NULL};
  int rc = proc_wait(spawn(argv), 60);
  char *err = sim_err();
  fprintf(stderr, "%s", err);
  assert_int_equal(rc, 1);
  assert_non_null(strstr(err, "FAIL app ci2 command 'stat': no response within 1 s"));
  free(err);

  /* interrupted while the command waits: NOT REACHED, 130 */
  char *sc2 = harness_write(dir, "wait.yaml",
                            "timeline:\n"
                            "  - app: {id: ci3, connect: yes}\n"
                            "  - app: {id: ci3, command: stat, timeout: 60s, "
                            "expect: {contains: SOC}}\n");
  char *argv2[] = {"ovms-sim", "--scenario", sc2, "--app-only", "--vehicle-id", "NOBODY",
                   "--broker", url, NULL};
  pid_t pid = spawn(argv2);
  struct sub *s = sub_new(B.port, "obs3", true, NULL, NULL, "ovms/alice/NOBODY/client/ci3/command/1", 2);
  assert_non_null(s);
  assert_true(sub_wait(s, 0, "ovms/alice/NOBODY/client/ci3/command/1", "stat", 20) >= 0);
  kill(pid, SIGINT);
  assert_int_equal(proc_wait(pid, 20), 130);
  err = sim_err();
  assert_non_null(strstr(err, "NOT REACHED app ci3 command 'stat' (after step 2)"));
  free(err);
  sub_free(s);

  /* nothing listens there: the cause, exit 3 */
  char bad[64];
  snprintf(bad, sizeof(bad), "mqtt://alice@127.0.0.1:%d", harness_free_port());
  char *argv3[] = {"ovms-sim", "--scenario", sc, "--app-only", "--broker", bad, NULL};
  assert_int_equal(proc_wait(spawn(argv3), 60), 3);
  err = sim_err();
  assert_non_null(strstr(err, "could not connect to the broker: 127.0.0.1:"));
  assert_non_null(strstr(err, "Connection refused"));
  free(err);
  free(sc);
  free(sc2);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_same_process),
    cmocka_unit_test(test_failing_expect),
    cmocka_unit_test(test_app_only_module),
    cmocka_unit_test(test_app_only_no_answer),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
