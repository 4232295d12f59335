/*
 * dbc_vehicle.c - a vehicle described by a DBC file ("dbc:FILE", firmware type DBC).
 *
 * As the firmware's DBC vehicle (OVMS3:components/dbc/src/dbc.cpp, dbcSignal::SetName, and
 * components/vehicle_dbc/docs/dbc-primer.rst), a signal whose name is a metric name with '.'
 * replaced by '_' ("v_b_soc") sets that metric.  A mapping file (--vehicle-map FILE, struct
 * vehicle_opts.map_file) binds other signal names:
 *
 *     # signal                metric          options
 *     LB_Current              v.b.current     scale=-1
 *     x284.VehicleSpeedFromABS v.p.speed
 *     0x55B.LB_SOC            xnl.soc         scale=0.1 unit=percent create=float
 *
 * A signal is "NAME" (every message that has it) or "MESSAGE.NAME" / "0xID.NAME".  Options:
 * scale=X and offset=Y (metric value = signal value * X + Y), unit=U (the unit of that value,
 * converted into the metric's native unit; default: native), create=float|int|bool|string
 * (register the metric if it does not exist).  Errors carry file:line:col.
 *
 * The same bindings drive the encoders: one per bound message (one per multiplexor value for
 * multiplexed messages), with the DBC's GenMsgCycleTime or 100 ms, and the message's DLC.
 * Decoding allocates nothing: the tables are built once at attach.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vehicles/dbc/dbc.h"
#include "core/array.h"
#include "core/error.h"
#include "vehicle/vehicle.h"
#include "core/xalloc.h"

#define DBCV_DEFAULT_PERIOD_MS 100

struct binding {
  const struct dbc_signal *sig;
  struct metric *m;
  enum sim_unit unit;
  double scale, offset;
};

struct msgbind {
  const struct dbc_message *msg;
  struct binding *b;
  size_t n, cap;
};

struct encbind {
  const struct msgbind *mb;
  bool muxed;
  uint32_t mux_value;
};

struct dbcv {
  struct dbc *dbc;
  struct msgbind *mbs;
  size_t n_mbs;
  struct vehicle_decoder *dec;
  struct vehicle_encoder *enc;
  struct encbind *eb;
  size_t n_enc;
};

#define S(v) ((struct dbcv *)(v)->state)

/* ---- decode / encode ------------------------------------------------------------------ */

static void set_metric(const struct binding *b, const struct dbc_signal *sig, double x,
                       int64_t raw)
{
  double v = x * b->scale + b->offset;
  switch (b->m->type) {
  case METRIC_BOOL:
    metric_set_bool(b->m, v != 0);
    break;
  case METRIC_STRING: {
    const char *text = dbc_value_text(sig, raw);
    if (text) {
      metric_set_string(b->m, text);
    } else {
      char buf[32];
      snprintf(buf, sizeof buf, "%g", v);
      metric_set_string(b->m, buf);
    }
    break;
  }
  default:
    metric_set_float_unit(b->m, v, b->unit);
    break;
  }
}

static void d_msg(struct vehicle *v, const struct sim_frame *f, const void *arg)
{
  const struct msgbind *mb = arg;
  (void)v;
  for (size_t i = 0; i < mb->n; i++) {
    const struct binding *b = &mb->b[i];
    if (b->sig->last_byte >= f->len || !dbc_signal_active(mb->msg, b->sig, f->data, f->len))
      continue;
    int64_t raw = dbc_signal_raw(b->sig, f->data, f->len);
    double x = b->sig->valtype == DBC_INT ? (double)raw * b->sig->factor + b->sig->offset
                                          : dbc_signal_decode(b->sig, f->data, f->len);
    set_metric(b, b->sig, x, raw);
  }
}

