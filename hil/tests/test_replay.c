/*
 * test_replay.c - reactive replay (hil/replay.c) in virtual time:
 *  - the recorded e-NV200 exchange (tests/data/hil/env200-bms-volt-poll.crtd: the module's
 *    21 02, the BMS's 198-byte reply) answers a tester written in the test byte-exactly: the
 *    recorded reply reassembled and re-sent from 0x7BB with the recording's 0xFF padding,
 *    honouring the tester's FC (BS 2, STmin 10 ms: a new FC after every two CFs, CFs 10 ms
 *    apart); a request not in the trace is counted, not answered;
 *  - the simulator's own poller against it: the cells decoded are the recorded ones;
 *  - a trace recorded from the simulator's own poller and responders (written here as a CRTD)
 *    answers with what the responders said, successive identical requests in recorded order;
 *  - malformed requests (bad PCI, FC before FF, a CF alone, wrong length, 10 000 requests a
 *    second): ignored or answered, never a crash; a file without exchanges is refused.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "core/error.h"
#include "hil/poller.h"
#include "hil/replay.h"
#include "hiltest.h"

static struct hil_replay *replay_open(struct ht_rig *r, const char *path)
{
  struct hil_replay *rp = NULL;
  struct sim_diag d = SIM_DIAG_INIT;
  int rc = hil_replay_new(&rp, r->sim, path, NULL, &d);
  if (rc != 0)
    fail_msg("replay %s: %s", path, sim_diag_last(&d));
  sim_diag_cleanup(&d);
  return rp;
}

static void test_recorded_exchange(void **state)
{
  (void)state;
  struct ht_rig r;
  ht_rig_open(&r, NULL, NULL);
  struct hil_replay *rp = replay_open(&r, test_data_path("hil/env200-bms-volt-poll.crtd"));
  const struct hil_replay_stats *st = hil_replay_stats(rp);
  assert_int_equal(st->exchanges, 1);
  ht_client(&r, 1, 0x79B, 0x7BB, 0x55);
  r.client.cfg.bs = 2;
  r.client.cfg.stmin = 10;
  const char *got = ht_ask(&r, "2102", 2000);
  /* the reply as recorded: 61 02, 96 cells 0x0E94..., then the trailing bytes */
  assert_int_equal(strlen(got), 2 * 198 + 1);
  assert_memory_equal(got, "61020E940E970E960E990E94", 24);
  assert_string_equal(got + strlen(got) - 13, "0E958BFF8BD8\n");
  const char *seen = sbuf_str(&r.seen);
  assert_non_null(strstr(seen, "0 7BB#10C661020E940E97\n"));
  assert_non_null(strstr(seen, "0 7BB#210E960E990E940E\n"));    /* CF 1 at once after the FC */
  assert_non_null(strstr(seen, "10000 7BB#22960E960E960E95\n")); /* CF 2 after STmin */
  assert_non_null(strstr(seen, "270000 7BB#2CFF8BD8FFFFFFFF\n")); /* CF 28 */
  /* BS 2: the replay waited for an FC after every two CFs: the tester sent its request, the
   * FC after the FF and 13 more */
  assert_int_equal(r.client.stats.tx_frames, 15);
  assert_non_null(strstr(seen, "7BB#2CFF8BD8FFFFFFFF\n")); /* padded 0xFF as recorded */
  assert_int_equal(st->answered, 1);

  /* not in the trace: counted, silence */
  assert_string_equal(ht_ask(&r, "2101", 1500), "");
  assert_int_equal(st->unknown, 1);
  assert_int_equal(st->requests, 2);
  hil_replay_free(rp);
  ht_rig_close(&r);
}

/* The simulator's poller (AZE0 Leaf: 21 01, 02, 06, 04) against the recorded BMS. */
static void test_poller_against_replay(void **state)
{
  (void)state;
  struct ht_rig r;
  ht_rig_open(&r, NULL, NULL);
  struct hil_replay *rp = replay_open(&r, test_data_path("hil/env200-bms-volt-poll.crtd"));
  struct sim *mod = sim_new(r.h.loop, NULL, 1);
  struct sim_diag d = SIM_DIAG_INIT;
  struct vehicle_opts vo = {VEHICLE_F_NOTICKER, NULL};
  assert_int_equal(vehicle_attach_opts(mod, "nissanleaf", &vo, &d), 0);
  mod->buses[0] = r.tester[0];
  mod->buses[1] = r.tester[1];
  ht_set(mod, "v.e.on", "yes");
  struct hil_poller *p;
  struct hil_poller_opts po = {true};
  assert_int_equal(hil_poller_new(&p, mod, &po), 0);
  ht_run_until(&r.h, 10 * SIM_NS_PER_SEC);
  struct metric *cv = metrics_find(mod->metrics, "v.b.c.voltage");
  assert_int_equal(cv->n, 96);
  assert_float_equal(((const float *)cv->data)[3], 3.737, 1e-4); /* 0x0E99 */
  assert_int_equal(hil_poller_stats(p)->replies, 1);
  assert_true(hil_replay_stats(rp)->unknown >= 3); /* groups 1, 6, 4 are not in the trace */
  hil_poller_free(p);
  mod->buses[0] = mod->buses[1] = NULL;
  sim_free(mod);
  sim_diag_cleanup(&d);
  hil_replay_free(rp);
  ht_rig_close(&r);
}

