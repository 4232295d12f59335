/*
 * internal.h - private to the Server V3 engine (the files of sim/v3/, see v3.c).
 *
 * Holds struct v3, the topic-name table of the two topic profiles, and the functions the
 * engine files share.  Nothing outside sim/v3/ includes it.
 */
#ifndef SIM_V3_INT_H
#define SIM_V3_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "core/loop.h"
#include "core/sbuf.h"
#include "v3/v3.h"

struct metric;

/*
 * Topic names of one topic profile (--topics), relative to the prefix.  The current names
 * are the firmware's since d5bc3d668 "ServerV3: Production topic hierarchy" (2018-07-06);
 * the draft names are those of the ovmsdev mailing-list post "MQTT and Ovms Server v3" (Mark
 * Webb-Johnson, 2018-07-05, in the list's public archive of July 2018).
 */
struct v3_topic_names {
  const char *name;           /* "current", "draft-2018" */
  const char *metric;         /* metric subtree, with '/' */
  const char *sub_active;     /* presence filter */
  const char *sub_command;    /* command filter */
  int sub_qos;                /* requested QoS of the subscriptions */
  bool client_tree;           /* client/<id>/<kind>[/<cmdid>] (else c/<id>, cmd/<id>/c/) */
  const char *resp_head;      /* response topic: resp_head <client id> resp_mid <command id> */
  const char *resp_mid;
  int response_qos;
  int notify_qos;             /* info/alert/error */
  bool notify_subtype_topic;  /* notify/<type>/<subtype path>[/<id>/<age>] (else notify/<type>) */
};

/* Indexed by enum sim_topics (util.c). */
extern const struct v3_topic_names v3_topics[];

struct v3_client {
  char *id;
  int64_t expiry; /* s of v3_presence_now() */
};

struct v3_inflight {
  int mid;
  int type;   /* enum sim_notify_type */
  int64_t id; /* notification id */
};

struct v3 {
  struct sim *sim;
  const struct v3_transport_ops *ops;
  void *tp;
  const struct v3_topic_names *tn;
  int64_t (*presence_clock)(void); /* wall ns for client presence; NULL: simulated time */
  bool started_transport;
  bool stopped;          /* "server v3 stop" */

  /* options (owned copies) */
  char *password;
  char *cafile, *capath, *certfile, *keyfile;
  char *client_id_opt;
  FILE *tee;
  void (*on_warning)(void *ctx, const char *msg);
  void *warning_ctx;

  /* connection */
  enum v3_state state;
  char status[256];
  char last_error[160];
  bool connected;      /* CONNACK accepted, connection up */
  bool conn_up;        /* an attempt is in progress or connected */
  bool suspended;      /* auth failure: no retries until a config change */
  int last_connack;    /* -1 none */
  int64_t connect_at;  /* monotonic s of the next attempt; -1 none */
  int64_t net_since;   /* monotonic s the network became usable; -1 down */
  struct sbuf prefix;
  char *client_id;

  /* scheduler (ovms_server_v3.cpp Ticker1) */
  struct sim_timer tick;
  struct sim_timer first; /* no broker: a ticker.1 at once (start_ticking(), CONNACK) */
  struct sim_timer poll;  /* "next Mongoose poll": immediate metrics */
  bool sendall;           /* first tick after CONNACK */
  int64_t lasttx, lasttx_sendall, lasttx_priority;
  size_t pos_all, pos_modified;
  int modifier;
  bool busy;
  bool retain_limit;      /* retain.depth.limit (cached by v3_sched_reload) */              /* inside a transmission (events raised there defer) */
  bool immediate_listening;
  struct v3_filter f_include, f_exclude, f_priority, f_imm_include, f_imm_exclude;

  /* clients */
  struct v3_client *clients;
  size_t nclients, capclients;
  int peers;

  /* notifications */
  int reader;
  struct v3_inflight data_wait; /* mid 0 = none */
  struct v3_inflight *acks;     /* QoS 1 publications awaiting PUBACK (for info) */
  size_t nacks, capacks;
  size_t responses_unacked;     /* command responses among acks (at most V3_RESPONSES_MAX) */

  /* events waiting for the next poll (HEAD/3.3.006 TransmitEvents) */
  char **events;
  size_t nevents, capevents;
  struct sim_timer evpoll;

