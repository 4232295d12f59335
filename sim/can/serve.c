/*
 * serve.c - the generic part of --serve: the scheme registry, spec parsing, bus taps and the
 * statistics lines.  See serve.h; the schemes are serve_socketcand.c, serve_gvret.c and
 * serve_elm327.c.
 */
#include "can/serve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "core/error.h"
#include "core/loop.h"
#include "core/xalloc.h"

extern const struct can_serve_ops can_serve_socketcand, can_serve_gvret, can_serve_elm327;

const struct can_serve_ops *const can_serve_schemes[] = {
    &can_serve_socketcand,
    &can_serve_gvret,
    &can_serve_elm327,
    NULL,
};

int can_serve_new(struct can_serve **out, struct sim_loop *loop, const char *spec,
                  struct sim_diag *d)
{
  *out = NULL;
  const char *p = spec;
  uint8_t num = 0;
  const char *eq = strchr(spec, '=');
  const char *colon = strchr(spec, ':');
  if (eq && (!colon || eq < colon)) {
    char *end;
    long n = strtol(spec, &end, 10);
    if (end != eq || n < 1 || n > 8) {
      sim_diag_error(d, NULL, 0, 1, "bus number must be 1..8 in '%s'", spec);
      return SIM_ECONFIG;
    }
    num = (uint8_t)n;
    p = eq + 1;
  }
  colon = strchr(p, ':');
  if (!colon) {
    sim_diag_error(d, NULL, 0, (int)(p - spec) + 1,
                   "expected SCHEME:ARG (socketcand:29536, gvret:23, elm327:35000, elm327:pty) "
                   "in '%s'", spec);
    return SIM_ECONFIG;
  }
  const struct can_serve_ops *ops = NULL;
  for (size_t i = 0; can_serve_schemes[i]; i++)
    if (strlen(can_serve_schemes[i]->name) == (size_t)(colon - p) &&
        !strncmp(can_serve_schemes[i]->name, p, (size_t)(colon - p)))
      ops = can_serve_schemes[i];
  if (!ops) {
    sim_diag_error(d, NULL, 0, (int)(p - spec) + 1,
                   "unknown server '%.*s' (socketcand, gvret, elm327)", (int)(colon - p), p);
    return SIM_ECONFIG;
  }
  if (num && !ops->per_bus) {
    sim_diag_error(d, NULL, 0, 1, "%s serves every bus: no N= in '%s'", ops->name, spec);
    return SIM_ECONFIG;
  }
  struct can_serve *s = xcalloc(1, sizeof(*s));
  s->ops = ops;
  s->loop = loop;
  s->spec = xstrdup(spec);
  s->bus = num ? num : 1;
  s->priv = ops->priv_size ? xcalloc(1, ops->priv_size) : NULL;
  int rc = ops->open(s, colon + 1, d);
  if (rc < 0) {
    free(s->priv);
    free(s->spec);
    free(s);
    return rc;
  }
  *out = s;
  return 0;
}

static void detach_taps(struct can_serve *s)
{
  for (size_t b = 0; b < ARRAY_SIZE(s->taps); b++)
    can_tap_detach(&s->taps[b]);
}

unsigned can_serve_buses(const struct can_serve *s)
{
  return s->ops->per_bus ? 1u << (s->bus - 1) : 0;
}

int can_serve_start(struct can_serve *s, struct sim_canbus *const buses[SIM_MAX_BUSES],
                    struct sim_diag *d)
{
  memcpy(s->buses, buses, sizeof(s->buses));
  if (s->ops->per_bus && !s->buses[s->bus - 1]) {
    sim_diag_error(d, NULL, 0, 0, "%s: there is no bus %u", s->spec, s->bus);
    return SIM_ECONFIG;
  }
  int rc = s->ops->start(s, d);
  if (rc < 0)
    detach_taps(s);
  return rc;
}

void can_serve_set_log(struct can_serve *s, can_net_log_fn fn, void *ctx)
{
  s->log = fn;
  s->log_ctx = ctx;
}

void can_serve_set_metrics(struct can_serve *s, struct metrics *m)
{
  s->metrics = m;
}

const char *can_serve_where(const struct can_serve *s)
{
  return s->where;
}

