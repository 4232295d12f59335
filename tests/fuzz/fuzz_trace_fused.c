/*
 * fuzz_trace_fused.c - libFuzzer target for the fused candump -> ASC conversion: the input as
 * a candump log goes through the general path (candump parse() + ASC write()) and as
 * trace_convert takes it (fmt_asc.c's convert_from wherever it takes the lines); both must
 * give the same bytes, errors and counters (tests/support/fused_pass.c, as unit.trace_fused).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "fused_pass.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *s = (const char *)data;
  struct fused_pass g, f;
  const char *broken = fused_run(s, size, false, &g);
  if (!broken)
    broken = fused_run(s, size, true, &f);
  char buf[512];
  if (broken || (broken = fused_diff(&g, &f, buf, sizeof(buf)))) {
    fprintf(stderr, "fuzz_trace_fused: %s\n", broken);
    abort();
  }
  fused_pass_free(&g);
  fused_pass_free(&f);
  return 0;
}
