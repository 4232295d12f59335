/*
 * test_can_network.c - the --serve and --bridge values and their set-up on a module
 * (can/network.h): specs checked when they are added (bad ones refused with their message,
 * not kept), the limits, the in-memory buses made for served or bridged buses that have no
 * --can ("mem:served-N") and closed again, and the errors of the set-up.
 */
#include "testutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "can/network.h"
#include "core/array.h"
#include "core/error.h"
#include "core/loop.h"
#include "model/sim.h"
#include "simenv.h"

/* --serve specs: accepted ones are kept in order; a refused one leaves the options as they
 * were, with one message (no file name: the caller names the option) at its column. */
static void test_add_serve(void **state)
{
  (void)state;
  static const struct {
    const char *spec;
    int rc;
    int col;         /* when rc != 0 */
    const char *msg; /* when rc != 0: a part of the message */
  } cases[] = {
    {"socketcand:29536", 0, 0, NULL},
    {"2=socketcand:127.0.0.1:0", 0, 0, NULL},
    {"gvret:23", 0, 0, NULL},
    {"elm327:35000", 0, 0, NULL},
    {"3=elm327:pty", 0, 0, NULL},
    {"9=socketcand:1", SIM_ECONFIG, 1, "bus number must be 1..8 in '9=socketcand:1'"},
    {"x=socketcand:1", SIM_ECONFIG, 1, "bus number must be 1..8"},
    {"socketcand", SIM_ECONFIG, 1, "expected SCHEME:ARG (socketcand:29536, "},
    {"2=socketcand", SIM_ECONFIG, 3, "expected SCHEME:ARG"},
    {"bogus:1", SIM_ECONFIG, 1, "unknown server 'bogus' (socketcand, gvret, elm327)"},
    {"2=gvret:23", SIM_ECONFIG, 1, "gvret serves every bus: no N= in '2=gvret:23'"},
    {"socketcand:99999", SIM_ECONFIG, 0, "bad port '99999' (0..65535)"},
    {"socketcand:port", SIM_ECONFIG, 0, "bad port 'port'"},
  };
  struct can_network_opts o = {0};
  assert_false(can_network_wanted(&o));
  int kept = 0;
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    struct sim_diag d = SIM_DIAG_INIT;
    int rc = can_network_add_serve(&o, cases[i].spec, &d);
    if (rc != cases[i].rc)
      fail_msg("'%s': rc %d, want %d", cases[i].spec, rc, cases[i].rc);
    if (rc == 0) {
      assert_int_equal(d.n, 0);
      assert_ptr_equal(o.serve[kept], cases[i].spec); /* borrowed, not copied */
      kept++;
    } else {
      assert_int_equal(d.n, 1);
      assert_string_equal(d.v[0].file, "");
      if (!strstr(d.v[0].msg, cases[i].msg))
        fail_msg("'%s': message '%s' lacks '%s'", cases[i].spec, d.v[0].msg, cases[i].msg);
      if (cases[i].col && d.v[0].col != cases[i].col)
        fail_msg("'%s': column %d, want %d", cases[i].spec, d.v[0].col, cases[i].col);
    }
    assert_int_equal(o.nserve, kept);
    sim_diag_cleanup(&d);
  }
  assert_true(can_network_wanted(&o));
  struct sim_diag d = SIM_DIAG_INIT;
  while (o.nserve < CAN_SERVE_MAX)
    assert_int_equal(can_network_add_serve(&o, "socketcand:0", &d), 0);
  assert_int_equal(can_network_add_serve(&o, "socketcand:0", &d), SIM_ECONFIG);
  assert_string_equal(d.v[d.n - 1].msg, "at most 8 servers");
  assert_int_equal(o.nserve, CAN_SERVE_MAX);
  sim_diag_cleanup(&d);
}

/* --bridge specs: the same rules, and the bridge's own parse errors (bridge.h). */
static void test_add_bridge(void **state)
{
  (void)state;
  static const struct {
    const char *spec;
    int rc;
    const char *msg;
  } cases[] = {
    {"1=2", 0, NULL},
    {"3>4,7E0/7F0", 0, NULL},
    {"1=1", SIM_ECONFIG, NULL},
    {"1=9", SIM_ECONFIG, NULL},
    {"1=2,rate=0", SIM_ECONFIG, "rate= needs a positive number of frames/s in '1=2,rate=0'"},
    {"1=2,xyz", SIM_EPARSE, NULL},
  };
  struct can_network_opts o = {0};
  struct sim_diag d = SIM_DIAG_INIT;
  int kept = 0;
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    size_t before = d.n;
    int rc = can_network_add_bridge(&o, cases[i].spec, &d);
    if (rc != cases[i].rc)
      fail_msg("'%s': rc %d, want %d", cases[i].spec, rc, cases[i].rc);
    if (rc == 0) {
      assert_int_equal(d.n, before);
      kept++;
    } else {
      assert_int_equal(d.n, before + 1);
      if (cases[i].msg)
        assert_string_equal(d.v[d.n - 1].msg, cases[i].msg);
    }
    assert_int_equal(o.nbridge, kept);
  }
  assert_true(can_network_wanted(&o));
  while (o.nbridge < CAN_NETWORK_MAX_BRIDGES)
    assert_int_equal(can_network_add_bridge(&o, "1=2", &d), 0);
  assert_int_equal(can_network_add_bridge(&o, "1=2", &d), SIM_ECONFIG);
  assert_string_equal(d.v[d.n - 1].msg, "at most 8 bridges");
  sim_diag_cleanup(&d);
}