static int e_msg(struct vehicle *v, struct sim_frame *f, const void *arg)
{
  const struct encbind *eb = arg;
  const struct msgbind *mb = eb->mb;
  const struct dbc_message *msg = mb->msg;
  (void)v;
  int n = 0;
  if (eb->muxed)
    dbc_signal_put_raw(&msg->sigs[msg->mux_index], eb->mux_value, f->data, f->len);
  for (size_t i = 0; i < mb->n; i++) {
    const struct binding *b = &mb->b[i];
    const struct dbc_signal *s = b->sig;
    if (s->mux == DBC_MUX_VALUE && (!eb->muxed || s->mux_value != eb->mux_value))
      continue;
    if (s->mux == DBC_MUX_SWITCH && eb->muxed)
      continue;
    if (!metric_is_defined(b->m))
      continue;
    if (b->m->type == METRIC_STRING) {
      int64_t raw;
      if (dbc_value_lookup(s, metric_string(b->m), &raw) == 0) {
        dbc_signal_put_raw(s, raw, f->data, f->len);
        n++;
      }
      continue;
    }
    double x = b->m->type == METRIC_BOOL ? (metric_bool(b->m) ? 1 : 0)
                                         : metric_float_unit(b->m, b->unit);
    dbc_signal_encode(s, (x - b->offset) / b->scale, f->data, f->len);
    n++;
  }
  return n > 0;
}

/* ---- binding -------------------------------------------------------------------------- */

static struct msgbind *msgbind_for(struct dbcv *s, const struct dbc_message *m)
{
  for (size_t i = 0; i < s->n_mbs; i++)
    if (s->mbs[i].msg == m)
      return &s->mbs[i];
  return NULL;
}

static void bind(struct dbcv *s, const struct dbc_message *m, const struct dbc_signal *sig,
                 struct metric *metric, enum sim_unit unit, double scale, double offset)
{
  struct msgbind *mb = msgbind_for(s, m);
  if (!mb) {
    s->mbs = xrealloc(s->mbs, (s->n_mbs + 1) * sizeof *s->mbs);
    mb = &s->mbs[s->n_mbs++];
    memset(mb, 0, sizeof *mb);
    mb->msg = m;
  }
  for (size_t i = 0; i < mb->n; i++) {
    if (mb->b[i].sig == sig) { /* the mapping file overrides the automatic binding */
      mb->b[i] = (struct binding){sig, metric, unit, scale, offset};
      return;
    }
  }
  xgrow((void **)&mb->b, &mb->cap, mb->n + 1, sizeof *mb->b);
  mb->b[mb->n++] = (struct binding){sig, metric, unit, scale, offset};
}

static void bind_automatic(struct vehicle *v)
{
  struct dbcv *s = S(v);
  char name[256];
  for (size_t i = 0; i < s->dbc->n_msgs; i++) {
    const struct dbc_message *m = &s->dbc->msgs[i];
    for (size_t k = 0; k < m->n_sigs; k++) {
      const struct dbc_signal *sig = &m->sigs[k];
      snprintf(name, sizeof name, "%s", sig->name);
      for (char *c = name; *c; c++)
        if (*c == '_')
          *c = '.';
      struct metric *mt = metrics_find(v->ms, name);
      if (mt && mt->type != METRIC_VEC_FLOAT && mt->type != METRIC_VEC_INT &&
          mt->type != METRIC_BITSET && mt->type != METRIC_SET_INT &&
          mt->type != METRIC_SET_STRING)
        bind(s, m, sig, mt, SIM_UNIT_NATIVE, 1.0, 0.0);
    }
  }
}

static int parse_num(const char *s, double *out)
{
  char *end;
  errno = 0;
  double x = strtod(s, &end);
  if (end == s || *end || errno || !isfinite(x))
    return -1;
  *out = x;
  return 0;
}

