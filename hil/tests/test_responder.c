/*
 * test_responder.c - the simulated car's ECUs (hil/responder.c, hil/ecu.c, hil/obd.c) seen
 * from a tester on the other end of an in-memory bus, in virtual time:
 *  - an OBD-II session from a client written in the test (functional and physical requests,
 *    PID bitmaps, mode 01 values from the metrics, multi-PID requests, VIN and ECU name in
 *    multi-frame answers with flow control), UDS session control, tester present, 0x22 and its
 *    negative responses, NRC suppression for functional requests;
 *  - the Leaf's BMS and VCM and the i-MiEV's BMU / HVAC / meter answering their vehicle's
 *    polls with the lengths the firmware checks, consistent with the metrics (the pack voltage
 *    in group 2 is the sum of the cells);
 *  - a sleeping car does not answer; faults: silent, slow, NRC, response pending;
 *  - malformed polls: wrong length, bad PCI, FC before FF, a stray CF, 10 000 requests per
 *    second for a second - answered or ignored, never a crash.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "core/error.h"
#include "hil/responder.h"
#include "hiltest.h"

static struct hil_responders *start(struct ht_rig *r, bool vehicle, bool obd)
{
  struct hil_responder_opts o = {.vehicle = vehicle, .obd = obd, .obd_bus = 1};
  struct hil_responders *rs = NULL;
  assert_int_equal(hil_responders_new(&rs, r->sim, &o), 0);
  return rs;
}

struct qa {
  const char *req;
  const char *answer; /* "" = no answer */
};

static void ask_all(struct ht_rig *r, const struct qa *t, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    const char *got = ht_ask(r, t[i].req, 100);
    char want[9000];
    snprintf(want, sizeof want, "%s%s", t[i].answer, *t[i].answer ? "\n" : "");
    if (strcmp(got, want))
      fail_msg("request %s: got '%s', want '%s'", t[i].req, got, want);
  }
}

/* Opens the rig with vehicle and sets the metrics of kv (name, value pairs, NULL-ended). */
static void open_car(struct ht_rig *r, const char *vehicle, const char *const kv[])
{
  ht_rig_open(r, vehicle, NULL);
  for (; *kv; kv += 2)
    ht_set(r->sim, kv[0], kv[1]);
}

static void test_obd_session(void **state)
{
  (void)state;
  struct ht_rig r;
  static const char *const car[] = {
      "v.e.on", "yes",
      "v.p.speed", "88",
      "v.b.soc", "80",
      "v.b.temp", "21",
      "v.m.rpm", "3000",
      "v.e.temp", "-5",
      "v.vin", "SJNFAAZE0U6012345",
      NULL};
  open_car(&r, "nissanleaf", car);
  struct hil_responders *rs = start(&r, false, true);

  /* functional requests on 0x7DF, answers from 0x7E8 */
  ht_client(&r, 1, 0x7DF, 0x7E8, 0x55);
  static const struct qa func[] = {
    {"0100", "4100081A8003"},
    {"0120", "412000020001"},
    {"0140", "414004000030"},
    {"010D", "410D58"},
    {"0105", "41053D"},
    {"0146", "414623"},
    {"012F", "412FCD"},
    {"010C", "410C2EE0"},
        {"0199", ""},                  /* unsupported PID: silence (J1979) */
    {"1901", ""},                  /* NRC 0x11 is not sent to functional requests */
    {"010D05", "410D58053D"},
  };
  ask_all(&r, func, ARRAY_SIZE(func));
  /* byte-exact: single frames from 0x7E8 padded with 0xAA; silence for 0199 and 1901 */
  assert_string_equal(sbuf_str(&r.seen), "0 7E8#064100081A8003AA\n"
                                         "100000 7E8#06412000020001AA\n"
                                         "200000 7E8#06414004000030AA\n"
                                         "300000 7E8#03410D58AAAAAAAA\n"
                                         "400000 7E8#0341053DAAAAAAAA\n"
                                         "500000 7E8#03414623AAAAAAAA\n"
                                         "600000 7E8#03412FCDAAAAAAAA\n"
                                         "700000 7E8#04410C2EE0AAAAAA\n"
                                         "1000000 7E8#05410D58053DAAAA\n");

  /* physical requests on 0x7E0 */
  ht_client(&r, 1, 0x7E0, 0x7E8, 0x55);
  static const struct qa uds[] = {
    {"0902", "490201534A4E4641415A45305536303132333435"},
    {"0900", "490040400000"},
    {"090A", "490A0145434D002D456E67696E65436F6E74726F6C0000"},
    {"010D0C05", "410D580C2EE0053D"},
    {"1001", "5001003201F4"},
    {"3E00", "7E00"},
    {"3E80", ""},
    {"3E01", "7F3E12"},
    {"3E", "7F3E13"},
    {"1004", "7F1012"},
    {"2701", "7F277F"},
    {"22F190", "7F2231"},
    {"22F1", "7F2213"},
    {"1903", "7F1911"},
    {"1003", "5003003201F4"},
    {"2701", "7F2711"},
    {"0199", ""},
    {"01", "7F0113"},
  };
  ask_all(&r, uds, ARRAY_SIZE(uds));
  struct hil_ecu *obd = hil_responders_find(rs, "obd");
  assert_non_null(obd);
  assert_int_equal(obd->session, 3);

  /* a sleeping car is silent */
  ht_set(r.sim, "v.e.on", "no");
  ask_all(&r, (const struct qa[]){{"010D", ""}}, 1);
  assert_true(obd->stats.asleep == 1);
  obd->always_awake = true;
  ask_all(&r, (const struct qa[]){{"010D", "410D58"}}, 1);

  hil_responders_free(rs);
  ht_rig_close(&r);
}

