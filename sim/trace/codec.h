/*
 * codec.h - small inline helpers shared by the trace codecs (sim/trace/fmt_*.c): hex digits,
 * whitespace, fast number output.  Private to sim/trace; hand-written so that the hot parse
 * path does no allocation and calls no locale-aware library function.
 */
#ifndef SIM_TRACE_CODEC_H
#define SIM_TRACE_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/hex.h"
#include "core/loop.h"
#include "core/sbuf.h"
#include "trace/trace.h"


/* A column separator: blank, tab, or NUL (the USB-CAN analyser programs pad their export
 * columns with NUL bytes as well as blanks). */
static inline bool is_blank(char c)
{
  return c == ' ' || c == '\t' || c == '\0';
}

static inline size_t skip_blank(const char *s, size_t len, size_t i)
{
  while (i < len && is_blank(s[i]))
    i++;
  return i;
}

/* End of the token starting at i (first blank or end). */
static inline size_t token_end(const char *s, size_t len, size_t i)
{
  while (i < len && !is_blank(s[i]))
    i++;
  return i;
}

/* 3 when s starts with a UTF-8 byte order mark (as Windows editors write), else 0. */
static inline size_t utf8_bom_len(const char *s, size_t len)
{
  return len >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3) ? 3 : 0;
}

/* s without a leading UTF-8 BOM (*len shortened to match). */
static inline const char *skip_bom(const char *s, size_t *len)
{
  size_t b = utf8_bom_len(s, *len);
  *len -= b;
  return s + b;
}

/* Length without trailing '\r', blanks and NULs (CRLF, CR CR LF and NUL-padded lines). */
static inline size_t rtrim(const char *s, size_t len)
{
  while (len > 0 && (s[len - 1] == '\r' || is_blank(s[len - 1])))
    len--;
  return len;
}

/* The common start of a line parser: clears rec, drops trailing blanks and '\r' from the line
 * (*len) and returns the index of its first non-blank character (*len for a blank line). */
static inline size_t line_begin(struct trace_record *rec, const char *s, size_t *len)
{
  trace_record_clear(rec);
  *len = rtrim(s, *len);
  return skip_blank(s, *len, utf8_bom_len(s, *len));
}

/* Parses hex digits s[i..j) into *v (at most 8 digits).  Returns false when empty, too long
 * or not hex; *bad is set to the offending index. */
static inline bool parse_hex32(const char *s, size_t i, size_t j, uint32_t *v, size_t *bad)
{
  uint32_t x = 0;
  if (j <= i || j - i > 8) {
    *bad = i;
    return false;
  }
  for (size_t k = i; k < j; k++) {
    int h = sim_hex_digit(s[k]);
    if (h < 0) {
      *bad = k;
      return false;
    }
    x = (x << 4) | (uint32_t)h;
  }
  *v = x;
  return true;
}

/* Parses decimal digits s[i..j) into *v (no sign, < 2^31). */
static inline bool parse_dec32(const char *s, size_t i, size_t j, uint32_t *v, size_t *bad)
{
  uint64_t x = 0;
  if (j <= i || j - i > 10) {
    *bad = i;
    return false;
  }
  for (size_t k = i; k < j; k++) {
    if (s[k] < '0' || s[k] > '9') {
      *bad = k;
      return false;
    }
    x = x * 10 + (uint64_t)(s[k] - '0');
  }
  if (x > 0x7FFFFFFFu) {
    *bad = i;
    return false;
  }
  *v = (uint32_t)x;
  return true;
}

/*
 * Line output through a pointer: put_begin() makes room for at most max bytes and returns
 * where they go, the p_*() helpers write and return the position after what they wrote, and
 * put_end() takes the buffer's length from the final position.  One reservation per line
 * instead of one per character keeps the writers' hot path to plain stores.
 */
static inline char *put_begin(struct sbuf *out, size_t max)
{
  sbuf_reserve(out, max);
  return out->p + out->len;
}

static inline void put_end(struct sbuf *out, char *p)
{
  out->len = (size_t)(p - out->p);
  *p = 0;
}

/* n bytes of s (a literal: n is a constant, so this is a few stores). */
static inline char *p_mem(char *p, const char *s, size_t n)
{
  memcpy(p, s, n);
  return p + n;
}

#define P_LIT(p, lit) p_mem((p), (lit), sizeof(lit) - 1)

