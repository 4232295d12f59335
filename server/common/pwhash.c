/*
 * pwhash.c - PBKDF2-SHA512 and Drupal 7 password hashes; see pwhash.h for the formats and
 * their sources.
 */
#include "pwhash.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/md5.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "srv_error.h"

#define PBKDF2_PREFIX "$pbkdf2-sha512$"
#define SALT_LEN 16
#define KEY_LEN 64

static const char ab64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789./";
/* password.inc _password_itoa64() */
static const char itoa64[] = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/* passlib's adapted base64: RFC 4648 with '.' for '+', unpadded. */
static size_t ab64_encode(const unsigned char *in, size_t n, char *out)
{
  size_t o = 0;
  for (size_t i = 0; i < n; i += 3) {
    unsigned v = (unsigned)in[i] << 16;
    if (i + 1 < n)
      v |= (unsigned)in[i + 1] << 8;
    if (i + 2 < n)
      v |= in[i + 2];
    out[o++] = ab64[(v >> 18) & 63];
    out[o++] = ab64[(v >> 12) & 63];
    if (i + 1 < n)
      out[o++] = ab64[(v >> 6) & 63];
    if (i + 2 < n)
      out[o++] = ab64[v & 63];
  }
  out[o] = '\0';
  return o;
}

static int ab64_value(char c)
{
  const char *p = c ? strchr(ab64, c) : NULL;
  return p ? (int)(p - ab64) : -1;
}

/* Decodes n characters into out (cap bytes); returns the byte count or -1. */
static long ab64_decode(const char *in, size_t n, unsigned char *out, size_t cap)
{
  size_t o = 0;
  if (n % 4 == 1)
    return -1;
  for (size_t i = 0; i < n; i += 4) {
    unsigned v = 0;
    size_t k = n - i < 4 ? n - i : 4;
    for (size_t j = 0; j < 4; j++) {
      int d = j < k ? ab64_value(in[i + j]) : 0;
      if (d < 0)
        return -1;
      v = (v << 6) | (unsigned)d;
    }
    unsigned char b[3] = {(unsigned char)(v >> 16), (unsigned char)(v >> 8), (unsigned char)v};
    for (size_t j = 0; j + 1 < k; j++) {
      if (o >= cap)
        return -1;
      out[o++] = b[j];
    }
  }
  return (long)o;
}

size_t pwhash_drupal_b64(const unsigned char *in, size_t n, char *out)
{
  /* password.inc _password_base64_encode(): little-endian groups of 3 bytes, 6 bits at a
   * time, a partial last group writes only the characters it needs. */
  size_t o = 0, i = 0;
  while (i < n) {
    unsigned v = in[i++];
    out[o++] = itoa64[v & 63];
    if (i < n)
      v |= (unsigned)in[i] << 8;
    out[o++] = itoa64[(v >> 6) & 63];
    if (i++ >= n)
      break;
    if (i < n)
      v |= (unsigned)in[i] << 16;
    out[o++] = itoa64[(v >> 12) & 63];
    if (i++ >= n)
      break;
    out[o++] = itoa64[(v >> 18) & 63];
  }
  out[o] = '\0';
  return o;
}

int pwhash_make_salt(const char *password, size_t len, unsigned iterations,
                     const unsigned char *salt, size_t saltlen, char out[PWHASH_MAX])
{
  unsigned char key[KEY_LEN];
  char s64[64], k64[96];
  if (iterations < 1 || iterations > PWHASH_MAX_ITERATIONS || len > PWHASH_MAX_PASSWORD ||
      saltlen < 8 || saltlen > 32)
    return -EINVAL;
  if (PKCS5_PBKDF2_HMAC(password, (int)len, salt, (int)saltlen, (int)iterations, EVP_sha512(),
                        KEY_LEN, key) != 1)
    return SRV_ECRYPTO;
  ab64_encode(salt, saltlen, s64);
  ab64_encode(key, KEY_LEN, k64);
  OPENSSL_cleanse(key, sizeof(key));
  int n = snprintf(out, PWHASH_MAX, PBKDF2_PREFIX "%u$%s$%s", iterations, s64, k64);
  return n > 0 && n < PWHASH_MAX ? 0 : -EINVAL;
}

int pwhash_make(const char *password, size_t len, unsigned iterations, char out[PWHASH_MAX])
{
  unsigned char salt[SALT_LEN];
  if (RAND_bytes(salt, sizeof(salt)) != 1)
    return SRV_ECRYPTO;
  return pwhash_make_salt(password, len, iterations, salt, sizeof(salt), out);
}

struct pbkdf2 {
  unsigned iterations;
  unsigned char salt[48];
  size_t saltlen;
  unsigned char key[KEY_LEN];
};

