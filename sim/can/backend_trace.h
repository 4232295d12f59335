/*
 * backend_trace.h - trace replays as a CAN backend.
 *
 * A bus "trace:NAME" (can_backend_trace) has no device behind it: the frames it receives come
 * from trace replays (trace/replay.h), as if an adapter had received them, and what the module
 * sends on it goes nowhere (monitors still see it, so a recording shows the module's side).
 * It is not in the registry of spec.h: nobody names it on a command line, the inputs set-up
 * (inputs.h) creates one for every module bus a replay may feed that has no adapter.
 *
 * A struct can_trace is one replayed file: the replay engine schedules its records on the
 * simulation clock and maps the trace's bus labels to bus numbers; this layer applies the id
 * filter and delivers each frame into the bus of its number (can_bus_deliver), whatever that
 * bus's backend is: a trace bus, or a live adapter whose traffic the trace then adds to.
 */
#ifndef SIM_CAN_BACKEND_TRACE_H
#define SIM_CAN_BACKEND_TRACE_H

#include "can/bus.h"
#include "core/diag.h"
#include "trace/replay.h"

struct sim;
struct can_trace;

extern const struct sim_canbus_ops can_backend_trace;

#define CAN_TRACE_MAX_FILTERS 32

struct can_trace_opts {
  struct trace_replay_opts replay; /* its on_frame is replaced; on_done and ctx are kept */
  struct sim_can_filter filters[CAN_TRACE_MAX_FILTERS];
  size_t nfilters;                 /* 0 = every id */
};

/*
 * Opens path for replay into the buses of table buses (SIM_MAX_BUSES entries, index = bus
 * number - 1, entries may be NULL; borrowed, read at each frame, must outlive the replay),
 * on sim (borrowed: its loop, events and metrics).  Nothing is scheduled before
 * can_trace_start().  Returns 0 and sets *out (free with can_trace_close()), or the reader's
 * error with d filled (-ENOENT, SIM_EFORMAT...).  replay.on_done is called with the
 * struct trace_replay of can_trace_replay().
 */
int can_trace_open(struct can_trace **out, struct sim *sim, const char *path,
                   const struct can_trace_opts *o, struct sim_canbus *const *buses,
                   struct sim_diag *d);
/* Starts the replay (trace_replay_start).  Returns 0 or SIM_ESTATE. */
int can_trace_start(struct can_trace *t);
/* The replay (statistics, diagnostics); borrowed, valid until can_trace_close(). */
struct trace_replay *can_trace_replay(struct can_trace *t);
/* Stops and frees.  NULL is allowed. */
void can_trace_close(struct can_trace *t);

#endif
