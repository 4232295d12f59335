/*
 * appconn.c - a simulated app's MQTT connection on the libev loop (appconn.h).
 */
#include <mosquitto.h>
#include <stdlib.h>
#include <string.h>

#include "core/loop.h"
#include "core/sbuf.h"
#include "fleet/appconn.h"
#include "v3/v3.h"

void appconn_init(struct appconn *c, struct sim_loop *loop,
                  void (*cb)(struct ev_loop *, ev_io *, int), void *data)
{
  memset(c, 0, sizeof(*c));
  c->loop = loop;
  ev_io_init(&c->io, cb, -1, EV_READ);
  c->io.data = data;
}

int appconn_client_new(struct appconn *c, const char *cid, const char *prefix, const char *user,
                       const char *password, void *obj,
                       void (*on_connect)(struct mosquitto *, void *, int),
                       void (*on_message)(struct mosquitto *, void *,
                                          const struct mosquitto_message *))
{
  struct mosquitto *m = v3_mqtt_client_new(cid, true, obj);
  c->m = m;
  if (!m)
    return MOSQ_ERR_NOMEM;
  mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
  /* no Nagle: a QoS 2 command's PUBREL would otherwise wait for the delayed ACK (40 ms) */
  mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
  mosquitto_connect_callback_set(m, on_connect);
  mosquitto_message_callback_set(m, on_message);
  struct sbuf t = SBUF_INIT;
  sbuf_printf(&t, "%sclient/%s/active", prefix, cid);
  int rc = mosquitto_will_set(m, sbuf_str(&t), 1, "0", 1, false);
  sbuf_free(&t);
  if (*user) {
    int urc = mosquitto_username_pw_set(m, user, password);
    if (rc == MOSQ_ERR_SUCCESS)
      rc = urc;
  }
  return rc;
}

void appconn_update_io(struct appconn *c)
{
  struct ev_loop *ev = sim_loop_ev(c->loop);
  int fd = c->m ? mosquitto_socket(c->m) : -1;
  int events = EV_READ | (c->m && mosquitto_want_write(c->m) ? EV_WRITE : 0);
  if (c->io_on && (fd < 0 || c->io.fd != fd || (c->io.events & (EV_READ | EV_WRITE)) != events))
    appconn_stop_io(c);
  if (fd >= 0 && !c->io_on) {
    ev_io_set(&c->io, fd, events);
    ev_io_start(ev, &c->io);
    c->io_on = true;
  }
}

void appconn_stop_io(struct appconn *c)
{
  if (c->io_on)
    ev_io_stop(sim_loop_ev(c->loop), &c->io);
  c->io_on = false;
}

int appconn_io(struct appconn *c, int revents)
{
  int rc = MOSQ_ERR_SUCCESS;
  if (revents & EV_READ)
    rc = mosquitto_loop_read(c->m, 1);
  if (rc == MOSQ_ERR_SUCCESS && (revents & EV_WRITE))
    rc = mosquitto_loop_write(c->m, 1);
  return rc;
}

int appconn_publish(struct appconn *c, const char *prefix, const char *cid, const char *rest,
                    const char *payload, int qos, int *mid)
{
  struct sbuf t = SBUF_INIT;
  sbuf_printf(&t, "%sclient/%s/%s", prefix, cid, rest);
  int rc = mosquitto_publish(c->m, mid, sbuf_str(&t), (int)strlen(payload), payload, qos, false);
  sbuf_free(&t);
  return rc;
}

void appconn_subscribe(struct appconn *c, const char *prefix, const char *cid, int qos_connected)
{
  struct sbuf t = SBUF_INIT;
  sbuf_printf(&t, "%smetric/s/v3/connected", prefix);
  mosquitto_subscribe(c->m, NULL, sbuf_str(&t), qos_connected);
  sbuf_reset(&t);
  sbuf_printf(&t, "%sclient/%s/response/#", prefix, cid);
  mosquitto_subscribe(c->m, NULL, sbuf_str(&t), 2);
  sbuf_free(&t);
}

struct appconn_msg_info appconn_message(const struct mosquitto_message *msg, const char *prefix,
                                        const char *cid)
{
  struct appconn_msg_info info = {APPCONN_MSG_OTHER, false, -1};
  size_t pl = strlen(prefix);
  if (!msg->topic || strncmp(msg->topic, prefix, pl))
    return info;
  const char *rest = msg->topic + pl;
  if (!strcmp(rest, "metric/s/v3/connected")) {
    info.kind = APPCONN_MSG_CONNECTED;
    info.up = msg->payloadlen == 3 && !memcmp(msg->payload, "yes", 3);
    return info;
  }
  size_t cl = strlen(cid);
  if (strncmp(rest, "client/", 7) || strncmp(rest + 7, cid, cl) ||
      strncmp(rest + 7 + cl, "/response/", 10))
    return info;
  const char *num = rest + 7 + cl + 10;
  char *end;
  long v = strtol(num, &end, 10);
  info.kind = APPCONN_MSG_RESPONSE;
  info.n = end != num && !*end && v >= 0 ? v : -1;
  return info;
}
