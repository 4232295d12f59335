/*
 * test_units.c - the unit table and conversions: codes, labels and aliases map to the
 * firmware's metric_unit_t values; conversions use the factors of the firmware's
 * UnitConvert() (main/ovms_metrics.cpp, float UnitConvert(from, to, value)) except where
 * noted; units of different groups do not convert.
 */
#include "testutil.h"

#include <math.h>

#include "core/array.h"
#include "core/error.h"
#include "model/units.h"

/* metric_unit_t values of main/ovms_metrics.h, and the shell codes of unit_info[] */
static void test_table(void **state)
{
  static const struct {
    enum sim_unit u;
    int value;
    const char *code, *label;
    enum sim_unit_group group;
  } rows[] = {
    {SIM_UNIT_KM, 10, "km", "km", SIM_UG_DISTANCE},
    {SIM_UNIT_MILES, 11, "miles", "M", SIM_UG_DISTANCE},
    {SIM_UNIT_CELSIUS, 20, "celcius", "\xc2\xb0" "C", SIM_UG_TEMP},
    {SIM_UNIT_KPA, 30, "kpa", "kPa", SIM_UG_PRESSURE},
    {SIM_UNIT_PSI, 32, "psi", "psi", SIM_UG_PRESSURE},
    {SIM_UNIT_KW, 43, "kw", "kW", SIM_UG_POWER},
    {SIM_UNIT_KWH, 44, "kwh", "kWh", SIM_UG_ENERGY},
    {SIM_UNIT_SECONDS, 50, "seconds", "Sec", SIM_UG_TIME},
    {SIM_UNIT_KPH, 61, "kmph", "km/h", SIM_UG_SPEED},
    {SIM_UNIT_PERCENT, 90, "percent", "%", SIM_UG_RATIO},
    {SIM_UNIT_WHPKM, 100, "whpkm", "Wh/km", SIM_UG_CONSUMPTION},
    {SIM_UNIT_NM, 110, "nm", "Nm", SIM_UG_TORQUE},
  };
  for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
    assert_int_equal((int)rows[i].u, rows[i].value);
    assert_string_equal(sim_unit_code(rows[i].u), rows[i].code);
    assert_string_equal(sim_unit_label(rows[i].u), rows[i].label);
    assert_int_equal(sim_unit_group(rows[i].u), rows[i].group);
  }
  assert_string_equal(sim_unit_code((enum sim_unit)99), "");
  assert_string_equal(sim_unit_label((enum sim_unit)99), "");
  assert_int_equal(sim_unit_group((enum sim_unit)99), SIM_UG_NONE);
  (void)state;
}

static void test_parse(void **state)
{
  static const struct {
    const char *s;
    enum sim_unit u;
  } ok[] = {
    {"km", SIM_UNIT_KM},          {"miles", SIM_UNIT_MILES},     {"M", SIM_UNIT_MILES},
    {"mi", SIM_UNIT_MILES},       {"psi", SIM_UNIT_PSI},         {"kPa", SIM_UNIT_KPA},
    {"\xc2\xb0" "F", SIM_UNIT_FAHRENHEIT},                        {"degC", SIM_UNIT_CELSIUS},
    {"mph", SIM_UNIT_MPH},        {"km/h", SIM_UNIT_KPH},        {"kWh", SIM_UNIT_KWH},
    {"Wh/km", SIM_UNIT_WHPKM},    {"%", SIM_UNIT_PERCENT},       {"native", SIM_UNIT_NATIVE},
  };
  for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
    enum sim_unit u = SIM_UNIT_NOTFOUND;
    if (sim_unit_parse(ok[i].s, &u) != 0 || u != ok[i].u)
      fail_msg("'%s' parsed as %d, want %d", ok[i].s, (int)u, (int)ok[i].u);
  }
  /* every unit's shell code names that unit, and no two units share a code */
  static const struct {
    enum sim_unit u;
    const char *code;
  } all[] = {
#define XX(name, value, code, label, group) {SIM_UNIT_##name, code},
    SIM_UNIT_MAP(XX)
#undef XX
  };
  for (size_t i = 0; i < ARRAY_SIZE(all); i++) {
    enum sim_unit u = SIM_UNIT_NOTFOUND;
    if (sim_unit_parse(all[i].code, &u) != 0 || u != all[i].u)
      fail_msg("code '%s' parsed as %d, want %d", all[i].code, (int)u, (int)all[i].u);
    assert_string_equal(sim_unit_code(all[i].u), all[i].code);
    for (size_t j = 0; j < i; j++)
      assert_string_not_equal(all[i].code, all[j].code);
  }
  static const char *const bad[] = {"", "KM", "kilometres", "parsec", " km", "km ", "k"};
  for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
    enum sim_unit u;
    assert_int_equal(sim_unit_parse(bad[i], &u), SIM_ENOTFOUND);
  }
  (void)state;
}

/*
 * Known values.  The pressure, power, energy, charge, temperature, time and consumption
 * factors are those of the firmware's UnitConvert(); miles use the international mile
 * (1.609344 km) where the firmware's mi_to_km() multiplies by 1.609347, so results differ from
 * the firmware's in the sixth digit.
 */
