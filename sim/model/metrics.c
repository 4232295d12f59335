/*
 * metrics.c - the metrics registry, setters, getters and payload formatting (see metrics.h).
 *
 * The registry is an array of metric pointers kept in strcmp order, searched by bisection.
 * Standard metrics live in one array allocated at creation (from metrics_std.def); vehicle
 * metrics are allocated one by one and inserted in order.  Values of variable size keep their
 * capacity, so a decoder that sets the same vector every frame allocates only once.
 */
#include "model/metrics.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/array.h"
#include "core/error.h"
#include "core/json.h"
#include "core/loop.h"
#include "core/parse.h"
#include "core/xalloc.h"

#define MAX_LISTENERS 256
#define MAX_NAME 127

struct listener {
  char *pattern;
  metric_listener_fn fn;
  void *ctx;
  bool exact; /* the pattern is a whole name: only metrics flagged METRIC_F_LISTENED match */
  bool dead;  /* removed while listeners were running; compacted afterwards */
};

struct metrics {
  struct sim_loop *loop;
  struct metric **v; /* sorted */
  size_t n, cap;
  struct metric *std; /* the standard metrics, one allocation */
  int next_modifier;
  struct listener *listeners;
  size_t nlisteners, lcap;
  int dispatching; /* depth of listener calls in progress */
  bool have_dead;
};

static const struct {
  const char *name;
  uint8_t type, unit;
  uint16_t autostale;
  uint8_t flags, bits;
  int8_t start;
} std_table[] = {
#define M(name, type, unit, stale, flags, bits, start) {name, type, unit, stale, flags, bits, start},
#include "model/metrics_std.def"
#undef M
};

#define NSTD (ARRAY_SIZE(std_table))

size_t metrics_std_count(void)
{
  return NSTD;
}

static int cmp_ptr(const void *a, const void *b)
{
  return strcmp((*(struct metric *const *)a)->name, (*(struct metric *const *)b)->name);
}

struct metrics *metrics_new(struct sim_loop *loop)
{
  struct metrics *ms = xcalloc(1, sizeof(*ms));
  ms->loop = loop;
  ms->std = xcalloc(NSTD, sizeof(struct metric));
  xgrow((void **)&ms->v, &ms->cap, NSTD + 64, sizeof(*ms->v));
  for (size_t i = 0; i < NSTD; i++) {
    struct metric *m = &ms->std[i];
    m->name = std_table[i].name;
    m->reg = ms;
    m->type = std_table[i].type;
    m->unit = std_table[i].unit;
    m->autostale = std_table[i].autostale;
    m->flags = std_table[i].flags;
    m->bits = std_table[i].bits;
    m->bit_start = std_table[i].start;
    ms->v[i] = m;
  }
  ms->n = NSTD;
  qsort(ms->v, ms->n, sizeof(*ms->v), cmp_ptr); /* the .def is sorted; this makes sure */
  return ms;
}

static void free_data(struct metric *m)
{
  if (m->type == METRIC_SET_STRING)
    for (uint32_t i = 0; i < m->n; i++)
      free(((char **)m->data)[i]);
  free(m->data);
  m->data = NULL;
  m->n = m->cap = 0;
}

void metrics_free(struct metrics *ms)
{
  if (!ms)
    return;
  for (size_t i = 0; i < ms->n; i++) {
    struct metric *m = ms->v[i];
    free_data(m);
    if (m->flags & METRIC_F_VEHICLE) {
      free((char *)m->name);
      free(m);
    }
  }
  for (size_t i = 0; i < ms->nlisteners; i++)
    free(ms->listeners[i].pattern);
  free(ms->listeners);
  free(ms->std);
  free(ms->v);
  free(ms);
}

