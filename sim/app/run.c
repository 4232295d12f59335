/*
 * run.c - the run: a scenario, trace replays or live buses through the module until the
 * sources end, then the expect: results.  Also the set-up shared with `metrics --scenario`.
 *
 * Everything is parsed and validated first (defaults < config file < --set, then one
 * validation pass); only then are files, sockets and buses opened.  Exit codes: app.h
 * (EXIT_*), README "Exit codes".
 */
#include <errno.h>
#include <ev.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app/app.h"
#include "can/backend_trace.h"
#include "can/bus.h"
#include "can/inputs.h"
#include "core/error.h"
#include "core/parse.h"
#include "core/xalloc.h"
#include "model/events.h"
#include "model/sim.h"
#include "notify/journal.h"
#include "notify/queue.h"
#include "record/record.h"
#include "scenario/scenario.h"
#include "trace/trace.h"
#include "v3/v3.h"
#include "vehicle/housekeeping.h"
#include "vehicle/vehicle.h"

/* Reads the MQTT password: the first line of --password-file, else OVMS_SIM_PASSWORD (which
 * is then removed from the environment).  Returns 0, or the exit code after an error. */
int app_write_report(const char *path, const char *text, int rc, int fail)
{
  FILE *f = fopen(path, "w");
  if (!f || fputs(text, f) < 0 || fputc('\n', f) < 0) {
    fprintf(stderr, "ovms-sim: cannot write %s: %s\n", path, strerror(errno));
    rc = fail;
  }
  if (f && fclose(f) != 0 && rc == 0) {
    fprintf(stderr, "ovms-sim: cannot write %s: %s\n", path, strerror(errno));
    rc = fail;
  }
  return rc;
}

int app_read_password(struct opts *o, char **pw)
{
  *pw = NULL;
  if (o->password_file) {
    /* no stdio buffer: every copy of the file's bytes is wiped before it is freed */
    struct sbuf b = SBUF_INIT;
    int rc = sbuf_read_file_secret(&b, o->password_file);
    if (rc < 0 || b.len == 0) {
      sbuf_free_secret(&b);
      fprintf(stderr, "ovms-sim: %s: %s\n", o->password_file,
              rc < 0 ? strerror(-rc) : "empty password file");
      return EXIT_USAGE;
    }
    const char *nl = memchr(b.p, '\n', b.len);
    size_t n = nl ? (size_t)(nl - b.p) : b.len; /* the first line, without its end */
    while (n > 0 && b.p[n - 1] == '\r')
      n--;
    *pw = xstrndup(b.p, n);
    sbuf_free_secret(&b);
  } else {
    char *e = getenv("OVMS_SIM_PASSWORD");
    if (e) {
      *pw = xstrdup(e);
      /* blank it where it lives, so that /proc/<pid>/environ (ps e) no longer shows it */
      explicit_bzero(e, strlen(e));
      unsetenv("OVMS_SIM_PASSWORD");
    }
  }
  return 0;
}

