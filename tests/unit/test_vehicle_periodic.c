/*
 * test_vehicle_periodic.c - periodic emulation (--vehicle-emulate) of every vehicle with an
 * encode table:
 *  - coverage: every (bus, id) its decode table reads is produced by its encode table on the
 *    same bus, or is in the commented exclusion list below (and an excluded id really has no
 *    encoder, so the list cannot go stale);
 *  - round trips of the encoders added for coverage, through the vehicle's own decoder;
 *  - a full transmit queue: a bus backend that refuses frames with -EAGAIN (as slcan and
 *    socketcan do when the adapter's queue is full) slows the car down: nothing is lost or
 *    aborted, the deferrals are counted, the frames sent after the queue drains carry the
 *    newest metrics and the Leaf's PRUN counter / CRC run on without a gap.
 * The per-vehicle golden frames and round trips are in vehicles/<car>/tests.
 */
#include "testutil.h"

#include <errno.h>

#include "can/bus.h"
#include "core/array.h"
#include "vehicles/vtest.h"

/* ---- coverage --------------------------------------------------------------------------- */

struct exclusion {
  const char *vehicle;
  uint8_t bus;
  uint32_t id;
  const char *why;
};

/* Ids a vehicle's decoder reads that its emulation does not send, and why. */
static const struct exclusion exclusions[] = {
    /* Nissan Leaf (vehicles/nissanleaf/nissanleaf.c) */
    {"nissanleaf", 1, 0x380,
     "ZE0 (2011-12) on-board charger: the emulated charger is the AZE0 0x390 one, and one "
     "0x380 sets m_ZE0_charger for good (IncomingFrameCan1 case 0x380), after which "
     "vehicle_nissanleaf_charger_status() replaces v.c.voltage/current with the pack's "
     "while charging and zeroes v.c.voltage otherwise, contradicting 0x390's AC voltage"},
    {"nissanleaf", 1, 0x679,
     "J1772/VCM wake-up event: IncomingFrameCan1 case 0x679 only logs it (no metric), and "
     "the car sends it once on waking, not on a period"},
    /* Tesla Roadster (vehicles/teslaroadster/teslaroadster.c) */
    {"teslaroadster", 1, 0x102,
     "the VDS's reply on the id the module sends its commands on (CommandLock() sends 0x102 "
     "0B 02, IncomingFrameCan1 case 0x102 reads d0 0x0E as the lock state): an answer to "
     "a command, not periodic; the lock state is periodic in 0x100/96 d2.3, encoded"},
    /* Mitsubishi i-MiEV (vehicles/mitsubishi/mitsubishi.c) */
    {"mitsubishi", 1, 0x012,
     "key state of early cars (IncomingFrameCan1: 0x012 \"early iMIEV\", 0x101 \"later "
     "iMIEV\"): a car sends one of the two, and the emulated car sends 0x101"},
};

static const char *const emulated[] = {"nissanleaf", "teslaroadster", "mitsubishi"};

static const struct exclusion *excluded(const char *vehicle, uint8_t bus, uint32_t id)
{
  for (size_t i = 0; i < ARRAY_SIZE(exclusions); i++)
    if (!strcmp(exclusions[i].vehicle, vehicle) && exclusions[i].bus == bus &&
        exclusions[i].id == id)
      return &exclusions[i];
  return NULL;
}

static bool has_encoder(const struct vehicle *v, uint8_t bus, uint32_t id)
{
  for (size_t i = 0; i < v->n_enc; i++)
    if (v->enc[i].id == id && (bus == 0 || v->enc[i].bus == bus))
      return true;
  return false;
}

