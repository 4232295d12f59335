/*
 * logs.c - *-LOG-Grid and *-LOG-Trip data records (logs.h), field for field as
 * OvmsVehicle::NotifyGridLog() and NotifyTripLog() in components/vehicle/vehicle.cpp
 * (openvehicles/Open-Vehicle-Monitoring-System-3 1aa1daff; the field lists are in its
 * docs/source/userguide/notifications.rst, the record frame in
 * docs/source/protocol_v2/messages.rst):
 * C++ stream std::fixed with the precision of each group (floats printed as %.<n>f of their
 * double value), booleans as 0/1, text fields through mp_encode.  *-LOG-Grid is version 2
 * (HEAD): the 44 fields of version 1 plus the odometer.  The charge/drive times are the
 * v.c.time / v.g.time / v.e.drivetime counters the vehicle framework keeps.
 */
#include "vehicle/logs.h"

#include <float.h>
#include <string.h>

#include "model/config.h"
#include "model/metrics.h"
#include "notify/queue.h"
#include "core/sbuf.h"
#include "model/sim.h"

static struct metric *m_(struct sim *sim, const char *name)
{
  return metrics_find(sim->metrics, name);
}

static void f(struct sim *sim, struct sbuf *b, const char *name, int prec)
{
  struct metric *m = m_(sim, name);
  sbuf_printf(b, ",%.*f", prec, m ? (double)(float)metric_float(m) : 0.0);
}

static void i(struct sim *sim, struct sbuf *b, const char *name)
{
  struct metric *m = m_(sim, name);
  sbuf_printf(b, ",%lld", m ? (long long)metric_int64(m) : 0LL);
}

static void s(struct sim *sim, struct sbuf *b, const char *name)
{
  struct metric *m = m_(sim, name);
  sbuf_addc(b, ',');
  if (!m)
    return;
  struct sbuf v = SBUF_INIT;
  metric_format(m, NULL, &v);
  sim_notify_mp_encode(sbuf_str(&v), b);
  sbuf_free(&v);
}

static void flag(struct sim *sim, struct sbuf *b, const char *name)
{
  struct metric *m = m_(sim, name);
  sbuf_adds(b, m && metric_bool(m) ? ",1" : ",0");
}

/* ",min,max" of a float vector with precision prec, or ",," when empty. */
static void minmax(struct sim *sim, struct sbuf *b, const char *name, int prec)
{
  struct metric *m = m_(sim, name);
  if (!m || !metric_is_defined(m) || m->type != METRIC_VEC_FLOAT || m->n == 0) {
    sbuf_adds(b, ",,");
    return;
  }
  const float *v = m->data;
  float lo = FLT_MAX, hi = -FLT_MAX;
  for (uint32_t k = 0; k < m->n; k++) {
    if (v[k] < lo)
      lo = v[k];
    if (v[k] > hi)
      hi = v[k];
  }
  sbuf_printf(b, ",%.*f,%.*f", prec, (double)lo, prec, (double)hi);
}

