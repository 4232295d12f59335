/*
 * test_scenario_parse.c - the scenario loader: every malformed fixture under
 * tests/data/scenarios/bad-*.yaml gives its exact file:line:col error, a file with many errors
 * reports all of them, the shipped scenarios load cleanly, quantities with units parse into
 * base units (and bad ones are refused), and a scenario using every step kind produces the
 * expected typed model.
 */
#include "testutil.h"

#include <errno.h>
#include <glob.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "core/diag.h"
#include "core/error.h"
#include "scenario/scenario.h"

/* The formatted diagnostics, one per line. */
static char *diag_text(const struct sim_diag *d)
{
  struct sbuf b = SBUF_INIT;
  sbuf_adds(&b, "");
  for (size_t i = 0; i < d->n; i++) {
    sim_diag_format(&d->v[i], &b);
    sbuf_addc(&b, '\n');
  }
  return sbuf_detach(&b);
}

struct bad_case {
  const char *file;
  const char *error; /* the complete first line, after "<path>:" */
};

static const struct bad_case bad_cases[] = {
  {"bad-unknown-key.yaml",
   "4:3: error: unknown key 'capacty' in vehicle: did you mean 'capacity'? (expected one of: "
   "type, model, id, vin, "
   "timezone, capacity, soh, soc, cells, cell_vmin, cell_vmax, resistance, consumption, "
   "ideal_consumption, mass, regen, max_speed, accel, decel, rpm_per_kmh, aux_power, "
   "hvac_power, ac_power, dc_power, charge_efficiency, odometer, ambient, cabin_temp, "
   "battery_temp, setpoint, v12, locked, noise, charge_limit, tpms, location, heading, "
   "cell_metrics)"},
  {"bad-wrong-type.yaml", "3:8: error: expected a percentage such as 90%, got a list"},
  {"bad-range.yaml", "4:8: error: 120% is out of range (0..100 %)"},
  {"bad-yaml.yaml",
   "3:9: error: invalid YAML: did not find expected ',' or '}' while parsing a flow mapping"},
  {"bad-unit.yaml",
   "4:17: error: expected a distance such as 12km, 8mi or 500m, got '12 parsecs'"},
  {"bad-duration.yaml",
   "3:11: error: expected a duration such as 90s, 15min, 2h or 1h30m, got '10 minutes'"},
  {"bad-step.yaml",
   "4:5: error: unknown step 'teleport' (expected one of: park, drive, charge, unplug, climate, "
   "lock, unlock, door, set, notify, event, wakeup, ecu, app)"},
  {"bad-metric.yaml", "4:7: error: unknown metric 'v.b.socc'"},
  {"bad-metric-value.yaml",
   "3:23: error: 'maybe' is not a valid value for metric v.e.locked (wrong type)"},
  {"bad-expect-after.yaml",
   "8:12: error: no step 'work' in the timeline (give a step name or 1..1)"},
  {"bad-charge-type.yaml",
   "4:13: error: unknown charge type 'tesla' (expected one of: type1, type2, ac, chademo, ccs, "
   "dc)"},
  {"bad-two-kinds.yaml", "4:5: error: a step has one kind, but this one has 'park' and 'drive'"},
  {"bad-waypoint.yaml", "6:11: error: waypoint needs 'lon'"},
  {"bad-start.yaml", "2:8: error: expected a UTC time 'YYYY-MM-DD HH:MM:SS', got 'yesterday'"},
  {"bad-top-key.yaml",
   "2:1: error: unknown key 'vehicles' in scenario: did you mean 'vehicle'? (expected one of: "
   "name, description, start, "
   "seed, tick, vehicle, timeline, expect, start_realtime)"},
  {"bad-duplicate.yaml", "4:3: error: duplicate key 'soc' in vehicle"},
  {"bad-duplicate-step.yaml", "7:5: error: duplicate step name 'home'"},
  {"bad-duplicate-set.yaml", "6:7: error: duplicate key 'v.b.soc' in set"},
  {"bad-empty.yaml",
   "1:1: error: empty scenario (expected a mapping with vehicle:, timeline: and expect:)"},
  {"bad-ac-power.yaml",
   "3:13: error: AC charging power 50 kW is above 43 kW (use type chademo or ccs for DC)"},
};

