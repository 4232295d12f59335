/*
 * fmt_csv.c - column-oriented exports: SavvyCAN / GVRET CSV and the tab-separated
 * "ParserFlags" analyser export.  Both are header + one row per frame; the header names the
 * columns, so the codec maps columns by name and accepts the variants seen in the wild.
 *
 * SavvyCAN (nissan_leaf/ZE1-chademo-starting-and-charging.csv, dalathegreat/EV-CANlogs):
 *   Time Stamp,ID,Extended,Dir,Bus,LEN,D1,D2,D3,D4,D5,D6,D7,D8
 *   -1688467643383897,00000201,false,Rx,0,8,02,00,00,00,00,00,00,00,
 *   time stamp in microseconds (epoch when above 2000-01-01, else relative; negative values
 *   only count differences), id hex, bus 0-based (written as bus number - 1).  Older GVRET
 *   files lack "Dir"; a row with more D columns than the header (CAN FD) is accepted.
 *
 * ParserFlags (nissan_leaf/EV-CANeplus2.log, ZE0w24kWhstock.log, dalathegreat/EV-CANlogs):
 *   ParserFlags<TAB>Ch<TAB>Counter<TAB>T/R<TAB>Time<TAB>Flags<TAB>CAN ID<TAB>Len<TAB>Data<TAB>...
 *   1	0	1	RX	48659509		0x00000120	4	0x08 dc 00 dd 	Default Parser
 *   time in milliseconds (relative), channel 0-based, id "0x" + 8 hex digits (29-bit when above
 *   0x7FF or when Flags contains 'X'), data "0x" before the first byte.
 */
#include <string.h>
#include <strings.h>

#include "core/array.h"
#include "trace/codec.h"

enum { C_SKIP = 0, C_TIME, C_ID, C_EXT, C_DIR, C_BUS, C_LEN, C_DATA, C_FLAGS, C_D1 = 32 };

static bool field_is(const char *s, size_t n, const char *name)
{
  return strlen(name) == n && !strncasecmp(s, name, n);
}

/* Splits the next field at sep from s[*i..len); returns its extent. */
static bool next_field(const char *s, size_t len, char sep, size_t *i, size_t *fs, size_t *fe)
{
  if (*i > len)
    return false;
  *fs = *i;
  const char *p = memchr(s + *i, sep, len - *i);
  *fe = p ? (size_t)(p - s) : len;
  *i = *fe + 1;
  return true;
}

static void trim(const char *s, size_t *fs, size_t *fe)
{
  while (*fs < *fe && is_blank(s[*fs]))
    (*fs)++;
  while (*fe > *fs && is_blank(s[*fe - 1]))
    (*fe)--;
}

/* A data length column: 0..8 or a CAN FD length (12, 16, 20, 24, 32, 48, 64); -1 if not. */
static int data_len(const char *s, size_t fs, size_t fe)
{
  uint32_t v;
  size_t bad;
  if (!parse_dec32(s, fs, fe, &v, &bad) || v > 64 ||
      sim_can_dlc2len(sim_can_len2dlc((uint8_t)v)) != v)
    return -1;
  return (int)v;
}

/* An id column s[fs..fe) (hex digits, at most 29 bits) into f->id; false when it is none. */
static bool id_field(const char *s, size_t fs, size_t fe, struct sim_frame *f)
{
  uint32_t v;
  size_t bad;
  if (!parse_hex32(s, fs, fe, &v, &bad) || v > SIM_CAN_EFF_MASK)
    return false;
  f->id = v;
  return true;
}

/* A column of two words (compared ignoring case): on sets flag in f, off does not; false for
 * any other text. */
static bool flag_field(const char *s, size_t fs, size_t fe, const char *on, const char *off,
                       uint16_t flag, struct sim_frame *f)
{
  if (field_is(s + fs, fe - fs, on)) {
    f->flags |= flag;
    return true;
  }
  return field_is(s + fs, fe - fs, off);
}

/*
 * The columns both exports have, read alike: the id (hex), Extended (true/false), the
 * direction (Rx/Tx; the words compared ignoring case, so ParserFlags' RX/TX too) and the bus
 * (0-based) into rec, the data length into *dlen.  True for any other column; false when the
 * column's text is not what it must be (the format's message for col, savvy_errors or
 * pf_errors, says which).
 */
