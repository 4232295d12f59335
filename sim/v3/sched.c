/*
 * sched.c - metric transmission and the update schedule of Server V3:
 * TransmitMetric/TransmitAllMetrics/TransmitModifiedMetrics/TransmitPriorityMetrics/
 * TransmitImmediateMetrics, the connected part of Ticker1() and the event-triggered
 * transmissions of EventListener(), in simulation seconds.
 *
 * Firmware reference: V3/components/ovms_server_v3/src/ovms_server_v3.cpp at
 * openvehicles/Open-Vehicle-Monitoring-System-3 1aa1daff (HEAD) and tags 3.3.004/3.3.005
 * for the older schedule of 3.3.005 and before (docs/v3.md describes both).
 */
#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "model/metrics.h"
#include "model/sim.h"
#include "v3/internal.h"
#include "core/xalloc.h"

static bool metric_on(struct v3 *v3, const char *name)
{
  struct metric *m = metrics_find(v3->sim->metrics, name);
  return m && metric_is_defined(m) && metric_bool(m);
}

bool v3_metric_filtered(struct v3 *v3, const char *name)
{
  if (v3->f_include.n && !v3_filter_match(&v3->f_include, name))
    return true;
  return v3_filter_match(&v3->f_exclude, name);
}

void v3_format_payload(const struct sim_profile *pr, const struct metric *m, struct sbuf *out)
{
  if (metric_is_defined(m)) {
    if (m->type == METRIC_FLOAT && (!(m->flags & METRIC_F_FIXED6) || pr->latlon_g)) {
      v3_format_g(m->v.f, out);
      return;
    }
    if ((m->type == METRIC_INT || m->type == METRIC_INT64) && m->unit != SIM_UNIT_TIMEUTC &&
        m->unit != SIM_UNIT_TIMELOCAL && m->unit != SIM_UNIT_DATEUTC &&
        m->unit != SIM_UNIT_DATELOCAL) {
      v3_format_int(m->type == METRIC_INT ? m->v.i : m->v.l, out);
      return;
    }
  }
  struct metric_fmt fmt = {.latlon_g = pr->latlon_g};
  metric_format(m, &fmt, out);
}

/* TransmitMetric() for a metric the filters let through. */
static void send_metric(struct v3 *v3, struct metric *m)
{
  struct sbuf *t = &v3->topic, *pl = &v3->payload;
  sbuf_reset(t);
  sbuf_reset(pl);
  sbuf_add(t, v3->prefix.p, v3->prefix.len);
  sbuf_adds(t, v3->tn->metric);
  v3_topic_path(m->name, t);
  v3_format_payload(v3->sim->profile, m, pl);
  bool retain = true;
  if (v3->retain_limit && v3_retain_depth_exceeded(t->p))
    retain = false;
  v3_publish(v3, t->p, pl->p ? pl->p : "", pl->len, 0, retain, NULL);
}

/* TransmitMetric(): QoS 0, retained unless retain.depth.limit applies; the payload is
 * AsString() in the version's format.  Filtered metrics are not sent. */
void v3_transmit_metric(struct v3 *v3, struct metric *m)
{
  if (!v3_metric_filtered(v3, m->name))
    send_metric(v3, m);
}

/* Formats into v3->scratch to learn whether the string form is empty (<=3.3.005 full sync). */
static bool string_empty(struct v3 *v3, struct metric *m)
{
  sbuf_reset(&v3->scratch);
  v3_format_payload(v3->sim->profile, m, &v3->scratch);
  return v3->scratch.len == 0;
}

/* Whether the full sync sends m (clearing its modified flag, as the firmware's
 * TransmitAllMetrics does). */
static bool pick_all(struct v3 *v3, struct metric *m)
{
  metric_test_and_clear_modified(m, v3->modifier);
  if (!metric_is_defined(m) || (m->flags & METRIC_F_HIDDEN))
    return false;
  return !(v3->sim->profile->sendall_skips_empty && string_empty(v3, m));
}

/* Whether the modified pass sends m: modified since the last pass, and defined (or a cleared
 * metric, for firmware that sends those). */
