/*
 * v3.h - Server V3: the module's MQTT protocol (OvmsServerV3 in
 * V3/components/ovms_server_v3/src/ovms_server_v3.cpp; docs/v3.md).
 *
 * One struct v3 per simulated module (sim->v3).  The engine (sim/v3/, parts listed in v3.c)
 * owns what the firmware's OvmsServerV3 does: the topic prefix, metric topics and payloads,
 * include/exclude filters, the 1 Hz scheduler of Ticker1() in simulation time, client presence,
 * commands and responses, client requests, events and notifications, reconnects and back-off,
 * status strings and server.v3.* state events.
 *
 * How bytes reach a broker is a transport, a const operation table (struct v3_transport_ops):
 *   mqtt   libmosquitto driven from the libev loop (transport_mqtt.c); mqtt:// and mqtts://
 *   print  no broker: every publication is written as one line "<topic> <payload>" (as
 *          mosquitto_sub -v prints it) and the module behaves as if connected to a broker
 *          with no clients (transport_print.c).  This is the default of ovms-sim.
 * Transports report back through the v3_transport_*() callbacks below; they never call into
 * the engine otherwise.
 *
 * The topic names come from a topic table (enum sim_topics): "current" (the firmware since
 * 2018-07-06) or "draft-2018" (the seed post: m/, c/<clientid>, cmd/<clientid>/c/ and /r/,
 * notify/<type> at QoS 2).  The differences between firmware versions (3.3.004, 3.3.005,
 * 3.3.006/HEAD) come from sim->profile (model/profile.c).
 */
#ifndef SIM_V3_H
#define SIM_V3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "model/config.h"
#include "model/profile.h"
#include "core/diag.h"
#include "core/sbuf.h"

struct sim;
struct v3;

/* ---- Start / stop ------------------------------------------------------------------------ */

struct v3_options {
  /* NULL or "print": the print transport.  Otherwise mqtt://[user@]host[:port][/] or
   * mqtts://...; the URL sets server.v3 server, port, tls and (if given) user. */
  const char *broker;
  /* The MQTT password (config "password server.v3" when NULL).  Copied; never logged. */
  const char *password;
  /* TLS: CA file and/or directory (both NULL: the system CAs), client certificate and key
   * (both or neither).  Verification of the server is always on. */
  const char *cafile, *capath, *certfile, *keyfile;
  /* Overrides config server.v3 clientid when non-NULL. */
  const char *client_id;
  /* Topic names: SIM_TOPICS_CURRENT or SIM_TOPICS_DRAFT2018. */
  enum sim_topics topics;
  /* Print transport output; NULL = stdout.  Borrowed. */
  FILE *out;
  /* With a broker: also write every publication to tee as the print transport does (--print
   * together with --broker).  NULL = no.  Borrowed. */
  FILE *tee;
  /* A transport to use instead of the one the broker URL selects (tests, benchmarks);
   * NULL = by URL.  With it, the URL (if any) still sets the server config. */
  const struct v3_transport_ops *transport;
  /* Called with a one-line message when a notification that can never be delivered is moved
   * aside (sim_notify_quarantine()); NULL = not reported.  Borrowed. */
  void (*on_warning)(void *ctx, const char *msg);
  void *warning_ctx;
};

/* The longest MQTT client id accepted: 65,535 bytes, what the CONNECT packet's length field
 * can hold (MQTT 3.1.1 section 1.5.3) and what mosquitto accepts.  Section 3.1.3.1 only
 * obliges a broker to take 1 to 23 bytes; longer ids work with mosquitto and EMQX. */
#define V3_CLIENT_ID_MAX 65535

