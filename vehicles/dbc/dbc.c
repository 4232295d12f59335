/*
 * dbc.c - DBC parser and signal codecs (see dbc.h).
 *
 * The parser is a small hand-written lexer over the whole text (comments and strings may span
 * lines) driven by the section keywords.  It keeps going after an error when it can, so that
 * one run reports every problem of a file.
 */
#include "vehicles/dbc/dbc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/array.h"
#include "core/error.h"
#include "core/xalloc.h"

/* ---- lexer ---------------------------------------------------------------------------- */

struct lex {
  const char *p, *end;
  const char *file;
  int line, col;
  struct sim_diag *d;
  int errors;
};

static int lerr(struct lex *lx, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int lerr(struct lex *lx, int line, int col, const char *fmt, ...)
{
  char msg[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  lx->errors++;
  sim_diag_error(lx->d, lx->file, line, col, "%s", msg);
  return SIM_EPARSE;
}

static bool eof(const struct lex *lx)
{
  return lx->p >= lx->end;
}

static void adv(struct lex *lx)
{
  if (*lx->p == '\n') {
    lx->line++;
    lx->col = 1;
  } else {
    lx->col++;
  }
  lx->p++;
}

/* Also skips "//" line comments, which some DBC files carry (vwegolf.dbc). */
static void skip_space(struct lex *lx)
{
  for (;;) {
    while (!eof(lx) && (*lx->p == ' ' || *lx->p == '\t' || *lx->p == '\r' || *lx->p == '\n'))
      adv(lx);
    if (lx->p + 1 < lx->end && lx->p[0] == '/' && lx->p[1] == '/') {
      while (!eof(lx) && *lx->p != '\n')
        adv(lx);
      continue;
    }
    break;
  }
}

/* Spaces and tabs only (not the end of the line). */
static void skip_blank(struct lex *lx)
{
  while (!eof(lx) && (*lx->p == ' ' || *lx->p == '\t' || *lx->p == '\r'))
    adv(lx);
}

static void skip_line(struct lex *lx)
{
  while (!eof(lx) && *lx->p != '\n')
    adv(lx);
  if (!eof(lx))
    adv(lx);
}

static bool is_ident_char(char c)
{
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

/* Reads an identifier into buf (truncated to cap-1).  Returns its length (0 if none). */
static size_t read_ident(struct lex *lx, char *buf, size_t cap)
{
  skip_space(lx);
  size_t n = 0;
  while (!eof(lx) && is_ident_char(*lx->p)) {
    if (n + 1 < cap)
      buf[n++] = *lx->p;
    adv(lx);
  }
  buf[n] = 0;
  return n;
}

static int expect(struct lex *lx, char c, const char *what)
{
  skip_space(lx);
  if (eof(lx) || *lx->p != c)
    return lerr(lx, lx->line, lx->col, "expected '%c' %s", c, what);
  adv(lx);
  return 0;
}

static int read_double(struct lex *lx, double *out, const char *what)
{
  skip_space(lx);
  int line = lx->line, col = lx->col;
  char buf[64];
  size_t n = 0;
  while (!eof(lx) && n + 1 < sizeof buf &&
         ((*lx->p >= '0' && *lx->p <= '9') || *lx->p == '.' || *lx->p == '-' || *lx->p == '+' ||
          *lx->p == 'e' || *lx->p == 'E')) {
    buf[n++] = *lx->p;
    adv(lx);
  }
  buf[n] = 0;
  char *end;
  errno = 0;
  double x = n ? strtod(buf, &end) : 0;
  if (!n || *end || errno || !isfinite(x))
    return lerr(lx, line, col, "expected a number for %s", what);
  *out = x;
  return 0;
}

static int read_int(struct lex *lx, int64_t *out, const char *what)
{
  skip_space(lx);
  int line = lx->line, col = lx->col;
  char buf[32];
  size_t n = 0;
  while (!eof(lx) && n + 1 < sizeof buf && ((*lx->p >= '0' && *lx->p <= '9') ||
                                            (n == 0 && (*lx->p == '-' || *lx->p == '+')))) {
    buf[n++] = *lx->p;
    adv(lx);
  }
  buf[n] = 0;
  char *end;
  errno = 0;
  long long x = n ? strtoll(buf, &end, 10) : 0;
  if (!n || *end || errno)
    return lerr(lx, line, col, "expected an integer for %s", what);
  *out = x;
  return 0;
}

/* Reads a "string" (may span lines; \" and \\ are escapes).  *out is malloc'd. */
static int read_string(struct lex *lx, char **out)
{
  skip_space(lx);
  int line = lx->line, col = lx->col;
  if (eof(lx) || *lx->p != '"')
    return lerr(lx, line, col, "expected a string");
  adv(lx);
  const char *start = lx->p;
  char *buf = xmalloc((size_t)(lx->end - start) + 1);
  size_t n = 0;
  while (!eof(lx) && *lx->p != '"') {
    if (*lx->p == '\\' && lx->p + 1 < lx->end && (lx->p[1] == '"' || lx->p[1] == '\\'))
      adv(lx);
    buf[n++] = *lx->p;
    adv(lx);
  }
  if (eof(lx)) {
    free(buf);
    return lerr(lx, line, col, "string without end");
  }
  adv(lx);
  buf[n] = 0;
  *out = buf;
  return 0;
}

/* Skips to after the next ';' outside strings. */
static int skip_statement(struct lex *lx, int line, int col)
{
  while (!eof(lx)) {
    if (*lx->p == '"') {
      char *s;
      if (read_string(lx, &s) < 0)
        return SIM_EPARSE;
      free(s);
      continue;
    }
    if (*lx->p == ';') {
      adv(lx);
      return 0;
    }
    adv(lx);
  }
  return lerr(lx, line, col, "statement without ';'");
}

/* ---- bit access ----------------------------------------------------------------------- */

/* MSB-first position (0 = bit 7 of byte 0) of a Motorola start bit. */
static unsigned be_pos(unsigned start)
{
  return (start / 8) * 8 + (7 - start % 8);
}

static uint64_t mask_of(unsigned len)
{
  return len >= 64 ? ~UINT64_C(0) : ((UINT64_C(1) << len) - 1);
}

/* Bit positions (byte * 8 + bit) of a signal, from its LSB (i = 0) to its MSB. */
static void bit_at(const struct dbc_signal *s, unsigned i, unsigned *byte, unsigned *bit)
{
  if (s->little_endian) {
    unsigned pos = s->start + i;
    *byte = pos / 8;
    *bit = pos % 8;
  } else {
    /* i counts from the LSB: the MSB-first index is length - 1 - i */
    unsigned m = be_pos(s->start) + (s->length - 1 - i);
    *byte = m / 8;
    *bit = 7 - m % 8;
  }
}

static void precompute(struct dbc_signal *s)
{
  if (s->little_endian) {
    unsigned top = s->start + s->length - 1u;
    s->last_byte = (uint16_t)(top / 8);
    s->shift = (uint8_t)(top < 64 ? s->start : 0);
  } else {
    unsigned m = be_pos(s->start), top = m + s->length - 1u;
    s->last_byte = (uint16_t)(top / 8);
    s->shift = (uint8_t)(top < 64 ? 63 - top : 0);
  }
}

int64_t dbc_signal_raw(const struct dbc_signal *s, const uint8_t *data, size_t len)
{
  uint64_t v = 0;
  if (s->last_byte < 8) {
    uint8_t b[8] = {0};
    memcpy(b, data, len < 8 ? len : 8);
    uint64_t w = 0;
    if (s->little_endian) {
      for (int i = 7; i >= 0; i--)
        w = (w << 8) | b[i];
    } else {
      for (int i = 0; i < 8; i++)
        w = (w << 8) | b[i];
    }
    v = (w >> s->shift) & mask_of(s->length);
  } else {
    for (unsigned i = 0; i < s->length; i++) {
      unsigned byte, bit;
      bit_at(s, i, &byte, &bit);
      if (byte < len && (data[byte] >> bit) & 1)
        v |= UINT64_C(1) << i;
    }
  }
  if (s->is_signed && s->length < 64 && ((v >> (s->length - 1)) & 1))
    v |= ~mask_of(s->length);
  return (int64_t)v;
}

double dbc_signal_decode(const struct dbc_signal *s, const uint8_t *data, size_t len)
{
  int64_t raw = dbc_signal_raw(s, data, len);
  if (s->valtype == DBC_FLOAT32 && s->length == 32) {
    uint32_t u = (uint32_t)raw;
    float f;
    memcpy(&f, &u, sizeof f);
    return f * s->factor + s->offset;
  }
  if (s->valtype == DBC_FLOAT64 && s->length == 64) {
    uint64_t u = (uint64_t)raw;
    double f;
    memcpy(&f, &u, sizeof f);
    return f * s->factor + s->offset;
  }
  return (double)raw * s->factor + s->offset;
}

bool dbc_signal_active(const struct dbc_message *m, const struct dbc_signal *s,
                       const uint8_t *data, size_t len)
{
  if (s->mux != DBC_MUX_VALUE)
    return true;
  if (m->mux_index < 0)
    return false;
  return dbc_signal_raw(&m->sigs[m->mux_index], data, len) == (int64_t)s->mux_value;
}

void dbc_signal_put_raw(const struct dbc_signal *s, int64_t raw, uint8_t *data, size_t len)
{
  uint64_t v = (uint64_t)raw;
  for (unsigned i = 0; i < s->length; i++) {
    unsigned byte, bit;
    bit_at(s, i, &byte, &bit);
    if (byte >= len)
      continue;
    if ((v >> i) & 1)
      data[byte] = (uint8_t)(data[byte] | (1u << bit));
    else
      data[byte] = (uint8_t)(data[byte] & ~(1u << bit));
  }
}

int dbc_signal_encode(const struct dbc_signal *s, double value, uint8_t *data, size_t len)
{
  int rc = 0;
  if (s->valtype == DBC_FLOAT32 && s->length == 32) {
    float f = (float)((value - s->offset) / s->factor);
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    dbc_signal_put_raw(s, (int64_t)u, data, len);
    return 0;
  }
  if (s->valtype == DBC_FLOAT64 && s->length == 64) {
    double f = (value - s->offset) / s->factor;
    uint64_t u;
    memcpy(&u, &f, sizeof u);
    dbc_signal_put_raw(s, (int64_t)u, data, len);
    return 0;
  }
  double x = nearbyint((value - s->offset) / s->factor);
  double lo, hi;
  if (s->is_signed) {
    lo = -ldexp(1.0, s->length - 1);
    hi = ldexp(1.0, s->length - 1) - 1;
  } else {
    lo = 0;
    hi = ldexp(1.0, s->length) - 1;
  }
  if (hi > 9.2e18)
    hi = 9.2e18;
  if (lo < -9.2e18)
    lo = -9.2e18;
  if (!(x >= lo)) {
    x = lo;
    rc = SIM_ERANGE;
  } else if (x > hi) {
    x = hi;
    rc = SIM_ERANGE;
  }
  int64_t raw = s->is_signed || x < 9.2e18 ? (int64_t)x : INT64_MAX;
  dbc_signal_put_raw(s, raw, data, len);
  return rc;
}

const char *dbc_value_text(const struct dbc_signal *s, int64_t raw)
{
  size_t lo = 0, hi = s->n_vals;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (s->vals[mid].value < raw)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < s->n_vals && s->vals[lo].value == raw ? s->vals[lo].text : NULL;
}

int dbc_value_lookup(const struct dbc_signal *s, const char *text, int64_t *raw)
{
  for (size_t i = 0; i < s->n_vals; i++) {
    if (!strcmp(s->vals[i].text, text)) {
      *raw = s->vals[i].value;
      return 0;
    }
  }
  return SIM_ENOTFOUND;
}

/* ---- lookup --------------------------------------------------------------------------- */

const struct dbc_message *dbc_find_message(const struct dbc *dbc, uint32_t id)
{
  size_t lo = 0, hi = dbc->n_msgs;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (dbc->msgs[mid].id < id)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < dbc->n_msgs && dbc->msgs[lo].id == id ? &dbc->msgs[lo] : NULL;
}

const struct dbc_signal *dbc_find_signal(const struct dbc_message *m, const char *name)
{
  for (size_t i = 0; i < m->n_sigs; i++)
    if (!strcmp(m->sigs[i].name, name))
      return &m->sigs[i];
  return NULL;
}

/* ---- parser --------------------------------------------------------------------------- */

struct parse {
  struct lex lx;
  struct dbc *dbc;
  size_t cap_msgs, cap_tables;
  long cur;            /* index of the message SG_ lines belong to, -1 none */
  char **imports;
  size_t n_imports, cap_imports;
};

static struct dbc_message *msg_by_id_linear(struct parse *ps, uint32_t id)
{
  for (size_t i = 0; i < ps->dbc->n_msgs; i++)
    if (ps->dbc->msgs[i].id == id)
      return &ps->dbc->msgs[i];
  return NULL;
}

static struct dbc_signal *sig_by_name(struct dbc_message *m, const char *name)
{
  for (size_t i = 0; i < m->n_sigs; i++)
    if (!strcmp(m->sigs[i].name, name))
      return &m->sigs[i];
  return NULL;
}

static int parse_bo(struct parse *ps, int line)
{
  struct lex *lx = &ps->lx;
  int64_t id, dlc;
  char name[256], sender[256];
  ps->cur = -1;
  if (read_int(lx, &id, "the message id") < 0 || id < 0 || id > UINT32_MAX) {
    skip_line(lx);
    return SIM_EPARSE;
  }
  if (!read_ident(lx, name, sizeof name)) {
    lerr(lx, lx->line, lx->col, "expected the message name");
    skip_line(lx);
    return SIM_EPARSE;
  }
  if (expect(lx, ':', "after the message name") < 0 || read_int(lx, &dlc, "the DLC") < 0) {
    skip_line(lx);
    return SIM_EPARSE;
  }
  if (dlc < 0 || dlc > 64) {
    lerr(lx, line, 1, "message %s: DLC %lld out of range 0..64", name, (long long)dlc);
    skip_line(lx);
    return SIM_EPARSE;
  }
  skip_blank(lx);
  read_ident(lx, sender, sizeof sender);
  if (msg_by_id_linear(ps, (uint32_t)id)) {
    lerr(lx, line, 5, "message id %lld defined twice", (long long)id);
    skip_line(lx);
    return SIM_EPARSE;
  }
  xgrow((void **)&ps->dbc->msgs, &ps->cap_msgs, ps->dbc->n_msgs + 1, sizeof *ps->dbc->msgs);
  struct dbc_message *m = &ps->dbc->msgs[ps->dbc->n_msgs];
  memset(m, 0, sizeof *m);
  m->id = (uint32_t)id;
  m->name = xstrdup(name);
  m->dlc = (uint8_t)dlc;
  m->sender = xstrdup(sender);
  m->mux_index = -1;
  m->line = line;
  ps->cur = (long)ps->dbc->n_msgs++;
  return 0;
}

/* The optional multiplexer indicator after a signal name: "M" or "mN" ("mNM", extended
 * multiplexing, is read as mN).  Returns 0 or SIM_EPARSE (reported; the line is not skipped). */
static int read_mux(struct lex *lx, int line, struct dbc_signal *s)
{
  char mux[32];
  skip_blank(lx);
  if (eof(lx) || *lx->p == ':')
    return 0;
  int mcol = lx->col;
  read_ident(lx, mux, sizeof mux);
  if (!strcmp(mux, "M")) {
    s->mux = DBC_MUX_SWITCH;
    return 0;
  }
  if (mux[0] == 'm' && mux[1] >= '0' && mux[1] <= '9') {
    char *end;
    errno = 0;
    unsigned long v = strtoul(mux + 1, &end, 10);
    if (!errno && (!*end || !strcmp(end, "M")) && v <= UINT32_MAX) {
      s->mux = DBC_MUX_VALUE;
      s->mux_value = (uint32_t)v;
      return 0;
    }
  }
  lerr(lx, line, mcol, "bad multiplexer indicator '%s'", mux);
  return SIM_EPARSE;
}

/* The byte order and sign after '@': "1+" little endian unsigned, "0-" big endian signed... */
static int read_order(struct lex *lx, struct dbc_signal *s)
{
  skip_space(lx);
  if (eof(lx) || (*lx->p != '0' && *lx->p != '1')) {
    lerr(lx, lx->line, lx->col, "byte order must be 0 (big endian) or 1 (little endian)");
    return SIM_EPARSE;
  }
  s->little_endian = *lx->p == '1';
  adv(lx);
  if (eof(lx) || (*lx->p != '+' && *lx->p != '-')) {
    lerr(lx, lx->line, lx->col, "expected '+' or '-' after the byte order");
    return SIM_EPARSE;
  }
  s->is_signed = *lx->p == '-';
  adv(lx);
  return 0;
}

/* Checks that the signal s (its layout read, name set) fits its message m and is new there,
 * and records a multiplexor switch.  Returns 0 or SIM_EPARSE (reported at line, col for the
 * name, scol for the layout). */
static int place_signal(struct lex *lx, struct dbc_message *m, const struct dbc_signal *s,
                        int line, int col, int scol)
{
  if (!s->little_endian && be_pos(s->start) + s->length > 512u) {
    lerr(lx, line, scol, "signal %s: does not fit in 64 bytes", s->name);
    return SIM_EPARSE;
  }
  if (m->dlc > 0 && s->last_byte >= m->dlc && (m->id & ~DBC_ID_EXT) <= 0x1FFFFFFF) {
    lerr(lx, line, scol, "signal %s (%u|%u@%d) does not fit in the %u-byte message %s", s->name,
         s->start, s->length, s->little_endian, m->dlc, m->name);
    return SIM_EPARSE;
  }
  if (sig_by_name(m, s->name)) {
    lerr(lx, line, col, "signal %s defined twice in message %s", s->name, m->name);
    return SIM_EPARSE;
  }
  /* Vector's VECTOR__INDEPENDENT_SIG_MSG (id 0xC0000000) only collects unattached signals */
  bool pseudo = (m->id & ~DBC_ID_EXT) > 0x1FFFFFFF;
  if (s->mux == DBC_MUX_SWITCH && !(pseudo && m->mux_index >= 0)) {
    if (m->mux_index >= 0) {
      lerr(lx, line, col, "message %s has two multiplexor signals", m->name);
      return SIM_EPARSE;
    }
    m->mux_index = (int)m->n_sigs;
  }
  return 0;
}

static int parse_sg(struct parse *ps, int line, int col)
{
  struct lex *lx = &ps->lx;
  char name[256];
  if (ps->cur < 0) {
    lerr(lx, line, col, "SG_ outside a message (BO_)");
    skip_line(lx);
    return SIM_EPARSE;
  }
  struct dbc_message *m = &ps->dbc->msgs[ps->cur];
  if (!read_ident(lx, name, sizeof name)) {
    lerr(lx, lx->line, lx->col, "expected the signal name");
    skip_line(lx);
    return SIM_EPARSE;
  }
  struct dbc_signal s;
  memset(&s, 0, sizeof s);
  s.line = line;
  if (read_mux(lx, line, &s) < 0) {
    skip_line(lx);
    return SIM_EPARSE;
  }
  int64_t start, length;
  double f, o, mn, mx;
  int scol;
  if (expect(lx, ':', "after the signal name") < 0)
    goto bad;
  skip_space(lx);
  scol = lx->col;
  if (read_int(lx, &start, "the start bit") < 0 || expect(lx, '|', "after the start bit") < 0 ||
      read_int(lx, &length, "the length") < 0 || expect(lx, '@', "before the byte order") < 0 ||
      read_order(lx, &s) < 0)
    goto bad;
  if (expect(lx, '(', "before the factor") < 0 || read_double(lx, &f, "the factor") < 0 ||
      expect(lx, ',', "after the factor") < 0 || read_double(lx, &o, "the offset") < 0 ||
      expect(lx, ')', "after the offset") < 0 || expect(lx, '[', "before the minimum") < 0 ||
      read_double(lx, &mn, "the minimum") < 0 || expect(lx, '|', "after the minimum") < 0 ||
      read_double(lx, &mx, "the maximum") < 0 || expect(lx, ']', "after the maximum") < 0 ||
      read_string(lx, &s.unit) < 0)
    goto bad;
  skip_line(lx); /* receivers */
  if (length < 1 || length > 64) {
    lerr(lx, line, scol, "signal %s: length %lld out of range 1..64", name, (long long)length);
    goto bad_nl;
  }
  if (start < 0 || start > 511) {
    lerr(lx, line, scol, "signal %s: start bit %lld out of range", name, (long long)start);
    goto bad_nl;
  }
  if (f == 0) {
    lerr(lx, line, scol, "signal %s: factor 0", name);
    goto bad_nl;
  }
  s.name = xstrdup(name);
  s.start = (uint16_t)start;
  s.length = (uint8_t)length;
  s.factor = f;
  s.offset = o;
  s.min = mn;
  s.max = mx;
  precompute(&s);
  if (place_signal(lx, m, &s, line, col, scol) < 0) {
    free(s.name);
    goto bad_nl;
  }
  m->sigs = xrealloc(m->sigs, (m->n_sigs + 1) * sizeof *m->sigs);
  m->sigs[m->n_sigs++] = s;
  return 0;
bad:
  skip_line(lx);
bad_nl:
  free(s.unit);
  return SIM_EPARSE;
}

static int cmp_vals(const void *a, const void *b)
{
  const struct dbc_value_desc *x = a, *y = b;
  return x->value < y->value ? -1 : x->value > y->value;
}

/* Reads "value "text"" pairs up to ';'. */
static int read_pairs(struct lex *lx, struct dbc_value_desc **out, size_t *n)
{
  size_t cap = 0;
  *out = NULL;
  *n = 0;
  for (;;) {
    skip_space(lx);
    if (eof(lx))
      return lerr(lx, lx->line, lx->col, "value descriptions without ';'");
    if (*lx->p == ';') {
      adv(lx);
      break;
    }
    int64_t v;
    char *text;
    if (read_int(lx, &v, "a value") < 0 || read_string(lx, &text) < 0)
      return SIM_EPARSE;
    xgrow((void **)out, &cap, *n + 1, sizeof **out);
    (*out)[*n].value = v;
    (*out)[(*n)++].text = text;
  }
  if (*n > 1)
    qsort(*out, *n, sizeof **out, cmp_vals);
  return 0;
}

static void free_pairs(struct dbc_value_desc *v, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free(v[i].text);
  free(v);
}

static int parse_val(struct parse *ps, int line, int col)
{
  struct lex *lx = &ps->lx;
  int errors_before = lx->errors;
  skip_space(lx);
  if (eof(lx) || !(*lx->p >= '0' && *lx->p <= '9'))
    return skip_statement(lx, line, col); /* environment variable */
  int64_t id;
  char name[256] = "";
  if (read_int(lx, &id, "the message id") < 0 || !read_ident(lx, name, sizeof name)) {
    if (lx->errors == errors_before)
      lerr(lx, lx->line, lx->col, "expected a signal name");
    return skip_statement(lx, line, col) < 0 ? SIM_EPARSE : SIM_EPARSE;
  }
  struct dbc_value_desc *vals;
  size_t n;
  if (read_pairs(lx, &vals, &n) < 0) {
    free_pairs(vals, n);
    skip_statement(lx, line, col);
    return SIM_EPARSE;
  }
  struct dbc_message *m = id >= 0 && id <= UINT32_MAX ? msg_by_id_linear(ps, (uint32_t)id) : NULL;
  struct dbc_signal *s = m ? sig_by_name(m, name) : NULL;
  if (!s) {
    sim_diag_warn(lx->d, lx->file, line, col, "VAL_ for unknown signal %lld %s", (long long)id,
                  name);
    free_pairs(vals, n);
    return 0;
  }
  free_pairs(s->vals, s->n_vals);
  s->vals = vals;
  s->n_vals = n;
  return 0;
}

static int parse_val_table(struct parse *ps, int line, int col)
{
  struct lex *lx = &ps->lx;
  char name[256];
  if (!read_ident(lx, name, sizeof name)) {
    lerr(lx, lx->line, lx->col, "expected the value table name");
    skip_statement(lx, line, col);
    return SIM_EPARSE;
  }
  struct dbc_value_desc *vals;
  size_t n;
  if (read_pairs(lx, &vals, &n) < 0) {
    free_pairs(vals, n);
    skip_statement(lx, line, col);
    return SIM_EPARSE;
  }
  xgrow((void **)&ps->dbc->tables, &ps->cap_tables, ps->dbc->n_tables + 1,
        sizeof *ps->dbc->tables);
  struct dbc_value_table *t = &ps->dbc->tables[ps->dbc->n_tables++];
  t->name = xstrdup(name);
  t->vals = vals;
  t->n_vals = n;
  return 0;
}

static int parse_cm(struct parse *ps, int line, int col)
{
  struct lex *lx = &ps->lx;
  skip_space(lx);
  char kind[16] = "", name[256] = "";
  int64_t id = -1;
  char *text = NULL;
  if (!eof(lx) && *lx->p != '"') {
    read_ident(lx, kind, sizeof kind);
    if (!strcmp(kind, "BO_")) {
      if (read_int(lx, &id, "the message id") < 0)
        goto bad;
    } else if (!strcmp(kind, "SG_")) {
      if (read_int(lx, &id, "the message id") < 0)
        goto bad;
      if (!read_ident(lx, name, sizeof name)) {
        lerr(lx, lx->line, lx->col, "expected a signal name");
        goto bad;
      }
    } else if (!strcmp(kind, "BU_") || !strcmp(kind, "EV_")) {
      if (!read_ident(lx, name, sizeof name)) {
        lerr(lx, lx->line, lx->col, "expected a %s name", kind[0] == 'B' ? "node" : "variable");
        goto bad;
      }
    } else {
      lerr(lx, line, col, "CM_ for unknown object '%s'", kind);
      goto bad;
    }
  }
  if (read_string(lx, &text) < 0 || expect(lx, ';', "after the comment") < 0)
    goto bad;
  if (!kind[0]) {
    if (!strncmp(text, "IMPORT ", 7)) {
      xgrow((void **)&ps->imports, &ps->cap_imports, ps->n_imports + 1, sizeof *ps->imports);
      ps->imports[ps->n_imports++] = xstrdup(text + 7);
    }
    free(ps->dbc->comment);
    ps->dbc->comment = text;
    return 0;
  }
  if (!strcmp(kind, "BO_") || !strcmp(kind, "SG_")) {
    struct dbc_message *m = id >= 0 && id <= UINT32_MAX ? msg_by_id_linear(ps, (uint32_t)id) : NULL;
    char **slot = NULL;
    if (m && kind[0] == 'B')
      slot = &m->comment;
    else if (m) {
      struct dbc_signal *s = sig_by_name(m, name);
      slot = s ? &s->comment : NULL;
    }
    if (slot) {
      free(*slot);
      *slot = text;
      return 0;
    }
    sim_diag_warn(lx->d, lx->file, line, col, "comment for unknown %s %lld %s",
                  kind[0] == 'B' ? "message" : "signal", (long long)id, name);
  }
  free(text);
  return 0;
bad:
  free(text);
  skip_statement(lx, line, col);
  return SIM_EPARSE;
}

/* BA_ "GenMsgCycleTime" BO_ id value;  other attributes are skipped. */
static int parse_ba(struct parse *ps, int line, int col)
{
  struct lex *lx = &ps->lx;
  char *attr = NULL, kind[16];
  int64_t id, v;
  if (read_string(lx, &attr) < 0)
    return skip_statement(lx, line, col) < 0 ? SIM_EPARSE : SIM_EPARSE;
  bool cycle = !strcmp(attr, "GenMsgCycleTime");
  free(attr);
  if (!cycle)
    return skip_statement(lx, line, col);
  skip_space(lx);
  if (eof(lx) || *lx->p == '"' || !read_ident(lx, kind, sizeof kind) || strcmp(kind, "BO_") != 0)
    return skip_statement(lx, line, col);
  if (read_int(lx, &id, "the message id") < 0 || read_int(lx, &v, "the cycle time") < 0 ||
      expect(lx, ';', "after the attribute") < 0) {
    skip_statement(lx, line, col);
    return SIM_EPARSE;
  }
  struct dbc_message *m = id >= 0 && id <= UINT32_MAX ? msg_by_id_linear(ps, (uint32_t)id) : NULL;
  if (m && v >= 0 && v <= 3600000)
    m->cycle_ms = (uint32_t)v;
  return 0;
}

/* SIG_VALTYPE_ id name : 1|2 ; */
static int parse_valtype(struct parse *ps, int line, int col)
{
  struct lex *lx = &ps->lx;
  int64_t id, t;
  char name[256];
  if (read_int(lx, &id, "the message id") < 0 || !read_ident(lx, name, sizeof name) ||
      expect(lx, ':', "after the signal name") < 0 || read_int(lx, &t, "the value type") < 0 ||
      expect(lx, ';', "after the value type") < 0) {
    skip_statement(lx, line, col);
    return SIM_EPARSE;
  }
  struct dbc_message *m = id >= 0 && id <= UINT32_MAX ? msg_by_id_linear(ps, (uint32_t)id) : NULL;
  struct dbc_signal *s = m ? sig_by_name(m, name) : NULL;
  if (s && (t == 1 || t == 2))
    s->valtype = (uint8_t)(t == 1 ? DBC_FLOAT32 : DBC_FLOAT64);
  return 0;
}

/* Statements that are recognised and skipped (all end with ';'). */
static const char *const skipped[] = {
    "BA_DEF_", "BA_DEF_DEF_", "BA_DEF_REL_", "BA_REL_", "BA_DEF_DEF_REL_", "BA_DEF_SGTYPE_",
    "BA_SGTYPE_", "EV_", "ENVVAR_DATA_", "SG_MUL_VAL_", "BO_TX_BU_", "SIG_GROUP_", "SGTYPE_",
    "SGTYPE_VAL_", "SIG_TYPE_REF_", "CAT_DEF_", "CAT_", "FILTER", "BU_SG_REL_", "BU_EV_REL_",
    "BU_BO_REL_",
};

static int cmp_msgs(const void *a, const void *b)
{
  const struct dbc_message *x = a, *y = b;
  return x->id < y->id ? -1 : x->id > y->id;
}

static void free_imports(struct parse *ps)
{
  for (size_t i = 0; i < ps->n_imports; i++)
    free(ps->imports[i]);
  free(ps->imports);
  ps->imports = NULL;
  ps->n_imports = 0;
}

static int parse_all(struct parse *ps)
{
  struct lex *lx = &ps->lx;
  char kw[64];
  for (;;) {
    skip_space(lx);
    if (eof(lx))
      break;
    int line = lx->line, col = lx->col;
    if (!read_ident(lx, kw, sizeof kw)) {
      lerr(lx, line, col, "unexpected character '%c'", *lx->p);
      skip_line(lx);
      continue;
    }
    if (!strcmp(kw, "VERSION")) {
      char *v = NULL;
      if (read_string(lx, &v) == 0) {
        free(ps->dbc->version);
        ps->dbc->version = v;
      } else {
        skip_line(lx);
      }
    } else if (!strcmp(kw, "NS_")) {
      /* NS_ : followed by indented symbol lines */
      skip_line(lx);
      while (!eof(lx) && (*lx->p == ' ' || *lx->p == '\t' || *lx->p == '\r' || *lx->p == '\n'))
        skip_line(lx);
    } else if (!strcmp(kw, "BS_") || !strcmp(kw, "BU_")) {
      skip_line(lx);
    } else if (!strcmp(kw, "BO_")) {
      parse_bo(ps, line);
    } else if (!strcmp(kw, "SG_")) {
      parse_sg(ps, line, col);
    } else if (!strcmp(kw, "CM_")) {
      parse_cm(ps, line, col);
    } else if (!strcmp(kw, "VAL_")) {
      parse_val(ps, line, col);
    } else if (!strcmp(kw, "VAL_TABLE_")) {
      parse_val_table(ps, line, col);
    } else if (!strcmp(kw, "BA_")) {
      parse_ba(ps, line, col);
    } else if (!strcmp(kw, "SIG_VALTYPE_")) {
      parse_valtype(ps, line, col);
    } else {
      bool known = false;
      for (size_t i = 0; i < ARRAY_SIZE(skipped); i++)
        known = known || !strcmp(kw, skipped[i]);
      if (known) {
        skip_statement(lx, line, col);
      } else {
        lerr(lx, line, col, "unknown keyword '%s'", kw);
        skip_line(lx);
      }
    }
    if (strcmp(kw, "SG_") != 0 && strcmp(kw, "BO_") != 0)
      ps->cur = -1;
  }
  return lx->errors ? SIM_EPARSE : 0;
}

static int parse_text(const char *text, size_t len, const char *file, struct dbc **out,
                      struct sim_diag *d, struct parse *ps)
{
  memset(ps, 0, sizeof *ps);
  ps->lx.p = text;
  ps->lx.end = text + len;
  ps->lx.file = file;
  ps->lx.line = 1;
  ps->lx.col = 1;
  ps->lx.d = d;
  ps->cur = -1;
  ps->dbc = xcalloc(1, sizeof *ps->dbc);
  /* a UTF-8 byte order mark */
  if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3))
    ps->lx.p += 3;
  int rc = parse_all(ps);
  if (rc < 0) {
    dbc_free(ps->dbc);
    ps->dbc = NULL;
    free_imports(ps);
    return rc;
  }
  if (ps->dbc->n_msgs > 1) /* msgs is NULL in a file without messages */
    qsort(ps->dbc->msgs, ps->dbc->n_msgs, sizeof *ps->dbc->msgs, cmp_msgs);
  *out = ps->dbc;
  return 0;
}

int dbc_parse(const char *text, size_t len, const char *file, struct dbc **out,
              struct sim_diag *d)
{
  struct parse ps;
  int rc = parse_text(text, len, file, out, d, &ps);
  free_imports(&ps);
  return rc;
}

static void free_message(struct dbc_message *m)
{
  for (size_t k = 0; k < m->n_sigs; k++) {
    struct dbc_signal *s = &m->sigs[k];
    free(s->name);
    free(s->unit);
    free(s->comment);
    free_pairs(s->vals, s->n_vals);
  }
  free(m->sigs);
  free(m->name);
  free(m->sender);
  free(m->comment);
}

void dbc_free(struct dbc *dbc)
{
  if (!dbc)
    return;
  for (size_t i = 0; i < dbc->n_msgs; i++)
    free_message(&dbc->msgs[i]);
  free(dbc->msgs);
  for (size_t i = 0; i < dbc->n_tables; i++) {
    free(dbc->tables[i].name);
    free_pairs(dbc->tables[i].vals, dbc->tables[i].n_vals);
  }
  free(dbc->tables);
  free(dbc->version);
  free(dbc->comment);
  free(dbc);
}

static int read_whole(const char *path, char **buf, size_t *len)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  struct stat st;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > 64 * 1024 * 1024) {
    int e = S_ISREG(st.st_mode) ? EFBIG : EISDIR;
    close(fd);
    return -e;
  }
  char *b = xmalloc((size_t)st.st_size + 1);
  size_t n = 0;
  while (n < (size_t)st.st_size) {
    ssize_t r = read(fd, b + n, (size_t)st.st_size - n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    n += (size_t)r;
  }
  close(fd);
  b[n] = 0;
  *buf = b;
  *len = n;
  return 0;
}

