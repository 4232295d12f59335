/*
 * test_vehicle_logs.c - the vehicle framework's data records (vehicle/logs.c) field for field:
 * *-LOG-Trip and *-LOG-Grid as OvmsVehicle::NotifyTripLog() and NotifyGridLog() write them
 * (V3/components/vehicle/vehicle.cpp), the storetime gate of "notify log.*.storetime", and
 * the notifications of vehicle/notify.c that carry them.
 */
#include "testutil.h"

#include <ev.h>
#include <string.h>

#include "core/array.h"
#include "core/error.h"
#include "model/config.h"
#include "model/metrics.h"
#include "model/sim.h"
#include "notify/queue.h"
#include "vehicle/logs.h"
#include "vehicle/notify.h"
#include "simenv.h"

/* Version 2: the 44 fields of version 1, then the odometer. */
#define GRID_EMPTY                                                                            \
  "*-LOG-Grid,2,86400,0,0.000000,0.000000,0.0,,,,,,0.0,0.0,0.0,,,,,0.0,0.0,0.0,0,0.000,0.000,"    \
  "0.000,0,0.000,0.000,0.000,0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.0,0.000,,0.000,0.000,0.000,"   \
  "0.000,0.000,0.0"
#define GRID_CHARGING                                                                         \
  "*-LOG-Grid,2,31536000,1,51.507351,-0.127758,35.0,Home;Garage,type2,charging,,standard,16.0,"  \
  "0.0,80.0,,,,,0.0,0.0,0.0,3600,7.500,0.000,0.000,0,0.000,0.000,0.000,55.5,0.0,0.0,0.0,0.0,"    \
  "0.0,0.0,0.0,0.0,0.0,0.000,,0.000,0.000,0.000,0.000,0.000,12345.6"


static void stop_cb(struct sim_loop *loop, struct sim_timer *t)
{
  (void)t;
  sim_loop_stop(loop, 0);
}

/* Runs the loop for ns of simulation time. */
static void run_for(struct sim_loop *loop, int64_t ns)
{
  struct sim_timer stop;
  sim_timer_init(&stop, stop_cb, NULL);
  sim_timer_start(loop, &stop, ns, 0);
  sim_loop_run(loop);
}

struct nv {
  const char *name, *value;
};

static void set_all(struct sim *sim, const struct nv *v, size_t n)
{
  for (size_t k = 0; k < n; k++) {
    struct metric *m = metrics_find(sim->metrics, v[k].name);
    assert_non_null(m);
    assert_true(metric_set_from_string(m, v[k].value, SIM_UNIT_NATIVE) >= 0);
  }
}

/* A *-LOG-Trip record (OvmsVehicle::NotifyTripLog(), V3/components/vehicle/vehicle.cpp), field
 * for field. */
static void test_trip_record(void **state)
{
  struct test_sim e;
  test_sim_new(&e);
  static const struct nv v[] = {
    {"v.p.gpslock", "yes"}, {"v.p.latitude", "51.507351"}, {"v.p.longitude", "-0.127758"},
    {"v.p.altitude", "35"}, {"v.p.location", "Home"}, {"v.p.odometer", "12345.6"},
    {"v.p.trip", "12.3"}, {"v.e.drivetime", "1234"}, {"v.e.drivemode", "0"},
    {"v.b.soc", "80"}, {"v.b.range.est", "250"}, {"v.b.range.ideal", "260"},
    {"v.b.range.full", "320"}, {"v.b.energy.used", "2.345"}, {"v.b.energy.recd", "0.456"},
    {"v.b.coulomb.used", "6.789"}, {"v.b.coulomb.recd", "1.234"}, {"v.b.soh", "100"},
    {"v.b.cac", "95"}, {"v.b.energy.used.total", "1234.567"},
    {"v.b.energy.recd.total", "234.567"}, {"v.b.coulomb.used.total", "3456.789"},
    {"v.b.coulomb.recd.total", "678.901"}, {"v.e.temp", "15"}, {"v.e.cabintemp", "20"},
    {"v.b.temp", "18"}, {"v.i.temp", "30"}, {"v.m.temp", "35"}, {"v.c.12v.temp", "25"},
  };
  set_all(e.sim, v, ARRAY_SIZE(v));
  struct sbuf b = SBUF_INIT;
  vehicle_trip_record(e.sim, 365, &b);
  assert_string_equal(sbuf_str(&b),
                      "*-LOG-Trip,1,31536000,1,51.50735092,-0.12775800,35.0,Home,12345.6,12.3,"
                      "1234,0,80.0,250.0,260.0,320.0,2.345,0.456,6.789,1.234,100.000,,95.000,"
                      "1234.567,234.567,3456.789,678.901,15.0,20.0,18.0,30.0,35.0,25.0,,,,,,");
  sbuf_free(&b);
  test_sim_free(&e);
}