int app_configure(struct sim *sim, const struct opts *o)
{
  struct sim_diag d = SIM_DIAG_INIT;
  int rc = 0;
  if (o->config_file && sim_config_load_yaml(sim->config, o->config_file, &d) < 0)
    rc = EXIT_USAGE;
  for (size_t i = 0; i < o->nsets; i++) {
    const char *eq = strchr(o->sets[i], '=');
    char *key = xstrndup(o->sets[i], (size_t)(eq - o->sets[i]));
    struct sim_diag e = SIM_DIAG_INIT;
    if (sim_config_set_key(sim->config, key, eq + 1, &e) < 0) {
      sim_diag_error(&d, "--set", 0, 0, "%s", sim_diag_last(&e));
      rc = EXIT_USAGE;
    }
    sim_diag_cleanup(&e);
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

static void start_drain(struct app *a, bool queue_only);

static void on_stop_timer(struct sim_loop *loop, struct sim_timer *t)
{
  (void)loop;
  start_drain(t->data, true);
}

static void on_signal(struct ev_loop *ev, ev_signal *w, int revents)
{
  struct app *a = w->data;
  a->interrupted = true;
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
 * makes a module do, and delivers its notification queue: wait for the connection if it is
 * down (at most DRAIN_CONNECT_WAIT at a time), request the update, and stop two ticks later
 * once the broker has acknowledged every queued notification, or when --drain-timeout has
 * passed.  finish_run() reports what is still queued.  Without Server V3 the run ends at once.
 * When --duration ended the run, only the queue is waited for (no update).
 */
#define DRAIN_CONNECT_WAIT 60

static void on_drain(struct sim_loop *loop, struct sim_timer *t)
{
  struct app *a = t->data;
  struct v3 *v3 = a->sim->v3;
  a->drain_ticks++;
  bool up = v3 && v3_connected(v3);
  if (up)
    a->drain_connected = a->drain_ticks;
  if (!v3 || (!up && a->drain_ticks - a->drain_connected > DRAIN_CONNECT_WAIT)) {
    sim_loop_stop(loop, 0);
    return;
  }
  if (up && !a->drain_requested) {
    if (!a->drain_queue_only)
      v3_request_update(v3, "modified");
    a->drain_requested = a->drain_ticks;
    return;
  }
  bool updated = a->drain_requested && a->drain_ticks - a->drain_requested >= 2;
  if ((updated && v3_notify_backlog(v3, -1) == 0) ||
      (int64_t)a->drain_ticks * SIM_NS_PER_SEC >= a->o.drain_timeout + 2 * SIM_NS_PER_SEC)
    sim_loop_stop(loop, 0);
}

/* Starts the end of the run (on_drain()). */
static void start_drain(struct app *a, bool queue_only)
{
  if (sim_timer_active(&a->drain_timer))
    return;
  if (!a->sim->v3 || (queue_only && v3_notify_backlog(a->sim->v3, -1) == 0)) {
    sim_loop_stop(a->loop, 0);
    return;
  }
  a->drain_queue_only = queue_only;
  sim_timer_start(a->loop, &a->drain_timer, SIM_NS_PER_SEC, SIM_NS_PER_SEC);
}

static void finish_sources(struct app *a)
{
  if (a->o.duration)
    return; /* --duration decides when the run ends */
  start_drain(a, false);
}

static void on_scenario_done(void *ctx, struct scenario_run *run)
{
  finish_sources(ctx);
}

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

/*
 * The scenario's start: without --start-time: with --fast (deterministic output) as given; in
 * real time now (app_default_start()), because servers that check the module's clock reject an
 * m.time.utc years old, unless start_realtime: asks for start:'s UTC time of day (its latest
 * occurrence up to now: today's or yesterday's) or for start: itself.
 */
static void scenario_clock(struct opts *o, const struct scenario *sc)
{
  int64_t t = sc->start_utc_ns / SIM_NS_PER_SEC;
  if (!o->fast && sc->realtime_start == SCENARIO_RT_NOW)
    return;
  if (!o->fast && sc->realtime_start == SCENARIO_RT_TIME_OF_DAY) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t day = 86400, tod = ((t % day) + day) % day;
    t = ts.tv_sec - (((ts.tv_sec - tod) % day) + day) % day;
  }
  o->start = t;
  o->start_frac = sc->start_utc_ns % SIM_NS_PER_SEC;
  o->have_start = true;
}

/* Loads --scenario before anything else is set up; errors printed.  Returns 0 or exit code. */
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
  if (!a->o.have_start && a->sc->start_utc_ns)
    scenario_clock(&a->o, a->sc);
  return 0;
}

/* Prints the expect: results text to stderr; quiet (-q): only the checks that did not pass
 * and the summary line. */
static void print_results(const char *text, bool quiet)
{
  for (const char *p = text, *nl; *p; p = *nl ? nl + 1 : nl) {
    nl = strchr(p, '\n');
    if (!nl)
      nl = p + strlen(p);
    const char *pass = strstr(p, ": PASS ");
    if (!quiet || !pass || pass > nl)
      fprintf(stderr, "%.*s\n", (int)(nl - p), p);
  }
}

/* Prints the expect: results (stderr) and writes --report.  Returns the exit code. */
static int report_scenario(struct app *a)
{
  struct sbuf b = SBUF_INIT;
  size_t failed = scenario_run_report(a->run, &b, 0);
  if ((a->sc->n_expects || failed) && !a->o.no_summary)
    print_results(sbuf_str(&b), a->o.quiet);
  int rc = failed ? EXIT_EXPECT : 0;
  /* --duration ended the run before the timeline and every check judged passed: the rest
   * were not reached, which is neither a pass nor a failure (exit 4) */
  size_t unreached = a->sc->n_expects - scenario_run_checked_count(a->run);
  bool cut = a->o.duration && !scenario_run_done(a->run) && !a->interrupted;
  if (cut && !a->o.no_summary) {
    long long s = (long long)(a->o.duration / SIM_NS_PER_SEC);
    fprintf(stderr, "ovms-sim: --duration %lld:%02lld:%02lld ended the run at step %zu of %zu, "
                    "before the end of the timeline: %zu check%s not reached\n",
            s / 3600, s / 60 % 60, s % 60, scenario_run_step(a->run) + 1, a->sc->n_steps,
            unreached, unreached == 1 ? "" : "s");
  }
  if (cut && unreached && failed == unreached)
    rc = EXIT_PARTIAL;
  if (a->o.report || a->o.plot) {
    sbuf_reset(&b);
    scenario_run_report(a->run, &b, SCENARIO_REPORT_JSON);
  }
  if (a->o.plot && app_plot_report(sbuf_str(&b), b.len, a->o.metrics, a->o.nmetrics,
                                   a->o.plot) != 0 && rc == 0)
    rc = EXIT_RUNTIME;
  if (a->o.report)
    rc = app_write_report(a->o.report, sbuf_str(&b), rc, EXIT_EXPECT);
  sbuf_free(&b);
  return rc;
}

/* A live bus reports an error: one that stopped the bus (adapter unplugged, refused its
 * configuration, interface down) ends the run with EXIT_RUNTIME; a client that reconnects
 * by itself is only told with --verbose. */
static void on_bus_error(void *ctx, struct sim_canbus *bus, int err, const char *what,
                         const struct sim_frame *f)
{
  struct app *a = ctx;
  (void)f;
  if (bus->started) {
    if (a->o.verbose)
      fprintf(stderr, "ovms-sim: bus %u (%s): %s\n", bus->num, bus->spec, what);
    return;
  }
  fprintf(stderr, "ovms-sim: bus %u (%s): %s (%s): ending the run\n", bus->num, bus->spec,
          what, sim_strerror(err));
  if (!a->bus_lost)
    a->bus_lost = err ? err : -EIO;
  sim_loop_stop(a->loop, 0);
}

/* Closes the recorder (before the buses it watches) and the inputs.  Returns the recorder's
 * first write error, else 0. */
static int close_inputs(struct app *a)
{
  for (int b = 0; a->sim && b < SIM_MAX_BUSES; b++)
    if (a->sim->buses[b]) /* what the buses report while closing is not a failure */
      can_bus_remove_error_monitor(a->sim->buses[b], on_bus_error, a);
  app_bench_stop(a);
  can_network_free(a->net);
  a->net = NULL;
  int rc = trace_recorder_close(a->rec);
  a->rec = NULL;
  can_inputs_free(a->inputs);
  a->inputs = NULL;
  return rc;
}

int64_t app_default_start(const struct opts *o)
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

int64_t app_default_start_ns(const struct opts *o)
{
  return app_default_start(o) * SIM_NS_PER_SEC + (o->have_start ? o->start_frac : 0);
}

/*
 * A replayed recording sets the simulation's start to the time of its first frame when that
 * time is absolute (a CRTD or candump log, not a relative ASC), to the nanosecond, so
 * m.time.utc and dated metrics read as they did in the car and --record writes the trace's
 * own times.  Problems with the file are left to the replay.
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
    o->start_frac = f.ts % SIM_NS_PER_SEC; /* --record keeps the trace's microseconds */
    o->have_start = true;
  }
  trace_reader_close(r);
}

