/*
 * fmt_trc.c - PEAK-System PCAN-View / PCAN-Explorer TRC files, versions 1.0 to 2.1.
 *
 *   ;$FILEVERSION=2.1                       (absent in 1.0)
 *   ;$STARTTIME=43183.5598324420            days since 1899-12-30 (taken as UTC)
 *   ;$COLUMNS=N,O,T,B,I,d,R,L,D             2.x: column order
 *   1.0:      1)      1059.9  0300  8  00 00 00 00 00 00 00 00
 *   1.1:      1)      1059.9  Rx         0300  8  00 00 00 00 00 00 00 00
 *   1.2:      1)      1059.900 1  Rx         0300  8  00 00 00 00 00 00 00 00
 *   1.3:      1)      1059.900 1  Rx         0300 -  8  00 00 00 00 00 00 00 00
 *   2.0:      1      1059.900 DT     0300 Rx 8  00 00 00 00 00 00 00 00
 *   2.1:      1      1059.900 DT 1      0300 Rx -  8    00 00 00 00 00 00 00 00
 *
 * Facts from PEAK-System's "PEAK CAN TRC File Format" document (version 1.x/2.x columns:
 * N number, O time offset in ms, T type, B bus, I id, d direction, R reserved, l data length,
 * L DLC, D data; types DT data, FD / FB / FE / BI CAN FD (BRS, ESI), RR remote request,
 * ST / EC / ER / EV status, error counter, error frame, event) and python-can's trc.py.
 * Ids are 4 hex digits (11-bit) or 8 (29-bit).  Status, warning and error lines are skipped.
 * The writer writes version 2.1 with the start time at the first record's whole second.
 */
#include <math.h>
#include <string.h>

#include "core/array.h"
#include "trace/codec.h"

enum { C_N = 1, C_O, C_T, C_B, C_I, C_d, C_R, C_l, C_L, C_D };

#define OLE_EPOCH_OFFSET_DAYS 25569.0 /* 1899-12-30 to 1970-01-01 */

static bool starts(const char *s, size_t len, const char *p)
{
  size_t n = strlen(p);
  return len >= n && !strncmp(s, p, n);
}

static int detect(const char *s, size_t len)
{
  if (starts(s, len, ";$FILEVERSION") || starts(s, len, ";$STARTTIME") ||
      starts(s, len, ";$COLUMNS"))
    return 6;
  if (starts(s, len, ";   Message Number") || starts(s, len, ";   Message   Time"))
    return 3;
  /* "     1)      1059.9  ..." */
  size_t i = skip_blank(s, len, 0);
  size_t j = i;
  while (j < len && s[j] >= '0' && s[j] <= '9')
    j++;
  if (j > i && j < len && s[j] == ')')
    return 1;
  return 0;
}

static void set_columns(struct trace_pstate *ps, const char *spec, size_t len)
{
  ps->ncols = 0;
  for (size_t i = 0; i < len && ps->ncols < TRACE_MAX_COLS; i++) {
    int c = 0;
    switch (spec[i]) {
    case 'N': c = C_N; break;
    case 'O': c = C_O; break;
    case 'T': c = C_T; break;
    case 'B': c = C_B; break;
    case 'I': c = C_I; break;
    case 'd': c = C_d; break;
    case 'R': c = C_R; break;
    case 'l': c = C_l; break;
    case 'L': c = C_L; break;
    case 'D': c = C_D; break;
    default: continue;
    }
    ps->col[ps->ncols++] = (int8_t)c;
  }
}

/*
 * Parses the $STARTTIME value s[i..len): "<days>[.<fraction>]", days since 1899-12-30 (OLE
 * automation date) between 1970 and 2262 (int64 ns), nothing else on the line.  Returns false with the
 * offending index in *bad.
 */
