/*
 * inbound.c - what the Server V3 engine receives: client presence (<prefix>client/<id>/active,
 * 120 s expiry on wall time in real-time runs, s.v3.peers, app.connected/app.disconnected),
 * commands run in the shell with their response, and the client metric and config requests, as OvmsServerV3::IncomingMsg(),
 * AddClient(), RemoveClient(), CountClients(), RunCommand(), ProcessClientMetricRequest() and
 * ProcessClientConfigRequest() in V3/components/ovms_server_v3/src/ovms_server_v3.cpp (openvehicles/Open-Vehicle-Monitoring-System-3 1aa1daff).  The draft-2018
 * topic names (c/<id>, cmd/<id>/c/<cmdid>) are mapped onto the same kinds.
 */
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"
#include "model/events.h"
#include "model/metrics.h"
#include "model/sim.h"
#include "shell/shell.h"
#include "v3/internal.h"

/*
 * The clock of client presence, in s.  An app sends client/<id>/active 1 every minute of
 * wall time, so in a real-time run the 120 s expiry counts wall time whatever --speed (at
 * --speed 60 simulated time would drop an app between two heartbeats); a --fast run has no
 * wall time to speak of and counts simulated time.  The check itself stays on the engine's
 * ticks (CountClients() on ticker.60 and before each transmission), so no timer of its own
 * keeps the loop alive.  docs/v3.md states the rule.
 */
static int64_t presence_now(struct v3 *v3)
{
  return v3->presence_clock ? v3->presence_clock() / SIM_NS_PER_SEC : v3_now(v3);
}

void v3_count_clients(struct v3 *v3)
{
  int64_t now = presence_now(v3);
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
  /* set on every pass, as CountClients() does: the first one defines s.v3.peers 0 */
  v3_set_metric_int(v3, "s.v3.peers", n);
  if (n != v3->peers) {
    int old = v3->peers;
    v3->peers = n;
    v3->lasttx = 0;
    if (n > 0)
      sim_events_raise(v3->sim->events, "app.connected", NULL);
    else if (old > 0)
      sim_events_raise(v3->sim->events, "app.disconnected", NULL);
  }
}

static void add_client(struct v3 *v3, const char *id)
{
  int64_t expiry = presence_now(v3) + 120;
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

void v3_clients_clear(struct v3 *v3)
{
  for (size_t i = 0; i < v3->nclients; i++)
    free(v3->clients[i].id);
  v3->nclients = 0;
  v3->peers = 0;
}

static void run_command(struct v3 *v3, const char *cid, const char *cmdid, const char *payload,
                        size_t len)
{
  if (v3->responses_unacked >= V3_RESPONSES_MAX) {
    v3->stats.commands_dropped++;
    return;
  }
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
        v3->tn->response_qos > 0) {
      v3_track_ack(v3, mid, -1, 0);
      v3->responses_unacked++;
    }
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
  /* HEAD's request/config answers any parameter, the password too; the simulator answers as
   * the firmware's other readers of a protected parameter do (config_list(), OvmsConfig.Get in
   * main/ovms_config.cpp): never with its value.  No answer, counted as rejected. */
  if (!sim_config_param_readable(param)) {
    v3->stats.rx_rejected++;
    free(buf);
    return;
  }
  /* An unset key answers an empty value, not a built-in default: the firmware answers with
   * MyConfig.GetParamValue(param, instance), whose default value is "" (OvmsServerV3::
   * ProcessClientConfigRequest(), ovms_server_v3.cpp; GetParamValue in main/ovms_config.h). */
  const char *val = sim_config_is_set(v3->sim->config, param, inst)
                        ? sim_config_get(v3->sim->config, param, inst)
                        : NULL;
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
  xfree_secret(pl); /* a command may carry a password */
}