static bool common_field(int8_t col, const char *s, size_t fs, size_t fe,
                         struct trace_record *rec, int *dlen)
{
  struct sim_frame *f = &rec->frame;
  switch (col) {
  case C_ID:
    return id_field(s, fs, fe, f);
  case C_EXT:
    return flag_field(s, fs, fe, "true", "false", SIM_CAN_F_EXT, f);
  case C_DIR:
    return flag_field(s, fs, fe, "Tx", "Rx", SIM_CAN_F_TX, f);
  case C_BUS:
    return rec_bus_number(rec, s, fs, fe, 0);
  case C_LEN:
    return (*dlen = data_len(s, fs, fe)) >= 0;
  default:
    return true;
  }
}

/* The line without its end-of-line characters. */
static size_t strip_eol(const char *s, size_t len)
{
  while (len > 0 && (s[len - 1] == '\r' || s[len - 1] == '\n'))
    len--;
  return len;
}

/* A header's column name and what the column holds (names compared ignoring case). */
struct col_name {
  const char *name;
  int8_t col;
};

/* A data column "D1".."Dn" (SavvyCAN): the data starts there. */
static bool is_data_col(const char *s, size_t n)
{
  return n >= 2 && (s[0] == 'D' || s[0] == 'd') && s[1] >= '1' && s[1] <= '9';
}

/*
 * Reads a header line into ps->col: each field looked up in names (C_SKIP when absent).  With
 * data_cols, a "D1".."Dn" field is C_D1 and ends the header (the rest are data).
 */
static void read_header(struct trace_pstate *ps, const char *s, size_t len, char sep,
                        const struct col_name *names, size_t nnames, bool data_cols)
{
  size_t i = 0, fs, fe;
  ps->ncols = 0;
  while (next_field(s, len, sep, &i, &fs, &fe) && ps->ncols < TRACE_MAX_COLS) {
    trim(s, &fs, &fe);
    int8_t c = C_SKIP;
    for (size_t k = 0; k < nnames; k++)
      if (field_is(s + fs, fe - fs, names[k].name))
        c = names[k].col;
    if (c == C_SKIP && data_cols && is_data_col(s + fs, fe - fs))
      c = C_D1;
    ps->col[ps->ncols++] = c;
    if (c == C_D1)
      break;
  }
  ps->have_header = true;
}

/* Sets the columns of a file without a header. */
static void default_cols(struct trace_pstate *ps, const int8_t *cols, int n)
{
  memcpy(ps->col, cols, (size_t)n);
  ps->ncols = n;
  ps->have_header = true;
}

/* The layout of a header + rows export: how the header starts (compared ignoring case when
 * head_ci), the separator, the column names (with data_cols, "D1".."Dn" end the header) and
 * the columns of a file without a header. */
struct table_fmt {
  const char *head;
  bool head_ci;
  char sep;
  const struct col_name *names;
  size_t nnames;
  bool data_cols;
  const int8_t *defaults;
  int ndefaults;
};

/* True when s[0, len) is the header line (it sets the columns); else false, and the columns of
 * a file without a header are taken when none was seen. */
static bool table_header(struct trace_pstate *ps, const char *s, size_t len,
                         const struct table_fmt *t)
{
  size_t n = strlen(t->head);
  if (len >= n && !(t->head_ci ? strncasecmp(s, t->head, n) : strncmp(s, t->head, n))) {
    read_header(ps, s, len, t->sep, t->names, t->nnames, t->data_cols);
    return true;
  }
  if (!ps->have_header)
    default_cols(ps, t->defaults, t->ndefaults);
  return false;
}

/* ---- SavvyCAN ---- */

static int savvy_detect(const char *s, size_t len)
{
  if (len >= 14 && !strncasecmp(s, "Time Stamp,ID,", 14))
    return 6;
  /* a data row: number,8 hex,true|false, */
  const char *c1 = memchr(s, ',', len);
  if (!c1)
    return 0;
  const char *c2 = memchr(c1 + 1, ',', len - (size_t)(c1 + 1 - s));
  if (!c2 || c2 - c1 - 1 != 8)
    return 0;
  if (len - (size_t)(c2 + 1 - s) >= 5 &&
      (!strncmp(c2 + 1, "false", 5) || !strncmp(c2 + 1, "true,", 5)))
    return 1;
  return 0;
}

static const struct col_name savvy_cols[] = {
    {"Time Stamp", C_TIME}, {"ID", C_ID},   {"Extended", C_EXT},
    {"Dir", C_DIR},         {"Bus", C_BUS}, {"LEN", C_LEN},
};

