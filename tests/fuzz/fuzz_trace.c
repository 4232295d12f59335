/*
 * fuzz_trace.c - libFuzzer target for one trace codec (FUZZ_FORMAT, set by CMake: one binary
 * per format).  Each input is split into lines and fed to the codec's parser with one parser
 * state, as the reader does; every record parsed is written back with the same format's writer
 * and re-parsed (a written line must always parse again).  A line the format's quick check
 * accepts must parse as a frame.  Also runs content detection.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "trace/trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const struct trace_format *f = trace_format_find(FUZZ_FORMAT);
  if (!f)
    abort();
  const char *s = (const char *)data;
  (void)trace_format_detect(s, size);
  struct trace_pstate ps;
  trace_pstate_init(&ps, "fuzz");
  struct trace_wstate ws;
  trace_wstate_init(&ws);
  struct sbuf out = SBUF_INIT;
  struct sim_diag d = SIM_DIAG_INIT;
  d.max = 4;
  size_t i = 0;
  while (i < size) {
    const char *nl = memchr(s + i, '\n', size - i);
    size_t e = nl ? (size_t)(nl - s) : size;
    struct trace_record rec;
    ps.line++;
    int rc = f->parse(&ps, s + i, e - i, &rec, &d);
    if (f->quick_check && f->quick_check(s + i, e - i) &&
        (rc != 1 || rec.kind != TRACE_REC_FRAME))
      abort(); /* the quick check promised a frame */
    if (rc == 1 && f->write && (rec.kind == TRACE_REC_FRAME || f->caps & TRACE_CAP_EVENTS)) {
      sbuf_reset(&out);
      if (f->write(&ws, &rec, &out) == 0 && rec.kind == TRACE_REC_FRAME) {
        /* a fresh reader of our own output: the header first, then the line.  The header is
         * the one this writer would have put first: its time origin (from the first record
         * written), not one made from this record (which gave an offset from another origin
         * and a sum past the int64 time limit: a false finding) */
        struct trace_pstate ps2;
        trace_pstate_init(&ps2, "fuzz-out");
        struct trace_record back;
        if (f->header) {
          struct trace_wstate ws2;
          trace_wstate_init(&ws2);
          ws2.t0 = ws.t0;
          ws2.have_t0 = ws.have_t0;
          struct sbuf hdr = SBUF_INIT;
          f->header(&ws2, ws.have_t0 ? NULL : &rec, &hdr);
          for (size_t k = 0; k < hdr.len;) {
            const char *hl = memchr(hdr.p + k, '\n', hdr.len - k);
            size_t he = hl ? (size_t)(hl - hdr.p) : hdr.len;
            f->parse(&ps2, hdr.p + k, he - k, &back, NULL);
            k = he + 1;
          }
          sbuf_free(&hdr);
        }
        size_t n = out.len && out.p[out.len - 1] == '\n' ? out.len - 1 : out.len;
        if (f->parse(&ps2, out.p, n, &back, NULL) != 1 || back.frame.id != rec.frame.id ||
            back.frame.len != rec.frame.len)
          abort(); /* what we write must parse back to the same frame */
      }
    }
    i = e + 1;
  }
  sbuf_free(&out);
  sim_diag_cleanup(&d);
  return 0;
}
