/*
 * fmt_asc.c - Vector ASC logs (CANoe / CANalyzer), as a pure codec.
 *
 *   date Mon Mar 23 12:12:27.256 pm 2020        measurement start (taken as UTC)
 *   base hex  timestamps absolute               id/data base (hex|dec), time mode
 *   internal events logged / // version 11.0.0 / Begin Triggerblock ... / End TriggerBlock
 *      2.718068 2  381             Rx   d 6 00 00 00 00 00 00  Length = 1029430 BitCount = 107 ID = 897
 *      2.699961 2  400             TxRq d 8 0C 02 A0 04 04 04 00 00  Length = 0 ...
 *      0.010000 1  18DAF110x       Rx   d 2 10 14               ('x': 29-bit id)
 *      0.288900 1  7DF             Rx   r 0                     (remote request)
 *      2.701071 2  ErrorFrame  Flags = 0xfffe ...               (error frame)
 *      0.044358 CAN 2 Status:chip status error active           (status: skipped)
 *      0.188901 CANFD   2 Rx        123        1 0 9 12 11 22 ... 130000  130     3000 0 0 0 0 0
 *
 * Facts: the sample vw_eup/KCAN_wakeup_ID400_errors.asc (sharkcow/VW-e-UP-OBD-CAN-logs) and
 * linux-can/can-utils log2asc.c / asc2log.c at 722a09116d8685bbf3e7a833b56454adf3acfa4b (the
 * CANFD column order: channel, direction, id, [symbolic name], BRS, ESI, DLC (hex), data length
 * (decimal), data, message duration, bit count, flags (hex: 0x10 RTR, 0x1000 FDF, 0x2000 BRS,
 * 0x4000 ESI)); asc2log maps "ErrorFrame" to CAN_ERR_FLAG|CAN_ERR_BUSERROR with 8 bytes.
 *
 * Timestamps count from the measurement start; with a parsable date line they become epoch
 * times (date + offset), otherwise they stay relative.  The writer writes the date of the first
 * record's whole second and offsets from it, so candump -> asc -> candump is lossless.
 */
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/array.h"
#include "trace/codec.h"

#define ASC_F_RTR 0x10u
#define ASC_F_FDF 0x1000u
#define ASC_F_BRS 0x2000u
#define ASC_F_ESI 0x4000u
#define CAN_ERR_BUSERROR 0x80u

static bool starts(const char *s, size_t len, const char *p)
{
  size_t n = strlen(p);
  return len >= n && !strncmp(s, p, n);
}

static int detect(const char *s, size_t len)
{
  size_t i = skip_blank(s, len, 0);
  if (starts(s + i, len - i, "base hex") || starts(s + i, len - i, "base dec"))
    return 6;
  if (starts(s + i, len - i, "date ") || starts(s + i, len - i, "Begin Triggerblock") ||
      starts(s + i, len - i, "Begin TriggerBlock"))
    return 2;
  if (starts(s + i, len - i, "internal events logged") ||
      starts(s + i, len - i, "no internal events logged"))
    return 4;
  int64_t ns;
  size_t n = trace_parse_time(s + i, len - i, false, &ns);
  if (!n || i + n >= len || !is_blank(s[i + n]))
    return 0;
  size_t j = skip_blank(s, len, i + n);
  if (starts(s + j, len - j, "CANFD ") || starts(s + j, len - j, "CAN "))
    return 2;
  /* <channel> <id> <Rx|Tx|TxRq> or <channel> ErrorFrame */
  size_t e = token_end(s, len, j);
  if (e == j || !(s[j] >= '0' && s[j] <= '9'))
    return 0;
  size_t k = skip_blank(s, len, e);
  size_t ke = token_end(s, len, k);
  if (ke - k >= 10 && !strncmp(s + k, "ErrorFrame", 10))
    return 2;
  k = skip_blank(s, len, ke);
  ke = token_end(s, len, k);
  if ((ke - k == 2 && (!strncmp(s + k, "Rx", 2) || !strncmp(s + k, "Tx", 2))) ||
      (ke - k == 4 && !strncmp(s + k, "TxRq", 4)))
    return 2;
  return 0;
}

static const char *const months[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                     "jul", "aug", "sep", "oct", "nov", "dec"};

