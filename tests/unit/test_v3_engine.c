/*
 * test_v3_engine.c - the Server V3 engine in virtual time against a recording transport:
 * prefix rules, metric topics and payloads, QoS/retain, the first-tick SUBSCRIBE, full sync
 * order and batching, the modified cadence and its precedence, event-triggered syncs, client
 * presence and expiry, commands and responses, client requests, events, notifications
 * (QoS 1, data at QoS 2 one in flight), filters, retain.depth.limit and the version and
 * topic profiles (OvmsServerV3 in V3/components/ovms_server_v3/src/ovms_server_v3.cpp;
 * docs/protocol.md).
 */
#include "testutil.h"

#include <ev.h>
#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "core/error.h"
#include "model/events.h"
#include "vehicle/housekeeping.h"
#include "model/metrics.h"
#include "notify/queue.h"
#include "shell/shell.h"
#include "model/sim.h"
#include "v3/v3.h"
#include "core/xalloc.h"

/* ---- recording transport ------------------------------------------------------------------- */

struct rec {
  char *topic;
  char *payload;
  size_t len;
  int qos;
  bool retain;
  int64_t t; /* simulation second */
  int mid;
};

struct fake {
  struct v3 *v3;
  struct sim *sim;
  struct rec *v;
  size_t n, cap;
  char *subs[8];
  size_t nsubs;
  int subqos;
  int64_t sub_t;
  int64_t connack_t;
  int next_mid;
  bool manual_ack;       /* do not acknowledge QoS 1/2 automatically */
  int refuse;            /* CONNACK code to answer */
  bool tcp_fail;         /* report a failed TCP connect instead of a CONNACK */
  int64_t connect_t[64]; /* times of the connection attempts */
  int connects;
  struct sim_timer t;
  bool connecting;
  int pending_acks[64];
  size_t npending;
};

static struct fake F;

static int64_t now_s(void)
{
  return sim_monotonic(F.sim->loop) / SIM_NS_PER_SEC;
}

static void fake_deliver(struct sim_loop *loop, struct sim_timer *t)
{
  if (F.connecting) {
    F.connecting = false;
    F.connack_t = now_s();
    if (F.tcp_fail)
      v3_transport_closed(F.v3, -111, true);
    else
      v3_transport_connack(F.v3, F.refuse);
  }
  if (!F.manual_ack) {
    size_t n = F.npending;
    F.npending = 0;
    for (size_t i = 0; i < n; i++)
      v3_transport_acked(F.v3, F.pending_acks[i]);
  }
}

static int f_open(struct v3 *v3, struct sim *sim, const struct v3_options *opt, void **priv,
                  struct sim_diag *d)
{
  F.v3 = v3;
  F.sim = sim;
  sim_timer_init(&F.t, fake_deliver, NULL);
  *priv = &F;
  return 0;
}

static int f_connect(void *priv, const struct v3_connect_info *ci, struct sim_diag *d)
{
  if (F.connects < 64)
    F.connect_t[F.connects] = now_s();
  F.connects++;
  F.connecting = true;
  F.next_mid = 0;
  sim_timer_start(F.sim->loop, &F.t, 0, 0);
  return 0;
}

static int f_subscribe(void *priv, const char *const *filters, size_t n, int qos)
{
  for (size_t i = 0; i < F.nsubs; i++)
    free(F.subs[i]);
  F.nsubs = 0;
  for (size_t i = 0; i < n && i < 8; i++)
    F.subs[F.nsubs++] = xstrdup(filters[i]);
  F.subqos = qos;
  F.sub_t = now_s();
  return 0;
}

static int f_publish(void *priv, const char *topic, const void *payload, size_t len, int qos,
                     bool retain, int *mid)
{
  xgrow((void **)&F.v, &F.cap, F.n + 1, sizeof(*F.v));
  struct rec *r = &F.v[F.n++];
  r->topic = xstrdup(topic);
  r->payload = xstrndup(payload, len);
  r->len = len;
  r->qos = qos;
  r->retain = retain;
  r->t = now_s();
  *mid = r->mid = ++F.next_mid;
  if (qos > 0 && F.npending < 64) {
    F.pending_acks[F.npending++] = *mid;
    sim_timer_start(F.sim->loop, &F.t, 0, 0);
  }
  return 0;
}

static void f_drop(void *priv)
{
  F.connecting = false;
  F.npending = 0;
}

static void f_close(void *priv)
{
  sim_timer_stop(F.sim->loop, &F.t);
}

static const struct v3_transport_ops fake_ops = {"fake", f_open, f_connect, f_subscribe,
                                                 f_publish, f_drop, f_close};

/* ---- fixture ----------------------------------------------------------------------------- */

struct fx {
  struct ev_loop *ev;
  struct sim_loop *loop;
  struct sim *sim;
  struct sim_timer stop;
};

static void stop_cb(struct sim_loop *loop, struct sim_timer *t)
{
  sim_loop_stop(loop, 0);
}

static void run_until(struct fx *x, int64_t sec)
{
  sim_timer_start_at(x->loop, &x->stop, sec * SIM_NS_PER_SEC, 0);
  sim_loop_run(x->loop);
}

/* A module MYCAR of user alice on profile fw, started with topics; housekeeping running. */
/* --cafile of the next fx_init() (NULL: none) */
static const char *fx_cafile;

static void fx_init(struct fx *x, const char *fw, enum sim_topics topics, const char *const *sets)
{
  memset(&F, 0, sizeof(F));
  x->ev = ev_loop_new(EVFLAG_AUTO);
  x->loop = sim_loop_new(x->ev, SIM_CLOCK_FAST, 1.0, INT64_C(1717228800) * SIM_NS_PER_SEC);
  x->sim = sim_new(x->loop, fw ? sim_profile_find(fw) : NULL, 7);
  v3_config_declare(x->sim->config);
  sim_config_set(x->sim->config, "vehicle", "id", "MYCAR", NULL);
  sim_config_set(x->sim->config, "server.v3", "user", "alice", NULL);
  sim_config_set(x->sim->config, "server.v3", "server", "broker.test", NULL);
  for (size_t i = 0; sets && sets[i]; i += 2)
    assert_int_equal(sim_config_set_key(x->sim->config, sets[i], sets[i + 1], NULL), 0);
  sim_timer_init(&x->stop, stop_cb, x);
  housekeeping_start(x->sim);
  struct v3_options o = {.transport = &fake_ops, .topics = topics, .cafile = fx_cafile};
  assert_int_equal(v3_start(x->sim, &o, NULL), 0);
}

static void fx_free(struct fx *x)
{
  sim_free(x->sim);
  sim_loop_free(x->loop);
  ev_loop_destroy(x->ev);
  for (size_t i = 0; i < F.n; i++) {
    free(F.v[i].topic);
    free(F.v[i].payload);
  }
  free(F.v);
  for (size_t i = 0; i < F.nsubs; i++)
    free(F.subs[i]);
  memset(&F, 0, sizeof(F));
}

static const struct rec *find(const char *topic, size_t from)
{
  for (size_t i = from; i < F.n; i++)
    if (!strcmp(F.v[i].topic, topic))
      return &F.v[i];
  return NULL;
}

/* Times at which topic was published, into ts (at most max). */
static size_t times(const char *topic, int64_t *ts, size_t max)
{
  size_t c = 0;
  for (size_t i = 0; i < F.n && c < max; i++)
    if (!strcmp(F.v[i].topic, topic))
      ts[c++] = F.v[i].t;
  return c;
}

/* Lets zero-delay work run (the "next poll": queued events, immediate metrics). */
static void poll_now(struct fx *x)
{
  sim_timer_start(x->loop, &x->stop, 0, 0);
  sim_loop_run(x->loop);
}

static void inject(const char *topic, const char *payload)
{
  v3_transport_message(F.v3, topic, payload, strlen(payload));
}

#define P "ovms/alice/MYCAR/"

/* ---- tests ---------------------------------------------------------------------------------- */

