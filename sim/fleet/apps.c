/*
 * apps.c - simulated app clients (apps.h).
 *
 * Every app is a libmosquitto handle driven from libev as the mqtt transport drives the
 * module's (ev_io on its socket, readable -> mosquitto_loop_read, writable while
 * mosquitto_want_write -> mosquitto_loop_write).  One 1 s sim_timer for all apps does their
 * keep-alive (mosquitto_loop_misc), the minute presence, the commands (only while the module
 * is connected, the first 5..15 s after it came up) and reconnects after a lost connection
 * (5 s later).  Command latency is wall time from the PUBLISH to the first
 * response line, kept in log2 buckets like the loop's timer lateness.
 */
#include <errno.h>
#include <ev.h>
#include <mosquitto.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/loop.h"
#include "core/xalloc.h"
#include "fleet/appconn.h"
#include "fleet/apps.h"
#include "v3/v3.h"

#define PRESENCE_S 60
#define COMMAND_S 60
#define RECONNECT_S 5
#define MAX_PENDING 16

struct pending {
  int n;
  int64_t sent; /* wall ns */
};

struct app {
  struct fleet_apps *owner;
  size_t j;
  struct appconn c;
  bool connected, lost;
  bool module_up;      /* the module's metric/s/v3/connected is "yes" */
  char *prefix;        /* ovms/<user>/<vehicle id>/ */
  char *cid;
  int64_t next_presence, next_command, reconnect_at; /* simulation s */
  int seq;
  struct pending pend[MAX_PENDING];
  size_t npend;
};

struct fleet_apps {
  struct sim_loop *loop;
  struct fleet_apps_options o;
  struct app *v;
  size_t n;
  struct sim_timer tick;
  uint64_t announces, commands, responses, unmatched;
  uint64_t lat[SIM_LATE_BUCKETS];
  int64_t lat_max;
};

static int64_t now_s(const struct fleet_apps *a)
{
  return sim_monotonic(a->loop) / SIM_NS_PER_SEC;
}

static void update_io(struct app *p)
{
  appconn_update_io(&p->c);
}

static void publish(struct app *p, const char *rest, const char *payload, int qos)
{
  appconn_publish(&p->c, p->prefix, p->cid, rest, payload, qos, NULL);
}

static void announce(struct app *p)
{
  if (!p->connected)
    return;
  publish(p, "active", "1", 1);
  p->owner->announces++;
  p->next_presence = now_s(p->owner) + PRESENCE_S;
  update_io(p);
}

static void send_command(struct app *p)
{
  struct fleet_apps *a = p->owner;
  p->next_command = now_s(a) + COMMAND_S;
  if (!p->connected || !a->o.command)
    return;
  char rest[32];
  int n = ++p->seq;
  snprintf(rest, sizeof(rest), "command/%d", n);
  if (p->npend == MAX_PENDING) /* the oldest never answered: forget it */
    memmove(p->pend, p->pend + 1, --p->npend * sizeof(*p->pend));
  p->pend[p->npend++] = (struct pending){n, sim_wall_ns()};
  publish(p, rest, a->o.command, 2);
  a->commands++;
  update_io(p);
}

static void lost(struct app *p)
{
  appconn_stop_io(&p->c);
  p->connected = false;
  p->lost = true;
  p->reconnect_at = now_s(p->owner) + RECONNECT_S;
}

static void on_connect(struct mosquitto *m, void *obj, int rc)
{
  struct app *p = obj;
  (void)m;
  if (rc != 0) {
    p->lost = true;
    return;
  }
  p->connected = true;
  appconn_subscribe(&p->c, p->prefix, p->cid, 0);
  announce(p);
}

/* The module's connected metric: up, or not. */
static void module_state(struct app *p, bool up)
{
  if (up && !p->module_up) {
    /* the first command a few seconds after the module is back (it subscribes on its first
     * tick), spread over the apps */
    int64_t first = now_s(p->owner) + 5 + (int64_t)(p->j % 10);
    if (p->next_command < first)
      p->next_command = first;
  }
  p->module_up = up;
  if (up)
    announce(p); /* the module starts with no clients: tell it again at once */
}

/* A response line to the command numbered n (-1: not a number). */
static void response(struct app *p, long n)
{
  struct fleet_apps *a = p->owner;
  for (size_t i = 0; i < p->npend; i++)
    if (p->pend[i].n == n) {
      sim_lateness_add(a->lat, &a->lat_max, sim_wall_ns() - p->pend[i].sent);
      a->responses++;
      memmove(p->pend + i, p->pend + i + 1, (p->npend - i - 1) * sizeof(*p->pend));
      p->npend--;
      return;
    }
  a->unmatched++; /* a later line of an answered command, or a stranger's */
}

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
  struct app *p = obj;
  (void)m;
  struct appconn_msg_info e = appconn_message(msg, p->prefix, p->cid);
  if (e.kind == APPCONN_MSG_CONNECTED)
    module_state(p, e.up);
  else if (e.kind == APPCONN_MSG_RESPONSE)
    response(p, e.n);
}

static void io_cb(struct ev_loop *ev, ev_io *w, int revents)
{
  struct app *p = w->data;
  (void)ev;
  int rc = appconn_io(&p->c, revents);
  if (rc != MOSQ_ERR_SUCCESS || p->lost) {
    lost(p);
    return;
  }
  update_io(p);
}

static int app_connect(struct app *p)
{
  struct fleet_apps *a = p->owner;
  p->lost = false;
  errno = 0;
  int rc = mosquitto_connect_async(p->c.m, a->o.host, a->o.port, 60);
  if (rc != MOSQ_ERR_SUCCESS) {
    lost(p);
    return SIM_EMQTT;
  }
  update_io(p);
  return 0;
}

