/*
 * shell.c - the command shell (shell.h): a tree of commands dispatched as
 * OvmsCommand::Execute() does (V3/main/ovms_command.cpp at openvehicles/
 * Open-Vehicle-Monitoring-System-3 0045105): children in ASCII order, any unique prefix
 * accepted, "Unrecognised command" (+ "Usage: ..." below the root), "Subcommand required" +
 * usage, the usage line when the argument count is outside [min, max] or the last argument
 * is "?", and "?" listing the children as "%-20.20s %s".
 *
 * Output texts are the firmware's: vehicle commands from
 * V3/components/vehicle/vehicle_shell.cpp (06aa2d3), `stat` from OvmsVehicle::CommandStat()
 * (V3/components/vehicle/vehicle.cpp), `server v3 ...` from spec/server-v3.md 1.12,
 * `event raise` from V3/main/ovms_events.cpp (01d56d4), `notify raise` from
 * V3/main/ovms_notify.cpp, `metrics list|get|set` from V3/main/ovms_metrics.cpp,
 * `config list|set|rm` from V3/main/ovms_config.cpp (00ef79e).  Commands act on the simulation via
 * sim->control (the scenario or vehicle emulation), metrics, config, events and notifications.
 */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "model/events.h"
#include "model/metrics.h"
#include "notify/notify.h"
#include "shell/shell.h"
#include "model/sim.h"
#include "model/units.h"
#include "v3/v3.h"
#include "vehicle/vehicle.h"
#include "core/xalloc.h"

struct cmd;
typedef void (*cmd_fn)(struct sim *sim, struct sbuf *out, const struct cmd *c, int argc,
                       char **argv);

struct cmd {
  const char *name;
  const char *title;
  cmd_fn fn;           /* NULL: has children */
  const char *usage;   /* template: "<$C>", "[$C]", or explicit parameters */
  int min, max;
  const struct cmd *children; /* sorted by name, terminated by {NULL} */
};

static void puts_line(struct sbuf *out, const char *s)
{
  sbuf_adds(out, s);
  sbuf_addc(out, '\n');
}

/* ---- vehicle commands ------------------------------------------------------------------------ */

static bool have_vehicle(struct sim *sim, struct sbuf *out)
{
  if (sim->control || sim->vehicle)
    return true;
  puts_line(out, "Error: No vehicle module selected");
  return false;
}