/* With --app-only only app and park steps make sense, and expect: checks of app steps: the
 * car they would act on or look at is not the one the apps talk to.  Returns 0 or EXIT_USAGE
 * (the errors printed). */
static int check_app_only(const struct scenario *sc)
{
  struct sim_diag d = SIM_DIAG_INIT;
  for (size_t i = 0; i < sc->n_steps; i++) {
    const struct scenario_step *st = &sc->steps[i];
    if (st->kind != STEP_APP && st->kind != STEP_PARK)
      sim_diag_error(&d, sc->path, st->line, st->col, "--app-only runs app: and park: steps, "
                     "not %s (there is no simulated car)", scenario_step_kind_name(st->kind));
  }
  for (size_t i = 0; i < sc->n_expects; i++)
    if (sc->expects[i].metric)
      sim_diag_error(&d, sc->path, sc->expects[i].line, sc->expects[i].col,
                     "--app-only has no simulated car: expect: %s would check nothing (an app "
                     "step's own expect: checks the module)", sc->expects[i].metric);
  if (!scenario_has_apps(sc))
    sim_diag_error(&d, sc->path, 1, 1, "--app-only: the scenario has no app: step");
  int rc = d.n ? EXIT_USAGE : 0;
  print_diag(&d);
  sim_diag_cleanup(&d);
  return rc;
}

/* A scenario with app: steps: the apps need a broker and talk to one module.  Returns 0 or
 * the exit code. */
