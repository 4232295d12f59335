/*
 * housekeeping.c - see housekeeping.h.
 *
 * Event names of the metric-change table are those the firmware's
 * OvmsVehicle::MetricModified raises (V3/components/vehicle/vehicle.cpp), including the framework's
 * "vehicle.charge.finish" spelling.
 */
#include "vehicle/housekeeping.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/array.h"
#include "model/sim.h"
#include "core/xalloc.h"
#include "vehicle/notify.h"

enum kind { K_BOOL, K_CHANGE, K_GEAR, K_DRIVEMODE };

static const struct {
  const char *metric;
  enum kind kind;
  const char *on, *off; /* K_BOOL: true/false events; K_CHANGE: the event */
} event_map[] = {
  /* grouped by kind; every metric has one row, so the order does not change what is raised */
  {"v.e.on", K_BOOL, "vehicle.on", "vehicle.off"},
  {"v.e.awake", K_BOOL, "vehicle.awake", "vehicle.asleep"},
  {"v.c.charging", K_BOOL, "vehicle.charge.start", "vehicle.charge.stop"},
  {"v.d.cp", K_BOOL, "vehicle.charge.prepare", "vehicle.charge.finish"},
  {"v.c.pilot", K_BOOL, "vehicle.charge.pilot.on", "vehicle.charge.pilot.off"},
  {"v.c.timermode", K_BOOL, "vehicle.charge.timermode.on", "vehicle.charge.timermode.off"},
  {"v.g.generating", K_BOOL, "vehicle.gen.start", "vehicle.gen.stop"},
  {"v.g.pilot", K_BOOL, "vehicle.gen.pilot.on", "vehicle.gen.pilot.off"},
  {"v.g.timermode", K_BOOL, "vehicle.gen.timermode.on", "vehicle.gen.timermode.off"},
  {"v.e.aux12v", K_BOOL, "vehicle.aux.12v.on", "vehicle.aux.12v.off"},
  {"v.e.charging12v", K_BOOL, "vehicle.charge.12v.start", "vehicle.charge.12v.stop"},
  {"v.e.locked", K_BOOL, "vehicle.locked", "vehicle.unlocked"},
  {"v.e.valet", K_BOOL, "vehicle.valet.on", "vehicle.valet.off"},
  {"v.e.headlights", K_BOOL, "vehicle.headlights.on", "vehicle.headlights.off"},
  {"v.e.alarm", K_BOOL, "vehicle.alarm.on", "vehicle.alarm.off"},
  {"v.c.mode", K_CHANGE, "vehicle.charge.mode", NULL},
  {"v.c.state", K_CHANGE, "vehicle.charge.state", NULL},
  {"v.c.type", K_CHANGE, "vehicle.charge.type", NULL},
  {"v.g.state", K_CHANGE, "vehicle.gen.state", NULL},
  {"v.g.type", K_CHANGE, "vehicle.gen.type", NULL},
  {"v.e.gear", K_GEAR, NULL, NULL},
  {"v.e.drivemode", K_DRIVEMODE, NULL, NULL},
};

#define NMAP ARRAY_SIZE(event_map)

struct hk {
  struct sim *sim;
  struct sim_timer tick;
  struct metric *map[NMAP];
  struct metric *monotonic, *utc, *on, *charging, *parktime, *drivetime, *ctime, *ctimestamp;
  int last_minute;
};

static void on_metric(void *ctx, struct metric *m)
{
  struct hk *hk = ctx;
  struct sim *sim = hk->sim;
  for (size_t i = 0; i < NMAP; i++) {
    if (hk->map[i] != m)
      continue;
    char buf[64];
    switch (event_map[i].kind) {
    case K_BOOL:
      sim_events_raise(sim->events, metric_bool(m) ? event_map[i].on : event_map[i].off, NULL);
      break;
    case K_CHANGE:
      sim_events_raise(sim->events, event_map[i].on, NULL);
      break;
    case K_GEAR: {
      int g = metric_int(m);
      sim_events_raise(sim->events, g < 0 ? "vehicle.gear.reverse"
                                    : g > 0 ? "vehicle.gear.forward" : "vehicle.gear.neutral",
                       NULL);
      break;
    }
    case K_DRIVEMODE:
      snprintf(buf, sizeof(buf), "vehicle.drivemode.%d", metric_int(m));
      sim_events_raise(sim->events, buf, NULL);
      break;
    }
  }
  /* Framework counters (vehicle.cpp): reset on the transitions. */
  if (m == hk->on) {
    metric_set_int(hk->parktime, 0);
    if (metric_bool(m))
      metric_set_int(hk->drivetime, 0);
  } else if (m == hk->charging) {
    if (metric_bool(m))
      metric_set_int(hk->ctime, 0);
    else
      metric_set_int64(hk->ctimestamp, sim_now_sec(sim->loop));
  }
}

static void raise_ticker(struct sim *sim, int64_t sec)
{
  static const int periods[] = {1, 10, 60, 300, 600, 3600};
  char name[32];
  for (size_t i = 0; i < ARRAY_SIZE(periods); i++) {
    if (sec % periods[i] == 0) {
      snprintf(name, sizeof(name), "ticker.%d", periods[i]);
      sim_events_raise(sim->events, name, NULL);
    }
  }
}

