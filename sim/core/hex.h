/*
 * hex.h - hexadecimal digits: the one table every text codec uses (trace formats, slcan,
 * socketcand, ELM327, JSON escapes...), so that what counts as a hex digit is decided once,
 * and the digits they write.
 */
#ifndef SIM_CORE_HEX_H
#define SIM_CORE_HEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Digit values: 0..15 for 0-9, a-f, A-F; -1 for every other byte. */
extern const int8_t sim_hex_digits[256];

/* The digit of each value 0..15: sim_hex_upper[v] "0".."F", sim_hex_lower[v] "0".."f". */
extern const char sim_hex_upper[17];
extern const char sim_hex_lower[17];

/* The value of hex digit c (either case), or -1. */
static inline int sim_hex_digit(char c)
{
  return sim_hex_digits[(unsigned char)c];
}

/* The byte written as the two hex digits at s, or -1. */
static inline int sim_hex_byte(const char *s)
{
  int hi = sim_hex_digit(s[0]);
  int lo = hi < 0 ? -1 : sim_hex_digit(s[1]);
  return lo < 0 ? -1 : hi << 4 | lo;
}

/*
 * Parses the n hex digits at s (1..8 of them, nothing else) into *v.  Returns true, or false
 * with *v unchanged (empty, too long, or a byte that is not a digit).
 */
bool sim_hex_u32(const char *s, size_t n, uint32_t *v);

#endif
