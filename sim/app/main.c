/*
 * main.c - the ovms-sim program: command line, validation, wiring, exit codes.
 *
 * The only place that prints to the user or exits.  Everything is parsed and validated first
 * (defaults < config file < --set, then one validation pass); only then are files, sockets
 * and buses opened.  Exit codes: 0 success, 1 an expect: check failed (or a run-time failure),
 * 2 bad invocation or bad input.
 *
 * Subcommands:  ovms-sim [run options]        run a scenario, a trace or a live bus
 *               ovms-sim validate FILE...     check scenario files, report every error
 *               ovms-sim metrics [PATTERN]    list every metric with type, unit and value
 *               ovms-sim convert IN OUT       convert a CAN trace between formats (trace.h)
 */
#include <errno.h>
#include <ev.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/parse.h"
#include "core/diag.h"
#include "core/error.h"
#include "model/events.h"
#include "vehicle/housekeeping.h"
#include "model/metrics.h"
#include "notify/queue.h"
#include "scenario/scenario.h"
#include "v3/v3.h"
#include "model/sim.h"
#include "can/inputs.h"
#include "record/record.h"
#include "trace/trace.h"
#include "vehicle/vehicle.h"
#include "core/xalloc.h"

#define EXIT_EXPECT 1
#define EXIT_USAGE 2

/* ---- option table ------------------------------------------------------------------------ */

enum {
  OPT_SEED = 256, OPT_VEHICLE_ID, OPT_SET, OPT_FIRMWARE, OPT_START_TIME, OPT_DURATION,
  OPT_REPORT, OPT_PROGRESS, OPT_NO_PROGRESS, OPT_JSON,
  OPT_BROKER, OPT_PASSWORD_FILE, OPT_CAFILE, OPT_CAPATH, OPT_CERT, OPT_KEY, OPT_CLIENT_ID,
  OPT_STATE_DIR, OPT_TOPICS,
  OPT_VEHICLE, OPT_VEHICLE_MAP, OPT_VEHICLE_ANYBUS, OPT_VEHICLE_EMULATE,
  /* CAN input and output */
  OPT_TRACE = 1000, OPT_TRACE_FORMAT, OPT_LOOP, OPT_START, OPT_END, OPT_FILTER, OPT_BUS_MAP,
  OPT_STATS, OPT_CAN, OPT_RECORD, OPT_KEEP_GOING, OPT_TRACE_PERIOD,
};

struct opt_help {
  int val;
  const char *arg;
  const char *help;
};

