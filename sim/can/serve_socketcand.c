/*
 * serve_socketcand.c - `--serve [N=]socketcand:[HOST:]PORT`: simulator bus N as channel "canN"
 * of a socketcand daemon (linux-can/socketcand doc/protocol.md; the bytes on the wire as its
 * src/state_raw.c writes them), so python-can's "socketcand" interface, Kayak and socketcandcl
 * connect to the simulator as to a Raspberry Pi with a CAN HAT.
 *
 * Per client: "< hi >" on connect; NO_BUS mode until "< open canN >" ("< ok >"), then BCM mode
 * (send, echo, subscribe/unsubscribe by id) or, after "< rawmode >", RAW mode (every frame on
 * the bus as "< frame ... >" except the client's own sends).  Malformed or unsupported commands
 * are answered with "< error REASON >" and the connection stays (socketcand itself only logs a
 * bad send); a message without '>' past SOCKETCAND_MAX_LINE bytes closes the client with a
 * logged reason.  Each client has a bounded output queue (net.h): a stalled client loses
 * frames (counted, --stats) and never slows the loop or the other clients.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "can/net.h"
#include "can/serve.h"
#include "can/socketcand.h"
#include "core/error.h"
#include "core/xalloc.h"

#define MAX_SUBS 32

enum mode { M_NOBUS, M_BCM, M_RAW };

struct scd_client {
  enum mode mode;
  size_t nsubs;
  struct { uint32_t id; bool ext; } subs[MAX_SUBS];
};

/* The server needs no state of its own: the connections' owner and the tap's context is the
 * struct can_serve; its channel is "canN" for bus N. */

static int scd_send_str(struct can_net_conn *c, const char *msg)
{
  return can_net_send(c, msg, strlen(msg));
}

static void scd_error(struct can_net_conn *c, const char *why)
{
  char buf[160];
  snprintf(buf, sizeof(buf), "< error %s >", why);
  c->stats->bad_input++;
  scd_send_str(c, buf);
}

static bool subscribed(const struct scd_client *cl, const struct sim_frame *f)
{
  bool ext = (f->flags & SIM_CAN_F_EXT) != 0;
  for (size_t i = 0; i < cl->nsubs; i++)
    if (cl->subs[i].id == f->id && cl->subs[i].ext == ext)
      return true;
  return false;
}

static void on_bus_frame(void *ctx, struct sim_canbus *bus, const struct sim_frame *f,
                         const void *origin)
{
  (void)bus;
  struct can_serve *s = ctx;
  char buf[SOCKETCAND_MAX_MSG];
  int n = -1;
  for (struct can_net_conn *c = can_net_server_conns(s->net); c; c = c->next) {
    struct scd_client *cl = c->user;
    if (c->dead || !cl || c == origin || cl->mode == M_NOBUS ||
        (cl->mode == M_BCM && !subscribed(cl, f)))
      continue;
    if (n < 0)
      n = socketcand_format_frame(f, can_serve_now_ns(s), buf, sizeof(buf));
    if (n <= 0)
      return;
    if (can_net_send(c, buf, (size_t)n) == 0)
      c->stats->frames_out++;
  }
}

static int scd_open(struct can_net_conn *c)
{
  c->user = xcalloc(1, sizeof(struct scd_client));
  return scd_send_str(c, "< hi >");
}

static void scd_close(struct can_net_conn *c)
{
  free(c->user);
}

static void subscribe(struct can_net_conn *c, struct scd_client *cl, const struct sim_frame *f,
                      bool on)
{
  bool ext = (f->flags & SIM_CAN_F_EXT) != 0;
  for (size_t i = 0; i < cl->nsubs; i++)
    if (cl->subs[i].id == f->id && cl->subs[i].ext == ext) {
      if (!on)
        cl->subs[i] = cl->subs[--cl->nsubs];
      return;
    }
  if (!on)
    return;
  if (cl->nsubs == MAX_SUBS) {
    scd_error(c, "too many subscriptions");
    return;
  }
  cl->subs[cl->nsubs].id = f->id;
  cl->subs[cl->nsubs].ext = ext;
  cl->nsubs++;
}

static void handle(struct can_net_conn *c, struct can_serve *s, const struct socketcand_msg *m)
{
  struct scd_client *cl = c->user;
  char why[128];
  if (cl->mode == M_NOBUS) {
    char chan[8];
    snprintf(chan, sizeof(chan), "can%u", s->bus);
    if (m->cmd != SCD_OPEN) {
      scd_error(c, "no bus open: send < open BUS > first");
    } else if (strcmp(m->arg, chan)) {
      snprintf(why, sizeof(why), "unknown bus %s (this server has %s)", m->arg, chan);
      scd_error(c, why);
    } else {
      cl->mode = M_BCM;
      scd_send_str(c, "< ok >");
    }
    return;
  }
  switch (m->cmd) {
  case SCD_RAWMODE:
    cl->mode = M_RAW;
    scd_send_str(c, "< ok >");
    /* on its own segment: python-can compares the whole of one read with "< ok >" */
    can_net_flush(c);
    break;
  case SCD_BCMMODE:
    cl->mode = M_BCM;
    scd_send_str(c, "< ok >");
    break;
  case SCD_ECHO:
    scd_send_str(c, "< echo >");
    break;
  case SCD_SEND:
    c->stats->frames_in++;
    can_tap_inject(&s->taps[s->bus - 1], &m->frame, c);
    break;
  case SCD_SUBSCRIBE:
  case SCD_UNSUBSCRIBE:
    if (cl->mode != M_BCM)
      scd_error(c, "subscribe and unsubscribe are BCM mode commands");
    else
      subscribe(c, cl, &m->frame, m->cmd == SCD_SUBSCRIBE);
    break;
  case SCD_OPEN:
    scd_error(c, "a bus is already open");
    break;
  case SCD_CONTROLMODE:
  case SCD_ISOTPMODE:
  case SCD_UNSUPPORTED:
    snprintf(why, sizeof(why), "%s is not supported by ovms-sim",
             m->cmd == SCD_CONTROLMODE ? "controlmode"
             : m->cmd == SCD_ISOTPMODE ? "isotpmode"
                                       : m->arg);
    scd_error(c, why);
    break;
  default:
    scd_error(c, "unexpected message from a client");
    break;
  }
}

static size_t scd_data(struct can_net_conn *c, const uint8_t *p, size_t n)
{
  struct socketcand_msg m;
  size_t used;
  int rc = socketcand_take(p, n, &used, &m);
  if (rc < 0)
    scd_error(c, m.arg);
  else if (rc > 0)
    handle(c, c->owner, &m);
  return used;
}

static const struct can_net_proto scd_proto = {
  .name = "socketcand",
  .max_pending = SOCKETCAND_MAX_LINE,
  .on_open = scd_open, .on_close = scd_close,
  .on_data = scd_data,
};

static int scd_start(struct can_serve *s, struct sim_diag *d)
{
  int rc = can_serve_listen(s, &scd_proto, s, d);
  if (rc == 0)
    rc = can_serve_tap(s, s->bus, on_bus_frame, s, d);
  return rc;
}

const struct can_serve_ops can_serve_socketcand = {
  .name = "socketcand",
  .per_bus = true,
  .open = can_serve_parse_addr,
  .start = scd_start,
};
