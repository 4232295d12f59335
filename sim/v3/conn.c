/*
 * conn.c - the connection of the Server V3 engine: SetStatus() states and texts with their
 * server.v3.<state> events, "server v3 status", the network check, the connect attempt with
 * the will on <prefix>metric/s/v3/connected, CONNACK handling (auth failure suspension on
 * newer profiles) and the reconnect back-off, as OvmsServerV3::Connect(), SetStatus(),
 * Disconnect(), NetUp()/NetDown() and the MG_EV_MQTT_CONNACK / MG_EV_CLOSE cases of
 * OvmsServerV3MongooseCallback() in V3/components/ovms_server_v3/src/ovms_server_v3.cpp (openvehicles/Open-Vehicle-Monitoring-System-3 1aa1daff) do it.
 * The retry delays and their version differences come from sim->profile.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"
#include "model/events.h"
#include "model/metrics.h"
#include "model/sim.h"
#include "notify/notify.h"
#include "v3/internal.h"

static const char *const state_names[] = {
  [V3_UNDETERMINED] = "undetermined",   [V3_WAITNETWORK] = "waitnetwork",
  [V3_CONNECTWAIT] = "connectwait",     [V3_CONNECTING] = "connecting",
  [V3_AUTHENTICATING] = "authenticating", [V3_CONNECTED] = "connected",
  [V3_DISCONNECTED] = "disconnected",   [V3_WAITRECONNECT] = "waitreconnect",
};

void v3_set_metric_bool(struct v3 *v3, const char *name, bool b)
{
  struct metric *m = metrics_find(v3->sim->metrics, name);
  if (m)
    metric_set_bool(m, b);
}

void v3_set_metric_int(struct v3 *v3, const char *name, int i)
{
  struct metric *m = metrics_find(v3->sim->metrics, name);
  if (m)
    metric_set_int(m, i);
}

/* The event server.v3.<state> with the status text as its data. */
static void signal_state(struct v3 *v3)
{
  char ev[64];
  snprintf(ev, sizeof(ev), "server.v3.%s", state_names[v3->state]);
  sim_events_raise(v3->sim->events, ev, v3->status);
}

/* SetStatus(): the status text, and on a state change the event server.v3.<state> with the
 * text as its data. */