static const struct option long_opts[] = {
  {"scenario", required_argument, NULL, 's'},
  {"fast", no_argument, NULL, 'f'},
  {"speed", required_argument, NULL, 'x'},
  {"seed", required_argument, NULL, OPT_SEED},
  {"vehicle-id", required_argument, NULL, OPT_VEHICLE_ID},
  {"vehicle", required_argument, NULL, OPT_VEHICLE},
  {"vehicle-map", required_argument, NULL, OPT_VEHICLE_MAP},
  {"vehicle-anybus", no_argument, NULL, OPT_VEHICLE_ANYBUS},
  {"vehicle-emulate", no_argument, NULL, OPT_VEHICLE_EMULATE},
  {"config", required_argument, NULL, 'c'},
  {"set", required_argument, NULL, OPT_SET},
  {"print", no_argument, NULL, 'p'},
  {"firmware", required_argument, NULL, OPT_FIRMWARE},
  {"start-time", required_argument, NULL, OPT_START_TIME},
  {"duration", required_argument, NULL, OPT_DURATION},
  {"report", required_argument, NULL, OPT_REPORT},
  {"progress", no_argument, NULL, OPT_PROGRESS},
  {"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
  {"json", no_argument, NULL, OPT_JSON},
  {"broker", required_argument, NULL, OPT_BROKER},
  {"password-file", required_argument, NULL, OPT_PASSWORD_FILE},
  {"cafile", required_argument, NULL, OPT_CAFILE},
  {"capath", required_argument, NULL, OPT_CAPATH},
  {"cert", required_argument, NULL, OPT_CERT},
  {"key", required_argument, NULL, OPT_KEY},
  {"client-id", required_argument, NULL, OPT_CLIENT_ID},
  {"state-dir", required_argument, NULL, OPT_STATE_DIR},
  {"topics", required_argument, NULL, OPT_TOPICS},
  {"trace", required_argument, NULL, OPT_TRACE},
  {"trace-format", required_argument, NULL, OPT_TRACE_FORMAT},
  {"loop", required_argument, NULL, OPT_LOOP},
  {"start", required_argument, NULL, OPT_START},
  {"end", required_argument, NULL, OPT_END},
  {"filter", required_argument, NULL, OPT_FILTER},
  {"bus-map", required_argument, NULL, OPT_BUS_MAP},
  {"stats", no_argument, NULL, OPT_STATS},
  {"can", required_argument, NULL, OPT_CAN},
  {"record", required_argument, NULL, OPT_RECORD},
  {"keep-going", no_argument, NULL, OPT_KEEP_GOING},
  {"trace-period", required_argument, NULL, OPT_TRACE_PERIOD},
  {"quiet", no_argument, NULL, 'q'},
  {"verbose", no_argument, NULL, 'v'},
  {"help", no_argument, NULL, 'h'},
  {"version", no_argument, NULL, 'V'},
  {NULL, 0, NULL, 0},
};

#define DEFAULT_SEED 1
#define DEFAULT_SPEED 1.0
#define DEFAULT_FAST_START "2024-06-01 08:00:00"

static void usage(FILE *out)
{
  fprintf(out,
    "Usage: ovms-sim [OPTIONS]\n"
    "       ovms-sim validate FILE...\n"
    "       ovms-sim metrics [--json] [PATTERN]\n"
    "       ovms-sim convert [--from FMT] [--to FMT] [--keep-going] IN OUT\n"
    "\n"
    "A software OVMS v3 module: runs a YAML driving scenario (or a CAN trace, or a live bus)\n"
    "through the OVMS metrics model and publishes it as the module's Server V3 does.  With no\n"
    "broker configured it prints every publication as '<topic> <payload>' (mosquitto_sub -v).\n"
    "\n"
    "Run options:\n"
    "  -s, --scenario FILE      run the YAML scenario FILE (see docs/scenarios.md)\n"
    "  -f, --fast               virtual time: run as fast as possible, deterministically\n"
    "  -x, --speed X            real time scaled by X (default %g; e.g. 60 = a minute a second)\n"
    "      --seed N             random seed (default %d); same inputs + seed = same output\n"
    "      --vehicle-id ID      vehicle id (config vehicle.id; default DEMO)\n"
    "      --vehicle TYPE       vehicle decoder/encoder: nissanleaf, teslaroadster,\n"
    "                           mitsubishi, or dbc:FILE (signals named like metrics,\n"
    "                           v_b_soc -> v.b.soc); see vehicles/README.md\n"
    "      --vehicle-map FILE   dbc:FILE vehicles: map other signal names to metrics\n"
    "      --vehicle-anybus     decode a frame id on whatever bus it arrives\n"
    "      --vehicle-emulate    play the car: send its periodic frames, built from the\n"
    "                           metrics (e.g. a --scenario's), on the --can buses\n"
    "  -c, --config FILE        YAML config file of firmware config keys\n"
    "      --set KEY=VALUE      set a config key, firmware names, e.g.\n"
    "                           --set server.v3.updatetime.idle=600 (repeatable)\n"
    "  -p, --print              print publications to stdout (the default without a broker;\n"
    "                           with --broker: as well as publishing them)\n"
    "      --firmware VERSION   behave as firmware %s (default current)\n"
    "      --broker URL         publish to an MQTT broker: mqtt://[user@]host[:port] or\n"
    "                           mqtts://... (TLS, server always verified)\n"
    "      --password-file FILE MQTT password: first line of FILE (or environment variable\n"
    "                           OVMS_SIM_PASSWORD); never on the command line\n"
    "      --cafile FILE        CA certificate(s) for mqtts (default: the system CAs)\n"
    "      --capath DIR         directory of CA certificates for mqtts\n"
    "      --cert FILE          client certificate for mutual TLS (with --key)\n"
    "      --key FILE           client private key for mutual TLS (with --cert)\n"
    "      --client-id ID       MQTT client id (config server.v3.clientid; default the\n"
    "                           vehicle id)\n"
    "      --state-dir DIR      keep the notification queue in DIR: pending notifications\n"
    "                           survive broker outages and restarts and are sent once\n"
    "      --topics NAMES       current (default) or draft-2018 (the 2018 design post's m/,\n"
    "                           c/<id>, cmd/<id>/c/ and /r/, notify/<type> at QoS 2)\n"
    "      --start-time TIME    UTC start, 'YYYY-MM-DD HH:MM:SS' or epoch seconds (default:\n"
    "                           the scenario's start:, else a trace's first time, else\n"
    "                           now; --fast: %s)\n"
    "      --duration D         stop after D of simulation time (e.g. 90s, 15min, 2h)\n"
    "      --report FILE        write the run report (expect: results) as JSON to FILE\n"
    "      --progress           show a progress line on stderr (default: when stderr is a\n"
    "                           terminal and --fast)\n"
    "      --no-progress        never show the progress line\n"
    "  -q, --quiet              no output but errors and the expect: summary\n"
    "  -v, --verbose            log what the simulator does on stderr\n"
    "  -h, --help               show this help and exit\n"
    "  -V, --version            show the version and exit\n"
    "\n"
    "CAN input and output:\n"
    "      --trace [N=]FILE     replay a CAN trace (candump -l, candump screen, CRTD, Vector\n"
    "                           ASC, PCAN TRC, SavvyCAN CSV, ParserFlags TSV, .gz; format\n"
    "                           detected from the content) on the simulation clock;\n"
    "                           repeatable; N= sends all its frames to bus N\n"
    "      --trace-format NAME  force the trace format (see 'convert --list-formats')\n"
    "      --loop N             replay N times (default 1; 0 = forever)\n"
    "      --start OFFSET       skip the trace's first OFFSET (90, 1.5s, 250ms, 2m)\n"
    "      --end OFFSET         stop at OFFSET from the trace's start\n"
    "      --filter IDS         replay only these ids: 1DB,5C5 and id/mask (700/7F0)\n"
    "      --bus-map MAP        trace bus -> simulator bus: can0=1,can1=2 (CRTD/ASC: 2=1)\n"
    "      --stats              print replay statistics (frames, frames/s, lateness p50/p99/\n"
    "                           max) at the end\n"
    "      --keep-going         skip bad trace lines (counted) instead of stopping\n"
    "      --trace-period T     frame spacing of traces without times (candump screen output;\n"
    "                           default 10ms)\n"
    "      --can [N=]BUS        attach bus N (default 1) to socketcan:IFACE[,fd],\n"
    "                           slcan:/dev/ttyACM0[@BITRATE] or mem:NAME; repeatable\n"
    "      --record FILE        record frames in/out, events and metric changes (CRTD, or\n"
    "                           the format of FILE's extension)\n"
    "\n"
    "Subcommands:\n"
    "  validate FILE...         check scenario files and report every error; exit 0 if valid\n"
    "  metrics [PATTERN]        list metrics (name, type, unit, value) in ASCII order;\n"
    "                           PATTERN is a name, prefix* or *suffix; --json for JSON;\n"
    "                           with --scenario, values after running it; with\n"
    "                           --vehicle, the vehicle's own metrics as well\n"
    "  convert IN OUT           convert a CAN trace (candump, candump-screen, crtd, asc, trc,\n"
    "                           savvycan, parserflags, numbered; '-' = stdin/stdout; .gz);\n"
    "                           the input format is detected from the content, the output\n"
    "                           format taken from --to or OUT's extension (default crtd);\n"
    "                           --keep-going skips bad lines; --list-formats lists formats\n"
    "\n"
    "Exit status: 0 success, 1 an expect: check failed, 2 bad invocation or bad input.\n"
    "Examples:\n"
    "  ovms-sim --scenario scenarios/charging.yaml --fast\n"
    "  ovms-sim --scenario scenarios/driving.yaml --speed 10\n"
    "  ovms-sim validate scenarios/*.yaml\n",
    DEFAULT_SPEED, DEFAULT_SEED, sim_profile_names(), DEFAULT_FAST_START);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  fputs("ovms-sim: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputs("\nTry 'ovms-sim --help' for more information.\n", stderr);
  va_end(ap);
  return EXIT_USAGE;
}

static void print_diag(const struct sim_diag *d)
{
  struct sbuf b = SBUF_INIT;
  for (size_t i = 0; i < d->n; i++) {
    sbuf_reset(&b);
    sim_diag_format(&d->v[i], &b);
    fprintf(stderr, "%s\n", sbuf_str(&b));
  }
  sbuf_free(&b);
}

/* ---- parsed options -------------------------------------------------------------------- */

struct opts {
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
  const char *config_file;
  const char **sets;
  size_t nsets, setcap;
  bool print;
  const struct sim_profile *profile;
  bool have_start;
  int64_t start;
  int64_t duration; /* ns, 0 = none */
  const char *report;
  int progress; /* -1 auto, 0 off, 1 on */
  bool json;
  bool quiet, verbose;
  bool no_summary; /* metrics --scenario: values only */
  struct v3_options v3;
  const char *password_file;
  const char *state_dir;
  struct can_inputs_opts can; /* --trace, --can, --filter ... (can/inputs.h) */
  const char *record;         /* --record */
  bool stats;                 /* --stats */
};

/* Labels the entries of d from index from that have no file with the option they came from
 * (library parsers leave the name of their input to the caller). */
static void diag_label(struct sim_diag *d, size_t from, const char *option)
{
  for (size_t i = from; i < d->n; i++)
    if (!d->v[i].file[0]) {
      free(d->v[i].file);
      d->v[i].file = xstrdup(option);
    }
}

/* The CAN input/output options (OPT_TRACE...).  Returns 0, or SIM_ECONFIG / SIM_EPARSE with a
 * message in d. */
static int input_option(struct opts *o, int code, const char *arg, struct sim_diag *d)
{
  struct can_inputs_opts *in = &o->can;
  struct trace_replay_opts *ro = &in->trace.replay;
  char *end;
  int64_t ns;
  switch (code) {
  case OPT_TRACE:
    return can_inputs_add_trace(in, arg, d);
  case OPT_TRACE_FORMAT:
    if (!trace_format_find(arg))
      return sim_diag_error(d, NULL, 0, 0, "unknown trace format '%s'", arg), SIM_ECONFIG;
    ro->format = arg;
    return 0;
  case OPT_LOOP: {
    long n = strtol(arg, &end, 10);
    if (end == arg || *end || n < 0 || n > 1000000)
      return sim_diag_error(d, NULL, 0, 0, "'%s' is not a count (0 = forever)", arg), SIM_ECONFIG;
    ro->loops = n == 0 ? -1 : (int)n;
    return 0;
  }
  case OPT_START:
  case OPT_END:
    if (trace_parse_offset(arg, &ns) < 0)
      return sim_diag_error(d, NULL, 0, 0, "'%s' is not an offset (90, 1.5s, 250ms, 2m, 1h)",
                            arg), SIM_ECONFIG;
    if (code == OPT_START)
      ro->start = ns;
    else
      ro->end = ns;
    if (ro->end && ro->end <= ro->start)
      return sim_diag_error(d, "--end", 0, 0, "--end must be after --start"), SIM_ECONFIG;
    return 0;
  case OPT_FILTER:
    return can_inputs_add_filter(in, arg, d) < 0 ? SIM_ECONFIG : 0;
  case OPT_BUS_MAP:
    return trace_replay_parse_map(ro, arg, d) < 0 ? SIM_ECONFIG : 0;
  case OPT_STATS:
    o->stats = true;
    ro->stats = true;
    return 0;
  case OPT_KEEP_GOING:
    ro->keep_going = true;
    return 0;
  case OPT_TRACE_PERIOD:
    if (trace_parse_offset(arg, &ns) < 0 || ns <= 0)
      return sim_diag_error(d, NULL, 0, 0, "'%s' is not a period (10ms, 0.5s, 100us)", arg),
             SIM_ECONFIG;
    ro->untimed_period = ns;
    return 0;
  case OPT_CAN:
    return can_inputs_add_can(in, arg, d);
  case OPT_RECORD:
    o->record = arg;
    return 0;
  default:
    return SIM_ENOTFOUND;
  }
}

static int parse_opts(int argc, char **argv, struct opts *o, bool subcommand)
{
  int c, longindex = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, subcommand ? "+:s:fx:c:pqvhV" : ":s:fx:c:pqvhV", long_opts,
                          &longindex)) != -1) {
    switch (c) {
    case 's': o->scenario = optarg; break;
    case 'f': o->fast = true; break;
    case 'x':
      if (parse_double(optarg, &o->speed) < 0 || !(o->speed > 0) || o->speed > 1e6)
        return usage_error("invalid --speed '%s': a number > 0 (e.g. 10, 0.5)", optarg);
      o->speed_given = true;
      break;
    case OPT_SEED:
      if (parse_u64(optarg, &o->seed) < 0)
        return usage_error("invalid --seed '%s': a non-negative integer", optarg);
      o->seed_given = true;
      break;
    case OPT_VEHICLE_ID:
      if (!*optarg)
        return usage_error("--vehicle-id must not be empty");
      o->vehicle_id = optarg;
      break;
    case OPT_VEHICLE:
      if (!vehicle_type_find(optarg, NULL))
        return usage_error("unknown --vehicle '%s' (nissanleaf, teslaroadster, mitsubishi, "
                           "dbc:FILE)", optarg);
      o->vehicle = optarg;
      break;
    case OPT_VEHICLE_MAP: o->vehicle_map = optarg; break;
    case OPT_VEHICLE_ANYBUS: o->vehicle_anybus = true; break;
    case OPT_VEHICLE_EMULATE: o->vehicle_emulate = true; break;
    case 'c': o->config_file = optarg; break;
    case OPT_SET:
      if (!strchr(optarg, '=') || optarg[0] == '=')
        return usage_error("invalid --set '%s': expected KEY=VALUE", optarg);
      xgrow((void **)&o->sets, &o->setcap, o->nsets + 1, sizeof(*o->sets));
      o->sets[o->nsets++] = optarg;
      break;
    case 'p': o->print = true; break;
    case OPT_FIRMWARE:
      o->profile = sim_profile_find(optarg);
      if (!o->profile)
        return usage_error("unknown --firmware '%s' (one of %s)", optarg, sim_profile_names());
      break;
    case OPT_START_TIME:
      if (parse_time(optarg, &o->start) < 0)
        return usage_error("invalid --start-time '%s': 'YYYY-MM-DD HH:MM:SS' (UTC) or epoch "
                           "seconds", optarg);
      o->have_start = true;
      break;
    case OPT_DURATION:
      if (parse_duration(optarg, &o->duration) < 0 || o->duration <= 0)
        return usage_error("invalid --duration '%s': e.g. 90, 90s, 15min, 2h, 1h30m", optarg);
      break;
    case OPT_REPORT: o->report = optarg; break;
    case OPT_PROGRESS: o->progress = 1; break;
    case OPT_NO_PROGRESS: o->progress = 0; break;
    case OPT_JSON: o->json = true; break;
    case OPT_BROKER: {
      struct v3_url u;
      struct sbuf e = SBUF_INIT;
      if (strcmp(optarg, "print") && v3_url_parse(optarg, &u, &e) < 0) {
        int r = usage_error("%s", sbuf_str(&e));
        sbuf_free(&e);
        return r;
      }
      o->v3.broker = optarg;
      break;
    }
    case OPT_PASSWORD_FILE: o->password_file = optarg; break;
    case OPT_CAFILE: o->v3.cafile = optarg; break;
    case OPT_CAPATH: o->v3.capath = optarg; break;
    case OPT_CERT: o->v3.certfile = optarg; break;
    case OPT_KEY: o->v3.keyfile = optarg; break;
    case OPT_CLIENT_ID:
      if (!*optarg)
        return usage_error("--client-id must not be empty");
      o->v3.client_id = optarg;
      break;
    case OPT_STATE_DIR: o->state_dir = optarg; break;
    case OPT_TOPICS:
      if (!strcmp(optarg, "current"))
        o->v3.topics = SIM_TOPICS_CURRENT;
      else if (!strcmp(optarg, "draft-2018"))
        o->v3.topics = SIM_TOPICS_DRAFT2018;
      else
        return usage_error("unknown --topics '%s' (one of current|draft-2018)", optarg);
      break;
    case 'q': o->quiet = true; break;
    case 'v': o->verbose = true; break;
    case 'h': usage(stdout); exit(0);
    case 'V': printf("ovms-sim %s\n", OVMS_SIM_VERSION); exit(0);
    case ':':
      return usage_error("option '%s' needs an argument", argv[optind - 1]);
    default:
      if (c >= OPT_TRACE && c <= OPT_TRACE_PERIOD) {
        struct sim_diag d = SIM_DIAG_INIT;
        int trc = input_option(o, c, optarg, &d);
        char label[32];
        snprintf(label, sizeof(label), "--%s", long_opts[longindex].name);
        diag_label(&d, 0, label);
        if (trc < 0) {
          print_diag(&d);
          sim_diag_cleanup(&d);
          fputs("Try 'ovms-sim --help' for more information.\n", stderr);
          return EXIT_USAGE;
        }
        break;
      }
      if (optopt)
        return usage_error("unknown option '-%c'", optopt);
      return usage_error("unknown option '%s'", argv[optind - 1]);
    }
  }
  if (o->fast && o->speed_given)
    return usage_error("--fast and --speed exclude each other");
  if ((o->v3.certfile != NULL) != (o->v3.keyfile != NULL))
    return usage_error("--cert and --key must be given together");
  /* with a vehicle decoding the frames, the framework raises vehicle.* events itself: the
   * CEV records of a replayed CRTD (the recording module's events) would come twice */
  if (o->vehicle)
    o->can.trace.replay.no_events = true;
  if ((o->vehicle_map || o->vehicle_anybus || o->vehicle_emulate) && !o->vehicle)
    return usage_error("--vehicle-map, --vehicle-anybus and --vehicle-emulate need a --vehicle");
  if (o->vehicle_emulate && !o->can.ncans)
    return usage_error("--vehicle-emulate needs a --can bus to send on");
  if (o->vehicle_map && strncmp(o->vehicle, "dbc:", 4) != 0)
    return usage_error("--vehicle-map needs a --vehicle dbc:FILE");
  return 0;
}

