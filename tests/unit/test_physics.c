/*
 * test_physics.c - the car model and the scenario run engine, run in virtual time.
 *
 * Asserts physical consistency rather than exact traces: an AC charge from 20 % to 90 % at
 * 7 kW on a 40 kWh pack takes a realistic time and v.c.kwh agrees with the SoC gained; a drive
 * of N km adds N km to the odometer and takes N x consumption / capacity off the SoC; GPS
 * positions stay on the route's legs with the legs' headings; DC charging tapers above the
 * taper SoC; climate, set steps, events and shell commands (sim_control_ops) act on the car;
 * expect checks pass and fail as they should, with step and value in the report; the same
 * seed gives the same run.
 */
#include "testutil.h"

#include <ev.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "core/error.h"
#include "model/events.h"
#include "core/loop.h"
#include "model/metrics.h"
#include "scenario/physics.h"
#include "scenario/scenario.h"
#include "model/sim.h"

#define START_NS (INT64_C(1717221600) * SIM_NS_PER_SEC) /* 2024-06-01 06:00:00 UTC */

struct harness {
  struct ev_loop *ev;
  struct sim_loop *loop;
  struct sim *sim;
  struct scenario *sc;
  struct scenario_run *run;
};

static void on_done(void *ctx, struct scenario_run *run)
{
  struct harness *h = ctx;
  sim_loop_stop(h->loop, 0);
}

static void h_init(struct harness *h, const char *yaml, uint64_t seed)
{
  memset(h, 0, sizeof(*h));
  struct sim_diag d = SIM_DIAG_INIT;
  if (scenario_load_string(yaml, strlen(yaml), "test.yaml", &h->sc, &d) < 0) {
    struct sbuf b = SBUF_INIT;
    for (size_t i = 0; i < d.n; i++) {
      sim_diag_format(&d.v[i], &b);
      sbuf_addc(&b, '\n');
    }
    fail_msg("scenario does not load:\n%s", sbuf_str(&b));
  }
  sim_diag_cleanup(&d);
  h->ev = ev_loop_new(EVFLAG_AUTO);
  h->loop = sim_loop_new(h->ev, SIM_CLOCK_FAST, 1.0, START_NS);
  h->sim = sim_new(h->loop, NULL, seed);
  assert_int_equal(scenario_start(h->sim, h->sc, &h->run), 0);
  scenario_run_on_done(h->run, on_done, h);
}

static void h_run(struct harness *h)
{
  assert_int_equal(sim_loop_run(h->loop), 0);
  assert_true(scenario_run_done(h->run));
}

static void h_free(struct harness *h)
{
  sim_free(h->sim);
  sim_loop_free(h->loop);
  ev_loop_destroy(h->ev);
  scenario_free(h->sc);
}

static struct metric *mm(struct harness *h, const char *name)
{
  struct metric *m = metrics_find(h->sim->metrics, name);
  assert_non_null(m);
  return m;
}

static double mf(struct harness *h, const char *name)
{
  return metric_float(mm(h, name));
}

static const char *ms(struct harness *h, const char *name)
{
  return metric_string(mm(h, name));
}

static double secs(struct harness *h)
{
  return (double)sim_monotonic(h->loop) / 1e9;
}

/* ---- charging --------------------------------------------------------------------------- */

struct charge_watch {
  struct harness *h;
  double start, stop;
  double min_power, max_current;
};

static void watch_charging(void *ctx, struct metric *m)
{
  struct charge_watch *w = ctx;
  if (metric_bool(m))
    w->start = secs(w->h);
  else
    w->stop = secs(w->h);
}

static void watch_power(void *ctx, struct metric *m)
{
  struct charge_watch *w = ctx;
  w->min_power = fmin(w->min_power, metric_float(m));
}

static void watch_current(void *ctx, struct metric *m)
{
  struct charge_watch *w = ctx;
  w->max_current = fmax(w->max_current, metric_float(m));
}

