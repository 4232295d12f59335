/*
 * test_mitsubishi.c - the i-MiEV decoder and encoders: golden frames (the test_frame lists of
 * the third-party signal definitions, bonybrown/imiev-data-display vehicle/imiev/pid-defs, and
 * slackspace-io/imiev-dbc imiev.dbc), the P = -1 gear convention, cell numbering, the Ticker1
 * charge state machine, encode -> decode round trips and an excerpt of the ignition-off
 * candump.
 */
#include "testutil.h"

#include <math.h>

#include "core/array.h"
#include "vehicles/vtest.h"

static const struct vt_golden golden[] = {
    /* key: 0x101 d0 = 4 (later cars), 0x012 d2 = 4 (early cars) */
    {NULL, "1 101 04 00 00 00 00 00 00 00", "v.e.on=yes;v.e.awake=yes;v.e.charging12v=yes"},
    {NULL, "1 101 00 00 00 00 00 00 00 00", "v.e.on=;v.e.awake=no"},
    {NULL, "1 101 04 00;1 215 13 0A;1 101 00 00", "v.e.on=no;v.p.speed=0"},
    {NULL, "1 012 00 00 04", "v.e.on=yes"},
    /* pedals */
    {NULL, "1 208 00 00 61 40 00 00 00 00", "v.e.footbrake=50"},
    {NULL, "1 210 00 00 FF 00", "v.e.throttle=100"},
    /* speed 0x130A / 128 (defs_bonybrown 0x215 test frame) */
    {NULL, "1 215 13 0A 2B E3 2C 4D 00 00", "v.p.speed=38.0781"},
    /* 0x286: temperature, AC charger flag */
    {NULL, "1 286 0E 74 64 4B 00 00 00 00", "v.c.temp=35;v.i.temp=35;v.c.climit=14;v.c.state=charging"},
    {NULL, "1 286 00 00 00 3C 00 00 00 00", "v.c.temp=20;v.c.climit="},
    /* 0x298: motor 55 C, 1224 rpm; |rpm| < 10 -> 0 */
    {NULL, "1 298 58 59 54 5F 00 00 2B D8", "v.m.temp=55;v.m.rpm=1224"},
    {NULL, "1 298 58 59 54 5F 00 00 27 15", "v.m.rpm=0"},
    {NULL, "1 298 58 59 54 5F 00 00 26 0C", "v.m.rpm=-260"},
    /* VIN in three chunks */
    {NULL, "1 29A 00 4A 4D 42 4C 44 48 41;1 29A 01 33 57 39 5A 55 30 30;1 29A 02 31 32 33",
     "v.vin=JMBLDHA3W9ZU00123"},
    {NULL, "1 29A 02 31 32 33", "v.vin="},
    /* range 34 km, handbrake off (defs_bonybrown 0x346); 255 = invalid */
    {NULL, "1 346 27 10 2E 00 00 00 00 22", "v.b.range.est=34;v.e.handbrake=no"},
    {NULL, "1 346 27 10 2E 00 20 00 00 FF", "v.b.range.est=;v.e.handbrake=yes"},
    /* imiev-data-display test frame: 373 B6 B4 7F 28 0D 72 00 16 -> -2.16 A, 344.2 V;
     * power = -V * I */
    {NULL, "1 373 B6 B4 7F 28 0D 72 00 16",
     "v.b.current=-2.16;v.b.voltage=344.2;v.b.power=0.743472"},
    /* imiev-data-display test frame: SOC (179 - 10) / 2 = 84.5 %; d1 <= 10 ignored */
    {NULL, "1 374 B0 B3 00 00 4A 48 3D 00", "v.b.soc=84.5"},
    {NULL, "1 374 0A 0A 00 00 4A 48 3D 00", "v.b.soc="},
    {NULL, "1 377 00 00 00 7B", "v.b.12v.current=12.3"},
    {NULL, "1 377 00 00 FF FF", "v.b.12v.current="},
    /* heater 2.5 A at 340 V: heating */
    {NULL, "1 373 80 00 80 00 0D 48 00 00;1 384 03 E8 00 00 19 00 00 00",
     "v.e.heating=yes;xmi.e.heating.amp=2.5;xmi.e.ac.amp=1"},
    {NULL, "1 373 80 00 80 00 0D 48 00 00;1 384 00 00 00 00 00 00 00 00", "v.e.heating=no"},
    /* AC charger 237 V 0.1 A (defs_bonybrown 0x389) */
    {NULL, "1 389 B1 ED 00 40 40 CA 01 02",
     "v.c.voltage=237;v.c.current=0.1;v.c.power=0.0237;v.c.charging=yes"},
    {NULL, "1 389 B1 00 00 40 40 CA 00 02", "v.c.voltage=0;v.c.charging="},
    /* climate console (defs_bonybrown 0x3A4) */
    {NULL, "1 3A4 E1 19 C0 B8 75 50 00 00",
     "v.e.hvac=yes;v.e.cabinintake=Recirculation;v.e.cabinfan=110;v.e.cabinvent=Face"},
    {NULL, "1 3A4 6D 78 BC A9 D4 8B 00 00",
     "v.e.hvac=no;v.e.cabinfan=110;v.e.cabinvent=Legs + Windshield"},
    {NULL, "1 3A4 0E F0 FF FF FF FF 00 00",
     "v.e.hvac=no;v.e.cabinintake=Fresh;v.e.cabinfan=0;v.e.cabinvent=-"},
    {NULL, "1 3A4 07 53 00 00 00 00 00 00", "v.e.cabinfan=38;v.e.cabinvent=Legs"},
    /* imiev-data-display test frame: odometer 94759 km */
    {NULL, "1 412 FE 00 01 72 27 00 00 00", "v.p.odometer=94759"},
    /* gear: P -1, R -2 (not the standard convention), N 0, D 1, B 2, C 3 */
    {NULL, "1 418 50 00 00 00 00 00 00", "v.e.gear=-1"},
    {NULL, "1 418 52 00 00 00 00 00 00", "v.e.gear=-2"},
    {NULL, "1 418 4E 00 00 00 00 00 00", "v.e.gear=0"},
    {NULL, "1 418 44 00 00 00 00 00 00", "v.e.gear=1"},
    {NULL, "1 418 83 00 00 00 00 00 00", "v.e.gear=2"},
    {NULL, "1 418 32 00 00 00 00 00 00", "v.e.gear=3"},
    {NULL, "1 418 41 00 00 00 00 00 00", "v.e.gear="},
    /* lights and doors (defs_bonybrown 0x424) */
    {NULL, "1 424 03 02 0C 00 BB FE 01 FF",
     "xmi.e.blinker.left=yes;v.e.headlights=no;v.d.fl=no;v.d.fr=no;v.e.locked=no"},
    {NULL, "1 424 07 60 0C 00 BB FD 03 FF", "v.e.headlights=yes;xmi.e.lowbeam=yes"},
    {NULL, "1 424 18 05 43 00 00 00 00 00",
     "xmi.e.frontfog=yes;xmi.e.rearfog=yes;xmi.e.highbeam=yes;xmi.e.blinker.right=yes;"
     "v.d.fl=yes;v.d.fr=yes;v.d.rl=yes;v.d.rr=yes;v.d.trunk=yes;v.e.locked=yes"},
    /* quick charge; the range reads 0 meanwhile */
    {NULL, "1 697 01 00 7D 00 00 00 00 00;1 346 27 10 2E 00 00 00 00 22",
     "v.c.type=Quickcharge;v.c.mode=CHAdeMO;v.c.climit=125;v.b.range.est=0"},
};

