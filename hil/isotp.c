/*
 * isotp.c - the ISO-TP engine (ISO 15765-2) of hil/isotp.h: frame building and parsing, the
 * transmit state machine (FF -> wait FC -> blocks of CFs spaced by STmin) and the receive state
 * machine (FF -> FC -> CFs with sequence check, N_Cr), on sim_timers of the simulation clock.
 *
 * Re-entrancy: an in-memory bus delivers synchronously, so the peer's answer to a frame can
 * arrive while ops->send() is still running.  The transmit state is therefore set before every
 * send, and the consecutive frames after a flow control frame leave from the timer (due at
 * once), never from inside isotp_link_input(); a complete message is handed out from a copy so
 * that the owner may receive the next one while handling it.
 */
#include "hil/isotp.h"

#include <errno.h>
#include <string.h>

#include "core/error.h"

/* Pacing of the FC WAIT frames a receiver sends when cfg.fc_waits > 0. */
#define WAIT_PACE_NS (100 * SIM_NS_PER_MS)

enum tx_state { TX_IDLE, TX_WAIT_FC, TX_CF, TX_RETRY };
enum { AFTER_DONE, AFTER_WAIT_FC, AFTER_CF };

/* ---- pure helpers ---------------------------------------------------------------------- */

void isotp_config_default(struct isotp_config *c, uint32_t tx_id, uint32_t rx_id)
{
  memset(c, 0, sizeof *c);
  c->tx_id = tx_id;
  c->rx_id = rx_id;
  c->rx_func_id = ISOTP_NO_ID;
  c->addressing = ISOTP_NORMAL;
  c->pad = 0x55;
  c->fc_pad = -1;
  c->wft_max = 8;
  c->rx_max = ISOTP_MAX_LEN;
  c->n_bs_ns = ISOTP_DEFAULT_TIMEOUT_NS;
  c->n_cr_ns = ISOTP_DEFAULT_TIMEOUT_NS;
}

uint32_t isotp_fixed_id(uint8_t ta, uint8_t sa, bool functional)
{
  return (functional ? 0x18DB0000u : 0x18DA0000u) | (uint32_t)ta << 8 | sa;
}

int64_t isotp_stmin_ns(uint8_t stmin)
{
  if (stmin <= 0x7F)
    return stmin * SIM_NS_PER_MS;
  if (stmin >= 0xF1 && stmin <= 0xF9)
    return (int64_t)(stmin - 0xF0) * 100000;
  return 127 * SIM_NS_PER_MS;
}

uint8_t isotp_stmin_byte(int64_t ns)
{
  if (ns <= 0)
    return 0;
  if (ns < SIM_NS_PER_MS)
    return (uint8_t)(0xF0 + (ns + 99999) / 100000);
  int64_t ms = (ns + SIM_NS_PER_MS - 1) / SIM_NS_PER_MS;
  return (uint8_t)(ms > 127 ? 127 : ms);
}

/* Where the PCI byte goes, and the room for PCI + data. */
static size_t hdr_len(const struct isotp_config *c)
{
  return c->addressing == ISOTP_EXTENDED ? 1 : 0;
}

/* Starts a frame for cfg: id, flags, address byte.  Returns a pointer to the PCI byte. */
static uint8_t *frame_begin(const struct isotp_config *c, struct sim_frame *f)
{
  memset(f, 0, sizeof *f);
  f->id = c->tx_id;
  f->flags = c->ext_id ? SIM_CAN_F_EXT : 0;
  if (c->addressing == ISOTP_EXTENDED)
    f->data[0] = c->tx_addr;
  return f->data + hdr_len(c);
}

/* Ends a frame whose content is `used` bytes (address byte included): pads or trims. */
static void frame_end(struct sim_frame *f, size_t used, int pad)
{
  if (pad >= 0) {
    memset(f->data + used, pad, 8 - used);
    f->len = 8;
  } else {
    f->len = (uint8_t)used;
  }
}