static void test_ac_charge_20_to_90(void **state)
{
  static const char yaml[] =
      "vehicle: {capacity: 40kWh, soc: 20%, ambient: 20C}\n"
      "timeline:\n"
      "  - name: charge\n"
      "    charge: {type: type2, power: 7kW, voltage: 230V, target: 90%}\n";
  struct harness h;
  h_init(&h, yaml, 1);
  struct charge_watch w = {&h, -1, -1, 0, -1000};
  metrics_listen(h.sim->metrics, "v.c.charging", watch_charging, &w);
  metrics_listen(h.sim->metrics, "v.b.power", watch_power, &w);
  metrics_listen(h.sim->metrics, "v.b.current", watch_current, &w);
  h_run(&h);
  assert_true(w.start >= 0 && w.stop > w.start);
  double hours = (w.stop - w.start) / 3600.0;
  /* 28 kWh into the pack at 7 kW x 90 % = 6.3 kW: 4.44 h plus losses. */
  if (hours < 4.3 || hours > 5.0)
    fail_msg("charge took %.3f h", hours);
  assert_true(mf(&h, "v.b.soc") >= 90 && mf(&h, "v.b.soc") <= 90.2);
  double kwh = mf(&h, "v.c.kwh"), grid = mf(&h, "v.c.kwh.grid");
  /* What the charger delivered covers the SoC gained (28 kWh) plus a little I^2 R. */
  if (kwh < 28.0 || kwh > 28.0 * 1.03)
    fail_msg("v.c.kwh %.3f", kwh);
  if (fabs(grid - kwh / 0.9) > 0.02)
    fail_msg("v.c.kwh.grid %.3f vs v.c.kwh %.3f / 0.9", grid, kwh);
  double recd = mf(&h, "v.b.energy.recd");
  if (recd > kwh || recd < kwh * 0.97)
    fail_msg("v.b.energy.recd %.3f vs v.c.kwh %.3f", recd, kwh);
  /* Charging current and power are negative (discharge positive). */
  assert_true(w.min_power < -6.0 && w.min_power > -6.5);
  assert_true(w.max_current < 1.0);
  assert_string_equal(ms(&h, "v.c.state"), "done");
  assert_string_equal(ms(&h, "v.c.substate"), "scheduledstop");
  assert_false(metric_bool(mm(&h, "v.c.charging")));
  assert_true(metric_bool(mm(&h, "v.c.pilot")));
  assert_true(metric_bool(mm(&h, "v.d.cp")));
  assert_string_equal(ms(&h, "v.c.type"), "type2");
  assert_int_equal(metric_int(mm(&h, "v.c.duration.soc")), 0);
  h_free(&h);
}

struct sample {
  double soc, power;
  char state[16];
};

struct sampler {
  struct harness *h;
  struct sim_timer t;
  struct sample s[4096];
  size_t n;
};

static void on_sample(struct sim_loop *loop, struct sim_timer *t)
{
  struct sampler *sp = t->data;
  if (sp->n >= ARRAY_SIZE(sp->s))
    return;
  struct sample *s = &sp->s[sp->n++];
  s->soc = mf(sp->h, "v.b.soc");
  s->power = mf(sp->h, "v.c.power");
  snprintf(s->state, sizeof(s->state), "%s", ms(sp->h, "v.c.state"));
}

static void test_dc_taper(void **state)
{
  static const char yaml[] =
      "vehicle: {capacity: 40kWh, soc: 40%, dc_power: 50kW, ambient: 20C, battery_temp: 25C}\n"
      "timeline:\n"
      "  - charge: {type: chademo, power: 50kW, target: 95%, taper: 80%}\n";
  struct harness h;
  h_init(&h, yaml, 1);
  static struct sampler sp;
  memset(&sp, 0, sizeof(sp));
  sp.h = &h;
  sim_timer_init(&sp.t, on_sample, &sp);
  sim_timer_start(h.loop, &sp.t, 30 * SIM_NS_PER_SEC, 30 * SIM_NS_PER_SEC);
  h_run(&h);
  bool topoff = false;
  size_t cc = 0, cv = 0;
  for (size_t i = 0; i < sp.n; i++) {
    const struct sample *s = &sp.s[i];
    if (!strcmp(s->state, "charging") && s->soc < 79) {
      assert_true(s->power >= 49.9);
      cc++;
    }
    if (!strcmp(s->state, "topoff")) {
      topoff = true;
      assert_true(s->power < 50);
      if (s->soc > 90) {
        assert_true(s->power < 0.55 * 50);
        cv++;
      }
    }
  }
  assert_true(topoff);
  assert_true(cc > 10 && cv > 3);
  assert_string_equal(ms(&h, "v.c.state"), "done");
  assert_string_equal(ms(&h, "v.c.type"), "chademo");
  assert_true(mf(&h, "v.b.soc") >= 95);
  assert_true(mf(&h, "v.b.temp") > 27); /* I^2 R heats the pack */
  sim_timer_stop(h.loop, &sp.t);
  h_free(&h);
}

/* ---- driving ---------------------------------------------------------------------------- */

struct drive_watch {
  double vmax, amax, pmax, imax;
};

static void watch_max(void *ctx, struct metric *m)
{
  struct drive_watch *w = ctx;
  double v = metric_float(m);
  if (!strcmp(m->name, "v.p.speed"))
    w->vmax = fmax(w->vmax, v);
  else if (!strcmp(m->name, "v.p.acceleration"))
    w->amax = fmax(w->amax, v);
  else if (!strcmp(m->name, "v.b.power"))
    w->pmax = fmax(w->pmax, v);
  else
    w->imax = fmax(w->imax, v);
}

