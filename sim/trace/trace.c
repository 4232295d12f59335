/*
 * trace.c - the registry of trace formats, content detection, and the small helpers every
 * codec shares (time and hex parsing/printing, bus labels).  See trace.h.
 */
#include "trace/trace.h"

#include <string.h>
#include <strings.h>

#include "core/array.h"
#include "core/error.h"
#include "core/loop.h"
#include "trace/codec.h"

extern const struct trace_format trace_fmt_candump, trace_fmt_candump_screen, trace_fmt_crtd,
    trace_fmt_asc, trace_fmt_trc, trace_fmt_savvycan, trace_fmt_parserflags, trace_fmt_numbered,
    trace_fmt_cando, trace_fmt_roadster;

/* Detection priority: formats with unmistakable signatures first. */
const struct trace_format *const trace_formats[] = {
    &trace_fmt_crtd,     &trace_fmt_candump,     &trace_fmt_asc,
    &trace_fmt_trc,      &trace_fmt_savvycan,    &trace_fmt_parserflags,
    &trace_fmt_numbered, &trace_fmt_candump_screen, &trace_fmt_cando,
    &trace_fmt_roadster, NULL,
};

const struct trace_format *trace_format_find(const char *name)
{
  if (!name)
    return NULL;
  for (size_t i = 0; trace_formats[i]; i++)
    if (!strcasecmp(trace_formats[i]->name, name))
      return trace_formats[i];
  /* a few aliases people type */
  static const struct { const char *alias, *name; } aliases[] = {
      {"log", "candump"},      {"candump-l", "candump"}, {"vector", "asc"},
      {"pcan", "trc"},         {"csv", "savvycan"},      {"gvret-csv", "savvycan"},
      {"tsv", "parserflags"},  {"screen", "candump-screen"},
  };
  for (size_t i = 0; i < ARRAY_SIZE(aliases); i++)
    if (!strcasecmp(aliases[i].alias, name))
      return trace_format_find(aliases[i].name);
  return NULL;
}

static bool ends_with(const char *s, size_t n, const char *suffix, size_t m)
{
  return n >= m && !strncasecmp(s + n - m, suffix, m);
}

const struct trace_format *trace_format_by_ext(const char *path)
{
  if (!path)
    return NULL;
  size_t n = strlen(path);
  if (ends_with(path, n, ".gz", 3))
    n -= 3;
  for (size_t i = 0; trace_formats[i]; i++) {
    const char *e = trace_formats[i]->exts;
    while (e && *e) {
      const char *c = strchr(e, ',');
      size_t m = c ? (size_t)(c - e) : strlen(e);
      if (m && ends_with(path, n, e, m))
        return trace_formats[i];
      e = c ? c + 1 : NULL;
    }
  }
  return NULL;
}

const struct trace_format *trace_format_detect(const char *text, size_t len)
{
  long score[16] = {0};
  int lines = 0;
  size_t i = 0;
  while (i < len && lines < 64) {
    const char *nl = memchr(text + i, '\n', len - i);
    if (!nl && lines > 0)
      break; /* an incomplete last line: do not judge by it */
    size_t end = nl ? (size_t)(nl - text) : len;
    size_t n = rtrim(text + i, end - i);
    size_t bom = i == 0 ? utf8_bom_len(text, n) : 0; /* judged without a UTF-8 BOM */
    if (n > bom) {
      lines++;
      for (size_t k = 0; k < 16 && trace_formats[k]; k++)
        score[k] += trace_formats[k]->detect(text + i + bom, n - bom);
    }
    i = end + 1;
  }
  long best = 0;
  const struct trace_format *fmt = NULL;
  for (size_t k = 0; k < 16 && trace_formats[k]; k++)
    if (score[k] > best) {
      best = score[k];
      fmt = trace_formats[k];
    }
  return fmt;
}

void trace_pstate_init(struct trace_pstate *ps, const char *file)
{
  memset(ps, 0, sizeof(*ps));
  ps->file = file;
  ps->base = 16;
  ps->untimed_period = 10 * SIM_NS_PER_MS;
}

void trace_wstate_init(struct trace_wstate *ws)
{
  memset(ws, 0, sizeof(*ws));
}

