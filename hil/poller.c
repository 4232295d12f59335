/*
 * poller.c - the simulator's diagnostic poller (hil/poller.h): the firmware's poll list
 * scheduling per bus in transmit mode, passive reassembly of someone else's polls in listen
 * mode, and one reply decoder for both.
 */
#include "hil/poller.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "can/bus.h"
#include "core/error.h"
#include "core/sbuf.h"
#include "core/xalloc.h"
#include "hil/isotp.h"
#include "model/sim.h"
#include "vehicle/vehicle.h"

#define TICK_NS SIM_NS_PER_SEC  /* the firmware's primary poll tick: Ticker1 */
#define TICKER_WRAP 3600        /* PollerNextTick */
#define POLL_WAIT_TICKS 2       /* PollerISOTPStart: m_poll_wait = 2 */
#define FC_STMIN 25             /* m_poll_fc_septime default */
#define REQUEST_PAD 0x55        /* PollerISOTPStart: std::fill_n(..., 0x55) */
#define BROADCAST_REPLY 0x7E8   /* the first of 0x7E8..0x7EF */
#define MAX_LISTEN 32

struct pbus {
  struct hil_poller *p;
  uint8_t num;                   /* 1-based */
  struct sim_canbus *bus;        /* borrowed */
  int cursor;                    /* -1: list restarts; else the entry sent last; n: at end */
  unsigned ticker;
  int state;
  int wait;                      /* ticks left for the reply to cur */
  const struct vehicle_poll *cur; /* awaiting a reply, or NULL */
  struct isotp_link link;
  bool link_on;
};

struct plisten {
  struct hil_poller *p;
  uint8_t bus;
  struct isotp_link link;
};

struct hil_poller {
  struct sim *sim;
  bool transmit;
  struct pbus pb[SIM_MAX_BUSES];
  uint8_t used;                  /* bit n-1: bus n has entries and exists */
  uint8_t monitored;
  struct plisten *listen;
  size_t nlisten;
  struct sim_timer tick;
  struct hil_poller_stats stats;
};

static uint32_t reply_id(const struct vehicle_poll *e)
{
  return e->txid == VEHICLE_POLL_BROADCAST || !e->rxid ? BROADCAST_REPLY : e->rxid;
}

/* True when msg is e's positive reply; *off = where the payload starts. */
static bool reply_of(const struct vehicle_poll *e, const uint8_t *msg, size_t len, size_t *off)
{
  int pl = vehicle_poll_pid_len(e->type);
  if (len < (size_t)(1 + pl) || msg[0] != (uint8_t)(e->type + 0x40))
    return false;
  uint16_t pid = pl == 2 ? (uint16_t)(msg[1] << 8 | msg[2]) : pl == 1 ? msg[1] : e->pid;
  if (pid != e->pid)
    return false;
  *off = (size_t)(1 + pl);
  return true;
}

static void decode(struct hil_poller *p, const struct vehicle_poll *e, const uint8_t *msg,
                   size_t len, size_t off)
{
  struct vehicle *v = p->sim->vehicle;
  if (!e->decode)
    return;
  e->decode(v, e, msg + off, len - off);
  p->stats.replies++;
  v->stats.decoded++;
}

/* ---- transmit: the firmware's schedule ----------------------------------------------- */

static int tx_send(void *ctx, const struct sim_frame *f)
{
  struct pbus *b = ctx;
  return can_bus_send(b->bus, f);
}

static void finish(struct pbus *b)
{
  b->wait = 0;
  b->cur = NULL;
}

static void tx_received(void *ctx, struct isotp_link *l, const uint8_t *msg, size_t len,
                        bool functional)
{
  struct pbus *b = ctx;
  struct hil_poller *p = b->p;
  const struct vehicle_poll *e = b->cur;
  size_t off;
  (void)l;
  (void)functional;
  if (!e) {
    p->stats.ignored++; /* a late reply: PollerISOTPReceive drops expired responses */
  } else if (len >= 3 && msg[0] == 0x7F && msg[1] == e->type) {
    if (msg[2] == 0x78) { /* response pending: wait one more tick */
      p->stats.pending++;
      b->wait++;
    } else {
      p->stats.negatives++;
      finish(b);
    }
  } else if (reply_of(e, msg, len, &off)) {
    decode(p, e, msg, len, off);
    finish(b);
  } else {
    p->stats.ignored++;
  }
}

static void tx_sent(void *ctx, struct isotp_link *l, int status)
{
  struct pbus *b = ctx;
  (void)l;
  if (status != 0 && b->cur) { /* Outgoing(): a failed request ends the wait */
    b->p->stats.rx_errors++;
    finish(b);
  }
}

