/*
 * scenario_parse.c - the scenario loader: YAML text in, a validated struct scenario out.
 *
 * libyaml's document API gives a node tree where every node carries its start mark; the
 * walker below checks it against the scenario schema (docs/scenarios.md) section by section.
 * Every problem is recorded with file:line:col and the walk continues, so one validation run
 * lists all errors.  Broken YAML stops at libyaml's error (there is no tree to walk then).
 * Metric names and values in `set:` and `expect:` are checked against a scratch metrics
 * registry, so a typo in a metric name or a value of the wrong type is found before the run.
 */
#include "scenario/scenario.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <regex.h>
#include <time.h>
#include <yaml.h>

#include "core/array.h"
#include "core/error.h"
#include "model/metrics.h"
#include "notify/notify.h"
#include "core/parse.h"
#include "core/strset.h"
#include "core/tz.h"
#include "core/loop.h"
#include "core/xalloc.h"
#include "vehicle/fault.h"

/* ---- quantities ------------------------------------------------------------------------- */

struct unit_row {
  const char *suffix;
  double factor;
};

static const struct unit_row u_distance[] = {
  {"km", 1}, {"mi", 1.609344}, {"miles", 1.609344}, {"m", 0.001}, {NULL, 0}};
static const struct unit_row u_speed[] = {
  {"kmh", 1}, {"km/h", 1}, {"kph", 1}, {"mph", 1.609344}, {"m/s", 3.6}, {NULL, 0}};
static const struct unit_row u_power[] = {{"kW", 1}, {"kw", 1}, {"W", 0.001}, {NULL, 0}};
static const struct unit_row u_energy[] = {{"kWh", 1}, {"kwh", 1}, {"Wh", 0.001}, {NULL, 0}};
static const struct unit_row u_consumption[] = {
  {"Wh/km", 1}, {"Wh/mi", 1 / 1.609344}, {"kWh/100km", 10}, {NULL, 0}};
static const struct unit_row u_percent[] = {{"%", 1}, {NULL, 0}};
static const struct unit_row u_current[] = {{"A", 1}, {NULL, 0}};
static const struct unit_row u_voltage[] = {{"V", 1}, {NULL, 0}};
static const struct unit_row u_pressure[] = {
  {"kPa", 1}, {"kpa", 1}, {"psi", 6.894757}, {"bar", 100}, {NULL, 0}};
static const struct unit_row u_accel[] = {{"m/s2", 1}, {"m/s\xc2\xb2", 1}, {NULL, 0}};
static const struct unit_row u_resistance[] = {
  {"ohm", 1}, {"\xe2\x84\xa6", 1}, {"mohm", 0.001}, {NULL, 0}};
static const struct unit_row u_none[] = {{NULL, 0}};

/* Reads a plain decimal number (no hex, inf or nan) at s; returns the end or NULL. */
static const char *read_number(const char *s, double *out)
{
  const char *q = s;
  if (*q == '+' || *q == '-')
    q++;
  if (!isdigit((unsigned char)*q) && !(*q == '.' && isdigit((unsigned char)q[1])))
    return NULL;
  if (q[0] == '0' && (q[1] == 'x' || q[1] == 'X'))
    return NULL;
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (end == s || errno == ERANGE || !isfinite(v))
    return NULL;
  *out = v;
  return end;
}

/* A duration in seconds (parse.h's syntax: "90", "90s", "15min", "1h30m", "500ms", "1d"). */
static int parse_seconds(const char *s, double *out)
{
  int64_t ns;
  int r = parse_duration(s, &ns);
  if (r < 0)
    return r;
  *out = (double)ns / 1e9;
  return 0;
}

static int parse_temp(const char *s, double *out)
{
  double v;
  const char *end = read_number(s, &v);
  if (!end)
    return SIM_EPARSE;
  while (*end == ' ')
    end++;
  if (!strncmp(end, "\xc2\xb0", 2))
    end += 2;
  if (*end == '\0' || !strcmp(end, "C")) {
    *out = v;
    return 0;
  }
  if (!strcmp(end, "F")) {
    *out = (v - 32.0) * 5.0 / 9.0;
    return 0;
  }
  return SIM_EPARSE;
}

int scenario_parse_qty(const char *text, enum scenario_qty kind, double *out)
{
  if (!text)
    return SIM_EPARSE;
  if (kind == QTY_DURATION)
    return parse_seconds(text, out);
  if (kind == QTY_TEMP)
    return parse_temp(text, out);
  const struct unit_row *tab;
  switch (kind) {
  case QTY_DISTANCE: tab = u_distance; break;
  case QTY_SPEED: tab = u_speed; break;
  case QTY_POWER: tab = u_power; break;
  case QTY_ENERGY: tab = u_energy; break;
  case QTY_CONSUMPTION: tab = u_consumption; break;
  case QTY_PERCENT: tab = u_percent; break;
  case QTY_CURRENT: tab = u_current; break;
  case QTY_VOLTAGE: tab = u_voltage; break;
  case QTY_PRESSURE: tab = u_pressure; break;
  case QTY_ACCEL: tab = u_accel; break;
  case QTY_RESISTANCE: tab = u_resistance; break;
  default: tab = u_none; break;
  }
  double v;
  const char *end = read_number(text, &v);
  if (!end)
    return SIM_EPARSE;
  while (*end == ' ')
    end++;
  if (*end == '\0') {
    *out = v;
    return 0;
  }
  for (const struct unit_row *r = tab; r->suffix; r++) {
    if (!strcmp(end, r->suffix)) {
      *out = v * r->factor;
      return 0;
    }
  }
  return SIM_EPARSE;
}

static const char *qty_hint(enum scenario_qty kind)
{
  switch (kind) {
  case QTY_DURATION: return "a duration such as 90s, 15min, 2h or 1h30m";
  case QTY_DISTANCE: return "a distance such as 12km, 8mi or 500m";
  case QTY_SPEED: return "a speed such as 50kmh or 30mph";
  case QTY_POWER: return "a power such as 7kW or 7400W";
  case QTY_ENERGY: return "an energy such as 40kWh";
  case QTY_CONSUMPTION: return "a consumption such as 160Wh/km, 250Wh/mi or 16kWh/100km";
  case QTY_TEMP: return "a temperature such as 20C or 68F";
  case QTY_PERCENT: return "a percentage such as 90%";
  case QTY_CURRENT: return "a current such as 32A";
  case QTY_VOLTAGE: return "a voltage such as 230V";
  case QTY_PRESSURE: return "a pressure such as 250kPa, 36psi or 2.5bar";
  case QTY_ACCEL: return "an acceleration such as 1.5m/s2";
  case QTY_RESISTANCE: return "a resistance such as 0.08ohm";
  default: return "a number";
  }
}

/* The unit a range message is written in, for kind (base units). */
static const char *qty_unit(enum scenario_qty kind)
{
  switch (kind) {
  case QTY_DURATION: return "s";
  case QTY_DISTANCE: return "km";
  case QTY_SPEED: return "km/h";
  case QTY_POWER: return "kW";
  case QTY_ENERGY: return "kWh";
  case QTY_CONSUMPTION: return "Wh/km";
  case QTY_TEMP: return "\xc2\xb0" "C";
  case QTY_PERCENT: return "%";
  case QTY_CURRENT: return "A";
  case QTY_VOLTAGE: return "V";
  case QTY_PRESSURE: return "kPa";
  case QTY_ACCEL: return "m/s2";
  case QTY_RESISTANCE: return "ohm";
  default: return "";
  }
}

/* ---- the walker ------------------------------------------------------------------------- */

struct parser {
  yaml_document_t doc;
  const char *file;
  struct sim_diag *d;
  struct scenario *sc;
  struct metrics *scratch;
  size_t errors;
  /* the checks of app: steps, merged into sc->expects at the end (merge_app_checks()) */
  struct scenario_expect *app_checks;
  size_t n_app_checks, cap_app_checks;
  /* the app ids connected at the step being parsed (an app step's state is checked in
   * timeline order) */
  char **apps_up;
  size_t n_apps_up, cap_apps_up;
};

static yaml_node_t *node(struct parser *p, int i)
{
  return yaml_document_get_node(&p->doc, i);
}