static bool parse_starttime(const char *s, size_t i, size_t len, int64_t *ns, size_t *bad)
{
  size_t k = i;
  double days = 0;
  while (k < len && s[k] >= '0' && s[k] <= '9' && k - i < 8)
    days = days * 10 + (s[k++] - '0');
  if (k == i || (k < len && s[k] >= '0' && s[k] <= '9')) {
    *bad = i;
    return false;
  }
  if (k < len && s[k] == '.') {
    size_t f0 = ++k;
    double scale = 0.1;
    while (k < len && s[k] >= '0' && s[k] <= '9') {
      days += (s[k++] - '0') * scale;
      scale /= 10;
    }
    if (k == f0) {
      *bad = k;
      return false;
    }
  }
  if (k != len) {
    *bad = k;
    return false;
  }
  /* 1970 up to 2262-04-11T23:47:16Z, where times in int64 ns end.  The limit is checked on
   * the whole milliseconds, not on a round number of days: a day limit refused the
   * $STARTTIME our own writer puts before a record of the last day and a half
   * (fuzz_trace_trc round trip); the day test only keeps llround() in range. */
  if (days < OLE_EPOCH_OFFSET_DAYS || days > OLE_EPOCH_OFFSET_DAYS + 106753.0) {
    *bad = i;
    return false;
  }
  long long ms = llround((days - OLE_EPOCH_OFFSET_DAYS) * 86400000.0);
  if (ms > INT64_MAX / SIM_NS_PER_MS) {
    *bad = i;
    return false;
  }
  *ns = (int64_t)ms * SIM_NS_PER_MS;
  return true;
}

/* A ';' line starting at s (col0 = its index in the whole line, for diagnostics). */
static int header_line(struct trace_pstate *ps, const char *s, size_t len, size_t col0,
                       struct sim_diag *d)
{
  if (starts(s, len, ";$FILEVERSION=")) {
    size_t i = 14;
    if (len < i + 3 || s[i + 1] != '.' || s[i] < '1' || s[i] > '2' || s[i + 2] < '0' ||
        s[i + 2] > '9')
      return TRACE_ERR(ps, d, col0 + i, "TRC: unsupported $FILEVERSION");
    ps->version = (s[i] - '0') * 10 + (s[i + 2] - '0');
    if (ps->version > 21)
      return TRACE_ERR(ps, d, col0 + i, "TRC: unsupported file version %d.%d", ps->version / 10,
                       ps->version % 10);
    if (ps->version == 20 && !ps->ncols)
      set_columns(ps, "NOTIdlD", 7);
    if (ps->version == 21 && !ps->ncols)
      set_columns(ps, "NOTBIdRLD", 9);
    ps->have_header = true;
  } else if (starts(s, len, ";$STARTTIME=")) {
    int64_t ns;
    size_t bad;
    if (!parse_starttime(s, 12, len, &ns, &bad))
      return TRACE_ERR(ps, d, col0 + bad,
                       "TRC: bad $STARTTIME (want days since 1899-12-30, e.g. 43183.5598324420)");
    ps->start_ns = ns;
  } else if (starts(s, len, ";$COLUMNS=")) {
    set_columns(ps, s + 10, len - 10);
  }
  return 0;
}

/* Offset in ms with decimals -> ns (fraction digits beyond ns precision are ignored). */
static bool parse_ms(const char *s, size_t i, size_t e, int64_t *ns)
{
  int64_t ms = 0, frac = 0;
  size_t k = i;
  /* up to INT64_MAX ns: ms and the ns sum are checked, not guessed (an offset of 9.1e13 ms
   * passed a fixed digit limit and overflowed ms * 10^6: fuzz_trace_trc) */
  while (k < e && s[k] >= '0' && s[k] <= '9') {
    if (ms > INT64_MAX / SIM_NS_PER_MS / 10)
      return false;
    ms = ms * 10 + (s[k++] - '0');
  }
  if (k == i)
    return false;
  if (k < e && s[k] == '.') {
    size_t f0 = k + 1;
    k = parse_frac(s, f0, e, 6, &frac);
    if (k == f0)
      return false;
  }
  if (k != e)
    return false;
  if (ms > INT64_MAX / SIM_NS_PER_MS || __builtin_add_overflow(ms * SIM_NS_PER_MS, frac, ns))
    return false;
  return true;
}