/* "date Mon Mar 23 12:12:27.256 pm 2020" or ctime's "date Thu Aug 22 13:23:22 2024". */
static bool parse_date(const char *s, size_t len, int64_t *ns)
{
  char buf[96];
  if (len >= sizeof(buf))
    return false;
  memcpy(buf, s, len);
  buf[len] = 0;
  char *save = NULL;
  char *tok[8];
  int n = 0;
  for (char *t = strtok_r(buf, " \t", &save); t && n < 8; t = strtok_r(NULL, " \t", &save))
    tok[n++] = t;
  if (n < 6)
    return false;
  struct tm tm = {0};
  int mon = -1;
  for (int k = 0; k < 12; k++)
    if (!strncasecmp(tok[2], months[k], 3))
      mon = k;
  if (mon < 0)
    return false;
  char *end;
  long day = strtol(tok[3], &end, 10);
  if (*end || day < 1 || day > 31)
    return false;
  long hh, mm, ss, ms = 0;
  hh = strtol(tok[4], &end, 10);
  if (*end != ':' || hh < 0 || hh > 23) /* before the pm shift: no overflow of a huge hour */
    return false;
  mm = strtol(end + 1, &end, 10);
  if (*end != ':')
    return false;
  ss = strtol(end + 1, &end, 10);
  if (*end == '.') {
    char *e2;
    ms = strtol(end + 1, &e2, 10);
    if (e2 - end - 1 != 3)
      return false;
    end = e2;
  }
  if (*end)
    return false;
  int yi = 5;
  if (!strcasecmp(tok[5], "am") || !strcasecmp(tok[5], "pm")) {
    if (hh == 12)
      hh = 0;
    if (!strcasecmp(tok[5], "pm"))
      hh += 12;
    yi = 6;
  }
  if (yi >= n)
    return false;
  long year = strtol(tok[yi], &end, 10);
  if (*end || year < 1970 || year > 9999 || hh > 23 || mm > 59 || ss > 60)
    return false;
  tm.tm_year = (int)year - 1900;
  tm.tm_mon = mon;
  tm.tm_mday = (int)day;
  tm.tm_hour = (int)hh;
  tm.tm_min = (int)mm;
  tm.tm_sec = (int)ss;
  time_t t = timegm(&tm);
  int64_t sec_ns;
  if (__builtin_mul_overflow((int64_t)t, SIM_NS_PER_SEC, &sec_ns) ||
      __builtin_add_overflow(sec_ns, ms * SIM_NS_PER_MS, ns))
    return false; /* a date an int64 of ns cannot hold */
  return true;
}

/* A number in the file's base: hex digits, or decimal digits. */
static bool parse_num(const struct trace_pstate *ps, const char *s, size_t i, size_t j,
                      uint32_t *v, size_t *bad)
{
  return ps->base == 10 ? parse_dec32(s, i, j, v, bad) : parse_hex32(s, i, j, v, bad);
}

static int parse_id(struct trace_pstate *ps, const char *s, size_t len, size_t *pi,
                    struct sim_frame *f, struct sim_diag *d)
{
  size_t i = *pi;
  size_t e = token_end(s, len, i);
  size_t ie = e;
  if (ie > i && (s[ie - 1] == 'x' || s[ie - 1] == 'X')) {
    f->flags |= SIM_CAN_F_EXT;
    ie--;
  }
  uint32_t id;
  size_t bad;
  if (!parse_num(ps, s, i, ie, &id, &bad))
    return TRACE_ERR(ps, d, bad, "ASC: bad CAN id");
  if (!canid_ok(id, f->flags & SIM_CAN_F_EXT))
    return TRACE_ERR(ps, d, i, "ASC: CAN id out of range");
  f->id = id;
  *pi = skip_blank(s, len, e);
  return 0;
}

static int parse_data(struct trace_pstate *ps, const char *s, size_t len, size_t *pi,
                      struct sim_frame *f, unsigned n, struct sim_diag *d)
{
  size_t i = *pi;
  for (unsigned k = 0; k < n; k++) {
    int b = ps->base != 10 && i + 2 <= len && (i + 2 == len || is_blank(s[i + 2]))
                ? sim_hex_byte(s + i)
                : -1;
    if (b >= 0) { /* the usual two hex digits */
      f->data[k] = (uint8_t)b;
      i = skip_blank(s, len, i + 2);
      continue;
    }
    size_t e = token_end(s, len, i);
    uint32_t v;
    size_t bad;
    if (e == i || !parse_num(ps, s, i, e, &v, &bad) || v > 255)
      return TRACE_ERR(ps, d, i, "ASC: expected %u data bytes", n);
    f->data[k] = (uint8_t)v;
    i = skip_blank(s, len, e);
  }
  f->len = (uint8_t)n;
  *pi = i;
  return 0;
}