static void test_drive_distance(void **state)
{
  static const struct {
    double km, speed;
    const char *noise;
  } cases[] = {{5, 50, "no"}, {25, 80, "no"}, {60, 120, "yes"}};
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    char yaml[1024];
    snprintf(yaml, sizeof(yaml),
             "vehicle: {capacity: 40kWh, consumption: 160Wh/km, soc: 80%%, odometer: 1000km,"
             " noise: %s}\n"
             "timeline:\n"
             "  - drive: {distance: %gkm, speed: %gkmh}\n",
             cases[i].noise, cases[i].km, cases[i].speed);
    struct harness h;
    h_init(&h, yaml, 7);
    struct drive_watch w = {0, 0, 0, 0};
    metrics_listen(h.sim->metrics, "v.p.speed", watch_max, &w);
    metrics_listen(h.sim->metrics, "v.p.acceleration", watch_max, &w);
    metrics_listen(h.sim->metrics, "v.b.power", watch_max, &w);
    metrics_listen(h.sim->metrics, "v.b.current", watch_max, &w);
    h_run(&h);
    double km = cases[i].km;
    if (fabs(mf(&h, "v.p.odometer") - (1000 + km)) > 0.051)
      fail_msg("%g km: odometer %.3f", km, mf(&h, "v.p.odometer"));
    assert_true(fabs(mf(&h, "v.p.trip") - km) <= 0.051);
    /* N x consumption / capacity, plus kinetic and I^2 R losses of a few percent. */
    double want = km * 160.0 / 40000.0 * 100.0;
    double drop = 80.0 - mf(&h, "v.b.soc");
    if (drop < want - 0.1 || drop > want * 1.05 + 0.1)
      fail_msg("%g km: SoC dropped %.2f %%, expected about %.2f %%", km, drop, want);
    /* Net energy out of the pack (used minus recovered by regeneration). */
    double used = mf(&h, "v.b.energy.used") - mf(&h, "v.b.energy.recd");
    assert_true(mf(&h, "v.b.energy.recd") > 0);
    if (used < km * 0.16 * 0.99 || used > km * 0.16 * 1.05)
      fail_msg("%g km: net energy used %.3f kWh", km, used);
    assert_true(w.vmax > cases[i].speed - 4 && w.vmax < cases[i].speed + 4);
    assert_true(w.amax <= 1.5 + 1e-6); /* the vehicle's acceleration limit */
    assert_true(w.pmax > 0 && w.imax > 0); /* discharging is positive */
    assert_false(metric_bool(mm(&h, "v.e.on")));
    assert_int_equal(metric_int(mm(&h, "v.e.gear")), 0);
    assert_true(mf(&h, "v.p.speed") == 0);
    assert_true(metric_bool(mm(&h, "v.e.handbrake")));
    h_free(&h);
  }
}

struct gps_watch {
  struct harness *h;
  struct sim_timer t;
  size_t n, leg1, leg2, moving;
  double max_off_km;
  double last_progress;
  bool backwards;
};

/* Distance (km) from p to the segment a-b, in a local flat projection. */
static double seg_dist(double plat, double plon, double alat, double alon, double blat,
                       double blon)
{
  double k = cos(plat * M_PI / 180) * 111.32;
  double px = (plon - alon) * k, py = (plat - alat) * 110.574;
  double bx = (blon - alon) * k, by = (blat - alat) * 110.574;
  double t = (px * bx + py * by) / (bx * bx + by * by);
  t = t < 0 ? 0 : t > 1 ? 1 : t;
  return hypot(px - t * bx, py - t * by);
}

static void on_gps(struct sim_loop *loop, struct sim_timer *t)
{
  struct gps_watch *g = t->data;
  struct harness *h = g->h;
  double lat = mf(h, "v.p.latitude"), lon = mf(h, "v.p.longitude");
  double dir = mf(h, "v.p.direction"), alt = mf(h, "v.p.altitude");
  g->n++;
  double d1 = seg_dist(lat, lon, 52.50, 13.40, 52.52, 13.40);
  double d2 = seg_dist(lat, lon, 52.52, 13.40, 52.52, 13.43);
  g->max_off_km = fmax(g->max_off_km, fmin(d1, d2));
  if (mf(h, "v.p.speed") <= 0)
    return;
  g->moving++;
  /* progress along the polyline: leg 1 is 0..1, leg 2 is 1..2 */
  double prog = d1 <= d2 ? (lat - 52.50) / 0.02 : 1 + (lon - 13.40) / 0.03;
  if (prog < g->last_progress - 1e-9)
    g->backwards = true;
  g->last_progress = prog;
  if (d1 < d2 && lat < 52.519) {
    g->leg1++;
    assert_true(dir < 0.5 || dir > 359.5);                 /* due north */
    assert_true(alt >= 30 - 0.05 && alt <= 50 + 0.05);      /* 30 m -> 50 m */
  } else if (d2 < d1 && lon > 13.401) {
    g->leg2++;
    assert_true(fabs(dir - 90) < 1.0);                       /* east */
    assert_true(alt >= 40 - 0.05 && alt <= 50 + 0.05);      /* 50 m -> 40 m */
  }
}

