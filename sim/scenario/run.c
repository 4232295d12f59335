/*
 * sim/scenario/run.c - the scenario run engine: the timeline on the simulation clock, the expect
 * checks and the control ops that let shell commands act on the simulated car.
 *
 * One repeating sim_timer (the physics tick, `tick:` seconds, default 1 s) drives everything:
 * each tick advances the physics model by the simulation time elapsed, then moves the
 * timeline on.  Instant steps (lock, set, notify, event ...) run back to back within one tick;
 * timed steps (park, drive, charge) end at the first tick at which their condition holds.
 * Expect checks run at their time (`at:`), when their step ends (`after:`) or when the
 * timeline has finished (`at: end`, the default).  Nothing here prints: results are kept for
 * scenario_run_report().
 */
#include "scenario/scenario.h"

#include <errno.h>
#include <math.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/json.h"
#include "model/events.h"
#include "core/loop.h"
#include "core/parse.h"
#include "model/metrics.h"
#include "notify/notify.h"
#include "scenario/physics.h"
#include "scenario/series.h"
#include "model/sim.h"
#include "core/xalloc.h"

struct check_result {
  bool evaluated, pass;
  int64_t t;    /* ns since the run started */
  size_t step;  /* the step running (or just finished) at evaluation */
  char *seen;   /* the value seen, as its payload text */
  char *expected;
  int64_t latency_ns; /* an app check: the step's latency; -1 = the step failed */
};

struct scenario_run {
  struct sim *sim;
  const struct scenario *sc;
  struct scenario_vehicle veh; /* sc->vehicle, varied (its strings are sc's) */
  struct physics phys;
  struct sim_timer tick;
  int64_t tick_ns, t0, last;
  size_t step;
  bool entered;
  int64_t step_t0;
  bool done, stopped;
  struct check_result *res;
  size_t n_checked, n_failed;
  struct sbuf errors;   /* step errors, one line each */
  size_t n_errors;
  void (*on_done)(void *ctx, struct scenario_run *run);
  void *on_done_ctx;
  void (*on_ecu)(void *ctx, const struct scenario_step *st);
  void *on_ecu_ctx;
  struct sim_control_ops ops;
  /* app: steps */
  const struct scenario_app_ops *app_ops;
  void *app_ctx;
  bool app_waiting;   /* the app step being executed has not ended yet */
  bool in_advance;    /* advance() is running: an app step ending now is seen by it */
  int app_status;     /* how the last app step ended (scenario_app_result) */
  char *app_response, *app_error;
  int64_t app_latency;
  struct series series; /* the report's time series (series.h) */
};

static int64_t to_ns(double s)
{
  return (int64_t)llround(s * 1e9);
}

static void fmt_time(int64_t ns, struct sbuf *out)
{
  int64_t s = ns / SIM_NS_PER_SEC;
  sbuf_printf(out, "%lldh%02lldm%02llds", (long long)(s / 3600), (long long)(s / 60 % 60),
              (long long)(s % 60));
}

static void step_error(struct scenario_run *run, const struct scenario_step *st, const char *fmt,
                       ...) __attribute__((format(printf, 3, 4)));
static void step_error(struct scenario_run *run, const struct scenario_step *st, const char *fmt,
                       ...)
{
  va_list ap;
  sbuf_printf(&run->errors, "%s:%d:%d: error: step %zu (%s): ", run->sc->path, st->line,
              st->col, (size_t)(st - run->sc->steps) + 1, scenario_step_kind_name(st->kind));
  va_start(ap, fmt);
  sbuf_vprintf(&run->errors, fmt, ap);
  va_end(ap);
  sbuf_addc(&run->errors, '\n');
  run->n_errors++;
}

/* ---- expect checks -------------------------------------------------------------------------- */

/* A number with an optional unit suffix, converted into the metric's unit. */
static int parse_value(const struct metric *m, const char *s, double *out)
{
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (end == s || errno || !isfinite(v))
    return SIM_EPARSE;
  while (*end == ' ')
    end++;
  if (*end) {
    enum sim_unit u;
    if (sim_unit_parse(end, &u) < 0 || sim_unit_convert(v, u, m->unit, &v) < 0)
      return SIM_EPARSE;
  }
  *out = v;
  return 0;
}

