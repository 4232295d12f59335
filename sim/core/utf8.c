/*
 * utf8.c - UTF-8 validity and topic words (utf8.h), after the table of well-formed byte sequences in
 * RFC 3629, section 4.
 */
#include "core/utf8.h"

/* The length of the well-formed sequence at s (n bytes left), or 0. */
static size_t sequence(const unsigned char *s, size_t n)
{
  unsigned c = s[0];
  if (c >= 0x01 && c <= 0x7f)
    return 1;
  size_t len = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4
                                                                                            : 0;
  if (len == 0 || n < len)
    return 0;
  /* the second byte's range depends on the first (RFC 3629: no overlong form, no surrogate,
   * nothing beyond U+10FFFF) */
  unsigned lo = c == 0xe0 ? 0xa0 : c == 0xf0 ? 0x90 : 0x80;
  unsigned hi = c == 0xed ? 0x9f : c == 0xf4 ? 0x8f : 0xbf;
  if (s[1] < lo || s[1] > hi)
    return 0;
  for (size_t i = 2; i < len; i++)
    if (s[i] < 0x80 || s[i] > 0xbf)
      return 0;
  return len;
}

bool sim_utf8_valid(const char *s, size_t n, size_t *bad)
{
  const unsigned char *u = (const unsigned char *)s;
  for (size_t i = 0; i < n;) {
    size_t l = sequence(u + i, n - i);
    if (l == 0) {
      if (bad)
        *bad = i;
      return false;
    }
    i += l;
  }
  return true;
}

bool sim_topic_word(const char *s)
{
  if (!*s)
    return false;
  for (; *s; s++)
    if (*s == ' ' || *s == '/' || *s == '+' || *s == '#' || (unsigned char)*s < 0x20)
      return false;
  return true;
}
