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

/* Appends an unsigned decimal number. */
static inline void put_u64(struct sbuf *out, uint64_t v)
{
  char tmp[24];
  int n = 0;
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  sbuf_reserve(out, (size_t)n);
  while (n)
    out->p[out->len++] = tmp[--n];
  out->p[out->len] = 0;
}

/* Appends v as exactly `digits` hex digits (uppercase or lowercase). */
static inline void put_hexn(struct sbuf *out, uint32_t v, int digits, bool upper)
{
  const char *hx = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  sbuf_reserve(out, (size_t)digits);
  for (int k = digits - 1; k >= 0; k--)
    out->p[out->len++] = hx[(v >> (4 * k)) & 0xF];
  out->p[out->len] = 0;
}

/* Appends v in hex without leading zeros (at least one digit). */
static inline void put_hex(struct sbuf *out, uint32_t v, bool upper)
{
  int digits = 1;
  while (digits < 8 && (v >> (4 * digits)))
    digits++;
  put_hexn(out, v, digits, upper);
}

/* Appends n bytes as " XX XX ..." (each preceded by a blank) in upper- or lowercase hex: the
 * data column of ASC, TRC, CRTD, candump screen output and the numbered export. */
static inline void put_byte_list(struct sbuf *out, const uint8_t *data, size_t n, bool upper)
{
  const char *hx = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  sbuf_reserve(out, 3 * n);
  char *p = out->p + out->len;
  for (size_t k = 0; k < n; k++) {
    *p++ = ' ';
    *p++ = hx[data[k] >> 4];
    *p++ = hx[data[k] & 15];
  }
  out->len += 3 * n;
  out->p[out->len] = 0;
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
  sbuf_addc(out, '\n');
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