static void test_golden(void **state)
{
  (void)state;
  vt_run_golden("mitsubishi", golden, ARRAY_SIZE(golden));
}

static void test_cells(void **state)
{
  (void)state;
  struct vt t;
  vt_open(&t, "mitsubishi", NULL);
  /* CMU 9 on 0x6E1 (defs_bonybrown cell_volts test frame): cells 60, 61 and sensors 45, 46
   * (4 cells and 3 sensors are skipped from CMU 7 on) */
  vt_feed(&t, "1 6E1 09 00 4A 4A 01 8B 01 8A");
  struct metric *temp = vt_m(&t, "v.b.c.temp"), *volt = vt_m(&t, "v.b.c.voltage");
  assert_int_equal(temp->n, 47);
  assert_int_equal(volt->n, 62);
  assert_true(((float *)temp->data)[45] == 24.0f && ((float *)temp->data)[46] == 24.0f);
  assert_true(fabsf(((float *)volt->data)[60] - 4.075f) < 1e-5f);
  assert_true(fabsf(((float *)volt->data)[61] - 4.07f) < 1e-5f);
  /* CMU 1 on 0x6E2: cells 2, 3, sensors 2, 3 */
  vt_feed(&t, "1 6E2 01 46 48 00 00 C8 01 90");
  const float *cv = volt->data, *tv = temp->data;
  assert_true(fabsf(cv[2] - 3.1f) < 1e-5f && fabsf(cv[3] - 4.1f) < 1e-5f);
  assert_true(tv[2] == 20.0f && tv[3] == 22.0f);
  /* CMU 12 on 0x6E4 would be cells 90, 91: beyond an 88-cell pack, dropped */
  size_t n = vt_m(&t, "v.b.c.voltage")->n;
  vt_feed(&t, "1 6E4 0C 46 48 00 00 C8 01 90");
  assert_int_equal(vt_m(&t, "v.b.c.voltage")->n, n);
  /* Ticker1: pack average temperature -> v.b.temp */
  vehicle_tick(t.v);
  assert_true(metric_is_defined(vt_m(&t, "v.b.temp")));
  vt_close(&t);
}

