/*
 * shell.c - the command shell (shell.h): a tree of commands dispatched as
 * OvmsCommand::Execute() does (V3/main/ovms_command.cpp at openvehicles/
 * Open-Vehicle-Monitoring-System-3 0045105): children in ASCII order, any unique prefix
 * accepted, "Unrecognised command" (+ "Usage: ..." below the root), "Subcommand required" +
 * usage, the usage line when the argument count is outside [min, max] or the last argument
 * is "?", and "?" listing the children as "%-20.20s %s".
 *
 * Output texts are the firmware's: vehicle commands from
 * V3/components/vehicle/vehicle_shell.cpp (06aa2d3), `stat` from OvmsVehicle::CommandStat()
 * (V3/components/vehicle/vehicle.cpp; vehicle/stat.c), `server v3 ...` registered by
 * sim/v3/component.c (shell_register()),
 * `event raise` from V3/main/ovms_events.cpp (01d56d4), `notify raise` from
 * V3/main/ovms_notify.cpp, `metrics list|get|set` from V3/main/ovms_metrics.cpp,
 * `config list|set|rm` from V3/main/ovms_config.cpp (00ef79e).  Commands act on the simulation via
 * sim->control (the scenario or vehicle emulation), metrics, config, events and notifications.
 */
#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "core/error.h"
#include "model/events.h"
#include "model/metrics.h"
#include "notify/notify.h"
#include "shell/shell.h"
#include "model/sim.h"
#include "model/units.h"
#include "vehicle/stat.h"
#include "vehicle/vehicle.h"
#include "core/xalloc.h"


static void puts_line(struct sbuf *out, const char *s)
{
  sbuf_adds(out, s);
  sbuf_addc(out, '\n');
}

/* ---- vehicle commands ------------------------------------------------------------------------ */

static bool have_vehicle(struct sim *sim, struct sbuf *out)
{
  return vehicle_selected(sim, out);
}