static void link_rx_error(void *ctx, struct isotp_link *l, int err)
{
  (void)l;
  (void)err;
  struct hil_poller **pp = ctx; /* struct pbus and struct plisten start with the poller */
  (*pp)->stats.rx_errors++;
}

static const struct isotp_ops tx_ops = {tx_send, tx_received, tx_sent, link_rx_error};

static void next_tick(struct pbus *b)
{
  b->cursor = -1;
  if (++b->ticker > TICKER_WRAP)
    b->ticker -= TICKER_WRAP;
}

/* NextPollEntry: the next entry due on b after the cursor, or NULL (the cursor at the end). */
static const struct vehicle_poll *next_entry(struct pbus *b)
{
  struct vehicle *v = b->p->sim->vehicle;
  int n = (int)v->n_polls;
  int c = b->cursor < 0 ? 0 : b->cursor >= n ? n : b->cursor + 1;
  for (; c < n; c++) {
    const struct vehicle_poll *e = &v->polls[c];
    unsigned iv = e->interval[b->state];
    if (e->bus == b->num && iv > 0 && b->ticker % iv == 0) {
      b->cursor = c;
      return e;
    }
  }
  b->cursor = n;
  return NULL;
}

static void start_request(struct pbus *b, const struct vehicle_poll *e)
{
  struct hil_poller *p = b->p;
  uint32_t tx = e->txid, rx = reply_id(e);
  if (!b->link_on || b->link.cfg.tx_id != tx || b->link.cfg.rx_id != rx) {
    if (b->link_on)
      isotp_link_cleanup(&b->link);
    struct isotp_config c;
    isotp_config_default(&c, tx, rx);
    c.pad = REQUEST_PAD;
    c.fc_pad = 0x00; /* PollerISOTPReceive: memset(&txframe, 0, ...) */
    c.bs = 0;
    c.stmin = FC_STMIN;
    b->link_on = isotp_link_init(&b->link, p->sim->loop, &c, &tx_ops, b) == 0;
    if (!b->link_on)
      return;
  }
  uint8_t req[3] = {e->type};
  int pl = vehicle_poll_pid_len(e->type);
  if (pl == 2) {
    req[1] = (uint8_t)(e->pid >> 8);
    req[2] = (uint8_t)e->pid;
  } else if (pl == 1) {
    req[1] = (uint8_t)e->pid;
  }
  isotp_link_abort(&b->link);
  b->cur = e;
  b->wait = POLL_WAIT_TICKS;
  p->stats.requests++;
  if (isotp_link_send(&b->link, req, (size_t)(1 + pl)) != 0 && b->cur) {
    p->stats.rx_errors++;
    finish(b);
  }
}

/* PollerSend(Primary) on one bus. */
static void poll_bus(struct pbus *b)
{
  struct vehicle *v = b->p->sim->vehicle;
  int state = vehicle_poll_state(v);
  if (state < 0 || state >= VEHICLE_POLL_NSTATES)
    state = 0;
  if (state != b->state) { /* Do_PollSetState */
    b->state = state;
    b->ticker = 0;
    b->cursor = -1;
    finish(b);
  }
  if (b->cursor >= (int)v->n_polls)
    next_tick(b);
  if (b->wait > 0 && --b->wait == 0 && b->cur) {
    b->p->stats.timeouts++;
    b->cur = NULL;
  }
  if (b->wait > 0)
    return;
  const struct vehicle_poll *e = next_entry(b);
  if (!e)
    next_tick(b);
  else
    start_request(b, e);
}

static void on_tick(struct sim_loop *loop, struct sim_timer *t)
{
  struct hil_poller *p = t->data;
  (void)loop;
  for (int i = 0; i < SIM_MAX_BUSES; i++)
    if (p->used & (1u << i))
      poll_bus(&p->pb[i]);
}

/* ---- listen: someone else's polls -------------------------------------------------------- */

static void listen_received(void *ctx, struct isotp_link *l, const uint8_t *msg, size_t len,
                            bool functional)
{
  struct plisten *pl = ctx;
  struct hil_poller *p = pl->p;
  struct vehicle *v = p->sim->vehicle;
  (void)functional;
  if (len >= 3 && msg[0] == 0x7F) {
    p->stats.negatives += msg[2] != 0x78;
    p->stats.pending += msg[2] == 0x78;
    return;
  }
  for (size_t i = 0; i < v->n_polls; i++) {
    const struct vehicle_poll *e = &v->polls[i];
    size_t off;
    if (e->bus == pl->bus && reply_id(e) == l->cfg.rx_id && reply_of(e, msg, len, &off)) {
      decode(p, e, msg, len, off);
      return;
    }
  }
  p->stats.ignored++;
}

