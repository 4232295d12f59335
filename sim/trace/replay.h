/*
 * replay.h - replays trace files on the simulation clock.
 *
 * Each trace's frames are scheduled on the simulation clock at their original spacing (the
 * clock's speed factor and fast mode apply; see loop.h), from a start to an end offset, for N
 * passes, with a bus map from the trace's own bus labels ("can0", CRTD bus "2", ASC channel
 * "1") to simulator bus numbers.  Frames due are handed to a callback (on_frame), which says
 * what became of each: the CAN layer's trace backend (can/backend_trace.h) filters them and
 * delivers them into buses as if received.  CRTD CEV records are raised as events
 * (sim_events_raise) and CMT records set metrics (metric_set_from_string / JSON value).
 * Several replays can run at once on one loop.  This module knows no CAN bus: it is the
 * timing, the routing by label and the statistics.
 *
 * With statistics on, the lateness of each frame against its scheduled time is measured on the
 * wall clock (sim_wall_ns() vs sim_loop_wall_deadline()) in real-time mode.
 *
 * A real-time replay sleeps in the event loop (the loop's timerfd): every frame due when the
 * timer fires goes out in that one pass, and the loop serves sockets (MQTT commands) between
 * passes.  Only when asked (opts.precision > 0, --precise-timing) does it ask the loop for
 * precise timers (sim_loop_set_precision): the timerfd is then armed that many ns early and the
 * last few µs are a busy wait, so frames leave within a few µs of their time on an idle
 * machine, at the cost of that much busy CPU before each wake-up (issue 16 item 8: a 5 kHz
 * replay with a 200 µs spin left no room for 4000 MQTT commands per second).
 */
#ifndef SIM_TRACE_REPLAY_H
#define SIM_TRACE_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#include "core/diag.h"
#include "core/frame.h"
#include "core/sbuf.h"

struct sim;
struct trace_replay;

#define TRACE_REPLAY_MAX_MAP 8
/* The precision slack of a real-time replay with --precise-timing (see
 * sim_loop_set_precision): the busy wait covers at most the last 50 µs before a frame. */
#define TRACE_REPLAY_SLACK_NS (50 * INT64_C(1000))

/* What became of a frame handed to on_frame (counted in the statistics). */
enum trace_replay_fate {
  TRACE_FRAME_DELIVERED, /* taken (stats.frames) */
  TRACE_FRAME_FILTERED,  /* rejected by an id filter (stats.filtered) */
  TRACE_FRAME_UNROUTED,  /* no bus for its number (stats.unrouted) */
};

/* Called for each frame due: f->bus is the simulator bus number from the map (0 = none),
 * f->ts the simulation time.  f is valid only during the call. */
typedef enum trace_replay_fate (*trace_replay_frame_fn)(void *ctx, const struct sim_frame *f);
/* Called once when the replay finished (all loops done, or an error). */
typedef void (*trace_replay_done_fn)(void *ctx, struct trace_replay *r, int status);

struct trace_replay_opts {
  const char *format;          /* NULL = detect */
  int loops;                   /* passes; 1 = once (default when 0), -1 = forever */
  int64_t start;               /* ns offset from the trace's first record; 0 = beginning */
  int64_t end;                 /* ns offset at which to stop; 0 = to the end */
  int64_t untimed_period;      /* ns between frames of untimed traces; 0 = 10 ms */
  struct { char from[24]; uint8_t to; } map[TRACE_REPLAY_MAX_MAP]; /* bus label -> bus */
  size_t nmap;                 /* 0 = CRTD/ASC numbers as they are, interfaces by appearance */
  uint8_t bus;                 /* when nonzero: every frame goes to this bus (one bus per trace) */
  int64_t precision;           /* real time: timer slack in ns for sim_loop_set_precision()
                                  (arm early, then spin): > 0 = that slack (--precise-timing:
                                  TRACE_REPLAY_SLACK_NS), 0 or < 0 = no spin, the loop's
                                  setting is left alone */
  bool stats;                  /* measure lateness */
  bool keep_going;             /* skip bad lines (counted) instead of stopping the replay */
  bool no_events;              /* ignore CEV/CMT records */
  trace_replay_frame_fn on_frame; /* may be NULL: every frame is then unrouted */
  void *ctx;
  trace_replay_done_fn on_done;   /* may be NULL */
};

struct trace_replay_stats {
  unsigned long frames;        /* delivered */
  unsigned long filtered;      /* rejected by the id filter (TRACE_FRAME_FILTERED) */
  unsigned long unrouted;      /* no simulator bus for the frame's bus */
  unsigned long events, metrics, metric_errors;
  unsigned long bad_lines;
  int loops_done;
  int64_t wall_ns;             /* wall time from start to end */
  int64_t sim_ns;              /* simulation time from start to end */
  /* lateness in ns (REAL mode only, when stats was requested) */
  unsigned long late_samples;
  int64_t late_p50, late_p99, late_max;
};

/*
 * Parses a bus map "can0=1,can1=2,2=1" (trace bus label = simulator bus 1..SIM_MAX_BUSES) into
 * o->map.  Returns 0, SIM_EPARSE or SIM_ELIMIT with a message in d (column into s, no file).
 */
int trace_replay_parse_map(struct trace_replay_opts *o, const char *s, struct sim_diag *d);
/*
 * Parses an offset "90", "1.5", "250ms", "2m", "1h" into ns.  Returns 0 or SIM_EPARSE.
 */
int trace_parse_offset(const char *s, int64_t *ns);

/*
 * Opens path for replay into sim (borrowed; must outlive the replay).  The file is opened and
 * its format detected now; nothing is scheduled before trace_replay_start().
 * Returns 0 and sets *out (free with trace_replay_free()), or the reader's error with d filled.
 */
int trace_replay_new(struct trace_replay **out, struct sim *sim, const char *path,
                     const struct trace_replay_opts *o, struct sim_diag *d);
/* Starts the replay: its first record is due as soon as the loop runs (the trace's time
 * origin is the moment the loop first serves the replay, so set-up work done between this call
 * and sim_loop_run() does not make frames late).  Returns 0, SIM_ESTATE when started before. */
int trace_replay_start(struct trace_replay *r);
/* Stops scheduling (the file stays open). */
void trace_replay_stop(struct trace_replay *r);
bool trace_replay_done(const struct trace_replay *r);
/* The statistics so far (percentiles computed on each call). */
void trace_replay_get_stats(struct trace_replay *r, struct trace_replay_stats *st);
/* Appends a human-readable statistics block to out. */
void trace_replay_format_stats(const struct trace_replay_stats *st, const char *name,
                               struct sbuf *out);
/* Problems met while replaying (bad lines; with keep_going all of them, else the one that
 * stopped the replay).  Valid until trace_replay_free(). */
const struct sim_diag *trace_replay_diag(const struct trace_replay *r);
/* Stops and frees.  NULL is allowed. */
void trace_replay_free(struct trace_replay *r);

#endif
