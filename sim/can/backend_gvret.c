/*
 * backend_gvret.c - a GVRET server's bus as a simulator bus: "gvret:HOST:PORT[/B]"
 * (`--can 1=gvret:ovms.local:23` reads an OVMS module serving `can log start tcpserver
 * transmit gvret-b :23`; ESP32RET and WiCAN listen on 23 too).  B is the remote bus, 1-based
 * (1 = GVRET bus 0 = the module's can1, the default).
 *
 * On connect the client sends what SavvyCAN's GVRetSerial::deviceConnected sends (E7 E7, then
 * number of buses, bus parameters, device info, time sync, keep-alive) and from then on
 * delivers the frames of bus B.  Both extended-id conventions are read (gvret.h: bit 31, and
 * the firmware's bit 27 / value above 11 bits).  Frames sent on the bus go out as SavvyCAN
 * sends them (bit 31); note that the firmware's put() tests bit 27, so it takes a 29-bit id
 * whose bit 27 is clear as an 11-bit one - a limit of the module, not of this client.  While
 * disconnected, sends fail with -ENOTCONN (counted in stats.tx_err); the connection comes
 * back with back-off (net.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "can/backend_net.h"
#include "can/bus.h"
#include "can/gvret.h"
#include "can/net.h"
#include "core/error.h"
#include "core/loop.h"
#include "core/xalloc.h"

struct gvc_priv {
  struct can_backend_net net; /* first: backend_net.h */
  uint8_t rbus; /* remote bus, 0-based */
  bool up;
};

static int gvc_on_open(struct can_net_conn *c)
{
  struct gvc_priv *p = c->owner;
  static const uint8_t hello[] = {GVRET_BINARY, GVRET_BINARY, 0xF1, GVRET_GET_NUM_BUSES,
                                  0xF1, GVRET_GET_CANBUS_PARAMS, 0xF1, GVRET_GET_DEVICE_INFO,
                                  0xF1, GVRET_TIME_SYNC, 0xF1, GVRET_KEEP_ALIVE};
  p->up = true;
  return can_net_send(c, hello, sizeof(hello));
}

static size_t gvc_on_data(struct can_net_conn *c, const uint8_t *data, size_t n)
{
  struct gvc_priv *p = c->owner;
  struct gvret_event ev;
  size_t k = gvret_decode_device(data, n, &ev);
  if (!k)
    return 0;
  if (ev.kind == GVRET_EV_FRAME && ev.bus == p->rbus) {
    ev.frame.ts = sim_now(p->net.bus->loop);
    can_bus_deliver(p->net.bus, &ev.frame);
  } else if (ev.kind == GVRET_EV_BAD || ev.kind == GVRET_EV_UNKNOWN) {
    p->net.bus->stats.rx_err++;
  }
  return k;
}

static void gvc_on_close(struct can_net_conn *c)
{
  struct gvc_priv *p = c->owner;
  if (p->up)
    can_bus_report_error(p->net.bus, -ECONNRESET, "gvret: connection lost; reconnecting");
  p->up = false;
}

static const struct can_net_proto gvc_proto = {
  .name = "gvret",
  .max_pending = 4096,
  .on_open = gvc_on_open, .on_close = gvc_on_close,
  .on_data = gvc_on_data,
};

static int gvc_open(struct sim_canbus *bus, const char *arg, struct sim_diag *d)
{
  struct gvc_priv *p = xcalloc(1, sizeof(*p));
  char *hp = xstrdup(arg);
  char *slash = strrchr(hp, '/');
  int rc = 0;
  if (slash) {
    char *end;
    long b = strtol(slash + 1, &end, 10);
    if (end == slash + 1 || *end || b < 1 || b > 15) {
      sim_diag_error(d, NULL, 0, 0, "gvret: remote bus must be 1..15 in '%s'", arg);
      rc = SIM_ECONFIG;
    }
    p->rbus = (uint8_t)(b - 1);
    *slash = 0;
  }
  if (rc == 0)
    rc = can_backend_net_parse(&p->net, hp, "gvret: expected HOST:PORT[/BUS]", arg, d);
  free(hp);
  return can_backend_net_open(bus, &p->net, &gvc_proto, rc);
}

static int gvc_send(struct sim_canbus *bus, const struct sim_frame *f)
{
  struct gvc_priv *p = bus->priv;
  struct can_net_conn *c = can_backend_net_conn(bus);
  if (!c)
    return -ENOTCONN;
  uint8_t buf[GVRET_MAX_MSG];
  size_t n = gvret_encode_host_frame(f, p->rbus, buf);
  if (!n)
    return SIM_EUNSUP;
  return can_net_send(c, buf, n);
}

const struct sim_canbus_ops can_backend_gvret = {
  .name = "gvret",
  .open = gvc_open, .close = can_backend_net_close,
  .start = can_backend_net_start, .stop = can_backend_net_stop,
  .send = gvc_send,
};