/* The columns of a headerless file: as SavvyCAN writes them (the data from D1 on). */
static const int8_t savvy_default[] = {C_TIME, C_ID, C_EXT, C_DIR, C_BUS, C_LEN, C_D1};

static const struct table_fmt savvy_table = {
    "Time Stamp", true, ',', savvy_cols, ARRAY_SIZE(savvy_cols), true,
    savvy_default, (int)sizeof(savvy_default)};

/* A time stamp in µs, optionally negative, into ns. */
static int savvy_time(struct trace_pstate *ps, const char *s, size_t fs, size_t fe, int64_t *ts,
                      struct sim_diag *d)
{
  size_t k = fs;
  bool neg = k < fe && s[k] == '-';
  if (neg)
    k++;
  int64_t us = 0;
  if (k == fe || fe - k > 17)
    return TRACE_ERR(ps, d, fs, "SavvyCAN CSV: bad time stamp");
  for (; k < fe; k++) {
    if (s[k] < '0' || s[k] > '9')
      return TRACE_ERR(ps, d, k, "SavvyCAN CSV: bad time stamp");
    us = us * 10 + (s[k] - '0');
  }
  if (__builtin_mul_overflow(neg ? -us : us, INT64_C(1000), ts))
    return TRACE_ERR(ps, d, fs, "SavvyCAN CSV: time stamp out of range");
  return 0;
}

/* dlen data bytes, one a field, the first at fs..fe, the others after *i. */
static int savvy_data(struct trace_pstate *ps, const char *s, size_t len, size_t *i, size_t fs,
                      size_t fe, int dlen, uint8_t *data, struct sim_diag *d)
{
  if (dlen < 0)
    return TRACE_ERR(ps, d, fs, "SavvyCAN CSV: LEN column missing");
  for (int k = 0; k < dlen; k++) {
    uint32_t v;
    size_t bad;
    if (k > 0 && !next_field(s, len, ',', i, &fs, &fe))
      return TRACE_ERR(ps, d, len, "SavvyCAN CSV: expected %d data bytes", dlen);
    trim(s, &fs, &fe);
    if (!parse_hex32(s, fs, fe, &v, &bad) || v > 255 || fe - fs > 2)
      return TRACE_ERR(ps, d, fs, "SavvyCAN CSV: bad data byte");
    data[k] = (uint8_t)v;
  }
  return 0;
}

/* What is wrong with a column common_field() refuses. */
static const char *const savvy_errors[] = {
    [C_ID] = "SavvyCAN CSV: bad id",
    [C_EXT] = "SavvyCAN CSV: Extended must be true or false",
    [C_DIR] = "SavvyCAN CSV: Dir must be Rx or Tx",
    [C_BUS] = "SavvyCAN CSV: bad bus",
    [C_LEN] = "SavvyCAN CSV: bad LEN",
};

/*
 * The fast path of savvy_parse() for the row SavvyCAN (and savvy_write()) writes, in a file
 * whose columns are SavvyCAN's (the header, or none seen yet... then the full parser sets
 * them): "1724333002811100,000001DB,false,Rx,0,8,01,23,45,67,89,AB,CD,EF," -- a time in µs,
 * an 8-digit id, true/false, Rx/Tx, bus 0..254, a length 0..8 and that many two-digit bytes,
 * nothing between the commas.  One pass; returns 1 with rec filled as savvy_parse() fills it,
 * or 0 for any other line (savvy_parse() decides).
 */
