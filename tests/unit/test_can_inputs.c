/*
 * test_can_inputs.c - the CAN input values and their set-up: bus specs "[N=]backend:arg"
 * (can/spec.h), traces "[N=]FILE", id filters and bus maps (can/inputs.h, trace/replay.h),
 * then can_inputs_open()/start() on a module: live buses where asked, trace buses for the
 * module's buses that have none, frames routed by number; the end of the replays (one done
 * call with the status), their summed counters and their diagnostics.  Also the arguments of
 * the network client backends (gvret:, socketcand:), parsed at open.
 */
#include "testutil.h"

#include <ev.h>
#include <string.h>
#include <unistd.h>

#include "can/bus.h"
#include "can/inputs.h"
#include "can/spec.h"
#include "core/array.h"
#include "core/error.h"
#include "core/loop.h"
#include "model/sim.h"
#include "trace/replay.h"

static void test_bus_specs(void **state)
{
  (void)state;
  static const struct {
    const char *spec;
    int rc;
    uint8_t num;        /* when rc == 0 */
    const char *scheme; /* when rc == 0 */
    const char *arg;    /* when rc == 0 */
    int col;            /* when rc != 0 */
    const char *msg;    /* when rc != 0: a part of the message */
  } cases[] = {
    {"socketcan:can0", 0, 0, "socketcan", "can0", 0, NULL},
    {"2=slcan:/dev/ttyUSB0@250000", 0, 2, "slcan", "/dev/ttyUSB0@250000", 0, NULL},
    {"8=mem:x=y", 0, 8, "mem", "x=y", 0, NULL},
    {"mem:a=b", 0, 0, "mem", "a=b", 0, NULL}, /* '=' after ':' is the argument's */
    {"9=mem:x", SIM_ECONFIG, 0, NULL, NULL, 1, "bus number must be 1..8"},
    {"0=mem:x", SIM_ECONFIG, 0, NULL, NULL, 1, "bus number must be 1..8"},
    {"x=mem:x", SIM_ECONFIG, 0, NULL, NULL, 1, "bus number must be 1..8"},
    {"usb:x", SIM_ECONFIG, 0, NULL, NULL, 1, "unknown CAN backend 'usb'"},
    {"2=usb:x", SIM_ECONFIG, 0, NULL, NULL, 3, "unknown CAN backend 'usb'"},
    {"trace:replay1", SIM_ECONFIG, 0, NULL, NULL, 1, "unknown CAN backend 'trace'"},
    {"can0", SIM_ECONFIG, 0, NULL, NULL, 1, "expected BACKEND:ARG (socketcan:can0, "},
    {"3=can0", SIM_ECONFIG, 0, NULL, NULL, 3, "in '3=can0'"},
  };
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    struct sim_diag d = SIM_DIAG_INIT;
    uint8_t num = 99;
    const struct sim_canbus_ops *ops = NULL;
    const char *arg = NULL;
    int rc = can_bus_parse_spec(cases[i].spec, &num, &ops, &arg, &d);
    if (rc != cases[i].rc)
      fail_msg("'%s': rc %d, want %d", cases[i].spec, rc, cases[i].rc);
    if (rc == 0) {
      assert_int_equal(num, cases[i].num);
      assert_string_equal(ops->name, cases[i].scheme);
      assert_string_equal(arg, cases[i].arg);
      assert_int_equal(d.n, 0);
    } else {
      assert_int_equal(d.n, 1);
      assert_string_equal(d.v[0].file, ""); /* the caller names the input */
      assert_int_equal(d.v[0].col, cases[i].col);
      if (!strstr(d.v[0].msg, cases[i].msg))
        fail_msg("'%s': message '%s' lacks '%s'", cases[i].spec, d.v[0].msg, cases[i].msg);
    }
    sim_diag_cleanup(&d);
  }
  /* every registry row is found by its scheme, and its example names it */
  for (const struct can_backend_entry *e = can_backends; e->scheme; e++) {
    assert_ptr_equal(can_backend_find(e->scheme, strlen(e->scheme)), e->ops);
    assert_int_equal(strncmp(e->example, e->scheme, strlen(e->scheme)), 0);
  }
  assert_null(can_backend_find("mem", 2));
  assert_string_equal(can_spec_strip_num("2=mem:x"), "mem:x");
  assert_string_equal(can_spec_strip_num("mem:x=2"), "mem:x=2");
}

