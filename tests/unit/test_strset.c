/*
 * test_strset.c - the string set of duplicate checks: an added string is found again (by
 * contents, not by pointer), across the growth from 16 slots to many thousands; the empty
 * string is a member like any other; free leaves an empty set that can be used again.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/strset.h"

#define N 5000

static void test_add_find(void **state)
{
  static char names[N][16], again[16];
  struct sim_strset s = SIM_STRSET_INIT;
  for (int i = 0; i < N; i++) {
    snprintf(names[i], sizeof(names[i]), "k%d", i);
    if (!sim_strset_add(&s, names[i]))
      fail_msg("'%s' refused as a duplicate before it was added", names[i]);
    /* every string added so far is still a member after each growth */
    if (i == 15 || i == 16 || i == 1000 || i == N - 1) {
      for (int j = 0; j <= i; j++) {
        snprintf(again, sizeof(again), "k%d", j);
        if (sim_strset_add(&s, again))
          fail_msg("'%s' added twice (after %d strings)", again, i + 1);
      }
    }
  }
  assert_int_equal(s.n, N);
  assert_true(s.cap >= 2 * N);
  assert_true(sim_strset_add(&s, "k"));
  assert_false(sim_strset_add(&s, "k"));
  assert_true(sim_strset_add(&s, ""));
  assert_false(sim_strset_add(&s, ""));
  sim_strset_free(&s);
  assert_null(s.v);
  assert_int_equal(s.n, 0);
  assert_true(sim_strset_add(&s, "k1"));
  assert_false(sim_strset_add(&s, "k1"));
  sim_strset_free(&s);
  (void)state;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_add_find),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