int isotp_encode_fc(const struct isotp_config *cfg, struct sim_frame *f, uint8_t status,
                    uint8_t bs, uint8_t stmin)
{
  uint8_t *p = frame_begin(cfg, f);
  p[0] = (uint8_t)(ISOTP_FC << 4 | (status & 0x0F));
  p[1] = bs;
  p[2] = stmin;
  frame_end(f, hdr_len(cfg) + 3, cfg->fc_pad >= 0 ? cfg->fc_pad : cfg->pad);
  return 0;
}

/* ---- life cycle ------------------------------------------------------------------------ */

static void tx_timer_cb(struct sim_loop *loop, struct sim_timer *t);
static void rx_timer_cb(struct sim_loop *loop, struct sim_timer *t);

static bool id_ok(uint32_t id, bool ext)
{
  return id == ISOTP_NO_ID || id <= (ext ? SIM_CAN_EFF_MASK : SIM_CAN_SFF_MASK);
}

int isotp_link_init(struct isotp_link *l, struct sim_loop *loop, const struct isotp_config *cfg,
                    const struct isotp_ops *ops, void *ctx)
{
  if (!ops || !ops->send || !id_ok(cfg->tx_id, cfg->ext_id) || cfg->tx_id == ISOTP_NO_ID ||
      !id_ok(cfg->rx_id, cfg->ext_id) || !id_ok(cfg->rx_func_id, cfg->ext_id) ||
      cfg->rx_max > ISOTP_MAX_LEN || cfg->pad > 255 || cfg->fc_pad > 255)
    return SIM_ECONFIG;
  memset(l, 0, sizeof *l);
  l->cfg = *cfg;
  if (!l->cfg.rx_max)
    l->cfg.rx_max = ISOTP_MAX_LEN;
  if (!l->cfg.n_bs_ns)
    l->cfg.n_bs_ns = ISOTP_DEFAULT_TIMEOUT_NS;
  if (!l->cfg.n_cr_ns)
    l->cfg.n_cr_ns = ISOTP_DEFAULT_TIMEOUT_NS;
  l->loop = loop;
  l->ops = ops;
  l->ctx = ctx;
  sim_timer_init(&l->tx_timer, tx_timer_cb, l);
  sim_timer_init(&l->rx_timer, rx_timer_cb, l);
  return 0;
}

void isotp_link_cleanup(struct isotp_link *l)
{
  if (!l->loop)
    return;
  sim_timer_stop(l->loop, &l->tx_timer);
  sim_timer_stop(l->loop, &l->rx_timer);
  l->tx_state = TX_IDLE;
  l->rx_active = false;
}

bool isotp_link_busy(const struct isotp_link *l)
{
  return l->tx_state != TX_IDLE;
}

/* ---- transmit -------------------------------------------------------------------------- */

static void tx_finish(struct isotp_link *l, int status)
{
  sim_timer_stop(l->loop, &l->tx_timer);
  l->tx_state = TX_IDLE;
  if (status == 0)
    l->stats.tx_msgs++;
  if (l->ops->sent)
    l->ops->sent(l->ctx, l, status);
}

/* Sets the state that follows a frame and starts its timer (before the frame is sent: the
 * answer may arrive during the send). */
static void tx_arm(struct isotp_link *l, int after)
{
  switch (after) {
  case AFTER_DONE:
    sim_timer_stop(l->loop, &l->tx_timer);
    l->tx_state = TX_IDLE;
    break;
  case AFTER_WAIT_FC:
    l->tx_state = TX_WAIT_FC;
    l->tx_block = 0;
    sim_timer_start(l->loop, &l->tx_timer, l->cfg.n_bs_ns, 0);
    break;
  default:
    l->tx_state = TX_CF;
    sim_timer_start_at(l->loop, &l->tx_timer, l->tx_last_cf + l->tx_stmin_ns, 0);
    break;
  }
}

/* Sends f and moves to `after`.  Returns 0 (sent, or queued for a retry after -EAGAIN) or the
 * send error (the state is then idle). */