/* "00".."99" and "00".."FF" / "00".."ff": two digits per table load. */
#define CODEC_D10(a) a "0" a "1" a "2" a "3" a "4" a "5" a "6" a "7" a "8" a "9"
#define CODEC_HU(a) CODEC_D10(a) a "A" a "B" a "C" a "D" a "E" a "F"
#define CODEC_HL(a) CODEC_D10(a) a "a" a "b" a "c" a "d" a "e" a "f"
static const char codec_dec2[201] = CODEC_D10("0") CODEC_D10("1") CODEC_D10("2") CODEC_D10("3")
    CODEC_D10("4") CODEC_D10("5") CODEC_D10("6") CODEC_D10("7") CODEC_D10("8") CODEC_D10("9");
static const char codec_hexu2[513] = CODEC_HU("0") CODEC_HU("1") CODEC_HU("2") CODEC_HU("3")
    CODEC_HU("4") CODEC_HU("5") CODEC_HU("6") CODEC_HU("7") CODEC_HU("8") CODEC_HU("9")
    CODEC_HU("A") CODEC_HU("B") CODEC_HU("C") CODEC_HU("D") CODEC_HU("E") CODEC_HU("F");
static const char codec_hexl2[513] = CODEC_HL("0") CODEC_HL("1") CODEC_HL("2") CODEC_HL("3")
    CODEC_HL("4") CODEC_HL("5") CODEC_HL("6") CODEC_HL("7") CODEC_HL("8") CODEC_HL("9")
    CODEC_HL("a") CODEC_HL("b") CODEC_HL("c") CODEC_HL("d") CODEC_HL("e") CODEC_HL("f");

/* The number of decimal digits of v (at least one). */
static inline int dec_digits(uint64_t v)
{
  int n = 1;
  for (; v >= 100; v /= 100)
    n += 2;
  return n + (v >= 10);
}

/* The last n decimal digits of v (leading zeros when v is shorter). */
static inline char *p_decn(char *p, uint64_t v, int n)
{
  char *end = p + n, *q = end;
  while (q - p >= 2) {
    q -= 2;
    memcpy(q, codec_dec2 + 2 * (v % 100), 2);
    v /= 100;
  }
  if (q > p)
    *--q = (char)('0' + v % 10);
  return end;
}

/* An unsigned decimal number. */
static inline char *p_u64(char *p, uint64_t v)
{
  return p_decn(p, v, dec_digits(v));
}

/* v as exactly `digits` hex digits (uppercase or lowercase). */
static inline char *p_hexn(char *p, uint32_t v, int digits, bool upper)
{
  const char *hx = upper ? codec_hexu2 : codec_hexl2;
  char *end = p + digits, *q = end;
  while (q - p >= 2) {
    q -= 2;
    memcpy(q, hx + 2 * (v & 0xFF), 2);
    v >>= 8;
  }
  if (q > p)
    *--q = hx[2 * (v & 0xF) + 1];
  return end;
}

/* The number of hex digits of v without leading zeros (at least one). */
static inline int hex_digits(uint32_t v)
{
  return v ? (32 - __builtin_clz(v) + 3) / 4 : 1;
}

/* n bytes as " XX XX ..." (each preceded by a blank). */
static inline char *p_byte_list(char *p, const uint8_t *data, size_t n, bool upper)
{
  const char *hx = upper ? codec_hexu2 : codec_hexl2;
  for (size_t k = 0; k < n; k++) {
    p[0] = ' ';
    memcpy(p + 1, hx + 2 * data[k], 2);
    p += 3;
  }
  return p;
}

/* ns as seconds with `digits` (0..9) fraction digits, truncated: "-12.345678"; at most 31
 * bytes. */
static inline char *p_time(char *p, int64_t ns, int digits)
{
  uint64_t a;
  if (ns < 0) {
    *p++ = '-';
    a = (uint64_t)(-(ns + 1)) + 1;
  } else {
    a = (uint64_t)ns;
  }
  p = p_u64(p, a / 1000000000u);
  *p++ = '.';
  uint32_t frac = (uint32_t)(a % 1000000000u);
  if (digits == 6) /* the usual cases with constants: unrolled, no division instruction */
    return p_decn(p, frac / 1000u, 6);
  if (digits == 9)
    return p_decn(p, frac, 9);
  static const uint32_t cut[10] = {1000000000, 100000000, 10000000, 1000000, 100000,
                                   10000,      1000,      100,      10,      1};
  return p_decn(p, frac / cut[digits], digits);
}