/* Reads the MQTT password: the first line of --password-file, else OVMS_SIM_PASSWORD (which
 * is then removed from the environment).  Returns 0, or the exit code after an error. */
static int read_password(struct opts *o, char **pw)
{
  *pw = NULL;
  if (o->password_file) {
    FILE *f = fopen(o->password_file, "r");
    if (!f) {
      fprintf(stderr, "ovms-sim: %s: %s\n", o->password_file, strerror(errno));
      return EXIT_USAGE;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, f);
    int err = ferror(f) ? errno : 0;
    fclose(f);
    if (n < 0) {
      free(line);
      fprintf(stderr, "ovms-sim: %s: %s\n", o->password_file,
              err ? strerror(err) : "empty password file");
      return EXIT_USAGE;
    }
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
      line[--n] = '\0';
    *pw = line;
  } else {
    char *e = getenv("OVMS_SIM_PASSWORD");
    if (e) {
      *pw = xstrdup(e);
      /* blank it where it lives, so that /proc/<pid>/environ (ps e) no longer shows it */
      memset(e, 0, strlen(e));
      unsetenv("OVMS_SIM_PASSWORD");
    }
  }
  return 0;
}

/* Applies config file and --set, in that order, then validates.  Returns 0 or exit code. */
static int configure(struct sim *sim, const struct opts *o)
{
  struct sim_diag d = SIM_DIAG_INIT;
  int rc = 0;
  if (o->config_file && sim_config_load_yaml(sim->config, o->config_file, &d) < 0)
    rc = EXIT_USAGE;
  for (size_t i = 0; i < o->nsets; i++) {
    const char *eq = strchr(o->sets[i], '=');
    char *key = xstrndup(o->sets[i], (size_t)(eq - o->sets[i]));
    struct sbuf err = SBUF_INIT;
    if (sim_config_set_key(sim->config, key, eq + 1, &err) < 0) {
      sim_diag_error(&d, "--set", 0, 0, "%s", sbuf_str(&err));
      rc = EXIT_USAGE;
    }
    sbuf_free(&err);
    free(key);
  }
  if (o->vehicle_id)
    sim_config_set(sim->config, "vehicle", "id", o->vehicle_id, NULL);
  print_diag(&d);
  if (rc)
    fputs("Try 'ovms-sim --help' for more information.\n", stderr);
  sim_diag_cleanup(&d);
  return rc;
}