static void test_connect_subscribe_full_sync(void **state)
{
  struct fx x;
  fx_init(&x, NULL, SIM_TOPICS_CURRENT, NULL);
  /* 250 extra metrics so that the full sync needs three batches of 100 */
  for (int i = 0; i < 250; i++) {
    char name[32];
    snprintf(name, sizeof(name), "xtest.m%03d", i);
    struct metric *m;
    assert_int_equal(metrics_register(x.sim->metrics, name, METRIC_INT, SIM_UNIT_NATIVE, 0, &m),
                     0);
    metric_set_int(m, i);
  }
  run_until(&x, 40);
  assert_int_equal(F.connects, 1);
  /* connect after conn.stable_wait 10 + jitter 0..5 */
  assert_true(F.connack_t >= 10 && F.connack_t <= 16);
  /* one SUBSCRIBE, 4 filters, QoS 1, on the first tick after CONNACK */
  assert_int_equal(F.nsubs, 4);
  assert_int_equal(F.subqos, 1);
  assert_string_equal(F.subs[0], P "client/+/active");
  assert_string_equal(F.subs[1], P "client/+/command/+");
  assert_string_equal(F.subs[2], P "client/+/request/metric");
  assert_string_equal(F.subs[3], P "client/+/request/config");
  assert_int_equal(F.sub_t, F.connack_t + 1);
  /* the full sync: metric topics in ASCII order, QoS 0, retained; 2 batches on the first
   * tick, the rest on the next */
  size_t first = 0, metrics_first_tick = 0, total = 0;
  const char *prev = NULL;
  for (size_t i = 0; i < F.n; i++) {
    const struct rec *r = &F.v[i];
    if (strncmp(r->topic, P "metric/", strlen(P "metric/")))
      continue;
    if (r->t > F.sub_t + 1)
      break;
    if (!first)
      first = i + 1;
    assert_int_equal(r->qos, 0);
    assert_true(r->retain);
    if (prev)
      assert_true(strcmp(prev, r->topic) < 0);
    prev = r->topic;
    if (r->t == F.sub_t)
      metrics_first_tick++;
    total++;
  }
  assert_int_equal(metrics_first_tick, 200);
  assert_true(total > 250);
  const struct rec *c = find(P "metric/s/v3/connected", 0);
  assert_non_null(c);
  assert_string_equal(c->payload, "yes");
  const struct rec *e = find(P "metric/xtest/m007", 0);
  assert_string_equal(e->payload, "7");
  /* the connected event: legacy topic with the name, path topic empty */
  const struct rec *ev = find(P "event", 0);
  assert_non_null(ev);
  assert_string_equal(ev->payload, "server.v3.connected");
  assert_int_equal(ev->qos, 0);
  assert_false(ev->retain);
  const struct rec *evp = find(P "event/server/v3/connected", 0);
  assert_non_null(evp);
  assert_int_equal(evp->len, 0);
  /* undefined metrics are never sent */
  assert_null(find(P "metric/v/b/soc", 0));
  /* ticker.* and clock.* are never published */
  for (size_t i = 0; i < F.n; i++) {
    assert_null(strstr(F.v[i].topic, "event/ticker"));
    assert_null(strstr(F.v[i].topic, "event/clock"));
    if (!strcmp(F.v[i].topic, P "event"))
      assert_true(strncmp(F.v[i].payload, "ticker.", 7) && strncmp(F.v[i].payload, "clock.", 6));
  }
  fx_free(&x);
}

/* s.v3.peers 0 is in the first full sync: OvmsServerV3::TransmitAllMetrics() calls
 * CountClients(), which sets ms_s_v3_peers on every pass, changed or not
 * (V3/components/ovms_server_v3/src/ovms_server_v3.cpp, CountClients(), 1aa1daff and 3.3.006). */
static void test_peers_first_sync(void **state)
{
  struct fx x;
  fx_init(&x, NULL, SIM_TOPICS_CURRENT, NULL);
  run_until(&x, 30);
  assert_true(F.sub_t > 0);
  const struct rec *p = find(P "metric/s/v3/peers", 0);
  assert_non_null(p);
  assert_string_equal(p->payload, "0");
  assert_int_equal(p->t, F.sub_t); /* the first batch of the full sync */
  fx_free(&x);
}

/* Times of the publications of topic from index base on, into ts (at most max). */
static size_t times_from(const char *topic, size_t base, int64_t *ts, size_t max)
{
  size_t c = 0;
  for (size_t i = base; i < F.n && c < max; i++)
    if (!strcmp(F.v[i].topic, topic))
      ts[c++] = F.v[i].t;
  return c;
}

/*
 * A full sync restarts the modified timer: Ticker1() sets m_lasttx = now with
 * m_lasttx_sendall, and EventListener("app.connected") does too before TransmitAllMetrics()
 * (V3/components/ovms_server_v3/src/ovms_server_v3.cpp, OvmsServerV3::Ticker1() and
 * OvmsServerV3::EventListener(), 1aa1daff and 3.3.006).  So no modified sync follows a full
 * sync or an app connect a second later, and what the full sync sent is not sent again.
 */
static void test_full_sync_resets_modified(void **state)
{
  struct fx x;
  fx_init(&x, NULL, SIM_TOPICS_CURRENT, NULL);
  struct metric *xm;
  assert_int_equal(metrics_register(x.sim->metrics, "xtest.before", METRIC_INT, SIM_UNIT_NATIVE,
                                    0, &xm),
                   0);
  /* idle: full syncs 1201 s apart, modified syncs 601 s after the last sync of either kind */
  run_until(&x, 1180);
  metric_set_int(xm, 1); /* modified before the periodic full sync */
  size_t base = F.n;
  run_until(&x, 1900);
  int64_t sc[4], ts[8], xs[4];
  assert_int_equal(times_from(P "metric/s/v3/connected", base, sc, 4), 1);
  size_t n = times_from(P "metric/m/monotonic", base, ts, 8);
  assert_int_equal(n, 2);
  assert_int_equal(ts[0], sc[0]);       /* in the full sync */
  assert_int_equal(ts[1], sc[0] + 601); /* not a second later */
  assert_int_equal(times_from(P "metric/xtest/before", base, xs, 4), 1);
  assert_int_equal(xs[0], sc[0]);

  /* app connect: a full sync at once, the next modified sync one "connected" interval later */
  metric_set_int(xm, 2);
  base = F.n;
  int64_t t0 = now_s();
  inject(P "client/app1/active", "1");
  poll_now(&x);
  run_until(&x, t0 + 15);
  assert_int_equal(times_from(P "metric/s/v3/connected", base, sc, 4), 1);
  assert_int_equal(sc[0], t0);
  n = times_from(P "metric/m/monotonic", base, ts, 8);
  assert_int_equal(n, 2);
  assert_int_equal(ts[0], t0);
  assert_int_equal(ts[1], t0 + 11); /* updatetime.connected 10, not t0 + 1 */
  assert_int_equal(times_from(P "metric/xtest/before", base, xs, 4), 1);
  fx_free(&x);
}

/* The modified cadence: next+1 seconds by precedence on > charging > connected > awake > idle. */
static void test_cadence(void **state)
{
  struct fx x;
  fx_init(&x, NULL, SIM_TOPICS_CURRENT, NULL);
  run_until(&x, 30);
  int64_t ts[64];
  /* idle: m.monotonic changes every second; modified syncs 601 s apart */
  run_until(&x, 30 + 1300);
  size_t n = times(P "metric/m/monotonic", ts, 64);
  assert_true(n >= 3);
  assert_int_equal(ts[1] - ts[0], 601);
  /* full resync every 1201 s (the second value of s.v3.connected comes from it) */
  int64_t sc[8];
  assert_int_equal(times(P "metric/s/v3/connected", sc, 8), 2);
  assert_int_equal(sc[1] - sc[0], 1201);

  /* awake: 61 */
  metric_set_bool(metrics_find(x.sim->metrics, "v.e.awake"), true);
  size_t base = F.n;
  int64_t t0 = now_s();
  run_until(&x, t0 + 200);
  n = 0;
  for (size_t i = base; i < F.n; i++)
    if (!strcmp(F.v[i].topic, P "metric/m/monotonic"))
      ts[n++] = F.v[i].t;
  assert_true(n >= 3);
  assert_int_equal(ts[2] - ts[1], 61);

  /* charging: 11 (precedence over awake) */
  metric_set_bool(metrics_find(x.sim->metrics, "v.c.charging"), true);
  base = F.n;
  t0 = now_s();
  run_until(&x, t0 + 60);
  n = 0;
  for (size_t i = base; i < F.n; i++)
    if (!strcmp(F.v[i].topic, P "metric/m/monotonic"))
      ts[n++] = F.v[i].t;
  assert_true(n >= 3);
  assert_int_equal(ts[2] - ts[1], 11);

  /* on: 6 (precedence over charging) */
  metric_set_bool(metrics_find(x.sim->metrics, "v.e.on"), true);
  base = F.n;
  t0 = now_s();
  run_until(&x, t0 + 40);
  n = 0;
  for (size_t i = base; i < F.n; i++)
    if (!strcmp(F.v[i].topic, P "metric/m/monotonic"))
      ts[n++] = F.v[i].t;
  assert_true(n >= 3);
  assert_int_equal(ts[2] - ts[1], 6);
  /* setting an identical value is not a modification */
  metric_set_bool(metrics_find(x.sim->metrics, "v.e.on"), true);
  fx_free(&x);
}


