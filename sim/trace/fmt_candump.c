/*
 * fmt_candump.c - the can-utils `candump -l` log format, as a pure codec.
 *
 *   (1724333002.811100) can0 7E8#03410D3C00000000        classic, 11-bit (3 hex digits)
 *   (1724333002.811200) can0 18DAF110#101462F190574155   29-bit (8 hex digits)
 *   (1724333002.811300) can1 123##1112233445566778899AA  CAN FD: '##', a flags nibble
 *                                                        (1 = BRS, 2 = ESI), then data
 *   (1724333002.811400) can0 7DF#R  /  7DF#R3            remote request (optional length)
 *   (1724333002.811500) can0 20000080#0000000000000000   error frame: 8 digits with bit 29
 *   (1724333002.811600000) can0 7E8#00 T                 9 fraction digits; trailing R/T
 *                                                        = received / transmitted (candump -x)
 *
 * Facts from linux-can/can-utils lib.c (parse_canframe, sprint_canframe) and candump.c at
 * commit 722a09116d8685bbf3e7a833b56454adf3acfa4b: 3 digits = SFF, 8 digits = EFF unless the
 * error flag 0x20000000 is set, data bytes may be separated by '.', "_<dlc>" after 8 bytes
 * gives a raw DLC 9..F (len8_dlc, ignored here), and log2asc reads a trailing 'T' as Tx.
 *
 * This is the hot path of `ovms-sim convert` and `--fast` replays: no allocation, no sscanf.
 */
#include <string.h>

#include "trace/codec.h"

static int detect(const char *s, size_t len)
{
  if (len < 8 || s[0] != '(')
    return 0;
  const char *close = memchr(s, ')', len);
  if (!close)
    return 0;
  if (!memchr(close, '#', len - (size_t)(close - s)))
    return 0;
  int64_t ns;
  return trace_parse_time(s + 1, (size_t)(close - s - 1), false, &ns) ==
                 (size_t)(close - s - 1)
             ? 3
             : 0;
}

/* The id s[fs..'#'): 3 hex digits (11-bit), or 8 (29-bit, or an error frame with bit 29).
 * Sets *hash to the index of the '#'. */
static int parse_id(struct trace_pstate *ps, const char *s, size_t len, size_t fs, size_t *hash,
                    struct sim_frame *f, struct sim_diag *d)
{
  uint32_t id = 0;
  size_t h = fs;
  for (int v; h < len && h - fs < 9 && (v = sim_hex_digit(s[h])) >= 0; h++)
    id = id << 4 | (uint32_t)v;
  if (h >= len || s[h] != '#') {
    if (!memchr(s + fs, '#', len - fs))
      return TRACE_ERR(ps, d, fs, "candump log: expected <id>#<data>");
    return TRACE_ERR(ps, d, fs, "candump log: the id must be 3 or 8 hex digits");
  }
  if (h - fs != 3 && h - fs != 8)
    return TRACE_ERR(ps, d, fs, "candump log: the id must be 3 or 8 hex digits");
  *hash = h;
  return candump_set_id(ps, f, id, h - fs, fs, "candump log", d);
}

/* What follows "#": "#<flags>" of a CAN FD frame (sets *max to 64) or "R[len]" of a remote
 * request (sets *rtr).  Advances *pi past it. */
static int parse_kind(struct trace_pstate *ps, const char *s, size_t len, size_t *pi,
                      size_t fs, int *max, bool *rtr, struct sim_frame *f, struct sim_diag *d)
{
  size_t i = *pi;
  if (i < len && s[i] == '#') {
    int fl = i + 1 < len ? sim_hex_digit(s[i + 1]) : -1;
    if (fl < 0)
      return TRACE_ERR(ps, d, i + 1, "candump log: CAN FD flags nibble expected after '##'");
    if (f->flags & SIM_CAN_F_ERR)
      return TRACE_ERR(ps, d, fs, "candump log: a CAN FD frame cannot be an error frame");
    f->flags |= SIM_CAN_F_FD;
    if (fl & 1)
      f->flags |= SIM_CAN_F_BRS;
    if (fl & 2)
      f->flags |= SIM_CAN_F_ESI;
    *max = 64;
    *pi = i + 2;
  } else if (i < len && (s[i] == 'R' || s[i] == 'r')) {
    f->flags |= SIM_CAN_F_RTR;
    *rtr = true;
    i++;
    if (i < len && !is_blank(s[i])) {
      int l = sim_hex_digit(s[i]);
      if (l < 0 || l > 8)
        return TRACE_ERR(ps, d, i, "candump log: remote request length must be 0..8");
      f->len = (uint8_t)l;
      i++;
    }
    *pi = i;
  }
  return 0;
}