/* ---- subcommand: metrics --------------------------------------------------------------- */

static const char *type_name(const struct metric *m)
{
  static const char *const names[] = {"bool", "int", "int64", "float", "string",
                                      "vector<float>", "vector<int>", "bitset", "set<int>",
                                      "set<string>"};
  return m->type < sizeof(names) / sizeof(names[0]) ? names[m->type] : "?";
}

static void list_metrics(struct sim *sim, const char *pattern, bool json)
{
  struct sbuf v = SBUF_INIT;
  size_t n = metrics_count(sim->metrics);
  if (json)
    fputs("[\n", stdout);
  bool first = true;
  for (size_t i = 0; i < n; i++) {
    struct metric *m = metrics_at(sim->metrics, i);
    if (pattern && !metric_name_match(pattern, m->name))
      continue;
    sbuf_reset(&v);
    if (json) {
      metric_format_json(m, &v);
      printf("%s  {\"name\": \"%s\", \"type\": \"%s\", \"unit\": \"%s\", \"value\": %s}",
             first ? "" : ",\n", m->name, type_name(m), sim_unit_code(m->unit), sbuf_str(&v));
    } else {
      metric_format(m, NULL, &v);
      printf("%-28s %-13s %-12s %s\n", m->name, type_name(m),
             m->unit ? sim_unit_code(m->unit) : "-", metric_is_defined(m) ? sbuf_str(&v) : "");
    }
    first = false;
  }
  if (json)
    fputs("\n]\n", stdout);
  sbuf_free(&v);
}