static int parse_fd(struct trace_pstate *ps, const char *s, size_t len, size_t i,
                    struct trace_record *rec, struct sim_diag *d)
{
  struct sim_frame *f = &rec->frame;
  size_t e = token_end(s, len, i);
  if (!rec_bus_number(rec, s, i, e, 1))
    return TRACE_ERR(ps, d, i, "ASC: bad CANFD channel");
  i = skip_blank(s, len, e);
  e = token_end(s, len, i);
  if (!rx_tx(s, i, e, f))
    return TRACE_ERR(ps, d, i, "ASC: expected Rx or Tx");
  i = skip_blank(s, len, e);
  int rc = parse_id(ps, s, len, &i, f, d);
  if (rc)
    return rc;
  /* optional symbolic name: anything that is not the "BRS ESI" pair of 0/1 */
  e = token_end(s, len, i);
  if (!(e - i == 1 && (s[i] == '0' || s[i] == '1'))) {
    i = skip_blank(s, len, e);
    e = token_end(s, len, i);
  }
  if (!(e - i == 1 && (s[i] == '0' || s[i] == '1')))
    return TRACE_ERR(ps, d, i, "ASC: expected the BRS bit");
  bool brs = s[i] == '1';
  i = skip_blank(s, len, e);
  e = token_end(s, len, i);
  if (!(e - i == 1 && (s[i] == '0' || s[i] == '1')))
    return TRACE_ERR(ps, d, i, "ASC: expected the ESI bit");
  bool esi = s[i] == '1';
  i = skip_blank(s, len, e);
  e = token_end(s, len, i);
  uint32_t dlc, dlen;
  size_t bad;
  if (!parse_hex32(s, i, e, &dlc, &bad) || dlc > 15)
    return TRACE_ERR(ps, d, i, "ASC: bad DLC");
  i = skip_blank(s, len, e);
  e = token_end(s, len, i);
  if (!parse_dec32(s, i, e, &dlen, &bad) || dlen > 64 ||
      sim_can_dlc2len(sim_can_len2dlc((uint8_t)dlen)) != dlen)
    return TRACE_ERR(ps, d, i, "ASC: bad data length");
  i = skip_blank(s, len, e);
  struct trace_pstate hex = *ps;
  hex.base = 16; /* CANFD data is always hex in log2asc's files */
  rc = parse_data(&hex, s, len, &i, f, dlen, d);
  if (rc)
    return rc;
  /* msg duration, bit count, flags */
  uint32_t flags = ASC_F_FDF;
  size_t k = i;
  for (int field = 0; field < 3 && k < len; field++) {
    size_t ke = token_end(s, len, k);
    if (field == 2 && !parse_hex32(s, k, ke, &flags, &bad))
      flags = ASC_F_FDF;
    k = skip_blank(s, len, ke);
  }
  if (flags & ASC_F_FDF) {
    f->flags |= SIM_CAN_F_FD;
    if (brs || (flags & ASC_F_BRS))
      f->flags |= SIM_CAN_F_BRS;
    if (esi || (flags & ASC_F_ESI))
      f->flags |= SIM_CAN_F_ESI;
  } else {
    if (dlen > 8)
      return TRACE_ERR(ps, d, i, "ASC: classic frame with more than 8 bytes");
    if (flags & ASC_F_RTR) {
      f->flags |= SIM_CAN_F_RTR;
      f->len = (uint8_t)(dlc > 8 ? 8 : dlc);
    }
  }
  return rec_frame_done(ps, rec);
}

/* Lines that carry nothing to replay. */
static const char *const ignored_lines[] = {
    "//", "internal events logged", "no internal events logged", "Begin Triggerblock",
    "Begin TriggerBlock", "End TriggerBlock", "End Triggerblock",
};