/* Runs a control slot: 0 ok, SIM_EUNSUP not available, other < 0 fail. */
#define CONTROL(sim, slot, ...)                                                           \
  ((sim)->control && (sim)->control->slot ? (sim)->control->slot((sim)->control_ctx,      \
                                                                  ##__VA_ARGS__)          \
                                          : SIM_EUNSUP)

static void vresult(struct sbuf *out, int rc, const char *ok, const char *fail,
                    const char *unavailable)
{
  puts_line(out, rc == 0 ? ok : rc == SIM_EUNSUP ? unavailable : fail);
}

static void c_charge_start(struct sim *sim, struct sbuf *out, const struct cmd *c, int argc,
                           char **argv)
{
  if (have_vehicle(sim, out))
    vresult(out, CONTROL(sim, charge_start), "Charge has been started",
            "Error: Could not start charge", "Error: Charge start functionality not available");
}

static void c_charge_stop(struct sim *sim, struct sbuf *out, const struct cmd *c, int argc,
                          char **argv)
{
  if (have_vehicle(sim, out))
    vresult(out, CONTROL(sim, charge_stop), "Charge has been stopped",
            "Error: Could not stop charge", "Error: Charge stop functionality not available");
}

static void c_charge_mode(struct sim *sim, struct sbuf *out, const struct cmd *c, int argc,
                          char **argv)
{
  if (!have_vehicle(sim, out))
    return;
  int rc = CONTROL(sim, charge_mode, c->name);
  if (rc == 0)
    sbuf_printf(out, "Charge mode '%s' set\n", c->name);
  else
    puts_line(out, rc == SIM_EUNSUP ? "Error: Charge mode functionality not available"
                                    : "Error: Could not set charge mode");
}

static int atoi_like(const char *s)
{
  /* atoi() semantics (leading number, 0 if none) without atoi */
  char *end;
  long v = strtol(s, &end, 10);
  if (v > 65535 || v < -65535)
    v = 0;
  return (int)v;
}

static void c_charge_current(struct sim *sim, struct sbuf *out, const struct cmd *c, int argc,
                             char **argv)
{
  int limit = atoi_like(argv[0]);
  if (!have_vehicle(sim, out))
    return;
  int rc = CONTROL(sim, charge_current, limit);
  if (rc == 0)
    sbuf_printf(out, "Charge current limit set to %dA\n", limit);
  else if (rc == SIM_EUNSUP)
    puts_line(out, "Error: Charge current limit functionality not available");
  else
    sbuf_printf(out, "Error: Could not set charge current limit to %dA\n", limit);
}

static void climate(struct sim *sim, struct sbuf *out, int on)
{
  if (!have_vehicle(sim, out))
    return;
  int rc = CONTROL(sim, climate, on);
  if (rc == 0) {
    puts_line(out, "Climate Control ");
    puts_line(out, on ? "on" : "off");
  } else {
    puts_line(out, rc == SIM_EUNSUP ? "Error: Climate Control functionality not available"
                                    : "Error: Climate Control failed");
  }
}

static void c_climate_on(struct sim *sim, struct sbuf *out, const struct cmd *c, int argc,
                         char **argv)
{
  climate(sim, out, 1);
}

static void c_climate_off(struct sim *sim, struct sbuf *out, const struct cmd *c, int argc,
                          char **argv)
{
  climate(sim, out, 0);
}

static void c_lock(struct sim *sim, struct sbuf *out, const struct cmd *c, int argc, char **argv)
{
  if (have_vehicle(sim, out))
    vresult(out, CONTROL(sim, lock, argv[0]), "Vehicle locked",
            "Error: vehicle could not be locked", "Error: Vehicle lock functionality not available");
}

static void c_unlock(struct sim *sim, struct sbuf *out, const struct cmd *c, int argc,
                     char **argv)
{
  if (have_vehicle(sim, out))
    vresult(out, CONTROL(sim, unlock, argv[0]), "Vehicle unlocked",
            "Error: vehicle could not be unlocked",
            "Error: Vehicle unlock functionality not available");
}

static void c_valet(struct sim *sim, struct sbuf *out, const struct cmd *c, int argc,
                    char **argv)
{
  if (have_vehicle(sim, out))
    vresult(out, CONTROL(sim, valet, argv[0], 1), "Vehicle valet mode activated",
            "Error: vehicle could not activate valet mode",
            "Error: Vehicle valet functionality not available");
}

static void c_unvalet(struct sim *sim, struct sbuf *out, const struct cmd *c, int argc,
                      char **argv)
{
  if (have_vehicle(sim, out))
    vresult(out, CONTROL(sim, valet, argv[0], 0), "Vehicle valet mode deactivated",
            "Error: vehicle could not deactivate valet mode",
            "Error: Vehicle valet functionality not available");
}

static void c_wakeup(struct sim *sim, struct sbuf *out, const struct cmd *c, int argc,
                     char **argv)
{
  if (have_vehicle(sim, out))
    vresult(out, CONTROL(sim, wakeup), "Vehicle has been woken",
            "Error: vehicle could not be woken", "Error: Vehicle wake functionality not available");
}

static void c_homelink(struct sim *sim, struct sbuf *out, const struct cmd *c, int argc,
                       char **argv)
{
  int b = atoi_like(argv[0]);
  if (b < 1 || b > 3) {
    puts_line(out, "Error: Homelink button should be in range 1..3");
    return;
  }
  if (argc > 1 && atoi_like(argv[1]) < 100) {
    puts_line(out, "Error: Minimum homelink timer duration 100ms");
    return;
  }
  if (!have_vehicle(sim, out))
    return;
  int rc = CONTROL(sim, homelink, b);
  if (rc == 0)
    sbuf_printf(out, "Homelink #%d activated\n", b);
  else if (rc == SIM_EUNSUP)
    puts_line(out, "Error: Homelink functionality not available");
  else
    sbuf_printf(out, "Error: Could not activate homelink #%d\n", b);
}

/* ---- stat (OvmsVehicle::CommandStat) ------------------------------------------------------------ */

/* The user unit of a native unit (config "vehicle units.<group>"; distance K/M). */
static enum sim_unit user_unit(struct sim *sim, enum sim_unit native)
{
  static const struct {
    enum sim_unit_group g;
    const char *inst;
  } map[] = {
    {SIM_UG_DISTANCE, "units.distance"}, {SIM_UG_SPEED, "units.distance"},
    {SIM_UG_TEMP, "units.temp"},         {SIM_UG_PRESSURE, "units.pressure"},
    {SIM_UG_POWER, "units.power"},       {SIM_UG_ENERGY, "units.energy"},
    {SIM_UG_CONSUMPTION, "units.consumption"},
  };
  enum sim_unit_group g = sim_unit_group(native);
  for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
    if (map[i].g != g)
      continue;
    const char *v = sim_config_get(sim->config, "vehicle", map[i].inst);
    if (!v)
      return native;
    if (!strcmp(map[i].inst, "units.distance")) {
      bool miles = !strcmp(v, "M") || !strcmp(v, "miles");
      if (g == SIM_UG_SPEED)
        return miles ? SIM_UNIT_MPH : SIM_UNIT_KPH;
      return miles ? SIM_UNIT_MILES : SIM_UNIT_KM;
    }
    enum sim_unit u;
    if (sim_unit_parse(v, &u) == 0 && sim_unit_group(u) == g)
      return u;
    return native;
  }
  return native;
}

/* AsUnitString(def, ToUser, prec): the value in the user unit with `prec` decimals and the
 * unit label, or def when undefined. */
static void unit_string(struct sim *sim, const char *name, const char *def, int prec,
                        struct sbuf *out)
{
  struct metric *m = metrics_find(sim->metrics, name);
  if (!m || !metric_is_defined(m)) {
    sbuf_adds(out, def);
    return;
  }
  enum sim_unit to = user_unit(sim, m->unit);
  double v = metric_float(m);
  if (to != m->unit && sim_unit_convert(v, m->unit, to, &v) < 0)
    to = m->unit;
  sbuf_printf(out, "%.*f%s", prec, v, sim_unit_label(to));
}

