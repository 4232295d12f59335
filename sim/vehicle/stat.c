/*
 * stat.c - the `stat` text (stat.h), line for line as OvmsVehicle::CommandStat() in
 * components/vehicle/vehicle.cpp (openvehicles/Open-Vehicle-Monitoring-System-3 1aa1daff)
 * writes it with COMMAND_RESULT_NORMAL: values through AsUnitString(def, ToUser, prec) in
 * the user's units (UserUnit of main/ovms_metrics.cpp, configured by "vehicle units.*"), the
 * mode and state names of its charge_mode/charge_state tables.
 */
#include "vehicle/stat.h"

#include <string.h>

#include "core/array.h"
#include "model/config.h"
#include "model/metrics.h"
#include "model/sim.h"
#include "core/sbuf.h"


struct name_value {
  const char *name, *value;
};

/* The value of name in table t (n rows), or name itself when it has no row. */
static const char *lookup(const struct name_value *t, size_t n, const char *name)
{
  for (size_t i = 0; i < n; i++)
    if (!strcmp(t[i].name, name))
      return t[i].value;
  return name;
}

enum sim_unit vehicle_user_unit(struct sim *sim, enum sim_unit native)
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
  for (size_t i = 0; i < ARRAY_SIZE(map); i++) {
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
  enum sim_unit to = vehicle_user_unit(sim, m->unit);
  double v = metric_float(m);
  if (to != m->unit && sim_unit_convert(v, m->unit, to, &v) < 0)
    to = m->unit;
  sbuf_printf(out, "%.*f%s", prec, v, sim_unit_label(to));
}

const char *vehicle_metric_str(struct sim *sim, const char *name)
{
  struct metric *m = metrics_find(sim->metrics, name);
  return m ? metric_string(m) : "";
}

double vehicle_metric_float(struct sim *sim, const char *name)
{
  struct metric *m = metrics_find(sim->metrics, name);
  return m ? metric_float(m) : 0;
}

static bool mdefined(struct sim *sim, const char *name)
{
  struct metric *m = metrics_find(sim->metrics, name);
  return m && metric_is_defined(m);
}

/* Times in minutes as "h:mmh". */
static void duration(struct sbuf *out, int minutes)
{
  sbuf_printf(out, "%d:%02dh\n", minutes / 60, minutes % 60);
}

/* The details of a charge in progress: voltage/current and range gain per hour, then the
 * estimated times to full, to the SOC limit and to the range limit. */
static void charge_details(struct sim *sim, struct sbuf *out)
{
  bool vc =
    vehicle_metric_float(sim, "v.c.voltage") > 0 || vehicle_metric_float(sim, "v.c.current") > 0;
  if (vc) {
    unit_string(sim, "v.c.voltage", "-", 1, out);
    sbuf_addc(out, '/');
    unit_string(sim, "v.c.current", "-", 1, out);
    sbuf_addc(out, ' ');
  }
  if (mdefined(sim, "v.b.range.speed") && vehicle_metric_float(sim, "v.b.range.speed") != 0) {
    unit_string(sim, "v.b.range.speed", "-", 1, out);
    sbuf_addc(out, '\n');
  } else if (vc) {
    sbuf_addc(out, '\n');
  }
  int full = (int)vehicle_metric_float(sim, "v.c.duration.full");
  if (full > 0) {
    sbuf_adds(out, "Full: ");
    duration(out, full);
  }
  int dsoc = (int)vehicle_metric_float(sim, "v.c.duration.soc");
  if (dsoc > 0) {
    unit_string(sim, "v.c.limit.soc", "SOC", 0, out);
    sbuf_adds(out, ": ");
    duration(out, dsoc);
  }
  int drange = (int)vehicle_metric_float(sim, "v.c.duration.range");
  if (drange > 0) {
    unit_string(sim, "v.c.limit.range", "Range", 0, out);
    sbuf_adds(out, ": ");
    duration(out, drange);
  }
}

/* The charge part of CommandStat: "<Mode> - <State>", the details while charging, energy
 * drawn and charged. */
static void charge_text(struct sim *sim, const char *state, struct sbuf *out)
{
  static const struct name_value modes[] = {{"standard", "Standard"}, {"storage", "Storage"},
                                            {"range", "Range"}, {"performance", "Performance"}};
  static const struct name_value states[] = {
    {"charging", "Charging"},         {"topoff", "Topping off"},
    {"done", "Charge Done"},          {"preparing", "Preparing"},
    {"heating", "Charging, Heating"}, {"stopped", "Charge Stopped"},
    {"timerwait", "Charge Stopped, Timer On"}};
  const char *mode = lookup(modes, ARRAY_SIZE(modes), vehicle_metric_str(sim, "v.c.mode"));
  if (*mode)
    sbuf_printf(out, "%s - ", mode);
  sbuf_printf(out, "%s\n", lookup(states, ARRAY_SIZE(states), state));
  if (strcmp(state, "done") && strcmp(state, "stopped"))
    charge_details(sim, out);
  static const struct name_value energy[] = {{"v.c.kwh.grid", "Drawn: "},
                                             {"v.c.kwh", "Charged: "}};
  for (size_t i = 0; i < ARRAY_SIZE(energy); i++)
    if (mdefined(sim, energy[i].name)) {
      sbuf_adds(out, energy[i].value);
      unit_string(sim, energy[i].name, "-", 1, out);
      sbuf_addc(out, '\n');
    }
}

bool vehicle_selected(struct sim *sim, struct sbuf *out)
{
  if (sim->control || sim->vehicle)
    return true;
  sbuf_adds(out, "Error: No vehicle module selected\n");
  return false;
}

void vehicle_stat_text(struct sim *sim, struct sbuf *out)
{
  if (!vehicle_selected(sim, out))
    return;
  struct metric *cp = metrics_find(sim->metrics, "v.d.cp");
  const char *state = vehicle_metric_str(sim, "v.c.state");
  if (cp && metric_bool(cp) && *state)
    charge_text(sim, state, out);
  else
    sbuf_adds(out, "Not charging\n");
  sbuf_adds(out, "SOC: ");
  unit_string(sim, "v.b.soc", "-", 1, out);
  sbuf_addc(out, '\n');
  static const struct {
    const char *label, *metric;
    int prec;
  } lines[] = {{"Ideal range", "v.b.range.ideal", 0}, {"Est. range", "v.b.range.est", 0},
               {"ODO", "v.p.odometer", 1},           {"CAC", "v.b.cac", 1},
               {"SOH", "v.b.soh", 0}};
  for (size_t i = 0; i < ARRAY_SIZE(lines); i++)
    if (mdefined(sim, lines[i].metric)) {
      sbuf_printf(out, "%s: ", lines[i].label);
      unit_string(sim, lines[i].metric, "-", lines[i].prec, out);
      sbuf_addc(out, '\n');
    }
}