static bool is_numeric(const struct metric *m)
{
  return m->type == METRIC_INT || m->type == METRIC_INT64 || m->type == METRIC_FLOAT;
}

static bool value_matches(const struct metric *m, const struct scenario_expect *e,
                          const char *payload)
{
  const char *want = e->value;
  if (m->type == METRIC_BOOL) {
    bool b;
    return parse_bool(want, &b) == 0 && b == metric_bool(m);
  }
  if (is_numeric(m)) {
    double x;
    if (parse_value(m, want, &x) < 0)
      return false;
    double tol = fmax(e->tolerance, 1e-5 * fmax(1, fabs(x)));
    return fabs(metric_float(m) - x) <= tol;
  }
  if (m->type == METRIC_STRING)
    return !strcmp(metric_string(m), want);
  /* vectors, sets, bitsets: compare payload texts without blanks */
  const char *a = payload, *b = want;
  for (;;) {
    while (*a == ' ')
      a++;
    while (*b == ' ')
      b++;
    if (*a != *b)
      return false;
    if (!*a)
      return true;
    a++, b++;
  }
}

static void record(struct scenario_run *run, size_t i, int64_t now, bool pass,
                   struct sbuf *seen, struct sbuf *exp)
{
  struct check_result *r = &run->res[i];
  r->evaluated = true;
  r->pass = pass;
  r->t = now - run->t0;
  r->step = run->step;
  r->seen = sbuf_detach(seen);
  r->expected = sbuf_detach(exp);
  r->latency_ns = run->app_status == 0 ? run->app_latency : -1;
  run->n_checked++;
  if (!pass)
    run->n_failed++;
}

/* A response for a one-line report: line ends as \n, at most 120 characters. */
static void quote_response(const char *s, struct sbuf *out)
{
  size_t n = strlen(s);
  while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
    n--;
  sbuf_addc(out, '\'');
  for (size_t i = 0; i < n && i < 120; i++) {
    if (s[i] == '\n')
      sbuf_adds(out, "\\n");
    else if ((unsigned char)s[i] < 0x20)
      sbuf_addc(out, ' ');
    else
      sbuf_addc(out, s[i]);
  }
  sbuf_adds(out, n > 120 ? "...'" : "'");
}

/* Text equality ignoring trailing blanks and line ends on both sides. */
static bool same_text(const char *a, const char *b)
{
  size_t na = strlen(a), nb = strlen(b);
  while (na && strchr(" \t\r\n", a[na - 1]))
    na--;
  while (nb && strchr(" \t\r\n", b[nb - 1]))
    nb--;
  return na == nb && !memcmp(a, b, na);
}

/* An app step's check: its result against response/contains/match/within. */
static void evaluate_app(struct scenario_run *run, size_t i, int64_t now)
{
  const struct scenario_expect *e = &run->sc->expects[i];
  struct sbuf seen = SBUF_INIT, exp = SBUF_INIT;
  const char *resp = run->app_response ? run->app_response : "";
  bool pass = run->app_status == 0;
  if (run->app_status != 0) {
    sbuf_adds(&seen, run->app_error ? run->app_error : sim_strerror(run->app_status));
  } else {
    if (run->app_response) {
      quote_response(resp, &seen);
      sbuf_adds(&seen, " ");
    }
    sbuf_printf(&seen, "in %.1f ms", (double)run->app_latency / 1e6);
  }
  if (e->response) {
    sbuf_adds(&exp, "response ");
    quote_response(e->response, &exp);
    pass = pass && same_text(resp, e->response);
  }
  if (e->contains) {
    sbuf_printf(&exp, "%scontains '%s'", exp.len ? ", " : "", e->contains);
    pass = pass && strstr(resp, e->contains);
  }
  if (e->match) {
    sbuf_printf(&exp, "%smatches /%s/", exp.len ? ", " : "", e->match);
    pass = pass && e->match_re && regexec(e->match_re, resp, 0, NULL, 0) == 0;
  }
  if (e->within >= 0) {
    sbuf_printf(&exp, "%swithin %g ms", exp.len ? ", " : "", e->within * 1e3);
    pass = pass && (double)run->app_latency <= e->within * 1e9;
  }
  record(run, i, now, pass, &seen, &exp);
}