/* <=3.3.005: next is the minimum of the enabled intervals (60 s with a client, 600 s
 * otherwise, vehicle stream when on); no periodic full sync. */
static void test_cadence_335(void **state)
{
  static const char *const sets[] = {"vehicle.stream", "20", NULL};
  struct fx x;
  fx_init(&x, "3.3.005", SIM_TOPICS_CURRENT, sets);
  run_until(&x, 30);
  inject(P "client/app1/active", "1");
  size_t base = F.n;
  run_until(&x, 200);
  int64_t ts[16];
  size_t n = 0;
  for (size_t i = base; i < F.n && n < 16; i++)
    if (!strcmp(F.v[i].topic, P "metric/m/monotonic"))
      ts[n++] = F.v[i].t;
  assert_true(n >= 2);
  assert_int_equal(ts[1] - ts[0], 61);
  metric_set_bool(metrics_find(x.sim->metrics, "v.e.on"), true);
  base = F.n;
  run_until(&x, 300);
  n = 0;
  for (size_t i = base; i < F.n && n < 16; i++)
    if (!strcmp(F.v[i].topic, P "metric/m/monotonic"))
      ts[n++] = F.v[i].t;
  assert_true(n >= 3);
  assert_int_equal(ts[2] - ts[1], 21); /* vehicle stream 20 while on */
  fx_free(&x);
}

/* Event-triggered sync: vehicle.on sends the modified metrics at once. */
static void test_event_triggered(void **state)
{
  struct fx x;
  fx_init(&x, NULL, SIM_TOPICS_CURRENT, NULL);
  run_until(&x, 100);
  size_t base = F.n;
  metric_set_bool(metrics_find(x.sim->metrics, "v.e.on"), true);
  /* published inside the setter's event dispatch, at the same second */
  const struct rec *r = find(P "metric/v/e/on", base);
  assert_non_null(r);
  assert_string_equal(r->payload, "yes");
  assert_int_equal(r->t, 100);
  /* HEAD queues the event for the next poll: the triggered sync goes out first */
  assert_null(find(P "event/vehicle/on", base));
  poll_now(&x);
  const struct rec *e = find(P "event/vehicle/on", base);
  assert_non_null(e);
  assert_true(e > r);
  assert_int_equal(e->t, 100);
  /* 3.3.005 has no event-triggered transmissions */
  fx_free(&x);
  fx_init(&x, "3.3.005", SIM_TOPICS_CURRENT, NULL);
  run_until(&x, 100);
  base = F.n;
  metric_set_bool(metrics_find(x.sim->metrics, "v.e.on"), true);
  assert_null(find(P "metric/v/e/on", base));
  fx_free(&x);
}

static void test_clients(void **state)
{
  struct fx x;
  fx_init(&x, NULL, SIM_TOPICS_CURRENT, NULL);
  run_until(&x, 700); /* past the first idle modified sync */
  size_t base = F.n;
  inject(P "client/app1/active", "1");
  assert_int_equal(metric_int(metrics_find(x.sim->metrics, "s.v3.peers")), 1);
  poll_now(&x);
  const struct rec *e = find(P "event", base);
  assert_non_null(e);
  assert_string_equal(e->payload, "app.connected");
  /* app.connected: a full sync (the last one was more than 30 s ago) */
  const struct rec *p = find(P "metric/s/v3/peers", base);
  assert_non_null(p);
  assert_string_equal(p->payload, "1");
  /* with a client: modified every 11 s */
  int64_t t0 = now_s();
  run_until(&x, t0 + 100);
  int64_t ts[32];
  size_t n = 0;
  for (size_t i = base; i < F.n && n < 32; i++)
    if (!strcmp(F.v[i].topic, P "metric/m/monotonic"))
      ts[n++] = F.v[i].t;
  assert_true(n >= 4);
  assert_int_equal(ts[3] - ts[2], 11);
  /* expiry after 120 s without a heartbeat: peers 0, app.disconnected */
  bool disc = false;
  for (size_t i = base; i < F.n; i++)
    if (!strcmp(F.v[i].topic, P "event") && !strcmp(F.v[i].payload, "app.disconnected"))
      disc = true;
  assert_false(disc);
  run_until(&x, t0 + 200);
  for (size_t i = base; i < F.n; i++)
    if (!strcmp(F.v[i].topic, P "event") && !strcmp(F.v[i].payload, "app.disconnected")) {
      disc = true;
      assert_true(F.v[i].t >= t0 + 120);
      assert_true(F.v[i].t <= t0 + 180); /* ticker.60 or the next transmission */
    }
  assert_true(disc);
  assert_int_equal(metric_int(metrics_find(x.sim->metrics, "s.v3.peers")), 0);
  /* "0" and empty payloads remove a client at once */
  inject(P "client/app2/active", "1");
  assert_int_equal(metric_int(metrics_find(x.sim->metrics, "s.v3.peers")), 1);
  inject(P "client/app2/active", "0");
  assert_int_equal(metric_int(metrics_find(x.sim->metrics, "s.v3.peers")), 0);
  inject(P "client/app3/active", "yes");
  inject(P "client/app3/active", "");
  assert_int_equal(metric_int(metrics_find(x.sim->metrics, "s.v3.peers")), 0);
  fx_free(&x);
}

/* A wall clock the test moves by hand (ns). */
static int64_t fake_wall;
static int64_t fake_wall_ns(void)
{
  return fake_wall;
}

/* Issue 13 item 7: with a wall clock, client presence expires after 120 s of wall time, not of
 * simulated time: an app that announced itself once stays counted over 10 simulated minutes
 * in which no wall time passes, and is dropped on the next check once 121 s of wall time
 * have passed. */
static void test_presence_wall_clock(void **state)
{
  struct fx x;
  fx_init(&x, NULL, SIM_TOPICS_CURRENT, NULL);
  fake_wall = 1000 * SIM_NS_PER_SEC;
  v3_set_presence_clock(F.v3, fake_wall_ns);
  run_until(&x, 100);
  inject(P "client/app1/active", "1");
  assert_int_equal(metric_int(metrics_find(x.sim->metrics, "s.v3.peers")), 1);
  run_until(&x, 700); /* ten ticker.60 checks later, the same wall second */
  assert_int_equal(metric_int(metrics_find(x.sim->metrics, "s.v3.peers")), 1);
  fake_wall += 119 * SIM_NS_PER_SEC;
  run_until(&x, 761);
  assert_int_equal(metric_int(metrics_find(x.sim->metrics, "s.v3.peers")), 1);
  fake_wall += 2 * SIM_NS_PER_SEC; /* 121 s of wall time since the heartbeat */
  size_t base = F.n;
  run_until(&x, 821);
  assert_int_equal(metric_int(metrics_find(x.sim->metrics, "s.v3.peers")), 0);
  bool disc = false;
  for (size_t i = base; i < F.n; i++)
    if (!strcmp(F.v[i].topic, P "event") && !strcmp(F.v[i].payload, "app.disconnected"))
      disc = true;
  assert_true(disc);
  fx_free(&x);
}

static const char *response(const char *cmdid, size_t base)
{
  char t[128];
  snprintf(t, sizeof(t), P "client/app1/response/%s", cmdid);
  const struct rec *r = find(t, base);
  if (!r)
    return NULL;
  assert_int_equal(r->qos, 1);
  assert_false(r->retain);
  return r->payload;
}

