/*
 * poller.h - the simulator's own diagnostic poller: the vehicle's poll list (vehicle/poll.h)
 * polled on a live bus as the firmware polls it, and the replies decoded into metrics with the
 * list's decoders (the firmware's PollReply_* functions).
 *
 * Two modes:
 *  - transmit (`--vehicle-poll`): one poller per bus that has entries, as the firmware's
 *    OvmsPoller per bus (openvehicles/Open-Vehicle-Monitoring-System-3
 *    vehicle/OVMS.V3/components/vehicle/vehicle_poller.cpp, vehicle_poller_isotp.cpp):
 *      * a primary tick every second; the entries due in the current poll state are those
 *        whose interval divides the ticker (NextPollEntry: `ticker % polltime[state] == 0`),
 *        taken in list order, at most one request a tick (m_poll_sequence_max = 1, the
 *        default: the Leaf and the i-MiEV do not change it); when the list is through, the
 *        ticker advances (PollerNextTick, wrapping after 3600);
 *      * the poll state is vehicle_poll_state() (the firmware's PollSetState); a change
 *        restarts the ticker and the list (Do_PollSetState);
 *      * a request waits two ticks for its reply (m_poll_wait = 2); each 0x78 response
 *        pending adds one (PollerISOTPReceive); a complete reply or a negative response ends
 *        the wait;
 *      * requests: single frames padded with 0x55 (PollerISOTPStart); our flow control:
 *        BS 0, STmin 25 ms (m_poll_fc_septime), padded with 0x00; N_Bs/N_Cr 1000 ms;
 *  - listen (the default with a --vehicle that is not emulated): nothing is sent; replies to
 *    another tester's polls (a real module on the bus, or recorded in a replayed trace: a CRTD
 *    with the module's requests and the car's replies) are reassembled on the entries' reply
 *    ids and decoded the same way.
 *
 * A reply is decoded by the entry with its bus, reply id, service (response - 0x40) and PID,
 * exactly the payload the firmware hands to IncomingPollReply (after service and PID).
 * Broadcast entries (0x7DF) listen to 0x7E8 only.  Timing is the simulation clock's.
 */
#ifndef HIL_POLLER_H
#define HIL_POLLER_H

#include <stdbool.h>
#include <stdint.h>

struct sim;
struct sbuf;
struct hil_poller;

struct hil_poller_opts {
  bool transmit; /* poll (else only listen to someone else's polls) */
};

struct hil_poller_stats {
  unsigned long requests;  /* requests sent */
  unsigned long replies;   /* positive replies decoded (by an entry with a decoder) */
  unsigned long negatives; /* negative responses (0x78 not included) */
  unsigned long pending;   /* 0x78 response pending */
  unsigned long timeouts;  /* requests without a complete reply within the wait */
  unsigned long ignored;   /* messages on a reply id that match no entry */
  unsigned long rx_errors; /* receptions abandoned (N_Cr, sequence, overflow) */
};

/*
 * Starts a poller for sim's vehicle (its poll list) on sim's buses.  Returns 0 and *out
 * (freed with hil_poller_free()), or SIM_ELIMIT when a bus has no free monitor slot.  A
 * vehicle without polls (or none) gives a poller that does nothing.
 */
int hil_poller_new(struct hil_poller **out, struct sim *sim, const struct hil_poller_opts *o);
void hil_poller_free(struct hil_poller *p);

const struct hil_poller_stats *hil_poller_stats(const struct hil_poller *p);
/* "poller: N requests, N replies, ..." for --stats (one line). */
void hil_poller_report(const struct hil_poller *p, struct sbuf *b);

#endif