static void test_every_decoded_id_is_emitted(void **state)
{
  (void)state;
  for (size_t k = 0; k < ARRAY_SIZE(emulated); k++) {
    struct vt t;
    vt_open(&t, emulated[k], NULL);
    assert_true(t.v->n_enc > 0);
    for (size_t i = 0; i < t.v->n_dec; i++) {
      const struct vehicle_decoder *d = &t.v->dec[i];
      bool enc = has_encoder(t.v, d->bus, d->id);
      const struct exclusion *x = excluded(emulated[k], d->bus, d->id);
      if (!enc && !x)
        fail_msg("%s: bus %u id 0x%X is decoded but never emitted", emulated[k], d->bus,
                 (unsigned)d->id);
      if (enc && x)
        fail_msg("%s: bus %u id 0x%X is emitted but listed as excluded (%s)", emulated[k], d->bus,
                 (unsigned)d->id, x->why);
    }
    /* and every encoder sends something its own decoder reads, on the same bus */
    for (size_t i = 0; i < t.v->n_enc; i++) {
      const struct vehicle_decoder *d = vehicle_find_decoder(t.v, t.v->enc[i].bus, t.v->enc[i].id);
      if (!d)
        fail_msg("%s: encoder %s has no decoder on bus %u", emulated[k], t.v->enc[i].name,
                 t.v->enc[i].bus);
      assert_true(t.v->enc[i].len >= d->min_len);
    }
    vt_close(&t);
  }
  /* every exclusion names a decoded id of a vehicle */
  for (size_t i = 0; i < ARRAY_SIZE(exclusions); i++) {
    struct vt t;
    vt_open(&t, exclusions[i].vehicle, NULL);
    assert_non_null(vehicle_find_decoder(t.v, exclusions[i].bus, exclusions[i].id));
    vt_close(&t);
  }
}

/* the encoders added for coverage: encode -> decode gives the metrics back */
static void test_added_encoders_roundtrip(void **state)
{
  (void)state;
  vt_roundtrip("nissanleaf", NULL, "v.e.throttle=37.5;xnl.v.b.range.instrument=123",
               "v.e.throttle=37.5;xnl.v.b.range.instrument=123");
  /* not available: the frames say so (0xFF / 0xFFF) and the metrics stay undefined */
  vt_roundtrip("nissanleaf", NULL, "v.b.soc=50", "v.e.throttle=;xnl.v.b.range.instrument=");
  vt_roundtrip("mitsubishi", NULL, "v.b.12v.current=12.3", "v.b.12v.current=12.3");
  vt_roundtrip("mitsubishi", NULL, "v.b.soc=50", "v.b.12v.current=");
  /* 0x384: sent once a current is known; the heater current with the pack voltage makes
   * v.e.heating */
  vt_roundtrip("mitsubishi", NULL, "v.b.voltage=330;xmi.e.heating.amp=5.5;xmi.e.ac.amp=1.25",
               "xmi.e.heating.amp=5.5;xmi.e.ac.amp=1.25;v.e.heating=yes");
  vt_roundtrip("mitsubishi", NULL, "v.b.soc=50", "xmi.e.heating.amp=;xmi.e.ac.amp=");
  /* Leaf 0x50A (2013+), 0x54A (read while heating: 2016+ 0x54B), 0x54F, 0x5B9 */
  vt_roundtrip("nissanleaf", "xnl.modelyear=2016",
               "xnl.v.b.heatergranted=yes;v.e.hvac=yes;v.e.heating=yes;v.e.cabinsetpoint=22;"
               "v.e.cabintemp=20;xnl.v.c.chargebars=9;xnl.v.c.chargeminutes3kw=200",
               "xnl.v.b.heatergranted=yes;v.e.cabinsetpoint=22;v.e.cabintemp=20;"
               "xnl.v.c.chargebars=9;xnl.v.c.chargeminutes3kw=200");
  vt_roundtrip("nissanleaf", "xnl.modelyear=2016;xnl.ze1=yes", "v.e.cabintemp=21.5",
               "v.e.cabintemp=21.5");
  vt_roundtrip("nissanleaf", "xnl.modelyear=2016", "v.b.soc=50",
               "xnl.v.b.heatergranted=;v.e.cabinsetpoint=;v.e.cabintemp=;xnl.v.c.chargebars=;"
               "xnl.v.c.chargeminutes3kw=");
  vt_roundtrip("nissanleaf", "xnl.modelyear=2016;xnl.ze1=yes", "v.b.soc=50", "v.e.cabintemp=");
  /* 0x59E: the capacity (24 kWh packs) agrees with 0x5BC's max GIDs; the ZE1 instrument SOC;
   * nothing before a capacity is known */
  vt_roundtrip("nissanleaf", NULL, "xnl.v.b.e.capacity=20", "xnl.v.b.e.capacity=20");
  vt_roundtrip("nissanleaf", NULL, "xnl.v.b.max.gids=281", "xnl.v.b.e.capacity=22.48");
  vt_roundtrip("nissanleaf", "xnl.ze1=yes", "xnl.v.b.e.capacity=20;xnl.v.b.soc.instrument=80.5",
               "xnl.v.b.e.capacity=20;xnl.v.b.soc.instrument=80.5");
  vt_roundtrip("nissanleaf", NULL, "v.b.soc=50", "xnl.v.b.e.capacity=");
  /* 0x1D4: a charge in progress stays in progress (d6.7 set) */
  vt_roundtrip("nissanleaf", NULL,
               "v.c.charging=yes;v.c.state=charging;v.c.pilot=yes;v.c.voltage=230;"
               "v.c.current=10;v.c.power=2.3;v.c.climit=16",
               "v.c.charging=yes;v.c.state=charging");
}

