/*
 * bench_v3.c - Server V3 full-sync throughput to a local mosquitto.
 *
 * Starts mosquitto (MOSQUITTO_BIN, default /usr/sbin/mosquitto) on a free loopback port,
 * a counting subscriber (its own thread), and one simulated module whose metrics registry
 * holds the standard metrics plus N vehicle metrics (default 20000, argv[1]), all defined.
 * After the module connected, a full sync of every defined metric is requested with
 * queue.sendall large enough for one batch, and timed until the subscriber has received
 * every message.  Prints messages, wall time, messages per second end to end, and the
 * simulator thread's CPU time per message, user + sys, and the sys part (RUSAGE_THREAD: the
 * subscriber's thread and the broker process are not counted).  The loop is stopped by a
 * 10 ms check timer on the measured thread (a 1 ms one cost about 0.1-1 us per message of
 * wakeups alone, more the longer the broker takes).  Compare with bench/bench_v3.sh, which times
 * `mosquitto_pub -l` publishing the same number of lines.  Numbers only; nothing asserted.
 */
#include <arpa/inet.h>
#include <ev.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "model/metrics.h"
#include "model/sim.h"
#include "v3/v3.h"

static atomic_long received;
static _Atomic double first_rx, last_rx;

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU seconds of the calling thread: user + sys; *sys gets the sys part. */
static double thread_cpu(double *sys)
{
  struct rusage ru;
  getrusage(RUSAGE_THREAD, &ru);
  *sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + *sys;
}

static int free_port(void)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t l = sizeof(a);
  if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
      getsockname(fd, (struct sockaddr *)&a, &l) < 0)
    return -1;
  close(fd);
  return ntohs(a.sin_port);
}

static double now_s(void);

static void on_msg(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
  double t = now_s();
  if (atomic_load(&first_rx) == 0)
    atomic_store(&first_rx, t);
  atomic_store(&last_rx, t);
  atomic_fetch_add(&received, 1);
}

static void on_conn(struct mosquitto *m, void *obj, int rc)
{
  mosquitto_subscribe(m, NULL, "bench/#", 0);
}

struct ctx {
  struct sim *sim;
  long expect;
  struct sim_loop *loop;
};

static void check_cb(struct ev_loop *ev, ev_timer *w, int revents)
{
  struct ctx *c = w->data;
  if (c->expect >= 0 && atomic_load(&received) >= c->expect)
    sim_loop_stop(c->loop, 0);
  if (c->expect < 0 && v3_connected(c->sim->v3))
    sim_loop_stop(c->loop, 0);
}

