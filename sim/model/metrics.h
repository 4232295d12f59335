/*
 * metrics.h - the OVMS metrics model.
 *
 * A registry of named, typed values kept in ASCII (strcmp) order, as the firmware's
 * OvmsMetrics list is (OvmsMetrics::RegisterMetric() in V3/main/ovms_metrics.cpp).  It holds
 * every standard metric
 * of metrics_std.def from creation on, plus vehicle metrics registered at run time.
 *
 * Semantics follow the firmware's OvmsMetric:
 *  - a metric is never-defined until first set; any set makes it defined and not stale and
 *    stamps lastmodified with the simulation clock's monotonic time;
 *  - only a set that changes the value marks it modified: every consumer's bit (up to
 *    METRICS_MAX_MODIFIERS consumers, each owning one slot) is set and listeners are called;
 *  - the payload is formatted exactly as AsString() with its default arguments (as
 *    OvmsServerV3::TransmitMetric() calls it): no unit, native unit always.
 *
 * Metric objects are owned by the registry and stay valid (same address) until metrics_free(),
 * so callers look a metric up once and keep the pointer (decoders do this at start-up; the
 * frame path then does no look-ups and no allocation).
 */
#ifndef SIM_METRICS_H
#define SIM_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/sbuf.h"
#include "model/units.h"

struct sim_loop;

#define METRICS_MAX_MODIFIERS 32

enum metric_type {
  METRIC_BOOL,       /* bool: yes/no */
  METRIC_INT,        /* int32_t */
  METRIC_INT64,      /* int64_t */
  METRIC_FLOAT,      /* float (single precision, as the firmware) */
  METRIC_STRING,     /* bytes, no NUL inside */
  METRIC_VEC_FLOAT,  /* vector<float> */
  METRIC_VEC_INT,    /* vector<short>/vector<int>, stored as int32_t */
  METRIC_BITSET,     /* bitset<N,start>, N <= 64 */
  METRIC_SET_INT,    /* set<int>: sorted, unique */
  METRIC_SET_STRING, /* set<string>: sorted (strcmp), unique */
};

enum metric_defined { METRIC_NEVER_DEFINED, METRIC_FIRST_DEFINED, METRIC_DEFINED };

/* Autostale periods of the firmware (SM_STALE_*), seconds. */
enum {
  SM_STALE_NONE = 0,
  SM_STALE_MIN = 10,
  SM_STALE_MID = 120,
  SM_STALE_HIGH = 3600,
  SM_STALE_MAX = 65535
};

/* metric.flags */
#define METRIC_F_FIXED6 0x01  /* float formatted %.6f (latitude/longitude, SetFormat(6,true)) */
#define METRIC_F_PERSIST 0x02 /* persistent in the firmware */
#define METRIC_F_VEHICLE 0x04 /* registered at run time (name owned by the registry) */
#define METRIC_F_HIDDEN 0x08  /* never created on a real module (e.g. without MAX7317) */
#define METRIC_F_LISTENED 0x10 /* a listener names it exactly (see metrics_listen()) */

struct metrics;

struct metric {
  const char *name;
  struct metrics *reg;     /* owning registry */
  uint8_t type;            /* enum metric_type */
  uint8_t unit;            /* enum sim_unit: the native unit */
  uint8_t defined;         /* enum metric_defined */
  uint8_t flags;           /* METRIC_F_* */
  uint16_t autostale;      /* seconds; 0 = never stale */
  uint8_t bits;            /* METRIC_BITSET: number of bits N */
  int8_t bit_start;        /* METRIC_BITSET: number of the first bit */
  uint32_t modified;       /* one bit per consumer slot */
  int64_t lastmodified;    /* simulation monotonic ns of the last set */
  union {
    bool b;
    int32_t i;
    int64_t l;
    float f;
    uint64_t bits;
  } v;
  /* Storage of STRING (char[n+1]), VEC_FLOAT (float[n]), VEC_INT/SET_INT (int32_t[n]),
   * SET_STRING (char *[n]).  Capacity is kept when values shrink. */
  void *data;
  uint32_t n, cap;
};

/* Called after a metric changed value.  See metrics_listen(). */
typedef void (*metric_listener_fn)(void *ctx, struct metric *m);

/*
 * Creates a registry holding every standard metric (never-defined).  loop supplies the
 * simulation monotonic time for lastmodified and staleness; it may be NULL (time 0, used by
 * tests of pure formatting).  The caller owns the result; free it with metrics_free().
 */
struct metrics *metrics_new(struct sim_loop *loop);
void metrics_free(struct metrics *ms);

/* The metric called name, or NULL.  Binary search; O(log n). */
struct metric *metrics_find(struct metrics *ms, const char *name);

/*
 * Registers a vehicle metric (e.g. "xnl.v.b.soc.nominal") at run time.  If a metric of that
 * name and type already exists it is returned (as the firmware's constructors tolerate).
 * type METRIC_BITSET uses bits = 64, start = 0.  autostale in seconds.
 * Returns 0 and sets *out; SIM_EEXIST if it exists with another type; SIM_ERANGE for an empty
 * or over-long (> 127 bytes) name or one with characters other than [a-z0-9._-].
 */
int metrics_register(struct metrics *ms, const char *name, enum metric_type type,
                     enum sim_unit unit, unsigned autostale, struct metric **out);

/* Number of metrics, and the i-th in ASCII order (0 <= i < count).  Registering a vehicle
 * metric shifts indices: iterate again from the start after registering. */
size_t metrics_count(const struct metrics *ms);
struct metric *metrics_at(const struct metrics *ms, size_t i);
/* Number of standard metrics (the rows of metrics_std.def). */
size_t metrics_std_count(void);

