/*
 * fmt_crtd.c - the OVMS CRTD log format (the firmware's canformat_crtd::get() and put() in
 * vehicle/OVMS.V3/components/can/src/canformat_crtd.cpp), as a pure codec.
 *
 *   1632509059.622841 CXX OVMS CRTD                     header (no bus digit)
 *   1632509059.622841 CVR 3.1                           version
 *   1632509059.622841 2R11 5C5 84 01 06 83 00 0c 00 00  received 11-bit frame on bus 2
 *   1724333002.811200 2R29 18DAF110 10 14 62 f1 90      received 29-bit frame
 *   1724333002.801000 1T11 7DF 02 01 0d                 transmitted by the module
 *   1632426775.937399 1CXX Info Type:vfs Format:crtd    comment / info text
 *   1632426790.120000 1CEV Event vehicle.charge.start   event
 *   1724333002.900000 1CMT Metric { "name": "v.b.soc", "value": 85, "unit": "%" }
 *   1724333003.000001 1CER TX_Fail T11 7DF 02 01 0d     error (TX_Queue, TX_Fail, Error)
 *   1724333003.000002 1CST Status intr=1042 rxpkt=1000  statistics
 *   1724333003.000003 CBC 1 500000 / CDP / CDR / CFC / CFA <filter>   control lines (ignored)
 *   # comment                                           accepted (the e-Golf fixture has them)
 *
 * Facts from openvehicles/Open-Vehicle-Monitoring-System-3
 * vehicle/OVMS.V3/components/can/src/canformat_crtd.cpp: ids are
 * upper-case hex (3 or 8 digits), data bytes lower-case, one space before each; the bus digit
 * is the 0-based bus number + 1.  The reader accepts either case.  Frames with more than 8
 * bytes are read as CAN FD (the firmware never writes them).  A CEV/CMT record becomes an
 * EVENT/METRIC record here; the replay layer raises/sets them.
 */
#include <string.h>

#include "trace/codec.h"

static bool is_digit(char c)
{
  return c >= '0' && c <= '9';
}

static int detect(const char *s, size_t len)
{
  if (len >= 1 && s[0] == '#')
    return 0; /* neutral */
  int64_t ns;
  size_t n = trace_parse_time(s, len, false, &ns);
  if (!n || n >= len || !is_blank(s[n]))
    return 0;
  size_t i = skip_blank(s, len, n);
  if (i < len && is_digit(s[i]))
    i++;
  if (i + 3 > len)
    return 0;
  const char *t = s + i;
  if (!strncmp(t, "R11", 3) || !strncmp(t, "R29", 3) || !strncmp(t, "T11", 3) ||
      !strncmp(t, "T29", 3))
    return 2;
  if (!strncmp(t, "CXX", 3) || !strncmp(t, "CVR", 3) || !strncmp(t, "CEV", 3) ||
      !strncmp(t, "CMT", 3) || !strncmp(t, "CER", 3) || !strncmp(t, "CST", 3))
    return 4;
  return 0;
}

/* Finds "key": in a flat JSON object text and returns the value's extent. */
static bool json_member(const char *s, size_t len, const char *key, size_t *vs, size_t *ve)
{
  size_t kl = strlen(key);
  for (size_t i = 0; i + kl + 2 <= len; i++) {
    if (s[i] != '"' || strncmp(s + i + 1, key, kl) || s[i + 1 + kl] != '"')
      continue;
    size_t j = skip_blank(s, len, i + kl + 2);
    if (j >= len || s[j] != ':')
      continue;
    j = skip_blank(s, len, j + 1);
    if (j >= len)
      return false;
    size_t k = j;
    if (s[k] == '"') {
      for (k++; k < len && s[k] != '"'; k++)
        if (s[k] == '\\')
          k++;
      if (k >= len)
        return false;
      k++;
    } else if (s[k] == '[' || s[k] == '{') {
      int depth = 0;
      bool instr = false;
      for (; k < len; k++) {
        char c = s[k];
        if (instr) {
          if (c == '\\')
            k++;
          else if (c == '"')
            instr = false;
          continue;
        }
        if (c == '"')
          instr = true;
        else if (c == '[' || c == '{')
          depth++;
        else if ((c == ']' || c == '}') && --depth == 0) {
          k++;
          break;
        }
      }
      if (depth)
        return false;
    } else {
      while (k < len && s[k] != ',' && s[k] != '}' && !is_blank(s[k]))
        k++;
    }
    *vs = j;
    *ve = k;
    return k > j;
  }
  return false;
}

