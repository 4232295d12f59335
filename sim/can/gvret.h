/*
 * gvret.h - the GVRET binary protocol as a pure codec (bytes in, events out, and back), for the
 * server (serve_gvret.c), the client backend (backend_gvret.c), the tests and the fuzz target.
 *
 * Facts from SavvyCAN connections/gvretserial.cpp (GVRetSerial::piSendFrame, deviceConnected,
 * procRXChar: what the tool sends and parses) and from the OVMS firmware's
 * components/can/src/canformat_gvret.cpp / canformat_gvret.h (canformat_gvret_binary::get, put,
 * getheader: what the module serves with `can log start tcpserver transmit gvret-b`).  Every
 * message starts with 0xF1 and a command byte; numbers are little-endian:
 *
 *   host -> device (what SavvyCAN sends)
 *     E7                               switch to binary mode (sent twice on connect)
 *     F1 00 ID(4) BUS LEN DATA.. [00]  transmit a frame; ID bit 31 = 29-bit id; the trailing
 *                                      0 is SavvyCAN's checksum placeholder (the firmware does
 *                                      not consume it and skips it as a stray byte)
 *     F1 14 ID(4) BUS LEN DATA.. [00]  the same for CAN FD (LEN up to 64)
 *     F1 01 / 02 / 03 / 06 / 07 / 09 / 0C / 0D   time sync, digital/analog inputs, bus
 *                                      parameters, device info, keep-alive, number of buses,
 *                                      extended buses: the device answers (below)
 *     F1 05 CAN0(4) CAN1(4)            set up buses (bit 31: the flags 30 enable, 29 listen-only
 *                                      are valid); F1 0E SWCAN(4) LIN1(4) LIN2(4)
 *     F1 04 x, F1 08 x, F1 0A x        digital outputs, single-wire mode, system type
 *   device -> host
 *     F1 00 TIME(4 us) ID(4) LEN|BUS<<4 DATA.. 00   a frame (12 + LEN bytes, as the firmware's
 *                                      get() builds it; SavvyCAN reads 11 + LEN)
 *     F1 14 TIME(4) ID(4) LEN BUS DATA.. 00         a CAN FD frame (ESP32RET's format)
 *     F1 01 TIME(4)                    time sync reply
 *     F1 06 MODE0 SPEED0(4) MODE1 SPEED1(4)         bus parameters (mode bit 0 enabled,
 *                                      bit 4 listen-only); the firmware also sends it unasked
 *                                      right after connect (its getheader(): SavvyCAN does not
 *                                      ask again after a reconnect and times out without it)
 *     F1 07 BUILD(2) EEPROM FILETYPE AUTOLOG SINGLEWIRE   device info
 *     F1 09 DE AD                      keep-alive ("not dead"; the firmware sends DE ED)
 *     F1 0C N                          number of buses
 *     F1 0D 15 bytes                   SWCAN / LIN1 / LIN2 mode and speed
 *     F1 02 x x, F1 03 + 9 bytes       digital / analog inputs
 *
 * Extended ids: SavvyCAN and ESP32RET flag them with bit 31.  The firmware's put() (frames a
 * tool sends to the module) tests bit 27 (0x8000000) instead and keeps the other bits, so the
 * decoders here treat an id as 29-bit when bit 31 is set or when the value without bit 31 does
 * not fit 11 bits (which reads both conventions correctly).  Bus numbers on the wire are
 * 0-based (0 = the module's can1); the events carry them as sent.
 */
#ifndef SIM_CAN_GVRET_H
#define SIM_CAN_GVRET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/frame.h"

#define GVRET_START 0xF1
#define GVRET_BINARY 0xE7
#define GVRET_MAX_MSG (13 + SIM_CAN_MAX_DLEN)

