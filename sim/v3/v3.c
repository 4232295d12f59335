/*
 * v3.c - the Server V3 engine: start/stop, connection management and back-off (spec 1.10),
 * status strings and server.v3.* state events, inbound messages (client presence, commands,
 * client requests: spec 1.7-1.9), event publication (spec 5) and notification delivery
 * (spec 3).  Metric transmission and the Ticker1() schedule are in v3_sched.c.
 *
 * Firmware reference: V3/components/ovms_server_v3/src/ovms_server_v3.cpp (Connect(),
 * the Mongoose callback, Ticker1(), IncomingMsg(), AddClient()/CountClients(), RunCommand(),
 * ProcessClientMetricRequest()/ProcessClientConfigRequest(), IncomingEvent()/TransmitEvents(),
 * TransmitNotification*()) at openvehicles/Open-Vehicle-Monitoring-System-3 1aa1daff, as
 * described in spec/server-v3.md.
 *
 * Every time comes from the simulation clock: the 1 Hz tick is a sim_timer and "now" is
 * m.monotonic in seconds (sim_monotonic()).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "model/events.h"
#include "model/metrics.h"
#include "notify/notify.h"
#include "notify/queue.h"
#include "shell/shell.h"
#include "model/sim.h"
#include "v3/internal.h"
#include "core/xalloc.h"

static const char *const state_names[] = {
  [V3_UNDETERMINED] = "undetermined",   [V3_WAITNETWORK] = "waitnetwork",
  [V3_CONNECTWAIT] = "connectwait",     [V3_CONNECTING] = "connecting",
  [V3_AUTHENTICATING] = "authenticating", [V3_CONNECTED] = "connected",
  [V3_DISCONNECTED] = "disconnected",   [V3_WAITRECONNECT] = "waitreconnect",
};

int64_t v3_now(struct v3 *v3)
{
  return sim_monotonic(v3->sim->loop) / SIM_NS_PER_SEC;
}

struct sim *v3_sim(struct v3 *v3)
{
  return v3->sim;
}

long v3_cfg_int(struct v3 *v3, const char *instance, long def)
{
  return sim_config_get_int(v3->sim->config, "server.v3", instance, def);
}

bool v3_cfg_bool(struct v3 *v3, const char *instance, bool def)
{
  return sim_config_get_bool(v3->sim->config, "server.v3", instance, def);
}

const char *v3_cfg_str(struct v3 *v3, const char *instance)
{
  const char *s = sim_config_get(v3->sim->config, "server.v3", instance);
  return s ? s : "";
}

static void set_metric_bool(struct v3 *v3, const char *name, bool b)
{
  struct metric *m = metrics_find(v3->sim->metrics, name);
  if (m)
    metric_set_bool(m, b);
}

static void set_metric_int(struct v3 *v3, const char *name, int i)
{
  struct metric *m = metrics_find(v3->sim->metrics, name);
  if (m)
    metric_set_int(m, i);
}

/* SetStatus(): the status text, and on a state change the event server.v3.<state> with the
 * text as its data. */
static void set_status(struct v3 *v3, const char *text, enum v3_state state)
{
  snprintf(v3->status, sizeof(v3->status), "%s", text);
  if (state != v3->state) {
    v3->state = state;
    char ev[64];
    snprintf(ev, sizeof(ev), "server.v3.%s", state_names[state]);
    sim_events_raise(v3->sim->events, ev, text);
  }
}

enum v3_state v3_state(const struct v3 *v3)
{
  return v3->state;
}

bool v3_connected(const struct v3 *v3)
{
  return v3 && !v3->stopped && v3->connected;
}

void v3_transport_error(struct v3 *v3, const char *text)
{
  snprintf(v3->last_error, sizeof(v3->last_error), "%s", text);
}

const char *v3_last_error(const struct v3 *v3)
{
  return v3 ? v3->last_error : "";
}

const struct v3_stats *v3_get_stats(const struct v3 *v3)
{
  return &v3->stats;
}

void v3_status_text(const struct v3 *v3, struct sbuf *out)
{
  if (!v3 || v3->stopped) {
    sbuf_adds(out, "OVMS v3 server has not been started\n");
    return;
  }
  struct v3 *mv = (struct v3 *)v3;
  int64_t left = v3->connect_at >= 0 ? v3->connect_at - v3_now(mv) : 0;
  if (left < 0)
    left = 0;
  sbuf_adds(out, "State: ");
  switch (v3->state) {
  case V3_WAITNETWORK: sbuf_adds(out, "Waiting for network connectivity"); break;
  case V3_CONNECTWAIT:
    sbuf_printf(out, "Waiting to connect (%" PRId64 " second(s) remaining)", left);
    break;
  case V3_CONNECTING: sbuf_adds(out, "Connecting..."); break;
  case V3_AUTHENTICATING: sbuf_adds(out, "Authenticating..."); break;
  case V3_CONNECTED: sbuf_adds(out, "Connected"); break;
  case V3_DISCONNECTED: sbuf_adds(out, "Disconnected"); break;
  case V3_WAITRECONNECT:
    sbuf_printf(out, "Waiting to reconnect (%" PRId64 " second(s) remaining)", left);
    break;
  default: sbuf_adds(out, "undetermined"); break;
  }
  sbuf_printf(out, "\n       %s\n", v3->status);
}