static void evaluate(struct scenario_run *run, size_t i, int64_t now)
{
  const struct scenario_expect *e = &run->sc->expects[i];
  struct check_result *r = &run->res[i];
  if (r->evaluated)
    return;
  if (!e->metric) {
    evaluate_app(run, i, now);
    return;
  }
  struct sbuf seen = SBUF_INIT, exp = SBUF_INIT;
  struct metric *m = metrics_find(run->sim->metrics, e->metric);
  bool pass = true;
  bool defined = m && metric_is_defined(m);
  if (!m)
    sbuf_adds(&seen, "(no such metric)");
  else if (!defined)
    sbuf_adds(&seen, "(undefined)");
  else
    metric_format(m, NULL, &seen);
  if (e->defined >= 0) {
    sbuf_adds(&exp, e->defined ? "defined" : "undefined");
    pass = pass && defined == (e->defined == 1);
  }
  if (e->value) {
    if (exp.len)
      sbuf_adds(&exp, ", ");
    sbuf_printf(&exp, "= %s", e->value);
    if (e->tolerance > 0)
      sbuf_printf(&exp, " +/- %g", e->tolerance);
    pass = pass && defined && value_matches(m, e, sbuf_str(&seen));
  }
  if (e->has_min || e->has_max) {
    if (exp.len)
      sbuf_adds(&exp, ", ");
    if (e->has_min && e->has_max)
      sbuf_printf(&exp, "%g..%g", e->min, e->max);
    else if (e->has_min)
      sbuf_printf(&exp, ">= %g", e->min);
    else
      sbuf_printf(&exp, "<= %g", e->max);
    if (!defined || !is_numeric(m)) {
      pass = false;
    } else {
      double v = metric_float(m);
      double eps = 1e-6 * fmax(1, fabs(v));
      if (e->has_min && v < e->min - eps)
        pass = false;
      if (e->has_max && v > e->max + eps)
        pass = false;
    }
  }
  record(run, i, now, pass, &seen, &exp);
}

/* ---- steps ---------------------------------------------------------------------------------- */

static double estimate_s(const struct scenario_step *st)
{
  switch (st->kind) {
  case STEP_PARK: return st->u.park.duration;
  case STEP_DRIVE:
    if (st->u.drive.duration > 0)
      return st->u.drive.duration;
    if (st->u.drive.distance > 0)
      return st->u.drive.distance / st->u.drive.speed * 3600.0;
    return 3600;
  case STEP_CHARGE: return st->u.charge.duration > 0 ? st->u.charge.duration : 3600;
  default: return 0;
  }
}

static bool looks_numeric(const char *s)
{
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  (void)v;
  return end != s && !*end && !errno;
}

static void do_set(struct scenario_run *run, const struct scenario_step *st)
{
  for (size_t i = 0; i < st->u.set.n; i++) {
    const char *name = st->u.set.names[i], *val = st->u.set.values[i];
    struct metric *m = metrics_find(run->sim->metrics, name);
    if (!m) {
      int rc = metrics_register(run->sim->metrics, name,
                                looks_numeric(val) ? METRIC_FLOAT : METRIC_STRING,
                                SIM_UNIT_NATIVE, 0, &m);
      if (rc < 0) {
        step_error(run, st, "cannot register metric %s: %s", name, sim_strerror(rc));
        continue;
      }
    }
    int rc = metric_set_from_string(m, val, SIM_UNIT_NATIVE);
    if (rc < 0) {
      step_error(run, st, "cannot set %s to '%s': %s", name, val, sim_strerror(rc));
      continue;
    }
    physics_sync(&run->phys, m);
  }
}

/* Starts an app step through the installed app client; it ends in scenario_run_app_done(). */
static void app_enter(struct scenario_run *run, const struct scenario_step *st)
{
  free(run->app_response);
  free(run->app_error);
  run->app_response = run->app_error = NULL;
  run->app_status = 0;
  run->app_latency = 0;
  run->app_waiting = true;
  struct sim_diag d = SIM_DIAG_INIT;
  int rc = run->app_ops ? run->app_ops->start(run->app_ctx, run, st, &d) : SIM_ESTATE;
  if (rc < 0) {
    if (!run->app_ops)
      sim_diag_error(&d, NULL, 0, 0, "no app client (app: steps need a broker)");
    struct sbuf err = SBUF_INIT;
    sim_diag_join(&d, &err);
    struct scenario_app_result res = {rc, NULL, 0, 0, sbuf_str(&err)};
    scenario_run_app_done(run, &res);
    sbuf_free(&err);
  }
  sim_diag_cleanup(&d);
}

