/*
 * test_metrics_format.c - MQTT payload formatting of every metric type and unit against the
 * examples of the firmware's AsString() (V3/main/ovms_metrics.cpp) and of its 3.3.004/3.3.005
 * format change (V3/main/metrics_standard.cpp), and JSON/unit-label formatting.
 */
#include "testutil.h"

#include <string.h>

#include "core/error.h"
#include "model/metrics.h"
#include "model/profile.h"

static struct metrics *ms;

static int setup(void **state)
{
  sim_tz_set(NULL);
  ms = metrics_new(NULL);
  return 0;
}

static int teardown(void **state)
{
  metrics_free(ms);
  return 0;
}

static struct metric *M(const char *name)
{
  struct metric *m = metrics_find(ms, name);
  assert_non_null(m);
  return m;
}

/* Formats m with the given options and compares. */
static void check(struct metric *m, const struct metric_fmt *fmt, const char *want)
{
  struct sbuf b = SBUF_INIT;
  metric_format(m, fmt, &b);
  assert_string_equal(sbuf_str(&b), want);
  sbuf_free(&b);
}

static void test_undefined_is_empty(void **state)
{
  struct metric *m = M("v.b.soc");
  assert_false(metric_is_defined(m));
  check(m, NULL, "");
}

static void test_bool(void **state)
{
  struct metric *m = M("v.e.on");
  metric_set_bool(m, true);
  check(m, NULL, "yes");
  metric_set_bool(m, false);
  check(m, NULL, "no");
}

static void test_int(void **state)
{
  struct metric *m = M("v.e.gear");
  metric_set_int(m, -1);
  check(m, NULL, "-1");
  metric_set_int(M("s.v3.peers"), 3);
  check(M("s.v3.peers"), NULL, "3");
  metric_set_int(M("v.c.duration.full"), 125);
  check(M("v.c.duration.full"), NULL, "125");
}

static void test_float_g(void **state)
{
  /* OvmsMetricFloat::AsString() is stream formatting, i.e. %g: 57913.1, 85, 0.0209496,
   * 1.23457e+06. */
  struct metric *m = M("v.p.odometer");
  metric_set_float(m, 57913.1);
  check(m, NULL, "57913.1");
  metric_set_float(m, 85);
  check(m, NULL, "85");
  metric_set_float(m, 0.0209496);
  check(m, NULL, "0.0209496");
  metric_set_float(m, 1234567);
  check(m, NULL, "1.23457e+06");
  metric_set_float(m, -12.5);
  check(m, NULL, "-12.5");
}

static void test_latlon_fixed(void **state)
{
  struct metric *lat = M("v.p.latitude"), *lon = M("v.p.longitude");
  metric_set_float(lat, 51.507351);
  metric_set_float(lon, -0.127758);
  check(lat, NULL, "51.507351");
  check(lon, NULL, "-0.127758");
  metric_set_float(M("v.p.valet.latitude"), 22.280868);
  check(M("v.p.valet.latitude"), NULL, "22.280869"); /* float32 rounding, as the firmware */
  /* 3.3.004 used %g */
  const struct sim_profile *p = sim_profile_get(SIM_FW_3_3_004);
  struct metric_fmt old = {.latlon_g = p->latlon_g};
  check(lat, &old, "51.5074");
}

static void test_time_utc_date(void **state)
{
  struct metric *m = M("m.time.utc");
  metric_set_int64(m, 1787409802); /* OvmsMetricInt64::AsString(), DateUTC */
  check(m, NULL, "2026-08-22 14:43:22 UTC");
  metric_set_int64(m, 1701569671); /* docs/source/userguide/metrics.rst example */
  check(m, NULL, "2023-12-03 02:14:31 UTC");
  /* every profile formats dates alike (OvmsMetricInt64::AsString(), tags 3.3.004 to HEAD) */
  struct metric_fmt old = {.latlon_g = sim_profile_get(SIM_FW_3_3_004)->latlon_g};
  check(m, &old, "2023-12-03 02:14:31 UTC");
}

static void test_date_local(void **state)
{
  struct metric *m = M("v.c.timestamp");
  metric_set_int64(m, 1731345561);
  sim_tz_set("CET-1CEST,M3.5.0,M10.5.0/3");
  check(m, NULL, "2024-11-11 18:19:21 CET"); /* DateLocal: strftime("%F %T %Z") */
  metric_set_int64(m, 1719766800);           /* 2024-06-30 17:00:00 UTC: summer time */
  check(m, NULL, "2024-06-30 19:00:00 CEST");
  sim_tz_set(NULL);
  check(m, NULL, "2024-06-30 17:00:00 GMT");
  metric_set_int64(M("v.p.gpstime"), 0);
  check(M("v.p.gpstime"), NULL, "1970-01-01 00:00:00 GMT");
}

static void test_time_of_day(void **state)
{
  struct metric *m = M("v.c.timerstart");
  metric_set_int(m, 3661);
  check(m, NULL, "01:01:01");
  metric_set_int(m, 0);
  check(m, NULL, "00:00:00");
  metric_set_int(m, 90000); /* hours are not wrapped */
  check(m, NULL, "25:00:00");
}

