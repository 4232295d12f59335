/*
 * scenario.h - YAML driving scenarios: the typed model, the loader and the run engine.
 *
 * A scenario (docs/scenarios.md) describes one car (`vehicle:`), a `timeline:` of steps (park,
 * drive, charge, unplug, climate, lock, unlock, door, set, notify, event, wakeup, app) and `expect:`
 * checks.
 * scenario_load() parses and validates a file with libyaml and records every problem it finds
 * with file:line:col in a struct sim_diag (ovms-sim validate lists them all); nothing is
 * half-loaded: on error *out stays NULL.
 *
 * scenario_start() attaches a run to a struct sim: it applies the vehicle section to metrics
 * and configuration, installs the physics model as the sim's control ops (so `charge stop`,
 * `climatecontrol on`, `lock` act on the simulated car) and schedules the timeline on the
 * simulation clock.  The physics model (physics.h) keeps the metrics mutually consistent on a
 * fixed tick.  The run prints nothing; main() asks scenario_run_done() (or registers a finish
 * callback), then scenario_run_report() and scenario_run_failed_count() for the exit code.
 *
 * Units in the file: durations "90s", "15min", "2h", "1h30m" (plain number: seconds);
 * distances "12km", "8mi", "500m" (plain: km); speeds "50kmh", "30mph" (plain: km/h);
 * powers "7kW", "7400W" (plain: kW); energies "40kWh" (plain: kWh); consumption "160Wh/km",
 * "250Wh/mi", "16kWh/100km" (plain: Wh/km); temperatures "20C", "68F" (plain: °C); currents
 * "32A", voltages "230V", pressures "250kPa", "36psi", "2.5bar" (plain: kPa), accelerations
 * "1.5m/s2" (plain), resistances "0.08ohm" (plain), percentages "90%" or plain numbers.  The model below holds every
 * value in SI-like base units: seconds, km, km/h, kW, kWh, Wh/km, °C, A, V, %.
 */
#ifndef SIM_SCENARIO_H
#define SIM_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/diag.h"
#include "core/sbuf.h"

struct sim;
struct scenario_run;

/* ---- the typed model ------------------------------------------------------------------- */

/* A place: a GPS position with altitude, optional name (v.p.location) and leg speed. */
struct scenario_point {
  double lat, lon;   /* degrees */
  double alt;        /* m */
  double speed;      /* km/h cruise speed of the leg starting here; 0 = the drive's speed */
  char *name;        /* owned, may be NULL */
};

/* The car: everything the physics model needs, with defaults filled in by the loader. */
struct scenario_vehicle {
  char *type;             /* v.type, default "DEMO" */
  char *model;            /* free text, for the report */
  char *id;               /* config vehicle id; NULL = leave the configuration alone */
  char *vin;              /* v.vin, NULL = unset */
  char *timezone;         /* POSIX TZ for config "vehicle timezone"; NULL = unset */
  double capacity_kwh;    /* usable capacity, default 40 */
  double soh;             /* %, default 100 */
  double soc;             /* initial %, default 80 */
  int cells;              /* cells in series, default 96 */
  double cell_vmin;       /* V at 0 % SoC, default 3.0 */
  double cell_vmax;       /* V at 100 % SoC, default 4.2 */
  double resistance;      /* pack internal resistance, ohm, default 0.08 */
  double consumption;     /* Wh/km at the wheel incl. auxiliaries, default 160 */
  double ideal_consumption; /* Wh/km behind v.b.range.ideal, default 0.9 x consumption */
  double mass;            /* kg, default 1600 */
  double regen;           /* fraction of braking energy recovered, default 0.6 */
  double max_speed;       /* km/h, default 150 */
  double accel;           /* default max acceleration m/s^2, default 1.5 */
  double decel;           /* default braking deceleration m/s^2, default 2.0 */
  double rpm_per_kmh;     /* v.m.rpm per km/h, default 112 (the DEMO vehicle's factor) */
  double aux_power;       /* kW drawn while on (12 V DC/DC, electronics), default 0.25 */
  double hvac_power;      /* kW of the climate system at full demand, default 3 */
  double ac_power;        /* on-board charger maximum, kW, default 7.4 */
  double dc_power;        /* battery's maximum DC charge power, kW, default 50 */
  double charge_efficiency; /* AC charger efficiency 0..1, default 0.9 */
  double odometer;        /* km, default 10000 */
  double ambient;         /* °C, default 15 */
  double cabin_temp;      /* °C, default = ambient */
  double battery_temp;    /* °C, default = ambient */
  double setpoint;        /* cabin set point °C, default 21 */
  double v12;             /* 12 V battery rest voltage, default 12.6 */
  bool locked;            /* initial, default true */
  bool noise;             /* sensor noise from the seeded generator, default true */
  bool cell_metrics;      /* publish v.b.c.voltage / v.b.c.temp per cell, default false */
  double charge_limit;    /* v.c.limit.soc default, %, default 100 */
  double tpms_kpa[4];     /* v.t.pressure FL, FR, RL, RR; 0 = leave unset */
  struct scenario_point location; /* default 52.520008, 13.404954, 34 m (Berlin) */
  double heading;         /* initial v.p.direction, degrees, default 0 */
};

