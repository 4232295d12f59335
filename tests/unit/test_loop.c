/*
 * test_loop.c - the simulation clock: virtual time ordering and determinism, repeat timers,
 * stop/restart, epoch arithmetic, and real time at a speed factor (only ordering is asserted
 * in real time: no timing thresholds).
 */
#include "testutil.h"

#include <ev.h>
#include <string.h>

#include "loop.h"

struct rec {
  char log[512];
  size_t len;
  int64_t at[64];
  int n;
  int stop_after;
  struct sim_timer *cancel;
};

struct named {
  struct rec *r;
  char name[8];
};

static void on_timer(struct sim_loop *l, struct sim_timer *t)
{
  struct named *nm = t->data;
  struct rec *r = nm->r;
  const char *name = nm->name;
  r->len += (size_t)snprintf(r->log + r->len, sizeof(r->log) - r->len, "%s@%lld ", name,
                             (long long)(sim_monotonic(l) / SIM_NS_PER_MS));
  if (r->n < 64)
    r->at[r->n++] = sim_monotonic(l);
  if (r->cancel) {
    sim_timer_stop(l, r->cancel);
    r->cancel = NULL;
  }
  if (r->stop_after && r->n >= r->stop_after)
    sim_loop_stop(l, 0);
}

static void test_fast_order(void **state)
{
  struct ev_loop *ev = ev_loop_new(EVFLAG_AUTO);
  struct sim_loop *l = sim_loop_new(ev, SIM_CLOCK_FAST, 1, 1000 * SIM_NS_PER_SEC);
  struct rec r = {.stop_after = 0};
  struct named a = {&r, "a"}, b = {&r, "b"}, c = {&r, "c"}, d = {&r, "d"};
  struct sim_timer ta, tb, tc, td;
  sim_timer_init(&ta, on_timer, &a);
  sim_timer_init(&tb, on_timer, &b);
  sim_timer_init(&tc, on_timer, &c);
  sim_timer_init(&td, on_timer, &d);
  sim_timer_start(l, &ta, 300 * SIM_NS_PER_MS, 0);
  sim_timer_start(l, &tb, 100 * SIM_NS_PER_MS, 250 * SIM_NS_PER_MS); /* repeats */
  sim_timer_start(l, &tc, 300 * SIM_NS_PER_MS, 0); /* same time as a: fires after a */
  sim_timer_start(l, &td, 700 * SIM_NS_PER_MS, 0);
  r.stop_after = 7;
  assert_int_equal(sim_loop_run(l), 0);
  assert_string_equal(r.log, "b@100 a@300 c@300 b@350 b@600 d@700 b@850 ");
  assert_int_equal(sim_now(l), 1000 * SIM_NS_PER_SEC + 850 * SIM_NS_PER_MS);
  assert_int_equal(sim_now_sec(l), 1000);
  /* a stopped timer never fires; the loop ends when no timer is left */
  sim_timer_stop(l, &tb);
  assert_false(sim_timer_active(&tb));
  r.len = 0;
  r.log[0] = 0;
  r.stop_after = 0;
  sim_timer_start(l, &ta, SIM_NS_PER_SEC, 0);
  sim_timer_start(l, &tc, 2 * SIM_NS_PER_SEC, 0);
  r.cancel = &tc; /* a cancels c from its callback */
  assert_int_equal(sim_loop_run(l), 0);
  assert_string_equal(r.log, "a@1850 ");
  sim_loop_free(l);
  ev_loop_destroy(ev);
}

static void run_once(char *out, size_t len)
{
  struct ev_loop *ev = ev_loop_new(EVFLAG_AUTO);
  struct sim_loop *l = sim_loop_new(ev, SIM_CLOCK_FAST, 1, 0);
  struct rec r = {.stop_after = 40};
  struct named n[5];
  struct sim_timer t[5];
  for (int i = 0; i < 5; i++) {
    n[i].r = &r;
    snprintf(n[i].name, sizeof(n[i].name), "t%d", i);
    sim_timer_init(&t[i], on_timer, &n[i]);
    sim_timer_start(l, &t[i], (i + 1) * 7 * SIM_NS_PER_MS, (5 - i) * 3 * SIM_NS_PER_MS);
  }
  sim_loop_run(l);
  snprintf(out, len, "%s", r.log);
  sim_loop_free(l);
  ev_loop_destroy(ev);
}

static void test_fast_deterministic(void **state)
{
  char a[512], b[512];
  run_once(a, sizeof(a));
  run_once(b, sizeof(b));
  assert_true(strlen(a) > 100);
  assert_string_equal(a, b);
}

static void test_real_speed(void **state)
{
  struct ev_loop *ev = ev_loop_new(EVFLAG_AUTO);
  /* 100x: 2 simulated seconds take about 20 ms of wall time */
  struct sim_loop *l = sim_loop_new(ev, SIM_CLOCK_REAL, 100, 0);
  struct rec r = {.stop_after = 3};
  struct named a = {&r, "a"};
  struct sim_timer ta;
  sim_timer_init(&ta, on_timer, &a);
  int64_t w0 = sim_wall_ns();
  sim_timer_start(l, &ta, SIM_NS_PER_SEC, SIM_NS_PER_SEC / 2);
  assert_int_equal(sim_loop_run(l), 0);
  int64_t wall = sim_wall_ns() - w0;
  assert_int_equal(r.n, 3);
  /* Never early: each firing at or after its scheduled simulation time. */
  assert_true(r.at[0] >= SIM_NS_PER_SEC);
  assert_true(r.at[1] >= 3 * SIM_NS_PER_SEC / 2);
  assert_true(r.at[2] >= 2 * SIM_NS_PER_SEC);
  assert_true(wall >= 2 * SIM_NS_PER_SEC / 100);
  print_message("real time x100: 2 s simulated in %.1f ms wall, lateness of last %.3f ms\n",
                (double)wall / 1e6, (double)(r.at[2] - 2 * SIM_NS_PER_SEC) / 1e6);
  sim_loop_free(l);
  ev_loop_destroy(ev);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_fast_order),
    cmocka_unit_test(test_fast_deterministic),
    cmocka_unit_test(test_real_speed),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
