/*
 * run.c - CAN input/output options and their set-up on a struct sim.  See run.h.
 */
#include "trace/run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "can/bus.h"
#include "core/error.h"
#include "model/sim.h"
#include "record/record.h"
#include "trace/trace.h"
#include "core/xalloc.h"

struct trace_run {
  struct sim *sim;
  struct trace_replay *rp[TRACE_RUN_MAX];
  char *names[TRACE_RUN_MAX];
  int n, pending, status;
  struct sim_canbus *opened[8];
  struct trace_recorder *rec;
  trace_run_done_fn done;
  void *ctx;
};

bool trace_run_has_traces(const struct trace_run_opts *o)
{
  return o->ntraces > 0;
}

int trace_run_option(struct trace_run_opts *o, int code, const char *arg, struct sim_diag *d)
{
  char *end;
  switch (code) {
  case TRACE_OPT_TRACE: {
    if (o->ntraces >= TRACE_RUN_MAX) {
      sim_diag_error(d, "--trace", 0, 0, "at most %d traces", TRACE_RUN_MAX);
      return SIM_ECONFIG;
    }
    uint8_t bus = 0;
    const char *eq = strchr(arg, '=');
    if (eq && eq > arg && eq - arg <= 1 && arg[0] >= '1' && arg[0] <= '8') {
      bus = (uint8_t)(arg[0] - '0');
      arg = eq + 1;
    }
    if (!*arg) {
      sim_diag_error(d, "--trace", 0, 0, "needs a file name");
      return SIM_ECONFIG;
    }
    o->traces[o->ntraces].path = arg;
    o->traces[o->ntraces].bus = bus;
    o->ntraces++;
    return 0;
  }
  case TRACE_OPT_FORMAT:
    if (!trace_format_find(arg)) {
      sim_diag_error(d, "--trace-format", 0, 0, "unknown trace format '%s'", arg);
      return SIM_ECONFIG;
    }
    o->replay.format = arg;
    return 0;
  case TRACE_OPT_LOOP: {
    long n = strtol(arg, &end, 10);
    if (end == arg || *end || n < 0 || n > 1000000) {
      sim_diag_error(d, "--loop", 0, 0, "'%s' is not a count (0 = forever)", arg);
      return SIM_ECONFIG;
    }
    o->replay.loops = n == 0 ? -1 : (int)n;
    return 0;
  }
  case TRACE_OPT_START:
  case TRACE_OPT_END: {
    int64_t ns;
    if (trace_parse_offset(arg, &ns) < 0) {
      sim_diag_error(d, code == TRACE_OPT_START ? "--start" : "--end", 0, 0,
                     "'%s' is not an offset (90, 1.5s, 250ms, 2m, 1h)", arg);
      return SIM_ECONFIG;
    }
    if (code == TRACE_OPT_START)
      o->replay.start = ns;
    else
      o->replay.end = ns;
    if (o->replay.end && o->replay.end <= o->replay.start) {
      sim_diag_error(d, "--end", 0, 0, "--end must be after --start");
      return SIM_ECONFIG;
    }
    return 0;
  }
  case TRACE_OPT_FILTER:
    return can_filter_parse(arg, o->replay.filters, TRACE_REPLAY_MAX_FILTERS,
                            &o->replay.nfilters, d) < 0
               ? SIM_ECONFIG
               : 0;
  case TRACE_OPT_BUSMAP:
    return trace_replay_parse_map(&o->replay, arg, d) < 0 ? SIM_ECONFIG : 0;
  case TRACE_OPT_STATS:
    o->stats = true;
    o->replay.stats = true;
    return 0;
  case TRACE_OPT_KEEP_GOING:
    o->replay.keep_going = true;
    return 0;
  case TRACE_OPT_PERIOD: {
    int64_t ns;
    if (trace_parse_offset(arg, &ns) < 0 || ns <= 0) {
      sim_diag_error(d, "--trace-period", 0, 0, "'%s' is not a period (10ms, 0.5s, 100us)",
                     arg);
      return SIM_ECONFIG;
    }
    o->replay.untimed_period = ns;
    return 0;
  }
  case TRACE_OPT_CAN: {
    if (o->ncans >= 8) {
      sim_diag_error(d, "--can", 0, 0, "at most 8 buses");
      return SIM_ECONFIG;
    }
    uint8_t num;
    const struct sim_canbus_ops *ops;
    const char *barg;
    int rc = can_bus_parse_spec(arg, &num, &ops, &barg, d);
    if (rc)
      return rc;
    o->cans[o->ncans++].spec = arg;
    return 0;
  }
  case TRACE_OPT_RECORD:
    o->record = arg;
    return 0;
  default:
    return SIM_ENOTFOUND;
  }
}