/* ---- Leaf 0x5BF beside 0x390 ----------------------------------------------------------- */

static size_t enc_index(const struct vehicle *v, uint32_t id)
{
  for (size_t i = 0; i < v->n_enc; i++)
    if (v->enc[i].id == id)
      return i;
  fail_msg("no encoder for 0x%X", (unsigned)id);
  return 0;
}

/*
 * A car with metrics `set` sends all its frames once and a 0x390, then 0x390 and 0x5BF
 * alternately (both orders) for 40 periods; the module decoding them must keep the v.c.climit
 * and v.c.pilot that 0x390 gave (no flapping), 0x5BF must be sent (sent5bf) or held, and the
 * module ends with `expect`.
 */
static void leaf_5bf_run(const char *set, bool sent5bf, const char *expect)
{
  struct vt a, b;
  vt_open(&a, "nissanleaf", NULL);
  vt_set_metrics(&a, set);
  vt_open(&b, "nissanleaf", NULL);
  struct vt_frames fr = {.n = 0};
  vehicle_encode_all(a.v, vt_collect, &fr);
  size_t i390 = enc_index(a.v, 0x390), i5bf = enc_index(a.v, 0x5BF);
  for (size_t k = 0; k < fr.n; k++) /* 0x1DB first: the pack voltage 0x390 uses on CHAdeMO */
    vehicle_decode(b.v, &fr.f[k]);
  struct sim_frame f;
  assert_int_equal(vehicle_encode(a.v, i390, &f), 1);
  vehicle_decode(b.v, &f);
  char climit[512], pilot[512], got[512]; /* vt_str() gives up to 511 characters */
  snprintf(climit, sizeof climit, "%s", vt_str(&b, "v.c.climit"));
  snprintf(pilot, sizeof pilot, "%s", vt_str(&b, "v.c.pilot"));
  unsigned n5bf = 0;
  for (int k = 0; k < 40; k++) {
    size_t order[2] = {i390, i5bf};
    if (k & 1)
      order[0] = i5bf, order[1] = i390;
    for (int j = 0; j < 2; j++) {
      if (vehicle_encode(a.v, order[j], &f) != 1) {
        assert_true(order[j] == i5bf);
        continue;
      }
      if (f.id == 0x5BF)
        n5bf++;
      assert_int_equal(vehicle_decode(b.v, &f), 1);
      snprintf(got, sizeof got, "%s", vt_str(&b, "v.c.climit"));
      if (strcmp(got, climit) || strcmp(vt_str(&b, "v.c.pilot"), pilot))
        fail_msg("%s: after 0x%X v.c.climit=%s v.c.pilot=%s, 0x390 gave %s / %s", set,
                 (unsigned)f.id, got, vt_str(&b, "v.c.pilot"), climit, pilot);
    }
  }
  assert_int_equal(n5bf, sent5bf ? 40 : 0);
  char what[1024];
  snprintf(what, sizeof what, "0x5BF run %s", set);
  vt_check_expect(&b, expect, what);
  vt_close(&b);
  vt_close(&a);
}

