/*
 * v3.c - the Server V3 engine's core: start and stop (also "server v3 stop|start"), the 1 Hz
 * tick that drives the connection and the metric schedule, configuration changes, the
 * publish path shared by every part, and the config accessors.  The parts, split by protocol
 * action as mosquitto's lib/ is:
 *   conn.c       connection, will, CONNACK, back-off, status texts and state events
 *   inbound.c    client presence, commands, metric and config requests
 *   sched.c      metric transmission and the Ticker1() schedule
 *   notify_tx.c  notification transmission and acknowledgement
 *   events.c     event publication
 *   component.c  the config keys and shell commands V3 registers
 *   util.c       pure helpers (URL, prefix, topic paths, filters); config.c the key table
 *   transport_mqtt.c, transport_print.c  how the bytes reach a broker (v3.h)
 * internal.h holds struct v3 and what the parts share.
 *
 * Firmware reference: OvmsServerV3 (Ticker1(), ConfigChanged(), the constructor and
 * destructor, RequestUpdate()) in V3/components/ovms_server_v3/src/ovms_server_v3.cpp at
 * openvehicles/Open-Vehicle-Monitoring-System-3 1aa1daff; docs/v3.md describes the engine.
 *
 * Every time comes from the simulation clock: the 1 Hz tick is a sim_timer and "now" is
 * m.monotonic in seconds (sim_monotonic()).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/array.h"
#include "core/diag.h"
#include "core/error.h"
#include "core/utf8.h"
#include "model/events.h"
#include "model/metrics.h"
#include "model/sim.h"
#include "v3/internal.h"
#include "core/xalloc.h"

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

const struct v3_stats *v3_get_stats(const struct v3 *v3)
{
  return &v3->stats;
}

void v3_set_presence_clock(struct v3 *v3, int64_t (*wall_ns)(void))
{
  v3->presence_clock = wall_ns;
}

void v3_print_publication(FILE *out, const char *topic, const void *payload, size_t len)
{
  fputs(topic, out);
  fputc(' ', out);
  if (len)
    fwrite(payload, 1, len, out);
  else
    fputs("(null)", out);
  fputc('\n', out);
}

int v3_publish(struct v3 *v3, const char *topic, const void *payload, size_t len, int qos,
               bool retain, int *mid)
{
  int dummy;
  int rc = v3->ops->publish(v3->tp, topic, payload, len, qos, retain, mid ? mid : &dummy);
  if (rc == 0 && v3->tee)
    v3_print_publication(v3->tee, topic, payload, len);
  if (rc == 0) {
    v3->stats.published++;
    v3->stats.bytes += len;
  }
  return rc;
}

static void tick_cb(struct sim_loop *loop, struct sim_timer *t)
{
  struct v3 *v3 = t->data;
  (void)loop;
  int64_t now = v3_now(v3);
  if (now % 60 == 0)
    v3_count_clients(v3); /* ticker.60 */
  if (!v3_net_ok(v3)) {
    if (v3->conn_up) {
      v3_drop_connection(v3);
      v3_set_status(v3, "Disconnected from OVMS Server V3", V3_DISCONNECTED);
    }
    v3->net_since = -1;
    v3->connect_at = -1;
    v3_set_status(v3, "Waiting for network connectivity", V3_WAITNETWORK);
    return;
  }
  if (v3->net_since < 0)
    v3_network_up(v3, now);
  if (v3->connected) {
    v3_sched_tick(v3);
    return;
  }
  if (!v3->conn_up && !v3->suspended && v3->connect_at >= 0 && now >= v3->connect_at)
    v3_connect(v3);
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
    for (size_t i = 0; i < ARRAY_SIZE(conn_keys); i++)
      if (!strcmp(instance, conn_keys[i]))
        conn = true;
  if (!conn) {
    v3_sched_reload(v3);
    return;
  }
  bool suspended = v3->suspended; /* ConfigChanged(): m_connretry -1 becomes 2 */
  v3->suspended = false;
  if (v3->conn_up) {
    v3_drop_connection(v3);
    v3_set_status(v3, "Server/credentials changed, reconnecting...", V3_DISCONNECTED);
  }
  if (v3->net_since >= 0) {
    v3->connect_at = v3_now(v3) + (suspended ? 2 : 1);
    v3_set_status(v3, "Server/credentials changed, reconnecting...", V3_WAITRECONNECT);
  }
}

static char *dup_opt(const char *s)
{
  return s ? xstrdup(s) : NULL;
}

/* Frees the option copies of v3; the password is wiped first. */
static void free_opts(struct v3 *v3)
{
  xfree_secret(v3->password);
  char *owned[] = {v3->cafile, v3->capath, v3->certfile, v3->keyfile, v3->client_id_opt};
  for (size_t i = 0; i < ARRAY_SIZE(owned); i++)
    free(owned[i]);
}

static void free_cb(void *ctx)
{
  v3_stop(ctx);
}