/* The open of the network client backends (can/backend_net.h): the argument is parsed with no
 * I/O, a good one is kept (host, port, remote bus or channel), a bad one is refused with the
 * backend's message and nothing kept (the sanitizers see the freed private state). */
static void test_client_backend_args(void **state)
{
  (void)state;
  static const struct {
    const char *spec;
    const char *msg; /* NULL: accepted */
  } cases[] = {
    {"gvret:ovms.local:23", NULL},
    {"gvret:127.0.0.1:23/2", NULL},
    {"gvret:h", "bad port 'h' (0..65535)"},
    {"gvret::23", "gvret: expected HOST:PORT[/BUS] in ':23'"},
    {"gvret:h:0", "gvret: expected HOST:PORT[/BUS] in 'h:0'"},
    {"gvret:h:99999", "bad port '99999' (0..65535)"},
    {"gvret:h:23/0", "gvret: remote bus must be 1..15 in 'h:23/0'"},
    {"gvret:h:23/16", "gvret: remote bus must be 1..15 in 'h:23/16'"},
    {"gvret:h:23/x", "gvret: remote bus must be 1..15 in 'h:23/x'"},
    {"socketcand:pi:29536/can0", NULL},
    {"socketcand:h:1", "socketcand: expected HOST:PORT/CHANNEL (e.g. socketcand:pi:29536/can0), "
                       "got 'h:1'"},
    {"socketcand:h/can0", "bad port 'h' (0..65535)"},
    {"socketcand::5/can0", "socketcand: HOST and PORT are both needed in ':5/can0'"},
    {"socketcand:h:0/can0", "socketcand: HOST and PORT are both needed in 'h:0/can0'"},
  };
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    struct sim_diag d = SIM_DIAG_INIT;
    struct sim_canbus *bus;
    int rc = can_bus_new(&bus, NULL, cases[i].spec, 1, &d);
    if (!cases[i].msg) {
      if (rc != 0)
        fail_msg("'%s': rc %d, want 0", cases[i].spec, rc);
      assert_int_equal(d.n, 0);
      assert_non_null(bus->priv);
      can_bus_close(bus); /* never started: no client, no socket */
    } else {
      if (rc != SIM_ECONFIG)
        fail_msg("'%s': rc %d, want SIM_ECONFIG", cases[i].spec, rc);
      assert_null(bus);
      assert_int_equal(d.n, 1);
      assert_string_equal(d.v[0].msg, cases[i].msg);
    }
    sim_diag_cleanup(&d);
  }
}

static void test_add_can_and_trace(void **state)
{
  (void)state;
  struct can_inputs_opts o = {0};
  struct sim_diag d = SIM_DIAG_INIT;
  static const char *const specs[] = {"1=mem:a", "2=mem:b", "3=mem:c", "4=mem:d",
                                      "5=mem:e", "6=mem:f", "7=mem:g", "8=mem:h"};
  for (size_t i = 0; i < ARRAY_SIZE(specs); i++)
    assert_int_equal(can_inputs_add_can(&o, specs[i], &d), 0);
  assert_int_equal(o.ncans, SIM_MAX_BUSES);
  assert_int_equal(can_inputs_add_can(&o, "mem:i", &d), SIM_ECONFIG);
  assert_string_equal(d.v[0].msg, "at most 8 buses");
  struct can_inputs_opts o2 = {0};
  assert_int_equal(can_inputs_add_can(&o2, "usb:x", &d), SIM_ECONFIG);
  assert_int_equal(o2.ncans, 0);
  sim_diag_cleanup(&d);

  static const struct {
    const char *arg;
    int rc;
    const char *path;
    uint8_t bus;
  } traces[] = {
    {"drive.crtd", 0, "drive.crtd", 0},
    {"2=drive.crtd", 0, "drive.crtd", 2},
    {"8=a=b.log", 0, "a=b.log", 8},
    {"9=x.log", 0, "9=x.log", 0},   /* not a bus number: part of the name */
    {"0=x.log", 0, "0=x.log", 0},
    {"12=x.log", 0, "12=x.log", 0},
    {"-", 0, "-", 0},               /* standard input */
    {"", SIM_ECONFIG, NULL, 0},
    {"3=", SIM_ECONFIG, NULL, 0},
  };
  struct can_inputs_opts t = {0};
  for (size_t i = 0; i < ARRAY_SIZE(traces); i++) {
    int n = t.ntraces;
    int rc = can_inputs_add_trace(&t, traces[i].arg, &d);
    if (rc != traces[i].rc)
      fail_msg("'%s': rc %d, want %d", traces[i].arg, rc, traces[i].rc);
    if (rc == 0) {
      assert_string_equal(t.traces[n].path, traces[i].path);
      assert_int_equal(t.traces[n].bus, traces[i].bus);
    } else {
      assert_int_equal(t.ntraces, n);
      assert_string_equal(d.v[d.n - 1].msg, "needs a file name");
    }
  }
  while (t.ntraces < CAN_INPUTS_MAX_TRACES)
    assert_int_equal(can_inputs_add_trace(&t, "x.log", &d), 0);
  assert_int_equal(can_inputs_add_trace(&t, "x.log", &d), SIM_ECONFIG);
  assert_string_equal(d.v[d.n - 1].msg, "at most 8 traces");
  sim_diag_cleanup(&d);
}