static int parse_frame(struct trace_pstate *ps, const char *s, size_t len, size_t i, char dir,
                       bool ext, struct trace_record *rec, struct sim_diag *d)
{
  struct sim_frame *f = &rec->frame;
  i = skip_blank(s, len, i);
  size_t ids = i;
  i = token_end(s, len, i);
  uint32_t id;
  size_t bad;
  if (!parse_hex32(s, ids, i, &id, &bad))
    return TRACE_ERR(ps, d, bad, "CRTD: bad CAN id");
  if (!canid_ok(id, ext))
    return TRACE_ERR(ps, d, ids, "CRTD: id %X out of range for %s", id, ext ? "R29" : "R11");
  f->id = id;
  if (ext)
    f->flags |= SIM_CAN_F_EXT;
  if (dir == 'T')
    f->flags |= SIM_CAN_F_TX;
  size_t stop;
  int nb = trace_parse_bytes(s, len, i, f->data, 64, &stop);
  if (nb < 0)
    return TRACE_ERR(ps, d, stop, "CRTD: more than 64 data bytes");
  if (stop < len)
    return TRACE_ERR(ps, d, stop, "CRTD: data bytes must be two hex digits each");
  if (nb > 8) {
    if (sim_can_dlc2len(sim_can_len2dlc((uint8_t)nb)) != nb)
      return TRACE_ERR(ps, d, ids, "CRTD: %d is not a valid CAN FD length", nb);
    f->flags |= SIM_CAN_F_FD;
  }
  f->len = (uint8_t)nb;
  return rec_frame_done(ps, rec);
}

/* "CEV Event <name> [data]" from s[ns0..len) on. */
static int parse_event(struct trace_pstate *ps, const char *s, size_t len, size_t ns0,
                       struct trace_record *rec, struct sim_diag *d)
{
  if (len - ns0 >= 5 && !strncmp(s + ns0, "Event", 5) && (len - ns0 == 5 || is_blank(s[ns0 + 5])))
    ns0 = skip_blank(s, len, ns0 + 5);
  size_t ne = token_end(s, len, ns0);
  if (ne == ns0)
    return TRACE_ERR(ps, d, ns0, "CRTD: CEV record without an event name");
  rec->kind = TRACE_REC_EVENT;
  rec->name = s + ns0;
  rec->name_len = ne - ns0;
  size_t ds = skip_blank(s, len, ne);
  rec->text = s + ds;
  rec->text_len = len - ds;
  return 1;
}

/* "CMT Metric { "name": ..., "value": ..., "unit": ... }" from s[js..len) on. */
static int parse_metric(struct trace_pstate *ps, const char *s, size_t len, size_t js,
                        struct trace_record *rec, struct sim_diag *d)
{
  if (len - js >= 6 && !strncmp(s + js, "Metric", 6))
    js = skip_blank(s, len, js + 6);
  if (js >= len || s[js] != '{')
    return TRACE_ERR(ps, d, js, "CRTD: CMT record: expected a JSON object");
  size_t ns0, ne, vs, ve;
  if (!json_member(s + js, len - js, "name", &ns0, &ne) || s[js + ns0] != '"' || ne - ns0 < 3)
    return TRACE_ERR(ps, d, js, "CRTD: CMT record without a \"name\" string");
  if (!json_member(s + js, len - js, "value", &vs, &ve))
    return TRACE_ERR(ps, d, js, "CRTD: CMT record without a \"value\"");
  rec->kind = TRACE_REC_METRIC;
  rec->name = s + js + ns0 + 1;
  rec->name_len = ne - ns0 - 2;
  rec->text = s + js + vs;
  rec->text_len = ve - vs;
  size_t us, ue;
  if (json_member(s + js, len - js, "unit", &us, &ue) && s[js + us] == '"') {
    rec->unit = s + js + us + 1;
    rec->unit_len = ue - us - 2;
  }
  return 1;
}