static void enter(struct scenario_run *run, const struct scenario_step *st)
{
  struct physics *p = &run->phys;
  if (!isnan(st->ambient))
    physics_ambient(p, st->ambient, estimate_s(st));
  switch (st->kind) {
  case STEP_PARK: break;
  case STEP_DRIVE: physics_drive_start(p, &st->u.drive); break;
  case STEP_CHARGE:
    if (physics_charge_plug(p, &st->u.charge) < 0)
      step_error(run, st, "cannot plug in while driving");
    break;
  case STEP_UNPLUG: physics_unplug(p); break;
  case STEP_CLIMATE: physics_climate(p, st->u.climate.on, st->u.climate.setpoint); break;
  case STEP_LOCK: physics_lock(p, true); break;
  case STEP_UNLOCK: physics_lock(p, false); break;
  case STEP_DOOR:
    for (int i = 0; i < DOOR_N; i++)
      if (st->u.door.door[i] >= 0)
        physics_door(p, (enum scenario_door)i, st->u.door.door[i] == 1);
    break;
  case STEP_SET: do_set(run, st); break;
  case STEP_NOTIFY: {
    int64_t rc = sim_notify_raise(run->sim, (enum sim_notify_type)st->u.notify.type,
                                  st->u.notify.subtype, st->u.notify.text);
    if (rc < 0)
      step_error(run, st, "cannot raise the notification: %s", sim_strerror((int)rc));
    break;
  }
  case STEP_EVENT: sim_events_raise(run->sim->events, st->u.event.name, st->u.event.data); break;
  case STEP_WAKEUP: physics_wakeup(p); break;
  case STEP_APP: app_enter(run, st); break;
  case STEP_ECU:
    if (run->on_ecu)
      run->on_ecu(run->on_ecu_ctx, st);
    break;
  }
  physics_publish(p);
}

static bool finished(struct scenario_run *run, const struct scenario_step *st, int64_t now)
{
  switch (st->kind) {
  case STEP_PARK: return now - run->step_t0 >= to_ns(st->u.park.duration);
  case STEP_DRIVE: return !physics_drive_active(&run->phys);
  case STEP_CHARGE: return !st->u.charge.wait || !physics_charge_active(&run->phys);
  case STEP_APP: return !run->app_waiting;
  default: return true;
  }
}

static bool time_checks_pending(const struct scenario_run *run)
{
  for (size_t i = 0; i < run->sc->n_expects; i++)
    if (run->sc->expects[i].when == EXPECT_AT_TIME && !run->res[i].evaluated)
      return true;
  return false;
}

static void advance(struct scenario_run *run, int64_t now)
{
  const struct scenario *sc = run->sc;
  run->in_advance = true;
  while (run->step < sc->n_steps) {
    const struct scenario_step *st = &sc->steps[run->step];
    if (!run->entered) {
      run->entered = true;
      run->step_t0 = now;
      enter(run, st);
    }
    if (!finished(run, st, now))
      break;
    for (size_t i = 0; i < sc->n_expects; i++)
      if (sc->expects[i].when == EXPECT_AFTER_STEP && sc->expects[i].step == run->step)
        evaluate(run, i, now);
    run->step++;
    run->entered = false;
  }
  for (size_t i = 0; i < sc->n_expects; i++)
    if (sc->expects[i].when == EXPECT_AT_TIME && now - run->t0 >= to_ns(sc->expects[i].at))
      evaluate(run, i, now);
  if (!run->done && run->step >= sc->n_steps && !time_checks_pending(run)) {
    for (size_t i = 0; i < sc->n_expects; i++)
      if (sc->expects[i].when == EXPECT_AT_END)
        evaluate(run, i, now);
    run->done = true;
    run->in_advance = false;
    if (run->on_done)
      run->on_done(run->on_done_ctx, run);
  }
  run->in_advance = false;
}

/* Samples the report's series after the tick: the phase from the physics (a charge that
 * goes on after its step, a drive), named after the step running when it is of that kind. */
