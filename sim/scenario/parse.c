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

/* Reads a number and skips the blanks after it; returns where its unit starts (at the end of
 * s when it has none) or NULL. */
static const char *read_quantity(const char *s, double *out)
{
  const char *end = read_number(s, out);
  if (end)
    while (*end == ' ')
      end++;
  return end;
}

/* A duration in seconds (parse.h's syntax: "90", "90s", "15min", "1h30m", "500ms", "1d"). */
static int parse_seconds(const char *s, double *out)
{
  int64_t ns;
  int r = parse_duration(s, &ns);
  if (r == 0)
    *out = (double)ns / 1e9;
  return r;
}

static int parse_temp(const char *s, double *out)
{
  double v;
  const char *end = read_quantity(s, &v);
  if (!end)
    return SIM_EPARSE;
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
  const char *end = read_quantity(text, &v);
  if (!end)
    return SIM_EPARSE;
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

/* The number of items of the list n into *cnt; false (with an error "WHAT must be a list of
 * ITEMS, got ...") when n is no list. */
static bool list_len(struct parser *p, const yaml_node_t *n, const char *what,
                     const char *items, size_t *cnt)
{
  if (n->type != YAML_SEQUENCE_NODE) {
    err(p, n, "%s must be a list of %s, got %s", what, items, kind_name(n));
    return false;
  }
  *cnt = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
  return true;
}

/* list_len(), then a zeroed array for the *cnt items (of size bytes each; room for one when
 * the list is empty) into *arr, owned by the caller. */
static bool list_array(struct parser *p, const yaml_node_t *n, const char *what,
                       const char *items, void **arr, size_t size, size_t *cnt)
{
  if (!list_len(p, n, what, items, cnt))
    return false;
  *arr = xcalloc(*cnt ? *cnt : 1, size);
  return true;
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
 * (const char *), ended by a row with a NULL key; stride is the size of a row (a struct
 * key_row, a struct key_word, or a plain NULL-terminated list of names with stride
 * sizeof(char *)).  fn(p, idx, key node, value node, ctx) handles a known key, idx being its
 * row (key_pair()).  what names the section in messages.
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

/* ---- key tables ------------------------------------------------------------------------- */

/* How a key's value is read and stored (struct key_row). */
enum key_kind {
  KEY_QTY,      /* a quantity in [min, max] (a double) */
  KEY_FRACTION, /* a percentage in [min, max], stored as a fraction 0..1 (a double) */
  KEY_INT,      /* an integer in [min, max] (an int) */
  KEY_BOOL,     /* yes/no (a bool) */
  KEY_FLAG,     /* yes/no as 1/0 (an int; the default -1 says "not given") */
  KEY_ENUM,     /* one of words (an int: the word's value) */
  KEY_STR,      /* a string (a char *, owned; default text or NULL) */
  KEY_POINT,    /* a point (struct scenario_point, get_point()); default *point */
  KEY_NODE,     /* read later by the section: only the value node is kept (struct keys) */
  KEY_CUSTOM,   /* read by fn (or conv) alone; no default (the field starts zeroed) */
};

/* A word of a KEY_ENUM key (or of a fn's word list) and the value it stands for. */
struct key_word {
  const char *name;
  int value;
};

struct key_row;

/* Reads v into row r's field of base, instead of r->kind: the parser hook of a key with a
 * special form (a checked string, a list, an action); 0 when it stored a value. */
typedef int key_fn(struct parser *p, const struct key_row *r, yaml_node_t *v, void *base);

/*
 * One key of a section, in the order of the "expected one of" message: how its value is read
 * (kind, or fn), its range, where it goes (offset into the section's struct) and its default.
 * The defaults are set before the section is read (key_defaults()), except the late ones: a
 * default with from is def times the vehicle's key from (ideal_consumption: 0.9 x
 * consumption), one with ac_dc is def for an AC and dc (times dc_from) for a DC charge; these
 * are set after it, for the keys the file did not give (key_derive()).  Late keys are doubles.
 */
struct key_row {
  const char *key;
  enum key_kind kind;
  enum scenario_qty qty;
  double min, max;
  size_t offset;
  double def;                  /* by kind; KEY_CUSTOM: a constant for fn (the app action) */
  const char *from;
  bool ac_dc;
  double dc;
  const char *dc_from;
  const char *text;            /* KEY_STR: the default string */
  const struct key_word *words; /* KEY_ENUM: the words, ended by a NULL name */
  const char *what;            /* what the words (or a checked string) stand for, in messages */
  bool (*check)(const char *s); /* KEY_STR: a rule the string must follow (NULL = any) */
  const char *rule;            /* with check: the rule in words, "WHAT 'S' must be RULE" */
  /* A scalar read by conv into the field (in place of kind, which still gives the default):
   * "expected WHAT, got a list" for a non-scalar, "expected RULE, got 'S'" for text conv
   * refuses (a negative return). */
  int (*conv)(const char *s, void *field);
  const struct scenario_point *point; /* KEY_POINT: the default */
  key_fn *fn;
};

/* A row's common head: key, kind, quantity, range, field (an offsetof) and default. */
#define KEY(k, kd, q, lo, hi, off, d)                                                         \
  .key = (k), .kind = (kd), .qty = (q), .min = (lo), .max = (hi), .offset = (off), .def = (d)
/* The head of a KEY_QTY row (a quantity in unit kind q), the most common kind. */
#define QKEY(k, q, lo, hi, off, d) KEY(k, KEY_QTY, q, lo, hi, off, d)

/* the bits of struct keys.given and mapping_rows()'s duplicate check */
#define KEYS_MAX 64

/* A section being read: its rows, its struct, which keys the file gave and their nodes. */
struct keys {
  const struct key_row *rows;
  void *base;
  uint64_t given;              /* bit i: row i was read and stored */
  yaml_node_t *node[KEYS_MAX]; /* row i's value node; NULL when the file does not give it */
};

static void keys_init(struct keys *c, const struct key_row *rows, void *base)
{
  memset(c, 0, sizeof(*c));
  c->rows = rows;
  c->base = base;
}

static void *key_field(const struct key_row *r, void *base)
{
  return (char *)base + r->offset;
}

/* The row of key in rows (a key the code names: always there). */
static int key_index(const struct key_row *rows, const char *key)
{
  int i = 0;
  while (strcmp(rows[i].key, key))
    i++;
  return i;
}

/* One of r->words (messages say what they name, r->what), or NULL after an error. */
static const struct key_word *get_word(struct parser *p, const struct key_row *r,
                                       yaml_node_t *v)
{
  char hint[64];
  snprintf(hint, sizeof(hint), "a %s", r->what);
  const char *s = scalar(p, v, hint);
  if (!s)
    return NULL;
  for (const struct key_word *w = r->words; w->name; w++)
    if (!strcmp(w->name, s))
      return w;
  struct sbuf l = SBUF_INIT;
  key_list(r->words, sizeof(*r->words), &l);
  err(p, v, "unknown %s '%s' (expected one of: %s)", r->what, s, sbuf_str(&l));
  sbuf_free(&l);
  return NULL;
}

static bool get_point(struct parser *p, yaml_node_t *n, struct scenario_point *pt,
                      const char *what);

/* The scalar v converted by r->conv into f. */
static int get_conv(struct parser *p, const struct key_row *r, yaml_node_t *v, void *f)
{
  const char *s = scalar(p, v, r->what);
  if (!s)
    return SIM_EPARSE;
  if (r->conv(s, f) < 0) {
    err(p, v, "expected %s, got '%s'", r->rule, s);
    return SIM_EPARSE;
  }
  return 0;
}

/* Reads v as row r says into its field of base; 0 when it stored a value. */
static int key_apply(struct parser *p, const struct key_row *r, yaml_node_t *v, void *base)
{
  void *f = key_field(r, base);
  double d;
  long l;
  bool b;
  const struct key_word *w;
  struct scenario_point pt;
  int rc;
  if (r->fn)
    return r->fn(p, r, v, base);
  if (r->conv)
    return get_conv(p, r, v, f);
  switch (r->kind) {
  case KEY_QTY: return get_qty(p, v, r->qty, r->min, r->max, f);
  case KEY_FRACTION:
    if ((rc = get_qty(p, v, r->qty, r->min, r->max, &d)) == 0)
      *(double *)f = d / 100;
    return rc;
  case KEY_INT:
    if ((rc = get_int(p, v, (long)r->min, (long)r->max, &l)) == 0)
      *(int *)f = (int)l;
    return rc;
  case KEY_BOOL: return get_bool(p, v, f);
  case KEY_FLAG:
    if ((rc = get_bool(p, v, &b)) == 0)
      *(int *)f = b;
    return rc;
  case KEY_ENUM:
    if (!(w = get_word(p, r, v)))
      return SIM_EPARSE;
    *(int *)f = w->value;
    return 0;
  case KEY_STR:
    /* a string that breaks the rule is reported but kept, so that later checks still run */
    if ((rc = get_str(p, v, f)) == 0 && r->check && !r->check(*(char **)f))
      err(p, v, "%s '%s' must be %s", r->what, *(char **)f, r->rule);
    return rc;
  case KEY_POINT:
    if (!get_point(p, v, &pt, r->key)) {
      free(pt.name);
      return SIM_EPARSE;
    }
    free(((struct scenario_point *)f)->name);
    *(struct scenario_point *)f = pt;
    return 0;
  case KEY_NODE:
  case KEY_CUSTOM: break;
  }
  return 0;
}

/* Reads v as key (also a section's short form, "park: 10min", as if the file gave the key). */
static void key_read(struct parser *p, struct keys *c, const char *key, yaml_node_t *v)
{
  int i = key_index(c->rows, key);
  c->node[i] = v;
  if (key_apply(p, &c->rows[i], v, c->base) == 0)
    c->given |= UINT64_C(1) << i;
}

static void key_pair(struct parser *p, int idx, yaml_node_t *k, yaml_node_t *v, void *ctx)
{
  struct keys *c = ctx;
  key_read(p, c, c->rows[idx].key, v);
  (void)k;
}

/* Reads the mapping n of the section what (false when it is not a mapping). */
static bool read_keys(struct parser *p, yaml_node_t *n, const char *what, struct keys *c)
{
  return mapping_rows(p, n, what, c->rows, sizeof(*c->rows), key_pair, c);
}

static bool key_given(const struct keys *c, const char *key)
{
  return c->given & (UINT64_C(1) << key_index(c->rows, key));
}

static yaml_node_t *key_node(const struct keys *c, const char *key)
{
  return c->node[key_index(c->rows, key)];
}

static bool key_late(const struct key_row *r)
{
  return r->from || r->ac_dc;
}

/* Sets the defaults of rows in base, but the late ones (before the section is read). */
static void key_defaults(const struct key_row *rows, void *base)
{
  for (const struct key_row *r = rows; r->key; r++) {
    void *f = key_field(r, base);
    if (key_late(r))
      continue;
    switch (r->kind) {
    case KEY_QTY:
    case KEY_FRACTION: *(double *)f = r->def; break;
    case KEY_INT:
    case KEY_FLAG:
    case KEY_ENUM: *(int *)f = (int)r->def; break;
    case KEY_BOOL: *(bool *)f = r->def != 0; break;
    case KEY_STR:
      if (r->text) {
        free(*(char **)f);
        *(char **)f = xstrdup(r->text);
      }
      break;
    case KEY_POINT: *(struct scenario_point *)f = *r->point; break;
    case KEY_NODE:
    case KEY_CUSTOM: break;
    }
  }
}

/* Starts reading a section: c over rows and base, with the defaults set (key_defaults()). */
static void keys_start(struct keys *c, const struct key_row *rows, void *base)
{
  keys_init(c, rows, base);
  key_defaults(rows, base);
}

/* ---- vehicle ------------------------------------------------------------------------------ */

/* `alt:` of a point: metres, with or without "m". */
static int point_alt(struct parser *p, const struct key_row *r, yaml_node_t *v, void *base)
{
  const char *s = scalar(p, v, "an altitude in metres");
  double a;
  if (!s)
    return SIM_EPARSE;
  size_t l = strlen(s);
  char tmp[64];
  if (l > 1 && l < sizeof(tmp) && s[l - 1] == 'm' && s[l - 2] != 'k') {
    memcpy(tmp, s, l - 1);
    tmp[l - 1] = 0;
    s = tmp;
  }
  const char *text = (const char *)v->data.scalar.value;
  if (scenario_parse_qty(s, QTY_NUMBER, &a) < 0) {
    err(p, v, "expected an altitude in metres such as 34 or 34m, got '%s'", text);
    return SIM_EPARSE;
  }
  if (a < r->min || a > r->max) {
    err(p, v, "%s is out of range (%.10g..%.10g m)", text, r->min, r->max);
    return SIM_ERANGE;
  }
  *(double *)key_field(r, base) = a;
  return 0;
}

#define POFF(f) offsetof(struct scenario_point, f)
static const struct key_row point_keys[] = {
  {QKEY("lat", QTY_NUMBER, -90, 90, POFF(lat), NAN)},
  {QKEY("lon", QTY_NUMBER, -180, 180, POFF(lon), NAN)},
  {QKEY("alt", QTY_NUMBER, -500, 9000, POFF(alt), 0), .fn = point_alt},
  {QKEY("speed", QTY_SPEED, 1, 400, POFF(speed), 0)},
  {KEY("name", KEY_STR, 0, 0, 0, POFF(name), 0)},
  {.key = NULL},
};
#undef POFF

/* A point is {lat, lon, alt, speed, name} or a flow list [lat, lon] / [lat, lon, alt]. */
static bool get_point(struct parser *p, yaml_node_t *n, struct scenario_point *pt,
                      const char *what)
{
  struct keys c;
  memset(pt, 0, sizeof(*pt));
  keys_start(&c, point_keys, pt);
  if (n->type == YAML_SEQUENCE_NODE) {
    int cnt = (int)(n->data.sequence.items.top - n->data.sequence.items.start);
    if (cnt < 2 || cnt > 3) {
      err(p, n, "%s as a list must be [lat, lon] or [lat, lon, alt]", what);
      return false;
    }
    key_read(p, &c, "lat", node(p, n->data.sequence.items.start[0]));
    key_read(p, &c, "lon", node(p, n->data.sequence.items.start[1]));
    /* the list's alt is a plain number, in the range of the key */
    const struct key_row *alt = &point_keys[key_index(point_keys, "alt")];
    if (cnt == 3)
      get_qty(p, node(p, n->data.sequence.items.start[2]), QTY_NUMBER, alt->min, alt->max,
              &pt->alt);
    return !isnan(pt->lat) && !isnan(pt->lon);
  }
  size_t before = p->errors;
  if (!read_keys(p, n, what, &c))
    return false;
  if (p->errors == before) {
    if (isnan(pt->lat))
      err(p, n, "%s needs 'lat'", what);
    if (isnan(pt->lon))
      err(p, n, "%s needs 'lon'", what);
  }
  return !isnan(pt->lat) && !isnan(pt->lon);
}

static bool valid_id(const char *s)
{
  if (!*s || strlen(s) > 32)
    return false;
  for (; *s; s++)
    if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_')
      return false;
  return true;
}

/* The check of a vehicle id (vehicle: id:, app: vehicle:). */
#define VEHICLE_ID                                                                              \
  .check = valid_id, .what = "vehicle id", .rule = "1-32 letters, digits, '-' or '_'"

static int vehicle_timezone(struct parser *p, const struct key_row *r, yaml_node_t *v,
                            void *base)
{
  char **tz = key_field(r, base);
  size_t off;
  const char *why;
  if (get_str(p, v, tz) < 0)
    return SIM_EPARSE;
  if ((why = sim_tz_check(*tz, &off)))
    err(p, v, "invalid timezone '%s' at character %zu: %s (a POSIX TZ string, e.g. "
              "\"CET-1CEST,M3.5.0,M10.5.0/3\")", *tz, off + 1, why);
  return 0;
}

static int vehicle_tpms(struct parser *p, const struct key_row *r, yaml_node_t *v, void *base)
{
  double *kpa = key_field(r, base);
  if (v->type != YAML_SEQUENCE_NODE ||
      v->data.sequence.items.top - v->data.sequence.items.start != 4) {
    err(p, v, "tpms must be a list of 4 pressures (FL, FR, RL, RR)");
    return SIM_EPARSE;
  }
  for (int i = 0; i < 4; i++)
    get_qty(p, node(p, v->data.sequence.items.start[i]), QTY_PRESSURE, 0, 1000, &kpa[i]);
  return 0;
}

/* The default location: Berlin, 52.520008 N 13.404954 E, 34 m. */
static const struct scenario_point default_location = {52.520008, 13.404954, 34, 0, NULL};

#define VOFF(f) offsetof(struct scenario_vehicle, f)
static const struct key_row vehicle_keys[] = {
  {KEY("type", KEY_STR, 0, 0, 0, VOFF(type), 0)},
  {KEY("model", KEY_STR, 0, 0, 0, VOFF(model), 0)},
  {KEY("id", KEY_STR, 0, 0, 0, VOFF(id), 0), VEHICLE_ID},
  {KEY("vin", KEY_STR, 0, 0, 0, VOFF(vin), 0)},
  {KEY("timezone", KEY_STR, 0, 0, 0, VOFF(timezone), 0), .fn = vehicle_timezone},
  {QKEY("capacity", QTY_ENERGY, 1, 1000, VOFF(capacity_kwh), 40)},
  {QKEY("soh", QTY_PERCENT, 1, 100, VOFF(soh), 100)},
  {QKEY("soc", QTY_PERCENT, 0, 100, VOFF(soc), 80)},
  {KEY("cells", KEY_INT, 0, 1, 400, VOFF(cells), 96)},
  {QKEY("cell_vmin", QTY_VOLTAGE, 1, 5, VOFF(cell_vmin), 3.0)},
  {QKEY("cell_vmax", QTY_VOLTAGE, 1, 5, VOFF(cell_vmax), 4.2)},
  {QKEY("resistance", QTY_RESISTANCE, 0, 2, VOFF(resistance), 0.08)},
  {QKEY("consumption", QTY_CONSUMPTION, 30, 2000, VOFF(consumption), 160)},
  {QKEY("ideal_consumption", QTY_CONSUMPTION, 30, 2000, VOFF(ideal_consumption), 0.9),
   .from = "consumption"},
  {QKEY("mass", QTY_NUMBER, 100, 50000, VOFF(mass), 1600)},
  {KEY("regen", KEY_FRACTION, QTY_PERCENT, 0, 100, VOFF(regen), 0.6)},
  {QKEY("max_speed", QTY_SPEED, 10, 400, VOFF(max_speed), 150)},
  {QKEY("accel", QTY_ACCEL, 0.1, 10, VOFF(accel), 1.5)},
  {QKEY("decel", QTY_ACCEL, 0.1, 10, VOFF(decel), 2.0)},
  {QKEY("rpm_per_kmh", QTY_NUMBER, 0, 1000, VOFF(rpm_per_kmh), 112)},
  {QKEY("aux_power", QTY_POWER, 0, 20, VOFF(aux_power), 0.25)},
  {QKEY("hvac_power", QTY_POWER, 0, 20, VOFF(hvac_power), 3)},
  {QKEY("ac_power", QTY_POWER, 1, 43, VOFF(ac_power), 7.4)},
  {QKEY("dc_power", QTY_POWER, 1, 500, VOFF(dc_power), 50)},
  {KEY("charge_efficiency", KEY_FRACTION, QTY_PERCENT, 50, 100, VOFF(charge_efficiency), 0.9)},
  {QKEY("odometer", QTY_DISTANCE, 0, 10000000, VOFF(odometer), 10000)},
  {QKEY("ambient", QTY_TEMP, -50, 60, VOFF(ambient), 15)},
  {QKEY("cabin_temp", QTY_TEMP, -50, 80, VOFF(cabin_temp), 1), .from = "ambient"},
  {QKEY("battery_temp", QTY_TEMP, -40, 70, VOFF(battery_temp), 1), .from = "ambient"},
  {QKEY("setpoint", QTY_TEMP, 10, 35, VOFF(setpoint), 21)},
  {QKEY("v12", QTY_VOLTAGE, 8, 16, VOFF(v12), 12.6)},
  {KEY("locked", KEY_BOOL, 0, 0, 0, VOFF(locked), true)},
  {KEY("noise", KEY_BOOL, 0, 0, 0, VOFF(noise), true)},
  {QKEY("charge_limit", QTY_PERCENT, 10, 100, VOFF(charge_limit), 100)},
  {KEY("tpms", KEY_CUSTOM, 0, 0, 0, VOFF(tpms_kpa), 0), .fn = vehicle_tpms},
  {KEY("location", KEY_POINT, 0, 0, 0, VOFF(location), 0), .point = &default_location},
  {QKEY("heading", QTY_NUMBER, 0, 360, VOFF(heading), 0)},
  {KEY("cell_metrics", KEY_BOOL, 0, 0, 0, VOFF(cell_metrics), false)},
  {.key = NULL},
};
#undef VOFF

/* Sets the late defaults (key_late()) of the rows of base the file did not give (bit i of
 * given: row i), for a DC charge when dc; vh is the vehicle their from keys name. */
static void key_derive(const struct key_row *rows, void *base, uint64_t given, bool dc,
                       struct scenario_vehicle *vh)
{
  for (int i = 0; rows[i].key; i++) {
    const struct key_row *r = &rows[i];
    if (!key_late(r) || (given & (UINT64_C(1) << i)))
      continue;
    bool alt = dc && r->ac_dc;
    const char *from = alt ? r->dc_from : r->from;
    double v = alt ? r->dc : r->def;
    if (from)
      v *= *(const double *)key_field(&vehicle_keys[key_index(vehicle_keys, from)], vh);
    *(double *)key_field(r, base) = v;
  }
}

static void vehicle_defaults(struct scenario_vehicle *v)
{
  memset(v, 0, sizeof(*v));
  key_defaults(vehicle_keys, v);
  /* parse_vehicle() derives them again from what the file gives */
  key_derive(vehicle_keys, v, 0, false, v);
}

static void parse_vehicle(struct parser *p, yaml_node_t *n)
{
  struct keys c;
  struct scenario_vehicle *v = &p->sc->vehicle;
  keys_init(&c, vehicle_keys, v);
  read_keys(p, n, "vehicle", &c);
  key_derive(vehicle_keys, v, c.given, false, v);
  if (v->cell_vmax <= v->cell_vmin)
    err(p, n, "vehicle cell_vmax (%g V) must be above cell_vmin (%g V)", v->cell_vmax,
        v->cell_vmin);
}

/* ---- timeline ---------------------------------------------------------------------------- */

/* Frees the n strings of v, then v. */
static void free_strings(char **v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

static void step_free_contents(struct scenario_step *st);

/* The steps' keys are fields of struct scenario_step; `ambient:` is accepted by every timed
 * step. */
#define SOFF(f) offsetof(struct scenario_step, f)
#define AMBIENT_KEY {QKEY("ambient", QTY_TEMP, -50, 60, SOFF(ambient), NAN)}

static const struct key_row park_keys[] = {
  {QKEY("duration", QTY_DURATION, 0, 366 * 86400.0, SOFF(u.park.duration), 0)},
  AMBIENT_KEY,
  {.key = NULL},
};

static const struct key_row section_keys[] = {
  {QKEY("distance", QTY_DISTANCE, 0.001, 10000,
       offsetof(struct scenario_section, distance), 0)},
  {QKEY("speed", QTY_SPEED, 1, 400, offsetof(struct scenario_section, speed), 0)},
  {.key = NULL},
};

/* `profile:` of a drive: a list of {distance, speed} sections. */
static int drive_profile(struct parser *p, const struct key_row *r, yaml_node_t *v, void *base)
{
  struct scenario_drive *d = &((struct scenario_step *)base)->u.drive;
  size_t cnt;
  void *sections;
  if (!list_array(p, v, "profile", "{distance, speed} sections", &sections,
                  sizeof(*d->profile), &cnt))
    return SIM_EPARSE;
  free(d->profile);
  d->profile = sections;
  d->n_profile = 0;
  for (size_t i = 0; i < cnt; i++) {
    yaml_node_t *it = node(p, v->data.sequence.items.start[i]);
    struct scenario_section s;
    struct keys c;
    keys_start(&c, section_keys, &s);
    size_t before = p->errors;
    if (!read_keys(p, it, "profile section", &c))
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
  (void)r;
  return 0;
}

/* Frees the waypoints of d's route (their names, then the array). */
static void route_free(struct scenario_drive *d)
{
  for (size_t i = 0; i < d->n_route; i++)
    free(d->route[i].name);
  free(d->route);
}

/* `route:` of a drive: a list of at least 2 waypoints. */
static int drive_route(struct parser *p, const struct key_row *r, yaml_node_t *v, void *base)
{
  struct scenario_drive *d = &((struct scenario_step *)base)->u.drive;
  size_t cnt;
  if (!list_len(p, v, "route", "waypoints", &cnt))
    return SIM_EPARSE;
  if (cnt < 2) {
    err(p, v, "route needs at least 2 waypoints");
    return SIM_EPARSE;
  }
  route_free(d);
  d->route = xcalloc(cnt, sizeof(*d->route));
  d->n_route = 0;
  for (size_t i = 0; i < cnt; i++) {
    struct scenario_point pt;
    if (get_point(p, node(p, v->data.sequence.items.start[i]), &pt, "waypoint"))
      d->route[d->n_route++] = pt;
    else
      free(pt.name);
  }
  (void)r;
  return 0;
}

#define DOFF(f) SOFF(u.drive.f)
static const struct key_row drive_keys[] = {
  {QKEY("distance", QTY_DISTANCE, 0.001, 10000, DOFF(distance), 0)},
  {QKEY("duration", QTY_DURATION, 1, 7 * 86400.0, DOFF(duration), 0)},
  {QKEY("speed", QTY_SPEED, 1, 400, DOFF(speed), 50)},
  {QKEY("accel", QTY_ACCEL, 0.1, 10, DOFF(accel), 0)},
  {QKEY("decel", QTY_ACCEL, 0.1, 10, DOFF(decel), 0)},
  {QKEY("consumption", QTY_CONSUMPTION, 30, 2000, DOFF(consumption), 0)},
  {KEY("profile", KEY_CUSTOM, 0, 0, 0, DOFF(profile), 0), .fn = drive_profile},
  {KEY("route", KEY_CUSTOM, 0, 0, 0, DOFF(route), 0), .fn = drive_route},
  AMBIENT_KEY,
  {.key = NULL},
};
#undef DOFF

/* "H:MM" or "HH:MM", 00:00 to 23:59: digits only (no sign, no blanks), into the int *field
 * as seconds of the day. */
static int parse_hhmm(const char *s, void *field)
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
  *(int *)field = h * 3600 + m * 60;
  return 0;
}

/* `mode:` of a charge: one of the words, kept as the string v.c.mode shows. */
static int charge_mode(struct parser *p, const struct key_row *r, yaml_node_t *v, void *base)
{
  char **mode = key_field(r, base);
  const struct key_word *w = get_word(p, r, v);
  if (!w)
    return SIM_EPARSE;
  free(*mode);
  *mode = xstrdup(w->name);
  return 0;
}

/* KEY_ENUM stores an int */
_Static_assert(sizeof(enum scenario_charge_type) == sizeof(int), "charge type is an int");

static const struct key_word charge_types[] = {
  {"type1", CHARGE_TYPE1}, {"type2", CHARGE_TYPE2}, {"ac", CHARGE_TYPE2},
  {"chademo", CHARGE_CHADEMO}, {"ccs", CHARGE_CCS}, {"dc", CHARGE_CCS}, {NULL, 0}};
static const struct key_word charge_modes[] = {
  {"standard", 0}, {"storage", 0}, {"range", 0}, {"performance", 0}, {NULL, 0}};

/* The defaults of power, voltage, taper, efficiency and prepare differ for a DC charge
 * (type chademo or ccs); the type's default, type2, is AC. */
#define COFF(f) SOFF(u.charge.f)
static const struct key_row charge_keys[] = {
  {KEY("type", KEY_ENUM, 0, 0, 0, COFF(type), CHARGE_TYPE2), .words = charge_types,
   .what = "charge type"},
  {QKEY("power", QTY_POWER, 0.5, 500, COFF(power), 1), .from = "ac_power",
   .ac_dc = true, .dc = 1, .dc_from = "dc_power"},
  {QKEY("voltage", QTY_VOLTAGE, 100, 1000, COFF(voltage), 230), .ac_dc = true, .dc = 0},
  {QKEY("current", QTY_CURRENT, 1, 1000, COFF(current), 0)},
  {QKEY("target", QTY_PERCENT, 1, 100, COFF(target_soc), 1), .from = "charge_limit"},
  {QKEY("duration", QTY_DURATION, 1, 7 * 86400.0, COFF(duration), 0)},
  {QKEY("taper", QTY_PERCENT, 1, 100, COFF(taper_soc), 95), .ac_dc = true, .dc = 80},
  {KEY("efficiency", KEY_FRACTION, QTY_PERCENT, 50, 100, COFF(efficiency), 1),
   .from = "charge_efficiency", .ac_dc = true, .dc = 0.95},
  {QKEY("prepare", QTY_DURATION, 0, 3600, COFF(prepare), 5), .ac_dc = true, .dc = 30},
  {KEY("mode", KEY_STR, 0, 0, 0, COFF(mode), 0), .text = "standard", .words = charge_modes,
   .what = "charge mode", .fn = charge_mode},
  {KEY("timer", KEY_INT, 0, 0, 0, COFF(timer_start), -1), .conv = parse_hhmm,
   .what = "a UTC time HH:MM", .rule = "a UTC time of day HH:MM"},
  {KEY("wait", KEY_BOOL, 0, 0, 0, COFF(wait), true)},
  AMBIENT_KEY,
  {.key = NULL},
};
#undef COFF

static const struct key_row climate_keys[] = {
  {KEY("on", KEY_BOOL, 0, 0, 0, SOFF(u.climate.on), true)},
  {QKEY("setpoint", QTY_TEMP, 10, 35, SOFF(u.climate.setpoint), NAN)},
  {.key = NULL},
};

#define DOOR(k, i) {KEY(k, KEY_FLAG, 0, 0, 0, SOFF(u.door.door[i]), -1)}
static const struct key_row door_keys[] = {
  DOOR("fl", DOOR_FL), DOOR("fr", DOOR_FR), DOOR("rl", DOOR_RL), DOOR("rr", DOOR_RR),
  DOOR("trunk", DOOR_TRUNK), DOOR("hood", DOOR_HOOD), DOOR("cp", DOOR_CP),
  {.key = NULL},
};
#undef DOOR

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

/* The names of sim_notify_type_name(). */
static const struct key_word notify_types[] = {
  {"info", NOTIFY_INFO}, {"alert", NOTIFY_ALERT}, {"error", NOTIFY_ERROR},
  {"data", NOTIFY_DATA}, {"stream", NOTIFY_STREAM}, {NULL, 0}};

static const struct key_row notify_keys[] = {
  {KEY("type", KEY_ENUM, 0, 0, 0, SOFF(u.notify.type), NOTIFY_INFO), .words = notify_types,
   .what = "notification type"},
  {KEY("subtype", KEY_STR, 0, 0, 0, SOFF(u.notify.subtype), 0), .text = "usr.scenario",
   .check = valid_dotted, .what = "notification subtype",
   .rule = "lower case and dotted, e.g. usr.test"},
  {KEY("text", KEY_STR, 0, 0, 0, SOFF(u.notify.text), 0)},
  {.key = NULL},
};

static bool valid_event(const char *s)
{
  if (!*s || *s == '.')
    return false;
  for (; *s; s++)
    if (isspace((unsigned char)*s) || !isprint((unsigned char)*s))
      return false;
  return true;
}

static const struct key_row event_keys[] = {
  {KEY("name", KEY_STR, 0, 0, 0, SOFF(u.event.name), 0), .check = valid_event,
   .what = "event name", .rule = "non-empty and without spaces"},
  {KEY("data", KEY_STR, 0, 0, 0, SOFF(u.event.data), 0)},
  {.key = NULL},
};

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

/*
 * The parameter parsers of the step kinds: v is the value of `park:`, `drive:` ... (NULL or a
 * null scalar when the step has none: null is then true), kn the key node for messages.
 */
typedef void step_params_fn(struct parser *p, yaml_node_t *kn, yaml_node_t *v, bool null,
                            struct scenario_step *st);

/*
 * Reads the value v of step (key node kn) in the form it has: none (null: the error "STEP
 * needs NEEDS" at kn, or nothing when needs is NULL), a scalar (the value of the key one,
 * "park: 10min") or a mapping of the keys of c.  Returns whether it was the mapping, whose
 * required keys the caller checks.
 */
static bool step_value(struct parser *p, yaml_node_t *kn, yaml_node_t *v, bool null,
                       struct keys *c, const char *step, const char *one, const char *needs)
{
  if (null) {
    if (needs)
      err(p, kn, "%s needs %s", step, needs);
    return false;
  }
  if (v->type == YAML_SCALAR_NODE) {
    key_read(p, c, one, v);
    return false;
  }
  read_keys(p, v, step, c);
  return true;
}

static void park_params(struct parser *p, yaml_node_t *kn, yaml_node_t *v, bool null,
                        struct scenario_step *st)
{
  struct keys c;
  keys_start(&c, park_keys, st);
  size_t before = p->errors;
  if (step_value(p, kn, v, null, &c, "park", "duration", "a duration, e.g. 'park: 10min'") &&
      p->errors == before && !key_given(&c, "duration"))
    err(p, v, "park needs 'duration'");
}

/* "drive: 12km" or "drive: 20min". */
static void drive_scalar(struct parser *p, yaml_node_t *v, struct keys *c)
{
  const char *s = (const char *)v->data.scalar.value;
  double x;
  bool plain = scenario_parse_qty(s, QTY_NUMBER, &x) == 0;
  if (!plain && scenario_parse_qty(s, QTY_DISTANCE, &x) == 0)
    key_read(p, c, "distance", v);
  else if (!plain && scenario_parse_qty(s, QTY_DURATION, &x) == 0)
    key_read(p, c, "duration", v);
  else
    err(p, v, "expected a distance (12km) or a duration (20min), got '%s'", s);
}

static void drive_params(struct parser *p, yaml_node_t *kn, yaml_node_t *v, bool null,
                         struct scenario_step *st)
{
  struct scenario_drive *d = &st->u.drive;
  struct keys c;
  keys_start(&c, drive_keys, st);
  size_t before = p->errors;
  if (null) {
    err(p, kn, "drive needs a distance, a duration or a route");
    return;
  }
  if (v->type == YAML_SCALAR_NODE)
    drive_scalar(p, v, &c);
  else
    read_keys(p, v, "drive", &c);
  if (p->errors != before)
    return;
  if (d->distance > 0 && d->duration > 0)
    err(p, v, "drive takes a distance or a duration, not both");
  else if (d->distance <= 0 && d->duration <= 0 && d->n_route < 2)
    err(p, v, "drive needs a distance, a duration or a route");
  if (d->speed > p->sc->vehicle.max_speed)
    err(p, v, "drive speed %g km/h is above the vehicle's max_speed (%g km/h)", d->speed,
        p->sc->vehicle.max_speed);
}

static void charge_params(struct parser *p, yaml_node_t *kn, yaml_node_t *v, bool null,
                          struct scenario_step *st)
{
  struct scenario_charge *c = &st->u.charge;
  struct keys k;
  keys_start(&k, charge_keys, st);
  if (!null)
    read_keys(p, v, "charge", &k);
  c->dc = c->type == CHARGE_CHADEMO || c->type == CHARGE_CCS;
  key_derive(charge_keys, st, k.given, c->dc, &p->sc->vehicle);
  if (!c->dc && key_given(&k, "power") && c->power > 43)
    err(p, v ? v : kn, "AC charging power %g kW is above 43 kW (use type chademo or ccs for DC)",
        c->power);
}

static void climate_params(struct parser *p, yaml_node_t *kn, yaml_node_t *v, bool null,
                           struct scenario_step *st)
{
  struct keys c;
  keys_start(&c, climate_keys, st);
  step_value(p, kn, v, null, &c, "climate", "on", NULL);
}

static void door_params(struct parser *p, yaml_node_t *kn, yaml_node_t *v, bool null,
                        struct scenario_step *st)
{
  struct keys c;
  keys_start(&c, door_keys, st);
  if (null)
    err(p, kn, "door needs a mapping such as {fl: open}");
  else
    read_keys(p, v, "door", &c);
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
  struct keys c;
  keys_start(&c, notify_keys, st);
  if (step_value(p, kn, v, null, &c, "notify", "text", "at least 'text'") && !st->u.notify.text)
    err(p, v, "notify needs 'text'");
  struct sbuf why = SBUF_INIT;
  if (!null && st->u.notify.text && sim_notify_check(st->u.notify.subtype, st->u.notify.text,
                                                     &why) < 0)
    err(p, v, "this notification cannot be raised: %s", sbuf_str(&why));
  sbuf_free(&why);
}

static void event_params(struct parser *p, yaml_node_t *kn, yaml_node_t *v, bool null,
                         struct scenario_step *st)
{
  struct keys c;
  keys_init(&c, event_keys, st);
  if (step_value(p, kn, v, null, &c, "event", "name", "a name, e.g. 'event: usr.test.fired'") &&
      !st->u.event.name)
    err(p, v, "event needs 'name'");
}

/* ---- app steps ---------------------------------------------------------------------------- */

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

/* connect/disconnect/drop take yes, which sets the action r->def; no is refused (it would do
 * nothing). */
static int app_flag(struct parser *p, const struct key_row *r, yaml_node_t *v, void *base)
{
  bool b;
  if (get_bool(p, v, &b) < 0)
    return SIM_EPARSE;
  if (!b) {
    err(p, v, "'%s: no' does nothing (leave the key out)", r->key);
    return SIM_EPARSE;
  }
  *(int *)key_field(r, base) = (int)r->def;
  return 0;
}

static int app_command(struct parser *p, const struct key_row *r, yaml_node_t *v, void *base)
{
  struct scenario_app_step *a = &((struct scenario_step *)base)->u.app;
  if (get_str(p, v, &a->command) < 0)
    return SIM_EPARSE;
  if (!*a->command)
    err(p, v, "app command must not be empty");
  a->action = APP_COMMAND;
  (void)r;
  return 0;
}

_Static_assert(sizeof(enum scenario_app_action) == sizeof(int), "app action is an int");

#define AOFF(f) SOFF(u.app.f)
static const struct key_row app_keys[] = {
  {KEY("id", KEY_STR, 0, 0, 0, AOFF(id), 0), .check = valid_app_id, .what = "app id",
   .rule = "1-64 letters, digits, '-', '_' or '.'"},
  {KEY("connect", KEY_CUSTOM, 0, 0, 0, AOFF(action), APP_CONNECT), .fn = app_flag},
  {KEY("disconnect", KEY_CUSTOM, 0, 0, 0, AOFF(action), APP_DISCONNECT), .fn = app_flag},
  {KEY("drop", KEY_CUSTOM, 0, 0, 0, AOFF(action), APP_DROP), .fn = app_flag},
  {KEY("command", KEY_CUSTOM, 0, 0, 0, AOFF(command), 0), .fn = app_command},
  {KEY("vehicle", KEY_STR, 0, 0, 0, AOFF(vehicle), 0), VEHICLE_ID},
  {QKEY("timeout", QTY_DURATION, 0.001, 3600, AOFF(timeout), SCENARIO_APP_TIMEOUT)},
  {KEY("wait_online", KEY_BOOL, 0, 0, 0, AOFF(wait_online), false)},
  {KEY("expect", KEY_NODE, 0, 0, 0, 0, 0)},
  {.key = NULL},
};
#undef AOFF

/* The keys of app_keys that name the step's action. */
static const char *const app_actions[] = {"connect", "disconnect", "drop", "command"};

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

static int app_contains(struct parser *p, const struct key_row *r, yaml_node_t *v, void *base)
{
  char **s = key_field(r, base);
  if (get_str(p, v, s) < 0)
    return SIM_EPARSE;
  if (!**s)
    err(p, v, "contains must not be empty");
  return 0;
}

/* `match:`: a POSIX extended regular expression, compiled into e->match_re. */
static int app_match(struct parser *p, const struct key_row *r, yaml_node_t *v, void *base)
{
  struct scenario_expect *e = base;
  if (get_str(p, v, &e->match) < 0)
    return SIM_EPARSE;
  const char *why = regex_too_big(e->match);
  if (why) {
    err(p, v, "regular expression refused: %s", why);
    return 0;
  }
  regex_t *re = xcalloc(1, sizeof(*re));
  int rc = regcomp(re, e->match, REG_EXTENDED | REG_NOSUB | REG_NEWLINE);
  if (rc != 0) {
    char msg[128];
    regerror(rc, re, msg, sizeof(msg));
    err(p, v, "invalid regular expression '%s': %s", e->match, msg);
    regfree(re);
    free(re);
    return 0;
  }
  e->match_re = re;
  (void)r;
  return 0;
}

#define EOFF(f) offsetof(struct scenario_expect, f)
static const struct key_row app_expect_keys[] = {
  {KEY("response", KEY_STR, 0, 0, 0, EOFF(response), 0)},
  {KEY("contains", KEY_STR, 0, 0, 0, EOFF(contains), 0), .fn = app_contains},
  {KEY("match", KEY_STR, 0, 0, 0, EOFF(match), 0), .fn = app_match},
  {QKEY("within", QTY_DURATION, 0.001, 3600, EOFF(within), -1)},
  {.key = NULL},
};

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
  e.when = EXPECT_AFTER_STEP;
  e.step = (size_t)(st - p->sc->steps);
  struct keys c;
  keys_start(&c, app_expect_keys, &e);
  size_t before = p->errors;
  if (read_keys(p, n, "app expect", &c) && p->errors == before) {
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
  struct keys c;
  keys_start(&c, app_keys, st);
  a->check = SIZE_MAX;
  if (null) {
    err(p, kn, "app needs a mapping such as {id: phone, connect: yes}");
    return;
  }
  size_t before = p->errors;
  if (!read_keys(p, v, "app", &c) || p->errors != before)
    return;
  if (!a->id) {
    err(p, v, "app needs 'id' (the app's MQTT client id)");
    return;
  }
  int actions = 0;
  for (size_t i = 0; i < ARRAY_SIZE(app_actions); i++)
    actions += key_given(&c, app_actions[i]);
  if (actions != 1) {
    err(p, v, "app takes one of 'connect', 'disconnect', 'drop' or 'command'%s",
        actions ? ", not several" : "");
    return;
  }
  static const char *const only_connect[] = {"vehicle", "wait_online"};
  for (size_t i = 0; i < ARRAY_SIZE(only_connect); i++)
    if (key_node(&c, only_connect[i]) && a->action != APP_CONNECT)
      err(p, key_node(&c, only_connect[i]), "'%s' belongs to a connect step", only_connect[i]);
  if (key_node(&c, "timeout") && a->action != APP_CONNECT && a->action != APP_COMMAND)
    err(p, key_node(&c, "timeout"), "'timeout' belongs to a connect or command step");
  if (key_node(&c, "expect"))
    app_expect(p, key_node(&c, "expect"), st);
  if (p->errors == before)
    app_state(p, v, a);
}

static int ecu_fault(struct parser *p, const struct key_row *r, yaml_node_t *v, void *base)
{
  char **s = key_field(r, base);
  struct ecu_fault f;
  if (get_str(p, v, s) < 0)
    return SIM_EPARSE;
  if (ecu_fault_parse(*s, &f) < 0)
    err(p, v, "'%s' is not an ECU fault (" ECU_FAULT_GRAMMAR ")", *s);
  return 0;
}

static const struct key_row ecu_keys[] = {
  {KEY("name", KEY_STR, 0, 0, 0, SOFF(u.ecu.name), 0), .check = valid_event,
   .what = "ECU name", .rule = "non-empty and without spaces"},
  {KEY("fault", KEY_STR, 0, 0, 0, SOFF(u.ecu.fault), 0), .fn = ecu_fault},
  {.key = NULL},
};

/* ecu: {name: bms, fault: silent} - the bench car's ECU misbehaves (vehicle/fault.h). */
static void ecu_params(struct parser *p, yaml_node_t *kn, yaml_node_t *v, bool null,
                       struct scenario_step *st)
{
  if (null || v->type != YAML_MAPPING_NODE) {
    err(p, null ? kn : v, "ecu needs a mapping such as {name: bms, fault: silent}");
    return;
  }
  struct keys c;
  keys_init(&c, ecu_keys, st);
  read_keys(p, v, "ecu", &c);
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
  size_t cnt;
  if (!list_array(p, n, "timeline", "steps", (void **)&sc->steps, sizeof(*sc->steps), &cnt))
    return;
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

static int expect_value(struct parser *p, const struct key_row *r, yaml_node_t *v, void *base)
{
  char **s = key_field(r, base);
  free(*s);
  *s = value_text(p, v);
  return *s ? 0 : SIM_EPARSE;
}

/* min, max, at and after are read once the metric and the timeline are known. */
static const struct key_row expect_keys[] = {
  {KEY("metric", KEY_STR, 0, 0, 0, EOFF(metric), 0)},
  {KEY("value", KEY_STR, 0, 0, 0, EOFF(value), 0), .fn = expect_value},
  {KEY("min", KEY_NODE, 0, 0, 0, 0, 0)},
  {KEY("max", KEY_NODE, 0, 0, 0, 0, 0)},
  {KEY("at", KEY_NODE, 0, 0, 0, 0, 0)},
  {KEY("after", KEY_NODE, 0, 0, 0, 0, 0)},
  {QKEY("tolerance", QTY_NUMBER, 0, 1e12, EOFF(tolerance), 0)},
  {KEY("defined", KEY_FLAG, 0, 0, 0, EOFF(defined), -1)},
  {.key = NULL},
};
#undef EOFF

/* A bound: a number in the metric's native unit, or with a unit suffix converted into it. */
static bool get_bound(struct parser *p, yaml_node_t *n, const struct metric *m, double *out)
{
  const char *s = scalar(p, n, "a number");
  if (!s)
    return false;
  double v;
  const char *end = read_quantity(s, &v);
  if (!end) {
    err(p, n, "expected a number, got '%s'", s);
    return false;
  }
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
static void expect_when(struct parser *p, const struct keys *c, struct scenario_expect *e)
{
  const struct scenario *sc = p->sc;
  yaml_node_t *at_n = key_node(c, "at"), *after_n = key_node(c, "after");
  if (at_n && after_n)
    err(p, after_n, "expect check takes 'at' or 'after', not both");
  if (at_n) {
    const char *s = scalar(p, at_n, "'end' or a time since start");
    if (s && !strcmp(s, "end"))
      e->when = EXPECT_AT_END;
    else if (s && get_qty(p, at_n, QTY_DURATION, 0, 366 * 86400.0, &e->at) == 0)
      e->when = EXPECT_AT_TIME;
    return;
  }
  if (!after_n)
    return;
  const char *s = scalar(p, after_n, "a step name or number");
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
    err(p, after_n, "no step '%s' in the timeline (give a step name or 1..%zu)", s,
        sc->n_steps);
}

/* One check of the expect list into e; false when it is not a mapping (not counted). */
static bool parse_one_expect(struct parser *p, yaml_node_t *it, struct scenario_expect *e)
{
  memset(e, 0, sizeof(*e));
  e->line = (int)it->start_mark.line + 1;
  e->col = (int)it->start_mark.column + 1;
  struct keys c;
  keys_start(&c, expect_keys, e);
  size_t before = p->errors;
  if (!read_keys(p, it, "expect check", &c))
    return false;
  yaml_node_t *min_n = key_node(&c, "min"), *max_n = key_node(&c, "max");
  yaml_node_t *value_n = key_node(&c, "value");
  struct metric *m = NULL;
  if (!e->metric)
    err(p, it, "expect check needs 'metric'");
  else
    m = check_metric(p, key_node(&c, "metric"), e->metric);
  if (min_n && get_bound(p, min_n, m, &e->min))
    e->has_min = true;
  if (max_n && get_bound(p, max_n, m, &e->max))
    e->has_max = true;
  if (e->has_min && e->has_max && e->min > e->max)
    err(p, max_n, "max (%g) is below min (%g)", e->max, e->min);
  if (value_n && e->value && m) {
    /* Check that the value is one the metric can hold. */
    struct metric *tmp = metrics_find(p->scratch, m->name);
    if (tmp && metric_set_from_string(tmp, e->value, SIM_UNIT_NATIVE) < 0)
      err(p, value_n, "'%s' is not a valid value for metric %s", e->value, m->name);
  }
  if (!value_n && !min_n && !max_n && e->defined < 0 && p->errors == before)
    err(p, it, "expect check needs 'value', 'min', 'max' or 'defined'");
  expect_when(p, &c, e);
  return true;
}

static void parse_expect(struct parser *p, yaml_node_t *n)
{
  struct scenario *sc = p->sc;
  size_t cnt;
  if (!list_array(p, n, "expect", "checks", (void **)&sc->expects, sizeof(*sc->expects), &cnt))
    return;
  for (size_t i = 0; i < cnt; i++) {
    yaml_node_t *it = node(p, n->data.sequence.items.start[i]);
    if (parse_one_expect(p, it, &sc->expects[sc->n_expects]))
      sc->n_expects++;
  }
}

/* ---- top level --------------------------------------------------------------------------- */

/* start: a UTC time as parse.h's parse_time() reads it, into the int64_t *field in ns. */
static int parse_utc(const char *s, void *field)
{
  int64_t t;
  int r = parse_time(s, &t);
  if (r == 0)
    *(int64_t *)field = t * SIM_NS_PER_SEC;
  return r;
}

static int top_seed(struct parser *p, const struct key_row *r, yaml_node_t *v, void *base)
{
  struct scenario *sc = base;
  const char *s = scalar(p, v, "an unsigned integer");
  if (!s)
    return SIM_EPARSE;
  char *end;
  errno = 0;
  unsigned long long x = strtoull(s, &end, 10);
  if (end == s || *end || errno || *s == '-') {
    err(p, v, "expected an unsigned integer seed, got '%s'", s);
    return SIM_EPARSE;
  }
  sc->seed = x, sc->has_seed = true;
  (void)r;
  return 0;
}

static const struct key_word realtime_words[] = {
  {"now", SCENARIO_RT_NOW}, {"time-of-day", SCENARIO_RT_TIME_OF_DAY}, {"start", SCENARIO_RT_START},
  {NULL, 0},
};

/* The sections are read after the top level, in this order: the vehicle before the timeline
 * (charge defaults come from it), the timeline before expect (step names). */
#define TOFF(f) offsetof(struct scenario, f)
static const struct key_row top_keys[] = {
  {KEY("name", KEY_STR, 0, 0, 0, TOFF(name), 0)},
  {KEY("description", KEY_STR, 0, 0, 0, TOFF(description), 0)},
  {KEY("start", KEY_CUSTOM, 0, 0, 0, TOFF(start_utc_ns), 0), .conv = parse_utc,
   .what = "a UTC time 'YYYY-MM-DD HH:MM:SS'", .rule = "a UTC time 'YYYY-MM-DD HH:MM:SS'"},
  {KEY("seed", KEY_CUSTOM, 0, 0, 0, TOFF(seed), 0), .fn = top_seed},
  {QKEY("tick", QTY_DURATION, 0.01, 60, TOFF(tick), 1)},
  {KEY("vehicle", KEY_NODE, 0, 0, 0, 0, 0)},
  {KEY("timeline", KEY_NODE, 0, 0, 0, 0, 0)},
  {KEY("expect", KEY_NODE, 0, 0, 0, 0, 0)},
  {KEY("start_realtime", KEY_ENUM, 0, 0, 0, TOFF(realtime_start), SCENARIO_RT_NOW),
   .words = realtime_words, .what = "start_realtime"},
  {.key = NULL},
};
#undef TOFF

static void walk(struct parser *p)
{
  struct keys c;
  keys_start(&c, top_keys, p->sc);
  yaml_node_t *root = yaml_document_get_root_node(&p->doc);
  if (!root || is_null_scalar(root)) {
    sim_diag_error(p->d, p->file, 1, 1, "empty scenario (expected a mapping with vehicle:, "
                   "timeline: and expect:)");
    p->errors++;
    return;
  }
  if (!read_keys(p, root, "scenario", &c))
    return;
  if (p->sc->realtime_start != SCENARIO_RT_NOW && !p->sc->start_utc_ns)
    err(p, key_node(&c, "start_realtime"), "start_realtime: %s needs a start: time",
        realtime_words[p->sc->realtime_start].name);
  if (key_node(&c, "vehicle"))
    parse_vehicle(p, key_node(&c, "vehicle"));
  if (key_node(&c, "timeline"))
    parse_timeline(p, key_node(&c, "timeline"));
  if (key_node(&c, "expect"))
    parse_expect(p, key_node(&c, "expect"));
}

/* ---- entry points ------------------------------------------------------------------------ */

static void step_free_contents(struct scenario_step *st)
{
  free(st->name);
  switch (st->kind) {
  case STEP_DRIVE:
    free(st->u.drive.profile);
    route_free(&st->u.drive);
    break;
  case STEP_CHARGE: free(st->u.charge.mode); break;
  case STEP_SET:
    free_strings(st->u.set.names, st->u.set.n);
    free_strings(st->u.set.values, st->u.set.n);
    break;
  case STEP_NOTIFY: free(st->u.notify.subtype); free(st->u.notify.text); break;
  case STEP_EVENT: free(st->u.event.name); free(st->u.event.data); break;
  case STEP_APP:
    free(st->u.app.id);
    free(st->u.app.vehicle);
    free(st->u.app.command);
    break;
  case STEP_ECU: free(st->u.ecu.name); free(st->u.ecu.fault); break;
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
  free_strings(p->apps_up, p->n_apps_up);
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
