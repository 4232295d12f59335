/*
 * series.c - the time series of a scenario run (series.h): sampling with halving, phases,
 * and their JSON for the run report.
 */
#include "scenario/series.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/json.h"
#include "core/xalloc.h"
#include "model/metrics.h"
#include "model/units.h"

void series_init(struct series *s, int64_t tick_ns)
{
  memset(s, 0, sizeof(*s));
  s->tick_ns = tick_ns;
  s->stride = 1;
}

void series_cleanup(struct series *s)
{
  free(s->t);
  free(s->v);
  s->t = NULL;
  s->v = NULL;
}

int series_add(struct series *s, const struct metric *m)
{
  for (size_t i = 0; i < s->nm; i++)
    if (s->m[i] == m)
      return 0;
  if (s->ticks)
    return SIM_ESTATE;
  if (s->nm == SERIES_MAX_METRICS)
    return SIM_ELIMIT;
  s->m[s->nm++] = m;
  return 0;
}

static double value_of(const struct metric *m)
{
  if (!metric_is_defined(m))
    return NAN;
  return m->type == METRIC_BOOL ? (metric_bool(m) ? 1 : 0) : metric_float(m);
}

/* Keeps every second sample (0, 2, 4...) and doubles the stride. */
static void halve(struct series *s)
{
  for (size_t i = 0; 2 * i < s->n; i++) {
    s->t[i] = s->t[2 * i];
    memcpy(&s->v[i * s->nm], &s->v[2 * i * s->nm], s->nm * sizeof(*s->v));
  }
  s->n = (s->n + 1) / 2;
  s->stride *= 2;
}

static void note_phase(struct series *s, int64_t t, enum series_phase_kind kind,
                       const char *step)
{
  struct series_phase *cur = s->nphases ? &s->phases[s->nphases - 1] : NULL;
  if (cur && cur->end < 0 && cur->kind == kind)
    return;
  if (cur && cur->end < 0)
    cur->end = t;
  if (kind == SERIES_IDLE)
    return;
  if (s->nphases == SERIES_MAX_PHASES) {
    s->phases_truncated = true;
    return;
  }
  s->phases[s->nphases++] = (struct series_phase){kind, t, -1, step};
}

void series_sample(struct series *s, int64_t t, enum series_phase_kind phase, const char *step)
{
  if (!s->t) {
    s->t = xmalloc(SERIES_MAX_SAMPLES * sizeof(*s->t));
    s->v = xmalloc(SERIES_MAX_SAMPLES * (s->nm ? s->nm : 1) * sizeof(*s->v));
  }
  note_phase(s, t, phase, step);
  for (size_t j = 0; j < s->nm; j++)
    s->last_v[j] = value_of(s->m[j]);
  s->last_t = t;
  s->have_last = true;
  if (s->ticks++ % s->stride)
    return;
  if (s->n == SERIES_MAX_SAMPLES) {
    halve(s);
    if ((s->ticks - 1) % s->stride)
      return;
  }
  s->t[s->n] = t;
  memcpy(&s->v[s->n * s->nm], s->last_v, s->nm * sizeof(*s->v));
  s->n++;
}

static void json_num(struct sbuf *out, double v)
{
  if (isnan(v))
    sbuf_adds(out, "null");
  else
    sbuf_printf(out, "%.9g", v);
}

static void json_time(struct sbuf *out, int64_t ns)
{
  sbuf_printf(out, "%.3f", (double)ns / 1e9);
}

static void json_values(const struct series *s, size_t j, bool last, struct sbuf *out)
{
  sbuf_adds(out, "[");
  for (size_t i = 0; i < s->n; i++) {
    if (i)
      sbuf_addc(out, ',');
    json_num(out, s->v[i * s->nm + j]);
  }
  if (last) {
    if (s->n)
      sbuf_addc(out, ',');
    json_num(out, s->last_v[j]);
  }
  sbuf_adds(out, "]");
}

void series_json(const struct series *s, struct sbuf *out)
{
  /* the latest sample when it is not the last one kept */
  bool last = s->have_last && (!s->n || s->t[s->n - 1] != s->last_t);
  sbuf_adds(out, ",\"series\":{\"interval\":");
  json_time(out, s->tick_ns * (int64_t)s->stride);
  sbuf_adds(out, ",\"t\":[");
  for (size_t i = 0; i < s->n; i++) {
    if (i)
      sbuf_addc(out, ',');
    json_time(out, s->t[i]);
  }
  if (last) {
    if (s->n)
      sbuf_addc(out, ',');
    json_time(out, s->last_t);
  }
  sbuf_adds(out, "],\"metrics\":[");
  for (size_t j = 0; j < s->nm; j++) {
    /* metric names are [a-z0-9._-] and unit labels plain text without quotes: no escapes */
    sbuf_printf(out, "%s{\"name\":\"%s\",\"unit\":\"%s\",\"values\":", j ? "," : "",
                s->m[j]->name, sim_unit_label(s->m[j]->unit));
    json_values(s, j, last, out);
    sbuf_addc(out, '}');
  }
  sbuf_adds(out, "]},\"phases\":[");
  for (size_t i = 0; i < s->nphases; i++) {
    const struct series_phase *p = &s->phases[i];
    sbuf_printf(out, "%s{\"kind\":\"%s\",\"start\":", i ? "," : "",
                p->kind == SERIES_DRIVE ? "drive" : "charge");
    json_time(out, p->start);
    sbuf_adds(out, ",\"end\":");
    json_time(out, p->end < 0 ? s->last_t : p->end);
    sbuf_adds(out, ",\"step\":");
    if (p->step)
      json_write_string(p->step, strlen(p->step), out);
    else
      sbuf_adds(out, "null");
    sbuf_addc(out, '}');
  }
  sbuf_printf(out, "],\"phases_truncated\":%s", s->phases_truncated ? "true" : "false");
}