size_t trace_parse_time(const char *s, size_t len, bool neg, int64_t *ns)
{
  size_t i = 0;
  bool minus = false;
  if (neg && i < len && s[i] == '-') {
    minus = true;
    i++;
  }
  size_t d0 = i;
  int64_t sec = 0;
  while (i < len && s[i] >= '0' && s[i] <= '9') {
    if (sec > (INT64_MAX / SIM_NS_PER_SEC - (s[i] - '0')) / 10)
      return 0; /* more seconds than an int64 of ns can hold */
    sec = sec * 10 + (s[i] - '0');
    i++;
  }
  if (i == d0)
    return 0;
  int64_t frac = 0;
  if (i < len && s[i] == '.') {
    size_t f0 = i + 1;
    i = parse_frac(s, f0, len, 9, &frac);
    if (i == f0)
      return 0;
  }
  /* the whole int64 range of ns: a writer's time at the limit (INT64_MAX ns =
   * 9223372036.854775807 s, which the ASC writer clamps to) reads back */
  int64_t v;
  if (__builtin_add_overflow(sec * SIM_NS_PER_SEC, frac, &v))
    return 0;
  *ns = minus ? -v : v;
  return i;
}

/* a[0, n) == b[0, n) for the short digit strings of the time cache (inline: no call); up to
 * 19 digits with leading zeros. */
static inline bool same_digits(const char *a, const char *b, size_t n)
{
  if (n <= 16)
    return q_is(a, b, n);
  for (size_t k = 0; k < n; k++)
    if (a[k] != b[k])
      return false;
  return true;
}

static inline bool is_digit(char c)
{
  return (unsigned char)(c - '0') < 10;
}

size_t trace_parse_time_ps(struct trace_pstate *ps, const char *s, size_t len, int64_t *ns)
{
  size_t i = ps->tcache_len;
  /* the seconds of the previous line again?  (then they are digits, and no digit follows) */
  bool hit = i && i < len && !is_digit(s[i]) && same_digits(s, ps->tcache, i);
  if (!hit) {
    i = 0;
    while (i < len && is_digit(s[i]))
      i++;
    size_t n = trace_parse_time(s, len, false, ns);
    /* not the last whole second of the int64 range: its fraction may overflow, which only
     * the full parse checks */
    if (n && i < sizeof(ps->tcache) && *ns / SIM_NS_PER_SEC < INT64_MAX / SIM_NS_PER_SEC) {
      memcpy(ps->tcache, s, i);
      ps->tcache_len = (uint8_t)i;
      ps->tcache_sec = *ns / SIM_NS_PER_SEC;
    }
    return n;
  }
  int64_t frac = 0;
  static const int32_t scale[10] = {1000000000, 100000000, 10000000, 1000000, 100000,
                                    10000,      1000,      100,      10,      1};
  if (i + 9 <= len && s[i] == '.') {
    /* up to 8 fraction digits at once (SWAR): which of the next 8 bytes are digits... */
    uint64_t w;
    memcpy(&w, s + i + 1, 8);
    uint64_t bad = nondigits8(s + i + 1);
    int k = bad ? __builtin_ctzll(bad) / 8 : 8;
    if (k > 0 && (k < 8 || i + 9 >= len || !is_digit(s[i + 9]))) {
      /* ... and their value: the digits moved to the top, zero bytes (leading zeros) below */
      uint64_t v = digits8(w << (8 * (8 - k)));
      *ns = ps->tcache_sec * SIM_NS_PER_SEC + (int64_t)v * scale[k];
      return i + 1 + (size_t)k;
    }
  }
  if (i < len && s[i] == '.') {
    size_t f0 = i + 1;
    i = parse_frac(s, f0, len, 9, &frac); /* (digits beyond ns are passed over) */
    if (i == f0)
      return 0;
  }
  *ns = ps->tcache_sec * SIM_NS_PER_SEC + frac;
  return i;
}

void trace_put_time(struct sbuf *out, int64_t ns, int digits)
{
  put_end(out, p_time(put_begin(out, 32), ns, digits));
}

void trace_put_hex8(struct sbuf *out, uint8_t v, bool upper)
{
  put_hexn(out, v, 2, upper);
}

