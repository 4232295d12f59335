/*
 * parse.c - see parse.h.
 */
#include "core/parse.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/array.h"
#include "core/error.h"

static const char *trim_start(const char *s)
{
  while (isspace((unsigned char)*s))
    s++;
  return s;
}

static int at_end(const char *s)
{
  return *trim_start(s) == '\0';
}

int parse_bool(const char *s, bool *out)
{
  static const struct {
    const char *word;
    bool value;
  } words[] = {
    {"yes", true}, {"true", true},   {"on", true},  {"y", true}, {"1", true}, {"open", true},
    {"no", false}, {"false", false}, {"off", false}, {"n", false}, {"0", false}, {"closed", false},
  };
  s = trim_start(s);
  size_t len = strlen(s);
  while (len > 0 && isspace((unsigned char)s[len - 1]))
    len--;
  for (size_t i = 0; i < ARRAY_SIZE(words); i++) {
    if (strlen(words[i].word) == len && !strncasecmp(s, words[i].word, len)) {
      *out = words[i].value;
      return 0;
    }
  }
  return SIM_EPARSE;
}

/* The verdict on strtod(), strtol() or strtoull() of s (blanks skipped, errno cleared before
 * the call) that stopped at end: SIM_EPARSE unless a number starts at s and only blanks
 * follow it, SIM_ERANGE when it did not fit, else 0. */
static int number_end(const char *s, const char *end)
{
  if (end == s || !at_end(end))
    return SIM_EPARSE;
  return errno == ERANGE ? SIM_ERANGE : 0;
}

int parse_double(const char *s, double *out)
{
  char *end;
  s = trim_start(s);
  errno = 0;
  double v = strtod(s, &end);
  int rc = number_end(s, end);
  if (rc == 0 && !isfinite(v))
    rc = SIM_ERANGE; /* "nan", "inf" */
  if (rc == 0)
    *out = v;
  return rc;
}

int parse_long(const char *s, long *out)
{
  char *end;
  s = trim_start(s);
  errno = 0;
  long v = strtol(s, &end, 10);
  int rc = number_end(s, end);
  if (rc == 0)
    *out = v;
  return rc;
}

int parse_u64(const char *s, uint64_t *out)
{
  char *end;
  s = trim_start(s);
  if (!*s || *s == '-' || *s == '+')
    return SIM_EPARSE;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10); /* decimal, like a scenario's seed */
  int rc = number_end(s, end);
  if (rc == 0)
    *out = v;
  return rc;
}

static const struct {
  const char *unit;
  double ns;
} dunits[] = {
  {"ms", 1e6},     {"s", 1e9},      {"sec", 1e9}, {"m", 60e9}, {"min", 60e9},
  {"mins", 60e9},  {"h", 3600e9},   {"hr", 3600e9}, {"d", 86400e9},
};

int parse_duration(const char *s, int64_t *out)
{
  s = trim_start(s);
  if (!*s)
    return SIM_EPARSE;
  double total = 0;
  int groups = 0;
  while (!at_end(s)) {
    char *end;
    errno = 0;
    if (*s == '-' || *s == '+')
      return SIM_EPARSE;
    double v = strtod(s, &end);
    if (end == s || errno == ERANGE || !isfinite(v))
      return SIM_EPARSE;
    s = end;
    size_t ul = 0;
    while (isalpha((unsigned char)s[ul]))
      ul++;
    if (ul == 0) {
      if (groups > 0 || !at_end(s))
        return SIM_EPARSE;
      total += v * 1e9;
      groups++;
      break;
    }
    double mult = 0;
    for (size_t i = 0; i < ARRAY_SIZE(dunits); i++)
      if (strlen(dunits[i].unit) == ul && !strncmp(dunits[i].unit, s, ul))
        mult = dunits[i].ns;
    if (mult == 0)
      return SIM_EPARSE;
    total += v * mult;
    s = trim_start(s + ul);
    groups++;
  }
  if (total > 9.2e18)
    return SIM_ERANGE;
  *out = (int64_t)llround(total);
  return 0;
}

/* True if timegm() took tm as it stands (no "February 31st" rolled over into March). */
static bool tm_exact(const struct tm *tm, time_t t)
{
  struct tm back;
  return gmtime_r(&t, &back) && back.tm_year == tm->tm_year && back.tm_mon == tm->tm_mon &&
         back.tm_mday == tm->tm_mday && back.tm_hour == tm->tm_hour &&
         back.tm_min == tm->tm_min && back.tm_sec == tm->tm_sec;
}

int parse_time(const char *s, int64_t *out)
{
  struct tm tm;
  s = trim_start(s);
  static const char *const fmts[] = {"%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M",
                                     "%Y-%m-%d"};
  for (size_t i = 0; i < ARRAY_SIZE(fmts); i++) {
    memset(&tm, 0, sizeof(tm));
    const char *end = strptime(s, fmts[i], &tm);
    if (!end)
      continue;
    end = trim_start(end);
    if (*end == 'Z')
      end++;
    else if (!strncmp(end, "UTC", 3))
      end += 3;
    if (!at_end(end))
      continue;
    struct tm want = tm; /* timegm() normalises its argument */
    time_t t = timegm(&tm);
    if (!tm_exact(&want, t))
      return SIM_EPARSE;
    if (t < 0 || t >= PARSE_TIME_END)
      return SIM_ERANGE;
    *out = (int64_t)t;
    return 0;
  }
  long v;
  if (parse_long(s, &v) == 0 && v >= 0) {
    if (v >= PARSE_TIME_END)
      return SIM_ERANGE;
    *out = v;
    return 0;
  }
  return SIM_EPARSE;
}

unsigned edit_distance(const char *a, const char *b)
{
  size_t na = strlen(a), nb = strlen(b);
  if (na > 63 || nb > 63)
    return 64 + (unsigned)(na > nb ? na - nb : nb - na);
  unsigned row[64];
  for (size_t j = 0; j <= nb; j++)
    row[j] = (unsigned)j;
  for (size_t i = 1; i <= na; i++) {
    unsigned diag = row[0]; /* the cell above-left: distance of a[..i-1], b[..j-1] */
    row[0] = (unsigned)i;
    for (size_t j = 1; j <= nb; j++) {
      unsigned up = row[j];
      unsigned best = diag + (a[i - 1] != b[j - 1]);
      if (up + 1 < best)
        best = up + 1;
      if (row[j - 1] + 1 < best)
        best = row[j - 1] + 1;
      row[j] = best;
      diag = up;
    }
  }
  return row[nb];
}

bool edit_close(const char *a, const char *b)
{
  size_t n = strlen(a);
  unsigned d = edit_distance(a, b);
  unsigned limit = n <= 4 ? 1 : n <= 8 ? 2 : 3;
  return d <= limit && d < n;
}
