/*
 * hiltest.h - helpers shared by the hil tests (hil/tests/test_*.c): frames from and to
 * can-utils "ID#HEX" text (3 hex digits = 11-bit, 8 = 29-bit), a fast-clock loop, and running
 * the loop up to a simulation time.
 *
 * Header-only (static inline) so that it needs no build rule; include after testutil.h.
 */
#ifndef HIL_TESTS_HILTEST_H
#define HIL_TESTS_HILTEST_H

#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/frame.h"
#include "core/loop.h"

/* Parses "7E8#0462F19001" into f.  Fails the test on bad text. */
static inline void ht_frame(const char *s, struct sim_frame *f)
{
  memset(f, 0, sizeof *f);
  const char *hash = strchr(s, '#');
  if (!hash)
    fail_msg("bad frame text %s", s);
  char *end;
  f->id = (uint32_t)strtoul(s, &end, 16);
  if (end != hash)
    fail_msg("bad frame id %s", s);
  if (hash - s > 3)
    f->flags |= SIM_CAN_F_EXT;
  const char *p = hash + 1;
  while (p[0] && p[1] && f->len < SIM_CAN_MAX_DLEN) {
    char b[3] = {p[0], p[1], 0};
    f->data[f->len++] = (uint8_t)strtoul(b, &end, 16);
    if (*end)
      fail_msg("bad frame data %s", s);
    p += 2;
  }
}

/* Formats f as "ID#HEX" into buf (at least 160 bytes).  Returns buf. */
static inline char *ht_fmt(const struct sim_frame *f, char *buf, size_t cap)
{
  int n = snprintf(buf, cap, sim_frame_is_ext(f) ? "%08X#" : "%03X#", (unsigned)f->id);
  for (unsigned i = 0; i < f->len && n + 3 < (int)cap; i++)
    n += snprintf(buf + n, cap - (size_t)n, "%02X", f->data[i]);
  return buf;
}

/* Hex of bytes into buf.  Returns buf. */
static inline char *ht_hex(const uint8_t *b, size_t len, char *buf, size_t cap)
{
  size_t n = 0;
  buf[0] = 0;
  for (size_t i = 0; i < len && n + 3 < cap; i++)
    n += (size_t)snprintf(buf + n, cap - n, "%02X", b[i]);
  return buf;
}

struct ht_loop {
  struct ev_loop *ev;
  struct sim_loop *loop;
  struct sim_timer stop;
};

static inline void ht_stop_cb(struct sim_loop *loop, struct sim_timer *t)
{
  (void)t;
  sim_loop_stop(loop, 0);
}

/* A fast (virtual time) loop starting at 2024-06-01 08:00:00 UTC. */
static inline void ht_open(struct ht_loop *h)
{
  h->ev = ev_loop_new(EVFLAG_AUTO);
  h->loop = sim_loop_new(h->ev, SIM_CLOCK_FAST, 1.0, INT64_C(1717228800) * SIM_NS_PER_SEC);
  sim_timer_init(&h->stop, ht_stop_cb, h);
}

static inline void ht_close(struct ht_loop *h)
{
  sim_loop_free(h->loop);
  ev_loop_destroy(h->ev);
}

/* Runs the loop until simulation monotonic time `at` (timers due at `at` have fired). */
static inline void ht_run_until(struct ht_loop *h, int64_t at)
{
  sim_timer_start_at(h->loop, &h->stop, at, 0);
  sim_loop_run(h->loop);
  sim_timer_stop(h->loop, &h->stop);
}

#endif