/* The header lines ("date ...", "base hex  timestamps absolute") and those without content.
 * Returns 1 when l is one of them (state updated), 0 when not, or an error. */
static int header_line(struct trace_pstate *ps, const char *l, size_t ll, size_t i,
                       struct sim_diag *d)
{
  if (starts(l, ll, "date ")) {
    int64_t ns;
    if (parse_date(l, ll, &ns) && ns > 0)
      ps->start_ns = ns;
    return 1;
  }
  if (starts(l, ll, "base ")) {
    if (starts(l, ll, "base dec"))
      ps->base = 10;
    else if (starts(l, ll, "base hex"))
      ps->base = 16;
    else
      return TRACE_ERR(ps, d, i + 5, "ASC: base must be hex or dec");
    ps->relative = memmem(l, ll, "timestamps relative", 19) != NULL;
    ps->have_header = true;
    return 1;
  }
  for (size_t k = 0; k < ARRAY_SIZE(ignored_lines); k++)
    if (starts(l, ll, ignored_lines[k]))
      return 1;
  return 0;
}

/* The line's time (relative ones accumulated, the date line's added) into rec.  Returns the
 * time's length, or 0 after an error. */
static size_t line_time(struct trace_pstate *ps, const char *l, size_t ll, size_t i,
                        struct trace_record *rec, struct sim_diag *d)
{
  int64_t t;
  size_t n = trace_parse_time_ps(ps, l, ll, &t);
  if (!n || (n < ll && !is_blank(l[n])))
    return TRACE_ERR(ps, d, i, "ASC: expected a timestamp or a header line"), 0;
  if (ps->relative && __builtin_add_overflow(ps->last_ts, t, &ps->last_ts))
    return TRACE_ERR(ps, d, i, "ASC: time out of range"), 0;
  if (ps->relative)
    t = ps->last_ts;
  int64_t ts = t;
  if (ps->start_ns && __builtin_add_overflow(ps->start_ns, t, &ts))
    return TRACE_ERR(ps, d, i, "ASC: time out of range from the date line"), 0;
  rec_set_ts(rec, ts, ps->start_ns == 0);
  return n;
}

/* A classic frame after its channel: "<id> Rx|Tx|TxRq d|r <dlc> <data>..." from i. */
static int parse_classic(struct trace_pstate *ps, const char *s, size_t len, size_t i,
                         struct sim_frame *f, struct sim_diag *d)
{
  int rc = parse_id(ps, s, len, &i, f, d);
  if (rc)
    return rc;
  size_t e = token_end(s, len, i), bad;
  if (e - i == 2 && !strncmp(s + i, "Rx", 2))
    ;
  else if ((e - i == 2 && !strncmp(s + i, "Tx", 2)) || (e - i == 4 && !strncmp(s + i, "TxRq", 4)))
    f->flags |= SIM_CAN_F_TX;
  else
    return TRACE_ERR(ps, d, i, "ASC: expected Rx, Tx or TxRq");
  i = skip_blank(s, len, e);
  e = token_end(s, len, i);
  if (e - i != 1 || (s[i] != 'd' && s[i] != 'r'))
    return TRACE_ERR(ps, d, i, "ASC: expected 'd' (data) or 'r' (remote)");
  bool rtr = s[i] == 'r';
  i = skip_blank(s, len, e);
  uint32_t dlc = 0;
  e = token_end(s, len, i);
  if (e > i) {
    if (!parse_hex32(s, i, e, &dlc, &bad) || dlc > 15) {
      if (!rtr)
        return TRACE_ERR(ps, d, i, "ASC: bad DLC");
      dlc = 0; /* "r" without DLC (pre-8.5 tools) followed by other fields */
      e = i;
    }
    i = skip_blank(s, len, e);
  } else if (!rtr) {
    return TRACE_ERR(ps, d, i, "ASC: missing DLC");
  }
  if (rtr) {
    f->flags |= SIM_CAN_F_RTR;
    f->len = (uint8_t)(dlc > 8 ? 8 : dlc);
    return 0;
  }
  /* A classic DLC of 9..15 means 8 bytes (ISO 11898-1; asc2log keeps it as len8_dlc). */
  unsigned n = dlc > 8 ? 8 : dlc;
  rc = parse_data(ps, s, len, &i, f, n, d);
  if (rc)
    return rc;
  /* What may follow the data is text ("Length = ..."), never another byte: one more would
   * be cut off silently (a "d 9" written with 9 bytes, as if it were a CAN FD length). */
  e = token_end(s, len, i);
  uint32_t v;
  if (e > i && parse_num(ps, s, i, e, &v, &bad) && v <= 255)
    return TRACE_ERR(ps, d, i, "ASC: more data bytes than DLC %u gives (%u)", dlc, n);
  return 0;
}