static int finish(struct trace_pstate *ps, struct trace_record *rec, int64_t off,
                  struct sim_diag *d)
{
  int64_t ts;
  if (ps->start_ns && __builtin_add_overflow(ps->start_ns, off, &ts))
    return TRACE_ERR(ps, d, 0, "TRC: time offset out of range from $STARTTIME");
  if (ps->start_ns)
    rec_set_ts(rec, ts, false);
  else
    rec_set_ts(rec, off, true);
  return rec_frame_done(ps, rec);
}

static int parse_id(struct trace_pstate *ps, const char *s, size_t i, size_t e,
                    struct sim_frame *f, struct sim_diag *d)
{
  uint32_t id;
  size_t bad;
  if (!parse_hex32(s, i, e, &id, &bad))
    return TRACE_ERR(ps, d, bad, "TRC: bad CAN id");
  if (e - i == 8)
    f->flags |= SIM_CAN_F_EXT;
  if (!canid_ok(id, e - i == 8))
    return TRACE_ERR(ps, d, i, "TRC: 11-bit id out of range (29-bit ids have 8 digits)");
  f->id = id;
  return 0;
}

static int parse_v1(struct trace_pstate *ps, const char *s, size_t len, size_t i,
                    struct trace_record *rec, struct sim_diag *d)
{
  struct sim_frame *f = &rec->frame;
  size_t e = token_end(s, len, i);
  int64_t off;
  if (!parse_ms(s, i, e, &off))
    return TRACE_ERR(ps, d, i, "TRC: bad time offset");
  i = skip_blank(s, len, e);
  int v = ps->version ? ps->version : 10;
  if (v >= 12) {
    e = token_end(s, len, i);
    if (!rec_bus_number(rec, s, i, e, 1))
      return TRACE_ERR(ps, d, i, "TRC: bad bus number");
    i = skip_blank(s, len, e);
  }
  if (v >= 11) {
    e = token_end(s, len, i);
    if (!rx_tx(s, i, e, f))
      return 0; /* Warng, Error and other status lines */
    i = skip_blank(s, len, e);
  }
  e = token_end(s, len, i);
  int rc = parse_id(ps, s, i, e, f, d);
  if (rc)
    return rc;
  i = skip_blank(s, len, e);
  if (v >= 13 && i < len && s[i] == '-')
    i = skip_blank(s, len, i + 1);
  e = token_end(s, len, i);
  uint32_t dlc;
  size_t bad;
  if (!parse_dec32(s, i, e, &dlc, &bad) || dlc > 8)
    return TRACE_ERR(ps, d, i, "TRC: bad DLC");
  i = skip_blank(s, len, e);
  if (len - i >= 3 && !strncmp(s + i, "RTR", 3)) {
    f->flags |= SIM_CAN_F_RTR;
    f->len = (uint8_t)dlc;
    return finish(ps, rec, off, d);
  }
  size_t stop;
  int nb = trace_parse_bytes(s, len, i, f->data, (int)dlc, &stop);
  if (nb < 0 || (uint32_t)nb != dlc)
    return TRACE_ERR(ps, d, stop, "TRC: expected %u data bytes", dlc);
  f->len = (uint8_t)dlc;
  return finish(ps, rec, off, d);
}

/* The message types of a version 2 file (PEAK's PCAN-Trace file format documentation). */
static const struct msg_type {
  char name[3];
  uint16_t flags; /* frame flags it sets */
  bool rtr;       /* a remote request */
  bool skip;      /* not a frame: status, error counters, error frames, events */
} msg_types[] = {
    {"DT", 0, false, false},
    {"RR", 0, true, false},
    {"FD", SIM_CAN_F_FD, false, false},
    {"FB", SIM_CAN_F_FD | SIM_CAN_F_BRS, false, false},
    {"FE", SIM_CAN_F_FD | SIM_CAN_F_ESI, false, false},
    {"BI", SIM_CAN_F_FD | SIM_CAN_F_BRS | SIM_CAN_F_ESI, false, false},
    {"ST", 0, false, true},
    {"EC", 0, false, true},
    {"ER", 0, false, true},
    {"EV", 0, false, true},
};

