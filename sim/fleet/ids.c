/*
 * ids.c - the fleet's vehicle ids and shards: pure functions, tested by tables
 * (tests/unit/test_fleet_ids.c).
 *
 * An id pattern is printf-like with exactly one integer conversion, checked here so that the
 * program can hand it to snprintf with an unsigned long argument safely: "SIM%04d" gives
 * SIM0001, SIM0002 ...  Shards split the index range 0..n-1 of a fleet into k disjoint,
 * contiguous ranges of nearly equal size, so K processes (a Kubernetes Indexed Job, one
 * shard per completion index) together simulate exactly the cars one process would.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/parse.h"
#include "fleet/fleet.h"

/* The one conversion of a checked pattern: its text (flags, width) and where it is. */
struct conv {
  size_t at, len; /* of "%04d" in the pattern */
};

static int scan(const char *p, struct conv *c, struct sim_diag *d)
{
  int found = 0;
  for (size_t i = 0; p[i]; i++) {
    if (p[i] != '%')
      continue;
    size_t j = i + 1;
    if (p[j] == '%') {
      i = j;
      continue;
    }
    while (p[j] == '0' || p[j] == '-')
      j++;
    size_t w = 0;
    while (p[j] >= '0' && p[j] <= '9') {
      j++;
      w++;
    }
    if (p[j] != 'd' && p[j] != 'u')
      return sim_diag_error(d, NULL, 0, 0,
                            "id pattern '%s': only one %%d conversion is allowed (at column %zu)",
                            p, i + 1);
    if (w > 1)
      return sim_diag_error(d, NULL, 0, 0, "id pattern '%s': width too large", p);
    if (found++)
      return sim_diag_error(d, NULL, 0, 0, "id pattern '%s': more than one %%d", p);
    c->at = i;
    c->len = j + 1 - i;
    i = j;
  }
  if (!found)
    return sim_diag_error(d, NULL, 0, 0,
                          "id pattern '%s' has no %%d: every car would have the same id", p);
  if (strlen(p) > 64)
    return sim_diag_error(d, NULL, 0, 0, "id pattern '%s' is too long (at most 64 characters)",
                          p);
  return 0;
}

int fleet_pattern_check(const char *pattern, struct sim_diag *d)
{
  struct conv c;
  return scan(pattern, &c, d);
}

void fleet_format_id(const char *pattern, unsigned long n, struct sbuf *out)
{
  struct conv c;
  if (scan(pattern, &c, NULL) < 0)
    return;
  /* the text around the conversion, with %% as %, and the conversion as %lu */
  for (size_t i = 0; pattern[i]; i++) {
    if (i == c.at) {
      bool zero = false, left = false;
      size_t j = i + 1;
      for (; pattern[j] == '0' || pattern[j] == '-'; j++) {
        if (pattern[j] == '0')
          zero = true;
        else
          left = true;
      }
      int width = pattern[j] >= '0' && pattern[j] <= '9' ? pattern[j] - '0' : 0;
      if (left)
        sbuf_printf(out, "%-*lu", width, n);
      else if (zero)
        sbuf_printf(out, "%0*lu", width, n);
      else
        sbuf_printf(out, "%*lu", width, n);
      i += c.len - 1;
    } else if (pattern[i] == '%' && pattern[i + 1] == '%') {
      sbuf_addc(out, '%');
      i++;
    } else {
      sbuf_addc(out, pattern[i]);
    }
  }
}

int fleet_shard_parse(const char *text, unsigned *i, unsigned *k)
{
  const char *slash = strchr(text, '/');
  if (!slash || slash == text || !slash[1])
    return SIM_EPARSE;
  char *end;
  unsigned long a = strtoul(text, &end, 10);
  if (end != slash || text[0] == '-' || text[0] == '+')
    return SIM_EPARSE;
  unsigned long b = strtoul(slash + 1, &end, 10);
  if (*end || slash[1] == '-' || slash[1] == '+' || b == 0 || b > FLEET_MAX_CARS || a >= b)
    return SIM_EPARSE;
  *i = (unsigned)a;
  *k = (unsigned)b;
  return 0;
}

void fleet_shard_range(size_t n, unsigned i, unsigned k, size_t *first, size_t *count)
{
  if (k == 0) {
    *first = 0;
    *count = n;
    return;
  }
  size_t a = (size_t)((unsigned long long)n * i / k);
  size_t b = (size_t)((unsigned long long)n * (i + 1) / k);
  *first = a;
  *count = b - a;
}
