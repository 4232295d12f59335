/*
 * test_tz.c - the POSIX TZ string checker (sim/core/tz.c): valid strings of the grammar of
 * POSIX.1-2017 section 8.3 and the firmware's examples pass; each kind of mistake is refused
 * with the offset of the first byte that does not fit.
 */
#include "testutil.h"

#include <string.h>

#include "core/array.h"
#include "core/tz.h"

static void test_tz(void **state)
{
  (void)state;
  static const struct {
    const char *tz;
    long off; /* -1: valid */
  } cases[] = {
    {"CET-1CEST,M3.5.0,M10.5.0/3", -1},
    {"EST5EDT,M3.2.0/2,M11.1.0/2", -1},
    {"GMT0", -1},
    {"UTC", -1},
    {"GMT0BST,M3.5.0/1,M10.5.0", -1},
    {"<+03>-3", -1},
    {"AEST-10AEDT,M10.1.0,M4.1.0/3", -1},
    {"IST-5:30", -1},
    {"NZST-12NZDT-13,J60/2:00:00,300/-1", -1},
    {"EST5EDT", -1},
    {"WART4WARST,J1/0,J365/25", -1},
    {"", 0},
    {"Europe/Berlin", 6},
    {":Europe/Berlin", 0},
    {"CET", 3},
    {"CE-1", 0},
    {"CET-25", 4},
    {"CET-1:60", 6},
    {"CET-1CEST,M3.5.0,M13.5.0/3", 18},
    {"CET-1CEST,M3.6.0,M10.5.0/3", 13},
    {"CET-1CEST,M3.5.7,M10.5.0/3", 15},
    {"CET-1CEST,M3.5", 14},
    {"CET-1CEST,M3.5.0", 16},
    {"CET-1CEST;M3.5.0,M10.5.0", 9},
    {"CET-1CEST,M3.5.0,M10.5.0/168", 25},
    {"CET-1CEST,J0,J365", 11},
    {"<+3>-3", 0},
    {"CET-1 ", 5},
  };
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    size_t off = 999;
    const char *why = sim_tz_check(cases[i].tz, &off);
    if (cases[i].off < 0 ? why != NULL : (!why || off != (size_t)cases[i].off))
      fail_msg("'%s': %s at %zu (want %ld)", cases[i].tz, why ? why : "valid", off,
               cases[i].off);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_tz),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