static void test_leaf_5bf_agrees_with_390(void **state)
{
  (void)state;
  /* unplugged, car on: 0 A, no pilot (d4 0x28: idle) */
  leaf_5bf_run("v.e.on=yes;v.b.voltage=360", true,
               "v.c.climit=0;v.c.pilot=no;v.c.charging=no;v.c.state=stopped");
  /* AC charging 30 A at 220 V: 0x390 6.6 kW / 220 V = 30 A = 0x5BF d2 150, d4 0x60 */
  leaf_5bf_run("v.c.charging=yes;v.c.state=charging;v.c.pilot=yes;v.c.voltage=220;"
               "v.c.climit=30;v.c.power=6.6;v.b.voltage=360",
               true,
               "v.c.climit=30;v.c.pilot=yes;v.c.charging=yes;v.c.state=charging;"
               "v.c.type=type1;v.c.voltage=220");
  /* 40 A: above the 32 A where d4 0x60 would clear the pilot, so 0x70 */
  leaf_5bf_run("v.c.charging=yes;v.c.state=charging;v.c.pilot=yes;v.c.voltage=220;"
               "v.c.climit=40;v.b.voltage=360",
               true, "v.c.climit=40;v.c.pilot=yes;v.c.charging=yes;v.c.type=type1");
  /* 16 A at 230 V: 0x390 3.7 kW / 220 V = 16.8182 A, no whole-amp d2: 0x5BF held */
  leaf_5bf_run("v.c.charging=yes;v.c.state=charging;v.c.pilot=yes;v.c.voltage=230;"
               "v.c.climit=16;v.b.voltage=360",
               false, "v.c.climit=16.8182;v.c.pilot=yes;v.c.charging=yes");
  /* plugged, timer wait at 10 A (d4 0x30); done at 0 A (d4 0x18 keeps the pilot) */
  leaf_5bf_run("v.c.state=timerwait;v.c.pilot=yes;v.c.voltage=220;v.c.climit=10", true,
               "v.c.climit=10;v.c.pilot=yes;v.c.state=timerwait;v.d.cp=yes");
  leaf_5bf_run("v.c.state=done;v.c.pilot=yes;v.c.voltage=220;v.c.climit=0", true,
               "v.c.climit=0;v.c.pilot=yes;v.c.state=done");
  /* CHAdeMO at 120 A on 360 V: 0x390 43.2 kW / 360 V = 120 A, so d4 0xB0 */
  leaf_5bf_run("v.c.charging=yes;v.c.state=charging;v.c.pilot=yes;v.c.type=chademo;"
               "v.c.voltage=360;v.c.climit=120;v.b.voltage=360",
               true, "v.c.climit=120;v.c.pilot=yes;v.c.type=chademo;v.c.state=charging");
  /* CHAdeMO at 50 A: never 0xB0 (it would force 120 A); d2 250 with d4 0x70 */
  leaf_5bf_run("v.c.charging=yes;v.c.state=charging;v.c.pilot=yes;v.c.type=chademo;"
               "v.c.voltage=360;v.c.climit=50;v.b.voltage=360",
               true, "v.c.climit=50;v.c.pilot=yes;v.c.type=chademo;v.c.state=charging");
  /* CHAdeMO at 100 A: beyond d2's 51 A: held */
  leaf_5bf_run("v.c.charging=yes;v.c.state=charging;v.c.pilot=yes;v.c.type=chademo;"
               "v.c.voltage=360;v.c.climit=100;v.b.voltage=360",
               false, "v.c.climit=100;v.c.type=chademo");
}