int v3_publish(struct v3 *v3, const char *topic, const void *payload, size_t len, int qos,
               bool retain, int *mid)
{
  int dummy;
  int rc = v3->ops->publish(v3->tp, topic, payload, len, qos, retain, mid ? mid : &dummy);
  if (rc == 0 && v3->tee) {
    fputs(topic, v3->tee);
    fputc(' ', v3->tee);
    fwrite(payload, 1, len, v3->tee);
    fputc('\n', v3->tee);
  }
  if (rc == 0) {
    v3->stats.published++;
    v3->stats.bytes += len;
  }
  return rc;
}

/* ---- Clients (spec 1.7) -------------------------------------------------------------------- */

void v3_count_clients(struct v3 *v3)
{
  int64_t now = v3_now(v3);
  size_t j = 0;
  for (size_t i = 0; i < v3->nclients; i++) {
    if (v3->clients[i].expiry < now) {
      free(v3->clients[i].id);
      continue;
    }
    v3->clients[j++] = v3->clients[i];
  }
  v3->nclients = j;
  int n = (int)j;
  if (n != v3->peers) {
    int old = v3->peers;
    v3->peers = n;
    set_metric_int(v3, "s.v3.peers", n);
    v3->lasttx = 0;
    if (n > 0)
      sim_events_raise(v3->sim->events, "app.connected", NULL);
    else if (old > 0)
      sim_events_raise(v3->sim->events, "app.disconnected", NULL);
  }
}

static void add_client(struct v3 *v3, const char *id)
{
  int64_t expiry = v3_now(v3) + 120;
  for (size_t i = 0; i < v3->nclients; i++)
    if (!strcmp(v3->clients[i].id, id)) {
      v3->clients[i].expiry = expiry;
      return;
    }
  xgrow((void **)&v3->clients, &v3->capclients, v3->nclients + 1, sizeof(*v3->clients));
  v3->clients[v3->nclients].id = xstrdup(id);
  v3->clients[v3->nclients].expiry = expiry;
  v3->nclients++;
  v3_count_clients(v3);
}

static void remove_client(struct v3 *v3, const char *id)
{
  for (size_t i = 0; i < v3->nclients; i++)
    if (!strcmp(v3->clients[i].id, id)) {
      v3->clients[i].expiry = INT64_MIN;
      v3_count_clients(v3);
      return;
    }
}

static void clear_clients(struct v3 *v3)
{
  for (size_t i = 0; i < v3->nclients; i++)
    free(v3->clients[i].id);
  v3->nclients = 0;
  v3->peers = 0;
}

/* ---- Notifications (spec 3) ------------------------------------------------------------------ */

/* NotificationFilter(): the reader "ovmsv3" and config "notify <subtype>". */
static bool notify_wanted(struct v3 *v3, const struct sim_notify_entry *e)
{
  const struct sim_profile *pr = v3->sim->profile;
  if (e->type == NOTIFY_STREAM)
    return false;
  if (pr->auth_suspend && !strcmp(e->subtype, "server.v3.auth.failure"))
    return false; /* post-3.3.006 commit 4ff580404 */
  if (e->len > pr->notify_size_limit)
    return false;
  const char *f = sim_config_get(v3->sim->config, "notify", e->subtype);
  if (!f || !*f || !strcmp(f, "*"))
    return true;
  bool incl = false, excl = false;
  const char *p = f;
  while (*p) {
    size_t n = strcspn(p, ",");
    if ((n == 6 && !strncmp(p, "ovmsv3", 6)) || (n == 1 && *p == '*'))
      incl = true;
    if ((n == 7 && !strncmp(p, "-ovmsv3", 7)) || (n == 1 && *p == '-'))
      excl = true;
    p += n;
    if (*p == ',')
      p++;
  }
  return incl && !excl;
}

static struct v3_inflight *find_ack(struct v3 *v3, int mid)
{
  for (size_t i = 0; i < v3->nacks; i++)
    if (v3->acks[i].mid == mid)
      return &v3->acks[i];
  return NULL;
}

static bool type_in_flight(struct v3 *v3, int type)
{
  for (size_t i = 0; i < v3->nacks; i++)
    if (v3->acks[i].type == type)
      return true;
  return false;
}