static void on_replay_done(void *ctx, struct trace_replay *rp, int status)
{
  struct trace_run *r = ctx;
  if (status < 0 && !r->status)
    r->status = status;
  if (--r->pending == 0 && r->done)
    r->done(r->ctx, r->status);
}

int trace_run_start(struct trace_run **out, struct sim *sim, const struct trace_run_opts *o,
                    trace_run_done_fn done, void *ctx, struct sim_diag *d)
{
  struct trace_run *r = xcalloc(1, sizeof(*r));
  r->sim = sim;
  r->done = done;
  r->ctx = ctx;
  *out = r;
  int rc = 0;
  /* live buses */
  for (int i = 0; i < o->ncans; i++) {
    uint8_t num;
    const struct sim_canbus_ops *ops;
    const char *arg;
    can_bus_parse_spec(o->cans[i].spec, &num, &ops, &arg, d);
    if (!num)
      num = 1;
    if (sim->buses[num - 1]) {
      sim_diag_error(d, "--can", 0, 0, "bus %u is given twice", num);
      return SIM_ECONFIG;
    }
    const char *spec = strchr(o->cans[i].spec, '=');
    spec = spec && spec < strchr(o->cans[i].spec, ':') ? spec + 1 : o->cans[i].spec;
    struct sim_canbus *bus;
    if ((rc = can_bus_new(&bus, sim->loop, spec, num, d)) < 0)
      return rc;
    if ((rc = can_bus_start(bus)) < 0) {
      sim_diag_error(d, "--can", 0, 0, "%s: %s", spec,
                     rc == SIM_ENOCAN ? "this kernel has no SocketCAN (AF_CAN)"
                                      : sim_strerror(rc));
      can_bus_close(bus);
      return rc;
    }
    sim->buses[num - 1] = bus;
    r->opened[num - 1] = bus;
  }
  /* in-memory buses for replayed frames that have no bus yet: buses 1..4 (the module's) */
  if (o->ntraces)
    for (int b = 0; b < 4; b++)
      if (!sim->buses[b]) {
        char spec[32];
        snprintf(spec, sizeof(spec), "mem:replay%d", b + 1);
        if (can_bus_new(&sim->buses[b], sim->loop, spec, (uint8_t)(b + 1), d) == 0) {
          can_bus_start(sim->buses[b]);
          r->opened[b] = sim->buses[b];
        }
      }
  if (o->record) {
    if ((rc = trace_recorder_open(&r->rec, sim, o->record, NULL, d)) < 0)
      return rc;
  }
  for (int i = 0; i < o->ntraces; i++) {
    struct trace_replay_opts ro = o->replay;
    ro.bus = o->traces[i].bus;
    ro.on_done = on_replay_done;
    ro.ctx = r;
    if ((rc = trace_replay_new(&r->rp[i], sim, o->traces[i].path, &ro, d)) < 0)
      return rc;
    r->names[i] = xstrdup(o->traces[i].path);
    r->n++;
  }
  r->pending = r->n;
  for (int i = 0; i < r->n; i++)
    trace_replay_start(r->rp[i]);
  return 0;
}

void trace_run_report(struct trace_run *r, struct sbuf *out)
{
  for (int i = 0; i < r->n; i++) {
    struct trace_replay_stats st;
    trace_replay_get_stats(r->rp[i], &st);
    trace_replay_format_stats(&st, r->names[i], out);
  }
  if (r->rec)
    sbuf_printf(out, "recorded %lu records\n", trace_recorder_count(r->rec));
}

size_t trace_run_format_errors(struct trace_run *r, struct sbuf *out)
{
  size_t n = 0;
  for (int i = 0; i < r->n; i++) {
    const struct sim_diag *d = trace_replay_diag(r->rp[i]);
    for (size_t k = 0; k < d->n; k++, n++) {
      sim_diag_format(&d->v[k], out);
      sbuf_addc(out, '\n');
    }
  }
  return n;
}

int trace_run_free(struct trace_run *r)
{
  if (!r)
    return 0;
  for (int i = 0; i < r->n; i++) {
    trace_replay_free(r->rp[i]);
    free(r->names[i]);
  }
  int rc = trace_recorder_close(r->rec);
  for (int b = 0; b < 8; b++)
    if (r->opened[b]) {
      if (r->sim->buses[b] == r->opened[b])
        r->sim->buses[b] = NULL;
      can_bus_close(r->opened[b]);
    }
  free(r);
  return rc;
}