static int parse_full(struct trace_pstate *ps, const char *s, size_t len, size_t i,
                      struct trace_record *rec, struct sim_diag *d)
{
  if (s[i] == '#')
    return rec_comment(rec, "#", s, i + 1, len);
  int64_t ts;
  size_t n = parse_ts_prefix(ps, s, len, i, &ts);
  if (!n)
    return TRACE_ERR(ps, d, i, "CRTD: expected a timestamp (seconds.microseconds)");
  rec_set_ts(rec, ts, ts < INT64_C(100000000) * SIM_NS_PER_SEC);
  i += n;
  if (i >= len || !is_blank(s[i]))
    return TRACE_ERR(ps, d, i, "CRTD: expected a space after the timestamp");
  i = skip_blank(s, len, i);
  size_t rs = i;
  if (i < len && is_digit(s[i])) {
    if (s[i] == '0')
      return TRACE_ERR(ps, d, i, "CRTD: bus numbers start at 1");
    rec->frame.bus = (uint8_t)(s[i] - '0');
    rec_set_src(rec, s + i, 1);
    i++;
  }
  size_t te = token_end(s, len, i);
  if (te - i != 3)
    return TRACE_ERR(ps, d, rs, "CRTD: unknown record type");
  const char *t = s + i;
  size_t rest = skip_blank(s, len, te);
  if ((t[0] == 'R' || t[0] == 'T') && (!strncmp(t + 1, "11", 2) || !strncmp(t + 1, "29", 2))) {
    if (!rec->frame.bus)
      return TRACE_ERR(ps, d, rs, "CRTD: frame record without a bus number");
    return parse_frame(ps, s, len, te, t[0], t[1] == '2', rec, d);
  }
  if (!strncmp(t, "CXX", 3) || !strncmp(t, "CVR", 3))
    return rec_named(rec, TRACE_REC_COMMENT, t, 3, s, rest, len);
  if (!strncmp(t, "CEV", 3))
    return parse_event(ps, s, len, rest, rec, d);
  if (!strncmp(t, "CMT", 3))
    return parse_metric(ps, s, len, rest, rec, d);
  if (!strncmp(t, "CER", 3) || !strncmp(t, "CST", 3))
    return rec_named(rec, TRACE_REC_STATUS, t, 3, s, rest, len);
  if (!strncmp(t, "CBC", 3) || !strncmp(t, "CDP", 3) || !strncmp(t, "CDR", 3) ||
      !strncmp(t, "CFC", 3) || !strncmp(t, "CFA", 3))
    return 0;
  return TRACE_ERR(ps, d, rs, "CRTD: unknown record type '%.3s'", t);
}

/*
 * The fast path of parse() for the frame line the firmware and write() emit:
 * "1724333002.811100 1R11 1DB 01 23 45 67 89 ab cd ef" -- a time with a fraction, one blank,
 * bus 1..9, R/T 11/29, a 3- or 8-digit id, up to 8 bytes each after one blank, nothing else.
 * One pass; returns 1 with rec filled as parse() fills it, or 0 for any other line (parse()
 * decides).
 */
static int parse_quick(struct trace_pstate *ps, const char *s, size_t len,
                       struct trace_record *rec)
{
  len = rtrim(s, len);
  size_t i = 0;
  int64_t ts;
  if (!q_time(s, len, &i, &ts) || i + 9 > len || s[i] != ' ' || s[i + 1] < '1' ||
      s[i + 1] > '9' || (s[i + 2] != 'R' && s[i + 2] != 'T') || s[i + 5] != ' ')
    return 0;
  bool ext = s[i + 3] == '2' && s[i + 4] == '9';
  if (!ext && !(s[i + 3] == '1' && s[i + 4] == '1'))
    return 0;
  size_t bs = i + 1, is = i + 6, ie = is + (ext ? 8 : 3);
  uint32_t id;
  if (ie > len || (ie < len && s[ie] != ' ') || !q_hexn(s + is, ie - is, &id) ||
      !canid_ok(id, ext))
    return 0;
  size_t n = (len - ie) / 3;
  if (len - ie != 3 * n || n > 8 || (n && !q_bytes(s + ie + 1, (unsigned)n, ' ', rec->frame.data)))
    return 0;
  struct sim_frame *f = rec_quick_frame(rec, id, ext_tx_flags(ext, s[bs + 1] == 'T'), (unsigned)n);
  f->bus = (uint8_t)(s[bs] - '0');
  rec->src[0] = s[bs];
  rec->src[1] = 0;
  rec_set_ts(rec, ts, ts < INT64_C(100000000) * SIM_NS_PER_SEC);
  return rec_frame_done(ps, rec);
}

TRACE_PARSE_QUICK_FIRST(parse, parse_quick, parse_full)

/* The bus digit of a record: its bus 1..9, else its label when that is one digit, else 1. */
static char bus_digit(const struct trace_record *rec)
{
  unsigned b = rec->frame.bus;
  if (!b && rec->src[0] >= '1' && rec->src[0] <= '9' && !rec->src[1])
    b = (unsigned)(rec->src[0] - '0');
  return (char)('0' + (b >= 1 && b <= 9 ? b : 1));
}

