/*
 * frame.h - one CAN frame type for everything: classic CAN and CAN FD, 11/29-bit ids, RTR,
 * error frames, up to 64 data bytes, the bus it belongs to, a timestamp and a direction.
 *
 * Buses are numbered from 1 as on the OVMS module (can1..can4); 0 means "not assigned".
 */
#ifndef SIM_CAN_FRAME_H
#define SIM_CAN_FRAME_H

#include <stdbool.h>
#include <stdint.h>

#define SIM_CAN_MAX_DLEN 64
#define SIM_CAN_SFF_MASK 0x7FFu
#define SIM_CAN_EFF_MASK 0x1FFFFFFFu
/* The simulator buses, numbered 1..SIM_MAX_BUSES (the module has can1..can4; the rest are
 * for bench set-ups); the one constant every bus table is sized by. */
#define SIM_MAX_BUSES 8

enum {
  SIM_CAN_F_EXT = 0x01, /* 29-bit identifier */
  SIM_CAN_F_RTR = 0x02, /* remote transmission request (classic only) */
  SIM_CAN_F_ERR = 0x04, /* error frame: id holds the SocketCAN error class bits */
  SIM_CAN_F_FD = 0x08,  /* CAN FD frame */
  SIM_CAN_F_BRS = 0x10, /* FD: bit rate switch */
  SIM_CAN_F_ESI = 0x20, /* FD: error state indicator */
  SIM_CAN_F_TX = 0x40,  /* transmitted by us (CRTD 'T'), else received */
};

struct sim_frame {
  int64_t ts;   /* ns; trace time (UTC epoch or relative, as the source gives) */
  uint32_t id;  /* without flag bits */
  uint16_t flags;
  uint8_t bus;  /* 1-based, 0 = unassigned */
  uint8_t len;  /* data length in bytes (0..8 classic, 0..64 FD); RTR: requested DLC */
  uint8_t data[SIM_CAN_MAX_DLEN];
};

static inline bool sim_frame_is_ext(const struct sim_frame *f)
{
  return (f->flags & SIM_CAN_F_EXT) != 0;
}

/* The DLC code for a length (FD lengths round up to 12, 16, 20, 24, 32, 48, 64) and back. */
uint8_t sim_can_len2dlc(uint8_t len);
uint8_t sim_can_dlc2len(uint8_t dlc);

#endif
