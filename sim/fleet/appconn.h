/*
 * appconn.h - what every simulated app client shares (apps.c, app_steps.c): a libmosquitto
 * handle made alike for both (protocol, will, credentials) and driven from the libev loop as
 * the module's transport drives its own (ev_io on the socket, readable -> mosquitto_loop_read,
 * writable while mosquitto_want_write -> mosquitto_loop_write), and the app's topics
 * <prefix>client/<client id>/<rest>.
 */
#ifndef SIM_FLEET_APPCONN_H
#define SIM_FLEET_APPCONN_H

#include <ev.h>
#include <stdbool.h>

struct mosquitto;
struct mosquitto_message;
struct sim_loop;

struct appconn {
  struct sim_loop *loop;  /* borrowed */
  struct mosquitto *m;    /* owned by the app; NULL when there is none */
  ev_io io;               /* io.data is the app's (the callback given to appconn_init) */
  bool io_on;
};

/* Sets c up on loop with the watcher callback cb (data: the app).  c->m stays NULL. */
void appconn_init(struct appconn *c, struct sim_loop *loop,
                  void (*cb)(struct ev_loop *, ev_io *, int), void *data);
/* Creates c->m for the app client cid (v3_mqtt_client_new() with a clean session; obj: the
 * callbacks' obj): MQTT 3.1.1, no Nagle, on_connect and on_message, the will
 * <prefix>client/<cid>/active "0" (QoS 1, not retained) and, when user is not empty, user and
 * password (copied).  Every setting is tried.  Returns MOSQ_ERR_SUCCESS, the first
 * libmosquitto error of the will and the credentials (c->m is set; the caller destroys it), or
 * MOSQ_ERR_NOMEM with c->m NULL when no handle could be made (errno says why). */
int appconn_client_new(struct appconn *c, const char *cid, const char *prefix, const char *user,
                       const char *password, void *obj,
                       void (*on_connect)(struct mosquitto *, void *, int),
                       void (*on_message)(struct mosquitto *, void *,
                                          const struct mosquitto_message *));
/* Watches the handle's socket for reading, and for writing while libmosquitto has data to
 * send; call after anything that may queue a packet, and after a connect. */
void appconn_update_io(struct appconn *c);
/* Stops watching the socket (before the handle is destroyed or after the connection is lost). */
void appconn_stop_io(struct appconn *c);
/* Runs the handle's reads and writes for revents.  Returns MOSQ_ERR_SUCCESS or the first
 * libmosquitto error (the connection is then lost). */
int appconn_io(struct appconn *c, int revents);
/* Publishes payload on <prefix>client/<cid>/<rest> (not retained); *mid (may be NULL) gets
 * the message id.  Returns libmosquitto's result. */
int appconn_publish(struct appconn *c, const char *prefix, const char *cid, const char *rest,
                    const char *payload, int qos, int *mid);
/* Subscribes to the module's <prefix>metric/s/v3/connected at qos_connected and to the app's
 * answers <prefix>client/<cid>/response/# at QoS 2. */
void appconn_subscribe(struct appconn *c, const char *prefix, const char *cid, int qos_connected);

/* What a message on those subscriptions is. */
enum appconn_msg {
  APPCONN_MSG_OTHER,     /* neither (another prefix, or another topic below it) */
  APPCONN_MSG_CONNECTED, /* <prefix>metric/s/v3/connected */
  APPCONN_MSG_RESPONSE,  /* <prefix>client/<cid>/response/<n> */
};
struct appconn_msg_info {
  enum appconn_msg kind;
  bool up; /* CONNECTED: the payload is "yes" */
  long n;  /* RESPONSE: n, -1 if not a number */
};
/* Tells what msg is for the app client cid below prefix (up false and n -1 where they do not
 * apply). */
struct appconn_msg_info appconn_message(const struct mosquitto_message *msg, const char *prefix,
                                        const char *cid);

#endif
