/*
 * config.c - the configuration store (see config.h): declared keys, typed validation,
 * version-dependent defaults, change listeners and the YAML config file loader.
 */
#include "model/config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#include "core/error.h"
#include "core/parse.h"
#include "core/strset.h"
#include "core/xalloc.h"

struct entry {
  char *param, *instance, *value;
  const char *locked; /* why the value cannot change (sim_config_lock), not owned, or NULL */
};

struct clistener {
  char *param;
  sim_config_fn fn;
  void *ctx;
};

struct decl_block {
  const struct sim_config_decl *v;
  size_t n;
};

/* A declaration in the lookup index, with its place in declaration order. */
struct decl_ref {
  const struct sim_config_decl *d;
  size_t ord;
};

struct sim_config {
  const struct sim_profile *profile;
  struct decl_block *blocks;
  size_t nblocks, bcap;
  struct decl_ref *ix; /* every declaration, sorted by (param, instance, ord) */
  size_t nix;
  struct entry *e; /* sorted by (param, instance) */
  size_t n, cap;
  struct clistener *l;
  size_t nl, lcap;
  char defbuf[32];
};

struct sim_config *sim_config_new(const struct sim_profile *profile)
{
  struct sim_config *c = xcalloc(1, sizeof(*c));
  c->profile = profile ? profile : sim_profile_get(SIM_FW_CURRENT);
  sim_config_declare(c, sim_config_builtin, sim_config_builtin_count);
  return c;
}

void sim_config_free(struct sim_config *c)
{
  if (!c)
    return;
  for (size_t i = 0; i < c->n; i++) {
    free(c->e[i].param);
    free(c->e[i].instance);
    /* every value is wiped: a password is one (CFG_F_SECRET), and wiping a short string costs
     * less than looking up its declaration */
    xfree_secret(c->e[i].value);
  }
  for (size_t i = 0; i < c->nl; i++)
    free(c->l[i].param);
  free(c->e);
  free(c->l);
  free(c->blocks);
  free(c->ix);
  free(c);
}

void sim_config_set_profile(struct sim_config *c, const struct sim_profile *profile)
{
  c->profile = profile ? profile : sim_profile_get(SIM_FW_CURRENT);
}

const struct sim_profile *sim_config_profile(const struct sim_config *c)
{
  return c->profile;
}

static int decl_ref_cmp(const void *a, const void *b)
{
  const struct decl_ref *x = a, *y = b;
  int r = strcmp(x->d->param, y->d->param);
  if (!r)
    r = strcmp(x->d->instance, y->d->instance);
  return r ? r : (x->ord > y->ord) - (x->ord < y->ord);
}

int sim_config_declare(struct sim_config *c, const struct sim_config_decl *decl, size_t n)
{
  for (size_t i = 0; i < c->nblocks; i++)
    if (c->blocks[i].v == decl)
      return 0;
  xgrow((void **)&c->blocks, &c->bcap, c->nblocks + 1, sizeof(*c->blocks));
  c->blocks[c->nblocks++] = (struct decl_block){decl, n};
  /* Declaring is rare (the built-in keys, the V3 engine's, a vehicle's); looking up is not:
   * the scheduler reads its intervals every second, so the index is rebuilt here. */
  c->ix = xrealloc(c->ix, (c->nix + n) * sizeof(*c->ix));
  for (size_t i = 0; i < n; i++)
    c->ix[c->nix + i] = (struct decl_ref){&decl[i], c->nix + i};
  c->nix += n;
  qsort(c->ix, c->nix, sizeof(*c->ix), decl_ref_cmp);
  return 0;
}

