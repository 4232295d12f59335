/*
 * vehicle.c - the vehicle registry, attach/detach, frame dispatch, tickers and the encoder
 * scheduler (see vehicle.h).
 *
 * Dispatch is a binary search over the decode table (sorted by id, then bus) followed by a
 * check of the frame length; nothing is allocated per frame.  Tickers and encoders run on
 * sim_timers of the simulation clock, so a replay in virtual time runs them from trace time.
 */
#include "vehicle/vehicle.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "can/bus.h"
#include "core/error.h"
#include "core/sbuf.h"
#include "model/sim.h"
#include "core/xalloc.h"

extern const struct vehicle_type vehicle_type_nissanleaf;
extern const struct vehicle_type vehicle_type_teslaroadster;
extern const struct vehicle_type vehicle_type_mitsubishi;
extern const struct vehicle_type vehicle_type_dbc;

const struct vehicle_type *const vehicle_types[] = {
    &vehicle_type_nissanleaf,
    &vehicle_type_teslaroadster,
    &vehicle_type_mitsubishi,
    &vehicle_type_dbc,
    NULL,
};

const struct vehicle_type *vehicle_type_find(const char *name, const char **arg)
{
  if (arg)
    *arg = NULL;
  if (!name)
    return NULL;
  const char *colon = strchr(name, ':');
  size_t n = colon ? (size_t)(colon - name) : strlen(name);
  for (size_t i = 0; vehicle_types[i]; i++) {
    const struct vehicle_type *t = vehicle_types[i];
    if ((strlen(t->name) == n && strncmp(t->name, name, n) == 0) ||
        (t->code && strlen(t->code) == n && strncasecmp(t->code, name, n) == 0)) {
      if (arg && colon)
        *arg = colon + 1;
      return t;
    }
  }
  return NULL;
}

int vehicle_table_check(const struct vehicle_decoder *t, size_t n, size_t *bad)
{
  for (size_t i = 1; i < n; i++) {
    if (t[i].id < t[i - 1].id || (t[i].id == t[i - 1].id && t[i].bus <= t[i - 1].bus)) {
      if (bad)
        *bad = i;
      return SIM_ECONFIG;
    }
  }
  return 0;
}

/* ---- configuration ---------------------------------------------------------------------- */

long vehicle_cfg_int(const struct vehicle *v, const char *instance, long def)
{
  if (!v->type->cfg_param || !v->cfg)
    return def;
  return sim_config_get_int(v->cfg, v->type->cfg_param, instance, def);
}

bool vehicle_cfg_bool(const struct vehicle *v, const char *instance, bool def)
{
  if (!v->type->cfg_param || !v->cfg)
    return def;
  return sim_config_get_bool(v->cfg, v->type->cfg_param, instance, def);
}

double vehicle_cfg_float(const struct vehicle *v, const char *instance, double def)
{
  if (!v->type->cfg_param || !v->cfg)
    return def;
  const char *s = sim_config_get(v->cfg, v->type->cfg_param, instance);
  if (!s || !*s)
    return def;
  char *end;
  errno = 0;
  double x = strtod(s, &end);
  if (errno || end == s || *end)
    return def;
  return x;
}

/* Config listener: ctx is the sim (which outlives any vehicle), so a detached vehicle is never
 * reached (the config has no unlisten). */
static void on_config(void *ctx, const char *param, const char *instance)
{
  struct sim *sim = ctx;
  struct vehicle *v = sim->vehicle;
  (void)instance;
  if (!v || !v->type->config_changed || !v->type->cfg_param)
    return;
  if (strcmp(param, v->type->cfg_param) == 0)
    v->type->config_changed(v);
}

/* ---- metrics binding -------------------------------------------------------------------- */

int vehicle_bind_metrics(struct vehicle *v, const struct vehicle_metric_bind *binds, size_t n,
                         struct sim_diag *d)
{
  for (size_t i = 0; i < n; i++) {
    struct metric *m = NULL;
    if (binds[i].type < 0) {
      m = metrics_find(v->ms, binds[i].name);
      if (!m) {
        sim_diag_error(d, NULL, 0, 0, "vehicle %s: no metric '%s'", v->type->name,
                       binds[i].name);
        return SIM_ENOTFOUND;
      }
    } else {
      int rc = metrics_register(v->ms, binds[i].name, (enum metric_type)binds[i].type,
                                binds[i].unit, binds[i].autostale, &m);
      if (rc < 0) {
        sim_diag_error(d, NULL, 0, 0, "vehicle %s: cannot register metric '%s': %s",
                       v->type->name, binds[i].name, sim_strerror(rc));
        return rc;
      }
    }
    memcpy((char *)v->state + binds[i].offset, &m, sizeof m);
  }
  return 0;
}

