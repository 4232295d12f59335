/*
 * bench.c - the bench car of a run (hil/): with --vehicle-emulate the car's ECUs answer polls
 * (--responders, --no-obd); with a --vehicle otherwise the module's poller polls
 * (--vehicle-poll) or listens to someone else's polls (a real module on the bus, or a replayed
 * trace's); --trace-respond answers requests with recorded replies.
 */
#include <stdio.h>
#include <string.h>

#include "app/app.h"
#include "core/error.h"
#include "core/sbuf.h"
#include "hil/poller.h"
#include "hil/replay.h"
#include "hil/responder.h"
#include "model/sim.h"
#include "scenario/scenario.h"
#include "vehicle/vehicle.h"

/* The scenario's ecu: steps name ECUs the simulated car has.  Returns 0 or EXIT_USAGE. */
static int check_ecu_steps(struct app *a)
{
  int rc = 0;
  for (size_t i = 0; a->sc && i < a->sc->n_steps; i++) {
    const struct scenario_step *st = &a->sc->steps[i];
    if (st->kind != STEP_ECU)
      continue;
    if (!a->o.vehicle_emulate) {
      fprintf(stderr, "%s:%d:%d: error: ecu: steps need --vehicle-emulate (the simulated "
                      "car's ECUs misbehave)\n", a->sc->path, st->line, st->col);
      return EXIT_USAGE;
    }
    if (!hil_responders_would_have(&a->bench.opts, a->sim->vehicle, st->u.ecu.name)) {
      fprintf(stderr, "%s:%d:%d: error: the simulated car has no ECU '%s' (--responders: "
                      "hil/README.md)\n", a->sc->path, st->line, st->col, st->u.ecu.name);
      rc = EXIT_USAGE;
    }
  }
  return rc;
}

static void on_ecu_step(void *ctx, const struct scenario_step *st)
{
  struct app *a = ctx;
  struct hil_ecu *e = hil_responders_find(a->bench.responders, st->u.ecu.name);
  struct ecu_fault f;
  if (e && ecu_fault_parse(st->u.ecu.fault, &f) == 0)
    hil_ecu_set_fault(e, &f);
  if (e && a->o.verbose)
    fprintf(stderr, "ovms-sim: ECU %s: %s\n", e->name, st->u.ecu.fault);
}

void app_bench_scenario(struct app *a)
{
  if (a->run && a->bench.responders)
    scenario_run_on_ecu(a->run, on_ecu_step, a);
}

int app_bench_check(struct app *a)
{
  struct opts *o = &a->o;
  struct hil_responder_opts *ro = &a->bench.opts;
  memset(ro, 0, sizeof *ro);
  ro->vehicle = ro->obd = true;
  if (o->responders) {
    struct sim_diag d = SIM_DIAG_INIT;
    int rc = hil_responders_parse(ro, o->responders, a->sim->vehicle, &d);
    diag_label(&d, 0, "--responders");
    print_diag(&d);
    sim_diag_cleanup(&d);
    if (rc < 0)
      return EXIT_USAGE;
  }
  if (o->no_obd && o->responders && ro->obd)
    return usage_error("--no-obd and --responders %s ask for opposite things", o->responders);
  if (o->no_obd)
    ro->obd = false;
  return check_ecu_steps(a);
}

int app_bench_start(struct app *a)
{
  struct opts *o = &a->o;
  int rc = 0;
  if (o->trace_respond) {
    struct sim_diag d = SIM_DIAG_INIT;
    struct hil_replay_opts ro = {o->can.trace.replay.format};
    rc = hil_replay_new(&a->bench.replay, a->sim, o->trace_respond, &ro, &d);
    diag_label(&d, 0, "--trace-respond");
    print_diag(&d);
    sim_diag_cleanup(&d);
    if (rc < 0)
      return EXIT_USAGE;
  }
  if (a->sim->vehicle && o->vehicle_emulate) {
    rc = hil_responders_new(&a->bench.responders, a->sim, &a->bench.opts);
  } else if (a->sim->vehicle) {
    struct hil_poller_opts po = {o->vehicle_poll};
    rc = hil_poller_new(&a->bench.poller, a->sim, &po);
  }
  if (rc < 0) {
    fprintf(stderr, "ovms-sim: the bench car: %s\n", sim_strerror(rc));
    return EXIT_RUNTIME;
  }
  return 0;
}

void app_bench_report(const struct app *a, struct sbuf *b)
{
  if (a->sim && a->sim->vehicle)
    vehicle_encoder_report(a->sim->vehicle, b);
  hil_responders_report(a->bench.responders, b);
  if (a->bench.poller) {
    const struct hil_poller_stats *s = hil_poller_stats(a->bench.poller);
    if (a->o.vehicle_poll || s->replies || s->negatives || s->ignored)
      hil_poller_report(a->bench.poller, b);
  }
  if (a->bench.replay)
    hil_replay_report(a->bench.replay, b);
}

void app_bench_stop(struct app *a)
{
  hil_responders_free(a->bench.responders);
  hil_poller_free(a->bench.poller);
  hil_replay_free(a->bench.replay);
  memset(&a->bench, 0, sizeof a->bench);
}