/*
 * Starts Server V3 for sim (sim->v3 is set; it is freed with sim_free() or v3_stop()).  opt
 * may be NULL (print transport, defaults); its strings are copied.  Declares the server.v3
 * config keys if not yet declared (declare them before loading a config file with
 * v3_config_declare()).  Registers the notification reader "ovmsv3" (opening a memory-only
 * queue if sim_notify_open() was not called).  The connection is attempted after
 * conn.stable_wait + jitter seconds of simulation time, as the firmware does after boot.
 * Returns 0; SIM_ECONFIG (with an error recorded in d, may be NULL) for a bad URL, a client
 * certificate without key, or (with a broker) an empty vehicle id, a vehicle id, user or topic
 * prefix with an MQTT wildcard, a client id over V3_CLIENT_ID_MAX, a TLS file that cannot be
 * read; the transport's error (recorded in d) when it cannot be set up;
 * SIM_EEXIST if already started.
 */
int v3_start(struct sim *sim, const struct v3_options *opt, struct sim_diag *d);

/*
 * Registers Server V3 with the module framework, once per process at program start (before
 * the first sim_new()): every new module context declares the server.v3.* config keys
 * (v3_config_declare()), and the shell gets the `server v3 ...` commands.  Idempotent;
 * v3_start() calls it too.  Returns 0, or SIM_ELIMIT / SIM_EEXIST from sim_on_new() /
 * shell_register().
 */
int v3_register(void);

/* Stops Server V3 and frees sim->v3 (also done by sim_free()): closes the connection without
 * DISCONNECT (the broker then publishes the will) and raises server.v3.stopped.  No-op when
 * not started. */
void v3_stop(struct sim *sim);

/* "server v3 stop" / "server v3 start" from the shell: stop keeps the options (broker, TLS,
 * password) so that start can connect the same way again.  v3_shell_stop() closes the
 * connection without DISCONNECT and raises server.v3.stopped.  Both return 0, or SIM_ESTATE
 * when already stopped / started. */
int v3_shell_stop(struct v3 *v3);
int v3_shell_start(struct v3 *v3);
/* True while stopped with v3_shell_stop(). */
bool v3_stopped(const struct v3 *v3);

/* Declares the config keys ConfigChanged()/Connect() read (server.v3.* and auto server.v3;
 * password, vehicle and notify keys are built in) with the firmware's defaults, profile-dependent ones through
 * profile_default.  Keys already declared are left alone, so it is idempotent.  Returns 0. */
int v3_config_declare(struct sim_config *c);

/* ---- State and shell support ------------------------------------------------------------- */

/* SetStatus() states, in the firmware's order. */
enum v3_state {
  V3_UNDETERMINED,
  V3_WAITNETWORK,
  V3_CONNECTWAIT,
  V3_CONNECTING,
  V3_AUTHENTICATING,
  V3_CONNECTED,
  V3_DISCONNECTED,
  V3_WAITRECONNECT,
};

/* The current state (V3_UNDETERMINED while stopped). */
enum v3_state v3_state(const struct v3 *v3);
/* True while connected (CONNACK accepted and the connection is up). */
bool v3_connected(const struct v3 *v3);

/* Notifications of type still to be delivered by v3 (queued or waiting for the broker's
 * acknowledgement); type < 0: all types. */
size_t v3_notify_backlog(struct v3 *v3, int type);

/*
 * Appends the output of "server v3 status" (ovmsv3_status()): "State: <X>\n" and 7 spaces + the
 * status text + "\n".  v3 NULL gives "OVMS v3 server has not been started\n".
 */
void v3_status_text(const struct v3 *v3, struct sbuf *out);

/* "server v3 update all|modified|priority": zeroes the matching timestamp.  Returns 0, or
 * SIM_ENOTFOUND for another word (priority is SIM_ENOTFOUND before 3.3.006). */
int v3_request_update(struct v3 *v3, const char *what);

/* At most this many command responses wait for the broker's acknowledgement; a command that
 * arrives while as many are outstanding is not run and is counted (commands_dropped), so an
 * app that sends faster than the broker acknowledges cannot grow the module's memory without
 * bound (docs/v3.md, "Commands").  The firmware answers commands one at a time from its
 * network task and has no such queue to bound. */
#define V3_RESPONSES_MAX 8192

