/*
 * diag.c - see diag.h.
 */
#include "core/diag.h"

#include <stdarg.h>
#include <stdlib.h>

#include "core/error.h"
#include "core/xalloc.h"

void sim_diag_init(struct sim_diag *d)
{
  *d = (struct sim_diag)SIM_DIAG_INIT;
}

void sim_diag_cleanup(struct sim_diag *d)
{
  for (size_t i = 0; i < d->n; i++) {
    free(d->v[i].file);
    free(d->v[i].msg);
  }
  free(d->v);
  sim_diag_init(d);
}

static void add(struct sim_diag *d, enum sim_diag_level level, const char *file, int line,
                int col, const char *fmt, va_list ap) __attribute__((format(printf, 6, 0)));
static void add(struct sim_diag *d, enum sim_diag_level level, const char *file, int line,
                int col, const char *fmt, va_list ap)
{
  size_t limit = d && d->max ? d->max : 100;
  if (!d || d->n >= limit)
    return;
  struct sbuf msg = SBUF_INIT;
  if (d->n + 1 == limit && limit > 1) {
    /* the last slot says that the list stops here, rather than ending silently (at the
     * level of what it replaces: warnings alone never make an error) */
    line = col = 0;
    sbuf_printf(&msg, "too many problems, the rest are not reported");
  } else {
    sbuf_vprintf(&msg, fmt, ap);
  }
  xgrow((void **)&d->v, &d->cap, d->n + 1, sizeof(*d->v));
  d->v[d->n++] = (struct sim_diag_entry){level, xstrdup(file ? file : ""), line, col,
                                         sbuf_detach(&msg)};
  if (level == SIM_DIAG_ERROR)
    d->errors++;
}

int sim_diag_error(struct sim_diag *d, const char *file, int line, int col, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  add(d, SIM_DIAG_ERROR, file, line, col, fmt, ap);
  va_end(ap);
  return SIM_EPARSE;
}

int sim_diag_warn(struct sim_diag *d, const char *file, int line, int col, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  add(d, SIM_DIAG_WARNING, file, line, col, fmt, ap);
  va_end(ap);
  return 0;
}

const char *sim_diag_last(const struct sim_diag *d)
{
  return d && d->n ? d->v[d->n - 1].msg : "";
}

void sim_diag_join(const struct sim_diag *d, struct sbuf *out)
{
  for (size_t i = 0; d && i < d->n; i++) {
    if (i)
      sbuf_addc(out, '\n');
    sbuf_adds(out, d->v[i].msg);
  }
}

void sim_diag_format(const struct sim_diag_entry *e, struct sbuf *out)
{
  if (e->file[0]) {
    sbuf_adds(out, e->file);
    if (e->line > 0) {
      sbuf_printf(out, ":%d", e->line);
      if (e->col > 0)
        sbuf_printf(out, ":%d", e->col);
    }
    sbuf_adds(out, ": ");
  }
  sbuf_adds(out, e->level == SIM_DIAG_ERROR ? "error: " : "warning: ");
  sbuf_adds(out, e->msg);
}