static void test_commands(void **state)
{
  struct fx x;
  fx_init(&x, NULL, SIM_TOPICS_CURRENT, NULL);
  run_until(&x, 30);
  size_t base = F.n;
  metric_set_float(metrics_find(x.sim->metrics, "v.b.soc"), 85);
  metric_set_float(metrics_find(x.sim->metrics, "v.b.range.ideal"), 300);
  metric_set_float(metrics_find(x.sim->metrics, "v.b.range.est"), 250);
  metric_set_float(metrics_find(x.sim->metrics, "v.p.odometer"), 12345.6f);
  metric_set_float(metrics_find(x.sim->metrics, "v.b.cac"), 100);
  metric_set_float(metrics_find(x.sim->metrics, "v.b.soh"), 100);
  inject(P "client/app1/command/42", "stat");
  /* no vehicle module and no control: the framework's error */
  assert_string_equal(response("42", base), "Error: No vehicle module selected\n");
  static const struct sim_control_ops ctl = {0};
  x.sim->control = &ctl;
  inject(P "client/app1/command/43", "stat");
  assert_string_equal(response("43", base), "Not charging\nSOC: 85.0%\nIdeal range: 300km\n"
                                            "Est. range: 250km\nODO: 12345.6km\nCAC: 100.0Ah\n"
                                            "SOH: 100%\n");
  inject(P "client/app1/command/44", "foo");
  assert_string_equal(response("44", base), "Unrecognised command\n");
  inject(P "client/app1/command/45", "");
  assert_string_equal(response("45", base), "");
  inject(P "client/app1/command/46", "serv v3 stat");
  assert_string_equal(response("46", base), "State: Connected\n"
                                            "       OVMS V3 MQTT login successful\n");
  inject(P "client/app1/command/47", "charge start");
  assert_string_equal(response("47", base), "Error: Charge start functionality not available\n");
  inject(P "client/app1/command/48", "lock");
  assert_string_equal(response("48", base), "Usage: lock <pin>\n");
  inject(P "client/app1/command/49", "metrics set v.b.soc 80");
  assert_string_equal(response("49", base), "Metric set\n");
  inject(P "client/app1/command/50", "metrics list v.b.soc");
  assert_string_equal(response("50", base),
                      "v.b.soc                                  80%\n");
  inject(P "client/app1/command/51", "charge");
  assert_string_equal(response("51", base),
                      "Subcommand required\nUsage: charge <current|mode|start|stop>\n");
  inject(P "client/app1/command/52", "server v3 update all");
  assert_string_equal(response("52", base),
                      "Server V3 data update for all metrics has been scheduled\n");
  inject(P "client/app1/command/53", "event raise usr.test.one\nevent raise usr.test.two");
  assert_string_equal(response("53", base),
                      "Raising event: usr.test.one\nRaising event: usr.test.two\n");
  poll_now(&x);
  assert_non_null(find(P "event/usr/test/two", base));
  inject(P "client/app1/command/54", "charge fo");
  assert_string_equal(response("54", base),
                      "Unrecognised command\nUsage: charge <current|mode|start|stop>\n");
  /* a topic without a command id is rejected */
  size_t before = F.n;
  inject(P "client/app1/command/", "stat");
  assert_int_equal(F.n, before);
  fx_free(&x);
}

/* The bound on unacknowledged command responses (V3_RESPONSES_MAX): beyond it a command is
 * not run and is counted; an acknowledgement makes room again, a new connection starts
 * afresh. */
static void test_command_bound(void **state)
{
  struct fx x;
  fx_init(&x, NULL, SIM_TOPICS_CURRENT, NULL);
  run_until(&x, 30);
  F.manual_ack = true;
  F.npending = 0;
  size_t base = F.n;
  char topic[64];
  for (int i = 0; i < V3_RESPONSES_MAX + 3; i++) {
    snprintf(topic, sizeof topic, P "client/app1/command/%d", i);
    inject(topic, "foo");
  }
  size_t answered = 0;
  int first_mid = 0;
  for (size_t i = base; i < F.n; i++)
    if (strstr(F.v[i].topic, "/response/")) {
      if (!answered)
        first_mid = F.v[i].mid;
      answered++;
    }
  assert_int_equal(answered, V3_RESPONSES_MAX);
  assert_int_equal(v3_get_stats(F.v3)->commands_dropped, 3);
  snprintf(topic, sizeof topic, P "client/app1/response/%d", V3_RESPONSES_MAX);
  assert_null(find(topic, base)); /* the first one over the bound */
  /* one acknowledgement: one more command is run */
  v3_transport_acked(F.v3, first_mid);
  inject(P "client/app1/command/x1", "foo");
  inject(P "client/app1/command/x2", "foo");
  assert_non_null(find(P "client/app1/response/x1", base));
  assert_null(find(P "client/app1/response/x2", base));
  assert_int_equal(v3_get_stats(F.v3)->commands_dropped, 4);
  fx_free(&x);
}

/* fuzz_v3_inbound: a command that stops Server V3 freed the engine while run_command() still
 * used it to publish the response (heap-use-after-free). */
static void test_command_stops_server(void **state)
{
  struct fx x;
  fx_init(&x, NULL, SIM_TOPICS_CURRENT, NULL);
  run_until(&x, 30);
  assert_non_null(x.sim->v3);
  size_t before = F.n;
  inject(P "client/app1/command/7", "server v3 stop");
  assert_false(v3_connected(x.sim->v3));
  assert_null(find(P "client/app1/response/7", before));
  run_until(&x, 40);
  fx_free(&x);
}

static void test_requests(void **state)
{
  struct fx x;
  fx_init(&x, NULL, SIM_TOPICS_CURRENT, NULL);
  run_until(&x, 30);
  metric_set_float(metrics_find(x.sim->metrics, "v.b.soc"), 85);
  metric_set_float(metrics_find(x.sim->metrics, "v.b.range.est"), 250);
  size_t base = F.n;
  inject(P "client/ha/request/metric", "v.b.*,m.serial");
  const struct rec *r = find(P "metric/v/b/soc", base);
  assert_non_null(r);
  assert_string_equal(r->payload, "85");
  assert_true(r->retain);
  assert_non_null(find(P "metric/v/b/range/est", base));
  assert_non_null(find(P "metric/m/serial", base));
  assert_null(find(P "metric/m/monotonic", base));
  /* an unset key answers "", not the built-in default 600: the firmware answers
   * MyConfig.GetParamValue(param, instance) with its default "" (OvmsServerV3::
   * ProcessClientConfigRequest(), ovms_server_v3.cpp; main/ovms_config.h GetParamValue) */
  inject(P "client/ha/request/config", " server.v3/updatetime.idle \n");
  r = find(P "client/ha/config/server/v3/updatetime/idle", base);
  assert_non_null(r);
  assert_int_equal(r->len, 0);
  assert_int_equal(r->qos, 0);
  assert_false(r->retain);
  assert_int_equal(sim_config_set(x.sim->config, "server.v3", "updatetime.idle", "300", NULL), 0);
  size_t set_base = F.n;
  inject(P "client/ha/request/config", "server.v3/updatetime.idle");
  r = find(P "client/ha/config/server/v3/updatetime/idle", set_base);
  assert_non_null(r);
  assert_string_equal(r->payload, "300");
  inject(P "client/ha/request/config", "vehicle/name");
  r = find(P "client/ha/config/vehicle/name", base);
  assert_non_null(r);
  assert_int_equal(r->len, 0);
  /* the password is protected: no answer carries it (nor an answer at all) */
  assert_int_equal(sim_config_set(x.sim->config, "password", "server.v3", "s3cret", NULL), 0);
  size_t before = F.n;
  inject(P "client/ha/request/config", "password/server.v3");
  assert_null(find(P "client/ha/config/password/server/v3", base));
  for (size_t i = before; i < F.n; i++)
    assert_null(strstr(F.v[i].payload, "s3cret"));
  fx_free(&x);
}

/* No remote TLS downgrade: with TLS from the command line (--cafile and tls yes) an app
 * cannot turn it off, by set or rm; other connection keys stay writable.  Without TLS files
 * the key stays writable. */
static void test_tls_locked(void **state)
{
  static const struct {
    const char *cafile, *cmd, *answer, *tls_after;
  } cases[] = {
      {"ca.pem", "config set server.v3 tls no",
       "Error: parameter is not writeable: server.v3 tls was given on the command line (TLS "
       "cannot be turned off remotely)\n",
       "yes"},
      {"ca.pem", "config rm server.v3 tls", "Error: parameter is not writeable\n", "yes"},
      {"ca.pem", "config set server.v3 tls yes", "Parameter has been set.\n", "yes"},
      /* a changed connection key reconnects before the answer goes out: no answer */
      {"ca.pem", "config set server.v3 port 8884", NULL, "yes"},
      {NULL, "config set server.v3 tls no", NULL, "no"},
  };
  static const char *const sets[] = {"server.v3.tls", "yes", NULL};
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    struct fx x;
    fx_cafile = cases[i].cafile;
    fx_init(&x, NULL, SIM_TOPICS_CURRENT, sets);
    fx_cafile = NULL;
    run_until(&x, 30);
    size_t base = F.n;
    inject(P "client/app1/command/1", cases[i].cmd);
    if (cases[i].answer)
      assert_string_equal(response("1", base), cases[i].answer);
    assert_string_equal(sim_config_get(x.sim->config, "server.v3", "tls"), cases[i].tls_after);
    if (strstr(cases[i].cmd, "port"))
      assert_string_equal(sim_config_get(x.sim->config, "server.v3", "port"), "8884");
    fx_free(&x);
  }
}