void can_serve_report(struct can_serve *s, struct sbuf *out)
{
  if (!s->net)
    return;
  char label[200];
  if (s->ops->per_bus)
    snprintf(label, sizeof(label), "serve %s %s (can%u)", s->ops->name, s->where, s->bus);
  else
    snprintf(label, sizeof(label), "serve %s %s", s->ops->name, s->where);
  can_net_stats_report(can_net_server_stats(s->net), can_net_server_nconns(s->net), label, out);
}

void can_serve_free(struct can_serve *s)
{
  if (!s)
    return;
  can_net_server_free(s->net);
  s->net = NULL;
  if (s->ops->close)
    s->ops->close(s);
  detach_taps(s);
  free(s->priv);
  free(s->spec);
  free(s);
}

int can_serve_parse_addr(struct can_serve *s, const char *arg, struct sim_diag *d)
{
  return can_net_parse_hostport(arg, CAN_SERVE_DEFAULT_HOST, s->host, sizeof(s->host), &s->port,
                                NULL, d);
}

int can_serve_listen(struct can_serve *s, const struct can_net_proto *proto, void *owner,
                     struct sim_diag *d)
{
  int rc = can_net_server_new(&s->net, s->loop, s->host, s->port, proto, owner);
  if (rc < 0) {
    sim_diag_error(d, NULL, 0, 0, "%s: cannot listen on %s:%u: %s", s->spec, s->host,
                   s->port, sim_strerror(rc));
    return rc;
  }
  can_net_server_set_log(s->net, s->log, s->log_ctx);
  snprintf(s->where, sizeof(s->where), "%.100s:%u", s->host, can_net_server_port(s->net));
  return 0;
}

int can_serve_tap(struct can_serve *s, uint8_t num, can_tap_fn fn, void *ctx,
                  struct sim_diag *d)
{
  int rc = can_tap_attach(&s->taps[num - 1], s->buses[num - 1], fn, ctx);
  if (rc < 0)
    sim_diag_error(d, NULL, 0, 0, "%s: bus %u has no monitor slot left", s->spec, num);
  return rc;
}

int64_t can_serve_now_ns(const struct can_serve *s)
{
  return sim_now(s->loop);
}

void can_net_stats_report(const struct can_net_stats *st, size_t clients, const char *label,
                          struct sbuf *out)
{
  sbuf_printf(out,
              "%s: clients %zu (accepted %lu), frames in %lu out %lu, dropped %lu, bad input "
              "%lu, closed for overlong input %lu\n",
              label, clients, st->accepted, st->frames_in, st->frames_out, st->dropped,
              st->bad_input, st->overlong);
}

/* ---- taps ---- */

static void tap_mon(void *ctx, struct sim_canbus *bus, const struct sim_frame *f)
{
  struct can_tap *t = ctx;
  if (t->sending && (f->flags & SIM_CAN_F_TX))
    return;
  t->fn(t->ctx, bus, f, f == t->injecting ? t->origin : NULL);
}

int can_tap_attach(struct can_tap *t, struct sim_canbus *bus, can_tap_fn fn, void *ctx)
{
  *t = (struct can_tap){.bus = bus, .fn = fn, .ctx = ctx};
  int rc = can_bus_add_monitor(bus, tap_mon, t);
  t->attached = rc == 0;
  return rc;
}

void can_tap_detach(struct can_tap *t)
{
  if (t->attached)
    can_bus_remove_monitor(t->bus, tap_mon, t);
  t->attached = false;
}

void can_tap_inject(struct can_tap *t, const struct sim_frame *f, const void *origin)
{
  struct sim_frame copy = *f;
  const struct sim_frame *prev_inj = t->injecting;
  const void *prev_origin = t->origin;
  t->injecting = &copy;
  t->origin = origin;
  can_bus_deliver(t->bus, &copy);
  t->injecting = prev_inj;
  t->origin = prev_origin;
  bool prev_sending = t->sending;
  t->sending = true;
  struct sim_frame out = *f;
  out.flags &= (uint16_t)~SIM_CAN_F_TX;
  can_bus_send(t->bus, &out);
  t->sending = prev_sending;
}
