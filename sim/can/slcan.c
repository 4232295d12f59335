/*
 * slcan.c - the Lawicel / slcan ASCII protocol codec.  See slcan.h for the protocol facts.
 */
#include "can/slcan.h"

#include <string.h>

#include "core/error.h"
#include "core/hex.h"

static const uint32_t rates[] = {10000, 20000, 50000, 100000, 125000, 250000, 500000, 800000,
                                 1000000};

int slcan_bitrate_index(uint32_t bitrate)
{
  for (int i = 0; i < 9; i++)
    if (rates[i] == bitrate)
      return i;
  return -1;
}

int slcan_encode(const struct sim_frame *f, char *buf, size_t cap)
{
  if (f->flags & SIM_CAN_F_ERR || cap < SLCAN_MAX_LINE)
    return SIM_EUNSUP;
  bool ext = f->flags & SIM_CAN_F_EXT;
  size_t n = 0;
  char c;
  if (f->flags & SIM_CAN_F_FD)
    c = f->flags & SIM_CAN_F_BRS ? 'b' : 'd';
  else if (f->flags & SIM_CAN_F_RTR)
    c = 'r';
  else
    c = 't';
  buf[n++] = ext ? (char)(c - 32) : c;
  int digits = ext ? 8 : 3;
  for (int k = digits - 1; k >= 0; k--)
    buf[n++] = sim_hex_upper[(f->id >> (4 * k)) & 15];
  uint8_t dlc = f->flags & SIM_CAN_F_FD ? sim_can_len2dlc(f->len) : (f->len > 8 ? 8 : f->len);
  buf[n++] = sim_hex_upper[dlc];
  if (!(f->flags & SIM_CAN_F_RTR)) {
    unsigned len = f->flags & SIM_CAN_F_FD ? sim_can_dlc2len(dlc) : dlc;
    for (unsigned k = 0; k < len; k++) {
      uint8_t v = k < f->len ? f->data[k] : 0;
      buf[n++] = sim_hex_upper[v >> 4];
      buf[n++] = sim_hex_upper[v & 15];
    }
  }
  buf[n++] = '\r';
  return (int)n;
}

/* The n hex digits at s + from into *v; on a bad one, *col is its 1-based column. */
static int hex_digits(const char *s, size_t from, size_t n, uint32_t *v, int *col)
{
  uint32_t x = 0;
  for (size_t k = from; k < from + n; k++) {
    int h = sim_hex_digit(s[k]);
    if (h < 0) {
      *col = (int)k + 1;
      return SIM_EPARSE;
    }
    x = x << 4 | (uint32_t)h;
  }
  *v = x;
  return 0;
}

int slcan_decode(const char *line, size_t len, struct sim_frame *f, int *ts_ms, int *col)
{
  int dummy;
  if (!col)
    col = &dummy;
  if (ts_ms)
    *ts_ms = -1;
  memset(f, 0, sizeof(*f));
  if (len < 1) {
    *col = 1;
    return SIM_EPARSE;
  }
  char c = line[0];
  bool ext = c >= 'A' && c <= 'Z';
  switch (c | 0x20) {
  case 't': break;
  case 'r': f->flags |= SIM_CAN_F_RTR; break;
  case 'd': f->flags |= SIM_CAN_F_FD; break;
  case 'b': f->flags |= SIM_CAN_F_FD | SIM_CAN_F_BRS; break;
  default: *col = 1; return SIM_EPARSE;
  }
  if (ext)
    f->flags |= SIM_CAN_F_EXT;
  size_t digits = ext ? 8 : 3;
  if (len < 1 + digits + 1) {
    *col = (int)len + 1;
    return SIM_EPARSE;
  }
  uint32_t id;
  if (hex_digits(line, 1, digits, &id, col) < 0)
    return SIM_EPARSE;
  if (id > (ext ? SIM_CAN_EFF_MASK : SIM_CAN_SFF_MASK)) {
    *col = 2;
    return SIM_EPARSE;
  }
  f->id = id;
  size_t i = 1 + digits;
  int dlc = sim_hex_digit(line[i]);
  if (dlc < 0 || (!(f->flags & SIM_CAN_F_FD) && dlc > 8)) {
    *col = (int)i + 1;
    return SIM_EPARSE;
  }
  i++;
  unsigned dlen = f->flags & SIM_CAN_F_FD ? sim_can_dlc2len((uint8_t)dlc) : (unsigned)dlc;
  if (f->flags & SIM_CAN_F_RTR) {
    f->len = (uint8_t)dlc;
  } else {
    for (unsigned k = 0; k < dlen; k++, i += 2) {
      int a = i < len ? sim_hex_digit(line[i]) : -1;
      int b = i + 1 < len ? sim_hex_digit(line[i + 1]) : -1;
      if (a < 0 || b < 0) {
        *col = (int)(a < 0 ? i : i + 1) + 1;
        return SIM_EPARSE;
      }
      f->data[k] = (uint8_t)(a << 4 | b);
    }
    f->len = (uint8_t)dlen;
  }
  if (i == len)
    return 0;
  if (len - i == 4) {
    uint32_t t;
    if (hex_digits(line, i, 4, &t, col) < 0)
      return SIM_EPARSE;
    if (ts_ms)
      *ts_ms = (int)t;
    return 0;
  }
  *col = (int)i + 1;
  return SIM_EPARSE;
}