/* A drive longer than the pack allows ends where the battery is flat: the odometer never
 * counts kilometres driven on an empty pack, and the next step still runs. */
static void test_drive_until_flat(void **state)
{
  static const char yaml[] =
      "vehicle: {capacity: 40kWh, consumption: 160Wh/km, soc: 2%, odometer: 1000km, noise: no}\n"
      "timeline:\n"
      "  - drive: {distance: 500km, speed: 80kmh}\n"
      "  - park: 10min\n";
  struct harness h;
  h_init(&h, yaml, 7);
  h_run(&h);
  /* 2 % of 40 kWh at 160 Wh/km is 5 km, less the losses */
  double km = mf(&h, "v.p.odometer") - 1000;
  if (km < 3 || km > 5.1)
    fail_msg("drove %.2f km on 0.8 kWh", km);
  assert_true(mf(&h, "v.b.soc") <= 0.05);
  assert_true(mf(&h, "v.b.energy.used") < 1.0);
  assert_true(mf(&h, "v.p.speed") == 0);
  assert_false(metric_bool(mm(&h, "v.e.on")));
  h_free(&h);
}

static void test_gps_follows_waypoints(void **state)
{
  static const char yaml[] =
      "vehicle: {capacity: 40kWh, soc: 80%, location: [52.4, 13.3]}\n"
      "timeline:\n"
      "  - drive:\n"
      "      speed: 50kmh\n"
      "      route:\n"
      "        - {lat: 52.50, lon: 13.40, alt: 30}\n"
      "        - {lat: 52.52, lon: 13.40, alt: 50}\n"
      "        - {lat: 52.52, lon: 13.43, alt: 40, name: Office}\n";
  struct harness h;
  h_init(&h, yaml, 3);
  static struct gps_watch g;
  memset(&g, 0, sizeof(g));
  g.h = &h;
  sim_timer_init(&g.t, on_gps, &g);
  sim_timer_start(h.loop, &g.t, 5 * SIM_NS_PER_SEC, 5 * SIM_NS_PER_SEC);
  h_run(&h);
  sim_timer_stop(h.loop, &g.t);
  assert_true(g.max_off_km < 0.005); /* every sample on the legs */
  assert_false(g.backwards);
  assert_true(g.leg1 > 20 && g.leg2 > 20);
  /* The route's length is the drive's distance: 2.22 km + 2.03 km. */
  double want = physics_distance_km(52.50, 13.40, 52.52, 13.40) +
                physics_distance_km(52.52, 13.40, 52.52, 13.43);
  assert_true(fabs(mf(&h, "v.p.trip") - want) < 0.051);
  assert_true(fabs(mf(&h, "v.p.latitude") - 52.52) < 1e-6);
  assert_true(fabs(mf(&h, "v.p.longitude") - 13.43) < 1e-6);
  assert_true(fabs(mf(&h, "v.p.altitude") - 40) < 1e-6);
  assert_string_equal(ms(&h, "v.p.location"), "Office");
  assert_true(metric_bool(mm(&h, "v.p.gpslock")));
  h_free(&h);
}

static void test_dead_reckoning(void **state)
{
  /* Without a route the car drives along its heading: 10 km due east. */
  static const char yaml[] =
      "vehicle: {location: [52.0, 13.0], heading: 90, noise: no}\n"
      "timeline:\n"
      "  - drive: 10km\n";
  struct harness h;
  h_init(&h, yaml, 1);
  h_run(&h);
  double lat = mf(&h, "v.p.latitude"), lon = mf(&h, "v.p.longitude");
  assert_true(fabs(physics_distance_km(52.0, 13.0, lat, lon) - 10) < 0.05);
  assert_true(fabs(lat - 52.0) < 0.001);
  assert_true(lon > 13.14);
  h_free(&h);
}

/* ---- climate, set, events, commands ---------------------------------------------------- */

