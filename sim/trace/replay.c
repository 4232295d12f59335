/*
 * replay.c - trace replay on the simulation clock.  See replay.h.
 *
 * One sim_timer per replay: when it fires, every record due at the current simulation time is
 * delivered and the timer is restarted at the next record's time.  The next record is held
 * (not yet parsed further) until it is due, so the reader's buffer keeps its strings valid.
 * Lateness is collected in a fixed histogram (1 µs buckets up to 10 ms), so statistics use
 * constant memory whatever the trace length.
 */
#include "trace/replay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "core/error.h"
#include "model/events.h"
#include "core/loop.h"
#include "model/metrics.h"
#include "model/sim.h"
#include "trace/trace.h"
#include "model/units.h"
#include "core/xalloc.h"

#define LATE_BUCKETS 10000 /* 1 µs each */

struct trace_replay {
  struct sim *sim;
  char *path;
  struct trace_replay_opts o;
  struct trace_reader *rd;
  struct sim_timer timer;
  struct trace_record pend;
  bool have_pend;
  bool have_first;
  int64_t t_first; /* trace time of the pass's first record */
  int64_t base;    /* simulation monotonic time of the pass's start */
  bool running, done;
  bool started;    /* the timer has fired once: base is when the loop really began */
  struct trace_replay_stats st;
  int64_t wall0, sim0;
  uint32_t *late; /* histogram */
  unsigned long late_over;
  struct sim_diag diag; /* for bad lines during the run */
};

/* The units an offset may carry, and their length in ns. */
static const struct {
  const char *suffix;
  double ns;
} offset_units[] = {
    {"", 1e9}, {"s", 1e9}, {"ms", 1e6}, {"us", 1e3}, {"m", 60e9}, {"min", 60e9}, {"h", 3600e9},
};

int trace_parse_offset(const char *s, int64_t *ns)
{
  char *end;
  double v = strtod(s, &end);
  if (end == s || v < 0)
    return SIM_EPARSE;
  for (size_t i = 0; i < ARRAY_SIZE(offset_units); i++) {
    if (strcmp(end, offset_units[i].suffix))
      continue;
    if (v * offset_units[i].ns > 9.2e18)
      return SIM_ERANGE;
    *ns = (int64_t)(v * offset_units[i].ns);
    return 0;
  }
  return SIM_EPARSE;
}

int trace_replay_parse_map(struct trace_replay_opts *o, const char *s, struct sim_diag *d)
{
  const char *p = s;
  while (*p) {
    const char *eq = strchr(p, '=');
    const char *comma = strchr(p, ',');
    if (!eq || (comma && comma < eq) || eq == p || (size_t)(eq - p) >= sizeof(o->map[0].from)) {
      sim_diag_error(d, NULL, 0, (int)(p - s) + 1, "expected LABEL=BUS in '%s'", s);
      return SIM_EPARSE;
    }
    char *end;
    long bus = strtol(eq + 1, &end, 10);
    if (end == eq + 1 || bus < 1 || bus > SIM_MAX_BUSES || (*end && *end != ',')) {
      sim_diag_error(d, NULL, 0, (int)(eq - s) + 2, "bus must be 1..%d in '%s'", SIM_MAX_BUSES,
                     s);
      return SIM_EPARSE;
    }
    if (o->nmap >= TRACE_REPLAY_MAX_MAP) {
      sim_diag_error(d, NULL, 0, (int)(p - s) + 1, "too many entries");
      return SIM_ELIMIT;
    }
    memcpy(o->map[o->nmap].from, p, (size_t)(eq - p));
    o->map[o->nmap].from[eq - p] = 0;
    o->map[o->nmap].to = (uint8_t)bus;
    o->nmap++;
    p = *end ? end + 1 : end;
  }
  return 0;
}

static int open_reader(struct trace_replay *r, struct sim_diag *d)
{
  struct trace_reader_opts ro = {.format = r->o.format, .untimed_period = r->o.untimed_period};
  return trace_reader_open(&r->rd, r->path, &ro, d);
}

int trace_replay_new(struct trace_replay **out, struct sim *sim, const char *path,
                     const struct trace_replay_opts *o, struct sim_diag *d)
{
  struct trace_replay *r = xcalloc(1, sizeof(*r));
  r->sim = sim;
  r->path = xstrdup(path);
  if (o)
    r->o = *o;
  if (r->o.loops == 0)
    r->o.loops = 1;
  sim_diag_init(&r->diag);
  int rc = open_reader(r, d);
  if (rc) {
    trace_replay_free(r);
    *out = NULL;
    return rc;
  }
  sim_timer_init(&r->timer, NULL, r);
  if (r->o.stats)
    r->late = xcalloc(LATE_BUCKETS, sizeof(*r->late));
  *out = r;
  return 0;
}

/* The simulator bus for a frame (0 = none). */
static uint8_t route(const struct trace_replay *r, const struct trace_record *rec)
{
  if (r->o.bus)
    return r->o.bus;
  for (size_t i = 0; i < r->o.nmap; i++)
    if (!strcmp(r->o.map[i].from, rec->src))
      return r->o.map[i].to;
  if (r->o.nmap)
    return 0; /* a map was given and does not name this bus */
  if (!rec->frame.bus && !rec->src[0])
    return 1; /* a format without bus numbers (Roadster text logs, CANdo): the module's can1 */
  return rec->frame.bus;
}

