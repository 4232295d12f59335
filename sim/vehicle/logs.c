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

#include "core/array.h"
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

/* The position both records begin with: the GPS lock, the latitude and longitude at the
 * record's precision (6 digits in the grid log, 8 in the trip log), the altitude and the
 * location's name. */
static void position(struct sim *sim, struct sbuf *b, int prec)
{
  flag(sim, b, "v.p.gpslock");
  f(sim, b, "v.p.latitude", prec);
  f(sim, b, "v.p.longitude", prec);
  f(sim, b, "v.p.altitude", 1);
  s(sim, b, "v.p.location");
}

/* One field of a record: how it is written, the metric, and the precision of a float.
 * POSITION is the position block (prec: its latitude and longitude precision), BATTERY the
 * battery's health and lifetime totals (battery_fields). */
enum kind { FLAG, FLOAT, INT, TEXT, MINMAX, POSITION, BATTERY };
struct field {
  enum kind kind;
  const char *metric;
  int prec;
};

/* The battery's health and lifetime totals, in both records in this order. */
static const struct field battery_fields[] = {
  {FLOAT, "v.b.soh", 3}, {TEXT, "v.b.health", 0}, {FLOAT, "v.b.cac", 3},
  {FLOAT, "v.b.energy.used.total", 3}, {FLOAT, "v.b.energy.recd.total", 3},
  {FLOAT, "v.b.coulomb.used.total", 3}, {FLOAT, "v.b.coulomb.recd.total", 3},
};

/* NotifyGridLog(): version 2 = the 44 fields of version 1, then the odometer.  A line of
 * rows a group: the charge and the generator (type, state, substate, mode; limits; time and
 * energy), the battery's charge and range, the temperatures. */
static const struct field grid_fields[] = {
  {POSITION, NULL, 6},
  {TEXT, "v.c.type", 0}, {TEXT, "v.c.state", 0}, {TEXT, "v.c.substate", 0}, {TEXT, "v.c.mode", 0},
  {FLOAT, "v.c.climit", 1}, {FLOAT, "v.c.limit.range", 1}, {FLOAT, "v.c.limit.soc", 1},
  {TEXT, "v.g.type", 0}, {TEXT, "v.g.state", 0}, {TEXT, "v.g.substate", 0}, {TEXT, "v.g.mode", 0},
  {FLOAT, "v.g.climit", 1}, {FLOAT, "v.g.limit.range", 1}, {FLOAT, "v.g.limit.soc", 1},
  {INT, "v.c.time", 0}, {FLOAT, "v.c.kwh", 3},
  {FLOAT, "v.c.kwh.grid", 3}, {FLOAT, "v.c.kwh.grid.total", 3},
  {INT, "v.g.time", 0}, {FLOAT, "v.g.kwh", 3},
  {FLOAT, "v.g.kwh.grid", 3}, {FLOAT, "v.g.kwh.grid.total", 3},
  {FLOAT, "v.b.soc", 1}, {FLOAT, "v.b.range.est", 1},
  {FLOAT, "v.b.range.ideal", 1}, {FLOAT, "v.b.range.full", 1}, {FLOAT, "v.b.voltage", 1},
  {FLOAT, "v.b.temp", 1}, {FLOAT, "v.c.temp", 1}, {FLOAT, "v.c.12v.temp", 1},
  {FLOAT, "v.e.temp", 1}, {FLOAT, "v.e.cabintemp", 1},
  {BATTERY, NULL, 0},
  {FLOAT, "v.p.odometer", 1},
};

/* NotifyTripLog(), version 1: the trip, the battery's charge and range and the energy the
 * trip used, the temperatures, the tyres. */
static const struct field trip_fields[] = {
  {POSITION, NULL, 8},
  {FLOAT, "v.p.odometer", 1}, {FLOAT, "v.p.trip", 1},
  {INT, "v.e.drivetime", 0}, {INT, "v.e.drivemode", 0},
  {FLOAT, "v.b.soc", 1}, {FLOAT, "v.b.range.est", 1},
  {FLOAT, "v.b.range.ideal", 1}, {FLOAT, "v.b.range.full", 1},
  {FLOAT, "v.b.energy.used", 3}, {FLOAT, "v.b.energy.recd", 3},
  {FLOAT, "v.b.coulomb.used", 3}, {FLOAT, "v.b.coulomb.recd", 3},
  {BATTERY, NULL, 0},
  {FLOAT, "v.e.temp", 1}, {FLOAT, "v.e.cabintemp", 1}, {FLOAT, "v.b.temp", 1},
  {FLOAT, "v.i.temp", 1}, {FLOAT, "v.m.temp", 1}, {FLOAT, "v.c.12v.temp", 1},
  {MINMAX, "v.t.temp", 1}, {MINMAX, "v.t.pressure", 1}, {MINMAX, "v.t.health", 1},
};

static void fields(struct sim *sim, const struct field *t, size_t n, struct sbuf *b)
{
  for (size_t k = 0; k < n; k++) {
    switch (t[k].kind) {
    case FLAG: flag(sim, b, t[k].metric); break;
    case FLOAT: f(sim, b, t[k].metric, t[k].prec); break;
    case INT: i(sim, b, t[k].metric); break;
    case TEXT: s(sim, b, t[k].metric); break;
    case MINMAX: minmax(sim, b, t[k].metric, t[k].prec); break;
    case POSITION: position(sim, b, t[k].prec); break;
    case BATTERY: fields(sim, battery_fields, ARRAY_SIZE(battery_fields), b); break;
    }
  }
}

void vehicle_grid_record(struct sim *sim, long days, struct sbuf *b)
{
  sbuf_printf(b, "*-LOG-Grid,2,%ld", days * 86400);
  fields(sim, grid_fields, ARRAY_SIZE(grid_fields), b);
}

void vehicle_trip_record(struct sim *sim, long days, struct sbuf *b)
{
  sbuf_printf(b, "*-LOG-Trip,1,%ld", days * 86400);
  fields(sim, trip_fields, ARRAY_SIZE(trip_fields), b);
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