static void err(struct parser *p, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void err(struct parser *p, const yaml_node_t *n, const char *fmt, ...)
{
  struct sbuf msg = SBUF_INIT;
  va_list ap;
  va_start(ap, fmt);
  sbuf_vprintf(&msg, fmt, ap);
  va_end(ap);
  int line = n ? (int)n->start_mark.line + 1 : 0;
  int col = n ? (int)n->start_mark.column + 1 : 0;
  sim_diag_error(p->d, p->file, line, col, "%s", sbuf_str(&msg));
  sbuf_free(&msg);
  p->errors++;
}

static const char *kind_name(const yaml_node_t *n)
{
  switch (n->type) {
  case YAML_SCALAR_NODE: return "a scalar";
  case YAML_SEQUENCE_NODE: return "a list";
  case YAML_MAPPING_NODE: return "a mapping";
  default: return "nothing";
  }
}

/* The text of a scalar node, or NULL (with an error naming what was expected). */
static const char *scalar(struct parser *p, const yaml_node_t *n, const char *what)
{
  if (n->type != YAML_SCALAR_NODE) {
    err(p, n, "expected %s, got %s", what, kind_name(n));
    return NULL;
  }
  return (const char *)n->data.scalar.value;
}

static bool is_null_scalar(const yaml_node_t *n)
{
  if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
    return false;
  const char *s = (const char *)n->data.scalar.value;
  return !*s || !strcmp(s, "~") || !strcmp(s, "null");
}

static int get_qty(struct parser *p, const yaml_node_t *n, enum scenario_qty kind, double min,
                   double max, double *out)
{
  const char *s = scalar(p, n, qty_hint(kind));
  if (!s)
    return SIM_EPARSE;
  double v;
  if (scenario_parse_qty(s, kind, &v) < 0) {
    err(p, n, "expected %s, got '%s'", qty_hint(kind), s);
    return SIM_EPARSE;
  }
  if (v < min || v > max) {
    const char *u = qty_unit(kind);
    err(p, n, "%s is out of range (%.10g..%.10g%s%s)", s, min, max, *u ? " " : "", u);
    return SIM_ERANGE;
  }
  if (kind == QTY_PERCENT && v > 0 && v < 1 && !strchr(s, '%'))
    /* a fraction where a percentage is meant (soc: 0.7 for 70 %) is legal but suspicious */
    sim_diag_warn(p->d, p->file, (int)n->start_mark.line + 1, (int)n->start_mark.column + 1,
                  "%s means %s %%, not %.10g %%: write %.10g%% if that is meant", s, s,
                  v * 100, v * 100);
  *out = v;
  return 0;
}

static int get_bool(struct parser *p, const yaml_node_t *n, bool *out)
{
  const char *s = scalar(p, n, "yes or no");
  if (!s)
    return SIM_EPARSE;
  if (parse_bool(s, out) < 0) {
    err(p, n, "expected yes or no, got '%s'", s);
    return SIM_EPARSE;
  }
  return 0;
}

static int get_int(struct parser *p, const yaml_node_t *n, long min, long max, long *out)
{
  const char *s = scalar(p, n, "an integer");
  if (!s)
    return SIM_EPARSE;
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (end == s || *end || errno) {
    err(p, n, "expected an integer, got '%s'", s);
    return SIM_EPARSE;
  }
  if (v < min || v > max) {
    err(p, n, "%s is out of range (%ld..%ld)", s, min, max);
    return SIM_ERANGE;
  }
  *out = v;
  return 0;
}

/* Replaces *dst with a copy of the scalar (errors leave it alone). */
static int get_str(struct parser *p, const yaml_node_t *n, char **dst)
{
  const char *s = scalar(p, n, "a string");
  if (!s)
    return SIM_EPARSE;
  free(*dst);
  *dst = xstrdup(s);
  return 0;
}

/*
 * Iterates over a mapping node's pairs, checking keys against a key table: unknown and
 * duplicate keys are reported.  A key table is an array of rows whose first member is the key
 * (const char *), ended by a row with a NULL key; stride is the size of a row.  A plain
 * NULL-terminated list of names is such a table with stride sizeof(char *) (mapping()).
 * fn(p, idx, key node, value node, ctx) handles a known key, idx being its row.  what names
 * the section in messages.
 */
typedef void (*pair_fn)(struct parser *p, int idx, yaml_node_t *k, yaml_node_t *v, void *ctx);

static const char *key_at(const void *rows, size_t stride, int i)
{
  return *(const char *const *)((const char *)rows + (size_t)i * stride);
}

static void key_list(const void *rows, size_t stride, struct sbuf *out)
{
  for (int i = 0; key_at(rows, stride, i); i++) {
    if (i)
      sbuf_adds(out, ", ");
    sbuf_adds(out, key_at(rows, stride, i));
  }
}

/* "unknown key": with "did you mean 'capacity'?" when one key is close (edit_close), and
 * the list of the keys. */
static void unknown_key(struct parser *p, yaml_node_t *k, const char *ks, const char *what,
                        const void *rows, size_t stride)
{
  const char *best = NULL;
  unsigned bestd = 0;
  for (int i = 0; key_at(rows, stride, i); i++) {
    const char *cand = key_at(rows, stride, i);
    unsigned d = edit_distance(ks, cand);
    if (edit_close(ks, cand) && (!best || d < bestd)) {
      best = cand;
      bestd = d;
    }
  }
  struct sbuf l = SBUF_INIT;
  key_list(rows, stride, &l);
  if (best)
    err(p, k, "unknown key '%s' in %s: did you mean '%s'? (expected one of: %s)", ks, what,
        best, sbuf_str(&l));
  else
    err(p, k, "unknown key '%s' in %s (expected one of: %s)", ks, what, sbuf_str(&l));
  sbuf_free(&l);
}

static bool mapping_rows(struct parser *p, yaml_node_t *n, const char *what, const void *rows,
                         size_t stride, pair_fn fn, void *ctx)
{
  if (n->type != YAML_MAPPING_NODE) {
    err(p, n, "%s must be a mapping, got %s", what, kind_name(n));
    return false;
  }
  uint64_t seen = 0;
  for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top;
       pr++) {
    yaml_node_t *k = node(p, pr->key), *v = node(p, pr->value);
    if (!k || !v)
      continue;
    const char *ks = scalar(p, k, "a key");
    if (!ks)
      continue;
    int idx = -1;
    for (int i = 0; key_at(rows, stride, i); i++) {
      if (!strcmp(key_at(rows, stride, i), ks)) {
        idx = i;
        break;
      }
    }
    if (idx < 0) {
      unknown_key(p, k, ks, what, rows, stride);
      continue;
    }
    if (seen & (UINT64_C(1) << idx)) {
      err(p, k, "duplicate key '%s' in %s", ks, what);
      continue;
    }
    seen |= UINT64_C(1) << idx;
    fn(p, idx, k, v, ctx);
  }
  return true;
}

static bool mapping(struct parser *p, yaml_node_t *n, const char *what, const char *const *keys,
                    pair_fn fn, void *ctx)
{
  return mapping_rows(p, n, what, keys, sizeof(*keys), fn, ctx);
}

/* ---- vehicle ------------------------------------------------------------------------------ */

static void point_defaults(struct scenario_point *pt)
{
  pt->lat = NAN;
  pt->lon = NAN;
  pt->alt = 0;
  pt->speed = 0;
  pt->name = NULL;
}

static const char *const point_keys[] = {"lat", "lon", "alt", "speed", "name", NULL};

static void point_pair(struct parser *p, int idx, yaml_node_t *k, yaml_node_t *v, void *ctx)
{
  struct scenario_point *pt = ctx;
  switch (idx) {
  case 0: get_qty(p, v, QTY_NUMBER, -90, 90, &pt->lat); break;
  case 1: get_qty(p, v, QTY_NUMBER, -180, 180, &pt->lon); break;
  case 2: {
    const char *s = scalar(p, v, "an altitude in metres");
    double a;
    if (s) {
      size_t l = strlen(s);
      char tmp[64];
      if (l > 1 && l < sizeof(tmp) && s[l - 1] == 'm' && s[l - 2] != 'k') {
        memcpy(tmp, s, l - 1);
        tmp[l - 1] = 0;
        s = tmp;
      }
      if (scenario_parse_qty(s, QTY_NUMBER, &a) < 0)
        err(p, v, "expected an altitude in metres such as 34 or 34m, got '%s'",
            (const char *)v->data.scalar.value);
      else if (a < -500 || a > 9000)
        err(p, v, "%s is out of range (-500..9000 m)", (const char *)v->data.scalar.value);
      else
        pt->alt = a;
    }
    break;
  }
  case 3: get_qty(p, v, QTY_SPEED, 1, 400, &pt->speed); break;
  case 4: get_str(p, v, &pt->name); break;
  }
  (void)k;
}

/* A point is {lat, lon, alt, speed, name} or a flow list [lat, lon] / [lat, lon, alt]. */
static bool get_point(struct parser *p, yaml_node_t *n, struct scenario_point *pt,
                      const char *what)
{
  point_defaults(pt);
  if (n->type == YAML_SEQUENCE_NODE) {
    int cnt = (int)(n->data.sequence.items.top - n->data.sequence.items.start);
    if (cnt < 2 || cnt > 3) {
      err(p, n, "%s as a list must be [lat, lon] or [lat, lon, alt]", what);
      return false;
    }
    yaml_node_t *a = node(p, n->data.sequence.items.start[0]);
    yaml_node_t *b = node(p, n->data.sequence.items.start[1]);
    get_qty(p, a, QTY_NUMBER, -90, 90, &pt->lat);
    get_qty(p, b, QTY_NUMBER, -180, 180, &pt->lon);
    if (cnt == 3)
      get_qty(p, node(p, n->data.sequence.items.start[2]), QTY_NUMBER, -500, 9000, &pt->alt);
    return !isnan(pt->lat) && !isnan(pt->lon);
  }
  size_t before = p->errors;
  if (!mapping(p, n, what, point_keys, point_pair, pt))
    return false;
  if (p->errors == before) {
    if (isnan(pt->lat))
      err(p, n, "%s needs 'lat'", what);
    if (isnan(pt->lon))
      err(p, n, "%s needs 'lon'", what);
  }
  return !isnan(pt->lat) && !isnan(pt->lon);
}

/* The vehicle section's special values: checked strings, lists, a point. */
static void vehicle_id(struct parser *p, yaml_node_t *v, struct scenario_vehicle *vh);
static void vehicle_timezone(struct parser *p, yaml_node_t *v, struct scenario_vehicle *vh);
static void vehicle_tpms(struct parser *p, yaml_node_t *v, struct scenario_vehicle *vh);
static void vehicle_location(struct parser *p, yaml_node_t *v, struct scenario_vehicle *vh);

enum vkey_kind {
  VK_QTY,      /* a quantity in [min, max] (a double) */
  VK_FRACTION, /* a percentage in [min, max], stored as a fraction 0..1 (a double) */
  VK_INT,      /* an integer in [min, max] (an int) */
  VK_BOOL,     /* yes/no (a bool) */
  VK_STR,      /* a string (a char *, owned; default NULL) */
  VK_CUSTOM,   /* parsed by fn; its default is set in vehicle_defaults() */
};

/*
 * One key of the vehicle section, in the order of the "expected one of" message: where its
 * value goes (offset into struct scenario_vehicle), how it is read and its default.  A row
 * with from set has no fixed default: when the file does not give the key, it is def times
 * the value of the key from (ideal_consumption: 0.9 x consumption).
 */
struct vehicle_key {
  const char *key;
  enum vkey_kind kind;
  enum scenario_qty qty;
  double min, max;
  size_t offset;
  double def;
  const char *from;
  void (*fn)(struct parser *p, yaml_node_t *v, struct scenario_vehicle *vh);
};

