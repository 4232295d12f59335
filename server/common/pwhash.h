/*
 * pwhash.h - password hashes as the server parts store and check them.
 *
 * New hashes are salted PBKDF2-HMAC-SHA512 (RFC 8018 section 5.2, OpenSSL's
 * PKCS5_PBKDF2_HMAC) in the modular-crypt form passlib documents for pbkdf2_sha512
 * (passlib.readthedocs.io, "passlib.hash.pbkdf2_digest"):
 *
 *     $pbkdf2-sha512$<iterations>$<salt>$<checksum>
 *
 * with a 16-byte random salt and the 64-byte derived key, both in passlib's "adapted base64"
 * (RFC 4648 base64 with '.' instead of '+', no '=' padding).  Hashes copied from an OVMS
 * server's Drupal 7 user table are verified as Drupal 7 computes them (includes/password.inc,
 * _password_crypt(): "$S$", one itoa64 character for log2 of the iteration count, an
 * 8-character salt, SHA-512 over salt+password then count times over hash+password, the first
 * 43 characters of the digest in Drupal's own base64 — 55 characters in all); after such a
 * login the caller stores a new PBKDF2 hash (pwhash_needs_rehash()).
 *
 * Pure functions apart from the random salt; every comparison is constant-time (CRYPTO_memcmp).
 */
#ifndef SRV_PWHASH_H
#define SRV_PWHASH_H

#include <stdbool.h>
#include <stddef.h>

/* Default PBKDF2 iteration count for new hashes (ovms_auth.so plugin_opt_iterations,
 * ovms-users --iterations). */
#define PWHASH_DEFAULT_ITERATIONS 100000
#define PWHASH_MIN_ITERATIONS 1000
#define PWHASH_MAX_ITERATIONS 100000000
/* Room for any hash this module writes, NUL included. */
#define PWHASH_MAX 192
/* Longest password accepted (as Drupal's DRUPAL_MAX_PASSWORD_LENGTH). */
#define PWHASH_MAX_PASSWORD 512

/*
 * Hashes password (len bytes) with a new random salt and iterations into out (PWHASH_MAX
 * bytes).  Returns 0, -EINVAL (iterations out of range, password too long) or SRV_ECRYPTO.
 */
int pwhash_make(const char *password, size_t len, unsigned iterations, char out[PWHASH_MAX]);

/* The same with a given salt (tests, known-answer checks). */
int pwhash_make_salt(const char *password, size_t len, unsigned iterations,
                     const unsigned char *salt, size_t saltlen, char out[PWHASH_MAX]);

/*
 * Checks password against stored (either form).  Returns 1 when it matches, 0 when it does
 * not, SRV_EHASH when stored is neither a well-formed PBKDF2 nor a Drupal 7 hash.
 */
int pwhash_verify(const char *stored, const char *password, size_t len);

/* True when stored should be replaced by a new hash with iterations after a successful
 * login: a Drupal hash, or PBKDF2 with fewer iterations. */
bool pwhash_needs_rehash(const char *stored, unsigned iterations);

/* Drupal 7's base64 (password.inc _password_base64_encode) of in[0..n) into out, which
 * needs (n * 8 + 5) / 6 + 1 bytes; returns the length written. */
size_t pwhash_drupal_b64(const unsigned char *in, size_t n, char *out);

#endif