static void test_bad_fixtures(void **state)
{
  for (size_t i = 0; i < ARRAY_SIZE(bad_cases); i++) {
    char path[1024];
    snprintf(path, sizeof(path), "%s", test_data_path("scenarios"));
    size_t l = strlen(path);
    snprintf(path + l, sizeof(path) - l, "/%s", bad_cases[i].file);
    struct sim_diag d = SIM_DIAG_INIT;
    struct scenario *sc = (struct scenario *)1;
    int rc = scenario_load(path, &sc, &d);
    char *text = diag_text(&d);
    char want[2048];
    snprintf(want, sizeof(want), "%s:%s\n", path, bad_cases[i].error);
    if (rc != SIM_EPARSE || d.errors != 1 || strcmp(text, want))
      fail_msg("%s: rc %d, %zu errors:\n%sexpected:\n%s", bad_cases[i].file, rc, d.errors,
               text, want);
    assert_null(sc);
    free(text);
    sim_diag_cleanup(&d);
  }
}

/* Every bad fixture on disk is covered by the table above. */
static void test_fixture_table_complete(void **state)
{
  char pattern[1024];
  snprintf(pattern, sizeof(pattern), "%s/bad-*.yaml", test_data_path("scenarios"));
  glob_t g;
  assert_int_equal(glob(pattern, 0, NULL, &g), 0);
  for (size_t i = 0; i < g.gl_pathc; i++) {
    const char *base = strrchr(g.gl_pathv[i], '/') + 1;
    bool found = !strcmp(base, "bad-many.yaml");
    for (size_t j = 0; j < ARRAY_SIZE(bad_cases); j++)
      found |= !strcmp(base, bad_cases[j].file);
    if (!found)
      fail_msg("fixture %s has no expected error in the table", base);
  }
  globfree(&g);
}

static void test_all_errors_reported(void **state)
{
  char path[1024];
  snprintf(path, sizeof(path), "%s/bad-many.yaml", test_data_path("scenarios"));
  struct sim_diag d = SIM_DIAG_INIT;
  struct scenario *sc;
  assert_int_equal(scenario_load(path, &sc, &d), SIM_EPARSE);
  static const char *const where[] = {"4:13: error: -5kWh is out of range",
                                      "5:8: error: expected a percentage",
                                      "6:3: error: unknown key 'colour' in vehicle",
                                      "8:11: error: expected a duration",
                                      "9:12: error: drive takes a distance or a duration",
                                      "10:14: error: expected yes or no, got 'sometimes'",
                                      "12:13: error: unknown metric 'v.nothing'",
                                      "16:10: error: max (40) is below min (50)"};
  size_t n = ARRAY_SIZE(where);
  assert_int_equal(d.errors, n);
  for (size_t i = 0; i < n; i++) {
    struct sbuf b = SBUF_INIT;
    sim_diag_format(&d.v[i], &b);
    char want[2048];
    snprintf(want, sizeof(want), "%s:%s", path, where[i]);
    if (strncmp(sbuf_str(&b), want, strlen(want)))
      fail_msg("error %zu: got '%s', want prefix '%s'", i, sbuf_str(&b), want);
    sbuf_free(&b);
  }
  sim_diag_cleanup(&d);
}

static void test_missing_file(void **state)
{
  struct sim_diag d = SIM_DIAG_INIT;
  struct scenario *sc;
  assert_int_equal(scenario_load("/nonexistent/x.yaml", &sc, &d), -ENOENT);
  assert_null(sc);
  assert_int_equal(d.errors, 1);
  sim_diag_cleanup(&d);
}

static void test_shipped_scenarios_load(void **state)
{
  static const char *const files[] = {"scenarios/charging.yaml", "scenarios/driving.yaml",
                                      "scenarios/fast-charge.yaml",
                                      "scenarios/parked-night.yaml"};
  for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
    struct sim_diag d = SIM_DIAG_INIT;
    struct scenario *sc = NULL;
    char path[1024];
    snprintf(path, sizeof(path), "%s", test_src_path(files[i]));
    int rc = scenario_load(path, &sc, &d);
    if (rc != 0) {
      char *t = diag_text(&d);
      fail_msg("%s: %s", files[i], t);
    }
    assert_non_null(sc);
    assert_true(sc->n_steps > 0);
    assert_true(sc->n_expects > 0);
    assert_true(sc->start_utc_ns > 0);
    scenario_free(sc);
    sim_diag_cleanup(&d);
  }
}

struct qty_case {
  const char *text;
  enum scenario_qty kind;
  double want; /* NAN = must be refused */
};