static void test_charge_state_machine(void **state)
{
  (void)state;
  struct vt t;
  vt_open(&t, "mitsubishi", NULL);
  vt_feed(&t, "1 374 B0 B3 00 00 4A 48 3D 00"); /* 84.5 % */
  vt_feed(&t, "1 418 50 00 00 00 00 00 00");    /* P */
  vt_feed(&t, "1 286 0E 74 64 4B 00 00 00 00"); /* AC charger connected */
  vt_feed(&t, "1 389 B1 E6 00 40 40 CA 64 02"); /* 230 V 10 A */
  vehicle_tick(t.v);
  assert_true(vt_b(&t, "v.c.pilot"));
  assert_true(vt_b(&t, "v.c.charging"));
  assert_string_equal(vt_str(&t, "v.c.substate"), "onrequest");
  vehicle_tick(t.v);
  assert_string_equal(vt_str(&t, "v.c.state"), "charging");
  assert_string_equal(vt_str(&t, "v.c.power"), "2.3");
  /* charger gone, 0 A / 0 V: below 92 % this is an interruption */
  vt_feed(&t, "1 286 00 00 00 4B 00 00 00 00");
  vt_feed(&t, "1 389 B1 00 00 40 40 CA 00 02");
  vehicle_tick(t.v);
  assert_false(vt_b(&t, "v.c.charging"));
  assert_string_equal(vt_str(&t, "v.c.state"), "stopped");
  assert_string_equal(vt_str(&t, "v.c.substate"), "interrupted");
  assert_string_equal(vt_str(&t, "v.c.type"), "None");
  vt_close(&t);

  /* the same ending above 92 %: done; and nothing happens outside P */
  vt_open(&t, "mitsubishi", NULL);
  vt_feed(&t, "1 374 C8 C8 00 00 4A 48 3D 00"); /* 95 % */
  vt_feed(&t, "1 418 50 00 00 00 00 00 00");
  vt_feed(&t, "1 286 0E 74 64 4B 00 00 00 00");
  vehicle_tick(t.v);
  vehicle_tick(t.v);
  vt_feed(&t, "1 286 00 00 00 4B 00 00 00 00");
  vt_feed(&t, "1 389 B1 00 00 40 40 CA 00 02");
  vt_feed(&t, "1 418 44 00 00 00 00 00 00"); /* D */
  vehicle_tick(t.v);
  assert_true(vt_b(&t, "v.c.pilot"));
  vt_feed(&t, "1 418 50 00 00 00 00 00 00");
  vehicle_tick(t.v);
  assert_string_equal(vt_str(&t, "v.c.state"), "done");
  assert_string_equal(vt_str(&t, "v.c.substate"), "scheduledstop");
  vt_close(&t);
}