static size_t lower_bound(const struct metrics *ms, const char *name)
{
  size_t lo = 0, hi = ms->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (strcmp(ms->v[mid]->name, name) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

struct metric *metrics_find(struct metrics *ms, const char *name)
{
  size_t i = lower_bound(ms, name);
  return i < ms->n && !strcmp(ms->v[i]->name, name) ? ms->v[i] : NULL;
}

static bool valid_name(const char *name)
{
  size_t len = strlen(name);
  if (len == 0 || len > MAX_NAME || name[0] == '.' || name[len - 1] == '.')
    return false;
  for (const char *p = name; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' ||
          *p == '-'))
      return false;
  return true;
}

int metrics_register(struct metrics *ms, const char *name, enum metric_type type,
                     enum sim_unit unit, unsigned autostale, struct metric **out)
{
  if (!valid_name(name))
    return SIM_ERANGE;
  size_t i = lower_bound(ms, name);
  if (i < ms->n && !strcmp(ms->v[i]->name, name)) {
    if (ms->v[i]->type != type)
      return SIM_EEXIST;
    *out = ms->v[i];
    return 0;
  }
  struct metric *m = xcalloc(1, sizeof(*m));
  m->name = xstrdup(name);
  m->reg = ms;
  m->type = (uint8_t)type;
  m->unit = (uint8_t)unit;
  m->autostale = (uint16_t)(autostale > 65535 ? 65535 : autostale);
  m->flags = METRIC_F_VEHICLE;
  for (size_t k = 0; k < ms->nlisteners; k++)
    if (ms->listeners[k].exact && !strcmp(ms->listeners[k].pattern, name))
      m->flags |= METRIC_F_LISTENED;
  if (type == METRIC_BITSET)
    m->bits = 64;
  xgrow((void **)&ms->v, &ms->cap, ms->n + 1, sizeof(*ms->v));
  memmove(&ms->v[i + 1], &ms->v[i], (ms->n - i) * sizeof(*ms->v));
  ms->v[i] = m;
  ms->n++;
  *out = m;
  return 0;
}

size_t metrics_count(const struct metrics *ms)
{
  return ms->n;
}

struct metric *metrics_at(const struct metrics *ms, size_t i)
{
  return i < ms->n ? ms->v[i] : NULL;
}

int metrics_register_modifier(struct metrics *ms)
{
  if (ms->next_modifier >= METRICS_MAX_MODIFIERS)
    return SIM_ELIMIT;
  return ms->next_modifier++;
}

bool metric_name_match(const char *pattern, const char *name)
{
  size_t pl = strlen(pattern);
  if (pl == 1 && pattern[0] == '*')
    return true;
  if (pl > 0 && pattern[pl - 1] == '*')
    return !strncmp(pattern, name, pl - 1);
  if (pl > 0 && pattern[0] == '*') {
    size_t nl = strlen(name);
    return nl >= pl - 1 && !strcmp(name + nl - (pl - 1), pattern + 1);
  }
  return !strcmp(pattern, name);
}

int metrics_listen(struct metrics *ms, const char *pattern, metric_listener_fn fn, void *ctx)
{
  if (ms->nlisteners >= MAX_LISTENERS)
    return SIM_ELIMIT;
  size_t pl = strlen(pattern);
  bool exact = !pl || (pattern[0] != '*' && pattern[pl - 1] != '*');
  if (exact) {
    /* Most listeners name one metric; flagging it spares every other metric's changes the
     * name comparisons (a change is dispatched for each set). */
    struct metric *m = metrics_find(ms, pattern);
    if (m)
      m->flags |= METRIC_F_LISTENED;
  }
  xgrow((void **)&ms->listeners, &ms->lcap, ms->nlisteners + 1, sizeof(*ms->listeners));
  ms->listeners[ms->nlisteners++] = (struct listener){xstrdup(pattern), fn, ctx, exact, false};
  return 0;
}

static void compact_listeners(struct metrics *ms)
{
  size_t j = 0;
  for (size_t i = 0; i < ms->nlisteners; i++) {
    if (ms->listeners[i].dead)
      free(ms->listeners[i].pattern);
    else
      ms->listeners[j++] = ms->listeners[i];
  }
  ms->nlisteners = j;
  ms->have_dead = false;
}

void metrics_unlisten(struct metrics *ms, metric_listener_fn fn, void *ctx)
{
  for (size_t i = 0; i < ms->nlisteners; i++) {
    if (ms->listeners[i].fn == fn && ms->listeners[i].ctx == ctx) {
      ms->listeners[i].dead = true;
      ms->have_dead = true;
    }
  }
  if (!ms->dispatching)
    compact_listeners(ms); /* else after the listeners in progress return */
}

/* Calls every live listener matching m; listeners may (un)register listeners meanwhile. */
static void notify_listeners(struct metric *m)
{
  struct metrics *ms = m->reg;
  bool named = m->flags & METRIC_F_LISTENED; /* (a flag outlives its listener: harmless) */
  ms->dispatching++;
  for (size_t i = 0; i < ms->nlisteners; i++) { /* nlisteners may grow meanwhile */
    const struct listener *l = &ms->listeners[i];
    if (l->dead || (l->exact ? !named || strcmp(l->pattern, m->name)
                             : !metric_name_match(l->pattern, m->name)))
      continue;
    l->fn(l->ctx, m);
  }
  if (--ms->dispatching == 0 && ms->have_dead)
    compact_listeners(ms);
}

bool metric_test_and_clear_modified(struct metric *m, int slot)
{
  uint32_t bit = UINT32_C(1) << slot;
  bool was = (m->modified & bit) != 0;
  m->modified &= ~bit;
  return was;
}

bool metric_is_modified(const struct metric *m, int slot)
{
  return (m->modified & (UINT32_C(1) << slot)) != 0;
}

static int64_t mono(const struct metric *m)
{
  return m->reg->loop ? sim_monotonic(m->reg->loop) : 0;
}

bool metric_is_stale(const struct metric *m)
{
  if (!metric_is_defined(m))
    return true;
  if (m->autostale == 0)
    return false;
  return m->lastmodified + (int64_t)m->autostale * SIM_NS_PER_SEC < mono(m);
}

/* SetModified(changed) of the firmware. */
static int touched(struct metric *m, bool changed)
{
  /* As the firmware: the first set of a value equal to the initial one (0, "", empty) makes
   * the metric defined but is not a change. */
  m->defined = m->defined == METRIC_NEVER_DEFINED ? METRIC_FIRST_DEFINED : METRIC_DEFINED;
  m->lastmodified = mono(m);
  if (!changed)
    return 0;
  m->modified = UINT32_MAX;
  notify_listeners(m);
  return 1;
}

int metric_set_bool(struct metric *m, bool v)
{
  if (m->type != METRIC_BOOL)
    return SIM_ETYPE;
  bool changed = m->v.b != v;
  m->v.b = v;
  return touched(m, changed);
}

int metric_set_int64(struct metric *m, int64_t v)
{
  switch (m->type) {
  case METRIC_INT: {
    int32_t nv = v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int32_t)v;
    bool changed = m->v.i != nv;
    m->v.i = nv;
    return touched(m, changed);
  }
  case METRIC_INT64: {
    bool changed = m->v.l != v;
    m->v.l = v;
    return touched(m, changed);
  }
  case METRIC_FLOAT:
    return metric_set_float(m, (double)v);
  default:
    return SIM_ETYPE;
  }
}

