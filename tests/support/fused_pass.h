/*
 * fused_pass.h - one candump -> ASC conversion of a text twice: through the general path only
 * (candump parse() + ASC write(), as trace_reader_next and trace_writer_write do it) or as
 * trace_convert goes (the fused convert_from of fmt_asc.c wherever it takes the lines, the
 * general path for the others).  Shared by unit.trace_fused and fuzz_trace_fused, which
 * require both passes to give the same bytes, counters and errors.  No cmocka here.
 */
#ifndef OVMS_SIM_TEST_FUSED_PASS_H
#define OVMS_SIM_TEST_FUSED_PASS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/sbuf.h"

/* What one pass over text[0, n) produced. */
struct fused_pass {
  struct sbuf out;  /* the ASC lines */
  struct sbuf errs; /* the parser's errors, one per line */
  int lines;
  unsigned long nframes, written;
  unsigned long fused; /* lines the fused path took */
};

/* Runs the pass (fused false: the general path only).  Returns NULL, or what broke a rule of
 * the interface (write() refused a frame, the fused path took bytes but no line or reported
 * lines without bytes). */
const char *fused_run(const char *text, size_t n, bool fused, struct fused_pass *p);

/* NULL when g and f are the same (bytes, errors, counters); else what differs, in buf. */
const char *fused_diff(const struct fused_pass *g, const struct fused_pass *f, char *buf,
                       size_t size);

void fused_pass_free(struct fused_pass *p);

#endif