static int savvy_quick(struct trace_pstate *ps, const char *s, size_t len,
                       struct trace_record *rec)
{
  if (!ps->have_header || ps->ncols != (int)sizeof(savvy_default) ||
      !q_is(ps->col, savvy_default, sizeof(savvy_default)))
    return 0;
  len = rtrim(s, len);
  size_t i = 0;
  uint64_t us, bus;
  int64_t ts;
  if (!q_dec(s, len, &i, 16, &us) || __builtin_mul_overflow((int64_t)us, INT64_C(1000), &ts) ||
      len - i < 19 || s[i] != ',' || s[i + 9] != ',')
    return 0;
  uint32_t id;
  bool ext;
  if (!q_hexn(s + i + 1, 8, &id) || id > SIM_CAN_EFF_MASK)
    return 0;
  i += 10;
  if (Q_IS(s + i, "false,"))
    ext = false, i += 6;
  else if (Q_IS(s + i, "true,"))
    ext = true, i += 5;
  else
    return 0;
  if (!(s[i + 1] == 'x' && (s[i] == 'R' || s[i] == 'T')) || s[i + 2] != ',')
    return 0;
  bool tx = s[i] == 'T';
  size_t bs = i + 3;
  i = bs;
  if (!q_dec_small(s, len, &i, 3, &bus) || bus > 254 || len - i < 2 || s[i] != ',' || s[i + 1] < '0' ||
      s[i + 1] > '8' || (i + 2 < len && s[i + 2] != ','))
    return 0;
  size_t be = i;
  unsigned dl = (unsigned)(s[i + 1] - '0');
  i += 3;
  /* the bytes, each a field (the last one ends the line or at a comma) */
  if (dl && (i > len || len - i < 3 * dl - 1 ||
             (len - i > 3 * dl - 1 && s[i + 3 * dl - 1] != ',') ||
             !q_bytes(s + i, dl, ',', rec->frame.data)))
    return 0;
  if (!canid_ok(id, ext))
    return 0;
  rec_quick_frame(rec, id, ext_tx_flags(ext, tx), dl)->bus = (uint8_t)(bus + 1);
  rec_set_src(rec, s + bs, be - bs);
  rec_set_ts(rec, ts, ts < INT64_C(946684800) * SIM_NS_PER_SEC);
  return rec_frame_done(ps, rec);
}

static int savvy_parse(struct trace_pstate *ps, const char *s, size_t len,
                       struct trace_record *rec, struct sim_diag *d)
{
  if (savvy_quick(ps, s, len, rec))
    return 1;
  len = rtrim(s, row_begin(rec, &s, len));
  if (!len || table_header(ps, s, len, &savvy_table))
    return 0;
  size_t i = 0, fs, fe;
  struct sim_frame *f = &rec->frame;
  int64_t ts = 0;
  int dlen = -1;
  int c = 0;
  bool have_id = false;
  while (c < ps->ncols && next_field(s, len, ',', &i, &fs, &fe)) {
    trim(s, &fs, &fe);
    int8_t col = ps->col[c];
    switch (col) {
    case C_TIME:
      if (savvy_time(ps, s, fs, fe, &ts, d) < 0)
        return SIM_EPARSE;
      break;
    case C_D1:
      if (savvy_data(ps, s, len, &i, fs, fe, dlen, f->data, d) < 0)
        return SIM_EPARSE;
      c = ps->ncols; /* done */
      continue;
    default:
      if (!common_field(col, s, fs, fe, rec, &dlen))
        return TRACE_ERR(ps, d, fs, "%s", savvy_errors[col]);
      break;
    }
    have_id |= col == C_ID;
    c++;
  }
  if (!have_id || dlen < 0)
    return TRACE_ERR(ps, d, 0, "SavvyCAN CSV: row without id or LEN");
  if (!canid_ok(f->id, f->flags & SIM_CAN_F_EXT))
    return TRACE_ERR(ps, d, 0, "SavvyCAN CSV: 11-bit id out of range");
  if (dlen > 8)
    f->flags |= SIM_CAN_F_FD;
  f->len = (uint8_t)dlen;
  rec_set_ts(rec, ts, ts < INT64_C(946684800) * SIM_NS_PER_SEC);
  return rec_frame_done(ps, rec);
}

static int savvy_write(struct trace_wstate *ws, const struct trace_record *rec, struct sbuf *out)
{
  const struct sim_frame *f = &rec->frame;
  if (f->flags & (SIM_CAN_F_ERR | SIM_CAN_F_RTR))
    return SIM_EUNSUP;
  int64_t us = rec->ts / 1000;
  /* at most: 21 time, 8 id, 7, 3, 3 bus, 3 length, 64 bytes of 3, 8 commas */
  char *p = put_begin(out, 256);
  if (us < 0) {
    *p++ = '-';
    p = p_u64(p, (uint64_t)(-us));
  } else {
    p = p_u64(p, (uint64_t)us);
  }
  *p++ = ',';
  p = p_hexn(p, f->id, 8, true);
  p = f->flags & SIM_CAN_F_EXT ? P_LIT(p, ",true,") : P_LIT(p, ",false,");
  p = f->flags & SIM_CAN_F_TX ? P_LIT(p, "Tx,") : P_LIT(p, "Rx,");
  p = p_u64(p, f->bus ? f->bus - 1u : 0u);
  *p++ = ',';
  p = p_u64(p, f->len);
  *p++ = ',';
  for (unsigned k = 0; k < f->len; k++) {
    memcpy(p, codec_hexu2 + 2 * f->data[k], 2);
    p[2] = ',';
    p += 3;
  }
  for (unsigned k = f->len; k < 8; k++)
    *p++ = ',';
  return p_line_done(ws, out, p);
}