/* ---- ticker ----------------------------------------------------------------------------- */

void vehicle_tick(struct vehicle *v)
{
  v->ticker++;
  if (v->type->ticker1)
    v->type->ticker1(v, v->ticker);
  if (v->ticker % 10 == 0 && v->type->ticker10)
    v->type->ticker10(v, v->ticker);
  if (v->ticker % 60 == 0 && v->type->ticker60)
    v->type->ticker60(v, v->ticker);
}

static void on_tick(struct sim_loop *loop, struct sim_timer *t)
{
  (void)loop;
  vehicle_tick(t->data);
}

/* ---- attach / detach -------------------------------------------------------------------- */

static void unlisten_buses(struct vehicle *v)
{
  for (int i = 0; i < 8; i++)
    if ((v->rx_buses >> i) & 1 && v->sim->buses[i])
      can_bus_set_rx(v->sim->buses[i], NULL, NULL);
  v->rx_buses = 0;
}

static void vehicle_free(struct vehicle *v)
{
  if (!v)
    return;
  vehicle_encoder_stop(v);
  unlisten_buses(v);
  if (v->sim && v->sim->loop && sim_timer_active(&v->tick_timer))
    sim_timer_stop(v->sim->loop, &v->tick_timer);
  if (v->type->cleanup)
    v->type->cleanup(v);
  free(v->state);
  free(v->map_file);
  free(v);
}

void vehicle_detach(struct sim *sim)
{
  if (!sim || !sim->vehicle)
    return;
  struct vehicle *v = sim->vehicle;
  sim->vehicle = NULL;
  vehicle_free(v);
}

static void on_sim_free(void *ctx)
{
  vehicle_detach(ctx);
}

int vehicle_attach_opts(struct sim *sim, const char *name, const struct vehicle_opts *opts,
                        struct sim_diag *d)
{
  const char *arg = NULL;
  const struct vehicle_type *t = vehicle_type_find(name, &arg);
  if (!t) {
    sim_diag_error(d, NULL, 0, 0,
                   "unknown vehicle '%s' (known: nissanleaf, teslaroadster, mitsubishi, dbc:FILE)",
                   name ? name : "");
    return SIM_ENOTFOUND;
  }
  if (sim->vehicle) {
    sim_diag_error(d, NULL, 0, 0, "a vehicle is already attached");
    return SIM_EEXIST;
  }
  struct vehicle *v = xcalloc(1, sizeof *v);
  v->type = t;
  v->sim = sim;
  v->ms = sim->metrics;
  v->cfg = sim->config;
  v->state = t->state_size ? xcalloc(1, t->state_size) : NULL;
  v->flags = opts ? opts->flags : 0;
  if (opts && opts->map_file)
    v->map_file = xstrdup(opts->map_file);
  v->dec = t->decoders;
  v->n_dec = t->n_decoders;
  v->enc = t->encoders;
  v->n_enc = t->n_encoders;
  sim_timer_init(&v->tick_timer, on_tick, v);

  if (t->config && t->n_config && v->cfg)
    sim_config_declare(v->cfg, t->config, t->n_config);

  int rc = 0;
  if (t->init)
    rc = t->init(v, arg, d);
  if (rc == 0) {
    size_t bad = 0;
    if (vehicle_table_check(v->dec, v->n_dec, &bad) < 0) {
      sim_diag_error(d, NULL, 0, 0, "vehicle %s: decode table not sorted at entry %zu (id 0x%X)",
                     t->name, bad, (unsigned)v->dec[bad].id);
      rc = SIM_ECONFIG;
    }
  }
  if (rc < 0) {
    vehicle_free(v);
    return rc;
  }

  if (t->config_changed)
    t->config_changed(v);
  if (v->cfg && t->cfg_param)
    sim_config_listen(v->cfg, t->cfg_param, on_config, sim);

  struct metric *mt = metrics_find(v->ms, "v.type");
  if (mt && t->code)
    metric_set_string(mt, t->code);

  sim->vehicle = v;
  sim_on_free(sim, on_sim_free, sim);
  if (!(v->flags & VEHICLE_F_NOTICKER) && sim->loop)
    sim_timer_start(sim->loop, &v->tick_timer, SIM_NS_PER_SEC, SIM_NS_PER_SEC);
  return 0;
}