static const char *mstr(struct sim *sim, const char *name)
{
  struct metric *m = metrics_find(sim->metrics, name);
  return m ? metric_string(m) : "";
}

static double mfloat(struct sim *sim, const char *name)
{
  struct metric *m = metrics_find(sim->metrics, name);
  return m ? metric_float(m) : 0;
}

static bool mdefined(struct sim *sim, const char *name)
{
  struct metric *m = metrics_find(sim->metrics, name);
  return m && metric_is_defined(m);
}

static void stat_text(struct sim *sim, struct sbuf *out)
{
  struct metric *cp = metrics_find(sim->metrics, "v.d.cp");
  const char *state = mstr(sim, "v.c.state");
  if (cp && metric_bool(cp) && *state) {
    static const char *const modes[][2] = {{"standard", "Standard"}, {"storage", "Storage"},
                                           {"range", "Range"}, {"performance", "Performance"}};
    static const char *const states[][2] = {
      {"charging", "Charging"},        {"topoff", "Topping off"},
      {"done", "Charge Done"},         {"preparing", "Preparing"},
      {"heating", "Charging, Heating"}, {"stopped", "Charge Stopped"},
      {"timerwait", "Charge Stopped, Timer On"}};
    bool details = strcmp(state, "done") && strcmp(state, "stopped");
    const char *mode = mstr(sim, "v.c.mode");
    for (size_t i = 0; i < 4; i++)
      if (!strcmp(mode, modes[i][0]))
        mode = modes[i][1];
    const char *st = state;
    for (size_t i = 0; i < 7; i++)
      if (!strcmp(state, states[i][0]))
        st = states[i][1];
    if (*mode)
      sbuf_printf(out, "%s - ", mode);
    sbuf_printf(out, "%s\n", st);
    if (details) {
      bool vc = mfloat(sim, "v.c.voltage") > 0 || mfloat(sim, "v.c.current") > 0;
      if (vc) {
        unit_string(sim, "v.c.voltage", "-", 1, out);
        sbuf_addc(out, '/');
        unit_string(sim, "v.c.current", "-", 1, out);
        sbuf_addc(out, ' ');
      }
      if (mdefined(sim, "v.b.range.speed") && mfloat(sim, "v.b.range.speed") != 0) {
        unit_string(sim, "v.b.range.speed", "-", 1, out);
        sbuf_addc(out, '\n');
      } else if (vc) {
        sbuf_addc(out, '\n');
      }
      int full = (int)mfloat(sim, "v.c.duration.full");
      if (full > 0)
        sbuf_printf(out, "Full: %d:%02dh\n", full / 60, full % 60);
      int dsoc = (int)mfloat(sim, "v.c.duration.soc");
      if (dsoc > 0) {
        unit_string(sim, "v.c.limit.soc", "SOC", 0, out);
        sbuf_printf(out, ": %d:%02dh\n", dsoc / 60, dsoc % 60);
      }
      int drange = (int)mfloat(sim, "v.c.duration.range");
      if (drange > 0) {
        unit_string(sim, "v.c.limit.range", "Range", 0, out);
        sbuf_printf(out, ": %d:%02dh\n", drange / 60, drange % 60);
      }
    }
    if (mdefined(sim, "v.c.kwh.grid")) {
      sbuf_adds(out, "Drawn: ");
      unit_string(sim, "v.c.kwh.grid", "-", 1, out);
      sbuf_addc(out, '\n');
    }
    if (mdefined(sim, "v.c.kwh")) {
      sbuf_adds(out, "Charged: ");
      unit_string(sim, "v.c.kwh", "-", 1, out);
      sbuf_addc(out, '\n');
    }
  } else {
    puts_line(out, "Not charging");
  }
  sbuf_adds(out, "SOC: ");
  unit_string(sim, "v.b.soc", "-", 1, out);
  sbuf_addc(out, '\n');
  static const struct {
    const char *label, *metric;
    int prec;
  } lines[] = {{"Ideal range", "v.b.range.ideal", 0}, {"Est. range", "v.b.range.est", 0},
               {"ODO", "v.p.odometer", 1},           {"CAC", "v.b.cac", 1},
               {"SOH", "v.b.soh", 0}};
  for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
    if (mdefined(sim, lines[i].metric)) {
      sbuf_printf(out, "%s: ", lines[i].label);
      unit_string(sim, lines[i].metric, "-", lines[i].prec, out);
      sbuf_addc(out, '\n');
    }
}

static void c_stat(struct sim *sim, struct sbuf *out, const struct cmd *c, int argc, char **argv)
{
  if (have_vehicle(sim, out))
    stat_text(sim, out);
}

/* location_status() of V3/components/ovms_location (the simulator defines no locations and
 * keeps no park position). */