static void test_climate_and_set(void **state)
{
  static const char yaml[] =
      "vehicle: {ambient: 0C, soc: 60%, noise: no}\n"
      "timeline:\n"
      "  - climate: {on: yes, setpoint: 21C}\n"
      "  - name: heat\n"
      "    park: 30min\n"
      "  - climate: off\n"
      "  - set: {v.b.soc: 42.5, v.p.odometer: 12mi, v.e.headlights: yes}\n"
      "  - park: 1h\n";
  struct harness h;
  h_init(&h, yaml, 1);
  h_run(&h);
  /* The cabin warmed up and came down again towards 0 degrees. */
  assert_true(mf(&h, "v.e.cabintemp") < 15);
  assert_true(mf(&h, "v.e.cabintemp") > 0);
  assert_false(metric_bool(mm(&h, "v.e.hvac")));
  /* set: the model took the values over (no drift back), with units converted. */
  assert_true(fabs(mf(&h, "v.b.soc") - 42.5) < 0.051);
  assert_true(fabs(mf(&h, "v.p.odometer") - 19.3) < 0.051);
  h_free(&h);

  static const char yaml2[] =
      "vehicle: {ambient: 0C, soc: 60%, noise: no}\n"
      "timeline:\n"
      "  - climate: {on: yes, setpoint: 21C}\n"
      "  - park: 30min\n"
      "expect:\n"
      "  - {metric: v.e.cabintemp, min: 18}\n"
      "  - {metric: v.e.heating, value: yes}\n"
      "  - {metric: v.e.hvac, value: yes}\n"
      "  - {metric: v.e.awake, value: yes}\n"
      "  - {metric: v.b.soc, max: 59.5}\n"; /* heating ran from the battery */
  h_init(&h, yaml2, 1);
  h_run(&h);
  assert_int_equal(scenario_run_failed_count(h.run), 0);
  h_free(&h);
}

struct ev_watch {
  char names[256];
  char data[64];
};

static void on_event(void *ctx, const char *name, const char *data)
{
  struct ev_watch *w = ctx;
  size_t l = strlen(w->names);
  snprintf(w->names + l, sizeof(w->names) - l, "%s;", name);
  if (data)
    snprintf(w->data, sizeof(w->data), "%s", data);
}

static void test_event_and_notify_steps(void **state)
{
  static const char yaml[] =
      "timeline:\n"
      "  - event: usr.test.one\n"
      "  - park: 1min\n"
      "  - event: {name: usr.test.two, data: payload}\n"
      "  - notify: {type: alert, subtype: usr.test.alert, text: hello}\n";
  struct harness h;
  h_init(&h, yaml, 1);
  struct ev_watch w;
  memset(&w, 0, sizeof(w));
  sim_events_listen(h.sim->events, "usr.*", on_event, &w);
  sim_events_listen(h.sim->events, "notify.*", on_event, &w);
  h_run(&h);
  /* the notification step raises notify.<type>.<subtype> through the queue */
  assert_string_equal(w.names, "usr.test.one;usr.test.two;notify.alert.usr.test.alert;");
  assert_int_equal(scenario_run_failed_count(h.run), 0);
  assert_string_equal(w.data, "payload");
  h_free(&h);
}

struct commander {
  struct harness *h;
  struct sim_timer t;
  int n;
  int rc[8];
};

static void on_command(struct sim_loop *loop, struct sim_timer *t)
{
  struct commander *c = t->data;
  struct sim *sim = c->h->sim;
  const struct sim_control_ops *ops = sim->control;
  assert_non_null(ops);
  switch (c->n) {
  /* every 20 min from 10 min on */
  case 0: c->rc[0] = ops->charge_stop(sim->control_ctx); break;
  case 1: c->rc[1] = ops->charge_stop(sim->control_ctx); break;     /* not charging now */
  case 2: c->rc[2] = ops->charge_start(sim->control_ctx); break;
  case 3: c->rc[3] = ops->charge_current(sim->control_ctx, 10); break;
  case 4: c->rc[4] = ops->climate(sim->control_ctx, 1); break;
  case 5: c->rc[5] = ops->lock(sim->control_ctx, "1234"); break;
  default: break;
  }
  c->n++;
}

