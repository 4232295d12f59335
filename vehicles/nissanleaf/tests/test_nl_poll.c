/*
 * test_nl_poll.c - the Leaf's poll replies (vehicles/nissanleaf/nl_poll.c).
 *
 * The replies captured in the comments of the firmware's PollReply_Battery and
 * PollReply_BMS_Temp (vehicle_nissanleaf.cpp at 1aa1daff) decode to what the firmware's code
 * computes from them: the two 24/30 kWh group 1 payloads and the ZE1's as the CAN frames of
 * the comment, reassembled by the ISO-TP engine; the four 14-byte group 4 payloads; the ZE1's
 * 29-byte group 4 capture, which the comment says is incomplete, is not decoded.  A group 2
 * exchange recorded from an e-NV200 (tests/data/hil/env200-bms-volt-poll.crtd) decodes to
 * 96 cells.  Every encoder's reply decodes back to the metrics it was built from.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "hil/isotp.h"
#include "../../vtest.h"

static const struct vehicle_poll *find_poll(struct vehicle *v, uint32_t txid, uint8_t type,
                                            uint16_t pid)
{
  for (size_t i = 0; i < v->n_polls; i++)
    if (v->polls[i].txid == txid && v->polls[i].type == type && v->polls[i].pid == pid)
      return &v->polls[i];
  fail_msg("no poll %03X %02X %X", (unsigned)txid, type, pid);
  return NULL;
}

static size_t unhex(const char *s, uint8_t *b)
{
  size_t n = 0;
  while (*s) {
    if (*s == ' ') {
      s++;
      continue;
    }
    char x[3] = {s[0], s[1], 0};
    b[n++] = (uint8_t)strtoul(x, NULL, 16);
    s += 2;
  }
  return n;
}

static void decode_hex(struct vt *t, uint16_t pid, const char *hex)
{
  uint8_t d[400];
  size_t n = unhex(hex, d);
  const struct vehicle_poll *p = find_poll(t->v, 0x79B, 0x21, pid);
  p->decode(t->v, p, d, n);
}

/* PollReply_Battery: the two payloads of the comment (39 and 41 bytes) */
static void test_battery_comment(void **state)
{
  (void)state;
  struct vt t;
  vt_open(&t, "nissanleaf", NULL);
  metric_set_float(vt_m(&t, "v.b.voltage"), 390.0);
  decode_hex(&t, 0x01, "0000020d 0287 00000363 ffffffff001c 2af89a89 2e4b 03a4 "
                       "005c 269a 000ecf81 0009d7b0 800001");
  /* hx = 0x269a / 100, ah = 0x09d7b0 / 10000, soh = ah / 66 * 100 (float arithmetic),
   * capacity = ah * v.b.voltage / 1000 */
  assert_string_equal(vt_str(&t, "xnl.v.b.hx"), "98.82");
  assert_string_equal(vt_str(&t, "v.b.cac"), "64.504");
  assert_string_equal(vt_str(&t, "xnl.v.b.soh.newcar"), "97.7333");
  assert_string_equal(vt_str(&t, "xnl.v.b.e.capacity"), "25.1566");
  assert_false(metric_is_defined(vt_m(&t, "v.b.soh"))); /* soh.newcar is off */
  decode_hex(&t, 0x01, "fffffc4e 028a ffffff46 ffffffff 1290 2af88fcd 32de 038b "
                       "005c 1f3d 000896c6 000b3290 800001 0000");
  assert_string_equal(vt_str(&t, "xnl.v.b.hx"), "79.97");
  assert_string_equal(vt_str(&t, "v.b.cac"), "73.384");
  vt_config(&t, "xnl.soh.newcar=yes;xnl.newCarAh=80");
  decode_hex(&t, 0x01, "fffffc4e 028a ffffff46 ffffffff 1290 2af88fcd 32de 038b "
                       "005c 1f3d 000896c6 000b3290 800001 0000");
  assert_string_equal(vt_str(&t, "v.b.soh"), "91.73");
  /* wrong lengths are ignored, as the firmware's check */
  metric_clear(vt_m(&t, "v.b.cac"));
  decode_hex(&t, 0x01, "0000020d 0287 00000363 ffffffff001c 2af89a89 2e4b 03a4 "
                       "005c 269a 000ecf81 0009d7b0 8000");
  assert_false(metric_is_defined(vt_m(&t, "v.b.cac")));
  vt_close(&t);
}

/* The ZE1's group 1 as the CAN frames of the comment, through the ISO-TP engine. */
struct sniff {
  struct vt *t;
  int got;
};

static int no_send(void *ctx, const struct sim_frame *f)
{
  (void)ctx;
  (void)f;
  return 0;
}