static void c_location_status(struct sim *sim, struct sbuf *out, const struct cmd *c, int argc,
                              char **argv)
{
  struct metric *lock = metrics_find(sim->metrics, "v.p.gpslock");
  int sats = (int)mfloat(sim, "v.p.satcount");
  sbuf_printf(out, "Currently at %0.6f,%0.6f ", mfloat(sim, "v.p.latitude"),
              mfloat(sim, "v.p.longitude"));
  sbuf_printf(out, "(%sGPS lock", lock && metric_bool(lock) ? "" : "without ");
  if (sats > 0)
    sbuf_printf(out, ", %d satellite%s", sats, sats == 1 ? "" : "s");
  sbuf_adds(out, ")\n");
  sbuf_adds(out, "There are 0 locations defined\nNo active locations\n");
}

/* vehicle_status() / OvmsVehicle::Status() (V3/components/vehicle): the loaded module; a
 * scenario without a vehicle decoder shows as the simulator's generic vehicle. */
static void c_vehicle_status(struct sim *sim, struct sbuf *out, const struct cmd *c, int argc,
                             char **argv)
{
  if (sim->vehicle && sim->vehicle->type) {
    sbuf_printf(out, "Vehicle module '%s' (code %s) loaded and running\n",
                sim->vehicle->type->title, sim->vehicle->type->code);
  } else if (sim->control) {
    const char *type = mstr(sim, "v.type");
    sbuf_printf(out, "Vehicle module '%s' (code %s) loaded and running\n", "ovms-sim scenario",
                *type ? type : "DEMO");
  } else {
    puts_line(out, "No vehicle module selected");
  }
}

/* ---- metrics ---------------------------------------------------------------------------------- */

/* -m / -i: the metric or imperial equivalent of a unit (firmware unit_info MetricUnit /
 * ImperialUnit); units without one stay as they are. */
static enum sim_unit equivalent(enum sim_unit u, bool imperial)
{
  static const enum sim_unit pairs[][2] = {
    {SIM_UNIT_KM, SIM_UNIT_MILES},          {SIM_UNIT_METERS, SIM_UNIT_FEET},
    {SIM_UNIT_CELSIUS, SIM_UNIT_FAHRENHEIT}, {SIM_UNIT_CELSIUSDIFF, SIM_UNIT_FAHRENHEITDIFF},
    {SIM_UNIT_KPA, SIM_UNIT_PSI},            {SIM_UNIT_PA, SIM_UNIT_PSI},
    {SIM_UNIT_BAR, SIM_UNIT_PSI},            {SIM_UNIT_KPH, SIM_UNIT_MPH},
    {SIM_UNIT_MPS, SIM_UNIT_FTPS},           {SIM_UNIT_KPHPS, SIM_UNIT_MPHPS},
    {SIM_UNIT_MPSS, SIM_UNIT_FTPSS},         {SIM_UNIT_WHPKM, SIM_UNIT_WHPMI},
    {SIM_UNIT_KMPKWH, SIM_UNIT_MIPKWH},
  };
  for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
    if (pairs[i][0] == u && imperial)
      return pairs[i][1];
    if (pairs[i][1] == u && !imperial)
      return pairs[i][0];
  }
  return u;
}

/* metrics_list() of V3/main/ovms_metrics.cpp: [-cimnpst] [<metric>] (substring). */
static void c_metrics_list(struct sim *sim, struct sbuf *out, const struct cmd *c, int argc,
                           char **argv)
{
  bool show_set = false, only_persist = false, stale = false;
  char mode = 'u'; /* user, i(mperial), m(etric), n(ative) */
  const char *show_only = NULL;
  for (int i = 0; i < argc; i++) {
    const char *cp = argv[i];
    if (*cp != '-') {
      if (show_only) {
        sbuf_printf(out, "Usage: metrics list %s\n", c->usage);
        return;
      }
      show_only = cp;
      continue;
    }
    for (++cp; *cp; cp++) {
      switch (*cp) {
      case 'c': show_set = true; break;
      case 'i': case 'm': case 'n': mode = *cp; break;
      case 'p': only_persist = true; break;
      case 's': stale = true; break;
      case 't': break;
      default:
        sbuf_printf(out, "Usage: metrics list %s\n", c->usage);
        return;
      }
    }
  }
  size_t n = metrics_count(sim->metrics);
  bool found = false;
  int64_t now = sim_monotonic(sim->loop);
  struct sbuf v = SBUF_INIT;
  for (size_t i = 0; i < n; i++) {
    struct metric *m = metrics_at(sim->metrics, i);
    if (m->flags & METRIC_F_HIDDEN)
      continue;
    if (only_persist && !(m->flags & METRIC_F_PERSIST))
      continue;
    if (show_only && !strstr(m->name, show_only))
      continue;
    found = true;
    sbuf_reset(&v);
    if (show_set) {
      if (metric_is_defined(m)) {
        metric_format(m, NULL, &v);
        sbuf_printf(out, "metrics set %s %s\n", m->name, sbuf_str(&v));
      }
      continue;
    }
    enum sim_unit to = m->unit;
    if (m->unit == SIM_UNIT_TIMEUTC)
      to = SIM_UNIT_TIMELOCAL;
    else if (mode == 'u')
      to = user_unit(sim, m->unit);
    else if (mode == 'i' || mode == 'm')
      to = equivalent(m->unit, mode == 'i');
    metric_format_unit(m, to, &v);
    if (stale) {
      if (!v.len) {
        sbuf_adds(out, "[---] ");
      } else {
        int64_t age = (now - m->lastmodified) / SIM_NS_PER_SEC;
        sbuf_printf(out, "[%02d%c] ", (int)(age > 99 ? 99 : age < 0 ? 0 : age),
                    metric_is_stale(m) ? 'S' : '-');
      }
    }
    if (!v.len)
      sbuf_printf(out, "%s\n", m->name);
    else
      sbuf_printf(out, "%-40.40s %s\n", m->name, sbuf_str(&v));
  }
  sbuf_free(&v);
  if (show_only && !found)
    puts_line(out, "Unrecognised metric name");
}

