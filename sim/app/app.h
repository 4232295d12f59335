/*
 * app.h - what the files of the ovms-sim program share: the parsed options, the state of a
 * run, the exit codes and the helpers that talk to the user.
 *
 * The program is split by subcommand (run.c, validate.c, metrics.c, convert.c), the option
 * table (options.c) and main.c, which dispatches.  Only this folder prints or exits.
 */
#ifndef SIM_APP_APP_H
#define SIM_APP_APP_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "can/inputs.h"
#include "can/network.h"
#include "core/diag.h"
#include "core/loop.h"
#include "fleet/app_steps.h"
#include "fleet/apps.h"
#include "fleet/fleet.h"
#include "hil/responder.h"
#include "v3/v3.h"

struct sim;
struct hil_responders;
struct hil_poller;
struct hil_replay;
struct scenario;
struct scenario_run;
struct trace_recorder;
struct sbuf;

/* The exit codes, the same for every subcommand (README "Exit codes", --help). */
#define EXIT_EXPECT 1       /* an expect: check failed */
#define EXIT_USAGE 2        /* bad invocation or input, or a run that could do nothing */
#define EXIT_RUNTIME 3      /* a runtime failure: broker never reached, adapter lost, I/O */
#define EXIT_PARTIAL 4      /* --duration ended the run before the timeline: every check judged
                               passed, the rest were not reached */
#define EXIT_INTERRUPTED 130 /* SIGINT or SIGTERM */

#define DEFAULT_SEED 1
#define DEFAULT_SPEED 1.0
#define SPEED_MIN 0.001 /* --speed: a simulated second in 16 min 40 s of wall time */
#define SPEED_MAX 1e6
#define DEFAULT_DRAIN_TIMEOUT (300 * INT64_C(1000000000)) /* --drain-timeout: 5 min */
#define DEFAULT_FAST_START "2024-06-01 08:00:00"

/* The run options, as parsed (strings borrowed from argv). */
struct opts {
  const char *command;     /* "run", "metrics", or NULL: which --help (options.c) */
  const char *scenario;
  bool fast;
  double speed;
  bool speed_given;
  uint64_t seed;
  bool seed_given;
  const char *vehicle_id;
  const char *vehicle;     /* --vehicle */
  const char *vehicle_map;
  bool vehicle_anybus;
  bool vehicle_emulate;
  bool vehicle_poll;          /* --vehicle-poll */
  const char *responders;     /* --responders LIST (hil/responder.h), NULL = all */
  bool no_obd;                /* --no-obd */
  const char *trace_respond;  /* --trace-respond FILE */
  const char *config_file;
  const char **sets;
  size_t nsets, setcap;
  bool print;
  const struct sim_profile *profile;
  bool have_start;
  int64_t start;
  int64_t start_frac; /* ns after the second of start: --start-time ...:00.250, a trace's
                         first frame (0..999999999) */
  int64_t duration; /* ns, 0 = none */
  int64_t drain_timeout; /* ns: --drain-timeout (DEFAULT_DRAIN_TIMEOUT) */
  const char *report;
  const char *plot;        /* --plot FILE.svg (plot.c) */
  const char **metrics;    /* --metric NAME...: series added to the report and the plot */
  size_t nmetrics, metcap;
  int progress; /* -1 auto, 0 off, 1 on */
  bool json;
  bool quiet, verbose;
  bool no_summary; /* metrics --scenario: values only */
  struct v3_options v3;
  const char *password_file;
  const char *state_dir;
  bool state_repair;
  struct can_inputs_opts can; /* --trace, --can, --filter ... (can/inputs.h) */
  struct can_network_opts net; /* --serve, --bridge (can/network.h) */
  const char *record;         /* --record */
  bool stats;                 /* --stats */
  struct fleet_options fleet; /* --fleet N ... (n > 0: run a fleet, fleet.c) */
  const char *fleet_users;    /* --fleet-users FILE */
  size_t apps;                /* --apps M */
  const char *app_command;    /* --app-command CMD */
  bool app_only;              /* --app-only: the scenario's app steps, no car */
};

/* The bench car of a run (bench.c): what plays or polls the car's ECUs. */
struct app_bench {
  struct hil_responder_opts opts; /* from --responders, --no-obd */
  struct hil_responders *responders; /* --vehicle-emulate: the car's ECUs */
  struct hil_poller *poller;   /* --vehicle (polling with --vehicle-poll, else listening) */
  struct hil_replay *replay;   /* --trace-respond */
};

/* A run: the options and everything set up from them. */
struct app {
  struct opts o;
  struct ev_loop *ev;
  struct sim_loop *loop;
  struct sim *sim;
  struct sim_timer stop_timer;
  struct sim_timer progress_timer;
  bool progress;
  int64_t progress_total; /* ns of simulation time expected, 0 = unknown */
  ev_signal sigint, sigterm;
  bool interrupted;           /* the run was ended by SIGINT/SIGTERM */
  FILE *devnull;
  struct scenario *sc;
  struct scenario_run *run;
  struct can_inputs *inputs;   /* live buses and replays */
  struct can_network *net;     /* --serve, --bridge */
  struct trace_recorder *rec;  /* --record */
  struct app_bench bench;     /* the bench car (bench.c) */
  int trace_status;
  int bus_lost;               /* a live bus's adapter went away or refused (error), else 0 */
  struct sim_timer drain_timer; /* see finish_sources() in run.c */
  int drain_ticks, drain_requested;
  int drain_connected;          /* the last drain tick that found the connection up */
  bool drain_queue_only;        /* --duration ended the run: wait for the queue, no update */
  struct fleet *fleet;          /* --fleet (fleet.c) */
  struct fleet_apps *apps;      /* --apps (fleet.c) */
  struct app_steps *app_steps;  /* the scenario's app: steps (run.c) */
};