static int tx_frame(struct isotp_link *l, const struct sim_frame *f, int after)
{
  if ((f->data[hdr_len(&l->cfg)] >> 4) == ISOTP_CF)
    l->tx_last_cf = sim_monotonic(l->loop);
  tx_arm(l, after);
  int rc = l->ops->send(l->ctx, f);
  if (rc == -EAGAIN) {
    l->stats.retries++;
    l->tx_pending = *f;
    l->tx_retry = true;
    l->tx_pending_after = (uint8_t)after;
    l->tx_state = TX_RETRY;
    sim_timer_start(l->loop, &l->tx_timer, ISOTP_RETRY_NS, 0);
    return 0;
  }
  if (rc < 0) {
    sim_timer_stop(l->loop, &l->tx_timer);
    l->tx_state = TX_IDLE;
    return rc;
  }
  l->stats.tx_frames++;
  if (after == AFTER_DONE) {
    l->stats.tx_msgs++;
    if (l->ops->sent)
      l->ops->sent(l->ctx, l, 0);
  }
  return 0;
}

static void tx_next_cf(struct isotp_link *l)
{
  struct sim_frame f;
  uint8_t *p = frame_begin(&l->cfg, &f);
  size_t room = 8 - hdr_len(&l->cfg) - 1;
  size_t n = (size_t)(l->tx_len - l->tx_off);
  if (n > room)
    n = room;
  p[0] = (uint8_t)(ISOTP_CF << 4 | l->tx_sn);
  memcpy(p + 1, l->tx_buf + l->tx_off, n);
  frame_end(&f, hdr_len(&l->cfg) + 1 + n, l->cfg.pad);
  l->tx_sn = (l->tx_sn + 1) & 0x0F;
  l->tx_off = (uint16_t)(l->tx_off + n);
  int after = AFTER_CF;
  if (l->tx_off >= l->tx_len)
    after = AFTER_DONE;
  else if (l->tx_bs && ++l->tx_block >= l->tx_bs)
    after = AFTER_WAIT_FC;
  int rc = tx_frame(l, &f, after);
  if (rc < 0)
    tx_finish(l, rc);
}

static void tx_timer_cb(struct sim_loop *loop, struct sim_timer *t)
{
  struct isotp_link *l = t->data;
  (void)loop;
  switch (l->tx_state) {
  case TX_RETRY: {
    struct sim_frame f = l->tx_pending;
    l->tx_retry = false;
    int rc = tx_frame(l, &f, l->tx_pending_after);
    if (rc < 0)
      tx_finish(l, rc);
    break;
  }
  case TX_WAIT_FC:
    l->stats.timeouts++;
    tx_finish(l, -ETIMEDOUT);
    break;
  case TX_CF:
    tx_next_cf(l);
    break;
  default:
    break;
  }
}

int isotp_link_send(struct isotp_link *l, const uint8_t *msg, size_t len)
{
  if (l->tx_state != TX_IDLE || l->cfg.listen_only)
    return SIM_ESTATE;
  if (len < 1 || len > ISOTP_MAX_LEN)
    return SIM_ERANGE;
  size_t hl = hdr_len(&l->cfg);
  struct sim_frame f;
  uint8_t *p = frame_begin(&l->cfg, &f);
  if (len <= 7 - hl) {
    p[0] = (uint8_t)(ISOTP_SF << 4 | len);
    memcpy(p + 1, msg, len);
    frame_end(&f, hl + 1 + len, l->cfg.pad);
    return tx_frame(l, &f, AFTER_DONE);
  }
  memcpy(l->tx_buf, msg, len);
  l->tx_len = (uint16_t)len;
  size_t first = 8 - hl - 2;
  p[0] = (uint8_t)(ISOTP_FF << 4 | len >> 8);
  p[1] = (uint8_t)len;
  memcpy(p + 2, msg, first);
  frame_end(&f, 8, l->cfg.pad);
  l->tx_off = (uint16_t)first;
  l->tx_sn = 1;
  l->tx_waits = 0;
  return tx_frame(l, &f, AFTER_WAIT_FC);
}