/* The last three fields of a trip record are the minimum and maximum of the tyre vectors
 * (temperature, pressure, health) with one decimal, empty while a vector is undefined. */
static void test_trip_tyres(void **state)
{
  static const struct {
    const char *temp, *pressure, *health; /* NULL: not set */
    const char *tail;
  } cases[] = {
    {"20,22.5,19,21", "240,250.04,245,238.96", "90,100,95,97", ",19.0,22.5,239.0,250.0,90.0,100.0"},
    {"-5.25", NULL, NULL, ",-5.2,-5.2,,,,"},
    {NULL, "230,230,230,230", NULL, ",,,230.0,230.0,,"},
  };
  for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
    struct test_sim e;
    test_sim_new(&e);
    const char *names[] = {"v.t.temp", "v.t.pressure", "v.t.health"};
    const char *values[] = {cases[c].temp, cases[c].pressure, cases[c].health};
    for (size_t k = 0; k < ARRAY_SIZE(names); k++)
      if (values[k]) {
        struct nv one = {names[k], values[k]};
        set_all(e.sim, &one, 1);
      }
    struct sbuf b = SBUF_INIT;
    vehicle_trip_record(e.sim, 1, &b);
    const char *r = sbuf_str(&b);
    size_t n = strlen(r), t = strlen(cases[c].tail);
    if (n < t || strcmp(r + n - t, cases[c].tail))
      fail_msg("case %zu: record '%s' does not end in '%s'", c, r, cases[c].tail);
    sbuf_free(&b);
    test_sim_free(&e);
  }
  (void)state;
}

/* Grid records: nothing set gives the empty fields of every group; a charge in progress fills
 * the position, charge and battery groups, with text through mp_encode (',' -> ';'). */
static void test_grid_record(void **state)
{
  static const struct nv charging[] = {
    {"v.p.gpslock", "yes"},     {"v.p.latitude", "51.507351"}, {"v.p.longitude", "-0.127758"},
    {"v.p.altitude", "35"},     {"v.p.location", "Home,Garage"}, {"v.c.type", "type2"},
    {"v.c.state", "charging"},  {"v.c.mode", "standard"},     {"v.c.climit", "16"},
    {"v.c.limit.soc", "80"},    {"v.c.time", "3600"},         {"v.c.kwh", "7.5"},
    {"v.b.soc", "55.5"},        {"v.p.odometer", "12345.6"},
  };
  static const struct {
    const struct nv *set;
    size_t n;
    long days;
    const char *want;
  } cases[] = {
    {NULL, 0, 1, GRID_EMPTY},
    {charging, ARRAY_SIZE(charging), 365, GRID_CHARGING},
  };
  for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
    struct test_sim e;
    test_sim_new(&e);
    set_all(e.sim, cases[c].set, cases[c].n);
    struct sbuf b = SBUF_INIT;
    vehicle_grid_record(e.sim, cases[c].days, &b);
    assert_string_equal(sbuf_str(&b), cases[c].want);
    sbuf_free(&b);
    test_sim_free(&e);
  }
}