static int savvy_header(struct trace_wstate *ws, const struct trace_record *first,
                        struct sbuf *out)
{
  sbuf_adds(out, "Time Stamp,ID,Extended,Dir,Bus,LEN,D1,D2,D3,D4,D5,D6,D7,D8\n");
  return 0;
}

const struct trace_format trace_fmt_savvycan = {
  .name = "savvycan",
  .caps = TRACE_CAP_READ | TRACE_CAP_WRITE | TRACE_CAP_FD | TRACE_CAP_TX | TRACE_CAP_ABSTIME,
  .parse = savvy_parse, .write = savvy_write,
  .header = savvy_header,
  .detect = savvy_detect,
  .exts = ".csv",
  .desc = "SavvyCAN/GVRET CSV: Time Stamp,ID,Extended,Dir,Bus,LEN,D1..D8",
};

/* ---- ParserFlags TSV ---- */

static int pf_detect(const char *s, size_t len)
{
  if (len >= 12 && !strncmp(s, "ParserFlags\t", 12))
    return 6;
  /* "1\t0\t1\tRX\t" */
  int tabs = 0;
  for (size_t i = 0; i < len; i++)
    tabs += s[i] == '\t';
  if (tabs >= 7 && (memmem(s, len, "\tRX\t", 4) || memmem(s, len, "\tTX\t", 4)) &&
      memmem(s, len, "\t0x", 3))
    return 2;
  return 0;
}

static const struct col_name pf_cols[] = {
    {"Ch", C_BUS},     {"T/R", C_DIR}, {"Time", C_TIME}, {"Flags", C_FLAGS},
    {"CAN ID", C_ID},  {"Len", C_LEN}, {"Data", C_DATA},
};

/* The columns of a headerless file, as the analyser writes them. */
static const int8_t pf_default[] = {C_SKIP, C_BUS, C_SKIP, C_DIR, C_TIME,
                                    C_FLAGS, C_ID, C_LEN, C_DATA};

static const struct table_fmt pf_table = {
    "ParserFlags", false, '\t', pf_cols, ARRAY_SIZE(pf_cols), false,
    pf_default, (int)sizeof(pf_default)};

/* The data column ds..de ("0x08 dc 00 dd"): dlen bytes into f, the flags from the row. */
static int pf_finish(struct trace_pstate *ps, const char *s, size_t ds, size_t de, int dlen,
                     bool ext_flag, struct sim_frame *f, struct sim_diag *d)
{
  if (ds + 2 <= de && s[ds] == '0' && (s[ds + 1] == 'x' || s[ds + 1] == 'X'))
    ds += 2;
  size_t stop;
  int nb = trace_parse_bytes(s, de, ds, f->data, dlen, &stop);
  if (nb < 0 || nb != dlen)
    return TRACE_ERR(ps, d, stop, "ParserFlags: expected %d data bytes", dlen);
  if (ext_flag || f->id > SIM_CAN_SFF_MASK)
    f->flags |= SIM_CAN_F_EXT;
  if (dlen > 8)
    f->flags |= SIM_CAN_F_FD;
  f->len = (uint8_t)dlen;
  return 0;
}

/* The index of the first tab at or after s[i], or len. */
static inline size_t q_tab(const char *s, size_t len, size_t i)
{
  for (; i + 8 <= len; i += 8) { /* 8 at a time: the lowest byte that is a tab */
    uint64_t w;
    memcpy(&w, s + i, 8);
    w ^= B8('\t');
    uint64_t m = (w - B8(1)) & ~w & B8(0x80);
    if (m)
      return i + (size_t)__builtin_ctzll(m) / 8;
  }
  while (i < len && s[i] != '\t')
    i++;
  return i;
}

/* What is wrong with a column common_field() refuses. */
static const char *const pf_errors[] = {
    [C_ID] = "ParserFlags: bad CAN ID",
    [C_DIR] = "ParserFlags: T/R must be RX or TX",
    [C_BUS] = "ParserFlags: bad channel",
    [C_LEN] = "ParserFlags: bad Len",
};

