/*
 * poll.h - a vehicle's diagnostic polls (OBD-II / UDS / KWP over ISO-TP), as a table, the way
 * the firmware declares them (OvmsPoller::poll_pid_t lists in each vehicle module, e.g.
 * vehicle_nissanleaf.cpp obdii_polls_aze0[]) and decodes their replies (the PollReply_*
 * functions called from IncomingPollReply()).
 *
 * One entry is one request: bus, the module's request id and reply id, the service ("type":
 * 0x01 OBD mode 01, 0x09 mode 09, 0x21 read data by 8-bit local id, 0x22 UDS read data by
 * identifier...) and the PID, and the poll interval in seconds per poll state (the firmware's
 * four states; 0 = not polled in that state).  Each entry has two pure functions:
 *
 *  - decode: the reply's payload (after the response service byte and the PID, exactly what
 *    the firmware hands to PollReply_*) into metrics, with the length checks the firmware
 *    makes (the Leaf's group 1 must be 39, 41 or 51 bytes...).  Used by the simulator's poller
 *    (hil/poller.c) and when recorded polls are replayed from a trace;
 *  - encode: the reply's payload built from the current metrics, so the simulated car's ECUs
 *    answer a module on the bench with what the real car would (hil/responder.c); encode ->
 *    decode gives the metrics back.
 *
 * The tables live with the vehicles (vehicles/<car>/<car>_poll.c); the vehicle's init installs
 * one in struct vehicle (polls, n_polls) because the list can depend on configuration (Leaf
 * ZE1 vs AZE0), like the firmware's PollSetPidList().
 */
#ifndef SIM_VEHICLE_POLL_H
#define SIM_VEHICLE_POLL_H

#include <stddef.h>
#include <stdint.h>

struct vehicle;
struct vehicle_poll;

/* The firmware's VEHICLE_POLL_NSTATES and VEHICLE_POLL_TYPE_* (vehicle_common.h). */
#define VEHICLE_POLL_NSTATES 4
enum {
  VEHICLE_POLL_OBDIICURRENT = 0x01,
  VEHICLE_POLL_OBDIIVEHICLE = 0x09,
  VEHICLE_POLL_SESSION = 0x10,
  VEHICLE_POLL_OBDIIGROUP = 0x21,
  VEHICLE_POLL_READDATA = 0x22,
  VEHICLE_POLL_TESTERPRESENT = 0x3E,
};
/* Broadcast request id of OBD-II (ISO 15765-4): replies come from 0x7E8..0x7EF. */
#define VEHICLE_POLL_BROADCAST 0x7DF

/* Decodes a reply payload into metrics (d valid during the call). */
typedef void (*vehicle_poll_decode_fn)(struct vehicle *v, const struct vehicle_poll *p,
                                       const uint8_t *d, size_t len);
/* Builds a reply payload from the metrics into out (capacity cap).  Returns its length, or
 * 0 when the ECU has nothing to say (the request is then answered with NRC 0x31). */
typedef size_t (*vehicle_poll_encode_fn)(struct vehicle *v, const struct vehicle_poll *p,
                                         uint8_t *out, size_t cap);

struct vehicle_poll {
  uint8_t bus;                     /* 1-based */
  uint32_t txid;                   /* request id (VEHICLE_POLL_BROADCAST for 0x7DF) */
  uint32_t rxid;                   /* reply id; 0 with a broadcast = any of 0x7E8..0x7EF */
  uint8_t type;                    /* service */
  uint16_t pid;
  uint16_t interval[VEHICLE_POLL_NSTATES]; /* seconds per poll state, 0 = not polled */
  vehicle_poll_decode_fn decode;   /* may be NULL (the firmware ignores the reply) */
  vehicle_poll_encode_fn encode;   /* may be NULL (the simulated ECU does not answer) */
  const char *name;                /* "BMS group 1 (battery)" */
};

/* Bytes of PID in a request and a positive reply of service type, as the firmware's
 * POLL_TYPE_HAS_16BIT_PID / _NO_PID / _8BIT_PID (vehicle_poller.h): 2, 0 or 1. */
static inline int vehicle_poll_pid_len(uint8_t type)
{
  switch (type) {
  case 0x22: case 0x24: case 0x2E: case 0x2F: case 0x05: case 0x2A:
    return 2;
  case 0x14: case 0x23: case 0x03: case 0x04: case 0x07: case 0x0A: case 0x18:
    return 0;
  default:
    return 1;
  }
}

/* The firmware's poll states as most vehicles use them (Leaf, i-MiEV): 0 off, 1 on, 2 driving,
 * 3 charging. */
enum { VEHICLE_POLLSTATE_OFF, VEHICLE_POLLSTATE_ON, VEHICLE_POLLSTATE_RUNNING,
       VEHICLE_POLLSTATE_CHARGING };

#endif