static void test_filters_and_maps(void **state)
{
  (void)state;
  struct can_inputs_opts o = {0};
  struct sim_diag d = SIM_DIAG_INIT;
  assert_int_equal(can_inputs_add_filter(&o, "1DB,700/7F0", &d), 0);
  assert_int_equal(can_inputs_add_filter(&o, "18DAF110", &d), 0); /* appends */
  assert_int_equal(o.trace.nfilters, 3);
  assert_int_equal(o.trace.filters[1].mask, 0x7F0);
  assert_true(o.trace.filters[2].ext);
  static const struct {
    const char *s;
    int col;
  } badf[] = {{"1G", 2}, {"xyz", 1}, {"1DB/ZZ", 5}, {"1DB;", 4}, {"1DB,,", 5}};
  for (size_t i = 0; i < ARRAY_SIZE(badf); i++) {
    struct can_inputs_opts x = {0};
    assert_int_equal(can_inputs_add_filter(&x, badf[i].s, &d), SIM_EPARSE);
    if (d.v[d.n - 1].col != badf[i].col)
      fail_msg("'%s': column %d, want %d", badf[i].s, d.v[d.n - 1].col, badf[i].col);
  }
  sim_diag_cleanup(&d);

  static const struct {
    const char *s;
    int rc;
    size_t n;
    int col;
  } maps[] = {
    {"can0=1,can1=2", 0, 2, 0},
    {"2=1", 0, 1, 0},
    {"can0", SIM_EPARSE, 0, 1},
    {"can0=9", SIM_EPARSE, 0, 6},
    {"can0=1,x", SIM_EPARSE, 0, 8},
    {"=1", SIM_EPARSE, 0, 1},
    {"can0=1x", SIM_EPARSE, 0, 6},
    {"a=1,b=1,c=1,d=1,e=1,f=1,g=1,h=1,i=1", SIM_ELIMIT, 0, 33},
  };
  for (size_t i = 0; i < ARRAY_SIZE(maps); i++) {
    struct trace_replay_opts ro = {0};
    int rc = trace_replay_parse_map(&ro, maps[i].s, &d);
    if (rc != maps[i].rc)
      fail_msg("'%s': rc %d, want %d", maps[i].s, rc, maps[i].rc);
    if (rc == 0)
      assert_int_equal(ro.nmap, maps[i].n);
    else if (d.v[d.n - 1].col != maps[i].col)
      fail_msg("'%s': column %d, want %d", maps[i].s, d.v[d.n - 1].col, maps[i].col);
  }
  struct trace_replay_opts ro = {0};
  assert_int_equal(trace_replay_parse_map(&ro, "can1=2,1=3", &d), 0);
  assert_string_equal(ro.map[0].from, "can1");
  assert_int_equal(ro.map[0].to, 2);
  assert_string_equal(ro.map[1].from, "1");
  assert_int_equal(ro.map[1].to, 3);
  sim_diag_cleanup(&d);
}