/* Reserves a consumer slot for modified bits.  Returns the slot (0..31) or SIM_ELIMIT. */
int metrics_register_modifier(struct metrics *ms);

/*
 * Calls fn(ctx, m) after every value change of a metric matching pattern: an exact name,
 * "prefix*" or "*" (everything).  Listeners run synchronously inside the setter, in
 * registration order.  Returns 0, or SIM_ELIMIT after 256 listeners.
 */
int metrics_listen(struct metrics *ms, const char *pattern, metric_listener_fn fn, void *ctx);
/* Removes every listener registered with this fn and ctx. */
void metrics_unlisten(struct metrics *ms, metric_listener_fn fn, void *ctx);

/* True if the slot's bit is set; clears it. */
bool metric_test_and_clear_modified(struct metric *m, int slot);
bool metric_is_modified(const struct metric *m, int slot);

static inline bool metric_is_defined(const struct metric *m)
{
  return m->defined != METRIC_NEVER_DEFINED;
}
/* Lazily computed as the firmware's IsStale(): autostale > 0 and lastmodified + autostale <
 * now; a never-defined metric is stale. */
bool metric_is_stale(const struct metric *m);

/*
 * Setters.  Each takes the value in the metric's native unit (the *_unit variants convert from
 * the unit given, as SetValue(x, unit)), makes the metric defined and fresh, and, if the value
 * differs (floats compared with !=), sets all modified bits and calls the listeners.
 * Returns 1 if the value changed, 0 if not, SIM_ETYPE if the metric has another type
 * (a float setter accepts INT/INT64 metrics and rounds, an int setter accepts FLOAT metrics).
 */
int metric_set_bool(struct metric *m, bool v);
int metric_set_int(struct metric *m, int32_t v);
int metric_set_int64(struct metric *m, int64_t v);
int metric_set_float(struct metric *m, double v);
int metric_set_float_unit(struct metric *m, double v, enum sim_unit from);
int metric_set_string(struct metric *m, const char *s);
int metric_set_string_n(struct metric *m, const char *s, size_t len);
int metric_set_vec_float(struct metric *m, const float *v, size_t n);
int metric_set_vec_int(struct metric *m, const int32_t *v, size_t n);
/* Sets element i of a vector metric, growing it with zeros if needed (SetElemValue). */
int metric_set_vec_float_elem(struct metric *m, size_t i, float v);
int metric_set_vec_int_elem(struct metric *m, size_t i, int32_t v);
/* Bit positions are absolute (bit_start-based). */
int metric_set_bits(struct metric *m, uint64_t mask);

/*
 * Sets a metric from text, as `metrics set NAME VALUE`: bool accepts yes/no/true/false/on/off/
 * 1/0; numbers must parse completely; vectors, bitsets and sets take comma lists; date-unit
 * metrics accept epoch seconds or "YYYY-MM-DD HH:MM:SS" (UTC).  A number may carry a unit
 * suffix ("12 miles", "30psi", "68°F") or from may name the unit; the value is converted into
 * the native unit.  Returns 1/0 as the setters, SIM_EPARSE for text that is not a value of
 * the type, SIM_EUNSUP for a unit of another group.
 */
int metric_set_from_string(struct metric *m, const char *s, enum sim_unit from);

/* Makes the metric never-defined (Clear()).  Counts as a change if it was defined. */
void metric_clear(struct metric *m);

/* Getters; a never-defined metric reads as 0 / false / "". */
bool metric_bool(const struct metric *m);
int32_t metric_int(const struct metric *m);
int64_t metric_int64(const struct metric *m);
double metric_float(const struct metric *m);       /* any numeric type */
double metric_float_unit(const struct metric *m, enum sim_unit to);
const char *metric_string(const struct metric *m); /* STRING only; "" otherwise */

/* Version switches of the payload format (V3/main/metrics_standard.cpp at tag 3.3.005 added
 * SetFormat(6, true) for lat/lon).  Dates need none: OvmsMetricInt64::AsString() in
 * V3/main/ovms_metrics.cpp formats DateUTC/DateLocal as date strings at every tag from 3.3.004
 * on (AsString()'s default unit Other is Native, so the metric's own unit applies). */
struct metric_fmt {
  bool latlon_g; /* 3.3.004: latitude/longitude with %g instead of %.6f */
};

/*
 * Appends the metric's MQTT payload (the AsString() of V3/main/ovms_metrics.cpp, e.g.
 * OvmsMetricFloat::AsString()) to out: bool yes/no, int %d,
 * float %g (or %.6f), vectors and sets comma-joined without spaces, TimeUTC HH:MM:SS,
 * DateUTC "YYYY-MM-DD HH:MM:SS UTC", DateLocal "%F %T %Z" in the process time zone (see
 * sim_tz_set()).  A never-defined metric appends nothing.  fmt may be NULL (current firmware).
 */
void metric_format(const struct metric *m, const struct metric_fmt *fmt, struct sbuf *out);
/* Appends the value as JSON (CMT records, `metrics list` JSON): numbers, true/false, strings
 * quoted and escaped, vectors as arrays; null when never defined. */
void metric_format_json(const struct metric *m, struct sbuf *out);
/* Appends the value in `to` units with its label, for shell output ("85%", "12345.6km"). */
void metric_format_unit(const struct metric *m, enum sim_unit to, struct sbuf *out);

/* Name matching of the firmware's id filters: exact, "prefix*", "*suffix", "*". */
bool metric_name_match(const char *pattern, const char *name);

/* Sets the time zone used for DateLocal metrics (a POSIX TZ string, e.g. "CET-1CEST,M3.5.0,
 * M10.5.0/3").  NULL or "" selects "GMT0", which is what the firmware shows when unset.  The
 * setting is process-wide (TZ environment variable).  Returns 0. */
int sim_tz_set(const char *tz);

#endif
