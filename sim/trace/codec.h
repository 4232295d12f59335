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

/* The start of a row parser of a table export: rec cleared, *s moved past a UTF-8 BOM (the
 * columns of a first line with one count after it).  Returns the length from there. */
static inline size_t row_begin(struct trace_record *rec, const char **s, size_t len)
{
  trace_record_clear(rec);
  *s = skip_bom(*s, &len);
  return len;
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

/* A line format's parser of a line that is not blank: s[0, len) without its trailing blanks,
 * i the index of its first non-blank character, rec cleared.  Returns as parse() does. */
typedef int trace_line_fn(struct trace_pstate *ps, const char *s, size_t len, size_t i,
                          struct trace_record *rec, struct sim_diag *d);

/* The parse() of a line format (line_begin): 0 for a blank line (nothing), else the result of
 * the format's line(ps, s, len, i, rec, d). */
static inline int line_parse(struct trace_pstate *ps, const char *s, size_t len,
                             struct trace_record *rec, struct sim_diag *d, trace_line_fn *line)
{
  size_t i = line_begin(rec, s, &len);
  return i == len ? 0 : line(ps, s, len, i, rec, d);
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
 * The fraction digits at s[i..e) (those after a '.') as a number of `digits` digits: the first
 * `digits` kept, any more ignored, fewer scaled up ("5" of 6 digits is 500000), into *frac.
 * Returns the index after the digits (i when there is none).
 */
static inline size_t parse_frac(const char *s, size_t i, size_t e, int digits, int64_t *frac)
{
  int64_t v = 0;
  int n = 0;
  for (; i < e && s[i] >= '0' && s[i] <= '9'; i++)
    if (n < digits) {
      v = v * 10 + (s[i] - '0');
      n++;
    }
  for (; n < digits; n++)
    v *= 10;
  *frac = v;
  return i;
}

/* Bit mask of the bytes among the 8 at p that are not decimal digits (0 = all digits). */
static inline uint64_t nondigits8(const char *p)
{
  uint64_t w;
  memcpy(&w, p, 8);
  return ((w & UINT64_C(0xF0F0F0F0F0F0F0F0)) ^ UINT64_C(0x3030303030303030)) |
         (((w & UINT64_C(0x0F0F0F0F0F0F0F0F)) + UINT64_C(0x0606060606060606)) &
          UINT64_C(0x1010101010101010));
}

/* The value of the 8 decimal digits loaded into w (first digit in the low byte; known to
 * be digits; zero bytes count as leading zeros): 3 multiplications (SWAR). */
static inline uint64_t digits8(uint64_t w)
{
  uint64_t v = w & UINT64_C(0x0F0F0F0F0F0F0F0F);
  v = (v * 2561) >> 8;
  v = ((v & UINT64_C(0x00FF00FF00FF00FF)) * 6553601) >> 16;
  return ((v & UINT64_C(0x0000FFFF0000FFFF)) * UINT64_C(42949672960001)) >> 32;
}

/*
 * The time stamp candump writes, at s[0, 20) (20 readable bytes): "(" 10 digits "." 6 digits
 * ") ", with seconds up to 9223372029 (10 digits compare as text): a bound a little below the
 * int64 limit of ns, which trace_parse_time() checks exactly; the few seconds above it go to the
 * full parse.  The seconds' value is digits8(s + 1) * 100 + digits8(s + 3) % 100.
 */
static inline bool candump_stamp20(const char *s)
{
  if (s[0] != '(' || nondigits8(s + 1) || (nondigits8(s + 3) >> 48) || s[11] != '.' ||
      (nondigits8(s + 12) & UINT64_C(0x0000FFFFFFFFFFFF)) || s[18] != ')' || s[19] != ' ')
    return false;
  return !(s[1] == '9' && memcmp(s + 1, "9223372029", 10) > 0);
}

#define B8(x) (UINT64_C(0x0101010101010101) * (x)) /* the byte x in each of 8 */

/* The index of the first byte below '!' (blank, control, line end) among the 8 in w (first
 * in the low byte), 8 when there is none.  (The lowest flagged byte is exact: a borrow only
 * flags bytes above a byte that is below '!'.) */
static inline unsigned first_ctl8(uint64_t w)
{
  uint64_t m = (w - B8(0x21)) & ~w & B8(0x80);
  return m ? (unsigned)__builtin_ctzll(m) / 8 : 8;
}

/* 16 bytes as a vector (GCC / Clang vector extensions: SSE2 on x86-64, NEON on ARM, plain
 * code elsewhere); a comparison gives -1 in each lane where it holds, 0 elsewhere. */
typedef signed char v16 __attribute__((vector_size(16)));

static inline v16 v16_load(const char *p)
{
  v16 v;
  memcpy(&v, p, 16);
  return v;
}

/* Whether every lane of the comparison result m holds. */
static inline bool v16_all(v16 m)
{
  uint64_t a[2];
  memcpy(a, &m, 16);
  return (a[0] & a[1]) == ~UINT64_C(0);
}

/* The lanes of v that are decimal digits (a byte above 0x7F is negative: none). */
static inline v16 v16_digits(v16 v)
{
  return (v16)((v > '0' - 1) & ((v16){0} + '9' + 1 > v));
}

/* The lanes of v that are uppercase hex digits. */
static inline v16 v16_hexu(v16 v)
{
  return (v16)(v16_digits(v) | ((v > 'A' - 1) & ((v16){0} + 'F' + 1 > v)));
}

/* Whether the first e (0..16) of the 16 bytes in v are uppercase hex digits. */
static inline bool v16_hexu_first(v16 v, int e)
{
  static const v16 lane = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  v16 ok = v16_hexu(v);
  if (e < 16) /* (8 bytes, the usual: no mask) */
    ok |= (v16)(lane >= (signed char)e); /* the lanes past them hold */
  return v16_all(ok);
}

/*
 * The end of the data of a candump line read ahead in a buffer (17 readable bytes at dat):
 * the index e (0..16, even) of the '\n' that ends 0..8 hex pairs, found as the first byte
 * below '!' (e = 16 without a search when dat[16] is the '\n'); -1 when the line does not end
 * there with a '\n' (a CR, a blank, more text: the general path).  Whether the e bytes before
 * it are hex digits is the caller's test.
 */
static inline int candump_data_end(const char *dat)
{
  if (dat[16] == '\n')
    return 16;
  uint64_t r1, r2;
  memcpy(&r1, dat, 8);
  memcpy(&r2, dat + 8, 8);
  unsigned e = first_ctl8(r1);
  if (e == 8)
    e += first_ctl8(r2);
  if (e >= 16 || (e & 1) || dat[e] != '\n')
    return -1;
  return (int)e;
}

/*
 * The id of a frame as candump writes it, at id (left bytes readable, at least 4):
 * "<3 hex digits>#" with the first 0..7, or "<8 hex digits>#" with the first 0 or 1 (either
 * case).  Returns its length with the '#' (4 or 9) and sets *v and *flags (SIM_CAN_F_EXT for
 * 8 digits); 0 for any other text (error frames, ids out of range: the full parse).
 */
static inline size_t candump_id(const char *id, size_t left, uint32_t *v, uint16_t *flags)
{
  const uint8_t *hx = (const uint8_t *)sim_hex_digits;
  if (id[3] == '#' && id[0] >= '0' && id[0] <= '7') {
    unsigned h1 = hx[(unsigned char)id[1]], h2 = hx[(unsigned char)id[2]];
    if ((h1 | h2) & 0x80)
      return 0;
    *v = (uint32_t)(id[0] - '0') << 8 | h1 << 4 | h2;
    *flags = 0;
    return 4;
  }
  if (left < 9 || id[8] != '#' || (id[0] != '0' && id[0] != '1'))
    return 0;
  unsigned bad = 0, x = 0;
  for (int k = 0; k < 8; k++) {
    unsigned h = hx[(unsigned char)id[k]];
    bad |= h;
    x = x << 4 | (h & 15);
  }
  if (bad & 0x80)
    return 0;
  *v = x;
  *flags = SIM_CAN_F_EXT;
  return 9;
}

/*
 * Line output through a pointer: put_begin() makes room for at most max bytes and returns
 * where they go, the p_*() helpers write and return the position after what they wrote, and
 * put_end() takes the buffer's length from the final position.  One reservation per line
 * instead of one per character keeps the writers' hot path to plain stores.
 */
#define PUT_SLACK 8 /* room put_begin() leaves past max: the p_*() helpers' 8-byte stores */

static inline char *put_begin(struct sbuf *out, size_t max)
{
  if (out->len + max + PUT_SLACK >= out->cap) /* (the test inline: once a line) */
    sbuf_reserve(out, max + PUT_SLACK);
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
  static const uint64_t p10[20] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000,
                                   100000000, 1000000000, UINT64_C(10000000000),
                                   UINT64_C(100000000000), UINT64_C(1000000000000),
                                   UINT64_C(10000000000000), UINT64_C(100000000000000),
                                   UINT64_C(1000000000000000), UINT64_C(10000000000000000),
                                   UINT64_C(100000000000000000), UINT64_C(1000000000000000000),
                                   UINT64_C(10000000000000000000)};
  v |= 1; /* (0 has one digit; v | 1 has as many digits as v) */
  int t = ((64 - __builtin_clzll(v)) * 1233) >> 12; /* log10(2^bits), rounded down */
  return t + 1 - (v < p10[t]);
}

/*
 * The 8 decimal digits of v (< 10^8, leading zeros included) as the values 0..9 of 8 bytes,
 * the first digit in the low byte (SWAR: the halves of 4 digits, the quarters of 2, the
 * digits, each step a multiplication in every lane at once).
 */
static inline uint64_t dec8_lanes(uint32_t v)
{
  uint64_t x = v / 10000u | (uint64_t)(v % 10000u) << 32;           /* 2 lanes of < 10^4 */
  uint64_t q = ((x * 5243) >> 19) & UINT64_C(0x0000007F0000007F);      /* lane / 100 */
  x = q | (x - q * 100) << 16;                                         /* 4 lanes of < 100 */
  q = ((x * 103) >> 10) & UINT64_C(0x000F000F000F000F);                /* lane / 10 */
  return q | (x - q * 10) << 8;                                        /* 8 lanes of < 10 */
}

/*
 * The last n (1..8) decimal digits of v (< 10^8) at p: stores 8 bytes (the ones past the
 * n-th are zero), so p needs 8 bytes of room (put_begin() leaves PUT_SLACK past its max).
 */
static inline char *p_dec8n(char *p, uint32_t v, int n)
{
  uint64_t z = (dec8_lanes(v) | UINT64_C(0x3030303030303030)) >> (8 * (8 - n));
  memcpy(p, &z, 8);
  return p + n;
}

/* The last n decimal digits of v (leading zeros when v is shorter); stores up to 8 bytes
 * more than n (see p_dec8n) when n <= 9, else exactly n. */
static inline char *p_decn(char *p, uint64_t v, int n)
{
  if (n == 2) { /* (hours, minutes, seconds) */
    memcpy(p, codec_dec2 + 2 * (v % 100), 2);
    return p + 2;
  }
  if (n <= 8)
    return p_dec8n(p, (uint32_t)(v % 100000000u), n);
  if (n == 9) {
    *p = (char)('0' + v / 100000000u % 10);
    return p_dec8n(p + 1, (uint32_t)(v % 100000000u), 8);
  }
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

/* v (< 10^8) in decimal at p, stores 8 bytes (see p_dec8n). */
static inline char *p_dec8(char *p, uint32_t v)
{
  uint64_t z = dec8_lanes(v);
  unsigned lz = z ? (unsigned)__builtin_ctzll(z) / 8 : 7; /* the leading zeros */
  z = (z | UINT64_C(0x3030303030303030)) >> (8 * lz);
  memcpy(p, &z, 8);
  return p + 8 - lz;
}

/* An unsigned decimal number, 8 digits at a time; stores up to 7 bytes past its end (p needs
 * 8 bytes of room beyond the number: see p_dec8n). */
static inline char *p_u64(char *p, uint64_t v)
{
  const uint32_t e8 = 100000000u;
  if (v < 10) { /* (bus numbers, lengths) */
    *p = (char)('0' + v);
    return p + 1;
  }
  if (v < e8)
    return p_dec8(p, (uint32_t)v);
  if (v < (uint64_t)e8 * e8)
    return p_dec8n(p_dec8(p, (uint32_t)(v / e8)), (uint32_t)(v % e8), 8);
  p = p_dec8(p, (uint32_t)(v / e8 / e8));
  return p_dec8n(p_dec8n(p, (uint32_t)(v / e8 % e8), 8), (uint32_t)(v % e8), 8);
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

/* " XX" for every byte in 4-byte slots: one 4-byte copy per byte, the 4th byte (NUL) is
 * overwritten by the next one or is the line's terminator slot. */
static const char codec_bytu3[1025] =
    " 00\0 01\0 02\0 03\0 04\0 05\0 06\0 07\0 08\0 09\0 0A\0 0B\0 0C\0 0D\0 0E\0 0F\0"
    " 10\0 11\0 12\0 13\0 14\0 15\0 16\0 17\0 18\0 19\0 1A\0 1B\0 1C\0 1D\0 1E\0 1F\0"
    " 20\0 21\0 22\0 23\0 24\0 25\0 26\0 27\0 28\0 29\0 2A\0 2B\0 2C\0 2D\0 2E\0 2F\0"
    " 30\0 31\0 32\0 33\0 34\0 35\0 36\0 37\0 38\0 39\0 3A\0 3B\0 3C\0 3D\0 3E\0 3F\0"
    " 40\0 41\0 42\0 43\0 44\0 45\0 46\0 47\0 48\0 49\0 4A\0 4B\0 4C\0 4D\0 4E\0 4F\0"
    " 50\0 51\0 52\0 53\0 54\0 55\0 56\0 57\0 58\0 59\0 5A\0 5B\0 5C\0 5D\0 5E\0 5F\0"
    " 60\0 61\0 62\0 63\0 64\0 65\0 66\0 67\0 68\0 69\0 6A\0 6B\0 6C\0 6D\0 6E\0 6F\0"
    " 70\0 71\0 72\0 73\0 74\0 75\0 76\0 77\0 78\0 79\0 7A\0 7B\0 7C\0 7D\0 7E\0 7F\0"
    " 80\0 81\0 82\0 83\0 84\0 85\0 86\0 87\0 88\0 89\0 8A\0 8B\0 8C\0 8D\0 8E\0 8F\0"
    " 90\0 91\0 92\0 93\0 94\0 95\0 96\0 97\0 98\0 99\0 9A\0 9B\0 9C\0 9D\0 9E\0 9F\0"
    " A0\0 A1\0 A2\0 A3\0 A4\0 A5\0 A6\0 A7\0 A8\0 A9\0 AA\0 AB\0 AC\0 AD\0 AE\0 AF\0"
    " B0\0 B1\0 B2\0 B3\0 B4\0 B5\0 B6\0 B7\0 B8\0 B9\0 BA\0 BB\0 BC\0 BD\0 BE\0 BF\0"
    " C0\0 C1\0 C2\0 C3\0 C4\0 C5\0 C6\0 C7\0 C8\0 C9\0 CA\0 CB\0 CC\0 CD\0 CE\0 CF\0"
    " D0\0 D1\0 D2\0 D3\0 D4\0 D5\0 D6\0 D7\0 D8\0 D9\0 DA\0 DB\0 DC\0 DD\0 DE\0 DF\0"
    " E0\0 E1\0 E2\0 E3\0 E4\0 E5\0 E6\0 E7\0 E8\0 E9\0 EA\0 EB\0 EC\0 ED\0 EE\0 EF\0"
    " F0\0 F1\0 F2\0 F3\0 F4\0 F5\0 F6\0 F7\0 F8\0 F9\0 FA\0 FB\0 FC\0 FD\0 FE\0 FF\0";
static const char codec_bytl3[1025] =
    " 00\0 01\0 02\0 03\0 04\0 05\0 06\0 07\0 08\0 09\0 0a\0 0b\0 0c\0 0d\0 0e\0 0f\0"
    " 10\0 11\0 12\0 13\0 14\0 15\0 16\0 17\0 18\0 19\0 1a\0 1b\0 1c\0 1d\0 1e\0 1f\0"
    " 20\0 21\0 22\0 23\0 24\0 25\0 26\0 27\0 28\0 29\0 2a\0 2b\0 2c\0 2d\0 2e\0 2f\0"
    " 30\0 31\0 32\0 33\0 34\0 35\0 36\0 37\0 38\0 39\0 3a\0 3b\0 3c\0 3d\0 3e\0 3f\0"
    " 40\0 41\0 42\0 43\0 44\0 45\0 46\0 47\0 48\0 49\0 4a\0 4b\0 4c\0 4d\0 4e\0 4f\0"
    " 50\0 51\0 52\0 53\0 54\0 55\0 56\0 57\0 58\0 59\0 5a\0 5b\0 5c\0 5d\0 5e\0 5f\0"
    " 60\0 61\0 62\0 63\0 64\0 65\0 66\0 67\0 68\0 69\0 6a\0 6b\0 6c\0 6d\0 6e\0 6f\0"
    " 70\0 71\0 72\0 73\0 74\0 75\0 76\0 77\0 78\0 79\0 7a\0 7b\0 7c\0 7d\0 7e\0 7f\0"
    " 80\0 81\0 82\0 83\0 84\0 85\0 86\0 87\0 88\0 89\0 8a\0 8b\0 8c\0 8d\0 8e\0 8f\0"
    " 90\0 91\0 92\0 93\0 94\0 95\0 96\0 97\0 98\0 99\0 9a\0 9b\0 9c\0 9d\0 9e\0 9f\0"
    " a0\0 a1\0 a2\0 a3\0 a4\0 a5\0 a6\0 a7\0 a8\0 a9\0 aa\0 ab\0 ac\0 ad\0 ae\0 af\0"
    " b0\0 b1\0 b2\0 b3\0 b4\0 b5\0 b6\0 b7\0 b8\0 b9\0 ba\0 bb\0 bc\0 bd\0 be\0 bf\0"
    " c0\0 c1\0 c2\0 c3\0 c4\0 c5\0 c6\0 c7\0 c8\0 c9\0 ca\0 cb\0 cc\0 cd\0 ce\0 cf\0"
    " d0\0 d1\0 d2\0 d3\0 d4\0 d5\0 d6\0 d7\0 d8\0 d9\0 da\0 db\0 dc\0 dd\0 de\0 df\0"
    " e0\0 e1\0 e2\0 e3\0 e4\0 e5\0 e6\0 e7\0 e8\0 e9\0 ea\0 eb\0 ec\0 ed\0 ee\0 ef\0"
    " f0\0 f1\0 f2\0 f3\0 f4\0 f5\0 f6\0 f7\0 f8\0 f9\0 fa\0 fb\0 fc\0 fd\0 fe\0 ff\0";

/* n bytes as " XX XX ..." (each preceded by a blank); writes one byte more than it returns
 * (room that put_begin() always leaves for the terminating NUL). */
static inline char *p_byte_list(char *p, const uint8_t *data, size_t n, bool upper)
{
  const char *bt = upper ? codec_bytu3 : codec_bytl3;
  for (; n >= 4; n -= 4, data += 4) { /* four at a time: the loop test once per four */
    memcpy(p, bt + 4 * data[0], 4);
    memcpy(p + 3, bt + 4 * data[1], 4);
    memcpy(p + 6, bt + 4 * data[2], 4);
    memcpy(p + 9, bt + 4 * data[3], 4);
    p += 12;
  }
  for (size_t k = 0; k < n; k++) {
    memcpy(p, bt + 4 * data[k], 4);
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
  if (digits == 6) { /* the usual case: three digit pairs, no loop, no division instruction */
    uint32_t us = frac / 1000u;
    memcpy(p, codec_dec2 + 2 * (us / 10000u), 2);
    memcpy(p + 2, codec_dec2 + 2 * (us / 100u % 100u), 2);
    memcpy(p + 4, codec_dec2 + 2 * (us % 100u), 2);
    return p + 6;
  }
  if (digits == 9)
    return p_decn(p, frac, 9);
  static const uint32_t cut[10] = {1000000000, 100000000, 10000000, 1000000, 100000,
                                   10000,      1000,      100,      10,      1};
  return p_decn(p, frac / cut[digits], digits);
}

/* As p_time(p, ns, digits) for digits 6 or 9, reusing the text of the whole seconds kept in ws
 * while they do not change (consecutive records of a trace share them). */
static inline char *p_time_ws(struct trace_wstate *ws, char *p, int64_t ns, int digits)
{
  if (ns < 0 || (digits != 6 && digits != 9))
    return p_time(p, ns, digits);
  uint64_t sec = (uint64_t)ns / 1000000000u;
  uint32_t frac = (uint32_t)((uint64_t)ns % 1000000000u);
  if (!ws->sec_valid || ws->sec != sec) {
    ws->sec_len = (uint8_t)(p_u64(ws->sec_txt, sec) - ws->sec_txt);
    ws->sec = sec;
    ws->sec_valid = true;
  }
  memcpy(p, ws->sec_txt, sizeof(ws->sec_txt) - 4); /* (20 digits at most: a fixed copy) */
  p += ws->sec_len;
  *p++ = '.';
  if (digits == 9)
    return p_decn(p, frac, 9);
  uint32_t us = frac / 1000u;
  memcpy(p, codec_dec2 + 2 * (us / 10000u), 2);
  memcpy(p + 2, codec_dec2 + 2 * (us / 100u % 100u), 2);
  memcpy(p + 4, codec_dec2 + 2 * (us % 100u), 2);
  return p + 6;
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

/* can-utils' CAN_ERR_FLAG: the bit of an error frame's id in candump's 8-digit ids. */
#define CAN_ERR_FLAG_BIT 0x20000000u

/*
 * The id of a candump line (the log, fmt_candump.c, or the screen output,
 * fmt_candump_screen.c) into f, from its `digits` (3 or 8) hex digits: 8 digits with
 * CAN_ERR_FLAG_BIT are an error frame (can-utils lib.c parse_canframe), others a 29-bit frame;
 * bits 30/31 without the error bit are no frame candump prints.  Returns 0, or SIM_EPARSE with
 * "<what>: 29-bit id out of range" (11-bit) at the index col.
 */
static inline int candump_set_id(struct trace_pstate *ps, struct sim_frame *f, uint32_t id,
                                 size_t digits, size_t col, const char *what, struct sim_diag *d)
{
  if (digits == 8) {
    if (id & CAN_ERR_FLAG_BIT) {
      f->flags |= SIM_CAN_F_ERR;
      id &= SIM_CAN_EFF_MASK;
    } else if (id > SIM_CAN_EFF_MASK) {
      return TRACE_ERR(ps, d, col, "%s: 29-bit id out of range", what);
    } else {
      f->flags |= SIM_CAN_F_EXT;
    }
  } else if (id > SIM_CAN_SFF_MASK) {
    return TRACE_ERR(ps, d, col, "%s: 11-bit id out of range", what);
  }
  f->id = id;
  return 0;
}

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

/* The end of a line written through a pointer (put_begin): the line end at p, the buffer's
 * length, the record counted in ws.  Returns 0, the write() result. */
static inline int p_line_done(struct trace_wstate *ws, struct sbuf *out, char *p)
{
  *p++ = '\n';
  put_end(out, p);
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

/*
 * A bus number column s[i..e) (decimal) into rec: the frame's bus and the record's label (the
 * column's text).  first is the format's number of the first bus (1: ASC channels, TRC buses;
 * 0: the CSV exports' 0-based buses); at most 255 buses.  False (nothing set) when the column
 * is no such number.
 */
static inline bool rec_bus_number(struct trace_record *rec, const char *s, size_t i, size_t e,
                                  unsigned first)
{
  uint32_t v;
  size_t bad;
  if (!parse_dec32(s, i, e, &v, &bad) || v < first || v - first > 254)
    return false;
  rec->frame.bus = (uint8_t)(v - first + 1);
  rec_set_src(rec, s + i, e - i);
  return true;
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

/* The interface name for rec at p: its own label when that is a name ("vcan0"), else
 * can<bus-1>.  Stores up to TRACE_SRC_MAX + 8 bytes (returns the end of the name). */
static inline char *p_ifname(char *p, const struct trace_record *rec)
{
  bool numeric = true;
  size_t n = 0;
  for (; rec->src[n]; n++)
    if (rec->src[n] < '0' || rec->src[n] > '9')
      numeric = false;
  if (n && !numeric) {
    memcpy(p, rec->src, TRACE_SRC_MAX); /* (one fixed copy: the label and what follows it) */
    return p + n;
  }
  unsigned bus = rec->frame.bus;
  if (!bus && n)
    bus = (unsigned)(rec->src[0] - '0'); /* a bus number as label */
  return p_u64(P_LIT(p, "can"), bus ? bus - 1 : 0);
}

/*
 * ---- one-pass fast paths (the readers' parse_quick) ----
 * A reader's parse() first tries the layout its writer (and the usual tools) emit with these,
 * in one pass and without per-token loops; any other line returns 0 from the fast path and the
 * full parser decides (so results and messages are those of the full parser).
 */

/* The 4 (2) bytes at p as a number, for comparing a few characters at once with a literal's. */
static inline uint32_t q_load32(const char *p)
{
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}

static inline uint16_t q_load16(const char *p)
{
  uint16_t v;
  memcpy(&v, p, 2);
  return v;
}

/*
 * Whether the n (<= 16) bytes at s are those at lit (a literal, n a constant: two overlapping
 * word compares, no memcmp() call).  Q_IS(s, "text") for a string literal.
 */
static inline __attribute__((always_inline)) bool q_is(const void *s, const void *lit, size_t n)
{
  const char *a = s, *b = lit;
  if (n >= 8) {
    uint64_t x0, y0, x1, y1;
    memcpy(&x0, a, 8);
    memcpy(&y0, b, 8);
    memcpy(&x1, a + n - 8, 8);
    memcpy(&y1, b + n - 8, 8);
    return ((x0 ^ y0) | (x1 ^ y1)) == 0;
  }
  if (n >= 4)
    return ((q_load32(a) ^ q_load32(b)) | (q_load32(a + n - 4) ^ q_load32(b + n - 4))) == 0;
  if (n >= 2)
    return ((q_load16(a) ^ q_load16(b)) | (q_load16(a + n - 2) ^ q_load16(b + n - 2))) == 0;
  return n == 0 || a[0] == b[0];
}

#define Q_IS(s, lit) q_is((s), (lit), sizeof(lit) - 1)

/* Whether c is a decimal digit. */
static inline bool q_digit(char c)
{
  return (unsigned char)(c - '0') < 10;
}

/* Past the ' ' characters from s[i] (only ' ': a tab or NUL is left to the full parser):
 * eight at a time while eight can be read. */
static inline __attribute__((always_inline)) size_t q_skip_sp(const char *s, size_t len, size_t i)
{
  if (i < len && s[i] != ' ')
    return i;
  for (; i + 8 <= len; i += 8) {
    uint64_t w;
    memcpy(&w, s + i, 8);
    w ^= UINT64_C(0x2020202020202020);
    if (w)
      return i + (size_t)__builtin_ctzll(w) / 8;
  }
  while (i < len && s[i] == ' ')
    i++;
  return i;
}

/*
 * The decimal digits at s[*pi..len): at least 1 and at most max (<= 16, so no overflow), into
 * *v; *pi moves past them.  False (nothing moved) when there is none or more than max.  Eight
 * at a time (SWAR) while eight bytes can be read.
 */
static inline __attribute__((always_inline)) bool q_dec(const char *s, size_t len, size_t *pi,
                                                        size_t max, uint64_t *v)
{
  size_t i = *pi, k = i;
  uint64_t x = 0;
  while (k + 8 <= len) {
    uint64_t w, bad = nondigits8(s + k);
    memcpy(&w, s + k, 8);
    if (!bad) {
      x = x * 100000000u + digits8(w);
      k += 8;
      continue;
    }
    size_t n = (size_t)__builtin_ctzll(bad) / 8; /* the digits before the first non-digit */
    if (n) {
      static const uint32_t p10[8] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000};
      x = x * p10[n] + digits8(w << (8 * (8 - n)));
      k += n;
    }
    goto done;
  }
  for (; k < len && q_digit(s[k]); k++)
    x = x * 10 + (uint64_t)(s[k] - '0');
done:
  if (k == i || k - i > max)
    return false;
  *v = x;
  *pi = k;
  return true;
}

/* q_dec() for a number that is usually one digit (a bus): that case without the SWAR. */
static inline __attribute__((always_inline)) bool q_dec_small(const char *s, size_t len,
                                                              size_t *pi, size_t max, uint64_t *v)
{
  size_t i = *pi;
  if (i + 1 < len && q_digit(s[i]) && !q_digit(s[i + 1])) {
    *v = (uint64_t)(s[i] - '0');
    *pi = i + 1;
    return max >= 1;
  }
  return q_dec(s, len, pi, max, v);
}

/* The hex digit table as bytes: 0xFF (bit 7 set) for a character that is not a digit. */
#define Q_HEX(c) (((const uint8_t *)sim_hex_digits)[(unsigned char)(c)])

/* The 4 hex digits at p as a number, their table bytes or-ed into *bad (bit 7: one was not
 * a digit). */
static inline uint32_t q_hex4(const char *p, unsigned *bad)
{
  unsigned a = Q_HEX(p[0]), b = Q_HEX(p[1]), c = Q_HEX(p[2]), e = Q_HEX(p[3]);
  *bad |= a | b | c | e;
  return (a & 15) << 12 | (b & 15) << 8 | (c & 15) << 4 | (e & 15);
}

/* n hex digits at p (1..8, either case) into *v; false when one is not a hex digit.  The
 * ids' 4 and 8 digits unrolled. */
static inline bool q_hexn(const char *p, size_t n, uint32_t *v)
{
  unsigned bad = 0;
  uint32_t x = 0;
  if (n == 4) {
    x = q_hex4(p, &bad);
  } else if (n == 8) {
    x = q_hex4(p, &bad) << 16;
    x |= q_hex4(p + 4, &bad);
  } else {
    for (size_t k = 0; k < n; k++) {
      unsigned h = Q_HEX(p[k]);
      bad |= h;
      x = x << 4 | (h & 15);
    }
  }
  *v = x;
  return !(bad & 0x80);
}

/*
 * Whether the 8 bytes in w (first in the low byte) are all hex digits (either case); *letter
 * flags (bit 7 of each byte) those that are letters.  SWAR: each byte's range tested in all 8
 * lanes at once (a lane above 0x7F is refused first, so no lane carries into the next).
 */
static inline bool q_hexw(uint64_t w, uint64_t *letter)
{
  const uint64_t ones = UINT64_C(0x0101010101010101), top = ones * 0x80;
  uint64_t x = w | ones * 0x20; /* 'A'..'F' as 'a'..'f' */
  uint64_t digit = (w + ones * (0x80 - '0')) & ~(w + ones * (0x7F - '9'));
  *letter = (x + ones * (0x80 - 'a')) & ~(x + ones * (0x7F - 'f')) & top;
  return !(w & top) && ((digit | *letter) & top) == top;
}

/*
 * The 8 hex digits at p (either case, contiguous, as candump writes the data) as 4 bytes at
 * out, the first two digits the first byte; false (out then holds no particular bytes) when
 * one is not a hex digit.
 */
static inline bool q_hex8(const char *p, uint8_t *out)
{
  const uint64_t ones = UINT64_C(0x0101010101010101);
  uint64_t w, letter;
  memcpy(&w, p, 8);
  if (!q_hexw(w, &letter))
    return false;
  uint64_t nib = (w & ones * 0x0F) + (letter >> 7) * 9;
  uint64_t t = ((nib << 4) | (nib >> 8)) & UINT64_C(0x00FF00FF00FF00FF);
  t = (t | (t >> 8)) & UINT64_C(0x0000FFFF0000FFFF);
  uint32_t v = (uint32_t)(t | (t >> 16));
  memcpy(out, &v, 4); /* (little-endian, as digits8) */
  return true;
}

/* Past the decimal digits at s[*pi..len) when there are 1 to max (<= 16) of them (their value
 * is not needed), else false (nothing moved).  Eight at a time while eight can be read. */
static inline __attribute__((always_inline)) bool q_skip_digits(const char *s, size_t len,
                                                                size_t *pi, size_t max)
{
  size_t i = *pi, k = i;
  for (;;) {
    if (k + 8 > len) {
      while (k < len && q_digit(s[k]))
        k++;
      break;
    }
    uint64_t bad = nondigits8(s + k);
    if (bad) {
      k += (size_t)__builtin_ctzll(bad) / 8;
      break;
    }
    k += 8;
  }
  if (k == i || k - i > max)
    return false;
  *pi = k;
  return true;
}

/* 10^n for n = 0..9. */
static const uint32_t q_pow10[10] = {1,      10,      100,      1000,      10000,
                                     100000, 1000000, 10000000, 100000000, 1000000000};

/*
 * "<seconds>.<fraction>" at s[*pi..len) as trace_parse_time() reads it (no sign), for the
 * fast paths: at most 10 digits of seconds below 9 000 000 000 and 1 to 9 fraction digits,
 * else false (the full parser decides).  *pi moves past it.
 */
static inline bool q_time(const char *s, size_t len, size_t *pi, int64_t *ns)
{
  size_t i = *pi, f0;
  uint64_t sec, frac;
  if (!q_dec(s, len, &i, 10, &sec) || sec >= UINT64_C(9000000000) || i >= len || s[i] != '.')
    return false;
  f0 = ++i;
  if (!q_dec(s, len, &i, 9, &frac))
    return false;
  *ns = (int64_t)(sec * 1000000000u + frac * q_pow10[9 - (i - f0)]);
  *pi = i;
  return true;
}

/* Byte k of a "HH?HH?HH" list at q: bad collects the digits (bit 7: one was not). */
#define Q_PAIR(q, k, bad)                                                          \
  __extension__({                                                                  \
    unsigned hi_ = Q_HEX((q)[3 * (k)]), lo_ = Q_HEX((q)[3 * (k) + 1]);             \
    (bad) |= hi_ | lo_;                                                            \
    (uint64_t)(hi_ << 4 | lo_) << (8 * (k));                                       \
  })

/* q_bytes() of 8 bytes (23 characters): the separators as the bytes 2 and 5 of three 8-byte
 * words and one more, the digits straight through. */
static inline __attribute__((always_inline)) bool q_bytes8(const unsigned char *q, char sep,
                                                          uint8_t *out)
{
  const uint64_t at25 = UINT64_C(0x0000FF0000FF0000);
  const uint64_t seps = UINT64_C(0x0101010101010101) * (unsigned char)sep;
  uint64_t w0, w1, w2;
  memcpy(&w0, q, 8);      /* separators at 2, 5 */
  memcpy(&w1, q + 6, 8);  /* at 8, 11 */
  memcpy(&w2, q + 12, 8); /* at 14, 17; 20 below */
  uint64_t sepbad = (((w0 ^ seps) | (w1 ^ seps) | (w2 ^ seps)) & at25) | (q[20] ^ (unsigned char)sep);
  unsigned bad = 0;
#define Q_OUT(k)                                                                   \
  do {                                                                             \
    unsigned hi_ = Q_HEX(q[3 * (k)]), lo_ = Q_HEX(q[3 * (k) + 1]);                 \
    bad |= hi_ | lo_;                                                              \
    out[k] = (uint8_t)(hi_ << 4 | lo_);                                            \
  } while (0)
  Q_OUT(0);
  Q_OUT(1);
  Q_OUT(2);
  Q_OUT(3);
  Q_OUT(4);
  Q_OUT(5);
  Q_OUT(6);
  Q_OUT(7);
#undef Q_OUT
  return !(bad & 0x80) && !sepbad;
}

/*
 * n (<= 8) bytes as two hex digits each (either case) at p, p + 3, p + 6 ... with the
 * character sep between them (p[2], p[5] ...; nothing is checked after the last one): 3n - 1
 * characters, which the caller has checked are there (and nothing after them is read).
 * False when a digit or separator is not right (out then holds no particular bytes).  Writes
 * 8 bytes at out (the ones after the n-th are zero).
 */
static inline __attribute__((always_inline)) bool q_bytes(const char *p, unsigned n, char sep,
                                                         uint8_t *out)
{
  const unsigned char *q = (const unsigned char *)p;
  if (n == 8)
    return q_bytes8(q, sep, out);
  uint64_t v = 0;
  unsigned bad = 0, sepbad = 0;
  if (n > 8)
    return false;
  /* byte k: its digits at 3k, 3k + 1, the separator before it at 3k - 1; unrolled (the SWAR
   * decoding of "HH HH HH" in 8-byte words took as many instructions as the table) */
#define Q_BYTE(k)                                                                  \
  do {                                                                             \
    v |= Q_PAIR(q, k, bad);                                                        \
    if (k)                                                                         \
      sepbad |= q[3 * (k) - 1] ^ (unsigned char)sep;                               \
  } while (0)
  switch (n) {
  case 7: Q_BYTE(6); /* fall through */
  case 6: Q_BYTE(5); /* fall through */
  case 5: Q_BYTE(4); /* fall through */
  case 4: Q_BYTE(3); /* fall through */
  case 3: Q_BYTE(2); /* fall through */
  case 2: Q_BYTE(1); /* fall through */
  case 1: Q_BYTE(0); /* fall through */
  default: break;
  }
#undef Q_BYTE
  memcpy(out, &v, 8);
  return !(bad & 0x80) && !sepbad;
}

/*
 * The data at the end of a fast path's line, from s[i]: nothing when n is 0, else blanks and
 * exactly n bytes "XX XX .." up to the end (len), into out (8 bytes written).
 */
static inline bool q_bytes_to_end(const char *s, size_t len, size_t i, unsigned n, uint8_t *out)
{
  if (n == 0)
    return i == len;
  if (i >= len || s[i] != ' ')
    return false;
  i = q_skip_sp(s, len, i);
  return len - i == 3 * n - 1 && q_bytes(s + i, n, ' ', out);
}

/*
 * Defines the parse() function name of a line format with a fast path: quick(ps, s, len, rec)
 * first (1 when it made the line's record), else line_parse() with the full parser full (a
 * trace_line_fn).
 */
#define TRACE_PARSE_QUICK_FIRST(name, quick, full)                                           \
  static int name(struct trace_pstate *ps, const char *s, size_t len,                       \
                  struct trace_record *rec, struct sim_diag *d)                             \
  {                                                                                         \
    return quick(ps, s, len, rec) ? 1 : line_parse(ps, s, len, rec, d, full);               \
  }

/* The flags of a fast path's frame: SIM_CAN_F_EXT for a 29-bit id, SIM_CAN_F_TX for a
 * transmitted one. */
static inline uint16_t ext_tx_flags(bool ext, bool tx)
{
  return (uint16_t)((ext ? SIM_CAN_F_EXT : 0) | (tx ? SIM_CAN_F_TX : 0));
}

/* The record of a fast path's frame: rec cleared, then the frame's id, flags and length (its
 * data is already in rec->frame.data). */
static inline struct sim_frame *rec_quick_frame(struct trace_record *rec, uint32_t id,
                                                uint16_t flags, unsigned len)
{
  trace_record_clear(rec);
  rec->frame.id = id;
  rec->frame.flags = flags;
  rec->frame.len = (uint8_t)len;
  return &rec->frame;
}

#endif