/* Runs a control slot: 0 ok, SIM_EUNSUP not available, other < 0 fail. */
#define CONTROL(sim, slot, ...)                                                           \
  ((sim)->control && (sim)->control->slot ? (sim)->control->slot((sim)->control_ctx,      \
                                                                  ##__VA_ARGS__)          \
                                          : SIM_EUNSUP)

static void vresult(struct sbuf *out, int rc, const char *ok, const char *fail,
                    const char *unavailable)
{
  puts_line(out, rc == 0 ? ok : rc == SIM_EUNSUP ? unavailable : fail);
}

/* vresult() for a slot run with the number n: ok and fail have a "%d" that n replaces. */
static void vresult_n(struct sbuf *out, int rc, int n, const char *ok, const char *fail,
                      const char *unavailable)
{
  if (rc == SIM_EUNSUP) {
    puts_line(out, unavailable);
    return;
  }
  const char *t = rc == 0 ? ok : fail;
  const char *d = strstr(t, "%d");
  sbuf_printf(out, "%.*s%d%s\n", (int)(d - t), t, n, d + 2);
}

/* The commands that run one control slot and answer one of three texts: done, failed, or the
 * slot not available (vehicle_charge_start() ... vehicle_wakeup() of vehicle_shell.cpp). */
enum control_slot { CHARGE_START, CHARGE_STOP, LOCK, UNLOCK, VALET, UNVALET, WAKEUP };

static const struct control_cmd {
  const char *name; /* of the command (c_control()'s shell_cmd) */
  enum control_slot slot;
  const char *ok, *fail, *unavailable;
} control_cmds[] = {
  {"start", CHARGE_START, "Charge has been started", "Error: Could not start charge", "Error: Charge start functionality not available"},
  {"stop", CHARGE_STOP, "Charge has been stopped", "Error: Could not stop charge", "Error: Charge stop functionality not available"},
  {"lock", LOCK, "Vehicle locked", "Error: vehicle could not be locked", "Error: Vehicle lock functionality not available"},
  {"unlock", UNLOCK, "Vehicle unlocked", "Error: vehicle could not be unlocked", "Error: Vehicle unlock functionality not available"},
  {"valet", VALET, "Vehicle valet mode activated", "Error: vehicle could not activate valet mode", "Error: Vehicle valet functionality not available"},
  {"unvalet", UNVALET, "Vehicle valet mode deactivated", "Error: vehicle could not deactivate valet mode", "Error: Vehicle valet functionality not available"},
  {"wakeup", WAKEUP, "Vehicle has been woken", "Error: vehicle could not be woken", "Error: Vehicle wake functionality not available"},
};

/* Runs slot (pin: the PIN argument of lock, unlock, valet and unvalet). */
static int run_control(struct sim *sim, enum control_slot slot, const char *pin)
{
  switch (slot) {
  case CHARGE_START:
    return CONTROL(sim, charge_start);
  case CHARGE_STOP:
    return CONTROL(sim, charge_stop);
  case WAKEUP:
    return CONTROL(sim, wakeup);
  case LOCK:
    return CONTROL(sim, lock, pin);
  case UNLOCK:
    return CONTROL(sim, unlock, pin);
  case VALET:
    return CONTROL(sim, valet, pin, 1);
  case UNVALET:
    return CONTROL(sim, valet, pin, 0);
  }
  return SIM_EUNSUP;
}

static void c_control(struct sim *sim, struct sbuf *out, const struct shell_cmd *c, int argc,
                      char **argv)
{
  for (size_t i = 0; i < ARRAY_SIZE(control_cmds); i++) {
    const struct control_cmd *k = &control_cmds[i];
    if (!strcmp(k->name, c->name)) {
      if (have_vehicle(sim, out))
        vresult(out, run_control(sim, k->slot, argc > 0 ? argv[0] : NULL), k->ok, k->fail,
                k->unavailable);
      return;
    }
  }
}

static void c_charge_mode(struct sim *sim, struct sbuf *out, const struct shell_cmd *c, int argc,
                          char **argv)
{
  if (!have_vehicle(sim, out))
    return;
  int rc = CONTROL(sim, charge_mode, c->name);
  if (rc == 0)
    sbuf_printf(out, "Charge mode '%s' set\n", c->name);
  else
    puts_line(out, rc == SIM_EUNSUP ? "Error: Charge mode functionality not available"
                                    : "Error: Could not set charge mode");
}

static int atoi_like(const char *s)
{
  /* atoi() semantics (leading number, 0 if none) without atoi */
  char *end;
  long v = strtol(s, &end, 10);
  if (v > 65535 || v < -65535)
    v = 0;
  return (int)v;
}

static void c_charge_current(struct sim *sim, struct sbuf *out, const struct shell_cmd *c, int argc,
                             char **argv)
{
  int limit = atoi_like(argv[0]);
  if (have_vehicle(sim, out))
    vresult_n(out, CONTROL(sim, charge_current, limit), limit, "Charge current limit set to %dA",
              "Error: Could not set charge current limit to %dA",
              "Error: Charge current limit functionality not available");
}

static void climate(struct sim *sim, struct sbuf *out, int on)
{
  if (!have_vehicle(sim, out))
    return;
  int rc = CONTROL(sim, climate, on);
  if (rc == 0) {
    puts_line(out, "Climate Control ");
    puts_line(out, on ? "on" : "off");
  } else {
    puts_line(out, rc == SIM_EUNSUP ? "Error: Climate Control functionality not available"
                                    : "Error: Climate Control failed");
  }
}

static void c_climate_on(struct sim *sim, struct sbuf *out, const struct shell_cmd *c, int argc,
                         char **argv)
{
  climate(sim, out, 1);
}

static void c_climate_off(struct sim *sim, struct sbuf *out, const struct shell_cmd *c, int argc,
                          char **argv)
{
  climate(sim, out, 0);
}

static void c_homelink(struct sim *sim, struct sbuf *out, const struct shell_cmd *c, int argc,
                       char **argv)
{
  int b = atoi_like(argv[0]);
  if (b < 1 || b > 3) {
    puts_line(out, "Error: Homelink button should be in range 1..3");
    return;
  }
  if (argc > 1 && atoi_like(argv[1]) < 100) {
    puts_line(out, "Error: Minimum homelink timer duration 100ms");
    return;
  }
  if (have_vehicle(sim, out))
    vresult_n(out, CONTROL(sim, homelink, b), b, "Homelink #%d activated",
              "Error: Could not activate homelink #%d", "Error: Homelink functionality not available");
}

/* ---- stat (OvmsVehicle::CommandStat, the vehicle framework: vehicle/stat.c) ------------------ */

static void c_stat(struct sim *sim, struct sbuf *out, const struct shell_cmd *c, int argc,
                   char **argv)
{
  vehicle_stat_text(sim, out);
}

/* location_status() of V3/components/ovms_location (the simulator defines no locations and
 * keeps no park position). */
static void c_location_status(struct sim *sim, struct sbuf *out, const struct shell_cmd *c,
                              int argc, char **argv)
{
  struct metric *lock = metrics_find(sim->metrics, "v.p.gpslock");
  int sats = (int)vehicle_metric_float(sim, "v.p.satcount");
  sbuf_printf(out, "Currently at %0.6f,%0.6f ", vehicle_metric_float(sim, "v.p.latitude"),
              vehicle_metric_float(sim, "v.p.longitude"));
  sbuf_printf(out, "(%sGPS lock", lock && metric_bool(lock) ? "" : "without ");
  if (sats > 0)
    sbuf_printf(out, ", %d satellite%s", sats, sats == 1 ? "" : "s");
  sbuf_adds(out, ")\n");
  sbuf_adds(out, "There are 0 locations defined\nNo active locations\n");
}

/* vehicle_status() / OvmsVehicle::Status() (V3/components/vehicle): the loaded module; a
 * scenario without a vehicle decoder shows as the simulator's generic vehicle. */
static void c_vehicle_status(struct sim *sim, struct sbuf *out, const struct shell_cmd *c, int argc,
                             char **argv)
{
  if (sim->vehicle && sim->vehicle->type) {
    sbuf_printf(out, "Vehicle module '%s' (code %s) loaded and running\n",
                sim->vehicle->type->title, sim->vehicle->type->code);
  } else if (sim->control) {
    const char *type = vehicle_metric_str(sim, "v.type");
    sbuf_printf(out, "Vehicle module '%s' (code %s) loaded and running\n", "ovms-sim scenario",
                *type ? type : "DEMO");
  } else {
    puts_line(out, "No vehicle module selected");
  }
}

/* ---------------------------------------------------------------------------------------------- */

/* -m / -i: the metric or imperial equivalent of a unit (firmware unit_info MetricUnit /
 * ImperialUnit); units without one stay as they are. */
static enum sim_unit equivalent(enum sim_unit u, bool imperial)
{
  static const enum sim_unit pairs[][2] = {
    {SIM_UNIT_KM, SIM_UNIT_MILES},          {SIM_UNIT_METERS, SIM_UNIT_FEET},
    {SIM_UNIT_CELSIUS, SIM_UNIT_FAHRENHEIT}, {SIM_UNIT_CELSIUSDIFF, SIM_UNIT_FAHRENHEITDIFF},
    {SIM_UNIT_KPA, SIM_UNIT_PSI},            {SIM_UNIT_PA, SIM_UNIT_PSI},
    {SIM_UNIT_BAR, SIM_UNIT_PSI},            {SIM_UNIT_KPH, SIM_UNIT_MPH},
    {SIM_UNIT_MPS, SIM_UNIT_FTPS},           {SIM_UNIT_KPHPS, SIM_UNIT_MPHPS},
    {SIM_UNIT_MPSS, SIM_UNIT_FTPSS},         {SIM_UNIT_WHPKM, SIM_UNIT_WHPMI},
    {SIM_UNIT_KMPKWH, SIM_UNIT_MIPKWH},
  };
  for (size_t i = 0; i < ARRAY_SIZE(pairs); i++) {
    if (pairs[i][0] == u && imperial)
      return pairs[i][1];
    if (pairs[i][1] == u && !imperial)
      return pairs[i][0];
  }
  return u;
}

/* metrics_list() of V3/main/ovms_metrics.cpp: [-cimnpst] [<metric>] (substring). */
static void c_metrics_list(struct sim *sim, struct sbuf *out, const struct shell_cmd *c, int argc,
                           char **argv)
{
  bool show_set = false, only_persist = false, stale = false;
  char mode = 'u'; /* user, i(mperial), m(etric), n(ative) */
  const char *show_only = NULL;
  for (int i = 0; i < argc; i++) {
    const char *cp = argv[i];
    if (*cp != '-') {
      if (show_only) {
        sbuf_printf(out, "Usage: metrics list %s\n", c->usage);
        return;
      }
      show_only = cp;
      continue;
    }
    for (++cp; *cp; cp++) {
      switch (*cp) {
      case 'c': show_set = true; break;
      case 'i': case 'm': case 'n': mode = *cp; break;
      case 'p': only_persist = true; break;
      case 's': stale = true; break;
      case 't': break;
      default:
        sbuf_printf(out, "Usage: metrics list %s\n", c->usage);
        return;
      }
    }
  }
  size_t n = metrics_count(sim->metrics);
  bool found = false;
  int64_t now = sim_monotonic(sim->loop);
  struct sbuf v = SBUF_INIT;
  for (size_t i = 0; i < n; i++) {
    struct metric *m = metrics_at(sim->metrics, i);
    if (m->flags & METRIC_F_HIDDEN)
      continue;
    if (only_persist && !(m->flags & METRIC_F_PERSIST))
      continue;
    if (show_only && !strstr(m->name, show_only))
      continue;
    found = true;
    sbuf_reset(&v);
    if (show_set) {
      if (metric_is_defined(m)) {
        metric_format(m, NULL, &v);
        sbuf_printf(out, "metrics set %s %s\n", m->name, sbuf_str(&v));
      }
      continue;
    }
    enum sim_unit to = m->unit;
    if (m->unit == SIM_UNIT_TIMEUTC)
      to = SIM_UNIT_TIMELOCAL;
    else if (mode == 'u')
      to = vehicle_user_unit(sim, m->unit);
    else if (mode == 'i' || mode == 'm')
      to = equivalent(m->unit, mode == 'i');
    metric_format_unit(m, to, &v);
    if (stale) {
      if (!v.len) {
        sbuf_adds(out, "[---] ");
      } else {
        int64_t age = (now - m->lastmodified) / SIM_NS_PER_SEC;
        sbuf_printf(out, "[%02d%c] ", (int)(age > 99 ? 99 : age < 0 ? 0 : age),
                    metric_is_stale(m) ? 'S' : '-');
      }
    }
    if (!v.len)
      sbuf_printf(out, "%s\n", m->name);
    else
      sbuf_printf(out, "%-40.40s %s\n", m->name, sbuf_str(&v));
  }
  sbuf_free(&v);
  if (show_only && !found)
    puts_line(out, "Unrecognised metric name");
}

/* metrics_get(): the value in the user unit (or the unit given) with its label. */
static void c_metrics_get(struct sim *sim, struct sbuf *out, const struct shell_cmd *c, int argc,
                          char **argv)
{
  struct metric *m = metrics_find(sim->metrics, argv[0]);
  struct sbuf v = SBUF_INIT;
  if (m) {
    enum sim_unit to = vehicle_user_unit(sim, m->unit);
    if (argc > 1 && sim_unit_parse(argv[1], &to) < 0)
      to = m->unit;
    metric_format_unit(m, to, &v);
  }
  puts_line(out, sbuf_str(&v));
  sbuf_free(&v);
}

/* metrics_set(): <metric> <value> [<unit>]. */
static void c_metrics_set(struct sim *sim, struct sbuf *out, const struct shell_cmd *c, int argc,
                          char **argv)
{
  struct metric *m = metrics_find(sim->metrics, argv[0]);
  enum sim_unit from = SIM_UNIT_NATIVE;
  if (argc > 2 && sim_unit_parse(argv[2], &from) < 0)
    m = NULL;
  if (m && metric_set_from_string(m, argv[1], from) >= 0)
    puts_line(out, "Metric set");
  else
    puts_line(out, "Metric could not be set");
}

/* ---------------------------------------------------------------------------------------------- */

/* config list/set/rm as V3/main/ovms_config.cpp (00ef79e): the parameter list as
 * "%-20s <title>", one parameter as "<param> (readable|protected writeable)" and its
 * instances "  <instance>: <value>" (the password store is protected: names only). */
struct param_list {
  const char **v;
  size_t n, cap;
};

static void collect_param(void *ctx, const struct sim_config_decl *d)
{
  struct param_list *l = ctx;
  for (size_t i = 0; i < l->n; i++)
    if (!strcmp(l->v[i], d->param))
      return;
  if (l->n == l->cap) {
    l->cap = l->cap ? 2 * l->cap : 16;
    l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
  }
  l->v[l->n++] = d->param;
}

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static const char *param_title(const char *p)
{
  static const char *const t[][2] = {{"module", "Module configuration"},
                                     {"notify", "Notification filters"},
                                     {"password", "Password store"},
                                     {"server.v3", "Server V3 (MQTT) configuration"},
                                     {"vehicle", "Vehicle configuration"}};
  for (size_t i = 0; i < ARRAY_SIZE(t); i++)
    if (!strcmp(t[i][0], p))
      return t[i][1];
  return "";
}

struct list_ctx {
  struct sbuf *out;
  const char *param;
  bool readable;
};

static void list_one(void *ctx, const char *param, const char *instance, const char *value,
                     const struct sim_config_decl *d)
{
  struct list_ctx *l = ctx;
  if (strcmp(l->param, param))
    return;
  if (l->readable && !(d && (d->flags & CFG_F_SECRET)))
    sbuf_printf(l->out, "  %s: %s\n", instance, value);
  else
    sbuf_printf(l->out, "  %s\n", instance);
}

static bool param_known(struct sim *sim, const char *param)
{
  struct param_list pl = {0};
  sim_config_foreach_decl(sim->config, collect_param, &pl);
  bool found = false;
  for (size_t i = 0; i < pl.n; i++)
    if (!strcmp(pl.v[i], param))
      found = true;
  free(pl.v);
  return found;
}

static void c_config_list(struct sim *sim, struct sbuf *out, const struct shell_cmd *c, int argc,
                          char **argv)
{
  if (argc == 0) {
    struct param_list pl = {0};
    sim_config_foreach_decl(sim->config, collect_param, &pl);
    qsort(pl.v, pl.n, sizeof(*pl.v), cmp_str);
    for (size_t i = 0; i < pl.n; i++)
      sbuf_printf(out, "%-20s %s\n", pl.v[i], param_title(pl.v[i]));
    free(pl.v);
    return;
  }
  if (!param_known(sim, argv[0])) {
    sbuf_printf(out, "%s not found\n", argv[0]);
    return;
  }
  bool readable = sim_config_param_readable(argv[0]);
  sbuf_printf(out, "%s (%s writeable)\n", argv[0], readable ? "readable" : "protected");
  struct list_ctx l = {out, argv[0], readable};
  sim_config_foreach(sim->config, list_one, &l);
}

static void c_config_rm(struct sim *sim, struct sbuf *out, const struct shell_cmd *c, int argc,
                        char **argv)
{
  if (!param_known(sim, argv[0])) {
    puts_line(out, "Error: parameter not found");
    return;
  }
  int rc = sim_config_unset(sim->config, argv[0], argv[1]);
  if (rc == 0)
    sbuf_printf(out, "Instance %s has been removed.\n", argv[1]);
  else if (rc == SIM_ESTATE) /* locked (sim_config_lock): config_rm()'s not-writeable error */
    puts_line(out, "Error: parameter is not writeable");
}

#define CONFIG_ZIP_USAGE(verb, prep, notes)                                                \
  "<zipfile> [password=module password]\n" verb " system configuration & scripts " prep     \
  " password protected ZIP file.\n" notes

static void c_config_unmounted(struct sim *sim, struct sbuf *out, const struct shell_cmd *c,
                               int argc, char **argv)
{
  puts_line(out, "Error: config store not mounted"); /* the simulator has no /store */
}

static void c_config_set(struct sim *sim, struct sbuf *out, const struct shell_cmd *c, int argc,
                         char **argv)
{
  if (!param_known(sim, argv[0])) {
    puts_line(out, "Error: parameter not found");
    return;
  }
  struct sim_diag e = SIM_DIAG_INIT;
  /* the firmware stores anything; the simulator checks declared types and ranges */
  if (sim_config_set(sim->config, argv[0], argv[1], argv[2], &e) < 0)
    sbuf_printf(out, "Error: %s\n", sim_diag_last(&e));
  else
    puts_line(out, "Parameter has been set.");
  sim_diag_cleanup(&e);
}

/* ---------------------------------------------------------------------------------------------- */

static void c_event_raise(struct sim *sim, struct sbuf *out, const struct shell_cmd *c, int argc,
                          char **argv)
{
  sbuf_printf(out, "Raising event: %s\n", argv[0]);
  sim_events_raise(sim->events, argv[0], NULL);
}

/* notify_raise() of V3/main/ovms_notify.cpp: "Raise <kind> notification for
 * <type>/<subtype> as <arg>", then text (and data, a simulator shorthand for text with type
 * data), command (the notification text is the command's output) or errorcode. */
static void c_notify_raise(struct sim *sim, struct sbuf *out, const struct shell_cmd *c, int argc,
                           char **argv)
{
  struct sbuf why = SBUF_INIT;
  if (strcmp(c->name, "errorcode") &&
      sim_notify_check(argv[1], strcmp(c->name, "command") ? argv[2] : NULL, &why) < 0) {
    /* refused before anything is queued: one bad raise must not block the queue */
    sbuf_printf(out, "Error: notification not raised: %s\n", sbuf_str(&why));
    sbuf_free(&why);
    return;
  }
  sbuf_free(&why);
  sbuf_printf(out, "Raise %s notification for %s/%s as %s\n", c->name, argv[0], argv[1],
              argv[2]);
  if (!strcmp(c->name, "errorcode")) {
    char *end;
    unsigned long code = strtoul(argv[0], &end, 10), data = strtoul(argv[1], NULL, 10);
    if (*end == '\0' && !strcmp(argv[2], "yes"))
      sim_notify_error_code(sim, (uint32_t)code, (uint32_t)data);
    return;
  }
  enum sim_notify_type t;
  if (!strcmp(c->name, "data"))
    t = NOTIFY_DATA;
  else if (sim_notify_type_parse(argv[0], &t) < 0)
    return; /* the firmware ignores unknown types */
  const char *subtype = argv[1];
  if (!strcmp(c->name, "command")) {
    struct sbuf o = SBUF_INIT;
    shell_execute(sim, argv[2], strlen(argv[2]), &o);
    int64_t rc = sim_notify_raise(sim, t, subtype, sbuf_str(&o));
    if (rc == SIM_EPARSE || rc == SIM_ELIMIT) /* the command's output */
      sbuf_printf(out, "Error: notification not raised: %s\n",
                  rc == SIM_ELIMIT ? "the output is too long" : "the output is not valid UTF-8");
    sbuf_free(&o);
  } else {
    sim_notify_raise(sim, t, subtype, argv[2]);
  }
}

static void c_help(struct sim *sim, struct sbuf *out, const struct shell_cmd *c, int argc,
                   char **argv)
{
  puts_line(out, "This isn't really much help, is it?");
}

/* ---------------------------------------------------------------------------------------------- */

static const char config_backup_usage[] = CONFIG_ZIP_USAGE("Backup", "into",
    "Note: user files or directories in /store will not be included.\n"
    "<password> defaults to the current module password, set to \"\" to disable encryption.\n"
    "Hint: use 7z to unzip/create backup ZIPs on a PC.");

static const char config_restore_usage[] = CONFIG_ZIP_USAGE("Restore", "from",
    "Note: user files or directories in /store will not be touched.\n"
    "The module will perform a reboot after successful restore.\n"
    "<password> defaults to the current module password.\n"
    "Note: You need to supply the password used for the backup creation.\n"
    "The default password is not available after flash is erased.");

/* The built-in commands, one row each: the path of the parent command ("" = the root) and the
 * command, registered in this order (a parent before its children) the first time the shell
 * is used, as the firmware's components register theirs at boot.  `server` gets its `v3`
 * from sim/v3/component.c; `config` has no usage template, and no `config get`
 * (config_validate() children of V3/main/ovms_config.cpp); config backup and restore
 * (CONFIG_OVMS_SC_ZIP, set in the shipped sdkconfig.default.hw31) answer as
 * config_backup()/config_restore() do without a mounted config store. */
static const struct builtin {
  const char *parent;
  struct shell_cmd cmd;
} builtins[] = {
  {"", {"charge", "Charging framework", NULL, "<$C>", 0, 0, NULL}},
  {"", {"climatecontrol", "(De)Activate Climate Control", NULL, "<$C>", 0, 0, NULL}},
  {"", {"config", "CONFIG framework", NULL, "$C", 0, 0, NULL}},
  {"", {"event", "EVENT framework", NULL, "<$C>", 0, 0, NULL}},
  {"", {"help", "Ask for help", c_help, "", 0, 0, NULL}},
  {"", {"homelink", "Activate specified homelink button", c_homelink, "<homelink><durationms>", 1, 2, NULL}},
  {"", {"location", "LOCATION framework", NULL, "<$C>", 0, 0, NULL}},
  {"", {"lock", "Lock vehicle", c_control, "<pin>", 1, 1, NULL}},
  {"", {"metrics", "METRICS framework", NULL, "<$C>", 0, 0, NULL}},
  {"", {"notify", "NOTIFICATION framework", NULL, "<$C>", 0, 0, NULL}},
  {"", {"server", "SERVER framework", NULL, "<$C>", 0, 0, NULL}},
  {"", {"stat", "Show vehicle status", c_stat, "", 0, 0, NULL}},
  {"", {"unlock", "Unlock vehicle", c_control, "<pin>", 1, 1, NULL}},
  {"", {"unvalet", "Deactivate valet mode", c_control, "<pin>", 1, 1, NULL}},
  {"", {"valet", "Activate valet mode", c_control, "<pin>", 1, 1, NULL}},
  {"", {"vehicle", "Vehicle framework", NULL, "<$C>", 0, 0, NULL}},
  {"", {"wakeup", "Wake up vehicle", c_control, "", 0, 0, NULL}},
  {"charge", {"current", "Limit charge current", c_charge_current, "<amps>", 1, 1, NULL}},
  {"charge", {"mode", "Set vehicle charge mode", NULL, "<$C>", 0, 0, NULL}},
  {"charge", {"start", "Start a vehicle charge", c_control, "", 0, 0, NULL}},
  {"charge", {"stop", "Stop a vehicle charge", c_control, "", 0, 0, NULL}},
  {"charge mode", {"performance", "Set performance mode", c_charge_mode, "", 0, 0, NULL}},
  {"charge mode", {"range", "Set range mode", c_charge_mode, "", 0, 0, NULL}},
  {"charge mode", {"standard", "Set standard mode", c_charge_mode, "", 0, 0, NULL}},
  {"charge mode", {"storage", "Set storage mode", c_charge_mode, "", 0, 0, NULL}},
  {"climatecontrol", {"off", "Turn off climate control", c_climate_off, "", 0, 0, NULL}},
  {"climatecontrol", {"on", "Turn on climate control", c_climate_on, "", 0, 0, NULL}},
  {"config", {"backup", "Backup to file", c_config_unmounted, config_backup_usage, 1, 2, NULL}},
  {"config", {"list", "Show configuration parameters/instances", c_config_list, "[<param>]", 0, 1, NULL}},
  {"config", {"restore", "Restore from file", c_config_unmounted, config_restore_usage, 1, 2, NULL}},
  {"config", {"rm", "Remove parameter:instance", c_config_rm, "<param> {<instance> | *}", 2, 2, NULL}},
  {"config", {"set", "Set parameter:instance=value", c_config_set, "<param> <instance> <value>", 3, 3, NULL}},
  {"event", {"raise", "Raise a textual event", c_event_raise, "<event>", 1, 1, NULL}},
  {"location", {"status", "Show location status", c_location_status, "", 0, 0, NULL}},
  {"metrics", {"get", "Get the value of a metric", c_metrics_get, "<metric> [<unit>]", 1, 2, NULL}},
  {"metrics", {"list", "Show all metrics", c_metrics_list, "[-cimnpst] [<metric>]", 0, 2, NULL}},
  {"metrics", {"set", "Set the value of a metric", c_metrics_set, "<metric> <value> [<unit>]", 2, 3, NULL}},
  {"notify", {"raise", "NOTIFICATION raise framework", NULL, "", 0, 0, NULL}},
  {"notify raise", {"command", "Raise a command callback notification", c_notify_raise, "<type><subtype><command>", 3, 3, NULL}},
  {"notify raise", {"data", "Raise a data notification (simulator)", c_notify_raise, "<type><subtype><message>", 3, 3, NULL}},
  {"notify raise", {"errorcode", "Raise an error code notification", c_notify_raise, "<code><data><raised>", 3, 3, NULL}},
  {"notify raise", {"text", "Raise a textual notification", c_notify_raise, "<type><subtype><message>", 3, 3, NULL}},
  {"vehicle", {"status", "Show vehicle module status", c_vehicle_status, "", 0, 0, NULL}},
};

static const struct shell_cmd root = {"", "", NULL, "", 0, 0, NULL};

/* ---------------------------------------------------------------------------------------------- */

#define REG_MAX 16 /* registrations by other stages */
#define CHILDREN_MAX 64

/* The commands registered below their parents, the built-in ones first, then those other
 * stages registered (shell_register()): process-wide and append-only, like the firmware's
 * MyCommandApp tree; the entries are borrowed static commands. */
static struct {
  const struct shell_cmd *parent, *cmd;
} reg[ARRAY_SIZE(builtins) + REG_MAX];
static size_t nreg;

static int by_name(const void *a, const void *b)
{
  return strcmp((*(const struct shell_cmd *const *)a)->name,
                (*(const struct shell_cmd *const *)b)->name);
}

/* The children of c, its own and registered, in name order (OvmsCommandMap is a sorted map).
 * Returns their number (at most CHILDREN_MAX). */
static size_t children_of(const struct shell_cmd *c, const struct shell_cmd **v)
{
  size_t n = 0;
  for (const struct shell_cmd *ch = c->children; ch && ch->name && n < CHILDREN_MAX; ch++)
    v[n++] = ch;
  size_t own = n;
  for (size_t i = 0; i < nreg && n < CHILDREN_MAX; i++)
    if (reg[i].parent == c)
      v[n++] = reg[i].cmd;
  if (n > own)
    qsort(v, n, sizeof(*v), by_name);
  return n;
}

static const struct shell_cmd *child_named(const struct shell_cmd *c, const char *name,
                                           size_t len)
{
  const struct shell_cmd *v[CHILDREN_MAX];
  size_t n = children_of(c, v);
  for (size_t i = 0; i < n; i++)
    if (strlen(v[i]->name) == len && !strncmp(v[i]->name, name, len))
      return v[i];
  return NULL;
}

/* shell_register() into a registry of max entries. */
static int add_command(const char *parent, const struct shell_cmd *cmd, size_t max)
{
  const struct shell_cmd *p = &root;
  for (const char *s = parent; *s;) {
    size_t l = strcspn(s, " ");
    if (l > 0 && !(p = child_named(p, s, l)))
      return SIM_ENOTFOUND;
    s += l;
    s += strspn(s, " ");
  }
  const struct shell_cmd *have = child_named(p, cmd->name, strlen(cmd->name));
  if (have)
    return have == cmd ? 0 : SIM_EEXIST;
  if (nreg >= max)
    return SIM_ELIMIT;
  reg[nreg].parent = p;
  reg[nreg].cmd = cmd;
  nreg++;
  return 0;
}

/* Registers the built-in commands, once. */
static void add_builtins(void)
{
  static bool done;
  if (done)
    return;
  done = true;
  for (size_t i = 0; i < ARRAY_SIZE(builtins); i++)
    add_command(builtins[i].parent, &builtins[i].cmd, ARRAY_SIZE(builtins));
}

int shell_register(const char *parent, const struct shell_cmd *cmd)
{
  add_builtins();
  return add_command(parent, cmd, ARRAY_SIZE(reg));
}

/* ---------------------------------------------------------------------------------------------- */

/* OvmsCommandMap::FindUniquePrefix: an exact match, else the only child the word prefixes. */
static const struct shell_cmd *find_unique_prefix(const struct shell_cmd *const *v, size_t n,
                                                  const char *w)
{
  const struct shell_cmd *found = NULL;
  size_t wl = strlen(w);
  for (size_t i = 0; i < n; i++) {
    if (!strcmp(v[i]->name, w))
      return v[i];
    if (!strncmp(v[i]->name, w, wl)) {
      if (found)
        return NULL;
      found = v[i];
    }
  }
  return found;
}

/* GetUsage(): "Usage: " + ancestors + name + " " + the expanded template. */
static void usage(const struct shell_cmd *const *path, int depth, struct sbuf *out)
{
  const struct shell_cmd *c = path[depth - 1];
  const struct shell_cmd *v[CHILDREN_MAX];
  size_t n = children_of(c, v);
  sbuf_adds(out, "Usage: ");
  for (int i = 0; i < depth; i++) {
    sbuf_adds(out, path[i]->name);
    sbuf_addc(out, ' ');
  }
  const char *t = c->usage;
  if (!*t && !c->fn)
    t = "<$C>";
  const char *dc = strstr(t, "$C");
  if (dc && n > 0) {
    sbuf_add(out, t, (size_t)(dc - t));
    for (size_t i = 0; i < n; i++) {
      if (i > 0)
        sbuf_addc(out, '|');
      sbuf_adds(out, v[i]->name);
    }
    t = dc + 2;
  }
  sbuf_adds(out, t);
  sbuf_addc(out, '\n');
}

static void execute(struct sim *sim, struct sbuf *out, int argc, char **argv)
{
  const struct shell_cmd *path[16];
  int depth = 0;
  const struct shell_cmd *c = &root;
  for (;;) {
    const struct shell_cmd *v[CHILDREN_MAX];
    size_t n = children_of(c, v);
    if (c->fn && !(n > 0 && argc > 0)) {
      if (argc < c->min || argc > c->max || (argc > 0 && !strcmp(argv[argc - 1], "?"))) {
        usage(path, depth, out);
        return;
      }
      c->fn(sim, out, c, argc, argv);
      return;
    }
    if (argc <= 0) {
      puts_line(out, "Subcommand required");
      usage(path, depth, out);
      return;
    }
    if (!strcmp(argv[0], "?")) {
      for (size_t i = 0; i < n; i++)
        sbuf_printf(out, "%-20.20s %s\n", v[i]->name, v[i]->title);
      return;
    }
    const struct shell_cmd *next = find_unique_prefix(v, n, argv[0]);
    if (!next) {
      puts_line(out, "Unrecognised command");
      if (depth > 0)
        usage(path, depth, out);
      return;
    }
    if (depth >= 16)
      return;
    path[depth++] = next;
    c = next;
    argc--;
    argv++;
  }
}

/* split() of V3/components/microrl/microrl.c: a word starting with ' or " runs to the same
 * quote, which must end the word; at most SHELL_QUOTED_MAX quoted words; a line of max
 * words or more is refused (i >= _COMMAND_TOKEN_NMB). */
int shell_split(char *buf, char **words, int max)
{
  int n = 0, quoted = 0;
  char *p = buf;
  for (;;) {
    while (*p == ' ' || *p == '\t' || *p == '\r')
      p++;
    if (!*p)
      return n;
    char q = 0;
    if (*p == '"' || *p == '\'') {
      if (quoted++ >= SHELL_QUOTED_MAX)
        return -1;
      q = *p++;
    }
    words[n++] = p;
    if (n >= max)
      return -1;
    if (q) {
      char *e = strchr(p, q);
      if (!e || (e[1] && e[1] != ' ' && e[1] != '\t' && e[1] != '\r'))
        return -1; /* not closed, or closed inside a word */
      *e = '\0';
      p = e + 1;
      continue;
    }
    while (*p && *p != ' ' && *p != '\t' && *p != '\r')
      p++;
    if (*p)
      *p++ = '\0';
  }
}

void shell_execute(struct sim *sim, const char *input, size_t len, struct sbuf *out)
{
  size_t pos = 0;
  add_builtins();
  while (pos < len) {
    const char *lf = memchr(input + pos, '\n', len - pos);
    size_t l = lf ? (size_t)(lf - (input + pos)) : len - pos;
    if (l > SHELL_LINE_MAX)
      l = SHELL_LINE_MAX; /* microrl drops what does not fit in its line buffer */
    char *line = xstrndup(input + pos, l); /* a NUL inside ends the line there */
    char *words[SHELL_WORDS_MAX];
    int n = shell_split(line, words, SHELL_WORDS_MAX);
    if (n < 0) /* new_line_handler() of microrl.c, error_print is the shell's Print */
      puts_line(out, "ERROR:too many tokens or invalid quoting");
    else if (n > 0)
      execute(sim, out, n, words);
    /* the line may carry a password ("config set password server.v3 ..."); the split put NULs
     * in it, so the wipe covers what was copied, not strlen() */
    explicit_bzero(line, strnlen(input + pos, l));
    free(line);
    pos = lf ? (size_t)(lf - input) + 1 : len;
  }
}
