/*
 * fuzz_parse.c - libFuzzer target for sim/core/parse.c, the strict parsers of typed-in values.
 *
 * Every input is handed, NUL-terminated, to parse_double, parse_long, parse_u64,
 * parse_duration and parse_time: each must return 0, SIM_EPARSE or SIM_ERANGE, and what it
 * accepts must keep its contract (finite doubles, non-negative durations, times that fit the
 * simulation clock in int64 ns).  The same bytes then describe a well-formed duration
 * ("1h 30min", "2.5d", "90") that is built as text and parsed: the result must equal a
 * reference computed in exact integer arithmetic (within the rounding of a double).
 */
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/array.h"
#include "core/loop.h"
#include "core/parse.h"
#include "core/sbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_rc(int rc)
{
  if (rc != 0 && rc != SIM_EPARSE && rc != SIM_ERANGE)
    abort();
}

static void raw_inputs(const char *s)
{
  double d;
  long l;
  uint64_t u;
  int64_t ns, t;
  int rc = parse_double(s, &d);
  check_rc(rc);
  if (rc == 0 && !isfinite(d))
    abort();
  check_rc(parse_long(s, &l));
  check_rc(parse_u64(s, &u));
  rc = parse_duration(s, &ns);
  check_rc(rc);
  if (rc == 0 && ns < 0)
    abort();
  rc = parse_time(s, &t);
  check_rc(rc);
  /* --start multiplies by SIM_NS_PER_SEC: an accepted time must fit */
  if (rc == 0 && (t < 0 || t > INT64_MAX / SIM_NS_PER_SEC))
    abort();
}

/* Units of parse_duration with their length in ns (parse.h). */
static const struct {
  const char *name;
  uint64_t ns;
} units[] = {
  {"ms", 1000000ull}, {"s", 1000000000ull}, {"sec", 1000000000ull}, {"m", 60000000000ull},
  {"min", 60000000000ull}, {"h", 3600000000000ull}, {"hr", 3600000000000ull},
  {"d", 86400000000000ull},
};

/* Reads the next byte of the input (0 when exhausted). */
static uint8_t take(const uint8_t **p, const uint8_t *end)
{
  return *p < end ? *(*p)++ : 0;
}

/* Builds a well-formed duration from the input and compares it with the reference. */
static void reference_duration(const uint8_t *data, size_t size)
{
  const uint8_t *p = data, *end = data + size;
  struct sbuf s = SBUF_INIT;
  unsigned __int128 ref = 0; /* ns * 1000 (three fraction digits) */
  uint8_t ctl = take(&p, end);
  size_t groups = 1 + ctl % 4;
  bool plain = (ctl & 0x30) == 0x30; /* a plain number of seconds */
  if (plain)
    groups = 1;
  if (ctl & 0x40)
    sbuf_adds(&s, " ");
  for (size_t g = 0; g < groups; g++) {
    uint8_t b0 = take(&p, end), b1 = take(&p, end), b2 = take(&p, end), b3 = take(&p, end);
    /* integer part 0 .. 2^24 (or up to 10^12 when the top bit asks for big values) */
    uint64_t ip = ((uint64_t)b0 << 16) | ((uint64_t)b1 << 8) | b2;
    if (b3 & 0x80)
      ip *= 59999ull;
    unsigned fd = (b3 >> 5) & 3; /* fraction digits 0..3 */
    unsigned frac = (unsigned)(b3 & 0x1F) * 31u % 1000u;
    sbuf_printf(&s, "%" PRIu64, ip);
    unsigned frac_milli = 0;
    if (fd == 1) {
      frac %= 10;
      sbuf_printf(&s, ".%u", frac);
      frac_milli = frac * 100;
    } else if (fd == 2) {
      frac %= 100;
      sbuf_printf(&s, ".%02u", frac);
      frac_milli = frac * 10;
    } else if (fd == 3) {
      sbuf_printf(&s, ".%03u", frac);
      frac_milli = frac;
    }
    uint64_t mult = 1000000000ull;
    if (!plain) {
      uint8_t ub = take(&p, end);
      size_t ui = ub % (ARRAY_SIZE(units));
      sbuf_adds(&s, units[ui].name);
      mult = units[ui].ns;
      if (ub & 0x80 && g + 1 < groups)
        sbuf_adds(&s, " ");
    }
    ref += (unsigned __int128)ip * mult * 1000u + (unsigned __int128)frac_milli * mult;
  }
  if (ctl & 0x80)
    sbuf_adds(&s, "  ");
  int64_t got = -1;
  int rc = parse_duration(sbuf_str(&s), &got);
  long double want = (long double)ref / 1000.0L;
  if (want > 9.2e18L * (1 + 1e-12L)) {
    if (rc != SIM_ERANGE) {
      fprintf(stderr, "'%s': %Lg ns accepted (rc %d)\n", sbuf_str(&s), want, rc);
      abort();
    }
  } else if (want < 9.2e18L * (1 - 1e-12L)) {
    if (rc != 0) {
      fprintf(stderr, "'%s': rejected (rc %d), expected %.0Lf ns\n", sbuf_str(&s), rc, want);
      abort();
    }
    long double diff = fabsl((long double)got - want);
    if (diff > want * 1e-12L + 1) {
      fprintf(stderr, "'%s': got %" PRId64 " ns, expected %.0Lf\n", sbuf_str(&s), got, want);
      abort();
    }
  }
  sbuf_free(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *s = malloc(size + 1);
  memcpy(s, data, size);
  s[size] = '\0';
  raw_inputs(s);
  free(s);
  reference_duration(data, size);
  return 0;
}