struct seen {
  int n;
  uint8_t bus[16];
};

static void on_rx(void *ctx, struct sim_canbus *bus, const struct sim_frame *f)
{
  (void)bus;
  struct seen *s = ctx;
  if (s->n < 16)
    s->bus[s->n++] = f->bus;
}

/* A live bus on 2, a trace with frames for buses 1, 2 and 5: bus 1 gets a trace bus, bus 2's
 * frames go into the live bus, bus 5 has none (unrouted). */
static void test_open_and_route(void **state)
{
  (void)state;
  const char *path = test_write_temp(".crtd", "1.000000 1R11 100 01\n"
                                              "1.010000 2R11 200 02\n"
                                              "1.020000 5R11 500 05\n");
  struct ev_loop *ev = ev_loop_new(EVFLAG_AUTO);
  struct sim_loop *l = sim_loop_new(ev, SIM_CLOCK_FAST, 1, 0);
  struct sim *sim = sim_new(l, NULL, 1);
  struct can_inputs_opts o = {0};
  struct sim_diag d = SIM_DIAG_INIT;
  assert_int_equal(can_inputs_add_can(&o, "2=mem:live", &d), 0);
  assert_int_equal(can_inputs_add_trace(&o, path, &d), 0);
  struct can_inputs *in;
  assert_int_equal(can_inputs_open(&in, sim, &o, &d), 0);
  static const char *const want[] = {"trace:replay1", "mem:live", "trace:replay3",
                                     "trace:replay4"};
  for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
    assert_non_null(sim->buses[i]);
    assert_string_equal(sim->buses[i]->spec, want[i]);
    assert_int_equal(sim->buses[i]->num, i + 1);
  }
  for (int i = CAN_INPUTS_TRACE_BUSES; i < SIM_MAX_BUSES; i++)
    assert_null(sim->buses[i]);
  struct seen s1 = {0}, s2 = {0};
  can_bus_set_rx(sim->buses[0], on_rx, &s1);
  can_bus_set_rx(sim->buses[1], on_rx, &s2);
  struct sim_frame f = {.id = 0x7DF, .len = 1};
  assert_int_equal(can_bus_send(sim->buses[0], &f), 0); /* a trace bus takes what is sent */
  assert_int_equal(can_inputs_start(in, &o, NULL, NULL, &d), 0);
  assert_int_equal(sim_loop_run(l), 0);
  assert_int_equal(s1.n, 1);
  assert_int_equal(s1.bus[0], 1);
  assert_int_equal(s2.n, 1);
  assert_int_equal(s2.bus[0], 2);
  struct sbuf b = SBUF_INIT;
  can_inputs_report(in, &b);
  assert_non_null(strstr(sbuf_str(&b), ": 2 frames in "));
  assert_non_null(strstr(sbuf_str(&b), "unrouted 1,"));
  assert_int_equal(can_inputs_format_errors(in, &b), 0);
  sbuf_free(&b);
  can_inputs_free(in);
  for (int i = 0; i < SIM_MAX_BUSES; i++)
    assert_null(sim->buses[i]); /* what it opened is closed and forgotten */

  /* the same bus twice; a bad backend argument; a missing trace file */
  struct can_inputs_opts t = {0};
  assert_int_equal(can_inputs_add_can(&t, "mem:a", &d), 0);
  assert_int_equal(can_inputs_add_can(&t, "1=mem:b", &d), 0);
  assert_int_equal(can_inputs_open(&in, sim, &t, &d), SIM_ECONFIG);
  assert_string_equal(d.v[d.n - 1].msg, "bus 1 is given twice");
  can_inputs_free(in);
  struct can_inputs_opts u = {0};
  assert_int_equal(can_inputs_add_can(&u, "slcan:/dev/ttyX@12345", &d), 0);
  assert_int_equal(can_inputs_open(&in, sim, &u, &d), SIM_ECONFIG);
  assert_non_null(strstr(d.v[d.n - 1].msg, "unsupported bitrate '12345'"));
  can_inputs_free(in);
  struct can_inputs_opts m = {0};
  assert_int_equal(can_inputs_add_trace(&m, "/nonexistent/x.crtd", &d), 0);
  assert_int_equal(can_inputs_open(&in, sim, &m, &d), 0);
  assert_true(can_inputs_start(in, &m, NULL, NULL, &d) < 0);
  assert_string_equal(d.v[d.n - 1].file, "/nonexistent/x.crtd");
  can_inputs_free(in);
  sim_diag_cleanup(&d);
  sim_free(sim);
  sim_loop_free(l);
  ev_loop_destroy(ev);
}

