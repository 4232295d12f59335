/*
 * bench_scenario.c - how fast the scenario engine and physics model run in virtual time.
 *
 * Runs one simulated hour of scenarios/charging.yaml (or the file given as the first
 * argument) in --fast mode, with housekeeping and every metric change formatted into a
 * buffer (the work a printer would do, without the terminal), and prints:
 *   - start-up time: from main() to the first physics tick (load, parse, set-up);
 *   - simulated seconds per wall second for the hour;
 *   - metric changes formatted;
 *   - peak memory (getrusage ru_maxrss).
 * Targets of the issue: the hour in < 0.1 s, start-up < 10 ms, peak memory < 10 MB.  Nothing
 * is asserted.  Build without sanitizers (bench/run does) for meaningful numbers.
 */
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "core/diag.h"
#include "vehicle/housekeeping.h"
#include "core/loop.h"
#include "model/metrics.h"
#include "scenario/scenario.h"
#include "model/sim.h"

struct bench {
  struct sim_loop *loop;
  int64_t t_main, t_first;
  unsigned long changes;
  struct sbuf out;
};

static void on_change(void *ctx, struct metric *m)
{
  struct bench *b = ctx;
  if (!b->t_first)
    b->t_first = sim_wall_ns();
  /* "<topic> <payload>" as the printer does, into a reused buffer */
  sbuf_reset(&b->out);
  sbuf_adds(&b->out, "ovms/demo/DEMO/metric/");
  sbuf_adds(&b->out, m->name);
  sbuf_addc(&b->out, ' ');
  metric_format(m, NULL, &b->out);
  b->changes++;
}

static void on_stop(struct sim_loop *loop, struct sim_timer *t)
{
  sim_loop_stop(loop, 0);
}

int main(int argc, char **argv)
{
  struct bench b;
  memset(&b, 0, sizeof(b));
  b.t_main = sim_wall_ns();
  char path[4096];
  if (argc > 1) {
    snprintf(path, sizeof(path), "%s", argv[1]);
  } else {
    const char *src = getenv("OVMS_SIM_SRC");
    snprintf(path, sizeof(path), "%s/scenarios/charging.yaml", src ? src : ".");
  }
  struct sim_diag d = SIM_DIAG_INIT;
  struct scenario *sc;
  if (scenario_load(path, &sc, &d) < 0) {
    struct sbuf e = SBUF_INIT;
    for (size_t i = 0; i < d.n; i++) {
      sim_diag_format(&d.v[i], &e);
      sbuf_addc(&e, '\n');
    }
    fprintf(stderr, "%s", sbuf_str(&e));
    sbuf_free(&e);
    return 2;
  }
  struct ev_loop *ev = ev_loop_new(EVFLAG_AUTO);
  int64_t start = sc->start_utc_ns ? sc->start_utc_ns : INT64_C(1717228800) * SIM_NS_PER_SEC;
  b.loop = sim_loop_new(ev, SIM_CLOCK_FAST, 1.0, start);
  struct sim *sim = sim_new(b.loop, NULL, 1);
  metrics_listen(sim->metrics, "*", on_change, &b);
  housekeeping_start(sim);
  struct scenario_run *run;
  if (scenario_start(sim, sc, &run) < 0) {
    fprintf(stderr, "cannot start the scenario\n");
    return 1;
  }
  const int64_t hour = 3600 * SIM_NS_PER_SEC;
  struct sim_timer stop;
  sim_timer_init(&stop, on_stop, NULL);
  sim_timer_start(b.loop, &stop, hour, 0);
  int64_t t0 = sim_wall_ns();
  sim_loop_run(b.loop);
  int64_t t1 = sim_wall_ns();
  double wall = (double)(t1 - t0) / 1e9;
  double simulated = (double)sim_monotonic(b.loop) / 1e9;
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("scenario:              %s\n", path);
  printf("start-up to first set: %.3f ms (target < 10 ms)\n",
         (double)((b.t_first ? b.t_first : t0) - b.t_main) / 1e6);
  printf("simulated:             %.0f s in %.4f s wall (target < 0.1 s)\n", simulated, wall);
  printf("speed:                 %.0f simulated s per wall s\n", wall > 0 ? simulated / wall : 0);
  printf("metric changes:        %lu (%.0f per wall s)\n", b.changes,
         wall > 0 ? (double)b.changes / wall : 0);
  printf("peak memory (maxrss):  %.1f MB (target < 10 MB)\n", (double)ru.ru_maxrss / 1024.0);
  sim_free(sim);
  sim_loop_free(b.loop);
  ev_loop_destroy(ev);
  scenario_free(sc);
  sim_diag_cleanup(&d);
  sbuf_free(&b.out);
  return 0;
}