static void on_tick(struct sim_loop *loop, struct sim_timer *t)
{
  struct hk *hk = t->data;
  struct sim *sim = hk->sim;
  int64_t mono_s = sim_monotonic(loop) / SIM_NS_PER_SEC;
  int64_t utc = sim_now_sec(loop);
  metric_set_int(hk->monotonic, (int32_t)mono_s);
  metric_set_int64(hk->utc, utc);
  if (metric_bool(hk->on))
    metric_set_int(hk->drivetime, metric_int(hk->drivetime) + 1);
  else
    metric_set_int(hk->parktime, metric_int(hk->parktime) + 1);
  if (metric_bool(hk->charging))
    metric_set_int(hk->ctime, metric_int(hk->ctime) + 1);
  raise_ticker(sim, mono_s);
  /* clock.HHMM once a minute, clock.dayN at midnight, local time (ovms_housekeeping.cpp). */
  time_t tt = (time_t)utc;
  struct tm tm;
  if (localtime_r(&tt, &tm) && tm.tm_min != hk->last_minute) {
    char name[32];
    hk->last_minute = tm.tm_min;
    snprintf(name, sizeof(name), "clock.%02d%02d", tm.tm_hour, tm.tm_min);
    sim_events_raise(sim->events, name, NULL);
    if (tm.tm_hour == 0 && tm.tm_min == 0) {
      snprintf(name, sizeof(name), "clock.day%d", tm.tm_wday);
      sim_events_raise(sim->events, name, NULL);
    }
  }
}

static void hk_free(void *ctx)
{
  struct hk *hk = ctx;
  sim_timer_stop(hk->sim->loop, &hk->tick);
  metrics_unlisten(hk->sim->metrics, on_metric, hk);
  free(hk);
}

/* Looks a standard metric up; remembers the first one missing (which would mean a registry
 * without the standard table) so that housekeeping_start() can refuse to start. */
static struct metric *must(struct sim *sim, const char *name, const char **missing)
{
  struct metric *m = metrics_find(sim->metrics, name);
  if (!m && !*missing)
    *missing = name;
  return m;
}



/* The module's identity and network state as a real module on Wi-Fi shows them
 * (m.version in the format of V3/main/ovms_version.cpp). */
static const struct {
  const char *name, *value;
} module_metrics[] = {
  {"m.version", "3.3.006-ovms-sim-" OVMS_SIM_VERSION
                "/ota_0/main (build idf v3.3.4 ovms-sim, product ovms-sim)"},
  {"m.hardware", "OVMS WIFI BLE BT cores=2 rev=ESP32/3"},
  {"m.serial", "30:ae:a4:00:00:00"},
  {"m.net.connected", "yes"},
  {"m.net.ip", "yes"},
  {"m.net.type", "wifi"},
  {"m.net.provider", "ovms-sim"},
  {"m.net.wifi.network", "ovms-sim"},
  {"m.net.wifi.sq", "-60"},
  {"m.net.sq", "-60"},
  {"m.freeram", "4321000"},
  {"m.tasks", "24"},
  {"m.obdc2ecu.on", "no"},
};

int housekeeping_start(struct sim *sim)
{
  const char *missing = NULL;
  struct metric *map[NMAP], *ident[ARRAY_SIZE(module_metrics)];
  for (size_t i = 0; i < NMAP; i++)
    map[i] = must(sim, event_map[i].metric, &missing);
  for (size_t i = 0; i < ARRAY_SIZE(ident); i++)
    ident[i] = must(sim, module_metrics[i].name, &missing);
  struct hk h = {.sim = sim, .last_minute = -1};
  h.monotonic = must(sim, "m.monotonic", &missing);
  h.utc = must(sim, "m.time.utc", &missing);
  h.on = must(sim, "v.e.on", &missing);
  h.charging = must(sim, "v.c.charging", &missing);
  h.parktime = must(sim, "v.e.parktime", &missing);
  h.drivetime = must(sim, "v.e.drivetime", &missing);
  h.ctime = must(sim, "v.c.time", &missing);
  h.ctimestamp = must(sim, "v.c.timestamp", &missing);
  if (missing)
    return SIM_ENOTFOUND; /* not a registry of standard metrics */
  vehicle_notify_start(sim); /* its listeners first: the charge timer starts before events */

  struct hk *hk = xmalloc(sizeof(*hk));
  *hk = h;
  for (size_t i = 0; i < NMAP; i++) {
    hk->map[i] = map[i];
    metrics_listen(sim->metrics, event_map[i].metric, on_metric, hk);
  }
  for (size_t i = 0; i < ARRAY_SIZE(ident); i++)
    metric_set_from_string(ident[i], module_metrics[i].value, SIM_UNIT_NATIVE);
  metric_set_int(hk->monotonic, 0);
  metric_set_int64(hk->utc, sim_now_sec(sim->loop));

  sim_timer_init(&hk->tick, on_tick, hk);
  /* Align to whole simulation seconds. */
  int64_t now = sim_now(sim->loop);
  int64_t frac = now % SIM_NS_PER_SEC;
  if (frac < 0)
    frac += SIM_NS_PER_SEC;
  sim_timer_start(sim->loop, &hk->tick, SIM_NS_PER_SEC - frac, SIM_NS_PER_SEC);
  sim_on_free(sim, hk_free, hk);
  return 0;
}