static const struct qty_case qty_cases[] = {
  {"90s", QTY_DURATION, 90},        {"15min", QTY_DURATION, 900},
  {"2h", QTY_DURATION, 7200},       {"1h30m", QTY_DURATION, 5400},
  {"1h 30min", QTY_DURATION, 5400}, {"45", QTY_DURATION, 45},
  {"1d", QTY_DURATION, 86400},      {"500ms", QTY_DURATION, 0.5},
  {"10 minutes", QTY_DURATION, NAN}, {"h", QTY_DURATION, NAN},
  {"-5s", QTY_DURATION, NAN},       {"1h-5m", QTY_DURATION, NAN},
  {"", QTY_DURATION, NAN},          {"12km", QTY_DISTANCE, 12},
  {"8mi", QTY_DISTANCE, 8 * 1.609344}, {"500m", QTY_DISTANCE, 0.5},
  {"7", QTY_DISTANCE, 7},           {"12 parsecs", QTY_DISTANCE, NAN},
  {"50kmh", QTY_SPEED, 50},         {"30mph", QTY_SPEED, 30 * 1.609344},
  {"50 km/h", QTY_SPEED, 50},       {"7kW", QTY_POWER, 7},
  {"7400W", QTY_POWER, 7.4},        {"40kWh", QTY_ENERGY, 40},
  {"160Wh/km", QTY_CONSUMPTION, 160}, {"16kWh/100km", QTY_CONSUMPTION, 160},
  {"20C", QTY_TEMP, 20},            {"68F", QTY_TEMP, 20},
  {"-5", QTY_TEMP, -5},             {"20K", QTY_TEMP, NAN},
  {"90%", QTY_PERCENT, 90},         {"32A", QTY_CURRENT, 32},
  {"230V", QTY_VOLTAGE, 230},       {"2.5bar", QTY_PRESSURE, 250},
  {"nan", QTY_NUMBER, NAN},         {"inf", QTY_NUMBER, NAN},
  {"0x10", QTY_NUMBER, NAN},        {"1e400", QTY_NUMBER, NAN},
  {"7 kW", QTY_ENERGY, NAN},
};

static void test_quantities(void **state)
{
  for (size_t i = 0; i < ARRAY_SIZE(qty_cases); i++) {
    const struct qty_case *c = &qty_cases[i];
    double v = -1;
    int rc = scenario_parse_qty(c->text, c->kind, &v);
    if (isnan(c->want)) {
      if (rc != SIM_EPARSE)
        fail_msg("'%s' should be refused, got %g", c->text, v);
    } else if (rc != 0 || fabs(v - c->want) > 1e-9) {
      fail_msg("'%s': rc %d, got %g, want %g", c->text, rc, v, c->want);
    }
  }
}

static const char every_step[] =
    "name: every step\n"
    "start: 2024-06-01 08:00:00\n"
    "seed: 42\n"
    "tick: 500ms\n"
    "vehicle:\n"
    "  id: CAR-1\n"
    "  capacity: 62kWh\n"
    "  soc: 55\n"
    "  consumption: 16kWh/100km\n"
    "  ambient: 50F\n"
    "  tpms: [36psi, 36psi, 2.5bar, 250]\n"
    "  location: [48.1, 11.5, 520]\n"
    "timeline:\n"
    "  - park: 90s\n"
    "  - name: trip\n"
    "    drive:\n"
    "      speed: 30mph\n"
    "      profile: [{distance: 1km, speed: 30kmh}, {speed: 60kmh}]\n"
    "      route: [[48.1, 11.5], {lat: 48.2, lon: 11.6, name: Office}]\n"
    "  - charge: {type: chademo, power: 50kW, target: 80%, timer: '23:30', wait: no}\n"
    "  - unplug\n"
    "  - climate: {on: yes, setpoint: 70F}\n"
    "  - lock\n"
    "  - unlock\n"
    "  - door: {trunk: open, fl: closed}\n"
    "  - set: {v.b.soh: 93, v.t.pressure: [230, 231, 232, 233], xnl.v.b.gids: 200}\n"
    "  - notify: {type: alert, subtype: usr.test.alert, text: hello}\n"
    "  - event: usr.test.fired\n"
    "  - event: {name: usr.test.data, data: '1,2'}\n"
    "  - wakeup\n"
    "expect:\n"
    "  - {metric: v.b.soc, min: 10, max: 90%}\n"
    "  - {metric: v.p.odometer, value: 12mi, at: 1h30m}\n"
    "  - {metric: v.e.locked, value: no, after: trip}\n"
    "  - {metric: v.c.state, value: done, after: 3}\n"
    "  - {metric: v.e.temp, defined: yes, tolerance: 0.5}\n";