static int check_apps(struct app *a)
{
  const struct opts *o = &a->o;
  if (o->app_only && check_app_only(a->sc))
    return EXIT_USAGE;
  if (!scenario_has_apps(a->sc))
    return 0;
  if (!o->v3.broker || !strcmp(o->v3.broker, "print"))
    return usage_error("%s: app: steps need a --broker (the apps connect to it)", o->scenario);
  if (o->fleet.n || o->apps)
    return usage_error("%s: app: steps talk to one module: not with --fleet or --apps",
                       o->scenario);
  if (o->v3.topics != SIM_TOPICS_CURRENT)
    return usage_error("%s: app: steps use the current topic names (not --topics draft-2018)",
                       o->scenario);
  return 0;
}

/* The checks that need the scenario loaded, before anything is opened.  Returns 0 or the
 * exit code. */
static int check_run(struct app *a)
{
  struct opts *o = &a->o;
  int rc;
  if (o->scenario && ((rc = load_scenario(a)) != 0 || (rc = check_apps(a)) != 0))
    return rc;
  start_from_trace(o);
  if (o->fast && !o->scenario && !o->duration && !o->can.ntraces)
    return usage_error("--fast needs an end: a --scenario, a --trace or a --duration");
  if (o->report && !o->scenario && !o->fleet.n)
    return usage_error("--report needs a --scenario or a --fleet");
  if ((o->plot || o->nmetrics) && (!o->scenario || o->fleet.n))
    return usage_error("--plot and --metric need a --scenario (and no --fleet)");
  if (o->fast && o->fleet.n && !o->duration)
    return usage_error("--fast --fleet needs a --duration");
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
  return 0;
}

/* The module: loop, context, vehicle, configuration.  Returns 0 or the exit code. */
static int setup_module(struct app *a)
{
  struct opts *o = &a->o;
  int rc;
  a->ev = ev_default_loop(EVFLAG_AUTO);
  a->loop = sim_loop_new(a->ev, o->fast ? SIM_CLOCK_FAST : SIM_CLOCK_REAL, o->speed,
                         app_default_start_ns(o));
  if (o->fleet.n || o->apps)
    return 0; /* app_run_fleet() makes the cars and the apps */
  a->sim = sim_new(a->loop, o->profile, o->seed);
  if (o->vehicle) {
    /* before app_configure(): the vehicle declares its config keys (xnl.*, xtr.*, xmi.*) */
    struct sim_diag d = SIM_DIAG_INIT;
    struct vehicle_opts vo = {o->vehicle_anybus ? VEHICLE_F_ANYBUS : 0, o->vehicle_map};
    rc = vehicle_attach_opts(a->sim, o->vehicle, &vo, &d);
    print_diag(&d);
    sim_diag_cleanup(&d);
    if (rc < 0)
      return EXIT_USAGE;
  }
  rc = app_configure(a->sim, o);
  if (rc || (rc = app_bench_check(a)) != 0)
    return rc;
  sim_tz_set(sim_config_get(a->sim->config, "vehicle", "timezone"));
  return 0;
}

/*
 * A --fast run cannot wait for a broker whose host name does not exist: each reconnection
 * would block in the resolver again (0.5 s or more of wall time for seconds of simulated
 * time).  The name is resolved once before the run; a definitive "no such name"
 * (EAI_NONAME) ends it at once.  A temporary failure (EAI_AGAIN) is left to the
 * reconnections.  Real-time runs keep retrying as the firmware does.  Returns 0 or
 * EXIT_RUNTIME (printed).
 */
static int check_broker_name(const struct opts *o)
{
  struct v3_url u;
  if (!o->fast || !o->v3.broker || !strncmp(o->v3.broker, "print", 5) ||
      v3_url_parse(o->v3.broker, &u, NULL) < 0)
    return 0;
  struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
  int e = getaddrinfo(u.host, NULL, &hints, &res);
  if (res)
    freeaddrinfo(res);
  if (e != EAI_NONAME)
    return 0;
  fprintf(stderr, "ovms-sim: could not connect to the broker: host name %s not resolved (%s)\n",
          u.host, gai_strerror(e));
  return EXIT_RUNTIME;
}

/* The app clients of the scenario's app: steps, on --broker with its user and password.
 * Returns 0 or the exit code. */