static int parse_full(struct trace_pstate *ps, const char *s, size_t len, size_t i,
                      struct trace_record *rec, struct sim_diag *d)
{
  int hl = s[i] >= '0' && s[i] <= '9' ? 0 : header_line(ps, s + i, len - i, i, d);
  if (hl) /* (no header line starts with a digit, every frame line does) */
    return hl < 0 ? hl : 0;
  size_t n = line_time(ps, s + i, len - i, i, rec, d);
  if (!n)
    return SIM_EPARSE;
  i = skip_blank(s, len, i + n);
  struct sim_frame *f = &rec->frame;
  size_t e = token_end(s, len, i);
  if (e - i == 5 && !strncmp(s + i, "CANFD", 5))
    return parse_fd(ps, s, len, skip_blank(s, len, e), rec, d);
  uint32_t ch;
  size_t bad;
  if (e == i || !parse_dec32(s, i, e, &ch, &bad))
    return 0; /* "CAN 1 Status:", "Start of measurement", "SV:", J1939 ... : not frames */
  if (ch == 0 || ch > 255)
    return TRACE_ERR(ps, d, i, "ASC: bad channel number");
  f->bus = (uint8_t)ch;
  rec_set_src(rec, s + i, e - i);
  i = skip_blank(s, len, e);
  e = token_end(s, len, i);
  if (e - i >= 10 && !strncmp(s + i, "ErrorFrame", 10)) {
    f->flags = SIM_CAN_F_ERR;
    f->id = CAN_ERR_BUSERROR;
    f->len = 8;
    memset(f->data, 0, 8);
  } else if (e > i && s[e - 1] == ':') {
    return 0; /* "Statistic:" and other channel events */
  } else {
    int rc = parse_classic(ps, s, len, i, f, d);
    if (rc)
      return rc;
  }
  return rec_frame_done(ps, rec);
}

static int parse(struct trace_pstate *ps, const char *s, size_t len, struct trace_record *rec,
                 struct sim_diag *d)
{
  return line_parse(ps, s, len, rec, d, parse_full);
}

static int64_t origin(const struct trace_wstate *ws)
{
  return ws->have_t0 ? ws->t0 : 0;
}

/* n blanks (n <= 40). */
static char *p_blanks(char *p, int n)
{
  memset(p, ' ', 40);
  return p + (n > 0 ? n : 0);
}

/* "CANFD <ch> Rx|Tx <id> ... <data> <duration> <bitcount> <flags> 0 0 0 0 0" from the
 * channel on, as log2asc writes it. */
static char *p_fd(char *p, const struct sim_frame *f, unsigned ch)
{
  p = P_LIT(p, "CANFD ");
  p = p_blanks(p, ch < 10 ? 2 : ch < 100 ? 1 : 0);
  p = p_u64(p, ch);
  p = f->flags & SIM_CAN_F_TX ? P_LIT(p, " Tx   ") : P_LIT(p, " Rx   ");
  int idn = hex_digits(f->id) + (f->flags & SIM_CAN_F_EXT ? 1 : 0);
  p = p_blanks(p, 11 - idn);
  p = p_hexn(p, f->id, hex_digits(f->id), true);
  if (f->flags & SIM_CAN_F_EXT)
    *p++ = 'x';
  p = P_LIT(p, "                                  ");
  p = f->flags & SIM_CAN_F_BRS ? P_LIT(p, "1 ") : P_LIT(p, "0 ");
  p = f->flags & SIM_CAN_F_ESI ? P_LIT(p, "1 ") : P_LIT(p, "0 ");
  uint8_t dlc = sim_can_len2dlc(f->len);
  p = p_hexn(p, dlc, hex_digits(dlc), false);
  *p++ = ' ';
  if (f->len < 10)
    *p++ = ' ';
  p = p_u64(p, f->len);
  p = p_byte_list(p, f->data, f->len, true);
  unsigned fl = ASC_F_FDF | (f->flags & SIM_CAN_F_BRS ? ASC_F_BRS : 0) |
                (f->flags & SIM_CAN_F_ESI ? ASC_F_ESI : 0);
  p = P_LIT(p, "   130000  130 ");
  p = p_blanks(p, 8 - hex_digits(fl));
  p = p_hexn(p, fl, hex_digits(fl), true);
  return P_LIT(p, " 0 0 0 0 0");
}

