/*
 * fmt_candump_screen.c - candump's default screen output, with or without timestamps.
 *
 *     can0  1DB   [8]  00 04 C2 62 00 00 03 B6            untimed (the Leaf/i-MiEV captures)
 *    (1724333002.811100)  can0  7E8   [8]  03 41 0D 3C  -ta (absolute) / -tz (from zero)
 *     can0  18DAF110   [8]  10 14 62 F1 90 57 41 55       29-bit
 *     can0  123  [12]  00 11 22 33 44 55 66 77 88 99 AA BB   CAN FD: length in two digits
 *     can0  7DF   [2]  remote request                    RTR
 *     can0  TX B -  123  [08]  ...                        candump -x: direction, BRS, ESI
 *     can0  20000080   [8]  00 00 ...   ERRORFRAME       error frame (id has bit 29)
 *
 * Facts from linux-can/can-utils lib.c (fprint_long_canframe / sprint_long_canframe) and
 * candump.c at commit 722a09116d8685bbf3e7a833b56454adf3acfa4b.  Anything after the data
 * bytes (candump -a "'ascii'", -e error decoding) is ignored.  Untimed lines get synthetic
 * timestamps ps->untimed_period apart, starting at 0 (rec->untimed is set).
 */
#include <string.h>

#include "trace/codec.h"

/* Finds "[n]" / "[nn]" in a line; returns its index or -1. */
static long find_bracket(const char *s, size_t len)
{
  const char *b = memchr(s, '[', len);
  if (!b)
    return -1;
  size_t i = (size_t)(b - s);
  size_t j = i + 1;
  while (j < len && s[j] >= '0' && s[j] <= '9')
    j++;
  if (j == i + 1 || j - i - 1 > 2 || j >= len || s[j] != ']')
    return -1;
  return (long)i;
}