static void test_control_ops(void **state)
{
  static const char yaml[] =
      "vehicle: {soc: 30%, locked: no, noise: no}\n"
      "timeline:\n"
      "  - charge: {type: type2, power: 7kW, voltage: 230V, target: 80%, wait: no}\n"
      "  - park: 2h\n"
      "expect:\n"
      "  - {metric: v.c.charging, value: yes, at: 5min}\n"
      "  - {metric: v.c.state, value: stopped, at: 25min}\n"
      "  - {metric: v.c.substate, value: onrequest, at: 25min}\n"
      "  - {metric: v.c.state, value: charging, at: 55min}\n"
      "  - {metric: v.c.current, min: 9.9, max: 10.1, at: 75min}\n"
      "  - {metric: v.e.hvac, value: yes, at: 95min}\n"
      "  - {metric: v.e.locked, value: yes, at: 115min}\n";
  struct harness h;
  h_init(&h, yaml, 1);
  static struct commander c;
  memset(&c, 0, sizeof(c));
  c.h = &h;
  sim_timer_init(&c.t, on_command, &c);
  sim_timer_start(h.loop, &c.t, 10 * 60 * SIM_NS_PER_SEC, 20 * 60 * SIM_NS_PER_SEC);
  h_run(&h);
  sim_timer_stop(h.loop, &c.t);
  assert_int_equal(c.rc[0], 0);
  assert_int_equal(c.rc[1], SIM_ESTATE);
  assert_int_equal(c.rc[2], 0);
  assert_int_equal(c.rc[3], 0);
  assert_int_equal(c.rc[4], 0);
  assert_int_equal(c.rc[5], 0);
  assert_null(h.sim->control->homelink);
  struct sbuf r = SBUF_INIT;
  scenario_run_report(h.run, &r, 0);
  if (scenario_run_failed_count(h.run))
    fail_msg("%s", sbuf_str(&r));
  sbuf_free(&r);
  /* After scenario_run_stop() commands no longer reach the model. */
  scenario_run_stop(h.run);
  assert_null(h.sim->control);
  h_free(&h);
}

/* ---- expect checks ---------------------------------------------------------------------- */

static void test_expect_pass_fail(void **state)
{
  static const char yaml[] =
      "name: checks\n"
      "vehicle: {soc: 50%, odometer: 10000km, noise: no}\n"
      "timeline:\n"
      "  - park: 10min\n"
      "  - name: lock-it\n"
      "    unlock:\n"
      "  - set: {v.b.soh: 90}\n"
      "expect:\n"
      "  - {metric: v.b.soc, value: 50}\n"
      "  - {metric: v.b.soc, min: 60}\n"
      "  - {metric: v.e.locked, value: no, after: lock-it}\n"
      "  - {metric: v.e.locked, value: no, at: 5min}\n"
      "  - {metric: v.b.soh, value: 90}\n"
      "  - {metric: v.type, value: DEMO}\n"
      "  - {metric: v.g.kwh, defined: no}\n"
      "  - {metric: v.p.odometer, value: 6213.7mi, tolerance: 0.1}\n"
      "  - {metric: v.b.soc, min: 49, max: 51, at: 20min}\n";
  struct harness h;
  h_init(&h, yaml, 1);
  h_run(&h);
  /* The check at 20 min keeps the run going past the last step (10 min). */
  assert_true(secs(&h) >= 1200);
  assert_int_equal(scenario_run_checked_count(h.run), 9);
  assert_int_equal(scenario_run_failed_count(h.run), 2);
  struct sbuf r = SBUF_INIT;
  size_t failed = scenario_run_report(h.run, &r, 0);
  assert_int_equal(failed, 2);
  const char *t = sbuf_str(&r);
  if (!strstr(t, "test.yaml:10:5: FAIL v.b.soc = 50 (expected >= 60) end, t=0h20m00s, after "
                 "the last step\n") ||
      !strstr(t, "test.yaml:12:5: FAIL v.e.locked = yes (expected = no) at 0h05m00s, "
                 "t=0h05m00s, step 1 park (line 4)\n") ||
      !strstr(t, "test.yaml:11:5: PASS v.e.locked = no (expected = no) after step 2, "
                 "t=0h10m00s, step 2 unlock 'lock-it' (line 6)\n") ||
      !strstr(t, "checks: 9 checks, 7 passed, 2 failed\n"))
    fail_msg("report:\n%s", t);
  sbuf_reset(&r);
  scenario_run_report(h.run, &r, SCENARIO_REPORT_JSON);
  t = sbuf_str(&r);
  if (!strstr(t, "\"passed\":7,\"failed\":2") ||
      !strstr(t, "{\"line\":10,\"col\":5,\"metric\":\"v.b.soc\",\"when\":\"end\",\"time\":1200.000,"
                 "\"step\":null,\"seen\":\"50\",\"expected\":\">= 60\",\"pass\":false}"))
    fail_msg("json:\n%s", t);
  sbuf_free(&r);
  h_free(&h);
}

static void on_stop(struct sim_loop *loop, struct sim_timer *t)
{
  sim_loop_stop(loop, 0);
}

