/*
 * backend_trace.c - the trace backend ("trace:NAME") and trace replays delivered into buses.
 * See backend_trace.h.
 */
#include "can/backend_trace.h"

#include <stdlib.h>

#include "core/error.h"
#include "core/xalloc.h"

struct can_trace {
  struct trace_replay *rp;
  struct sim_canbus *const *buses; /* borrowed */
  struct sim_can_filter filters[CAN_TRACE_MAX_FILTERS];
  size_t nfilters;
  trace_replay_done_fn on_done; /* the caller's, with its ctx */
  void *ctx;
};

/* ---- the backend: a bus without a device ------------------------------------------------ */

static int tr_open(struct sim_canbus *bus, const char *arg, struct sim_diag *d)
{
  (void)bus;
  if (!arg[0]) {
    sim_diag_error(d, NULL, 0, 0, "trace: needs a name (trace:NAME)");
    return SIM_ECONFIG;
  }
  return 0;
}

/* Nothing is listening: the frame is taken, as on a bus without other nodes. */
static int tr_send(struct sim_canbus *bus, const struct sim_frame *f)
{
  (void)bus;
  (void)f;
  return 0;
}

const struct sim_canbus_ops can_backend_trace = {
  .name = "trace",
  .open = tr_open,
  .send = tr_send,
};

/* ---- replays into buses ----------------------------------------------------------------- */

static enum trace_replay_fate on_frame(void *ctx, const struct sim_frame *f)
{
  struct can_trace *t = ctx;
  if (!can_filter_match(t->filters, t->nfilters, f))
    return TRACE_FRAME_FILTERED;
  struct sim_canbus *bus = f->bus >= 1 && f->bus <= SIM_MAX_BUSES ? t->buses[f->bus - 1] : NULL;
  if (!bus)
    return TRACE_FRAME_UNROUTED;
  struct sim_frame copy = *f;
  can_bus_deliver(bus, &copy);
  return TRACE_FRAME_DELIVERED;
}

static void on_done(void *ctx, struct trace_replay *rp, int status)
{
  struct can_trace *t = ctx;
  if (t->on_done)
    t->on_done(t->ctx, rp, status);
}

int can_trace_open(struct can_trace **out, struct sim *sim, const char *path,
                   const struct can_trace_opts *o, struct sim_canbus *const *buses,
                   struct sim_diag *d)
{
  *out = NULL;
  struct can_trace *t = xcalloc(1, sizeof(*t));
  t->buses = buses;
  t->nfilters = o->nfilters;
  for (size_t i = 0; i < o->nfilters; i++)
    t->filters[i] = o->filters[i];
  t->on_done = o->replay.on_done;
  t->ctx = o->replay.ctx;
  struct trace_replay_opts ro = o->replay;
  ro.on_frame = on_frame;
  ro.on_done = on_done;
  ro.ctx = t;
  int rc = trace_replay_new(&t->rp, sim, path, &ro, d);
  if (rc < 0) {
    free(t);
    return rc;
  }
  *out = t;
  return 0;
}

int can_trace_start(struct can_trace *t)
{
  return trace_replay_start(t->rp);
}

struct trace_replay *can_trace_replay(struct can_trace *t)
{
  return t->rp;
}

void can_trace_close(struct can_trace *t)
{
  if (!t)
    return;
  trace_replay_free(t->rp);
  free(t);
}