#define VOFF(f) offsetof(struct scenario_vehicle, f)
static const struct vehicle_key vehicle_keys[] = {
  {"type", VK_STR, 0, 0, 0, VOFF(type), 0, NULL, NULL},
  {"model", VK_STR, 0, 0, 0, VOFF(model), 0, NULL, NULL},
  {"id", VK_CUSTOM, 0, 0, 0, 0, 0, NULL, vehicle_id},
  {"vin", VK_STR, 0, 0, 0, VOFF(vin), 0, NULL, NULL},
  {"timezone", VK_CUSTOM, 0, 0, 0, 0, 0, NULL, vehicle_timezone},
  {"capacity", VK_QTY, QTY_ENERGY, 1, 1000, VOFF(capacity_kwh), 40, NULL, NULL},
  {"soh", VK_QTY, QTY_PERCENT, 1, 100, VOFF(soh), 100, NULL, NULL},
  {"soc", VK_QTY, QTY_PERCENT, 0, 100, VOFF(soc), 80, NULL, NULL},
  {"cells", VK_INT, 0, 1, 400, VOFF(cells), 96, NULL, NULL},
  {"cell_vmin", VK_QTY, QTY_VOLTAGE, 1, 5, VOFF(cell_vmin), 3.0, NULL, NULL},
  {"cell_vmax", VK_QTY, QTY_VOLTAGE, 1, 5, VOFF(cell_vmax), 4.2, NULL, NULL},
  {"resistance", VK_QTY, QTY_RESISTANCE, 0, 2, VOFF(resistance), 0.08, NULL, NULL},
  {"consumption", VK_QTY, QTY_CONSUMPTION, 30, 2000, VOFF(consumption), 160, NULL, NULL},
  {"ideal_consumption", VK_QTY, QTY_CONSUMPTION, 30, 2000, VOFF(ideal_consumption), 0.9,
   "consumption", NULL},
  {"mass", VK_QTY, QTY_NUMBER, 100, 50000, VOFF(mass), 1600, NULL, NULL},
  {"regen", VK_FRACTION, QTY_PERCENT, 0, 100, VOFF(regen), 0.6, NULL, NULL},
  {"max_speed", VK_QTY, QTY_SPEED, 10, 400, VOFF(max_speed), 150, NULL, NULL},
  {"accel", VK_QTY, QTY_ACCEL, 0.1, 10, VOFF(accel), 1.5, NULL, NULL},
  {"decel", VK_QTY, QTY_ACCEL, 0.1, 10, VOFF(decel), 2.0, NULL, NULL},
  {"rpm_per_kmh", VK_QTY, QTY_NUMBER, 0, 1000, VOFF(rpm_per_kmh), 112, NULL, NULL},
  {"aux_power", VK_QTY, QTY_POWER, 0, 20, VOFF(aux_power), 0.25, NULL, NULL},
  {"hvac_power", VK_QTY, QTY_POWER, 0, 20, VOFF(hvac_power), 3, NULL, NULL},
  {"ac_power", VK_QTY, QTY_POWER, 1, 43, VOFF(ac_power), 7.4, NULL, NULL},
  {"dc_power", VK_QTY, QTY_POWER, 1, 500, VOFF(dc_power), 50, NULL, NULL},
  {"charge_efficiency", VK_FRACTION, QTY_PERCENT, 50, 100, VOFF(charge_efficiency), 0.9, NULL,
   NULL},
  {"odometer", VK_QTY, QTY_DISTANCE, 0, 10000000, VOFF(odometer), 10000, NULL, NULL},
  {"ambient", VK_QTY, QTY_TEMP, -50, 60, VOFF(ambient), 15, NULL, NULL},
  {"cabin_temp", VK_QTY, QTY_TEMP, -50, 80, VOFF(cabin_temp), 1, "ambient", NULL},
  {"battery_temp", VK_QTY, QTY_TEMP, -40, 70, VOFF(battery_temp), 1, "ambient", NULL},
  {"setpoint", VK_QTY, QTY_TEMP, 10, 35, VOFF(setpoint), 21, NULL, NULL},
  {"v12", VK_QTY, QTY_VOLTAGE, 8, 16, VOFF(v12), 12.6, NULL, NULL},
  {"locked", VK_BOOL, 0, 0, 0, VOFF(locked), true, NULL, NULL},
  {"noise", VK_BOOL, 0, 0, 0, VOFF(noise), true, NULL, NULL},
  {"charge_limit", VK_QTY, QTY_PERCENT, 10, 100, VOFF(charge_limit), 100, NULL, NULL},
  {"tpms", VK_CUSTOM, 0, 0, 0, 0, 0, NULL, vehicle_tpms},
  {"location", VK_CUSTOM, 0, 0, 0, 0, 0, NULL, vehicle_location},
  {"heading", VK_QTY, QTY_NUMBER, 0, 360, VOFF(heading), 0, NULL, NULL},
  {"cell_metrics", VK_BOOL, 0, 0, 0, VOFF(cell_metrics), false, NULL, NULL},
  {NULL, 0, 0, 0, 0, 0, 0, NULL, NULL},
};
#undef VOFF

/* The default location: Berlin, 52.520008 N 13.404954 E, 34 m. */
static const struct scenario_point default_location = {52.520008, 13.404954, 34, 0, NULL};

/* Which rows of vehicle_keys the file gave (bit i = row i). */
struct vehicle_ctx {
  uint64_t given;
};

static bool valid_id(const char *s)
{
  if (!*s || strlen(s) > 32)
    return false;
  for (; *s; s++)
    if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_')
      return false;
  return true;
}

static void vehicle_id(struct parser *p, yaml_node_t *v, struct scenario_vehicle *vh)
{
  if (get_str(p, v, &vh->id) == 0 && !valid_id(vh->id))
    err(p, v, "vehicle id '%s' must be 1-32 letters, digits, '-' or '_'", vh->id);
}

static void vehicle_timezone(struct parser *p, yaml_node_t *v, struct scenario_vehicle *vh)
{
  size_t off;
  const char *why;
  if (get_str(p, v, &vh->timezone) == 0 && (why = sim_tz_check(vh->timezone, &off)))
    err(p, v, "invalid timezone '%s' at character %zu: %s (a POSIX TZ string, e.g. "
              "\"CET-1CEST,M3.5.0,M10.5.0/3\")", vh->timezone, off + 1, why);
}

static void vehicle_tpms(struct parser *p, yaml_node_t *v, struct scenario_vehicle *vh)
{
  if (v->type != YAML_SEQUENCE_NODE ||
      v->data.sequence.items.top - v->data.sequence.items.start != 4) {
    err(p, v, "tpms must be a list of 4 pressures (FL, FR, RL, RR)");
    return;
  }
  for (int i = 0; i < 4; i++)
    get_qty(p, node(p, v->data.sequence.items.start[i]), QTY_PRESSURE, 0, 1000,
            &vh->tpms_kpa[i]);
}

static void vehicle_location(struct parser *p, yaml_node_t *v, struct scenario_vehicle *vh)
{
  struct scenario_point pt;
  if (get_point(p, v, &pt, "location")) {
    free(vh->location.name);
    vh->location = pt;
  } else {
    free(pt.name);
  }
}

static void vehicle_pair(struct parser *p, int idx, yaml_node_t *k, yaml_node_t *v, void *ctxp)
{
  struct vehicle_ctx *ctx = ctxp;
  const struct vehicle_key *r = &vehicle_keys[idx];
  struct scenario_vehicle *vh = &p->sc->vehicle;
  char *field = (char *)vh + r->offset;
  double d;
  long l;
  int rc = 0;
  switch (r->kind) {
  case VK_QTY: rc = get_qty(p, v, r->qty, r->min, r->max, (double *)(void *)field); break;
  case VK_FRACTION:
    if ((rc = get_qty(p, v, r->qty, r->min, r->max, &d)) == 0)
      *(double *)(void *)field = d / 100;
    break;
  case VK_INT:
    if ((rc = get_int(p, v, (long)r->min, (long)r->max, &l)) == 0)
      *(int *)(void *)field = (int)l;
    break;
  case VK_BOOL: rc = get_bool(p, v, (bool *)(void *)field); break;
  case VK_STR: rc = get_str(p, v, (char **)(void *)field); break;
  case VK_CUSTOM: r->fn(p, v, vh); break;
  }
  if (rc == 0)
    ctx->given |= UINT64_C(1) << idx;
  (void)k;
}

static const struct vehicle_key *vehicle_key(const char *key)
{
  for (const struct vehicle_key *r = vehicle_keys; r->key; r++)
    if (!strcmp(r->key, key))
      return r;
  return NULL;
}

/* Sets the derived defaults (rows with from) the file did not give. */
static void vehicle_derive(struct scenario_vehicle *v, uint64_t given)
{
  for (int i = 0; vehicle_keys[i].key; i++) {
    const struct vehicle_key *r = &vehicle_keys[i];
    if (!r->from || (given & (UINT64_C(1) << i)))
      continue;
    const char *src = (const char *)v + vehicle_key(r->from)->offset;
    *(double *)(void *)((char *)v + r->offset) = r->def * *(const double *)(const void *)src;
  }
}

static void vehicle_defaults(struct scenario_vehicle *v)
{
  memset(v, 0, sizeof(*v));
  for (const struct vehicle_key *r = vehicle_keys; r->key; r++) {
    char *field = (char *)v + r->offset;
    if (r->from)
      continue;
    switch (r->kind) {
    case VK_QTY:
    case VK_FRACTION: *(double *)(void *)field = r->def; break;
    case VK_INT: *(int *)(void *)field = (int)r->def; break;
    case VK_BOOL: *(bool *)(void *)field = r->def != 0; break;
    case VK_STR:
    case VK_CUSTOM: break;
    }
  }
  v->location = default_location;
  /* parse_vehicle() derives them again from what the file gives */
  vehicle_derive(v, 0);
}

static void parse_vehicle(struct parser *p, yaml_node_t *n)
{
  struct vehicle_ctx ctx = {0};
  struct scenario_vehicle *v = &p->sc->vehicle;
  mapping_rows(p, n, "vehicle", vehicle_keys, sizeof(vehicle_keys[0]), vehicle_pair, &ctx);
  vehicle_derive(v, ctx.given);
  if (v->cell_vmax <= v->cell_vmin)
    err(p, n, "vehicle cell_vmax (%g V) must be above cell_vmin (%g V)", v->cell_vmax,
        v->cell_vmin);
}

/* ---- timeline ---------------------------------------------------------------------------- */

static void step_free_contents(struct scenario_step *st);

/* `ambient:` is accepted by every timed step; returns true when it handled the key. */
static void get_ambient(struct parser *p, yaml_node_t *v, struct scenario_step *st)
{
  get_qty(p, v, QTY_TEMP, -50, 60, &st->ambient);
}

static const char *const park_keys[] = {"duration", "ambient", NULL};

static void park_pair(struct parser *p, int idx, yaml_node_t *k, yaml_node_t *v, void *ctx)
{
  struct scenario_step *st = ctx;
  if (idx == 0)
    get_qty(p, v, QTY_DURATION, 0, 366 * 86400.0, &st->u.park.duration);
  else
    get_ambient(p, v, st);
  (void)k;
}

static const char *const section_keys[] = {"distance", "speed", NULL};

static void section_pair(struct parser *p, int idx, yaml_node_t *k, yaml_node_t *v, void *ctx)
{
  struct scenario_section *s = ctx;
  if (idx == 0)
    get_qty(p, v, QTY_DISTANCE, 0.001, 10000, &s->distance);
  else
    get_qty(p, v, QTY_SPEED, 1, 400, &s->speed);
  (void)k;
}

static const char *const drive_keys[] = {"distance", "duration", "speed", "accel", "decel",
                                         "consumption", "profile", "route", "ambient", NULL};