static void test_unreached_checks_fail(void **state)
{
  static const char yaml[] =
      "timeline:\n"
      "  - park: 2h\n"
      "expect:\n"
      "  - {metric: v.b.soc, min: 0, at: 1h}\n"
      "  - {metric: v.b.soc, min: 0}\n";
  struct harness h;
  h_init(&h, yaml, 1);
  /* Stopped after 30 simulated minutes: nothing was checked, both count as failed. */
  struct sim_timer stop;
  sim_timer_init(&stop, on_stop, NULL);
  sim_timer_start(h.loop, &stop, 30 * 60 * SIM_NS_PER_SEC, 0);
  assert_int_equal(sim_loop_run(h.loop), 0);
  assert_false(scenario_run_done(h.run));
  assert_int_equal(scenario_run_checked_count(h.run), 0);
  assert_int_equal(scenario_run_failed_count(h.run), 2);
  struct sbuf r = SBUF_INIT;
  scenario_run_report(h.run, &r, 0);
  assert_non_null(strstr(sbuf_str(&r), "NOT REACHED v.b.soc (at 1h00m00s)"));
  assert_non_null(strstr(sbuf_str(&r), "(timeline not finished)"));
  sbuf_free(&r);
  h_free(&h);
}

/* ---- determinism ------------------------------------------------------------------------ */

struct trace {
  struct harness *h;
  struct sbuf out;
  struct sbuf v;
};

static void on_any(void *ctx, struct metric *m)
{
  struct trace *tr = ctx;
  sbuf_reset(&tr->v);
  metric_format(m, NULL, &tr->v);
  sbuf_printf(&tr->out, "%lld %s=%s\n", (long long)sim_monotonic(tr->h->loop), m->name,
              sbuf_str(&tr->v));
}

static char *trace_run(uint64_t seed)
{
  static const char yaml[] =
      "vehicle: {soc: 60%}\n"
      "timeline:\n"
      "  - drive: {distance: 4km, speed: 60kmh}\n"
      "  - charge: {type: ccs, power: 50kW, target: 65%}\n";
  struct harness h;
  h_init(&h, yaml, seed);
  struct trace tr = {&h, SBUF_INIT, SBUF_INIT};
  metrics_listen(h.sim->metrics, "*", on_any, &tr);
  h_run(&h);
  h_free(&h);
  sbuf_free(&tr.v);
  return sbuf_detach(&tr.out);
}

static void test_determinism(void **state)
{
  char *a = trace_run(11), *b = trace_run(11), *c = trace_run(12);
  assert_true(strlen(a) > 10000);
  assert_string_equal(a, b);
  assert_true(strcmp(a, c) != 0); /* noise comes from the seeded generator */
  free(a);
  free(b);
  free(c);
}

static void test_cell_metrics(void **state)
{
  static const char yaml[] =
      "vehicle: {cells: 96, soc: 60%, cell_metrics: yes}\n"
      "timeline:\n"
      "  - drive: 3km\n";
  struct harness h;
  h_init(&h, yaml, 5);
  h_run(&h);
  struct metric *cv = mm(&h, "v.b.c.voltage"), *ct = mm(&h, "v.b.c.temp");
  assert_int_equal(cv->n, 96);
  assert_int_equal(ct->n, 96);
  const float *v = cv->data;
  double sum = 0, lo = 1e9, hi = 0;
  for (int i = 0; i < 96; i++) {
    sum += v[i];
    lo = fmin(lo, v[i]);
    hi = fmax(hi, v[i]);
  }
  /* the cells add up to the pack (within rounding and noise) */
  assert_true(fabs(sum - mf(&h, "v.b.voltage")) < 0.5);
  assert_true(fabs(lo - mf(&h, "v.b.p.voltage.min")) < 1e-6);
  assert_true(fabs(hi - mf(&h, "v.b.p.voltage.max")) < 1e-6);
  assert_true(hi > lo);
  assert_true(mf(&h, "v.b.p.voltage.stddev") > 0.001 && mf(&h, "v.b.p.voltage.stddev") < 0.01);
  h_free(&h);
}

static void test_ocv_curve(void **state)
{
  struct scenario_vehicle v;
  memset(&v, 0, sizeof(v));
  v.cells = 96;
  v.cell_vmin = 3.0;
  v.cell_vmax = 4.2;
  assert_true(fabs(physics_ocv(&v, 0) - 288) < 1e-9);
  assert_true(fabs(physics_ocv(&v, 100) - 403.2) < 1e-9);
  double last = 0;
  for (int s = 0; s <= 100; s++) {
    double o = physics_ocv(&v, s);
    assert_true(o > last);
    last = o;
  }
  assert_true(fabs(physics_bearing(52, 13, 53, 13)) < 1e-9);
  assert_true(fabs(physics_bearing(0, 0, 0, 1) - 90) < 1e-9);
  assert_true(fabs(physics_distance_km(0, 0, 0, 1) - 111.195) < 0.01);
}