/* Statistics (benchmarks, tests). */
struct v3_stats {
  uint64_t published;     /* PUBLISH packets handed to the transport */
  uint64_t bytes;         /* payload bytes published */
  uint64_t connects;      /* CONNACK accepted */
  uint64_t refused;       /* CONNACK refused */
  uint64_t drops;         /* connections lost */
  uint64_t commands;      /* commands executed */
  uint64_t commands_dropped; /* commands not run: V3_RESPONSES_MAX responses unacknowledged */
  uint64_t rx_rejected;   /* inbound messages rejected (bad topic or payload) */
  uint64_t full_syncs;    /* full sync passes completed */
  uint64_t quarantined;   /* notifications moved aside: they could never be published */
  uint64_t delivered;     /* notifications acknowledged by the broker */
};
/* The counters of v3 (owned by v3, updated live). */
const struct v3_stats *v3_get_stats(const struct v3 *v3);
/* The clock of client presence expiry (ns): sim_wall_ns() in a real-time run, none (NULL:
 * simulated time) in a --fast run; tests inject a wall clock of their own. */
void v3_set_presence_clock(struct v3 *v3, int64_t (*wall_ns)(void));

/* The detail of the last connection failure reported by the transport, "" if none. */
const char *v3_last_error(const struct v3 *v3);

/* ---- Transports --------------------------------------------------------------------------- */

/* What the engine asks a transport to connect with (Connect()).  Strings are borrowed for
 * the duration of the call. */
struct v3_connect_info {
  const char *host;
  int port;
  bool tls;
  const char *client_id;
  const char *username;  /* NULL: field left out */
  const char *password;  /* NULL: field left out */
  unsigned keepalive;    /* s */
  bool clean_session;    /* always false for the firmware */
  const char *will_topic, *will_payload;
  int will_qos;
  bool will_retain;
  const char *cafile, *capath, *certfile, *keyfile;
};

struct v3_transport_ops {
  const char *name; /* "mqtt", "print" */
  /* Creates the private state for v3.  Returns 0 or a negative error (recorded in d, which
   * may be NULL). */
  int (*open)(struct v3 *v3, struct sim *sim, const struct v3_options *opt, void **priv,
              struct sim_diag *d);
  /* Starts a connection attempt.  The outcome is reported with v3_transport_connack() or
   * v3_transport_closed(); a synchronous failure returns a negative error (recorded in d,
   * which may be NULL). */
  int (*connect)(void *priv, const struct v3_connect_info *ci, struct sim_diag *d);
  /* One SUBSCRIBE packet with n filters at qos. */
  int (*subscribe)(void *priv, const char *const *filters, size_t n, int qos);
  /* Queues a PUBLISH.  For qos > 0, *mid receives the message id that v3_transport_acked()
   * will report when the broker acknowledged it (PUBACK, or the end of the QoS 2 exchange). */
  int (*publish)(void *priv, const char *topic, const void *payload, size_t len, int qos,
                 bool retain, int *mid);
  /* Closes the connection without sending DISCONNECT (the broker publishes the will). */
  void (*drop)(void *priv);
  /* Frees the private state (after drop). */
  void (*close)(void *priv);
};

extern const struct v3_transport_ops v3_transport_mqtt;

/*
 * Descriptors of the mqtt transport (docs/scaling.md): with on, every libmosquitto client of
 * the process is created without the wake-up socket pair libmosquitto opens for its own
 * mosquitto_loop() (unused when driven from libev): 1 descriptor per connection instead of 3.
 * Process-wide; set it before the first connection (fleets do).  Default off.
 */
void v3_mqtt_single_fd(bool on);
/* mosquitto_new() as the mqtt transport calls it (with the setting above applied), for other
 * libmosquitto clients of the process driven the same way (the fleet's app clients).
 * Returns the handle (the caller destroys it) or NULL with errno set. */
