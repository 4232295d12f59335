/*
 * isotp.h - one ISO-TP (ISO 15765-2) engine for both roles: the simulator's poller (tester) and
 * its ECU responders, and anything else that speaks ISO-TP over a simulator bus (an ELM327
 * dongle emulator, a socketcand/GVRET server bridging a remote tester).
 *
 * A struct isotp_link is one pair of CAN ids (what we send on, what we listen to), embedded in
 * its owner.  It knows nothing about buses: frames leave through ops->send (the owner puts them
 * on a struct sim_canbus with can_bus_send(), or anywhere else), frames arrive when the owner
 * calls isotp_link_input() with every received frame (the link takes those that are its own
 * and says so).  Whole messages come out through ops->received; a finished transmission is
 * reported through ops->sent.  Timing comes from the simulation clock (core/loop.h): STmin,
 * N_Bs and N_Cr are sim_timers, so they run in virtual time with --fast and in real time
 * otherwise, and tests step them deterministically.
 *
 * What it implements (ISO 15765-2:2016 sections 9.6-9.8, classic CAN frames of 8 bytes):
 *  - single frame (SF, PCI 0x0L, 1..7 bytes; 1..6 with extended addressing), first frame (FF,
 *    0x1L LL, 8..4095 bytes), consecutive frames (CF, 0x2N, sequence number 1..15, 0, 1...),
 *    flow control (FC, 0x3S BS STmin: S = 0 continue to send, 1 wait, 2 overflow);
 *  - transmit: waits for FC after the FF and after every block of BS frames (BS = 0: one
 *    block), accepts FC WAIT (N_Bs restarts, at most wft_max in a row) and aborts on OVFLW;
 *    consecutive frames are spaced by the STmin the receiver asked for, measured from the
 *    previous CF on the simulation clock (0x00-0x7F = 0-127 ms, 0xF1-0xF9 = 100-900 us, reserved
 *    values as 127 ms, as the standard requires); a full transmit queue (send returns -EAGAIN)
 *    retries after ISOTP_RETRY_NS instead of failing;
 *  - receive: answers an FF with FC CTS (our BS and STmin from the config; optionally
 *    fc_waits FC WAIT frames first, for testing a sender's WAIT path), or FC OVFLW when the
 *    message is longer than rx_max; checks sequence numbers; a new SF or FF during a reception
 *    restarts it (counted); N_Cr and N_Bs time-outs (default 1000 ms as the firmware's poller,
 *    vehicle_poller_isotp.cpp SetPollWaiting(1000));
 *  - frames that are not expected (a CF without reception, an FC without transmission, a bad
 *    PCI, a short frame) are ignored and counted in stats.stray;
 *  - addressing: normal (11- or 29-bit ids), normal fixed (29-bit 0x18DA<TA><SA> physical,
 *    0x18DB<TA><SA> functional: isotp_fixed_id()), extended (first data byte = target address;
 *    the BMW i3: tester 0x6F1 with the ECU's address, replies on 0x600 + address with 0xF1); a
 *    second, functional receive id (0x7DF for OBD-II) accepts single frames only;
 *  - padding: pad >= 0 fills every frame to 8 bytes with that byte (the firmware's poller
 *    uses 0x55 for requests, vehicle_poller_isotp.cpp PollerISOTPStart(), and zeroes in its
 *    flow control frames); pad < 0 sends frames only as long as their content (CAN_DL
 *    optimisation).  fc_pad, when >= 0, overrides pad for flow control frames.
 *
 * Messages are at most ISOTP_MAX_LEN (4095) bytes; the FF escape for longer messages (FF_DL = 0
 * with a 32-bit length) and CAN FD frames are not implemented (answered with FC OVFLW /
 * ignored).  All callbacks run on the loop thread; a callback may call isotp_link_send() or
 * isotp_link_cleanup() on its own link.
 */
#ifndef HIL_ISOTP_H
#define HIL_ISOTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/frame.h"
#include "core/loop.h"

#define ISOTP_MAX_LEN 4095
#define ISOTP_DEFAULT_TIMEOUT_NS (1000 * SIM_NS_PER_MS)
#define ISOTP_RETRY_NS (1 * SIM_NS_PER_MS)
#define ISOTP_NO_ID UINT32_MAX

