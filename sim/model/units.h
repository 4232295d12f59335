/*
 * units.h - the metric units of the OVMS firmware and conversions between them.
 *
 * The table below carries the firmware's metric_unit_t enum values, the unit codes accepted by
 * its shell ("km", "miles", "kpa"...), the display labels and the conversion group, as listed in
 * the firmware's V3/main/ovms_metrics.h (metric_unit_t) and ovms_metrics.cpp (unit_info[]).
 * Labels are for shell output only: payloads over MQTT never carry a unit.
 */
#ifndef SIM_UNITS_H
#define SIM_UNITS_H

#include <stdbool.h>

/* XX(enum suffix, firmware value, code, label, group) */
#define SIM_UNIT_MAP(XX)                                        \
  XX(NATIVE, 0, "native", "", NONE)                             \
  XX(TOMETRIC, 1, "metric", "", NONE)                           \
  XX(TOIMPERIAL, 2, "imperial", "", NONE)                       \
  XX(TOUSER, 3, "user", "", NONE)                               \
  XX(KM, 10, "km", "km", DISTANCE)                              \
  XX(MILES, 11, "miles", "M", DISTANCE)                         \
  XX(METERS, 12, "meters", "m", DISTANCESHORT)                  \
  XX(FEET, 13, "feet", "ft", DISTANCESHORT)                     \
  XX(CELSIUS, 20, "celcius", "\xc2\xb0" "C", TEMP)              \
  XX(FAHRENHEIT, 21, "fahrenheit", "\xc2\xb0" "F", TEMP)        \
  XX(CELSIUSDIFF, 22, "celciusdiff", "\xc2\xb0" "C", TEMPDIFF)  \
  XX(FAHRENHEITDIFF, 23, "fahrenheitdiff", "\xc2\xb0" "F", TEMPDIFF) \
  XX(KPA, 30, "kpa", "kPa", PRESSURE)                           \
  XX(PA, 31, "pa", "Pa", PRESSURE)                              \
  XX(PSI, 32, "psi", "psi", PRESSURE)                           \
  XX(BAR, 33, "bar", "bar", PRESSURE)                           \
  XX(VOLTS, 40, "volts", "V", OTHER)                            \
  XX(AMPS, 41, "amps", "A", OTHER)                              \
  XX(AMPHOURS, 42, "amphours", "Ah", CHARGE)                    \
  XX(KW, 43, "kw", "kW", POWER)                                 \
  XX(KWH, 44, "kwh", "kWh", ENERGY)                             \
  XX(WATTS, 45, "watts", "W", POWER)                            \
  XX(WATTHOURS, 46, "watthours", "Wh", ENERGY)                  \
  XX(KILOCOULOMBS, 47, "kilocoulombs", "kC", CHARGE)            \
  XX(MEGAJOULES, 48, "megajoules", "MJ", ENERGY)                \
  XX(SECONDS, 50, "seconds", "Sec", TIME)                       \
  XX(MINUTES, 51, "minutes", "Min", TIME)                       \
  XX(HOURS, 52, "hours", "Hour", TIME)                          \
  XX(TIMEUTC, 53, "utctime", "UTC", TIME)                       \
  XX(TIMELOCAL, 54, "localtz", "local", TIME)                   \
  XX(DEGREES, 60, "degrees", "\xc2\xb0", DIRECTION)             \
  XX(KPH, 61, "kmph", "km/h", SPEED)                            \
  XX(MPH, 62, "miph", "Mph", SPEED)                             \
  XX(MPS, 63, "mps", "m/s", SPEED)                              \
  XX(FTPS, 64, "ftps", "ft/s", SPEED)                           \
  XX(KPHPS, 71, "kmphps", "km/h/s", ACCEL)                      \
  XX(MPHPS, 72, "miphps", "Mph/s", ACCEL)                       \
  XX(MPSS, 73, "mpss", "m/s\xc2\xb2", ACCELSHORT)               \
  XX(FTPSS, 74, "ftpss", "ft/s\xc2\xb2", ACCELSHORT)            \
  XX(DBM, 80, "dbm", "dBm", SIGNAL)                             \
  XX(SQ, 81, "sq", "sq", SIGNAL)                                \
  XX(DAYS, 82, "days", "Day", DATE)                             \
  XX(MONTHS, 83, "months", "Mon", DATE)                         \
  XX(YEARS, 84, "years", "Year", DATE)                          \
  XX(DATEUNIX, 85, "unixepoch", "epoch", DATE)                  \
  XX(DATEUTC, 86, "utcdate", "", DATE)                          \
  XX(DATELOCAL, 87, "localdate", "", DATE)                      \
  XX(PERCENT, 90, "percent", "%", RATIO)                        \
  XX(PERMILLE, 91, "permille", "\xe2\x80\xb0", RATIO)           \
  XX(WHPKM, 100, "whpkm", "Wh/km", CONSUMPTION)                 \
  XX(WHPMI, 101, "whpmi", "Wh/mi", CONSUMPTION)                 \
  XX(KWHP100KM, 102, "kwhp100km", "kWh/100km", CONSUMPTION)     \
  XX(KMPKWH, 103, "kmpkwh", "km/kWh", CONSUMPTION)              \
  XX(MIPKWH, 104, "mipkwh", "mi/kWh", CONSUMPTION)              \
  XX(NM, 110, "nm", "Nm", TORQUE)

enum sim_unit {
#define XX(name, value, code, label, group) SIM_UNIT_##name = value,
  SIM_UNIT_MAP(XX)
#undef XX
  SIM_UNIT_NOTFOUND = 255
};

enum sim_unit_group {
  SIM_UG_NONE, SIM_UG_DISTANCE, SIM_UG_DISTANCESHORT, SIM_UG_TEMP, SIM_UG_TEMPDIFF,
  SIM_UG_PRESSURE, SIM_UG_OTHER, SIM_UG_CHARGE, SIM_UG_POWER, SIM_UG_ENERGY, SIM_UG_TIME,
  SIM_UG_DIRECTION, SIM_UG_SPEED, SIM_UG_ACCEL, SIM_UG_ACCELSHORT, SIM_UG_SIGNAL, SIM_UG_DATE,
  SIM_UG_RATIO, SIM_UG_CONSUMPTION, SIM_UG_TORQUE
};

/* The shell code ("km"), label ("km") and group of u; "" / SIM_UG_NONE for unknown units. */
const char *sim_unit_code(enum sim_unit u);
const char *sim_unit_label(enum sim_unit u);
enum sim_unit_group sim_unit_group(enum sim_unit u);

/*
 * Looks a unit up by code or label ("km", "miles", "M", "psi", "°F", "mph"...; case-sensitive,
 * with a few common aliases).  Returns 0 and sets *out, or SIM_ENOTFOUND.
 */
int sim_unit_parse(const char *s, enum sim_unit *out);

/*
 * Converts v from unit `from` to unit `to` as the firmware's UnitConvert() does.  Identical
 * units, or either unit native, return v unchanged.  Returns 0 and sets *out, or SIM_EUNSUP when
 * the units belong to different groups.
 */
int sim_unit_convert(double v, enum sim_unit from, enum sim_unit to, double *out);

#endif
