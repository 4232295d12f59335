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
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/app.h"
#include "core/error.h"
#include "core/sbuf.h"
#include "fleet/fleet.h"

#define EXIT_RUNTIME 3

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
  fleet_progress(a->fleet, &b);
  fprintf(stderr, "\r%s ", sbuf_str(&b));
  sbuf_free(&b);
}

static int write_report(struct app *a)
{
  struct sbuf b = SBUF_INIT;
  int rc = 0;
  if (a->o.stats) {
    fleet_report(a->fleet, &b, false);
    fputs(sbuf_str(&b), stderr);
  }
  if (a->o.report) {
    sbuf_reset(&b);
    fleet_report(a->fleet, &b, true);
    FILE *f = fopen(a->o.report, "w");
    if (!f || fputs(sbuf_str(&b), f) < 0 || fputc('\n', f) < 0) {
      fprintf(stderr, "ovms-sim: cannot write %s: %s\n", a->o.report, strerror(errno));
      rc = EXIT_RUNTIME;
    }
    if (f && fclose(f) != 0 && rc == 0) {
      fprintf(stderr, "ovms-sim: cannot write %s: %s\n", a->o.report, strerror(errno));
      rc = EXIT_RUNTIME;
    }
  }
  sbuf_free(&b);
  return rc;
}

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
  if (o->quiet && !o->v3.broker)
    fo.v3.out = a->devnull = fopen("/dev/null", "w");
  if (o->print && o->v3.broker && !o->quiet)
    fo.v3.tee = stdout;
  fo.configure = configure_car;
  fo.configure_ctx = a;
  struct sbuf err = SBUF_INIT;
  rc = fleet_new(a->loop, &fo, &a->fleet, &err);
  if (rc == 0)
    rc = fleet_start(a->fleet);
  if (password) {
    memset(password, 0, strlen(password));
    free(password);
  }
  if (rc < 0) {
    fprintf(stderr, "ovms-sim: %s\n", err.len ? sbuf_str(&err) : sim_strerror(rc));
    sbuf_free(&err);
    fleet_users_cleanup(&users);
    return EXIT_USAGE;
  }
  sbuf_free(&err);
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
  struct fleet_stats st;
  fleet_get_stats(a->fleet, &st);
  int code = rc < 0 ? EXIT_RUNTIME : 0;
  if (o->v3.broker && st.ever_connected == 0) {
    fprintf(stderr, "ovms-sim: no car could connect to the broker\n");
    code = EXIT_RUNTIME;
  }
  int wrc = write_report(a);
  fleet_users_cleanup(&users);
  return code ? code : wrc;
}