static void test_shipped_scenarios_pass(void **state)
{
  static const char *const files[] = {"scenarios/charging.yaml", "scenarios/driving.yaml",
                                      "scenarios/fast-charge.yaml",
                                      "scenarios/parked-night.yaml"};
  for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
    struct harness h;
    memset(&h, 0, sizeof(h));
    struct sim_diag d = SIM_DIAG_INIT;
    char path[1024];
    snprintf(path, sizeof(path), "%s", test_src_path(files[i]));
    assert_int_equal(scenario_load(path, &h.sc, &d), 0);
    sim_diag_cleanup(&d);
    h.ev = ev_loop_new(EVFLAG_AUTO);
    h.loop = sim_loop_new(h.ev, SIM_CLOCK_FAST, 1.0, h.sc->start_utc_ns);
    h.sim = sim_new(h.loop, NULL, 1);
    assert_int_equal(scenario_start(h.sim, h.sc, &h.run), 0);
    scenario_run_on_done(h.run, on_done, &h);
    h_run(&h);
    struct sbuf r = SBUF_INIT;
    if (scenario_run_report(h.run, &r, 0))
      fail_msg("%s", sbuf_str(&r));
    sbuf_free(&r);
    h_free(&h);
  }
}

static void test_timer_across_midnight(void **state)
{
  /* START_NS is 06:00 UTC; park until 23:50, plug in with a 00:05 timer. */
  static const char yaml[] =
      "vehicle: {soc: 50%, noise: no}\n"
      "timeline:\n"
      "  - park: 17h50min\n"
      "  - charge: {type: type2, power: 3.7kW, target: 60%, timer: '00:05'}\n"
      "expect:\n"
      "  - {metric: v.c.state, value: timerwait, at: 18h4min}\n"
      "  - {metric: v.c.state, value: prepare, at: 18h5min}\n"
      "  - {metric: v.c.substate, value: scheduledstart, at: 18h6min}\n"
      "  - {metric: v.c.charging, value: yes, at: 18h6min}\n"
      "  - {metric: v.c.state, value: done}\n";
  struct harness h;
  h_init(&h, yaml, 1);
  h_run(&h);
  struct sbuf r = SBUF_INIT;
  if (scenario_run_report(h.run, &r, 0))
    fail_msg("%s", sbuf_str(&r));
  sbuf_free(&r);
  h_free(&h);
}

static void test_headlights_after_dark(void **state)
{
  /* Berlin in December: dark at 16:30 UTC (17:30 local), light at 11:00 UTC. */
  static const char *const starts[] = {"2024-12-10 16:30:00", "2024-12-10 11:00:00"};
  for (int i = 0; i < 2; i++) {
    char yaml[512];
    snprintf(yaml, sizeof(yaml),
             "start: %s\n"
             "vehicle: {location: [52.52, 13.40]}\n"
             "timeline:\n"
             "  - drive: 2km\n"
             "expect:\n"
             "  - {metric: v.e.headlights, value: %s, at: 1min}\n"
             "  - {metric: v.e.headlights, value: no}\n",
             starts[i], i == 0 ? "yes" : "no");
    struct harness h;
    memset(&h, 0, sizeof(h));
    struct sim_diag d = SIM_DIAG_INIT;
    assert_int_equal(scenario_load_string(yaml, strlen(yaml), "t.yaml", &h.sc, &d), 0);
    h.ev = ev_loop_new(EVFLAG_AUTO);
    h.loop = sim_loop_new(h.ev, SIM_CLOCK_FAST, 1.0, h.sc->start_utc_ns);
    h.sim = sim_new(h.loop, NULL, 1);
    assert_int_equal(scenario_start(h.sim, h.sc, &h.run), 0);
    scenario_run_on_done(h.run, on_done, &h);
    h_run(&h);
    struct sbuf r = SBUF_INIT;
    if (scenario_run_report(h.run, &r, 0))
      fail_msg("%s", sbuf_str(&r));
    sbuf_free(&r);
    h_free(&h);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_ac_charge_20_to_90),
    cmocka_unit_test(test_dc_taper),
    cmocka_unit_test(test_drive_distance),
    cmocka_unit_test(test_drive_until_flat),
    cmocka_unit_test(test_gps_follows_waypoints),
    cmocka_unit_test(test_dead_reckoning),
    cmocka_unit_test(test_climate_and_set),
    cmocka_unit_test(test_event_and_notify_steps),
    cmocka_unit_test(test_control_ops),
    cmocka_unit_test(test_expect_pass_fail),
    cmocka_unit_test(test_unreached_checks_fail),
    cmocka_unit_test(test_determinism),
    cmocka_unit_test(test_cell_metrics),
    cmocka_unit_test(test_ocv_curve),
    cmocka_unit_test(test_shipped_scenarios_pass),
    cmocka_unit_test(test_timer_across_midnight),
    cmocka_unit_test(test_headlights_after_dark),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
