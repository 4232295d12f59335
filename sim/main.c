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

#include "parse.h"
#include "diag.h"
#include "error.h"
#include "housekeeping.h"
#include "metrics.h"
#include "scenario.h"
#include "sim.h"
#include "xalloc.h"

#define EXIT_EXPECT 1
#define EXIT_USAGE 2

/* ---- option table ------------------------------------------------------------------------ */

enum {
  OPT_SEED = 256, OPT_VEHICLE_ID, OPT_SET, OPT_FIRMWARE, OPT_START_TIME, OPT_DURATION,
  OPT_REPORT, OPT_PROGRESS, OPT_NO_PROGRESS, OPT_JSON,
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
    "  -c, --config FILE        YAML config file of firmware config keys\n"
    "      --set KEY=VALUE      set a config key, firmware names, e.g.\n"
    "                           --set server.v3.updatetime.idle=600 (repeatable)\n"
    "  -p, --print              print publications to stdout (the default without a broker)\n"
    "      --firmware VERSION   behave as firmware %s (default current)\n"
    "      --start-time TIME    UTC start, 'YYYY-MM-DD HH:MM:SS' or epoch seconds (default:\n"
    "                           the scenario's start:, else now; --fast: %s)\n"
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
    "Subcommands:\n"
    "  validate FILE...         check scenario files and report every error; exit 0 if valid\n"
    "  metrics [PATTERN]        list metrics (name, type, unit, value) in ASCII order;\n"
    "                           PATTERN is a name, prefix* or *suffix; --json for JSON;\n"
    "                           with --scenario, values after running it\n"
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
  uint64_t seed;
  bool have_seed;
  const char *vehicle_id;
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
};