static void track_ack(struct v3 *v3, int mid, int type, int64_t id)
{
  xgrow((void **)&v3->acks, &v3->capacks, v3->nacks + 1, sizeof(*v3->acks));
  v3->acks[v3->nacks++] = (struct v3_inflight){mid, type, id};
}

/* Publishes one notification entry; returns the publish result.  The entry is marked read
 * when the broker acknowledges it (PUBACK; end of the QoS 2 exchange for data). */
static int transmit_notification(struct v3 *v3, const struct sim_notify_entry *e)
{
  const struct sim_profile *pr = v3->sim->profile;
  const struct v3_topic_names *tn = v3->tn;
  struct sbuf *t = &v3->topic, *pl = &v3->payload;
  sbuf_reset(t);
  sbuf_reset(pl);
  sbuf_add(t, v3->prefix.p, v3->prefix.len);
  sbuf_adds(t, "notify/");
  sbuf_adds(t, sim_notify_type_name(e->type));
  int qos = tn->notify_qos;
  if (e->type == NOTIFY_DATA) {
    qos = 2;
    const char *lf = memchr(e->text, '\n', e->len);
    sbuf_add(pl, e->text, lf ? (size_t)(lf - e->text) : e->len);
  } else if (pr->notify_mp_encode) {
    sim_notify_mp_encode(e->text, pl);
  } else {
    sbuf_add(pl, e->text, e->len);
  }
  if (tn->notify_subtype_topic) {
    sbuf_addc(t, '/');
    if (pr->notify_subtype_slashes)
      v3_topic_path(e->subtype, t);
    else
      sbuf_adds(t, e->subtype);
    if (e->type == NOTIFY_DATA) {
      int64_t age = (sim_now(v3->sim->loop) - e->created_ns) / SIM_NS_PER_SEC;
      sbuf_printf(t, "/%" PRId64 "/%" PRId64, e->id, age > 0 ? -age : (int64_t)0);
    }
  }
  int mid = 0;
  int rc = v3_publish(v3, t->p, pl->p, pl->len, qos, false, &mid);
  if (rc < 0)
    return rc;
  if (e->type == NOTIFY_DATA)
    v3->data_wait = (struct v3_inflight){mid, NOTIFY_DATA, e->id};
  else
    track_ack(v3, mid, (int)e->type, e->id);
  return 0;
}

/* Sends the oldest pending entry of type, if any and none of that type is in flight.
 * Entries V3 does not take are marked read on the way. */
static void notify_send_one(struct v3 *v3, enum sim_notify_type type)
{
  if (!v3->connected || !v3->sim->notify)
    return;
  if (type == NOTIFY_DATA ? v3->data_wait.mid != 0 : type_in_flight(v3, (int)type))
    return;
  for (;;) {
    const struct sim_notify_entry *e = sim_notify_peek(v3->sim, v3->reader, type);
    if (!e)
      return;
    if (!notify_wanted(v3, e)) {
      sim_notify_mark_read(v3->sim, v3->reader, e->type, e->id);
      continue;
    }
    transmit_notification(v3, e);
    return;
  }
}

/* Ticker1 step 2: one info, one error, one alert, and one data record if none is waiting. */
void v3_notify_drain(struct v3 *v3)
{
  notify_send_one(v3, NOTIFY_INFO);
  notify_send_one(v3, NOTIFY_ERROR);
  notify_send_one(v3, NOTIFY_ALERT);
  notify_send_one(v3, NOTIFY_DATA);
  /* stream entries are never sent by V3 */
  const struct sim_notify_entry *e;
  while ((e = sim_notify_peek(v3->sim, v3->reader, NOTIFY_STREAM)))
    sim_notify_mark_read(v3->sim, v3->reader, e->type, e->id);
}

static void on_notification(void *ctx, const struct sim_notify_entry *e)
{
  struct v3 *v3 = ctx;
  if (v3->connected && e->type != NOTIFY_DATA)
    notify_send_one(v3, e->type);
}

void v3_transport_acked(struct v3 *v3, int mid)
{
  if (mid != 0 && v3->data_wait.mid == mid) {
    sim_notify_mark_read(v3->sim, v3->reader, NOTIFY_DATA, v3->data_wait.id);
    v3->data_wait.mid = 0;
    return;
  }
  struct v3_inflight *a = find_ack(v3, mid);
  if (!a)
    return;
  struct v3_inflight done = *a;
  *a = v3->acks[--v3->nacks];
  if (done.type >= 0)
    sim_notify_mark_read(v3->sim, v3->reader, (enum sim_notify_type)done.type, done.id);
}

/* ---- Connection (spec 1.1, 1.10) ------------------------------------------------------------- */

static bool net_ok(struct v3 *v3)
{
  /* m.net.connected AND m.net.ip AND (m.net.good.sq if defined).  The simulated network is up
   * unless a scenario defines these metrics otherwise. */
  static const char *const names[] = {"m.net.connected", "m.net.ip", "m.net.good.sq"};
  for (size_t i = 0; i < 3; i++) {
    struct metric *m = metrics_find(v3->sim->metrics, names[i]);
    if (m && metric_is_defined(m) && !metric_bool(m))
      return false;
  }
  return true;
}