static void test_notifications(void **state)
{
  struct fx x;
  fx_init(&x, NULL, SIM_TOPICS_CURRENT, NULL);
  run_until(&x, 30);
  F.manual_ack = true;
  size_t base = F.n;
  assert_int_equal(sim_notify_raise(x.sim, NOTIFY_INFO, "charge.started", "a,b\nc"), 1);
  const struct rec *r = find(P "notify/info/charge/started", base);
  assert_non_null(r);
  assert_int_equal(r->qos, 1);
  assert_false(r->retain);
  assert_string_equal(r->payload, "a,b\nc");
  poll_now(&x);
  assert_non_null(find(P "event/notify/info/charge/started", base));
  sim_notify_raise(x.sim, NOTIFY_ALERT, "batt.12v.alert", "12V");
  assert_non_null(find(P "notify/alert/batt/12v/alert", base));
  metric_set_string(metrics_find(x.sim->metrics, "v.type"), "NL");
  sim_notify_error_code(x.sim, 23, 0);
  r = find(P "notify/error/code", base);
  assert_non_null(r);
  assert_string_equal(r->payload, "NL,23,0");
  assert_int_equal(sim_notify_error_code(x.sim, 23, 0), 0); /* suppressed within 120 s */
  /* data: QoS 2, first line only, one in flight */
  assert_int_equal(sim_notify_raise(x.sim, NOTIFY_DATA, "log.trip", "*-LOG-Trip,1\nmore"), 1);
  assert_int_equal(sim_notify_raise(x.sim, NOTIFY_DATA, "log.trip", "*-LOG-Trip,2"), 2);
  run_until(&x, 45);
  r = find(P "notify/data/log/trip/1/0", base);
  if (!r) { /* sent on a later tick than raised: the age is negative */
    for (size_t i = base; i < F.n; i++)
      if (!strncmp(F.v[i].topic, P "notify/data/log/trip/1/", strlen(P "notify/data/log/trip/1/")))
        r = &F.v[i];
  }
  assert_non_null(r);
  assert_int_equal(r->qos, 2);
  assert_string_equal(r->payload, "*-LOG-Trip,1");
  size_t ndata = 0;
  for (size_t i = base; i < F.n; i++)
    if (!strncmp(F.v[i].topic, P "notify/data/", strlen(P "notify/data/")))
      ndata++;
  assert_int_equal(ndata, 1); /* the second waits for the first's acknowledgement */
  int mid = r->mid;
  v3_transport_acked(F.v3, mid);
  int64_t t1 = now_s();
  run_until(&x, t1 + 5);
  ndata = 0;
  const struct rec *second = NULL;
  for (size_t i = base; i < F.n; i++)
    if (!strncmp(F.v[i].topic, P "notify/data/log/trip/2/", strlen(P "notify/data/log/trip/2/")))
      second = &F.v[i];
  assert_non_null(second);
  /* <-age>: raised at t=30, sent later */
  char expect[96];
  snprintf(expect, sizeof(expect), P "notify/data/log/trip/2/%d", -(int)(second->t - 30));
  assert_string_equal(second->topic, expect);
  fx_free(&x);
}

static void test_charge_state_notification(void **state)
{
  struct fx x;
  fx_init(&x, NULL, SIM_TOPICS_CURRENT, NULL);
  static const struct sim_control_ops ctl = {0};
  x.sim->control = &ctl;
  run_until(&x, 30);
  size_t base = F.n;
  metric_set_bool(metrics_find(x.sim->metrics, "v.d.cp"), true);
  metric_set_string(metrics_find(x.sim->metrics, "v.c.mode"), "standard");
  metric_set_string(metrics_find(x.sim->metrics, "v.c.state"), "charging");
  metric_set_float(metrics_find(x.sim->metrics, "v.b.soc"), 50);
  run_until(&x, 32);
  assert_null(find(P "notify/info/charge/started", base));
  run_until(&x, 34);
  const struct rec *r = find(P "notify/info/charge/started", base);
  assert_non_null(r);
  assert_int_equal(r->t, 33); /* 3 s after the change */
  assert_string_equal(r->payload, "Standard - Charging\nSOC: 50.0%\n");
  base = F.n;
  metric_set_string(metrics_find(x.sim->metrics, "v.c.state"), "stopped");
  run_until(&x, 40);
  assert_non_null(find(P "notify/alert/charge/stopped", base));
  fx_free(&x);
}

static void test_filters_retain_prefix(void **state)
{
  static const char *const sets[] = {"server.v3.metrics.include", "v.b.*,xtest.*",
                                     "server.v3.metrics.exclude", "*.range.est",
                                     "server.v3.retain.depth.limit", "yes",
                                     NULL};
  struct fx x;
  fx_init(&x, NULL, SIM_TOPICS_CURRENT, sets);
  metric_set_float(metrics_find(x.sim->metrics, "v.b.soc"), 85);
  metric_set_float(metrics_find(x.sim->metrics, "v.b.range.est"), 250);
  struct metric *m;
  metrics_register(x.sim->metrics, "xtest.a.b.c.d.e", METRIC_INT, SIM_UNIT_NATIVE, 0, &m);
  metric_set_int(m, 1);
  metrics_register(x.sim->metrics, "xtest.a.b", METRIC_INT, SIM_UNIT_NATIVE, 0, &m);
  metric_set_int(m, 2);
  run_until(&x, 30);
  assert_non_null(find(P "metric/v/b/soc", 0));
  assert_null(find(P "metric/v/b/range/est", 0));
  assert_null(find(P "metric/m/monotonic", 0));
  const struct rec *deep = find(P "metric/xtest/a/b/c/d/e", 0);
  assert_non_null(deep);
  assert_false(deep->retain); /* 9 slashes > 7 */
  const struct rec *flat = find(P "metric/xtest/a/b", 0);
  assert_true(flat->retain);
  fx_free(&x);

  /* a custom prefix is used verbatim, no slash added */
  static const char *const sets2[] = {"server.v3.topic.prefix", "foo", NULL};
  fx_init(&x, NULL, SIM_TOPICS_CURRENT, sets2);
  run_until(&x, 30);
  assert_non_null(find("foometric/s/v3/connected", 0));
  assert_string_equal(F.subs[0], "fooclient/+/active");
  fx_free(&x);
}

static void test_profiles(void **state)
{
  struct fx x;
  /* 3.3.004: dotted subtypes, mp_encode'd payloads, only the legacy event topic, two
   * subscriptions; dates as date strings, as at every later tag: m.time.utc is
   * OvmsMetricInt64(MS_M_TIME_UTC, SM_STALE_MIN, DateUTC) and v.p.gpstime DateLocal in
   * V3/main/metrics_standard.cpp OvmsMetricsStandard(), formatted by
   * OvmsMetricInt64::AsString() (V3/main/ovms_metrics.cpp, tag 3.3.004) */
  fx_init(&x, "3.3.004", SIM_TOPICS_CURRENT, NULL);
  metric_set_int64(metrics_find(x.sim->metrics, "v.p.gpstime"), 1717228805);
  /* metrics OvmsMetricsStandard() creates from 3.3.005 on only (metrics_standard.cpp at tags
   * 3.3.004 and 3.3.005): set, but never published by 3.3.004 */
  static const char *const absent[] = {"m.net.connected", "m.net.good.sq", "m.net.ip",
                                       "v.b.capacity",    "v.c.timestamp", "v.g.timestamp"};
  for (size_t i = 0; i < ARRAY_SIZE(absent); i++) {
    struct metric *am = metrics_find(x.sim->metrics, absent[i]);
    assert_non_null(am);
    assert_true(metric_set_from_string(am, "1", SIM_UNIT_NATIVE) >= 0);
  }
  run_until(&x, 30);
  assert_int_equal(F.nsubs, 2);
  size_t base = F.n;
  sim_notify_raise(x.sim, NOTIFY_INFO, "charge.started", "a,b\nc");
  const struct rec *r = find(P "notify/info/charge.started", base);
  assert_non_null(r);
  assert_string_equal(r->payload, "a;b\rc");
  assert_non_null(find(P "event", 0));
  assert_null(find(P "event/server/v3/connected", 0));
  r = find(P "metric/m/time/utc", 0);
  assert_non_null(r);
  char want[32];
  snprintf(want, sizeof(want), "2024-06-01 08:00:%02d UTC", (int)r->t);
  assert_string_equal(r->payload, want); /* the fixture starts at 2024-06-01 08:00:00 UTC */
  r = find(P "metric/v/p/gpstime", 0);
  assert_non_null(r);
  /* DateLocal "%F %T %Z": the zone name is the process time zone's (sim_tz_set()) */
  assert_int_equal(strncmp(r->payload, "2024-06-01 08:00:05 ", 20), 0);
  assert_true(r->len > 20);
  for (size_t i = 0; i < F.n; i++)
    for (size_t j = 0; j < ARRAY_SIZE(absent); j++) {
      char t[64];
      snprintf(t, sizeof(t), P "metric/%s", absent[j]);
      for (char *c = t + strlen(P "metric/"); *c; c++)
        if (*c == '.')
          *c = '/';
      assert_string_not_equal(F.v[i].topic, t);
    }
  fx_free(&x);

  /* draft-2018 topic names; current firmware has v.b.capacity */
  fx_init(&x, NULL, SIM_TOPICS_DRAFT2018, NULL);
  metric_set_float(metrics_find(x.sim->metrics, "v.b.capacity"), 40);
  run_until(&x, 30);
  r = find(P "m/v/b/capacity", 0);
  assert_non_null(r);
  assert_string_equal(r->payload, "40");
  assert_non_null(find(P "m/s/v3/connected", 0));
  assert_null(find(P "metric/s/v3/connected", 0));
  assert_int_equal(F.nsubs, 2);
  assert_string_equal(F.subs[0], P "c/+");
  assert_string_equal(F.subs[1], P "cmd/+/c/");
  assert_int_equal(F.subqos, 2);
  static const struct sim_control_ops ctl = {0};
  x.sim->control = &ctl;
  base = F.n;
  inject(P "c/app1", "1");
  assert_int_equal(metric_int(metrics_find(x.sim->metrics, "s.v3.peers")), 1);
  inject(P "cmd/app1/c/", "foo");
  r = find(P "cmd/app1/r/", base);
  assert_non_null(r);
  assert_int_equal(r->qos, 2);
  assert_string_equal(r->payload, "Unrecognised command\n");
  sim_notify_raise(x.sim, NOTIFY_INFO, "charge.started", "x");
  r = find(P "notify/info", base);
  assert_non_null(r);
  assert_int_equal(r->qos, 2);
  fx_free(&x);
}

