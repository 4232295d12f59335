/*
 * fuzz_elm327.c - libFuzzer target for the ELM327 interpreter: the input's first half is what
 * the app types (commands, requests, junk), the second half frames arriving from the bus
 * (8-byte id+data records), interleaved; answers go nowhere, the timer fires at the end.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "can/elm327.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct elm327 *E;
static size_t out_bytes;

static void w(void *ctx, const char *s, size_t n)
{
  (void)ctx;
  (void)s;
  out_bytes += n;
}

static int send_frame(void *ctx, const struct sim_frame *f)
{
  (void)ctx;
  if (f->len > 8)
    abort();
  return 0;
}

static void arm(void *ctx, int64_t ns)
{
  (void)ctx;
  if (ns < 0)
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct elm327_io io = {w, send_frame, arm, NULL, NULL};
  E = elm327_new(&io);
  size_t half = size / 2;
  const uint8_t *fr = data + half;
  size_t nfr = (size - half) / 10;
  for (size_t i = 0; i < half || i < nfr; i++) {
    if (i < half)
      elm327_input(E, data + i, 1);
    if (i < nfr) {
      struct sim_frame f = {0};
      f.id = ((uint32_t)fr[10 * i] << 8 | fr[10 * i + 1]) & 0x7FF;
      if (fr[10 * i] & 0x80) {
        f.id |= 0x18DAF100;
        f.flags = SIM_CAN_F_EXT;
      }
      f.len = 8;
      memcpy(f.data, fr + 10 * i + 2, 8);
      elm327_frame(E, &f);
    }
  }
  elm327_timeout(E);
  elm327_free(E);
  return 0;
}