/* AsInt() truncates: at 92.5 % the "balancing" top-off (SOC > 92) has not started yet */
static void test_topoff_threshold(void **state)
{
  (void)state;
  for (int k = 0; k < 2; k++) {
    struct vt t;
    vt_open(&t, "mitsubishi", NULL);
    vt_feed(&t, k == 0 ? "1 374 C3 C3 00 00 4A 48 3D 00"   /* 92.5 % */
                       : "1 374 C4 C4 00 00 4A 48 3D 00"); /* 93 % */
    vt_feed(&t, "1 418 50 00 00 00 00 00 00");
    vt_feed(&t, "1 286 0E 74 64 4B 00 00 00 00");
    vt_feed(&t, "1 373 7F 00 7F F0 0D 72 00 16"); /* -0.16 A */
    vehicle_tick(t.v);
    vehicle_tick(t.v);
    assert_string_equal(vt_str(&t, "v.c.state"), k == 0 ? "charging" : "topoff");
    vt_close(&t);
  }
}

static void test_roundtrip(void **state)
{
  (void)state;
  vt_roundtrip("mitsubishi", NULL,
               "v.e.on=yes;v.e.footbrake=50;v.e.throttle=40;v.p.speed=38.0781;v.c.temp=35;"
               "v.m.temp=55;v.m.rpm=1224;v.vin=JMBLDHA3W9ZU00123;v.b.range.est=34;"
               "v.e.handbrake=yes;v.b.current=-2.16;v.b.voltage=344.2;v.b.soc=84.5;"
               "v.e.hvac=yes;v.e.cabinintake=Recirculation;v.e.cabinfan=38;v.e.cabinvent=Legs;"
               "v.p.odometer=94759;v.e.gear=-2;v.e.headlights=yes;v.d.fl=yes;v.e.locked=yes;"
               "v.c.charging=yes;v.c.type=type1;v.c.voltage=230;v.c.current=10",
               "v.e.on=yes;v.e.footbrake=50;v.e.throttle=40;v.p.speed=38.0781;v.c.temp=35;"
               "v.m.temp=55;v.m.rpm=1224;v.vin=JMBLDHA3W9ZU00123;v.b.range.est=34;"
               "v.e.handbrake=yes;v.b.current=-2.16;v.b.voltage=344.2;v.b.soc=84.5;"
               "v.e.hvac=yes;v.e.cabinintake=Recirculation;v.e.cabinfan=38;v.e.cabinvent=Legs;"
               "v.p.odometer=94759;v.e.gear=-2;v.e.headlights=yes;v.d.fl=yes;v.d.fr=no;"
               "v.e.locked=yes;v.c.climit=14;v.c.state=charging;v.c.voltage=230;v.c.current=10;"
               "v.c.power=2.3;v.c.charging=yes");
  /* quick charge */
  vt_roundtrip("mitsubishi", NULL, "v.c.charging=yes;v.c.type=Quickcharge;v.c.climit=125;v.e.gear=1",
               "v.c.type=Quickcharge;v.c.mode=CHAdeMO;v.c.climit=125;v.e.gear=1");
  /* MAX fan */
  vt_roundtrip("mitsubishi", NULL, "v.e.cabinfan=110;v.e.cabinvent=Windshield",
               "v.e.cabinfan=110;v.e.cabinvent=Windshield;v.e.hvac=no");
}