/* Appends an unsigned decimal number. */
static inline void put_u64(struct sbuf *out, uint64_t v)
{
  put_end(out, p_u64(put_begin(out, 20), v));
}

/* Appends v as exactly `digits` hex digits (uppercase or lowercase). */
static inline void put_hexn(struct sbuf *out, uint32_t v, int digits, bool upper)
{
  put_end(out, p_hexn(put_begin(out, (size_t)digits), v, digits, upper));
}

/* Appends v in hex without leading zeros (at least one digit). */
static inline void put_hex(struct sbuf *out, uint32_t v, bool upper)
{
  put_hexn(out, v, hex_digits(v), upper);
}

/* Appends n bytes as " XX XX ..." (each preceded by a blank) in upper- or lowercase hex: the
 * data column of ASC, TRC, CRTD, candump screen output and the numbered export. */
static inline void put_byte_list(struct sbuf *out, const uint8_t *data, size_t n, bool upper)
{
  put_end(out, p_byte_list(put_begin(out, 3 * n), data, n, upper));
}

/* The time origin of a writer whose lines carry offsets (ASC, TRC), from its first record: the
 * whole second at or before an absolute time (the header then names a whole second), 0 for a
 * relative trace (or its first time when that is negative). */
static inline void ws_set_t0(struct trace_wstate *ws, const struct trace_record *first)
{
  ws->t0 = first->ts_relative ? (first->ts < 0 ? first->ts : 0)
                              : first->ts - first->ts % SIM_NS_PER_SEC;
  ws->have_t0 = true;
}

/* The CAN id as text in the usual width: 3 digits (11-bit) or 8 (29-bit). */
static inline void put_canid(struct sbuf *out, const struct sim_frame *f, bool upper)
{
  if (f->flags & SIM_CAN_F_EXT)
    put_hexn(out, f->id, 8, upper);
  else
    put_hexn(out, f->id, 3, upper);
}

/* Records an error at column col (0-based index + 1) of the current line. */
#define TRACE_ERR(ps, d, idx, ...) \
  sim_diag_error((d), (ps)->file, (ps)->line, (int)(idx) + 1, __VA_ARGS__)

/*
 * A leading timestamp at s[i..len): seconds with a fraction, negative ones read as relative
 * (trace_parse_time), others through the per-file cache (trace_parse_time_ps).  Returns its
 * length (0 when there is none) and sets *ts in ns.
 */
static inline size_t parse_ts_prefix(struct trace_pstate *ps, const char *s, size_t len, size_t i,
                                     int64_t *ts)
{
  return i < len && s[i] == '-' ? trace_parse_time(s + i, len - i, true, ts)
                                : trace_parse_time_ps(ps, s + i, len - i, ts);
}

/* Makes rec a record of kind (COMMENT, STATUS...) named by the name_len bytes at name, with
 * the text s[from..len) (all borrowed).  Returns 1 (a record). */
static inline int rec_named(struct trace_record *rec, enum trace_rec_kind kind, const char *name,
                            size_t name_len, const char *s, size_t from, size_t len)
{
  rec->kind = kind;
  rec->name = name;
  rec->name_len = name_len;
  rec->text = s + from;
  rec->text_len = len - from;
  return 1;
}

/* Makes rec a COMMENT record named name (borrowed) whose text is s[from..len) without its
 * leading blanks.  Returns 1 (a record). */
static inline int rec_comment(struct trace_record *rec, const char *name, const char *s,
                              size_t from, size_t len)
{
  return rec_named(rec, TRACE_REC_COMMENT, name, strlen(name), s, skip_blank(s, len, from), len);
}

/* Sets the TX flag for a "Tx" token s[i..e), accepts "Rx"; false for anything else. */
static inline bool rx_tx(const char *s, size_t i, size_t e, struct sim_frame *f)
{
  if (e - i == 2 && !strncmp(s + i, "Tx", 2)) {
    f->flags |= SIM_CAN_F_TX;
    return true;
  }
  return e - i == 2 && !strncmp(s + i, "Rx", 2);
}

/* Validates id range for the flags: an 11-bit id must be <= 0x7FF. */
static inline bool canid_ok(uint32_t id, bool ext)
{
  return ext ? id <= SIM_CAN_EFF_MASK : id <= SIM_CAN_SFF_MASK;
}

