/*
 * fault.c - the fault grammar of a simulated ECU (vehicle/fault.h).
 */
#include "vehicle/fault.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/loop.h"

#define DEFAULT_SLOW_NS (2000 * SIM_NS_PER_MS)
#define DEFAULT_PENDING_NS (200 * SIM_NS_PER_MS)
#define DEFAULT_PENDING_N 3

/* Parses an unsigned decimal (base 10) or hex (base 16) number ending at '\0' or ':'. */
static int num(const char **p, int base, unsigned long max, unsigned long *out)
{
  char *end;
  if (!**p || **p == '-' || **p == '+' || **p == ' ')
    return SIM_EPARSE;
  unsigned long x = strtoul(*p, &end, base);
  if (end == *p || (*end && *end != ':') || x > max)
    return SIM_EPARSE;
  *out = x;
  *p = *end ? end + 1 : end;
  return 0;
}

int ecu_fault_parse(const char *s, struct ecu_fault *f)
{
  memset(f, 0, sizeof *f);
  unsigned long x;
  size_t slen = strlen(s);
  if (slen && s[slen - 1] == ':')
    return SIM_EPARSE;
  if (!strcmp(s, "ok") || !strcmp(s, "normal")) {
    f->kind = ECU_FAULT_NONE;
    return 0;
  }
  if (!strcmp(s, "silent")) {
    f->kind = ECU_FAULT_SILENT;
    return 0;
  }
  if (!strncmp(s, "slow", 4) && (!s[4] || s[4] == ':')) {
    f->kind = ECU_FAULT_SLOW;
    f->delay_ns = DEFAULT_SLOW_NS;
    const char *p = s + 4 + (s[4] == ':');
    if (s[4] == ':') {
      if (num(&p, 10, 600000, &x) || *p)
        return SIM_EPARSE;
      f->delay_ns = (int64_t)x * SIM_NS_PER_MS;
    }
    return 0;
  }
  if (!strncmp(s, "nrc:", 4)) {
    const char *p = s + 4;
    if (num(&p, 16, 0xFF, &x) || *p || x == 0)
      return SIM_EPARSE;
    f->kind = ECU_FAULT_NRC;
    f->nrc = (uint8_t)x;
    return 0;
  }
  if (!strncmp(s, "pending", 7) && (!s[7] || s[7] == ':')) {
    f->kind = ECU_FAULT_PENDING;
    f->pending = DEFAULT_PENDING_N;
    f->delay_ns = DEFAULT_PENDING_NS;
    const char *p = s + 7 + (s[7] == ':');
    if (s[7] == ':') {
      if (num(&p, 10, 255, &x))
        return SIM_EPARSE;
      f->pending = (uint8_t)x;
      if (*p) {
        if (num(&p, 10, 600000, &x) || *p)
          return SIM_EPARSE;
        f->delay_ns = (int64_t)x * SIM_NS_PER_MS;
      }
    }
    return 0;
  }
  return SIM_EPARSE;
}