static void on_tick(struct sim_loop *loop, struct sim_timer *t)
{
  struct fleet_apps *a = t->data;
  (void)loop;
  int64_t now = now_s(a);
  for (size_t i = 0; i < a->n; i++) {
    struct app *p = &a->v[i];
    if (p->lost) {
      if (now >= p->reconnect_at)
        app_connect(p);
      continue;
    }
    if (mosquitto_loop_misc(p->c.m) != MOSQ_ERR_SUCCESS) {
      lost(p);
      continue;
    }
    if (p->connected && now >= p->next_presence)
      announce(p);
    if (p->connected && p->module_up && now >= p->next_command)
      send_command(p);
    update_io(p);
  }
}

int fleet_apps_new(struct sim_loop *loop, const struct fleet_apps_options *o,
                   struct fleet_apps **out, struct sim_diag *d)
{
  *out = NULL;
  struct fleet_apps *a = xcalloc(1, sizeof(*a));
  a->loop = loop;
  a->o = *o;
  a->v = xcalloc(o->n ? o->n : 1, sizeof(*a->v));
  mosquitto_lib_init();
  int64_t now = now_s(a);
  for (size_t j = 0; j < o->n; j++, a->n++) {
    struct app *p = &a->v[j];
    p->owner = a;
    p->j = j;
    struct fleet_app_target tg = {"", NULL, "DEMO"};
    if (o->target)
      o->target(o->target_ctx, j, &tg);
    struct sbuf s = SBUF_INIT;
    sbuf_printf(&s, "ovms/%s/%s/", tg.user, tg.vehicle_id);
    p->prefix = sbuf_detach(&s);
    sbuf_printf(&s, "simapp%zu", j + 1);
    p->cid = sbuf_detach(&s);
    appconn_init(&p->c, loop, io_cb, p);
    /* a will or credentials that libmosquitto refuses leave the app without them */
    (void)appconn_client_new(&p->c, p->cid, p->prefix, tg.user, tg.password, p, on_connect,
                             on_message);
    if (!p->c.m) {
      sim_diag_error(d, NULL, 0, 0, "cannot create MQTT client: %s", strerror(errno));
      fleet_apps_free(a);
      return -ENOMEM;
    }
    /* the minute's work spread over the minute, not all apps in one second */
    p->next_presence = now + PRESENCE_S;
    p->next_command = now + 5 + (int64_t)(j % COMMAND_S);
    app_connect(p);
  }
  sim_timer_init(&a->tick, on_tick, a);
  sim_timer_start(loop, &a->tick, SIM_NS_PER_SEC, SIM_NS_PER_SEC);
  *out = a;
  return 0;
}

void fleet_apps_free(struct fleet_apps *a)
{
  if (!a)
    return;
  sim_timer_stop(a->loop, &a->tick);
  for (size_t i = 0; i < a->n; i++) {
    struct app *p = &a->v[i];
    appconn_stop_io(&p->c);
    if (p->c.m)
      mosquitto_destroy(p->c.m); /* no DISCONNECT: the will fires */
    free(p->prefix);
    free(p->cid);
  }
  free(a->v);
  free(a);
  mosquitto_lib_cleanup();
}

void fleet_apps_get_stats(const struct fleet_apps *a, struct fleet_apps_stats *st)
{
  memset(st, 0, sizeof(*st));
  st->apps = a->n;
  for (size_t i = 0; i < a->n; i++) {
    st->connected += a->v[i].connected;
    st->pending += a->v[i].npend;
  }
  st->announces = a->announces;
  st->commands = a->commands;
  st->responses = a->responses;
  st->unmatched = a->unmatched;
  st->lat_p50_ns = sim_lateness_quantile(a->lat, 0.5);
  st->lat_p99_ns = sim_lateness_quantile(a->lat, 0.99);
  st->lat_max_ns = a->lat_max;
  if (st->lat_p50_ns > st->lat_max_ns)
    st->lat_p50_ns = st->lat_max_ns;
  if (st->lat_p99_ns > st->lat_max_ns)
    st->lat_p99_ns = st->lat_max_ns;
}

void fleet_apps_report(const struct fleet_apps *a, struct sbuf *out, bool json)
{
  struct fleet_apps_stats st;
  fleet_apps_get_stats(a, &st);
  if (json) {
    sbuf_printf(out, "{\"apps\":%zu,\"connected\":%zu,\"announces\":%llu,\"commands\":%llu,"
                     "\"responses\":%llu,\"pending\":%zu,\"latency_p50_ms\":%.3f,"
                     "\"latency_p99_ms\":%.3f,\"latency_max_ms\":%.3f}",
                st.apps, st.connected, (unsigned long long)st.announces,
                (unsigned long long)st.commands, (unsigned long long)st.responses, st.pending,
                (double)st.lat_p50_ns / 1e6, (double)st.lat_p99_ns / 1e6,
                (double)st.lat_max_ns / 1e6);
    return;
  }
  sbuf_printf(out, "apps: %zu, %zu connected, %llu announces, %llu commands, %llu responses, "
                   "%zu pending; latency p50 < %.1f ms, p99 < %.1f ms, max %.1f ms\n",
              st.apps, st.connected, (unsigned long long)st.announces,
              (unsigned long long)st.commands, (unsigned long long)st.responses, st.pending,
              (double)st.lat_p50_ns / 1e6, (double)st.lat_p99_ns / 1e6,
              (double)st.lat_max_ns / 1e6);
}