static int setup(void **state)
{
  struct test_sim *e = calloc(1, sizeof(*e));
  test_sim_new(e);
  *state = e;
  return 0;
}

static int teardown(void **state)
{
  test_sim_free(*state);
  free(*state);
  return 0;
}

/* A server on bus 2 and a bridge between 3 (the caller's bus) and 4: buses 2 and 4 are made
 * in memory, bus 3 is used as it is, bus 1 stays empty; freeing closes only what was made. */
static void test_open_makes_buses(void **state)
{
  struct test_sim *e = *state;
  struct sim_diag d = SIM_DIAG_INIT;
  struct sim_canbus *mine;
  assert_int_equal(can_bus_new(&mine, e->loop, "mem:mine", 3, &d), 0);
  assert_int_equal(can_bus_start(mine), 0);
  e->sim->buses[2] = mine;
  struct can_network_opts o = {0};
  assert_int_equal(can_network_add_serve(&o, "2=socketcand:127.0.0.1:0", &d), 0);
  assert_int_equal(can_network_add_bridge(&o, "3=4", &d), 0);
  struct can_network *n;
  assert_int_equal(can_network_open(&n, e->sim, &o, NULL, NULL, &d), 0);
  assert_int_equal(can_network_start_bridges(n, &d), 0);
  assert_int_equal(d.n, 0);
  assert_null(e->sim->buses[0]);
  assert_non_null(e->sim->buses[1]);
  assert_string_equal(e->sim->buses[1]->spec, "mem:served-2");
  assert_int_equal(e->sim->buses[1]->num, 2);
  assert_ptr_equal(e->sim->buses[2], mine);
  assert_non_null(e->sim->buses[3]);
  assert_string_equal(e->sim->buses[3]->spec, "mem:served-4");
  for (int b = 4; b < SIM_MAX_BUSES; b++)
    assert_null(e->sim->buses[b]);
  struct sbuf out = SBUF_INIT;
  can_network_describe(n, &out);
  if (strncmp(sbuf_str(&out), "serving bus 2 as socketcand on 127.0.0.1:", 41))
    fail_msg("described as '%s'", sbuf_str(&out));
  sbuf_reset(&out);
  can_network_report(n, e->sim, &out);
  assert_non_null(strstr(sbuf_str(&out), "clients 0"));
  sbuf_free(&out);
  can_network_free(n);
  assert_null(e->sim->buses[1]);
  assert_null(e->sim->buses[3]);
  assert_ptr_equal(e->sim->buses[2], mine); /* the caller's bus stays */
  e->sim->buses[2] = NULL;
  can_bus_close(mine);
  sim_diag_cleanup(&d);
}

/* An all-bus server without any bus gets bus 1; a second server on a port in use fails with
 * -EADDRINUSE and a message naming the spec and the address. */
static void test_open_errors(void **state)
{
  struct test_sim *e = *state;
  struct sim_diag d = SIM_DIAG_INIT;
  struct can_network_opts o = {0};
  assert_int_equal(can_network_add_serve(&o, "gvret:127.0.0.1:0", &d), 0);
  struct can_network *n;
  assert_int_equal(can_network_open(&n, e->sim, &o, NULL, NULL, &d), 0);
  assert_non_null(e->sim->buses[0]);
  assert_string_equal(e->sim->buses[0]->spec, "mem:served-1");
  struct sbuf out = SBUF_INIT;
  can_network_describe(n, &out);
  const char *w = strstr(sbuf_str(&out), " on 127.0.0.1:");
  assert_non_null(w);
  char spec[64];
  snprintf(spec, sizeof(spec), "gvret:127.0.0.1:%d", atoi(w + 14));
  struct can_network_opts o2 = {0};
  assert_int_equal(can_network_add_serve(&o2, spec, &d), 0);
  struct can_network *n2;
  assert_int_equal(can_network_open(&n2, e->sim, &o2, NULL, NULL, &d), -EADDRINUSE);
  assert_true(d.n > 0);
  char want[96];
  snprintf(want, sizeof(want), "%s: cannot listen on 127.0.0.1:%d", spec, atoi(w + 14));
  if (strncmp(d.v[d.n - 1].msg, want, strlen(want)))
    fail_msg("message '%s', want '%s...'", d.v[d.n - 1].msg, want);
  can_network_free(n2);
  assert_non_null(e->sim->buses[0]); /* made by the first, still there */
  can_network_free(n);
  assert_null(e->sim->buses[0]);
  can_network_free(NULL);
  sbuf_free(&out);
  sim_diag_cleanup(&d);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_add_serve),
    cmocka_unit_test(test_add_bridge),
    cmocka_unit_test_setup_teardown(test_open_makes_buses, setup, teardown),
    cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