/* Selects the messages a "MSG.SIGNAL" / "0xID.SIGNAL" / "SIGNAL" spec names; calls fn. */
static int for_each_signal(struct dbcv *s, const char *spec,
                           void (*fn)(void *ctx, const struct dbc_message *m,
                                      const struct dbc_signal *sig),
                           void *ctx)
{
  const char *dot = strchr(spec, '.');
  const char *signame = dot ? dot + 1 : spec;
  int found = 0;
  for (size_t i = 0; i < s->dbc->n_msgs; i++) {
    const struct dbc_message *m = &s->dbc->msgs[i];
    if (dot) {
      size_t n = (size_t)(dot - spec);
      bool match = strlen(m->name) == n && !strncmp(m->name, spec, n);
      if (!match && n > 2 && spec[0] == '0' && (spec[1] == 'x' || spec[1] == 'X')) {
        char idbuf[16];
        if (n < sizeof idbuf) {
          memcpy(idbuf, spec, n);
          idbuf[n] = 0;
          char *end;
          unsigned long id = strtoul(idbuf, &end, 16);
          match = !*end && (m->id & ~DBC_ID_EXT) == id;
        }
      }
      if (!match)
        continue;
    }
    const struct dbc_signal *sig = dbc_find_signal(m, signame);
    if (sig) {
      fn(ctx, m, sig);
      found++;
    }
  }
  return found;
}

struct map_ctx {
  struct dbcv *s;
  struct metric *m;
  enum sim_unit unit;
  double scale, offset;
};

static void map_one(void *ctx, const struct dbc_message *m, const struct dbc_signal *sig)
{
  struct map_ctx *c = ctx;
  bind(c->s, m, sig, c->m, c->unit, c->scale, c->offset);
}

/* Splits a mapping line into at most 8 blank-separated fields (tok, 1-based col).  Returns
 * the field count, or minus the column of a ninth field. */
static int split_fields(char *line, char **tok, int *col)
{
  int n = 0;
  char *p = line;
  for (;;) {
    while (*p == ' ' || *p == '\t')
      p++;
    if (!*p || n == 8)
      break;
    tok[n] = p;
    col[n++] = (int)(p - line) + 1;
    while (*p && *p != ' ' && *p != '\t')
      p++;
    if (*p)
      *p++ = 0;
  }
  return *p ? -((int)(p - line) + 1) : n;
}

/* The options of a mapping line (tok[2..n-1]: scale=, offset=, unit=, create=) into c and
 * *create.  Returns 0, or SIM_EPARSE after reporting the first bad one. */
static int map_options(const char *path, int lineno, char **tok, const int *col, int n,
                       struct map_ctx *c, int *create, struct sim_diag *d)
{
  static const struct { const char *n; int t; } types[] = {
      {"float", METRIC_FLOAT}, {"int", METRIC_INT}, {"bool", METRIC_BOOL},
      {"string", METRIC_STRING}};
  for (int i = 2; i < n; i++) {
    char *eq = strchr(tok[i], '=');
    if (!eq)
      return sim_diag_error(d, path, lineno, col[i], "expected option=value, not '%s'", tok[i]);
    *eq = 0;
    const char *val = eq + 1;
    int vcol = col[i] + (int)(eq - tok[i]) + 1;
    if (!strcmp(tok[i], "scale") || !strcmp(tok[i], "offset")) {
      double x;
      if (parse_num(val, &x) < 0 || (!strcmp(tok[i], "scale") && x == 0))
        return sim_diag_error(d, path, lineno, vcol, "'%s' is not a valid %s", val, tok[i]);
      if (!strcmp(tok[i], "scale"))
        c->scale = x;
      else
        c->offset = x;
    } else if (!strcmp(tok[i], "unit")) {
      if (sim_unit_parse(val, &c->unit) < 0)
        return sim_diag_error(d, path, lineno, vcol, "unknown unit '%s'", val);
    } else if (!strcmp(tok[i], "create")) {
      for (size_t k = 0; k < ARRAY_SIZE(types); k++)
        if (!strcmp(val, types[k].n))
          *create = types[k].t;
      if (*create < 0)
        return sim_diag_error(d, path, lineno, vcol, "create= takes float, int, bool or string");
    } else {
      return sim_diag_error(d, path, lineno, col[i], "unknown option '%s'", tok[i]);
    }
  }
  return 0;
}