enum scenario_step_kind {
  STEP_PARK, STEP_DRIVE, STEP_CHARGE, STEP_UNPLUG, STEP_CLIMATE, STEP_LOCK, STEP_UNLOCK,
  STEP_DOOR, STEP_SET, STEP_NOTIFY, STEP_EVENT, STEP_WAKEUP, STEP_ECU, STEP_APP
};

/* The name of a step kind as written in files ("park", "drive" ...); "?" if out of range. */
const char *scenario_step_kind_name(enum scenario_step_kind kind);

/* One section of a drive's speed profile. */
struct scenario_section {
  double distance; /* km; 0 = until the end */
  double speed;    /* km/h */
};

struct scenario_drive {
  double distance;  /* km; 0 = not given */
  double duration;  /* s; 0 = not given */
  double speed;     /* cruise km/h, default 50 */
  double accel, decel; /* m/s^2; 0 = the vehicle's */
  double consumption;  /* Wh/km; 0 = the vehicle's */
  struct scenario_section *profile; /* owned; n_profile sections */
  size_t n_profile;
  struct scenario_point *route;     /* owned; n_route waypoints (>= 2 when given) */
  size_t n_route;
};

enum scenario_charge_type { CHARGE_TYPE1, CHARGE_TYPE2, CHARGE_CHADEMO, CHARGE_CCS };

struct scenario_charge {
  enum scenario_charge_type type; /* default type2 */
  bool dc;              /* chademo/ccs */
  double power;         /* kW at the plug; default vehicle ac_power (AC) / 50 (DC) */
  double voltage;       /* supply voltage (AC line), V; default 230 (AC) */
  double current;       /* current limit A (v.c.climit); 0 = none */
  double target_soc;    /* %, default vehicle charge_limit */
  double duration;      /* s, maximum; 0 = until target */
  double taper_soc;     /* % where CC/CV taper begins; default 80 (DC) / 95 (AC) */
  double efficiency;    /* 0..1; default vehicle charge_efficiency (AC) / 0.95 (DC) */
  double prepare;       /* s in state "prepare" before current flows; default 5 (AC) / 30 (DC) */
  char *mode;           /* v.c.mode, default "standard"; owned */
  int timer_start;      /* seconds since midnight UTC, -1 = no timer */
  bool wait;            /* block the timeline until the charge ends (default true) */
};

/* What an app: step does (STEP_APP). */
enum scenario_app_action { APP_CONNECT, APP_DISCONNECT, APP_DROP, APP_COMMAND };

/* The default of an app step's `timeout:` (wall seconds). */
#define SCENARIO_APP_TIMEOUT 30.0

/*
 * An app: step: one simulated app client, known by its MQTT client id, connects (announcing
 * client/<id>/active), disconnects (active 0, then DISCONNECT), drops the connection (the
 * broker publishes its will) or sends a command and waits for the response.
 */
struct scenario_app_step {
  enum scenario_app_action action;
  char *id;           /* the app's client id (1-64 of A-Z a-z 0-9 - _ .), owned */
  char *vehicle;      /* connect: the vehicle id to watch; NULL = the run's; owned */
  char *command;      /* command: the command line; owned */
  double timeout;     /* wall s to wait for the connection or the response */
  bool wait_online;   /* connect: also wait until the module's metric/s/v3/connected is yes */
  size_t check;       /* index into scenario.expects of the step's expect:, or SIZE_MAX */
};

/* door names for STEP_DOOR */
enum scenario_door { DOOR_FL, DOOR_FR, DOOR_RL, DOOR_RR, DOOR_TRUNK, DOOR_HOOD, DOOR_CP, DOOR_N };

struct scenario_step {
  enum scenario_step_kind kind;
  int line, col;        /* where the step starts in the file */
  char *name;           /* optional step name (for expect after:), owned */
  double ambient;       /* target ambient °C at the end of a timed step; NAN = unchanged */
  union {
    struct { double duration; } park;            /* s */
    struct scenario_drive drive;
    struct scenario_charge charge;
    struct { bool on; double setpoint; } climate; /* setpoint NAN = unchanged */
    struct { int door[DOOR_N]; } door;            /* -1 unchanged, 0 closed, 1 open */
    struct { char **names; char **values; size_t n; } set;
    struct { int type; char *subtype; char *text; } notify; /* type: enum sim_notify_type */
    struct { char *name; char *data; } event;
    struct scenario_app_step app;
    struct { char *name; char *fault; } ecu;      /* fault: vehicle/fault.h grammar */
  } u;
};

