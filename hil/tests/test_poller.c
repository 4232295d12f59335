/*
 * test_poller.c - the simulator's own poller (hil/poller.c) in virtual time:
 *  - against the simulator's own responders (hil/responder.c) over in-memory buses: a module
 *    (its own struct sim, Leaf ZE1 or i-MiEV) polls a simulated car and the metrics survive
 *    the round trip (SoC, SoH, capacity, 96 cell voltages, temperatures, VIN); the request
 *    frames are the firmware's (0x55 padding, FC 30 00 19 padded with zeroes), one request a
 *    second in list order, the car's consecutive frames spaced by the STmin asked for;
 *  - an ECU's faults seen by the poller: silent (two ticks' wait, then the next entry), NRC,
 *    response pending (0x78 extends the wait, the answer is decoded);
 *  - listen mode: a recorded exchange (tests/data/hil/env200-bms-volt-poll.crtd, a module's
 *    group 2 request and the BMS's reply) replayed onto the bus is decoded without sending;
 *  - malformed replies (wrong lengths, bad PCI, FC before FF, stray CFs, 10 000 frames a
 *    second): ignored or rejected by the decoders, never a crash.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "hil/poller.h"
#include "hil/responder.h"
#include "hiltest.h"
#include "trace/trace.h"

/* The module: its own context and vehicle on the tester's ends of the rig's wires. */
struct module {
  struct sim *sim;
  struct hil_poller *poller;
  struct sbuf sent; /* "T_US ID#HEX\n" of what the car's buses received */
  struct ht_rig *r;
};

static void car_mon(void *ctx, struct sim_canbus *bus, const struct sim_frame *f)
{
  struct module *m = ctx;
  (void)bus;
  if (f->flags & SIM_CAN_F_TX)
    return;
  char buf[200];
  sbuf_printf(&m->sent, "%lld %s\n", (long long)(sim_monotonic(m->r->h.loop) / 1000),
              ht_fmt(f, buf, sizeof buf));
}

static void module_open(struct module *m, struct ht_rig *r, const char *vehicle,
                        const char *config, bool transmit)
{
  memset(m, 0, sizeof *m);
  m->r = r;
  m->sim = sim_new(r->h.loop, NULL, 1);
  struct sim_diag d = SIM_DIAG_INIT;
  struct vehicle_opts vo = {VEHICLE_F_NOTICKER, NULL};
  assert_int_equal(vehicle_attach_opts(m->sim, vehicle, &vo, &d), 0);
  sim_diag_cleanup(&d);
  if (config) {
    struct sim_diag e = SIM_DIAG_INIT;
    char *dup = strdup(config), *eq = strchr(dup, '=');
    *eq = 0;
    assert_int_equal(sim_config_set_key(m->sim->config, dup, eq + 1, &e), 0);
    free(dup);
    sim_diag_cleanup(&e);
  }
  m->sim->buses[0] = r->tester[0];
  m->sim->buses[1] = r->tester[1];
  ht_set(m->sim, "v.e.on", "yes"); /* as the car's periodic frames would say */
  for (int b = 0; b < 2; b++)
    assert_int_equal(can_bus_add_monitor(r->car[b], car_mon, m), 0);
  struct hil_poller_opts o = {transmit};
  assert_int_equal(hil_poller_new(&m->poller, m->sim, &o), 0);
}

static void module_close(struct module *m)
{
  hil_poller_free(m->poller);
  for (int b = 0; b < 2; b++)
    can_bus_remove_monitor(m->r->car[b], car_mon, m);
  m->sim->buses[0] = m->sim->buses[1] = NULL; /* the rig closes them */
  sim_free(m->sim);
  sbuf_free(&m->sent);
}

static struct hil_responders *car_ecus(struct ht_rig *r)
{
  struct hil_responder_opts o = {.vehicle = true, .obd = false, .obd_bus = 1};
  struct hil_responders *rs = NULL;
  assert_int_equal(hil_responders_new(&rs, r->sim, &o), 0);
  return rs;
}

static char *cells(int n, double base, double step, int decimals)
{
  struct sbuf b = SBUF_INIT;
  for (int i = 0; i < n; i++)
    sbuf_printf(&b, "%s%.*f", i ? "," : "", decimals, base + step * (i % 7));
  return sbuf_detach(&b);
}

