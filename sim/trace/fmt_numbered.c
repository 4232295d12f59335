/*
 * fmt_numbered.c - the numbered text export of USB-CAN analyser tools ("Receive ... Data
 * frame"), as a pure codec.
 *
 *   Index  Direction  Time            ID          Frame type  Frame format    Len   Data
 *   1      Receive    10:21:33.123456 0x000001DB  Data frame  Standard frame  0x08  x| 00 04 ..
 *   2      Send       10:21:33.133456 0x18DAF110  Data frame  Extended frame  0x08  x| 10 14 ..
 *   3      Receive    10:21:33.140000 0x000007DF  Remote frame Standard frame 0x02
 *
 * No public recording of this kind was at hand (the issue mentions one), so this codec
 * follows the column set such tools print, and is tolerant: fields may be separated by blanks
 * or tabs; the time may be "hh:mm:ss[.frac]" (time of day; relative to midnight) or plain
 * seconds, or absent; the length may be decimal or 0x-hex; "x|" before the data is optional.
 * Direction words: Receive/Recv/Rx (received), Send/Transmit/Tx (transmitted).
 *
 * The export of the USB-CAN analyser programs is read by the same codec: its header is
 * "NO  Direction  Time Scale  Frame Type  Frame Format  Frame ID  Length  Data", the id comes
 * after the frame words, the time is "HH:MM:SS:mmm" (a colon before the milliseconds), and the
 * columns are padded with NUL bytes as well as blanks, lines ending in CRLF (codec.h treats a
 * NUL as a blank; tests/data/traces/analyser-export.txt).
 */
#include <string.h>
#include <strings.h>

#include "trace/codec.h"

static bool word(const char *s, size_t i, size_t e, const char *w)
{
  return e - i == strlen(w) && !strncasecmp(s + i, w, e - i);
}

/* "<w> frame" at s[i] (case-insensitive, any blanks or NULs between): the index after it, or
 * 0. */
static size_t frame_word(const char *s, size_t len, size_t i, const char *w)
{
  size_t n = strlen(w);
  if (len - i < n || strncasecmp(s + i, w, n))
    return 0;
  size_t j = skip_blank(s, len, i + n);
  if (j == i + n || len - j < 5 || strncasecmp(s + j, "frame", 5))
    return 0;
  return j + 5;
}

/* "<w> frame" (w lower case) anywhere in s[0..len). */
static bool has_ci(const char *s, size_t len, const char *w)
{
  for (size_t i = 0; i < len; i++)
    if ((s[i] | 0x20) == w[0] && frame_word(s, len, i, w))
      return true;
  return false;
}

static int detect(const char *s, size_t len)
{
  size_t i = skip_blank(s, len, 0);
  if (i >= len || s[i] < '0' || s[i] > '9')
    return 0;
  if (has_ci(s, len, "data") || has_ci(s, len, "remote"))
    return 4;
  return 0;
}

/* "hh:mm:ss[.frac]" or the analyser's "hh:mm:ss:mmm" -> ns since midnight. */
static bool parse_tod(const char *s, size_t i, size_t e, int64_t *ns)
{
  if (e - i < 8 || s[i + 2] != ':' || s[i + 5] != ':')
    return false;
  size_t bad;
  uint32_t hh, mm, ms;
  if (!parse_dec32(s, i, i + 2, &hh, &bad) || !parse_dec32(s, i + 3, i + 5, &mm, &bad))
    return false;
  int64_t sec;
  if (e - i == 12 && s[i + 8] == ':') {
    uint32_t ss;
    if (!parse_dec32(s, i + 6, i + 8, &ss, &bad) || !parse_dec32(s, i + 9, e, &ms, &bad))
      return false;
    sec = ss * SIM_NS_PER_SEC + ms * SIM_NS_PER_MS;
  } else if (trace_parse_time(s + i + 6, e - i - 6, false, &sec) != e - i - 6) {
    return false;
  }
  if (hh > 23 || mm > 59 || sec >= 61 * SIM_NS_PER_SEC)
    return false;
  *ns = ((int64_t)hh * 3600 + mm * 60) * SIM_NS_PER_SEC + sec;
  return true;
}

/* "Data frame|Remote frame Standard frame|Extended frame" at *pi. */
static int frame_words(struct trace_pstate *ps, const char *s, size_t len, size_t *pi, bool *rtr,
                       struct sim_frame *f, struct sim_diag *d)
{
  size_t i = *pi, j;
  if ((j = frame_word(s, len, i, "data"))) {
    *rtr = false;
    i = skip_blank(s, len, j);
  } else if ((j = frame_word(s, len, i, "remote"))) {
    *rtr = true;
    i = skip_blank(s, len, j);
  } else {
    return TRACE_ERR(ps, d, i, "numbered export: expected 'Data frame' or 'Remote frame'");
  }
  if ((j = frame_word(s, len, i, "standard"))) {
    i = skip_blank(s, len, j);
  } else if ((j = frame_word(s, len, i, "extended"))) {
    f->flags |= SIM_CAN_F_EXT;
    i = skip_blank(s, len, j);
  } else {
    return TRACE_ERR(ps, d, i, "numbered export: expected 'Standard frame' or 'Extended frame'");
  }
  *pi = i;
  return 0;
}

