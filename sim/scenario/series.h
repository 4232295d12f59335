/*
 * series.h - the time series of a scenario run (the "series" and "phases" of the --report
 * JSON, docs/scenarios.md "Looking at a run"): a few numeric metrics sampled on the physics
 * tick, and the intervals in which the car drove or charged.
 *
 * The size is bounded: at most SERIES_MAX_SAMPLES samples are kept; when they are full every
 * second one is dropped and the interval doubles, so a run of any length keeps between half
 * and all of them, evenly spaced.  The latest sample is always kept as well (the line reaches
 * the end of the run).  At most SERIES_MAX_PHASES phases are kept.
 */
#ifndef SIM_SCENARIO_SERIES_H
#define SIM_SCENARIO_SERIES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/sbuf.h"

struct metric;

#define SERIES_MAX_SAMPLES 1024
#define SERIES_MAX_PHASES 256
#define SERIES_MAX_METRICS 32

enum series_phase_kind { SERIES_IDLE, SERIES_DRIVE, SERIES_CHARGE };

struct series_phase {
  enum series_phase_kind kind;
  int64_t start, end; /* ns since the run started; end -1 while it lasts */
  const char *step;   /* the name of the step that began it (borrowed), or NULL */
};

struct series {
  const struct metric *m[SERIES_MAX_METRICS]; /* borrowed */
  size_t nm;
  int64_t tick_ns;  /* the sampling base (the physics tick) */
  uint64_t stride;  /* ticks between kept samples (a power of two) */
  uint64_t ticks;   /* samples offered */
  size_t n;         /* kept */
  int64_t *t;       /* n (+ the latest) times, ns since the run started */
  double *v;        /* row-major: sample i, metric j at v[i * nm + j]; NaN = undefined */
  int64_t last_t;   /* the latest sample, kept apart */
  double last_v[SERIES_MAX_METRICS];
  bool have_last;
  struct series_phase phases[SERIES_MAX_PHASES];
  size_t nphases;
  bool phases_truncated;
};

/* Sets s up to sample every tick_ns. */
void series_init(struct series *s, int64_t tick_ns);
void series_cleanup(struct series *s);
/* Adds m (borrowed; numeric or bool) to the sampled metrics, before the first sample.
 * Returns 0 (also if it is there already), SIM_ESTATE after the first sample, SIM_ELIMIT
 * beyond SERIES_MAX_METRICS. */
int series_add(struct series *s, const struct metric *m);
/* Samples every metric at t (ns since the run started) and notes the phase the car is in
 * (step: the name of the step running, borrowed, or NULL). */
void series_sample(struct series *s, int64_t t, enum series_phase_kind phase, const char *step);
/* Appends ,"series":{...},"phases":[...] (the report fields, docs/scenarios.md). */
void series_json(const struct series *s, struct sbuf *out);

#endif
