/*
 * notify.c - the vehicle framework's notifications (notify.h), as OvmsVehicle does them in
 * components/vehicle/vehicle.cpp (openvehicles/Open-Vehicle-Monitoring-System-3 1aa1daff):
 * MetricModified() sets m_chargestate_ticker to GetNotifyChargeStateDelay() (3) on a
 * v.c.state change and the 1 Hz ticker calls NotifyChargeState() when it runs out; here a
 * one-shot timer of the simulation clock, restarted by every change, does the same.
 * NotifyChargeState() picks NotifyChargeDone/Stopped/Start/TopOff/HeatingStart by the state
 * (the table below), each sending CommandStat()'s output, then NotifyGridLog() for any
 * non-empty state.  NotifyVehicleOn()/NotifyVehicleOff() send NotifyTripLog().
 */
#include "vehicle/notify.h"

#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "core/sbuf.h"
#include "core/xalloc.h"
#include "model/metrics.h"
#include "model/sim.h"
#include "notify/notify.h"
#include "vehicle/logs.h"
#include "vehicle/stat.h"

struct vnotify {
  struct sim *sim;
  struct sim_timer charge_timer;
};

/* NotifyChargeState(): v.c.state -> the notification subtype. */
static const struct {
  const char *state, *subtype;
} charge_states[] = {
  {"done", "charge.done"},         {"stopped", "charge.stopped"},
  {"timerwait", "charge.stopped"}, {"charging", "charge.started"},
  {"topoff", "charge.toppingoff"}, {"heating", "heating.started"},
};

/* NotifyChargeStopped(): an info for these substates, an alert otherwise. */
static const char *const planned_stops[] = {"scheduledstop", "timerwait", "onrequest"};

static enum sim_notify_type stop_type(struct sim *sim)
{
  const char *sub = vehicle_metric_str(sim, "v.c.substate");
  for (size_t i = 0; i < ARRAY_SIZE(planned_stops); i++)
    if (!strcmp(sub, planned_stops[i]))
      return NOTIFY_INFO;
  return NOTIFY_ALERT;
}

static void charge_state_notify(struct sim_loop *loop, struct sim_timer *t)
{
  struct vnotify *vn = t->data;
  struct sim *sim = vn->sim;
  (void)loop;
  const char *st = vehicle_metric_str(sim, "v.c.state");
  for (size_t i = 0; i < ARRAY_SIZE(charge_states); i++) {
    if (strcmp(st, charge_states[i].state))
      continue;
    const char *sub = charge_states[i].subtype;
    struct sbuf out = SBUF_INIT;
    vehicle_stat_text(sim, &out);
    sim_notify_raise(sim, strcmp(sub, "charge.stopped") ? NOTIFY_INFO : stop_type(sim), sub,
                     sbuf_str(&out));
    sbuf_free(&out);
    break;
  }
  if (*st)
    vehicle_notify_grid_log(sim);
}

static void on_charge_state(void *ctx, struct metric *m)
{
  struct vnotify *vn = ctx;
  (void)m;
  sim_timer_start(vn->sim->loop, &vn->charge_timer, 3 * SIM_NS_PER_SEC, 0);
}

/* NotifyVehicleOn()/NotifyVehicleOff(): the trip log when the car is switched on, and when it
 * is switched off after a trip of at least "notify log.trip.minlength" (0.2 km). */
static void on_vehicle_on(void *ctx, struct metric *m)
{
  struct vnotify *vn = ctx;
  if (!metric_bool(m)) {
    struct metric *trip = metrics_find(vn->sim->metrics, "v.p.trip");
    if (!trip || metric_float(trip) < 0.2)
      return;
  }
  vehicle_notify_trip_log(vn->sim);
}

static void vnotify_free(void *ctx)
{
  struct vnotify *vn = ctx;
  sim_timer_stop(vn->sim->loop, &vn->charge_timer);
  metrics_unlisten(vn->sim->metrics, on_charge_state, vn);
  metrics_unlisten(vn->sim->metrics, on_vehicle_on, vn);
  free(vn);
}

int vehicle_notify_start(struct sim *sim)
{
  struct vnotify *vn = xcalloc(1, sizeof(*vn));
  vn->sim = sim;
  sim_timer_init(&vn->charge_timer, charge_state_notify, vn);
  metrics_listen(sim->metrics, "v.c.state", on_charge_state, vn);
  metrics_listen(sim->metrics, "v.e.on", on_vehicle_on, vn);
  sim_on_free(sim, vnotify_free, vn);
  return 0;
}