/*
 * The fast path of pf_parse() for the row the analyser (and pf_write()) writes, in a file
 * whose first nine columns are the analyser's (the rest skipped):
 * "1	0	1	RX	0.250000	X	0x18daf110	2	0x10 14 	Default Parser	" -- a channel 0..254,
 * RX/TX, a time in ms with or without a fraction, no flags or X, "0x" and an 8-digit id, a
 * length 0..8 and exactly that many bytes after "0x".  One pass; returns 1 with rec filled as
 * pf_parse() fills it, or 0 for any other line (pf_parse() decides).
 */
static int pf_quick(struct trace_pstate *ps, const char *s, size_t len, struct trace_record *rec)
{
  if (!ps->have_header || ps->ncols < (int)sizeof(pf_default) ||
      !q_is(ps->col, pf_default, sizeof(pf_default)))
    return 0;
  for (int c = (int)sizeof(pf_default); c < ps->ncols; c++)
    if (ps->col[c] != C_SKIP)
      return 0;
  len = strip_eol(s, len);
  size_t i = q_tab(s, len, 0), bs = i + 1;
  uint64_t bus, ms, frac = 0;
  if (i == 0 || !q_digit(s[0]) || i >= len)
    return 0;
  i = bs;
  if (!q_dec_small(s, len, &i, 3, &bus) || bus > 254 || i >= len || s[i] != '\t')
    return 0;
  size_t be = i;
  i = q_tab(s, len, i + 1);
  if (len - i < 20 || s[i + 2] != 'X' || s[i + 3] != '\t' ||
      (s[i + 1] != 'R' && s[i + 1] != 'T'))
    return 0;
  bool tx = s[i + 1] == 'T';
  i += 4;
  size_t f0 = 0;
  if (!q_dec(s, len, &i, 9, &ms) || i >= len)
    return 0;
  if (s[i] == '.') {
    f0 = ++i;
    if (!q_dec(s, len, &i, 9, &frac) || i >= len)
      return 0;
  }
  int64_t ts = (int64_t)(ms * 1000000000u + (f0 ? frac * q_pow10[9 - (i - f0)] : 0)) / 1000;
  if (s[i] != '\t')
    return 0;
  bool ext = false;
  if (len - i >= 3 && s[i + 1] == 'X' && s[i + 2] == '\t') {
    ext = true;
    i++;
  } else if (!(len - i >= 2 && s[i + 1] == '\t')) {
    return 0;
  }
  i += 2;
  uint32_t id;
  if (len - i < 13 || s[i] != '0' || s[i + 1] != 'x' || !q_hexn(s + i + 2, 8, &id) ||
      id > SIM_CAN_EFF_MASK || s[i + 10] != '\t' || s[i + 11] < '0' || s[i + 11] > '8' ||
      s[i + 12] != '\t')
    return 0;
  unsigned dl = (unsigned)(s[i + 11] - '0');
  i += 13;
  if (dl) {
    /* "0x" and the bytes, then blanks up to the tab or the end */
    if (len - i < 3 * dl + 1 || s[i] != '0' || s[i + 1] != 'x' ||
        !q_bytes(s + i + 2, dl, ' ', rec->frame.data))
      return 0;
    i += 3 * dl + 1;
    while (i < len && s[i] == ' ')
      i++;
  }
  if (i < len && s[i] != '\t')
    return 0;
  uint16_t flags = ext_tx_flags(ext || id > SIM_CAN_SFF_MASK, tx); /* (as pf_finish) */
  rec_quick_frame(rec, id, flags, dl)->bus = (uint8_t)(bus + 1);
  rec_set_src(rec, s + bs, be - bs);
  rec_set_ts(rec, ts, true);
  return rec_frame_done(ps, rec);
}