enum scenario_expect_when { EXPECT_AT_END, EXPECT_AT_TIME, EXPECT_AFTER_STEP };

struct scenario_expect {
  int line, col;
  char *metric;         /* owned; NULL for an app step's check */
  /* An app step's expect: (metric NULL, when EXPECT_AFTER_STEP, step = the app step): the
   * response equals `response` (both without trailing blanks and line ends), contains
   * `contains`, matches the POSIX extended regular expression `match`; it came within
   * `within` wall seconds (< 0: not checked). */
  char *response, *contains, *match; /* owned, NULL = not checked */
  void *match_re;       /* match compiled (a regex_t), owned */
  double within;
  enum scenario_expect_when when;
  double at;            /* s since start (EXPECT_AT_TIME) */
  size_t step;          /* index into steps (EXPECT_AFTER_STEP) */
  char *value;          /* exact value as text (strings, bools, numbers), NULL = none; owned */
  bool has_min, has_max;
  double min, max;      /* in the metric's native unit */
  double tolerance;     /* for numeric value comparison, default 1e-6 relative */
  int defined;          /* -1 not checked, 0 must be never-defined, 1 must be defined */
};

/* Where a real-time run (no --fast) starts, `start_realtime:`. */
enum scenario_realtime_start {
  SCENARIO_RT_NOW,         /* now (default) */
  SCENARIO_RT_TIME_OF_DAY, /* at start:'s UTC time of day, its latest occurrence up to now */
  SCENARIO_RT_START,       /* at start: itself */
};

struct scenario {
  char *path;           /* owned copy of the file name */
  char *name;           /* owned, may be NULL */
  char *description;    /* owned, may be NULL */
  int64_t start_utc_ns; /* `start:` UTC time; 0 = not given (main picks the clock epoch) */
  int realtime_start;    /* `start_realtime:` (enum scenario_realtime_start); --fast: start: */
  bool has_seed;
  uint64_t seed;        /* `seed:` default for --seed */
  double tick;          /* physics tick, s, default 1 */
  struct scenario_vehicle vehicle;
  struct scenario_step *steps;
  size_t n_steps;
  struct scenario_expect *expects;
  size_t n_expects;
};

/* ---- loading ---------------------------------------------------------------------------- */

/*
 * Parses and validates the scenario file at path.  Every problem (broken YAML, unknown keys,
 * wrong types, bad units, out-of-range values, unknown metrics) is recorded in d with
 * file:line:col; loading continues after an error so that all of them are reported.
 * Returns 0 and sets *out (owned by the caller, free with scenario_free()); SIM_EPARSE when
 * any error was found (*out = NULL); -errno when the file cannot be read (also recorded in d).
 */
int scenario_load(const char *path, struct scenario **out, struct sim_diag *d);

/* The same for text in memory; name is used in diagnostics (may be NULL). */
int scenario_load_string(const char *text, size_t len, const char *name, struct scenario **out,
                         struct sim_diag *d);

/* Frees a scenario (NULL is fine).  Runs using it must have been freed before. */
void scenario_free(struct scenario *sc);

/*
 * Parses a quantity with unit as used in scenario files, into the base unit of its kind
 * (see the top of this file).  Returns 0 and sets *out, SIM_EPARSE for text that is not a
 * number with an accepted unit of that kind.
 */
enum scenario_qty {
  QTY_DURATION, QTY_DISTANCE, QTY_SPEED, QTY_POWER, QTY_ENERGY, QTY_CONSUMPTION, QTY_TEMP,
  QTY_PERCENT, QTY_CURRENT, QTY_VOLTAGE, QTY_PRESSURE, QTY_ACCEL, QTY_RESISTANCE, QTY_NUMBER
};
int scenario_parse_qty(const char *text, enum scenario_qty kind, double *out);

/* ---- running ---------------------------------------------------------------------------- */

/*
 * Starts sc on sim (both borrowed; sc must outlive the sim): applies the vehicle section to
 * the metrics and to config "vehicle id" / "vehicle timezone", installs sim->control (the
 * physics model obeys charge/climate/lock/... commands), sets sim->scenario and schedules the
 * timeline on the simulation clock from the current simulation time.  Nothing is printed.
 * The run is owned by the sim and freed by sim_free(); *out may be NULL.
 * Returns 0, SIM_ESTATE if a scenario already runs on sim, SIM_ECONFIG if the vehicle section
 * is refused by the configuration (e.g. an invalid id).
 */
int scenario_start(struct sim *sim, const struct scenario *sc, struct scenario_run **out);

/*
 * How one car of a fleet differs from the scenario as written (fleet/fleet.h draws it from
 * the seed).  All zero = the scenario as written.
 */