static void drive_pair(struct parser *p, int idx, yaml_node_t *k, yaml_node_t *v, void *ctx)
{
  struct scenario_step *st = ctx;
  struct scenario_drive *d = &st->u.drive;
  switch (idx) {
  case 0: get_qty(p, v, QTY_DISTANCE, 0.001, 10000, &d->distance); break;
  case 1: get_qty(p, v, QTY_DURATION, 1, 7 * 86400.0, &d->duration); break;
  case 2: get_qty(p, v, QTY_SPEED, 1, 400, &d->speed); break;
  case 3: get_qty(p, v, QTY_ACCEL, 0.1, 10, &d->accel); break;
  case 4: get_qty(p, v, QTY_ACCEL, 0.1, 10, &d->decel); break;
  case 5: get_qty(p, v, QTY_CONSUMPTION, 30, 2000, &d->consumption); break;
  case 6: {
    if (v->type != YAML_SEQUENCE_NODE) {
      err(p, v, "profile must be a list of {distance, speed} sections, got %s", kind_name(v));
      break;
    }
    size_t cnt = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    free(d->profile);
    d->profile = xcalloc(cnt ? cnt : 1, sizeof(*d->profile));
    d->n_profile = 0;
    for (size_t i = 0; i < cnt; i++) {
      yaml_node_t *it = node(p, v->data.sequence.items.start[i]);
      struct scenario_section s = {0, 0};
      size_t before = p->errors;
      if (!mapping(p, it, "profile section", section_keys, section_pair, &s))
        continue;
      if (p->errors == before && s.speed <= 0) {
        err(p, it, "profile section needs 'speed'");
        continue;
      }
      if (p->errors == before && s.distance <= 0 && i + 1 < cnt) {
        err(p, it, "profile section needs 'distance' (only the last may leave it out)");
        continue;
      }
      d->profile[d->n_profile++] = s;
    }
    break;
  }
  case 7: {
    if (v->type != YAML_SEQUENCE_NODE) {
      err(p, v, "route must be a list of waypoints, got %s", kind_name(v));
      break;
    }
    size_t cnt = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    if (cnt < 2) {
      err(p, v, "route needs at least 2 waypoints");
      break;
    }
    for (size_t i = 0; i < d->n_route; i++)
      free(d->route[i].name);
    free(d->route);
    d->route = xcalloc(cnt, sizeof(*d->route));
    d->n_route = 0;
    for (size_t i = 0; i < cnt; i++) {
      struct scenario_point pt;
      if (get_point(p, node(p, v->data.sequence.items.start[i]), &pt, "waypoint"))
        d->route[d->n_route++] = pt;
      else
        free(pt.name);
    }
    break;
  }
  case 8: get_ambient(p, v, st); break;
  }
  (void)k;
}

static const char *const charge_keys[] = {"type", "power", "voltage", "current", "target",
                                          "duration", "taper", "efficiency", "prepare", "mode",
                                          "timer", "wait", "ambient", NULL};

struct charge_ctx {
  struct scenario_step *st;
  bool has[16];
};

/* "H:MM" or "HH:MM", 00:00 to 23:59: digits only (no sign, no blanks). */
static int parse_hhmm(const char *s, int *out)
{
  size_t hl = 0;
  while (hl < 2 && s[hl] >= '0' && s[hl] <= '9')
    hl++;
  if (hl == 0 || s[hl] != ':' || !(s[hl + 1] >= '0' && s[hl + 1] <= '9') ||
      !(s[hl + 2] >= '0' && s[hl + 2] <= '9') || s[hl + 3])
    return SIM_EPARSE;
  int h = hl == 1 ? s[0] - '0' : (s[0] - '0') * 10 + (s[1] - '0');
  int m = (s[hl + 1] - '0') * 10 + (s[hl + 2] - '0');
  if (h > 23 || m > 59)
    return SIM_EPARSE;
  *out = h * 3600 + m * 60;
  return 0;
}

static const char *const charge_modes[] = {"standard", "storage", "range", "performance", NULL};

static void charge_pair(struct parser *p, int idx, yaml_node_t *k, yaml_node_t *v, void *ctxp)
{
  struct charge_ctx *ctx = ctxp;
  struct scenario_charge *c = &ctx->st->u.charge;
  double pct;
  const char *s;
  bool ok = true;
  switch (idx) {
  case 0:
    s = scalar(p, v, "a charge type");
    if (!s)
      return;
    if (!strcmp(s, "type1")) {
      c->type = CHARGE_TYPE1, c->dc = false;
    } else if (!strcmp(s, "type2") || !strcmp(s, "ac")) {
      c->type = CHARGE_TYPE2, c->dc = false;
    } else if (!strcmp(s, "chademo")) {
      c->type = CHARGE_CHADEMO, c->dc = true;
    } else if (!strcmp(s, "ccs") || !strcmp(s, "dc")) {
      c->type = CHARGE_CCS, c->dc = true;
    } else {
      err(p, v, "unknown charge type '%s' (expected one of: type1, type2, ac, chademo, ccs, dc)",
          s);
      return;
    }
    break;
  case 1: ok = get_qty(p, v, QTY_POWER, 0.5, 500, &c->power) == 0; break;
  case 2: ok = get_qty(p, v, QTY_VOLTAGE, 100, 1000, &c->voltage) == 0; break;
  case 3: ok = get_qty(p, v, QTY_CURRENT, 1, 1000, &c->current) == 0; break;
  case 4: ok = get_qty(p, v, QTY_PERCENT, 1, 100, &c->target_soc) == 0; break;
  case 5: ok = get_qty(p, v, QTY_DURATION, 1, 7 * 86400.0, &c->duration) == 0; break;
  case 6: ok = get_qty(p, v, QTY_PERCENT, 1, 100, &c->taper_soc) == 0; break;
  case 7:
    ok = get_qty(p, v, QTY_PERCENT, 50, 100, &pct) == 0;
    if (ok)
      c->efficiency = pct / 100;
    break;
  case 8: ok = get_qty(p, v, QTY_DURATION, 0, 3600, &c->prepare) == 0; break;
  case 9:
    s = scalar(p, v, "a charge mode");
    if (!s)
      return;
    for (int i = 0; charge_modes[i]; i++) {
      if (!strcmp(s, charge_modes[i])) {
        free(c->mode);
        c->mode = xstrdup(s);
        break;
      }
    }
    if (!c->mode || strcmp(c->mode, s)) {
      err(p, v, "unknown charge mode '%s' (expected one of: standard, storage, range, "
          "performance)", s);
      return;
    }
    break;
  case 10:
    s = scalar(p, v, "a UTC time HH:MM");
    if (!s)
      return;
    if (parse_hhmm(s, &c->timer_start) < 0) {
      err(p, v, "expected a UTC time of day HH:MM, got '%s'", s);
      return;
    }
    break;
  case 11: ok = get_bool(p, v, &c->wait) == 0; break;
  case 12: get_ambient(p, v, ctx->st); break;
  }
  if (ok)
    ctx->has[idx] = true;
  (void)k;
}

static const char *const climate_keys[] = {"on", "setpoint", NULL};

static void climate_pair(struct parser *p, int idx, yaml_node_t *k, yaml_node_t *v, void *ctx)
{
  struct scenario_step *st = ctx;
  if (idx == 0)
    get_bool(p, v, &st->u.climate.on);
  else
    get_qty(p, v, QTY_TEMP, 10, 35, &st->u.climate.setpoint);
  (void)k;
}

static const char *const door_keys[] = {"fl", "fr", "rl", "rr", "trunk", "hood", "cp", NULL};

static void door_pair(struct parser *p, int idx, yaml_node_t *k, yaml_node_t *v, void *ctx)
{
  struct scenario_step *st = ctx;
  bool b;
  if (get_bool(p, v, &b) == 0)
    st->u.door.door[idx] = b ? 1 : 0;
  (void)k;
}

static const char *const notify_keys[] = {"type", "subtype", "text", NULL};

static bool valid_dotted(const char *s)
{
  if (!*s || *s == '.')
    return false;
  for (; *s; s++)
    if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '.' &&
        *s != '_' && *s != '-')
      return false;
  return s[-1] != '.';
}

static void notify_pair(struct parser *p, int idx, yaml_node_t *k, yaml_node_t *v, void *ctx)
{
  struct scenario_step *st = ctx;
  const char *s;
  switch (idx) {
  case 0: {
    /* The names of sim_notify_type_name(), in enum order (kept local so that the loader
     * does not depend on the notification queue). */
    static const char *const types[] = {"info", "alert", "error", "data", "stream", NULL};
    s = scalar(p, v, "a notification type");
    if (!s)
      break;
    int t = -1;
    for (int i = 0; types[i]; i++)
      if (!strcmp(types[i], s))
        t = i;
    if (t < 0)
      err(p, v, "unknown notification type '%s' (expected one of: info, alert, error, data, "
          "stream)", s);
    else
      st->u.notify.type = t;
    break;
  }
  case 1:
    if (get_str(p, v, &st->u.notify.subtype) == 0 && !valid_dotted(st->u.notify.subtype))
      err(p, v, "notification subtype '%s' must be lower case and dotted, e.g. usr.test",
          st->u.notify.subtype);
    break;
  case 2: get_str(p, v, &st->u.notify.text); break;
  }
  (void)k;
}

static const char *const event_keys[] = {"name", "data", NULL};

static bool valid_event(const char *s)
{
  if (!*s || *s == '.')
    return false;
  for (; *s; s++)
    if (isspace((unsigned char)*s) || !isprint((unsigned char)*s))
      return false;
  return true;
}

static void event_pair(struct parser *p, int idx, yaml_node_t *k, yaml_node_t *v, void *ctx)
{
  struct scenario_step *st = ctx;
  if (idx == 0) {
    if (get_str(p, v, &st->u.event.name) == 0 && !valid_event(st->u.event.name))
      err(p, v, "event name '%s' must be non-empty and without spaces", st->u.event.name);
  } else {
    get_str(p, v, &st->u.event.data);
  }
  (void)k;
}

/* Value text of a `set:` entry or an expect value: scalars as they are, lists comma-joined. */
static char *value_text(struct parser *p, yaml_node_t *v)
{
  if (v->type == YAML_SCALAR_NODE)
    return xstrdup((const char *)v->data.scalar.value);
  if (v->type == YAML_SEQUENCE_NODE) {
    struct sbuf b = SBUF_INIT;
    sbuf_adds(&b, "");
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
         it++) {
      const char *s = scalar(p, node(p, *it), "a value");
      if (!s) {
        sbuf_free(&b);
        return NULL;
      }
      if (it != v->data.sequence.items.start)
        sbuf_addc(&b, ',');
      sbuf_adds(&b, s);
    }
    return sbuf_detach(&b);
  }
  err(p, v, "expected a value or a list of values, got %s", kind_name(v));
  return NULL;
}

static bool vehicle_metric_name(const char *name)
{
  /* Vehicle-specific metrics: "x" + vehicle code + "." (xnl.v.b.soc.nominal). */
  if (name[0] != 'x')
    return false;
  const char *dot = strchr(name, '.');
  if (!dot || dot == name + 1 || !dot[1])
    return false;
  for (const char *q = name; *q; q++)
    if (!islower((unsigned char)*q) && !isdigit((unsigned char)*q) && *q != '.' && *q != '_' &&
        *q != '-')
      return false;
  return true;
}

