/*
 * serve_gvret.c - `--serve gvret:[HOST:]PORT`: every simulator bus in the GVRET binary protocol
 * (gvret.h), the way an OVMS module serves `can log start tcpserver transmit gvret-b :23`, so
 * SavvyCAN's "Network" GVRET connection (and anything else speaking GVRET over TCP) sees the
 * simulation.  Simulator bus N is GVRET bus N-1 (the module's can1 is bus 0).
 *
 * Per client: the bus parameters are sent unasked right after connect (the firmware's
 * getheader() kludge for SavvyCAN reconnects); every frame on every bus is sent as F1 00
 * (F1 14 for CAN FD) with the simulation's microsecond clock; commands get the answers of
 * gvret_encode_reply(); a frame the client sends is put on its bus (never echoed to it).  A
 * frame for a bus that does not exist, or with a bad length, counts as bad input.
 */

#include "can/gvret.h"
#include "can/net.h"
#include "can/serve.h"
#include "core/error.h"
#include "core/loop.h"

/* The server needs no state of its own: the connections' owner and the taps' context is the
 * struct can_serve. */

static struct gvret_device device_of(const struct can_serve *s)
{
  struct gvret_device d = {.build = 618};
  for (int b = 0; b < SIM_MAX_BUSES; b++)
    if (s->buses[b]) {
      d.nbuses = (uint8_t)(b + 1);
      if (b < 3) {
        d.enabled[b] = true;
        d.speed[b] = 500000;
      }
    }
  d.time_us = (uint32_t)(sim_monotonic(s->loop) / 1000);
  return d;
}

static void on_bus_frame(void *ctx, struct sim_canbus *bus, const struct sim_frame *f,
                         const void *origin)
{
  struct can_serve *s = ctx;
  uint8_t buf[GVRET_MAX_MSG];
  size_t n = gvret_encode_device_frame(f, (uint8_t)(bus->num - 1),
                                       (uint32_t)(sim_monotonic(s->loop) / 1000), buf);
  if (!n)
    return;
  for (struct can_net_conn *c = can_net_server_conns(s->net); c; c = c->next)
    if (!c->dead && c != origin && can_net_send(c, buf, n) == 0)
      c->stats->frames_out++;
}

static int gv_open(struct can_net_conn *c)
{
  struct gvret_device d = device_of(c->owner);
  uint8_t buf[32];
  size_t n = gvret_encode_reply(GVRET_GET_CANBUS_PARAMS, &d, buf);
  return can_net_send(c, buf, n);
}

/* Acts on one message ev from client c of s. */
static void handle(struct can_net_conn *c, struct can_serve *s, const struct gvret_event *ev)
{
  switch (ev->kind) {
  case GVRET_EV_FRAME:
    if (ev->bus >= SIM_MAX_BUSES || !s->buses[ev->bus]) {
      c->stats->bad_input++;
      break;
    }
    c->stats->frames_in++;
    can_tap_inject(&s->taps[ev->bus], &ev->frame, c);
    break;
  case GVRET_EV_COMMAND: {
    struct gvret_device d = device_of(s);
    uint8_t buf[32];
    size_t r = gvret_encode_reply(ev->cmd, &d, buf);
    if (r)
      can_net_send(c, buf, r);
    break;
  }
  case GVRET_EV_UNKNOWN:
  case GVRET_EV_BAD:
    c->stats->bad_input++;
    break;
  default:
    break;
  }
}

static size_t gv_data(struct can_net_conn *c, const uint8_t *p, size_t n)
{
  struct gvret_event ev;
  size_t k = gvret_decode_host(p, n, &ev);
  if (k)
    handle(c, c->owner, &ev);
  return k;
}

static const struct can_net_proto gv_proto = {
  .name = "gvret",
  .max_pending = 4096,
  .on_open = gv_open,
  .on_data = gv_data,
};

static int gv_start(struct can_serve *s, struct sim_diag *d)
{
  for (uint8_t b = 0; b < SIM_MAX_BUSES; b++)
    if (s->buses[b] && can_serve_tap(s, (uint8_t)(b + 1), on_bus_frame, s, d))
      return SIM_ELIMIT;
  return can_serve_listen(s, &gv_proto, s, d);
}

const struct can_serve_ops can_serve_gvret = {
  .name = "gvret",
  .per_bus = false,
  .open = can_serve_parse_addr,
  .start = gv_start,
};