/* ---- options.c ---- */

/* Prints --help to out: everything (usage), or one subcommand's usage and options. */
void usage(FILE *out);
void usage_run(FILE *out);
void usage_metrics(FILE *out);
void usage_validate(FILE *out);
void usage_convert(FILE *out);
void usage_plot(FILE *out);
/* Prints "ovms-sim: MESSAGE" and the --help hint to stderr.  Returns EXIT_USAGE. */
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints every entry of d to stderr, one "file:line:col: error: ..." a line. */
void print_diag(const struct sim_diag *d);
/* Prints "ovms-sim: " and the messages of d without their locations (sim_diag_join()) to
 * stderr, then a newline: for errors of the program's own set-up rather than of an input. */
void print_messages(const struct sim_diag *d);
/* Prints why a set-up step failed with rc: the entries of d with print (print_diag() keeps
 * their locations, print_messages() drops them), or "ovms-sim: " and sim_strerror(rc) when the
 * step left no message (an allocation, a socket). */
void print_failure(void (*print)(const struct sim_diag *), const struct sim_diag *d, int rc);
/* Labels the entries of d from index from that have no file with the option they came from
 * (library parsers leave the name of their input to the caller). */
void diag_label(struct sim_diag *d, size_t from, const char *option);
/* Parses the run options of argv into o (defaults set before); subcommand: stop at the first
 * non-option.  --help and --version print and exit 0.  Returns 0 or the exit code of a bad
 * invocation (the message printed). */
int parse_opts(int argc, char **argv, struct opts *o, bool subcommand);
/* Frees what parse_opts() allocated in o (the --set and --metric lists; the strings are
 * argv's). */
void opts_cleanup(struct opts *o);

/* ---- run.c ---- */

/* Sets the defaults and parses the run options into a (zeroed first).  Returns 0 or the exit
 * code of a bad invocation. */
int app_parse(struct app *a, int argc, char **argv);
/* Runs what a's options say until the sources end.  Returns the exit code. */
int app_run(struct app *a);
/* Frees what app_run() set up (also after it failed). */
void app_free(struct app *a);
/* Applies the config file and --set, in that order, then validates.  Returns 0 or exit code
 * (the errors printed). */
int app_configure(struct sim *sim, const struct opts *o);
/* The simulation's start (UTC seconds): --start-time, else in fast mode DEFAULT_FAST_START,
 * else now. */
int64_t app_default_start(const struct opts *o);
/* The same in ns, with the fraction of a second of --start-time or of the trace. */
int64_t app_default_start_ns(const struct opts *o);

/* Reads the MQTT password: the first line of --password-file, else OVMS_SIM_PASSWORD (then
 * removed from the environment).  *pw is malloc'd or NULL.  Returns 0, or the exit code after
 * an error (printed). */
int app_read_password(struct opts *o, char **pw);
/* Writes text and a newline into path (created or truncated): the --report of a run or a
 * fleet.  Returns rc, or fail after printing "cannot write PATH: REASON": when the write
 * failed, and when the close failed while rc was 0 (an earlier exit code stands). */
int app_write_report(const char *path, const char *text, int rc, int fail);
/* Installs the SIGINT/SIGTERM handlers that end the run (not keeping the loop alive). */
void app_signals(struct app *a);

/* ---- bench.c: the bench car (hil/) ---- */

/* After the vehicle attached: checks --responders and the scenario's ecu: steps against its
 * ECUs.  0 or the exit code. */
int app_bench_check(struct app *a);
/* Once the buses exist: the responders (--vehicle-emulate), the poller (a --vehicle
 * otherwise), --trace-respond.  Returns 0 or the exit code (the error printed). */
int app_bench_start(struct app *a);
/* Lets the scenario's ecu: steps set the faults of the responders (after scenario_start). */
void app_bench_scenario(struct app *a);
/* Their --stats lines. */
void app_bench_report(const struct app *a, struct sbuf *b);
/* Detaches them from the buses and frees them (before the buses close); a->bench is then
 * empty. */
void app_bench_stop(struct app *a);

/* ---- fleet.c ---- */

/* Runs --fleet and/or --apps (a's loop made) until --duration or a signal; prints --stats, writes --report.
 * Returns the exit code. */
int app_run_fleet(struct app *a);

/* ---- plot.c ---- */

/* Draws the run report JSON (len bytes) as an SVG into path: the default series and the
 * metrics named (borrowed).  Returns 0, or the exit code after an error (printed). */
int app_plot_report(const char *json, size_t len, const char *const *metrics, size_t nmetrics,
                    const char *path);

/* ---- the subcommands (argv[0] is the subcommand's name); each returns the exit code ---- */

int cmd_run(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_metrics(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_plot(int argc, char **argv);

#endif
