/*
 * fuzz_slcan.c - libFuzzer target for the slcan line decoder: any decoded frame must encode
 * and decode back to the same frame.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "can/slcan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct sim_frame f, g;
  int ts, col;
  if (slcan_decode((const char *)data, size, &f, &ts, &col) != 0)
    return 0;
  char buf[SLCAN_MAX_LINE];
  int n = slcan_encode(&f, buf, sizeof(buf));
  if (n <= 0 || slcan_decode(buf, (size_t)n - 1, &g, NULL, NULL) != 0 || g.id != f.id ||
      g.flags != f.flags || g.len != f.len || memcmp(g.data, f.data, f.len))
    abort();
  return 0;
}
