/*
 * test_events.c - event bus: pattern listeners, FIFO order of nested raises, unlisten during
 * dispatch; and the housekeeping events raised from metric changes (V3/main/ovms_events.cpp;
 * docs/source/userguide/events.rst of the firmware repository).
 */
#include "testutil.h"

#include <ev.h>
#include <string.h>

#include "model/events.h"
#include "vehicle/housekeeping.h"
#include "model/sim.h"

struct log {
  char s[2048];
  size_t n;
  struct sim_events *ev;
};

static void rec(void *ctx, const char *name, const char *data)
{
  struct log *l = ctx;
  l->n += (size_t)snprintf(l->s + l->n, sizeof(l->s) - l->n, "%s%s%s ", name, data ? "=" : "",
                           data ? data : "");
}

static void nested(void *ctx, const char *name, const char *data)
{
  struct log *l = ctx;
  sim_events_raise(l->ev, "b.second", NULL);
  rec(ctx, "nested", NULL);
}

static void test_bus(void **state)
{
  struct sim_events *ev = sim_events_new();
  struct log all = {.ev = ev}, only_b = {.ev = ev}, nest = {.ev = ev};
  sim_events_listen(ev, "*", rec, &all);
  sim_events_listen(ev, "b.*", rec, &only_b);
  sim_events_listen(ev, "a.first", nested, &nest);
  sim_events_raise(ev, "a.first", "x");
  /* b.second, raised inside a listener of a.first, is delivered after a.first completes */
  assert_string_equal(all.s, "a.first=x b.second ");
  assert_string_equal(only_b.s, "b.second ");
  assert_string_equal(nest.s, "nested ");
  sim_events_unlisten(ev, rec, &all);
  sim_events_raise(ev, "b.third", NULL);
  assert_string_equal(all.s, "a.first=x b.second ");
  assert_int_equal(sim_events_count(ev), 3);
  sim_events_free(ev);
}

static void stop(struct sim_loop *l, struct sim_timer *t)
{
  sim_loop_stop(l, 0);
}

static void test_vehicle_events(void **state)
{
  struct ev_loop *evl = ev_loop_new(EVFLAG_AUTO);
  struct sim_loop *loop = sim_loop_new(evl, SIM_CLOCK_FAST, 1, 1700000000 * SIM_NS_PER_SEC);
  struct sim *sim = sim_new(loop, NULL, 1);
  struct log l = {.ev = sim->events};
  sim_events_listen(sim->events, "vehicle.*", rec, &l);
  housekeeping_start(sim);
  struct metrics *ms = sim->metrics;
  metric_set_bool(metrics_find(ms, "v.e.on"), false); /* first definition, no change */
  metric_set_bool(metrics_find(ms, "v.e.on"), true);
  metric_set_bool(metrics_find(ms, "v.e.on"), true); /* unchanged */
  metric_set_bool(metrics_find(ms, "v.d.cp"), true);
  metric_set_bool(metrics_find(ms, "v.c.charging"), true);
  metric_set_string(metrics_find(ms, "v.c.state"), "charging");
  metric_set_bool(metrics_find(ms, "v.c.charging"), false);
  metric_set_bool(metrics_find(ms, "v.d.cp"), false);
  metric_set_int(metrics_find(ms, "v.e.gear"), -1);
  metric_set_int(metrics_find(ms, "v.e.drivemode"), 2);
  metric_set_bool(metrics_find(ms, "v.e.locked"), true);
  assert_string_equal(l.s, "vehicle.on vehicle.charge.prepare vehicle.charge.start "
                           "vehicle.charge.state vehicle.charge.stop vehicle.charge.finish "
                           "vehicle.gear.reverse vehicle.drivemode.2 vehicle.locked ");
  /* charge stop stamps v.c.timestamp; 1 Hz housekeeping keeps time metrics */
  assert_int_equal(metric_int64(metrics_find(ms, "v.c.timestamp")), 1700000000);
  struct sim_timer t;
  sim_timer_init(&t, stop, NULL);
  sim_timer_start(loop, &t, 5 * SIM_NS_PER_SEC + 1, 0);
  sim_loop_run(loop);
  assert_int_equal(metric_int(metrics_find(ms, "m.monotonic")), 5);
  assert_int_equal(metric_int64(metrics_find(ms, "m.time.utc")), 1700000005);
  assert_int_equal(metric_int(metrics_find(ms, "v.e.drivetime")), 5);
  struct sbuf b = SBUF_INIT;
  metric_format(metrics_find(ms, "m.time.utc"), NULL, &b);
  assert_string_equal(sbuf_str(&b), "2023-11-14 22:13:25 UTC");
  sbuf_free(&b);
  sim_free(sim);
  sim_loop_free(loop);
  ev_loop_destroy(evl);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_bus),
    cmocka_unit_test(test_vehicle_events),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