static bool pick_modified(struct v3 *v3, struct metric *m)
{
  if (!metric_test_and_clear_modified(m, v3->modifier) || (m->flags & METRIC_F_HIDDEN))
    return false;
  return metric_is_defined(m) || v3->sim->profile->modified_sends_cleared;
}

/*
 * One batch of a pass over the metrics from *pos: those pick() takes and the filter lets
 * through, at most the config key limit_key's number (default limit_default) when the
 * profile batches, else all.  Returns true when the pass reached the end (*pos is then 0),
 * false when it continues from *pos on the next tick.
 */
static bool transmit_batch(struct v3 *v3, size_t *pos, const char *limit_key, int limit_default,
                           bool (*pick)(struct v3 *, struct metric *))
{
  v3->busy = true;
  if (v3->sim->profile->batching)
    v3_count_clients(v3); /* 3.3.006 on: CountClients() at the start of each pass */
  struct metrics *ms = v3->sim->metrics;
  size_t n = metrics_count(ms);
  size_t limit = v3->sim->profile->batching ? (size_t)v3_cfg_int(v3, limit_key, limit_default)
                                            : (size_t)-1;
  size_t sent = 0;
  if (*pos >= n)
    *pos = 0;
  while (*pos < n && sent < limit) {
    struct metric *m = metrics_at(ms, (*pos)++);
    if (!pick(v3, m) || v3_metric_filtered(v3, m->name))
      continue;
    send_metric(v3, m);
    sent++;
  }
  bool done = *pos >= n;
  if (done)
    *pos = 0;
  v3->busy = false;
  return done;
}

void v3_transmit_all(struct v3 *v3)
{
  if (transmit_batch(v3, &v3->pos_all, "queue.sendall", 100, pick_all))
    v3->stats.full_syncs++;
  else
    v3->lasttx_sendall = 0; /* continue on the next tick */
}

void v3_transmit_modified(struct v3 *v3)
{
  if (!transmit_batch(v3, &v3->pos_modified, "queue.modified", 150, pick_modified))
    v3->lasttx = 0;
}

/* The fixed list of TransmitPriorityMetrics(). */
static const char *const priority_fixed[] = {"v.p.latitude", "v.p.longitude", "v.p.altitude",
                                             "v.p.speed",    "v.p.gpsspeed",  "m.time.utc"};

void v3_transmit_priority(struct v3 *v3)
{
  v3->busy = true;
  v3_count_clients(v3);
  struct metrics *ms = v3->sim->metrics;
  for (size_t i = 0; i < ARRAY_SIZE(priority_fixed); i++) {
    struct metric *m = metrics_find(ms, priority_fixed[i]);
    if (m && metric_is_defined(m) && metric_test_and_clear_modified(m, v3->modifier))
      v3_transmit_metric(v3, m);
  }
  size_t n = metrics_count(ms);
  for (size_t i = 0; i < n; i++) {
    struct metric *m = metrics_at(ms, i);
    /* quirk: an empty metrics.priority matches every metric not excluded */
    if (v3->f_priority.n && !v3_filter_match(&v3->f_priority, m->name))
      continue;
    if (v3_filter_match(&v3->f_exclude, m->name) || (m->flags & METRIC_F_HIDDEN))
      continue;
    if (metric_is_defined(m) && metric_test_and_clear_modified(m, v3->modifier))
      v3_transmit_metric(v3, m);
  }
  v3->busy = false;
}