static int64_t jitter(struct v3 *v3)
{
  if (!v3->sim->profile->conn_jitter)
    return 0;
  long jmax = v3_cfg_int(v3, "conn.jitter.max", 5);
  return jmax > 0 ? sim_rng_range(&v3->sim->rng, 0, jmax) : 0;
}

static void schedule_retry(struct v3 *v3, unsigned delay, const char *text)
{
  v3->connect_at = v3_now(v3) + delay + jitter(v3);
  set_status(v3, text, V3_WAITRECONNECT);
}

static void clear_events(struct v3 *v3);

/* Drops the connection (no DISCONNECT) and resets the connected state. */
static void drop_connection(struct v3 *v3)
{
  if (v3->conn_up)
    v3->ops->drop(v3->tp);
  bool was = v3->connected;
  v3->conn_up = false;
  v3->connected = false;
  v3->data_wait.mid = 0;
  v3->nacks = 0;
  clear_events(v3);
  clear_clients(v3);
  if (was || v3->state == V3_CONNECTED) {
    set_metric_bool(v3, "s.v3.connected", false);
    set_metric_int(v3, "s.v3.peers", 0);
  }
}

static void do_connect(struct v3 *v3)
{
  struct sim *sim = v3->sim;
  const struct sim_profile *pr = sim->profile;
  v3->connect_at = -1;
  const char *server = v3_cfg_str(v3, "server");
  if (!*server && v3->ops == &v3_transport_print)
    server = "print"; /* no broker: nothing to configure */
  if (!*server) {
    schedule_retry(v3, 20, "Error: Parameter server.v3/server must be defined");
    return;
  }
  bool tls = v3_cfg_bool(v3, "tls", false);
  long port = v3_cfg_int(v3, "port", 0);
  if (port <= 0)
    port = tls ? 8883 : 1883;
  const char *user = v3_cfg_str(v3, "user");
  const char *vid = sim_vehicle_id(sim);

  sbuf_reset(&v3->prefix);
  v3_prefix_build(v3_cfg_str(v3, "topic.prefix"), user, vid, &v3->prefix);
  const char *cid = vid;
  if (v3->client_id_opt)
    cid = v3->client_id_opt;
  else if (pr->clientid_config && *v3_cfg_str(v3, "clientid"))
    cid = v3_cfg_str(v3, "clientid");
  free(v3->client_id);
  v3->client_id = xstrdup(cid);

  const char *pw = v3->password;
  if (!pw)
    pw = sim_config_get(sim->config, "password", "server.v3");
  if (!pw)
    pw = "";

  struct sbuf will = SBUF_INIT;
  sbuf_add(&will, v3->prefix.p, v3->prefix.len);
  sbuf_adds(&will, v3->tn->metric);
  v3_topic_path("s.v3.connected", &will);

  struct v3_connect_info ci = {
    .host = server,
    .port = (int)port,
    .tls = tls,
    .client_id = v3->client_id,
    .username = (pr->omit_empty_credentials && !*user) ? NULL : user,
    .password = (pr->omit_empty_credentials && !*pw) ? NULL : pw,
    .keepalive = (unsigned)v3_cfg_int(v3, "updatetime.keepalive", pr->keepalive),
    .clean_session = false,
    .will_topic = will.p,
    .will_payload = "no",
    .will_qos = 0,
    .will_retain = true,
    .cafile = v3->cafile,
    .capath = v3->capath,
    .certfile = v3->certfile,
    .keyfile = v3->keyfile,
  };
  if (!ci.username)
    ci.password = NULL; /* MQTT 3.1.1: no password without a user name */
  set_status(v3, "Connecting...", V3_CONNECTING);
  struct sbuf err = SBUF_INIT;
  int rc = v3->ops->connect(v3->tp, &ci, &err);
  sbuf_free(&will);
  if (rc < 0) {
    sbuf_free(&err);
    schedule_retry(v3, 20, "Error: Connection failed");
    return;
  }
  sbuf_free(&err);
  v3->conn_up = true;
  if (v3->state == V3_CONNECTING)
    set_status(v3, "Authenticating...", V3_AUTHENTICATING);
}