int main(int argc, char **argv)
{
  long extra = argc > 1 ? strtol(argv[1], NULL, 10) : 20000;
  if (extra < 0 || extra > 1000000)
    extra = 20000;
  const char *bin = getenv("MOSQUITTO_BIN");
  if (!bin || !*bin)
    bin = "/usr/sbin/mosquitto";
  int port = free_port();
  char dir[] = "/tmp/ovms-sim-bench-XXXXXX";
  if (!mkdtemp(dir))
    return 1;
  char conf[256], text[512];
  snprintf(conf, sizeof(conf), "%s/m.conf", dir);
  snprintf(text, sizeof(text), "%slistener %d 127.0.0.1\nallow_anonymous true\n"
           "max_queued_messages 0\nmax_inflight_messages 0\n",
           getuid() == 0 ? "user root\n" : "", port);
  FILE *f = fopen(conf, "w");
  fputs(text, f);
  fclose(f);
  pid_t broker = fork();
  if (broker == 0) {
    freopen("/dev/null", "w", stderr);
    execl(bin, bin, "-c", conf, (char *)NULL);
    _exit(127);
  }
  usleep(300000);

  mosquitto_lib_init();
  struct mosquitto *sub = mosquitto_new("bench-sub", true, NULL);
  mosquitto_message_callback_set(sub, on_msg);
  mosquitto_connect_callback_set(sub, on_conn);
  if (mosquitto_connect(sub, "127.0.0.1", port, 60) != MOSQ_ERR_SUCCESS) {
    fprintf(stderr, "bench_v3: cannot reach mosquitto (%s)\n", bin);
    kill(broker, SIGTERM);
    return 1;
  }
  mosquitto_loop_start(sub);
  usleep(200000);

  struct ev_loop *ev = ev_default_loop(0);
  /* real time: the loop sleeps between 1 s ticks, so the thread's CPU time is the work */
  struct sim_loop *loop = sim_loop_new(ev, SIM_CLOCK_REAL, 1.0, INT64_C(1717228800) * 1000000000);
  struct sim *sim = sim_new(loop, NULL, 1);
  v3_config_declare(sim->config);
  sim_config_set(sim->config, "vehicle", "id", "BENCH", NULL);
  sim_config_set(sim->config, "server.v3", "topic.prefix", "bench/", NULL);
  sim_config_set(sim->config, "server.v3", "queue.sendall", "100000", NULL);
  sim_config_set(sim->config, "server.v3", "conn.stable_wait", "3", NULL);
  sim_config_set(sim->config, "server.v3", "conn.jitter.max", "0", NULL);
  for (long i = 0; i < extra; i++) {
    char name[40];
    snprintf(name, sizeof(name), "xbench.m%06ld", i);
    struct metric *m;
    if (metrics_register(sim->metrics, name, METRIC_FLOAT, SIM_UNIT_NATIVE, 0, &m) == 0)
      metric_set_float(m, (double)i * 0.5);
  }
  char url[64];
  snprintf(url, sizeof(url), "mqtt://bench@127.0.0.1:%d", port);
  struct v3_options o = {.broker = url};
  if (v3_start(sim, &o, NULL) < 0)
    return 1;
  struct ctx c = {sim, -1, loop};
  ev_timer chk;
  /* 10 ms: the polling is on the measured thread (each wakeup costs a few us) */
  ev_timer_init(&chk, check_cb, 0.01, 0.01);
  chk.data = &c;
  ev_timer_start(ev, &chk);
  sim_loop_run(loop); /* until connected; the first full sync follows on the next tick */

  /* let the connect-time full sync (on the next tick) arrive, then time one on its own */
  long defined = 0;
  for (size_t i = 0; i < metrics_count(sim->metrics); i++)
    if (metric_is_defined(metrics_at(sim->metrics, i)))
      defined++;
  c.expect = defined;
  sim_loop_run(loop);

  long base = atomic_load(&received);
  uint64_t pub0 = v3_get_stats(sim->v3)->published;
  atomic_store(&first_rx, 0.0);
  double s0, s1;
  double c0 = thread_cpu(&s0);
  v3_request_update(sim->v3, "all");
  c.expect = base + defined;
  sim_loop_run(loop);
  double c1 = thread_cpu(&s1);
  double w0 = atomic_load(&first_rx), w1 = atomic_load(&last_rx);
  uint64_t pubs = v3_get_stats(sim->v3)->published - pub0;
  long got = atomic_load(&received) - base;
  printf("bench_v3: full sync of %ld defined metrics to mosquitto\n", defined);
  printf("  published %llu, received %ld\n", (unsigned long long)pubs, got);
  printf("  first to last message %.3f s: %.0f messages/s end to end\n", w1 - w0,
         (double)got / (w1 - w0));
  printf("  simulator CPU %.4f s (sys %.4f s), %.3f us per message\n", c1 - c0, s1 - s0,
         (c1 - c0) * 1e6 / (double)(pubs ? pubs : 1));

  mosquitto_disconnect(sub);
  mosquitto_loop_stop(sub, false);
  mosquitto_destroy(sub);
  sim_free(sim);
  sim_loop_free(loop);
  kill(broker, SIGTERM);
  waitpid(broker, NULL, 0);
  char cmd[128];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  if (system(cmd) != 0)
    return 1;
  return 0;
}