static void test_obd_frames(void **state)
{
  (void)state;
  struct ht_rig r;
  ht_rig_open(&r, "nissanleaf", NULL);
  ht_set(r.sim, "v.e.on", "yes");
  ht_set(r.sim, "v.vin", "SJNFAAZE0U6012345");
  struct hil_responders *rs = start(&r, false, true);
  ht_client(&r, 1, 0x7E0, 0x7E8, 0x55);
  sbuf_reset(&r.seen);
  ht_ask(&r, "0902", 100);
  /* the exact frames: FF, our FC (client), CFs padded with 0xAA */
  assert_string_equal(sbuf_str(&r.seen), "0 7E8#1014490201534A4E\n"
                                         "0 7E8#214641415A453055\n"
                                         "0 7E8#2236303132333435\n");
  hil_responders_free(rs);
  ht_rig_close(&r);
}

/* ---- the vehicles' own ECUs ---------------------------------------------------------------- */

static size_t hex_len(const char *s)
{
  size_t n = strlen(s);
  return n && s[n - 1] == '\n' ? (n - 1) / 2 : n / 2;
}

static void test_leaf_ecus(void **state)
{
  (void)state;
  struct ht_rig r;
  static const char *const car[] = {
      "v.c.charging", "yes",
      "v.b.voltage", "380.16",
      "v.b.soh", "90",
      "v.b.temp", "25",
      "v.vin", "SJNFAAZE0U6012345",
      "xnl.v.c.count.qc", "12",
      NULL};
  open_car(&r, "nissanleaf", car);
  struct hil_responders *rs = start(&r, true, false);
  assert_non_null(hil_responders_find(rs, "79b"));
  assert_non_null(hil_responders_find(rs, "797"));
  assert_null(hil_responders_find(rs, "obd"));

  ht_client(&r, 1, 0x79B, 0x7BB, 0x55);
  const char *g1 = ht_ask(&r, "2101", 200);
  assert_int_equal(hex_len(g1), 2 + 39);
  assert_memory_equal(g1, "6101", 4);
  const char *g2 = ht_ask(&r, "2102", 500);
  assert_int_equal(hex_len(g2), 2 + 196);
  /* 96 cells of 3.960 V (0x0F78) and the pack = their sum, 380.16 V = 0x9480 (10 mV) */
  for (int i = 0; i < 96; i++)
    assert_memory_equal(g2 + 4 + 4 * i, "0F78", 4);
  assert_memory_equal(g2 + 4 + 4 * 96, "94809480", 8);
  assert_int_equal(hex_len(ht_ask(&r, "2104", 200)), 2 + 14);
  assert_int_equal(hex_len(ht_ask(&r, "2106", 200)), 2 + 24);
  assert_string_equal(ht_ask(&r, "2161", 200), "7F2131\n"); /* AZE0: no group 0x61 */
  assert_string_equal(ht_ask(&r, "21", 200), "7F2113\n");
  assert_string_equal(ht_ask(&r, "2301", 200), "7F2311\n");

  ht_client(&r, 2, 0x797, 0x79A, 0x55);
  assert_string_equal(ht_ask(&r, "2181", 200), "6181534A4E4641415A453055363031323334350000\n");
  assert_string_equal(ht_ask(&r, "221203", 200), "621203000C\n");
  assert_string_equal(ht_ask(&r, "221205", 200), "6212050000\n");
  hil_responders_free(rs);
  ht_rig_close(&r);
}