/* Statistics: how late the record scheduled at sched left, on the wall clock (real time). */
static void measure_lateness(struct trace_replay *r, int64_t sched)
{
  struct sim_loop *loop = r->sim->loop;
  if (!r->late || sim_loop_mode(loop) != SIM_CLOCK_REAL)
    return;
  int64_t late = sim_wall_ns() - sim_loop_wall_deadline(loop, sched);
  if (late < 0)
    late = 0;
  int64_t b = late / 1000;
  if (b < LATE_BUCKETS)
    r->late[b]++;
  else
    r->late_over++;
  if (late > r->st.late_max)
    r->st.late_max = late;
  r->st.late_samples++;
}

static void deliver_frame(struct trace_replay *r, const struct trace_record *rec)
{
  struct sim_frame f = rec->frame;
  f.ts = sim_now(r->sim->loop);
  f.bus = route(r, rec);
  enum trace_replay_fate fate =
      r->o.on_frame ? r->o.on_frame(r->o.ctx, &f) : TRACE_FRAME_UNROUTED;
  if (fate == TRACE_FRAME_DELIVERED)
    r->st.frames++;
  else if (fate == TRACE_FRAME_FILTERED)
    r->st.filtered++;
  else
    r->st.unrouted++;
}

static void deliver_event(struct trace_replay *r, const struct trace_record *rec)
{
  struct sim *sim = r->sim;
  if (r->o.no_events || !sim->events)
    return;
  char name[128], data[256];
  snprintf(name, sizeof(name), "%.*s", (int)rec->name_len, rec->name);
  snprintf(data, sizeof(data), "%.*s", (int)rec->text_len, rec->text);
  sim_events_raise(sim->events, name, rec->text_len ? data : NULL);
  r->st.events++;
}

/* A CMT record's JSON value as the text `metrics set` takes: strings unquoted, arrays as comma
 * lists.  Writes at most cap - 1 bytes and a NUL. */
static void json_to_metric_text(const char *text, size_t len, char *val, size_t cap)
{
  size_t n = 0;
  bool instr = false;
  for (size_t i = 0; i < len && n + 1 < cap; i++) {
    char c = text[i];
    if (c == '"') {
      instr = !instr;
      continue;
    }
    if (!instr && (c == '[' || c == ']' || c == ' '))
      continue;
    if (instr && c == '\\' && i + 1 < len)
      c = text[++i];
    val[n++] = c;
  }
  val[n] = 0;
}

static void deliver_metric(struct trace_replay *r, const struct trace_record *rec)
{
  struct sim *sim = r->sim;
  if (r->o.no_events || !sim->metrics)
    return;
  char name[128], val[512], unit[32];
  snprintf(name, sizeof(name), "%.*s", (int)rec->name_len, rec->name);
  snprintf(unit, sizeof(unit), "%.*s", (int)rec->unit_len, rec->unit);
  json_to_metric_text(rec->text, rec->text_len, val, sizeof(val));
  struct metric *m = metrics_find(sim->metrics, name);
  enum sim_unit u = SIM_UNIT_NOTFOUND;
  if (unit[0] && sim_unit_parse(unit, &u) < 0)
    u = SIM_UNIT_NOTFOUND;
  if (!m || (strcmp(val, "null") ? metric_set_from_string(m, val, u) < 0 : (metric_clear(m), 0)))
    r->st.metric_errors++;
  else
    r->st.metrics++;
}

static void deliver(struct trace_replay *r, struct trace_record *rec, int64_t sched)
{
  measure_lateness(r, sched);
  switch (rec->kind) {
  case TRACE_REC_FRAME:
    deliver_frame(r, rec);
    break;
  case TRACE_REC_EVENT:
    deliver_event(r, rec);
    break;
  case TRACE_REC_METRIC:
    deliver_metric(r, rec);
    break;
  default:
    break;
  }
}

static void finish(struct trace_replay *r, int status)
{
  r->done = true;
  r->running = false;
  r->st.wall_ns = sim_wall_ns() - r->wall0;
  r->st.sim_ns = sim_monotonic(r->sim->loop) - r->sim0;
  if (r->o.on_done)
    r->o.on_done(r->o.ctx, r, status);
}

/* Reads the next record into r->pend.  Returns 1, 0 at the end of the pass, <0 on error. */
static int advance(struct trace_replay *r)
{
  for (;;) {
    int rc = trace_reader_next(r->rd, &r->pend, &r->diag);
    if (rc == SIM_EPARSE || rc == SIM_ETRUNC) {
      r->st.bad_lines++;
      if (r->o.keep_going)
        continue;
      return rc;
    }
    if (rc <= 0)
      return rc;
    if (r->pend.kind == TRACE_REC_NONE || r->pend.kind == TRACE_REC_COMMENT ||
        r->pend.kind == TRACE_REC_STATUS)
      continue;
    if (!r->have_first) {
      r->have_first = true;
      r->t_first = r->pend.ts;
    }
    int64_t off = r->pend.ts - r->t_first;
    if (off < r->o.start)
      continue;
    if (r->o.end && off >= r->o.end)
      return 0;
    return 1;
  }
}

