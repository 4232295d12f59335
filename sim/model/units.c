/*
 * units.c - unit table lookups and conversions (see units.h).
 *
 * Conversion factors: 1 mile = 1.609344 km, 1 ft = 0.3048 m, 1 psi = 6.894757293168361 kPa
 * (the factor the firmware's UnitConvert() uses), 1 bar = 100 kPa, degrees F = C * 9/5 + 32,
 * 1 kC = 1000/3600 Ah, 1 MJ = 1/3.6 kWh.  Consumption units convert through Wh/km.
 */
#include "model/units.h"

#include <math.h>
#include <string.h>

#include "core/array.h"
#include "core/error.h"

struct unit_info {
  enum sim_unit unit;
  const char *code, *label;
  enum sim_unit_group group;
};

static const struct unit_info units[] = {
#define XX(name, value, code, label, group) {SIM_UNIT_##name, code, label, SIM_UG_##group},
  SIM_UNIT_MAP(XX)
#undef XX
};

static const struct unit_info *info(enum sim_unit u)
{
  for (size_t i = 0; i < ARRAY_SIZE(units); i++)
    if (units[i].unit == u)
      return &units[i];
  return NULL;
}

const char *sim_unit_code(enum sim_unit u)
{
  const struct unit_info *i = info(u);
  return i ? i->code : "";
}

const char *sim_unit_label(enum sim_unit u)
{
  const struct unit_info *i = info(u);
  return i ? i->label : "";
}

enum sim_unit_group sim_unit_group(enum sim_unit u)
{
  const struct unit_info *i = info(u);
  return i ? i->group : SIM_UG_NONE;
}

static const struct {
  const char *alias;
  enum sim_unit unit;
} aliases[] = {
  {"mi", SIM_UNIT_MILES}, {"mile", SIM_UNIT_MILES}, {"m", SIM_UNIT_METERS},
  {"ft", SIM_UNIT_FEET}, {"C", SIM_UNIT_CELSIUS}, {"degC", SIM_UNIT_CELSIUS},
  {"celsius", SIM_UNIT_CELSIUS}, {"F", SIM_UNIT_FAHRENHEIT}, {"degF", SIM_UNIT_FAHRENHEIT},
  {"V", SIM_UNIT_VOLTS}, {"A", SIM_UNIT_AMPS}, {"Ah", SIM_UNIT_AMPHOURS}, {"kW", SIM_UNIT_KW},
  {"kWh", SIM_UNIT_KWH}, {"W", SIM_UNIT_WATTS}, {"Wh", SIM_UNIT_WATTHOURS},
  {"s", SIM_UNIT_SECONDS}, {"sec", SIM_UNIT_SECONDS}, {"min", SIM_UNIT_MINUTES},
  {"h", SIM_UNIT_HOURS}, {"kmh", SIM_UNIT_KPH}, {"km/h", SIM_UNIT_KPH}, {"kph", SIM_UNIT_KPH},
  {"mph", SIM_UNIT_MPH}, {"Mph", SIM_UNIT_MPH}, {"%", SIM_UNIT_PERCENT},
  {"kPa", SIM_UNIT_KPA}, {"Pa", SIM_UNIT_PA}, {"deg", SIM_UNIT_DEGREES},
};

int sim_unit_parse(const char *s, enum sim_unit *out)
{
  for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
    if (!strcmp(s, units[i].code) || (units[i].label[0] && !strcmp(s, units[i].label))) {
      *out = units[i].unit;
      return 0;
    }
  }
  for (size_t i = 0; i < ARRAY_SIZE(aliases); i++) {
    if (!strcmp(s, aliases[i].alias)) {
      *out = aliases[i].unit;
      return 0;
    }
  }
  return SIM_ENOTFOUND;
}

#define KM_PER_MILE 1.609344
#define M_PER_FT 0.3048
#define KPA_PER_PSI 6.894757293168361