int metric_set_int(struct metric *m, int32_t v)
{
  return metric_set_int64(m, v);
}

int metric_set_float(struct metric *m, double v)
{
  switch (m->type) {
  case METRIC_FLOAT: {
    float nv = (float)v;
    bool changed = m->v.f != nv;
    m->v.f = nv;
    return touched(m, changed);
  }
  case METRIC_INT:
  case METRIC_INT64:
    if (!isfinite(v))
      return SIM_ERANGE;
    /* saturate as metric_set_int64() does: llround() of a value beyond int64 is undefined */
    if (v >= 0x1p63)
      return metric_set_int64(m, INT64_MAX);
    if (v < -0x1p63)
      return metric_set_int64(m, INT64_MIN);
    return metric_set_int64(m, llround(v));
  default:
    return SIM_ETYPE;
  }
}

int metric_set_float_unit(struct metric *m, double v, enum sim_unit from)
{
  double nv;
  int r = sim_unit_convert(v, from, m->unit, &nv);
  if (r < 0)
    return r;
  return metric_set_float(m, nv);
}

int metric_set_string_n(struct metric *m, const char *s, size_t len)
{
  if (m->type != METRIC_STRING)
    return SIM_ETYPE;
  const char *nul = memchr(s, '\0', len);
  if (nul)
    len = (size_t)(nul - s);
  bool changed = m->n != len || (len && memcmp(m->data, s, len) != 0);
  if (changed) {
    size_t cap = m->cap;
    xgrow(&m->data, &cap, len + 1, 1);
    m->cap = (uint32_t)cap;
    memcpy(m->data, s, len);
    ((char *)m->data)[len] = '\0';
    m->n = (uint32_t)len;
  }
  return touched(m, changed);
}

int metric_set_string(struct metric *m, const char *s)
{
  return metric_set_string_n(m, s, strlen(s));
}

static void ensure(struct metric *m, size_t n, size_t elem)
{
  size_t cap = m->cap;
  xgrow(&m->data, &cap, n ? n : 1, elem);
  m->cap = (uint32_t)cap;
}

/* The vector setters' store: when changed (by the comparison of their element type), the n
 * elements of size bytes at v replace m's. */
static int store_vec(struct metric *m, const void *v, size_t n, size_t size, bool changed)
{
  if (changed) {
    ensure(m, n, size);
    if (n)
      memcpy(m->data, v, n * size);
    m->n = (uint32_t)n;
  }
  return touched(m, changed);
}

int metric_set_vec_float(struct metric *m, const float *v, size_t n)
{
  if (m->type != METRIC_VEC_FLOAT)
    return SIM_ETYPE;
  bool changed = m->n != n;
  for (size_t i = 0; !changed && i < n; i++)
    changed = ((float *)m->data)[i] != v[i];
  return store_vec(m, v, n, sizeof(*v), changed);
}