struct done {
  int calls, status;
};

static void on_done(void *ctx, int status)
{
  struct done *dn = ctx;
  dn->calls++;
  dn->status = status;
}

/* Two traces, one with a bad line: with keep_going the bad line is skipped and counted, done
 * is called once with 0 after both ended, the totals add both traces up and the diagnostic
 * names the file and line; without it that replay stops and done gets its error. */
static void test_done_totals_errors(void **state)
{
  (void)state;
  char good[256], bad[256];
  snprintf(good, sizeof(good), "%s", test_write_temp(".crtd", "1.000000 1R11 100 01\n"
                                                              "1.010000 1R11 101 02\n"
                                                              "1.020000 7R11 700 07\n"));
  snprintf(bad, sizeof(bad), "%s", test_write_temp(".crtd", "1.000000 1R11 200 01\n"
                                                             "1.005000 1R11 XYZ 01\n"
                                                             "1.010000 1R11 201 02\n"));
  struct trace_replay_stats sum;
  memset(&sum, 0xff, sizeof(sum));
  can_inputs_totals(NULL, &sum); /* no inputs: all 0 */
  assert_int_equal(sum.frames, 0);
  assert_int_equal(sum.bad_lines, 0);
  for (int keep = 1; keep >= 0; keep--) {
    struct ev_loop *ev = ev_loop_new(EVFLAG_AUTO);
    struct sim_loop *l = sim_loop_new(ev, SIM_CLOCK_FAST, 1, 0);
    struct sim *sim = sim_new(l, NULL, 1);
    struct can_inputs_opts o = {0};
    struct sim_diag d = SIM_DIAG_INIT;
    o.trace.replay.keep_going = keep;
    assert_int_equal(can_inputs_add_trace(&o, good, &d), 0);
    assert_int_equal(can_inputs_add_trace(&o, bad, &d), 0);
    struct can_inputs *in;
    assert_int_equal(can_inputs_open(&in, sim, &o, &d), 0);
    struct done dn = {0, 1};
    assert_int_equal(can_inputs_start(in, &o, on_done, &dn, &d), 0);
    assert_int_equal(dn.calls, 0);
    sim_loop_run(l);
    assert_int_equal(dn.calls, 1);
    can_inputs_totals(in, &sum);
    struct sbuf b = SBUF_INIT;
    size_t nerr = can_inputs_format_errors(in, &b);
    assert_int_equal(nerr, 1);
    char where[300];
    snprintf(where, sizeof(where), "%s:2:", bad);
    if (strncmp(sbuf_str(&b), where, strlen(where)))
      fail_msg("diagnostic '%s' does not begin with '%s'", sbuf_str(&b), where);
    assert_non_null(strstr(sbuf_str(&b), ": error: "));
    if (keep) {
      assert_int_equal(dn.status, 0);
      assert_int_equal(sum.frames, 4); /* 2 + 2 delivered */
      assert_int_equal(sum.bad_lines, 1);
      assert_int_equal(sum.unrouted, 1); /* bus 7 has no bus */
    } else {
      assert_true(dn.status < 0);
      assert_int_equal(sum.frames, 3); /* the second trace stopped at its bad line */
    }
    sbuf_free(&b);
    can_inputs_free(in);
    sim_diag_cleanup(&d);
    sim_free(sim);
    sim_loop_free(l);
    ev_loop_destroy(ev);
  }
  unlink(good);
  unlink(bad);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_bus_specs),
    cmocka_unit_test(test_client_backend_args),
    cmocka_unit_test(test_add_can_and_trace),
    cmocka_unit_test(test_filters_and_maps),
    cmocka_unit_test(test_open_and_route),
    cmocka_unit_test(test_done_totals_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