static int setup_app_steps(struct app *a, const char *password)
{
  struct v3_url u;
  struct sim_diag d = SIM_DIAG_INIT;
  int rc = v3_url_parse(a->o.v3.broker, &u, &d);
  diag_label(&d, 0, "--broker");
  print_diag(&d);
  sim_diag_cleanup(&d);
  if (rc < 0)
    return EXIT_USAGE;
  struct app_steps_options ao = {
    u.host, u.port ? u.port : (u.tls ? 8883 : 1883), u.tls, a->o.v3.cafile, a->o.v3.capath,
    a->o.v3.certfile, a->o.v3.keyfile, u.user, password, a->sim};
  rc = app_steps_new(a->loop, &ao, &a->app_steps, &d);
  if (rc < 0)
    print_failure(print_messages, &d, rc);
  sim_diag_cleanup(&d);
  return rc < 0 ? EXIT_RUNTIME : 0;
}


static void on_net_log(void *ctx, const char *msg);

/* Notifications, housekeeping and Server V3 (with the password, wiped after use).  Returns 0
 * or the exit code. */
static int setup_server(struct app *a)
{
  struct opts *o = &a->o;
  int rc;
  char *password = NULL;
  if ((rc = app_read_password(o, &password)) != 0)
    return rc;
  if ((rc = check_broker_name(o)) != 0) { /* after the bad-input checks of the options */
    xfree_secret(password);
    return rc;
  }
  struct sim_diag d = SIM_DIAG_INIT;
  struct notify_journal_damage damage = {.quarantine = SBUF_INIT};
  struct sim_notify_opts no = {o->state_repair, &damage};
  rc = sim_notify_open_opts(a->sim, o->state_dir, &no, &d);
  if (damage.inside && damage.entry < d.n) {
    /* the journal only says it is damaged; the option that repairs it is ours to name */
    struct sim_diag_entry *e = &d.v[damage.entry];
    struct sbuf m = SBUF_INIT;
    sbuf_printf(&m, "%s  Start with --state-repair to keep the %zu valid records and move the "
                "damaged bytes to %s", e->msg, damage.records, sbuf_str(&damage.quarantine));
    free(e->msg);
    e->msg = xstrdup(sbuf_str(&m));
    sbuf_free(&m);
  }
  sbuf_free(&damage.quarantine);
  print_diag(&d);
  sim_diag_cleanup(&d);
  if (rc < 0) {
    xfree_secret(password);
    /* another simulator on the directory, or no space: runtime; a bad journal: input */
    return rc == -EBUSY || rc == -ENOSPC || rc == -EIO ? EXIT_RUNTIME : EXIT_USAGE;
  }
  housekeeping_start(a->sim);
  if (a->sc && scenario_has_apps(a->sc) && (rc = setup_app_steps(a, password)) != 0) {
    xfree_secret(password);
    return rc;
  }
  if (o->app_only) { /* no module of our own on the broker */
    xfree_secret(password);
    return 0;
  }
  o->v3.password = password;
  if (o->quiet && !o->v3.broker)
    o->v3.out = a->devnull = fopen("/dev/null", "w");
  if (o->print && o->v3.broker && !o->quiet)
    o->v3.tee = stdout;
  o->v3.on_warning = on_net_log;
  rc = v3_start(a->sim, &o->v3, &d);
  xfree_secret(password);
  o->v3.password = NULL;
  if (rc < 0) {
    print_failure(print_diag, &d, rc);
    sim_diag_cleanup(&d);
    return EXIT_USAGE;
  }
  sim_diag_cleanup(&d);
  return 0;
}

static void on_net_log(void *ctx, const char *msg)
{
  (void)ctx;
  fprintf(stderr, "ovms-sim: %s\n", msg);
}

/* Starts --serve and --bridge on the buses that exist (creating in-memory ones) and announces
 * where each server listens on stderr.  Returns 0 or the error (printed). */
static int open_network(struct app *a)
{
  struct sim_diag d = SIM_DIAG_INIT;
  int rc = can_network_open(&a->net, a->sim, &a->o.net, on_net_log, a, &d);
  diag_label(&d, 0, "--serve");
  size_t from = d.n;
  if (rc == 0)
    rc = can_network_start_bridges(a->net, &d);
  diag_label(&d, from, "--bridge");
  print_diag(&d);
  sim_diag_cleanup(&d);
  struct sbuf b = SBUF_INIT;
  can_network_describe(a->net, &b);
  for (const char *p = sbuf_str(&b), *nl; *p; p = nl + 1) {
    nl = strchr(p, '\n');
    fprintf(stderr, "ovms-sim: %.*s\n", (int)(nl - p), p);
  }
  sbuf_free(&b);
  return rc;
}