static int set_ints(struct metric *m, const int32_t *v, size_t n)
{
  bool changed = m->n != n;
  for (size_t i = 0; !changed && i < n; i++)
    changed = ((int32_t *)m->data)[i] != v[i];
  return store_vec(m, v, n, sizeof(*v), changed);
}

int metric_set_vec_int(struct metric *m, const int32_t *v, size_t n)
{
  if (m->type != METRIC_VEC_INT)
    return SIM_ETYPE;
  return set_ints(m, v, n);
}

/* Sets element i of the vector metric m of type t (v points at a float or an int32_t),
 * growing m with zeros to i + 1 elements when it is shorter.  Returns what touched() returns,
 * SIM_ETYPE (another type) or SIM_ERANGE (i past the 65536 elements a vector holds). */
static int set_elem(struct metric *m, enum metric_type t, size_t i, const void *v)
{
  if (m->type != t)
    return SIM_ETYPE;
  if (i >= 65536)
    return SIM_ERANGE;
  size_t size = t == METRIC_VEC_FLOAT ? sizeof(float) : sizeof(int32_t);
  bool changed = false;
  if (i >= m->n) {
    ensure(m, i + 1, size);
    memset((char *)m->data + m->n * size, 0, (i + 1 - m->n) * size);
    m->n = (uint32_t)i + 1;
    changed = true;
  }
  void *e = (char *)m->data + i * size;
  /* floats compare as floats: 0.0 and -0.0 are the same value, the one stored stays */
  bool same = t == METRIC_VEC_FLOAT ? *(float *)e == *(const float *)v
                                    : *(int32_t *)e == *(const int32_t *)v;
  if (!same) {
    memcpy(e, v, size);
    changed = true;
  }
  return touched(m, changed);
}

int metric_set_vec_float_elem(struct metric *m, size_t i, float v)
{
  return set_elem(m, METRIC_VEC_FLOAT, i, &v);
}

int metric_set_vec_int_elem(struct metric *m, size_t i, int32_t v)
{
  return set_elem(m, METRIC_VEC_INT, i, &v);
}

int metric_set_bits(struct metric *m, uint64_t mask)
{
  if (m->type != METRIC_BITSET)
    return SIM_ETYPE;
  if (m->bits < 64)
    mask &= (UINT64_C(1) << m->bits) - 1;
  bool changed = m->v.bits != mask;
  m->v.bits = mask;
  return touched(m, changed);
}

void metric_clear(struct metric *m)
{
  if (m->defined == METRIC_NEVER_DEFINED)
    return;
  m->defined = METRIC_NEVER_DEFINED;
  memset(&m->v, 0, sizeof(m->v));
  if (m->type == METRIC_SET_STRING)
    for (uint32_t i = 0; i < m->n; i++)
      free(((char **)m->data)[i]);
  m->n = 0;
  m->modified = UINT32_MAX;
  notify_listeners(m);
}

/* ---- parsing text ---------------------------------------------------------------------- */

static const char *skip_ws(const char *s)
{
  while (*s == ' ' || *s == '\t')
    s++;
  return s;
}

/* Parses a number with an optional unit suffix; the whole string must be consumed. */
static int parse_number(const char *s, double *v, enum sim_unit *unit)
{
  char *end;
  s = skip_ws(s);
  if (!*s)
    return SIM_EPARSE;
  errno = 0;
  double d = strtod(s, &end);
  if (end == s || errno == ERANGE || !isfinite(d))
    return SIM_EPARSE;
  const char *u = skip_ws(end);
  size_t ul = strlen(u);
  while (ul && (u[ul - 1] == ' ' || u[ul - 1] == '\t'))
    ul--;
  *unit = SIM_UNIT_NATIVE;
  if (ul) {
    char buf[32];
    if (ul >= sizeof(buf))
      return SIM_EPARSE;
    memcpy(buf, u, ul);
    buf[ul] = '\0';
    if (sim_unit_parse(buf, unit) < 0)
      return SIM_EPARSE;
  }
  *v = d;
  return 0;
}

static int parse_date(const char *s, int64_t *out)
{
  struct tm tm;
  memset(&tm, 0, sizeof(tm));
  s = skip_ws(s);
  const char *end = strptime(s, "%Y-%m-%d %H:%M:%S", &tm);
  if (!end)
    return SIM_EPARSE;
  end = skip_ws(end);
  if (*end && strcmp(end, "UTC") && strcmp(end, "GMT") && strcmp(end, "Z"))
    return SIM_EPARSE;
  struct tm want = tm;
  time_t t = timegm(&tm);
  /* timegm() rolls "February 31st" or second 60 over into the next month or minute */
  if (tm.tm_mday != want.tm_mday || tm.tm_mon != want.tm_mon || tm.tm_sec != want.tm_sec)
    return SIM_EPARSE;
  *out = (int64_t)t;
  return 0;
}