/* metrics_get(): the value in the user unit (or the unit given) with its label. */
static void c_metrics_get(struct sim *sim, struct sbuf *out, const struct cmd *c, int argc,
                          char **argv)
{
  struct metric *m = metrics_find(sim->metrics, argv[0]);
  struct sbuf v = SBUF_INIT;
  if (m) {
    enum sim_unit to = user_unit(sim, m->unit);
    if (argc > 1 && sim_unit_parse(argv[1], &to) < 0)
      to = m->unit;
    metric_format_unit(m, to, &v);
  }
  puts_line(out, sbuf_str(&v));
  sbuf_free(&v);
}

/* metrics_set(): <metric> <value> [<unit>]. */
static void c_metrics_set(struct sim *sim, struct sbuf *out, const struct cmd *c, int argc,
                          char **argv)
{
  struct metric *m = metrics_find(sim->metrics, argv[0]);
  enum sim_unit from = SIM_UNIT_NATIVE;
  if (argc > 2 && sim_unit_parse(argv[2], &from) < 0)
    m = NULL;
  if (m && metric_set_from_string(m, argv[1], from) >= 0)
    puts_line(out, "Metric set");
  else
    puts_line(out, "Metric could not be set");
}

/* ---- config ------------------------------------------------------------------------------------ */

/* config list/set/rm as V3/main/ovms_config.cpp (00ef79e): the parameter list as
 * "%-20s <title>", one parameter as "<param> (readable|protected writeable)" and its
 * instances "  <instance>: <value>" (the password store is protected: names only). */
struct param_list {
  const char **v;
  size_t n, cap;
};

static void collect_param(void *ctx, const struct sim_config_decl *d)
{
  struct param_list *l = ctx;
  for (size_t i = 0; i < l->n; i++)
    if (!strcmp(l->v[i], d->param))
      return;
  if (l->n == l->cap) {
    l->cap = l->cap ? 2 * l->cap : 16;
    l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
  }
  l->v[l->n++] = d->param;
}

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static const char *param_title(const char *p)
{
  static const char *const t[][2] = {{"module", "Module configuration"},
                                     {"notify", "Notification filters"},
                                     {"password", "Password store"},
                                     {"server.v3", "Server V3 (MQTT) configuration"},
                                     {"vehicle", "Vehicle configuration"}};
  for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
    if (!strcmp(t[i][0], p))
      return t[i][1];
  return "";
}

struct list_ctx {
  struct sbuf *out;
  const char *param;
  bool readable;
};

static void list_one(void *ctx, const char *param, const char *instance, const char *value,
                     const struct sim_config_decl *d)
{
  struct list_ctx *l = ctx;
  if (strcmp(l->param, param))
    return;
  if (l->readable && !(d && (d->flags & CFG_F_SECRET)))
    sbuf_printf(l->out, "  %s: %s\n", instance, value);
  else
    sbuf_printf(l->out, "  %s\n", instance);
}

static bool param_known(struct sim *sim, const char *param)
{
  struct param_list pl = {0};
  sim_config_foreach_decl(sim->config, collect_param, &pl);
  bool found = false;
  for (size_t i = 0; i < pl.n; i++)
    if (!strcmp(pl.v[i], param))
      found = true;
  free(pl.v);
  return found;
}

static void c_config_list(struct sim *sim, struct sbuf *out, const struct cmd *c, int argc,
                          char **argv)
{
  if (argc == 0) {
    struct param_list pl = {0};
    sim_config_foreach_decl(sim->config, collect_param, &pl);
    qsort(pl.v, pl.n, sizeof(*pl.v), cmp_str);
    for (size_t i = 0; i < pl.n; i++)
      sbuf_printf(out, "%-20s %s\n", pl.v[i], param_title(pl.v[i]));
    free(pl.v);
    return;
  }
  if (!param_known(sim, argv[0])) {
    sbuf_printf(out, "%s not found\n", argv[0]);
    return;
  }
  bool readable = strcmp(argv[0], "password") != 0;
  sbuf_printf(out, "%s (%s writeable)\n", argv[0], readable ? "readable" : "protected");
  struct list_ctx l = {out, argv[0], readable};
  sim_config_foreach(sim->config, list_one, &l);
}