void v3_transport_connack(struct v3 *v3, int rc)
{
  if (!v3->conn_up)
    return;
  const struct sim_profile *pr = v3->sim->profile;
  v3->last_connack = rc;
  if (rc == 0) {
    v3->stats.connects++;
    v3->last_error[0] = '\0';
    v3->connected = true;
    v3->sendall = true;
    v3->data_wait.mid = 0;
    v3->nacks = 0;
    v3->connect_at = -1;
    set_metric_bool(v3, "s.v3.connected", true);
    set_status(v3, "OVMS V3 MQTT login successful", V3_CONNECTED);
    v3_sched_connected(v3);
    return;
  }
  v3->stats.refused++;
  drop_connection(v3);
  if (rc == 3) {
    schedule_retry(v3, pr->connfail_retry, "Server temporarily unavailable");
  } else if (pr->auth_suspend) {
    v3->suspended = true;
    v3->connect_at = -1;
    set_status(v3, "Authentication error (wrong user/password/client ID)", V3_WAITRECONNECT);
    char text[256];
    snprintf(text, sizeof(text),
             "Incorrect server V3 login credentials or client ID (MQTT CONNACK return code "
             "0x%02X), server V3 connection suspended until the configuration is changed",
             (unsigned)rc);
    sim_notify_raise(v3->sim, NOTIFY_ALERT, "server.v3.auth.failure", text);
  } else {
    schedule_retry(v3, pr->refused_retry, "Authentication error (wrong user/password/client ID)");
  }
}

void v3_transport_closed(struct v3 *v3, int err, bool tcp_failed)
{
  if (!v3->conn_up)
    return;
  const struct sim_profile *pr = v3->sim->profile;
  bool was = v3->connected;
  v3->stats.drops++;
  drop_connection(v3);
  if (tcp_failed) {
    char text[256];
    if (v3->last_error[0])
      snprintf(text, sizeof(text), "Error: Connection failed (%s)", v3->last_error);
    else
      snprintf(text, sizeof(text), "Error: Connection failed");
    schedule_retry(v3, pr->connfail_retry, text);
  } else {
    if (was)
      set_status(v3, "Disconnected from OVMS Server V3", V3_DISCONNECTED);
    schedule_retry(v3, pr->closed_retry, "Disconnected from OVMS Server V3");
  }
  (void)err;
}

/* ---- Inbound (spec 1.3 "Subscribed", 1.7-1.9) ------------------------------------------------ */

static void run_command(struct v3 *v3, const char *cid, const char *cmdid, const char *payload,
                        size_t len)
{
  struct sbuf out = SBUF_INIT;
  v3->stats.commands++;
  shell_execute(v3->sim, payload, len, &out);
  struct sbuf t = SBUF_INIT;
  sbuf_add(&t, v3->prefix.p, v3->prefix.len);
  sbuf_adds(&t, v3->tn->resp_head);
  sbuf_adds(&t, cid);
  sbuf_adds(&t, v3->tn->resp_mid);
  sbuf_adds(&t, cmdid);
  if (v3->connected) {
    int mid = 0;
    if (v3_publish(v3, t.p, out.p ? out.p : "", out.len, v3->tn->response_qos, false, &mid) == 0 &&
        v3->tn->response_qos > 0)
      track_ack(v3, mid, -1, 0);
  }
  sbuf_free(&t);
  sbuf_free(&out);
}

static void request_metric(struct v3 *v3, const char *payload)
{
  struct v3_filter f = {0};
  v3_filter_set(&f, payload);
  struct metrics *ms = v3->sim->metrics;
  size_t n = metrics_count(ms);
  for (size_t i = 0; i < n; i++) {
    struct metric *m = metrics_at(ms, i);
    if (metric_is_defined(m) && v3_filter_match(&f, m->name))
      v3_transmit_metric(v3, m);
  }
  v3_filter_cleanup(&f);
}

static void request_config(struct v3 *v3, const char *cid, const char *payload)
{
  const char *s = payload;
  while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
    s++;
  size_t n = strlen(s);
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
    n--;
  char *buf = xstrndup(s, n);
  char *slash = strchr(buf, '/');
  if (!slash || slash == buf || !slash[1]) {
    v3->stats.rx_rejected++;
    free(buf);
    return;
  }
  *slash = '\0';
  const char *param = buf, *inst = slash + 1;
  const char *val = sim_config_get(v3->sim->config, param, inst);
  struct sbuf t = SBUF_INIT;
  sbuf_add(&t, v3->prefix.p, v3->prefix.len);
  sbuf_printf(&t, "client/%s/config/", cid);
  v3_topic_path(param, &t);
  sbuf_addc(&t, '/');
  v3_topic_path(inst, &t);
  v3_publish(v3, t.p, val ? val : "", val ? strlen(val) : 0, 0, false, NULL);
  sbuf_free(&t);
  free(buf);
}