/* the frames themselves */
static void test_leaf_5bf_frames(void **state)
{
  (void)state;
  struct vt t;
  vt_open(&t, "nissanleaf", NULL);
  size_t i = enc_index(t.v, 0x5BF);
  struct sim_frame f;
  metric_set_from_string(vt_m(&t, "v.c.charging"), "yes", SIM_UNIT_NATIVE);
  metric_set_from_string(vt_m(&t, "v.c.state"), "charging", SIM_UNIT_NATIVE);
  metric_set_from_string(vt_m(&t, "v.c.voltage"), "220", SIM_UNIT_NATIVE);
  metric_set_from_string(vt_m(&t, "v.c.climit"), "30", SIM_UNIT_NATIVE);
  assert_int_equal(vehicle_encode(t.v, i, &f), 1);
  assert_int_equal(f.len, 8);
  static const uint8_t ac30[8] = {0, 0, 150, 0, 0x60, 0, 0, 0};
  assert_memory_equal(f.data, ac30, 8);
  metric_set_from_string(vt_m(&t, "v.c.charging"), "no", SIM_UNIT_NATIVE);
  metric_set_from_string(vt_m(&t, "v.c.state"), "stopped", SIM_UNIT_NATIVE);
  metric_set_from_string(vt_m(&t, "v.c.voltage"), "0", SIM_UNIT_NATIVE);
  assert_int_equal(vehicle_encode(t.v, i, &f), 1);
  static const uint8_t off[8] = {0, 0, 0, 0, 0x38, 0, 0, 0};
  assert_memory_equal(f.data, off, 8);
  vt_close(&t);
}

/* ---- a full transmit queue -------------------------------------------------------------- */

struct fullq {
  bool full;
  unsigned refused, refused_1db;
  struct sim_frame f[512]; /* 0x1DB frames taken */
  size_t n;
  int64_t drained_ts; /* frame time (UTC ns) when the queue drained */
  struct vehicle *car;
};

static struct fullq q;

static int fq_open(struct sim_canbus *bus, const char *arg, struct sim_diag *d)
{
  (void)arg, (void)d;
  bus->priv = &q;
  return 0;
}

static int fq_start(struct sim_canbus *bus)
{
  (void)bus;
  return 0;
}

static int fq_send(struct sim_canbus *bus, const struct sim_frame *f)
{
  (void)bus;
  if (q.full) {
    q.refused++;
    q.refused_1db += f->id == 0x1DB;
    return -EAGAIN;
  }
  if (f->id == 0x1DB && q.n < ARRAY_SIZE(q.f))
    q.f[q.n++] = *f;
  return 0;
}

static const struct sim_canbus_ops fullq_ops = {
    .name = "fullq", .open = fq_open, .start = fq_start, .send = fq_send};

static void on_fill(struct sim_loop *loop, struct sim_timer *t)
{
  (void)loop, (void)t;
  q.full = true;
}

static void on_drain(struct sim_loop *loop, struct sim_timer *t)
{
  (void)t;
  /* the car's state changed while nothing could be sent */
  metric_set_float(metrics_find(q.car->ms, "v.b.voltage"), 380);
  q.full = false;
  q.drained_ts = sim_now(loop);
}

static void on_stop(struct sim_loop *loop, struct sim_timer *t)
{
  (void)t;
  sim_loop_stop(loop, 0);
}

static double volts_1db(const struct sim_frame *f)
{
  return (((unsigned)f->data[2] << 2) | (f->data[3] >> 6)) / 2.0;
}