/* One column separator (a tab or a blank) at s[i]: the index after it, or 0. */
static inline size_t q_sep(const char *s, size_t len, size_t i)
{
  return i < len && (s[i] == '\t' || s[i] == ' ') ? i + 1 : 0;
}

/* Two digits at s[i] (known to be there) below lim: their value, or -1. */
static inline int q_dec2(const char *s, size_t i, int lim)
{
  int v = (s[i] - '0') * 10 + (s[i + 1] - '0');
  return q_digit(s[i]) && q_digit(s[i + 1]) && v < lim ? v : -1;
}

static int parse_full(struct trace_pstate *ps, const char *s, size_t len, size_t i,
                      struct trace_record *rec, struct sim_diag *d)
{
  if (s[i] < '0' || s[i] > '9') {
    /* a column header line ("Index Direction Time ...") */
    if (!memmem(s, len, "frame", 5) && ps->nframes == 0)
      return 0;
    return TRACE_ERR(ps, d, i, "numbered export: expected a line number");
  }
  struct sim_frame *f = &rec->frame;
  size_t e = token_end(s, len, i);
  i = skip_blank(s, len, e);
  e = token_end(s, len, i);
  if (word(s, i, e, "Receive") || word(s, i, e, "Recv") || word(s, i, e, "Rx"))
    ;
  else if (word(s, i, e, "Send") || word(s, i, e, "Transmit") || word(s, i, e, "Tx"))
    f->flags |= SIM_CAN_F_TX;
  else
    return TRACE_ERR(ps, d, i, "numbered export: expected Receive or Send");
  i = skip_blank(s, len, e);
  e = token_end(s, len, i);
  int64_t ts = 0;
  bool have_ts = false;
  if (!(e - i > 2 && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X'))) {
    if (parse_tod(s, i, e, &ts) || trace_parse_time(s + i, e - i, false, &ts) == e - i)
      have_ts = true;
    else
      return TRACE_ERR(ps, d, i, "numbered export: bad time");
    i = skip_blank(s, len, e);
    e = token_end(s, len, i);
  }
  /* the id before the frame words, or after them (the analyser's column order) */
  bool rtr = false;
  bool id_after = i < len && (s[i] == 'D' || s[i] == 'd' || s[i] == 'R' || s[i] == 'r');
  if (id_after) {
    if (frame_words(ps, s, len, &i, &rtr, f, d) < 0)
      return SIM_EPARSE;
    e = token_end(s, len, i);
  }
  if (!(e - i > 2 && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')))
    return TRACE_ERR(ps, d, i, "numbered export: expected the id as 0x...");
  uint32_t id;
  size_t bad;
  if (!parse_hex32(s, i + 2, e, &id, &bad) || id > SIM_CAN_EFF_MASK)
    return TRACE_ERR(ps, d, i, "numbered export: bad id");
  f->id = id;
  i = skip_blank(s, len, e);
  if (!id_after && frame_words(ps, s, len, &i, &rtr, f, d) < 0)
    return SIM_EPARSE;
  if (!canid_ok(id, f->flags & SIM_CAN_F_EXT))
    return TRACE_ERR(ps, d, i, "numbered export: 11-bit id out of range");
  e = token_end(s, len, i);
  uint32_t dl;
  bool ok = e - i > 2 && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')
                ? parse_hex32(s, i + 2, e, &dl, &bad)
                : parse_dec32(s, i, e, &dl, &bad);
  if (!ok || dl > 8)
    return TRACE_ERR(ps, d, i, "numbered export: bad length (0..8)");
  i = skip_blank(s, len, e);
  if (len - i >= 2 && s[i] == 'x' && s[i + 1] == '|')
    i = skip_blank(s, len, i + 2);
  if (trace_parse_payload(ps, s, len, i, dl, rtr, true, "numbered export", f, d) < 0)
    return SIM_EPARSE;
  rec_set_ts_opt(ps, rec, have_ts, ts, true);
  return rec_frame_done(ps, rec);
}

/*
 * The fast path of parse() for the line write() writes (one tab or blank between the
 * columns): "1	Receive	13:23:22.811100	0x000001DB	Data frame	Standard frame	0x08	x| 01 23 ..",
 * Receive or Send, a time of day with a fraction, an 8-digit id, a data frame, the length
 * as 0x00..0x08 and exactly that many bytes, nothing after them.  One pass; returns 1 with
 * rec filled as parse() fills it, or 0 for any other line (parse() decides).
 */
static int parse_quick(struct trace_pstate *ps, const char *s, size_t len,
                       struct trace_record *rec)
{
  len = rtrim(s, len);
  size_t i = 0;
  uint64_t num;
  if (!q_dec(s, len, &i, 16, &num) || !(i = q_sep(s, len, i)) || len - i < 57)
    return 0;
  bool tx = false;
  if (Q_IS(s + i, "Receive"))
    i += 7;
  else if (Q_IS(s + i, "Send") && (tx = true))
    i += 4;
  else
    return 0;
  if (!(i = q_sep(s, len, i)) || len - i < 52 || s[i + 2] != ':' || s[i + 5] != ':')
    return 0;
  int hh = q_dec2(s, i, 24), mm = q_dec2(s, i + 3, 60), ss = q_dec2(s, i + 6, 61);
  size_t f0 = i + 9;
  uint64_t frac;
  if (hh < 0 || mm < 0 || ss < 0 || s[i + 8] != '.')
    return 0;
  i = f0;
  if (!q_dec(s, len, &i, 9, &frac))
    return 0;
  int64_t ts = ((int64_t)hh * 3600 + mm * 60 + ss) * SIM_NS_PER_SEC +
               (int64_t)(frac * q_pow10[9 - (i - f0)]);
  if (!(i = q_sep(s, len, i)) || len - i < 41 || !Q_IS(s + i, "0x"))
    return 0;
  uint32_t id;
  if (!q_hexn(s + i + 2, 8, &id) || id > SIM_CAN_EFF_MASK || !(i = q_sep(s, len, i + 10)) ||
      !Q_IS(s + i, "Data frame") || !(i = q_sep(s, len, i + 10)))
    return 0;
  bool ext;
  if (Q_IS(s + i, "Standard frame"))
    ext = false;
  else if (Q_IS(s + i, "Extended frame"))
    ext = true;
  else
    return 0;
  if (!canid_ok(id, ext) || !(i = q_sep(s, len, i + 14)) || len - i < 4 ||
      !Q_IS(s + i, "0x0") || s[i + 3] < '0' || s[i + 3] > '8')
    return 0;
  unsigned dl = (unsigned)(s[i + 3] - '0');
  i += 4;
  if (i < len) {
    if (!(i = q_sep(s, len, i)) || len - i < 2 || s[i] != 'x' || s[i + 1] != '|')
      return 0;
    i += 2;
  }
  if (!q_bytes_to_end(s, len, i, dl, rec->frame.data))
    return 0;
  rec_quick_frame(rec, id, ext_tx_flags(ext, tx), dl);
  rec_set_ts(rec, ts, true);
  return rec_frame_done(ps, rec);
}

TRACE_PARSE_QUICK_FIRST(parse, parse_quick, parse_full)

static int write(struct trace_wstate *ws, const struct trace_record *rec, struct sbuf *out)
{
  const struct sim_frame *f = &rec->frame;
  if (f->flags & (SIM_CAN_F_ERR | SIM_CAN_F_FD))
    return SIM_EUNSUP;
  /* at most: 20 number, 9, 18 time, 13 id, 13, 18, 2 length, 3 + the bytes, 3 each */
  char *p = put_begin(out, 100 + 3u * f->len);
  p = p_u64(p, ws->n + 1);
  p = f->flags & SIM_CAN_F_TX ? P_LIT(p, "\tSend\t") : P_LIT(p, "\tReceive\t");
  int64_t t = rec->ts % (86400 * SIM_NS_PER_SEC);
  if (t < 0)
    t += 86400 * SIM_NS_PER_SEC;
  int64_t sec = t / SIM_NS_PER_SEC;
  p = p_decn(p, (uint64_t)(sec / 3600), 2);
  *p++ = ':';
  p = p_decn(p, (uint64_t)(sec / 60 % 60), 2);
  *p++ = ':';
  p = p_decn(p, (uint64_t)(sec % 60), 2);
  int64_t frac = t % SIM_NS_PER_SEC;
  *p++ = '.';
  p = frac % 1000 ? p_decn(p, (uint64_t)frac, 9) : p_decn(p, (uint64_t)(frac / 1000), 6);
  p = P_LIT(p, "\t0x");
  p = p_hexn(p, f->id, 8, true);
  p = f->flags & SIM_CAN_F_RTR ? P_LIT(p, "\tRemote frame") : P_LIT(p, "\tData frame");
  p = f->flags & SIM_CAN_F_EXT ? P_LIT(p, "\tExtended frame\t0x")
                               : P_LIT(p, "\tStandard frame\t0x");
  p = p_hexn(p, f->len, 2, true);
  if (!(f->flags & SIM_CAN_F_RTR)) {
    p = P_LIT(p, "\tx|");
    p = p_byte_list(p, f->data, f->len, true);
  }
  return p_line_done(ws, out, p);
}

const struct trace_format trace_fmt_numbered = {
  .name = "numbered",
  .caps = TRACE_CAP_READ | TRACE_CAP_WRITE | TRACE_CAP_TX | TRACE_CAP_RTR,
  .parse = parse, .write = write,
  .detect = detect,
  .exts = ".txt",
  .desc = "numbered analyser export: 1 Receive 10:21:33.123 0x000001DB Data frame ...",
};