/* Reads 1..maxd decimal digits (no sign) into *v; returns the end or NULL. */
static const char *read_digits(const char *s, int maxd, int64_t *v)
{
  int n = 0;
  *v = 0;
  while (*s >= '0' && *s <= '9') {
    if (++n > maxd)
      return NULL;
    *v = *v * 10 + (*s++ - '0');
  }
  return n ? s : NULL;
}

/* [-]H:MM[:SS] as metric_format() writes TimeUTC/TimeLocal values (hours not wrapped). */
static int parse_hms(const char *s, int64_t *out)
{
  int64_t h, mi, se = 0;
  const char *p = skip_ws(s);
  bool neg = *p == '-';
  if (neg)
    p++;
  const char *q;
  /* minutes and seconds have exactly two digits, as metric_format() writes them */
  if (!(p = read_digits(p, 16, &h)) || *p++ != ':' || !(q = read_digits(p, 2, &mi)) ||
      q - p != 2 || mi >= 60)
    return SIM_EPARSE;
  p = q;
  if (*p == ':' && (!(q = read_digits(p + 1, 2, &se)) || q - p != 3 || se >= 60))
    return SIM_EPARSE;
  if (*p == ':')
    p = q;
  if (*skip_ws(p))
    return SIM_EPARSE;
  /* up to INT64_MAX seconds, or -2^63 when negative (as metric_format writes INT64_MIN) */
  if (h > INT64_MAX / 3600)
    return SIM_ERANGE;
  uint64_t v = (uint64_t)h * 3600 + (uint64_t)(mi * 60 + se);
  if (v > (uint64_t)INT64_MAX + neg)
    return SIM_ERANGE;
  *out = neg ? (v ? -(int64_t)(v - 1) - 1 : 0) : (int64_t)v;
  return 0;
}

/* Sets an INT/INT64 metric to v, or SIM_ERANGE when v does not fit an INT metric (the
 * setters clamp; text that says more than the metric holds is an error, not a clamp). */
static int set_int_checked(struct metric *m, int64_t v)
{
  if (m->type == METRIC_INT && (v > INT32_MAX || v < INT32_MIN))
    return SIM_ERANGE;
  return metric_set_int64(m, v);
}

static int parse_scalar(struct metric *m, const char *s, enum sim_unit from, double *out)
{
  enum sim_unit u;
  double v;
  int r = parse_number(s, &v, &u);
  if (r < 0)
    return r;
  if (u == SIM_UNIT_NATIVE)
    u = from;
  return sim_unit_convert(v, u, m->unit, out);
}

/* A comma list being read into a metric: the items so far, in the array of the metric's type. */
struct list_ctx {
  struct metric *m;
  enum sim_unit from;
  float *f;
  int32_t *i;
  char **s;
  size_t n, cap;
  uint64_t bits;
};

/* Makes room for one more item in *items (an array of size-byte items) and returns its index. */
static size_t list_append(struct list_ctx *c, void **items, size_t size)
{
  xgrow(items, &c->cap, c->n + 1, size);
  return c->n++;
}

/* Adds one item of a comma list, read as an element of the metric's type. */
static int add_item(struct list_ctx *c, const char *item)
{
  const struct metric *m = c->m;
  long l;
  size_t k;
  switch (m->type) {
  case METRIC_VEC_FLOAT: {
    double v;
    int r = parse_scalar(c->m, item, c->from, &v);
    if (r < 0)
      return r;
    if (!(fabs(v) <= FLT_MAX))
      return SIM_ERANGE;
    k = list_append(c, (void **)&c->f, sizeof(float));
    c->f[k] = (float)v;
    return 0;
  }
  case METRIC_VEC_INT:
  case METRIC_SET_INT:
    if (parse_long(item, &l) < 0 || l < INT32_MIN || l > INT32_MAX)
      return SIM_EPARSE;
    k = list_append(c, (void **)&c->i, sizeof(int32_t));
    c->i[k] = (int32_t)l;
    return 0;
  case METRIC_BITSET:
    if (parse_long(item, &l) < 0)
      return SIM_EPARSE;
    if (l < m->bit_start || l - m->bit_start >= m->bits)
      return SIM_ERANGE;
    c->bits |= UINT64_C(1) << (l - m->bit_start);
    return 0;
  default: /* METRIC_SET_STRING */
    k = list_append(c, (void **)&c->s, sizeof(char *));
    c->s[k] = xstrdup(item);
    return 0;
  }
}