  struct sbuf topic, payload, scratch;
  struct v3_stats stats;
};

/* v3.c */
/* Hands one PUBLISH to the transport (and the tee); counts it.  Returns the transport's
 * result (0 or a negative error). */
/* Writes one publication as mosquitto_sub -v prints it: "<topic> <payload>\n", an empty
 * payload as "<topic> (null)" (mosquitto_sub 2.0.11 -v; client/sub_client_output.c prints
 * "(null)" for a zero-length payload). */
void v3_print_publication(FILE *out, const char *topic, const void *payload, size_t len);
int v3_publish(struct v3 *v3, const char *topic, const void *payload, size_t len, int qos,
               bool retain, int *mid);
long v3_cfg_int(struct v3 *v3, const char *instance, long def);
bool v3_cfg_bool(struct v3 *v3, const char *instance, bool def);
const char *v3_cfg_str(struct v3 *v3, const char *instance); /* "" when unset */
int64_t v3_now(struct v3 *v3); /* m.monotonic in s */

/* conn.c */
/* SetStatus(): the status text; on a state change the event server.v3.<state>. */
void v3_set_status(struct v3 *v3, const char *text, enum v3_state state);
void v3_set_metric_bool(struct v3 *v3, const char *name, bool b);
void v3_set_metric_int(struct v3 *v3, const char *name, int i);
bool v3_net_ok(struct v3 *v3);                   /* m.net.connected, m.net.ip, m.net.good.sq */
void v3_network_up(struct v3 *v3, int64_t now);  /* connect after stable_wait + jitter */
void v3_connect(struct v3 *v3);                  /* one connection attempt (Connect()) */
/* The MQTT client id: the --client-id option, else config server.v3 clientid (profiles that
 * have it), else the vehicle id. */
const char *v3_client_id(struct v3 *v3);
void v3_drop_connection(struct v3 *v3);          /* no DISCONNECT; connected state reset */

/* inbound.c */
void v3_count_clients(struct v3 *v3);  /* CountClients(): expiry, s.v3.peers, app.* events */
void v3_clients_clear(struct v3 *v3);

/* notify_tx.c */
void v3_notify_attach(struct v3 *v3);  /* the reader "ovmsv3" (opens a memory-only queue) */
void v3_notify_detach(struct v3 *v3);
void v3_notify_drain(struct v3 *v3);   /* Ticker1 step 2 */
/* Remembers the QoS 1 publication mid until its PUBACK; type -1 = a command response. */
void v3_track_ack(struct v3 *v3, int mid, int type, int64_t id);

/* events.c */
void v3_events_start(struct v3 *v3);   /* listens to every module event */
void v3_events_stop(struct v3 *v3);
void v3_events_clear(struct v3 *v3);   /* drops the events queued for the next poll */

/* util.c */
/* Appends v as printf's "%g" prints it (6 significant digits, trailing zeros dropped) without
 * printf for values from 1e-4 to 999999 whose rounding is clear; printf itself for the rest. */
void v3_format_g(double v, struct sbuf *out);
/* Appends v as "%lld" prints it. */
void v3_format_int(int64_t v, struct sbuf *out);

/* sched.c */
void v3_sched_start(struct v3 *v3);
void v3_sched_stop(struct v3 *v3);
void v3_sched_tick(struct v3 *v3);     /* the connected part of Ticker1 */
void v3_sched_connected(struct v3 *v3); /* CONNACK accepted */
void v3_sched_event(struct v3 *v3, const char *name);
void v3_sched_reload(struct v3 *v3);   /* config changed: filters, immediate listener */
/* Appends m's payload: metric_format() with the profile's options, the common numbers
 * formatted without printf (v3_format_g(), v3_format_int()), byte for byte the same. */
struct sim_profile;
void v3_format_payload(const struct sim_profile *pr, const struct metric *m, struct sbuf *out);
void v3_transmit_metric(struct v3 *v3, struct metric *m);
void v3_transmit_all(struct v3 *v3);
void v3_transmit_modified(struct v3 *v3);
void v3_transmit_priority(struct v3 *v3);
bool v3_metric_filtered(struct v3 *v3, const char *name);

#endif
