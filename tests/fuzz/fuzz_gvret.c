/*
 * fuzz_gvret.c - libFuzzer target for the GVRET decoders: the input is decoded both as a
 * host -> device and as a device -> host stream; every call must consume at least one byte or
 * ask for more, and every decoded frame must encode and decode back to the same frame.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "can/gvret.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct sim_frame *f, uint8_t bus, bool host)
{
  uint8_t out[GVRET_MAX_MSG];
  struct gvret_event ev;
  size_t n = host ? gvret_encode_host_frame(f, bus, out)
                  : gvret_encode_device_frame(f, bus, 42, out);
  if (!n)
    return;
  size_t k = host ? gvret_decode_host(out, n, &ev) : gvret_decode_device(out, n, &ev);
  if (k == 0 || ev.kind != GVRET_EV_FRAME || ev.frame.id != f->id || ev.frame.len != f->len ||
      memcmp(ev.frame.data, f->data, f->len))
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  for (int dir = 0; dir < 2; dir++) {
    size_t off = 0;
    while (off < size) {
      struct gvret_event ev;
      size_t k = dir ? gvret_decode_device(data + off, size - off, &ev)
                     : gvret_decode_host(data + off, size - off, &ev);
      if (!k)
        break;
      if (k > size - off)
        abort();
      if (ev.kind == GVRET_EV_FRAME)
        check(&ev.frame, (uint8_t)(ev.bus & (dir ? 0x0F : 0x03)), !dir);
      off += k;
    }
  }
  return 0;
}