static void sample(struct scenario_run *run, int64_t now)
{
  enum series_phase_kind k = physics_drive_active(&run->phys)    ? SERIES_DRIVE
                             : physics_charge_active(&run->phys) ? SERIES_CHARGE
                                                                  : SERIES_IDLE;
  const char *name = NULL;
  size_t i = run->step < run->sc->n_steps ? run->step : run->sc->n_steps - 1;
  if (run->sc->n_steps) {
    const struct scenario_step *st = &run->sc->steps[i];
    if ((k == SERIES_DRIVE && st->kind == STEP_DRIVE) ||
        (k == SERIES_CHARGE && st->kind == STEP_CHARGE))
      name = st->name;
  }
  series_sample(&run->series, now - run->t0, k, name);
}

static void on_tick(struct sim_loop *loop, struct sim_timer *t)
{
  struct scenario_run *run = t->data;
  int64_t now = sim_monotonic(loop);
  double dt = (double)(now - run->last) / 1e9;
  run->last = now;
  physics_step(&run->phys, dt);
  if (now >= run->t0) { /* before: a fleet car's start offset, parked */
    advance(run, now);
    sample(run, now);
  }
}

/* ---- control ops ---------------------------------------------------------------------------- */

static int publish_rc(struct scenario_run *run, int rc)
{
  physics_publish(&run->phys);
  return rc;
}

static int op_charge_start(void *ctx)
{
  struct scenario_run *run = ctx;
  return publish_rc(run, physics_charge_start(&run->phys));
}

static int op_charge_stop(void *ctx)
{
  struct scenario_run *run = ctx;
  /* A stop the user asked for is planned: substate "onrequest" (an info charge.stopped
   * notification, not an alert: OvmsVehicle::NotifyChargeStopped() in
   * V3/components/vehicle/vehicle.cpp). */
  return publish_rc(run, physics_charge_stop(&run->phys, "onrequest"));
}

static int op_charge_mode(void *ctx, const char *mode)
{
  struct scenario_run *run = ctx;
  return publish_rc(run, physics_charge_mode(&run->phys, mode));
}

static int op_charge_current(void *ctx, int amps)
{
  struct scenario_run *run = ctx;
  return publish_rc(run, physics_charge_current(&run->phys, amps));
}

static int op_climate(void *ctx, int on)
{
  struct scenario_run *run = ctx;
  physics_climate(&run->phys, on != 0, NAN);
  return publish_rc(run, 0);
}

static int op_lock(void *ctx, const char *pin)
{
  struct scenario_run *run = ctx;
  physics_lock(&run->phys, true);
  return publish_rc(run, 0);
}

static int op_unlock(void *ctx, const char *pin)
{
  struct scenario_run *run = ctx;
  physics_lock(&run->phys, false);
  return publish_rc(run, 0);
}

static int op_valet(void *ctx, const char *pin, int on)
{
  struct scenario_run *run = ctx;
  physics_valet(&run->phys, on != 0);
  return publish_rc(run, 0);
}

static int op_wakeup(void *ctx)
{
  struct scenario_run *run = ctx;
  physics_wakeup(&run->phys);
  return publish_rc(run, 0);
}

static const struct sim_control_ops control_ops = {
  .charge_start = op_charge_start, .charge_stop = op_charge_stop,
  .charge_mode = op_charge_mode, .charge_current = op_charge_current,
  .climate = op_climate,
  .lock = op_lock, .unlock = op_unlock,
  .valet = op_valet,
  .wakeup = op_wakeup,
  .homelink = NULL, /* the simulated car has no homelink */
};

/* ---- life cycle ----------------------------------------------------------------------------- */

static void run_free(void *ctx)
{
  struct scenario_run *run = ctx;
  scenario_run_stop(run);
  physics_cleanup(&run->phys);
  for (size_t i = 0; i < run->sc->n_expects; i++) {
    free(run->res[i].seen);
    free(run->res[i].expected);
  }
  free(run->res);
  free(run->app_response);
  free(run->app_error);
  sbuf_free(&run->errors);
  series_cleanup(&run->series);
  if (run->sim->scenario == run)
    run->sim->scenario = NULL;
  free(run);
}

/* Sets config param/instance from the scenario unless the user set it already. */
static int config_default(struct sim *sim, const char *inst, const char *value)
{
  if (!value || sim_config_is_set(sim->config, "vehicle", inst))
    return 0;
  return sim_config_set(sim->config, "vehicle", inst, value, NULL) < 0 ? SIM_ECONFIG : 0;
}