/* The transport for opt: a broker URL sets server.v3 server, tls, port and user and selects
 * mqtt; opt->transport overrides the choice.  Returns 0 or SIM_ECONFIG (message in d). */
static int choose_transport(struct sim *sim, const struct v3_options *opt,
                            const struct v3_transport_ops **ops, struct sim_diag *d)
{
  *ops = &v3_transport_print;
  if (opt->broker && strcmp(opt->broker, "print")) {
    struct v3_url u;
    if (v3_url_parse(opt->broker, &u, d) < 0)
      return SIM_ECONFIG;
    *ops = &v3_transport_mqtt;
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
    *ops = opt->transport;
  if ((opt->certfile != NULL) != (opt->keyfile != NULL)) {
    sim_diag_error(d, NULL, 0, 0, "a TLS client certificate needs its key, and a key its "
                                  "certificate");
    return SIM_ECONFIG;
  }
  return 0;
}

/* No remote TLS downgrade: when the command line asked for TLS (mqtts://, --cafile,
 * --capath, --cert/--key) and server.v3 tls is yes, the key is locked, so `config set
 * server.v3 tls no` or `config rm server.v3 tls` from an app (which would reconnect in
 * plaintext and send the password in clear) is refused (docs/v3.md). */
static void lock_tls(struct sim *sim, const struct v3_options *opt)
{
  bool mqtts = opt->broker && !strncmp(opt->broker, "mqtts://", 8);
  bool files = opt->cafile || opt->capath || opt->certfile || opt->keyfile;
  if ((mqtts || files) && sim_config_get_bool(sim->config, "server.v3", "tls", false))
    sim_config_lock(sim->config, "server.v3", "tls",
                    "parameter is not writeable: server.v3 tls was given on the command line "
                    "(TLS cannot be turned off remotely)");
}

/* A new engine for sim with copies of opt's strings, not yet attached to anything. */
static struct v3 *v3_new(struct sim *sim, const struct v3_options *opt,
                         const struct v3_transport_ops *ops)
{
  struct v3 *v3 = xcalloc(1, sizeof(*v3));
  v3->sim = sim;
  v3->ops = ops;
  v3->tn = &v3_topics[opt->topics];
  v3->password = dup_opt(opt->password);
  v3->cafile = dup_opt(opt->cafile);
  v3->capath = dup_opt(opt->capath);
  v3->certfile = dup_opt(opt->certfile);
  v3->keyfile = dup_opt(opt->keyfile);
  v3->client_id_opt = dup_opt(opt->client_id);
  if (ops != &v3_transport_print)
    v3->tee = opt->tee;
  v3->on_warning = opt->on_warning;
  v3->warning_ctx = opt->warning_ctx;
  if (sim_loop_mode(sim->loop) == SIM_CLOCK_REAL)
    v3->presence_clock = sim_wall_ns; /* an app's heartbeat runs on wall time (inbound.c) */
  v3->last_connack = -1;
  v3->connect_at = -1;
  v3->net_since = -1;
  v3->state = V3_UNDETERMINED;
  return v3;
}

/*
 * "Server has been started": connect once the network is usable, tick at every whole
 * second of m.monotonic (the firmware's ticker.1).  With a broker the first connect waits
 * conn.stable_wait + jitter, as Ticker1() counts m_connection_counter up to
 * m_conn_stable_wait + m_connect_jitter before Connect() (ovms_server_v3.cpp): the network
 * must be stable.  The print transport has no network to wait for: it connects on the
 * first turn of the loop (after the scenario and the inputs are set up, so the vehicle id
 * and the first values are there), and its CONNACK runs the first full sync on the next turn
 * (v3_transport_connack()), so a run prints from sim time 0.  Network losses simulated
 * later keep the firmware's wait.
 */
static void start_ticking(struct v3 *v3)
{
  v3_set_status(v3, "Server has been started", V3_WAITNETWORK);
  if (v3_net_ok(v3))
    v3_network_up(v3, v3_now(v3));
  int64_t mono = sim_monotonic(v3->sim->loop);
  sim_timer_start_at(v3->sim->loop, &v3->tick, (mono / SIM_NS_PER_SEC + 1) * SIM_NS_PER_SEC,
                     SIM_NS_PER_SEC);
  if (v3->ops == &v3_transport_print && v3->connect_at >= 0) {
    v3->connect_at = v3_now(v3);
    sim_timer_start(v3->sim->loop, &v3->first, 0, 0);
  }
}

/* A topic part that must hold no wildcard (and, for one level, no '/'): MQTT 3.1.1
 * section 4.7.1.  Records the error in d and returns false when it does. */
static bool topic_part_ok(const char *what, const char *v, bool level, struct sim_diag *d)
{
  size_t bad;
  const char *c = strpbrk(v, level ? "#+/" : "#+");
  if (c) {
    sim_diag_error(d, NULL, 0, 0, "%s '%s' has the character '%c', which MQTT does not allow "
                   "in a topic%s", what, v, *c, level ? " level" : "");
    return false;
  }
  if (!sim_utf8_valid(v, strlen(v), &bad)) {
    sim_diag_error(d, NULL, 0, 0, "%s is not valid UTF-8 (byte %zu)", what, bad + 1);
    return false;
  }
  return true;
}

/* A file the TLS setup will read: refused now when it cannot be read, rather than failing
 * every connection attempt of the run. */
static bool tls_file_ok(const char *what, const char *path, int mode, struct sim_diag *d)
{
  if (!path || access(path, mode) == 0)
    return true;
  sim_diag_error(d, NULL, 0, 0, "%s '%s' cannot be read: %s", what, path, strerror(errno));
  return false;
}

/*
 * Values that would make every connection attempt of a run fail, or publish on wildcard
 * topics, refused before the run (docs/v3.md "Running"): the vehicle id (empty, or with '#',
 * '+' or '/'), the user and the topic prefix (with '#' or '+'), a client id beyond
 * V3_CLIENT_ID_MAX bytes, and TLS files that cannot be read.  Returns 0 or SIM_ECONFIG.
 */
static int check_identity(struct v3 *v3, const struct v3_options *opt, struct sim_diag *d)
{
  const char *vid = sim_vehicle_id(v3->sim);
  bool ok = true;
  if (!*vid) {
    sim_diag_error(d, NULL, 0, 0, "the vehicle id is empty: it names the car's topics and its "
                                  "MQTT client (config vehicle id)");
    ok = false;
  } else {
    ok = topic_part_ok("the vehicle id", vid, true, d);
  }
  ok = topic_part_ok("the user", v3_cfg_str(v3, "user"), true, d) && ok;
  ok = topic_part_ok("the topic prefix", v3_cfg_str(v3, "topic.prefix"), false, d) && ok;
  size_t n = strlen(v3_client_id(v3));
  if (n > V3_CLIENT_ID_MAX) {
    sim_diag_error(d, NULL, 0, 0, "the MQTT client id is %zu bytes long (at most %d)", n,
                   V3_CLIENT_ID_MAX);
    ok = false;
  }
  ok = tls_file_ok("the CA file", opt->cafile, R_OK, d) && ok;
  ok = tls_file_ok("the CA directory", opt->capath, R_OK | X_OK, d) && ok;
  ok = tls_file_ok("the client certificate", opt->certfile, R_OK, d) && ok;
  ok = tls_file_ok("the client key", opt->keyfile, R_OK, d) && ok;
  return ok ? 0 : SIM_ECONFIG;
}

int v3_start(struct sim *sim, const struct v3_options *opt, struct sim_diag *d)
{
  if (sim->v3)
    return SIM_EEXIST;
  static const struct v3_options none = {0};
  if (!opt)
    opt = &none;
  v3_register();
  v3_config_declare(sim->config);
  const struct v3_transport_ops *ops;
  int rc = choose_transport(sim, opt, &ops, d);
  if (rc < 0)
    return rc;
  lock_tls(sim, opt);
  struct v3 *v3 = v3_new(sim, opt, ops);
  rc = ops == &v3_transport_mqtt ? check_identity(v3, opt, d) : 0;
  if (rc == 0)
    rc = ops->open(v3, sim, opt, &v3->tp, d);
  if (rc < 0) {
    free_opts(v3);
    free(v3);
    return rc;
  }
  v3->started_transport = true;
  sim->v3 = v3;
  sbuf_reset(&v3->prefix);
  v3_prefix_build(v3_cfg_str(v3, "topic.prefix"), v3_cfg_str(v3, "user"), sim_vehicle_id(sim),
                  &v3->prefix);

  v3->modifier = metrics_register_modifier(sim->metrics);
  v3_notify_attach(v3);
  v3_events_start(v3);
  sim_config_listen(sim->config, "server.v3", on_config, sim);
  sim_config_listen(sim->config, "password", on_config, sim);
  v3_sched_start(v3);
  sim_timer_init(&v3->tick, tick_cb, v3);
  sim_timer_init(&v3->first, tick_cb, v3);
  start_ticking(v3);
  sim_on_free(sim, free_cb, sim);
  return 0;
}

void v3_stop(struct sim *sim)
{
  struct v3 *v3 = sim->v3;
  if (!v3)
    return;
  sim_timer_stop(sim->loop, &v3->tick);
  sim_timer_stop(sim->loop, &v3->first);
  v3_sched_stop(v3);
  v3_drop_connection(v3);
  v3_events_stop(v3);
  v3_notify_detach(v3);
  v3->ops->close(v3->tp);
  sim->v3 = NULL;
  sim_events_raise(sim->events, "server.v3.stopped", NULL);
  v3_clients_clear(v3);
  free(v3->clients);
  v3_events_clear(v3);
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
  free_opts(v3);
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
  sim_timer_stop(v3->sim->loop, &v3->first);
  v3_drop_connection(v3);
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
  start_ticking(v3);
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