static int64_t sched_of(const struct trace_replay *r)
{
  return r->base + (r->pend.ts - r->t_first - r->o.start);
}

static void on_timer(struct sim_loop *loop, struct sim_timer *t)
{
  struct trace_replay *r = t->data;
  int64_t now = sim_monotonic(loop);
  if (!r->started) {
    /* The trace starts when the loop first runs the replay, not when it was set up: whatever
     * the program did in between (opening buses, connecting) does not make frames late. */
    r->started = true;
    r->base = r->sim0 = now;
    r->wall0 = sim_wall_ns();
  }
  for (;;) {
    if (r->have_pend) {
      int64_t s = sched_of(r);
      if (s > now) {
        sim_timer_start_at(loop, &r->timer, s, 0);
        return;
      }
      r->have_pend = false;
      deliver(r, &r->pend, s);
      if (!r->running)
        return;
    }
    int rc = advance(r);
    if (rc == 1) {
      r->have_pend = true;
      continue;
    }
    if (rc < 0) {
      finish(r, rc);
      return;
    }
    /* end of this pass */
    r->st.loops_done++;
    if (r->o.loops > 0 && r->st.loops_done >= r->o.loops) {
      finish(r, 0);
      return;
    }
    trace_reader_close(r->rd);
    r->rd = NULL;
    if (open_reader(r, &r->diag) < 0) {
      finish(r, SIM_EFORMAT);
      return;
    }
    r->have_first = false;
    r->base = now;
  }
}

int trace_replay_start(struct trace_replay *r)
{
  if (r->running || r->done)
    return SIM_ESTATE;
  r->running = true;
  r->timer.cb = on_timer;
  r->timer.data = r;
  struct sim_loop *loop = r->sim->loop;
  int64_t slack = r->o.precision;
  if (sim_loop_mode(loop) == SIM_CLOCK_REAL && slack > sim_loop_precision(loop))
    sim_loop_set_precision(loop, slack); /* only when asked: a spin starves the sockets */
  r->base = sim_monotonic(r->sim->loop);
  r->sim0 = r->base;
  r->wall0 = sim_wall_ns();
  sim_timer_start_at(r->sim->loop, &r->timer, r->base, 0);
  return 0;
}

void trace_replay_stop(struct trace_replay *r)
{
  if (r->running)
    sim_timer_stop(r->sim->loop, &r->timer);
  r->running = false;
}

bool trace_replay_done(const struct trace_replay *r)
{
  return r->done;
}

static int64_t percentile(const struct trace_replay *r, double q)
{
  unsigned long total = r->st.late_samples;
  if (!total)
    return 0;
  unsigned long want = (unsigned long)((double)total * q);
  if (want >= total)
    want = total - 1;
  unsigned long acc = 0;
  for (int i = 0; i < LATE_BUCKETS; i++) {
    acc += r->late[i];
    if (acc > want)
      return (int64_t)i * 1000 + 500;
  }
  return r->st.late_max;
}

void trace_replay_get_stats(struct trace_replay *r, struct trace_replay_stats *st)
{
  *st = r->st;
  if (!r->done) {
    st->wall_ns = sim_wall_ns() - r->wall0;
    st->sim_ns = sim_monotonic(r->sim->loop) - r->sim0;
  }
  if (r->late) {
    st->late_p50 = percentile(r, 0.50);
    st->late_p99 = percentile(r, 0.99);
  }
}

void trace_replay_format_stats(const struct trace_replay_stats *st, const char *name,
                               struct sbuf *out)
{
  double secs = (double)st->wall_ns / 1e9;
  sbuf_printf(out, "%s: %lu frames in %.3f s wall (%.0f frames/s), %.3f s simulated, %d pass(es)\n",
              name, st->frames, secs, secs > 0 ? (double)st->frames / secs : 0.0,
              (double)st->sim_ns / 1e9, st->loops_done);
  sbuf_printf(out, "  events %lu, metrics %lu (%lu rejected), filtered %lu, unrouted %lu, "
                   "bad lines %lu\n",
              st->events, st->metrics, st->metric_errors, st->filtered, st->unrouted,
              st->bad_lines);
  if (st->late_samples)
    sbuf_printf(out, "  lateness: p50 %.1f us, p99 %.1f us, max %.1f us (%lu samples)\n",
                (double)st->late_p50 / 1e3, (double)st->late_p99 / 1e3,
                (double)st->late_max / 1e3, st->late_samples);
}

const struct sim_diag *trace_replay_diag(const struct trace_replay *r)
{
  return &r->diag;
}

void trace_replay_free(struct trace_replay *r)
{
  if (!r)
    return;
  trace_replay_stop(r);
  trace_reader_close(r->rd);
  sim_diag_cleanup(&r->diag);
  free(r->late);
  free(r->path);
  free(r);
}