static int parse_opts(int argc, char **argv, struct opts *o, bool subcommand)
{
  int c;
  opterr = 0;
  while ((c = getopt_long(argc, argv, subcommand ? "+:s:fx:c:pqvhV" : ":s:fx:c:pqvhV", long_opts,
                          NULL)) != -1) {
    switch (c) {
    case 's': o->scenario = optarg; break;
    case 'f': o->fast = true; break;
    case 'x':
      if (parse_double(optarg, &o->speed) < 0 || !(o->speed > 0) || o->speed > 1e6)
        return usage_error("invalid --speed '%s': a number > 0 (e.g. 10, 0.5)", optarg);
      break;
    case OPT_SEED:
      if (parse_u64(optarg, &o->seed) < 0)
        return usage_error("invalid --seed '%s': a non-negative integer", optarg);
      o->have_seed = true;
      break;
    case OPT_VEHICLE_ID:
      if (!*optarg)
        return usage_error("--vehicle-id must not be empty");
      o->vehicle_id = optarg;
      break;
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
    case 'q': o->quiet = true; break;
    case 'v': o->verbose = true; break;
    case 'h': usage(stdout); exit(0);
    case 'V': printf("ovms-sim %s\n", OVMS_SIM_VERSION); exit(0);
    case ':':
      return usage_error("option '%s' needs an argument", argv[optind - 1]);
    default:
      if (optopt)
        return usage_error("unknown option '-%c'", optopt);
      return usage_error("unknown option '%s'", argv[optind - 1]);
    }
  }
  if (o->fast && o->speed != DEFAULT_SPEED)
    return usage_error("--fast and --speed exclude each other");
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
  struct scenario *sc;
  struct ev_loop *ev;
  struct sim_loop *loop;
  struct sim *sim;
  struct sim_timer stop_timer;
  struct sim_timer progress_timer;
  bool progress;
  int64_t progress_total; /* ns of simulation time expected, 0 = unknown */
  ev_signal sigint, sigterm;
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
  if (a->progress_total > 0)
    fprintf(stderr, "\r[%3d%%] simulated %lld s", (int)(100 * now / a->progress_total),
            (long long)(now / SIM_NS_PER_SEC));
  else
    fprintf(stderr, "\rsimulated %lld s", (long long)(now / SIM_NS_PER_SEC));
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

/* ---- scenarios (scenario.h) -------------------------------------------------------------- */

/* Loads a scenario, printing every error.  Returns 0 or EXIT_USAGE. */
static int load_scenario(const char *path, struct scenario **out)
{
  struct sim_diag d = SIM_DIAG_INIT;
  int rc = scenario_load(path, out, &d);
  print_diag(&d);
  sim_diag_cleanup(&d);
  return rc < 0 ? EXIT_USAGE : 0;
}

static void on_scenario_done(void *ctx, struct scenario_run *run)
{
  struct app *a = ctx;
  if (a->o.duration <= 0)
    sim_loop_stop(a->loop, 0);
}

/* Prints the expect: results (stderr) and writes the JSON report.  Returns the exit code. */
static int scenario_finish(struct app *a)
{
  struct scenario_run *run = a->sim ? a->sim->scenario : NULL;
  if (!run)
    return 0;
  struct sbuf b = SBUF_INIT;
  size_t failed = scenario_run_report(run, &b, 0);
  if (a->sc->n_expects || failed)
    fputs(sbuf_str(&b), stderr);
  if (a->o.report) {
    sbuf_reset(&b);
    scenario_run_report(run, &b, SCENARIO_REPORT_JSON);
    FILE *f = fopen(a->o.report, "w");
    if (!f || fputs(sbuf_str(&b), f) < 0 || fclose(f) != 0) {
      fprintf(stderr, "ovms-sim: cannot write the report to %s\n", a->o.report);
      sbuf_free(&b);
      return EXIT_USAGE;
    }
  }
  sbuf_free(&b);
  return failed ? EXIT_EXPECT : 0;
}

static int run(struct app *a)
{
  struct opts *o = &a->o;
  if (o->scenario) {
    int lrc = load_scenario(o->scenario, &a->sc);
    if (lrc)
      return lrc;
    if (!o->have_start && a->sc->start_utc_ns > 0) {
      o->start = a->sc->start_utc_ns / SIM_NS_PER_SEC;
      o->have_start = true;
    }
    if (!o->have_seed && a->sc->has_seed)
      o->seed = a->sc->seed;
  }
  a->ev = ev_default_loop(EVFLAG_AUTO);
  int64_t start = default_start(o);
  a->loop = sim_loop_new(a->ev, o->fast ? SIM_CLOCK_FAST : SIM_CLOCK_REAL, o->speed,
                         start * SIM_NS_PER_SEC);
  a->sim = sim_new(a->loop, o->profile, o->seed);
  int rc = configure(a->sim, o);
  if (rc)
    return rc;
  sim_tz_set(sim_config_get(a->sim->config, "vehicle", "timezone"));

  housekeeping_start(a->sim);
  if (a->sc) {
    struct scenario_run *srun;
    if (scenario_start(a->sim, a->sc, &srun) < 0) {
      fprintf(stderr, "ovms-sim: %s: the vehicle section is refused by the configuration\n",
              o->scenario);
      return EXIT_USAGE;
    }
    scenario_run_on_done(srun, on_scenario_done, a);
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

  rc = sim_loop_run(a->loop);
  if (a->progress)
    fputs("\n", stderr);
  if (rc < 0) {
    fprintf(stderr, "ovms-sim: %s\n", sim_strerror(rc));
    return 1;
  }
  return scenario_finish(a);
}

/* ovms-sim validate FILE...: every error of every file; 0 when all are valid, else 2. */
static int cmd_validate(int argc, char **argv)
{
  if (argc < 2)
    return usage_error("validate needs at least one FILE");
  int rc = 0;
  for (int i = 1; i < argc; i++) {
    struct scenario *sc = NULL;
    if (load_scenario(argv[i], &sc)) {
      rc = EXIT_USAGE;
      continue;
    }
    printf("%s: ok (%zu steps, %zu checks)\n", argv[i], sc->n_steps, sc->n_expects);
    scenario_free(sc);
  }
  return rc;
}

static int cmd_metrics(int argc, char **argv)
{
  struct app a;
  memset(&a, 0, sizeof(a));
  a.o.speed = DEFAULT_SPEED;
  a.o.seed = DEFAULT_SEED;
  a.o.progress = -1;
  int rc = parse_opts(argc, argv, &a.o, false);
  if (rc)
    return rc;
  if (optind < argc - 1)
    return usage_error("metrics takes at most one PATTERN");
  const char *pattern = optind < argc ? argv[optind] : NULL;
  struct ev_loop *ev = ev_default_loop(EVFLAG_AUTO);
  struct sim_loop *loop = sim_loop_new(ev, SIM_CLOCK_FAST, 1.0,
                                       default_start(&a.o) * SIM_NS_PER_SEC);
  struct sim *sim = sim_new(loop, a.o.profile, a.o.seed);
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

int main(int argc, char **argv)
{
  if (argc > 1 && !strcmp(argv[1], "metrics"))
    return cmd_metrics(argc - 1, argv + 1);
  if (argc > 1 && !strcmp(argv[1], "validate"))
    return cmd_validate(argc - 1, argv + 1);

  struct app a;
  memset(&a, 0, sizeof(a));
  a.o.speed = DEFAULT_SPEED;
  a.o.seed = DEFAULT_SEED;
  a.o.progress = -1;
  int rc = parse_opts(argc, argv, &a.o, false);
  if (rc)
    return rc;
  if (optind < argc)
    return usage_error("unexpected argument '%s'", argv[optind]);
  rc = run(&a);
  sim_free(a.sim);
  sim_loop_free(a.loop);
  scenario_free(a.sc);
  free(a.o.sets);
  return rc;
}