static int write(struct trace_wstate *ws, const struct trace_record *rec, struct sbuf *out)
{
  if (!ws->have_t0)
    ws_set_t0(ws, rec);
  const struct sim_frame *f = &rec->frame;
  /* before the origin: 0; a difference beyond int64 (a time near INT64_MIN against a later
   * origin: fuzz_trace_asc) is clamped, not overflowed */
  int64_t t;
  if (__builtin_sub_overflow(rec->ts, origin(ws), &t))
    t = rec->ts < 0 ? 0 : INT64_MAX;
  if (t < 0)
    t = 0;
  /* at most: time 4+20+1+9, a CANFD line's 100 fixed bytes, 64 data bytes of 3 */
  char *p = put_begin(out, 360);
  /* "%4llu.%06llu " as log2asc writes it (9 digits when the time has nanoseconds) */
  uint64_t sec = (uint64_t)t / 1000000000u;
  p = p_blanks(p, sec < 10 ? 3 : sec < 100 ? 2 : sec < 1000 ? 1 : 0);
  p = p_time(p, t, t % 1000 ? 9 : 6);
  *p++ = ' ';
  unsigned ch = f->bus ? f->bus : 1;
  if (f->flags & SIM_CAN_F_FD) {
    put_end(out, p_fd(p, f, ch));
    return line_done(ws, out);
  }
  p = p_u64(p, ch);
  if (ch < 10)
    *p++ = ' ';
  *p++ = ' ';
  if (f->flags & SIM_CAN_F_ERR) {
    put_end(out, P_LIT(p, "ErrorFrame"));
    return line_done(ws, out);
  }
  /* the id and 'x' or ' ', padded to 16 columns */
  int idn = hex_digits(f->id);
  char *at = p;
  p = p_hexn(p, f->id, idn, true);
  *p++ = f->flags & SIM_CAN_F_EXT ? 'x' : ' ';
  p = p_blanks(p, 16 - (int)(p - at));
  p = f->flags & SIM_CAN_F_TX ? P_LIT(p, "Tx   ") : P_LIT(p, "Rx   ");
  p = f->flags & SIM_CAN_F_RTR ? P_LIT(p, "r ") : P_LIT(p, "d ");
  p = p_hexn(p, f->len, hex_digits(f->len), true);
  if (!(f->flags & SIM_CAN_F_RTR))
    p = p_byte_list(p, f->data, f->len, true);
  *p++ = '\n';
  put_end(out, p);
  ws->n++;
  return 0;
}

/*
 * candump -> ASC without the record (trace_format.convert_from): the lines candump writes
 * (the layout of fmt_candump.c's quick_check: 10-digit seconds, 6 fraction digits, an
 * interface already seen, a 3- or 8-digit id, 0..8 data bytes) are written as write() writes
 * their records, straight from the text: the ASC seconds once per second of input, the
 * fraction digits copied, the bus number from the label, the id and data from their digits.
 * Any other line (FD, RTR, error frames, 'T', CR, other time layouts, a new interface, a time
 * before the origin...) ends the run and goes through parse() and write().
 */
extern const struct trace_format trace_fmt_candump;

#define FUSED_LINES 4096  /* lines per call: the room for them is reserved once */
#define FUSED_LINE_MAX 96 /* room per line: the longest (70 bytes) and the stores past it */
#define FUSED_READ 64     /* bytes a line may read from its start (its loads past a short line) */
#define FUSED_IDS 256     /* the id cache: slots (a power of 2) */

/* The 8 bytes whose 16 uppercase hex digits are at hx as " XX XX ..." (24 bytes at q). */
static inline void put_pairs8(char *q, const char *hx)
{
  memset(q, ' ', 24);
  for (int k = 0; k < 8; k++)
    memcpy(q + 1 + 3 * k, hx + 2 * k, 2);
}

