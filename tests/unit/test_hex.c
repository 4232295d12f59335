/*
 * test_hex.c - the one hex digit table (core/hex.h) that the text codecs decode with, and the
 * digit strings they encode with: every byte value classified, the two-digit byte, 1..8 digit
 * numbers, and digit -> value -> digit round trips in both cases.
 */
#include "testutil.h"

#include <string.h>

#include "core/array.h"
#include "core/hex.h"

static void test_digits(void **state)
{
  for (int c = 0; c < 256; c++) {
    int want = -1;
    if (c >= '0' && c <= '9')
      want = c - '0';
    else if (c >= 'a' && c <= 'f')
      want = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      want = c - 'A' + 10;
    if (sim_hex_digit((char)c) != want)
      fail_msg("byte 0x%02x: %d, want %d", c, sim_hex_digit((char)c), want);
  }
  for (int v = 0; v < 16; v++) {
    assert_int_equal(sim_hex_digit(sim_hex_upper[v]), v);
    assert_int_equal(sim_hex_digit(sim_hex_lower[v]), v);
  }
  assert_string_equal(sim_hex_upper, "0123456789ABCDEF");
  assert_string_equal(sim_hex_lower, "0123456789abcdef");
  (void)state;
}

static void test_byte(void **state)
{
  static const struct {
    const char *s;
    int v;
  } cases[] = {
    {"00", 0}, {"7f", 0x7f}, {"FF", 0xff}, {"aB", 0xab}, {"g0", -1}, {"0g", -1}, {"0", -1},
    {"", -1},  {" 1", -1},
  };
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
    if (sim_hex_byte(cases[i].s) != cases[i].v)
      fail_msg("'%s': %d, want %d", cases[i].s, sim_hex_byte(cases[i].s), cases[i].v);
  char two[3];
  for (int b = 0; b < 256; b++) { /* what the encoders write reads back */
    two[0] = sim_hex_upper[b >> 4];
    two[1] = sim_hex_lower[b & 15];
    two[2] = '\0';
    assert_int_equal(sim_hex_byte(two), b);
  }
  (void)state;
}

static void test_u32(void **state)
{
  static const struct {
    const char *s;
    size_t n;
    bool ok;
    uint32_t v;
  } cases[] = {
    {"7", 1, true, 7},          {"7E8", 3, true, 0x7e8},   {"18DAF110", 8, true, 0x18daf110},
    {"ffffffff", 8, true, UINT32_MAX}, {"", 0, false, 0}, {"123456789", 9, false, 0},
    {"12 4", 4, false, 0},      {"0x12", 4, false, 0},     {"12", 1, true, 1},
  };
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    uint32_t v = 0xdeadbeef;
    bool ok = sim_hex_u32(cases[i].s, cases[i].n, &v);
    if (ok != cases[i].ok || v != (ok ? cases[i].v : 0xdeadbeef))
      fail_msg("'%s' (%zu digits): %d %x", cases[i].s, cases[i].n, ok, v);
  }
  (void)state;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_digits),
    cmocka_unit_test(test_byte),
    cmocka_unit_test(test_u32),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
