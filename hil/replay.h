/*
 * replay.h - reactive replay (`--trace-respond FILE`): the request -> response exchanges of a
 * recorded trace (any format the trace reader knows, e.g. an OVMS CRTD log with the module's
 * polls and the car's replies) answer live requests.
 *
 * Learning: every frame of the file on a diagnostic id (11-bit 0x700-0x7FF, 29-bit
 * 0x18DAxxxx / 0x18DBxxxx) is reassembled as ISO-TP per (bus, id) with the simulator's engine
 * (hil/isotp.h, listen only).  A complete message whose first byte is 0x40-0x7F is a response
 * (SID + 0x40, or 0x7F SID NRC); any other is a request.  A response pairs with the latest
 * earlier request on the same bus and another id with its service (SID = response - 0x40, or
 * the NRC's SID) and, for services with a PID (vehicle/poll.h vehicle_poll_pid_len()), the
 * same PID.  Responses 0x78 (response pending) are not learnt.  The exchange is keyed by
 * (bus, request id, request bytes); the same request answered several times keeps the answers
 * in order.  Frames without a bus number (formats without one) count as bus 1.
 *
 * Answering: one ISO-TP link per (bus, request id, response id) on the live bus (a bus
 * monitor, so any tester on the bus is answered): a request is reassembled (our FC: BS 0,
 * STmin 0), looked up and answered from the response id with the recorded reply, re-sent with
 * ISO-TP flow control (the requester's FC: block size, STmin, WAIT honoured); successive
 * identical requests get the recorded answers in turn, the last one repeating.  Frames are
 * padded with the byte the recording's responses were padded with (none when its frames were
 * shorter than 8 bytes).  Requests that match no exchange are counted (stats.unknown, shown
 * by --stats) and not answered.  Functional requests (0x7DF) are answered by every response id
 * recorded for them.
 */
#ifndef HIL_REPLAY_H
#define HIL_REPLAY_H

#include <stdint.h>

struct sim;
struct sbuf;
struct sim_diag;
struct hil_replay;

struct hil_replay_opts {
  const char *format; /* trace format name; NULL = detected */
};

struct hil_replay_stats {
  unsigned long exchanges; /* distinct (bus, request id, request) learnt */
  unsigned long answers_learnt;
  unsigned long requests;  /* live requests received */
  unsigned long answered;
  unsigned long unknown;   /* live requests without a recorded exchange */
  unsigned long busy;      /* requests while the previous answer was still being sent */
  unsigned long no_bus;    /* exchanges whose bus the simulator does not have */
};

/*
 * Reads path and starts answering on sim's buses.  Returns 0 and *out (freed with
 * hil_replay_free()), or SIM_EPARSE / the reader's error with d filled (file:line:col), or
 * SIM_ENOTFOUND (d filled) when the file holds no exchange.
 */
int hil_replay_new(struct hil_replay **out, struct sim *sim, const char *path,
                   const struct hil_replay_opts *o, struct sim_diag *d);
void hil_replay_free(struct hil_replay *r);

const struct hil_replay_stats *hil_replay_stats(const struct hil_replay *r);
/* "trace-respond: N exchanges learnt, N requests, N answered, N unknown ..." (one line). */
void hil_replay_report(const struct hil_replay *r, struct sbuf *b);

#endif