/* Looks a metric up in the scratch registry; reports unknown standard names. */
static struct metric *check_metric(struct parser *p, yaml_node_t *n, const char *name)
{
  struct metric *m = metrics_find(p->scratch, name);
  if (!m && !vehicle_metric_name(name))
    err(p, n, "unknown metric '%s'", name);
  return m;
}

static void parse_set(struct parser *p, yaml_node_t *v, struct scenario_step *st)
{
  if (v->type != YAML_MAPPING_NODE) {
    err(p, v, "set must be a mapping of metric names to values, got %s", kind_name(v));
    return;
  }
  size_t cnt = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
  struct sim_strset seen = SIM_STRSET_INIT; /* linear time for 200,000 keys */
  st->u.set.names = xcalloc(cnt ? cnt : 1, sizeof(char *));
  st->u.set.values = xcalloc(cnt ? cnt : 1, sizeof(char *));
  for (yaml_node_pair_t *pr = v->data.mapping.pairs.start; pr < v->data.mapping.pairs.top;
       pr++) {
    yaml_node_t *k = node(p, pr->key), *val = node(p, pr->value);
    const char *name = scalar(p, k, "a metric name");
    if (!name)
      continue;
    if (!sim_strset_add(&seen, name)) {
      err(p, k, "duplicate key '%s' in set", name);
      continue;
    }
    struct metric *m = check_metric(p, k, name);
    char *text = value_text(p, val);
    if (!text)
      continue;
    if (m) {
      int rc = metric_set_from_string(m, text, SIM_UNIT_NATIVE);
      if (rc < 0) {
        err(p, val, "'%s' is not a valid value for metric %s (%s)", text, name,
            rc == SIM_EUNSUP ? "unit of another kind" : "wrong type");
        free(text);
        continue;
      }
    }
    st->u.set.names[st->u.set.n] = xstrdup(name);
    st->u.set.values[st->u.set.n++] = text;
  }
  sim_strset_free(&seen);
}

static const char *const step_names[] = {"park", "drive", "charge", "unplug", "climate", "lock",
                                         "unlock", "door", "set", "notify", "event", "wakeup",
                                         "ecu", "app", NULL};

static void charge_defaults(struct scenario_charge *c)
{
  memset(c, 0, sizeof(*c));
  c->type = CHARGE_TYPE2;
  c->timer_start = -1;
  c->wait = true;
}

static void charge_finish(struct parser *p, yaml_node_t *n, struct charge_ctx *ctx)
{
  struct scenario_charge *c = &ctx->st->u.charge;
  const struct scenario_vehicle *vh = &p->sc->vehicle;
  if (!ctx->has[1])
    c->power = c->dc ? vh->dc_power : vh->ac_power;
  if (!ctx->has[2])
    c->voltage = c->dc ? 0 : 230;
  if (!ctx->has[4])
    c->target_soc = vh->charge_limit;
  if (!ctx->has[6])
    c->taper_soc = c->dc ? 80 : 95;
  if (!ctx->has[7])
    c->efficiency = c->dc ? 0.95 : vh->charge_efficiency;
  if (!ctx->has[8])
    c->prepare = c->dc ? 30 : 5;
  if (!c->mode)
    c->mode = xstrdup("standard");
  if (!c->dc && ctx->has[1] && c->power > 43)
    err(p, n, "AC charging power %g kW is above 43 kW (use type chademo or ccs for DC)",
        c->power);
}

/*
 * The parameter parsers of the step kinds: v is the value of `park:`, `drive:` ... (NULL or a
 * null scalar when the step has none: null is then true), kn the key node for messages.
 */
typedef void step_params_fn(struct parser *p, yaml_node_t *kn, yaml_node_t *v, bool null,
                            struct scenario_step *st);

static void park_params(struct parser *p, yaml_node_t *kn, yaml_node_t *v, bool null,
                        struct scenario_step *st)
{
  if (null) {
    err(p, kn, "park needs a duration, e.g. 'park: 10min'");
  } else if (v->type == YAML_SCALAR_NODE) {
    get_qty(p, v, QTY_DURATION, 0, 366 * 86400.0, &st->u.park.duration);
  } else {
    double unset = -1;
    st->u.park.duration = unset;
    size_t before = p->errors;
    mapping(p, v, "park", park_keys, park_pair, st);
    if (p->errors == before && st->u.park.duration < 0)
      err(p, v, "park needs 'duration'");
  }
}

/* "drive: 12km" or "drive: 20min". */
static void drive_scalar(struct parser *p, yaml_node_t *v, struct scenario_drive *d)
{
  const char *s = (const char *)v->data.scalar.value;
  double x;
  bool plain = scenario_parse_qty(s, QTY_NUMBER, &x) == 0;
  if (!plain && scenario_parse_qty(s, QTY_DISTANCE, &x) == 0)
    get_qty(p, v, QTY_DISTANCE, 0.001, 10000, &d->distance);
  else if (!plain && scenario_parse_qty(s, QTY_DURATION, &x) == 0)
    get_qty(p, v, QTY_DURATION, 1, 7 * 86400.0, &d->duration);
  else
    err(p, v, "expected a distance (12km) or a duration (20min), got '%s'", s);
}

static void drive_params(struct parser *p, yaml_node_t *kn, yaml_node_t *v, bool null,
                         struct scenario_step *st)
{
  struct scenario_drive *d = &st->u.drive;
  size_t before = p->errors;
  if (null) {
    err(p, kn, "drive needs a distance, a duration or a route");
    return;
  }
  if (v->type == YAML_SCALAR_NODE)
    drive_scalar(p, v, d);
  else
    mapping(p, v, "drive", drive_keys, drive_pair, st);
  if (p->errors != before)
    return;
  if (d->distance > 0 && d->duration > 0)
    err(p, v, "drive takes a distance or a duration, not both");
  else if (d->distance <= 0 && d->duration <= 0 && d->n_route < 2)
    err(p, v, "drive needs a distance, a duration or a route");
  if (d->speed <= 0)
    d->speed = 50;
  if (d->speed > p->sc->vehicle.max_speed)
    err(p, v, "drive speed %g km/h is above the vehicle's max_speed (%g km/h)", d->speed,
        p->sc->vehicle.max_speed);
}

static void charge_params(struct parser *p, yaml_node_t *kn, yaml_node_t *v, bool null,
                          struct scenario_step *st)
{
  struct charge_ctx ctx;
  memset(&ctx, 0, sizeof(ctx));
  ctx.st = st;
  charge_defaults(&st->u.charge);
  if (!null)
    mapping(p, v, "charge", charge_keys, charge_pair, &ctx);
  charge_finish(p, v ? v : kn, &ctx);
}

static void climate_params(struct parser *p, yaml_node_t *kn, yaml_node_t *v, bool null,
                           struct scenario_step *st)
{
  st->u.climate.setpoint = NAN;
  st->u.climate.on = true;
  if (null)
    return;
  if (v->type == YAML_SCALAR_NODE)
    get_bool(p, v, &st->u.climate.on);
  else
    mapping(p, v, "climate", climate_keys, climate_pair, st);
  (void)kn;
}

static void door_params(struct parser *p, yaml_node_t *kn, yaml_node_t *v, bool null,
                        struct scenario_step *st)
{
  for (int i = 0; i < DOOR_N; i++)
    st->u.door.door[i] = -1;
  if (null)
    err(p, kn, "door needs a mapping such as {fl: open}");
  else
    mapping(p, v, "door", door_keys, door_pair, st);
}

static void set_params(struct parser *p, yaml_node_t *kn, yaml_node_t *v, bool null,
                       struct scenario_step *st)
{
  if (null)
    err(p, kn, "set needs a mapping of metric names to values");
  else
    parse_set(p, v, st);
}

static void notify_params(struct parser *p, yaml_node_t *kn, yaml_node_t *v, bool null,
                          struct scenario_step *st)
{
  st->u.notify.type = NOTIFY_INFO;
  if (null) {
    err(p, kn, "notify needs at least 'text'");
  } else if (v->type == YAML_SCALAR_NODE) {
    get_str(p, v, &st->u.notify.text);
  } else {
    mapping(p, v, "notify", notify_keys, notify_pair, st);
    if (!st->u.notify.text)
      err(p, v, "notify needs 'text'");
  }
  if (!st->u.notify.subtype)
    st->u.notify.subtype = xstrdup("usr.scenario");
  struct sbuf why = SBUF_INIT;
  if (!null && st->u.notify.text && sim_notify_check(st->u.notify.subtype, st->u.notify.text,
                                                     &why) < 0)
    err(p, v, "this notification cannot be raised: %s", sbuf_str(&why));
  sbuf_free(&why);
}

static void event_params(struct parser *p, yaml_node_t *kn, yaml_node_t *v, bool null,
                         struct scenario_step *st)
{
  if (null) {
    err(p, kn, "event needs a name, e.g. 'event: usr.test.fired'");
  } else if (v->type == YAML_SCALAR_NODE) {
    if (get_str(p, v, &st->u.event.name) == 0 && !valid_event(st->u.event.name))
      err(p, v, "event name '%s' must be non-empty and without spaces", st->u.event.name);
  } else {
    mapping(p, v, "event", event_keys, event_pair, st);
    if (!st->u.event.name)
      err(p, v, "event needs 'name'");
  }
}

/* ---- app steps ---------------------------------------------------------------------------- */

static const char *const app_keys[] = {"id", "connect", "disconnect", "drop", "command",
                                       "vehicle", "timeout", "wait_online", "expect", NULL};
enum { AK_ID, AK_CONNECT, AK_DISCONNECT, AK_DROP, AK_COMMAND, AK_VEHICLE, AK_TIMEOUT,
       AK_WAIT_ONLINE, AK_EXPECT, AK_N };

static const char *const app_expect_keys[] = {"response", "contains", "match", "within", NULL};

/* A step's parameters as found, checked together in app_finish(). */
struct app_ctx {
  struct scenario_step *st;
  yaml_node_t *node[AK_N];
  int actions;             /* how many of connect, disconnect, drop, command */
  bool timeout_given;
};

/* An MQTT client id of the app: 1-64 of A-Z a-z 0-9 - _ . (also a topic level). */
static bool valid_app_id(const char *s)
{
  if (!*s || strlen(s) > 64)
    return false;
  for (; *s; s++)
    if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.')
      return false;
  return true;
}

/* connect/disconnect/drop take yes; no is refused (it would do nothing). */
static void app_flag(struct parser *p, yaml_node_t *v, const char *key, struct app_ctx *ctx,
                     enum scenario_app_action action)
{
  bool b;
  if (get_bool(p, v, &b) < 0)
    return;
  if (!b) {
    err(p, v, "'%s: no' does nothing (leave the key out)", key);
    return;
  }
  ctx->st->u.app.action = action;
  ctx->actions++;
}

