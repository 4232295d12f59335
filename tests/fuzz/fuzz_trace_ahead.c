/*
 * fuzz_trace_ahead.c - libFuzzer target for the readers' buffer fast path (parse_ahead of
 * every format that has one; today candump): each line of the input goes through parse_ahead()
 * in a buffer that holds the line, its '\n' and the input after it (at least
 * TRACE_AHEAD_READ bytes, allocated to the byte so that a read past it is an ASan error), and
 * through parse() as an exact copy.  A line parse_ahead() takes must be one parse() accepts,
 * with the same record and parser counters; a line it leaves must then parse as it does in the
 * full parser, as the reader goes on (sim/trace/trace.h, "parse_ahead").  The parser states
 * run on over the whole input, so the seconds and interface caches are exercised too.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/diag.h"
#include "core/frame.h"
#include "trace/trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void differ(const char *fmt, const char *s, size_t len, const char *what)
{
  fprintf(stderr, "fuzz_trace_ahead: %s: %s on \"%.*s\"\n", fmt, what, (int)len, s);
  abort();
}

static void same(const char *fmt, const char *s, size_t len, const struct trace_record *a,
                 const struct trace_record *b, const struct trace_pstate *pa,
                 const struct trace_pstate *pb)
{
  if (a->kind != b->kind || a->frame.id != b->frame.id || a->frame.flags != b->frame.flags ||
      a->frame.bus != b->frame.bus || a->frame.len != b->frame.len || a->ts != b->ts ||
      a->frame.ts != b->frame.ts || a->ts_relative != b->ts_relative ||
      a->untimed != b->untimed || strcmp(a->src, b->src) ||
      /* a remote frame's length is a request: its data bytes mean nothing */
      (!(a->frame.flags & SIM_CAN_F_RTR) && memcmp(a->frame.data, b->frame.data, a->frame.len)))
  {
    fprintf(stderr, "fuzz_trace_ahead: id %X/%X flags %X/%X bus %u/%u len %u/%u ts %lld/%lld\n",
            a->frame.id, b->frame.id, a->frame.flags, b->frame.flags, a->frame.bus, b->frame.bus,
            a->frame.len, b->frame.len, (long long)a->ts, (long long)b->ts);
    differ(fmt, s, len, "records differ");
  }
  if (pa->nframes != pb->nframes || pa->last_ts != pb->last_ts || pa->nsrcs != pb->nsrcs)
    differ(fmt, s, len, "parser counters differ");
  for (int k = 0; k < pa->nsrcs; k++)
    if (pa->srcs_len[k] != pb->srcs_len[k] || memcmp(pa->srcs[k], pb->srcs[k], pa->srcs_len[k]))
      differ(fmt, s, len, "interface labels differ");
}

static void run(const struct trace_format *f, const char *s, size_t size)
{
  struct trace_pstate pa, pb;
  trace_pstate_init(&pa, "ahead");
  trace_pstate_init(&pb, "full");
  struct sim_diag da = SIM_DIAG_INIT, db = SIM_DIAG_INIT;
  struct trace_record ra, rb;
  for (size_t i = 0, line = 1; i < size; line++) {
    const char *nl = memchr(s + i, '\n', size - i);
    size_t len = nl ? (size_t)(nl - s - i) : size - i;
    /* the buffer the reader would have: this line, its '\n', then whatever follows */
    size_t rest = size - i, n = rest < TRACE_AHEAD_READ ? TRACE_AHEAD_READ : rest;
    char *buf = malloc(n), *exact = malloc(len ? len : 1);
    if (!buf || !exact)
      abort();
    memcpy(buf, s + i, rest);
    memset(buf + rest, '\n', n - rest);
    memcpy(exact, s + i, len);
    pa.line = pb.line = (int)line;
    size_t got = nl ? f->parse_ahead(&pa, buf, n, &ra) : 0;
    int b = f->parse(&pb, exact, len, &rb, &db);
    if (got) {
      if (got != len)
        differ(f->name, exact, len, "taken length is not the line's");
      if (b != 1)
        differ(f->name, exact, len, "taken, but the full parser does not return a record");
      same(f->name, exact, len, &ra, &rb, &pa, &pb);
    } else {
      pa.line = (int)line; /* "left": the reader's parse() of the same line */
      int a = f->parse(&pa, exact, len, &ra, &da);
      if (a != b)
        differ(f->name, exact, len, "left, then parsed otherwise");
      if (a == 1)
        same(f->name, exact, len, &ra, &rb, &pa, &pb);
    }
    free(buf);
    free(exact);
    sim_diag_cleanup(&da);
    sim_diag_cleanup(&db);
    i += len + (nl != NULL);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  for (size_t k = 0; trace_formats[k]; k++)
    if (trace_formats[k]->parse_ahead)
      run(trace_formats[k], (const char *)data, size);
  return 0;
}