static char *metric_text(struct sim *sim, const char *name)
{
  struct metric *m = metrics_find(sim->metrics, name);
  if (!m)
    fail_msg("no metric %s", name);
  struct sbuf b = SBUF_INIT;
  metric_format(m, NULL, &b);
  return sbuf_detach(&b);
}

/* The module's metric equals the car's. */
static void same(struct sim *car, struct sim *mod, const char *name)
{
  char *a = metric_text(car, name), *b = metric_text(mod, name);
  if (strcmp(a, b))
    fail_msg("%s: car '%s', module '%s'", name, a, b);
  free(a);
  free(b);
}

static void test_leaf_round_trip(void **state)
{
  (void)state;
  struct ht_rig r;
  ht_rig_open(&r, "nissanleaf", "xnl.ze1=yes");
  ht_set(r.sim, "v.e.on", "yes");
  ht_set(r.sim, "v.b.soc", "80.5");
  ht_set(r.sim, "v.b.soh", "91.25");
  ht_set(r.sim, "v.b.cac", "105.5");
  char *cv = cells(96, 3.9, 0.005, 3);
  ht_set(r.sim, "v.b.c.voltage", cv);
  ht_set(r.sim, "v.b.c.temp", "21.012,22.032,23.052");
  ht_set(r.sim, "v.vin", "SJNFAAZE1U0123456");
  struct hil_responders *rs = car_ecus(&r);
  struct module m;
  module_open(&m, &r, "nissanleaf", "xnl.ze1=yes", true);

  ht_run_until(&r.h, 8 * SIM_NS_PER_SEC);
  for (const char *const *n = (const char *const[]){"v.b.soc", "v.b.soh", "v.b.cac",
                                                      "v.b.c.voltage", "v.b.c.temp", "v.vin",
                                                      NULL};
       *n; n++)
    same(r.sim, m.sim, *n);
  ht_metric_is(m.sim, "v.b.p.voltage.min", "3.9");
  ht_metric_is(m.sim, "v.b.p.voltage.max", "3.93");

  /* the requests: one a second on each bus, in list order (ZE1, poll state "on": VIN; groups
   * 1, 2, 4, 0x61), padded with 0x55; the FC after each first frame: BS 0, STmin 25 ms */
  const char *sent = sbuf_str(&m.sent);
  assert_non_null(strstr(sent, "1000000 79B#0221015555555555\n"));
  assert_non_null(strstr(sent, "1000000 797#0221815555555555\n"));
  assert_non_null(strstr(sent, "2000000 79B#0221025555555555\n"));
  assert_non_null(strstr(sent, "3000000 79B#0221045555555555\n"));
  assert_non_null(strstr(sent, "4000000 79B#0221615555555555\n"));
  assert_non_null(strstr(sent, " 79B#3000190000000000\n"));
  assert_null(strstr(sent, "79B#022106")); /* group 6: not polled while on (ZE1) */
  const struct hil_poller_stats *st = hil_poller_stats(m.poller);
  assert_int_equal(st->requests, 5);
  assert_int_equal(st->replies, 5);
  assert_int_equal(st->timeouts, 0);

  /* the car's CFs of group 2 (asked at 2 s): the first at once after our FC, then 25 ms
   * apart */
  const char *ff = strstr(sbuf_str(&r.seen), " 7BB#10C66102");
  assert_non_null(ff);
  const char *line = ff;
  while (line > sbuf_str(&r.seen) && line[-1] != '\n')
    line--;
  long t0 = strtol(line, NULL, 10);
  char want[64];
  snprintf(want, sizeof want, "\n%ld 7BB#21", t0);
  assert_non_null(strstr(sbuf_str(&r.seen), want));
  snprintf(want, sizeof want, "\n%ld 7BB#22", t0 + 25000);
  assert_non_null(strstr(sbuf_str(&r.seen), want));
  snprintf(want, sizeof want, "\n%ld 7BB#23", t0 + 50000);
  assert_non_null(strstr(sbuf_str(&r.seen), want));

  module_close(&m);
  hil_responders_free(rs);
  ht_rig_close(&r);
  free(cv);
}

