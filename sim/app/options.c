/*
 * options.c - the run options table, --help made from it, and the command-line parser.
 * See options.h.
 *
 * Values are checked here, once, before anything is opened (STYLE.md section 11): a bad value
 * prints one specific error and the --help hint, exit 2.  The CAN input/output values go to
 * the library's parsers (can/inputs.h, trace/replay.h), whose diagnostics are labelled with
 * the option's name here: the library does not know the command line.
 */
#include "app/options.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "core/error.h"
#include "core/parse.h"
#include "core/xalloc.h"
#include "model/profile.h"
#include "trace/replay.h"
#include "trace/trace.h"
#include "vehicle/vehicle.h"

int usage_error(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  fputs("ovms-sim: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputs("\nTry 'ovms-sim --help' for more information.\n", stderr);
  va_end(ap);
  return EXIT_USAGE;
}

void print_diag(const struct sim_diag *d)
{
  struct sbuf b = SBUF_INIT;
  for (size_t i = 0; i < d->n; i++) {
    sbuf_reset(&b);
    sim_diag_format(&d->v[i], &b);
    fprintf(stderr, "%s\n", sbuf_str(&b));
  }
  sbuf_free(&b);
}

void print_messages(const struct sim_diag *d)
{
  struct sbuf b = SBUF_INIT;
  sim_diag_join(d, &b);
  fprintf(stderr, "ovms-sim: %s\n", sbuf_str(&b));
  sbuf_free(&b);
}

void print_failure(void (*print)(const struct sim_diag *), const struct sim_diag *d, int rc)
{
  if (d->n)
    print(d);
  else
    fprintf(stderr, "ovms-sim: %s\n", sim_strerror(rc));
}

void diag_label(struct sim_diag *d, size_t from, const char *option)
{
  for (size_t i = from; i < d->n; i++)
    if (!d->v[i].file[0]) {
      free(d->v[i].file);
      d->v[i].file = xstrdup(option);
    }
}

/* ---- run options ---------------------------------------------------------------------- */

static int set_speed(struct opts *o, const char *arg)
{
  /* below SPEED_MIN a simulated second lasts over a quarter of an hour of wall time, and the
   * clock's conversions lose their precision (1e-12 spun a core) */
  if (parse_double(arg, &o->speed) < 0 || !(o->speed >= SPEED_MIN) || o->speed > SPEED_MAX)
    return usage_error("invalid --speed '%s': a number from %g to %g (e.g. 10, 0.5)", arg,
                       SPEED_MIN, SPEED_MAX);
  o->speed_given = true;
  return 0;
}

static int set_seed(struct opts *o, const char *arg)
{
  if (parse_u64(arg, &o->seed) < 0)
    return usage_error("invalid --seed '%s': a non-negative integer", arg);
  o->seed_given = true;
  return 0;
}

static int set_vehicle_id(struct opts *o, const char *arg)
{
  if (!*arg)
    return usage_error("--vehicle-id must not be empty");
  o->vehicle_id = arg;
  return 0;
}

static int set_vehicle(struct opts *o, const char *arg)
{
  if (!vehicle_type_find(arg, NULL))
    return usage_error("unknown --vehicle '%s' (nissanleaf, teslaroadster, mitsubishi, "
                       "dbc:FILE)", arg);
  o->vehicle = arg;
  return 0;
}

static int set_responders(struct opts *o, const char *arg)
{
  /* the names are checked against the vehicle's ECUs once it is attached (run.c) */
  size_t n = strlen(arg);
  if (!n || arg[0] == ',' || arg[n - 1] == ',' || strstr(arg, ",,"))
    return usage_error("invalid --responders '%s': comma-separated names, e.g. bms,vcm,obd,uds, "
                       "all or none", arg);
  o->responders = arg;
  return 0;
}

static int add_set(struct opts *o, const char *arg)
{
  if (!strchr(arg, '=') || arg[0] == '=')
    return usage_error("invalid --set '%s': expected KEY=VALUE", arg);
  /* the command line is visible to every user in ps: a password key is refused there */
  if (!strncmp(arg, "password.", 9) || !strncmp(arg, "password=", 9))
    return usage_error("--set password.*: a password on the command line is visible in ps; "
                       "give it in --password-file FILE or OVMS_SIM_PASSWORD");
  xgrow((void **)&o->sets, &o->setcap, o->nsets + 1, sizeof(*o->sets));
  o->sets[o->nsets++] = arg;
  return 0;
}

static int add_metric(struct opts *o, const char *arg)
{
  if (!*arg)
    return usage_error("invalid --metric '': a metric name (see ovms-sim metrics)");
  xgrow((void **)&o->metrics, &o->metcap, o->nmetrics + 1, sizeof(*o->metrics));
  o->metrics[o->nmetrics++] = arg;
  return 0;
}

static int set_firmware(struct opts *o, const char *arg)
{
  o->profile = sim_profile_find(arg);
  if (!o->profile)
    return usage_error("unknown --firmware '%s' (one of %s)", arg, sim_profile_names());
  return 0;
}

/* --start-time: parse_time() with an optional fraction of a second (".250", ".123456"). */
static int set_start_time(struct opts *o, const char *arg)
{
  const char *dot = strrchr(arg, '.');
  size_t nd = dot ? strspn(dot + 1, "0123456789") : 0;
  char head[64];
  o->start_frac = 0;
  if (dot && nd >= 1 && nd <= 9 && dot[1 + nd] == '\0' && (size_t)(dot - arg) < sizeof(head)) {
    memcpy(head, arg, (size_t)(dot - arg));
    head[dot - arg] = '\0';
    int64_t f = 0;
    for (size_t i = 0; i < 9; i++)
      f = f * 10 + (i < nd ? dot[1 + i] - '0' : 0);
    o->start_frac = f;
    arg = head;
  }
  if (parse_time(arg, &o->start) < 0)
    return usage_error("invalid --start-time '%s': 'YYYY-MM-DD HH:MM:SS[.fff]' (UTC) or "
                       "epoch seconds", dot && arg == head ? head : arg);
  o->have_start = true;
  return 0;
}

static int set_duration(struct opts *o, const char *arg)
{
  if (parse_duration(arg, &o->duration) < 0 || o->duration <= 0)
    return usage_error("invalid --duration '%s': e.g. 90, 90s, 15min, 2h, 1h30m", arg);
  return 0;
}

static int set_drain_timeout(struct opts *o, const char *arg)
{
  if (parse_duration(arg, &o->drain_timeout) < 0 || o->drain_timeout < 0)
    return usage_error("invalid --drain-timeout '%s': e.g. 0, 90s, 5min", arg);
  return 0;
}

static int set_progress(struct opts *o, const char *arg)
{
  (void)arg;
  o->progress = 1;
  return 0;
}

static int set_no_progress(struct opts *o, const char *arg)
{
  (void)arg;
  o->progress = 0;
  return 0;
}

static int set_broker(struct opts *o, const char *arg)
{
  struct v3_url u;
  struct sim_diag e = SIM_DIAG_INIT;
  if (strcmp(arg, "print") && v3_url_parse(arg, &u, &e) < 0) {
    int r = usage_error("%s", e.n ? e.v[0].msg : "invalid --broker");
    sim_diag_cleanup(&e);
    return r;
  }
  o->v3.broker = arg;
  return 0;
}

static int set_client_id(struct opts *o, const char *arg)
{
  if (!*arg)
    return usage_error("--client-id must not be empty");
  o->v3.client_id = arg;
  return 0;
}

static int set_topics(struct opts *o, const char *arg)
{
  if (!strcmp(arg, "current"))
    o->v3.topics = SIM_TOPICS_CURRENT;
  else if (!strcmp(arg, "draft-2018"))
    o->v3.topics = SIM_TOPICS_DRAFT2018;
  else
    return usage_error("unknown --topics '%s' (one of current|draft-2018)", arg);
  return 0;
}

static int show_help(struct opts *o, const char *arg)
{
  (void)arg;
  if (o->command && !strcmp(o->command, "metrics"))
    usage_metrics(stdout);
  else if (o->command && !strcmp(o->command, "run"))
    usage_run(stdout);
  else
    usage(stdout);
  exit(0);
}

static int show_version(struct opts *o, const char *arg)
{
  (void)o, (void)arg;
  printf("ovms-sim %s\n", OVMS_SIM_VERSION);
  exit(0);
}

/* ---- CAN input and output ------------------------------------------------------------- */

static int add_trace(struct opts *o, const char *arg, struct sim_diag *d)
{
  return can_inputs_add_trace(&o->can, arg, d);
}

static int add_can(struct opts *o, const char *arg, struct sim_diag *d)
{
  return can_inputs_add_can(&o->can, arg, d);
}

static int add_serve(struct opts *o, const char *arg, struct sim_diag *d)
{
  return can_network_add_serve(&o->net, arg, d);
}

static int add_bridge(struct opts *o, const char *arg, struct sim_diag *d)
{
  return can_network_add_bridge(&o->net, arg, d);
}

static int add_filter(struct opts *o, const char *arg, struct sim_diag *d)
{
  return can_inputs_add_filter(&o->can, arg, d) < 0 ? SIM_ECONFIG : 0;
}

static int add_bus_map(struct opts *o, const char *arg, struct sim_diag *d)
{
  return trace_replay_parse_map(&o->can.trace.replay, arg, d) < 0 ? SIM_ECONFIG : 0;
}

static int set_trace_format(struct opts *o, const char *arg, struct sim_diag *d)
{
  if (!trace_format_find(arg)) {
    sim_diag_error(d, NULL, 0, 0, "unknown trace format '%s'", arg);
    return SIM_ECONFIG;
  }
  o->can.trace.replay.format = arg;
  return 0;
}

static int set_loop(struct opts *o, const char *arg, struct sim_diag *d)
{
  char *end;
  long n = strtol(arg, &end, 10);
  if (end == arg || *end || n < 0 || n > 1000000) {
    sim_diag_error(d, NULL, 0, 0, "'%s' is not a count (0 = forever)", arg);
    return SIM_ECONFIG;
  }
  o->can.trace.replay.loops = n == 0 ? -1 : (int)n;
  return 0;
}

/* --start and --end: an offset into the trace; the end must come after the start. */
static int set_offset(int64_t *field, struct opts *o, const char *arg, struct sim_diag *d)
{
  int64_t ns;
  if (trace_parse_offset(arg, &ns) < 0) {
    sim_diag_error(d, NULL, 0, 0, "'%s' is not an offset (90, 1.5s, 250ms, 2m, 1h)", arg);
    return SIM_ECONFIG;
  }
  *field = ns;
  const struct trace_replay_opts *ro = &o->can.trace.replay;
  if (ro->end && ro->end <= ro->start) {
    sim_diag_error(d, "--end", 0, 0, "--end must be after --start");
    return SIM_ECONFIG;
  }
  return 0;
}

static int set_start(struct opts *o, const char *arg, struct sim_diag *d)
{
  return set_offset(&o->can.trace.replay.start, o, arg, d);
}

static int set_end(struct opts *o, const char *arg, struct sim_diag *d)
{
  return set_offset(&o->can.trace.replay.end, o, arg, d);
}

static int set_trace_period(struct opts *o, const char *arg, struct sim_diag *d)
{
  int64_t ns;
  if (trace_parse_offset(arg, &ns) < 0 || ns <= 0) {
    sim_diag_error(d, NULL, 0, 0, "'%s' is not a period (10ms, 0.5s, 100us)", arg);
    return SIM_ECONFIG;
  }
  o->can.trace.replay.untimed_period = ns;
  return 0;
}

static int set_stats(struct opts *o, const char *arg)
{
  (void)arg;
  o->stats = true;
  o->can.trace.replay.stats = true;
  return 0;
}

static int set_precise(struct opts *o, const char *arg)
{
  (void)arg;
  o->can.trace.replay.precision = TRACE_REPLAY_SLACK_NS;
  return 0;
}

/* ---- fleet options ---------------------------------------------------------------------- */

static int set_fleet(struct opts *o, const char *arg)
{
  uint64_t n;
  if (parse_u64(arg, &n) < 0 || n < 1 || n > FLEET_MAX_TOTAL)
    return usage_error("invalid --fleet '%s': 1 to %d cars", arg, FLEET_MAX_TOTAL);
  o->fleet.n = (size_t)n;
  return 0;
}

static int set_fleet_id(struct opts *o, const char *arg)
{
  struct sim_diag d = SIM_DIAG_INIT;
  int rc = 0;
  if (fleet_pattern_check(arg, &d) < 0)
    rc = usage_error("invalid --fleet-id: %s", sim_diag_last(&d));
  else
    o->fleet.pattern = arg;
  sim_diag_cleanup(&d);
  return rc;
}

static int set_fleet_offset(struct opts *o, const char *arg)
{
  uint64_t k;
  if (parse_u64(arg, &k) < 0 || k > 1000000000)
    return usage_error("invalid --fleet-offset '%s': 0 to 1000000000", arg);
  o->fleet.offset = (unsigned long)k;
  return 0;
}

static int set_fleet_shard(struct opts *o, const char *arg)
{
  if (fleet_shard_parse(arg, &o->fleet.shard_i, &o->fleet.shard_k) < 0)
    return usage_error("invalid --fleet-shard '%s': I/K with 0 <= I < K", arg);
  return 0;
}

static int set_connect_rate(struct opts *o, const char *arg)
{
  if (parse_double(arg, &o->fleet.connect_rate) < 0 || !(o->fleet.connect_rate > 0) ||
      o->fleet.connect_rate > 1e6)
    return usage_error("invalid --connect-rate '%s': cars per second, > 0", arg);
  return 0;
}

static int set_apps(struct opts *o, const char *arg)
{
  uint64_t n;
  if (parse_u64(arg, &n) < 0 || n < 1 || n > FLEET_MAX_CARS)
    return usage_error("invalid --apps '%s': 1 to %d app clients", arg, FLEET_MAX_CARS);
  o->apps = (size_t)n;
  return 0;
}

static const char *default_connect_rate(void)
{
  static char b[32];
  snprintf(b, sizeof(b), "%g", FLEET_DEFAULT_CONNECT_RATE);
  return b;
}

/* ---- the table ------------------------------------------------------------------------ */

static const char *default_speed(void)
{
  static char b[32];
  snprintf(b, sizeof(b), "%g", DEFAULT_SPEED);
  return b;
}

static const char *default_seed(void)
{
  static char b[32];
  snprintf(b, sizeof(b), "%d", DEFAULT_SEED);
  return b;
}

static const char *default_fast_start(void)
{
  return DEFAULT_FAST_START;
}

/* How a row's value is stored: the kind, offset, run and value slots of struct app_option. */
#define FLAG(field) OPT_FLAG, offsetof(struct opts, field), NULL, NULL
#define STR(field) OPT_STRING, offsetof(struct opts, field), NULL, NULL
#define CALL(fn) OPT_CALL, 0, fn, NULL
#define VALUE(fn) OPT_VALUE, 0, NULL, fn
/* One row a line: the long name, the short letter ('\0' = none), the argument's name ("" =
 * takes none), the --help section, how the value is stored (FLAG, STR, CALL, VALUE), the
 * function that gives the "%s" of the help text (NULL = none), and the help lines ('\n'
 * between them; NULL = not listed). */
const struct app_option app_options[] = {
    {"scenario", 's', "FILE", SECTION_RUN, STR(scenario), NULL, "run the YAML scenario FILE (see docs/scenarios.md)"},
    {"fast", 'f', "", SECTION_RUN, FLAG(fast), NULL, "virtual time: run as fast as possible, deterministically"},
    {"speed", 'x', "X", SECTION_RUN, CALL(set_speed), default_speed, "real time scaled by X, 0.001 to 1e6 (default %s; e.g. 60 = a\nminute a second)"},
    {"seed", '\0', "N", SECTION_RUN, CALL(set_seed), default_seed, "random seed (default %s); same inputs + seed = same output"},
    {"vehicle-id", '\0', "ID", SECTION_RUN, CALL(set_vehicle_id), NULL, "vehicle id (config vehicle.id; default DEMO)"},
    {"vehicle", '\0', "TYPE", SECTION_RUN, CALL(set_vehicle), NULL, "vehicle decoder/encoder: nissanleaf, teslaroadster,\nmitsubishi, or dbc:FILE (signals named like metrics,\nv_b_soc -> v.b.soc); see vehicles/README.md"},
    {"vehicle-map", '\0', "FILE", SECTION_RUN, STR(vehicle_map), NULL, "dbc:FILE vehicles: map other signal names to metrics"},
    {"vehicle-anybus", '\0', "", SECTION_RUN, FLAG(vehicle_anybus), NULL, "decode a frame id on whatever bus it arrives"},
    {"vehicle-emulate", '\0', "", SECTION_RUN, FLAG(vehicle_emulate), NULL, "play the car: send its periodic frames, built from the\nmetrics (e.g. a --scenario's), on the --can buses, and\nanswer diagnostic polls as its ECUs (hil/README.md)"},
    {"responders", '\0', "LIST", SECTION_RUN, CALL(set_responders), NULL, "the ECUs that answer with --vehicle-emulate: the vehicle's\n(nissanleaf: bms,vcm; mitsubishi: bmu,obc,hvac,meter), obd\n(generic OBD-II), uds (UDS services); all (default) or none"},
    {"no-obd", '\0', "", SECTION_RUN, FLAG(no_obd), NULL, "with --vehicle-emulate: no generic OBD-II ECU (0x7DF, 0x7E0)"},
    {"vehicle-poll", '\0', "", SECTION_RUN, FLAG(vehicle_poll), NULL, "poll the car's ECUs on the --can buses as the firmware does\nfor --vehicle and decode the replies (transmits; without it\nthe module only listens, decoding other testers' polls)"},
    {"config", 'c', "FILE", SECTION_RUN, STR(config_file), NULL, "YAML config file of firmware config keys"},
    {"set", '\0', "KEY=VALUE", SECTION_RUN, CALL(add_set), NULL, "set a config key, firmware names, e.g.\n--set server.v3.updatetime.idle=600 (repeatable)"},
    {"print", 'p', "", SECTION_RUN, FLAG(print), NULL, "print publications to stdout (the default without a broker;\nwith --broker: as well as publishing them)"},
    {"firmware", '\0', "VERSION", SECTION_RUN, CALL(set_firmware), sim_profile_names, "behave as firmware %s (default current)"},
    {"broker", '\0', "URL", SECTION_RUN, CALL(set_broker), NULL, "publish to an MQTT broker: mqtt://[user@]host[:port] or\nmqtts://... (TLS, server always verified)"},
    {"password-file", '\0', "FILE", SECTION_RUN, STR(password_file), NULL, "MQTT password: first line of FILE (or environment variable\nOVMS_SIM_PASSWORD); never on the command line"},
    {"cafile", '\0', "FILE", SECTION_RUN, STR(v3.cafile), NULL, "CA certificate(s) for mqtts (default: the system CAs)"},
    {"capath", '\0', "DIR", SECTION_RUN, STR(v3.capath), NULL, "directory of CA certificates for mqtts"},
    {"cert", '\0', "FILE", SECTION_RUN, STR(v3.certfile), NULL, "client certificate for mutual TLS (with --key)"},
    {"key", '\0', "FILE", SECTION_RUN, STR(v3.keyfile), NULL, "client private key for mutual TLS (with --cert)"},
    {"client-id", '\0', "ID", SECTION_RUN, CALL(set_client_id), NULL, "MQTT client id (config server.v3.clientid; default the\nvehicle id)"},
    {"state-dir", '\0', "DIR", SECTION_RUN, STR(state_dir), NULL, "keep the notification queue in DIR: pending notifications\nsurvive broker outages and restarts and are sent once"},
    {"state-repair", '\0', "", SECTION_RUN, FLAG(state_repair), NULL, "start even when the state directory's journal is damaged\ninside: keep its valid records, move the damaged bytes to\nnotify.journal.quarantine (docs/v3.md \"State directory\")"},
    {"topics", '\0', "NAMES", SECTION_RUN, CALL(set_topics), NULL, "current (default) or draft-2018 (the 2018 design post's m/,\nc/<id>, cmd/<id>/c/ and /r/, notify/<type> at QoS 2)"},
    {"start-time", '\0', "TIME", SECTION_RUN, CALL(set_start_time), default_fast_start, "UTC start, 'YYYY-MM-DD HH:MM:SS[.fff]' or epoch seconds\n(default: a trace's first time; in real time now, or\nas a scenario's start_realtime: says; with --fast the\nscenario's start:, else %s)"},
    {"duration", '\0', "D", SECTION_RUN, CALL(set_duration), NULL, "stop after D of simulation time (e.g. 90s, 15min, 2h)"},
    {"drain-timeout", '\0', "D", SECTION_RUN, CALL(set_drain_timeout), NULL, "at the end, wait at most D of simulation time for the\nbroker to acknowledge every queued notification (default\n5min; 0: do not wait)"},
    {"report", '\0', "FILE", SECTION_RUN, STR(report), NULL, "write the run report (expect: results) as JSON to FILE"},
    {"plot", '\0', "FILE", SECTION_RUN, STR(plot), NULL, "draw the run's series (SoC, power, speed, temperatures,\nevery --metric) as an SVG into FILE (ovms-sim plot)"},
    {"metric", '\0', "NAME", SECTION_RUN, CALL(add_metric), NULL, "add the numeric metric NAME to the --report series and the\n--plot (repeatable)"},
    {"progress", '\0', "", SECTION_RUN, CALL(set_progress), NULL, "show a progress line on stderr (default: when stderr is a\nterminal, with --fast, or in real time with stdout elsewhere)"},
    {"no-progress", '\0', "", SECTION_RUN, CALL(set_no_progress), NULL, "never show the progress line"},
    {"json", '\0', "", SECTION_RUN, FLAG(json), NULL, NULL}, /* metrics --json */
    {"quiet", 'q', "", SECTION_RUN, FLAG(quiet), NULL, "nothing on stdout; on stderr only errors, the checks that\ndid not pass and the one-line summary"},
    {"verbose", 'v', "", SECTION_RUN, FLAG(verbose), NULL, "log what the simulator does on stderr"},
    {"help", 'h', "", SECTION_RUN, CALL(show_help), NULL, "show this help and exit"},
    {"version", 'V', "", SECTION_RUN, CALL(show_version), NULL, "show the version and exit"},
    {"fleet", '\0', "N", SECTION_FLEET, CALL(set_fleet), NULL, "simulate N cars, each its own MQTT connection, client id,\nvehicle id, will and notification queue (docs/scaling.md)"},
    {"fleet-id", '\0', "PATTERN", SECTION_FLEET, CALL(set_fleet_id), NULL, "vehicle ids, printf-style with one %d (default SIM%04d)"},
    {"fleet-offset", '\0', "K", SECTION_FLEET, CALL(set_fleet_offset), NULL, "number the cars from K+1 (default 0)"},
    {"fleet-users", '\0', "FILE", SECTION_FLEET, STR(fleet_users), NULL, "CSV user,password,vehicle-id, one line per car (line j for\ncar j of the whole fleet); passwords are never printed"},
    {"fleet-shard", '\0', "I/K", SECTION_FLEET, CALL(set_fleet_shard), NULL, "run shard I (0..K-1) of K: a disjoint range of the N cars\n(Kubernetes Indexed Job: I = the completion index)"},
    {"connect-rate", '\0', "R", SECTION_FLEET, CALL(set_connect_rate), default_connect_rate, "start R cars per second (default %s)"},
    {"apps", '\0', "M", SECTION_FLEET, CALL(set_apps), NULL, "M app clients (alone: watching --vehicle-id; beside a fleet: app\nj watches car j mod N): client/<id>/active 1 once a minute\nand when the module reconnects, will 0"},
    {"app-command", '\0', "CMD", SECTION_FLEET, STR(app_command), NULL, "every app sends CMD (e.g. stat) once a minute on\nclient/<id>/command/<n>; responses matched and timed"},
    {"app-only", '\0', "", SECTION_FLEET, FLAG(app_only), NULL, "run only the --scenario's app: (and park:) steps, against the\nmodule --vehicle-id on --broker: no simulated car"},
    {"trace", '\0', "[N=]FILE", SECTION_CAN, VALUE(add_trace), NULL, "replay a CAN trace (candump -l, candump screen, CRTD, Vector\nASC, PCAN TRC, SavvyCAN CSV, ParserFlags TSV, .gz; format\ndetected from the content) on the simulation clock;\nrepeatable; N= sends all its frames to bus N"},
    {"trace-format", '\0', "NAME", SECTION_CAN, VALUE(set_trace_format), NULL, "force the trace format (see 'convert --list-formats')"},
    {"loop", '\0', "N", SECTION_CAN, VALUE(set_loop), NULL, "replay N times (default 1; 0 = forever)"},
    {"start", '\0', "OFFSET", SECTION_CAN, VALUE(set_start), NULL, "skip the trace's first OFFSET (90, 1.5s, 250ms, 2m)"},
    {"end", '\0', "OFFSET", SECTION_CAN, VALUE(set_end), NULL, "stop at OFFSET from the trace's start"},
    {"filter", '\0', "IDS", SECTION_CAN, VALUE(add_filter), NULL, "replay only these ids: 1DB,5C5 and id/mask (700/7F0)"},
    {"bus-map", '\0', "MAP", SECTION_CAN, VALUE(add_bus_map), NULL, "trace bus -> simulator bus: can0=1,can1=2 (CRTD/ASC: 2=1)"},
    {"stats", '\0', "", SECTION_CAN, CALL(set_stats), NULL, "print replay statistics (frames, frames/s, lateness p50/p99/\nmax) at the end"},
    {"precise-timing", '\0', "", SECTION_CAN, CALL(set_precise), NULL, "real-time replay: busy-wait the last 50 us before each frame\n(frames within a few us of their time; costs CPU that MQTT\nand the buses then lack; default: sleep in the event loop)"},
    {"keep-going", '\0', "", SECTION_CAN, FLAG(can.trace.replay.keep_going), NULL, "skip bad trace lines (counted) instead of stopping"},
    {"trace-period", '\0', "T", SECTION_CAN, VALUE(set_trace_period), NULL, "frame spacing of traces without times (candump screen output;\ndefault 10ms)"},
    {"can", '\0', "[N=]BUS", SECTION_CAN, VALUE(add_can), NULL, "attach bus N (default 1) to socketcan:IFACE[,fd],\nslcan:/dev/ttyACM0[@BITRATE], mem:NAME, a socketcand\ndaemon's bus socketcand:HOST:PORT/CHANNEL or a GVRET server\ngvret:HOST:PORT[/BUS] (an OVMS module, ESP32RET); repeatable"},
    {"serve", '\0', "SPEC", SECTION_CAN, VALUE(add_serve), NULL, "serve buses to network tools (docs/network.md):\n[N=]socketcand:[HOST:]PORT  bus N (default 1) as canN\ngvret:[HOST:]PORT           every bus (SavvyCAN)\n[N=]elm327:[HOST:]PORT|pty  an ELM327 dongle (35000)\nHOST defaults to 0.0.0.0; a served bus without --can is an\nin-memory bus; repeatable"},
    {"bridge", '\0', "A=B[,OPT]", SECTION_CAN, VALUE(add_bridge), NULL, "forward frames between buses A and B (A>B: one way); OPT:\nids and id/mask filters (7E0/7F0), rate=N frames/s"},
    {"trace-respond", '\0', "FILE", SECTION_CAN, STR(trace_respond), NULL, "answer diagnostic requests on the buses with the replies\nrecorded in FILE (a --trace format: a module's polls and\nthe car's replies), ISO-TP reassembled and re-sent"},
    {"record", '\0', "FILE", SECTION_CAN, STR(record), NULL, "record frames in/out, events and metric changes (CRTD, or\nthe format of FILE's extension)"},
    {NULL, '\0', NULL, SECTION_RUN, OPT_FLAG, 0, NULL, NULL, NULL, NULL},
};

/* ---- --help --------------------------------------------------------------------------- */

#define HELP_COLUMN 27 /* where the help text of an option starts */

/* One option: "  -s, --scenario FILE" padded to HELP_COLUMN, then its help lines. */
static void print_option(FILE *out, const struct app_option *op)
{
  int n = op->letter ? fprintf(out, "  -%c, --%s", op->letter, op->name)
                     : fprintf(out, "      --%s", op->name);
  if (op->arg[0])
    n += fprintf(out, " %s", op->arg);
  fprintf(out, "%*s", n < HELP_COLUMN ? HELP_COLUMN - n : 1, "");
  for (const char *p = op->help; *p;) {
    const char *nl = strchr(p, '\n');
    size_t len = nl ? (size_t)(nl - p) : strlen(p);
    const char *pct = op->dflt ? memchr(p, '%', len) : NULL;
    if (pct && pct[1] == 's')
      fprintf(out, "%.*s%s%.*s\n", (int)(pct - p), p, op->dflt(), (int)(len - (size_t)(pct - p) - 2),
              pct + 2);
    else
      fprintf(out, "%.*s\n", (int)len, p);
    p += len;
    if (*p)
      fprintf(out, "%*s", HELP_COLUMN, "");
    p += *p == '\n';
  }
}

static void print_section(FILE *out, enum opt_section section)
{
  for (const struct app_option *op = app_options; op->name; op++)
    if (op->section == section && op->help)
      print_option(out, op);
}

/* The rows named (NULL-terminated), in that order. */
static void print_named(FILE *out, const char *const *names)
{
  for (; *names; names++)
    for (const struct app_option *op = app_options; op->name; op++)
      if (!strcmp(op->name, *names) && op->help)
        print_option(out, op);
}

static const char exit_status_text[] =
    "Exit status: 0 success; 1 an expect: check failed (or not reached); 2 bad\n"
    "invocation or input, or a run that did nothing (no frame routed or decoded); 3 a\n"
    "runtime failure (broker never reached, adapter lost, a write failed); 4 --duration\n"
    "ended the run before the timeline, every check judged passed, the rest not reached;\n"
    "130 interrupted (SIGINT/SIGTERM).\n";

static const char run_intro[] =
    "A software OVMS v3 module: runs a YAML driving scenario (or a CAN trace, or a live bus)\n"
    "through the OVMS metrics model and publishes it as the module's Server V3 does.  With no\n"
    "broker configured it prints every publication as '<topic> <payload>' (mosquitto_sub -v).\n";

/* The options of a run, by section. */
static void print_run_options(FILE *out)
{
  fputs("Run options:\n", out);
  print_section(out, SECTION_RUN);
  fputs("\nFleet (--stats prints the fleet report at exit, --report FILE writes it as JSON):\n",
        out);
  print_section(out, SECTION_FLEET);
  fputs("\nCAN input and output:\n", out);
  print_section(out, SECTION_CAN);
}

void usage_run(FILE *out)
{
  fprintf(out, "Usage: ovms-sim [run] [OPTIONS]\n\n%s\n", run_intro);
  print_run_options(out);
  fprintf(out, "\n%s", exit_status_text);
}

void usage_metrics(FILE *out)
{
  static const char *const names[] = {"scenario", "trace", "vehicle", "vehicle-map",
                                      "vehicle-anybus", "bus-map", "filter", "config", "set",
                                      "firmware", "seed", "start-time", "vehicle-id", "help",
                                      NULL};
  fputs("Usage: ovms-sim metrics [OPTIONS] [PATTERN]\n"
        "\n"
        "Lists every metric (name, type, unit, value) in ASCII order.  PATTERN is a name,\n"
        "prefix* or *suffix; one that matches no metric is an error (exit 2).  With --scenario,\n"
        "the values after running it; with --trace, the values after replaying it (decoded by\n"
        "--vehicle); with --vehicle, the vehicle's own metrics as well.\n"
        "\n"
        "Options:\n"
        "      --json               the listing as a JSON array of {name, type, unit, value}\n",
        out);
  print_named(out, names);
  fprintf(out, "\n%s", exit_status_text);
}

void usage_validate(FILE *out)
{
  fputs("Usage: ovms-sim validate FILE...\n"
        "\n"
        "Checks scenario files (docs/scenarios.md) and reports every error of every file as\n"
        "file:line:col: error: ...; prints \"FILE: ok (N steps, M checks)\" for a valid one.\n"
        "\n"
        "Options:\n"
        "  -h, --help               show this help and exit\n"
        "\n"
        "Exit status: 0 every file valid; 2 an error in one of them.\n",
        out);
}

void usage_convert(FILE *out)
{
  fputs("Usage: ovms-sim convert [OPTIONS] IN OUT\n"
        "\n"
        "Converts a CAN trace between formats (docs/traces.md).  The input format is detected\n"
        "from the content, the output format taken from --to or OUT's extension (default\n"
        "crtd); '-' is stdin/stdout; a .gz name is compressed.\n"
        "\n"
        "Options:\n"
        "      --from FMT           the input format (when detection is not wanted)\n"
        "      --to FMT             the output format\n"
        "      --keep-going         skip bad lines (counted) instead of stopping at the first\n"
        "      --list-formats       list the formats (name, extensions, description) and exit\n"
        "  -q, --quiet              no \"converted N records\" line on stderr\n"
        "  -h, --help               show this help and exit\n"
        "\n"
        "Exit status: 0 success; 2 bad invocation or a bad input line (file:line:col); 3 a\n"
        "file that cannot be read or written.\n",
        out);
}

void usage_plot(FILE *out)
{
  fputs("Usage: ovms-sim plot [OPTIONS] RUN.json -o FILE.svg\n"
        "\n"
        "Draws the series of a run report (--report; docs/scenarios.md \"Looking at a run\")\n"
        "over simulation time as an SVG: SoC, power, speed and temperatures, one panel per\n"
        "unit, drive and charge phases shaded.\n"
        "\n"
        "Options:\n"
        "  -o, --output FILE        the SVG to write ('-' = stdout)\n"
        "      --metric NAME        draw the series of NAME as well (repeatable; the run must\n"
        "                           have recorded it: run --metric NAME --report)\n"
        "  -h, --help               show this help and exit\n"
        "\n"
        "Exit status: 0 success; 2 bad invocation or a report that is not JSON or lacks a\n"
        "series; 3 the SVG cannot be written.\n",
        out);
}

void usage(FILE *out)
{
  fprintf(out,
          "Usage: ovms-sim [run] [OPTIONS]\n"
          "       ovms-sim validate FILE...\n"
          "       ovms-sim metrics [OPTIONS] [PATTERN]\n"
          "       ovms-sim convert [--from FMT] [--to FMT] [--keep-going] IN OUT\n"
          "       ovms-sim plot [--metric NAME]... RUN.json -o FILE.svg\n"
          "\n%s\n",
          run_intro);
  print_run_options(out);
  fputs("\n"
        "Subcommands (ovms-sim SUBCOMMAND --help for each one's options):\n"
        "  run [OPTIONS]            the same as no subcommand: the options above\n"
        "  validate FILE...         check scenario files and report every error; exit 0 if valid\n"
        "  metrics [PATTERN]        list metrics (name, type, unit, value) in ASCII order;\n"
        "                           PATTERN is a name, prefix* or *suffix; --json for JSON;\n"
        "                           with --scenario, values after running it; with --trace,\n"
        "                           values after replaying it; with --vehicle, the vehicle's\n"
        "                           own metrics as well\n"
        "  convert IN OUT           convert a CAN trace (candump, candump-screen, crtd, asc, trc,\n"
        "                           savvycan, parserflags, numbered; '-' = stdin/stdout; .gz);\n"
        "                           the input format is detected from the content, the output\n"
        "                           format taken from --to or OUT's extension (default crtd);\n"
        "                           --keep-going skips bad lines; --list-formats lists formats\n"
        "  plot RUN.json -o F.svg   draw a --report's series (SoC, power, speed, temperatures,\n"
        "                           --metric NAME) over simulation time as an SVG\n"
        "\n", out);
  fputs(exit_status_text, out);
  fputs(
        "Examples:\n"
        "  ovms-sim --scenario scenarios/charging.yaml --fast\n"
        "  ovms-sim --scenario scenarios/driving.yaml --speed 10\n"
        "  ovms-sim validate scenarios/*.yaml\n", out);
}

/* ---- parsing -------------------------------------------------------------------------- */

#define NOPTIONS ARRAY_SIZE(app_options)
#define LONG_ONLY 256 /* getopt value of row i without a letter: LONG_ONLY + i */

/* getopt_long's table and short-option string from the rows (built once). */
static const struct option *getopt_table(const char **shortopts)
{
  static struct option longs[NOPTIONS];
  static char shorts[2 * NOPTIONS + 2];
  if (!shorts[0]) {
    size_t n = 0;
    shorts[n++] = ':';
    for (size_t i = 0; app_options[i].name; i++) {
      const struct app_option *op = &app_options[i];
      int has = op->arg[0] ? required_argument : no_argument;
      longs[i] = (struct option){op->name, has, NULL, op->letter ? op->letter : LONG_ONLY + (int)i};
      if (op->letter) {
        shorts[n++] = op->letter;
        if (op->arg[0])
          shorts[n++] = ':';
      }
    }
  }
  *shortopts = shorts;
  return longs;
}

static const struct app_option *row_of(int c)
{
  if (c >= LONG_ONLY && c < LONG_ONLY + (int)NOPTIONS)
    return &app_options[c - LONG_ONLY];
  for (const struct app_option *op = app_options; op->name; op++)
    if (op->letter && op->letter == c)
      return op;
  return NULL;
}

/* Applies one option.  Returns 0 or the exit code (the error printed). */
static int apply(struct opts *o, const struct app_option *op, const char *arg)
{
  char *base = (char *)o;
  switch (op->kind) {
  case OPT_FLAG:
    *(bool *)(base + op->offset) = true;
    return 0;
  case OPT_STRING:
    *(const char **)(base + op->offset) = arg;
    return 0;
  case OPT_CALL:
    return op->run(o, arg);
  case OPT_VALUE: {
    struct sim_diag d = SIM_DIAG_INIT;
    int rc = op->value(o, arg, &d);
    char label[40];
    snprintf(label, sizeof(label), "--%s", op->name);
    diag_label(&d, 0, label);
    if (rc < 0) {
      print_diag(&d);
      fputs("Try 'ovms-sim --help' for more information.\n", stderr);
    }
    sim_diag_cleanup(&d);
    return rc < 0 ? EXIT_USAGE : 0;
  }
  }
  return 0;
}

/* The checks between options, after all are read.  Returns 0 or the exit code. */
static int check_opts(struct opts *o)
{
  if (o->fast && o->speed_given)
    return usage_error("--fast and --speed exclude each other");
  if ((o->v3.certfile != NULL) != (o->v3.keyfile != NULL))
    return usage_error("--cert and --key must be given together");
  if (!o->fleet.n && (o->fleet.pattern || o->fleet.offset || o->fleet_users ||
                      o->fleet.shard_k || o->fleet.connect_rate > 0))
    return usage_error("--fleet-id, --fleet-offset, --fleet-users, --fleet-shard and "
                       "--connect-rate need a --fleet");
  if (o->fleet.n && (o->v3.client_id || o->vehicle_id || o->vehicle || o->can.ntraces ||
                     o->can.ncans || o->record || can_network_wanted(&o->net)))
    return usage_error("--fleet takes no --client-id, --vehicle-id, --vehicle, --trace, --can, "
                       "--serve, --bridge or --record (every car has its own id)");
  if (o->app_command && !o->apps)
    return usage_error("--app-command needs --apps");
  if (o->apps && (!o->v3.broker || !strcmp(o->v3.broker, "print")))
    return usage_error("--apps needs a --broker");
  if (o->app_only && (!o->scenario || !o->v3.broker || !strcmp(o->v3.broker, "print")))
    return usage_error("--app-only needs a --scenario and a --broker");
  if (o->app_only && (o->fleet.n || o->apps || o->vehicle || o->can.ntraces || o->can.ncans ||
                      o->record || can_network_wanted(&o->net) || o->state_dir))
    return usage_error("--app-only runs no car: no --fleet, --apps, --vehicle, --trace, --can, "
                       "--serve, --bridge, --record or --state-dir");
  if (o->fleet.n && o->fleet_users && o->fleet.pattern)
    return usage_error("--fleet-users gives the vehicle ids: no --fleet-id");
  /* with a vehicle decoding the frames, the framework raises vehicle.* events itself: the
   * CEV records of a replayed CRTD (the recording module's events) would come twice */
  if (o->vehicle)
    o->can.trace.replay.no_events = true;
  if ((o->vehicle_map || o->vehicle_anybus || o->vehicle_emulate) && !o->vehicle)
    return usage_error("--vehicle-map, --vehicle-anybus and --vehicle-emulate need a --vehicle");
  if (o->vehicle_emulate && !o->can.ncans && !can_network_wanted(&o->net))
    return usage_error("--vehicle-emulate needs a --can bus (or a --serve bus) to send on");
  if ((o->responders || o->no_obd) && !o->vehicle_emulate)
    return usage_error("--responders and --no-obd need --vehicle-emulate (the simulator "
                       "playing the car)");
  if (o->vehicle_poll && !o->vehicle)
    return usage_error("--vehicle-poll needs a --vehicle (its poll list)");
  if (o->vehicle_poll && o->vehicle_emulate)
    return usage_error("--vehicle-poll and --vehicle-emulate exclude each other: the module "
                       "polls a car, or the simulator plays one");
  if (o->vehicle_poll && !o->can.ncans && !can_network_wanted(&o->net))
    return usage_error("--vehicle-poll needs a --can bus (or a --serve bus) to poll on");
  if (o->trace_respond && !o->can.ncans && !can_network_wanted(&o->net))
    return usage_error("--trace-respond needs a --can bus (or a --serve bus) to answer on");
  if (o->trace_respond && o->vehicle_emulate)
    return usage_error("--trace-respond and --vehicle-emulate exclude each other: two ECUs "
                       "would answer the same requests");
  if (o->vehicle_map && strncmp(o->vehicle, "dbc:", 4) != 0)
    return usage_error("--vehicle-map needs a --vehicle dbc:FILE");
  if (o->state_repair && !o->state_dir)
    return usage_error("--state-repair needs a --state-dir");
  return 0;
}

int parse_opts(int argc, char **argv, struct opts *o, bool subcommand)
{
  const char *shorts;
  const struct option *longs = getopt_table(&shorts);
  char spec[2 * NOPTIONS + 3];
  snprintf(spec, sizeof(spec), "%s%s", subcommand ? "+" : "", shorts);
  int c;
  opterr = 0;
  while ((c = getopt_long(argc, argv, spec, longs, NULL)) != -1) {
    if (c == ':')
      return usage_error("option '%s' needs an argument", argv[optind - 1]);
    const struct app_option *op = c == '?' ? NULL : row_of(c);
    if (!op) {
      if (optopt)
        return usage_error("unknown option '-%c'", optopt);
      return usage_error("unknown option '%s'", argv[optind - 1]);
    }
    int rc = apply(o, op, optarg);
    if (rc)
      return rc;
  }
  return check_opts(o);
}

void opts_cleanup(struct opts *o)
{
  free(o->sets);
  free(o->metrics);
}
