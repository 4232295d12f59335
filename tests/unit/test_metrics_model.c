/*
 * test_metrics_model.c - defined/modified/stale semantics, modifier slots, listeners, unit
 * conversion on input, and setting from text (OvmsMetric::SetValue() and SetModified() in
 * V3/main/ovms_metrics.cpp).
 */
#include "testutil.h"

#include <ev.h>
#include <math.h>
#include <string.h>

#include "core/array.h"
#include "core/error.h"
#include "core/loop.h"
#include "model/metrics.h"

static struct metrics *ms;

static int setup(void **state)
{
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

static void test_modified_bits(void **state)
{
  int v3 = metrics_register_modifier(ms), web = metrics_register_modifier(ms);
  assert_int_equal(v3, 0);
  assert_int_equal(web, 1);
  struct metric *soc = M("v.b.soc");
  assert_int_equal(metric_set_float(soc, 50), 1);
  assert_true(metric_test_and_clear_modified(soc, v3));
  assert_false(metric_test_and_clear_modified(soc, v3));
  assert_true(metric_is_modified(soc, web)); /* each consumer has its own bit */
  assert_int_equal(metric_set_float(soc, 50), 0);   /* same value: not modified */
  assert_false(metric_is_modified(soc, v3));
  assert_int_equal(metric_set_float(soc, 50.5), 1);
  assert_true(metric_is_modified(soc, v3));
  for (int i = 2; i < METRICS_MAX_MODIFIERS; i++)
    assert_int_equal(metrics_register_modifier(ms), i);
  assert_int_equal(metrics_register_modifier(ms), SIM_ELIMIT);
}

static void test_defined_states(void **state)
{
  struct metric *m = M("v.e.on");
  assert_int_equal(m->defined, METRIC_NEVER_DEFINED);
  /* The first set of the initial value defines the metric without a change (firmware). */
  assert_int_equal(metric_set_bool(m, false), 0);
  assert_int_equal(m->defined, METRIC_FIRST_DEFINED);
  assert_int_equal(metric_set_bool(m, true), 1);
  assert_int_equal(m->defined, METRIC_DEFINED);
  metric_clear(m);
  assert_false(metric_is_defined(m));
  assert_true(metric_is_stale(m));
}

struct seen {
  int n;
  const struct metric *last;
};

static void listener(void *ctx, struct metric *m)
{
  struct seen *s = ctx;
  s->n++;
  s->last = m;
}

static void test_listeners(void **state)
{
  struct seen exact = {0}, prefix = {0}, all = {0};
  metrics_listen(ms, "v.b.soc", listener, &exact);
  metrics_listen(ms, "v.b.*", listener, &prefix);
  metrics_listen(ms, "*", listener, &all);
  metric_set_float(M("v.b.soc"), 10);
  metric_set_float(M("v.b.soc"), 10); /* unchanged: no call */
  metric_set_float(M("v.b.soh"), 99);
  metric_set_bool(M("v.e.on"), true);
  assert_int_equal(exact.n, 1);
  assert_int_equal(prefix.n, 2);
  assert_int_equal(all.n, 3);
  assert_ptr_equal(all.last, M("v.e.on"));
  metrics_unlisten(ms, listener, &all);
  metric_set_bool(M("v.e.on"), false);
  assert_int_equal(all.n, 3);
  assert_true(metric_name_match("*suffix", "a.suffix"));
  assert_false(metric_name_match("*suffix", "suffix.a"));
}

struct selfremove {
  int n;
};

static void remove_self(void *ctx, struct metric *m)
{
  struct selfremove *r = ctx;
  r->n++;
  metrics_unlisten(m->reg, remove_self, ctx);
}

/* A listener that removes itself while listeners run must not make the next one skipped. */
static void test_unlisten_during_dispatch(void **state)
{
  struct selfremove r = {0};
  struct seen after = {0};
  metrics_listen(ms, "v.b.soc", remove_self, &r);
  metrics_listen(ms, "v.b.soc", listener, &after);
  metric_set_float(M("v.b.soc"), 1);
  metric_set_float(M("v.b.soc"), 2);
  assert_int_equal(r.n, 1);
  assert_int_equal(after.n, 2);
}

static void test_unit_conversion_on_input(void **state)
{
  struct metric *odo = M("v.p.odometer"), *spd = M("v.p.speed"), *t = M("v.b.temp");
  metric_set_float_unit(odo, 10, SIM_UNIT_MILES);
  assert_float_equal(metric_float(odo), 16.09344, 1e-4);
  metric_set_float_unit(spd, 60, SIM_UNIT_MPH);
  assert_float_equal(metric_float(spd), 96.56064, 1e-3);
  metric_set_float_unit(t, 68, SIM_UNIT_FAHRENHEIT);
  assert_float_equal(metric_float(t), 20.0, 1e-5);
  struct metric *p = M("v.t.pressure");
  assert_int_equal(metric_set_from_string(p, "30 psi,31psi,2.1bar,200", SIM_UNIT_NATIVE), 1);
  const float *v = p->data;
  assert_int_equal(p->n, 4);
  assert_float_equal(v[0], 206.8427, 1e-3);
  assert_float_equal(v[1], 213.7375, 1e-3);
  assert_float_equal(v[2], 210.0, 1e-3);
  assert_float_equal(v[3], 200.0, 1e-3);
  /* from text with a unit suffix, and with the unit given separately */
  assert_int_equal(metric_set_from_string(odo, "12 miles", SIM_UNIT_NATIVE), 1);
  assert_float_equal(metric_float(odo), 19.312128, 1e-4);
  assert_int_equal(metric_set_from_string(odo, "100", SIM_UNIT_MILES), 1);
  assert_float_equal(metric_float(odo), 160.9344, 1e-3);
  assert_int_equal(metric_set_from_string(t, "-40°F", SIM_UNIT_NATIVE), 1);
  assert_float_equal(metric_float(t), -40.0, 1e-4);
  /* wrong group */
  assert_int_equal(metric_set_from_string(odo, "5 psi", SIM_UNIT_NATIVE), SIM_EUNSUP);
  assert_int_equal(metric_set_float_unit(odo, 5, SIM_UNIT_KPA), SIM_EUNSUP);
  /* round trip through every distance/speed unit */
  double out;
  assert_int_equal(sim_unit_convert(1000, SIM_UNIT_METERS, SIM_UNIT_KM, &out), 0);
  assert_float_equal(out, 1.0, 1e-9);
  assert_int_equal(sim_unit_convert(36, SIM_UNIT_KPH, SIM_UNIT_MPS, &out), 0);
  assert_float_equal(out, 10.0, 1e-9);
  assert_int_equal(sim_unit_convert(150, SIM_UNIT_WHPKM, SIM_UNIT_KWHP100KM, &out), 0);
  assert_float_equal(out, 15.0, 1e-9);
  assert_int_equal(sim_unit_convert(1, SIM_UNIT_KWH, SIM_UNIT_WATTHOURS, &out), 0);
  assert_float_equal(out, 1000.0, 1e-9);
  assert_int_equal(sim_unit_convert(1, SIM_UNIT_KWH, SIM_UNIT_KM, &out), SIM_EUNSUP);
}

static void test_set_from_string(void **state)
{
  struct metric *b = M("v.e.locked"), *i = M("v.e.gear"), *f = M("v.b.soc"), *s = M("v.type");
  assert_int_equal(metric_set_from_string(b, "yes", 0), 1);
  assert_true(metric_bool(b));
  assert_int_equal(metric_set_from_string(b, "off", 0), 1);
  assert_int_equal(metric_set_from_string(b, "maybe", 0), SIM_EPARSE);
  assert_int_equal(metric_set_from_string(i, "-1", 0), 1);
  assert_int_equal(metric_int(i), -1);
  assert_int_equal(metric_set_from_string(i, "1x", 0), SIM_EPARSE);
  assert_int_equal(metric_set_from_string(i, "", 0), SIM_EPARSE);
  assert_int_equal(metric_set_from_string(i, "99999999999", 0), SIM_ERANGE);
  /* int64 values are exact to the last digit, and out-of-range ones never wrap negative */
  struct metric *l;
  assert_int_equal(metrics_register(ms, "xt.i64", METRIC_INT64, SIM_UNIT_NATIVE, 0, &l), 0);
  assert_int_equal(metric_set_from_string(l, "9223372036854775807", 0), 1);
  assert_true(metric_int64(l) == INT64_MAX);
  assert_int_equal(metric_set_from_string(l, "9007199254740993", 0), 1);
  assert_true(metric_int64(l) == INT64_C(9007199254740993));
  assert_int_equal(metric_set_from_string(l, "9.3e18", 0), SIM_ERANGE);
  assert_true(metric_int64(l) == INT64_C(9007199254740993));
  assert_int_equal(metric_set_float(l, 1e30), 1);
  assert_true(metric_int64(l) == INT64_MAX);
  assert_int_equal(metric_set_float(l, -1e30), 1);
  assert_true(metric_int64(l) == INT64_MIN);
  assert_int_equal(metric_set_float(i, 1e30), 1);
  assert_int_equal(metric_int(i), INT32_MAX);
  assert_int_equal(metric_set_from_string(f, "85.5", 0), 1);
  assert_float_equal(metric_float(f), 85.5, 1e-6);
  assert_int_equal(metric_set_from_string(f, "nan", 0), SIM_EPARSE);
  assert_int_equal(metric_set_from_string(f, "12,5", 0), SIM_EPARSE);
  assert_int_equal(metric_set_from_string(s, "NL", 0), 1);
  assert_string_equal(metric_string(s), "NL");
  struct metric *d = M("m.time.utc");
  assert_int_equal(metric_set_from_string(d, "2026-08-22 14:43:22 UTC", 0), 1);
  assert_int_equal(metric_int64(d), 1787409802);
  assert_int_equal(metric_set_from_string(d, "1787409803", 0), 1);
  assert_int_equal(metric_int64(d), 1787409803);
  /* a date that does not exist is an error, not the 3rd of March */
  assert_int_equal(metric_set_from_string(d, "2026-02-31 10:00:00 UTC", 0), SIM_EPARSE);
  assert_int_equal(metric_int64(d), 1787409803);
  struct metric *ts = M("v.c.timerstart");
  assert_int_equal(metric_set_from_string(ts, "07:30", 0), 1);
  assert_int_equal(metric_int(ts), 27000);
  assert_int_equal(metric_set_from_string(ts, "25:00:30", 0), 1);
  assert_int_equal(metric_int(ts), 90030);
  /* a leading '-' is a negative time, as metric_format() writes one (not a wrapped unsigned
   * hour count); '+', blanks inside or a missing minute digit are errors */
  assert_int_equal(metric_set_from_string(ts, "-1:00", 0), 1);
  assert_int_equal(metric_int(ts), -3600);
  assert_int_equal(metric_set_from_string(ts, "25:00:30", 0), 1);
  static const char *const bad_hms[] = {"+7:30", "7: 30", "7:3", "7:30:", "7:60", "7:30:60",
                                        "7:30:5x", "--1:00"};
  for (size_t k = 0; k < ARRAY_SIZE(bad_hms); k++)
    if (metric_set_from_string(ts, bad_hms[k], 0) >= 0)
      fail_msg("'%s' accepted for v.c.timerstart", bad_hms[k]);
  assert_int_equal(metric_int(ts), 90030);
  assert_int_equal(metric_set_from_string(M("v.b.c.voltage"), "3.9, 4.0 ,x", 0), SIM_EPARSE);
  assert_int_equal(metric_set_from_string(M("v.b.c.voltage"), "3.9,,4", 0), SIM_EPARSE);
  assert_int_equal(metric_set_string(M("v.e.on"), "x"), SIM_ETYPE);
}

/* Findings of tests/fuzz/fuzz_metric_set.c: each was a crash, undefined behaviour, a silent
 * clamp or a value that did not survive format -> set -> format. */
static void test_set_from_string_fuzz_findings(void **state)
{
  struct metric *si, *ss, *l, *d32, *t64;
  assert_int_equal(metrics_register(ms, "xtest.set.int", METRIC_SET_INT, SIM_UNIT_NATIVE, 0, &si),
                   0);
  assert_int_equal(metrics_register(ms, "xtest.set.str", METRIC_SET_STRING, SIM_UNIT_NATIVE, 0,
                                    &ss), 0);
  assert_int_equal(metrics_register(ms, "xtest.l", METRIC_INT64, SIM_UNIT_NATIVE, 0, &l), 0);
  assert_int_equal(metrics_register(ms, "xtest.d32", METRIC_INT, SIM_UNIT_DATEUTC, 0, &d32), 0);
  assert_int_equal(metrics_register(ms, "xtest.t64", METRIC_INT64, SIM_UNIT_TIMEUTC, 0, &t64),
                   0);
  /* an empty set: qsort(NULL, 0) was undefined behaviour */
  assert_int_equal(metric_set_from_string(si, "", 0), 0);
  assert_true(metric_is_defined(si));
  assert_int_equal(metric_set_from_string(ss, " ", 0), 0);
  assert_int_equal(metric_set_from_string(ss, "b,a,b", 0), 1);
  struct sbuf b = SBUF_INIT;
  metric_format(ss, NULL, &b);
  assert_string_equal(sbuf_str(&b), "a,b");
  /* negative times format as "-HH:MM:SS" and must read back (sscanf %u took "-00" as 0) */
  assert_int_equal(metric_set_from_string(t64, "-5", 0), 1);
  sbuf_reset(&b);
  metric_format(t64, NULL, &b);
  assert_string_equal(sbuf_str(&b), "-00:00:05");
  assert_int_equal(metric_set_from_string(t64, sbuf_str(&b), 0), 0);
  assert_int_equal(metric_int64(t64), -5);
  assert_int_equal(metric_set_from_string(t64, "-1:00", 0), 1);
  assert_int_equal(metric_int64(t64), -3600);
  assert_int_equal(metric_set_from_string(t64, "1:60", 0), SIM_EPARSE);
  assert_int_equal(metric_set_from_string(t64, "99999999999999999999:00", 0), SIM_EPARSE);
  /* the extremes: formatting INT64_MIN negated it (overflow); 16-digit hours were refused */
  metric_set_int64(t64, INT64_MIN);
  sbuf_reset(&b);
  metric_format(t64, NULL, &b);
  assert_string_equal(sbuf_str(&b), "-2562047788015215:30:08");
  metric_clear(t64);
  assert_int_equal(metric_set_from_string(t64, sbuf_str(&b), 0), 1);
  assert_true(metric_int64(t64) == INT64_MIN);
  assert_int_equal(metric_set_from_string(t64, "2562047788015215:30:07", 0), 1);
  assert_true(metric_int64(t64) == INT64_MAX);
  assert_int_equal(metric_set_from_string(t64, "2562047788015215:30:08", 0), SIM_EPARSE);
  /* floats beyond FLT_MAX were stored as inf, formatted "inf", and never read back */
  assert_int_equal(metric_set_from_string(M("v.b.soc"), "1e39", 0), SIM_ERANGE);
  assert_int_equal(metric_set_from_string(M("v.b.c.voltage"), "1,-1e39", 0), SIM_ERANGE);
  assert_int_equal(metric_set_from_string(M("v.p.odometer"), "3e38 miles", 0), SIM_ERANGE);
  /* int64: 2^63 passed the range check ((double)INT64_MAX == 2^63) and llround overflowed;
   * integers above 2^53 lost their low bits through the double */
  assert_int_equal(metric_set_from_string(l, "9223372036854775808", 0), SIM_ERANGE);
  assert_int_equal(metric_set_from_string(l, "9.223372036854775808e18", 0), SIM_ERANGE);
  assert_int_equal(metric_set_from_string(l, "9007199254740993", 0), 1);
  assert_true(metric_int64(l) == INT64_C(9007199254740993));
  assert_int_equal(metric_set_from_string(l, "-9223372036854775808", 0), 1);
  assert_true(metric_int64(l) == INT64_MIN);
  /* a date that does not fit an int metric is an error, not a silent clamp to 2038 */
  assert_int_equal(metric_set_from_string(d32, "2040-01-01 00:00:00", 0), SIM_ERANGE);
  assert_int_equal(metric_set_from_string(d32, "2030-01-01 00:00:00", 0), 1);
  assert_int_equal(metric_int(d32), 1893456000);
  sbuf_free(&b);
}

static void stop_cb(struct sim_loop *l, struct sim_timer *tt)
{
  sim_loop_stop(l, 0);
}

static void test_stale_with_clock(void **state)
{
  struct ev_loop *ev = ev_loop_new(EVFLAG_AUTO);
  struct sim_loop *loop = sim_loop_new(ev, SIM_CLOCK_FAST, 1, 0);
  struct metrics *m2 = metrics_new(loop);
  struct metric *spd = metrics_find(m2, "v.p.speed"); /* SM_STALE_MIN = 10 s */
  metric_set_float(spd, 50);
  assert_false(metric_is_stale(spd));
  /* advance virtual time by 11 s with a one-shot timer that stops the loop */
  struct sim_timer t;
  sim_timer_init(&t, stop_cb, NULL);
  sim_timer_start(loop, &t, 11 * SIM_NS_PER_SEC, 0);
  sim_loop_run(loop);
  assert_int_equal(sim_monotonic(loop), 11 * SIM_NS_PER_SEC);
  assert_true(metric_is_stale(spd));
  struct metric *vin = metrics_find(m2, "v.vin"); /* autostale 0: never stale once set */
  metric_set_string(vin, "X");
  assert_false(metric_is_stale(vin));
  metric_set_float(spd, 50); /* same value still refreshes */
  assert_false(metric_is_stale(spd));
  assert_int_equal(spd->lastmodified, 11 * SIM_NS_PER_SEC);
  metrics_free(m2);
  sim_loop_free(loop);
  ev_loop_destroy(ev);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_modified_bits, setup, teardown),
    cmocka_unit_test_setup_teardown(test_defined_states, setup, teardown),
    cmocka_unit_test_setup_teardown(test_listeners, setup, teardown),
    cmocka_unit_test_setup_teardown(test_unlisten_during_dispatch, setup, teardown),
    cmocka_unit_test_setup_teardown(test_unit_conversion_on_input, setup, teardown),
    cmocka_unit_test_setup_teardown(test_set_from_string, setup, teardown),
    cmocka_unit_test_setup_teardown(test_set_from_string_fuzz_findings, setup, teardown),
    cmocka_unit_test(test_stale_with_clock),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