/* The data from *pi: hex pairs, optionally separated by '.', "_<dlc>" after 8 bytes; at most
 * max bytes, a CAN FD length when max is 64.  h is the '#' (for the message). */
static int parse_data(struct trace_pstate *ps, const char *s, size_t len, size_t *pi, int max,
                      size_t h, struct sim_frame *f, struct sim_diag *d)
{
  size_t i = *pi;
  int nb = 0;
  /* fast path: plain hex pairs (into a local buffer: no aliasing with s) */
  uint8_t buf[SIM_CAN_MAX_DLEN];
  const char *p = s + i;
  int pairs = (int)((len - i) / 2) < max ? (int)((len - i) / 2) : max;
  while (nb < pairs) {
    int hi = sim_hex_digit(p[2 * nb]), lo = sim_hex_digit(p[2 * nb + 1]);
    if ((hi | lo) < 0)
      break;
    buf[nb++] = (uint8_t)(hi << 4 | lo);
  }
  memcpy(f->data, buf, (size_t)nb);
  i += 2 * (size_t)nb;
  while (i < len && !is_blank(s[i])) {
    if (s[i] == '.') {
      i++;
      continue;
    }
    if (s[i] == '_' && nb == 8 && max == 8) {
      /* len8_dlc: raw DLC 9..F for 8 data bytes */
      if (i + 1 >= len || sim_hex_digit(s[i + 1]) < 9)
        return TRACE_ERR(ps, d, i, "candump log: bad raw DLC after '_'");
      i += 2;
      break;
    }
    int hi = sim_hex_digit(s[i]);
    int lo = i + 1 < len ? sim_hex_digit(s[i + 1]) : -1;
    if (hi < 0 || lo < 0)
      return TRACE_ERR(ps, d, hi < 0 ? i : i + 1, "candump log: data must be pairs of hex digits");
    if (nb >= max)
      return TRACE_ERR(ps, d, i, "candump log: more than %d data bytes", max);
    f->data[nb++] = (uint8_t)(hi << 4 | lo);
    i += 2;
  }
  if (max == 64 && sim_can_dlc2len(sim_can_len2dlc((uint8_t)nb)) != nb)
    return TRACE_ERR(ps, d, h + 1, "candump log: %d is not a valid CAN FD length", nb);
  f->len = (uint8_t)nb;
  *pi = i;
  return 0;
}

/* After the frame: nothing, or 'R' / 'T' (candump -x: received / transmitted). */
static int parse_tail(struct trace_pstate *ps, const char *s, size_t len, size_t i,
                      struct sim_frame *f, struct sim_diag *d)
{
  i = skip_blank(s, len, i);
  if (i == len)
    return 0;
  size_t e = token_end(s, len, i);
  if (!(e - i == 1 && (s[i] == 'T' || s[i] == 'R')))
    return TRACE_ERR(ps, d, i, "candump log: unexpected text after the frame");
  if (s[i] == 'T')
    f->flags |= SIM_CAN_F_TX;
  if (skip_blank(s, len, e) < len)
    return TRACE_ERR(ps, d, skip_blank(s, len, e), "candump log: unexpected text after the frame");
  return 0;
}

/* The time stamp candump writes at s[0, 20) (candump_stamp20) into *ts; the seconds' value is
 * kept in ps while their digits stay the same (then only the rest of the stamp is checked). */
static inline bool quick_stamp(struct trace_pstate *ps, const char *s, int64_t *ts)
{
  uint64_t w1, w2, w3;
  memcpy(&w1, s + 1, 8);  /* seconds' digits 1..8 */
  memcpy(&w2, s + 3, 8);  /* digits 3..10: the last two are the seconds' units */
  memcpy(&w3, s + 12, 8); /* the 6 fraction digits, then ") " */
  if (w1 != ps->qsec_key[0] || w2 != ps->qsec_key[1]) {
    if (!candump_stamp20(s))
      return false; /* (more seconds than an int64 of ns holds: parse() reports it) */
    ps->qsec_key[0] = w1;
    ps->qsec_key[1] = w2;
    ps->qsec_ns = (int64_t)((digits8(w1) * 100 + digits8(w2) % 100) * 1000000000u);
  } else if (s[0] != '(' || s[11] != '.' || (nondigits8(s + 12) & UINT64_C(0x0000FFFFFFFFFFFF)) ||
             w3 >> 48 != (')' | ' ' << 8)) {
    return false;
  }
  *ts = ps->qsec_ns + (int64_t)(digits8(w3 << 16) * 1000u);
  return true;
}