static int detect(const char *s, size_t len)
{
  long b = find_bracket(s, len);
  if (b < 0 || memchr(s, '#', len))
    return 0;
  /* interface name token before the id */
  size_t i = skip_blank(s, len, 0);
  if (i < len && s[i] == '(') {
    const char *c = memchr(s, ')', len);
    if (!c)
      return 0;
    i = skip_blank(s, len, (size_t)(c - s) + 1);
  }
  if (i >= (size_t)b || !((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
    return 0;
  return 2;
}

/* candump -x: "TX B E" / "RX - -" at i (direction, BRS, ESI).  Returns where it ends (i when
 * absent). */
static size_t direction(const char *s, size_t len, size_t i, struct sim_frame *f)
{
  if (!(i + 2 <= len && (!strncmp(s + i, "TX", 2) || !strncmp(s + i, "RX", 2)) &&
        (i + 2 == len || is_blank(s[i + 2]))))
    return i;
  if (s[i] == 'T')
    f->flags |= SIM_CAN_F_TX;
  i = skip_blank(s, len, i + 2);
  for (int k = 0; k < 2; k++) {
    if (i < len && (s[i] == 'B' || s[i] == 'E' || s[i] == '-')) {
      if (s[i] == 'B')
        f->flags |= SIM_CAN_F_BRS;
      if (s[i] == 'E')
        f->flags |= SIM_CAN_F_ESI;
      i = skip_blank(s, len, i + 1);
    }
  }
  return i;
}

/* "[8]" (classic) or "[08]" (CAN FD: two digits) at i: the length into *pdl, the index of
 * ']' into *ple. */
static int parse_len(struct trace_pstate *ps, const char *s, size_t len, size_t i, size_t *ple,
                     uint32_t *pdl, struct sim_frame *f, struct sim_diag *d)
{
  if (i >= len || s[i] != '[')
    return TRACE_ERR(ps, d, i, "candump: expected [length]");
  size_t ls = i + 1;
  size_t le = ls;
  while (le < len && s[le] >= '0' && s[le] <= '9')
    le++;
  uint32_t dl;
  size_t bad;
  if (le >= len || s[le] != ']' || !parse_dec32(s, ls, le, &dl, &bad) || dl > 64)
    return TRACE_ERR(ps, d, ls, "candump: bad [length]");
  bool fd = le - ls == 2;
  if (fd) {
    if (sim_can_dlc2len(sim_can_len2dlc((uint8_t)dl)) != dl)
      return TRACE_ERR(ps, d, ls, "candump: %u is not a valid CAN FD length", dl);
    f->flags |= SIM_CAN_F_FD;
  } else if (dl > 8) {
    return TRACE_ERR(ps, d, ls, "candump: classic CAN frames carry at most 8 bytes");
  }
  if (!fd)
    f->flags &= (uint16_t)~(SIM_CAN_F_BRS | SIM_CAN_F_ESI);
  *ple = le;
  *pdl = dl;
  return 0;
}

static int parse_full(struct trace_pstate *ps, const char *s, size_t len, size_t i,
                      struct trace_record *rec, struct sim_diag *d)
{
  struct sim_frame *f = &rec->frame;
  bool timed = false;
  int64_t ts = 0;
  if (s[i] == '(') {
    size_t n = trace_parse_time(s + i + 1, len - i - 1, true, &ts);
    if (!n || i + 1 + n >= len || s[i + 1 + n] != ')')
      return TRACE_ERR(ps, d, i + 1, "candump: bad timestamp (expected (seconds.fraction))");
    timed = true;
    i = skip_blank(s, len, i + 2 + n);
  }
  size_t ifs = i;
  i = token_end(s, len, i);
  if (i == ifs)
    return TRACE_ERR(ps, d, ifs, "candump: missing interface name");
  f->bus = rec_src_bus(ps, rec, s + ifs, i - ifs, len - ifs);
  i = skip_blank(s, len, i);
  i = direction(s, len, i, f);
  size_t ids = i;
  i = token_end(s, len, i);
  uint32_t id;
  size_t bad;
  if ((i - ids != 3 && i - ids != 8) || !parse_hex32(s, ids, i, &id, &bad))
    return TRACE_ERR(ps, d, ids, "candump: the id must be 3 or 8 hex digits");
  if (candump_set_id(ps, f, id, i - ids, ids, "candump", d) < 0)
    return SIM_EPARSE;
  i = skip_blank(s, len, i);
  size_t le = 0;
  uint32_t dl = 0;
  if (parse_len(ps, s, len, i, &le, &dl, f, d) < 0)
    return SIM_EPARSE;
  bool fd = f->flags & SIM_CAN_F_FD;
  i = skip_blank(s, len, le + 1);
  bool rtr = !fd && len - i >= 14 && !strncmp(s + i, "remote request", 14);
  if (trace_parse_payload(ps, s, len, i, dl, rtr, false, "candump", f, d) < 0)
    return SIM_EPARSE;
  rec_set_ts_opt(ps, rec, timed, ts, ts < INT64_C(100000000) * SIM_NS_PER_SEC);
  return rec_frame_done(ps, rec);
}

/*
 * The fast path of parse() for the classic frame line candump (and write()) prints, with or
 * without the time: "(1724333002.811100)   can0  1DB   [8]  01 23 45 67 89 AB CD EF" -- ' '
 * between the columns, a 3-digit id up to 7FF or an 8-digit one up to 1FFFFFFF, "[0]".."[8]"
 * and exactly that many bytes, nothing after them.  One pass; returns 1 with rec filled as
 * parse() fills it, or 0 for any other line (parse() decides).
 */
static int parse_quick(struct trace_pstate *ps, const char *s, size_t len,
                       struct trace_record *rec)
{
  len = rtrim(s, len);
  size_t i = q_skip_sp(s, len, 0);
  int64_t ts = 0;
  bool timed = i < len && s[i] == '(';
  if (timed) {
    i++;
    if (!q_time(s, len, &i, &ts) || i >= len || s[i] != ')')
      return 0;
    i = q_skip_sp(s, len, i + 1);
  }
  size_t ifs = i;
  while (i < len && !is_blank(s[i]))
    i++;
  if (i == ifs || i >= len || s[i] != ' ')
    return 0;
  size_t ife = i, ids = q_skip_sp(s, len, i), ide;
  if (ids + 3 < len && s[ids + 3] == ' ')
    ide = ids + 3;
  else if (ids + 8 < len && s[ids + 8] == ' ')
    ide = ids + 8;
  else
    return 0;
  uint32_t id;
  bool ext = ide - ids == 8;
  if (!q_hexn(s + ids, ide - ids, &id) || !canid_ok(id, ext))
    return 0;
  i = q_skip_sp(s, len, ide);
  if (i + 3 > len || s[i] != '[' || s[i + 1] < '0' || s[i + 1] > '8' || s[i + 2] != ']')
    return 0;
  unsigned dl = (unsigned)(s[i + 1] - '0');
  if (!q_bytes_to_end(s, len, i + 3, dl, rec->frame.data))
    return 0;
  struct sim_frame *f = rec_quick_frame(rec, id, ext_tx_flags(ext, false), dl);
  f->bus = rec_src_bus(ps, rec, s + ifs, ife - ifs, len - ifs);
  rec_set_ts_opt(ps, rec, timed, ts, ts < INT64_C(100000000) * SIM_NS_PER_SEC);
  return rec_frame_done(ps, rec);
}

TRACE_PARSE_QUICK_FIRST(parse, parse_quick, parse_full)

static int write(struct trace_wstate *ws, const struct trace_record *rec, struct sbuf *out)
{
  const struct sim_frame *f = &rec->frame;
  /* at most: 34 time, 2 + 24 name, 2, 12 flags, 8 id, 6 length, 17 or 64 bytes of 3 */
  char *p = put_begin(out, 110 + 3u * f->len);
  if (!rec->untimed) {
    *p++ = '(';
    p = p_time_ws(ws, p, rec->ts, rec->ts % 1000 ? 9 : 6);
    p = P_LIT(p, ") ");
  }
  p = p_ifname(P_LIT(p, "  "), rec);
  p = P_LIT(p, "  ");
  if (f->flags & SIM_CAN_F_TX || f->flags & SIM_CAN_F_FD) {
    p = f->flags & SIM_CAN_F_TX ? P_LIT(p, "TX ") : P_LIT(p, "RX ");
    p = f->flags & SIM_CAN_F_BRS ? P_LIT(p, "B ") : P_LIT(p, "- ");
    p = f->flags & SIM_CAN_F_ESI ? P_LIT(p, "E  ") : P_LIT(p, "-  ");
  }
  if (f->flags & SIM_CAN_F_ERR)
    p = p_hexn(p, f->id | CAN_ERR_FLAG_BIT, 8, true);
  else
    p = p_hexn(p, f->id, f->flags & SIM_CAN_F_EXT ? 8 : 3, true);
  if (f->flags & SIM_CAN_F_FD) {
    p = P_LIT(p, "  [");
    *p++ = (char)('0' + f->len / 10);
    *p++ = (char)('0' + f->len % 10);
  } else {
    p = P_LIT(p, "   [");
    *p++ = (char)('0' + (f->len > 8 ? 8 : f->len));
  }
  *p++ = ']';
  if (f->flags & SIM_CAN_F_RTR && !(f->flags & SIM_CAN_F_FD)) {
    p = P_LIT(p, "  remote request");
  } else {
    *p++ = ' ';
    p = p_byte_list(p, f->data, f->len, true);
  }
  return p_line_done(ws, out, p);
}

const struct trace_format trace_fmt_candump_screen = {
  .name = "candump-screen",
  .caps = TRACE_CAP_LOSSLESS,
  .parse = parse, .write = write,
  .detect = detect,
  .exts = ".can,.candump.txt",
  .desc = "candump default output, with or without (timestamp): can0  1DB   [8]  00 04 C2",
};
