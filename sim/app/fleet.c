/*
 * fleet.c - `ovms-sim --fleet N`: many modules in one process (fleet/fleet.h), run until
 * --duration or SIGINT/SIGTERM, with a progress line on a terminal, the fleet report on
 * stderr (--stats) and as JSON (--report FILE).
 *
 * Every car gets the program's configuration (--config, --set) through a callback; the
 * credentials are the --broker user with --password-file, or one line of --fleet-users per
 * car.  Exit codes: 0, 2 for bad input, 3 when no car could connect or the report could not
 * be written.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "app/app.h"
#include "core/error.h"
#include "core/sbuf.h"
#include "core/xalloc.h"
#include "fleet/apps.h"
#include "fleet/fleet.h"


static int configure_car(void *ctx, struct sim *sim)
{
  struct app *a = ctx;
  return app_configure(sim, &a->o) ? SIM_ECONFIG : 0;
}

static void on_fleet_stop(struct sim_loop *loop, struct sim_timer *t)
{
  (void)t;
  sim_loop_stop(loop, 0);
}

static void on_fleet_progress(struct sim_loop *loop, struct sim_timer *t)
{
  struct app *a = t->data;
  (void)loop;
  struct sbuf b = SBUF_INIT;
  if (a->fleet)
    fleet_progress(a->fleet, &b);
  if (a->apps) {
    struct fleet_apps_stats st;
    fleet_apps_get_stats(a->apps, &st);
    sbuf_printf(&b, "%sapps: %zu/%zu connected, %llu responses", a->fleet ? "; " : "",
                st.connected, st.apps, (unsigned long long)st.responses);
  }
  fprintf(stderr, "\r%s ", sbuf_str(&b));
  sbuf_free(&b);
}

/* What app j watches: car j mod N of the fleet with its user, or the one --vehicle-id. */
struct app_targets {
  struct app *a;
  const struct fleet_users *users;
  const char *user, *password;
};

static void app_target(void *ctx, size_t j, struct fleet_app_target *out)
{
  struct app_targets *t = ctx;
  out->user = t->user;
  out->password = t->password;
  out->vehicle_id = t->a->o.vehicle_id ? t->a->o.vehicle_id : "DEMO";
  if (t->a->fleet && fleet_size(t->a->fleet)) {
    size_t i = j % fleet_size(t->a->fleet);
    out->vehicle_id = fleet_car_id(t->a->fleet, i);
    if (t->users) {
      const struct fleet_user *u = fleet_car_user(t->a->fleet, i);
      out->user = u->user;
      out->password = u->password;
    }
  }
}

static int start_apps(struct app *a, const struct fleet_users *users, const char *password)
{
  struct v3_url u;
  struct sim_diag d = SIM_DIAG_INIT;
  int prc = v3_url_parse(a->o.v3.broker, &u, &d);
  print_diag(&d);
  sim_diag_cleanup(&d);
  if (prc < 0 || u.tls) {
    if (prc == 0)
      fprintf(stderr, "ovms-sim: --apps: mqtts is not supported for apps\n");
    return EXIT_USAGE;
  }
  struct app_targets t = {a, users, u.user, password};
  struct fleet_apps_options ao = {a->o.apps, u.host, u.port ? u.port : 1883, a->o.app_command,
                                  app_target, &t};
  int rc = fleet_apps_new(a->loop, &ao, &a->apps, &d);
  if (rc < 0)
    print_failure(print_messages, &d, rc);
  sim_diag_cleanup(&d);
  return rc < 0 ? EXIT_RUNTIME : 0;
}

static void report(struct app *a, struct sbuf *b, bool json)
{
  if (json && a->fleet && a->apps) {
    sbuf_adds(b, "{\"fleet\":");
    fleet_report(a->fleet, b, true);
    sbuf_adds(b, ",\"apps\":");
    fleet_apps_report(a->apps, b, true);
    sbuf_adds(b, "}");
    return;
  }
  if (a->fleet)
    fleet_report(a->fleet, b, json);
  if (a->apps)
    fleet_apps_report(a->apps, b, json);
}