/* The type whose two letters are at s, or NULL. */
static const struct msg_type *msg_type_find(const char *s)
{
  for (size_t k = 0; k < ARRAY_SIZE(msg_types); k++)
    if (!strncmp(s, msg_types[k].name, 2))
      return &msg_types[k];
  return NULL;
}

/* The frame's length from the data length column (dlen) or else the DLC (-1 = absent);
 * len_col is where the length stood (for the message). */
static int set_length(struct trace_pstate *ps, struct sim_frame *f, int dlen, int dlc,
                      size_t len_col, bool rtr, struct sim_diag *d)
{
  if (dlen < 0)
    dlen = dlc < 0 ? 0 : sim_can_dlc2len((uint8_t)dlc);
  if (!(f->flags & SIM_CAN_F_FD) && dlen > 8)
    return TRACE_ERR(ps, d, 0, "TRC: classic frame with more than 8 bytes");
  if (sim_can_dlc2len(sim_can_len2dlc((uint8_t)dlen)) != dlen)
    return TRACE_ERR(ps, d, len_col,
                     "TRC: %d is not a CAN FD data length (0-8, 12, 16, 20, 24, 32, 48, 64)",
                     dlen);
  if (rtr)
    f->flags |= SIM_CAN_F_RTR;
  f->len = (uint8_t)dlen;
  return 0;
}

/*
 * A version 2.x line: the columns in the order of the file's $COLUMNS header (N, O, T, B, I,
 * d, R, l, L, D; PEAK's PCAN-Trace file format documentation).  long: one case per column,
 * each a few lines sharing the row's state (length, DLC, remote flag); split, the cases would
 * pass that state around and the column list would no longer read as the format's.
 */
static int parse_v2(struct trace_pstate *ps, const char *s, size_t len, size_t i,
                    struct trace_record *rec, struct sim_diag *d)
{
  struct sim_frame *f = &rec->frame;
  int64_t off = 0;
  int dlen = -1, dlc = -1;
  size_t len_col = 0;
  bool rtr = false, have_type = false;
  for (int c = 0; c < ps->ncols; c++) {
    i = skip_blank(s, len, i);
    size_t e = token_end(s, len, i);
    size_t bad;
    uint32_t v;
    switch (ps->col[c]) {
    case C_N:
      break;
    case C_O:
      if (!parse_ms(s, i, e, &off))
        return TRACE_ERR(ps, d, i, "TRC: bad time offset");
      break;
    case C_T: {
      const struct msg_type *t = e - i == 2 ? msg_type_find(s + i) : NULL;
      if (!t)
        return e - i != 2 ? TRACE_ERR(ps, d, i, "TRC: bad message type")
                          : TRACE_ERR(ps, d, i, "TRC: unknown message type '%.2s'", s + i);
      if (t->skip)
        return 0; /* status, error counters, error frames, events: skipped */
      /* a $COLUMNS naming T twice gave one line FD (FB) and remote (RR) flags, a frame that
       * cannot exist and was written back without its data (fuzz_trace_trc) */
      if (have_type)
        return TRACE_ERR(ps, d, i, "TRC: a second message type column ($COLUMNS names T twice)");
      have_type = true;
      rtr = t->rtr;
      f->flags |= t->flags;
      break;
    }
    case C_B:
      if (!rec_bus_number(rec, s, i, e, 1))
        return TRACE_ERR(ps, d, i, "TRC: bad bus number");
      break;
    case C_I: {
      int rc = parse_id(ps, s, i, e, f, d);
      if (rc)
        return rc;
      break;
    }
    case C_d:
      if (!rx_tx(s, i, e, f))
        return TRACE_ERR(ps, d, i, "TRC: expected Rx or Tx");
      break;
    case C_R:
      break;
    case C_l:
      if (!parse_dec32(s, i, e, &v, &bad) || v > 64)
        return TRACE_ERR(ps, d, i, "TRC: bad data length");
      dlen = (int)v;
      len_col = i;
      break;
    case C_L:
      if (!parse_dec32(s, i, e, &v, &bad) || v > 15)
        return TRACE_ERR(ps, d, i, "TRC: bad DLC");
      dlc = (int)v;
      break;
    case C_D: {
      if (dlen < 0)
        dlen = dlc < 0 ? 0 : (f->flags & SIM_CAN_F_FD ? sim_can_dlc2len((uint8_t)dlc)
                                                       : (dlc > 8 ? 8 : dlc));
      if (rtr) {
        e = i;
        break;
      }
      size_t stop;
      int nb = trace_parse_bytes(s, len, i, f->data, dlen, &stop);
      if (nb < 0 || nb != dlen)
        return TRACE_ERR(ps, d, stop, "TRC: expected %d data bytes", dlen);
      e = stop;
      break;
    }
    default:
      break;
    }
    i = e;
  }
  if (set_length(ps, f, dlen, dlc, len_col, rtr, d) < 0)
    return SIM_EPARSE;
  return finish(ps, rec, off, d);
}