enum isotp_addressing {
  ISOTP_NORMAL,   /* ids as given (11-bit, or 29-bit with ext_id) */
  ISOTP_EXTENDED, /* first data byte = tx_addr on send, must be rx_addr on receive */
};

/* Frame types (the high nibble of the PCI byte). */
enum isotp_frame_type { ISOTP_SF = 0, ISOTP_FF = 1, ISOTP_CF = 2, ISOTP_FC = 3 };
/* Flow status of an FC frame. */
enum isotp_flow_status { ISOTP_FC_CTS = 0, ISOTP_FC_WAIT = 1, ISOTP_FC_OVFLW = 2 };

struct isotp_config {
  uint32_t tx_id;          /* CAN id we send on */
  uint32_t rx_id;          /* CAN id we receive on (physical) */
  uint32_t rx_func_id;     /* a functional id we also accept single frames on, or ISOTP_NO_ID */
  bool ext_id;             /* 29-bit CAN ids */
  enum isotp_addressing addressing;
  uint8_t tx_addr, rx_addr; /* ISOTP_EXTENDED: the address byte sent / expected */
  int pad;                 /* padding byte 0..255, or -1 for no padding */
  int fc_pad;              /* padding of our FC frames, or -1 = pad */
  uint8_t bs;              /* block size we ask for in our FC (0 = no further FC) */
  uint8_t stmin;           /* STmin we ask for in our FC (raw byte) */
  uint8_t fc_waits;        /* FC WAIT frames to send before CTS (testing; normally 0) */
  uint8_t wft_max;         /* FC WAIT frames accepted in a row before giving up */
  uint16_t rx_max;         /* longest message we accept (<= ISOTP_MAX_LEN; 0 = ISOTP_MAX_LEN) */
  int64_t n_bs_ns;         /* time-out waiting for an FC (0 = ISOTP_DEFAULT_TIMEOUT_NS) */
  int64_t n_cr_ns;         /* time-out waiting for a CF (0 = ISOTP_DEFAULT_TIMEOUT_NS) */
  bool listen_only;        /* never send: reassemble what two other nodes exchange (a trace,
                            * a sniffer); FC frames are then the other side's business */
};

/* A config with the defaults: no functional id, 11-bit normal addressing, pad 0x55 (fc_pad -1),
 * BS 0, STmin 0, wft_max 8, rx_max 4095, 1000 ms time-outs. */
void isotp_config_default(struct isotp_config *c, uint32_t tx_id, uint32_t rx_id);

/* The 29-bit normal-fixed id (ISO 15765-2 10.3.3): 0x18DA<ta><sa> physical, 0x18DB<ta><sa>
 * functional. */
uint32_t isotp_fixed_id(uint8_t ta, uint8_t sa, bool functional);

/* STmin byte -> ns (reserved values count as 127 ms) and the byte for a ns value (rounded
 * up to what the encoding can say: 100-900 us steps below 1 ms, ms up to 127). */
int64_t isotp_stmin_ns(uint8_t stmin);
uint8_t isotp_stmin_byte(int64_t ns);

struct isotp_link;

/*
 * What a link calls.  send must be set; received and sent may be NULL.
 *  send(ctx, f): puts f on the wire.  0, or a negative error; -EAGAIN (queue full) makes the
 *    link retry the same frame after ISOTP_RETRY_NS, any other error aborts a transmission.
 *  received(ctx, l, msg, len, functional): a complete message (msg valid during the call);
 *    functional = it came on rx_func_id.
 *  sent(ctx, l, status): the transmission started by isotp_link_send() ended: 0 = every
 *    frame sent, -ETIMEDOUT (no FC within N_Bs), -EOVERFLOW (FC OVFLW), -EPROTO (too many
 *    FC WAIT or a bad flow status), -ECANCELED (isotp_link_abort()), or the send error.
 *  rx_error(ctx, l, err): a reception was abandoned: -ETIMEDOUT (N_Cr), -EILSEQ (wrong
 *    sequence number), -EOVERFLOW (too long, FC OVFLW sent), -ECANCELED (a new SF/FF
 *    restarted it).
 */
struct isotp_ops {
  int (*send)(void *ctx, const struct sim_frame *f);
  void (*received)(void *ctx, struct isotp_link *l, const uint8_t *msg, size_t len,
                   bool functional);
  void (*sent)(void *ctx, struct isotp_link *l, int status);
  void (*rx_error)(void *ctx, struct isotp_link *l, int err);
};

