/*
 * json.c - the JSON reader of json.h: recursive descent over the text with a depth limit,
 * every error reported at its line and column.
 */
#include "core/json.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/hex.h"
#include "core/sbuf.h"
#include "core/xalloc.h"

struct reader {
  const char *p, *end, *line_start;
  int line;
  const char *file;
  struct sim_diag *d;
};

static int col_of(const struct reader *r)
{
  return (int)(r->p - r->line_start) + 1;
}

static int fail(struct reader *r, const char *what)
{
  return sim_diag_error(r->d, r->file, r->line, col_of(r), "%s", what);
}

static void skip_ws(struct reader *r)
{
  while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r')) {
    if (*r->p == '\n') {
      r->line++;
      r->line_start = r->p + 1;
    }
    r->p++;
  }
}

static int hex4(const char *s, unsigned *out)
{
  uint32_t v;
  if (!sim_hex_u32(s, 4, &v))
    return -1;
  *out = v;
  return 0;
}

static void put_utf8(struct sbuf *b, unsigned cp)
{
  if (cp < 0x80) {
    sbuf_addc(b, (char)cp);
  } else if (cp < 0x800) {
    sbuf_addc(b, (char)(0xc0 | cp >> 6));
    sbuf_addc(b, (char)(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    sbuf_addc(b, (char)(0xe0 | cp >> 12));
    sbuf_addc(b, (char)(0x80 | (cp >> 6 & 0x3f)));
    sbuf_addc(b, (char)(0x80 | (cp & 0x3f)));
  } else {
    sbuf_addc(b, (char)(0xf0 | cp >> 18));
    sbuf_addc(b, (char)(0x80 | (cp >> 12 & 0x3f)));
    sbuf_addc(b, (char)(0x80 | (cp >> 6 & 0x3f)));
    sbuf_addc(b, (char)(0x80 | (cp & 0x3f)));
  }
}

/* One escape after the backslash at r->p[-1]; r->p moves past it. */
static int escape(struct reader *r, struct sbuf *b)
{
  static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
  const char *e = r->p < r->end ? strchr(from, *r->p) : NULL;
  if (e && *r->p) {
    sbuf_addc(b, to[e - from]);
    r->p++;
    return 0;
  }
  unsigned cp, lo;
  if (r->p >= r->end || *r->p != 'u' || r->end - r->p < 5 || hex4(r->p + 1, &cp) < 0)
    return fail(r, "invalid escape in a string");
  r->p += 5;
  if (cp >= 0xd800 && cp < 0xdc00) {
    if (r->end - r->p < 6 || r->p[0] != '\\' || r->p[1] != 'u' || hex4(r->p + 2, &lo) < 0 ||
        lo < 0xdc00 || lo >= 0xe000)
      return fail(r, "unpaired surrogate in a string");
    r->p += 6;
    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
  } else if (cp >= 0xdc00 && cp < 0xe000) {
    return fail(r, "unpaired surrogate in a string");
  }
  put_utf8(b, cp);
  return 0;
}

/* A string at r->p (the opening quote); *out malloc'd. */
static int string(struct reader *r, char **out, size_t *len)
{
  struct sbuf b = SBUF_INIT;
  r->p++;
  for (;;) {
    if (r->p >= r->end) {
      sbuf_free(&b);
      return fail(r, "unterminated string");
    }
    unsigned char c = (unsigned char)*r->p;
    if (c == '"')
      break;
    if (c < 0x20) {
      sbuf_free(&b);
      return fail(r, "control character in a string");
    }
    r->p++;
    if (c == '\\') {
      if (escape(r, &b) < 0) {
        sbuf_free(&b);
        return SIM_EPARSE;
      }
    } else {
      sbuf_addc(&b, (char)c);
    }
  }
  r->p++;
  *len = b.len;
  sbuf_addc(&b, 0); /* an empty string is allocated too */
  *out = sbuf_detach(&b);
  return 0;
}

static int number(struct reader *r, double *out)
{
  const char *s = r->p;
  if (s < r->end && *s == '-')
    s++;
  if (s >= r->end || !(*s >= '0' && *s <= '9'))
    return fail(r, "expected a value");
  if (*s == '0' && s + 1 < r->end && s[1] >= '0' && s[1] <= '9')
    return fail(r, "a number with a leading zero");
  char buf[64];
  size_t n = 0;
  for (const char *q = r->p; q < r->end && strchr("+-0123456789.eE", *q) && *q; q++)
    n++;
  if (n >= sizeof(buf))
    return fail(r, "number too long");
  memcpy(buf, r->p, n);
  buf[n] = 0;
  char *end;
  errno = 0;
  double v = strtod(buf, &end);
  if (end != buf + n || !isfinite(v) || strchr(buf, 'x') || strchr(buf, 'X'))
    return fail(r, "invalid number");
  r->p += n;
  *out = v;
  return 0;
}

static int value(struct reader *r, struct json_value *v, int depth);

/* An array or object at r->p ('[' or '{'). */
static int container(struct reader *r, struct json_value *v, int depth)
{
  bool obj = *r->p == '{';
  char close = obj ? '}' : ']';
  size_t cap = 0, kcap = 0;
  v->type = obj ? JSON_OBJECT : JSON_ARRAY;
  if (depth >= JSON_MAX_DEPTH)
    return fail(r, "nested too deeply");
  r->p++;
  skip_ws(r);
  if (r->p < r->end && *r->p == close) {
    r->p++;
    return 0;
  }
  for (;;) {
    char *key = NULL;
    size_t klen;
    skip_ws(r);
    if (obj) {
      if (r->p >= r->end || *r->p != '"')
        return fail(r, "expected a member name (a string)");
      if (string(r, &key, &klen) < 0)
        return SIM_EPARSE;
      skip_ws(r);
      if (r->p >= r->end || *r->p != ':') {
        free(key);
        return fail(r, "expected ':' after a member name");
      }
      r->p++;
      xgrow((void **)&v->keys, &kcap, v->len + 1, sizeof(*v->keys));
      v->keys[v->len] = key;
    }
    xgrow((void **)&v->items, &cap, v->len + 1, sizeof(*v->items));
    memset(&v->items[v->len], 0, sizeof(*v->items));
    v->len++; /* counted before it is complete: json_free() frees a half-parsed item */
    if (value(r, &v->items[v->len - 1], depth + 1) < 0)
      return SIM_EPARSE;
    skip_ws(r);
    if (r->p < r->end && *r->p == ',') {
      r->p++;
      continue;
    }
    if (r->p < r->end && *r->p == close) {
      r->p++;
      return 0;
    }
    return fail(r, obj ? "expected ',' or '}'" : "expected ',' or ']'");
  }
}

static int word(struct reader *r, const char *w)
{
  size_t n = strlen(w);
  if ((size_t)(r->end - r->p) < n || memcmp(r->p, w, n))
    return fail(r, "expected a value");
  r->p += n;
  return 0;
}

static int value(struct reader *r, struct json_value *v, int depth)
{
  skip_ws(r);
  v->line = r->line;
  v->col = col_of(r);
  if (r->p >= r->end)
    return fail(r, "expected a value, found the end of the input");
  switch (*r->p) {
  case '{':
  case '[': return container(r, v, depth);
  case '"': v->type = JSON_STRING; return string(r, &v->str, &v->len);
  case 't': v->type = JSON_BOOL; v->b = true; return word(r, "true");
  case 'f': v->type = JSON_BOOL; return word(r, "false");
  case 'n': v->type = JSON_NULL; return word(r, "null");
  default: v->type = JSON_NUMBER; return number(r, &v->num);
  }
}

int json_parse(const char *text, size_t n, const char *file, struct json_value *out,
               struct sim_diag *d)
{
  struct reader r = {text, text + n, text, 1, file, d};
  memset(out, 0, sizeof(*out));
  if (n >= 3 && !memcmp(text, "\xef\xbb\xbf", 3))
    r.p = r.line_start = text + 3;
  int rc = value(&r, out, 0);
  if (rc == 0) {
    skip_ws(&r);
    if (r.p < r.end)
      rc = fail(&r, "text after the JSON value");
  }
  if (rc < 0) {
    json_free(out);
    memset(out, 0, sizeof(*out));
  }
  return rc;
}

void json_free(struct json_value *v)
{
  if (v->type == JSON_ARRAY || v->type == JSON_OBJECT) {
    for (size_t i = 0; i < v->len; i++) {
      json_free(&v->items[i]);
      if (v->keys)
        free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
  } else if (v->type == JSON_STRING) {
    free(v->str);
  }
  v->items = NULL;
  v->keys = NULL;
  v->str = NULL;
  v->len = 0;
}

const struct json_value *json_get(const struct json_value *v, const char *key)
{
  if (!v || v->type != JSON_OBJECT)
    return NULL;
  for (size_t i = 0; i < v->len; i++)
    if (!strcmp(v->keys[i], key))
      return &v->items[i];
  return NULL;
}

void json_write_string(const char *s, size_t n, struct sbuf *out)
{
  sbuf_addc(out, '"');
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    switch (c) {
    case '"': sbuf_adds(out, "\\\""); break;
    case '\\': sbuf_adds(out, "\\\\"); break;
    case '\n': sbuf_adds(out, "\\n"); break;
    case '\r': sbuf_adds(out, "\\r"); break;
    case '\t': sbuf_adds(out, "\\t"); break;
    default:
      if (c < 0x20)
        sbuf_printf(out, "\\u%04x", c);
      else
        sbuf_addc(out, (char)c);
    }
  }
  sbuf_addc(out, '"');
}