void v3_transport_message(struct v3 *v3, const char *topic, const void *payload, size_t len)
{
  if (strncmp(topic, v3->prefix.p, v3->prefix.len)) {
    v3->stats.rx_rejected++;
    return;
  }
  const char *rest = topic + v3->prefix.len;
  char *pl = xstrndup(payload, len);
  const struct v3_topic_names *tn = v3->tn;
  const char *kind = NULL, *tail = NULL;
  char cid[256];
  cid[0] = '\0';
  if (tn->client_tree && !strncmp(rest, "client/", 7)) {
    const char *id = rest + 7, *sl = strchr(id, '/');
    if (sl && sl > id && (size_t)(sl - id) < sizeof(cid)) {
      memcpy(cid, id, (size_t)(sl - id));
      cid[sl - id] = '\0';
      kind = sl + 1;
    }
  } else if (!tn->client_tree && !strncmp(rest, "c/", 2)) {
    const char *id = rest + 2;
    if (*id && !strchr(id, '/') && strlen(id) < sizeof(cid)) {
      memcpy(cid, id, strlen(id) + 1);
      kind = "active";
    }
  } else if (!tn->client_tree && !strncmp(rest, "cmd/", 4)) {
    const char *id = rest + 4, *sl = strchr(id, '/');
    if (sl && sl > id && (size_t)(sl - id) < sizeof(cid) && !strncmp(sl, "/c/", 3)) {
      memcpy(cid, id, (size_t)(sl - id));
      cid[sl - id] = '\0';
      kind = "command/";
      tail = sl + 3;
    }
  }
  if (!kind) {
    v3->stats.rx_rejected++;
  } else if (!strcmp(kind, "active")) {
    if (len == 0 || !strcmp(pl, "0"))
      remove_client(v3, cid);
    else
      add_client(v3, cid);
  } else if (!strncmp(kind, "command/", 8)) {
    const char *cmdid = tail ? tail : kind + 8;
    if (tn->client_tree && (!*cmdid || strchr(cmdid, '/')))
      v3->stats.rx_rejected++;
    else
      run_command(v3, cid, cmdid, payload, len);
  } else if (v3->sim->profile->request_subscriptions && !strcmp(kind, "request/metric")) {
    request_metric(v3, pl);
  } else if (v3->sim->profile->request_subscriptions && !strcmp(kind, "request/config")) {
    request_config(v3, cid, pl);
  } else {
    v3->stats.rx_rejected++;
  }
  free(pl);
}

/* ---- Events (spec 5) ------------------------------------------------------------------------- */

static bool event_skipped(struct v3 *v3, const char *name)
{
  if (!strncmp(name, "ticker.", 7) || !strcmp(name, "system.event") ||
      !strcmp(name, "system.wifi.scan.done"))
    return true;
  return v3->sim->profile->events_skip_clock && !strncmp(name, "clock.", 6);
}

static void publish_event(struct v3 *v3, const char *name)
{
  const struct sim_profile *pr = v3->sim->profile;
  struct sbuf *t = &v3->scratch;
  if (!pr->event_path_topic || v3_cfg_bool(v3, "events.legacy_topic", true)) {
    sbuf_reset(t);
    sbuf_add(t, v3->prefix.p, v3->prefix.len);
    sbuf_adds(t, "event");
    v3_publish(v3, t->p, name, strlen(name), 0, false, NULL);
  }
  if (pr->event_path_topic) {
    sbuf_reset(t);
    sbuf_add(t, v3->prefix.p, v3->prefix.len);
    sbuf_adds(t, "event/");
    v3_topic_path(name, t);
    v3_publish(v3, t->p, "", 0, 0, false, NULL);
  }
}

static void clear_events(struct v3 *v3)
{
  for (size_t i = 0; i < v3->nevents; i++)
    free(v3->events[i]);
  v3->nevents = 0;
}

/* The next "Mongoose poll": publish the queued events (while still connected). */
static void evpoll_cb(struct sim_loop *loop, struct sim_timer *t)
{
  struct v3 *v3 = t->data;
  (void)loop;
  for (size_t i = 0; i < v3->nevents && v3->connected; i++)
    publish_event(v3, v3->events[i]);
  clear_events(v3);
}

/* IncomingEvent() + EventListener().  HEAD (and 3.3.006) queue the event for the next poll,
 * so an event-triggered sync goes out before the event itself; older versions publish it at
 * once. */
static void on_event(void *ctx, const char *name, const char *data)
{
  struct v3 *v3 = ctx;
  (void)data;
  if (!v3->connected)
    return;
  if (!event_skipped(v3, name)) {
    if (v3->sim->profile->batching) {
      xgrow((void **)&v3->events, &v3->capevents, v3->nevents + 1, sizeof(*v3->events));
      v3->events[v3->nevents++] = xstrdup(name);
      if (!sim_timer_active(&v3->evpoll))
        sim_timer_start(v3->sim->loop, &v3->evpoll, 0, 0);
    } else {
      publish_event(v3, name);
    }
  }
  v3_sched_event(v3, name);
}

/* ---- Tick, config, start/stop ---------------------------------------------------------------- */