void isotp_link_abort(struct isotp_link *l)
{
  sim_timer_stop(l->loop, &l->rx_timer);
  l->rx_active = false;
  if (l->tx_state != TX_IDLE)
    tx_finish(l, -ECANCELED);
}

/* A flow control frame for our transmission. */
static void on_fc(struct isotp_link *l, const uint8_t *p, size_t n)
{
  if (l->tx_state != TX_WAIT_FC || n < 3) {
    l->stats.stray++;
    return;
  }
  switch (p[0] & 0x0F) {
  case ISOTP_FC_CTS:
    l->tx_bs = p[1];
    l->tx_block = 0;
    l->tx_waits = 0;
    l->tx_stmin_ns = isotp_stmin_ns(p[2]);
    l->tx_state = TX_CF;
    /* The first CF follows the FC at once, from the timer (see the top); STmin also spaces
     * the last CF of a block from the first of the next. */
    if (l->tx_off > 8 - hdr_len(&l->cfg) - 2)
      sim_timer_start_at(l->loop, &l->tx_timer, l->tx_last_cf + l->tx_stmin_ns, 0);
    else
      sim_timer_start(l->loop, &l->tx_timer, 0, 0);
    break;
  case ISOTP_FC_WAIT:
    l->stats.waits++;
    if (++l->tx_waits > l->cfg.wft_max) {
      tx_finish(l, -EPROTO);
      break;
    }
    sim_timer_start(l->loop, &l->tx_timer, l->cfg.n_bs_ns, 0);
    break;
  case ISOTP_FC_OVFLW:
    l->stats.overflows++;
    tx_finish(l, -EOVERFLOW);
    break;
  default:
    tx_finish(l, -EPROTO);
    break;
  }
}

/* ---- receive --------------------------------------------------------------------------- */

static void send_fc(struct isotp_link *l, uint8_t status)
{
  if (l->cfg.listen_only)
    return;
  struct sim_frame f;
  isotp_encode_fc(&l->cfg, &f, status, l->cfg.bs, l->cfg.stmin);
  if (l->ops->send(l->ctx, &f) == 0)
    l->stats.tx_frames++;
}

static void rx_abandon(struct isotp_link *l, int err)
{
  sim_timer_stop(l->loop, &l->rx_timer);
  l->rx_active = false;
  if (l->ops->rx_error)
    l->ops->rx_error(l->ctx, l, err);
}

static void deliver(struct isotp_link *l, const uint8_t *msg, size_t len, bool functional)
{
  uint8_t copy[ISOTP_MAX_LEN];
  memcpy(copy, msg, len);
  l->stats.rx_msgs++;
  if (l->ops->received)
    l->ops->received(l->ctx, l, copy, len, functional);
}

static void rx_timer_cb(struct sim_loop *loop, struct sim_timer *t)
{
  struct isotp_link *l = t->data;
  (void)loop;
  if (!l->rx_active)
    return;
  if (l->rx_waits_left) {
    l->rx_waits_left--;
    if (l->rx_waits_left) {
      send_fc(l, ISOTP_FC_WAIT);
      sim_timer_start(l->loop, &l->rx_timer, WAIT_PACE_NS, 0);
    } else {
      sim_timer_start(l->loop, &l->rx_timer, l->cfg.n_cr_ns, 0);
      send_fc(l, ISOTP_FC_CTS);
    }
    return;
  }
  l->stats.timeouts++;
  rx_abandon(l, -ETIMEDOUT);
}

static void restart_if_active(struct isotp_link *l)
{
  if (l->rx_active) {
    l->stats.restarts++;
    rx_abandon(l, -ECANCELED);
  }
}

static void on_sf(struct isotp_link *l, const uint8_t *p, size_t n, size_t room, bool func)
{
  size_t dl = p[0] & 0x0F;
  if (dl == 0 || dl > room - 1 || dl > n - 1) {
    l->stats.stray++;
    return;
  }
  if (!func)
    restart_if_active(l);
  deliver(l, p + 1, dl, func);
}