/* ---- running ---------------------------------------------------------------------------- */

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
  FILE *devnull;
  struct scenario *sc;
  struct scenario_run *run;
  struct can_inputs *inputs;   /* live buses and replays */
  struct trace_recorder *rec;  /* --record */
  int trace_status;
  struct sim_timer drain_timer; /* see finish_sources() */
  int drain_ticks, drain_requested;
};

static void on_stop_timer(struct sim_loop *loop, struct sim_timer *t)
{
  sim_loop_stop(loop, 0);
}

static void on_signal(struct ev_loop *ev, ev_signal *w, int revents)
{
  struct app *a = w->data;
  sim_loop_stop(a->loop, 0);
}

static void on_progress(struct sim_loop *loop, struct sim_timer *t)
{
  struct app *a = t->data;
  int64_t now = sim_monotonic(loop);
  static int64_t last_wall;
  int64_t w = sim_wall_ns();
  if (w - last_wall < 100 * SIM_NS_PER_MS)
    return;
  last_wall = w;
  long long s = (long long)(now / SIM_NS_PER_SEC);
  if (a->run)
    fprintf(stderr, "\r[step %zu/%zu] simulated %lld:%02lld:%02lld", scenario_run_step(a->run) + 1,
            a->sc->n_steps, s / 3600, s / 60 % 60, s % 60);
  else if (a->progress_total > 0)
    fprintf(stderr, "\r[%3d%%] simulated %lld s", (int)(100 * now / a->progress_total), s);
  else
    fprintf(stderr, "\rsimulated %lld s", s);
}

/* --verbose: Server V3 state changes (server.v3.<state>, data = the status text). */
static void on_v3_state(void *ctx, const char *name, const char *data)
{
  fprintf(stderr, "ovms-sim: %s: %s\n", name, data ? data : "");
}

/*
 * The sources are done (the scenario's timeline, or every replay).  Before the run ends, the
 * module publishes what changed since its last transmission, as `server v3 update modified`
 * makes a module do: wait for the connection if it is still being set up (at most
 * DRAIN_CONNECT_WAIT), request the update, and stop two ticks later.  Without Server V3 the run
 * ends at once.
 */
#define DRAIN_CONNECT_WAIT 60

static void on_drain(struct sim_loop *loop, struct sim_timer *t)
{
  struct app *a = t->data;
  struct v3 *v3 = a->sim->v3;
  a->drain_ticks++;
  if (!v3 || (!v3_connected(v3) && a->drain_ticks > DRAIN_CONNECT_WAIT)) {
    sim_loop_stop(loop, 0);
  } else if (v3_connected(v3)) {
    if (!a->drain_requested) {
      v3_request_update(v3, "modified");
      a->drain_requested = a->drain_ticks;
    } else if (a->drain_ticks - a->drain_requested >= 2) {
      sim_loop_stop(loop, 0);
    }
  }
}

static void finish_sources(struct app *a)
{
  if (a->o.duration || sim_timer_active(&a->drain_timer))
    return; /* --duration decides when the run ends */
  if (!a->sim->v3) {
    sim_loop_stop(a->loop, 0);
    return;
  }
  sim_timer_start(a->loop, &a->drain_timer, SIM_NS_PER_SEC, SIM_NS_PER_SEC);
}

static void on_scenario_done(void *ctx, struct scenario_run *run)
{
  finish_sources(ctx);
}