/* Finds (or with create >= 0 registers) the metric tok[1], checks that it can take a signal
 * in c->unit and binds every signal tok[0] names to it.  Returns 0 or SIM_EPARSE (reported). */
static int map_bind(struct vehicle *v, const char *path, int lineno, char **tok, const int *col,
                    struct map_ctx *c, int create, struct sim_diag *d)
{
  c->m = metrics_find(v->ms, tok[1]);
  if (!c->m && create >= 0) {
    int rc = metrics_register(v->ms, tok[1], (enum metric_type)create, SIM_UNIT_NATIVE,
                              SM_STALE_MID, &c->m);
    if (rc < 0)
      return sim_diag_error(d, path, lineno, col[1], "cannot create metric '%s': %s", tok[1],
                            sim_strerror(rc));
  }
  if (!c->m)
    return sim_diag_error(d, path, lineno, col[1], "unknown metric '%s'", tok[1]);
  if (c->m->type == METRIC_VEC_FLOAT || c->m->type == METRIC_VEC_INT ||
      c->m->type == METRIC_BITSET || c->m->type >= METRIC_SET_INT)
    return sim_diag_error(d, path, lineno, col[1], "metric '%s' is a vector or set", tok[1]);
  if (c->unit != SIM_UNIT_NATIVE && sim_unit_group(c->unit) != sim_unit_group(c->m->unit))
    return sim_diag_error(d, path, lineno, col[1], "unit does not fit metric '%s'", tok[1]);
  if (for_each_signal(S(v), tok[0], map_one, c) == 0)
    return sim_diag_error(d, path, lineno, col[0], "no signal '%s' in the DBC file", tok[0]);
  return 0;
}

/* One line of a mapping file (comment stripped): "SIGNAL METRIC [option=value...]".  Returns
 * 0 (also for an empty line) or SIM_EPARSE (reported). */
static int map_line(struct vehicle *v, const char *path, int lineno, char *line,
                    struct sim_diag *d)
{
  char *tok[8];
  int col[8];
  int n = split_fields(line, tok, col);
  if (n < 0)
    return sim_diag_error(d, path, lineno, -n,
                          "too many fields (SIGNAL METRIC and at most 6 options)");
  if (n == 0)
    return 0;
  if (n < 2)
    return sim_diag_error(d, path, lineno, col[0], "expected: SIGNAL METRIC [options]");
  struct map_ctx c = {S(v), NULL, SIM_UNIT_NATIVE, 1.0, 0.0};
  int create = -1;
  if (map_options(path, lineno, tok, col, n, &c, &create, d) < 0)
    return SIM_EPARSE;
  return map_bind(v, path, lineno, tok, col, &c, create, d);
}

static int load_map(struct vehicle *v, const char *path, struct sim_diag *d)
{
  FILE *fp = fopen(path, "r");
  if (!fp) {
    int e = -errno;
    sim_diag_error(d, path, 0, 0, "cannot read mapping file: %s", sim_strerror(e));
    return e;
  }
  char line[1024];
  int lineno = 0, errors = 0;
  while (fgets(line, sizeof line, fp)) {
    lineno++;
    int ch;
    if (!strchr(line, '\n') && (ch = fgetc(fp)) != EOF && ch != '\n') {
      /* the rest of the line would come back as a line of its own */
      while ((ch = fgetc(fp)) != EOF && ch != '\n')
        ;
      sim_diag_error(d, path, lineno, (int)sizeof line, "line longer than %zu characters",
                     sizeof line - 1);
      errors++;
      continue;
    }
    line[strcspn(line, "\r\n")] = 0;
    char *hash = strchr(line, '#');
    if (hash)
      *hash = 0;
    if (map_line(v, path, lineno, line, d) < 0)
      errors++;
  }
  if (ferror(fp)) { /* e.g. a directory: not an empty mapping */
    int e = -errno;
    fclose(fp);
    sim_diag_error(d, path, 0, 0, "cannot read mapping file: %s", sim_strerror(e));
    return e;
  }
  fclose(fp);
  return errors ? SIM_EPARSE : 0;
}