/* The columns our writer (and PCAN-View) puts in a 2.1 file. */
static const int8_t cols_21[9] = {C_N, C_O, C_T, C_B, C_I, C_d, C_R, C_L, C_D};

static int parse_full(struct trace_pstate *ps, const char *s, size_t len, size_t i,
                      struct trace_record *rec, struct sim_diag *d)
{
  if (s[i] == ';')
    return header_line(ps, s + i, len - i, i, d);
  size_t j = i;
  while (j < len && s[j] >= '0' && s[j] <= '9')
    j++;
  if (j == i)
    return TRACE_ERR(ps, d, i, "TRC: expected a message number");
  if (j < len && s[j] == ')') {
    if (ps->version >= 20)
      return TRACE_ERR(ps, d, j, "TRC: version 1.x line in a version %d.%d file",
                       ps->version / 10, ps->version % 10);
    return parse_v1(ps, s, len, skip_blank(s, len, j + 1), rec, d);
  }
  if (ps->version < 20 || !ps->ncols)
    return TRACE_ERR(ps, d, j, "TRC: expected ')' after the message number");
  return parse_v2(ps, s, len, i, rec, d);
}

/*
 * The fast path of parse() for the classic data frame line of a version 2.x file whose
 * columns are N,O,T,B,I,d,R,L,D (as write() and PCAN-View write it):
 * "      1    811.100 DT 1      01DB Rx - 8    01 23 45 67 89 AB CD EF" -- blanks, a
 * number, the offset with a fraction, DT, bus 1..255, a 4- or 8-digit id, Rx/Tx, '-', a DLC
 * 0..8 and exactly that many two-digit bytes, nothing after them.  One pass; returns 1 with
 * rec filled as parse() fills it, or 0 for any other line (parse() decides).
 */
