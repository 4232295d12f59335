/*
 * test_diag.c - diagnostics with a location: formatting, and a list that stops at its limit
 * says so instead of ending silently.
 */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#include "core/diag.h"
#include "core/error.h"

static const char *fmt1(const struct sim_diag *d, size_t i, struct sbuf *b)
{
  sbuf_reset(b);
  sim_diag_format(&d->v[i], b);
  return sbuf_str(b);
}

static void test_format(void **state)
{
  struct sim_diag d = SIM_DIAG_INIT;
  struct sbuf b = SBUF_INIT;
  assert_int_equal(sim_diag_error(&d, "a.yaml", 3, 7, "bad %s", "thing"), SIM_EPARSE);
  assert_int_equal(sim_diag_warn(&d, "a.yaml", 4, 0, "odd"), 0);
  assert_int_equal(sim_diag_error(&d, NULL, 0, 0, "no place"), SIM_EPARSE);
  assert_int_equal(sim_diag_error(NULL, "x", 1, 1, "nowhere"), SIM_EPARSE);
  assert_int_equal(d.n, 3);
  assert_int_equal(d.errors, 2);
  assert_string_equal(fmt1(&d, 0, &b), "a.yaml:3:7: error: bad thing");
  assert_string_equal(fmt1(&d, 1, &b), "a.yaml:4: warning: odd");
  assert_string_equal(fmt1(&d, 2, &b), "error: no place");
  assert_string_equal(sim_diag_last(&d), "no place");
  sbuf_free(&b);
  sim_diag_cleanup(&d);
  assert_int_equal(d.n, 0);
  assert_string_equal(sim_diag_last(&d), ""); /* none recorded */
  assert_string_equal(sim_diag_last(NULL), "");
}

static void test_join(void **state)
{
  struct sim_diag d = SIM_DIAG_INIT;
  struct sbuf b = SBUF_INIT;
  sim_diag_join(&d, &b);
  sim_diag_join(NULL, &b);
  assert_string_equal(sbuf_str(&b), "");
  sim_diag_error(&d, "a.yaml", 3, 7, "first");
  sim_diag_warn(&d, NULL, 0, 0, "second");
  sim_diag_join(&d, &b);
  assert_string_equal(sbuf_str(&b), "first\nsecond");
  sbuf_free(&b);
  sim_diag_cleanup(&d);
}

static void test_limit(void **state)
{
  struct sim_diag d = SIM_DIAG_INIT;
  struct sbuf b = SBUF_INIT;
  for (int i = 1; i <= 150; i++)
    sim_diag_error(&d, "many.yaml", i, 1, "error %d", i);
  assert_int_equal(d.n, 100);
  assert_string_equal(fmt1(&d, 98, &b), "many.yaml:99:1: error: error 99");
  assert_string_equal(fmt1(&d, 99, &b),
                      "many.yaml: error: too many problems, the rest are not reported");
  sim_diag_cleanup(&d);
  d.max = 3;
  for (int i = 1; i <= 5; i++)
    sim_diag_warn(&d, "w", i, 1, "w%d", i);
  assert_int_equal(d.n, 3);
  assert_string_equal(fmt1(&d, 2, &b),
                      "w: warning: too many problems, the rest are not reported");
  assert_int_equal(d.errors, 0);
  sbuf_free(&b);
  sim_diag_cleanup(&d);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_format),
    cmocka_unit_test(test_join),
    cmocka_unit_test(test_limit),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