/* The n (even, at most 16) hex digits at data as n / 2 bytes at out: 8 digits at a time, then
 * pairs.  False when one is not a hex digit. */
static inline bool quick_data(const char *data, size_t n, uint8_t *out)
{
  size_t k = 0;
  if (n == 16) {
    if (!q_hex8(data, out) || !q_hex8(data + 8, out + 4))
      return false;
    k = 16;
  } else if (n >= 8) {
    if (!q_hex8(data, out))
      return false;
    k = 8;
  }
  int bad = 0;
  for (; k < n; k += 2) {
    int hi = sim_hex_digit(data[k]), lo = sim_hex_digit(data[k + 1]);
    bad |= hi | lo;
    out[k / 2] = (uint8_t)((hi & 15) << 4 | (lo & 15)); /* (a bad digit: bad < 0) */
  }
  return bad >= 0;
}

/* The e (even, at most 16) uppercase hex digits at dat (16 readable bytes) as e / 2 bytes at
 * out (8 bytes stored): checked and turned into nibbles 16 at a time, the pairs joined in two
 * 8-byte words.  False when one is not an uppercase hex digit (lowercase: parse()). */
static inline bool quick_hex16(const char *dat, int e, uint8_t *out)
{
  v16 v = v16_load(dat);
  if (!v16_hexu_first(v, e))
    return false;
  v16 nib = v - '0' - (v16)((v > '9') & 7);
  uint64_t w[2];
  memcpy(w, &nib, 16);
  for (int k = 0; k < 2; k++) {
    uint64_t t = ((w[k] << 4) | (w[k] >> 8)) & UINT64_C(0x00FF00FF00FF00FF);
    t = (t | (t >> 8)) & UINT64_C(0x0000FFFF0000FFFF);
    uint32_t b = (uint32_t)(t | (t >> 16));
    memcpy(out + 4 * k, &b, 4); /* (little-endian, as digits8) */
  }
  return true;
}

/* The record of a fast path's line: the frame (its data already in place) at ts. */
static inline int quick_done(struct trace_pstate *ps, struct trace_record *rec, uint32_t id,
                             uint16_t flags, size_t n, int64_t ts)
{
  rec_quick_frame(rec, id, flags, (unsigned)(n / 2));
  rec_set_ts(rec, ts, false);
  return rec_frame_done(ps, rec);
}

/*
 * The fast path of parse() for the line candump writes (quick_check() below gives the layout;
 * the same checks, made while the fields are read): one pass, no per-field function calls.
 * Returns 1 with rec filled as parse() fills it, or 0 for any other line (parse() decides).
 */
static int parse_quick(struct trace_pstate *ps, const char *s, size_t len,
                       struct trace_record *rec)
{
  if (len < 26 || is_blank(s[20]))
    return 0;
  size_t i = 21;
  while (i < len && !is_blank(s[i]))
    i++;
  if (i + 5 > len || s[i] != ' ')
    return 0;
  const char *id = s + i + 1;
  size_t left = len - (i + 1), dl;
  uint32_t v;
  uint16_t flags;
  int64_t ts;
  if (!(dl = candump_id(id, left, &v, &flags)) || left - dl > 16 || ((left - dl) & 1) ||
      !quick_data(id + dl, left - dl, rec->frame.data) || !quick_stamp(ps, s, &ts))
    return 0;
  quick_done(ps, rec, v, flags, left - dl, ts);
  rec->frame.bus = rec_src_bus(ps, rec, s + 20, i - 20, len - 20);
  return 1;
}

/*
 * trace_format.parse_ahead: the line candump writes, at the start of s[0, n) (n >=
 * TRACE_AHEAD_READ), with an interface seen before (of 1..7 bytes: a new one is numbered by
 * parse()) and its '\n' right after the data.  What parse_quick() takes, without the search for
 * the line's end.  Returns the line's length (without the '\n'), 0 for any other line.
 */