static void test_imiev_round_trip(void **state)
{
  (void)state;
  struct ht_rig r;
  ht_rig_open(&r, "mitsubishi", NULL);
  ht_set(r.sim, "v.e.on", "yes");
  ht_set(r.sim, "v.b.soc", "77");
  ht_set(r.sim, "v.b.cac", "42.5");
  char *cv = cells(88, 3.95, 0.002, 3);
  char *ct = cells(66, 18, 1, 0);
  ht_set(r.sim, "v.b.c.voltage", cv);
  ht_set(r.sim, "v.b.c.temp", ct);
  ht_set(r.sim, "v.e.cabintemp", "21.5");
  ht_set(r.sim, "v.e.temp", "13");
  struct hil_responders *rs = car_ecus(&r);
  struct module m;
  module_open(&m, &r, "mitsubishi", NULL, true);
  ht_run_until(&r.h, 7 * SIM_NS_PER_SEC);
  for (const char *const *n = (const char *const[]){"v.b.cac", "v.b.c.voltage", "v.b.c.temp",
                                                      "v.e.cabintemp", "v.e.temp", NULL};
       *n; n++)
    same(r.sim, m.sim, *n);
  ht_metric_is(m.sim, "xmi.b.soc.display", "77");
  const char *sent = sbuf_str(&m.sent);
  assert_non_null(strstr(sent, "1000000 761#0221015555555555\n"));
  assert_non_null(strstr(sent, "6000000 782#0221CE5555555555\n"));
  module_close(&m);
  hil_responders_free(rs);
  ht_rig_close(&r);
  free(cv);
  free(ct);
}

static void test_faults(void **state)
{
  (void)state;
  struct ht_rig r;
  ht_rig_open(&r, "nissanleaf", NULL);
  ht_set(r.sim, "v.e.on", "yes");
  struct hil_responders *rs = car_ecus(&r);
  struct hil_ecu *bms = hil_responders_find(rs, "79b");
  assert_non_null(bms);
  struct ecu_fault f;
  assert_int_equal(ecu_fault_parse("silent", &f), 0);
  hil_ecu_set_fault(bms, &f);
  struct module m;
  module_open(&m, &r, "nissanleaf", NULL, true);
  /* AZE0 "on": groups 1, 2, 6, 4 on bus 1; silent: each waits two ticks (1 s, 3 s, 5 s, 7 s) */
  ht_run_until(&r.h, 8 * SIM_NS_PER_SEC + 1);
  const char *sent = sbuf_str(&m.sent);
  assert_non_null(strstr(sent, "1000000 79B#022101"));
  assert_non_null(strstr(sent, "3000000 79B#022102"));
  assert_non_null(strstr(sent, "5000000 79B#022106"));
  assert_non_null(strstr(sent, "7000000 79B#022104"));
  const struct hil_poller_stats *st = hil_poller_stats(m.poller);
  assert_int_equal(st->timeouts, 3);
  module_close(&m);

  /* NRC: the wait ends at once, the next entry goes out on the next tick */
  assert_int_equal(ecu_fault_parse("nrc:22", &f), 0);
  hil_ecu_set_fault(bms, &f);
  module_open(&m, &r, "nissanleaf", NULL, true);
  int64_t t0 = sim_monotonic(r.h.loop);
  ht_run_until(&r.h, t0 + 3 * SIM_NS_PER_SEC + 1);
  st = hil_poller_stats(m.poller);
  assert_int_equal(st->negatives, 3);
  assert_int_equal(st->timeouts, 0);
  module_close(&m);

  /* response pending twice, then the answer: decoded */
  assert_int_equal(ecu_fault_parse("pending:2:600", &f), 0);
  hil_ecu_set_fault(bms, &f);
  ht_set(r.sim, "v.b.cac", "60");
  module_open(&m, &r, "nissanleaf", NULL, true);
  t0 = sim_monotonic(r.h.loop);
  ht_run_until(&r.h, t0 + 3 * SIM_NS_PER_SEC);
  st = hil_poller_stats(m.poller);
  assert_int_equal(st->pending, 2);
  assert_true(st->replies >= 1);
  ht_metric_is(m.sim, "v.b.cac", "60");
  module_close(&m);
  hil_responders_free(rs);
  ht_rig_close(&r);
}