static void test_auth_suspend(void **state)
{
  struct fx x;
  fx_init(&x, NULL, SIM_TOPICS_CURRENT, NULL);
  F.refuse = 5;
  run_until(&x, 600);
  assert_int_equal(F.connects, 1); /* suspended until a config change */
  /* the state is Disconnected (MG_EV_MQTT_CONNACK in OvmsServerV3MongooseCallback():
   * SetStatus("Authentication error ...", true, OvmsServerV3::Disconnected)), and
   * ovmsv3_status() prints it without a countdown */
  assert_int_equal(v3_state(x.sim->v3), V3_DISCONNECTED);
  struct sbuf st = SBUF_INIT;
  v3_status_text(x.sim->v3, &st);
  assert_string_equal(sbuf_str(&st), "State: Disconnected\n"
                                     "       Authentication error (wrong user/password/client ID)\n");
  sbuf_free(&st);
  F.refuse = 0;
  int64_t tcfg = now_s();
  sim_config_set(x.sim->config, "server.v3", "user", "bob", NULL);
  run_until(&x, 620);
  assert_int_equal(F.connects, 2);
  assert_int_equal(F.connect_t[1] - tcfg, 2); /* ConfigChanged(): m_connretry -1 -> 2 */
  assert_non_null(find("ovms/bob/MYCAR/metric/s/v3/connected", 0));
  fx_free(&x);
  /* 3.3.006 retries after 30 s */
  fx_init(&x, "3.3.006", SIM_TOPICS_CURRENT, NULL);
  F.refuse = 5;
  run_until(&x, 600);
  assert_true(F.connects > 10);
  fx_free(&x);
}


/* updatetime.priority: GPS/time metrics every updatetime.on + 1 s while awake;
 * updatetime.immediately: a change goes out on the next poll, not at the next sync. */
static void test_priority_immediate(void **state)
{
  static const char *const sets[] = {"server.v3.updatetime.priority", "yes",
                                     "server.v3.metrics.priority", "v.b.soc", NULL};
  struct fx x;
  fx_init(&x, NULL, SIM_TOPICS_CURRENT, sets);
  metric_set_bool(metrics_find(x.sim->metrics, "v.e.awake"), true);
  run_until(&x, 100);
  size_t base = F.n;
  metric_set_float(metrics_find(x.sim->metrics, "v.p.latitude"), 51.5f);
  metric_set_float(metrics_find(x.sim->metrics, "v.b.soc"), 42);
  run_until(&x, 110);
  const struct rec *lat = find(P "metric/v/p/latitude", base);
  assert_non_null(lat);
  assert_string_equal(lat->payload, "51.500000"); /* %.6f since 3.3.005 */
  assert_non_null(find(P "metric/v/b/soc", base));
  /* the priority path does not send other modified metrics (awake: modified every 61 s) */
  metric_set_float(metrics_find(x.sim->metrics, "v.b.range.est"), 100);
  size_t b2 = F.n;
  run_until(&x, 116);
  assert_null(find(P "metric/v/b/range/est", b2));
  fx_free(&x);

  static const char *const sets2[] = {"server.v3.updatetime.immediately", "yes",
                                      "server.v3.metrics.include.immediately", "v.b.*", NULL};
  fx_init(&x, NULL, SIM_TOPICS_CURRENT, sets2);
  run_until(&x, 100);
  base = F.n;
  metric_set_float(metrics_find(x.sim->metrics, "v.b.soc"), 55);
  metric_set_float(metrics_find(x.sim->metrics, "v.p.speed"), 30);
  /* the next poll: at once, before any tick */
  sim_timer_start(x.loop, &x.stop, 0, 0);
  sim_loop_run(x.loop);
  const struct rec *r = find(P "metric/v/b/soc", base);
  assert_non_null(r);
  assert_int_equal(r->t, 100);
  assert_null(find(P "metric/v/p/speed", base));
  fx_free(&x);
}

static void test_events_legacy_off_and_notify_filter(void **state)
{
  static const char *const sets[] = {"server.v3.events.legacy_topic", "no",
                                     "notify.charge.started", "*,-ovmsv3", NULL};
  struct fx x;
  fx_init(&x, NULL, SIM_TOPICS_CURRENT, sets);
  run_until(&x, 30);
  assert_null(find(P "event", 0));
  assert_non_null(find(P "event/server/v3/connected", 0));
  size_t base = F.n;
  sim_notify_raise(x.sim, NOTIFY_INFO, "charge.started", "x");
  sim_notify_raise(x.sim, NOTIFY_INFO, "charge.done", "y");
  run_until(&x, 35);
  assert_null(find(P "notify/info/charge/started", base));
  assert_non_null(find(P "notify/info/charge/done", base));
  /* the filtered entry was consumed, not left pending */
  assert_int_equal(sim_notify_pending(x.sim, sim_notify_reader(x.sim, "ovmsv3")), 0);
  fx_free(&x);
}

/* Notifications raised while disconnected wait and go out after the connect, one per type
 * per tick; stream entries are never sent. */
static void test_notify_backlog(void **state)
{
  struct fx x;
  fx_init(&x, NULL, SIM_TOPICS_CURRENT, NULL);
  run_until(&x, 2); /* not connected yet */
  sim_notify_raise(x.sim, NOTIFY_INFO, "a.one", "1");
  sim_notify_raise(x.sim, NOTIFY_INFO, "a.two", "2");
  sim_notify_raise(x.sim, NOTIFY_STREAM, "retools.status", "s");
  run_until(&x, 40);
  const struct rec *a = find(P "notify/info/a/one", 0), *b = find(P "notify/info/a/two", 0);
  assert_non_null(a);
  assert_non_null(b);
  assert_int_equal(b->t, a->t + 1);
  assert_null(find(P "notify/stream/retools/status", 0));
  fx_free(&x);
}


/* A data backlog drains at the broker's pace: the next record goes out when the previous
 * one's exchange ends, as OvmsServerV3::IncomingPubRec() calls
 * TransmitPendingNotificationsData() (ovms_server_v3.cpp), not one per Ticker1.  The fake
 * broker acknowledges on the next loop turn, so all 50 go out in the second of the connect,
 * in order, each once. */