/* Loads --scenario before anything else is set up; errors printed.  Returns 0 or exit code. */
/* Every --trace replay has ended: the run ends with them unless a scenario or --duration
 * decides the end. */
static void on_traces_done(void *ctx, int status)
{
  struct app *a = ctx;
  a->trace_status = status;
  if (status < 0)
    sim_loop_stop(a->loop, 0);
  else if (!a->run)
    finish_sources(a);
}

static int load_scenario(struct app *a)
{
  struct sim_diag d = SIM_DIAG_INIT;
  int r = scenario_load(a->o.scenario, &a->sc, &d);
  print_diag(&d);
  sim_diag_cleanup(&d);
  if (r < 0)
    return EXIT_USAGE;
  if (!a->o.seed_given && a->sc->has_seed)
    a->o.seed = a->sc->seed;
  if (!a->o.have_start && a->sc->start_utc_ns) {
    a->o.start = a->sc->start_utc_ns / SIM_NS_PER_SEC;
    a->o.have_start = true;
  }
  return 0;
}

/* Prints the expect: results (stderr) and writes --report.  Returns the exit code. */
static int report_scenario(struct app *a)
{
  struct sbuf b = SBUF_INIT;
  size_t failed = scenario_run_report(a->run, &b, 0);
  if ((a->sc->n_expects || failed) && !a->o.no_summary)
    fputs(sbuf_str(&b), stderr);
  int rc = failed ? EXIT_EXPECT : 0;
  if (a->o.report) {
    sbuf_reset(&b);
    scenario_run_report(a->run, &b, SCENARIO_REPORT_JSON);
    FILE *f = fopen(a->o.report, "w");
    if (!f || fputs(sbuf_str(&b), f) < 0 || fputc('\n', f) < 0) {
      fprintf(stderr, "ovms-sim: cannot write %s: %s\n", a->o.report, strerror(errno));
      rc = EXIT_EXPECT;
    }
    if (f && fclose(f) != 0 && rc == 0) {
      fprintf(stderr, "ovms-sim: cannot write %s: %s\n", a->o.report, strerror(errno));
      rc = EXIT_EXPECT;
    }
  }
  sbuf_free(&b);
  return rc;
}

/* Closes the recorder (before the buses it watches) and the inputs.  Returns the recorder's
 * first write error, else 0. */
static int close_inputs(struct app *a)
{
  int rc = trace_recorder_close(a->rec);
  a->rec = NULL;
  can_inputs_free(a->inputs);
  a->inputs = NULL;
  return rc;
}

static int64_t default_start(const struct opts *o)
{
  if (o->have_start)
    return o->start;
  if (o->fast) {
    int64_t t = 0;
    parse_time(DEFAULT_FAST_START, &t);
    return t;
  }
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts.tv_sec;
}

/*
 * A replayed recording sets the simulation's start to the time of its first frame when that
 * time is absolute (a CRTD or candump log, not a relative ASC), so m.time.utc and dated
 * metrics read as they did in the car.  Problems with the file are left to the replay.
 */
static void start_from_trace(struct opts *o)
{
  if (o->have_start || o->scenario || !o->can.ntraces || !strcmp(o->can.traces[0].path, "-"))
    return;
  struct trace_reader *r;
  struct trace_reader_opts ro = {.format = o->can.trace.replay.format};
  if (trace_reader_open(&r, o->can.traces[0].path, &ro, NULL) < 0)
    return;
  struct sim_frame f;
  if (trace_reader_next_frame(r, &f, NULL) == 1 && f.ts >= INT64_C(946684800) * SIM_NS_PER_SEC) {
    o->start = f.ts / SIM_NS_PER_SEC;
    o->have_start = true;
  }
  trace_reader_close(r);
}