/* ---- tables --------------------------------------------------------------------------- */

static int cmp_dec(const void *a, const void *b)
{
  const struct vehicle_decoder *x = a, *y = b;
  return x->id < y->id ? -1 : x->id > y->id;
}

static void build_tables(struct vehicle *v)
{
  struct dbcv *s = S(v);
  s->dec = xcalloc(s->n_mbs ? s->n_mbs : 1, sizeof *s->dec);
  size_t cap_enc = 0;
  for (size_t i = 0; i < s->n_mbs; i++) {
    const struct msgbind *mb = &s->mbs[i];
    const struct dbc_message *m = mb->msg;
    /* DBC_ID_EXT and VEHICLE_ID_EXT are the same bit */
    s->dec[i] = (struct vehicle_decoder){0, m->id, 1, d_msg, mb};
    /* encoders: one per distinct bound mux value, or one */
    uint32_t vals[64];
    size_t nv = 0;
    bool plain = false;
    for (size_t k = 0; k < mb->n; k++) {
      if (mb->b[k].sig->mux != DBC_MUX_VALUE) {
        plain = true;
        continue;
      }
      bool seen = false;
      for (size_t j = 0; j < nv; j++)
        seen = seen || vals[j] == mb->b[k].sig->mux_value;
      if (!seen && nv < 64)
        vals[nv++] = mb->b[k].sig->mux_value;
    }
    size_t add = nv ? nv : (plain ? 1 : 0);
    xgrow((void **)&s->eb, &cap_enc, s->n_enc + add, sizeof *s->eb);
    if (nv) {
      for (size_t j = 0; j < nv; j++)
        s->eb[s->n_enc++] = (struct encbind){mb, true, vals[j]};
    } else if (plain) {
      s->eb[s->n_enc++] = (struct encbind){mb, false, 0};
    }
  }
  qsort(s->dec, s->n_mbs, sizeof *s->dec, cmp_dec);
  s->enc = xcalloc(s->n_enc ? s->n_enc : 1, sizeof *s->enc);
  for (size_t i = 0; i < s->n_enc; i++) {
    const struct dbc_message *m = s->eb[i].mb->msg;
    s->enc[i] = (struct vehicle_encoder){1, m->id, m->cycle_ms ? m->cycle_ms : DBCV_DEFAULT_PERIOD_MS,
                                         m->dlc, e_msg, &s->eb[i], m->name};
  }
  v->dec = s->dec;
  v->n_dec = s->n_mbs;
  v->enc = s->enc;
  v->n_enc = s->n_enc;
}

static void dbcv_cleanup(struct vehicle *v)
{
  struct dbcv *s = S(v);
  for (size_t i = 0; i < s->n_mbs; i++)
    free(s->mbs[i].b);
  free(s->mbs);
  free(s->dec);
  free(s->enc);
  free(s->eb);
  dbc_free(s->dbc);
  memset(s, 0, sizeof *s);
}

static int dbcv_init(struct vehicle *v, const char *arg, struct sim_diag *d)
{
  struct dbcv *s = S(v);
  if (!arg || !*arg) {
    sim_diag_error(d, NULL, 0, 0, "vehicle dbc needs a file: dbc:FILE");
    return SIM_ECONFIG;
  }
  int rc = dbc_load(arg, &s->dbc, d);
  if (rc < 0)
    return rc;
  bind_automatic(v);
  if (v->map_file && (rc = load_map(v, v->map_file, d)) < 0) {
    dbcv_cleanup(v);
    return rc;
  }
  build_tables(v);
  return 0;
}

const struct vehicle_type vehicle_type_dbc = {
    .name = "dbc",
    .code = "DBC",
    .title = "DBC-defined vehicle",
    .state_size = sizeof(struct dbcv),
    .init = dbcv_init,
    .cleanup = dbcv_cleanup,
};