static int pf_parse(struct trace_pstate *ps, const char *s, size_t len, struct trace_record *rec,
                    struct sim_diag *d)
{
  if (pf_quick(ps, s, len, rec))
    return 1;
  len = strip_eol(s, row_begin(rec, &s, len));
  if (!rtrim(s, len) || table_header(ps, s, len, &pf_table))
    return 0;
  size_t i = 0, fs, fe;
  struct sim_frame *f = &rec->frame;
  int64_t ts = 0;
  int dlen = -1;
  size_t ds = 0, de = 0;
  bool have_id = false, have_time = false, ext_flag = false;
  for (int c = 0; c < ps->ncols && next_field(s, len, '\t', &i, &fs, &fe); c++) {
    trim(s, &fs, &fe);
    int8_t col = ps->col[c];
    switch (col) {
    case C_TIME: {
      int64_t msns;
      if (fe == fs || trace_parse_time(s + fs, fe - fs, false, &msns) != fe - fs)
        return TRACE_ERR(ps, d, fs, "ParserFlags: bad time");
      ts = msns / 1000; /* ms -> ns */
      have_time = true;
      break;
    }
    case C_FLAGS:
      for (size_t k = fs; k < fe; k++)
        if (s[k] == 'X' || s[k] == 'x' || s[k] == 'E')
          ext_flag = true;
      break;
    case C_DATA:
      ds = fs;
      de = fe;
      break;
    case C_ID:
      if (fe - fs > 2 && s[fs] == '0' && (s[fs + 1] == 'x' || s[fs + 1] == 'X'))
        fs += 2;
      /* fall through */
    default:
      if (!common_field(col, s, fs, fe, rec, &dlen))
        return TRACE_ERR(ps, d, fs, "%s", pf_errors[col]);
      break;
    }
    have_id |= col == C_ID;
  }
  if (!have_id || !have_time || dlen < 0)
    return TRACE_ERR(ps, d, 0, "ParserFlags: row without CAN ID, Time or Len");
  if (pf_finish(ps, s, ds, de, dlen, ext_flag, f, d) < 0)
    return SIM_EPARSE;
  rec_set_ts(rec, ts, true);
  return rec_frame_done(ps, rec);
}

static int pf_write(struct trace_wstate *ws, const struct trace_record *rec, struct sbuf *out)
{
  const struct sim_frame *f = &rec->frame;
  if (f->flags & (SIM_CAN_F_ERR | SIM_CAN_F_RTR))
    return SIM_EUNSUP;
  if (!ws->have_t0) {
    ws->t0 = rec->ts_relative && rec->ts >= 0 ? 0 : rec->ts;
    ws->have_t0 = true;
  }
  /* at most: 2, 4 bus, 21 counter, 4, 20 + 7 time, 6 + 8 id, 4 length, 2 + 64 bytes of 3,
   * 16 */
  char *p = put_begin(out, 300);
  p = P_LIT(p, "1\t");
  p = p_u64(p, f->bus ? f->bus - 1u : 0u);
  *p++ = '\t';
  p = p_u64(p, ws->n + 1);
  p = f->flags & SIM_CAN_F_TX ? P_LIT(p, "\tTX\t") : P_LIT(p, "\tRX\t");
  int64_t t = rec->ts - ws->t0;
  if (t < 0)
    t = 0;
  p = p_u64(p, (uint64_t)(t / SIM_NS_PER_MS));
  if (t % SIM_NS_PER_MS) { /* finer than the format's ms: keep it as a fraction */
    *p++ = '.';
    p = p_decn(p, (uint64_t)(t % SIM_NS_PER_MS), 6);
  }
  p = f->flags & SIM_CAN_F_EXT ? P_LIT(p, "\tX\t0x") : P_LIT(p, "\t\t0x");
  p = p_hexn(p, f->id, 8, false);
  *p++ = '\t';
  p = p_u64(p, f->len);
  *p++ = '\t';
  for (unsigned k = 0; k < f->len; k++) {
    if (k == 0)
      p = P_LIT(p, "0x");
    memcpy(p, codec_hexl2 + 2 * f->data[k], 2);
    p[2] = ' ';
    p += 3;
  }
  return p_line_done(ws, out, P_LIT(p, "\tDefault Parser\t"));
}

static int pf_header(struct trace_wstate *ws, const struct trace_record *first, struct sbuf *out)
{
  sbuf_adds(out, "ParserFlags\tCh\tCounter\tT/R\tTime\tFlags\tCAN ID\tLen\tData\tParser Name\t"
                 "default\n");
  return 0;
}

const struct trace_format trace_fmt_parserflags = {
  .name = "parserflags",
  .caps = TRACE_CAP_READ | TRACE_CAP_WRITE | TRACE_CAP_FD | TRACE_CAP_TX,
  .parse = pf_parse, .write = pf_write,
  .header = pf_header,
  .detect = pf_detect,
  .exts = ".tsv",
  .desc = "tab-separated analyser export with a ParserFlags header (time in ms)",
};
