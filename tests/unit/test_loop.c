/*
 * test_loop.c - the simulation clock: virtual time ordering and determinism, repeat timers,
 * stop/restart, epoch arithmetic, and real time at a speed factor (only ordering is asserted
 * in real time: no timing thresholds).
 */
#include "testutil.h"

#include <ev.h>
#include <string.h>

#include "core/loop.h"

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

struct precise {
  struct sim_loop *l;
  int n;
  int order[32];
  int64_t sched[32], sim_at[32], wall_at[32];
};

struct precise_timer {
  struct sim_timer t;
  struct precise *p;
  int idx;
  int64_t at;
};

static void on_precise(struct sim_loop *l, struct sim_timer *t)
{
  struct precise_timer *pt = t->data;
  struct precise *p = pt->p;
  p->order[p->n] = pt->idx;
  p->sched[p->n] = pt->at;
  p->sim_at[p->n] = sim_monotonic(l);
  p->wall_at[p->n] = sim_wall_ns();
  p->n++;
}

/* Precise timers (arm early, spin to the deadline): every timer fires in deadline order and
 * never before its time, also when deadlines are closer together than the slack. */
static void test_real_precise(void **state)
{
  (void)state;
  struct ev_loop *ev = ev_loop_new(EVFLAG_AUTO);
  struct sim_loop *l = sim_loop_new(ev, SIM_CLOCK_REAL, 1, 0);
  assert_int_equal(sim_loop_precision(l), 0); /* off by default */
  sim_loop_set_precision(l, -5);
  assert_int_equal(sim_loop_precision(l), 0);
  sim_loop_set_precision(l, 200000);
  assert_int_equal(sim_loop_precision(l), 200000);
  struct precise p = {.l = l};
  struct precise_timer pt[24];
  /* 1 ms .. ~9 ms; pairs 30 µs apart (inside the slack), started out of order */
  for (int i = 0; i < 24; i++) {
    int k = (i * 7) % 24;
    pt[i].p = &p;
    pt[i].idx = k;
    pt[i].at = SIM_NS_PER_MS + (int64_t)(k / 2) * 700000 + (int64_t)(k % 2) * 30000;
    sim_timer_init(&pt[i].t, on_precise, &pt[i]);
    sim_timer_start_at(l, &pt[i].t, pt[i].at, 0);
  }
  assert_int_equal(sim_loop_run(l), 0);
  assert_int_equal(p.n, 24);
  int64_t worst = 0;
  for (int i = 0; i < 24; i++) {
    assert_int_equal(p.order[i], i);
    assert_true(p.sim_at[i] >= p.sched[i]);
    assert_true(p.wall_at[i] >= sim_loop_wall_deadline(l, p.sched[i]));
    if (p.sim_at[i] - p.sched[i] > worst)
      worst = p.sim_at[i] - p.sched[i];
  }
  print_message("precise timers: worst lateness %.1f us (printed, not asserted)\n",
                (double)worst / 1e3);
  sim_loop_free(l);
  /* virtual time has no use for it */
  l = sim_loop_new(ev, SIM_CLOCK_FAST, 1, 0);
  sim_loop_set_precision(l, 200000);
  assert_int_equal(sim_loop_precision(l), 0);
  sim_loop_free(l);
  ev_loop_destroy(ev);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_fast_order),
    cmocka_unit_test(test_fast_deterministic),
    cmocka_unit_test(test_real_speed),
    cmocka_unit_test(test_real_precise),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
