/*
 * test_fleet_ids.c - the fleet's pure helpers (fleet/ids.c, fleet/users.c): id patterns, the
 * shard arithmetic (disjoint, covering, balanced) and the --fleet-users CSV with its errors;
 * and the per-car variation of a fleet in virtual time (deterministic, varied).
 */
#include "testutil.h"

#include <ev.h>
#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "core/error.h"
#include "core/loop.h"
#include "fleet/fleet.h"
#include "model/metrics.h"
#include "model/sim.h"
#include "scenario/scenario.h"

static void test_patterns(void **state)
{
  static const struct {
    const char *pattern;
    unsigned long n;
    const char *id; /* NULL = invalid */
  } cases[] = {
    {"SIM%04d", 1, "SIM0001"},
    {"SIM%04d", 12345, "SIM12345"},
    {"car-%d", 7, "car-7"},
    {"%d", 42, "42"},
    {"X%6dY", 3, "X     3Y"},
    {"X%-3dY", 3, "X3  Y"},
    {"100%%-%03u", 5, "100%-005"},
    {"NOPATTERN", 1, NULL},
    {"A%dB%d", 1, NULL},
    {"A%s", 1, NULL},
    {"A%x", 1, NULL},
    {"A%123d", 1, NULL},
    {"A%", 1, NULL},
  };
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    struct sim_diag err = SIM_DIAG_INIT;
    struct sbuf out = SBUF_INIT;
    int rc = fleet_pattern_check(cases[i].pattern, &err);
    if (!cases[i].id) {
      assert_int_equal(rc, SIM_EPARSE);
      assert_int_equal(err.errors, 1);
      assert_true(strstr(sim_diag_last(&err), cases[i].pattern) != NULL);
    } else {
      assert_int_equal(rc, 0);
      fleet_format_id(cases[i].pattern, cases[i].n, &out);
      assert_string_equal(sbuf_str(&out), cases[i].id);
    }
    sim_diag_cleanup(&err);
    sbuf_free(&out);
  }
}

static void test_shard_parse(void **state)
{
  static const struct {
    const char *text;
    int rc;
    unsigned i, k;
  } cases[] = {
    {"0/1", 0, 0, 1},     {"3/4", 0, 3, 4},     {"0/100000", 0, 0, 100000},
    {"4/4", SIM_EPARSE, 0, 0},  {"1/0", SIM_EPARSE, 0, 0},  {"-1/4", SIM_EPARSE, 0, 0}, {"1/", SIM_EPARSE, 0, 0},
    {"/4", SIM_EPARSE, 0, 0},   {"1", SIM_EPARSE, 0, 0},    {"1/4x", SIM_EPARSE, 0, 0}, {"a/4", SIM_EPARSE, 0, 0},
    {"0/100001", SIM_EPARSE, 0, 0},
  };
  for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
    unsigned i = 99, k = 99;
    assert_int_equal(fleet_shard_parse(cases[c].text, &i, &k), cases[c].rc);
    if (cases[c].rc == 0) {
      assert_int_equal(i, cases[c].i);
      assert_int_equal(k, cases[c].k);
    }
  }
}

/* Every car in exactly one shard, shards contiguous and within one car of each other. */
static void test_shard_ranges(void **state)
{
  static const size_t sizes[] = {1, 2, 7, 100, 1000, 9999, 10000, 1000000};
  static const unsigned ks[] = {1, 2, 3, 7, 10, 64, 100};
  for (size_t a = 0; a < ARRAY_SIZE(sizes); a++) {
    for (size_t b = 0; b < ARRAY_SIZE(ks); b++) {
      size_t n = sizes[a], next = 0, lo = (size_t)-1, hi = 0;
      for (unsigned i = 0; i < ks[b]; i++) {
        size_t first, count;
        fleet_shard_range(n, i, ks[b], &first, &count);
        assert_int_equal(first, next);
        next = first + count;
        lo = count < lo ? count : lo;
        hi = count > hi ? count : hi;
      }
      assert_int_equal(next, n);
      assert_true(hi - lo <= 1);
    }
  }
  size_t first, count;
  fleet_shard_range(1000000, 3, 100, &first, &count); /* the docs/scaling.md example */
  assert_int_equal(first, 30000);
  assert_int_equal(count, 10000);
  fleet_shard_range(10, 0, 0, &first, &count);
  assert_int_equal(first, 0);
  assert_int_equal(count, 10);
}

