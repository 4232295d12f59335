/*
 * inputs.c - live buses and trace replays set up on a struct sim.  See inputs.h.
 */
#include "can/inputs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "can/spec.h"
#include "core/error.h"
#include "core/xalloc.h"
#include "model/sim.h"

struct can_inputs {
  struct sim *sim;
  struct can_trace *traces[CAN_INPUTS_MAX_TRACES];
  char *names[CAN_INPUTS_MAX_TRACES];
  int n, pending, status;
  struct sim_canbus *opened[SIM_MAX_BUSES];
  can_inputs_done_fn done;
  void *ctx;
};

int can_inputs_add_can(struct can_inputs_opts *o, const char *spec, struct sim_diag *d)
{
  if (o->ncans >= SIM_MAX_BUSES) {
    sim_diag_error(d, NULL, 0, 0, "at most %d buses", SIM_MAX_BUSES);
    return SIM_ECONFIG;
  }
  uint8_t num;
  int rc = can_bus_parse_spec(spec, &num, NULL, NULL, d);
  if (rc)
    return rc;
  o->cans[o->ncans++].spec = spec;
  return 0;
}

/* The bus number of a "N=" prefix (1..SIM_MAX_BUSES), else 0. */
static uint8_t trace_bus_prefix(const char *arg, const char **rest)
{
  const char *eq = strchr(arg, '=');
  if (!eq || eq == arg || eq - arg > 1)
    return 0;
  if (arg[0] < '1' || arg[0] > '0' + SIM_MAX_BUSES)
    return 0;
  *rest = eq + 1;
  return (uint8_t)(arg[0] - '0');
}

int can_inputs_add_trace(struct can_inputs_opts *o, const char *arg, struct sim_diag *d)
{
  if (o->ntraces >= CAN_INPUTS_MAX_TRACES) {
    sim_diag_error(d, NULL, 0, 0, "at most %d traces", CAN_INPUTS_MAX_TRACES);
    return SIM_ECONFIG;
  }
  uint8_t bus = trace_bus_prefix(arg, &arg);
  if (!*arg) {
    sim_diag_error(d, NULL, 0, 0, "needs a file name");
    return SIM_ECONFIG;
  }
  o->traces[o->ntraces].path = arg;
  o->traces[o->ntraces].bus = bus;
  o->ntraces++;
  return 0;
}

int can_inputs_add_filter(struct can_inputs_opts *o, const char *s, struct sim_diag *d)
{
  return can_filter_parse(s, o->trace.filters, CAN_TRACE_MAX_FILTERS, &o->trace.nfilters, d);
}

/* Opens and starts the bus of one spec. */
static int open_live(struct can_inputs *in, const char *full, struct sim_diag *d)
{
  struct sim *sim = in->sim;
  uint8_t num;
  can_bus_parse_spec(full, &num, NULL, NULL, d);
  if (!num)
    num = 1;
  if (sim->buses[num - 1]) {
    sim_diag_error(d, NULL, 0, 0, "bus %u is given twice", num);
    return SIM_ECONFIG;
  }
  const char *spec = can_spec_strip_num(full);
  struct sim_canbus *bus;
  int rc = can_bus_new(&bus, sim->loop, spec, num, d);
  if (rc < 0)
    return rc;
  if ((rc = can_bus_start(bus)) < 0) {
    sim_diag_error(d, NULL, 0, 0, "%s: %s", spec,
                   rc == SIM_ENOCAN ? "this kernel has no SocketCAN (AF_CAN)"
                   : rc == -ENOTTY  ? "not a serial device (a tty) - no adapter there"
                                    : sim_strerror(rc));
    can_bus_close(bus);
    return rc;
  }
  sim->buses[num - 1] = bus;
  in->opened[num - 1] = bus;
  return 0;
}

int can_inputs_open(struct can_inputs **out, struct sim *sim, const struct can_inputs_opts *o,
                    struct sim_diag *d)
{
  struct can_inputs *in = xcalloc(1, sizeof(*in));
  in->sim = sim;
  *out = in;
  for (int i = 0; i < o->ncans; i++) {
    int rc = open_live(in, o->cans[i].spec, d);
    if (rc < 0)
      return rc;
  }
  if (!o->ntraces)
    return 0;
  for (int b = 0; b < CAN_INPUTS_TRACE_BUSES; b++) {
    if (sim->buses[b])
      continue;
    char name[32];
    snprintf(name, sizeof(name), "replay%d", b + 1);
    if (can_bus_new_ops(&sim->buses[b], sim->loop, &can_backend_trace, name, (uint8_t)(b + 1),
                        d) == 0) {
      can_bus_start(sim->buses[b]);
      in->opened[b] = sim->buses[b];
    }
  }
  return 0;
}

static void on_replay_done(void *ctx, struct trace_replay *rp, int status)
{
  (void)rp;
  struct can_inputs *in = ctx;
  if (status < 0 && !in->status)
    in->status = status;
  if (--in->pending == 0 && in->done)
    in->done(in->ctx, in->status);
}

int can_inputs_start(struct can_inputs *in, const struct can_inputs_opts *o,
                     can_inputs_done_fn done, void *ctx, struct sim_diag *d)
{
  in->done = done;
  in->ctx = ctx;
  for (int i = 0; i < o->ntraces; i++) {
    struct can_trace_opts to = o->trace;
    to.replay.bus = o->traces[i].bus;
    to.replay.on_done = on_replay_done;
    to.replay.ctx = in;
    int rc = can_trace_open(&in->traces[i], in->sim, o->traces[i].path, &to, in->sim->buses, d);
    if (rc < 0)
      return rc;
    in->names[i] = xstrdup(o->traces[i].path);
    in->n++;
  }
  in->pending = in->n;
  for (int i = 0; i < in->n; i++)
    can_trace_start(in->traces[i]);
  return 0;
}

void can_inputs_report(struct can_inputs *in, struct sbuf *out)
{
  for (int i = 0; i < in->n; i++) {
    struct trace_replay_stats st;
    trace_replay_get_stats(can_trace_replay(in->traces[i]), &st);
    trace_replay_format_stats(&st, in->names[i], out);
  }
}

void can_inputs_totals(struct can_inputs *in, struct trace_replay_stats *sum)
{
  memset(sum, 0, sizeof(*sum));
  for (int i = 0; in && i < in->n; i++) {
    struct trace_replay_stats st;
    trace_replay_get_stats(can_trace_replay(in->traces[i]), &st);
    sum->frames += st.frames;
    sum->filtered += st.filtered;
    sum->unrouted += st.unrouted;
    sum->events += st.events;
    sum->metrics += st.metrics;
    sum->bad_lines += st.bad_lines;
  }
}

size_t can_inputs_format_errors(struct can_inputs *in, struct sbuf *out)
{
  size_t n = 0;
  for (int i = 0; i < in->n; i++) {
    const struct sim_diag *d = trace_replay_diag(can_trace_replay(in->traces[i]));
    for (size_t k = 0; k < d->n; k++, n++) {
      sim_diag_format(&d->v[k], out);
      sbuf_addc(out, '\n');
    }
  }
  return n;
}

void can_inputs_free(struct can_inputs *in)
{
  if (!in)
    return;
  for (int i = 0; i < in->n; i++) {
    can_trace_close(in->traces[i]);
    free(in->names[i]);
  }
  can_buses_close(in->opened, in->sim->buses);
  free(in);
}