/* The network became usable at now: connect after conn.stable_wait + jitter. */
static void network_up(struct v3 *v3, int64_t now)
{
  v3->net_since = now;
  if (!v3->conn_up && !v3->suspended) {
    long wait = v3->sim->profile->conn_jitter ? v3_cfg_int(v3, "conn.stable_wait", 10) : 10;
    if (wait < 3)
      wait = 3;
    v3->connect_at = now + wait + jitter(v3);
    set_status(v3, "Waiting to connect", V3_CONNECTWAIT);
  }
}

static void tick_cb(struct sim_loop *loop, struct sim_timer *t)
{
  struct v3 *v3 = t->data;
  (void)loop;
  int64_t now = v3_now(v3);
  if (now % 60 == 0)
    v3_count_clients(v3); /* ticker.60 */
  if (!net_ok(v3)) {
    if (v3->conn_up) {
      drop_connection(v3);
      set_status(v3, "Disconnected from OVMS Server V3", V3_DISCONNECTED);
    }
    v3->net_since = -1;
    v3->connect_at = -1;
    set_status(v3, "Waiting for network connectivity", V3_WAITNETWORK);
    return;
  }
  if (v3->net_since < 0)
    network_up(v3, now);
  if (v3->connected) {
    v3_sched_tick(v3);
    return;
  }
  if (!v3->conn_up && !v3->suspended && v3->connect_at >= 0 && now >= v3->connect_at)
    do_connect(v3);
}

/* Registered with sim as context (config.h has no unlisten): a no-op once V3 is stopped. */
static void on_config(void *ctx, const char *param, const char *instance)
{
  struct v3 *v3 = ((struct sim *)ctx)->v3;
  if (!v3 || v3->stopped)
    return;
  static const char *const conn_keys[] = {"server", "port", "tls", "user", "clientid",
                                          "topic.prefix"};
  bool conn = !strcmp(param, "password");
  if (!strcmp(param, "server.v3"))
    for (size_t i = 0; i < sizeof(conn_keys) / sizeof(conn_keys[0]); i++)
      if (!strcmp(instance, conn_keys[i]))
        conn = true;
  if (!conn) {
    v3_sched_reload(v3);
    return;
  }
  v3->suspended = false;
  if (v3->conn_up) {
    drop_connection(v3);
    set_status(v3, "Server/credentials changed, reconnecting...", V3_DISCONNECTED);
  }
  if (v3->net_since >= 0) {
    v3->connect_at = v3_now(v3) + 1;
    set_status(v3, "Server/credentials changed, reconnecting...", V3_WAITRECONNECT);
  }
}

static char *dup_opt(const char *s)
{
  return s ? xstrdup(s) : NULL;
}

static void free_cb(void *ctx)
{
  v3_stop(ctx);
}

int v3_start(struct sim *sim, const struct v3_options *opt, struct sbuf *err)
{
  if (sim->v3)
    return SIM_EEXIST;
  static const struct v3_options none = {0};
  if (!opt)
    opt = &none;
  v3_register();
  v3_config_declare(sim->config);
  const struct v3_transport_ops *ops = &v3_transport_print;
  if (opt->broker && strcmp(opt->broker, "print")) {
    struct v3_url u;
    if (v3_url_parse(opt->broker, &u, err) < 0)
      return SIM_ECONFIG;
    ops = &v3_transport_mqtt;
    struct sim_config *c = sim->config;
    sim_config_set(c, "server.v3", "server", u.host, NULL);
    sim_config_set(c, "server.v3", "tls", u.tls ? "yes" : "no", NULL);
    if (u.port) {
      char pb[16];
      snprintf(pb, sizeof(pb), "%d", u.port);
      sim_config_set(c, "server.v3", "port", pb, NULL);
    }
    if (u.user[0])
      sim_config_set(c, "server.v3", "user", u.user, NULL);
  }
  if (opt->transport)
    ops = opt->transport;
  if ((opt->certfile != NULL) != (opt->keyfile != NULL)) {
    if (err)
      sbuf_adds(err, "--cert and --key must be given together");
    return SIM_ECONFIG;
  }

  struct v3 *v3 = xcalloc(1, sizeof(*v3));
  v3->sim = sim;
  sim_timer_init(&v3->evpoll, evpoll_cb, v3);
  v3->ops = ops;
  v3->tn = opt->topics == SIM_TOPICS_DRAFT2018 ? &v3_topics_draft2018 : &v3_topics_current;
  v3->password = dup_opt(opt->password);
  v3->cafile = dup_opt(opt->cafile);
  v3->capath = dup_opt(opt->capath);
  v3->certfile = dup_opt(opt->certfile);
  v3->keyfile = dup_opt(opt->keyfile);
  v3->client_id_opt = dup_opt(opt->client_id);
  if (ops != &v3_transport_print)
    v3->tee = opt->tee;
  v3->last_connack = -1;
  v3->connect_at = -1;
  v3->net_since = -1;
  v3->state = V3_UNDETERMINED;
  int rc = ops->open(v3, sim, opt, &v3->tp, err);
  if (rc < 0) {
    free(v3->password);
    free(v3->cafile);
    free(v3->capath);
    free(v3->certfile);
    free(v3->keyfile);
    free(v3->client_id_opt);
    free(v3);
    return rc;
  }
  v3->started_transport = true;
  sim->v3 = v3;
  sbuf_reset(&v3->prefix);
  v3_prefix_build(v3_cfg_str(v3, "topic.prefix"), v3_cfg_str(v3, "user"), sim_vehicle_id(sim),
                  &v3->prefix);

  v3->modifier = metrics_register_modifier(sim->metrics);
  if (!sim->notify)
    sim_notify_open(sim, NULL, NULL);
  v3->reader = sim_notify_reader(sim, "ovmsv3");
  if (v3->reader >= 0)
    sim_notify_set_callback(sim, v3->reader, on_notification, v3);
  sim_events_listen(sim->events, "*", on_event, v3);
  sim_config_listen(sim->config, "server.v3", on_config, sim);
  sim_config_listen(sim->config, "password", on_config, sim);
  v3_sched_start(v3);
  set_status(v3, "Server has been started", V3_WAITNETWORK);
  if (net_ok(v3))
    network_up(v3, v3_now(v3));
  sim_timer_init(&v3->tick, tick_cb, v3);
  int64_t mono = sim_monotonic(sim->loop);
  sim_timer_start_at(sim->loop, &v3->tick, (mono / SIM_NS_PER_SEC + 1) * SIM_NS_PER_SEC,
                     SIM_NS_PER_SEC);
  sim_on_free(sim, free_cb, sim);
  return 0;
}