static void c_config_rm(struct sim *sim, struct sbuf *out, const struct cmd *c, int argc,
                        char **argv)
{
  if (!param_known(sim, argv[0])) {
    puts_line(out, "Error: parameter not found");
    return;
  }
  if (sim_config_unset(sim->config, argv[0], argv[1]) == 0)
    sbuf_printf(out, "Instance %s has been removed.\n", argv[1]);
}

static void c_config_get(struct sim *sim, struct sbuf *out, const struct cmd *c, int argc,
                         char **argv)
{
  const char *v = sim_config_get(sim->config, argv[0], argv[1]);
  puts_line(out, v ? v : "");
}

static void c_config_set(struct sim *sim, struct sbuf *out, const struct cmd *c, int argc,
                         char **argv)
{
  if (!param_known(sim, argv[0])) {
    puts_line(out, "Error: parameter not found");
    return;
  }
  struct sbuf err = SBUF_INIT;
  /* the firmware stores anything; the simulator checks declared types and ranges */
  if (sim_config_set(sim->config, argv[0], argv[1], argv[2], &err) < 0)
    sbuf_printf(out, "Error: %s\n", sbuf_str(&err));
  else
    puts_line(out, "Parameter has been set.");
  sbuf_free(&err);
}

/* ---- event, notify ----------------------------------------------------------------------------- */

static void c_event_raise(struct sim *sim, struct sbuf *out, const struct cmd *c, int argc,
                          char **argv)
{
  sbuf_printf(out, "Raising event: %s\n", argv[0]);
  sim_events_raise(sim->events, argv[0], NULL);
}

/* notify_raise() of V3/main/ovms_notify.cpp: "Raise <kind> notification for
 * <type>/<subtype> as <arg>", then text (and data, a simulator shorthand for text with type
 * data), command (the notification text is the command's output) or errorcode. */
static void c_notify_raise(struct sim *sim, struct sbuf *out, const struct cmd *c, int argc,
                           char **argv)
{
  sbuf_printf(out, "Raise %s notification for %s/%s as %s\n", c->name, argv[0], argv[1],
              argv[2]);
  if (!strcmp(c->name, "errorcode")) {
    char *end;
    unsigned long code = strtoul(argv[0], &end, 10), data = strtoul(argv[1], NULL, 10);
    if (*end == '\0' && !strcmp(argv[2], "yes"))
      sim_notify_error_code(sim, (uint32_t)code, (uint32_t)data);
    return;
  }
  enum sim_notify_type t;
  if (!strcmp(c->name, "data"))
    t = NOTIFY_DATA;
  else if (sim_notify_type_parse(argv[0], &t) < 0)
    return; /* the firmware ignores unknown types */
  const char *subtype = argv[1];
  if (!strcmp(c->name, "command")) {
    struct sbuf o = SBUF_INIT;
    shell_execute(sim, argv[2], strlen(argv[2]), &o);
    sim_notify_raise(sim, t, subtype, sbuf_str(&o));
    sbuf_free(&o);
  } else {
    sim_notify_raise(sim, t, subtype, argv[2]);
  }
}

/* ---- server v3 ----------------------------------------------------------------------------------- */

static void c_v3_status(struct sim *sim, struct sbuf *out, const struct cmd *c, int argc,
                        char **argv)
{
  v3_status_text(sim->v3, out);
}

static void c_v3_start(struct sim *sim, struct sbuf *out, const struct cmd *c, int argc,
                       char **argv)
{
  if (sim->v3 && !v3_stopped(sim->v3)) {
    puts_line(out, "OVMS v3 server has already been started");
    return;
  }
  puts_line(out, "Launching OVMS Server V3 connection (oscv3)");
  if (sim->v3)
    v3_shell_start(sim->v3);
  else
    v3_start(sim, NULL, NULL);
}

static void c_v3_stop(struct sim *sim, struct sbuf *out, const struct cmd *c, int argc,
                      char **argv)
{
  if (v3_stopped(sim->v3)) {
    puts_line(out, "OVMS v3 server has not been started");
    return;
  }
  puts_line(out, "Stopping OVMS Server V3 connection (oscv3)");
  v3_shell_stop(sim->v3);
}

static void c_v3_update(struct sim *sim, struct sbuf *out, const struct cmd *c, int argc,
                        char **argv)
{
  const char *what = argc > 0 ? argv[0] : "modified";
  if (v3_stopped(sim->v3)) {
    puts_line(out, "ERROR: OVMS v3 server has not been started");
    return;
  }
  if (v3_request_update(sim->v3, what) < 0) {
    sbuf_printf(out, "Usage: server v3 update [all|modified%s]\n",
                sim->profile->batching ? "|priority" : "");
    return;
  }
  sbuf_printf(out, "Server V3 data update for %s metrics has been scheduled\n", what);
}

static void c_help(struct sim *sim, struct sbuf *out, const struct cmd *c, int argc, char **argv)
{
  puts_line(out, "This isn't really much help, is it?");
}

/* ---- the tree ----------------------------------------------------------------------------------- */