/* next, by precedence (HEAD) or as the minimum of the enabled intervals (<=3.3.005). */
static long next_interval(struct v3 *v3)
{
  const struct sim_profile *pr = v3->sim->profile;
  long on = v3_cfg_int(v3, "updatetime.on", pr->on);
  long charging = v3_cfg_int(v3, "updatetime.charging", pr->charging);
  long connected = v3_cfg_int(v3, "updatetime.connected", pr->connected);
  long awake = v3_cfg_int(v3, "updatetime.awake", pr->awake);
  long idle = v3_cfg_int(v3, "updatetime.idle", 600);
  bool v_on = metric_on(v3, "v.e.on"), v_ch = metric_on(v3, "v.c.charging");
  bool v_aw = metric_on(v3, "v.e.awake");
  if (!pr->sched_minimum) {
    if (v_on)
      return on;
    if (v_ch)
      return charging;
    if (v3->peers > 0)
      return connected;
    if (v_aw)
      return awake;
    return idle;
  }
  long next = idle;
#define MIN_IF(c, v) do { if ((c) && (v) > 0 && (v) < next) next = (v); } while (0)
  MIN_IF(v3->peers > 0, connected);
  long stream = sim_config_get_int(v3->sim->config, "vehicle", "stream", 0);
  MIN_IF(v_on, stream);
  MIN_IF(v_on, on);
  MIN_IF(v_ch, charging);
  MIN_IF(v_aw, awake);
#undef MIN_IF
  return next;
}

void v3_sched_tick(struct v3 *v3)
{
  const struct sim_profile *pr = v3->sim->profile;
  int64_t now = v3_now(v3);
  if (now == 0)
    now = 1; /* 0 means "never" for the timestamps below */
  if (v3->sendall) {
    v3->sendall = false;
    const char *subs[4];
    char *bufs[4];
    size_t nsub = 0;
    const char *rel[4] = {v3->tn->sub_active, v3->tn->sub_command, "client/+/request/metric",
                          "client/+/request/config"};
    size_t nrel = (pr->request_subscriptions && v3->tn->client_tree) ? 4 : 2;
    for (size_t i = 0; i < nrel; i++) {
      struct sbuf b = SBUF_INIT;
      sbuf_add(&b, v3->prefix.p, v3->prefix.len);
      sbuf_adds(&b, rel[i]);
      bufs[nsub] = sbuf_detach(&b);
      subs[nsub] = bufs[nsub];
      nsub++;
    }
    v3->ops->subscribe(v3->tp, subs, nsub, v3->tn->sub_qos);
    for (size_t i = 0; i < nsub; i++)
      free(bufs[i]);
    v3->lasttx_sendall = v3->lasttx_priority = v3->lasttx = now;
    v3_transmit_all(v3);
  }
  if (!v3->connected)
    return;
  v3_notify_drain(v3);
  if (!v3->connected)
    return;
  long sendall = v3_cfg_int(v3, "updatetime.sendall", pr->sendall);
  long next = next_interval(v3);
  if (!pr->batching) {
    if (sendall > 0 && now > v3->lasttx_sendall + sendall) {
      v3->lasttx_sendall = now;
      v3_transmit_all(v3);
    } else if (v3->lasttx == 0 || now > v3->lasttx + next) {
      v3->lasttx = now;
      v3_transmit_modified(v3);
    }
    return;
  }
  if (v3->lasttx_sendall == 0 || (sendall > 0 && now > v3->lasttx_sendall + sendall)) {
    /* Ticker1(): a full sync restarts the priority and modified timers as well */
    v3->lasttx_sendall = v3->lasttx_priority = v3->lasttx = now;
    v3_transmit_all(v3);
  } else if (v3->lasttx_priority == 0 ||
             (v3_cfg_bool(v3, "updatetime.priority", false) && metric_on(v3, "v.e.awake") &&
              now > v3->lasttx_priority + v3_cfg_int(v3, "updatetime.on", pr->on))) {
    v3->lasttx_priority = now;
    v3_transmit_priority(v3);
  } else if (v3->lasttx == 0 || now > v3->lasttx + next) {
    v3->lasttx = now;
    v3_transmit_modified(v3);
  }
}

void v3_sched_connected(struct v3 *v3)
{
  v3->pos_all = 0;
  v3->pos_modified = 0;
  v3->lasttx = v3->lasttx_sendall = v3->lasttx_priority = 0;
}

/* EventListener(): the events that trigger an early modified sync (HEAD). */
static const char *const trigger_events[] = {
  "vehicle.charge.start", "vehicle.charge.stop", "vehicle.charge.finished", "vehicle.awake",
  "vehicle.on",           "vehicle.off",         "vehicle.locked",          "vehicle.unlocked",
  "location.alert.flatbed.moved", "location.alert.valet.bounds", "app.disconnected",
};

