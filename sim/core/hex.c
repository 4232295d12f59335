/*
 * hex.c - the hex digit table and number parser.  See hex.h.
 */
#include "core/hex.h"

#define H_ -1
#define H4_ H_, H_, H_, H_
#define H16_ H4_, H4_, H4_, H4_
const int8_t sim_hex_digits[256] = {
    H16_, H16_, H16_,
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, H_, H_, H_, H_, H_, H_,
    H_, 10, 11, 12, 13, 14, 15, H_, H_, H_, H_, H_, H_, H_, H_, H_,
    H16_,
    H_, 10, 11, 12, 13, 14, 15, H_, H_, H_, H_, H_, H_, H_, H_, H_,
    H16_, H16_, H16_, H16_, H16_, H16_, H16_, H16_, H16_,
};

const char sim_hex_upper[17] = "0123456789ABCDEF";
const char sim_hex_lower[17] = "0123456789abcdef";

bool sim_hex_u32(const char *s, size_t n, uint32_t *v)
{
  if (n == 0 || n > 8)
    return false;
  uint32_t x = 0;
  for (size_t k = 0; k < n; k++) {
    int h = sim_hex_digit(s[k]);
    if (h < 0)
      return false;
    x = x << 4 | (uint32_t)h;
  }
  *v = x;
  return true;
}