static int load_rec(const char *path, struct dbc **out, struct sim_diag *d, int depth)
{
  char *text = NULL;
  size_t len = 0;
  int rc = read_whole(path, &text, &len);
  if (rc < 0) {
    sim_diag_error(d, path, 0, 0, "cannot read DBC file: %s", sim_strerror(rc));
    return rc;
  }
  struct parse ps;
  struct dbc *dbc = NULL;
  rc = parse_text(text, len, path, &dbc, d, &ps);
  free(text);
  if (rc < 0)
    return rc;
  for (size_t i = 0; i < ps.n_imports && rc == 0; i++) {
    if (depth >= 8) {
      rc = sim_diag_error(d, path, 0, 0, "IMPORT nested too deeply");
      break;
    }
    const char *name = ps.imports[i];
    const char *slash = strrchr(path, '/');
    char *ipath;
    if (name[0] == '/' || !slash) {
      ipath = xstrdup(name);
    } else {
      size_t dl = (size_t)(slash - path) + 1;
      ipath = xmalloc(dl + strlen(name) + 1);
      memcpy(ipath, path, dl);
      memcpy(ipath + dl, name, strlen(name) + 1);
    }
    struct dbc *imp = NULL;
    rc = load_rec(ipath, &imp, d, depth + 1);
    free(ipath);
    if (rc < 0)
      break;
    /* merge: messages of the importing file win */
    size_t cap = dbc->n_msgs, n_own = dbc->n_msgs;
    for (size_t k = 0; k < imp->n_msgs; k++) {
      bool dup = false;
      for (size_t j = 0; j < n_own && !dup; j++)
        dup = dbc->msgs[j].id == imp->msgs[k].id;
      if (dup) {
        free_message(&imp->msgs[k]);
        continue;
      }
      xgrow((void **)&dbc->msgs, &cap, dbc->n_msgs + 1, sizeof *dbc->msgs);
      dbc->msgs[dbc->n_msgs++] = imp->msgs[k];
    }
    imp->n_msgs = 0;
    if (dbc->n_msgs > 1)
      qsort(dbc->msgs, dbc->n_msgs, sizeof *dbc->msgs, cmp_msgs);
    dbc_free(imp);
  }
  free_imports(&ps);
  if (rc < 0) {
    dbc_free(dbc);
    return rc;
  }
  *out = dbc;
  return 0;
}

int dbc_load(const char *path, struct dbc **out, struct sim_diag *d)
{
  return load_rec(path, out, d, 0);
}