void v3_sched_event(struct v3 *v3, const char *name)
{
  if (!v3->sim->profile->event_triggered_tx || v3->sendall)
    return;
  int64_t now = v3_now(v3);
  for (size_t i = 0; i < ARRAY_SIZE(trigger_events); i++)
    if (!strcmp(name, trigger_events[i])) {
      v3->lasttx = v3->lasttx_priority = now;
      if (v3->busy)
        v3->lasttx = 0; /* inside a transmission: continue on the next tick */
      else
        v3_transmit_modified(v3);
      return;
    }
  if (!strcmp(name, "app.connected") || !strcmp(name, "server.v3.connected")) {
    if (v3->busy) {
      v3->lasttx = 0;
    } else if (now - v3->lasttx_sendall > 30) {
      v3->lasttx_sendall = v3->lasttx_priority = v3->lasttx = now;
      v3_transmit_all(v3);
    } else if (now - v3->lasttx > 20) {
      v3->lasttx_priority = v3->lasttx = now;
      v3_transmit_modified(v3);
    }
  }
}

/* ---- Immediate mode ------------------------------------------------------------------------ */

static void poll_cb(struct sim_loop *loop, struct sim_timer *t)
{
  struct v3 *v3 = t->data;
  (void)loop;
  if (!v3->connected)
    return;
  struct metrics *ms = v3->sim->metrics;
  size_t n = metrics_count(ms);
  for (size_t i = 0; i < n; i++) {
    struct metric *m = metrics_at(ms, i);
    if (!metric_is_modified(m, v3->modifier) || !metric_is_defined(m))
      continue;
    if (v3->f_imm_include.n && !v3_filter_match(&v3->f_imm_include, m->name))
      continue;
    if (v3_filter_match(&v3->f_imm_exclude, m->name))
      continue;
    metric_test_and_clear_modified(m, v3->modifier);
    v3_transmit_metric(v3, m);
  }
}

static void on_metric(void *ctx, struct metric *m)
{
  struct v3 *v3 = ctx;
  if (!v3->connected || sim_timer_active(&v3->poll))
    return;
  if (v3->f_imm_include.n && !v3_filter_match(&v3->f_imm_include, m->name))
    return;
  if (v3_filter_match(&v3->f_imm_exclude, m->name))
    return;
  sim_timer_start(v3->sim->loop, &v3->poll, 0, 0);
}

void v3_sched_reload(struct v3 *v3)
{
  v3_filter_set(&v3->f_include, v3_cfg_str(v3, "metrics.include"));
  v3_filter_set(&v3->f_exclude, v3_cfg_str(v3, "metrics.exclude"));
  v3_filter_set(&v3->f_priority, v3_cfg_str(v3, "metrics.priority"));
  v3_filter_set(&v3->f_imm_include, v3_cfg_str(v3, "metrics.include.immediately"));
  v3_filter_set(&v3->f_imm_exclude, v3_cfg_str(v3, "metrics.exclude.immediately"));
  v3->retain_limit = v3->sim->profile->batching && v3_cfg_bool(v3, "retain.depth.limit", false);
  bool imm = v3->sim->profile->batching && v3_cfg_bool(v3, "updatetime.immediately", false);
  if (imm && !v3->immediate_listening) {
    metrics_listen(v3->sim->metrics, "*", on_metric, v3);
    v3->immediate_listening = true;
  } else if (!imm && v3->immediate_listening) {
    metrics_unlisten(v3->sim->metrics, on_metric, v3);
    v3->immediate_listening = false;
  }
}

void v3_sched_start(struct v3 *v3)
{
  sim_timer_init(&v3->poll, poll_cb, v3);
  v3_sched_reload(v3);
}

void v3_sched_stop(struct v3 *v3)
{
  sim_timer_stop(v3->sim->loop, &v3->poll);
  if (v3->immediate_listening)
    metrics_unlisten(v3->sim->metrics, on_metric, v3);
  v3->immediate_listening = false;
}