static void test_roundtrip_cells(void **state)
{
  (void)state;
  struct vt a, b;
  vt_open(&a, "mitsubishi", NULL);
  vt_open(&b, "mitsubishi", NULL);
  float cells[88], temps[66];
  for (int i = 0; i < 88; i++)
    cells[i] = 3.5f + 0.005f * (float)(i % 40);
  for (int i = 0; i < 66; i++)
    temps[i] = (float)(10 + i % 20);
  metric_set_vec_float(vt_m(&a, "v.b.c.voltage"), cells, 88);
  metric_set_vec_float(vt_m(&a, "v.b.c.temp"), temps, 66);
  /* every CMU on every cell frame: 12 rounds */
  for (size_t i = 0; i < a.v->n_enc; i++) {
    if (a.v->enc[i].id < 0x6E1 || a.v->enc[i].id > 0x6E4)
      continue;
    for (int k = 0; k < 12; k++) {
      struct sim_frame f;
      assert_int_equal(vehicle_encode(a.v, i, &f), 1);
      assert_int_equal(vehicle_decode(b.v, &f), 1);
    }
  }
  struct metric *cv = vt_m(&b, "v.b.c.voltage"), *ct = vt_m(&b, "v.b.c.temp");
  assert_int_equal(cv->n, 88);
  assert_int_equal(ct->n, 66);
  for (int i = 0; i < 88; i++)
    if (fabsf(((float *)cv->data)[i] - cells[i]) > 0.003f)
      fail_msg("cell %d: %f != %f", i, ((float *)cv->data)[i], cells[i]);
  for (int i = 0; i < 66; i++)
    if (((float *)ct->data)[i] != temps[i])
      fail_msg("sensor %d: %f != %f", i, ((float *)ct->data)[i], temps[i]);
  vt_close(&b);
  vt_close(&a);
}

/* candump default format: "  can0  412   [8]  FF FF 01 7F C1 00 01 06" (no bus number: 0) */
static void test_ign_off_excerpt(void **state)
{
  (void)state;
  struct vt t;
  vt_open(&t, "mitsubishi", NULL);
  char *text = test_read_file(test_data_path("vehicles/imiev-ign-off-excerpt.can"), NULL);
  char *save = NULL;
  int decoded = 0, frames = 0;
  for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    if (line[0] == '#')
      continue;
    char iface[16], id[16], rest[64];
    int dlc;
    if (sscanf(line, " %15s %15s [%d] %63[0-9A-Fa-f ]", iface, id, &dlc, rest) != 4)
      fail_msg("bad candump line '%s'", line);
    char buf[96];
    snprintf(buf, sizeof buf, "0 %s %s", id, rest);
    struct sim_frame f;
    assert_int_equal(vt_parse_frame(buf, &f), 0);
    assert_int_equal(f.len, dlc);
    frames++;
    decoded += vehicle_decode(t.v, &f);
  }
  free(text);
  assert_true(frames == 40);
  assert_true(decoded > 0 && decoded < frames); /* 0x325 and 0x408 are not decoded */
  /* parked with the ignition off: 98241 km, driver's and another door open, unlocked */
  assert_string_equal(vt_str(&t, "v.p.odometer"), "98241");
  assert_true(vt_b(&t, "v.d.fl"));
  assert_false(vt_b(&t, "v.e.locked"));
  assert_false(metric_is_defined(vt_m(&t, "v.e.on")));
  vt_close(&t);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_golden),
      cmocka_unit_test(test_cells),
      cmocka_unit_test(test_charge_state_machine),
      cmocka_unit_test(test_topoff_threshold),
      cmocka_unit_test(test_roundtrip),
      cmocka_unit_test(test_roundtrip_cells),
      cmocka_unit_test(test_ign_off_excerpt),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
