/*
 * fuzz_dbc.c - libFuzzer target for the DBC parser and the signal codecs: any input either
 * parses or is rejected with a diagnostic; for every signal of what parses, a raw value put
 * into a frame must read back unchanged.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vehicles/dbc/dbc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct sim_diag d = SIM_DIAG_INIT;
  struct dbc *dbc = NULL;
  int rc = dbc_parse((const char *)data, size, "fuzz.dbc", &dbc, &d);
  if (rc < 0 && d.errors == 0)
    abort(); /* a rejection always says why */
  sim_diag_cleanup(&d);
  if (rc < 0)
    return 0;
  uint8_t frame[64];
  for (size_t i = 0; i < dbc->n_msgs; i++) {
    const struct dbc_message *m = &dbc->msgs[i];
    for (size_t k = 0; k < m->n_sigs; k++) {
      const struct dbc_signal *s = &m->sigs[k];
      memset(frame, 0x5A, sizeof frame);
      uint64_t mask = s->length >= 64 ? ~0ull : ((1ull << s->length) - 1);
      int64_t raw = (int64_t)((0x0123456789ABCDEFull * (k + 1)) & mask);
      if (s->is_signed && s->length < 64 && ((raw >> (s->length - 1)) & 1))
        raw = (int64_t)((uint64_t)raw | ~mask);
      dbc_signal_put_raw(s, raw, frame, sizeof frame);
      if (dbc_signal_raw(s, frame, sizeof frame) != raw)
        abort();
      (void)dbc_signal_decode(s, frame, 8);
      (void)dbc_signal_active(m, s, frame, 8);
      dbc_signal_encode(s, 1e300, frame, sizeof frame);
      dbc_signal_encode(s, -1e300, frame, sizeof frame);
    }
  }
  dbc_free(dbc);
  return 0;
}
