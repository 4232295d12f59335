/*
 * tz.c - the POSIX TZ string checker (tz.h): a small recursive-descent reading of the
 * grammar, which reports the first byte that does not fit.
 */
#include "core/tz.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

struct tzp {
  const char *s, *p;
  const char *why;
};

static bool bad(struct tzp *t, const char *why)
{
  if (!t->why)
    t->why = why;
  return false;
}

/* A number of at most max_digits digits in [lo, hi]. */
static bool number(struct tzp *t, int max_digits, int lo, int hi, const char *what)
{
  int v = 0, n = 0;
  const char *start = t->p;
  while (isdigit((unsigned char)*t->p) && n < max_digits) {
    v = v * 10 + (*t->p++ - '0');
    n++;
  }
  if (n == 0 || isdigit((unsigned char)*t->p) || v < lo || v > hi) {
    t->p = start;
    return bad(t, what);
  }
  return true;
}

static bool name(struct tzp *t)
{
  int n = 0;
  const char *start = t->p;
  if (*t->p == '<') {
    t->p++;
    while (isalnum((unsigned char)*t->p) || *t->p == '+' || *t->p == '-') {
      t->p++;
      n++;
    }
    if (*t->p != '>')
      return bad(t, "a quoted zone name ends with '>' and holds letters, digits, '+', '-'");
    if (n < 3) {
      t->p = start;
      return bad(t, "a zone name has at least 3 characters");
    }
    t->p++;
    return true;
  }
  while (isalpha((unsigned char)*t->p)) {
    t->p++;
    n++;
  }
  if (n < 3) {
    t->p = start;
    return bad(t, "expected a zone name of at least 3 letters (e.g. CET) or <+03>");
  }
  return true;
}

/* [+-]hh[:mm[:ss]] */
static bool hms(struct tzp *t, int max_hours, bool sign)
{
  if (sign && (*t->p == '+' || *t->p == '-'))
    t->p++;
  if (!number(t, 3, 0, max_hours, "expected hours (e.g. -1 or 5:30)"))
    return false;
  for (int i = 0; i < 2 && *t->p == ':'; i++) {
    t->p++;
    if (!number(t, 2, 0, 59, "expected minutes or seconds 00-59"))
      return false;
  }
  return true;
}

static bool rule(struct tzp *t)
{
  if (*t->p == 'J') {
    t->p++;
    if (!number(t, 3, 1, 365, "expected a Julian day 1-365"))
      return false;
  } else if (*t->p == 'M') {
    t->p++;
    if (!number(t, 2, 1, 12, "expected a month 1-12"))
      return false;
    if (*t->p++ != '.')
      return t->p--, bad(t, "expected '.' and a week 1-5 (Mm.w.d)");
    if (!number(t, 1, 1, 5, "expected a week 1-5"))
      return false;
    if (*t->p++ != '.')
      return t->p--, bad(t, "expected '.' and a weekday 0-6 (Mm.w.d)");
    if (!number(t, 1, 0, 6, "expected a weekday 0-6"))
      return false;
  } else if (!number(t, 3, 0, 365, "expected a rule: Jn, n or Mm.w.d")) {
    return false;
  }
  if (*t->p == '/') {
    t->p++;
    return hms(t, 167, true);
  }
  return true;
}

const char *sim_tz_check(const char *tz, size_t *off)
{
  struct tzp t = {tz, tz, NULL};
  if (!strcmp(tz, "UTC") || !strcmp(tz, "GMT"))
    return NULL; /* no offset, but what every C library (newlib too) then uses anyway */
  bool ok = name(&t) && hms(&t, 24, true);
  if (ok && *t.p) {
    ok = name(&t);
    if (ok && *t.p && *t.p != ',')
      ok = hms(&t, 24, true);
    if (ok && *t.p) {
      if (*t.p != ',')
        ok = bad(&t, "expected ',' and the rule when daylight saving time starts");
      else if (t.p++, rule(&t)) {
        if (*t.p != ',')
          ok = bad(&t, "expected ',' and the rule when daylight saving time ends");
        else if (t.p++, !rule(&t))
          ok = false;
      } else {
        ok = false;
      }
    }
  }
  if (ok && *t.p)
    ok = bad(&t, "unexpected text after the time zone");
  if (ok)
    return NULL;
  *off = (size_t)(t.p - tz);
  return t.why;
}
