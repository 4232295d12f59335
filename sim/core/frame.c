/*
 * frame.c - CAN FD length/DLC mapping (ISO 11898-1:2015 table; Linux can/dev.c).
 */
#include "core/frame.h"

static const uint8_t dlc2len[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 20, 24, 32, 48, 64};

uint8_t sim_can_dlc2len(uint8_t dlc)
{
  return dlc2len[dlc & 0x0F];
}

uint8_t sim_can_len2dlc(uint8_t len)
{
  for (uint8_t dlc = 0; dlc < 16; dlc++)
    if (dlc2len[dlc] >= len)
      return dlc;
  return 15;
}