static const struct cmd charge_mode_children[] = {
  {"performance", "Set performance mode", c_charge_mode, "", 0, 0, NULL},
  {"range", "Set range mode", c_charge_mode, "", 0, 0, NULL},
  {"standard", "Set standard mode", c_charge_mode, "", 0, 0, NULL},
  {"storage", "Set storage mode", c_charge_mode, "", 0, 0, NULL},
  {NULL, NULL, NULL, NULL, 0, 0, NULL},
};

static const struct cmd charge_children[] = {
  {"current", "Limit charge current", c_charge_current, "<amps>", 1, 1, NULL},
  {"mode", "Set vehicle charge mode", NULL, "<$C>", 0, 0, charge_mode_children},
  {"start", "Start a vehicle charge", c_charge_start, "", 0, 0, NULL},
  {"stop", "Stop a vehicle charge", c_charge_stop, "", 0, 0, NULL},
  {NULL, NULL, NULL, NULL, 0, 0, NULL},
};

static const struct cmd climate_children[] = {
  {"off", "Turn off climate control", c_climate_off, "", 0, 0, NULL},
  {"on", "Turn on climate control", c_climate_on, "", 0, 0, NULL},
  {NULL, NULL, NULL, NULL, 0, 0, NULL},
};

static const struct cmd config_children[] = {
  {"get", "Get parameter value", c_config_get, "<param> <instance>", 2, 2, NULL},
  {"list", "Show configuration parameters/instances", c_config_list, "[<param>]", 0, 1, NULL},
  {"rm", "Remove parameter:instance", c_config_rm, "<param> {<instance> | *}", 2, 2, NULL},
  {"set", "Set parameter:instance=value", c_config_set, "<param> <instance> <value>", 3, 3,
   NULL},
  {NULL, NULL, NULL, NULL, 0, 0, NULL},
};

static const struct cmd event_children[] = {
  {"raise", "Raise a textual event", c_event_raise, "<event>", 1, 1, NULL},
  {NULL, NULL, NULL, NULL, 0, 0, NULL},
};

static const struct cmd location_children[] = {
  {"status", "Show location status", c_location_status, "", 0, 0, NULL},
  {NULL, NULL, NULL, NULL, 0, 0, NULL},
};

static const struct cmd metrics_children[] = {
  {"get", "Get the value of a metric", c_metrics_get, "<metric> [<unit>]", 1, 2, NULL},
  {"list", "Show all metrics", c_metrics_list, "[-cimnpst] [<metric>]", 0, 2, NULL},
  {"set", "Set the value of a metric", c_metrics_set, "<metric> <value> [<unit>]", 2, 3, NULL},
  {NULL, NULL, NULL, NULL, 0, 0, NULL},
};

static const struct cmd notify_raise_children[] = {
  {"command", "Raise a command callback notification", c_notify_raise,
   "<type><subtype><command>", 3, 3, NULL},
  {"data", "Raise a data notification (simulator)", c_notify_raise, "<type><subtype><message>",
   3, 3, NULL},
  {"errorcode", "Raise an error code notification", c_notify_raise, "<code><data><raised>", 3,
   3, NULL},
  {"text", "Raise a textual notification", c_notify_raise, "<type><subtype><message>", 3, 3,
   NULL},
  {NULL, NULL, NULL, NULL, 0, 0, NULL},
};

static const struct cmd notify_children[] = {
  {"raise", "NOTIFICATION raise framework", NULL, "", 0, 0, notify_raise_children},
  {NULL, NULL, NULL, NULL, 0, 0, NULL},
};

static const struct cmd v3_children[] = {
  {"start", "Start an OVMS V3 Server Connection", c_v3_start, "", 0, 0, NULL},
  {"status", "Show OVMS V3 Server connection status", c_v3_status, "", 0, 0, NULL},
  {"stop", "Stop an OVMS V3 Server Connection", c_v3_stop, "", 0, 0, NULL},
  {"update", "Request OVMS V3 Server data update", c_v3_update, "[all|modified|priority]", 0, 1,
   NULL},
  {NULL, NULL, NULL, NULL, 0, 0, NULL},
};

static const struct cmd server_children[] = {
  {"v3", "OVMS Server V3 Protocol", c_v3_status, "[$C]", 0, 0, v3_children},
  {NULL, NULL, NULL, NULL, 0, 0, NULL},
};

static const struct cmd vehicle_children[] = {
  {"status", "Show vehicle module status", c_vehicle_status, "", 0, 0, NULL},
  {NULL, NULL, NULL, NULL, 0, 0, NULL},
};