struct mosquitto;
struct mosquitto *v3_mqtt_client_new(const char *id, bool clean_session, void *obj);
/*
 * Appends to out the MQTT 3.1.1 QoS 0 PUBLISH packet (section 3.3) for topic (NUL-terminated)
 * and payload (len bytes) with the retain flag: the bytes libmosquitto 2.0 sends for it
 * (send__real_publish() in lib/send_publish.c), which the mqtt transport writes itself.
 * Pure.  Returns 0, or SIM_ELIMIT for a topic over 65,535 bytes or a packet over the
 * 268,435,455 bytes a remaining length can give (out unchanged).
 */
int v3_mqtt_publish_encode(const char *topic, const void *payload, size_t len, bool retain,
                           struct sbuf *out);
/* Whether topic (1 to 65,535 bytes) is printable ASCII without '+' and '#', which passes
 * every check libmosquitto makes of a topic to publish on; *len is set to the length of the
 * plain part.  The transport checks other topics with libmosquitto's own functions. */
bool v3_mqtt_plain_topic(const char *topic, size_t *len);
extern const struct v3_transport_ops v3_transport_print;

/* Transport callbacks into the engine. */
/* CONNACK with its return code (0 = accepted, 1..5 = MQTT 3.1.1 refusals). */
void v3_transport_connack(struct v3 *v3, int rc);
/* An inbound PUBLISH.  topic is NUL-terminated; payload has len bytes. */
void v3_transport_message(struct v3 *v3, const char *topic, const void *payload, size_t len);
/* The broker acknowledged the QoS 1/2 publication mid. */
void v3_transport_acked(struct v3 *v3, int mid);
/* The connection is gone (err: SIM_E*, -errno, or 0 for a close by the peer); `tcp_failed`
 * is true when no TCP/TLS connection was ever established for this attempt. */
void v3_transport_closed(struct v3 *v3, int err, bool tcp_failed);
/* A detail of the last connection failure from the transport ("TLS verification failed:
 * certificate verify failed (unable to get local issuer certificate)"); text is copied.  Shown in the status text of the retry and by v3_last_error(). */
void v3_transport_error(struct v3 *v3, const char *text);
/* The module v3 belongs to (transports reach its loop through it). */
struct sim *v3_sim(struct v3 *v3);

/* ---- Pure helpers (unit-tested by tables) -------------------------------------------------- */

/* A parsed broker URL. */
struct v3_url {
  bool tls;
  char user[128];   /* "" when absent */
  char host[256];
  int port;         /* 0 when absent */
};
/* Parses mqtt://[user@]host[:port][/] or mqtts://...  Returns 0, or SIM_EPARSE with an error
 * recorded in d (may be NULL; the URL in the message has any password masked).  A password
 * in the URL (user:pw@) is rejected: it would show in ps. */
int v3_url_parse(const char *url, struct v3_url *out, struct sim_diag *d);

/* The topic prefix of Connect(): custom prefix verbatim, else "ovms/<user>/<vehicleid>/"
 * ("ovms/<user>/" without a vehicle id).  Appends to out. */
void v3_prefix_build(const char *custom, const char *user, const char *vehicleid,
                     struct sbuf *out);

/* Appends name with every '.' replaced by '/' (mqtt_topic()). */
void v3_topic_path(const char *name, struct sbuf *out);

/* True if a topic must be published without RETAIN under retain.depth.limit: more than 7 '/'. */
bool v3_retain_depth_exceeded(const char *topic);

/*
 * An include/exclude filter of the firmware's id_filter: a comma list of exact names,
 * "prefix*", "*suffix" or "*".  v3_filter_set() returns 0, or SIM_EPARSE for a '*' in the
 * middle of an entry (the entry is dropped, as the firmware rejects it).
 */
struct v3_filter {
  char **v;
  size_t n;
};
int v3_filter_set(struct v3_filter *f, const char *list);
void v3_filter_cleanup(struct v3_filter *f);
/* An empty filter matches nothing; callers treat an empty include list as "all". */
bool v3_filter_match(const struct v3_filter *f, const char *name);

#endif