struct scenario_variation {
  double soc;          /* % added to the initial SoC (the result is kept within 1..100) */
  double capacity;     /* fraction added to the capacity: 0.05 = 5 % more kWh */
  double start_offset; /* s: the timeline starts this much later (the car is parked first) */
  double dlat, dlon;   /* degrees added to the start position and every route waypoint */
};

/* scenario_start() for one car of a fleet: the vehicle section and routes varied by var
 * (borrowed for the call; NULL = none).  Returns as scenario_start(). */
int scenario_start_varied(struct sim *sim, const struct scenario *sc,
                          const struct scenario_variation *var, struct scenario_run **out);

/* Stops the run's timers and uninstalls its control ops; metrics keep their values.  The run
 * stays valid for reports until sim_free().  Calling it twice is harmless. */
void scenario_run_stop(struct scenario_run *run);

/* True once every step has finished and every expect check has been evaluated.  The car
 * (physics) keeps running afterwards until scenario_run_stop(); main normally stops the loop. */
bool scenario_run_done(const struct scenario_run *run);

/* Calls fn(ctx, run) once, when the timeline has finished (see scenario_run_done()). */
void scenario_run_on_done(struct scenario_run *run,
                          void (*fn)(void *ctx, struct scenario_run *run), void *ctx);

/* Calls fn(ctx, st) when an `ecu:` step runs (the program's bench car sets the fault of the
 * ECU st->u.ecu.name; without fn the step does nothing). */
void scenario_run_on_ecu(struct scenario_run *run,
                         void (*fn)(void *ctx, const struct scenario_step *st), void *ctx);

/* Index of the step being executed (n_steps when finished). */
size_t scenario_run_step(const struct scenario_run *run);

/* Number of expect checks that failed so far, and that were evaluated so far.  Checks not yet
 * evaluated when the run is reported count as failed ("not reached"). */
size_t scenario_run_failed_count(const struct scenario_run *run);
size_t scenario_run_checked_count(const struct scenario_run *run);

/* ---- app: steps ------------------------------------------------------------------------- */

/* How an app step ended, for scenario_run_app_done(). */
struct scenario_app_result {
  int status;            /* 0 done; -ETIMEDOUT nothing came within the step's timeout;
                          * another negative error: the step failed (error says why) */
  const char *response;  /* command: the response's payload (borrowed for the call) */
  size_t len;
  int64_t latency_ns;    /* wall ns from the request (CONNECT, the command's PUBLISH) to its
                          * answer (CONNACK, the response) */
  const char *error;     /* status < 0: a message (borrowed), may be NULL */
};

/*
 * The app clients behind app: steps (sim/fleet/app_steps.c; the program installs them with
 * scenario_run_set_apps(), a lower stage cannot create MQTT clients of its own).  start()
 * begins the step st; it returns 0 and calls scenario_run_app_done() exactly once later (or
 * before it returns), or returns a negative error with its messages in d (the step fails).
 */
struct scenario_app_ops {
  int (*start)(void *ctx, struct scenario_run *run, const struct scenario_step *st,
               struct sim_diag *d);
};

/* Installs ops (borrowed, with ctx) for the run's app: steps.  Without them an app step
 * fails with a step error. */
void scenario_run_set_apps(struct scenario_run *run, const struct scenario_app_ops *ops,
                           void *ctx);
/* Ends the app step being executed with res (borrowed for the call); the timeline moves on
 * at once.  A call when no app step waits is ignored. */
void scenario_run_app_done(struct scenario_run *run, const struct scenario_app_result *res);
/* True if the scenario has an app: step. */
bool scenario_has_apps(const struct scenario *sc);

/* The metrics the run report's "series" carries by default (NULL-terminated): state of
 * charge, battery power, speed and the temperatures (docs/scenarios.md "Looking at a run"). */
extern const char *const scenario_series_default[];
/* Adds the metric name (numeric or bool) to the report's series; call before the first tick
 * (right after scenario_start).  Returns 0, SIM_ENOTFOUND for an unknown metric, SIM_ETYPE for
 * one that is not a number or bool, SIM_ESTATE once sampling began, SIM_ELIMIT beyond 32. */
int scenario_run_track(struct scenario_run *run, const char *name);

#define SCENARIO_REPORT_JSON 0x01

/*
 * Appends the expect results to out: text (one line per check, "PASS"/"FAIL" with step,
 * time, value seen and what was expected, then a summary line), or with SCENARIO_REPORT_JSON
 * one JSON object {"scenario":..,"passed":n,"failed":n,"checks":[..],"series":{..},
 * "phases":[..]} (the series of scenario_run_track(), docs/scenarios.md).  Returns the number of
 * failed checks.
 */
size_t scenario_run_report(const struct scenario_run *run, struct sbuf *out, unsigned flags);

#endif
