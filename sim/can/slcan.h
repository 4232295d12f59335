/*
 * slcan.h - the Lawicel / slcan ASCII protocol as a pure codec.
 *
 * USB-CAN adapters with slcan firmware (CANable, CANtact, Lawicel CANUSB...) speak a line
 * protocol over a serial port; commands and frames end with '\r'.  Facts from the Lawicel
 * CANUSB manual and linux-can/can-utils slcanpty.c / Linux drivers/net/can/slcan:
 *
 *   Sn\r       bitrate: S0=10k S1=20k S2=50k S3=100k S4=125k S5=250k S6=500k S7=800k S8=1M
 *   O\r C\r    open / close the channel;  Z1\r / Z0\r  timestamps on/off;  V\r N\r  version
 *   tIIILDD..  11-bit data frame (III = 3 hex digits, L = DLC 0-8, DD = bytes)
 *   TIIIIIIIILDD..  29-bit data frame;  rIIIL / RIIIIIIIIL remote frames
 *   dIIIL.. / DIIIIIIIIL..  CAN FD frames (L = DLC 0-F), b/B: FD with bit rate switch
 *   optional 4 hex digits at the end of a received frame: timestamp in ms (0-0xEA5F) when Z1
 *   answers: '\r' = OK, '\a' (BEL) = error; after t/T transmit some adapters answer 'z\r'/'Z\r'
 */
#ifndef SIM_CAN_SLCAN_H
#define SIM_CAN_SLCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/frame.h"

/* Longest frame line: 'D' + 8 + 1 + 128 + 4 + '\r'. */
#define SLCAN_MAX_LINE 148

/* The S-command digit for a bitrate in bit/s (0..8), or -1 when the adapter has none. */
int slcan_bitrate_index(uint32_t bitrate);

/*
 * Encodes f as a transmit command including the trailing '\r' into buf (cap >= SLCAN_MAX_LINE).
 * Returns the length, or SIM_EUNSUP for frames slcan cannot carry (error frames).
 */
int slcan_encode(const struct sim_frame *f, char *buf, size_t cap);

/*
 * Decodes one received line (without '\r') starting with t/T/r/R/d/D/b/B.  Sets *f (ts = 0,
 * bus 0) and, when the line carries a timestamp, *ts_ms (else -1).  ts_ms may be NULL.
 * Returns 0, or SIM_EPARSE with *col (1-based, may be NULL) at the offending character.
 */
int slcan_decode(const char *line, size_t len, struct sim_frame *f, int *ts_ms, int *col);

#endif