static void app_pair(struct parser *p, int idx, yaml_node_t *k, yaml_node_t *v, void *ctxp)
{
  struct app_ctx *ctx = ctxp;
  struct scenario_app_step *a = &ctx->st->u.app;
  ctx->node[idx] = v;
  switch (idx) {
  case AK_ID:
    if (get_str(p, v, &a->id) == 0 && !valid_app_id(a->id))
      err(p, v, "app id '%s' must be 1-64 letters, digits, '-', '_' or '.'", a->id);
    break;
  case AK_CONNECT: app_flag(p, v, "connect", ctx, APP_CONNECT); break;
  case AK_DISCONNECT: app_flag(p, v, "disconnect", ctx, APP_DISCONNECT); break;
  case AK_DROP: app_flag(p, v, "drop", ctx, APP_DROP); break;
  case AK_COMMAND:
    if (get_str(p, v, &a->command) == 0) {
      if (!*a->command)
        err(p, v, "app command must not be empty");
      a->action = APP_COMMAND;
      ctx->actions++;
    }
    break;
  case AK_VEHICLE:
    if (get_str(p, v, &a->vehicle) == 0 && !valid_id(a->vehicle))
      err(p, v, "vehicle id '%s' must be 1-32 letters, digits, '-' or '_'", a->vehicle);
    break;
  case AK_TIMEOUT:
    ctx->timeout_given = get_qty(p, v, QTY_DURATION, 0.001, 3600, &a->timeout) == 0;
    break;
  case AK_WAIT_ONLINE: get_bool(p, v, &a->wait_online); break;
  case AK_EXPECT: break; /* after the action is known: app_expect() */
  }
  (void)k;
}

/* At most this many {m,n} repetitions, each bound at most REGEX_MAX_BOUND, in a `match:`:
 * the C library's regcomp() expands repetitions, so nested large ones could take gigabytes. */
#define REGEX_MAX_LEN 256
#define REGEX_MAX_INTERVALS 2
#define REGEX_MAX_BOUND 100

/* Why pattern is refused before regcomp(), or NULL. */
static const char *regex_too_big(const char *pattern)
{
  if (strlen(pattern) > REGEX_MAX_LEN)
    return "longer than 256 characters";
  int intervals = 0;
  for (const char *q = pattern; *q; q++) {
    if (*q != '{' || !isdigit((unsigned char)q[1]))
      continue;
    if (++intervals > REGEX_MAX_INTERVALS)
      return "more than 2 {m,n} repetitions";
    for (q++; *q && *q != '}'; q++) {
      if (!isdigit((unsigned char)*q))
        continue;
      char *end;
      unsigned long b = strtoul(q, &end, 10);
      if (b > REGEX_MAX_BOUND)
        return "a {m,n} repetition above 100";
      q = end - 1;
    }
    if (!*q)
      break;
  }
  return NULL;
}

static void app_expect_pair(struct parser *p, int idx, yaml_node_t *k, yaml_node_t *v,
                            void *ctxp)
{
  struct scenario_expect *e = ctxp;
  switch (idx) {
  case 0: get_str(p, v, &e->response); break;
  case 1:
    if (get_str(p, v, &e->contains) == 0 && !*e->contains)
      err(p, v, "contains must not be empty");
    break;
  case 2: {
    if (get_str(p, v, &e->match) < 0)
      break;
    const char *why = regex_too_big(e->match);
    if (why) {
      err(p, v, "regular expression refused: %s", why);
      break;
    }
    regex_t *re = xcalloc(1, sizeof(*re));
    int rc = regcomp(re, e->match, REG_EXTENDED | REG_NOSUB | REG_NEWLINE);
    if (rc != 0) {
      char msg[128];
      regerror(rc, re, msg, sizeof(msg));
      err(p, v, "invalid regular expression '%s': %s", e->match, msg);
      regfree(re);
      free(re);
      break;
    }
    e->match_re = re;
    break;
  }
  case 3: get_qty(p, v, QTY_DURATION, 0.001, 3600, &e->within); break;
  }
  (void)k;
}

static void app_check_free(struct scenario_expect *e)
{
  free(e->metric);
  free(e->value);
  free(e->response);
  free(e->contains);
  free(e->match);
  if (e->match_re) {
    regfree(e->match_re);
    free(e->match_re);
  }
}

/* The step's expect: into a check of its own (after the step), kept in p->app_checks. */
static void app_expect(struct parser *p, yaml_node_t *n, struct scenario_step *st)
{
  struct scenario_app_step *a = &st->u.app;
  if (a->action != APP_CONNECT && a->action != APP_COMMAND) {
    err(p, n, "expect: belongs to a connect or command app step");
    return;
  }
  struct scenario_expect e;
  memset(&e, 0, sizeof(e));
  e.line = (int)n->start_mark.line + 1;
  e.col = (int)n->start_mark.column + 1;
  e.defined = -1;
  e.within = -1;
  e.when = EXPECT_AFTER_STEP;
  e.step = (size_t)(st - p->sc->steps);
  size_t before = p->errors;
  if (mapping(p, n, "app expect", app_expect_keys, app_expect_pair, &e) &&
      p->errors == before) {
    bool text = e.response || e.contains || e.match;
    if (a->action == APP_CONNECT && text)
      err(p, n, "a connect step's expect takes 'within' only (there is no response)");
    else if (!text && e.within < 0)
      err(p, n, "app expect needs 'response', 'contains', 'match' or 'within'");
    else if (e.within > a->timeout)
      err(p, n, "within (%g s) is longer than the step's timeout (%g s)", e.within,
          a->timeout);
  }
  if (p->errors != before) {
    app_check_free(&e);
    return;
  }
  xgrow((void **)&p->app_checks, &p->cap_app_checks, p->n_app_checks + 1, sizeof(e));
  p->app_checks[p->n_app_checks++] = e;
}

static ptrdiff_t app_up_index(const struct parser *p, const char *id)
{
  for (size_t i = 0; i < p->n_apps_up; i++)
    if (!strcmp(p->apps_up[i], id))
      return (ptrdiff_t)i;
  return -1;
}

/* Follows which apps are connected along the timeline: a command, disconnect or drop needs
 * a connected app, a connect one that is not. */
static void app_state(struct parser *p, yaml_node_t *n, const struct scenario_app_step *a)
{
  ptrdiff_t i = app_up_index(p, a->id);
  if (a->action == APP_CONNECT) {
    if (i >= 0) {
      err(p, n, "app '%s' is already connected here", a->id);
      return;
    }
    xgrow((void **)&p->apps_up, &p->cap_apps_up, p->n_apps_up + 1, sizeof(char *));
    p->apps_up[p->n_apps_up++] = xstrdup(a->id);
    return;
  }
  if (i < 0) {
    err(p, n, "app '%s' is not connected here (connect it first: app: {id: %s, connect: yes})",
        a->id, a->id);
    return;
  }
  if (a->action != APP_COMMAND) {
    free(p->apps_up[i]);
    p->apps_up[i] = p->apps_up[--p->n_apps_up];
  }
}

static void app_params(struct parser *p, yaml_node_t *kn, yaml_node_t *v, bool null,
                       struct scenario_step *st)
{
  struct scenario_app_step *a = &st->u.app;
  a->timeout = SCENARIO_APP_TIMEOUT;
  a->check = SIZE_MAX;
  if (null) {
    err(p, kn, "app needs a mapping such as {id: phone, connect: yes}");
    return;
  }
  struct app_ctx ctx;
  memset(&ctx, 0, sizeof(ctx));
  ctx.st = st;
  size_t before = p->errors;
  if (!mapping(p, v, "app", app_keys, app_pair, &ctx) || p->errors != before)
    return;
  if (!a->id) {
    err(p, v, "app needs 'id' (the app's MQTT client id)");
    return;
  }
  if (ctx.actions != 1) {
    err(p, v, "app takes one of 'connect', 'disconnect', 'drop' or 'command'%s",
        ctx.actions ? ", not several" : "");
    return;
  }
  static const char *const only_connect[] = {[AK_VEHICLE] = "vehicle",
                                             [AK_WAIT_ONLINE] = "wait_online"};
  for (int k = AK_VEHICLE; k <= AK_WAIT_ONLINE; k++)
    if (only_connect[k] && ctx.node[k] && a->action != APP_CONNECT)
      err(p, ctx.node[k], "'%s' belongs to a connect step", only_connect[k]);
  if (ctx.node[AK_TIMEOUT] && a->action != APP_CONNECT && a->action != APP_COMMAND)
    err(p, ctx.node[AK_TIMEOUT], "'timeout' belongs to a connect or command step");
  if (ctx.node[AK_EXPECT])
    app_expect(p, ctx.node[AK_EXPECT], st);
  if (p->errors == before)
    app_state(p, v, a);
}

static const char *const ecu_keys[] = {"name", "fault", NULL};

static void ecu_pair(struct parser *p, int idx, yaml_node_t *k, yaml_node_t *v, void *ctx)
{
  struct scenario_step *st = ctx;
  (void)k;
  if (idx == 0) {
    if (get_str(p, v, &st->u.ecu.name) == 0 && !valid_event(st->u.ecu.name))
      err(p, v, "ECU name '%s' must be non-empty and without spaces", st->u.ecu.name);
    return;
  }
  struct ecu_fault f;
  if (get_str(p, v, &st->u.ecu.fault) == 0 && ecu_fault_parse(st->u.ecu.fault, &f) < 0)
    err(p, v, "'%s' is not an ECU fault (" ECU_FAULT_GRAMMAR ")", st->u.ecu.fault);
}

/* ecu: {name: bms, fault: silent} - the bench car's ECU misbehaves (vehicle/fault.h). */
static void ecu_params(struct parser *p, yaml_node_t *kn, yaml_node_t *v, bool null,
                       struct scenario_step *st)
{
  if (null || v->type != YAML_MAPPING_NODE) {
    err(p, null ? kn : v, "ecu needs a mapping such as {name: bms, fault: silent}");
    return;
  }
  mapping(p, v, "ecu", ecu_keys, ecu_pair, st);
  if (!st->u.ecu.name)
    err(p, v, "ecu needs 'name'");
  if (!st->u.ecu.fault)
    err(p, v, "ecu needs 'fault'");
}

/* lock, unlock, unplug, wakeup */
static void no_params(struct parser *p, yaml_node_t *kn, yaml_node_t *v, bool null,
                      struct scenario_step *st)
{
  if (!null)
    err(p, v, "%s takes no parameters", step_names[st->kind]);
  (void)kn;
}

static step_params_fn *const step_params[] = {
  [STEP_PARK] = park_params,       [STEP_DRIVE] = drive_params,   [STEP_CHARGE] = charge_params,
  [STEP_UNPLUG] = no_params,       [STEP_CLIMATE] = climate_params, [STEP_LOCK] = no_params,
  [STEP_UNLOCK] = no_params,       [STEP_DOOR] = door_params,     [STEP_SET] = set_params,
  [STEP_NOTIFY] = notify_params,   [STEP_EVENT] = event_params,   [STEP_WAKEUP] = no_params,
  [STEP_APP] = app_params,
  [STEP_ECU] = ecu_params,
};