/* CAN inputs and the recorder; then the vehicle on the buses.  Returns 0 or the exit code. */
static int setup_buses(struct app *a)
{
  struct opts *o = &a->o;
  int rc;
  if (o->can.ntraces || o->can.ncans || o->record) {
    struct sim_diag d = SIM_DIAG_INIT;
    rc = can_inputs_open(&a->inputs, a->sim, &o->can, &d);
    diag_label(&d, 0, "--can");
    /* a bad --can value is bad input; an adapter that is missing, not a tty or refuses, or a
     * kernel without SocketCAN, is a runtime failure; then a bad trace or record file is bad
     * input again */
    int code = rc == SIM_ECONFIG || rc == SIM_EPARSE ? EXIT_USAGE : EXIT_RUNTIME;
    if (rc == 0) {
      code = EXIT_USAGE;
      if (o->record)
        rc = trace_recorder_open(&a->rec, a->sim, o->record, NULL, &d);
      if (rc == 0)
        rc = can_inputs_start(a->inputs, &o->can, on_traces_done, a, &d);
    }
    print_diag(&d);
    sim_diag_cleanup(&d);
    if (rc < 0)
      return code;
    for (int b = 0; b < SIM_MAX_BUSES; b++)
      if (a->sim->buses[b] && a->sim->buses[b]->ops != &can_backend_trace)
        can_bus_add_error_monitor(a->sim->buses[b], on_bus_error, a);
  }
  if (can_network_wanted(&o->net) && open_network(a) < 0)
    return EXIT_USAGE;
  /* the buses exist now (--can, and trace buses for --trace): decode what arrives, or,
   * emulating the car, send its frames */
  if (a->sim->vehicle && o->vehicle_emulate)
    vehicle_encoder_start_buses(a->sim->vehicle);
  else if (a->sim->vehicle)
    vehicle_listen_buses(a->sim->vehicle);
  return app_bench_start(a);
}

/* The scenario, the stop and progress timers and the signals.  Returns 0 or the exit code. */
static int setup_run(struct app *a)
{
  struct opts *o = &a->o;
  int rc;
  if (a->sc) {
    rc = scenario_start(a->sim, a->sc, &a->run);
    if (rc < 0) {
      fprintf(stderr, "%s: error: %s\n", o->scenario, sim_strerror(rc));
      return EXIT_USAGE;
    }
    sim_tz_set(sim_config_get(a->sim->config, "vehicle", "timezone"));
    for (size_t i = 0; i < o->nmetrics; i++) {
      rc = scenario_run_track(a->run, o->metrics[i]);
      if (rc < 0)
        return usage_error("--metric %s: %s", o->metrics[i],
                           rc == SIM_ENOTFOUND ? "unknown metric (see ovms-sim metrics)"
                           : rc == SIM_ETYPE   ? "not a number or a bool: nothing to plot"
                                               : sim_strerror(rc));
    }
    scenario_run_on_done(a->run, on_scenario_done, a);
    if (a->app_steps)
      scenario_run_set_apps(a->run, &app_steps_ops, a->app_steps);
    app_bench_scenario(a);
  }
  if (o->duration > 0) {
    sim_timer_init(&a->stop_timer, on_stop_timer, a);
    sim_timer_start(a->loop, &a->stop_timer, o->duration, 0);
    a->progress_total = o->duration;
  }
  /* by default on a terminal: with --fast, and in real time when the publications go
   * elsewhere (the line would be torn by them on the same terminal) */
  a->progress = o->progress == 1 || (o->progress == -1 && isatty(2) && (o->fast || !isatty(1)));
  if (a->progress) {
    sim_timer_init(&a->progress_timer, on_progress, a);
    sim_timer_start(a->loop, &a->progress_timer, SIM_NS_PER_SEC, SIM_NS_PER_SEC);
  }
  app_signals(a);
  bool idle = !o->scenario && !o->can.ntraces && !o->can.ncans && !can_network_wanted(&o->net) &&
              !o->duration && !o->quiet;
  const char *wait = sim_config_get(a->sim->config, "server.v3", "conn.stable_wait");
  if (idle && o->v3.broker)
    fprintf(stderr, "ovms-sim: no --scenario, --trace or --can: a parked car idles and the "
                    "module publishes until Ctrl-C; it connects after server.v3 "
                    "conn.stable_wait (%s s), as the firmware does after boot "
                    "(ovms-sim --help for what else it can do)\n",
            wait ? wait : "10");
  else if (idle) /* no broker: the print transport prints the first full sync at once */
    fprintf(stderr, "ovms-sim: no --scenario, --trace or --can: a parked car idles and the "
                    "module prints what it publishes until Ctrl-C "
                    "(ovms-sim --help for what else it can do)\n");
  if (!o->fast) /* real time: every publication is seen when it happens, also in a pipe */
    setvbuf(stdout, NULL, _IOLBF, 0);
  return 0;
}