static size_t parse_ahead(struct trace_pstate *ps, const char *s, size_t n,
                          struct trace_record *rec)
{
  (void)n; /* (at least TRACE_AHEAD_READ: the longest such line and its '\n' are 55) */
  int64_t ts;
  if (!quick_stamp(ps, s, &ts))
    return 0;
  uint64_t lw;
  memcpy(&lw, s + 20, 8);
  int b = 0;
  unsigned ln = 0;
  for (; b < ps->nsrcs; b++) {
    ln = ps->srcs_len[b];
    if (ln >= 1 && ln <= 7 && (lw & ((UINT64_C(1) << (8 * ln)) - 1)) == ps->srcs_key[b] &&
        s[20 + ln] == ' ')
      break;
  }
  if (b == ps->nsrcs)
    return 0;
  const char *id = s + 21 + ln;
  uint32_t v;
  uint16_t flags;
  size_t dl = candump_id(id, 9, &v, &flags);
  if (!dl)
    return 0;
  const char *dat = id + dl;
  int e = candump_data_end(dat);
  if (e < 0 || !quick_hex16(dat, e, rec->frame.data))
    return 0;
  quick_done(ps, rec, v, flags, (size_t)e, ts);
  memcpy(rec->src, &ps->srcs_key[b], 8);
  rec->src[ln] = 0;
  rec->frame.bus = (uint8_t)(b + 1);
  return (size_t)(dat + e - s);
}

static int parse_full(struct trace_pstate *ps, const char *s, size_t len, size_t i,
                      struct trace_record *rec, struct sim_diag *d)
{
  if (s[i] != '(')
    return TRACE_ERR(ps, d, i, "candump log: expected '(' and a timestamp");
  i++;
  int64_t ts;
  size_t n = parse_ts_prefix(ps, s, len, i, &ts);
  if (!n)
    return TRACE_ERR(ps, d, i, "candump log: bad timestamp");
  i += n;
  if (i >= len || s[i] != ')')
    return TRACE_ERR(ps, d, i, "candump log: expected ')' after the timestamp");
  i = skip_blank(s, len, i + 1);
  size_t ifs = i;
  i = token_end(s, len, i);
  if (i == ifs)
    return TRACE_ERR(ps, d, i, "candump log: missing interface name");
  struct sim_frame *f = &rec->frame;
  f->bus = rec_src_bus(ps, rec, s + ifs, i - ifs, len - ifs);
  size_t fs = skip_blank(s, len, i), h = 0;
  int max = 8;
  bool rtr = false;
  if (parse_id(ps, s, len, fs, &h, f, d) < 0)
    return SIM_EPARSE;
  i = h + 1;
  if (parse_kind(ps, s, len, &i, fs, &max, &rtr, f, d) < 0 ||
      (!rtr && parse_data(ps, s, len, &i, max, h, f, d) < 0) ||
      parse_tail(ps, s, len, i, f, d) < 0)
    return SIM_EPARSE;
  rec_set_ts(rec, ts, false);
  return rec_frame_done(ps, rec);
}

TRACE_PARSE_QUICK_FIRST(parse, parse_quick, parse_full)

/*
 * The line candump writes: "(%010lu.%06lu) IFACE ID#DATA" with a 10-digit second, 6 fraction
 * digits, one blank on each side of the interface name, a 3-digit id up to 7FF or an 8-digit
 * one up to 1FFFFFFF, 0 to 8 data bytes as hex pairs and nothing after them.  Every line this
 * accepts, parse() accepts as a frame; anything else (FD, RTR, error frames, 'T', '.', CR,
 * other time layouts) is left to parse().
 */
static bool quick_check(const char *s, size_t len)
{
  if (len < 26 || !candump_stamp20(s) || is_blank(s[20]))
    return false;
  size_t i = 21;
  while (i < len && !is_blank(s[i]))
    i++;
  if (i + 5 > len || s[i] != ' ')
    return false;
  const char *id = s + i + 1;
  size_t left = len - (i + 1);
  size_t dl;
  if (left >= 4 && id[3] == '#' && id[0] >= '0' && id[0] <= '7' && sim_hex_digit(id[1]) >= 0 &&
      sim_hex_digit(id[2]) >= 0) {
    dl = 4;
  } else if (left >= 9 && id[8] == '#' && (id[0] == '0' || id[0] == '1')) {
    for (int k = 1; k < 8; k++)
      if (sim_hex_digit(id[k]) < 0)
        return false;
    dl = 9;
  } else {
    return false;
  }
  const char *data = id + dl;
  size_t n = left - dl;
  if (n > 16 || (n & 1))
    return false;
  int bad = 0;
  for (size_t k = 0; k < n; k++)
    bad |= sim_hex_digit(data[k]);
  return bad >= 0;
}