/* A start: date that does not exist is refused with its location, not rolled over. */
static void test_bad_start_date(void **state)
{
  static const char *const texts[] = {"start: 2024-02-30 08:00:00\n",
                                      "start: 2023-02-29 08:00:00\n",
                                      "start: 2024-06-31 08:00:00\n"};
  for (size_t i = 0; i < ARRAY_SIZE(texts); i++) {
    struct sim_diag d = SIM_DIAG_INIT;
    struct scenario *sc = NULL;
    int rc = scenario_load_string(texts[i], strlen(texts[i]), "x.yaml", &sc, &d);
    char *t = diag_text(&d);
    if (rc != SIM_EPARSE || !strstr(t, "x.yaml:1:8: error: expected a UTC time"))
      fail_msg("'%s': rc %d, %s", texts[i], rc, t);
    assert_null(sc);
    free(t);
    sim_diag_cleanup(&d);
  }
}

/* start_realtime: one of three words, and the two that use start: need one. */
static void test_start_realtime(void **state)
{
  (void)state;
  static const struct {
    const char *text;
    int want; /* enum scenario_realtime_start, -1 = error */
    const char *msg;
  } cases[] = {
      {"start: 2024-06-01 17:30:00\n", SCENARIO_RT_NOW, NULL},
      {"start: 2024-06-01 17:30:00\nstart_realtime: now\n", SCENARIO_RT_NOW, NULL},
      {"start: 2024-06-01 17:30:00\nstart_realtime: time-of-day\n", SCENARIO_RT_TIME_OF_DAY,
       NULL},
      {"start_realtime: start\nstart: 2024-06-01 17:30:00\n", SCENARIO_RT_START, NULL},
      {"start_realtime: yesterday\n", -1,
       "x.yaml:1:17: error: unknown start_realtime 'yesterday' (expected one of: now, time-of-day, start)"},
      {"start_realtime: time-of-day\n", -1,
       "x.yaml:1:17: error: start_realtime: time-of-day needs a start: time"},
  };
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    struct sim_diag d = SIM_DIAG_INIT;
    struct scenario *sc = NULL;
    int rc = scenario_load_string(cases[i].text, strlen(cases[i].text), "x.yaml", &sc, &d);
    char *t = diag_text(&d);
    if (cases[i].want < 0) {
      if (rc != SIM_EPARSE || !strstr(t, cases[i].msg))
        fail_msg("'%s': rc %d, %s", cases[i].text, rc, t);
      assert_null(sc);
    } else {
      if (rc != 0)
        fail_msg("'%s': rc %d, %s", cases[i].text, rc, t);
      assert_int_equal(sc->realtime_start, cases[i].want);
      scenario_free(sc);
    }
    free(t);
    sim_diag_cleanup(&d);
  }
}

/* A charge timer is H:MM or HH:MM, digits only: sscanf() used to take " 7:30" and "+7:-0". */
static void test_timer_syntax(void **state)
{
  static const struct {
    const char *timer;
    int want; /* seconds since midnight, -1 = error */
  } cases[] = {
    {"7:30", 27000}, {"07:30", 27000}, {"23:59", 86340}, {"0:00", 0}, {" 7:30", -1},
    {"+7:-0", -1}, {"7:3", -1}, {"24:00", -1}, {"12:60", -1}, {"123:00", -1}, {"7:30 ", -1},
  };
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    char text[200];
    snprintf(text, sizeof(text), "timeline:\n  - charge: {timer: '%s'}\n", cases[i].timer);
    struct sim_diag d = SIM_DIAG_INIT;
    struct scenario *sc = NULL;
    int rc = scenario_load_string(text, strlen(text), "x.yaml", &sc, &d);
    if (cases[i].want < 0) {
      if (rc != SIM_EPARSE)
        fail_msg("timer '%s' accepted", cases[i].timer);
    } else {
      if (rc != 0)
        fail_msg("timer '%s' refused", cases[i].timer);
      assert_int_equal(sc->steps[0].u.charge.timer_start, cases[i].want);
    }
    scenario_free(sc);
    sim_diag_cleanup(&d);
  }
}

