/*
 * fuzz_scenario.c - libFuzzer target for YAML scenarios: the loader (sim/scenario/parse.c)
 * and, for what loads, the run engine and physics model (sim/scenario/run.c, physics.c).
 *
 * Every input either loads or is rejected with SIM_EPARSE and at least one error that has a
 * line and a column.  A scenario that loads is started on a module in fast virtual time (with
 * housekeeping, as ovms-sim --fast runs it) and runs until its timeline ends or a stop timer
 * fires: after 2 simulated hours, or after 7200 physics ticks when the scenario's tick is
 * shorter than a second, so that one input costs bounded work.  The report is then produced
 * in both formats, and no float metric may hold inf or nan.  Nothing may crash, leak, hang
 * (run with -timeout) or trip UBSan.
 */
#include <ev.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/diag.h"
#include "core/error.h"
#include "vehicle/housekeeping.h"
#include "core/loop.h"
#include "model/metrics.h"
#include "core/parse.h"
#include "core/sbuf.h"
#include "scenario/scenario.h"
#include "model/sim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_done(void *ctx, struct scenario_run *run)
{
  (void)run;
  sim_loop_stop(ctx, 0);
}

static void on_stop(struct sim_loop *loop, struct sim_timer *t)
{
  (void)t;
  sim_loop_stop(loop, 0);
}

static void run(const struct scenario *sc)
{
  int64_t start = sc->start_utc_ns;
  if (!start) {
    int64_t t = 0;
    parse_time("2024-06-01 08:00:00", &t);
    start = t * SIM_NS_PER_SEC;
  }
  struct ev_loop *ev = ev_loop_new(EVFLAG_AUTO);
  struct sim_loop *loop = sim_loop_new(ev, SIM_CLOCK_FAST, 1.0, start);
  struct sim *sim = sim_new(loop, NULL, sc->has_seed ? sc->seed : 1);
  housekeeping_start(sim);
  struct scenario_run *r = NULL;
  int rc = scenario_start(sim, sc, &r);
  if (rc == 0) {
    scenario_run_on_done(r, on_done, loop);
    struct sim_timer stop;
    sim_timer_init(&stop, on_stop, NULL);
    int64_t cap = 2 * 3600 * SIM_NS_PER_SEC;
    if (sc->tick < 1)
      cap = (int64_t)(7200 * sc->tick * SIM_NS_PER_SEC);
    sim_timer_start(loop, &stop, cap, 0);
    if (sim_loop_run(loop) != 0)
      abort();
    sim_timer_stop(loop, &stop);
    /* no check is judged twice; step errors (an app: step without an app client here, a
     * plug-in while driving) count as failures beside the checks, so the failed count may
     * exceed n_expects */
    if (scenario_run_checked_count(r) > sc->n_expects)
      abort();
    struct sbuf rep = SBUF_INIT;
    scenario_run_report(r, &rep, 0);
    scenario_run_report(r, &rep, SCENARIO_REPORT_JSON);
    sbuf_free(&rep);
    /* every metric formats, and the physics model never publishes inf or nan */
    for (size_t i = 0; i < metrics_count(sim->metrics); i++) {
      const struct metric *m = metrics_at(sim->metrics, i);
      struct sbuf b = SBUF_INIT;
      metric_format(m, NULL, &b);
      metric_format_json(m, &b);
      sbuf_free(&b);
      bool finite = true;
      if (m->type == METRIC_FLOAT && metric_is_defined(m))
        finite = isfinite(m->v.f);
      for (uint32_t k = 0; m->type == METRIC_VEC_FLOAT && k < m->n; k++)
        finite = finite && isfinite(((const float *)m->data)[k]);
      if (!finite) {
        fprintf(stderr, "metric %s is not finite\n", m->name);
        abort();
      }
    }
    scenario_run_stop(r);
  } else if (rc != SIM_ECONFIG) {
    fprintf(stderr, "scenario_start: %s\n", sim_strerror(rc));
    abort();
  }
  sim_free(sim);
  sim_loop_free(loop);
  ev_loop_destroy(ev);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct sim_diag d = SIM_DIAG_INIT;
  struct scenario *sc = NULL;
  int rc = scenario_load_string((const char *)data, size, "fuzz.yaml", &sc, &d);
  if (rc == 0) {
    if (!sc || d.errors)
      abort();
  } else {
    bool located = false;
    for (size_t i = 0; i < d.n; i++)
      if (d.v[i].level == SIM_DIAG_ERROR && d.v[i].line > 0 && d.v[i].col > 0)
        located = true;
    if (rc != SIM_EPARSE || sc || !located) {
      fprintf(stderr, "rejected (%d) without a located error\n", rc);
      abort();
    }
  }
  sim_diag_cleanup(&d);
  if (sc)
    run(sc);
  scenario_free(sc);
  return 0;
}