struct isotp_stats {
  unsigned long rx_msgs, tx_msgs;   /* complete messages received / sent */
  unsigned long rx_frames, tx_frames;
  unsigned long stray;              /* our ids but not expected or not valid (ignored) */
  unsigned long restarts;           /* receptions replaced by a new SF/FF */
  unsigned long seq_errors;         /* CF with a wrong sequence number */
  unsigned long timeouts;           /* N_Bs + N_Cr */
  unsigned long overflows;          /* FC OVFLW sent or received */
  unsigned long waits;              /* FC WAIT received */
  unsigned long retries;            /* sends repeated after -EAGAIN */
};

/* A link; embed it, fields are private except cfg, stats and data (for the owner). */
struct isotp_link {
  struct isotp_config cfg;
  struct isotp_stats stats;
  void *data;                 /* for the owner */
  struct sim_loop *loop;      /* borrowed */
  const struct isotp_ops *ops;
  void *ctx;

  /* transmit */
  struct sim_timer tx_timer;  /* STmin spacing, N_Bs, -EAGAIN retry */
  uint8_t tx_buf[ISOTP_MAX_LEN];
  uint16_t tx_len, tx_off;
  uint8_t tx_sn;
  uint8_t tx_state;           /* private */
  uint8_t tx_bs, tx_block;    /* BS granted, CFs sent in this block */
  uint8_t tx_waits;
  int64_t tx_stmin_ns;
  int64_t tx_last_cf;         /* monotonic ns of the previous CF */
  struct sim_frame tx_pending; /* a frame to repeat after -EAGAIN */
  bool tx_retry;
  uint8_t tx_pending_after;   /* private */

  /* receive */
  struct sim_timer rx_timer;  /* N_Cr, and pacing of our FC WAITs */
  uint8_t rx_buf[ISOTP_MAX_LEN];
  uint16_t rx_len, rx_off;
  uint8_t rx_sn;
  uint8_t rx_block;           /* CFs received in this block */
  uint8_t rx_waits_left;
  bool rx_active;
};

/*
 * Initialises l with cfg (copied; zero fields take the defaults named above) on loop
 * (borrowed), calling ops (static) with ctx (borrowed).  Nothing is sent.  Returns 0, or
 * SIM_ECONFIG for a bad config (ids out of range, rx_max > 4095).
 */
int isotp_link_init(struct isotp_link *l, struct sim_loop *loop, const struct isotp_config *cfg,
                    const struct isotp_ops *ops, void *ctx);
/* Stops the timers; a transmission in progress ends silently (no sent callback). */
void isotp_link_cleanup(struct isotp_link *l);

/*
 * Offers a received frame.  Returns 1 when the frame was on one of the link's ids (taken,
 * even if it was stray and ignored), 0 when it belongs to someone else.  Frames we sent
 * ourselves (SIM_CAN_F_TX), RTR, error and FD frames are never taken.
 */
int isotp_link_input(struct isotp_link *l, const struct sim_frame *f);

/*
 * Starts sending msg (len 1..4095 bytes; 1..6 fit a single frame with extended addressing,
 * 1..7 without; copied).  The first frame leaves before this returns; for a single frame the
 * sent callback runs before it returns too.  Returns 0, SIM_ESTATE while a transmission is in
 * progress or on a listen_only link, SIM_ERANGE for a bad length, or the send error of the
 * first frame (then nothing is in progress; -EAGAIN is retried, not returned).
 */
int isotp_link_send(struct isotp_link *l, const uint8_t *msg, size_t len);
/* True while a transmission is in progress. */
bool isotp_link_busy(const struct isotp_link *l);
/* Ends a transmission in progress with sent(-ECANCELED) and forgets a reception. */
void isotp_link_abort(struct isotp_link *l);

/*
 * Pure helpers for tests and tools: builds one ISO-TP frame's data.  isotp_encode_fc() writes
 * an FC (status, bs, stmin) for cfg into f (id, flags, padding).  Returns 0.
 */
int isotp_encode_fc(const struct isotp_config *cfg, struct sim_frame *f, uint8_t status,
                    uint8_t bs, uint8_t stmin);

#endif