/* Range errors show the bounds as numbers people read: no exponent, no blank before ')'. */
static void test_range_messages(void **state)
{
  static const struct {
    const char *text, *msg;
  } cases[] = {
    {"timeline:\n  - park: 400d\n", "x.yaml:2:11: error: 400d is out of range (0..31622400 s)"},
    {"timeline:\n  - drive: {route: [{lat: 152, lon: 13}, {lat: 52, lon: 13.1}]}\n",
     "x.yaml:2:27: error: 152 is out of range (-90..90)"},
  };
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    struct sim_diag d = SIM_DIAG_INIT;
    struct scenario *sc = NULL;
    int rc = scenario_load_string(cases[i].text, strlen(cases[i].text), "x.yaml", &sc, &d);
    char *t = diag_text(&d);
    if (rc >= 0 || !strstr(t, cases[i].msg))
      fail_msg("rc %d, got:\n%swant:\n%s", rc, t, cases[i].msg);
    free(t);
    sim_diag_cleanup(&d);
  }
}

/* app: steps: every bad form is refused with its position; the good ones load with their
 * checks merged into expects in file order. */
static void test_app_steps(void **state)
{
  static const struct {
    const char *text, *msg; /* msg NULL: loads */
  } cases[] = {
    {"timeline:\n  - app\n", "x.yaml:2:5: error: app needs a mapping such as {id: phone, "
                             "connect: yes}"},
    {"timeline:\n  - app: {connect: yes}\n", "x.yaml:2:10: error: app needs 'id'"},
    {"timeline:\n  - app: {id: 'a b', connect: yes}\n",
     "x.yaml:2:15: error: app id 'a b' must be 1-64 letters, digits, '-', '_' or '.'"},
    {"timeline:\n  - app: {id: a}\n",
     "x.yaml:2:10: error: app takes one of 'connect', 'disconnect', 'drop' or 'command'"},
    {"timeline:\n  - app: {id: a, connect: yes, command: stat}\n",
     "x.yaml:2:10: error: app takes one of 'connect', 'disconnect', 'drop' or 'command', not "
     "several"},
    {"timeline:\n  - app: {id: a, connect: no}\n",
     "x.yaml:2:27: error: 'connect: no' does nothing (leave the key out)"},
    {"timeline:\n  - app: {id: a, connect: maybe}\n",
     "x.yaml:2:27: error: expected yes or no, got 'maybe'"},
    {"timeline:\n  - app: {id: a, command: stat}\n",
     "x.yaml:2:10: error: app 'a' is not connected here (connect it first: app: {id: a, "
     "connect: yes})"},
    {"timeline:\n  - app: {id: a, connect: yes}\n  - app: {id: a, connect: yes}\n",
     "x.yaml:3:10: error: app 'a' is already connected here"},
    {"timeline:\n  - app: {id: a, connect: yes}\n  - app: {id: a, drop: yes}\n"
     "  - app: {id: a, disconnect: yes}\n",
     "x.yaml:4:10: error: app 'a' is not connected here"},
    {"timeline:\n  - app: {id: a, connect: yes}\n  - app: {id: a, command: ''}\n",
     "x.yaml:3:27: error: app command must not be empty"},
    {"timeline:\n  - app: {id: a, connect: yes}\n  - app: {id: a, command: [stat]}\n",
     "x.yaml:3:27: error: expected a string, got a list"},
    {"timeline:\n  - app: {id: a, connect: yes, colour: red}\n",
     "x.yaml:2:32: error: unknown key 'colour' in app (expected one of: id, connect, "
     "disconnect, drop, command, vehicle, timeout, wait_online, expect)"},
    {"timeline:\n  - app: {id: a, connect: yes}\n  - app: {id: a, command: stat, vehicle: X}\n",
     "x.yaml:3:42: error: 'vehicle' belongs to a connect step"},
    {"timeline:\n  - app: {id: a, connect: yes, vehicle: 'my car'}\n",
     "x.yaml:2:41: error: vehicle id 'my car' must be 1-32 letters, digits, '-' or '_'"},
    {"timeline:\n  - app: {id: a, connect: yes}\n  - app: {id: a, drop: yes, timeout: 3s}\n",
     "x.yaml:3:38: error: 'timeout' belongs to a connect or command step"},
    {"timeline:\n  - app: {id: a, connect: yes, timeout: 2h}\n",
     "x.yaml:2:41: error: 2h is out of range (0.001..3600 s)"},
    {"timeline:\n  - app: {id: a, connect: yes, timeout: soon}\n",
     "x.yaml:2:41: error: expected a duration such as 90s, 15min, 2h or 1h30m, got 'soon'"},
    {"timeline:\n  - app: {id: a, connect: yes}\n  - app: {id: a, disconnect: yes, "
     "expect: {within: 1s}}\n",
     "x.yaml:3:43: error: expect: belongs to a connect or command app step"},
    {"timeline:\n  - app: {id: a, connect: yes, expect: {response: x}}\n",
     "x.yaml:2:40: error: a connect step's expect takes 'within' only (there is no response)"},
    {"timeline:\n  - app: {id: a, connect: yes}\n  - app: {id: a, command: stat, expect: {}}\n",
     "x.yaml:3:41: error: app expect needs 'response', 'contains', 'match' or 'within'"},
    {"timeline:\n  - app: {id: a, connect: yes}\n  - app: {id: a, command: stat, "
     "expect: {value: 1}}\n",
     "x.yaml:3:42: error: unknown key 'value' in app expect (expected one of: response, "
     "contains, match, within)"},
    {"timeline:\n  - app: {id: a, connect: yes}\n  - app: {id: a, command: stat, "
     "expect: {match: 'SOC ('}}\n",
     "x.yaml:3:49: error: invalid regular expression 'SOC (': "},
    {"timeline:\n  - app: {id: a, connect: yes}\n  - app: {id: a, command: stat, "
     "expect: {match: '((a{99}){99}){99}'}}\n",
     "x.yaml:3:49: error: regular expression refused: more than 2 {m,n} repetitions"},
    {"timeline:\n  - app: {id: a, connect: yes}\n  - app: {id: a, command: stat, "
     "expect: {match: 'a{1000}'}}\n",
     "x.yaml:3:49: error: regular expression refused: a {m,n} repetition above 100"},
    {"timeline:\n  - app: {id: a, connect: yes}\n  - app: {id: a, command: stat, "
     "expect: {contains: ''}}\n",
     "x.yaml:3:52: error: contains must not be empty"},
    {"timeline:\n  - app: {id: a, connect: yes}\n  - app: {id: a, command: stat, timeout: 1s, "
     "expect: {within: 2s}}\n",
     "x.yaml:3:54: error: within (2 s) is longer than the step's timeout (1 s)"},
    {"timeline:\n  - app: {id: a, connect: yes}\n  - app: {id: a, command: stat, "
     "expect: {within: 0}}\n",
     "x.yaml:3:50: error: 0 is out of range (0.001..3600 s)"},
    {"timeline:\n  - app: {id: a.b-1_c, connect: yes, vehicle: CAR1, wait_online: yes,\n"
     "           timeout: 5s, expect: {within: 4s}}\n"
     "  - app: {id: a.b-1_c, command: 'charge mode range', timeout: 2s,\n"
     "           expect: {response: 'OK', contains: K, match: '^O', within: 500ms}}\n"
     "  - app: {id: a.b-1_c, disconnect: yes}\n  - app: {id: a.b-1_c, connect: yes}\n"
     "  - app: {id: a.b-1_c, drop: yes}\n"
     "expect:\n  - {metric: s.v3.peers, value: 0, after: 3}\n",
     NULL},
  };
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    struct sim_diag d = SIM_DIAG_INIT;
    struct scenario *sc = NULL;
    int rc = scenario_load_string(cases[i].text, strlen(cases[i].text), "x.yaml", &sc, &d);
    char *t = diag_text(&d);
    if (getenv("DUMP"))
      fprintf(stderr, "%zu: %s", i, t);
    if (cases[i].msg ? rc >= 0 || !strstr(t, cases[i].msg) : rc != 0)
      print_error("case %zu: rc %d, got:\n%swant:\n%s\n", i, rc, t,
                  cases[i].msg ? cases[i].msg : "(no error)");
    free(t);
    if (!cases[i].msg) {
      assert_int_equal(sc->n_steps, 5);
      const struct scenario_app_step *c = &sc->steps[0].u.app;
      assert_int_equal(sc->steps[0].kind, STEP_APP);
      assert_string_equal(scenario_step_kind_name(STEP_APP), "app");
      assert_int_equal(c->action, APP_CONNECT);
      assert_string_equal(c->id, "a.b-1_c");
      assert_string_equal(c->vehicle, "CAR1");
      assert_true(c->wait_online);
      assert_true(c->timeout == 5);
      const struct scenario_app_step *m = &sc->steps[1].u.app;
      assert_int_equal(m->action, APP_COMMAND);
      assert_string_equal(m->command, "charge mode range");
      assert_true(m->timeout == 2);
      assert_int_equal(sc->steps[2].u.app.action, APP_DISCONNECT);
      assert_int_equal(sc->steps[4].u.app.action, APP_DROP);
      assert_true(sc->steps[3].u.app.timeout == SCENARIO_APP_TIMEOUT);
      assert_true(sc->steps[3].u.app.check == SIZE_MAX);
      /* the checks in file order: connect's (line 3), command's (line 5), the metric's */
      assert_int_equal(sc->n_expects, 3);
      assert_int_equal(c->check, 0);
      assert_int_equal(m->check, 1);
      assert_null(sc->expects[0].metric);
      assert_int_equal(sc->expects[0].when, EXPECT_AFTER_STEP);
      assert_int_equal(sc->expects[0].step, 0);
      assert_true(sc->expects[0].within == 4);
      assert_int_equal(sc->expects[1].step, 1);
      assert_string_equal(sc->expects[1].response, "OK");
      assert_string_equal(sc->expects[1].contains, "K");
      assert_string_equal(sc->expects[1].match, "^O");
      assert_non_null(sc->expects[1].match_re);
      assert_true(sc->expects[1].within == 0.5);
      assert_string_equal(sc->expects[2].metric, "s.v3.peers");
      assert_true(scenario_has_apps(sc));
    }
    scenario_free(sc);
    sim_diag_cleanup(&d);
  }
}