static int write_report(struct app *a)
{
  struct sbuf b = SBUF_INIT;
  int rc = 0;
  if (a->o.stats) {
    report(a, &b, false);
    fputs(sbuf_str(&b), stderr);
  }
  if (a->o.report) {
    sbuf_reset(&b);
    report(a, &b, true);
    rc = app_write_report(a->o.report, sbuf_str(&b), rc, EXIT_RUNTIME);
  }
  sbuf_free(&b);
  return rc;
}

/* long: the fleet run's phases (users, set-up, connect, run, report) read in order here, each
 * a few lines of option handling that a split would only pass along. */
int app_run_fleet(struct app *a)
{
  struct opts *o = &a->o;
  struct fleet_users users = {0};
  struct sim_diag d = SIM_DIAG_INIT;
  if (o->fleet_users && fleet_users_load(o->fleet_users, &users, &d) < 0) {
    print_diag(&d);
    sim_diag_cleanup(&d);
    return EXIT_USAGE;
  }
  sim_diag_cleanup(&d);
  char *password = NULL;
  int rc = o->fleet_users ? 0 : app_read_password(o, &password);
  if (rc)
    return rc;
  struct fleet_options fo = o->fleet;
  fo.users = o->fleet_users ? &users : NULL;
  fo.state_dir = o->state_dir;
  fo.seed = o->seed;
  fo.vary = true;
  fo.scenario = a->sc;
  fo.profile = o->profile;
  fo.v3 = o->v3;
  fo.v3.password = password;
  if (fo.connect_rate <= 0)
    fo.connect_rate = FLEET_DEFAULT_CONNECT_RATE;
  bool print = !o->v3.broker || !strcmp(o->v3.broker, "print");
  if (o->quiet && print)
    fo.v3.out = a->devnull = fopen("/dev/null", "w");
  if (o->print && !print && !o->quiet)
    fo.v3.tee = stdout;
  fo.configure = configure_car;
  fo.configure_ctx = a;
  if (o->fleet.n) {
    rc = fleet_new(a->loop, &fo, &a->fleet, &d);
    if (rc == 0)
      rc = fleet_start(a->fleet);
  } else {
    v3_mqtt_single_fd(true);
  }
  int arc = rc == 0 && o->apps ? start_apps(a, fo.users, password) : 0;
  xfree_secret(password);
  if (rc < 0) {
    print_failure(print_messages, &d, rc);
    sim_diag_cleanup(&d);
    fleet_users_cleanup(&users);
    return EXIT_USAGE;
  }
  sim_diag_cleanup(&d);
  if (arc) {
    fleet_users_cleanup(&users);
    return arc;
  }
  if (o->duration > 0) {
    sim_timer_init(&a->stop_timer, on_fleet_stop, a);
    sim_timer_start(a->loop, &a->stop_timer, o->duration, 0);
  }
  a->progress = o->progress == 1 || (o->progress == -1 && isatty(2));
  if (a->progress) {
    sim_timer_init(&a->progress_timer, on_fleet_progress, a);
    sim_timer_start(a->loop, &a->progress_timer, SIM_NS_PER_SEC, SIM_NS_PER_SEC);
  }
  app_signals(a);
  rc = sim_loop_run(a->loop);
  if (a->progress)
    fputs("\n", stderr);
  struct fleet_stats st = {0};
  if (a->fleet)
    fleet_get_stats(a->fleet, &st);
  int code = rc < 0 ? EXIT_RUNTIME : 0;
  if (a->fleet && !print && st.ever_connected == 0) {
    fprintf(stderr, "ovms-sim: no car could connect to the broker\n");
    code = EXIT_RUNTIME;
  }
  int wrc = write_report(a);
  fleet_users_cleanup(&users);
  return code ? code : wrc;
}