static void test_convert(void **state)
{
  static const struct {
    double v;
    enum sim_unit from, to;
    double want;
  } cases[] = {
    {100, SIM_UNIT_KM, SIM_UNIT_MILES, 62.13711922373339},
    {1, SIM_UNIT_MILES, SIM_UNIT_KM, 1.609344},
    {1, SIM_UNIT_KM, SIM_UNIT_METERS, 1000},
    {1, SIM_UNIT_MILES, SIM_UNIT_FEET, 5280},
    {1000, SIM_UNIT_FEET, SIM_UNIT_METERS, 304.8},
    {0, SIM_UNIT_CELSIUS, SIM_UNIT_FAHRENHEIT, 32},
    {100, SIM_UNIT_CELSIUS, SIM_UNIT_FAHRENHEIT, 212},
    {-40, SIM_UNIT_FAHRENHEIT, SIM_UNIT_CELSIUS, -40},
    {10, SIM_UNIT_CELSIUSDIFF, SIM_UNIT_FAHRENHEITDIFF, 18},
    {1, SIM_UNIT_PSI, SIM_UNIT_KPA, 6.894757293168361},
    {250, SIM_UNIT_KPA, SIM_UNIT_PSI, 250 * 0.14503773773020923},
    {2.5, SIM_UNIT_BAR, SIM_UNIT_KPA, 250},
    {1, SIM_UNIT_KPA, SIM_UNIT_PA, 1000},
    {1, SIM_UNIT_BAR, SIM_UNIT_PSI, 14.503773773020923},
    {7.4, SIM_UNIT_KW, SIM_UNIT_WATTS, 7400},
    {1500, SIM_UNIT_WATTHOURS, SIM_UNIT_KWH, 1.5},
    {1, SIM_UNIT_KWH, SIM_UNIT_MEGAJOULES, 3.6},
    {3.6, SIM_UNIT_MEGAJOULES, SIM_UNIT_KWH, 1},
    {10, SIM_UNIT_AMPHOURS, SIM_UNIT_KILOCOULOMBS, 36},
    {90, SIM_UNIT_MINUTES, SIM_UNIT_HOURS, 1.5},
    {2, SIM_UNIT_HOURS, SIM_UNIT_SECONDS, 7200},
    {36, SIM_UNIT_KPH, SIM_UNIT_MPS, 10},
    {1, SIM_UNIT_MPH, SIM_UNIT_KPH, 1.609344},
    {160, SIM_UNIT_WHPKM, SIM_UNIT_KWHP100KM, 16},
    {200, SIM_UNIT_WHPKM, SIM_UNIT_KMPKWH, 5},
    {160, SIM_UNIT_WHPKM, SIM_UNIT_WHPMI, 160 * 1.609344},
    {50, SIM_UNIT_PERCENT, SIM_UNIT_PERMILLE, 500},
    {12, SIM_UNIT_MONTHS, SIM_UNIT_YEARS, 1},
    {42, SIM_UNIT_NATIVE, SIM_UNIT_PSI, 42}, /* native on either side: unchanged */
    {42, SIM_UNIT_KM, SIM_UNIT_NATIVE, 42},
    {42, SIM_UNIT_VOLTS, SIM_UNIT_VOLTS, 42},
  };
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    double out = NAN;
    int rc = sim_unit_convert(cases[i].v, cases[i].from, cases[i].to, &out);
    if (rc != 0 || fabs(out - cases[i].want) > 1e-9 * fmax(1, fabs(cases[i].want)))
      fail_msg("%g %s -> %s: rc %d, %.15g, want %.15g", cases[i].v,
               sim_unit_code(cases[i].from), sim_unit_code(cases[i].to), rc, out,
               cases[i].want);
  }
  (void)state;
}

/* Every convertible pair of the same group converts there and back to the start value. */
static void test_round_trips(void **state)
{
  static const enum sim_unit all[] = {
#define XX(name, value, code, label, group) SIM_UNIT_##name,
    SIM_UNIT_MAP(XX)
#undef XX
  };
  size_t pairs = 0;
  for (size_t i = 0; i < ARRAY_SIZE(all); i++) {
    for (size_t j = 0; j < ARRAY_SIZE(all); j++) {
      double there, back;
      if (sim_unit_group(all[i]) == SIM_UG_NONE ||
          sim_unit_convert(7.25, all[i], all[j], &there) != 0)
        continue;
      assert_int_equal(sim_unit_convert(there, all[j], all[i], &back), 0);
      if (fabs(back - 7.25) > 1e-9)
        fail_msg("%s -> %s -> %s: %.15g", sim_unit_code(all[i]), sim_unit_code(all[j]),
                 sim_unit_code(all[i]), back);
      pairs++;
    }
  }
  assert_true(pairs > 100);
  (void)state;
}

static void test_errors(void **state)
{
  static const struct {
    double v;
    enum sim_unit from, to;
    int rc;
  } cases[] = {
    {1, SIM_UNIT_KM, SIM_UNIT_CELSIUS, SIM_EUNSUP},   {1, SIM_UNIT_KW, SIM_UNIT_KWH, SIM_EUNSUP},
    {1, SIM_UNIT_PSI, SIM_UNIT_VOLTS, SIM_EUNSUP},    {1, SIM_UNIT_KPH, SIM_UNIT_KM, SIM_EUNSUP},
    {1, SIM_UNIT_TOMETRIC, SIM_UNIT_KM, SIM_EUNSUP},  {0, SIM_UNIT_KMPKWH, SIM_UNIT_WHPKM, SIM_ERANGE},
    {0, SIM_UNIT_MIPKWH, SIM_UNIT_WHPKM, SIM_ERANGE}, {0, SIM_UNIT_WHPKM, SIM_UNIT_KMPKWH, SIM_ERANGE},
  };
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    double out = 123;
    int rc = sim_unit_convert(cases[i].v, cases[i].from, cases[i].to, &out);
    if (rc != cases[i].rc)
      fail_msg("%s -> %s: rc %d, want %d", sim_unit_code(cases[i].from),
               sim_unit_code(cases[i].to), rc, cases[i].rc);
  }
  (void)state;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_table),      cmocka_unit_test(test_parse),
    cmocka_unit_test(test_convert),    cmocka_unit_test(test_round_trips),
    cmocka_unit_test(test_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