/* Splits a comma list, adding each item (a trimmed copy) to c. */
static int read_list(const char *s, struct list_ctx *c)
{
  s = skip_ws(s);
  if (!*s)
    return 0;
  for (;;) {
    const char *comma = strchr(s, ',');
    size_t len = comma ? (size_t)(comma - s) : strlen(s);
    char buf[128];
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
      len--;
    if (len == 0 || len >= sizeof(buf))
      return SIM_EPARSE;
    memcpy(buf, s, len);
    buf[len] = '\0';
    int r = add_item(c, buf);
    if (r < 0)
      return r;
    if (!comma)
      return 0;
    s = skip_ws(comma + 1);
  }
}

static int cmp_int(const void *a, const void *b)
{
  int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  return (x > y) - (x < y);
}

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int set_string_set(struct metric *m, char **v, size_t n)
{
  if (n > 1)
    qsort(v, n, sizeof(char *), cmp_str);
  size_t u = 0;
  for (size_t i = 0; i < n; i++) {
    if (u && !strcmp(v[u - 1], v[i]))
      free(v[i]);
    else
      v[u++] = v[i];
  }
  bool changed = m->n != u;
  for (size_t i = 0; !changed && i < u; i++)
    changed = strcmp(((char **)m->data)[i], v[i]) != 0;
  if (changed) {
    for (uint32_t i = 0; i < m->n; i++)
      free(((char **)m->data)[i]);
    ensure(m, u, sizeof(char *));
    if (u)
      memcpy(m->data, v, u * sizeof(char *));
    m->n = (uint32_t)u;
  } else {
    for (size_t i = 0; i < u; i++)
      free(v[i]);
  }
  return touched(m, changed);
}

/* INT and INT64: dates and times in their text forms, exact integers, or numbers with a
 * unit. */
static int set_int_from_string(struct metric *m, const char *s, enum sim_unit from)
{
  int r;
  int64_t t;
  if (m->unit == SIM_UNIT_DATEUTC || m->unit == SIM_UNIT_DATELOCAL) {
    if (parse_date(s, &t) == 0)
      return set_int_checked(m, t);
  } else if (m->unit == SIM_UNIT_TIMEUTC || m->unit == SIM_UNIT_TIMELOCAL) {
    if (parse_hms(s, &t) == 0)
      return set_int_checked(m, t);
  }
  /* a plain integer is taken exactly (a double holds only 53 bits) */
  long l;
  r = parse_long(s, &l);
  if (r == SIM_ERANGE)
    return r;
  if (r == 0 && (from == SIM_UNIT_NATIVE || from == m->unit))
    return set_int_checked(m, l);
  double v;
  if ((r = parse_scalar(m, s, from, &v)) < 0)
    return r;
  /* 2^63 itself does not fit: (double)INT64_MAX rounds up to it */
  if (!(v < 0x1p63 && v >= -0x1p63) ||
      (m->type == METRIC_INT && (v > INT32_MAX || v < INT32_MIN)))
    return SIM_ERANGE;
  return set_int_checked(m, llround(v));
}

/* The comma-separated types: vectors, sets and bit sets. */
static int set_list_from_string(struct metric *m, const char *s, enum sim_unit from)
{
  struct list_ctx c = {.m = m, .from = from};
  int r;
  switch (m->type) {
  case METRIC_VEC_FLOAT:
    r = read_list(s, &c);
    if (r == 0)
      r = metric_set_vec_float(m, c.f, c.n);
    free(c.f);
    return r;
  case METRIC_VEC_INT:
  case METRIC_SET_INT:
    r = read_list(s, &c);
    if (r == 0) {
      if (m->type == METRIC_SET_INT) {
        if (c.n > 1)
          qsort(c.i, c.n, sizeof(int32_t), cmp_int);
        size_t u = 0;
        for (size_t i = 0; i < c.n; i++)
          if (!u || c.i[u - 1] != c.i[i])
            c.i[u++] = c.i[i];
        c.n = u;
      }
      r = set_ints(m, c.i, c.n);
    }
    free(c.i);
    return r;
  case METRIC_BITSET:
    r = read_list(s, &c);
    return r < 0 ? r : metric_set_bits(m, c.bits);
  case METRIC_SET_STRING:
    r = read_list(s, &c);
    if (r < 0) {
      for (size_t i = 0; i < c.n; i++)
        free(c.s[i]);
      free(c.s);
      return r;
    }
    r = set_string_set(m, c.s, c.n);
    free(c.s);
    return r;
  default:
    return SIM_ETYPE;
  }
}