/* Parses the step's parameter node v (the value of `park:`, `drive:` ...). */
static void parse_step_params(struct parser *p, yaml_node_t *kn, yaml_node_t *v,
                              struct scenario_step *st)
{
  step_params[st->kind](p, kn, v, v ? is_null_scalar(v) : true, st);
}

const char *scenario_step_kind_name(enum scenario_step_kind kind)
{
  return (unsigned)kind < ARRAY_SIZE(step_names) - 1 ? step_names[kind]
                                                                          : "?";
}

static int step_kind(const char *s)
{
  for (int i = 0; step_names[i]; i++)
    if (!strcmp(step_names[i], s))
      return i;
  return -1;
}

static void unknown_step(struct parser *p, yaml_node_t *n, const char *s)
{
  struct sbuf l = SBUF_INIT;
  key_list(step_names, sizeof(step_names[0]), &l);
  err(p, n, "unknown step '%s' (expected one of: %s)", s, sbuf_str(&l));
  sbuf_free(&l);
}

static void parse_timeline(struct parser *p, yaml_node_t *n)
{
  struct scenario *sc = p->sc;
  if (n->type != YAML_SEQUENCE_NODE) {
    err(p, n, "timeline must be a list of steps, got %s", kind_name(n));
    return;
  }
  size_t cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
  sc->steps = xcalloc(cnt ? cnt : 1, sizeof(*sc->steps));
  struct sim_strset names = SIM_STRSET_INIT; /* of the steps kept, borrowed from them */
  for (size_t i = 0; i < cnt; i++) {
    yaml_node_t *it = node(p, n->data.sequence.items.start[i]);
    struct scenario_step *st = &sc->steps[sc->n_steps];
    memset(st, 0, sizeof(*st));
    st->ambient = NAN;
    st->line = (int)it->start_mark.line + 1;
    st->col = (int)it->start_mark.column + 1;
    size_t before = p->errors;
    if (it->type == YAML_SCALAR_NODE) {
      const char *s = (const char *)it->data.scalar.value;
      int k = step_kind(s);
      if (k < 0) {
        unknown_step(p, it, s);
        continue;
      }
      st->kind = (enum scenario_step_kind)k;
      parse_step_params(p, it, NULL, st);
    } else if (it->type == YAML_MAPPING_NODE) {
      yaml_node_t *kind_key = NULL, *kind_val = NULL;
      for (yaml_node_pair_t *pr = it->data.mapping.pairs.start;
           pr < it->data.mapping.pairs.top; pr++) {
        yaml_node_t *k = node(p, pr->key), *v = node(p, pr->value);
        const char *ks = scalar(p, k, "a step name");
        if (!ks)
          continue;
        if (!strcmp(ks, "name")) {
          if (st->name)
            err(p, k, "duplicate key 'name' in step");
          else
            get_str(p, v, &st->name);
          continue;
        }
        int kd = step_kind(ks);
        if (kd < 0) {
          unknown_step(p, k, ks);
          continue;
        }
        if (kind_key) {
          err(p, k, "a step has one kind, but this one has '%s' and '%s'",
              (const char *)kind_key->data.scalar.value, ks);
          continue;
        }
        kind_key = k;
        kind_val = v;
        st->kind = (enum scenario_step_kind)kd;
      }
      if (!kind_key) {
        if (p->errors == before)
          err(p, it, "step has no kind (expected one of: park, drive, charge, ...)");
        step_free_contents(st);
        continue;
      }
      st->line = (int)kind_key->start_mark.line + 1;
      st->col = (int)kind_key->start_mark.column + 1;
      parse_step_params(p, kind_key, kind_val, st);
    } else {
      err(p, it, "a step must be a name or a mapping, got %s", kind_name(it));
      continue;
    }
    if (st->name && !sim_strset_add(&names, st->name))
      err(p, it, "duplicate step name '%s'", st->name);
    sc->n_steps++;
  }
  sim_strset_free(&names);
}

/* ---- expect ------------------------------------------------------------------------------ */

static const char *const expect_keys[] = {"metric", "value", "min", "max", "at", "after",
                                          "tolerance", "defined", NULL};

struct expect_ctx {
  struct scenario_expect *e;
  yaml_node_t *metric_n, *min_n, *max_n, *value_n, *at_n, *after_n;
};

static void expect_pair(struct parser *p, int idx, yaml_node_t *k, yaml_node_t *v, void *ctxp)
{
  struct expect_ctx *ctx = ctxp;
  struct scenario_expect *e = ctx->e;
  bool b;
  switch (idx) {
  case 0:
    get_str(p, v, &e->metric);
    ctx->metric_n = v;
    break;
  case 1:
    free(e->value);
    e->value = value_text(p, v);
    ctx->value_n = v;
    break;
  case 2: ctx->min_n = v; break;
  case 3: ctx->max_n = v; break;
  case 4: ctx->at_n = v; break;
  case 5: ctx->after_n = v; break;
  case 6: get_qty(p, v, QTY_NUMBER, 0, 1e12, &e->tolerance); break;
  case 7:
    if (get_bool(p, v, &b) == 0)
      e->defined = b;
    break;
  }
  (void)k;
}

/* A bound: a number in the metric's native unit, or with a unit suffix converted into it. */
static bool get_bound(struct parser *p, yaml_node_t *n, const struct metric *m, double *out)
{
  const char *s = scalar(p, n, "a number");
  if (!s)
    return false;
  double v;
  const char *end = read_number(s, &v);
  if (!end) {
    err(p, n, "expected a number, got '%s'", s);
    return false;
  }
  while (*end == ' ')
    end++;
  if (*end) {
    enum sim_unit u;
    double conv;
    if (!m || sim_unit_parse(end, &u) < 0 || sim_unit_convert(v, u, m->unit, &conv) < 0) {
      err(p, n, "cannot use unit '%s' for metric %s", end, m ? m->name : "?");
      return false;
    }
    v = conv;
  }
  *out = v;
  return true;
}

/* `at:` (end or a time since start) and `after:` (a step name or its 1-based number). */
static void expect_when(struct parser *p, const struct expect_ctx *ctx, struct scenario_expect *e)
{
  const struct scenario *sc = p->sc;
  if (ctx->at_n && ctx->after_n)
    err(p, ctx->after_n, "expect check takes 'at' or 'after', not both");
  if (ctx->at_n) {
    const char *s = scalar(p, ctx->at_n, "'end' or a time since start");
    if (s && !strcmp(s, "end"))
      e->when = EXPECT_AT_END;
    else if (s && get_qty(p, ctx->at_n, QTY_DURATION, 0, 366 * 86400.0, &e->at) == 0)
      e->when = EXPECT_AT_TIME;
    return;
  }
  if (!ctx->after_n)
    return;
  const char *s = scalar(p, ctx->after_n, "a step name or number");
  if (!s)
    return;
  char *end;
  long num = strtol(s, &end, 10);
  bool found = false;
  if (end != s && !*end) {
    if (num >= 1 && (size_t)num <= sc->n_steps) {
      e->step = (size_t)num - 1;
      found = true;
    }
  } else {
    for (size_t j = 0; j < sc->n_steps; j++) {
      if (sc->steps[j].name && !strcmp(sc->steps[j].name, s)) {
        e->step = j;
        found = true;
      }
    }
  }
  if (found)
    e->when = EXPECT_AFTER_STEP;
  else
    err(p, ctx->after_n, "no step '%s' in the timeline (give a step name or 1..%zu)", s,
        sc->n_steps);
}

/* One check of the expect list into e; false when it is not a mapping (not counted). */
static bool parse_one_expect(struct parser *p, yaml_node_t *it, struct scenario_expect *e)
{
  memset(e, 0, sizeof(*e));
  e->line = (int)it->start_mark.line + 1;
  e->col = (int)it->start_mark.column + 1;
  e->defined = -1;
  e->tolerance = -1;
  struct expect_ctx ctx = {e, NULL, NULL, NULL, NULL, NULL, NULL};
  size_t before = p->errors;
  if (!mapping(p, it, "expect check", expect_keys, expect_pair, &ctx))
    return false;
  struct metric *m = NULL;
  if (!e->metric)
    err(p, it, "expect check needs 'metric'");
  else
    m = check_metric(p, ctx.metric_n, e->metric);
  if (ctx.min_n && get_bound(p, ctx.min_n, m, &e->min))
    e->has_min = true;
  if (ctx.max_n && get_bound(p, ctx.max_n, m, &e->max))
    e->has_max = true;
  if (e->has_min && e->has_max && e->min > e->max)
    err(p, ctx.max_n, "max (%g) is below min (%g)", e->max, e->min);
  if (ctx.value_n && e->value && m) {
    /* Check that the value is one the metric can hold. */
    struct metric *tmp = metrics_find(p->scratch, m->name);
    if (tmp && metric_set_from_string(tmp, e->value, SIM_UNIT_NATIVE) < 0)
      err(p, ctx.value_n, "'%s' is not a valid value for metric %s", e->value, m->name);
  }
  if (!ctx.value_n && !ctx.min_n && !ctx.max_n && e->defined < 0 && p->errors == before)
    err(p, it, "expect check needs 'value', 'min', 'max' or 'defined'");
  expect_when(p, &ctx, e);
  if (e->tolerance < 0)
    e->tolerance = 0;
  return true;
}

static void parse_expect(struct parser *p, yaml_node_t *n)
{
  struct scenario *sc = p->sc;
  if (n->type != YAML_SEQUENCE_NODE) {
    err(p, n, "expect must be a list of checks, got %s", kind_name(n));
    return;
  }
  size_t cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
  sc->expects = xcalloc(cnt ? cnt : 1, sizeof(*sc->expects));
  for (size_t i = 0; i < cnt; i++) {
    yaml_node_t *it = node(p, n->data.sequence.items.start[i]);
    if (parse_one_expect(p, it, &sc->expects[sc->n_expects]))
      sc->n_expects++;
  }
}

/* ---- top level --------------------------------------------------------------------------- */

static const char *const top_keys[] = {"name", "description", "start", "seed", "tick",
                                       "vehicle", "timeline", "expect", "start_realtime",
                                       NULL};
static const char *const realtime_names[] = {"now", "time-of-day", "start", NULL};

/* start: a UTC time as parse.h's parse_time() reads it, in ns. */
static int parse_utc(const char *s, int64_t *out_ns)
{
  int64_t t;
  int r = parse_time(s, &t);
  if (r < 0)
    return r;
  *out_ns = t * SIM_NS_PER_SEC;
  return 0;
}

/* The top-level nodes, collected first: the vehicle section must be parsed before the timeline
 * (charge defaults come from it) and the timeline before expect (step names). */