void app_signals(struct app *a)
{
  ev_signal_init(&a->sigint, on_signal, SIGINT);
  ev_signal_init(&a->sigterm, on_signal, SIGTERM);
  a->sigint.data = a->sigterm.data = a;
  ev_signal_start(a->ev, &a->sigint);
  ev_signal_start(a->ev, &a->sigterm);
  ev_unref(a->ev);
  ev_unref(a->ev);
}

/*
 * A replay that reached no bus, or a vehicle that decoded none of the frames it was given,
 * did nothing: a green run would prove nothing.  Returns EXIT_USAGE with the reason printed,
 * else 0.  tot: the replays' counters.
 */
static int did_nothing(struct app *a, const struct trace_replay_stats *tot)
{
  if (!a->o.can.ntraces)
    return 0;
  if (tot->frames == 0 && tot->unrouted > 0) {
    fprintf(stderr, "ovms-sim: no frame of the trace reached a bus (%lu unrouted): give the "
                    "trace a bus with N=FILE or --bus-map\n", tot->unrouted);
    return EXIT_USAGE;
  }
  const struct vehicle *v = a->sim->vehicle;
  if (v && !a->o.vehicle_emulate && tot->frames > 0 && v->stats.decoded == 0) {
    fprintf(stderr, "ovms-sim: the %s decoder read none of the %lu frames replayed (wrong "
                    "vehicle, or the frames on another bus: --bus-map, --vehicle-anybus)\n",
            v->type->name, tot->frames);
    return EXIT_USAGE;
  }
  return 0;
}

/*
 * What Server V3 did not deliver: the notifications still queued (kept in --state-dir for the
 * next run, else lost) and those moved aside as undeliverable, and the app commands not run
 * because V3_RESPONSES_MAX responses were unacknowledged.  With --stats, the counters.
 * Returns EXIT_RUNTIME when a notification was lost or moved aside, else 0.
 */
static int report_notifications(struct app *a)
{
  struct v3 *v3 = a->sim->v3;
  if (!v3)
    return 0;
  const struct v3_stats *st = v3_get_stats(v3);
  size_t left = v3_notify_backlog(v3, -1);
  struct sbuf types = SBUF_INIT;
  for (int t = NOTIFY_INFO; t <= NOTIFY_DATA; t++) {
    size_t n = v3_notify_backlog(v3, t);
    if (n)
      sbuf_printf(&types, "%s%zu %s", types.len ? ", " : "", n,
                  sim_notify_type_name((enum sim_notify_type)t));
  }
  if (a->o.stats)
    fprintf(stderr, "notifications: %" PRIu64 " delivered, %zu still queued, %" PRIu64
                    " moved aside\n", st->delivered, left, st->quarantined);
  int code = 0;
  if (left && a->o.state_dir) {
    fprintf(stderr, "ovms-sim: %zu notifications (%s) were not delivered yet; %s keeps them "
                    "for the next run\n", left, sbuf_str(&types), a->o.state_dir);
  } else if (left) {
    fprintf(stderr, "ovms-sim: %zu notifications (%s) were not delivered and are lost (no "
                    "--state-dir keeps them; a longer --drain-timeout waits longer)\n",
            left, sbuf_str(&types));
    code = EXIT_RUNTIME;
  }
  if (st->commands_dropped)
    fprintf(stderr, "ovms-sim: %" PRIu64 " app commands were not run: %d responses were "
                    "waiting for the broker's acknowledgement\n", st->commands_dropped,
            V3_RESPONSES_MAX);
  if (st->quarantined) {
    fprintf(stderr, "ovms-sim: %" PRIu64 " notifications could never be delivered and were "
                    "moved aside%s%s%s\n", st->quarantined, a->o.state_dir ? " to " : "",
            a->o.state_dir ? a->o.state_dir : "", a->o.state_dir ? "/notify.dead" : "");
    code = EXIT_RUNTIME;
  }
  sbuf_free(&types);
  return code;
}

/* After the loop: the replays' errors and statistics, the recorder, the journal, the
 * expect: results.  rc is the loop's result.  Returns the exit code. */