static void test_every_step(void **state)
{
  struct sim_diag d = SIM_DIAG_INIT;
  struct scenario *sc = NULL;
  int rc = scenario_load_string(every_step, strlen(every_step), "every.yaml", &sc, &d);
  if (rc) {
    char *t = diag_text(&d);
    fail_msg("%s", t);
  }
  assert_string_equal(sc->name, "every step");
  assert_true(sc->has_seed);
  assert_int_equal(sc->seed, 42);
  assert_true(fabs(sc->tick - 0.5) < 1e-12);
  assert_int_equal(sc->start_utc_ns / 1000000000, 1717228800);
  const struct scenario_vehicle *v = &sc->vehicle;
  assert_string_equal(v->id, "CAR-1");
  assert_true(fabs(v->capacity_kwh - 62) < 1e-9);
  assert_true(fabs(v->consumption - 160) < 1e-9);
  assert_true(fabs(v->ambient - 10) < 1e-9);
  assert_true(fabs(v->tpms_kpa[0] - 248.211) < 0.01);
  assert_true(fabs(v->tpms_kpa[2] - 250) < 1e-9);
  assert_true(fabs(v->location.alt - 520) < 1e-9);
  assert_true(fabs(v->ideal_consumption - 144) < 1e-9); /* default 0.9 x consumption */
  assert_int_equal(sc->n_steps, 13);
  assert_int_equal(sc->steps[0].kind, STEP_PARK);
  assert_true(fabs(sc->steps[0].u.park.duration - 90) < 1e-9);
  const struct scenario_step *dr = &sc->steps[1];
  assert_int_equal(dr->kind, STEP_DRIVE);
  assert_string_equal(dr->name, "trip");
  assert_int_equal(dr->line, 16);
  assert_int_equal(dr->u.drive.n_profile, 2);
  assert_int_equal(dr->u.drive.n_route, 2);
  assert_string_equal(dr->u.drive.route[1].name, "Office");
  assert_true(fabs(dr->u.drive.speed - 48.28032) < 1e-6);
  const struct scenario_charge *c = &sc->steps[2].u.charge;
  assert_int_equal(c->type, CHARGE_CHADEMO);
  assert_true(c->dc);
  assert_int_equal(c->timer_start, 23 * 3600 + 30 * 60);
  assert_false(c->wait);
  assert_true(fabs(c->taper_soc - 80) < 1e-9); /* DC default */
  assert_true(fabs(c->efficiency - 0.95) < 1e-9);
  assert_string_equal(c->mode, "standard");
  assert_int_equal(sc->steps[3].kind, STEP_UNPLUG);
  assert_true(fabs(sc->steps[4].u.climate.setpoint - 21.111) < 0.001);
  assert_int_equal(sc->steps[7].u.door.door[DOOR_TRUNK], 1);
  assert_int_equal(sc->steps[7].u.door.door[DOOR_FL], 0);
  assert_int_equal(sc->steps[7].u.door.door[DOOR_RR], -1);
  assert_int_equal(sc->steps[8].u.set.n, 3);
  assert_string_equal(sc->steps[8].u.set.values[1], "230,231,232,233");
  assert_string_equal(sc->steps[9].u.notify.subtype, "usr.test.alert");
  assert_string_equal(sc->steps[11].u.event.data, "1,2");
  assert_int_equal(sc->n_expects, 5);
  assert_true(sc->expects[0].has_min && sc->expects[0].has_max);
  assert_int_equal(sc->expects[0].when, EXPECT_AT_END);
  assert_int_equal(sc->expects[1].when, EXPECT_AT_TIME);
  assert_true(fabs(sc->expects[1].at - 5400) < 1e-9);
  assert_int_equal(sc->expects[2].when, EXPECT_AFTER_STEP);
  assert_int_equal(sc->expects[2].step, 1);
  assert_int_equal(sc->expects[3].step, 2);
  assert_int_equal(sc->expects[4].defined, 1);
  scenario_free(sc);
  sim_diag_cleanup(&d);
}