static void test_notify_data_backlog_drain(void **state)
{
  struct fx x;
  fx_init(&x, NULL, SIM_TOPICS_CURRENT, NULL);
  run_until(&x, 2); /* not connected yet */
  enum { N = 50 };
  for (int i = 1; i <= N; i++) {
    char text[32];
    snprintf(text, sizeof(text), "*-LOG-Test,%d", i);
    assert_int_equal(sim_notify_raise(x.sim, NOTIFY_DATA, "log.test", text), i);
  }
  run_until(&x, 40);
  const char *pre = P "notify/data/log/test/";
  int64_t first_t = -1;
  int next = 1;
  int prev_mid = 0;
  for (size_t i = 0; i < F.n; i++) {
    if (strncmp(F.v[i].topic, pre, strlen(pre)))
      continue;
    char *end;
    long id = strtol(F.v[i].topic + strlen(pre), &end, 10);
    assert_int_equal(id, next); /* in order, each once */
    assert_int_equal(*end, '/');
    char text[32];
    snprintf(text, sizeof(text), "*-LOG-Test,%d", next);
    assert_string_equal(F.v[i].payload, text);
    assert_true(F.v[i].mid > prev_mid); /* a new publication, not a repeat */
    prev_mid = F.v[i].mid;
    if (first_t < 0)
      first_t = F.v[i].t;
    assert_int_equal(F.v[i].t, first_t); /* no record waits for a tick */
    next++;
  }
  assert_int_equal(next, N + 1);
  assert_int_equal(first_t, F.connack_t + 1); /* the first Ticker1 after the CONNACK */
  assert_int_equal(v3_notify_backlog(F.v3, NOTIFY_DATA), 0);
  fx_free(&x);
}

/* Retry delays of HEAD (the MG_EV_CLOSE / CONNACK cases of OvmsServerV3MongooseCallback()):
 * TCP failure 30 s, unexpected close 60 s, CONNACK 3 30 s,
 * without jitter (test_reconnect_schedule has it); <=3.3.005: 60 s. */
static void test_backoff(void **state)
{
  static const char *const nojitter[] = {"server.v3.conn.jitter.max", "0", NULL};
  struct fx x;
  fx_init(&x, NULL, SIM_TOPICS_CURRENT, nojitter);
  F.tcp_fail = true;
  run_until(&x, 200);
  assert_true(F.connects >= 3);
  assert_int_equal(F.connect_t[0], 10); /* conn.stable_wait */
  assert_int_equal(F.connect_t[1] - F.connect_t[0], 30);
  assert_int_equal(F.connect_t[2] - F.connect_t[1], 30);
  struct sbuf st = SBUF_INIT;
  v3_status_text(x.sim->v3, &st);
  assert_non_null(strstr(sbuf_str(&st), "State: Waiting to reconnect ("));
  assert_non_null(strstr(sbuf_str(&st), "       Error: Connection failed"));
  sbuf_free(&st);
  /* connected, then the connection drops: 60 s, s.v3.connected no */
  F.tcp_fail = false;
  int64_t t0 = now_s();
  run_until(&x, t0 + 40);
  assert_true(v3_connected(x.sim->v3));
  int n = F.connects;
  v3_transport_closed(F.v3, 0, false);
  assert_false(metric_bool(metrics_find(x.sim->metrics, "s.v3.connected")));
  int64_t tc = now_s();
  run_until(&x, tc + 70);
  assert_int_equal(F.connects, n + 1);
  assert_int_equal(F.connect_t[n] - tc, 60);
  /* CONNACK 3 (server unavailable): 30 s */
  F.refuse = 3;
  v3_transport_closed(F.v3, 0, false);
  tc = now_s();
  run_until(&x, tc + 100);
  assert_int_equal(F.connect_t[n + 2] - F.connect_t[n + 1], 30);
  fx_free(&x);

  fx_init(&x, "3.3.005", SIM_TOPICS_CURRENT, NULL);
  F.tcp_fail = true;
  run_until(&x, 200);
  assert_int_equal(F.connect_t[0], 10); /* fixed 10 s, no jitter */
  assert_int_equal(F.connect_t[1] - F.connect_t[0], 60);
  fx_free(&x);
}


/* The reconnect schedule with the default jitter (conn.jitter.max 5), in simulation time.
 * Ticker1 of ovms_server_v3.cpp counts m_connretry down and connects at 0 once
 * m_connection_counter has reached m_conn_stable_wait + m_connect_jitter; the jitter is drawn
 * when the network becomes stable (and re-drawn before each retry), and the count restarts at
 * a failed TCP connect (MG_EV_CONNECT, 30 s), a CONNACK refusal (30 s) and an unexpected close
 * (MG_EV_CLOSE, 60 s).  So the first connect comes after 10 + 0..5 s, every retry after its
 * fixed interval, and only a conn.stable_wait above the interval brings the jitter back. */
static void test_reconnect_schedule(void **state)
{
  struct fx x;
  fx_init(&x, NULL, SIM_TOPICS_CURRENT, NULL);
  run_until(&x, 20);
  assert_int_equal(F.connects, 1);
  assert_in_range(F.connect_t[0], 10, 15); /* stable_wait + jitter */
  assert_true(v3_connected(x.sim->v3));
  /* a good session closes, five times: back after exactly 60 s each time */
  for (int i = 0; i < 5; i++) {
    int n = F.connects;
    v3_transport_closed(F.v3, 0, false);
    int64_t tc = now_s();
    struct sbuf st = SBUF_INIT;
    v3_status_text(x.sim->v3, &st);
    assert_string_equal(sbuf_str(&st), "State: Waiting to reconnect (60 second(s) remaining)\n"
                                       "       Disconnected from OVMS Server V3\n");
    sbuf_free(&st);
    run_until(&x, tc + 70);
    assert_int_equal(F.connects, n + 1);
    assert_int_equal(F.connect_t[n] - tc, 60);
    assert_true(v3_connected(x.sim->v3));
  }
  /* failed TCP connects: every 30 s */
  F.tcp_fail = true;
  int n = F.connects;
  v3_transport_closed(F.v3, 0, false);
  run_until(&x, now_s() + 200);
  assert_true(F.connects >= n + 5);
  for (int i = n + 1; i < n + 5; i++)
    assert_int_equal(F.connect_t[i] - F.connect_t[i - 1], 30);
  /* CONNACK 3 (server unavailable): every 30 s */
  F.tcp_fail = false;
  F.refuse = 3;
  run_until(&x, now_s() + 40);
  n = F.connects;
  run_until(&x, now_s() + 130);
  assert_true(F.connects >= n + 4);
  for (int i = n; i < n + 4; i++)
    assert_int_equal(F.connect_t[i] - F.connect_t[i - 1], 30);
  fx_free(&x);

  /* conn.stable_wait 40, above the 30 s of a failed connect: 40 + 0..5 s, drawn anew */
  static const char *const slow[] = {"server.v3.conn.stable_wait", "40", NULL};
  fx_init(&x, NULL, SIM_TOPICS_CURRENT, slow);
  F.tcp_fail = true;
  run_until(&x, 600);
  assert_true(F.connects >= 12);
  assert_in_range(F.connect_t[0], 40, 45);
  bool varied = false;
  for (int i = 1; i < 12; i++) {
    int64_t d = F.connect_t[i] - F.connect_t[i - 1];
    assert_in_range(d, 40, 45);
    varied |= d != F.connect_t[1] - F.connect_t[0];
  }
  assert_true(varied);
  fx_free(&x);
}

/* Malformed inbound messages are rejected and counted, never a crash: random topics under the
 * prefix and random payloads (commands, heartbeats, requests) under ASan/UBSan. */
static void test_malformed_inbound(void **state)
{
  struct fx x;
  fx_init(&x, NULL, SIM_TOPICS_CURRENT, NULL);
  run_until(&x, 30);
  struct sim_rng r;
  sim_rng_seed(&r, 42);
  static const char *const heads[] = {"client/", "client//", "client/a/", "client/a/command/",
                                      "client/a/request/", "client/a/active/x", "c/", "cmd/a/c/",
                                      "metric/", ""};
  static const char alphabet[] = "ab/+#.\n'\" \t*,-0?";
  const struct v3_stats *st = v3_get_stats(x.sim->v3);
  uint64_t rejected0 = st->rx_rejected;
  for (int i = 0; i < 3000; i++) {
    char topic[256], payload[900];
    size_t hi = (size_t)sim_rng_range(&r, 0, 9);
    int tl = snprintf(topic, sizeof(topic), P "%s", heads[hi]);
    size_t extra = (size_t)sim_rng_range(&r, 0, 20);
    for (size_t k = 0; k < extra && tl < 250; k++)
      topic[tl++] = alphabet[sim_rng_range(&r, 0, (int64_t)sizeof(alphabet) - 2)];
    topic[tl] = '\0';
    size_t pl = (size_t)sim_rng_range(&r, 0, 880);
    for (size_t k = 0; k < pl; k++)
      payload[k] = (char)sim_rng_range(&r, 0, 255);
    v3_transport_message(F.v3, topic, payload, pl);
  }
  /* outside the prefix */
  v3_transport_message(F.v3, "other/alice/MYCAR/client/a/command/1", "stat", 4);
  assert_true(st->rx_rejected > rejected0);
  run_until(&x, 60);
  assert_true(v3_connected(x.sim->v3));
  fx_free(&x);
}