/* Listen mode: the recorded e-NV200 exchange put on the module's bus is decoded. */
static void test_listen_recorded(void **state)
{
  (void)state;
  struct ht_rig r;
  ht_rig_open(&r, "nissanleaf", NULL);
  struct module m;
  module_open(&m, &r, "nissanleaf", NULL, false);
  struct trace_reader *tr;
  assert_int_equal(trace_reader_open(&tr, test_data_path("hil/env200-bms-volt-poll.crtd"),
                                     NULL, NULL), 0);
  struct sim_frame f;
  while (trace_reader_next_frame(tr, &f, NULL) == 1) {
    f.flags &= (uint8_t)~SIM_CAN_F_TX;
    can_bus_send(r.car[0], &f); /* arrives on the module's bus 1 */
    ht_run_until(&r.h, sim_monotonic(r.h.loop) + 10 * SIM_NS_PER_MS);
  }
  trace_reader_close(tr);
  const struct hil_poller_stats *st = hil_poller_stats(m.poller);
  assert_int_equal(st->requests, 0);
  assert_int_equal(st->replies, 1);
  struct metric *cv = metrics_find(m.sim->metrics, "v.b.c.voltage");
  assert_int_equal(cv->n, 96);
  assert_float_equal(((const float *)cv->data)[0], 3.732, 1e-4); /* 0x0E94 mV */
  assert_string_equal(sbuf_str(&m.sent), ""); /* nothing sent by the module */
  module_close(&m);
  ht_rig_close(&r);
}

/* Malformed replies while the module polls: never a crash, nothing decoded from garbage. */
static void test_malformed_replies(void **state)
{
  (void)state;
  struct ht_rig r;
  ht_rig_open(&r, "nissanleaf", NULL);
  struct module m;
  module_open(&m, &r, "nissanleaf", NULL, true);
  ht_run_until(&r.h, SIM_NS_PER_SEC + 1); /* 21 01 has gone out */
  static const char *frames[] = {
    "7BB#0661010000FFFFFF", /* group 1 of 4 bytes: the decoder's length check rejects it */
    "7BB#0F61010000000000", /* SF length 15 */
    "7BB#3000000000000000", /* FC before any FF */
    "7BB#2101020304050607", /* CF without FF */
    "7BB#F000000000000000", /* bad PCI */
    "7BB#",                 /* empty */
    "7BB#1001",             /* short FF */
    "7BB#037F2131FFFFFFFF", /* NRC request out of range */
    "7BB#0562FFFF00000000", /* an answer to another request */
  };
  for (size_t i = 0; i < ARRAY_SIZE(frames); i++) {
    struct sim_frame f;
    ht_frame(frames[i], &f);
    can_bus_send(r.car[0], &f);
    ht_run_until(&r.h, sim_monotonic(r.h.loop) + SIM_NS_PER_MS);
  }
  assert_false(metric_is_defined(metrics_find(m.sim->metrics, "v.b.cac")));
  /* 10 000 frames a second for two seconds: FFs, CFs and SFs in a mix */
  for (int i = 0; i < 20000; i++) {
    struct sim_frame f;
    ht_frame(i % 3 == 0 ? "7BB#1029610100000000" : i % 3 == 1 ? "7BB#2101020304050607"
                                                               : "7BB#0261015555555555", &f);
    can_bus_send(r.car[0], &f);
    ht_run_until(&r.h, sim_monotonic(r.h.loop) + 100000);
  }
  const struct hil_poller_stats *st = hil_poller_stats(m.poller);
  assert_true(st->requests >= 2);
  assert_true(st->ignored >= 2); /* the NRC and 62 FF FF after the wait ended */
  module_close(&m);
  ht_rig_close(&r);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_leaf_round_trip),
    cmocka_unit_test(test_imiev_round_trip),
    cmocka_unit_test(test_faults),
    cmocka_unit_test(test_listen_recorded),
    cmocka_unit_test(test_malformed_replies),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