int vehicle_attach(struct sim *sim, const char *name, struct sim_diag *d)
{
  return vehicle_attach_opts(sim, name, NULL, d);
}

/* ---- decoding --------------------------------------------------------------------------- */

const struct vehicle_decoder *vehicle_find_decoder(const struct vehicle *v, uint8_t bus,
                                                   uint32_t id)
{
  const struct vehicle_decoder *t = v->dec;
  size_t lo = 0, hi = v->n_dec;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (t[mid].id < id)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo == v->n_dec || t[lo].id != id)
    return NULL;
  for (size_t i = lo; i < v->n_dec && t[i].id == id; i++)
    if (t[i].bus == bus || t[i].bus == 0)
      return &t[i];
  if (bus == 0 || (v->flags & VEHICLE_F_ANYBUS))
    return &t[lo];
  return NULL;
}

int vehicle_decode(struct vehicle *v, const struct sim_frame *f)
{
  v->stats.frames++;
  if (f->flags & (SIM_CAN_F_ERR | SIM_CAN_F_RTR)) {
    v->stats.unknown++;
    return 0;
  }
  uint32_t id = f->id | ((f->flags & SIM_CAN_F_EXT) ? VEHICLE_ID_EXT : 0);
  const struct vehicle_decoder *e = vehicle_find_decoder(v, f->bus, id);
  if (!e) {
    v->stats.unknown++;
    return 0;
  }
  if (f->len < e->min_len) {
    v->stats.short_frames++;
    return 0;
  }
  e->fn(v, f, e->arg);
  v->stats.decoded++;
  return 1;
}

void vehicle_decode_sink(void *ctx, const struct sim_frame *f)
{
  vehicle_decode(ctx, f);
}

static void on_bus_rx(void *ctx, struct sim_canbus *bus, const struct sim_frame *f)
{
  (void)bus;
  vehicle_decode(ctx, f);
}

int vehicle_listen_buses(struct vehicle *v)
{
  int n = 0;
  for (int i = 0; i < 8; i++) {
    if (v->sim->buses[i]) {
      can_bus_set_rx(v->sim->buses[i], on_bus_rx, v);
      v->rx_buses = (uint8_t)(v->rx_buses | (1u << i));
      n++;
    }
  }
  return n;
}

/* ---- encoding --------------------------------------------------------------------------- */

int vehicle_encode(struct vehicle *v, size_t i, struct sim_frame *out)
{
  if (i >= v->n_enc)
    return SIM_ERANGE;
  const struct vehicle_encoder *e = &v->enc[i];
  memset(out, 0, sizeof *out);
  out->bus = e->bus;
  out->id = e->id & ~VEHICLE_ID_EXT;
  out->flags = (e->id & VEHICLE_ID_EXT) ? SIM_CAN_F_EXT : 0;
  out->len = e->len;
  if (v->sim && v->sim->loop)
    out->ts = sim_now(v->sim->loop);
  int rc = e->fn(v, out, e->arg);
  if (rc > 0)
    v->stats.encoded++;
  return rc > 0 ? 1 : 0;
}

int vehicle_encode_all(struct vehicle *v, vehicle_frame_sink sink, void *ctx)
{
  int n = 0;
  struct sim_frame f;
  for (size_t i = 0; i < v->n_enc; i++) {
    if (vehicle_encode(v, i, &f) == 1) {
      n++;
      if (sink)
        sink(ctx, &f);
    }
  }
  return n;
}

#define VEHICLE_TX_BACKOFF_NS (1 * SIM_NS_PER_MS) /* first retry after a full queue */

static int64_t encoder_period(const struct vehicle *v, size_t i)
{
  return (int64_t)(v->enc[i].period_ms ? v->enc[i].period_ms : 1000) * SIM_NS_PER_MS;
}

static bool queue_full(int rc)
{
  return rc == -EAGAIN || rc == -ENOBUFS || rc == -EWOULDBLOCK;
}

/* Back on its period after a deferral (the period runs from now: the car slowed down). */
static void encoder_resume(struct vehicle *v, size_t i)
{
  if (!v->sched.backoff[i])
    return;
  v->sched.backoff[i] = 0;
  int64_t period = encoder_period(v, i);
  sim_timer_start(v->sim->loop, &v->sched.timers[i], period, period);
}

