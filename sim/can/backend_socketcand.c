/*
 * backend_socketcand.c - a remote socketcand daemon's bus as a simulator bus:
 * "socketcand:HOST:PORT/CHANNEL" (`--can 2=socketcand:raspberrypi:29536/can0`).
 *
 * The client speaks the protocol of socketcand.h: waits for "< hi >", sends "< open CHANNEL >"
 * and "< rawmode >" (each answered "< ok >"), then delivers every "< frame ... >" and sends
 * frames as "< send ... >".  The connection is kept up by net.h (non-blocking connect,
 * reconnect after 0.1 s doubling up to 5 s); while it is down, sends fail with -ENOTCONN and
 * are counted as lost (stats.tx_err, and reported through the error callback once per
 * outage).  An "< error ... >" from the daemon counts as rx_err.  Frames are stamped with the
 * simulation clock, not the daemon's time.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "can/backend_net.h"
#include "can/bus.h"
#include "can/net.h"
#include "can/socketcand.h"
#include "core/error.h"
#include "core/loop.h"
#include "core/xalloc.h"

enum phase { P_HI, P_OPEN, P_RAW, P_UP };

struct scdc_priv {
  struct can_backend_net net; /* first: backend_net.h */
  char chan[SOCKETCAND_MAX_BUSNAME + 1];
  enum phase phase;
  bool reported_down;
};

static void scdc_fail(struct scdc_priv *p, struct can_net_conn *c, const char *why)
{
  can_bus_report_error(p->net.bus, -EPROTO, why);
  can_net_close(c, false, why);
}

static void handle(struct scdc_priv *p, struct can_net_conn *c, const struct socketcand_msg *m)
{
  char buf[64];
  switch (p->phase) {
  case P_HI:
    if (m->cmd != SCD_HI)
      return scdc_fail(p, c, "expected < hi > from the daemon");
    snprintf(buf, sizeof(buf), "< open %s >", p->chan);
    can_net_send(c, buf, strlen(buf));
    p->phase = P_OPEN;
    return;
  case P_OPEN:
    if (m->cmd != SCD_OK)
      return scdc_fail(p, c, "the daemon refused < open >");
    can_net_send(c, "< rawmode >", 11);
    p->phase = P_RAW;
    return;
  case P_RAW:
    if (m->cmd != SCD_OK)
      return scdc_fail(p, c, "the daemon refused < rawmode >");
    p->phase = P_UP;
    p->reported_down = false;
    return;
  case P_UP:
    if (m->cmd == SCD_FRAME) {
      struct sim_frame f = m->frame;
      f.ts = sim_now(p->net.bus->loop);
      can_bus_deliver(p->net.bus, &f);
    } else if (m->cmd == SCD_ERROR) {
      p->net.bus->stats.rx_err++;
    }
    return;
  }
}

static int scdc_on_open(struct can_net_conn *c)
{
  struct scdc_priv *p = c->owner;
  p->phase = P_HI;
  return 0;
}

static size_t scdc_on_data(struct can_net_conn *c, const uint8_t *data, size_t n)
{
  struct scdc_priv *p = c->owner;
  struct socketcand_msg m;
  size_t used;
  int rc = socketcand_take(data, n, &used, &m);
  if (rc < 0)
    p->net.bus->stats.rx_err++;
  else if (rc > 0)
    handle(p, c, &m);
  return used;
}

static void scdc_on_close(struct can_net_conn *c)
{
  struct scdc_priv *p = c->owner;
  if (p->phase == P_UP && !p->reported_down) {
    p->reported_down = true;
    can_bus_report_error(p->net.bus, -ECONNRESET, "socketcand: connection lost; reconnecting");
  }
  p->phase = P_HI;
}

static const struct can_net_proto scdc_proto = {
  .name = "socketcand",
  .max_pending = SOCKETCAND_MAX_LINE,
  .on_open = scdc_on_open, .on_close = scdc_on_close,
  .on_data = scdc_on_data,
};

static int scdc_open(struct sim_canbus *bus, const char *arg, struct sim_diag *d)
{
  const char *slash = strrchr(arg, '/');
  if (!slash || !slash[1] || strlen(slash + 1) > SOCKETCAND_MAX_BUSNAME) {
    sim_diag_error(d, NULL, 0, 0,
                   "socketcand: expected HOST:PORT/CHANNEL (e.g. socketcand:pi:29536/can0), "
                   "got '%s'", arg);
    return SIM_ECONFIG;
  }
  struct scdc_priv *p = xcalloc(1, sizeof(*p));
  snprintf(p->chan, sizeof(p->chan), "%s", slash + 1);
  char *hp = xstrndup(arg, (size_t)(slash - arg));
  int rc = can_backend_net_parse(&p->net, hp, "socketcand: HOST and PORT are both needed", arg, d);
  free(hp);
  return can_backend_net_open(bus, &p->net, &scdc_proto, rc);
}

static int scdc_send(struct sim_canbus *bus, const struct sim_frame *f)
{
  struct scdc_priv *p = bus->priv;
  struct can_net_conn *c = can_backend_net_conn(bus);
  if (!c || p->phase != P_UP)
    return -ENOTCONN;
  char buf[SOCKETCAND_MAX_MSG];
  int n = socketcand_format_send(f, buf, sizeof(buf));
  if (n < 0)
    return n;
  return can_net_send(c, buf, (size_t)n);
}

const struct sim_canbus_ops can_backend_socketcand = {
  .name = "socketcand",
  .open = scdc_open, .close = can_backend_net_close,
  .start = can_backend_net_start, .stop = can_backend_net_stop,
  .send = scdc_send,
};