int scenario_start(struct sim *sim, const struct scenario *sc, struct scenario_run **out)
{
  return scenario_start_varied(sim, sc, NULL, out);
}

static double clamp_soc(double soc)
{
  return soc < 1 ? 1 : soc > 100 ? 100 : soc;
}

int scenario_start_varied(struct sim *sim, const struct scenario *sc,
                          const struct scenario_variation *var, struct scenario_run **out)
{
  if (out)
    *out = NULL;
  if (sim->scenario)
    return SIM_ESTATE;
  const struct scenario_vehicle *v = &sc->vehicle;
  if (config_default(sim, "id", v->id) < 0 || config_default(sim, "timezone", v->timezone) < 0)
    return SIM_ECONFIG;
  const char *tz = sim_config_get(sim->config, "vehicle", "timezone");
  if (v->timezone && tz && !strcmp(tz, v->timezone))
    sim_tz_set(v->timezone);
  struct scenario_run *run = xcalloc(1, sizeof(*run));
  run->sim = sim;
  run->sc = sc;
  run->veh = *v;
  if (var) {
    run->veh.soc = clamp_soc(v->soc + var->soc);
    run->veh.capacity_kwh = v->capacity_kwh * (1 + var->capacity);
    run->veh.location.lat += var->dlat;
    run->veh.location.lon += var->dlon;
  }
  int rc = physics_init(&run->phys, sim, &run->veh);
  if (var) {
    run->phys.dlat = var->dlat;
    run->phys.dlon = var->dlon;
  }
  if (rc < 0) {
    physics_cleanup(&run->phys);
    free(run);
    return rc;
  }
  run->res = xcalloc(sc->n_expects ? sc->n_expects : 1, sizeof(*run->res));
  run->tick_ns = to_ns(sc->tick > 0 ? sc->tick : 1);
  series_init(&run->series, run->tick_ns);
  for (size_t i = 0; scenario_series_default[i]; i++)
    (void)scenario_run_track(run, scenario_series_default[i]);
  run->t0 = run->last = sim_monotonic(sim->loop);
  if (var && var->start_offset > 0)
    run->t0 += to_ns(var->start_offset);
  run->ops = control_ops;
  sim->control = &run->ops;
  sim->control_ctx = run;
  sim->scenario = run;
  sim_on_free(sim, run_free, run);
  sim_timer_init(&run->tick, on_tick, run);
  sim_timer_start(sim->loop, &run->tick, 0, run->tick_ns);
  if (out)
    *out = run;
  return 0;
}

const char *const scenario_series_default[] = {"v.b.soc", "v.b.power", "v.p.speed", "v.b.temp",
                                               "v.m.temp", "v.i.temp", "v.e.temp", NULL};

int scenario_run_track(struct scenario_run *run, const char *name)
{
  struct metric *m = metrics_find(run->sim->metrics, name);
  if (!m)
    return SIM_ENOTFOUND;
  if (m->type != METRIC_BOOL && !is_numeric(m))
    return SIM_ETYPE;
  return series_add(&run->series, m);
}

void scenario_run_stop(struct scenario_run *run)
{
  if (!run || run->stopped)
    return;
  run->stopped = true;
  sim_timer_stop(run->sim->loop, &run->tick);
  if (run->sim->control == &run->ops) {
    run->sim->control = NULL;
    run->sim->control_ctx = NULL;
  }
}

bool scenario_run_done(const struct scenario_run *run)
{
  return run->done;
}

void scenario_run_on_ecu(struct scenario_run *run,
                         void (*fn)(void *ctx, const struct scenario_step *st), void *ctx)
{
  run->on_ecu = fn;
  run->on_ecu_ctx = ctx;
}

void scenario_run_on_done(struct scenario_run *run,
                          void (*fn)(void *ctx, struct scenario_run *run), void *ctx)
{
  run->on_done = fn;
  run->on_done_ctx = ctx;
}

size_t scenario_run_step(const struct scenario_run *run)
{
  return run->step;
}

size_t scenario_run_failed_count(const struct scenario_run *run)
{
  return run->n_failed + (run->sc->n_expects - run->n_checked) + run->n_errors;
}