static void put_prefix(struct sbuf *out, const struct trace_record *rec, bool bus)
{
  trace_put_time(out, rec->ts, 6);
  sbuf_addc(out, ' ');
  if (bus)
    sbuf_addc(out, bus_digit(rec));
}

/* A frame line, through one reservation: "<time> <bus>R11 <id> <bytes>". */
static int write_frame(struct trace_wstate *ws, const struct trace_record *rec, struct sbuf *out)
{
  const struct sim_frame *f = &rec->frame;
  if (f->flags & (SIM_CAN_F_ERR | SIM_CAN_F_RTR))
    return SIM_EUNSUP;
  bool ext = f->flags & SIM_CAN_F_EXT;
  /* at most: 32 time, 6, 9 id, 64 bytes of 3, the line end */
  char *p = put_begin(out, 50 + 3u * SIM_CAN_MAX_DLEN);
  p = p_time_ws(ws, p, rec->ts, 6);
  p[0] = ' ';
  p[1] = bus_digit(rec);
  p[2] = f->flags & SIM_CAN_F_TX ? 'T' : 'R';
  p = ext ? P_LIT(p + 3, "29 ") : P_LIT(p + 3, "11 ");
  p = p_hexn(p, f->id, ext ? 8 : 3, true);
  p = p_byte_list(p, f->data, f->len, false); /* lowercase, as HexByte() */
  return p_line_done(ws, out, p);
}

static int write(struct trace_wstate *ws, const struct trace_record *rec, struct sbuf *out)
{
  switch (rec->kind) {
  case TRACE_REC_FRAME:
    return write_frame(ws, rec, out);
  case TRACE_REC_EVENT:
    put_prefix(out, rec, true);
    sbuf_adds(out, "CEV Event ");
    sbuf_add(out, rec->name, rec->name_len);
    if (rec->text_len) {
      sbuf_addc(out, ' ');
      sbuf_add(out, rec->text, rec->text_len);
    }
    break;
  case TRACE_REC_METRIC:
    put_prefix(out, rec, true);
    sbuf_adds(out, "CMT Metric { \"name\": \"");
    sbuf_add(out, rec->name, rec->name_len);
    sbuf_adds(out, "\", \"value\": ");
    if (rec->text_len)
      sbuf_add(out, rec->text, rec->text_len);
    else
      sbuf_adds(out, "null");
    sbuf_adds(out, ", \"unit\": \"");
    sbuf_add(out, rec->unit, rec->unit_len);
    sbuf_adds(out, "\" }");
    break;
  case TRACE_REC_COMMENT:
    if (rec->name_len == 1 && rec->name[0] == '#') {
      sbuf_adds(out, "# ");
    } else {
      bool cvr = rec->name_len == 3 && !strncmp(rec->name, "CVR", 3);
      put_prefix(out, rec, rec->frame.bus != 0 || (rec->src[0] && !cvr));
      sbuf_adds(out, cvr ? "CVR " : "CXX ");
    }
    sbuf_add(out, rec->text, rec->text_len);
    break;
  case TRACE_REC_STATUS:
    put_prefix(out, rec, true);
    if (rec->name_len == 3 && !strncmp(rec->name, "CST", 3))
      sbuf_adds(out, "CST ");
    else
      sbuf_adds(out, "CER ");
    sbuf_add(out, rec->text, rec->text_len);
    break;
  default:
    return SIM_EUNSUP;
  }
  return line_done(ws, out);
}

static int header(struct trace_wstate *ws, const struct trace_record *first, struct sbuf *out)
{
  if (first && first->kind == TRACE_REC_COMMENT && first->text_len >= 9 &&
      !strncmp(first->text, "OVMS CRTD", 9))
    return 0; /* the input's own header is copied */
  int64_t ts = first ? first->ts : 0;
  trace_put_time(out, ts, 6);
  sbuf_adds(out, " CXX OVMS CRTD\n");
  trace_put_time(out, ts, 6);
  sbuf_adds(out, " CVR 3.1\n");
  return 0;
}

const struct trace_format trace_fmt_crtd = {
  .name = "crtd",
  .caps = TRACE_CAP_READ | TRACE_CAP_WRITE | TRACE_CAP_FD | TRACE_CAP_TX | TRACE_CAP_EVENTS |
          TRACE_CAP_ABSTIME,
  .parse = parse, .write = write,
  .header = header,
  .detect = detect,
  .exts = ".crtd",
  .desc = "OVMS CRTD: 1724333002.811100 1R11 7E8 03 41 0d 3c (plus CEV/CMT/CXX/CER/CST)",
};