static const struct cmd root_children[] = {
  {"charge", "Charging framework", NULL, "<$C>", 0, 0, charge_children},
  {"climatecontrol", "(De)Activate Climate Control", NULL, "<$C>", 0, 0, climate_children},
  {"config", "CONFIG framework", NULL, "<$C>", 0, 0, config_children},
  {"event", "EVENT framework", NULL, "<$C>", 0, 0, event_children},
  {"help", "Ask for help", c_help, "", 0, 0, NULL},
  {"homelink", "Activate specified homelink button", c_homelink, "<homelink><durationms>", 1, 2,
   NULL},
  {"location", "LOCATION framework", NULL, "<$C>", 0, 0, location_children},
  {"lock", "Lock vehicle", c_lock, "<pin>", 1, 1, NULL},
  {"metrics", "METRICS framework", NULL, "<$C>", 0, 0, metrics_children},
  {"notify", "NOTIFICATION framework", NULL, "<$C>", 0, 0, notify_children},
  {"server", "SERVER framework", NULL, "<$C>", 0, 0, server_children},
  {"stat", "Show vehicle status", c_stat, "", 0, 0, NULL},
  {"unlock", "Unlock vehicle", c_unlock, "<pin>", 1, 1, NULL},
  {"unvalet", "Deactivate valet mode", c_unvalet, "<pin>", 1, 1, NULL},
  {"valet", "Activate valet mode", c_valet, "<pin>", 1, 1, NULL},
  {"vehicle", "Vehicle framework", NULL, "<$C>", 0, 0, vehicle_children},
  {"wakeup", "Wake up vehicle", c_wakeup, "", 0, 0, NULL},
  {NULL, NULL, NULL, NULL, 0, 0, NULL},
};

static const struct cmd root = {"", "", NULL, "", 0, 0, root_children};

/* OvmsCommandMap::FindUniquePrefix: an exact match, else the only child the word prefixes. */
static const struct cmd *find_unique_prefix(const struct cmd *children, const char *w)
{
  const struct cmd *found = NULL;
  size_t wl = strlen(w);
  for (const struct cmd *c = children; c->name; c++) {
    if (!strcmp(c->name, w))
      return c;
    if (!strncmp(c->name, w, wl)) {
      if (found)
        return NULL;
      found = c;
    }
  }
  return found;
}

/* GetUsage(): "Usage: " + ancestors + name + " " + the expanded template. */
static void usage(const struct cmd *const *path, int depth, struct sbuf *out)
{
  const struct cmd *c = path[depth - 1];
  sbuf_adds(out, "Usage: ");
  for (int i = 0; i < depth; i++) {
    sbuf_adds(out, path[i]->name);
    sbuf_addc(out, ' ');
  }
  const char *t = c->usage;
  if (!*t && !c->fn)
    t = "<$C>";
  const char *dc = strstr(t, "$C");
  if (dc && c->children) {
    sbuf_add(out, t, (size_t)(dc - t));
    for (const struct cmd *ch = c->children; ch->name; ch++) {
      if (ch != c->children)
        sbuf_addc(out, '|');
      sbuf_adds(out, ch->name);
    }
    t = dc + 2;
  }
  sbuf_adds(out, t);
  sbuf_addc(out, '\n');
}

static void execute(struct sim *sim, struct sbuf *out, int argc, char **argv)
{
  const struct cmd *path[16];
  int depth = 0;
  const struct cmd *c = &root;
  for (;;) {
    if (c->fn && !(c->children && argc > 0)) {
      if (argc < c->min || argc > c->max || (argc > 0 && !strcmp(argv[argc - 1], "?"))) {
        usage(path, depth, out);
        return;
      }
      c->fn(sim, out, c, argc, argv);
      return;
    }
    if (argc <= 0) {
      puts_line(out, "Subcommand required");
      usage(path, depth, out);
      return;
    }
    if (!strcmp(argv[0], "?")) {
      for (const struct cmd *ch = c->children; ch->name; ch++)
        sbuf_printf(out, "%-20.20s %s\n", ch->name, ch->title);
      return;
    }
    const struct cmd *next = find_unique_prefix(c->children, argv[0]);
    if (!next) {
      puts_line(out, "Unrecognised command");
      if (depth > 0)
        usage(path, depth, out);
      return;
    }
    if (depth >= 16)
      return;
    path[depth++] = next;
    c = next;
    argc--;
    argv++;
  }
}

int shell_split(char *buf, char **words, int max)
{
  int n = 0;
  char *p = buf;
  for (;;) {
    while (*p == ' ' || *p == '\t' || *p == '\r')
      p++;
    if (!*p)
      return n;
    if (n >= max)
      return n;
    char q = 0;
    if (*p == '"' || *p == '\'') {
      q = *p++;
      words[n++] = p;
      char *e = strchr(p, q);
      if (!e)
        return -1;
      *e = '\0';
      p = e + 1;
      continue;
    }
    words[n++] = p;
    while (*p && *p != ' ' && *p != '\t' && *p != '\r')
      p++;
    if (*p)
      *p++ = '\0';
  }
}

void shell_execute(struct sim *sim, const char *input, size_t len, struct sbuf *out)
{
  size_t pos = 0;
  while (pos < len) {
    const char *lf = memchr(input + pos, '\n', len - pos);
    size_t l = lf ? (size_t)(lf - (input + pos)) : len - pos;
    if (l > SHELL_LINE_MAX)
      l = SHELL_LINE_MAX; /* microrl drops what does not fit in its line buffer */
    char *line = xstrndup(input + pos, l); /* a NUL inside ends the line there */
    char *words[SHELL_WORDS_MAX];
    int n = shell_split(line, words, SHELL_WORDS_MAX);
    if (n > 0)
      execute(sim, out, n, words);
    free(line);
    pos = lf ? (size_t)(lf - input) + 1 : len;
  }
}