size_t scenario_run_checked_count(const struct scenario_run *run)
{
  return run->n_checked;
}

void scenario_run_set_apps(struct scenario_run *run, const struct scenario_app_ops *ops,
                           void *ctx)
{
  run->app_ops = ops;
  run->app_ctx = ctx;
}

void scenario_run_app_done(struct scenario_run *run, const struct scenario_app_result *res)
{
  if (!run->app_waiting || run->step >= run->sc->n_steps)
    return;
  const struct scenario_step *st = &run->sc->steps[run->step];
  run->app_waiting = false;
  run->app_status = res->status;
  run->app_latency = res->latency_ns;
  run->app_response = res->response ? xstrndup(res->response, res->len) : NULL;
  run->app_error = res->error && *res->error ? xstrdup(res->error) : NULL;
  if (res->status < 0 && st->u.app.check == SIZE_MAX)
    step_error(run, st, "app %s: %s", st->u.app.id,
               run->app_error ? run->app_error : sim_strerror(res->status));
  if (!run->in_advance && !run->stopped && sim_monotonic(run->sim->loop) >= run->t0)
    advance(run, sim_monotonic(run->sim->loop));
}

/* ---- report --------------------------------------------------------------------------------- */

static void json_str(struct sbuf *out, const char *s)
{
  if (s)
    json_write_string(s, strlen(s), out);
  else
    sbuf_adds(out, "null");
}

static const char *when_text(const struct scenario_expect *e, struct sbuf *tmp)
{
  sbuf_reset(tmp);
  switch (e->when) {
  case EXPECT_AT_END: sbuf_adds(tmp, "end"); break;
  case EXPECT_AT_TIME:
    sbuf_adds(tmp, "at ");
    fmt_time(to_ns(e->at), tmp);
    break;
  case EXPECT_AFTER_STEP: sbuf_printf(tmp, "after step %zu", e->step + 1); break;
  }
  return sbuf_str(tmp);
}

/* The step errors, one JSON string per line of run->errors. */
static void json_errors(const struct scenario_run *run, struct sbuf *out)
{
  const char *e = sbuf_str(&run->errors);
  bool first = true;
  while (*e) {
    const char *nl = strchr(e, '\n');
    char *line = xstrndup(e, nl ? (size_t)(nl - e) : strlen(e));
    if (!first)
      sbuf_addc(out, ',');
    json_str(out, line);
    free(line);
    first = false;
    e = nl ? nl + 1 : e + strlen(e);
  }
}

/* One check as a JSON object; tmp is scratch space. */
static void json_check(const struct scenario_run *run, size_t i, struct sbuf *out,
                       struct sbuf *tmp)
{
  const struct scenario *sc = run->sc;
  const struct scenario_expect *x = &sc->expects[i];
  const struct check_result *r = &run->res[i];
  sbuf_printf(out, "{\"line\":%d,\"col\":%d,\"metric\":", x->line, x->col);
  json_str(out, x->metric);
  if (!x->metric) {
    const struct scenario_app_step *a = &sc->steps[x->step].u.app;
    sbuf_adds(out, ",\"app\":");
    json_str(out, a->id);
    sbuf_printf(out, ",\"action\":\"%s\",\"command\":",
                a->action == APP_CONNECT ? "connect" : "command");
    json_str(out, a->action == APP_COMMAND ? a->command : NULL);
    if (r->evaluated && r->latency_ns >= 0)
      sbuf_printf(out, ",\"latency_ms\":%.3f", (double)r->latency_ns / 1e6);
  }
  sbuf_adds(out, ",\"when\":");
  json_str(out, when_text(x, tmp));
  if (!r->evaluated) {
    sbuf_adds(out, ",\"time\":null,\"seen\":null,\"expected\":null,\"pass\":false,"
                   "\"reason\":\"not reached\"}");
    return;
  }
  sbuf_printf(out, ",\"time\":%.3f", (double)r->t / 1e9);
  if (r->step < sc->n_steps) {
    sbuf_printf(out, ",\"step\":%zu,\"step_kind\":\"%s\",\"step_name\":", r->step + 1,
                scenario_step_kind_name(sc->steps[r->step].kind));
    json_str(out, sc->steps[r->step].name);
  } else {
    sbuf_adds(out, ",\"step\":null");
  }
  sbuf_adds(out, ",\"seen\":");
  json_str(out, r->seen);
  sbuf_adds(out, ",\"expected\":");
  json_str(out, r->expected);
  sbuf_printf(out, ",\"pass\":%s}", r->pass ? "true" : "false");
}

