/*
 * run.h - the command-line face of CAN input and output, as a library: the options --trace,
 * --trace-format, --loop, --start, --end, --filter, --bus-map, --stats, --can and --record
 * parsed into one struct, then set up on a struct sim (buses opened and stored in
 * sim->buses[], replays started, the recorder attached), reported and torn down.  main.c only
 * forwards the options and calls these functions; library code never prints.
 */
#ifndef SIM_TRACE_RUN_H
#define SIM_TRACE_RUN_H

#include <stdbool.h>

#include "core/diag.h"
#include "core/sbuf.h"
#include "trace/replay.h"

struct sim;

#define TRACE_RUN_MAX 8

/* Option codes: main.c puts these into its getopt_long table (values above its own). */
enum trace_run_opt {
  TRACE_OPT_TRACE = 1000, /* --trace [N=]FILE   (repeatable; N = send every frame to bus N) */
  TRACE_OPT_FORMAT,       /* --trace-format NAME */
  TRACE_OPT_LOOP,         /* --loop N           (0 = forever) */
  TRACE_OPT_START,        /* --start OFFSET     (90, 1.5s, 250ms, 2m) */
  TRACE_OPT_END,          /* --end OFFSET */
  TRACE_OPT_FILTER,       /* --filter 1DB,5C5,700/7F0 */
  TRACE_OPT_BUSMAP,       /* --bus-map can0=1,can1=2 */
  TRACE_OPT_STATS,        /* --stats */
  TRACE_OPT_CAN,          /* --can [N=]socketcan:can0 | slcan:/dev/ttyACM0@500000 | mem:NAME */
  TRACE_OPT_RECORD,       /* --record FILE      (format by extension, CRTD by default) */
  TRACE_OPT_KEEP_GOING,   /* --keep-going       (skip bad trace lines) */
  TRACE_OPT_PERIOD,       /* --trace-period T   (frame spacing of untimed traces, default 10ms) */
};

/* The long options, to be appended to main's table (NULL-terminated like getopt's). */
#define TRACE_RUN_LONG_OPTS                                       \
  {"trace", required_argument, NULL, TRACE_OPT_TRACE},            \
  {"trace-format", required_argument, NULL, TRACE_OPT_FORMAT},    \
  {"loop", required_argument, NULL, TRACE_OPT_LOOP},              \
  {"start", required_argument, NULL, TRACE_OPT_START},            \
  {"end", required_argument, NULL, TRACE_OPT_END},                \
  {"filter", required_argument, NULL, TRACE_OPT_FILTER},          \
  {"bus-map", required_argument, NULL, TRACE_OPT_BUSMAP},         \
  {"stats", no_argument, NULL, TRACE_OPT_STATS},                  \
  {"can", required_argument, NULL, TRACE_OPT_CAN},                \
  {"record", required_argument, NULL, TRACE_OPT_RECORD},          \
  {"keep-going", no_argument, NULL, TRACE_OPT_KEEP_GOING},      \
  {"trace-period", required_argument, NULL, TRACE_OPT_PERIOD}

/* The --help lines for these options. */
#define TRACE_RUN_HELP                                                                        \
  "CAN input and output:\n"                                                                 \
  "      --trace [N=]FILE     replay a CAN trace (candump -l, candump screen, CRTD, Vector\n" \
  "                           ASC, PCAN TRC, SavvyCAN CSV, ParserFlags TSV, .gz; format\n"    \
  "                           detected from the content) on the simulation clock;\n"          \
  "                           repeatable; N= sends all its frames to bus N\n"                 \
  "      --trace-format NAME  force the trace format (see 'convert --list-formats')\n"        \
  "      --loop N             replay N times (default 1; 0 = forever)\n"                      \
  "      --start OFFSET       skip the trace's first OFFSET (90, 1.5s, 250ms, 2m)\n"          \
  "      --end OFFSET         stop at OFFSET from the trace's start\n"                        \
  "      --filter IDS         replay only these ids: 1DB,5C5 and id/mask (700/7F0)\n"         \
  "      --bus-map MAP        trace bus -> simulator bus: can0=1,can1=2 (CRTD/ASC: 2=1)\n"    \
  "      --stats              print replay statistics (frames, frames/s, lateness p50/p99/\n" \
  "                           max) at the end\n"                                              \
  "      --keep-going         skip bad trace lines (counted) instead of stopping\n"           \
  "      --trace-period T     frame spacing of traces without times (candump screen output;\n" \
  "                           default 10ms)\n"                                                 \
  "      --can [N=]BUS        attach bus N (default 1) to socketcan:IFACE[,fd],\n"            \
  "                           slcan:/dev/ttyACM0[@BITRATE] or mem:NAME; repeatable\n"         \
  "      --record FILE        record frames in/out, events and metric changes (CRTD, or\n"   \
  "                           the format of FILE's extension)\n"

struct trace_run_opts {
  struct { const char *path; uint8_t bus; } traces[TRACE_RUN_MAX];
  int ntraces;
  struct { const char *spec; } cans[8];
  int ncans;
  const char *record;
  struct trace_replay_opts replay; /* shared by all traces */
  bool stats;
};

struct trace_run;

/*
 * Handles one option (code from enum trace_run_opt, arg its value).  Returns 0, or SIM_ECONFIG
 * / SIM_EPARSE with a message in d (main prints it and exits 2).
 */
int trace_run_option(struct trace_run_opts *o, int code, const char *arg, struct sim_diag *d);
/* True when any trace was given (a trace run ends when its replays end). */
bool trace_run_has_traces(const struct trace_run_opts *o);

/* Called once when every replay has finished (status: 0, or the first error). */
typedef void (*trace_run_done_fn)(void *ctx, int status);

/*
 * Sets everything up on sim: opens the --can buses (numbered, stored in sim->buses[N-1]),
 * creates in-memory buses for trace buses that have none, attaches the recorder, opens the
 * traces and starts their replays.  Returns 0 and sets *out (free with trace_run_free()), or
 * an error with d filled (bad file, unknown format, adapter missing: -ENOENT, SIM_ENOCAN).
 */
int trace_run_start(struct trace_run **out, struct sim *sim, const struct trace_run_opts *o,
                    trace_run_done_fn done, void *ctx, struct sim_diag *d);
/* Appends the --stats report (every replay) to out. */
void trace_run_report(struct trace_run *r, struct sbuf *out);
/* Appends the diagnostics collected during the run (bad lines skipped with --keep-going, or
 * the line that stopped a replay), one "file:line:col: error: ..." per line.  Returns how
 * many. */
size_t trace_run_format_errors(struct trace_run *r, struct sbuf *out);
/* Stops the replays, closes the recorder (returns its first write error, else 0) and the
 * buses it opened.  NULL allowed. */
int trace_run_free(struct trace_run *r);

#endif