/*
 * An id of a fused line: "<3 hex digits>#" (the first up to 7) or "<8 hex digits>#" (the
 * first 0 or 1) at id.  Writes the ASC id column ("<id>" and 'x' or ' ', 16 columns) and
 * "Rx   d " at q (23 bytes, 24 stored).  Returns the length of the id and its '#', 0 when it
 * is no such id.
 */
static size_t fused_id(const char *id, char *q)
{
  uint32_t v;
  uint16_t flags;
  size_t dl = candump_id(id, 9, &v, &flags);
  if (!dl)
    return 0;
  memset(q, ' ', 16);
  int idn = hex_digits(v);
  p_hexn(q, v, idn, true);
  if (dl == 9)
    q[idn] = 'x';
  memcpy(q + 16, "Rx   d  ", 8);
  return dl;
}

/*
 * The fused candump -> ASC path (trace_format.convert_from, docs/traces.md): converts the run
 * of ordinary candump lines at the start of s[0, n) straight into ASC lines in out, and
 * returns the bytes it consumed (*lines: how many lines); 0 when it takes none.  Any line it
 * does not recognise ends the run and is left to parse() + write(), so the output is theirs
 * byte for byte (unit.trace_fused, fuzz_trace_fused).
 * long: one loop over the fields of a line (time stamp, interface, id, data) with the caches
 * it keeps between lines (the seconds' text, the interfaces, the ids) in local variables; each
 * field is one commented block.
 */