/* "server v3 stop" then "server v3 start": the same transport and options again. */
static void test_shell_stop_start(void **state)
{
  struct fx x;
  fx_init(&x, NULL, SIM_TOPICS_CURRENT, NULL);
  run_until(&x, 30);
  assert_int_equal(F.connects, 1);
  inject(P "client/app1/command/1", "server v3 stop");
  assert_false(v3_connected(x.sim->v3));
  assert_false(metric_bool(metrics_find(x.sim->metrics, "s.v3.connected")));
  struct sbuf out = SBUF_INIT;
  shell_execute(x.sim, "server v3 status", 16, &out);
  assert_string_equal(sbuf_str(&out), "OVMS v3 server has not been started\n");
  sbuf_reset(&out);
  run_until(&x, 100);
  assert_int_equal(F.connects, 1);
  shell_execute(x.sim, "server v3 start", 15, &out);
  assert_string_equal(sbuf_str(&out), "Launching OVMS Server V3 connection (oscv3)\n");
  sbuf_reset(&out);
  shell_execute(x.sim, "server v3 start", 15, &out);
  assert_string_equal(sbuf_str(&out), "OVMS v3 server has already been started\n");
  sbuf_free(&out);
  run_until(&x, 130);
  assert_int_equal(F.connects, 2);
  assert_true(v3_connected(x.sim->v3));
  fx_free(&x);
}


/* Network loss (m.net.connected no): disconnect, wait for the network, then connect again
 * after conn.stable_wait (+ jitter). */
static void test_network_loss(void **state)
{
  static const char *const nojitter[] = {"server.v3.conn.jitter.max", "0", NULL};
  struct fx x;
  fx_init(&x, NULL, SIM_TOPICS_CURRENT, nojitter);
  run_until(&x, 30);
  assert_true(v3_connected(x.sim->v3));
  metric_set_bool(metrics_find(x.sim->metrics, "m.net.connected"), false);
  run_until(&x, 32);
  assert_false(v3_connected(x.sim->v3));
  assert_int_equal(v3_state(x.sim->v3), V3_WAITNETWORK);
  struct sbuf st = SBUF_INIT;
  v3_status_text(x.sim->v3, &st);
  assert_string_equal(sbuf_str(&st), "State: Waiting for network connectivity\n"
                                     "       Waiting for network connectivity\n");
  sbuf_free(&st);
  run_until(&x, 100);
  assert_int_equal(F.connects, 1);
  metric_set_bool(metrics_find(x.sim->metrics, "m.net.connected"), true);
  run_until(&x, 130);
  assert_int_equal(F.connects, 2);
  assert_int_equal(F.connect_t[1], 110); /* seen on the tick of 100, + conn.stable_wait */
  assert_true(v3_connected(x.sim->v3));
  fx_free(&x);
}


/* Without server.v3 server a (non-print) transport is never asked to connect: the firmware's
 * error, retried every 20 s. */
static void test_no_server(void **state)
{
  struct fx x;
  fx_init(&x, NULL, SIM_TOPICS_CURRENT, NULL);
  sim_config_unset(x.sim->config, "server.v3", "server");
  run_until(&x, 60);
  assert_int_equal(F.connects, 0);
  struct sbuf st = SBUF_INIT;
  v3_status_text(x.sim->v3, &st);
  assert_non_null(strstr(sbuf_str(&st), "       Error: Parameter server.v3/server must be defined\n"));
  sbuf_free(&st);
  fx_free(&x);
}

static void test_util(void **state)
{
  struct v3_url u;
  assert_int_equal(v3_url_parse("mqtt://alice@broker.example:1884", &u, NULL), 0);
  assert_false(u.tls);
  assert_string_equal(u.user, "alice");
  assert_string_equal(u.host, "broker.example");
  assert_int_equal(u.port, 1884);
  assert_int_equal(v3_url_parse("mqtts://h/", &u, NULL), 0);
  assert_true(u.tls);
  assert_int_equal(u.port, 0);
  assert_int_equal(v3_url_parse("mqtt://[::1]:1883", &u, NULL), 0);
  assert_string_equal(u.host, "::1");
  struct sim_diag e = SIM_DIAG_INIT;
  assert_int_equal(v3_url_parse("mqtt://a:secret@h", &u, &e), SIM_EPARSE);
  assert_int_equal(e.errors, 1);
  assert_non_null(strstr(e.v[0].msg, "password"));
  assert_null(strstr(e.v[0].msg, "secret@")); /* the message does not repeat... */
  sim_diag_cleanup(&e);
  assert_int_equal(v3_url_parse("http://h", &u, NULL), SIM_EPARSE);
  assert_int_equal(v3_url_parse("mqtt://h:0", &u, NULL), SIM_EPARSE);
  assert_int_equal(v3_url_parse("mqtt://h:99999", &u, NULL), SIM_EPARSE);
  assert_int_equal(v3_url_parse("mqtt://", &u, NULL), SIM_EPARSE);

  struct sbuf b = SBUF_INIT;
  v3_prefix_build("", "alice", "MYCAR", &b);
  assert_string_equal(sbuf_str(&b), "ovms/alice/MYCAR/");
  sbuf_reset(&b);
  v3_prefix_build(NULL, "", "MYCAR", &b);
  assert_string_equal(sbuf_str(&b), "ovms//MYCAR/");
  sbuf_reset(&b);
  v3_prefix_build(NULL, "alice", "", &b);
  assert_string_equal(sbuf_str(&b), "ovms/alice/");
  sbuf_reset(&b);
  v3_prefix_build("foo", "alice", "MYCAR", &b);
  assert_string_equal(sbuf_str(&b), "foo");
  sbuf_reset(&b);
  v3_topic_path("xnl.v.b.range.instrument", &b);
  assert_string_equal(sbuf_str(&b), "xnl/v/b/range/instrument");
  sbuf_free(&b);
  assert_false(v3_retain_depth_exceeded("a/b/c/d/e/f/g/h"));
  assert_true(v3_retain_depth_exceeded("a/b/c/d/e/f/g/h/i"));

  struct v3_filter f = {0};
  assert_int_equal(v3_filter_set(&f, "v.b.*, *.soc ,m.net.ip,a*b"), SIM_EPARSE);
  assert_int_equal(f.n, 3);
  assert_true(v3_filter_match(&f, "v.b.range.est"));
  assert_true(v3_filter_match(&f, "x.soc"));
  assert_true(v3_filter_match(&f, "m.net.ip"));
  assert_false(v3_filter_match(&f, "m.net.ipx"));
  assert_false(v3_filter_match(&f, "aXb"));
  assert_int_equal(v3_filter_set(&f, "*"), 0);
  assert_true(v3_filter_match(&f, "anything"));
  v3_filter_cleanup(&f);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_util),
    cmocka_unit_test(test_connect_subscribe_full_sync),
    cmocka_unit_test(test_cadence),
    cmocka_unit_test(test_peers_first_sync),
    cmocka_unit_test(test_full_sync_resets_modified),
    cmocka_unit_test(test_cadence_335),
    cmocka_unit_test(test_event_triggered),
    cmocka_unit_test(test_clients),
    cmocka_unit_test(test_presence_wall_clock),
    cmocka_unit_test(test_commands),
    cmocka_unit_test(test_command_stops_server),
    cmocka_unit_test(test_requests),
    cmocka_unit_test(test_tls_locked),
    cmocka_unit_test(test_notifications),
    cmocka_unit_test(test_charge_state_notification),
    cmocka_unit_test(test_filters_retain_prefix),
    cmocka_unit_test(test_profiles),
    cmocka_unit_test(test_auth_suspend),
    cmocka_unit_test(test_priority_immediate),
    cmocka_unit_test(test_events_legacy_off_and_notify_filter),
    cmocka_unit_test(test_notify_backlog),
    cmocka_unit_test(test_notify_data_backlog_drain),
    cmocka_unit_test(test_command_bound),
    cmocka_unit_test(test_backoff),
    cmocka_unit_test(test_reconnect_schedule),
    cmocka_unit_test(test_malformed_inbound),
    cmocka_unit_test(test_shell_stop_start),
    cmocka_unit_test(test_network_loss),
    cmocka_unit_test(test_no_server),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
