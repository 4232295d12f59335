/*
 * test_replay_mqtt.c - a dense real-time replay leaves room for MQTT (issue 16 item 8): the
 * ovms-sim program replays a generated 5 kHz candump trace in real time (not --fast) against a
 * real mosquitto while an app client sends `stat` on client/app1/command/<n> at 4000 commands
 * per second for 3 s.  Every command is answered (responses counted at the app = commands
 * sent, each <n> once), and the simulator's memory stays flat (VmRSS of /proc/PID/status
 * sampled when the load starts and when every answer arrived; a generous bound, no timing
 * threshold: a slow machine only makes the answers come later).  The CPU share and the answer
 * rate are printed by bench/bench_replay_mqtt.sh.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mqtt_harness.h"

#define P "ovms/alice/REPLAY/"
#define RATE 4000
#define SECONDS 3
#define COMMANDS (RATE * SECONDS)

static long rss_kb(pid_t pid)
{
  char p[64], line[256];
  snprintf(p, sizeof(p), "/proc/%d/status", (int)pid);
  FILE *f = fopen(p, "r");
  long kb = -1;
  if (!f)
    return -1;
  while (fgets(line, sizeof(line), f))
    if (!strncmp(line, "VmRSS:", 6))
      kb = strtol(line + 6, NULL, 10);
  fclose(f);
  return kb;
}

static void write_trace(const char *path, int hz, int seconds)
{
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  for (long i = 0; i < (long)hz * seconds; i++)
    fprintf(f, "(%ld.%06ld) can0 %03lX#%016lX\n", 1724333000L + i / hz, (i % hz) * (1000000 / hz),
            0x100 + i % 64, i);
  fclose(f);
}

static void test_replay_beside_commands(void **state)
{
  (void)state;
  char *dir = harness_tmpdir();
  struct broker b;
  /* the broker queues whatever the module has not read yet: nothing is dropped there */
  if (broker_start(&b, dir, 0, "max_queued_messages 0\n") < 0)
    skip();
  char trace[512];
  snprintf(trace, sizeof(trace), "%s/dense.log", dir);
  write_trace(trace, 5000, 120);
  struct sub *app = sub_new(b.port, "app1", true, NULL, NULL, P "client/app1/response/#", 1);
  struct sub *obs = sub_new(b.port, "obs", true, NULL, NULL, P "metric/s/v3/connected", 0);
  assert_int_equal(sub_ready(app, 10), 0);
  assert_int_equal(sub_ready(obs, 10), 0);
  char url[128];
  snprintf(url, sizeof(url), "mqtt://alice@127.0.0.1:%d", b.port);
  char *argv[] = {"ovms-sim", "--trace", trace, "--vehicle-id", "REPLAY", "--broker", url,
                  "--quiet", NULL};
  /* no ASan quarantine: freed memory is reused, so RSS means what the program holds */
  char *env[] = {"ASAN_OPTIONS=quarantine_size_mb=0:detect_leaks=0", NULL};
  pid_t pid = sim_spawn(dir, argv, env);
  assert_true(sub_wait(obs, 0, P "metric/s/v3/connected", "yes", 60) >= 0);
  for (int i = 0; i < 300 && !broker_log_count(&b, "Received SUBSCRIBE from REPLAY"); i++)
    harness_sleep_ms(100);
  harness_sleep_ms(200); /* the SUBACK reaches the module */
  long rss0 = rss_kb(pid);
  assert_true(rss0 > 0);
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  for (int n = 1; n <= COMMANDS; n++) {
    char topic[128];
    snprintf(topic, sizeof(topic), P "client/app1/command/%d", n);
    assert_int_equal(sub_publish(app, topic, "stat", 1, false), 0);
    t.tv_nsec += 1000000000L / RATE;
    if (t.tv_nsec >= 1000000000L) {
      t.tv_nsec -= 1000000000L;
      t.tv_sec++;
    }
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL);
  }
  size_t got = 0;
  for (int i = 0; i < 1200 && got < COMMANDS; i++) {
    got = sub_count(app);
    if (got < COMMANDS)
      harness_sleep_ms(100);
  }
  long rss1 = rss_kb(pid);
  print_message("%d commands sent at %d/s beside a 5 kHz replay: %zu answered; RSS %ld -> %ld kB\n",
                COMMANDS, RATE, got, rss0, rss1);
  assert_int_equal(got, COMMANDS);
  static char seen[COMMANDS + 1];
  for (size_t i = 0; i < got; i++) {
    struct rmsg m = sub_get(app, i);
    const char *r = strstr(m.topic, "/response/");
    assert_non_null(r);
    long n = strtol(r + 10, NULL, 10);
    assert_true(n >= 1 && n <= COMMANDS);
    assert_int_equal(seen[n], 0);
    seen[n] = 1;
  }
  assert_true(rss1 < rss0 + 32 * 1024); /* flat: far below what 12,000 queued commands hold */
  assert_int_equal(waitpid(pid, NULL, WNOHANG), 0); /* still replaying */
  proc_kill(pid);
  sub_free(app);
  sub_free(obs);
  broker_free(&b);
  harness_rmtree(dir);
}

int main(void)
{
  if (!getenv("MOSQUITTO_BIN"))
    return TEST_SKIP_EXIT;
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_replay_beside_commands),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
