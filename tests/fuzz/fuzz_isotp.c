/*
 * fuzz_isotp.c - libFuzzer target for the ISO-TP receive path (hil/isotp.c): the input is a
 * sequence of records [selector, length, 0..8 data bytes], each a frame offered to three links
 * (normal 11-bit, extended addressing, 29-bit with a functional id) or, for selector 0xFF, a
 * step of virtual time that lets the links' timers fire (N_Cr, N_Bs, STmin, FC WAIT pacing).
 * The links also transmit a multi-frame message, so flow control frames in the input reach
 * the transmit side.  Nothing may crash, leak or read out of bounds; a delivered message is
 * never longer than the link's rx_max.
 */
#include <ev.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/loop.h"
#include "hil/isotp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int f_send(void *ctx, const struct sim_frame *f)
{
  (void)ctx;
  if (f->len > 8)
    abort();
  return 0;
}

static void f_received(void *ctx, struct isotp_link *l, const uint8_t *msg, size_t len,
                       bool functional)
{
  (void)ctx;
  (void)msg;
  (void)functional;
  if (len == 0 || len > l->cfg.rx_max)
    abort();
}

static const struct isotp_ops f_ops = {f_send, f_received, NULL, NULL};

static void stop_cb(struct sim_loop *loop, struct sim_timer *t)
{
  (void)t;
  sim_loop_stop(loop, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct ev_loop *ev = ev_loop_new(EVFLAG_AUTO);
  struct sim_loop *loop = sim_loop_new(ev, SIM_CLOCK_FAST, 1.0, 0);
  static struct isotp_link links[3];
  struct isotp_config c[3];
  isotp_config_default(&c[0], 0x7E0, 0x7E8);
  c[0].bs = 2;
  c[0].rx_max = 300;
  isotp_config_default(&c[1], 0x6F1, 0x660);
  c[1].addressing = ISOTP_EXTENDED;
  c[1].tx_addr = 0x60;
  c[1].rx_addr = 0xF1;
  c[1].fc_waits = 1;
  c[1].pad = -1;
  isotp_config_default(&c[2], isotp_fixed_id(0x10, 0xF1, false),
                       isotp_fixed_id(0xF1, 0x10, false));
  c[2].ext_id = true;
  c[2].rx_func_id = isotp_fixed_id(0x33, 0xF1, true);
  uint8_t msg[200];
  memset(msg, 0xA5, sizeof msg);
  for (int i = 0; i < 3; i++) {
    if (isotp_link_init(&links[i], loop, &c[i], &f_ops, NULL) != 0)
      abort();
    isotp_link_send(&links[i], msg, sizeof msg);
  }
  struct sim_timer stop;
  sim_timer_init(&stop, stop_cb, NULL);
  static const uint32_t ids[] = {0x7E8, 0x660, 0x18DAF110, 0x18DB33F1, 0x7DF, 0x7E0};
  size_t i = 0;
  while (i + 2 <= size) {
    uint8_t sel = data[i], len = data[i + 1];
    i += 2;
    if (sel == 0xFF) {
      sim_timer_start(loop, &stop, (int64_t)len * 10 * SIM_NS_PER_MS, 0);
      sim_loop_run(loop);
      continue;
    }
    struct sim_frame f;
    memset(&f, 0, sizeof f);
    f.id = ids[sel % 6];
    f.flags = f.id > 0x7FF ? SIM_CAN_F_EXT : 0;
    f.len = len % 9;
    if (i + f.len > size)
      break;
    memcpy(f.data, data + i, f.len);
    i += f.len;
    for (int k = 0; k < 3; k++)
      isotp_link_input(&links[k], &f);
  }
  for (int k = 0; k < 3; k++)
    isotp_link_cleanup(&links[k]);
  sim_timer_stop(loop, &stop);
  sim_loop_free(loop);
  ev_loop_destroy(ev);
  return 0;
}
