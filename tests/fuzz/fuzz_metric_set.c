/*
 * fuzz_metric_set.c - libFuzzer target for metric values from text (metric_set_from_string,
 * as `metrics set NAME VALUE` and scenario `set:` steps) and the payload formatters.
 *
 * Input: byte 0 picks the metric among all metrics of a registry (every standard metric plus
 * vehicle metrics of the types the standard set lacks: int64, set<int>, set<string>, a 64-bit
 * bitset, an int date); byte 1 picks the unit the text is given in (mostly native); the rest
 * is the text.  The result must be 0/1 or SIM_EPARSE/SIM_ERANGE/SIM_EUNSUP.  After a
 * successful set, metric_format(), metric_format_json() and metric_format_unit() run, and the
 * round trip must hold: the formatted text, set again, formats to the same text.
 * Exceptions (documented in docs/fuzzing.md): DateUTC/DateLocal values outside the years
 * 1970..9999 (strftime writes years strptime does not read back); nothing else.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/array.h"
#include "model/metrics.h"
#include "core/sbuf.h"
#include "model/units.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const enum sim_unit all_units[] = {
#define XX(name, value, code, label, group) SIM_UNIT_##name,
  SIM_UNIT_MAP(XX)
#undef XX
};
#define N_UNITS (ARRAY_SIZE(all_units))

static struct metrics *registry(void)
{
  static struct metrics *ms;
  if (ms)
    return ms;
  sim_tz_set(NULL);
  ms = metrics_new(NULL);
  static const struct {
    const char *name;
    enum metric_type type;
    enum sim_unit unit;
  } extra[] = {
    {"xfz.int64", METRIC_INT64, SIM_UNIT_NATIVE},
    {"xfz.set.int", METRIC_SET_INT, SIM_UNIT_NATIVE},
    {"xfz.set.string", METRIC_SET_STRING, SIM_UNIT_NATIVE},
    {"xfz.bitset", METRIC_BITSET, SIM_UNIT_NATIVE},
    {"xfz.date32", METRIC_INT, SIM_UNIT_DATEUTC},
    {"xfz.time64", METRIC_INT64, SIM_UNIT_TIMEUTC},
    {"xfz.vec.int", METRIC_VEC_INT, SIM_UNIT_NATIVE},
    {"xfz.miles", METRIC_FLOAT, SIM_UNIT_MILES},
  };
  for (size_t i = 0; i < ARRAY_SIZE(extra); i++) {
    struct metric *m;
    if (metrics_register(ms, extra[i].name, extra[i].type, extra[i].unit, 0, &m) < 0)
      abort();
  }
  return ms;
}

static bool is_date(const struct metric *m)
{
  return (m->type == METRIC_INT || m->type == METRIC_INT64) &&
         (m->unit == SIM_UNIT_DATEUTC || m->unit == SIM_UNIT_DATELOCAL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 2)
    return 0;
  struct metrics *ms = registry();
  struct metric *m = metrics_at(ms, data[0] % metrics_count(ms));
  enum sim_unit from = data[1] < 192 ? SIM_UNIT_NATIVE : all_units[data[1] % N_UNITS];
  char *s = malloc(size - 1);
  memcpy(s, data + 2, size - 2);
  s[size - 2] = '\0';
  metric_clear(m);
  int r = metric_set_from_string(m, s, from);
  if (r != 0 && r != 1 && r != SIM_EPARSE && r != SIM_ERANGE && r != SIM_EUNSUP) {
    fprintf(stderr, "%s: '%s': unexpected result %d\n", m->name, s, r);
    abort();
  }
  if (r >= 0 && !metric_is_defined(m))
    abort();
  struct sbuf t1 = SBUF_INIT, t2 = SBUF_INIT, j = SBUF_INIT, u = SBUF_INIT;
  metric_format(m, NULL, &t1);
  metric_format_json(m, &j);
  metric_format_unit(m, all_units[(data[1] >> 2) % N_UNITS], &u);
  struct metric_fmt old = {.latlon_g = true};
  metric_format(m, &old, &u);
  if (r >= 0) {
    /* JSON numbers are never inf/nan */
    if (m->type != METRIC_STRING && m->type != METRIC_SET_STRING &&
        (strstr(sbuf_str(&j), "inf") || strstr(sbuf_str(&j), "nan"))) {
      fprintf(stderr, "%s: '%s': JSON %s\n", m->name, s, sbuf_str(&j));
      abort();
    }
    bool check = true;
    if (is_date(m)) {
      int64_t v = metric_int64(m);
      check = v >= 0 && v <= INT64_C(253402300799); /* 9999-12-31 23:59:59 */
    }
    if (check) {
      metric_clear(m);
      int r2 = metric_set_from_string(m, sbuf_str(&t1), SIM_UNIT_NATIVE);
      metric_format(m, NULL, &t2);
      if (r2 < 0 || strcmp(sbuf_str(&t1), sbuf_str(&t2))) {
        fprintf(stderr, "%s: '%s' formats as '%s', which sets (%d) and formats as '%s'\n",
                m->name, s, sbuf_str(&t1), r2, sbuf_str(&t2));
        abort();
      }
    }
  }
  sbuf_free(&t1);
  sbuf_free(&t2);
  sbuf_free(&j);
  sbuf_free(&u);
  free(s);
  return 0;
}