static void test_imiev_ecus(void **state)
{
  (void)state;
  struct ht_rig r;
  static const char *const car[] = {
      "v.e.on", "yes",
      "v.b.soc", "75",
      "v.b.cac", "42.5",
      "v.b.voltage", "352",
      "v.e.cabintemp", "21",
      "v.e.temp", "10.1",
      "xmi.e.trip.a", "123.4",
      NULL};
  open_car(&r, "mitsubishi", car);
  struct hil_responders *rs = start(&r, true, true);
  assert_int_equal(rs->n, 5); /* BMU, OBC, HVAC, meter, OBD-II */
  ht_client(&r, 1, 0x761, 0x762, 0x55);
  const char *g1 = ht_ask(&r, "2101", 200);
  assert_int_equal(hex_len(g1), 2 + 33);
  /* SOC display byte (75 + 5) / 0.5 = 160 = A0; capacity 425 = 01A9 at [27] */
  assert_memory_equal(g1 + 4 + 2, "A0", 2);
  assert_memory_equal(g1 + 4 + 54, "01A9", 4);
  const char *g2 = ht_ask(&r, "2102", 500);
  assert_int_equal(hex_len(g2), 2 + 272);
  assert_memory_equal(g2 + 4, "0FA0", 4); /* 352 V / 88 cells = 4.000 V */
  assert_int_equal(hex_len(ht_ask(&r, "2103", 500)), 2 + 69);
  ht_client(&r, 1, 0x771, 0x772, 0x55);
  assert_string_equal(ht_ask(&r, "2113", 200), "611300009400820000\n");
  ht_client(&r, 1, 0x782, 0x783, 0x55);
  assert_string_equal(ht_ask(&r, "21CE", 200), "61CED20400000000\n");
  ht_client(&r, 1, 0x765, 0x766, 0x55);
  assert_string_equal(ht_ask(&r, "2101", 200), "61010000000000000000\n");
  hil_responders_free(rs);
  ht_rig_close(&r);
}

/* Faults: the times of the answers as the tester sees them (virtual time, us). */
static void test_faults(void **state)
{
  (void)state;
  static const struct {
    const char *fault;
    const char *frames;  /* from 0x7E8 after a 010D at t = 0 */
  } t[] = {
    {"ok", "0 7E8#03410D00AAAAAAAA\n"},
    {"silent", ""},
    {"slow:250", "250000 7E8#03410D00AAAAAAAA\n"},
    {"nrc:22", "0 7E8#037F0122AAAAAAAA\n"},
    {"pending", "0 7E8#037F0178AAAAAAAA\n200000 7E8#037F0178AAAAAAAA\n"
                "400000 7E8#037F0178AAAAAAAA\n600000 7E8#03410D00AAAAAAAA\n"},
    {"pending:1:500", "0 7E8#037F0178AAAAAAAA\n500000 7E8#03410D00AAAAAAAA\n"},
  };
  for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
    struct ht_rig r;
    ht_rig_open(&r, "nissanleaf", NULL);
    ht_set(r.sim, "v.e.on", "yes");
    struct hil_responders *rs = start(&r, false, true);
    struct ecu_fault f;
    assert_int_equal(ecu_fault_parse(t[i].fault, &f), 0);
    hil_ecu_set_fault(hil_responders_find(rs, "obd"), &f);
    ht_client(&r, 1, 0x7E0, 0x7E8, 0x55);
    ht_ask(&r, "010D", 3000);
    if (strcmp(sbuf_str(&r.seen), t[i].frames))
      fail_msg("fault %s: got\n%swant\n%s", t[i].fault, sbuf_str(&r.seen), t[i].frames);
    hil_responders_free(rs);
    ht_rig_close(&r);
  }
  static const char *bad[] = {"", "slow:", "slow:-1", "slow:x", "nrc:", "nrc:0", "nrc:100",
                              "pending:", "pending:1:", "pending:300", "loud", "silentx"};
  struct ecu_fault f;
  for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
    if (ecu_fault_parse(bad[i], &f) != SIM_EPARSE)
      fail_msg("fault '%s' accepted", bad[i]);
}

