/*
 * test_parse.c - strict parsing of yes/no words, numbers, durations and times: every malformed
 * value is an error, never a zero.
 */
#include "testutil.h"
#include <string.h>

#include "core/array.h"
#include "core/error.h"
#include "core/parse.h"

/* The one yes/no word list: the firmware's strtobool() true words (yes, 1, true) and the
 * simulator's others, in any case, with surrounding blanks. */
static void test_bool(void **state)
{
  static const struct {
    const char *s;
    bool want;
  } ok[] = {
    {"yes", true},    {"true", true},  {"on", true},    {"y", true},      {"1", true},
    {"open", true},   {"YES", true},   {" True ", true}, {"On", true},     {"no", false},
    {"false", false}, {"off", false},  {"n", false},    {"0", false},     {"closed", false},
    {"NO", false},    {"\tOff\n", false},
  };
  for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
    bool b = !ok[i].want;
    if (parse_bool(ok[i].s, &b) != 0 || b != ok[i].want)
      fail_msg("'%s' is not read as %s", ok[i].s, ok[i].want ? "true" : "false");
  }
  static const char *const bad[] = {"", " ", "maybe", "yess", "ye", "2", "01", "yes no",
                                    "on1", "truee", "-1"};
  for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
    bool b = true;
    assert_int_equal(parse_bool(bad[i], &b), SIM_EPARSE);
    assert_true(b); /* untouched on error */
  }
  (void)state;
}

static void test_numbers(void **state)
{
  double d;
  long l;
  uint64_t u;
  assert_int_equal(parse_double(" 1.5 ", &d), 0);
  assert_true(d == 1.5);
  assert_int_equal(parse_double("", &d), SIM_EPARSE);
  assert_int_equal(parse_double("1.5x", &d), SIM_EPARSE);
  assert_int_equal(parse_double("nan", &d), SIM_ERANGE);
  assert_int_equal(parse_double("1e999", &d), SIM_ERANGE);
  assert_int_equal(parse_long("-42", &l), 0);
  assert_int_equal(l, -42);
  assert_int_equal(parse_long("4 2", &l), SIM_EPARSE);
  assert_int_equal(parse_long("99999999999999999999", &l), SIM_ERANGE);
  assert_int_equal(parse_u64("18446744073709551615", &u), 0);
  assert_true(u == UINT64_MAX);
  assert_int_equal(parse_u64("-1", &u), SIM_EPARSE);
  assert_int_equal(parse_u64("abc", &u), SIM_EPARSE);
  /* decimal only: "010" is ten (as a scenario's seed: 010), not octal eight */
  assert_int_equal(parse_u64("010", &u), 0);
  assert_true(u == 10);
  assert_int_equal(parse_u64("0x10", &u), SIM_EPARSE);
}

static void test_durations(void **state)
{
  static const struct {
    const char *s;
    int64_t ns;
  } ok[] = {
    {"90", 90000000000LL}, {"90s", 90000000000LL}, {"15min", 900000000000LL},
    {"15m", 900000000000LL}, {"2h", 7200000000000LL}, {"1h30m", 5400000000000LL},
    {"1h 30min 15s", 5415000000000LL}, {"500ms", 500000000LL}, {"1.5h", 5400000000000LL},
    {"1d", 86400000000000LL},
  };
  for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
    int64_t v = -1;
    assert_int_equal(parse_duration(ok[i].s, &v), 0);
    assert_true(v == ok[i].ns);
  }
  static const char *const bad[] = {"", "s", "5 parsecs", "-5s", "1h30", "1hh", "3x"};
  for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
    int64_t v;
    if (parse_duration(bad[i], &v) == 0)
      fail_msg("'%s' accepted as a duration", bad[i]);
  }
}

static void test_times(void **state)
{
  int64_t t;
  assert_int_equal(parse_time("2026-08-22 14:43:22", &t), 0);
  assert_true(t == 1787409802);
  assert_int_equal(parse_time("2026-08-22T14:43:22Z", &t), 0);
  assert_true(t == 1787409802);
  assert_int_equal(parse_time("1787409802", &t), 0);
  assert_true(t == 1787409802);
  assert_int_equal(parse_time("2026-08-22", &t), 0);
  assert_true(t == 1787356800);
  assert_int_equal(parse_time("2026-13-22 10:00:00", &t), SIM_EPARSE);
  assert_int_equal(parse_time("yesterday", &t), SIM_EPARSE);
  assert_int_equal(parse_time("2026-08-22 14:43:22 CET", &t), SIM_EPARSE);
  /* dates that do not exist are errors, not rolled over into the next month or minute */
  assert_int_equal(parse_time("2026-02-31 10:00:00", &t), SIM_EPARSE);
  assert_int_equal(parse_time("2026-02-29", &t), SIM_EPARSE);
  assert_int_equal(parse_time("2026-08-22 23:59:60", &t), SIM_EPARSE);
  /* times whose nanoseconds do not fit the simulation clock are refused */
  assert_int_equal(parse_time("9223372036854775807", &t), SIM_ERANGE);
  assert_int_equal(parse_time("7289654400", &t), SIM_ERANGE);
  assert_int_equal(parse_time("2201-01-01", &t), SIM_ERANGE);
  assert_int_equal(parse_time("1969-12-31 23:59:59", &t), SIM_ERANGE);
  assert_int_equal(parse_time("2200-12-31 23:59:59", &t), 0);
  assert_true(t == 7289654399);
  assert_int_equal(parse_time("2024-02-29", &t), 0);
  assert_true(t == 1709164800);
  /* fuzz_parse: year 0 gave a negative time; an accepted time fits int64 ns */
  assert_int_equal(parse_time("0000-01-01", &t), SIM_ERANGE);
  assert_int_equal(parse_time("9223372036", &t), SIM_ERANGE);
  assert_int_equal(parse_time("1970-01-01", &t), 0);
  assert_true(t == 0);
}

/* edit_distance(): a table of Levenshtein distances; edit_close(): the suggestion limit */
static void test_edit_distance(void **state)
{
  (void)state;
  static const struct { const char *a, *b; unsigned d; } rows[] = {
    {"", "", 0}, {"", "abc", 3}, {"abc", "", 3}, {"capacity", "capacity", 0},
    {"capacty", "capacity", 1}, {"capaciyt", "capacity", 2}, {"kitten", "sitting", 3},
    {"soc", "soh", 1}, {"Soc", "soc", 1}, {"flaw", "lawn", 2},
  };
  for (size_t i = 0; i < ARRAY_SIZE(rows); i++)
    assert_int_equal(edit_distance(rows[i].a, rows[i].b), rows[i].d);
  char longw[80];
  memset(longw, 'x', sizeof(longw) - 1);
  longw[sizeof(longw) - 1] = '\0';
  assert_true(edit_distance(longw, "x") >= 64);
  assert_true(edit_close("capacty", "capacity"));
  assert_true(edit_close("sco", "soc") == false); /* 2 edits on 3 letters: too far */
  assert_true(edit_close("so", "soh"));
  assert_false(edit_close("zzzzzzzz", "capacity"));
  assert_false(edit_close("x", "y")); /* d must stay below the typo's length */
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_bool),
    cmocka_unit_test(test_numbers),
    cmocka_unit_test(test_durations),
    cmocka_unit_test(test_times),
    cmocka_unit_test(test_edit_distance),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