static void sniffed(void *ctx, struct isotp_link *l, const uint8_t *msg, size_t len, bool func)
{
  struct sniff *s = ctx;
  (void)l;
  (void)func;
  s->got++;
  assert_true(len >= 2 && msg[0] == 0x61);
  const struct vehicle_poll *p = find_poll(s->t->v, 0x79B, 0x21, msg[1]);
  p->decode(s->t->v, p, msg + 2, len - 2);
}

static const struct isotp_ops sniff_ops = {no_send, sniffed, NULL, NULL};

/* The BMS's replies fr[0..n) through a listening ISO-TP link.  Returns the replies decoded. */
static int feed_sim_frames(struct vt *t, const struct sim_frame *fr, size_t n)
{
  struct sniff s = {t, 0};
  struct isotp_link l;
  struct isotp_config c;
  isotp_config_default(&c, 0x79B, 0x7BB);
  c.listen_only = true;
  assert_int_equal(isotp_link_init(&l, t->loop, &c, &sniff_ops, &s), 0);
  for (size_t i = 0; i < n; i++)
    isotp_link_input(&l, &fr[i]);
  isotp_link_cleanup(&l);
  return s.got;
}

/* The same for 0x7BB frames given as hex bytes ("10 35 61 ..."). */
static int feed_frames(struct vt *t, const char *const *frames, size_t n)
{
  struct sim_frame fr[64];
  assert_true(n <= ARRAY_SIZE(fr));
  for (size_t i = 0; i < n; i++) {
    memset(&fr[i], 0, sizeof fr[i]);
    fr[i].id = 0x7BB;
    fr[i].len = (uint8_t)unhex(frames[i], fr[i].data);
  }
  return feed_sim_frames(t, fr, n);
}

static void test_battery_ze1_frames(void **state)
{
  (void)state;
  static const char *const frames[] = {
    "10 35 61 01 FF FF FC 18", "21 02 AF FF FF FB 62 FF", "22 FF F0 DD 0B 1C 30 D4",
    "23 95 1D 33 06 03 95 00", "24 01 70 00 26 9A 00 0C", "25 44 B5 00 11 0B B8 80",
    "26 00 01 FF FF FB 62 FF", "27 FF FC AA 01 AD FF FF",
  };
  struct vt t;
  vt_open(&t, "nissanleaf", "xnl.ze1=yes");
  assert_int_equal(feed_frames(&t, frames, 8), 1);
  /* soc = 0x0C44B5 / 10000, hx = 0x269A / 102.4, ah = 0x110BB8 / 10000 */
  assert_string_equal(vt_str(&t, "v.b.soc"), "80.4021");
  assert_string_equal(vt_str(&t, "xnl.v.b.hx"), "96.5039");
  assert_string_equal(vt_str(&t, "v.b.cac"), "111.711");
  vt_close(&t);
}

/* PollReply_BMS_Temp: the four 14-byte payloads of the comment. */
static void test_temp_comment(void **state)
{
  (void)state;
  static const struct {
    const char *hex, *cells, *tmax, *therm, *tint;
  } t[] = {
    {"02 51 0c 02 4d 0d ff ff ff 02 4d 0d 0c 00", "11.934,12.342,12.342", "12.342",
     "593,589,65535,589", "12,13,255,13,12,0"},
    {"02 52 0c 02 4e 0c ff ff ff 02 4e 0c 0c 00", "11.832,12.24,12.24", "12.24",
     "594,590,65535,590", "12,12,255,12,12,0"},
    {"02 57 0c 02 57 0c ff ff ff 02 58 0b 0b 00", "11.322,11.322,11.22", "11.322",
     "599,599,65535,600", "12,12,255,11,11,0"},
    {"02 5a 0b 02 59 0b ff ff ff 02 5a 0b 0b 00", "11.016,11.118,11.016", "11.118",
     "602,601,65535,602", "11,11,255,11,11,0"},
  };
  for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
    struct vt v;
    vt_open(&v, "nissanleaf", NULL);
    decode_hex(&v, 0x04, t[i].hex);
    assert_string_equal(vt_str(&v, "v.b.c.temp"), t[i].cells);
    assert_string_equal(vt_str(&v, "v.b.p.temp.max"), t[i].tmax);
    assert_string_equal(vt_str(&v, "v.b.temp"), t[i].tmax);
    assert_string_equal(vt_str(&v, "xnl.bms.thermistor"), t[i].therm);
    assert_string_equal(vt_str(&v, "xnl.bms.temp.int"), t[i].tint);
    vt_close(&v);
  }
  /* the ZE1 capture of 29 bytes stops after 3 frames: nothing is delivered */
  static const char *const ze1[] = {"10 1F 61 04 02 0D 13 02", "21 03 14 FF FF FF 02 0B",
                                    "22 13 13 00 FF FF FF FF"};
  struct vt v;
  vt_open(&v, "nissanleaf", "xnl.ze1=yes");
  assert_int_equal(feed_frames(&v, ze1, 3), 0);
  assert_false(metric_is_defined(vt_m(&v, "v.b.c.temp")));
  vt_close(&v);
}

