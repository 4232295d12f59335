/*
 * test_pwhash.c - password hashes: Drupal 7 "$S$" known answer (hashcat's example hash for
 * mode 7900), Drupal's base64, PBKDF2-SHA512 round trip and format, a known answer computed
 * with `openssl kdf` (OpenSSL 3 command line), malformed hashes, re-hash decisions.
 */
#include "testutil.h"

#include <errno.h>
#include <string.h>

#include "core/array.h"
#include "pwhash.h"
#include "srv_error.h"

#define KNOWN_PBKDF2                                                                               \
  "$pbkdf2-sha512$1000$c2FsdHNhbHQ$Q6v4xwJ8a9nWPp2BeEoAYYhHSo2xRmPWART17vTpSxt2q6iNp7BOozW557qqa95eNjU"  \
  "O4gKs0CyvJbYGGku1tA"

static void test_drupal_known_answer(void **state)
{
  const char *h = "$S$C20340258nzjDWpoQthrdNTR02f0pmev0K/5/Nx80WSkOQcPEQRh";
  assert_int_equal(pwhash_verify(h, "hashcat", 7), 1);
  assert_int_equal(pwhash_verify(h, "hashcaT", 7), 0);
  assert_int_equal(pwhash_verify(h, "", 0), 0);
  assert_true(pwhash_needs_rehash(h, 1000));
}

static void test_drupal_malformed(void **state)
{
  /* too short, bad count character, count out of range (log2 6 '4' and 31 'T') */
  assert_int_equal(pwhash_verify("$S$C2034", "x", 1), SRV_EHASH);
  assert_int_equal(pwhash_verify("$S$!20340258nzjDWpoQthrdNTR02f0pmev0K/5/Nx80WSkOQcPEQRh", "x",
                                 1),
                   SRV_EHASH);
  assert_int_equal(pwhash_verify("$S$420340258nzjDWpoQthrdNTR02f0pmev0K/5/Nx80WSkOQcPEQRh", "x",
                                 1),
                   SRV_EHASH);
  assert_int_equal(pwhash_verify("$S$T20340258nzjDWpoQthrdNTR02f0pmev0K/5/Nx80WSkOQcPEQRh", "x",
                                 1),
                   SRV_EHASH);
}

static void test_drupal_b64(void **state)
{
  char out[16];
  /* one byte 0x00 -> "..", three bytes 0xff -> "zzzz" (little-endian 6-bit groups) */
  assert_int_equal(pwhash_drupal_b64((const unsigned char *)"\0", 1, out), 2);
  assert_string_equal(out, "..");
  assert_int_equal(pwhash_drupal_b64((const unsigned char *)"\xff\xff\xff", 3, out), 4);
  assert_string_equal(out, "zzzz");
  assert_int_equal(pwhash_drupal_b64((const unsigned char *)"\x01\x02", 2, out), 3);
  assert_string_equal(out, "/6.");
}

static void test_pbkdf2_round_trip(void **state)
{
  char h[PWHASH_MAX], h2[PWHASH_MAX];
  assert_int_equal(pwhash_make("s3cret", 6, 1000, h), 0);
  assert_memory_equal(h, "$pbkdf2-sha512$1000$", 20);
  assert_int_equal(pwhash_verify(h, "s3cret", 6), 1);
  assert_int_equal(pwhash_verify(h, "s3creT", 6), 0);
  assert_int_equal(pwhash_verify(h, "s3cret", 5), 0);
  /* a new salt every time */
  assert_int_equal(pwhash_make("s3cret", 6, 1000, h2), 0);
  assert_string_not_equal(h, h2);
  assert_false(pwhash_needs_rehash(h, 1000));
  assert_true(pwhash_needs_rehash(h, 2000));
  assert_int_equal(pwhash_make("x", 1, 0, h), -EINVAL);
}

static void test_pbkdf2_known_answer(void **state)
{
  /* openssl kdf -keylen 64 -kdfopt digest:SHA512 -kdfopt pass:password
   *   -kdfopt salt:saltsalt -kdfopt iter:1000 PBKDF2  (hex, then adapted base64) */
  char h[PWHASH_MAX];
  assert_int_equal(pwhash_make_salt("password", 8, 1000, (const unsigned char *)"saltsalt", 8, h),
                   0);
  assert_string_equal(h, KNOWN_PBKDF2);
  assert_int_equal(pwhash_verify(KNOWN_PBKDF2, "password", 8), 1);
}

static void test_pbkdf2_malformed(void **state)
{
  const char *bad[] = {
      "",
      "$pbkdf2-sha512$",
      "$pbkdf2-sha512$0$c2FsdHNhbHQ$AAAA",
      "$pbkdf2-sha512$01000$c2FsdHNhbHQ$AAAA",
      "$pbkdf2-sha512$1000$c2FsdHNhbHQ$AAAA",
      "$pbkdf2-sha512$1000$$",
      "$pbkdf2-sha512$x$c2FsdHNhbHQ$AAAA",
      "$pbkdf2-sha256$1000$c2FsdHNhbHQ$AAAA",
      "plaintext",
  };
  for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
    assert_int_equal(pwhash_verify(bad[i], "x", 1), SRV_EHASH);
  assert_true(pwhash_needs_rehash("plaintext", 1000));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_drupal_known_answer), cmocka_unit_test(test_drupal_malformed),
      cmocka_unit_test(test_drupal_b64),          cmocka_unit_test(test_pbkdf2_round_trip),
      cmocka_unit_test(test_pbkdf2_known_answer), cmocka_unit_test(test_pbkdf2_malformed),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