int metric_set_from_string(struct metric *m, const char *s, enum sim_unit from)
{
  int r;
  switch (m->type) {
  case METRIC_BOOL: {
    bool b;
    if (parse_bool(s, &b) < 0)
      return SIM_EPARSE;
    return metric_set_bool(m, b);
  }
  case METRIC_INT:
  case METRIC_INT64:
    return set_int_from_string(m, s, from);
  case METRIC_FLOAT: {
    double v;
    if ((r = parse_scalar(m, s, from, &v)) < 0)
      return r;
    if (!(fabs(v) <= FLT_MAX)) /* would be stored as inf */
      return SIM_ERANGE;
    return metric_set_float(m, v);
  }
  case METRIC_STRING:
    return metric_set_string(m, s);
  case METRIC_VEC_FLOAT:
  case METRIC_VEC_INT:
  case METRIC_SET_INT:
  case METRIC_BITSET:
  case METRIC_SET_STRING:
    return set_list_from_string(m, s, from);
  }
  return SIM_ETYPE;
}

/* ---- getters --------------------------------------------------------------------------- */

bool metric_bool(const struct metric *m)
{
  if (!metric_is_defined(m))
    return false;
  return m->type == METRIC_BOOL ? m->v.b : metric_float(m) != 0;
}

int64_t metric_int64(const struct metric *m)
{
  if (!metric_is_defined(m))
    return 0;
  switch (m->type) {
  case METRIC_BOOL: return m->v.b;
  case METRIC_INT: return m->v.i;
  case METRIC_INT64: return m->v.l;
  case METRIC_FLOAT: return isfinite(m->v.f) ? llroundf(m->v.f) : 0;
  case METRIC_BITSET: return (int64_t)m->v.bits;
  default: return 0;
  }
}

int32_t metric_int(const struct metric *m)
{
  int64_t v = metric_int64(m);
  return v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int32_t)v;
}

double metric_float(const struct metric *m)
{
  if (!metric_is_defined(m))
    return 0;
  switch (m->type) {
  case METRIC_FLOAT: return m->v.f;
  case METRIC_INT:
  case METRIC_INT64:
  case METRIC_BOOL: return (double)metric_int64(m); /* as metric_int64() reads them */
  default: return 0;
  }
}

double metric_float_unit(const struct metric *m, enum sim_unit to)
{
  double v = metric_float(m), out;
  return sim_unit_convert(v, m->unit, to, &out) == 0 ? out : v;
}

const char *metric_string(const struct metric *m)
{
  return m->type == METRIC_STRING && m->data && metric_is_defined(m) ? m->data : "";
}

/* ---- formatting ------------------------------------------------------------------------ */

int sim_tz_set(const char *tz)
{
  setenv("TZ", tz && *tz ? tz : "GMT0", 1);
  tzset();
  return 0;
}

static void fmt_date(int64_t t, bool local, struct sbuf *out)
{
  struct tm tm;
  time_t tt = (time_t)t;
  char buf[96];
  if (local ? !localtime_r(&tt, &tm) : !gmtime_r(&tt, &tm)) {
    sbuf_printf(out, "%lld", (long long)t);
    return;
  }
  size_t n = strftime(buf, sizeof(buf), local ? "%F %T %Z" : "%F %T UTC", &tm);
  sbuf_add(out, buf, n);
}

static void fmt_int(const struct metric *m, int64_t v, const struct metric_fmt *fmt,
                    struct sbuf *out)
{
  switch (m->unit) {
  case SIM_UNIT_TIMEUTC:
  case SIM_UNIT_TIMELOCAL: {
    /* HH:MM:SS, hours not wrapped (OvmsMetricInt::AsString() in V3/main/ovms_metrics.cpp). */
    uint64_t a = v < 0 ? 0 - (uint64_t)v : (uint64_t)v; /* INT64_MIN too */
    sbuf_printf(out, "%s%02llu:%02llu:%02llu", v < 0 ? "-" : "", (unsigned long long)(a / 3600),
                (unsigned long long)(a / 60 % 60), (unsigned long long)(a % 60));
    return;
  }
  case SIM_UNIT_DATEUTC:
  case SIM_UNIT_DATELOCAL:
    fmt_date(v, m->unit == SIM_UNIT_DATELOCAL, out);
    return;
  default:
    break;
  }
  sbuf_printf(out, "%lld", (long long)v);
}

static void fmt_float(double v, struct sbuf *out)
{
  sbuf_printf(out, "%g", v);
}

