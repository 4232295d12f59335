/*
 * bridge.h - `--bridge A=B[,OPTION...]`: frames received on simulator bus A are put on bus B
 * and back, so the simulator sits between a car and a tool as a passive module (the vehicle
 * decoder still decodes what passes on the bus it listens on; --vehicle-anybus for both).
 *
 *   A=B          both directions;  A>B  only from A to B
 *   ID, ID/MASK  forward only matching frames (the --filter syntax: 7E8, 700/700, 18DAF100/
 *                1FFFFF00; 8 digits or a value above 7FF is 29-bit); several are OR-ed
 *   rate=N       at most N frames per second of simulation time per direction (excess dropped
 *                and counted)
 *
 * Only frames that arrive on a bus from outside the simulator are forwarded (from its backend,
 * a replay, a network client, another bridge), not what the simulator itself sends there.
 * A forwarded frame is received by the simulator's nodes on the other bus and transmitted by
 * its backend (can_tap_inject).  Loops are prevented twice: a frame that comes back to a
 * bus it has already been put on while bridges are still forwarding it (a circle of bridges)
 * is not put there again, and a frame seen on B that the bridge put on B within the last 100 ms
 * (the same wire behind both buses, a loop outside the process) is not sent back to A.
 */
#ifndef SIM_CAN_BRIDGE_H
#define SIM_CAN_BRIDGE_H

#include <stdint.h>

#include "can/bus.h"
#include "core/diag.h"
#include "core/sbuf.h"

struct sim_loop;
struct can_bridge;

#define CAN_BRIDGE_MAX_FILTERS 16

/* Parses spec and creates the bridge on loop (borrowed).  Returns 0 and sets *out (free with
 * can_bridge_free()), or SIM_ECONFIG / SIM_EPARSE with d filled. */
int can_bridge_new(struct can_bridge **out, struct sim_loop *loop, const char *spec,
                   struct sim_diag *d);
/* The two bus numbers (1..8). */
void can_bridge_buses(const struct can_bridge *b, uint8_t *a, uint8_t *bb);
/* Attaches to buses[a-1] and buses[b-1] (borrowed).  Returns 0, SIM_ECONFIG for a missing
 * bus, SIM_ELIMIT when a bus has no monitor slot left (d filled). */
int can_bridge_start(struct can_bridge *b, struct sim_canbus *const buses[SIM_MAX_BUSES], struct sim_diag *d);
/* Appends "bridge A=B: forwarded X a>b, Y b>a, filtered F, rate-limited R, loops L\n". */
void can_bridge_report(const struct can_bridge *b, struct sbuf *out);

struct can_bridge_stats {
  unsigned long fwd[2];    /* frames forwarded a->b, b->a */
  unsigned long filtered;  /* not matching the filters */
  unsigned long limited;   /* dropped by rate= */
  unsigned long loops;     /* not forwarded because they came back */
};
const struct can_bridge_stats *can_bridge_get_stats(const struct can_bridge *b);
void can_bridge_free(struct can_bridge *b);

#endif
