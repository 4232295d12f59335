/*
 * vtest.h - helpers shared by the vehicle tests (vehicles/<car>/tests/test_<car>.c): a module
 * context with a vehicle attached, frames from text, golden-frame tables with expected metric
 * payloads, encode -> decode round trips, and CRTD lines of trace excerpts (through the
 * project's CRTD codec).
 *
 * Header-only (static inline) so that it needs no build rule; include after testutil.h.
 */
#ifndef VEHICLES_VTEST_H
#define VEHICLES_VTEST_H

#include <ev.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "core/loop.h"
#include "model/metrics.h"
#include "core/sbuf.h"
#include "model/sim.h"
#include "trace/trace.h"
#include "vehicle/vehicle.h"

struct vt {
  struct ev_loop *ev;
  struct sim_loop *loop;
  struct sim *sim;
  struct vehicle *v;
};

/* Sets "param.instance=value;..." config keys (may be NULL or ""). */
static inline void vt_config(struct vt *t, const char *kv)
{
  if (!kv || !*kv)
    return;
  char *dup = strdup(kv), *save = NULL;
  for (char *tok = strtok_r(dup, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
    char *eq = strchr(tok, '=');
    assert_non_null(eq);
    *eq = 0;
    struct sim_diag e = SIM_DIAG_INIT;
    int rc = sim_config_set_key(t->sim->config, tok, eq + 1, &e);
    if (rc < 0)
      fail_msg("config %s=%s: %s", tok, eq + 1, sim_diag_last(&e));
    sim_diag_cleanup(&e);
  }
  free(dup);
}

/* A fast-clock module with vehicle `name` attached (ticker not started unless ticker).
 * config is applied before the vehicle attaches. */
static inline void vt_open_opts(struct vt *t, const char *name, const char *config,
                                unsigned flags, const char *map)
{
  memset(t, 0, sizeof *t);
  t->ev = ev_loop_new(EVFLAG_AUTO);
  t->loop = sim_loop_new(t->ev, SIM_CLOCK_FAST, 1.0, INT64_C(1600000000) * SIM_NS_PER_SEC);
  t->sim = sim_new(t->loop, NULL, 1);
  struct sim_diag d = SIM_DIAG_INIT;
  struct vehicle_opts o = {flags, map};
  int rc = vehicle_attach_opts(t->sim, name, &o, &d);
  if (rc < 0) {
    struct sbuf b = SBUF_INIT;
    if (d.n)
      sim_diag_format(&d.v[0], &b);
    fail_msg("attach %s: %d %s", name, rc, sbuf_str(&b));
  }
  sim_diag_cleanup(&d);
  t->v = t->sim->vehicle;
  vt_config(t, config);
}

static inline void vt_open(struct vt *t, const char *name, const char *config)
{
  vt_open_opts(t, name, config, VEHICLE_F_NOTICKER, NULL);
}

static inline void vt_close(struct vt *t)
{
  sim_free(t->sim);
  sim_loop_free(t->loop);
  ev_loop_destroy(t->ev);
  memset(t, 0, sizeof *t);
}

static inline struct metric *vt_m(struct vt *t, const char *name)
{
  struct metric *m = metrics_find(t->sim->metrics, name);
  if (!m)
    fail_msg("no metric %s", name);
  return m;
}

/* The metric's payload (AsString()), in a static buffer. */
static inline const char *vt_str(struct vt *t, const char *name)
{
  static char buf[512];
  struct sbuf b = SBUF_INIT;
  metric_format(vt_m(t, name), NULL, &b);
  snprintf(buf, sizeof buf, "%s", sbuf_str(&b));
  sbuf_free(&b);
  return buf;
}

static inline double vt_f(struct vt *t, const char *name)
{
  return metric_float(vt_m(t, name));
}

static inline bool vt_b(struct vt *t, const char *name)
{
  return metric_bool(vt_m(t, name));
}

/* Parses "BUS ID b0 b1 ..." (hex id and bytes; an id longer than 3 digits is 29-bit).
 * Returns 0 or -1. */
static inline int vt_parse_frame(const char *s, struct sim_frame *f)
{
  memset(f, 0, sizeof *f);
  char *end;
  long bus = strtol(s, &end, 10);
  if (end == s)
    return -1;
  s = end;
  while (*s == ' ')
    s++;
  const char *idstart = s;
  unsigned long id = strtoul(s, &end, 16);
  if (end == s)
    return -1;
  if (end - idstart > 3)
    f->flags |= SIM_CAN_F_EXT;
  s = end;
  f->bus = (uint8_t)bus;
  f->id = (uint32_t)id;
  while (*s) {
    while (*s == ' ')
      s++;
    if (!*s)
      break;
    unsigned long b = strtoul(s, &end, 16);
    if (end == s || f->len >= 8)
      return -1;
    f->data[f->len++] = (uint8_t)b;
    s = end;
  }
  return 0;
}

static inline int vt_feed(struct vt *t, const char *frame)
{
  struct sim_frame f;
  if (vt_parse_frame(frame, &f) < 0)
    fail_msg("bad test frame '%s'", frame);
  return vehicle_decode(t->v, &f);
}

/*
 * One golden case: config keys, frames fed in order (';'-separated "BUS ID bytes"), and the
 * expected metric payloads ("name=payload;..."; an empty payload means never defined).
 */
struct vt_golden {
  const char *config;
  const char *frames;
  const char *expect;
};

static inline void vt_check_expect(struct vt *t, const char *expect, const char *what)
{
  char *dup = strdup(expect), *save = NULL;
  for (char *tok = strtok_r(dup, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
    char *eq = strchr(tok, '=');
    assert_non_null(eq);
    *eq = 0;
    const char *got = vt_str(t, tok);
    if (strcmp(got, eq + 1) != 0)
      fail_msg("%s: %s = '%s', expected '%s'", what, tok, got, eq + 1);
  }
  free(dup);
}

static inline void vt_run_golden(const char *vehicle, const struct vt_golden *g, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    struct vt t;
    vt_open(&t, vehicle, g[i].config);
    char *dup = strdup(g[i].frames), *save = NULL;
    for (char *tok = strtok_r(dup, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
      while (*tok == ' ')
        tok++;
      if (vt_feed(&t, tok) != 1)
        fail_msg("case %zu: frame '%s' not decoded", i, tok);
    }
    free(dup);
    char what[1024];
    snprintf(what, sizeof what, "%s golden case %zu", vehicle, i);
    vt_check_expect(&t, g[i].expect, what);
    vt_close(&t);
  }
}

/* Frames collected from encoders. */
struct vt_frames {
  struct sim_frame f[256];
  size_t n;
};

static inline void vt_collect(void *ctx, const struct sim_frame *f)
{
  struct vt_frames *c = ctx;
  if (c->n < ARRAY_SIZE(c->f))
    c->f[c->n++] = *f;
}

/* Sets the metrics of set ("name=value;name=value…", native units) on t's car. */
static inline void vt_set_metrics(struct vt *t, const char *set)
{
  char *dup = strdup(set), *save = NULL;
  for (char *tok = strtok_r(dup, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
    char *eq = strchr(tok, '=');
    assert_non_null(eq);
    *eq = 0;
    if (metric_set_from_string(vt_m(t, tok), eq + 1, SIM_UNIT_NATIVE) < 0)
      fail_msg("cannot set %s=%s", tok, eq + 1);
  }
  free(dup);
}

/*
 * Round trip: a vehicle with metrics set from `set` ("name=value;..." as `metrics set`)
 * encodes all its frames; a fresh vehicle of the same type decodes them (twice, so that
 * multiplexed and order-dependent values settle) and must show `expect`.
 */
static inline void vt_roundtrip(const char *vehicle, const char *config, const char *set,
                                const char *expect)
{
  struct vt a, b;
  vt_open(&a, vehicle, config);
  vt_set_metrics(&a, set);
  struct vt_frames fr;
  fr.n = 0;
  vehicle_encode_all(a.v, vt_collect, &fr);
  vehicle_encode_all(a.v, vt_collect, &fr);
  vt_open(&b, vehicle, config);
  for (size_t i = 0; i < fr.n; i++)
    vehicle_decode(b.v, &fr.f[i]);
  char what[1024];
  snprintf(what, sizeof what, "%s round trip", vehicle);
  vt_check_expect(&b, expect, what);
  vt_close(&b);
  vt_close(&a);
}

/*
 * A CRTD record, read by the project's CRTD codec (sim/trace/fmt_crtd.c): a received or
 * transmitted frame (kind 'R'/'T'), an event (kind 'E', text = event name) or something else
 * (kind 0).  Returns 0, or -1 for a line that is not CRTD.
 */
struct vt_crtd {
  char kind;
  double t;
  struct sim_frame f;
  char text[128];
};

static inline int vt_crtd_parse(const char *line, struct vt_crtd *r)
{
  memset(r, 0, sizeof *r);
  struct trace_pstate ps;
  trace_pstate_init(&ps, NULL);
  struct trace_record rec;
  size_t len = strcspn(line, "\r\n");
  if (trace_format_find("crtd")->parse(&ps, line, len, &rec, NULL) < 0)
    return -1;
  r->t = (double)rec.ts / 1e9;
  if (rec.kind == TRACE_REC_EVENT) {
    r->kind = 'E';
    snprintf(r->text, sizeof r->text, "%.*s", (int)rec.name_len, rec.name);
  } else if (rec.kind == TRACE_REC_FRAME) {
    r->kind = rec.frame.flags & SIM_CAN_F_TX ? 'T' : 'R';
    r->f = rec.frame;
  }
  return 0;
}

#endif
