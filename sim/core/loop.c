/*
 * loop.c - simulation clock and timers (see loop.h).
 *
 * Timers sit in one binary min-heap ordered by (expiry, start sequence).  In real mode a
 * CLOCK_MONOTONIC timerfd, watched by an ev_io, is armed with the absolute wall deadline of the
 * earliest timer (or, with a precision slack set, that much earlier: the timerfd callback then
 * spins on the clock until the timer is due).  In fast mode the run loop itself pops timers and
 * sets the virtual clock, polling libev for ready I/O between them.
 */
#include "core/loop.h"

#include <errno.h>
#include <ev.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "core/xalloc.h"

#define HOLD_TIMEOUT_NS (10 * SIM_NS_PER_SEC)
#define FAST_POLL_EVERY 256

struct sim_loop {
  struct ev_loop *ev;
  enum sim_clock_mode mode;
  double speed;
  int64_t epoch;      /* UTC ns at monotonic 0 */
  int64_t wall_start; /* CLOCK_MONOTONIC ns at monotonic 0 (real mode) */
  int64_t vnow;       /* virtual monotonic ns (fast mode) */
  struct sim_timer **heap;
  size_t n, cap;
  uint64_t seq;
  int tfd;
  ev_io tio;
  ev_timer hold_guard;
  int holds;
  int64_t slack;      /* precise mode: arm the timerfd this many ns early, then spin */
  bool stop;
  int status;
  uint64_t late[SIM_LATE_BUCKETS]; /* real mode: fired timers by lateness, log2 µs buckets */
  int64_t late_max;                /* ns of wall time */
};

int64_t sim_wall_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * SIM_NS_PER_SEC + ts.tv_nsec;
}

static bool before(const struct sim_timer *a, const struct sim_timer *b)
{
  return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static void place(struct sim_loop *l, size_t i, struct sim_timer *t)
{
  l->heap[i] = t;
  t->heap_idx = (int64_t)i;
}

static void sift_up(struct sim_loop *l, size_t i)
{
  struct sim_timer *t = l->heap[i];
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (!before(t, l->heap[p]))
      break;
    place(l, i, l->heap[p]);
    i = p;
  }
  place(l, i, t);
}

static void sift_down(struct sim_loop *l, size_t i)
{
  struct sim_timer *t = l->heap[i];
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= l->n)
      break;
    if (c + 1 < l->n && before(l->heap[c + 1], l->heap[c]))
      c++;
    if (!before(l->heap[c], t))
      break;
    place(l, i, l->heap[c]);
    i = c;
  }
  place(l, i, t);
}

static void heap_remove(struct sim_loop *l, struct sim_timer *t)
{
  size_t i = (size_t)t->heap_idx;
  t->heap_idx = -1;
  l->n--;
  if (i == l->n)
    return;
  struct sim_timer *last = l->heap[l->n];
  place(l, i, last);
  if (i > 0 && before(last, l->heap[(i - 1) / 2]))
    sift_up(l, i);
  else
    sift_down(l, i);
}

int64_t sim_loop_wall_deadline(const struct sim_loop *l, int64_t t)
{
  return l->wall_start + (int64_t)((double)t / l->speed);
}