void vehicle_grid_record(struct sim *sim, long days, struct sbuf *b)
{
  sbuf_printf(b, "*-LOG-Grid,2,%ld", days * 86400);
  flag(sim, b, "v.p.gpslock");
  f(sim, b, "v.p.latitude", 6);
  f(sim, b, "v.p.longitude", 6);
  f(sim, b, "v.p.altitude", 1);
  s(sim, b, "v.p.location");
  s(sim, b, "v.c.type");
  s(sim, b, "v.c.state");
  s(sim, b, "v.c.substate");
  s(sim, b, "v.c.mode");
  f(sim, b, "v.c.climit", 1);
  f(sim, b, "v.c.limit.range", 1);
  f(sim, b, "v.c.limit.soc", 1);
  s(sim, b, "v.g.type");
  s(sim, b, "v.g.state");
  s(sim, b, "v.g.substate");
  s(sim, b, "v.g.mode");
  f(sim, b, "v.g.climit", 1);
  f(sim, b, "v.g.limit.range", 1);
  f(sim, b, "v.g.limit.soc", 1);
  i(sim, b, "v.c.time");
  f(sim, b, "v.c.kwh", 3);
  f(sim, b, "v.c.kwh.grid", 3);
  f(sim, b, "v.c.kwh.grid.total", 3);
  i(sim, b, "v.g.time");
  f(sim, b, "v.g.kwh", 3);
  f(sim, b, "v.g.kwh.grid", 3);
  f(sim, b, "v.g.kwh.grid.total", 3);
  static const char *const p1[] = {"v.b.soc", "v.b.range.est", "v.b.range.ideal",
                                   "v.b.range.full", "v.b.voltage", "v.b.temp", "v.c.temp",
                                   "v.c.12v.temp", "v.e.temp", "v.e.cabintemp"};
  for (size_t k = 0; k < sizeof(p1) / sizeof(p1[0]); k++)
    f(sim, b, p1[k], 1);
  f(sim, b, "v.b.soh", 3);
  s(sim, b, "v.b.health");
  f(sim, b, "v.b.cac", 3);
  static const char *const p3[] = {"v.b.energy.used.total", "v.b.energy.recd.total",
                                   "v.b.coulomb.used.total", "v.b.coulomb.recd.total"};
  for (size_t k = 0; k < 4; k++)
    f(sim, b, p3[k], 3);
  f(sim, b, "v.p.odometer", 1); /* version 2 */
}

void vehicle_trip_record(struct sim *sim, long days, struct sbuf *b)
{
  sbuf_printf(b, "*-LOG-Trip,1,%ld", days * 86400);
  flag(sim, b, "v.p.gpslock");
  f(sim, b, "v.p.latitude", 8);
  f(sim, b, "v.p.longitude", 8);
  f(sim, b, "v.p.altitude", 1);
  s(sim, b, "v.p.location");
  f(sim, b, "v.p.odometer", 1);
  f(sim, b, "v.p.trip", 1);
  i(sim, b, "v.e.drivetime");
  i(sim, b, "v.e.drivemode");
  static const char *const p1[] = {"v.b.soc", "v.b.range.est", "v.b.range.ideal",
                                   "v.b.range.full"};
  for (size_t k = 0; k < 4; k++)
    f(sim, b, p1[k], 1);
  static const char *const p3[] = {"v.b.energy.used", "v.b.energy.recd", "v.b.coulomb.used",
                                   "v.b.coulomb.recd", "v.b.soh"};
  for (size_t k = 0; k < 5; k++)
    f(sim, b, p3[k], 3);
  s(sim, b, "v.b.health");
  f(sim, b, "v.b.cac", 3);
  static const char *const t3[] = {"v.b.energy.used.total", "v.b.energy.recd.total",
                                   "v.b.coulomb.used.total", "v.b.coulomb.recd.total"};
  for (size_t k = 0; k < 4; k++)
    f(sim, b, t3[k], 3);
  static const char *const t1[] = {"v.e.temp", "v.e.cabintemp", "v.b.temp", "v.i.temp",
                                   "v.m.temp", "v.c.12v.temp"};
  for (size_t k = 0; k < 6; k++)
    f(sim, b, t1[k], 1);
  minmax(sim, b, "v.t.temp", 1);
  minmax(sim, b, "v.t.pressure", 1);
  minmax(sim, b, "v.t.health", 1);
}

static void raise_log(struct sim *sim, const char *storekey, const char *subtype,
                      void (*fmt)(struct sim *, long, struct sbuf *))
{
  long days = sim_config_get_int(sim->config, "notify", storekey, 0);
  if (days <= 0)
    return;
  struct sbuf b = SBUF_INIT;
  fmt(sim, days, &b);
  sim_notify_raise(sim, NOTIFY_DATA, subtype, sbuf_str(&b));
  sbuf_free(&b);
}

void vehicle_notify_grid_log(struct sim *sim)
{
  raise_log(sim, "log.grid.storetime", "log.grid", vehicle_grid_record);
}

void vehicle_notify_trip_log(struct sim *sim)
{
  raise_log(sim, "log.trip.storetime", "log.trip", vehicle_trip_record);
}