/* NotifyGridLog()/NotifyTripLog() raise a data notification only with a storetime > 0. */
static void test_storetime_gate(void **state)
{
  struct test_sim e;
  test_sim_new(&e);
  int r = sim_notify_reader(e.sim, "test");
  vehicle_notify_grid_log(e.sim);
  vehicle_notify_trip_log(e.sim);
  assert_null(sim_notify_peek(e.sim, r, NOTIFY_DATA));
  assert_int_equal(sim_config_set(e.sim->config, "notify", "log.grid.storetime", "2", NULL), 0);
  vehicle_notify_grid_log(e.sim);
  vehicle_notify_trip_log(e.sim);
  const struct sim_notify_entry *n = sim_notify_peek(e.sim, r, NOTIFY_DATA);
  assert_non_null(n);
  assert_string_equal(n->subtype, "log.grid");
  assert_true(!strncmp(n->text, "*-LOG-Grid,2,172800,", 20));
  assert_int_equal(sim_notify_mark_read(e.sim, r, NOTIFY_DATA, n->id), 0);
  assert_null(sim_notify_peek(e.sim, r, NOTIFY_DATA)); /* no trip record */
  /* 0 switches the record off again; a negative storetime is refused (range 0..3650) and
   * the value before it stays */
  assert_int_equal(sim_config_set(e.sim->config, "notify", "log.grid.storetime", "0", NULL), 0);
  vehicle_notify_grid_log(e.sim);
  assert_null(sim_notify_peek(e.sim, r, NOTIFY_DATA));
  assert_int_equal(sim_config_set(e.sim->config, "notify", "log.grid.storetime", "-3", NULL),
                   SIM_ERANGE);
  vehicle_notify_grid_log(e.sim);
  assert_null(sim_notify_peek(e.sim, r, NOTIFY_DATA));
  /* the trip record with its own key, the days in seconds */
  assert_int_equal(sim_config_set(e.sim->config, "notify", "log.trip.storetime", "7", NULL), 0);
  vehicle_notify_trip_log(e.sim);
  n = sim_notify_peek(e.sim, r, NOTIFY_DATA);
  assert_non_null(n);
  assert_string_equal(n->subtype, "log.trip");
  assert_true(!strncmp(n->text, "*-LOG-Trip,1,604800,", 20));
  test_sim_free(&e);
}

/* NotifyChargeState(): 3 s after a v.c.state change the state's notification with the stat
 * text (here without a vehicle: the firmware's error line), then the grid record. */
static void test_charge_state(void **state)
{
  static const struct {
    const char *st, *sub;
    enum sim_notify_type type;
  } cases[] = {
    {"charging", "charge.started", NOTIFY_INFO}, {"topoff", "charge.toppingoff", NOTIFY_INFO},
    {"done", "charge.done", NOTIFY_INFO},        {"heating", "heating.started", NOTIFY_INFO},
    {"stopped", "charge.stopped", NOTIFY_ALERT}, {"timerwait", "charge.stopped", NOTIFY_INFO},
    {"prepare", NULL, NOTIFY_INFO},
  };
  for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
    struct test_sim e;
    test_sim_new(&e);
    assert_int_equal(vehicle_notify_start(e.sim), 0);
    assert_int_equal(sim_config_set(e.sim->config, "notify", "log.grid.storetime", "1", NULL), 0);
    int r = sim_notify_reader(e.sim, "test");
    struct metric *ss = metrics_find(e.sim->metrics, "v.c.substate");
    if (!strcmp(cases[c].st, "timerwait"))
      metric_set_string(ss, "timerwait");
    metric_set_string(metrics_find(e.sim->metrics, "v.c.state"), cases[c].st);
    run_for(e.loop, 2 * SIM_NS_PER_SEC);
    assert_int_equal(sim_notify_pending(e.sim, r), 0);
    run_for(e.loop, 2 * SIM_NS_PER_SEC);
    for (int t = NOTIFY_INFO; t <= NOTIFY_ALERT; t++) {
      const struct sim_notify_entry *n = sim_notify_peek(e.sim, r, (enum sim_notify_type)t);
      if (!cases[c].sub || t != (int)cases[c].type) {
        assert_null(n);
        continue;
      }
      assert_non_null(n);
      assert_string_equal(n->subtype, cases[c].sub);
      assert_string_equal(n->text, "Error: No vehicle module selected\n");
    }
    const struct sim_notify_entry *g = sim_notify_peek(e.sim, r, NOTIFY_DATA);
    assert_non_null(g);
    assert_string_equal(g->subtype, "log.grid");
    test_sim_free(&e);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_trip_record),
    cmocka_unit_test(test_trip_tyres),
    cmocka_unit_test(test_grid_record),
    cmocka_unit_test(test_storetime_gate),
    cmocka_unit_test(test_charge_state),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