/* A CRTD as the simulator records one: the VCM answering the quick-charge count twice (3,
 * then 4) and a functional OBD-II request answered by 0x7E8; unpadded frames. */
static const char own_trace[] =
    "1717228801.000000 2T11 797 03 22 12 03\n"
    "1717228801.001000 2R11 79A 05 62 12 03 00 03\n"
    "1717228802.000000 2T11 797 03 22 12 03\n"
    "1717228802.000500 2R11 79A 03 7F 22 78\n"
    "1717228802.001000 2R11 79A 05 62 12 03 00 04\n"
    "1717228803.000000 1T11 7DF 02 01 0D\n"
    "1717228803.001000 1R11 7E8 03 41 0D 58\n";

static void test_own_recording(void **state)
{
  (void)state;
  struct ht_rig r;
  ht_rig_open(&r, NULL, NULL);
  const char *path = test_write_temp(".crtd", own_trace);
  struct hil_replay *rp = replay_open(&r, path);
  assert_int_equal(hil_replay_stats(rp)->exchanges, 2);
  ht_client(&r, 2, 0x797, 0x79A, -1);
  assert_string_equal(ht_ask(&r, "221203", 100), "6212030003\n");
  assert_string_equal(ht_ask(&r, "221203", 100), "6212030004\n");
  assert_string_equal(ht_ask(&r, "221203", 100), "6212030004\n"); /* the last one repeats */
  assert_non_null(strstr(sbuf_str(&r.seen), " 79A#056212030004\n")); /* unpadded as recorded */
  ht_client(&r, 1, 0x7DF, 0x7E8, -1);
  assert_string_equal(ht_ask(&r, "010D", 100), "410D58\n");
  assert_string_equal(ht_ask(&r, "010C", 100), "");
  assert_int_equal(hil_replay_stats(rp)->unknown, 1);
  hil_replay_free(rp);
  ht_rig_close(&r);
}

static void test_malformed(void **state)
{
  (void)state;
  struct ht_rig r;
  ht_rig_open(&r, NULL, NULL);
  struct hil_replay *rp = replay_open(&r, test_data_path("hil/env200-bms-volt-poll.crtd"));
  static const char *frames[] = {
    "79B#0921025555555555", /* SF length 9 */
    "79B#00",               /* SF length 0 */
    "79B#3000000000000000", /* FC before any FF */
    "79B#2101020304050607", /* CF without FF */
    "79B#F000000000000000", /* bad PCI */
    "79B#",                 /* empty */
    "79B#0121",             /* a request of the wrong length: unknown */
    "79B#1003210255555555", /* FF with length 3 */
  };
  for (size_t i = 0; i < ARRAY_SIZE(frames); i++) {
    struct sim_frame f;
    ht_frame(frames[i], &f);
    can_bus_send(r.tester[0], &f);
    ht_run_until(&r.h, sim_monotonic(r.h.loop) + 10 * SIM_NS_PER_MS);
  }
  const struct hil_replay_stats *st = hil_replay_stats(rp);
  assert_int_equal(st->answered, 0);
  assert_int_equal(st->unknown, 1);
  /* 10 000 requests a second for a second: the first is answered, the rest arrive while its
   * 28 CFs are being sent (counted busy) or after (answered again) */
  for (int i = 0; i < 10000; i++) {
    struct sim_frame f;
    ht_frame(i % 2 ? "79B#0221025555555555" : "79B#3000000000000000", &f);
    can_bus_send(r.tester[0], &f);
    ht_run_until(&r.h, sim_monotonic(r.h.loop) + 100000);
  }
  assert_int_equal(st->requests, 5001);
  assert_true(st->answered >= 1);
  assert_int_equal(st->answered + st->busy, 5000);

  /* a file without exchanges */
  struct hil_replay *none = NULL;
  struct sim_diag d = SIM_DIAG_INIT;
  const char *path = test_write_temp(".crtd", "1717228801.000000 1R11 1DB 01 02 03\n");
  assert_int_equal(hil_replay_new(&none, r.sim, path, NULL, &d), SIM_ENOTFOUND);
  assert_non_null(strstr(sim_diag_last(&d), "no ISO-TP request with its response"));
  sim_diag_cleanup(&d);
  hil_replay_free(rp);
  ht_rig_close(&r);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_recorded_exchange),
    cmocka_unit_test(test_poller_against_replay),
    cmocka_unit_test(test_own_recording),
    cmocka_unit_test(test_malformed),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
