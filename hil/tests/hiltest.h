/*
 * hiltest.h - helpers shared by the hil tests (hil/tests/test_*.c): frames from and to
 * can-utils "ID#HEX" text (3 hex digits = 11-bit, 8 = 29-bit), a fast-clock loop, running
 * the loop up to a simulation time, and a rig: a module context with a vehicle whose buses 1
 * and 2 are in-memory wires, with a tester's end of each wire that records what it receives
 * and talks ISO-TP through a client link written here (not the simulator's poller).
 *
 * Header-only (static inline) so that it needs no build rule; include after testutil.h.
 */
#ifndef HIL_TESTS_HILTEST_H
#define HIL_TESTS_HILTEST_H

#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "can/bus.h"
#include "core/frame.h"
#include "core/loop.h"
#include "core/sbuf.h"
#include "hil/isotp.h"
#include "model/sim.h"
#include "vehicle/vehicle.h"

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

/* Fails unless value is "v". */
static inline void ht_metric_is(struct sim *sim, const char *name, const char *want)
{
  struct metric *m = metrics_find(sim->metrics, name);
  if (!m)
    fail_msg("no metric %s", name);
  struct sbuf b = SBUF_INIT;
  metric_format(m, NULL, &b);
  if (strcmp(sbuf_str(&b), want))
    fail_msg("%s = '%s', want '%s'", name, sbuf_str(&b), want);
  sbuf_free(&b);
}

static inline void ht_set(struct sim *sim, const char *name, const char *value)
{
  struct metric *m = metrics_find(sim->metrics, name);
  if (!m || metric_set_from_string(m, value, SIM_UNIT_NATIVE) < 0)
    fail_msg("cannot set %s=%s", name, value);
}

struct ht_rig {
  struct ht_loop h;
  struct sim *sim;
  struct sim_canbus *car[2];     /* sim->buses[0], [1] */
  struct sim_canbus *tester[2];  /* the tester's end of each wire */
  struct sbuf seen;              /* "T_US ID#HEX\n" of every frame the tester received */
  struct sbuf got;               /* "T_US HEX\n" of every message the client link received */
  struct isotp_link client;
  bool client_on;
  uint8_t client_bus;            /* 0-based */
};

static inline void ht_rig_rx(void *ctx, struct sim_canbus *bus, const struct sim_frame *f)
{
  struct ht_rig *r = ctx;
  char buf[200];
  sbuf_printf(&r->seen, "%lld %s\n", (long long)(sim_monotonic(r->h.loop) / 1000),
              ht_fmt(f, buf, sizeof buf));
  if (r->client_on && bus == r->tester[r->client_bus])
    isotp_link_input(&r->client, f);
}

static inline int ht_client_send(void *ctx, const struct sim_frame *f)
{
  struct ht_rig *r = ctx;
  return can_bus_send(r->tester[r->client_bus], f);
}

static inline void ht_client_received(void *ctx, struct isotp_link *l, const uint8_t *msg,
                                      size_t len, bool functional)
{
  struct ht_rig *r = ctx;
  (void)l;
  (void)functional;
  char *buf = malloc(2 * len + 3);
  sbuf_printf(&r->got, "%lld %s\n", (long long)(sim_monotonic(r->h.loop) / 1000),
              ht_hex(msg, len, buf, 2 * len + 3));
  free(buf);
}

static const struct isotp_ops ht_client_ops = {ht_client_send, ht_client_received, NULL, NULL};

/* A module with vehicle (NULL = none; "k=v;..." config set once it is attached, as the
 * vehicle declares its keys), buses 1 and 2 on fresh mem wires. */
static inline void ht_rig_open(struct ht_rig *r, const char *vehicle, const char *config)
{
  static int wire;
  memset(r, 0, sizeof *r);
  ht_open(&r->h);
  r->sim = sim_new(r->h.loop, NULL, 1);
  struct sim_diag d = SIM_DIAG_INIT;
  if (vehicle) {
    struct vehicle_opts o = {VEHICLE_F_NOTICKER, NULL};
    if (vehicle_attach_opts(r->sim, vehicle, &o, &d) != 0)
      fail_msg("attach %s", vehicle);
  }
  if (config && *config) {
    char *dup = strdup(config), *save = NULL;
    for (char *tok = strtok_r(dup, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
      char *eq = strchr(tok, '=');
      *eq = 0;
      struct sim_diag e = SIM_DIAG_INIT;
      if (sim_config_set_key(r->sim->config, tok, eq + 1, &e) < 0)
        fail_msg("config %s: %s", tok, sim_diag_last(&e));
      sim_diag_cleanup(&e);
    }
    free(dup);
  }
  wire++;
  for (int b = 0; b < 2; b++) {
    char spec[48];
    snprintf(spec, sizeof spec, "mem:ht%d-%d", wire, b + 1);
    assert_int_equal(can_bus_new(&r->car[b], r->h.loop, spec, (uint8_t)(b + 1), &d), 0);
    assert_int_equal(can_bus_new(&r->tester[b], r->h.loop, spec, (uint8_t)(b + 1), &d), 0);
    assert_int_equal(can_bus_start(r->car[b]), 0);
    assert_int_equal(can_bus_start(r->tester[b]), 0);
    can_bus_set_rx(r->tester[b], ht_rig_rx, r);
    r->sim->buses[b] = r->car[b];
  }
  if (r->sim->vehicle)
    vehicle_listen_buses(r->sim->vehicle);
}

static inline void ht_rig_close(struct ht_rig *r)
{
  if (r->client_on)
    isotp_link_cleanup(&r->client);
  sim_free(r->sim);
  for (int b = 0; b < 2; b++) {
    can_bus_close(r->car[b]);
    can_bus_close(r->tester[b]);
  }
  sbuf_free(&r->seen);
  sbuf_free(&r->got);
  ht_close(&r->h);
}

/* Points the client link at tx -> rx on bus (1-based), padding pad. */
static inline void ht_client(struct ht_rig *r, int bus, uint32_t tx, uint32_t rx, int pad)
{
  if (r->client_on)
    isotp_link_cleanup(&r->client);
  struct isotp_config c;
  isotp_config_default(&c, tx, rx);
  c.pad = pad;
  c.fc_pad = 0;
  r->client_bus = (uint8_t)(bus - 1);
  assert_int_equal(isotp_link_init(&r->client, r->h.loop, &c, &ht_client_ops, r), 0);
  r->client_on = true;
}

/* Sends the hex request through the client and runs the loop for ms of virtual time.  Returns
 * the messages received meanwhile ("HEX\n" each, times dropped), in a static buffer. */
static inline const char *ht_ask(struct ht_rig *r, const char *hex, int ms)
{
  uint8_t req[ISOTP_MAX_LEN];
  size_t n = 0;
  for (const char *p = hex; p[0] && p[1]; p += 2) {
    char x[3] = {p[0], p[1], 0};
    req[n++] = (uint8_t)strtoul(x, NULL, 16);
  }
  sbuf_reset(&r->got);
  assert_int_equal(isotp_link_send(&r->client, req, n), 0);
  ht_run_until(&r->h, sim_monotonic(r->h.loop) + ms * SIM_NS_PER_MS);
  static char out[16384];
  size_t o = 0;
  const char *s = sbuf_str(&r->got);
  while (*s && o + 2 < sizeof out) {
    const char *sp = strchr(s, ' ');
    const char *nl = strchr(s, '\n');
    for (const char *q = sp + 1; q <= nl && o + 2 < sizeof out; q++)
      out[o++] = *q;
    s = nl + 1;
  }
  out[o] = 0;
  return out;
}

#endif