static int run(struct app *a)
{
  struct opts *o = &a->o;
  int rc;
  sim_timer_init(&a->drain_timer, on_drain, a);
  if (o->scenario && (rc = load_scenario(a)) != 0)
    return rc;
  start_from_trace(o);
  if (o->fast && !o->scenario && !o->duration && !o->can.ntraces)
    return usage_error("--fast needs an end: a --scenario, a --trace or a --duration");
  if (o->report && !o->scenario)
    return usage_error("--report needs a --scenario");
  if (o->report) {
    /* checked before the run, not found out after hours of it ("a" neither truncates an
     * existing report nor loses anything if the run fails) */
    FILE *f = fopen(o->report, "a");
    if (!f) {
      fprintf(stderr, "ovms-sim: cannot write %s: %s\n", o->report, strerror(errno));
      return EXIT_USAGE;
    }
    fclose(f);
  }
  a->ev = ev_default_loop(EVFLAG_AUTO);
  int64_t start = default_start(o);
  a->loop = sim_loop_new(a->ev, o->fast ? SIM_CLOCK_FAST : SIM_CLOCK_REAL, o->speed,
                         start * SIM_NS_PER_SEC);
  a->sim = sim_new(a->loop, o->profile, o->seed);
  if (o->vehicle) {
    /* before configure(): the vehicle declares its config keys (xnl.*, xtr.*, xmi.*) */
    struct sim_diag d = SIM_DIAG_INIT;
    struct vehicle_opts vo = {o->vehicle_anybus ? VEHICLE_F_ANYBUS : 0, o->vehicle_map};
    rc = vehicle_attach_opts(a->sim, o->vehicle, &vo, &d);
    print_diag(&d);
    sim_diag_cleanup(&d);
    if (rc < 0)
      return EXIT_USAGE;
  }
  rc = configure(a->sim, o);
  if (rc)
    return rc;
  sim_tz_set(sim_config_get(a->sim->config, "vehicle", "timezone"));

  char *password = NULL;
  if ((rc = read_password(o, &password)) != 0)
    return rc;
  struct sbuf err = SBUF_INIT;
  if (sim_notify_open(a->sim, o->state_dir, &err) < 0) {
    fprintf(stderr, "ovms-sim: %s\n", sbuf_str(&err));
    sbuf_free(&err);
    free(password);
    return EXIT_USAGE;
  }
  housekeeping_start(a->sim);
  o->v3.password = password;
  if (o->quiet && !o->v3.broker)
    o->v3.out = a->devnull = fopen("/dev/null", "w");
  if (o->print && o->v3.broker && !o->quiet)
    o->v3.tee = stdout;
  rc = v3_start(a->sim, &o->v3, &err);
  if (password) {
    memset(password, 0, strlen(password));
    free(password);
  }
  o->v3.password = NULL;
  if (rc < 0) {
    fprintf(stderr, "ovms-sim: %s\n", err.len ? sbuf_str(&err) : sim_strerror(rc));
    sbuf_free(&err);
    return EXIT_USAGE;
  }
  sbuf_free(&err);

  if (o->can.ntraces || o->can.ncans || o->record) {
    struct sim_diag d = SIM_DIAG_INIT;
    rc = can_inputs_open(&a->inputs, a->sim, &o->can, &d);
    diag_label(&d, 0, "--can");
    if (rc == 0 && o->record)
      rc = trace_recorder_open(&a->rec, a->sim, o->record, NULL, &d);
    if (rc == 0)
      rc = can_inputs_start(a->inputs, &o->can, on_traces_done, a, &d);
    print_diag(&d);
    sim_diag_cleanup(&d);
    if (rc < 0) /* a bad file, format, option or device: bad input, except a missing kernel feature */
      return rc == SIM_ENOCAN ? 1 : EXIT_USAGE;
  }
  /* the buses exist now (--can, and in-memory buses for --trace): decode what arrives, or,
   * emulating the car, send its frames */
  if (a->sim->vehicle && o->vehicle_emulate)
    vehicle_encoder_start_buses(a->sim->vehicle);
  else if (a->sim->vehicle)
    vehicle_listen_buses(a->sim->vehicle);
  if (a->sc) {
    rc = scenario_start(a->sim, a->sc, &a->run);
    if (rc < 0) {
      fprintf(stderr, "%s: error: %s\n", o->scenario, sim_strerror(rc));
      return EXIT_USAGE;
    }
    sim_tz_set(sim_config_get(a->sim->config, "vehicle", "timezone"));
    scenario_run_on_done(a->run, on_scenario_done, a);
  }
  if (o->duration > 0) {
    sim_timer_init(&a->stop_timer, on_stop_timer, a);
    sim_timer_start(a->loop, &a->stop_timer, o->duration, 0);
    a->progress_total = o->duration;
  }
  a->progress = o->progress == 1 || (o->progress == -1 && o->fast && isatty(2));
  if (a->progress) {
    sim_timer_init(&a->progress_timer, on_progress, a);
    sim_timer_start(a->loop, &a->progress_timer, SIM_NS_PER_SEC, SIM_NS_PER_SEC);
  }
  ev_signal_init(&a->sigint, on_signal, SIGINT);
  ev_signal_init(&a->sigterm, on_signal, SIGTERM);
  a->sigint.data = a->sigterm.data = a;
  ev_signal_start(a->ev, &a->sigint);
  ev_signal_start(a->ev, &a->sigterm);
  ev_unref(a->ev);
  ev_unref(a->ev);

  if (o->verbose)
    sim_events_listen(a->sim->events, "server.v3.*", on_v3_state, a);
  rc = sim_loop_run(a->loop);
  if (o->v3.broker && a->sim->v3 && v3_get_stats(a->sim->v3)->connects == 0)
    fprintf(stderr, "ovms-sim: could not connect to the broker: %s\n",
            *v3_last_error(a->sim->v3) ? v3_last_error(a->sim->v3) : "connection failed");
  if (a->progress)
    fputs("\n", stderr);
  if (a->inputs) {
    struct sbuf b = SBUF_INIT;
    can_inputs_format_errors(a->inputs, &b);
    if (o->stats) {
      can_inputs_report(a->inputs, &b);
      if (a->rec)
        sbuf_printf(&b, "recorded %lu records\n", trace_recorder_count(a->rec));
    }
    fputs(sbuf_str(&b), stderr);
    sbuf_free(&b);
    int wrc = close_inputs(a);
    if (wrc < 0) {
      fprintf(stderr, "ovms-sim: %s: %s\n", o->record, sim_strerror(wrc));
      return 1;
    }
    if (a->trace_status < 0)
      return a->trace_status == SIM_EPARSE || a->trace_status == SIM_ETRUNC ? EXIT_USAGE : 1;
  }
  if (rc < 0) {
    fprintf(stderr, "ovms-sim: %s\n", sim_strerror(rc));
    return 1;
  }
  int jerr = sim_notify_journal_error(a->sim);
  if (jerr < 0)
    fprintf(stderr, "ovms-sim: %s: the notification journal could not be written (%s): "
                    "notifications raised since then would not survive a restart\n",
            o->state_dir, sim_strerror(jerr));
  rc = a->run ? report_scenario(a) : 0;
  return jerr < 0 && rc == 0 ? 1 : rc;
}

static void free_app(struct app *a)
{
  fflush(stdout);
  close_inputs(a);
  sim_free(a->sim);
  scenario_free(a->sc);
  if (a->devnull)
    fclose(a->devnull);
  sim_loop_free(a->loop);
  free(a->o.sets);
}

/* A metrics PATTERN as the firmware's filters take it: a name, "*", "prefix*" or "*suffix"
 * (one '*', at one end; spec/server-v3.md 1.5 "Filtering"). */
static bool pattern_ok(const char *p)
{
  size_t n = strlen(p);
  const char *star = strchr(p, '*');
  if (n == 0)
    return false;
  if (!star)
    return true;
  return strchr(star + 1, '*') == NULL && (star == p || star == p + n - 1);
}

/* Sets the defaults and parses the run options into a (zeroed first).  Returns 0 or the exit
 * code of a bad invocation. */
static int app_parse(struct app *a, int argc, char **argv)
{
  memset(a, 0, sizeof(*a));
  a->o.speed = DEFAULT_SPEED;
  a->o.seed = DEFAULT_SEED;
  a->o.progress = -1;
  int rc = parse_opts(argc, argv, &a->o, false);
  if (rc)
    free(a->o.sets);
  return rc;
}