static const struct isotp_ops listen_ops = {tx_send, listen_received, NULL, link_rx_error};

static void add_listener(struct hil_poller *p, const struct vehicle_poll *e)
{
  uint32_t rx = reply_id(e);
  for (size_t i = 0; i < p->nlisten; i++)
    if (p->listen[i].bus == e->bus && p->listen[i].link.cfg.rx_id == rx)
      return;
  if (p->nlisten >= MAX_LISTEN)
    return;
  struct plisten *pl = &p->listen[p->nlisten];
  struct isotp_config c;
  isotp_config_default(&c, e->txid, rx);
  c.listen_only = true;
  pl->p = p;
  pl->bus = e->bus;
  if (isotp_link_init(&pl->link, p->sim->loop, &c, &listen_ops, pl) == 0)
    p->nlisten++;
}

/* ---- the set ----------------------------------------------------------------------------- */

static void on_frame(void *ctx, struct sim_canbus *bus, const struct sim_frame *f)
{
  struct hil_poller *p = ctx;
  if (f->flags & SIM_CAN_F_TX)
    return;
  if (p->transmit) {
    struct pbus *b = &p->pb[bus->num - 1];
    if (b->link_on && b->bus == bus)
      isotp_link_input(&b->link, f);
    return;
  }
  for (size_t i = 0; i < p->nlisten; i++)
    if (p->listen[i].bus == bus->num && isotp_link_input(&p->listen[i].link, f))
      return;
}

int hil_poller_new(struct hil_poller **out, struct sim *sim, const struct hil_poller_opts *o)
{
  struct hil_poller *p = xcalloc(1, sizeof *p);
  p->sim = sim;
  p->transmit = o->transmit;
  p->listen = xcalloc(MAX_LISTEN, sizeof *p->listen);
  sim_timer_init(&p->tick, on_tick, p);
  struct vehicle *v = sim->vehicle;
  for (size_t i = 0; v && i < v->n_polls; i++) {
    const struct vehicle_poll *e = &v->polls[i];
    if (e->bus < 1 || e->bus > SIM_MAX_BUSES || !sim->buses[e->bus - 1])
      continue;
    struct pbus *b = &p->pb[e->bus - 1];
    if (!(p->used & (1u << (e->bus - 1)))) {
      b->p = p;
      b->num = e->bus;
      b->bus = sim->buses[e->bus - 1];
      b->cursor = -1;
      b->state = -1; /* the first tick sets it */
      p->used = (uint8_t)(p->used | (1u << (e->bus - 1)));
    }
    if (!o->transmit)
      add_listener(p, e);
  }
  for (int i = 0; i < SIM_MAX_BUSES; i++) {
    if (!(p->used & (1u << i)))
      continue;
    if (can_bus_add_monitor(sim->buses[i], on_frame, p) < 0) {
      hil_poller_free(p);
      return SIM_ELIMIT;
    }
    p->monitored = (uint8_t)(p->monitored | (1u << i));
  }
  if (o->transmit && p->used)
    sim_timer_start(sim->loop, &p->tick, TICK_NS, TICK_NS);
  *out = p;
  return 0;
}

void hil_poller_free(struct hil_poller *p)
{
  if (!p)
    return;
  sim_timer_stop(p->sim->loop, &p->tick);
  for (int i = 0; i < SIM_MAX_BUSES; i++) {
    if ((p->monitored & (1u << i)) && p->sim->buses[i])
      can_bus_remove_monitor(p->sim->buses[i], on_frame, p);
    if (p->pb[i].link_on)
      isotp_link_cleanup(&p->pb[i].link);
  }
  for (size_t i = 0; i < p->nlisten; i++)
    isotp_link_cleanup(&p->listen[i].link);
  free(p->listen);
  free(p);
}

const struct hil_poller_stats *hil_poller_stats(const struct hil_poller *p)
{
  return &p->stats;
}

void hil_poller_report(const struct hil_poller *p, struct sbuf *b)
{
  const struct hil_poller_stats *s = &p->stats;
  sbuf_printf(b, "poller (%s): %lu requests, %lu replies decoded, %lu negative, %lu pending, "
                 "%lu timeouts, %lu ignored, %lu receive errors\n",
              p->transmit ? "polling" : "listening", s->requests, s->replies, s->negatives,
              s->pending, s->timeouts, s->ignored, s->rx_errors);
}