static void test_users(void **state)
{
  static const struct {
    const char *text;
    int rc;
    size_t n;
    const char *last_user, *last_password, *last_vehicle;
    const char *error; /* a part of the first message */
  } cases[] = {
    {"u1,p1,CAR1\n", 0, 1, "u1", "p1", "CAR1", NULL},
    {"user,password,vehicle-id\nu1,p1,A\r\nu2,p2,B", 0, 2, "u2", "p2", "B", NULL},
    {"# comment\n\nu1,\"p,w\"\"x\",A\n", 0, 1, "u1", "p,w\"x", "A", NULL},
    {"u1,,A\n", 0, 1, "u1", "", "A", NULL},
    {"u1,p1\n", SIM_EPARSE, 0, NULL, NULL, NULL, ":1:1: error: expected user,password"},
    {"u1,p1,A,extra\n", SIM_EPARSE, 0, NULL, NULL, NULL, "expected user,password"},
    {"u1,\"secret,A\n", SIM_EPARSE, 0, NULL, NULL, NULL, ":1:4: error: unbalanced quotes"},
    {"a/b,p,A\n", SIM_EPARSE, 0, NULL, NULL, NULL, "the user must not"},
    {"u,p,A B\n", SIM_EPARSE, 0, NULL, NULL, NULL, "the vehicle id must not"},
    {"\n# nothing\n", SIM_EPARSE, 0, NULL, NULL, NULL, "no users"},
  };
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    struct fleet_users u;
    struct sim_diag d = SIM_DIAG_INIT;
    int rc = fleet_users_parse(cases[i].text, strlen(cases[i].text), "u.csv", &u, &d);
    assert_int_equal(rc, cases[i].rc);
    if (rc == 0) {
      assert_int_equal(u.n, cases[i].n);
      assert_string_equal(u.v[u.n - 1].user, cases[i].last_user);
      assert_string_equal(u.v[u.n - 1].password, cases[i].last_password);
      assert_string_equal(u.v[u.n - 1].vehicle_id, cases[i].last_vehicle);
      /* the cars' copies of the password are wiped when they are freed */
      test_free_watch(u.v[u.n - 1].password, strlen(cases[i].last_password) + 1);
      fleet_users_cleanup(&u);
      assert_int_equal(test_free_result(), TEST_FREE_WATCH ? 1 : -1);
    } else {
      struct sbuf b = SBUF_INIT;
      sim_diag_format(&d.v[0], &b);
      assert_non_null(strstr(sbuf_str(&b), cases[i].error));
      assert_null(strstr(sbuf_str(&b), "secret")); /* passwords never in messages */
      sbuf_free(&b);
    }
    fleet_users_cleanup(&u);
    sim_diag_cleanup(&d);
  }
}

/* A fleet of 20 in virtual time, print transport to a memory file: deterministic for one seed,
 * different for another, and the cars differ from each other. */
static void on_stop(struct sim_loop *loop, struct sim_timer *t)
{
  (void)t;
  sim_loop_stop(loop, 0);
}