/* The first index entry not below (param, instance), instance NULL meaning the smallest. */
static size_t decl_lower_bound(const struct sim_config *c, const char *param,
                               const char *instance)
{
  size_t lo = 0, hi = c->nix;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int r = strcmp(c->ix[mid].d->param, param);
    if (!r && instance)
      r = strcmp(c->ix[mid].d->instance, instance);
    if (r < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/* The declaration of param.instance: the first declared with that instance, else the first
 * declared for any instance of param (CFG_F_ANYINST). */
const struct sim_config_decl *sim_config_find_decl(const struct sim_config *c,
                                                   const char *param, const char *instance)
{
  size_t i = decl_lower_bound(c, param, instance);
  if (i < c->nix && !strcmp(c->ix[i].d->param, param) && !strcmp(c->ix[i].d->instance, instance))
    return c->ix[i].d; /* equal keys are sorted by declaration order */
  const struct decl_ref *any = NULL;
  for (i = decl_lower_bound(c, param, NULL); i < c->nix && !strcmp(c->ix[i].d->param, param);
       i++)
    if ((c->ix[i].d->flags & CFG_F_ANYINST) && (!any || c->ix[i].ord < any->ord))
      any = &c->ix[i];
  return any ? any->d : NULL;
}

static bool param_declared(const struct sim_config *c, const char *param, size_t len)
{
  for (size_t b = 0; b < c->nblocks; b++)
    for (size_t i = 0; i < c->blocks[b].n; i++)
      if (strlen(c->blocks[b].v[i].param) == len && !strncmp(c->blocks[b].v[i].param, param, len))
        return true;
  return false;
}

int sim_config_split_key(const struct sim_config *c, const char *key, const char **param,
                         size_t *param_len, const char **instance)
{
  /* The longest declared param followed by '.' wins. */
  size_t best = 0;
  for (const char *p = strchr(key, '.'); p; p = strchr(p + 1, '.'))
    if (param_declared(c, key, (size_t)(p - key)))
      best = (size_t)(p - key);
  if (!best || !key[best + 1])
    return SIM_ENOTFOUND;
  *param = key;
  *param_len = best;
  *instance = key + best + 1;
  return 0;
}

static int cmp_key(const char *p1, const char *i1, const char *p2, const char *i2)
{
  int r = strcmp(p1, p2);
  return r ? r : strcmp(i1, i2);
}

static size_t find_pos(const struct sim_config *c, const char *param, const char *instance,
                       bool *found)
{
  size_t lo = 0, hi = c->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (cmp_key(c->e[mid].param, c->e[mid].instance, param, instance) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  *found = lo < c->n && !cmp_key(c->e[lo].param, c->e[lo].instance, param, instance);
  return lo;
}

static void notify(struct sim_config *c, const char *param, const char *instance)
{
  for (size_t i = 0; i < c->nl; i++)
    if (!strcmp(c->l[i].param, "*") || !strcmp(c->l[i].param, param))
      c->l[i].fn(c->l[i].ctx, param, instance);
}

/* Where an error of a set goes: d (may be NULL) at file:line:col (NULL/0 when unknown). */
struct at {
  struct sim_diag *d;
  const char *file;
  int line, col;
};

static int fail(const struct at *at, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(const struct at *at, int rc, const char *fmt, ...)
{
  if (at->d) {
    struct sbuf msg = SBUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    sbuf_vprintf(&msg, fmt, ap);
    va_end(ap);
    sim_diag_error(at->d, at->file, at->line, at->col, "%s", sbuf_str(&msg));
    sbuf_free(&msg);
  }
  return rc;
}

static int check(const struct sim_config_decl *d, const char *value, const struct at *at)
{
  switch (d->type) {
  case CFG_STRING:
    return 0;
  case CFG_BOOL:
    if (parse_bool(value, &(bool){false}) == 0)
      return 0;
    return fail(at, SIM_EPARSE, "'%s' is not a boolean (yes/no) for %s %s", value, d->param,
                d->instance);
  case CFG_INT: {
    char *end;
    errno = 0;
    long v = strtol(value, &end, 10);
    if (end == value || *end || errno == ERANGE)
      return fail(at, SIM_EPARSE, "'%s' is not an integer for %s %s", value, d->param,
                  d->instance);
    if ((d->min || d->max) && (v < d->min || v > d->max))
      return fail(at, SIM_ERANGE, "%ld is out of range for %s %s (%ld..%ld)", v, d->param,
                  d->instance, d->min, d->max);
    return 0;
  }
  }
  return 0;
}

static int set_at(struct sim_config *c, const char *param, const char *instance,
                  const char *value, const struct at *at)
{
  const struct sim_config_decl *d = sim_config_find_decl(c, param, instance);
  if (!d)
    return fail(at, SIM_ENOTFOUND, "unknown config key '%s.%s'", param, instance);
  int r = check(d, value, at);
  if (r < 0)
    return r;
  bool found;
  size_t i = find_pos(c, param, instance, &found);
  if (found) {
    if (!strcmp(c->e[i].value, value))
      return 0;
    if (c->e[i].locked)
      return fail(at, SIM_ESTATE, "%s", c->e[i].locked);
    xfree_secret(c->e[i].value);
    c->e[i].value = xstrdup(value);
  } else {
    xgrow((void **)&c->e, &c->cap, c->n + 1, sizeof(*c->e));
    memmove(&c->e[i + 1], &c->e[i], (c->n - i) * sizeof(*c->e));
    c->e[i] = (struct entry){xstrdup(param), xstrdup(instance), xstrdup(value), NULL};
    c->n++;
  }
  notify(c, param, instance);
  return 0;
}

static int set_key_at(struct sim_config *c, const char *key, const char *value,
                      const struct at *at)
{
  const char *param, *instance;
  size_t plen;
  if (sim_config_split_key(c, key, &param, &plen, &instance) < 0)
    return fail(at, SIM_ENOTFOUND, "unknown config key '%s'", key);
  char *p = xstrndup(param, plen);
  int r = set_at(c, p, instance, value, at);
  free(p);
  return r;
}

int sim_config_set(struct sim_config *c, const char *param, const char *instance,
                   const char *value, struct sim_diag *d)
{
  return set_at(c, param, instance, value, &(struct at){d, NULL, 0, 0});
}

int sim_config_set_key(struct sim_config *c, const char *key, const char *value,
                       struct sim_diag *d)
{
  return set_key_at(c, key, value, &(struct at){d, NULL, 0, 0});
}

int sim_config_unset(struct sim_config *c, const char *param, const char *instance)
{
  bool found;
  size_t i = find_pos(c, param, instance, &found);
  if (!found)
    return SIM_ENOTFOUND;
  if (c->e[i].locked)
    return SIM_ESTATE;
  free(c->e[i].param);
  free(c->e[i].instance);
  xfree_secret(c->e[i].value);
  memmove(&c->e[i], &c->e[i + 1], (c->n - i - 1) * sizeof(*c->e));
  c->n--;
  notify(c, param, instance);
  return 0;
}

int sim_config_lock(struct sim_config *c, const char *param, const char *instance,
                    const char *why)
{
  bool found;
  size_t i = find_pos(c, param, instance, &found);
  if (!found)
    return SIM_ENOTFOUND;
  c->e[i].locked = why;
  return 0;
}

const char *sim_config_get(const struct sim_config *c, const char *param, const char *instance)
{
  bool found;
  size_t i = find_pos(c, param, instance, &found);
  if (found)
    return c->e[i].value;
  const struct sim_config_decl *d = sim_config_find_decl(c, param, instance);
  if (!d)
    return NULL;
  if (d->profile_default > 0) {
    unsigned v;
    memcpy(&v, (const char *)c->profile + d->profile_default - 1, sizeof(v));
    /* defbuf is scratch space owned by the config; valid until the next call. */
    struct sim_config *mc = (struct sim_config *)c;
    snprintf(mc->defbuf, sizeof(mc->defbuf), "%u", v);
    return mc->defbuf;
  }
  return d->def;
}

long sim_config_get_int(const struct sim_config *c, const char *param, const char *instance,
                        long def)
{
  const char *v = sim_config_get(c, param, instance);
  if (!v || !*v)
    return def;
  char *end;
  errno = 0;
  long r = strtol(v, &end, 10);
  return (end == v || *end || errno == ERANGE) ? def : r;
}

bool sim_config_get_bool(const struct sim_config *c, const char *param, const char *instance,
                         bool def)
{
  const char *v = sim_config_get(c, param, instance);
  if (!v || !*v)
    return def;
  bool b = false; /* text that is no yes/no word reads as false, as the firmware's strtobool() */
  parse_bool(v, &b);
  return b;
}

bool sim_config_param_readable(const char *param)
{
  return strcmp(param, "password") != 0;
}

bool sim_config_is_set(const struct sim_config *c, const char *param, const char *instance)
{
  bool found;
  find_pos(c, param, instance, &found);
  return found;
}

int sim_config_listen(struct sim_config *c, const char *param, sim_config_fn fn, void *ctx)
{
  xgrow((void **)&c->l, &c->lcap, c->nl + 1, sizeof(*c->l));
  c->l[c->nl++] = (struct clistener){xstrdup(param), fn, ctx};
  return 0;
}

void sim_config_foreach(const struct sim_config *c, sim_config_iter_fn fn, void *ctx)
{
  for (size_t i = 0; i < c->n; i++)
    fn(ctx, c->e[i].param, c->e[i].instance, c->e[i].value,
       sim_config_find_decl(c, c->e[i].param, c->e[i].instance));
}

void sim_config_foreach_decl(const struct sim_config *c,
                             void (*fn)(void *ctx, const struct sim_config_decl *d), void *ctx)
{
  for (size_t b = 0; b < c->nblocks; b++)
    for (size_t i = 0; i < c->blocks[b].n; i++)
      fn(ctx, &c->blocks[b].v[i]);
}

/* ---- YAML config files ------------------------------------------------------------------ */

struct yload {
  struct sim_config *c;
  const char *path;
  struct sim_diag *d;
  yaml_parser_t p;
  int errors;
  char **seen; /* "param.instance" of every key set by this file, owned */
  size_t nseen, seencap;
  struct sim_strset seenset; /* the same strings, for a lookup in constant time */
  int depth;   /* of the event last read: mappings and sequences open */
};

/* Config files nest two levels (section, key); deeper nesting is refused at once, before
 * libyaml spends time on it (a 20000-deep sequence took seconds). */
#define CONFIG_MAX_DEPTH 64

static int next(struct yload *y, yaml_event_t *ev)
{
  if (!yaml_parser_parse(&y->p, ev)) {
    sim_diag_error(y->d, y->path, (int)y->p.problem_mark.line + 1,
                   (int)y->p.problem_mark.column + 1, "%s",
                   y->p.problem ? y->p.problem : "invalid YAML");
    return SIM_EPARSE;
  }
  if (ev->type == YAML_MAPPING_START_EVENT || ev->type == YAML_SEQUENCE_START_EVENT) {
    if (++y->depth > CONFIG_MAX_DEPTH) {
      sim_diag_error(y->d, y->path, (int)ev->start_mark.line + 1,
                     (int)ev->start_mark.column + 1,
                     "nested deeper than %d levels: not a config file", CONFIG_MAX_DEPTH);
      yaml_event_delete(ev);
      return SIM_EPARSE;
    }
  } else if (ev->type == YAML_MAPPING_END_EVENT || ev->type == YAML_SEQUENCE_END_EVENT) {
    y->depth--;
  }
  return 0;
}

/* True (and an error recorded) when the file sets the same key twice: the second value
 * would silently win, so it is refused as scenario files refuse duplicates. */
static bool duplicate(struct yload *y, const char *param, const char *instance,
                      const yaml_mark_t *mark)
{
  struct sbuf key = SBUF_INIT;
  if (param)
    sbuf_printf(&key, "%s.", param);
  sbuf_adds(&key, instance);
  xgrow((void **)&y->seen, &y->seencap, y->nseen + 1, sizeof(*y->seen));
  y->seen[y->nseen] = sbuf_detach(&key);
  if (sim_strset_add(&y->seenset, y->seen[y->nseen])) {
    y->nseen++;
    return false;
  }
  sim_diag_error(y->d, y->path, (int)mark->line + 1, (int)mark->column + 1,
                 "'%s' is set twice in this file", y->seen[y->nseen]);
  y->errors++;
  free(y->seen[y->nseen]);
  return true;
}

static void yaml_set(struct yload *y, const char *param, const char *instance,
                     const char *value, const yaml_mark_t *mark)
{
  if (duplicate(y, param, instance, mark))
    return;
  struct at at = {y->d, y->path, (int)mark->line + 1, (int)mark->column + 1};
  int r = param ? set_at(y->c, param, instance, value, &at)
                : set_key_at(y->c, instance, value, &at);
  if (r < 0)
    y->errors++;
}

/* Skips the node whose start event is ev (already consumed). */
static int skip_node(struct yload *y, yaml_event_t *ev)
{
  int depth = (ev->type == YAML_MAPPING_START_EVENT || ev->type == YAML_SEQUENCE_START_EVENT);
  while (depth > 0) {
    yaml_event_t e;
    if (next(y, &e) < 0)
      return SIM_EPARSE;
    if (e.type == YAML_MAPPING_START_EVENT || e.type == YAML_SEQUENCE_START_EVENT)
      depth++;
    else if (e.type == YAML_MAPPING_END_EVENT || e.type == YAML_SEQUENCE_END_EVENT)
      depth--;
    yaml_event_delete(&e);
  }
  return 0;
}

/*
 * Reads the next key/value pair of a mapping: returns 1 with k (a scalar) and v set (the
 * caller deletes both), 0 at the end of the mapping, SIM_EPARSE on an error (what names the
 * expected key in the message).
 */
static int next_pair(struct yload *y, yaml_event_t *k, yaml_event_t *v, const char *what)
{
  if (next(y, k) < 0)
    return SIM_EPARSE;
  if (k->type == YAML_MAPPING_END_EVENT) {
    yaml_event_delete(k);
    return 0;
  }
  if (k->type != YAML_SCALAR_EVENT) {
    sim_diag_error(y->d, y->path, (int)k->start_mark.line + 1, (int)k->start_mark.column + 1,
                   "expected %s", what);
    yaml_event_delete(k);
    return SIM_EPARSE;
  }
  if (next(y, v) < 0) {
    yaml_event_delete(k);
    return SIM_EPARSE;
  }
  return 1;
}

static int load_param_map(struct yload *y, const char *param)
{
  for (;;) {
    yaml_event_t k, v;
    int pr = next_pair(y, &k, &v, "a config instance name");
    if (pr <= 0)
      return pr;
    if (v.type == YAML_SCALAR_EVENT) {
      yaml_set(y, param, (const char *)k.data.scalar.value, (const char *)v.data.scalar.value,
             &v.start_mark);
    } else {
      if (skip_node(y, &v) < 0) {
        yaml_event_delete(&k);
        yaml_event_delete(&v);
        return SIM_EPARSE;
      }
      sim_diag_error(y->d, y->path, (int)v.start_mark.line + 1, (int)v.start_mark.column + 1,
                     "the value of %s %s must be a scalar", param,
                     (const char *)k.data.scalar.value);
      y->errors++;
    }
    yaml_event_delete(&k);
    yaml_event_delete(&v);
  }
}

static int load_map(struct yload *y);

static int load_top(struct yload *y)
{
  /* stream start, one document holding a mapping (or none: an empty file), stream end.  What
   * follows the first document is read too: a second document or a syntax error after the
   * mapping must not be ignored silently. */
  int docs = 0;
  for (;;) {
    yaml_event_t ev;
    if (next(y, &ev) < 0)
      return SIM_EPARSE;
    yaml_event_type_t t = ev.type;
    yaml_mark_t mark = ev.start_mark;
    yaml_event_delete(&ev);
    if (t == YAML_STREAM_START_EVENT || t == YAML_DOCUMENT_END_EVENT)
      continue;
    if (t == YAML_STREAM_END_EVENT)
      return 0;
    if (t == YAML_DOCUMENT_START_EVENT) {
      if (docs++ == 0)
        continue;
      return sim_diag_error(y->d, y->path, (int)mark.line + 1, (int)mark.column + 1,
                            "a config file holds one YAML document");
    }
    if (t != YAML_MAPPING_START_EVENT)
      return sim_diag_error(y->d, y->path, (int)mark.line + 1, (int)mark.column + 1,
                            "a config file must be a mapping of keys to values");
    int r = load_map(y);
    if (r < 0)
      return r;
  }
}

/* The top-level mapping, after its start event. */
static int load_map(struct yload *y)
{
  for (;;) {
    yaml_event_t k, v;
    int pr = next_pair(y, &k, &v, "a config key");
    if (pr <= 0)
      return pr;
    const char *key = (const char *)k.data.scalar.value;
    int r = 0;
    if (v.type == YAML_SCALAR_EVENT) {
      yaml_set(y, NULL, key, (const char *)v.data.scalar.value, &v.start_mark);
    } else if (v.type == YAML_MAPPING_START_EVENT && param_declared(y->c, key, strlen(key))) {
      r = load_param_map(y, key);
    } else {
      /* skip first: broken YAML inside the value is the error to report, not its type */
      r = skip_node(y, &v);
      if (r == 0) {
        sim_diag_error(y->d, y->path, (int)k.start_mark.line + 1, (int)k.start_mark.column + 1,
                       v.type == YAML_MAPPING_START_EVENT ? "unknown config section '%s'"
                                                          : "the value of '%s' must be a scalar",
                       key);
        y->errors++;
      }
    }
    yaml_event_delete(&k);
    yaml_event_delete(&v);
    if (r < 0)
      return r;
  }
}

int sim_config_load_yaml(struct sim_config *c, const char *path, struct sim_diag *d)
{
  FILE *f = fopen(path, "rb");
  if (!f) {
    int e = -errno;
    sim_diag_error(d, path, 0, 0, "cannot open: %s", strerror(-e));
    return e;
  }
  struct stat st;
  if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
    /* fopen() opens a directory for reading; libyaml would only say "input error" */
    fclose(f);
    sim_diag_error(d, path, 0, 0, "cannot read: %s", strerror(EISDIR));
    return -EISDIR;
  }
  struct yload y = {.c = c, .path = path, .d = d};
  yaml_parser_initialize(&y.p);
  yaml_parser_set_input_file(&y.p, f);
  int r = load_top(&y);
  yaml_parser_delete(&y.p);
  for (size_t i = 0; i < y.nseen; i++)
    free(y.seen[i]);
  free(y.seen);
  sim_strset_free(&y.seenset);
  fclose(f);
  if (r == 0 && y.errors)
    r = SIM_EPARSE;
  return r;
}