/* The interface number of a SocketCAN-style name: "can0", "vcan3", "slcan1" -> 0, 3, 1; -1 for
 * any other name.  Only numbers that fit a module bus (0..TRACE_MAX_SRCS-1) count. */
static int ifname_number(const char *src, size_t len)
{
  size_t i = 0;
  if (len > 2 && !memcmp(src, "sl", 2))
    i = 2;
  else if (len > 1 && src[0] == 'v')
    i = 1;
  if (len - i < 4 || memcmp(src + i, "can", 3))
    return -1;
  i += 3;
  if (len - i != 1 || src[i] < '0' || src[i] > '9')
    return -1; /* one digit: can0..can7 (more than 8 buses cannot be told apart anyway) */
  int n = src[i] - '0';
  return n < TRACE_MAX_SRCS ? n : -1;
}

static void claim_src(struct trace_pstate *ps, int i, const char *src, size_t len, uint64_t key)
{
  memcpy(ps->srcs[i], src, len);
  ps->srcs[i][len] = 0;
  ps->srcs_len[i] = (uint8_t)len;
  ps->srcs_key[i] = key;
  if (i + 1 > ps->nsrcs)
    ps->nsrcs = i + 1;
}

uint8_t trace_src_bus(struct trace_pstate *ps, const char *src, size_t len)
{
  if (len >= TRACE_SRC_MAX)
    len = TRACE_SRC_MAX - 1;
  if (len == 0)
    return 0;
  uint64_t key = trace_src_key(src, len, 0);
  for (int i = 0; i < ps->nsrcs; i++)
    if (ps->srcs_key[i] == key && ps->srcs_len[i] == len &&
        (len <= 8 || !memcmp(ps->srcs[i] + 8, src + 8, len - 8)))
      return (uint8_t)(i + 1);
  /* canN is bus N+1 whatever order the interfaces appear in, so that bus N written as
   * can<N-1> (trace_put_ifname) reads back as bus N; another name takes the lowest bus number
   * no name has taken yet (docs/traces.md, "Buses"). */
  int n = ifname_number(src, len);
  if (n >= 0) {
    if (ps->srcs_len[n] == 0)
      claim_src(ps, n, src, len, key);
    return (uint8_t)(n + 1);
  }
  for (int i = 0; i < TRACE_MAX_SRCS; i++)
    if (ps->srcs_len[i] == 0) {
      claim_src(ps, i, src, len, key);
      return (uint8_t)(i + 1);
    }
  return 0; /* more interfaces than buses: unassigned (a bus map can still route it) */
}

int trace_parse_payload(struct trace_pstate *ps, const char *s, size_t len, size_t i, uint32_t dl,
                        bool rtr, bool whole, const char *what, struct sim_frame *f,
                        struct sim_diag *d)
{
  if (rtr) {
    f->flags |= SIM_CAN_F_RTR;
  } else {
    size_t stop;
    int nb = trace_parse_bytes(s, len, i, f->data, (int)dl, &stop);
    if (nb < 0 || (uint32_t)nb != dl || (whole && stop < len))
      return TRACE_ERR(ps, d, stop, "%s: expected %u data bytes", what, dl);
  }
  f->len = (uint8_t)dl;
  return 0;
}

int trace_parse_bytes(const char *s, size_t len, size_t i, uint8_t *data, int max, size_t *stop)
{
  int n = 0;
  i = skip_blank(s, len, i);
  while (i < len) {
    size_t e = token_end(s, len, i);
    int hi, lo;
    if (e - i == 2 && (hi = sim_hex_digit(s[i])) >= 0 && (lo = sim_hex_digit(s[i + 1])) >= 0) {
      if (n >= max) {
        *stop = i;
        return -1;
      }
      data[n++] = (uint8_t)(hi << 4 | lo);
    } else if (e - i == 1 && (lo = sim_hex_digit(s[i])) >= 0) {
      /* unpadded byte ("0", "F"), as some exports write */
      if (n >= max) {
        *stop = i;
        return -1;
      }
      data[n++] = (uint8_t)lo;
    } else {
      break;
    }
    i = skip_blank(s, len, e);
  }
  *stop = i;
  return n;
}