static int pbkdf2_parse(const char *s, struct pbkdf2 *p)
{
  size_t pl = strlen(PBKDF2_PREFIX);
  if (strncmp(s, PBKDF2_PREFIX, pl) != 0)
    return SRV_EHASH;
  s += pl;
  char *end;
  errno = 0;
  unsigned long it = strtoul(s, &end, 10);
  if (end == s || *end != '$' || errno || it < 1 || it > PWHASH_MAX_ITERATIONS || *s == '0')
    return SRV_EHASH;
  p->iterations = (unsigned)it;
  const char *salt = end + 1, *d = strchr(salt, '$');
  if (!d)
    return SRV_EHASH;
  long sl = ab64_decode(salt, (size_t)(d - salt), p->salt, sizeof(p->salt));
  if (sl < 8)
    return SRV_EHASH;
  p->saltlen = (size_t)sl;
  unsigned char key[KEY_LEN + 3];
  if (ab64_decode(d + 1, strlen(d + 1), key, sizeof(key)) != KEY_LEN)
    return SRV_EHASH;
  memcpy(p->key, key, KEY_LEN);
  return 0;
}

static int drupal_count_log2(const char *stored)
{
  const char *p = stored[3] ? strchr(itoa64, stored[3]) : NULL;
  return p ? (int)(p - itoa64) : -1;
}

/* Drupal 7 user_check_password() for "$S$" hashes, and "U$S$" (a Drupal 6 MD5 hash that was
 * re-hashed as md5(password) on migration, user_check_password()'s 'U$' branch). */
static int drupal_verify(const char *stored, const char *password, size_t len)
{
  char md5hex[2 * MD5_DIGEST_LENGTH + 1];
  if (stored[0] == 'U' && stored[1] == '$') {
    unsigned char m[MD5_DIGEST_LENGTH];
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned ml = 0;
    int ok = c && EVP_DigestInit_ex(c, EVP_md5(), NULL) == 1 &&
             EVP_DigestUpdate(c, password, len) == 1 && EVP_DigestFinal_ex(c, m, &ml) == 1;
    EVP_MD_CTX_free(c);
    if (!ok)
      return SRV_ECRYPTO;
    for (unsigned i = 0; i < MD5_DIGEST_LENGTH; i++)
      snprintf(md5hex + 2 * i, 3, "%02x", m[i]);
    password = md5hex;
    len = 2 * MD5_DIGEST_LENGTH;
    stored++;
  }
  if (strncmp(stored, "$S$", 3) != 0 || strlen(stored) != 55)
    return SRV_EHASH;
  int log2 = drupal_count_log2(stored);
  /* DRUPAL_MIN_HASH_COUNT 7, DRUPAL_MAX_HASH_COUNT 30 */
  if (log2 < 7 || log2 > 30)
    return SRV_EHASH;
  for (int i = 4; i < 12; i++)
    if (!strchr(itoa64, stored[i]))
      return SRV_EHASH;
  if (len > PWHASH_MAX_PASSWORD)
    return 0;
  unsigned char h[SHA512_DIGEST_LENGTH];
  EVP_MD_CTX *c = EVP_MD_CTX_new();
  int ok = c != NULL;
  ok = ok && EVP_DigestInit_ex(c, EVP_sha512(), NULL) == 1 &&
       EVP_DigestUpdate(c, stored + 4, 8) == 1 && EVP_DigestUpdate(c, password, len) == 1 &&
       EVP_DigestFinal_ex(c, h, NULL) == 1;
  for (unsigned long n = 1ul << log2; ok && n > 0; n--)
    ok = EVP_DigestInit_ex(c, EVP_sha512(), NULL) == 1 && EVP_DigestUpdate(c, h, sizeof(h)) == 1 &&
         EVP_DigestUpdate(c, password, len) == 1 && EVP_DigestFinal_ex(c, h, NULL) == 1;
  EVP_MD_CTX_free(c);
  if (!ok)
    return SRV_ECRYPTO;
  char enc[96];
  pwhash_drupal_b64(h, sizeof(h), enc);
  OPENSSL_cleanse(h, sizeof(h));
  /* DRUPAL_HASH_LENGTH 55: the setting (12) and the first 43 characters */
  return CRYPTO_memcmp(enc, stored + 12, 43) == 0;
}

int pwhash_verify(const char *stored, const char *password, size_t len)
{
  if (!stored)
    return SRV_EHASH;
  if (strncmp(stored, "$S$", 3) == 0 || strncmp(stored, "U$S$", 4) == 0)
    return drupal_verify(stored, password, len);
  struct pbkdf2 p;
  int rc = pbkdf2_parse(stored, &p);
  if (rc < 0)
    return rc;
  if (len > PWHASH_MAX_PASSWORD)
    return 0;
  unsigned char key[KEY_LEN];
  if (PKCS5_PBKDF2_HMAC(password, (int)len, p.salt, (int)p.saltlen, (int)p.iterations,
                        EVP_sha512(), KEY_LEN, key) != 1)
    return SRV_ECRYPTO;
  int eq = CRYPTO_memcmp(key, p.key, KEY_LEN) == 0;
  OPENSSL_cleanse(key, sizeof(key));
  return eq;
}

bool pwhash_needs_rehash(const char *stored, unsigned iterations)
{
  struct pbkdf2 p;
  if (!stored || pbkdf2_parse(stored, &p) < 0)
    return true;
  return p.iterations < iterations;
}