static void test_string(void **state)
{
  struct metric *m = M("v.c.state");
  metric_set_string(m, "charging");
  check(m, NULL, "charging");
  metric_set_string(m, "");
  assert_true(metric_is_defined(m));
  check(m, NULL, "");
  metric_set_string(M("v.vin"), "a,b \"c\"\n");
  check(M("v.vin"), NULL, "a,b \"c\"\n"); /* raw bytes, no escaping */
}

static void test_vectors(void **state)
{
  struct metric *v = M("v.b.c.voltage");
  float cells[] = {3.91f, 3.905f, 4.0f};
  metric_set_vec_float(v, cells, 3);
  check(v, NULL, "3.91,3.905,4");
  metric_set_vec_float(v, NULL, 0);
  assert_true(metric_is_defined(v));
  check(v, NULL, "");
  struct metric *t = M("v.t.pressure");
  metric_set_vec_float_elem(t, 3, 175.79f);
  check(t, NULL, "0,0,0,175.79");
  struct metric *a = M("v.t.alert");
  int32_t al[] = {0, 0, 0, 1};
  metric_set_vec_int(a, al, 4);
  check(a, NULL, "0,0,0,1"); /* OvmsMetricVector::AsString(): comma-joined */
}

static void test_bitset(void **state)
{
  struct metric *m = M("m.egpio.input");
  metric_set_bits(m, (1u << 0) | (1u << 1) | (1u << 2) | (1u << 9));
  check(m, NULL, "0,1,2,9"); /* OvmsMetricBitset::AsString(): set bit positions */
  metric_set_bits(m, 0);
  check(m, NULL, "");
  assert_int_equal(metric_set_from_string(m, "3,5", SIM_UNIT_NATIVE), 1);
  check(m, NULL, "3,5");
  assert_int_equal(metric_set_from_string(m, "10", SIM_UNIT_NATIVE), SIM_ERANGE);
}

static void test_sets(void **state)
{
  struct metric *si, *ss;
  assert_int_equal(metrics_register(ms, "xzz.set.int", METRIC_SET_INT, SIM_UNIT_NATIVE, 0, &si), 0);
  assert_int_equal(metrics_register(ms, "xzz.set.str", METRIC_SET_STRING, SIM_UNIT_NATIVE, 0, &ss), 0);
  assert_int_equal(metric_set_from_string(si, "10,2,2,7", SIM_UNIT_NATIVE), 1);
  check(si, NULL, "2,7,10");
  assert_int_equal(metric_set_from_string(ss, "b,a,c,a", SIM_UNIT_NATIVE), 1);
  check(ss, NULL, "a,b,c");
  assert_int_equal(metric_set_from_string(ss, "c,b,a", SIM_UNIT_NATIVE), 0); /* same set */
}

static void test_json_and_units(void **state)
{
  struct sbuf b = SBUF_INIT;
  metric_set_float(M("v.b.soc"), 85);
  metric_format_json(M("v.b.soc"), &b);
  assert_string_equal(sbuf_str(&b), "85");
  sbuf_reset(&b);
  metric_set_string(M("v.type"), "N\"L");
  metric_format_json(M("v.type"), &b);
  assert_string_equal(sbuf_str(&b), "\"N\\\"L\"");
  sbuf_reset(&b);
  metric_format_json(M("v.b.voltage"), &b); /* never set */
  assert_string_equal(sbuf_str(&b), "null");
  sbuf_reset(&b);
  metric_format_unit(M("v.b.soc"), SIM_UNIT_NATIVE, &b);
  assert_string_equal(sbuf_str(&b), "85%");
  sbuf_reset(&b);
  metric_set_float(M("v.p.odometer"), 16.09344);
  metric_format_unit(M("v.p.odometer"), SIM_UNIT_MILES, &b);
  assert_string_equal(sbuf_str(&b), "10M");
  sbuf_free(&b);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_undefined_is_empty, setup, teardown),
    cmocka_unit_test_setup_teardown(test_bool, setup, teardown),
    cmocka_unit_test_setup_teardown(test_int, setup, teardown),
    cmocka_unit_test_setup_teardown(test_float_g, setup, teardown),
    cmocka_unit_test_setup_teardown(test_latlon_fixed, setup, teardown),
    cmocka_unit_test_setup_teardown(test_time_utc_date, setup, teardown),
    cmocka_unit_test_setup_teardown(test_date_local, setup, teardown),
    cmocka_unit_test_setup_teardown(test_time_of_day, setup, teardown),
    cmocka_unit_test_setup_teardown(test_string, setup, teardown),
    cmocka_unit_test_setup_teardown(test_vectors, setup, teardown),
    cmocka_unit_test_setup_teardown(test_bitset, setup, teardown),
    cmocka_unit_test_setup_teardown(test_sets, setup, teardown),
    cmocka_unit_test_setup_teardown(test_json_and_units, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