static char *run_fleet(uint64_t seed)
{
  static const char sc_text[] = "vehicle: {soc: 50%}\ntimeline:\n  - park: 10min\n";
  struct scenario *sc;
  struct sim_diag d = SIM_DIAG_INIT;
  assert_int_equal(scenario_load_string(sc_text, strlen(sc_text), "t.yaml", &sc, &d), 0);
  char *buf = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&buf, &len);
  struct ev_loop *ev = ev_loop_new(EVFLAG_AUTO);
  struct sim_loop *loop = sim_loop_new(ev, SIM_CLOCK_FAST, 1.0, INT64_C(1717228800) * SIM_NS_PER_SEC);
  struct fleet_options o = {.n = 20, .seed = seed, .vary = true, .scenario = sc,
                            .connect_rate = 10};
  o.v3.out = out;
  struct fleet *f;
  struct sim_diag err = SIM_DIAG_INIT;
  assert_int_equal(fleet_new(loop, &o, &f, &err), 0);
  assert_int_equal(err.n, 0);
  assert_int_equal(fleet_size(f), 20);
  assert_string_equal(fleet_car_id(f, 19), "SIM0020");
  assert_int_equal(fleet_start(f), 0);
  struct sim_timer stop;
  sim_timer_init(&stop, on_stop, NULL);
  sim_timer_start(loop, &stop, 10 * 60 * SIM_NS_PER_SEC, 0);
  assert_int_equal(sim_loop_run(loop), 0);
  struct fleet_stats st;
  fleet_get_stats(f, &st);
  assert_int_equal(st.cars, 20);
  assert_int_equal(st.started, 20);
  assert_int_equal(st.connected, 20); /* the print transport: as if connected */
  assert_int_equal(st.synced, 20);
  fleet_free(f);
  sim_loop_free(loop);
  ev_loop_destroy(ev);
  fclose(out);
  scenario_free(sc);
  sim_diag_cleanup(&err);
  return buf;
}

static void test_fleet_variation(void **state)
{
  char *a = run_fleet(1), *b = run_fleet(1), *c = run_fleet(2);
  assert_string_equal(a, b);
  assert_true(strcmp(a, c) != 0);
  /* the cars differ: SIM0001's and SIM0002's SoC */
  const char *s1 = strstr(a, "ovms//SIM0001/metric/v/b/soc "), *s2 = strstr(a, "ovms//SIM0002/metric/v/b/soc ");
  assert_non_null(s1);
  assert_non_null(s2);
  assert_true(strncmp(s1 + 29, s2 + 29, 4) != 0);
  free(a);
  free(b);
  free(c);
}

/* fleet_new() refuses bad options with one message each in the diagnostics, and creates
 * nothing. */
static void test_fleet_refused(void **state)
{
  struct ev_loop *ev = ev_loop_new(EVFLAG_AUTO);
  struct sim_loop *loop = sim_loop_new(ev, SIM_CLOCK_FAST, 1.0, INT64_C(1717228800) * SIM_NS_PER_SEC);
  static const struct {
    size_t n;
    const char *pattern;
    const char *broker;
    const char *error;
  } cases[] = {
    {0, NULL, NULL, "a fleet has 1 to 100000000 cars"},
    {3, "CAR", NULL, "id pattern 'CAR' has no %d: every car would have the same id"},
    {3, NULL, "ftp://x", "ftp://x"},
  };
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    struct fleet_options o = {.n = cases[i].n, .pattern = cases[i].pattern};
    o.v3.broker = cases[i].broker;
    struct fleet *f = (struct fleet *)&o;
    struct sim_diag d = SIM_DIAG_INIT;
    assert_int_equal(fleet_new(loop, &o, &f, &d), SIM_ECONFIG);
    assert_null(f);
    assert_true(d.errors >= 1);
    assert_non_null(strstr(sim_diag_last(&d), cases[i].error));
    sim_diag_cleanup(&d);
  }
  sim_loop_free(loop);
  ev_loop_destroy(ev);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_patterns),
    cmocka_unit_test(test_shard_parse),
    cmocka_unit_test(test_shard_ranges),
    cmocka_unit_test(test_users),
    cmocka_unit_test(test_fleet_variation),
    cmocka_unit_test(test_fleet_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
