/*
 * fmt_roadster.c - the two Tesla Roadster log layouts of the OVMS v2 repository, read-only:
 *
 * cando-csv: the Netronics CANdo CSV export (tesla_roadster/20120218.charge.done.csv,
 *   openvehicles/Open-Vehicle-Monitoring-System vehicle/roadster_canlogs, commit
 *   260a842953d2f031aa64cfef13484893c42daf9e):
 *     ~~~~~~~~                                      banner
 *     20120218.charge.done - 9:57:32 AM 2/18/2012 - Hexadecimal   (start time, taken as UTC)
 *     TYPE,TIME,ID,D1,D2,D3,D4,D5,D6,D7,D8
 *     RD11,0.0181,100,88,0,3,0,FF,FF,46           received data; bytes not zero-padded, the
 *                                                 byte count is the DLC
 *     TD11,12.6468,1,<tabs>;Open charge port door a note (TD rows with ';' are comments)
 *     RR11 / TR11 remote requests, RD29 / TD29 29-bit, EF error frame; then, after a ~~~
 *     line, a key section of text.  Any other line among the rows is an error (counted
 *     with --keep-going), not skipped: before the key section only rows are taken.
 *
 * roadster-txt: the same recordings annotated by the OVMS v2 Perl decoder
 *   (tesla_roadster/20120218.charge.done.txt):
 *              0 NOTE                                 A Tesla Roadster 2.5 std model, ...
 *         0.0181 100 88 00 03 00 FF FF 46       ->VDS Charger settings (limit 70A) ...
 *   relative time in seconds, id, data bytes separated by single spaces, then (after more
 *   spaces) the annotation, which is skipped.  NOTE lines are comments.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "trace/codec.h"

/* ---- CANdo CSV ---- */

static int cando_detect(const char *s, size_t len)
{
  if (len >= 19 && !strncmp(s, "TYPE,TIME,ID,D1,D2,", 19))
    return 6;
  if (len >= 5 && (!strncmp(s, "RD11,", 5) || !strncmp(s, "RD29,", 5)))
    return 2;
  if (len >= 10 && memmem(s, len, " - Hexadecimal", 14))
    return 3;
  return 0;
}

/* "name - 9:57:32 AM 2/18/2012 - Hexadecimal" -> epoch ns (UTC). */
static bool banner_time(const char *s, size_t len, int64_t *ns)
{
  const char *a = memmem(s, len, " - ", 3);
  if (!a)
    return false;
  char buf[64];
  size_t n = len - (size_t)(a + 3 - s);
  if (n >= sizeof(buf))
    n = sizeof(buf) - 1;
  memcpy(buf, a + 3, n);
  buf[n] = 0;
  int hh, mm, ss, mo, dd, yy;
  char ampm[3];
  if (sscanf(buf, "%d:%d:%d %2s %d/%d/%d", &hh, &mm, &ss, ampm, &mo, &dd, &yy) != 7)
    return false;
  if (hh < 1 || hh > 12 || mm > 59 || ss > 60 || mo < 1 || mo > 12 || dd < 1 || dd > 31 ||
      yy < 1970 || yy > 2200) /* an int64 of ns ends in 2262 */
    return false;
  if (hh == 12)
    hh = 0;
  if (!strcmp(ampm, "PM"))
    hh += 12;
  struct tm tm = {.tm_year = yy - 1900, .tm_mon = mo - 1, .tm_mday = dd, .tm_hour = hh,
                  .tm_min = mm, .tm_sec = ss};
  *ns = (int64_t)timegm(&tm) * SIM_NS_PER_SEC;
  return true;
}

/* The data bytes ",hh,hh..." from the comma at e on (a trailing comma allowed), at most 8
 * into data.  Returns how many, or an error. */
static int cando_data(struct trace_pstate *ps, const char *s, size_t len, size_t e,
                      uint8_t *data, struct sim_diag *d)
{
  int n = 0;
  while (e < len) {
    size_t i = e + 1, bad;
    e = i;
    while (e < len && s[e] != ',')
      e++;
    uint32_t v;
    if (e == i && e == len)
      break; /* a trailing comma */
    if (!parse_hex32(s, i, e, &v, &bad) || v > 255 || e - i > 2)
      return TRACE_ERR(ps, d, i, "CANdo CSV: bad data byte");
    if (n >= 8)
      return TRACE_ERR(ps, d, i, "CANdo CSV: more than 8 data bytes");
    data[n++] = (uint8_t)v;
  }
  return n;
}