static int finish_run(struct app *a, int rc)
{
  struct opts *o = &a->o;
  int code = 0; /* a runtime failure found on the way (EXIT_RUNTIME), else 0 */
  if (o->v3.broker && a->sim->v3 && v3_get_stats(a->sim->v3)->connects == 0) {
    fprintf(stderr, "ovms-sim: could not connect to the broker: %s\n",
            *v3_last_error(a->sim->v3) ? v3_last_error(a->sim->v3) : "connection failed");
    code = EXIT_RUNTIME; /* nothing was published: expect: results cannot pass this run */
  }
  if (a->app_steps && o->app_only && !app_steps_ever_connected(a->app_steps) &&
      *app_steps_last_error(a->app_steps)) {
    fprintf(stderr, "ovms-sim: could not connect to the broker: %s\n",
            app_steps_last_error(a->app_steps));
    code = EXIT_RUNTIME;
  }
  if (a->progress)
    fputs("\n", stderr);
  if (a->interrupted) {
    char when[32] = "?";
    int64_t t = sim_monotonic(a->loop) / SIM_NS_PER_SEC;
    time_t now = (time_t)sim_now_sec(a->loop);
    struct tm tm;
    if (gmtime_r(&now, &tm))
      strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
    fprintf(stderr, "ovms-sim: interrupted at %s UTC (simulated %lld:%02lld:%02lld)\n", when,
            (long long)(t / 3600), (long long)(t / 60 % 60), (long long)(t % 60));
  }
  if (o->stats) {
    struct sbuf b = SBUF_INIT;
    can_network_report(a->net, a->sim, &b);
    app_bench_report(a, &b);
    fputs(sbuf_str(&b), stderr);
    sbuf_free(&b);
  }
  if (a->inputs) {
    struct sbuf b = SBUF_INIT;
    struct trace_replay_stats tot;
    can_inputs_totals(a->inputs, &tot);
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
      return EXIT_RUNTIME;
    }
    if (a->trace_status < 0)
      return a->trace_status == SIM_EPARSE || a->trace_status == SIM_ETRUNC ? EXIT_USAGE
                                                                               : EXIT_RUNTIME;
    int nothing = a->interrupted ? 0 : did_nothing(a, &tot);
    if (nothing)
      return nothing;
  }
  if (rc < 0) {
    fprintf(stderr, "ovms-sim: %s\n", sim_strerror(rc));
    return EXIT_RUNTIME;
  }
  if (a->bus_lost)
    code = EXIT_RUNTIME; /* printed when it happened */
  int jerr = sim_notify_journal_error(a->sim);
  if (jerr < 0) {
    fprintf(stderr, "ovms-sim: %s: the notification journal could not be written (%s): "
                    "notifications raised since then would not survive a restart\n",
            o->state_dir, sim_strerror(jerr));
    code = EXIT_RUNTIME;
  }
  if (a->o.v3.broker) {
    int nrc = report_notifications(a);
    code = code ? code : nrc;
  }
  int erc = a->run ? report_scenario(a) : 0;
  if (a->interrupted)
    return EXIT_INTERRUPTED;
  return code ? code : erc;
}

int app_run(struct app *a)
{
  int rc;
  sim_timer_init(&a->drain_timer, on_drain, a);
  if ((rc = check_run(a)) || (rc = setup_module(a)))
    return rc;
  if (a->o.fleet.n || a->o.apps)
    return app_run_fleet(a);
  if ((rc = setup_server(a)) ||
      (rc = setup_buses(a)) || (rc = setup_run(a)))
    return rc;
  if (a->o.verbose)
    sim_events_listen(a->sim->events, "server.v3.*", on_v3_state, a);
  return finish_run(a, sim_loop_run(a->loop));
}

void app_free(struct app *a)
{
  fflush(stdout);
  close_inputs(a);
  fleet_apps_free(a->apps);
  fleet_free(a->fleet);
  app_steps_free(a->app_steps);
  sim_free(a->sim);
  scenario_free(a->sc);
  if (a->devnull)
    fclose(a->devnull);
  sim_loop_free(a->loop);
  opts_cleanup(&a->o);
}

int app_parse(struct app *a, int argc, char **argv)
{
  memset(a, 0, sizeof(*a));
  a->o.speed = DEFAULT_SPEED;
  a->o.drain_timeout = DEFAULT_DRAIN_TIMEOUT;
  a->o.seed = DEFAULT_SEED;
  a->o.progress = -1;
  if (!strcmp(argv[0], "run") || !strcmp(argv[0], "metrics"))
    a->o.command = argv[0]; /* the subcommand (main.c): its own --help */
  int rc = parse_opts(argc, argv, &a->o, false);
  if (rc)
    opts_cleanup(&a->o);
  return rc;
}


int cmd_run(int argc, char **argv)
{
  struct app a;
  int rc = app_parse(&a, argc, argv);
  if (rc)
    return rc;
  if (optind < argc)
    return usage_error("unexpected argument '%s'", argv[optind]);
  rc = app_run(&a);
  app_free(&a);
  return rc;
}