static void report_json(const struct scenario_run *run, struct sbuf *out, size_t failed)
{
  const struct scenario *sc = run->sc;
  struct sbuf tmp = SBUF_INIT;
  sbuf_adds(out, "{\"scenario\":");
  json_str(out, sc->name);
  sbuf_adds(out, ",\"file\":");
  json_str(out, sc->path);
  sbuf_printf(out, ",\"done\":%s,\"checks_total\":%zu,\"passed\":%zu,\"failed\":%zu",
              run->done ? "true" : "false", sc->n_expects, run->n_checked - run->n_failed,
              failed);
  sbuf_adds(out, ",\"errors\":[");
  json_errors(run, out);
  sbuf_adds(out, "],\"checks\":[");
  for (size_t i = 0; i < sc->n_expects; i++) {
    if (i)
      sbuf_addc(out, ',');
    json_check(run, i, out, &tmp);
  }
  sbuf_adds(out, "]");
  series_json(&run->series, out);
  sbuf_adds(out, "}\n");
  sbuf_free(&tmp);
}

/* What a check looks at: the metric, or the app step ("app phone command 'stat'"). */
static void check_label(const struct scenario *sc, const struct scenario_expect *x,
                        struct sbuf *out)
{
  if (x->metric) {
    sbuf_adds(out, x->metric);
    return;
  }
  const struct scenario_app_step *a = &sc->steps[x->step].u.app;
  sbuf_printf(out, "app %s %s", a->id, a->action == APP_CONNECT ? "connect" : "command");
  if (a->action == APP_COMMAND)
    sbuf_printf(out, " '%s'", a->command);
}

static void report_text(const struct scenario_run *run, struct sbuf *out, size_t failed)
{
  const struct scenario *sc = run->sc;
  struct sbuf tmp = SBUF_INIT;
  sbuf_adds(out, sbuf_str(&run->errors));
  for (size_t i = 0; i < sc->n_expects; i++) {
    const struct scenario_expect *x = &sc->expects[i];
    const struct check_result *r = &run->res[i];
    sbuf_printf(out, "%s:%d:%d: ", sc->path, x->line, x->col);
    if (!r->evaluated) {
      sbuf_adds(out, "NOT REACHED ");
      check_label(sc, x, out);
      sbuf_printf(out, " (%s)\n", when_text(x, &tmp));
      continue;
    }
    sbuf_printf(out, "%s ", r->pass ? "PASS" : "FAIL");
    check_label(sc, x, out);
    sbuf_printf(out, "%s%s (expected %s) %s, ", x->metric ? " = " : ": ", r->seen, r->expected,
                when_text(x, &tmp));
    sbuf_adds(out, "t=");
    fmt_time(r->t, out);
    if (r->step < sc->n_steps) {
      const struct scenario_step *st = &sc->steps[r->step];
      sbuf_printf(out, ", step %zu %s", r->step + 1, scenario_step_kind_name(st->kind));
      if (st->name)
        sbuf_printf(out, " '%s'", st->name);
      sbuf_printf(out, " (line %d)", st->line);
    } else {
      sbuf_adds(out, ", after the last step");
    }
    sbuf_addc(out, '\n');
  }
  size_t unreached = sc->n_expects - run->n_checked;
  sbuf_printf(out, "%s: %zu checks, %zu passed, %zu failed", sc->name ? sc->name : sc->path,
              sc->n_expects, run->n_checked - run->n_failed, failed - unreached);
  if (unreached)
    sbuf_printf(out, ", %zu not reached", unreached);
  sbuf_printf(out, "%s%s\n", run->n_errors ? " (including step errors)" : "",
              run->done ? "" : " (timeline not finished)");
  sbuf_free(&tmp);
}

size_t scenario_run_report(const struct scenario_run *run, struct sbuf *out, unsigned flags)
{
  size_t failed = scenario_run_failed_count(run);
  if (flags & SCENARIO_REPORT_JSON)
    report_json(run, out, failed);
  else
    report_text(run, out, failed);
  return failed;
}