void metric_format(const struct metric *m, const struct metric_fmt *fmt, struct sbuf *out)
{
  if (!metric_is_defined(m))
    return;
  switch (m->type) {
  case METRIC_BOOL:
    sbuf_adds(out, m->v.b ? "yes" : "no");
    break;
  case METRIC_INT:
  case METRIC_INT64:
    fmt_int(m, metric_int64(m), fmt, out);
    break;
  case METRIC_FLOAT:
    if ((m->flags & METRIC_F_FIXED6) && !(fmt && fmt->latlon_g))
      sbuf_printf(out, "%.6f", (double)m->v.f);
    else
      fmt_float(m->v.f, out);
    break;
  case METRIC_STRING:
    if (m->n)
      sbuf_add(out, m->data, m->n);
    break;
  case METRIC_VEC_FLOAT:
    for (uint32_t i = 0; i < m->n; i++) {
      if (i)
        sbuf_addc(out, ',');
      fmt_float(((float *)m->data)[i], out);
    }
    break;
  case METRIC_VEC_INT:
  case METRIC_SET_INT:
    for (uint32_t i = 0; i < m->n; i++)
      sbuf_printf(out, i ? ",%d" : "%d", ((int32_t *)m->data)[i]);
    break;
  case METRIC_BITSET: {
    bool first = true;
    for (int b = 0; b < m->bits; b++) {
      if (m->v.bits & (UINT64_C(1) << b)) {
        sbuf_printf(out, first ? "%d" : ",%d", b + m->bit_start);
        first = false;
      }
    }
    break;
  }
  case METRIC_SET_STRING:
    for (uint32_t i = 0; i < m->n; i++) {
      if (i)
        sbuf_addc(out, ',');
      sbuf_adds(out, ((char **)m->data)[i]);
    }
    break;
  }
}

static void json_float(double v, struct sbuf *out)
{
  if (isfinite(v))
    sbuf_printf(out, "%g", v);
  else
    sbuf_adds(out, "null");
}

void metric_format_json(const struct metric *m, struct sbuf *out)
{
  if (!metric_is_defined(m)) {
    sbuf_adds(out, "null");
    return;
  }
  switch (m->type) {
  case METRIC_BOOL: sbuf_adds(out, m->v.b ? "true" : "false"); return;
  case METRIC_INT:
  case METRIC_INT64:
    if (m->unit == SIM_UNIT_DATEUTC || m->unit == SIM_UNIT_DATELOCAL ||
        m->unit == SIM_UNIT_TIMEUTC || m->unit == SIM_UNIT_TIMELOCAL) {
      struct sbuf t = SBUF_INIT;
      metric_format(m, NULL, &t);
      json_write_string(sbuf_str(&t), t.len, out);
      sbuf_free(&t);
    } else {
      sbuf_printf(out, "%lld", (long long)metric_int64(m));
    }
    return;
  case METRIC_FLOAT: json_float(m->v.f, out); return;
  case METRIC_STRING: json_write_string(m->data ? m->data : "", m->n, out); return;
  case METRIC_VEC_FLOAT:
  case METRIC_SET_STRING:
    sbuf_addc(out, '[');
    for (uint32_t i = 0; i < m->n; i++) {
      if (i)
        sbuf_addc(out, ',');
      if (m->type == METRIC_VEC_FLOAT)
        json_float(((float *)m->data)[i], out);
      else
        json_write_string(((char **)m->data)[i], strlen(((char **)m->data)[i]), out);
    }
    sbuf_addc(out, ']');
    return;
  default:
    sbuf_addc(out, '[');
    metric_format(m, NULL, out);
    sbuf_addc(out, ']');
    return;
  }
}

void metric_format_unit(const struct metric *m, enum sim_unit to, struct sbuf *out)
{
  if (!metric_is_defined(m))
    return;
  enum sim_unit shown = m->unit;
  double v;
  if (to != SIM_UNIT_NATIVE && to != m->unit && (m->type == METRIC_FLOAT ||
      m->type == METRIC_INT || m->type == METRIC_INT64) &&
      sim_unit_convert(metric_float(m), m->unit, to, &v) == 0) {
    shown = to;
    if (m->type == METRIC_FLOAT)
      fmt_float(v, out);
    else
      sbuf_printf(out, "%lld", (long long)llround(v));
  } else {
    metric_format(m, NULL, out);
  }
  if (shown != SIM_UNIT_DATEUTC && shown != SIM_UNIT_DATELOCAL && shown != SIM_UNIT_TIMEUTC &&
      shown != SIM_UNIT_TIMELOCAL)
    sbuf_adds(out, sim_unit_label(shown));
}
