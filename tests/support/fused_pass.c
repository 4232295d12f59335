/*
 * fused_pass.c - the two candump -> ASC passes of fused_pass.h.
 */
#include "fused_pass.h"

#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "trace/trace.h"

void fused_pass_free(struct fused_pass *p)
{
  sbuf_free(&p->out);
  sbuf_free(&p->errs);
}

/* The line at text[*pos, n): its length without the '\n'.  false at the end, and for a last
 * line without its '\n' (the reader reports those as truncated). */
static bool next_line(const char *text, size_t n, size_t pos, size_t *len)
{
  const char *nl = pos < n ? memchr(text + pos, '\n', n - pos) : NULL;
  if (!nl)
    return false;
  *len = (size_t)(nl - (text + pos));
  return true;
}

const char *fused_run(const char *text, size_t n, bool fused, struct fused_pass *p)
{
  const struct trace_format *candump = trace_format_find("candump");
  const struct trace_format *asc = trace_format_find("asc");
  memset(p, 0, sizeof(*p)); /* (empty buffers: SBUF_INIT is all zero) */
  struct trace_pstate ps;
  struct trace_wstate ws;
  trace_pstate_init(&ps, "in.log");
  trace_wstate_init(&ws);
  size_t pos = 0, len;
  const char *broken = NULL;
  while (!broken) {
    if (fused && ws.have_t0) {
      unsigned long lines = 0;
      size_t used = asc->convert_from(candump, &ps, &ws, text + pos, n - pos, &p->out, &lines);
      if (used ? lines == 0 : lines != 0) {
        broken = "convert_from: bytes taken and lines counted disagree";
        break;
      }
      if (used) {
        pos += used;
        p->fused += lines;
        continue;
      }
    }
    if (!next_line(text, n, pos, &len))
      break;
    struct trace_record rec;
    struct sim_diag d = SIM_DIAG_INIT;
    ps.line++;
    int rc = candump->parse(&ps, text + pos, len, &rec, &d);
    for (size_t k = 0; k < d.n; k++) {
      sim_diag_format(&d.v[k], &p->errs);
      sbuf_addc(&p->errs, '\n');
    }
    sim_diag_cleanup(&d);
    if (rc > 0 && rec.kind == TRACE_REC_FRAME && asc->write(&ws, &rec, &p->out) != 0)
      broken = "ASC write() refused a candump frame";
    pos += len + 1;
  }
  p->lines = ps.line;
  p->nframes = ps.nframes;
  p->written = ws.n;
  return broken;
}

const char *fused_diff(const struct fused_pass *g, const struct fused_pass *f, char *buf,
                       size_t size)
{
  if (g->out.len != f->out.len || (g->out.len && memcmp(g->out.p, f->out.p, g->out.len))) {
    size_t k = 0;
    while (k < g->out.len && k < f->out.len && g->out.p[k] == f->out.p[k])
      k++;
    size_t from = k > 80 ? k - 80 : 0;
    snprintf(buf, size, "the outputs differ at byte %zu:\ngeneral: %.160s\nfused:   %.160s", k,
             g->out.p ? g->out.p + from : "", f->out.p ? f->out.p + from : "");
    return buf;
  }
  if (strcmp(sbuf_str(&g->errs), sbuf_str(&f->errs)))
    return snprintf(buf, size, "the errors differ"), buf;
  if (g->lines != f->lines || g->nframes != f->nframes || g->written != f->written)
    return snprintf(buf, size, "the counters differ: lines %d/%d, frames %lu/%lu, written "
                    "%lu/%lu", g->lines, f->lines, g->nframes, f->nframes, g->written,
                    f->written), buf;
  return NULL;
}