static int cando_parse(struct trace_pstate *ps, const char *s, size_t len,
                       struct trace_record *rec, struct sim_diag *d)
{
  len = rtrim(s, row_begin(rec, &s, len));
  if (!len)
    return 0;
  if (s[0] == '~') {
    ps->trailer = ps->have_header; /* a banner line after the rows opens the key section */
    return 0;
  }
  if (!ps->have_header) {
    if (len >= 5 && !strncmp(s, "TYPE,", 5)) {
      ps->have_header = true;
      return 0;
    }
    int64_t ns;
    if (banner_time(s, len, &ns))
      ps->start_ns = ns;
    if (len < 4 || s[0] != 'R' || s[1] != 'D')
      return 0; /* banner lines before the header */
  }
  const char *comma = memchr(s, ',', len);
  if (!comma || comma - s != 4 || (s[0] != 'R' && s[0] != 'T') || (s[1] != 'D' && s[1] != 'R') ||
      !((s[2] == '1' && s[3] == '1') || (s[2] == '2' && s[3] == '9'))) {
    if (ps->trailer)
      return 0; /* the key section and the adapter banner after the rows: text */
    if (len >= 2 && !strncmp(s, "EF", 2) && (len == 2 || s[2] == ','))
      return 0; /* error frame marker: no content in these logs */
    return TRACE_ERR(ps, d, 0, "CANdo CSV: expected RD11/RR11/TD11/TR11/RD29... rows");
  }
  const char *semi = memchr(s, ';', len);
  if (semi && s[0] == 'T') {
    rec_named(rec, TRACE_REC_COMMENT, "note", 4, s, (size_t)(semi - s) + 1, len);
    size_t te = 5;
    while (te < len && s[te] != ',')
      te++;
    int64_t ts;
    if (trace_parse_time(s + 5, te - 5, false, &ts) == te - 5)
      rec_set_ts(rec, ps->start_ns + ts, ps->start_ns == 0);
    return 1;
  }
  struct sim_frame *f = &rec->frame;
  if (s[0] == 'T')
    f->flags |= SIM_CAN_F_TX;
  if (s[1] == 'R')
    f->flags |= SIM_CAN_F_RTR;
  bool ext = s[2] == '2';
  if (ext)
    f->flags |= SIM_CAN_F_EXT;
  size_t i = 5, e = i;
  while (e < len && s[e] != ',')
    e++;
  int64_t ts;
  if (trace_parse_time(s + i, e - i, false, &ts) != e - i || e == i)
    return TRACE_ERR(ps, d, i, "CANdo CSV: bad time");
  i = e + 1;
  e = i;
  while (e < len && s[e] != ',')
    e++;
  uint32_t id;
  size_t bad;
  if (!parse_hex32(s, i, e, &id, &bad) || !canid_ok(id, ext))
    return TRACE_ERR(ps, d, i, "CANdo CSV: bad id");
  f->id = id;
  int n = cando_data(ps, s, len, e, f->data, d);
  if (n < 0)
    return n;
  f->len = (uint8_t)n;
  rec_set_ts(rec, ps->start_ns + ts, ps->start_ns == 0);
  return rec_frame_done(ps, rec);
}

const struct trace_format trace_fmt_cando = {
  .name = "cando-csv",
  .caps = TRACE_CAP_READ | TRACE_CAP_TX | TRACE_CAP_RTR,
  .parse = cando_parse,
  .detect = cando_detect,
  .exts = ".cando.csv",
  .desc = "Netronics CANdo CSV (Tesla Roadster logs): RD11,0.0181,100,88,0,3,0,FF,FF,46",
};

/* ---- annotated text ---- */

static int ann_detect(const char *s, size_t len)
{
  size_t i = skip_blank(s, len, 0);
  int64_t ns;
  size_t n = trace_parse_time(s + i, len - i, false, &ns);
  if (!n || i < 6)
    return 0; /* right-aligned time: many leading blanks */
  size_t j = skip_blank(s, len, i + n);
  if (len - j >= 4 && !strncmp(s + j, "NOTE", 4))
    return 4;
  size_t e = token_end(s, len, j);
  uint32_t id;
  size_t bad;
  if (e - j != 3 || !parse_hex32(s, j, e, &id, &bad))
    return 0;
  /* a byte, then the annotation arrow or a wide gap */
  if (memmem(s, len, "->", 2) || memmem(s, len, "      ", 6))
    return 1;
  return 0;
}

static int ann_line(struct trace_pstate *ps, const char *s, size_t len, size_t i,
                    struct trace_record *rec, struct sim_diag *d)
{
  int64_t ts;
  size_t n = trace_parse_time(s + i, len - i, false, &ts);
  if (!n)
    return TRACE_ERR(ps, d, i, "Roadster log: expected a time in seconds");
  rec_set_ts(rec, ts, true);
  i = skip_blank(s, len, i + n);
  if (len - i >= 4 && !strncmp(s + i, "NOTE", 4))
    return rec_comment(rec, "NOTE", s, i + 4, len);
  size_t e = token_end(s, len, i);
  uint32_t id;
  size_t bad;
  if (e - i != 3 || !parse_hex32(s, i, e, &id, &bad) || id > SIM_CAN_SFF_MASK)
    return TRACE_ERR(ps, d, i, "Roadster log: expected a 3-digit hex id");
  struct sim_frame *f = &rec->frame;
  f->id = id;
  i = e;
  int nb = 0;
  /* bytes follow, each after exactly one space; more spaces start the annotation */
  while (i + 3 <= len && s[i] == ' ' && s[i + 1] != ' ') {
    int hi = sim_hex_digit(s[i + 1]), lo = sim_hex_digit(s[i + 2]);
    if (hi < 0 || lo < 0 || (i + 3 < len && s[i + 3] != ' '))
      break;
    if (nb >= 8)
      return TRACE_ERR(ps, d, i + 1, "Roadster log: more than 8 data bytes");
    f->data[nb++] = (uint8_t)(hi << 4 | lo);
    i += 3;
  }
  f->len = (uint8_t)nb;
  return rec_frame_done(ps, rec);
}

static int ann_parse(struct trace_pstate *ps, const char *s, size_t len,
                     struct trace_record *rec, struct sim_diag *d)
{
  return line_parse(ps, s, len, rec, d, ann_line);
}

const struct trace_format trace_fmt_roadster = {
  .name = "roadster-txt",
  .caps = TRACE_CAP_READ,
  .parse = ann_parse,
  .detect = ann_detect,
  .exts = ".roadster.txt",
  .desc = "Tesla Roadster annotated log: 0.0181 100 88 00 03 00 FF FF 46  ->VDS ...",
};