static int parse_quick(struct trace_pstate *ps, const char *s, size_t len,
                       struct trace_record *rec)
{
  if (ps->version < 20 || ps->ncols != 9 || memcmp(ps->col, cols_21, 9))
    return 0;
  len = rtrim(s, len);
  size_t i = q_skip_sp(s, len, 0);
  uint64_t ms, frac;
  if (!q_skip_digits(s, len, &i, 16) || i >= len || s[i] != ' ')
    return 0;
  i = q_skip_sp(s, len, i);
  size_t f0;
  if (!q_dec(s, len, &i, 12, &ms) || i >= len || s[i] != '.')
    return 0;
  f0 = ++i;
  if (!q_dec(s, len, &i, 6, &frac) || i + 4 > len || s[i] != ' ')
    return 0;
  static const uint32_t scale[7] = {0, 100000, 10000, 1000, 100, 10, 1};
  int64_t off = (int64_t)(ms * SIM_NS_PER_MS + frac * scale[i - f0]);
  /* the separators as the writer puts them (" DT ", " Rx - ") are compared at once */
  if (!memcmp(s + i, " DT ", 4)) {
    i += 4;
  } else {
    i = q_skip_sp(s, len, i);
    if (i + 3 > len || s[i] != 'D' || s[i + 1] != 'T' || s[i + 2] != ' ')
      return 0;
    i += 3;
  }
  size_t bs = q_skip_sp(s, len, i);
  i = bs;
  uint64_t bus;
  if (i + 1 < len && q_digit(s[i]) && s[i + 1] == ' ') {
    bus = (uint64_t)(s[i++] - '0');
    if (bus == 0)
      return 0;
  } else if (!q_dec(s, len, &i, 3, &bus) || bus == 0 || bus > 255 || i >= len || s[i] != ' ') {
    return 0;
  }
  size_t be = i, is = q_skip_sp(s, len, i);
  i = is + 4 < len && s[is + 4] == ' ' ? is + 4 : is + 8;
  uint32_t id;
  if (i >= len || s[i] != ' ' || !q_hexn(s + is, i - is, &id) || !canid_ok(id, i - is == 8))
    return 0;
  bool ext = i - is == 8, tx;
  uint32_t w4 = i + 7 <= len ? q_load32(s + i) : 0;
  if ((w4 == q_load32(" Rx ") || w4 == q_load32(" Tx ")) && q_load16(s + i + 4) == q_load16("- ")) {
    tx = s[i + 1] == 'T';
    i = q_skip_sp(s, len, i + 6);
  } else {
    i = q_skip_sp(s, len, i);
    if (i + 6 > len || !(s[i + 1] == 'x' && (s[i] == 'R' || s[i] == 'T')) || s[i + 2] != ' ')
      return 0;
    tx = s[i] == 'T';
    i = q_skip_sp(s, len, i + 3);
    if (i + 2 >= len || s[i] != '-' || s[i + 1] != ' ')
      return 0;
    i = q_skip_sp(s, len, i + 2);
  }
  if (i >= len || s[i] < '0' || s[i] > '8')
    return 0;
  unsigned dlc = (unsigned)(s[i] - '0');
  int64_t ts = off;
  if (!q_bytes_to_end(s, len, i + 1, dlc, rec->frame.data) ||
      (ps->start_ns && __builtin_add_overflow(ps->start_ns, off, &ts)))
    return 0;
  rec_quick_frame(rec, id, ext_tx_flags(ext, tx), dlc)->bus = (uint8_t)bus;
  rec_set_src(rec, s + bs, be - bs);
  rec_set_ts(rec, ts, !ps->start_ns);
  return rec_frame_done(ps, rec);
}

TRACE_PARSE_QUICK_FIRST(parse, parse_quick, parse_full)