static void test_full_queue_slows_down(void **state)
{
  (void)state;
  memset(&q, 0, sizeof q);
  struct vt car;
  vt_open(&car, "nissanleaf", NULL);
  q.car = car.v;
  for (int i = 0; i < 2; i++) {
    struct sim_diag d = SIM_DIAG_INIT;
    assert_int_equal(
        can_bus_new_ops(&car.sim->buses[i], car.loop, &fullq_ops, "q", (uint8_t)(i + 1), &d), 0);
    assert_int_equal(can_bus_start(car.sim->buses[i]), 0);
    sim_diag_cleanup(&d);
  }
  metric_set_float(vt_m(&car, "v.b.voltage"), 360);
  metric_set_float(vt_m(&car, "v.b.soc"), 50);
  vehicle_encoder_start_buses(car.v);
  struct sim_timer fill, drain, stop;
  sim_timer_init(&fill, on_fill, NULL);
  sim_timer_init(&drain, on_drain, NULL);
  sim_timer_init(&stop, on_stop, NULL);
  sim_timer_start(car.loop, &fill, SIM_NS_PER_SEC + SIM_NS_PER_MS / 2, 0);
  sim_timer_start(car.loop, &drain, SIM_NS_PER_SEC * 3 / 2 + 10 * SIM_NS_PER_MS + SIM_NS_PER_MS / 3,
                  0);
  sim_timer_start(car.loop, &stop, 2 * SIM_NS_PER_SEC + SIM_NS_PER_MS / 2, 0);
  assert_int_equal(sim_loop_run(car.loop), 0);

  const struct vehicle_stats *st = &car.v->stats;
  assert_true(q.refused > 0);
  assert_int_equal(st->deferred, q.refused); /* every refusal is a deferral, */
  assert_int_equal(st->unsent, 0);           /* none a loss */
  assert_int_equal(st->sent, st->encoded);   /* a deferred encode is not counted as encoded */
  /* the back-off doubles from 1 ms to the period: 0x1DB (10 ms) retries at most ~55 times in
   * the 0.5 s the queue was full, not once per loop turn */
  assert_true(q.refused < 2000);
  /* the PRUN check below can only see a consumed counter value if the retries of 0x1DB are
   * not a multiple of its 4 values */
  assert_int_not_equal(q.refused_1db % 4, 0);

  /* 0x1DB: 100 frames in the first second, none while full, then on its period again */
  size_t before = 0, after = 0;
  int64_t first_after = 0;
  for (size_t i = 0; i < q.n; i++) {
    if (q.f[i].ts < q.drained_ts) {
      before++;
      assert_true(volts_1db(&q.f[i]) == 360.0);
    } else {
      if (!after)
        first_after = q.f[i].ts;
      after++;
      assert_true(volts_1db(&q.f[i]) == 380.0); /* the newest value, not a stale one */
    }
    /* the PRUN counter has no gap: a deferred frame did not consume a value */
    if (i)
      assert_int_equal(q.f[i].data[6] & 3, (q.f[i - 1].data[6] + 1) & 3);
  }
  assert_int_equal(before, 100);
  assert_true(after >= 45 && after <= 50);
  assert_true(first_after - q.drained_ts <= 10 * SIM_NS_PER_MS);

  /* what was sent after the drain decodes (CRC included) to the newest metrics */
  struct vt module;
  vt_open(&module, "nissanleaf", NULL);
  for (size_t i = before; i < q.n; i++)
    assert_int_equal(vehicle_decode(module.v, &q.f[i]), 1);
  assert_string_equal(vt_str(&module, "v.b.voltage"), "380");
  assert_string_equal(vt_str(&module, "v.b.soc"), "50");
  vt_close(&module);

  struct sbuf b = SBUF_INIT;
  vehicle_encoder_report(car.v, &b);
  char want[128];
  snprintf(want, sizeof want, "%llu deferred (transmit queue full), 0 unsent",
           (unsigned long long)st->deferred);
  assert_non_null(strstr(sbuf_str(&b), want));
  sbuf_free(&b);

  vehicle_encoder_stop(car.v);
  for (int i = 0; i < 2; i++) {
    can_bus_close(car.sim->buses[i]);
    car.sim->buses[i] = NULL;
  }
  vt_close(&car);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_decoded_id_is_emitted),
      cmocka_unit_test(test_added_encoders_roundtrip),
      cmocka_unit_test(test_leaf_5bf_agrees_with_390),
      cmocka_unit_test(test_leaf_5bf_frames),
      cmocka_unit_test(test_full_queue_slows_down),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