/* fuzz_scenario: without a vehicle: section the derived defaults were never filled in
 * (ideal_consumption 0 made v.b.range.full inf; cabin and battery started at 0 °C). */
static void test_defaults_without_vehicle(void **state)
{
  static const char text[] = "name: no vehicle section\n";
  struct sim_diag d = SIM_DIAG_INIT;
  struct scenario *sc = NULL;
  assert_int_equal(scenario_load_string(text, strlen(text), "t.yaml", &sc, &d), 0);
  const struct scenario_vehicle *v = &sc->vehicle;
  assert_true(fabs(v->ideal_consumption - 144) < 1e-9);
  assert_true(fabs(v->cabin_temp - 15) < 1e-9);
  assert_true(fabs(v->battery_temp - 15) < 1e-9);
  scenario_free(sc);
  sim_diag_cleanup(&d);
}

/* The vehicle key table: fixed defaults, percentages stored as fractions, and the derived
 * defaults (def x another key) that follow the keys they derive from unless given. */
static void test_vehicle_table(void **state)
{
  static const struct {
    const char *yaml;
    double ideal, cabin, battery, regen, ceff;
    int cells;
    bool locked;
  } cases[] = {
    {"name: t\n", 144, 15, 15, 0.6, 0.9, 96, true},
    {"vehicle: {consumption: 200, ambient: 20}\n", 180, 20, 20, 0.6, 0.9, 96, true},
    {"vehicle: {ambient: 20, cabin_temp: 25}\n", 144, 25, 20, 0.6, 0.9, 96, true},
    {"vehicle: {consumption: 200, ideal_consumption: 150, battery_temp: 5}\n", 150, 15, 5, 0.6,
     0.9, 96, true},
    {"vehicle: {regen: 50%, charge_efficiency: 95, cells: 108, locked: no}\n", 144, 15, 15,
     0.5, 0.95, 108, false},
  };
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    struct sim_diag d = SIM_DIAG_INIT;
    struct scenario *sc = NULL;
    if (scenario_load_string(cases[i].yaml, strlen(cases[i].yaml), "t.yaml", &sc, &d) != 0)
      fail_msg("case %zu: %s", i, d.n ? d.v[0].msg : "?");
    const struct scenario_vehicle *v = &sc->vehicle;
    if (fabs(v->ideal_consumption - cases[i].ideal) > 1e-9 ||
        fabs(v->cabin_temp - cases[i].cabin) > 1e-9 ||
        fabs(v->battery_temp - cases[i].battery) > 1e-9 ||
        fabs(v->regen - cases[i].regen) > 1e-9 ||
        fabs(v->charge_efficiency - cases[i].ceff) > 1e-9 || v->cells != cases[i].cells ||
        v->locked != cases[i].locked)
      fail_msg("case %zu: ideal %g cabin %g battery %g regen %g ceff %g cells %d locked %d", i,
               v->ideal_consumption, v->cabin_temp, v->battery_temp, v->regen,
               v->charge_efficiency, v->cells, v->locked);
    assert_true(fabs(v->location.lat - 52.520008) < 1e-9 && v->location.name == NULL);
    scenario_free(sc);
    sim_diag_cleanup(&d);
  }
  (void)state;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_bad_fixtures),
    cmocka_unit_test(test_fixture_table_complete),
    cmocka_unit_test(test_all_errors_reported),
    cmocka_unit_test(test_missing_file),
    cmocka_unit_test(test_shipped_scenarios_load),
    cmocka_unit_test(test_quantities),
    cmocka_unit_test(test_bad_start_date),
    cmocka_unit_test(test_start_realtime),
    cmocka_unit_test(test_range_messages),
    cmocka_unit_test(test_timer_syntax),
    cmocka_unit_test(test_every_step),
    cmocka_unit_test(test_app_steps),
    cmocka_unit_test(test_defaults_without_vehicle),
    cmocka_unit_test(test_vehicle_table),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