static int cmd_metrics(int argc, char **argv)
{
  struct app a;
  int rc = app_parse(&a, argc, argv);
  if (rc)
    return rc;
  if (optind < argc - 1)
    return usage_error("metrics takes at most one PATTERN");
  const char *pattern = optind < argc ? argv[optind] : NULL;
  if (pattern && !pattern_ok(pattern))
    return usage_error("invalid metrics PATTERN '%s': a name, prefix* or *suffix", pattern);
  if (a.o.scenario) {
    /* the values after running the scenario, in virtual time, printing nothing */
    a.o.fast = true;
    a.o.quiet = true;
    a.o.no_summary = true;
    a.o.progress = 0;
    a.o.v3.broker = NULL;
    rc = run(&a);
    if (rc == 0 || rc == EXIT_EXPECT)
      list_metrics(a.sim, pattern, a.o.json);
    free_app(&a);
    return rc == EXIT_EXPECT ? 0 : rc;
  }
  struct ev_loop *ev = ev_default_loop(EVFLAG_AUTO);
  struct sim_loop *loop = sim_loop_new(ev, SIM_CLOCK_FAST, 1.0,
                                       default_start(&a.o) * SIM_NS_PER_SEC);
  struct sim *sim = sim_new(loop, a.o.profile, a.o.seed);
  rc = 0;
  if (a.o.vehicle) {
    /* the vehicle's own metrics (xnl.*, ...) and config keys, as in a run */
    struct sim_diag d = SIM_DIAG_INIT;
    struct vehicle_opts vo = {a.o.vehicle_anybus ? VEHICLE_F_ANYBUS : 0, a.o.vehicle_map};
    if (vehicle_attach_opts(sim, a.o.vehicle, &vo, &d) < 0)
      rc = EXIT_USAGE;
    print_diag(&d);
    sim_diag_cleanup(&d);
  }
  if (!rc)
    rc = configure(sim, &a.o);
  if (!rc) {
    sim_tz_set(sim_config_get(sim->config, "vehicle", "timezone"));
    housekeeping_start(sim);
    list_metrics(sim, pattern, a.o.json);
  }
  sim_free(sim);
  sim_loop_free(loop);
  free(a.o.sets);
  return rc;
}

/* ovms-sim validate FILE...: every error of every file, "FILE: ok" for the valid ones. */
static int cmd_validate(int argc, char **argv)
{
  if (argc < 2)
    return usage_error("validate needs at least one FILE");
  int rc = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      usage(stdout);
      return 0;
    }
    struct sim_diag d = SIM_DIAG_INIT;
    struct scenario *sc = NULL;
    if (scenario_load(argv[i], &sc, &d) < 0)
      rc = EXIT_USAGE;
    else
      printf("%s: ok (%zu steps, %zu checks)\n", argv[i], sc->n_steps, sc->n_expects);
    print_diag(&d);
    sim_diag_cleanup(&d);
    scenario_free(sc);
  }
  return rc;
}

/* ---- subcommand: convert ---------------------------------------------------------------- */

static int cmd_convert(int argc, char **argv)
{
  static const struct option copts[] = {
    {"from", required_argument, NULL, 'F'},
    {"to", required_argument, NULL, 'T'},
    {"keep-going", no_argument, NULL, 'k'},
    {"list-formats", no_argument, NULL, 'l'},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
  };
  struct trace_convert_opts co = {0};
  bool quiet = false;
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":kqh", copts, NULL)) != -1) {
    switch (c) {
    case 'F':
      if (!trace_format_find(optarg))
        return usage_error("convert: unknown input format '%s'", optarg);
      co.from = optarg;
      break;
    case 'T': {
      const struct trace_format *f = trace_format_find(optarg);
      if (!f || !f->write)
        return usage_error("convert: unknown output format '%s'", optarg);
      co.to = optarg;
      break;
    }
    case 'k': co.keep_going = true; break;
    case 'q': quiet = true; break;
    case 'l':
      for (size_t i = 0; trace_formats[i]; i++)
        printf("%-15s %-18s %s\n", trace_formats[i]->name, trace_formats[i]->exts,
               trace_formats[i]->desc);
      return 0;
    case 'h': usage(stdout); return 0;
    case ':': return usage_error("convert: option '%s' needs a value", argv[optind - 1]);
    default: return usage_error("convert: unknown option '%s'", argv[optind - 1]);
    }
  }
  if (argc - optind != 2)
    return usage_error("convert needs an input and an output file");
  struct sim_diag d = SIM_DIAG_INIT;
  struct trace_convert_stats st;
  int rc = trace_convert(argv[optind], argv[optind + 1], &co, &st, &d);
  print_diag(&d);
  sim_diag_cleanup(&d);
  if (rc == SIM_EPARSE || rc == SIM_EFORMAT || rc == SIM_ETRUNC)
    return EXIT_USAGE;
  if (rc < 0)
    return 1;
  if (!quiet && strcmp(argv[optind + 1], "-"))
    fprintf(stderr, "ovms-sim: converted %lu records (%lu frames), %lu dropped, %lu bad lines\n",
            st.records, st.frames, st.dropped, st.bad_lines);
  return 0;
}

int main(int argc, char **argv)
{
  v3_register(); /* server.v3.* config keys and `server v3` commands in every module */
  if (argc > 1 && !strcmp(argv[1], "convert"))
    return cmd_convert(argc - 1, argv + 1);
  if (argc > 1 && !strcmp(argv[1], "metrics"))
    return cmd_metrics(argc - 1, argv + 1);
  if (argc > 1 && !strcmp(argv[1], "validate"))
    return cmd_validate(argc - 1, argv + 1);

  struct app a;
  int rc = app_parse(&a, argc, argv);
  if (rc)
    return rc;
  if (optind < argc)
    return usage_error("unexpected argument '%s'", argv[optind]);
  rc = run(&a);
  free_app(&a);
  return rc;
}
