/*
 * inputs.h - the module's CAN inputs set up on a struct sim: live buses and trace replays.
 *
 * The program collects what the user asked for into a struct can_inputs_opts with the
 * can_inputs_add_*() parsers (one per kind of value: a bus spec, a trace "[N=]FILE", an id
 * filter; the bus map and offsets are trace/replay.h's), then:
 *
 *   can_inputs_open()   opens the live buses (sim->buses[N-1]) and, when traces are given, a
 *                       trace bus ("trace:replayN", backend_trace.h) for each of the module's
 *                       buses 1..4 that has no adapter; the recorder and the vehicle attach
 *                       to sim->buses after this;
 *   can_inputs_start()  opens the trace files and starts their replays;
 *   can_inputs_free()   stops the replays and closes the buses it opened.
 *
 * Diagnostics about values carry no file name (the caller labels them with where the value
 * came from); those about trace files carry the file's name.  Library code: nothing printed.
 */
#ifndef SIM_CAN_INPUTS_H
#define SIM_CAN_INPUTS_H

#include <stdbool.h>
#include <stddef.h>

#include "can/backend_trace.h"
#include "core/diag.h"
#include "core/frame.h"
#include "core/sbuf.h"

struct sim;
struct can_inputs;

#define CAN_INPUTS_MAX_TRACES 8
/* Buses fed by a replay get a trace bus when they have no adapter: the module's can1..can4. */
#define CAN_INPUTS_TRACE_BUSES 4

struct can_inputs_opts {
  struct { const char *path; uint8_t bus; } traces[CAN_INPUTS_MAX_TRACES]; /* borrowed */
  int ntraces;
  struct { const char *spec; } cans[SIM_MAX_BUSES]; /* "[N=]backend:arg", borrowed */
  int ncans;
  struct can_trace_opts trace; /* replay options and id filter, shared by all traces */
};

/* Adds a bus spec "[N=]backend:arg" (spec.h; borrowed).  Returns 0, or SIM_ECONFIG with a
 * message in d (bad spec, more than SIM_MAX_BUSES). */
int can_inputs_add_can(struct can_inputs_opts *o, const char *spec, struct sim_diag *d);
/* Adds a trace "[N=]FILE" (borrowed): with N (1..SIM_MAX_BUSES), every frame of the file goes
 * to bus N.  Returns 0, or SIM_ECONFIG with a message in d (empty name, too many traces). */
int can_inputs_add_trace(struct can_inputs_opts *o, const char *arg, struct sim_diag *d);
/* Adds the ids of a filter list "1DB,5C5,700/7F0" (can_filter_parse) to the replay filter.
 * Returns 0, SIM_EPARSE with a message in d, or SIM_ELIMIT. */
int can_inputs_add_filter(struct can_inputs_opts *o, const char *s, struct sim_diag *d);

/* Called once when every replay has finished (status: 0, or the first error). */
typedef void (*can_inputs_done_fn)(void *ctx, int status);

/*
 * Opens the buses on sim (borrowed, must outlive the inputs): every o->cans bus (created and
 * started, stored in sim->buses[N-1], N = 1 when the spec has none) and, when o has traces,
 * a trace bus for each bus 1..CAN_INPUTS_TRACE_BUSES that is still empty.  Returns 0 and sets
 * *out (free with can_inputs_free(), also after an error), or an error with d filled:
 * SIM_ECONFIG (a bus given twice, a bad backend argument), -ENOENT (adapter missing),
 * SIM_ENOCAN (a kernel without SocketCAN).
 */
int can_inputs_open(struct can_inputs **out, struct sim *sim, const struct can_inputs_opts *o,
                    struct sim_diag *d);
/*
 * Opens every trace of the options given to can_inputs_open() (o must still be valid) and
 * starts its replay; done(ctx, status) is called when all have ended (not at all without
 * traces).  Returns 0 or the reader's error with d filled (file missing, unknown format).
 */
int can_inputs_start(struct can_inputs *in, const struct can_inputs_opts *o,
                     can_inputs_done_fn done, void *ctx, struct sim_diag *d);
/* Appends the statistics of every replay (trace_replay_format_stats) to out. */
void can_inputs_report(struct can_inputs *in, struct sbuf *out);
/* Sums the counters of every replay (frames, filtered, unrouted, events, metrics, bad lines;
 * the timing fields stay 0) into sum.  in may be NULL (all 0). */
void can_inputs_totals(struct can_inputs *in, struct trace_replay_stats *sum);
/* Appends the diagnostics collected during the replays (bad lines skipped, or the line that
 * stopped a replay), one "file:line:col: error: ..." per line.  Returns how many. */
size_t can_inputs_format_errors(struct can_inputs *in, struct sbuf *out);
/* Stops the replays and closes the buses it opened (their sim->buses entries become NULL).
 * NULL allowed. */
void can_inputs_free(struct can_inputs *in);

#endif