/* A group 2 exchange recorded from an e-NV200 (0x79B / 0x7BB lines of the trace). */
static void test_volt_recorded(void **state)
{
  (void)state;
  char *text = test_read_file(test_data_path("hil/env200-bms-volt-poll.crtd"), NULL);
  static struct sim_frame frames[64];
  char *save = NULL;
  size_t n = 0;
  for (char *line = strtok_r(text, "\n", &save); line && n < ARRAY_SIZE(frames);
       line = strtok_r(NULL, "\n", &save)) {
    struct vt_crtd c;
    if (vt_crtd_parse(line, &c) < 0)
      fail_msg("not CRTD: %s", line);
    if (c.kind == 'R' && c.f.id == 0x7BB)
      frames[n++] = c.f;
  }
  free(text);
  assert_int_equal(n, 29);
  struct vt t;
  vt_open(&t, "nissanleaf", NULL);
  assert_int_equal(feed_sim_frames(&t, frames, n), 1);
  struct metric *cells = vt_m(&t, "v.b.c.voltage");
  assert_int_equal(cells->n, 96);
  assert_float_equal(((const float *)cells->data)[0], 3.732, 1e-6);
  assert_string_equal(vt_str(&t, "v.b.p.voltage.max"), "3.737");
  assert_string_equal(vt_str(&t, "v.b.p.voltage.min"), "3.731");
  vt_close(&t);
}

/* encode -> decode: the simulated BMS's and VCM's replies give the metrics back. */
static void test_roundtrip(void **state)
{
  (void)state;
  static const char *configs[] = {"", "xnl.ze1=yes"};
  for (size_t k = 0; k < 2; k++) {
    struct vt a, b;
    vt_open(&a, "nissanleaf", configs[k]);
    vt_open(&b, "nissanleaf", configs[k]);
    metric_set_float(vt_m(&a, "v.b.soc"), 62.5);
    metric_set_float(vt_m(&a, "v.b.cac"), 51.25);
    metric_set_float(vt_m(&a, "v.b.soh"), 88.5);
    metric_set_float(vt_m(&a, "xnl.v.b.hx"), 77.5);
    float cells[96];
    for (int i = 0; i < 96; i++)
      cells[i] = 3.9f + 0.001f * (float)(i % 7);
    metric_set_vec_float(vt_m(&a, "v.b.c.voltage"), cells, 96);
    float temps[3] = {14.5f, 15.0f, 16.5f};
    metric_set_vec_float(vt_m(&a, "v.b.c.temp"), temps, 3);
    metric_set_string(vt_m(&a, "v.vin"), "SJNFAAZE0U6012345");
    metric_set_int(vt_m(&a, "xnl.v.c.count.qc"), 17);
    metric_set_int(vt_m(&a, "xnl.v.c.count.l0l1l2"), 345);
    for (size_t i = 0; i < a.v->n_polls; i++) {
      const struct vehicle_poll *p = &a.v->polls[i];
      uint8_t buf[ISOTP_MAX_LEN];
      size_t n = p->encode(a.v, p, buf, sizeof buf);
      assert_true(n > 0);
      if (p->decode)
        p->decode(b.v, &b.v->polls[i], buf, n);
    }
    if (k == 1)
      assert_string_equal(vt_str(&b, "v.b.soc"), "62.5");
    assert_string_equal(vt_str(&b, "v.b.cac"), "51.25");
    assert_string_equal(vt_str(&b, "xnl.v.b.hx"), k ? "77.5" : "77.5");
    assert_string_equal(vt_str(&b, "v.b.c.voltage"), vt_str(&a, "v.b.c.voltage"));
    assert_string_equal(vt_str(&b, "v.vin"), "SJNFAAZE0U6012345");
    assert_string_equal(vt_str(&b, "xnl.v.c.count.qc"), "17");
    assert_string_equal(vt_str(&b, "xnl.v.c.count.l0l1l2"), "345");
    struct metric *bt = vt_m(&b, "v.b.c.temp");
    assert_int_equal(bt->n, 3);
    for (int i = 0; i < 3; i++)
      assert_float_equal(((const float *)bt->data)[i], temps[i], 0.06);
    if (k == 1)
      assert_string_equal(vt_str(&b, "v.b.soh"), "88.5");
    vt_close(&a);
    vt_close(&b);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_battery_comment),
    cmocka_unit_test(test_battery_ze1_frames),
    cmocka_unit_test(test_temp_comment),
    cmocka_unit_test(test_volt_recorded),
    cmocka_unit_test(test_roundtrip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