static size_t from_candump(const struct trace_format *from, struct trace_pstate *ps,
                           struct trace_wstate *ws, const char *s, size_t n, struct sbuf *out,
                           unsigned long *lines)
{
  *lines = 0;
  if (from != &trace_fmt_candump || !ws->have_t0 || ws->t0 < 0 || ws->t0 % SIM_NS_PER_SEC ||
      n < FUSED_READ)
    return 0;
  uint64_t t0 = (uint64_t)(ws->t0 / SIM_NS_PER_SEC);
  /* the interfaces seen so far (labels of 1..7 bytes: their first 8 bytes masked to the
   * label are its key) and their "<bus>  " */
  uint64_t bkey[TRACE_MAX_SRCS], bmask[TRACE_MAX_SRCS];
  unsigned blen[TRACE_MAX_SRCS];
  uint32_t btxt[TRACE_MAX_SRCS];
  int nb = 0;
  for (int i = 0; i < ps->nsrcs && i < TRACE_MAX_SRCS; i++)
    if (ps->srcs_len[i] >= 1 && ps->srcs_len[i] <= 7) {
      blen[nb] = ps->srcs_len[i];
      bmask[nb] = (UINT64_C(1) << (8 * blen[nb])) - 1;
      bkey[nb] = ps->srcs_key[i];
      char t[8];
      p_u64(t, (unsigned)i + 1); /* (at most 8: one digit) */
      t[1] = t[2] = t[3] = ' ';
      memcpy(&btxt[nb++], t, 4);
    }
  /* the ids seen in this call: the text after their key (the id's bytes up to the '#') */
  uint64_t ikey[FUSED_IDS];
  char itxt[FUSED_IDS][24];
  memset(ikey, 0, sizeof(ikey));
  char *o = put_begin(out, FUSED_LINES * FUSED_LINE_MAX);
  const char *p = s, *end = s + n;
  uint64_t k1 = 0, k2 = 0; /* the seconds' digits of the last line (0: none yet) */
  char stxt[48];           /* ... and their ASC text "%4llu." (p_blanks writes 40) */
  size_t slen = 0;
  unsigned long nl = 0;
  while (nl < FUSED_LINES && (size_t)(end - p) >= FUSED_READ) {
    /* the time stamp: "(" 10 digits "." 6 digits ") " (candump_stamp20) */
    /* p[4, 20): 7 digits, '.', 6 digits, ") " (p[1, 4) are checked with the seconds) */
    static const v16 tdig = {-1, -1, -1, -1, -1, -1, -1, 0, -1, -1, -1, -1, -1, -1, 0, 0};
    static const v16 tlit = {0, 0, 0, 0, 0, 0, 0, '.', 0, 0, 0, 0, 0, 0, ')', ' '};
    v16 tv = v16_load(p + 4);
    uint64_t w1, w2, w3;
    memcpy(&w1, p + 1, 8);
    memcpy(&w2, p + 3, 8);
    memcpy(&w3, p + 12, 8);
    if (p[0] != '(' || !v16_all((v16_digits(tv) & tdig) | (v16)((tv == tlit) & ~tdig)))
      break;
    if (w1 != k1 || w2 != k2) {
      if (!candump_stamp20(p))
        break;
      uint64_t sec = digits8(w1) * 100 + digits8(w2) % 100;
      if (sec < t0)
        break; /* before the origin: write() clamps it */
      uint64_t rel = sec - t0;
      char *t = p_blanks(stxt, rel < 10 ? 3 : rel < 100 ? 2 : rel < 1000 ? 1 : 0);
      t = p_u64(t, rel);
      *t++ = '.';
      slen = (size_t)(t - stxt);
      k1 = w1;
      k2 = w2;
    }
    char *q = o;
    memcpy(q, stxt, 16);
    q += slen;
    w3 = (w3 & UINT64_C(0x0000FFFFFFFFFFFF)) | UINT64_C(0x20) << 48; /* the fraction, ' ' */
    memcpy(q, &w3, 8);
    q += 7;
    /* the interface: one seen before */
    uint64_t lw;
    memcpy(&lw, p + 20, 8);
    int b = 0;
    while (b < nb && ((lw & bmask[b]) != bkey[b] || p[20 + blen[b]] != ' '))
      b++;
    if (b == nb)
      break; /* a new interface (parse() numbers it), or not one label and a blank */
    memcpy(q, &btxt[b], 4);
    q += 3;
    unsigned ln = blen[b];
    /* the id: from the cache, keyed by its text ("7E8#" or 8 digits) */
    const char *id = p + 21 + ln;
    uint64_t iw;
    memcpy(&iw, id, 8);
    uint64_t ik = id[3] == '#' ? iw & 0xFFFFFFFF : iw;
    unsigned slot = (unsigned)((ik * UINT64_C(0x9E3779B97F4A7C15)) >> 56) & (FUSED_IDS - 1);
    size_t dl;
    if (ikey[slot] == ik) {
      dl = ik >> 32 ? 9 : 4; /* (a 3-digit key has no bytes beyond its '#') */
      if (dl == 9 && id[8] != '#')
        break;
      memcpy(q, itxt[slot], 24);
    } else {
      dl = fused_id(id, q);
      if (!dl)
        break;
      ikey[slot] = ik;
      memcpy(itxt[slot], q, 24);
    }
    q += 23;
    /* the data: 0..8 hex pairs, then the '\n' */
    const char *dat = id + dl;
    int e = candump_data_end(dat);
    if (e < 0 || !v16_hexu_first(v16_load(dat), e)) /* (lowercase: parse() + write()) */
      break;
    q[0] = (char)('0' + e / 2);
    put_pairs8(q + 1, dat);
    q += 1 + 3 * (e / 2);
    *q++ = '\n';
    o = q;
    p = dat + e + 1;
    nl++;
  }
  put_end(out, o);
  ps->line += (int)nl;
  ps->nframes += nl;
  ws->n += nl;
  *lines = nl;
  return (size_t)(p - s);
}

static int header(struct trace_wstate *ws, const struct trace_record *first, struct sbuf *out)
{
  if (first)
    ws_set_t0(ws, first);
  time_t t = (time_t)(origin(ws) / SIM_NS_PER_SEC);
  struct tm tm;
  gmtime_r(&t, &tm);
  char date[64];
  strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y", &tm);
  if (!first || first->ts_relative)
    sbuf_adds(out, "date Thu Jan  1 00:00:00 1970\n"); /* epoch 0: "no date" to our reader */
  else
    sbuf_printf(out, "date %s\n", date);
  sbuf_adds(out, "base hex  timestamps absolute\nno internal events logged\n"
                 "// version 9.0.0\n");
  return 0;
}

const struct trace_format trace_fmt_asc = {
  .name = "asc",
  .caps = TRACE_CAP_LOSSLESS,
  .parse = parse, .write = write,
  .header = header,
  .convert_from = from_candump,
  .detect = detect,
  .exts = ".asc",
  .desc = "Vector ASC: 2.718068 2  381  Rx   d 6 00 00 00 00 00 00",
};
