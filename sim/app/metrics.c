/*
 * metrics.c - `ovms-sim metrics [--json] [PATTERN]`: every metric with type, unit and value,
 * in ASCII order; with --scenario the values after running it, with --trace the values after
 * replaying it (decoded by --vehicle), with --vehicle the vehicle's own metrics as well.  A
 * PATTERN that matches no metric is an error (exit 2, said on stderr): a typo must not look
 * like an empty listing.  Options that talk to the outside (--broker, --can, --serve,
 * --bridge, --record, --fleet, --apps) are refused: metrics prints, it connects nowhere.
 */
#include <ev.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "model/metrics.h"
#include "core/array.h"
#include "model/sim.h"
#include "model/units.h"
#include "vehicle/housekeeping.h"
#include "vehicle/vehicle.h"

static const char *type_name(const struct metric *m)
{
  static const char *const names[] = {"bool", "int", "int64", "float", "string",
                                      "vector<float>", "vector<int>", "bitset", "set<int>",
                                      "set<string>"};
  return m->type < ARRAY_SIZE(names) ? names[m->type] : "?";
}

/* Prints the metrics matching pattern (NULL: all).  Returns how many. */
static size_t list_metrics(struct sim *sim, const char *pattern, bool json)
{
  size_t count = 0;
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
    count++;
  }
  if (json)
    fputs(first ? "]\n" : "\n]\n", stdout);
  sbuf_free(&v);
  return count;
}

/* The options metrics does not take: the first one given, else NULL. */
static const char *refused_option(const struct opts *o)
{
  if (o->v3.broker)
    return "--broker";
  if (o->can.ncans)
    return "--can";
  if (o->record)
    return "--record";
  if (can_network_wanted(&o->net))
    return "--serve/--bridge";
  if (o->fleet.n)
    return "--fleet";
  if (o->apps)
    return "--apps";
  return NULL;
}

/* Lists; a PATTERN that matched nothing is said.  Returns 0 or EXIT_USAGE. */
static int list_or_say(struct sim *sim, const char *pattern, bool json)
{
  if (list_metrics(sim, pattern, json) || !pattern)
    return 0;
  fprintf(stderr, "ovms-sim: no metric matches '%s' (ovms-sim metrics lists them all%s)\n",
          pattern, sim->vehicle ? "" : "; a vehicle's own metrics need --vehicle");
  return EXIT_USAGE;
}

/* A metrics PATTERN as the firmware's filters take it: a name, "*", "prefix*" or "*suffix"
 * (one '*', at one end), as
 * vehicle/OVMS.V3/components/id_filter/src/id_filter.cpp matches metrics.include/exclude. */
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

int cmd_metrics(int argc, char **argv)
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
  const char *refused = refused_option(&a.o);
  if (refused)
    return usage_error("metrics does not take %s: it prints the metrics and connects nowhere",
                       refused);
  if (a.o.scenario || a.o.can.ntraces) {
    /* the values after running the scenario or replaying the traces, in virtual time,
     * printing nothing */
    a.o.fast = true;
    a.o.quiet = true;
    a.o.no_summary = true;
    a.o.progress = 0;
    rc = app_run(&a);
    if (rc == 0 || rc == EXIT_EXPECT)
      rc = list_or_say(a.sim, pattern, a.o.json);
    app_free(&a);
    return rc;
  }
  struct ev_loop *ev = ev_default_loop(EVFLAG_AUTO);
  struct sim_loop *loop = sim_loop_new(ev, SIM_CLOCK_FAST, 1.0,
                                       app_default_start_ns(&a.o));
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
    rc = app_configure(sim, &a.o);
  if (!rc) {
    sim_tz_set(sim_config_get(sim->config, "vehicle", "timezone"));
    housekeeping_start(sim);
    rc = list_or_say(sim, pattern, a.o.json);
  }
  sim_free(sim);
  sim_loop_free(loop);
  opts_cleanup(&a.o);
  return rc;
}