static void arm(struct sim_loop *l)
{
  if (l->mode != SIM_CLOCK_REAL)
    return;
  struct itimerspec its;
  memset(&its, 0, sizeof(its));
  if (l->n) {
    int64_t d = sim_loop_wall_deadline(l, l->heap[0]->at) - l->slack;
    if (d <= 0)
      d = 1;
    its.it_value.tv_sec = d / SIM_NS_PER_SEC;
    its.it_value.tv_nsec = d % SIM_NS_PER_SEC;
    if (!ev_is_active(&l->tio))
      ev_io_start(l->ev, &l->tio);
  } else if (ev_is_active(&l->tio)) {
    ev_io_stop(l->ev, &l->tio);
  }
  timerfd_settime(l->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* Fires every timer due at or before `now`. */
static void fire_due(struct sim_loop *l, int64_t now)
{
  while (l->n && l->heap[0]->at <= now && !l->stop) {
    struct sim_timer *t = l->heap[0];
    if (l->mode == SIM_CLOCK_REAL) {
      sim_lateness_add(l->late, &l->late_max,
                       (int64_t)((double)(sim_monotonic(l) - t->at) / l->speed));
    }
    if (t->repeat > 0) {
      t->at += t->repeat;
      if (t->at <= now && l->mode == SIM_CLOCK_REAL) /* we fell behind: skip, don't burst */
        t->at = now + t->repeat - (now - t->at) % t->repeat;
      t->seq = ++l->seq;
      sift_down(l, 0);
    } else {
      heap_remove(l, t);
    }
    t->cb(l, t);
  }
}

/* Precise mode: spins until the earliest timer is due, if it is due within the slack.  The
 * spin is bounded by the slack (plus a margin) whatever the clock does. */
static void spin_until_due(struct sim_loop *l)
{
  if (!l->slack || !l->n)
    return;
  int64_t at = l->heap[0]->at;
  int64_t now = sim_monotonic(l);
  if (now >= at || sim_loop_wall_deadline(l, at) - sim_wall_ns() > l->slack)
    return; /* due already, or woken too early (not our wake-up): wait in the kernel again */
  int64_t limit = sim_wall_ns() + l->slack + 100000;
  while (sim_monotonic(l) < at && sim_wall_ns() < limit)
    ;
}

static void on_tfd(struct ev_loop *ev, ev_io *w, int revents)
{
  struct sim_loop *l = w->data;
  uint64_t exp;
  if (read(l->tfd, &exp, sizeof(exp)) < 0 && errno != EAGAIN)
    return;
  spin_until_due(l);
  fire_due(l, sim_monotonic(l));
  arm(l);
}

static void on_hold_guard(struct ev_loop *ev, ev_timer *w, int revents)
{
  /* Nothing to do: waking up is the point (the fast loop then advances anyway). */
}

struct sim_loop *sim_loop_new(struct ev_loop *ev, enum sim_clock_mode mode, double speed,
                              int64_t epoch_ns)
{
  struct sim_loop *l = xcalloc(1, sizeof(*l));
  l->ev = ev;
  l->mode = mode;
  l->speed = speed > 0 ? speed : 1.0;
  l->epoch = epoch_ns;
  l->wall_start = sim_wall_ns();
  l->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  ev_io_init(&l->tio, on_tfd, l->tfd, EV_READ);
  l->tio.data = l;
  ev_timer_init(&l->hold_guard, on_hold_guard, 0., 0.);
  return l;
}

void sim_loop_free(struct sim_loop *l)
{
  if (!l)
    return;
  if (ev_is_active(&l->tio))
    ev_io_stop(l->ev, &l->tio);
  if (ev_is_active(&l->hold_guard))
    ev_timer_stop(l->ev, &l->hold_guard);
  for (size_t i = 0; i < l->n; i++)
    l->heap[i]->heap_idx = -1;
  if (l->tfd >= 0)
    close(l->tfd);
  free(l->heap);
  free(l);
}

struct ev_loop *sim_loop_ev(struct sim_loop *l)
{
  return l->ev;
}

enum sim_clock_mode sim_loop_mode(const struct sim_loop *l)
{
  return l->mode;
}

double sim_loop_speed(const struct sim_loop *l)
{
  return l->speed;
}

int64_t sim_monotonic(const struct sim_loop *l)
{
  if (l->mode == SIM_CLOCK_FAST)
    return l->vnow;
  int64_t w = sim_wall_ns() - l->wall_start;
  return l->speed == 1.0 ? w : (int64_t)((double)w * l->speed);
}

int64_t sim_now(const struct sim_loop *l)
{
  return l->epoch + sim_monotonic(l);
}

int64_t sim_now_sec(const struct sim_loop *l)
{
  int64_t n = sim_now(l);
  return n >= 0 ? n / SIM_NS_PER_SEC : -((-n + SIM_NS_PER_SEC - 1) / SIM_NS_PER_SEC);
}

void sim_timer_init(struct sim_timer *t, sim_timer_fn cb, void *data)
{
  memset(t, 0, sizeof(*t));
  t->cb = cb;
  t->data = data;
  t->heap_idx = -1;
}

void sim_timer_start_at(struct sim_loop *l, struct sim_timer *t, int64_t at, int64_t repeat)
{
  if (t->heap_idx >= 0)
    heap_remove(l, t);
  t->at = at;
  t->repeat = repeat > 0 ? repeat : 0;
  t->seq = ++l->seq;
  xgrow((void **)&l->heap, &l->cap, l->n + 1, sizeof(*l->heap));
  l->heap[l->n] = t;
  t->heap_idx = (int64_t)l->n;
  l->n++;
  sift_up(l, l->n - 1);
  if (l->heap[0] == t)
    arm(l);
}

void sim_timer_start(struct sim_loop *l, struct sim_timer *t, int64_t after, int64_t repeat)
{
  sim_timer_start_at(l, t, sim_monotonic(l) + (after > 0 ? after : 0), repeat);
}

void sim_timer_stop(struct sim_loop *l, struct sim_timer *t)
{
  if (t->heap_idx < 0)
    return;
  bool was_first = l->heap[0] == t;
  heap_remove(l, t);
  if (was_first)
    arm(l);
}

void sim_loop_set_precision(struct sim_loop *l, int64_t slack_ns)
{
  l->slack = slack_ns > 0 ? slack_ns : 0;
  if (l->mode == SIM_CLOCK_FAST)
    l->slack = 0; /* virtual time has nothing to wait for */
  arm(l);
}

int64_t sim_loop_precision(const struct sim_loop *l)
{
  return l->slack;
}

void sim_loop_hold(struct sim_loop *l, int delta)
{
  l->holds += delta;
  if (l->holds < 0)
    l->holds = 0;
}

void sim_loop_stop(struct sim_loop *l, int status)
{
  if (!l->stop)
    l->status = status;
  l->stop = true;
  ev_break(l->ev, EVBREAK_ALL);
}

bool sim_loop_stopping(const struct sim_loop *l)
{
  return l->stop;
}

static int run_fast(struct sim_loop *l)
{
  unsigned since_poll = 0;
  while (!l->stop) {
    if (l->holds > 0) {
      /* Wait for the network, but not forever. */
      int64_t start = sim_wall_ns();
      while (l->holds > 0 && !l->stop && sim_wall_ns() - start < HOLD_TIMEOUT_NS) {
        ev_timer_set(&l->hold_guard, 0.05, 0.);
        ev_timer_start(l->ev, &l->hold_guard);
        ev_run(l->ev, EVRUN_ONCE);
        ev_timer_stop(l->ev, &l->hold_guard);
      }
      since_poll = 0;
    } else if (++since_poll >= FAST_POLL_EVERY) {
      ev_run(l->ev, EVRUN_NOWAIT);
      since_poll = 0;
    }
    if (l->stop)
      break;
    if (l->n == 0) {
      /* No timer left: anything else pending (a socket)?  Block on it; else done. */
      ev_run(l->ev, EVRUN_NOWAIT);
      if (l->n == 0 && !l->stop) {
        if (ev_pending_count(l->ev) == 0 && l->holds == 0)
          break;
      }
      continue;
    }
    struct sim_timer *t = l->heap[0];
    if (t->at > l->vnow)
      l->vnow = t->at;
    fire_due(l, l->vnow);
  }
  return l->status;
}

int sim_loop_run(struct sim_loop *l)
{
  l->stop = false;
  if (l->mode == SIM_CLOCK_FAST)
    return run_fast(l);
  arm(l);
  while (!l->stop) {
    if (!ev_run(l->ev, 0))
      break; /* no active watcher left */
  }
  return l->status;
}

uint64_t sim_loop_lateness(const struct sim_loop *loop, uint64_t buckets[SIM_LATE_BUCKETS],
                           int64_t *max_ns)
{
  uint64_t n = 0;
  for (int i = 0; i < SIM_LATE_BUCKETS; i++) {
    if (buckets)
      buckets[i] = loop->late[i];
    n += loop->late[i];
  }
  if (max_ns)
    *max_ns = loop->late_max;
  return n;
}

void sim_lateness_add(uint64_t buckets[SIM_LATE_BUCKETS], int64_t *max_ns, int64_t ns)
{
  if (ns < 0)
    ns = 0;
  int b = 0;
  for (int64_t us = ns / 1000; us > 0 && b < SIM_LATE_BUCKETS - 1; us >>= 1)
    b++;
  buckets[b]++;
  if (ns > *max_ns)
    *max_ns = ns;
}

int64_t sim_lateness_quantile(const uint64_t buckets[SIM_LATE_BUCKETS], double q)
{
  uint64_t n = 0, seen = 0;
  for (int i = 0; i < SIM_LATE_BUCKETS; i++)
    n += buckets[i];
  if (!n)
    return 0;
  uint64_t want = (uint64_t)(q * (double)n);
  for (int i = 0; i < SIM_LATE_BUCKETS; i++) {
    seen += buckets[i];
    if (seen > want)
      return i == 0 ? 1000 : (INT64_C(1000) << i);
  }
  return INT64_C(1000) << (SIM_LATE_BUCKETS - 1);
}