enum gvret_cmd {
  GVRET_BUILD_CAN_FRAME = 0,
  GVRET_TIME_SYNC = 1,
  GVRET_GET_DIG_INPUTS = 2,
  GVRET_GET_ANALOG_INPUTS = 3,
  GVRET_SET_DIG_OUTPUTS = 4,
  GVRET_SETUP_CANBUS = 5,
  GVRET_GET_CANBUS_PARAMS = 6,
  GVRET_GET_DEVICE_INFO = 7,
  GVRET_SET_SINGLEWIRE_MODE = 8,
  GVRET_KEEP_ALIVE = 9,
  GVRET_SET_SYSTEM_TYPE = 10,
  GVRET_ECHO_CAN_FRAME = 11,
  GVRET_GET_NUM_BUSES = 12,
  GVRET_GET_EXT_BUSES = 13,
  GVRET_SET_EXT_BUSES = 14,
  GVRET_BUILD_FD_FRAME = 20,
  GVRET_SETUP_FD = 21,
  GVRET_GET_FD = 22,
};

enum gvret_event_kind {
  GVRET_EV_SKIP,    /* a stray byte (checksum placeholder, noise) */
  GVRET_EV_BINARY,  /* E7 */
  GVRET_EV_FRAME,   /* frame, bus */
  GVRET_EV_COMMAND, /* cmd, with arg[] for SETUP_CANBUS (2) / SET_EXT_BUSES (3) / 1-byte ones */
  GVRET_EV_REPLY,   /* device -> host: cmd, raw[] (the body), nraw */
  GVRET_EV_UNKNOWN, /* F1 and a command this codec does not know (2 bytes consumed) */
  GVRET_EV_BAD,     /* a frame with LEN out of range (the F1 and command byte are consumed) */
};

struct gvret_event {
  enum gvret_event_kind kind;
  uint8_t cmd;
  uint8_t bus;          /* frames: 0-based bus as on the wire */
  uint32_t time_us;     /* device frames and time sync */
  struct sim_frame frame;
  uint32_t arg[3];
  uint8_t raw[16];
  uint8_t nraw;
};

/*
 * Decodes the next message of a host -> device stream (what a GVRET server receives).
 * Returns the bytes consumed (>= 1) and fills *ev, or 0 when the message is not complete yet.
 */
size_t gvret_decode_host(const uint8_t *p, size_t n, struct gvret_event *ev);
/* The same for a device -> host stream (what a GVRET client receives). */
size_t gvret_decode_device(const uint8_t *p, size_t n, struct gvret_event *ev);

/*
 * Encodes f as a device -> host frame message (F1 00, or F1 14 for CAN FD) on 0-based bus with
 * timestamp time_us into out (>= GVRET_MAX_MSG bytes).  Returns the length, 0 for frames GVRET
 * cannot carry (error frames, RTR).
 */
size_t gvret_encode_device_frame(const struct sim_frame *f, uint8_t bus, uint32_t time_us,
                                 uint8_t *out);
/* Encodes f as a host -> device transmit (F1 00 / F1 14 with the trailing 0, as SavvyCAN's
 * piSendFrame).  Returns the length, 0 for frames GVRET cannot carry. */
size_t gvret_encode_host_frame(const struct sim_frame *f, uint8_t bus, uint8_t *out);

/* What a device reports about itself. */
struct gvret_device {
  uint8_t nbuses;          /* GET_NUM_BUSES */
  bool enabled[3];         /* bus 0, 1 (GET_CANBUS_PARAMS) and 2 (GET_EXT_BUSES as SWCAN) */
  uint32_t speed[3];
  uint16_t build;
  uint32_t time_us;        /* TIME_SYNC */
};

/*
 * Encodes the device's answer to command cmd into out (>= 20 bytes).  Returns the length, 0
 * for commands that have no answer (set-up commands, frames, GET_FD: SavvyCAN's parser would
 * wait for an answer to 22 forever).
 */
size_t gvret_encode_reply(uint8_t cmd, const struct gvret_device *dev, uint8_t *out);

#endif