/* Malformed polls: raw frames from the tester; the ECU answers or ignores, never crashes. */
static void test_malformed(void **state)
{
  (void)state;
  struct ht_rig r;
  ht_rig_open(&r, "nissanleaf", NULL);
  ht_set(r.sim, "v.c.charging", "yes");
  struct hil_responders *rs = start(&r, true, true);
  static const char *frames[] = {
    "79B#022101",               /* a short frame (no padding): answered */
    "79B#0921015555555555",     /* SF length 9: ignored */
    "79B#00",                   /* SF length 0: ignored */
    "79B#3000000000000000",     /* FC before any FF: ignored */
    "79B#2101020304050607",     /* CF without FF: ignored */
    "79B#F000000000000000",     /* bad PCI: ignored */
    "79B#1003210155555555",     /* FF with length 3: ignored */
    "79B#",                     /* empty frame: ignored */
    "79B#0121",                 /* group without its id: 7F 21 13 */
    "7DF#0101",                 /* functional OBD request without PID: 7F 01 13 */
    "7E0#100A010D0C050F11",     /* multi-frame mode 01 request: FC, then times out */
  };
  for (size_t i = 0; i < ARRAY_SIZE(frames); i++) {
    struct sim_frame f;
    ht_frame(frames[i], &f);
    can_bus_send(r.tester[0], &f);
    ht_run_until(&r.h, sim_monotonic(r.h.loop) + 10 * SIM_NS_PER_MS);
  }
  ht_run_until(&r.h, sim_monotonic(r.h.loop) + 2000 * SIM_NS_PER_MS);
  const char *seen = sbuf_str(&r.seen);
  assert_non_null(strstr(seen, "7BB#102961010000020D")); /* FF of group 1 (39 + 2 bytes) */
  assert_non_null(strstr(seen, "7BB#037F2113FFFFFFFF"));
  assert_non_null(strstr(seen, "7E8#037F0113AAAAAAAA"));
  assert_non_null(strstr(seen, "7E8#300000AAAAAAAAAA"));
  struct hil_ecu *bms = hil_responders_find(rs, "79b");
  assert_true(bms->link.stats.stray >= 6);

  /* 10 000 requests per second for a second, alternating with garbage */
  unsigned long before = bms->stats.requests;
  for (int i = 0; i < 10000; i++) {
    struct sim_frame f;
    ht_frame(i % 2 ? "79B#0221045555555555" : "79B#2144454647484950", &f);
    can_bus_send(r.tester[0], &f);
    ht_run_until(&r.h, sim_monotonic(r.h.loop) + 100000);
  }
  assert_int_equal(bms->stats.requests - before, 5000);
  assert_true(bms->stats.answers > 0);
  hil_responders_free(rs);
  ht_rig_close(&r);
}

/* --responders: names of the vehicle's ECUs, obd, uds; an ECU without uds answers only its
 * data services. */
static void test_responder_list(void **state)
{
  (void)state;
  struct ht_rig r;
  ht_rig_open(&r, "nissanleaf", NULL);
  ht_set(r.sim, "v.e.on", "yes");
  struct hil_responder_opts o = {.obd_bus = 1};
  struct sim_diag d = SIM_DIAG_INIT;
  assert_int_equal(hil_responders_parse(&o, "bms,obd", r.sim->vehicle, &d), 0);
  assert_true(o.vehicle && o.obd && o.no_uds);
  struct hil_responders *rs = NULL;
  assert_int_equal(hil_responders_new(&rs, r.sim, &o), 0);
  assert_non_null(hil_responders_find(rs, "bms"));
  assert_non_null(hil_responders_find(rs, "79b"));
  assert_null(hil_responders_find(rs, "vcm"));
  assert_non_null(hil_responders_find(rs, "obd"));
  ht_client(&r, 1, 0x79B, 0x7BB, 0x55);
  ask_all(&r, (const struct qa[]){{"1001", "7F1011"}, {"3E00", "7F3E11"}}, 2);
  assert_memory_equal(ht_ask(&r, "2104", 100), "6104", 4);
  hil_responders_free(rs);

  assert_int_equal(hil_responders_parse(&o, "all", r.sim->vehicle, &d), 0);
  assert_true(o.vehicle && o.obd && !o.no_uds && !o.only);
  assert_int_equal(hil_responders_parse(&o, "none", r.sim->vehicle, &d), 0);
  assert_true(!o.vehicle && !o.obd);
  assert_int_equal(hil_responders_parse(&o, "vcm,uds", r.sim->vehicle, &d), 0);
  assert_true(o.vehicle && !o.obd && !o.no_uds);
  assert_string_equal(o.only, "vcm,uds");
  assert_int_equal(hil_responders_parse(&o, "bms,,obd", r.sim->vehicle, &d), SIM_EPARSE);
  assert_int_equal(hil_responders_parse(&o, "bms,bmu", r.sim->vehicle, &d), SIM_EPARSE);
  assert_string_equal(sim_diag_last(&d), "unknown responder 'bmu' (vcm, bms, obd, uds, all or none)");
  sim_diag_cleanup(&d);
  ht_rig_close(&r);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_obd_session),
    cmocka_unit_test(test_obd_frames),
    cmocka_unit_test(test_leaf_ecus),
    cmocka_unit_test(test_imiev_ecus),
    cmocka_unit_test(test_faults),
    cmocka_unit_test(test_malformed),
    cmocka_unit_test(test_responder_list),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