/* Factor to the group's base unit (km, m, kPa, A, kW, kWh, s, km/h, km/h/s, m/s², Wh/km). */
static int to_base(enum sim_unit u, double v, double *out)
{
  switch (u) {
  case SIM_UNIT_KM: case SIM_UNIT_METERS: case SIM_UNIT_KPA: case SIM_UNIT_AMPHOURS:
  case SIM_UNIT_KW: case SIM_UNIT_KWH: case SIM_UNIT_SECONDS: case SIM_UNIT_KPH:
  case SIM_UNIT_KPHPS: case SIM_UNIT_MPSS: case SIM_UNIT_WHPKM: case SIM_UNIT_CELSIUS:
  case SIM_UNIT_CELSIUSDIFF: case SIM_UNIT_PERCENT: case SIM_UNIT_DBM: case SIM_UNIT_DAYS:
    *out = v; return 0;
  case SIM_UNIT_MILES: *out = v * KM_PER_MILE; return 0;
  case SIM_UNIT_FEET: *out = v * M_PER_FT; return 0;
  case SIM_UNIT_FAHRENHEIT: *out = (v - 32.0) * 5.0 / 9.0; return 0;
  case SIM_UNIT_FAHRENHEITDIFF: *out = v * 5.0 / 9.0; return 0;
  case SIM_UNIT_PA: *out = v / 1000.0; return 0;
  case SIM_UNIT_PSI: *out = v * KPA_PER_PSI; return 0;
  case SIM_UNIT_BAR: *out = v * 100.0; return 0;
  case SIM_UNIT_KILOCOULOMBS: *out = v * 1000.0 / 3600.0; return 0;
  case SIM_UNIT_WATTS: *out = v / 1000.0; return 0;
  case SIM_UNIT_WATTHOURS: *out = v / 1000.0; return 0;
  case SIM_UNIT_MEGAJOULES: *out = v / 3.6; return 0;
  case SIM_UNIT_MINUTES: *out = v * 60.0; return 0;
  case SIM_UNIT_HOURS: *out = v * 3600.0; return 0;
  case SIM_UNIT_MPH: *out = v * KM_PER_MILE; return 0;
  case SIM_UNIT_MPS: *out = v * 3.6; return 0;
  case SIM_UNIT_FTPS: *out = v * M_PER_FT * 3.6; return 0;
  case SIM_UNIT_MPHPS: *out = v * KM_PER_MILE; return 0;
  case SIM_UNIT_FTPSS: *out = v * M_PER_FT; return 0;
  case SIM_UNIT_PERMILLE: *out = v / 10.0; return 0;
  case SIM_UNIT_MONTHS: *out = v * 30.4375; return 0;
  case SIM_UNIT_YEARS: *out = v * 365.25; return 0;
  case SIM_UNIT_WHPMI: *out = v / KM_PER_MILE; return 0;
  case SIM_UNIT_KWHP100KM: *out = v * 10.0; return 0;
  case SIM_UNIT_KMPKWH: if (v == 0) return SIM_ERANGE; *out = 1000.0 / v; return 0;
  case SIM_UNIT_MIPKWH: if (v == 0) return SIM_ERANGE; *out = 1000.0 / (v * KM_PER_MILE); return 0;
  default: return SIM_EUNSUP;
  }
}

static int from_base(enum sim_unit u, double v, double *out)
{
  switch (u) {
  case SIM_UNIT_MILES: case SIM_UNIT_MPH: case SIM_UNIT_MPHPS: *out = v / KM_PER_MILE; return 0;
  case SIM_UNIT_FEET: case SIM_UNIT_FTPSS: *out = v / M_PER_FT; return 0;
  case SIM_UNIT_FAHRENHEIT: *out = v * 9.0 / 5.0 + 32.0; return 0;
  case SIM_UNIT_FAHRENHEITDIFF: *out = v * 9.0 / 5.0; return 0;
  case SIM_UNIT_PA: case SIM_UNIT_WATTS: case SIM_UNIT_WATTHOURS: *out = v * 1000.0; return 0;
  case SIM_UNIT_PSI: *out = v / KPA_PER_PSI; return 0;
  case SIM_UNIT_BAR: *out = v / 100.0; return 0;
  case SIM_UNIT_KILOCOULOMBS: *out = v * 3600.0 / 1000.0; return 0;
  case SIM_UNIT_MEGAJOULES: *out = v * 3.6; return 0;
  case SIM_UNIT_MINUTES: *out = v / 60.0; return 0;
  case SIM_UNIT_HOURS: *out = v / 3600.0; return 0;
  case SIM_UNIT_MPS: *out = v / 3.6; return 0;
  case SIM_UNIT_FTPS: *out = v / 3.6 / M_PER_FT; return 0;
  case SIM_UNIT_PERMILLE: *out = v * 10.0; return 0;
  case SIM_UNIT_MONTHS: *out = v / 30.4375; return 0;
  case SIM_UNIT_YEARS: *out = v / 365.25; return 0;
  case SIM_UNIT_WHPMI: *out = v * KM_PER_MILE; return 0;
  case SIM_UNIT_KWHP100KM: *out = v / 10.0; return 0;
  case SIM_UNIT_KMPKWH: if (v == 0) return SIM_ERANGE; *out = 1000.0 / v; return 0;
  case SIM_UNIT_MIPKWH: if (v == 0) return SIM_ERANGE; *out = 1000.0 / v / KM_PER_MILE; return 0;
  default: return to_base(u, v, out); /* base units: identity */
  }
}

int sim_unit_convert(double v, enum sim_unit from, enum sim_unit to, double *out)
{
  if (from == to || from == SIM_UNIT_NATIVE || to == SIM_UNIT_NATIVE) {
    *out = v;
    return 0;
  }
  enum sim_unit_group gf = sim_unit_group(from), gt = sim_unit_group(to);
  bool compatible = gf == gt;
  /* Speed and short acceleration families share no base with others; distance/short
   * distance are separate groups in the firmware but convert (km <-> m). */
  if ((gf == SIM_UG_DISTANCE && gt == SIM_UG_DISTANCESHORT) ||
      (gf == SIM_UG_DISTANCESHORT && gt == SIM_UG_DISTANCE))
    compatible = true;
  if (!compatible || gf == SIM_UG_NONE)
    return SIM_EUNSUP;
  double base;
  int r = to_base(from, v, &base);
  if (r < 0)
    return r;
  if ((gf == SIM_UG_DISTANCE) != (gt == SIM_UG_DISTANCE)) /* km <-> m families */
    base = gf == SIM_UG_DISTANCE ? base * 1000.0 : base / 1000.0;
  return from_base(to, base, out);
}