static void encode_to_bus(struct vehicle *v, size_t i)
{
  size_t ss = v->type->state_size;
  if (ss)
    memcpy(v->sched.snap, v->state, ss);
  struct sim_frame f;
  if (vehicle_encode(v, i, &f) != 1) {
    encoder_resume(v, i);
    return;
  }
  struct sim_canbus *bus = f.bus >= 1 && f.bus <= 8 ? v->sim->buses[f.bus - 1] : NULL;
  int rc = bus ? can_bus_send(bus, &f) : SIM_ENOTFOUND;
  if (rc == 0 || !queue_full(rc)) {
    if (rc == 0)
      v->stats.sent++;
    else
      v->stats.unsent++;
    encoder_resume(v, i);
    return;
  }
  /* queue full: this frame was never sent, so its counter must not have advanced */
  if (ss)
    memcpy(v->state, v->sched.snap, ss);
  v->stats.encoded--;
  v->stats.deferred++;
  int64_t period = encoder_period(v, i), b = v->sched.backoff[i];
  b = b ? b * 2 : VEHICLE_TX_BACKOFF_NS;
  v->sched.backoff[i] = b < period ? b : period;
  sim_timer_start(v->sim->loop, &v->sched.timers[i], v->sched.backoff[i], 0);
}

static void on_encode(struct sim_loop *loop, struct sim_timer *t)
{
  (void)loop;
  struct vehicle *v = t->data;
  size_t i = (size_t)(t - v->sched.timers);
  if (v->sched.bus) {
    encode_to_bus(v, i);
    return;
  }
  struct sim_frame f;
  if (vehicle_encode(v, i, &f) == 1 && v->sched.sink)
    v->sched.sink(v->sched.sink_ctx, &f);
}

int vehicle_encoder_start(struct vehicle *v, vehicle_frame_sink sink, void *ctx)
{
  vehicle_encoder_stop(v);
  v->sched.sink = sink;
  v->sched.sink_ctx = ctx;
  if (!v->n_enc || !v->sim || !v->sim->loop)
    return 0;
  v->sched.timers = xcalloc(v->n_enc, sizeof *v->sched.timers);
  v->sched.backoff = xcalloc(v->n_enc, sizeof *v->sched.backoff);
  for (size_t i = 0; i < v->n_enc; i++) {
    int64_t period = encoder_period(v, i);
    sim_timer_init(&v->sched.timers[i], on_encode, v);
    sim_timer_start(v->sim->loop, &v->sched.timers[i], period, period);
  }
  return 0;
}

void vehicle_encoder_stop(struct vehicle *v)
{
  struct vehicle_sched *s = &v->sched;
  if (s->timers)
    for (size_t i = 0; i < v->n_enc; i++)
      if (sim_timer_active(&s->timers[i]))
        sim_timer_stop(v->sim->loop, &s->timers[i]);
  free(s->timers);
  free(s->backoff);
  free(s->snap);
  *s = (struct vehicle_sched){0};
}

int vehicle_encoder_start_buses(struct vehicle *v)
{
  int rc = vehicle_encoder_start(v, NULL, NULL);
  if (rc == 0 && v->sched.timers) {
    v->sched.bus = true;
    v->sched.snap = v->type->state_size ? xcalloc(1, v->type->state_size) : NULL;
  }
  return rc;
}

void vehicle_encoder_report(const struct vehicle *v, struct sbuf *b)
{
  if (!v || (!v->sched.timers && !v->stats.encoded))
    return;
  sbuf_printf(b,
              "vehicle emulation: %llu frames encoded, %llu sent, %llu deferred (transmit "
              "queue full), %llu unsent\n",
              (unsigned long long)v->stats.encoded, (unsigned long long)v->stats.sent,
              (unsigned long long)v->stats.deferred, (unsigned long long)v->stats.unsent);
}

/* ---- polls ------------------------------------------------------------------------------ */

static bool metric_named_bool(struct vehicle *v, const char *name)
{
  struct metric *m = metrics_find(v->ms, name);
  return m && metric_bool(m);
}

int vehicle_poll_state(struct vehicle *v)
{
  if (v->type->poll_state)
    return v->type->poll_state(v);
  if (metric_named_bool(v, "v.c.charging"))
    return VEHICLE_POLLSTATE_CHARGING;
  if (!metric_named_bool(v, "v.e.on"))
    return VEHICLE_POLLSTATE_OFF;
  struct metric *gear = metrics_find(v->ms, "v.e.gear");
  return gear && metric_int(gear) != 0 ? VEHICLE_POLLSTATE_RUNNING : VEHICLE_POLLSTATE_ON;
}

bool vehicle_ecus_awake(struct vehicle *v)
{
  return metric_named_bool(v, "v.e.on") || metric_named_bool(v, "v.c.charging") ||
         metric_named_bool(v, "v.e.awake");
}