/* Sets record timing fields and the frame time together. */
static inline void rec_set_ts(struct trace_record *rec, int64_t ts, bool relative)
{
  rec->ts = ts;
  rec->ts_relative = relative;
  rec->frame.ts = ts;
}

/* A frame of a format without times: ps->untimed_period after the previous one. */
static inline void rec_set_untimed(struct trace_pstate *ps, struct trace_record *rec)
{
  if (ps->nframes)
    ps->last_ts += ps->untimed_period;
  rec_set_ts(rec, ps->last_ts, true);
  rec->untimed = true;
}

/* The time of a frame in a format whose time column is optional: ts when the line had one
 * (timed), else ps->untimed_period after the previous frame. */
static inline void rec_set_ts_opt(struct trace_pstate *ps, struct trace_record *rec, bool timed,
                                  int64_t ts, bool relative)
{
  if (timed)
    rec_set_ts(rec, ts, relative);
  else
    rec_set_untimed(ps, rec);
}

/* The end of a frame line's parse: rec becomes a FRAME record, counted in ps.  Returns 1 (a
 * record), the parse() result. */
static inline int rec_frame_done(struct trace_pstate *ps, struct trace_record *rec)
{
  rec->kind = TRACE_REC_FRAME;
  ps->nframes++;
  return 1;
}

/* The end of a written line: appends the line end and counts the record in ws.  Returns 0,
 * the write() result. */
static inline int line_done(struct trace_wstate *ws, struct sbuf *out)
{
  put_end(out, P_LIT(put_begin(out, 1), "\n"));
  ws->n++;
  return 0;
}

/* Copies a bus label into rec->src (truncated). */
static inline void rec_set_src(struct trace_record *rec, const char *s, size_t n)
{
  if (n >= TRACE_SRC_MAX)
    n = TRACE_SRC_MAX - 1;
  for (size_t k = 0; k < n; k++)
    rec->src[k] = s[k];
  rec->src[n] = 0;
}

/* The label s[0, n) as a number: its first (up to) 8 bytes, zero-padded (little-endian). */
static inline uint64_t trace_src_key(const char *s, size_t n, size_t readable)
{
  uint64_t k = 0;
  if (readable >= 8 && n <= 8) {
    memcpy(&k, s, 8);
    if (n < 8)
      k &= (UINT64_C(1) << (8 * n)) - 1;
    return k;
  }
  for (size_t i = 0; i < n && i < 8; i++)
    k |= (uint64_t)(unsigned char)s[i] << (8 * i);
  return k;
}

/*
 * The hot path of the interface-label formats: copies the label s[0, n) into rec->src and
 * returns its bus number (trace_src_bus); readable is how many bytes at s may be read (the
 * rest of the line), which lets a short label be handled with one 8-byte load.
 */
static inline uint8_t rec_src_bus(struct trace_pstate *ps, struct trace_record *rec,
                                  const char *s, size_t n, size_t readable)
{
  if (n <= 8) {
    uint64_t key = trace_src_key(s, n, readable);
    memcpy(rec->src, &key, 8);
    rec->src[n] = 0;
    for (int i = 0; i < ps->nsrcs; i++)
      if (ps->srcs_key[i] == key && ps->srcs_len[i] == n)
        return (uint8_t)(i + 1);
  } else {
    rec_set_src(rec, s, n);
  }
  return trace_src_bus(ps, s, n);
}

/* Parses a list of hex byte tokens separated by blanks from s[i..len) into f->data; stops at
 * the first token that is not a hex byte (its index in *stop).  Returns the byte count, or -1
 * when more than max bytes were found. */
int trace_parse_bytes(const char *s, size_t len, size_t i, uint8_t *data, int max, size_t *stop);

/*
 * The payload of a frame line whose length dl is already known: for a remote request (rtr)
 * only the length, else exactly dl hex bytes from s[i..len) into f->data (and, when whole,
 * nothing after them).  Returns 0, or SIM_EPARSE with "<what>: expected <dl> data bytes" at
 * the offending column in d.
 */
int trace_parse_payload(struct trace_pstate *ps, const char *s, size_t len, size_t i, uint32_t dl,
                        bool rtr, bool whole, const char *what, struct sim_frame *f,
                        struct sim_diag *d);

/* Appends the interface name for rec: its own label when that is a name ("vcan0"), else
 * can<bus-1> (fmt_candump.c). */
void trace_put_ifname(struct sbuf *out, const struct trace_record *rec);

#endif