static const char hx[] = "0123456789ABCDEF";

/* "(%010ld.%06ld)" as candump writes it, 9 digits when the time has nanoseconds; the
 * seconds' digits are kept in ws while they do not change. */
static void put_stamp(struct trace_wstate *ws, int64_t ts, struct sbuf *out)
{
  if (ts < 0) {
    /* rare (relative traces with negative times): the generic path */
    sbuf_addc(out, '(');
    trace_put_time(out, ts, ts % 1000 ? 9 : 6);
    sbuf_addc(out, ')');
  } else {
    /* "(%010ld.%06ld)" as candump writes it, 9 digits when the time has nanoseconds */
    sbuf_reserve(out, 40);
    char *p = out->p + out->len;
    *p++ = '(';
    uint64_t sec = (uint64_t)ts / 1000000000u, frac = (uint64_t)ts % 1000000000u;
    if (!ws->sec_valid || ws->sec != sec) {
      char tmp[24];
      int n = 0;
      uint64_t v = sec;
      do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
      } while (v);
      while (n < 10)
        tmp[n++] = '0';
      ws->sec_len = 0;
      while (n)
        ws->sec_txt[ws->sec_len++] = tmp[--n];
      ws->sec = sec;
      ws->sec_valid = true;
    }
    memcpy(p, ws->sec_txt, ws->sec_len);
    p += ws->sec_len;
    *p++ = '.';
    int digits = 9;
    if (frac % 1000u == 0) {
      frac /= 1000u;
      digits = 6;
    }
    for (int k = digits - 1; k >= 0; k--) {
      p[k] = (char)('0' + frac % 10);
      frac /= 10;
    }
    p += digits;
    *p++ = ')';
    out->len = (size_t)(p - out->p);
  }
}

static int write(struct trace_wstate *ws, const struct trace_record *rec, struct sbuf *out)
{
  const struct sim_frame *f = &rec->frame;
  put_stamp(ws, rec->ts, out);
  /* at most: 1 + 24 name, 1 + 8 id, 2 + 2 * 64 data, 3 */
  char *p = put_begin(out, 168);
  *p++ = ' ';
  p = p_ifname(p, rec);
  *p++ = ' ';
  uint32_t id = f->id;
  int digits = 3;
  if (f->flags & SIM_CAN_F_ERR) {
    id = (id & SIM_CAN_EFF_MASK) | CAN_ERR_FLAG_BIT;
    digits = 8;
  } else if (f->flags & SIM_CAN_F_EXT) {
    digits = 8;
  }
  for (int k = digits - 1; k >= 0; k--)
    *p++ = hx[(id >> (4 * k)) & 15];
  *p++ = '#';
  if (f->flags & SIM_CAN_F_FD) {
    *p++ = '#';
    *p++ = hx[(f->flags & SIM_CAN_F_BRS ? 1 : 0) | (f->flags & SIM_CAN_F_ESI ? 2 : 0)];
  } else if (f->flags & SIM_CAN_F_RTR) {
    *p++ = 'R';
    if (f->len)
      *p++ = hx[f->len > 8 ? 8 : f->len];
    goto end;
  }
  for (unsigned k = 0; k < f->len; k++) {
    *p++ = hx[f->data[k] >> 4];
    *p++ = hx[f->data[k] & 15];
  }
end:
  if (f->flags & SIM_CAN_F_TX) {
    *p++ = ' ';
    *p++ = 'T';
  }
  *p++ = '\n';
  *p = 0;
  out->len = (size_t)(p - out->p);
  ws->n++;
  return 0;
}

const struct trace_format trace_fmt_candump = {
  .name = "candump",
  .caps = TRACE_CAP_LOSSLESS,
  .parse = parse, .write = write,
  .quick_check = quick_check, .parse_ahead = parse_ahead,
  .detect = detect,
  .exts = ".log,.candump",
  .desc = "can-utils candump -l log: (1724333002.811100) can0 7E8#03410D3C",
};