struct top_ctx {
  yaml_node_t *vehicle, *timeline, *expect, *realtime;
};

static void top_pair(struct parser *p, int idx, yaml_node_t *k, yaml_node_t *v, void *ctxp)
{
  struct top_ctx *ctx = ctxp;
  struct scenario *sc = p->sc;
  const char *s;
  switch (idx) {
  case 0: get_str(p, v, &sc->name); break;
  case 1: get_str(p, v, &sc->description); break;
  case 2:
    s = scalar(p, v, "a UTC time 'YYYY-MM-DD HH:MM:SS'");
    if (s && parse_utc(s, &sc->start_utc_ns) < 0)
      err(p, v, "expected a UTC time 'YYYY-MM-DD HH:MM:SS', got '%s'", s);
    break;
  case 3: {
    s = scalar(p, v, "an unsigned integer");
    if (!s)
      break;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (end == s || *end || errno || *s == '-')
      err(p, v, "expected an unsigned integer seed, got '%s'", s);
    else
      sc->seed = x, sc->has_seed = true;
    break;
  }
  case 4: get_qty(p, v, QTY_DURATION, 0.01, 60, &sc->tick); break;
  case 5: ctx->vehicle = v; break;
  case 6: ctx->timeline = v; break;
  case 7: ctx->expect = v; break;
  case 8:
    ctx->realtime = v;
    s = scalar(p, v, "now, time-of-day or start");
    for (int i = 0; s && realtime_names[i]; i++)
      if (!strcmp(s, realtime_names[i])) {
        sc->realtime_start = (enum scenario_realtime_start)i;
        s = NULL;
      }
    if (s)
      err(p, v, "expected now, time-of-day or start, got '%s'", s);
    break;
  }
  (void)k;
}

static void walk(struct parser *p)
{
  yaml_node_t *root = yaml_document_get_root_node(&p->doc);
  if (!root || is_null_scalar(root)) {
    sim_diag_error(p->d, p->file, 1, 1, "empty scenario (expected a mapping with vehicle:, "
                   "timeline: and expect:)");
    p->errors++;
    return;
  }
  struct top_ctx ctx = {NULL, NULL, NULL, NULL};
  if (!mapping(p, root, "scenario", top_keys, top_pair, &ctx))
    return;
  if (ctx.realtime && p->sc->realtime_start != SCENARIO_RT_NOW && !p->sc->start_utc_ns)
    err(p, ctx.realtime, "start_realtime: %s needs a start: time",
        realtime_names[p->sc->realtime_start]);
  if (ctx.vehicle)
    parse_vehicle(p, ctx.vehicle);
  if (ctx.timeline)
    parse_timeline(p, ctx.timeline);
  if (ctx.expect)
    parse_expect(p, ctx.expect);
}

/* ---- entry points ------------------------------------------------------------------------ */

static void step_free_contents(struct scenario_step *st)
{
  free(st->name);
  switch (st->kind) {
  case STEP_DRIVE:
    free(st->u.drive.profile);
    for (size_t i = 0; i < st->u.drive.n_route; i++)
      free(st->u.drive.route[i].name);
    free(st->u.drive.route);
    break;
  case STEP_CHARGE: free(st->u.charge.mode); break;
  case STEP_SET:
    for (size_t i = 0; i < st->u.set.n; i++) {
      free(st->u.set.names[i]);
      free(st->u.set.values[i]);
    }
    free(st->u.set.names);
    free(st->u.set.values);
    break;
  case STEP_NOTIFY:
    free(st->u.notify.subtype);
    free(st->u.notify.text);
    break;
  case STEP_EVENT:
    free(st->u.event.name);
    free(st->u.event.data);
    break;
  case STEP_APP:
    free(st->u.app.id);
    free(st->u.app.vehicle);
    free(st->u.app.command);
    break;
  case STEP_ECU:
    free(st->u.ecu.name);
    free(st->u.ecu.fault);
    break;
  default: break;
  }
  memset(st, 0, sizeof(*st));
}

void scenario_free(struct scenario *sc)
{
  if (!sc)
    return;
  free(sc->path);
  free(sc->name);
  free(sc->description);
  struct scenario_vehicle *v = &sc->vehicle;
  free(v->type);
  free(v->model);
  free(v->id);
  free(v->vin);
  free(v->timezone);
  free(v->location.name);
  for (size_t i = 0; i < sc->n_steps; i++)
    step_free_contents(&sc->steps[i]);
  free(sc->steps);
  for (size_t i = 0; i < sc->n_expects; i++)
    app_check_free(&sc->expects[i]);
  free(sc->expects);
  free(sc);
}

bool scenario_has_apps(const struct scenario *sc)
{
  for (size_t i = 0; i < sc->n_steps; i++)
    if (sc->steps[i].kind == STEP_APP)
      return true;
  return false;
}

static int by_position(const void *a, const void *b)
{
  const struct scenario_expect *x = a, *y = b;
  if (x->line != y->line)
    return x->line < y->line ? -1 : 1;
  return x->col < y->col ? -1 : x->col > y->col;
}

/* Moves the app steps' checks into sc->expects, all of them in file order, and points each
 * app step at its check. */
static void merge_app_checks(struct parser *p)
{
  struct scenario *sc = p->sc;
  for (size_t i = 0; i < p->n_apps_up; i++)
    free(p->apps_up[i]);
  free(p->apps_up);
  if (!p->n_app_checks)
    return;
  size_t n = sc->n_expects + p->n_app_checks;
  sc->expects = xrealloc(sc->expects, n * sizeof(*sc->expects));
  memcpy(sc->expects + sc->n_expects, p->app_checks, p->n_app_checks * sizeof(*p->app_checks));
  free(p->app_checks);
  sc->n_expects = n;
  qsort(sc->expects, n, sizeof(*sc->expects), by_position);
  for (size_t i = 0; i < n; i++)
    if (!sc->expects[i].metric && sc->expects[i].step < sc->n_steps)
      sc->steps[sc->expects[i].step].u.app.check = i;
}

/* Scenarios nest a few levels (timeline, step, parameters, lists of points); deeper nesting is
 * refused before the document is loaded, which on a 20000-deep sequence took seconds. */
#define SCENARIO_MAX_DEPTH 64

/* Reads the events of text until the nesting passes SCENARIO_MAX_DEPTH (an error recorded,
 * returns SIM_EPARSE) or the end; YAML errors are left to the loader (returns 0). */
static int check_depth(const char *text, size_t len, const char *file, struct sim_diag *d)
{
  yaml_parser_t yp;
  if (!yaml_parser_initialize(&yp))
    return 0;
  yaml_parser_set_input_string(&yp, (const unsigned char *)text, len);
  int depth = 0, rc = 0;
  yaml_event_t ev;
  while (rc == 0 && yaml_parser_parse(&yp, &ev)) {
    yaml_event_type_t t = ev.type;
    if (t == YAML_MAPPING_START_EVENT || t == YAML_SEQUENCE_START_EVENT) {
      if (++depth > SCENARIO_MAX_DEPTH)
        rc = sim_diag_error(d, file, (int)ev.start_mark.line + 1,
                            (int)ev.start_mark.column + 1,
                            "nested deeper than %d levels: not a scenario", SCENARIO_MAX_DEPTH);
    } else if (t == YAML_MAPPING_END_EVENT || t == YAML_SEQUENCE_END_EVENT) {
      depth--;
    }
    yaml_event_delete(&ev);
    if (t == YAML_STREAM_END_EVENT)
      break;
  }
  yaml_parser_delete(&yp);
  return rc;
}

int scenario_load_string(const char *text, size_t len, const char *name, struct scenario **out,
                         struct sim_diag *d)
{
  *out = NULL;
  struct parser p;
  memset(&p, 0, sizeof(p));
  p.file = name ? name : "";
  p.d = d;
  if (check_depth(text, len, p.file, d) < 0)
    return SIM_EPARSE;
  yaml_parser_t yp;
  if (!yaml_parser_initialize(&yp))
    return sim_diag_error(d, p.file, 0, 0, "cannot initialise the YAML parser");
  yaml_parser_set_input_string(&yp, (const unsigned char *)text, len);
  if (!yaml_parser_load(&yp, &p.doc)) {
    int line = (int)yp.problem_mark.line + 1, col = (int)yp.problem_mark.column + 1;
    sim_diag_error(d, p.file, line, col, "invalid YAML: %s%s%s",
                   yp.problem ? yp.problem : "syntax error",
                   yp.context ? " " : "", yp.context ? yp.context : "");
    yaml_parser_delete(&yp);
    return SIM_EPARSE;
  }
  /* A second document in the stream is not part of a scenario. */
  yaml_document_t extra;
  if (yaml_parser_load(&yp, &extra)) {
    yaml_node_t *r = yaml_document_get_root_node(&extra);
    if (r) {
      sim_diag_error(d, p.file, (int)r->start_mark.line + 1, (int)r->start_mark.column + 1,
                     "a scenario file holds one YAML document");
      p.errors++;
    }
    yaml_document_delete(&extra);
  } else {
    int line = (int)yp.problem_mark.line + 1, col = (int)yp.problem_mark.column + 1;
    sim_diag_error(d, p.file, line, col, "invalid YAML: %s%s%s",
                   yp.problem ? yp.problem : "syntax error",
                   yp.context ? " " : "", yp.context ? yp.context : "");
    p.errors++;
  }
  yaml_parser_delete(&yp);

  p.sc = xcalloc(1, sizeof(*p.sc));
  p.sc->path = xstrdup(p.file);
  p.sc->tick = 1;
  vehicle_defaults(&p.sc->vehicle);
  p.scratch = metrics_new(NULL);
  walk(&p);
  merge_app_checks(&p);
  metrics_free(p.scratch);
  yaml_document_delete(&p.doc);
  if (p.errors) {
    scenario_free(p.sc);
    return SIM_EPARSE;
  }
  *out = p.sc;
  return 0;
}

int scenario_load(const char *path, struct scenario **out, struct sim_diag *d)
{
  *out = NULL;
  FILE *f = fopen(path, "rb");
  if (!f) {
    int e = errno;
    sim_diag_error(d, path, 0, 0, "cannot open: %s", strerror(e));
    return -e;
  }
  struct sbuf b = SBUF_INIT;
  char buf[8192];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
    sbuf_add(&b, buf, n);
  int rerr = ferror(f) ? errno : 0;
  fclose(f);
  if (rerr) {
    sbuf_free(&b);
    sim_diag_error(d, path, 0, 0, "cannot read: %s", strerror(rerr));
    return -rerr;
  }
  if (memchr(sbuf_str(&b), '\0', b.len)) {
    sbuf_free(&b);
    return sim_diag_error(d, path, 0, 0, "not a text file (contains NUL bytes)");
  }
  int rc = scenario_load_string(sbuf_str(&b), b.len, path, out, d);
  sbuf_free(&b);
  return rc;
}