void v3_stop(struct sim *sim)
{
  struct v3 *v3 = sim->v3;
  if (!v3)
    return;
  sim_timer_stop(sim->loop, &v3->tick);
  sim_timer_stop(sim->loop, &v3->evpoll);
  v3_sched_stop(v3);
  drop_connection(v3);
  sim_events_unlisten(sim->events, on_event, v3);
  if (sim->notify && v3->reader >= 0)
    sim_notify_set_callback(sim, v3->reader, NULL, NULL);
  v3->ops->close(v3->tp);
  sim->v3 = NULL;
  sim_events_raise(sim->events, "server.v3.stopped", NULL);
  clear_clients(v3);
  free(v3->clients);
  clear_events(v3);
  free(v3->events);
  free(v3->acks);
  sbuf_free(&v3->prefix);
  sbuf_free(&v3->topic);
  sbuf_free(&v3->payload);
  sbuf_free(&v3->scratch);
  v3_filter_cleanup(&v3->f_include);
  v3_filter_cleanup(&v3->f_exclude);
  v3_filter_cleanup(&v3->f_priority);
  v3_filter_cleanup(&v3->f_imm_include);
  v3_filter_cleanup(&v3->f_imm_exclude);
  if (v3->password)
    memset(v3->password, 0, strlen(v3->password));
  free(v3->password);
  free(v3->cafile);
  free(v3->capath);
  free(v3->certfile);
  free(v3->keyfile);
  free(v3->client_id_opt);
  free(v3->client_id);
  free(v3);
}

bool v3_stopped(const struct v3 *v3)
{
  return !v3 || v3->stopped;
}

int v3_shell_stop(struct v3 *v3)
{
  if (v3->stopped)
    return SIM_ESTATE;
  sim_timer_stop(v3->sim->loop, &v3->tick);
  drop_connection(v3);
  v3->stopped = true;
  v3->connect_at = -1;
  v3->net_since = -1;
  v3->state = V3_UNDETERMINED;
  sim_events_raise(v3->sim->events, "server.v3.stopped", NULL);
  return 0;
}

int v3_shell_start(struct v3 *v3)
{
  if (!v3->stopped)
    return SIM_ESTATE;
  v3->stopped = false;
  v3->suspended = false;
  set_status(v3, "Server has been started", V3_WAITNETWORK);
  if (net_ok(v3))
    network_up(v3, v3_now(v3));
  int64_t mono = sim_monotonic(v3->sim->loop);
  sim_timer_start_at(v3->sim->loop, &v3->tick, (mono / SIM_NS_PER_SEC + 1) * SIM_NS_PER_SEC,
                     SIM_NS_PER_SEC);
  return 0;
}

int v3_request_update(struct v3 *v3, const char *what)
{
  if (!strcmp(what, "all"))
    v3->lasttx_sendall = 0;
  else if (!strcmp(what, "modified"))
    v3->lasttx = 0;
  else if (!strcmp(what, "priority") && v3->sim->profile->batching)
    v3->lasttx_priority = 0;
  else
    return SIM_ENOTFOUND;
  return 0;
}