static int write(struct trace_wstate *ws, const struct trace_record *rec, struct sbuf *out)
{
  const struct sim_frame *f = &rec->frame;
  if (f->flags & SIM_CAN_F_ERR)
    return SIM_EUNSUP;
  if (!ws->have_t0)
    ws_set_t0(ws, rec);
  int64_t off = rec->ts - ws->t0;
  if (off < 0)
    off = 0;
  /* at most: 20 + 1 number, 6 + 20 + 7 time, 4 type, 3 bus, 6 + 8 id, 6 + 2 + 3 DLC,
   * 64 bytes of 3 */
  char *p = put_begin(out, 320);
  unsigned long num = ws->n + 1;
  int nd = dec_digits(num);
  memset(p, ' ', 8);
  p = p_u64(p + (nd < 7 ? 7 - nd : 0), num);
  *p++ = ' ';
  /* offset in ms with 3 decimals (6 when the time has sub-microsecond digits) */
  int64_t us_frac = off % SIM_NS_PER_MS;
  uint64_t ms = (uint64_t)(off / SIM_NS_PER_MS);
  int md = dec_digits(ms);
  memset(p, ' ', 8);
  p = p_u64(p + (md < 6 ? 6 - md : 0), ms);
  *p++ = '.';
  if (us_frac % 1000)
    p = p_decn(p, (uint64_t)us_frac, 6);
  else
    p = p_decn(p, (uint64_t)(us_frac / 1000), 3);
  const char *type = "DT";
  if (f->flags & SIM_CAN_F_FD) {
    bool brs = f->flags & SIM_CAN_F_BRS, esi = f->flags & SIM_CAN_F_ESI;
    type = brs && esi ? "BI" : brs ? "FB" : esi ? "FE" : "FD";
  } else if (f->flags & SIM_CAN_F_RTR) {
    type = "RR";
  }
  p[0] = ' ';
  p[1] = type[0];
  p[2] = type[1];
  p[3] = ' ';
  p = p_u64(p + 4, f->bus ? f->bus : 1);
  p = P_LIT(p, "      ");
  p = p_hexn(p, f->id, f->flags & SIM_CAN_F_EXT ? 8 : 4, true);
  p = f->flags & SIM_CAN_F_TX ? P_LIT(p, " Tx - ") : P_LIT(p, " Rx - ");
  p = p_u64(p, f->len <= 8 ? f->len : sim_can_len2dlc(f->len));
  p = P_LIT(p, "   ");
  /* An FD length between the DLC steps (not from any parser, which all reject it) is padded
   * with zero bytes up to the DLC's length, as a CAN FD controller sends it. */
  if (!(f->flags & SIM_CAN_F_RTR)) {
    static const uint8_t zeros[SIM_CAN_MAX_DLEN];
    unsigned padded = f->flags & SIM_CAN_F_FD ? sim_can_dlc2len(sim_can_len2dlc(f->len)) : f->len;
    p = p_byte_list(p, f->data, f->len, true);
    p = p_byte_list(p, zeros, padded - f->len, true);
  }
  return p_line_done(ws, out, p);
}

static int header(struct trace_wstate *ws, const struct trace_record *first, struct sbuf *out)
{
  if (first)
    ws_set_t0(ws, first);
  sbuf_adds(out, ";$FILEVERSION=2.1\n");
  if (ws->t0 > 0)
    sbuf_printf(out, ";$STARTTIME=%.10f\n",
                OLE_EPOCH_OFFSET_DAYS + (double)(ws->t0 / SIM_NS_PER_SEC) / 86400.0);
  sbuf_adds(out, ";$COLUMNS=N,O,T,B,I,d,R,L,D\n"
                 ";\n"
                 ";   Written by ovms-sim\n"
                 ";-------------------------------------------------------------------------------\n"
                 ";   Message   Time    Type ID     Rx/Tx\n"
                 ";   Number    Offset  |    Bus    [hex]  |  Reserved\n"
                 ";   |         [ms]    |    |      |      |  |  Data Length Code\n"
                 ";   |         |       |    |      |      |  |  |    Data [hex] ...\n"
                 ";-------------------------------------------------------------------------------\n");
  return 0;
}

const struct trace_format trace_fmt_trc = {
  .name = "trc",
  .caps = TRACE_CAP_READ | TRACE_CAP_WRITE | TRACE_CAP_FD | TRACE_CAP_FDFLAGS | TRACE_CAP_TX |
          TRACE_CAP_ABSTIME | TRACE_CAP_RTR,
  .parse = parse, .write = write,
  .header = header,
  .detect = detect,
  .exts = ".trc",
  .desc = "PEAK PCAN TRC 1.0-2.1: 1  1059.900 DT 1  0300 Rx -  8  00 11 ...",
};