static void on_ff(struct isotp_link *l, const uint8_t *p, size_t n, size_t room)
{
  size_t dl = (size_t)(p[0] & 0x0F) << 8 | p[1];
  if (n < room || (dl != 0 && dl < room)) {
    l->stats.stray++;
    return;
  }
  restart_if_active(l);
  if (dl == 0 || dl > l->cfg.rx_max) {
    l->stats.overflows++;
    send_fc(l, ISOTP_FC_OVFLW);
    if (l->ops->rx_error)
      l->ops->rx_error(l->ctx, l, -EOVERFLOW);
    return;
  }
  l->rx_len = (uint16_t)dl;
  l->rx_off = (uint16_t)(room - 2);
  memcpy(l->rx_buf, p + 2, l->rx_off);
  l->rx_sn = 1;
  l->rx_block = 0;
  l->rx_active = true;
  if (l->cfg.fc_waits) {
    l->rx_waits_left = l->cfg.fc_waits;
    sim_timer_start(l->loop, &l->rx_timer, WAIT_PACE_NS, 0);
    send_fc(l, ISOTP_FC_WAIT);
    return;
  }
  l->rx_waits_left = 0;
  sim_timer_start(l->loop, &l->rx_timer, l->cfg.n_cr_ns, 0);
  send_fc(l, ISOTP_FC_CTS);
}

static void on_cf(struct isotp_link *l, const uint8_t *p, size_t n, size_t room)
{
  if (!l->rx_active || l->rx_waits_left) {
    l->stats.stray++;
    return;
  }
  if ((p[0] & 0x0F) != l->rx_sn) {
    l->stats.seq_errors++;
    rx_abandon(l, -EILSEQ);
    return;
  }
  size_t want = (size_t)(l->rx_len - l->rx_off);
  if (want > room - 1)
    want = room - 1;
  if (n - 1 < want) {
    l->stats.stray++;
    return;
  }
  memcpy(l->rx_buf + l->rx_off, p + 1, want);
  l->rx_off = (uint16_t)(l->rx_off + want);
  l->rx_sn = (l->rx_sn + 1) & 0x0F;
  if (l->rx_off >= l->rx_len) {
    sim_timer_stop(l->loop, &l->rx_timer);
    l->rx_active = false;
    deliver(l, l->rx_buf, l->rx_len, false);
    return;
  }
  sim_timer_start(l->loop, &l->rx_timer, l->cfg.n_cr_ns, 0);
  if (l->cfg.bs && ++l->rx_block >= l->cfg.bs) {
    l->rx_block = 0;
    send_fc(l, ISOTP_FC_CTS);
  }
}

int isotp_link_input(struct isotp_link *l, const struct sim_frame *f)
{
  if (f->flags & (SIM_CAN_F_TX | SIM_CAN_F_RTR | SIM_CAN_F_ERR | SIM_CAN_F_FD))
    return 0;
  if (sim_frame_is_ext(f) != l->cfg.ext_id)
    return 0;
  bool func = false;
  if (f->id == l->cfg.rx_id)
    func = false;
  else if (f->id == l->cfg.rx_func_id)
    func = true;
  else
    return 0;
  size_t hl = hdr_len(&l->cfg);
  if (hl) {
    if (f->len < 1 || f->data[0] != l->cfg.rx_addr)
      return 0;
  }
  l->stats.rx_frames++;
  size_t n = f->len > 8 ? 8 : f->len;
  if (n <= hl) {
    l->stats.stray++;
    return 1;
  }
  const uint8_t *p = f->data + hl;
  n -= hl;
  size_t room = 8 - hl;
  int type = p[0] >> 4;
  if (func && type != ISOTP_SF) {
    l->stats.stray++;
    return 1;
  }
  switch (type) {
  case ISOTP_SF:
    on_sf(l, p, n, room, func);
    break;
  case ISOTP_FF:
    if (n < 2) {
      l->stats.stray++;
      break;
    }
    on_ff(l, p, n, room);
    break;
  case ISOTP_CF:
    on_cf(l, p, n, room);
    break;
  case ISOTP_FC:
    on_fc(l, p, n);
    break;
  default:
    l->stats.stray++;
    break;
  }
  return 1;
}