void v3_set_status(struct v3 *v3, const char *text, enum v3_state state)
{
  snprintf(v3->status, sizeof(v3->status), "%s", text);
  if (state != v3->state) {
    v3->state = state;
    signal_state(v3);
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

bool v3_net_ok(struct v3 *v3)
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

/* m_conn_stable_wait: conn.stable_wait (at least 3) since 3.3.006, a fixed 10 before. */
static long stable_wait(struct v3 *v3)
{
  long wait = v3->sim->profile->conn_jitter ? v3_cfg_int(v3, "conn.stable_wait", 10) : 10;
  return wait < 3 ? 3 : wait;
}

/* A retry after delay seconds, the m_connretry countdown of Ticker1.  Where the firmware also
 * restarts its stability count (m_connection_counter = 0: a failed TCP connect, a CONNACK
 * refusal, an unexpected close; recount), the attempt waits as well for that count to reach
 * conn.stable_wait + a jitter of 0..conn.jitter.max drawn anew.  With the defaults
 * (10 + 0..5 < 30) every retry thus comes after exactly delay seconds; the jitter shows in
 * the first connect after the network came up and where conn.stable_wait exceeds the delay. */
static int64_t retry_at(struct v3 *v3, unsigned delay, bool recount)
{
  int64_t wait = delay;
  if (recount && v3->sim->profile->conn_jitter) {
    int64_t stable = stable_wait(v3) + jitter(v3);
    if (stable > wait)
      wait = stable;
  }
  return v3_now(v3) + wait;
}

static void schedule_retry(struct v3 *v3, unsigned delay, bool recount, const char *text)
{
  v3->connect_at = retry_at(v3, delay, recount);
  v3_set_status(v3, text, V3_WAITRECONNECT);
}

/* Drops the connection (no DISCONNECT) and resets the connected state. */
void v3_drop_connection(struct v3 *v3)
{
  if (v3->conn_up)
    v3->ops->drop(v3->tp);
  bool was = v3->connected;
  v3->conn_up = false;
  v3->connected = false;
  v3->data_wait.mid = 0;
  v3->nacks = 0;
  v3->responses_unacked = 0;
  v3_events_clear(v3);
  v3_clients_clear(v3);
  if (was || v3->state == V3_CONNECTED) {
    v3_set_metric_bool(v3, "s.v3.connected", false);
    v3_set_metric_int(v3, "s.v3.peers", 0);
  }
}

/* The network became usable at now: connect after conn.stable_wait + jitter. */
void v3_network_up(struct v3 *v3, int64_t now)
{
  v3->net_since = now;
  if (!v3->conn_up && !v3->suspended) {
    v3->connect_at = now + stable_wait(v3) + jitter(v3);
    v3_set_status(v3, "Waiting to connect", V3_CONNECTWAIT);
  }
}

const char *v3_client_id(struct v3 *v3)
{
  if (v3->client_id_opt)
    return v3->client_id_opt;
  if (v3->sim->profile->clientid_config && *v3_cfg_str(v3, "clientid"))
    return v3_cfg_str(v3, "clientid");
  return sim_vehicle_id(v3->sim);
}

void v3_connect(struct v3 *v3)
{
  struct sim *sim = v3->sim;
  const struct sim_profile *pr = sim->profile;
  v3->connect_at = -1;
  const char *server = v3_cfg_str(v3, "server");
  if (!*server && v3->ops == &v3_transport_print)
    server = "print"; /* no broker: nothing to configure */
  if (!*server) {
    schedule_retry(v3, 20, false, "Error: Parameter server.v3/server must be defined");
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
  free(v3->client_id);
  v3->client_id = xstrdup(v3_client_id(v3));

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
  v3_set_status(v3, "Connecting...", V3_CONNECTING);
  int rc = v3->ops->connect(v3->tp, &ci, NULL); /* the status text says it failed */
  sbuf_free(&will);
  if (rc < 0) {
    schedule_retry(v3, 20, false, "Error: Connection failed");
    return;
  }
  v3->conn_up = true;
  if (v3->state == V3_CONNECTING)
    v3_set_status(v3, "Authenticating...", V3_AUTHENTICATING);
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
    v3->responses_unacked = 0;
    v3->connect_at = -1;
    v3_set_metric_bool(v3, "s.v3.connected", true);
    v3_set_status(v3, "OVMS V3 MQTT login successful", V3_CONNECTED);
    v3_sched_connected(v3);
    if (v3->ops == &v3_transport_print) /* no broker: the first full sync on the next turn
                                           (after the queued events), not the next ticker.1 */
      sim_timer_start(v3->sim->loop, &v3->first, 0, 0);
    return;
  }
  v3->stats.refused++;
  v3_drop_connection(v3);
  /* The MG_EV_MQTT_CONNACK refusal: Disconnect() first (state Disconnected, its text). */
  v3_set_status(v3, "Disconnected from OVMS Server V3", V3_DISCONNECTED);
  if (!pr->auth_suspend) { /* up to 3.3.006: a countdown, the state stays Disconnected */
    v3->connect_at = retry_at(v3, pr->refused_retry, true);
    return;
  }
  if (rc == 3) {
    schedule_retry(v3, pr->connfail_retry, true, "Server temporarily unavailable");
    return;
  }
  /* Authentication: the state stays Disconnected (SetStatus() signals it again, with the
   * new text), no retry until the configuration changes (m_connretry = -1). */
  v3->suspended = true;
  v3->connect_at = -1;
  v3_set_status(v3, "Authentication error (wrong user/password/client ID)", V3_DISCONNECTED);
  signal_state(v3);
  char text[256];
  snprintf(text, sizeof(text),
           "Incorrect server V3 login credentials or client ID (MQTT CONNACK return code "
           "0x%02X)\nV3 server connection suspended, verify configuration",
           (unsigned)rc);
  sim_notify_raise(v3->sim, NOTIFY_ALERT, "server.v3.auth.failure", text);
}

void v3_transport_closed(struct v3 *v3, int err, bool tcp_failed)
{
  if (!v3->conn_up)
    return;
  const struct sim_profile *pr = v3->sim->profile;
  bool was = v3->connected;
  v3->stats.drops++;
  v3_drop_connection(v3);
  if (tcp_failed) {
    char text[256];
    if (v3->last_error[0])
      snprintf(text, sizeof(text), "Error: Connection failed (%s)", v3->last_error);
    else
      snprintf(text, sizeof(text), "Error: Connection failed");
    schedule_retry(v3, pr->connfail_retry, true, text);
  } else {
    if (was)
      v3_set_status(v3, "Disconnected from OVMS Server V3", V3_DISCONNECTED);
    schedule_retry(v3, pr->closed_retry, true, "Disconnected from OVMS Server V3");
  }
  (void)err;
}
