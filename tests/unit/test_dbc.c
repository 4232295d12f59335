/*
 * test_dbc.c - the DBC parser and signal codecs: little/big-endian (Motorola sawtooth)
 * signals checked against the Leaf frames OVMS decodes by hand, signed values, multiplexing,
 * value descriptions and tables, comments spanning lines, cycle times, float signals, encode
 * -> decode round trips over random signal shapes, every parse error with its file:line:col,
 * IMPORT, and (when the reference traces are present) every DBC file under traces/ parsing.
 */
#include "testutil.h"

#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <errno.h>

#include "core/array.h"
#include "vehicles/dbc/dbc.h"
#include "core/error.h"

static const char sample[] =
    "VERSION \"1.0\"\r\n"
    "\r\n"
    "NS_ :\r\n"
    "\tNS_DESC_\r\n"
    "\tCM_\r\n"
    "\r\n"
    "BS_:\r\n"
    "\r\n"
    "BU_: HVBAT VMS VDS\r\n"
    "\r\n"
    "BO_ 475 x1DB: 8 HVBAT\r\n"
    " SG_ LB_Current : 7|11@0- (0.5,0) [-400|200] \"A\" Vector__XXX\r\n"
    " SG_ LB_Total_Voltage : 23|10@0+ (0.5,0) [0|450] \"V\" Vector__XXX\r\n"
    " SG_ LB_Usable_SOC : 32|7@1+ (1,0) [0|100] \"%\" Vector__XXX\r\n"
    "\r\n"
    "BO_ 256 MUXED: 8 VMS\r\n"
    " SG_ Sub M : 0|8@1+ (1,0) [0|255] \"\" VDS\r\n"
    " SG_ Soc m128 : 8|8@1+ (1,0) [0|100] \"%\" VDS\r\n"
    " SG_ Ideal m128 : 16|16@1+ (1,0) [0|6000] \"mi\" VDS\r\n"
    " SG_ Speed m137 : 8|8@1+ (1,0) [0|255] \"mph\" VDS\r\n"
    " SG_ Temp m130 : 8|8@1- (1,-40) [-128|127] \"C\" VDS,VMS\r\n"
    "\r\n"
    "BO_ 2147484672 EXT_MSG: 8 VMS\r\n"
    " SG_ Gear : 0|3@1+ (1,0) [0|7] \"\" VDS\r\n"
    " SG_ F32 : 32|32@1- (1,0) [0|0] \"\" VDS\r\n"
    "\r\n"
    "CM_ \"global comment\";\r\n"
    "CM_ BO_ 475 \"LBC status\";\r\n"
    "CM_ SG_ 475 LB_Current \"Battery current,\r\nsecond line \\\"quoted\\\"\";\r\n"
    "BA_DEF_ BO_ \"GenMsgCycleTime\" INT 0 10000;\r\n"
    "BA_DEF_DEF_ \"GenMsgCycleTime\" 0;\r\n"
    "BA_ \"GenMsgCycleTime\" BO_ 475 10;\r\n"
    "BA_ \"Other\" SG_ 475 LB_Current 3;\r\n"
    "VAL_ 2147484672 Gear 3 \"drive\" 0 \"park\" 1 \"reverse\" 2 \"neutral\" ;\r\n"
    "VAL_TABLE_ Gears 0 \"P\" 1 \"R\" ;\r\n"
    "SIG_VALTYPE_ 2147484672 F32 : 1;\r\n";

static struct dbc *parse_ok(const char *text)
{
  struct sim_diag d = SIM_DIAG_INIT;
  struct dbc *dbc = NULL;
  int rc = dbc_parse(text, strlen(text), "sample.dbc", &dbc, &d);
  if (rc < 0) {
    struct sbuf b = SBUF_INIT;
    sim_diag_format(&d.v[0], &b);
    fail_msg("parse failed: %s", sbuf_str(&b));
  }
  sim_diag_cleanup(&d);
  return dbc;
}

static void test_parse_sample(void **state)
{
  (void)state;
  struct dbc *dbc = parse_ok(sample);
  assert_string_equal(dbc->version, "1.0");
  assert_int_equal(dbc->n_msgs, 3);
  assert_int_equal(dbc->msgs[0].id, 256); /* sorted */
  const struct dbc_message *m = dbc_find_message(dbc, 475);
  assert_non_null(m);
  assert_string_equal(m->name, "x1DB");
  assert_string_equal(m->sender, "HVBAT");
  assert_int_equal(m->dlc, 8);
  assert_int_equal(m->cycle_ms, 10);
  assert_string_equal(m->comment, "LBC status");
  const struct dbc_signal *cur = dbc_find_signal(m, "LB_Current");
  assert_non_null(cur);
  assert_string_equal(cur->comment, "Battery current,\r\nsecond line \"quoted\"");
  assert_string_equal(cur->unit, "A");
  assert_true(cur->is_signed && !cur->little_endian);
  assert_string_equal(dbc->comment, "global comment");
  assert_int_equal(dbc->n_tables, 1);
  assert_string_equal(dbc->tables[0].vals[1].text, "R");
  const struct dbc_message *x = dbc_find_message(dbc, 0x400 | DBC_ID_EXT);
  assert_non_null(x);
  const struct dbc_signal *gear = dbc_find_signal(x, "Gear");
  assert_int_equal(gear->n_vals, 4);
  assert_string_equal(dbc_value_text(gear, 3), "drive");
  assert_null(dbc_value_text(gear, 5));
  int64_t raw;
  assert_int_equal(dbc_value_lookup(gear, "reverse", &raw), 0);
  assert_int_equal(raw, 1);
  assert_int_equal(dbc_value_lookup(gear, "sport", &raw), SIM_ENOTFOUND);
  assert_int_equal(dbc_find_signal(x, "F32")->valtype, DBC_FLOAT32);
  assert_null(dbc_find_message(dbc, 0x400));
  dbc_free(dbc);
}

static void test_decode(void **state)
{
  (void)state;
  struct dbc *dbc = parse_ok(sample);
  const struct dbc_message *m = dbc_find_message(dbc, 475);
  const struct dbc_signal *cur = dbc_find_signal(m, "LB_Current");
  const struct dbc_signal *volt = dbc_find_signal(m, "LB_Total_Voltage");
  const struct dbc_signal *soc = dbc_find_signal(m, "LB_Usable_SOC");
  /* e-NV200 0x1DB: OVMS reads -5.5 A (it negates), 358.5 V, 53 % (a frame of
   * dalathegreat/EV-CANlogs env200-2015-with-40kWh-normal-charge-coldbattery-nocooling-
   * nobridge.crtd, see tests/data/vehicles/PROVENANCE.tsv) */
  static const uint8_t f1[8] = {0x01, 0x60, 0xb3, 0x6a, 0x35, 0x00, 0x01, 0x67};
  assert_true(dbc_signal_decode(cur, f1, 8) == 5.5);
  assert_true(dbc_signal_decode(volt, f1, 8) == 358.5);
  assert_true(dbc_signal_decode(soc, f1, 8) == 53);
  /* the start-up sentinel: raw 0x3FF current, 0x3FF voltage */
  static const uint8_t f2[8] = {0x7f, 0xe0, 0xff, 0xc6, 0x7f, 0x00, 0x00, 0x0d};
  assert_true(dbc_signal_decode(cur, f2, 8) == 511.5);
  assert_true(dbc_signal_decode(volt, f2, 8) == 511.5);
  /* sign extension of an 11-bit big-endian value */
  static const uint8_t f3[8] = {0xff, 0xe0, 0, 0, 0, 0, 0, 0};
  assert_int_equal(dbc_signal_raw(cur, f3, 8), -1);
  static const uint8_t f4[8] = {0x80, 0x00, 0, 0, 0, 0, 0, 0};
  assert_true(dbc_signal_decode(cur, f4, 8) == -512);
  /* a short frame reads missing bytes as 0 */
  assert_true(dbc_signal_decode(volt, f1, 2) == 0);

  /* multiplexing */
  const struct dbc_message *mx = dbc_find_message(dbc, 256);
  static const uint8_t r80[8] = {0x80, 0x5D, 0xB5, 0x00, 0x76, 0x00, 0xA3, 0x00};
  static const uint8_t r82[2] = {0x82, 0xF6};
  const struct dbc_signal *msoc = dbc_find_signal(mx, "Soc"), *temp = dbc_find_signal(mx, "Temp");
  assert_true(dbc_signal_active(mx, msoc, r80, 8));
  assert_false(dbc_signal_active(mx, temp, r80, 8));
  assert_true(dbc_signal_active(mx, temp, r82, 2));
  assert_true(dbc_signal_active(mx, dbc_find_signal(mx, "Sub"), r82, 2));
  assert_true(dbc_signal_decode(msoc, r80, 8) == 93);
  assert_true(dbc_signal_decode(dbc_find_signal(mx, "Ideal"), r80, 8) == 181);
  assert_true(dbc_signal_decode(temp, r82, 2) == -50); /* -10 - 40 */

  /* IEEE float signal */
  const struct dbc_message *x = dbc_find_message(dbc, 0x400 | DBC_ID_EXT);
  const struct dbc_signal *f32 = dbc_find_signal(x, "F32");
  uint8_t fx[8] = {0};
  assert_int_equal(dbc_signal_encode(f32, -12.25, fx, 8), 0);
  assert_true(dbc_signal_decode(f32, fx, 8) == -12.25);
  dbc_free(dbc);
}

static void test_encode_clamp(void **state)
{
  (void)state;
  struct dbc *dbc = parse_ok(sample);
  const struct dbc_message *m = dbc_find_message(dbc, 475);
  const struct dbc_signal *cur = dbc_find_signal(m, "LB_Current");
  const struct dbc_signal *volt = dbc_find_signal(m, "LB_Total_Voltage");
  uint8_t d[8];
  memset(d, 0xAA, sizeof d);
  assert_int_equal(dbc_signal_encode(cur, 5.5, d, 8), 0);
  assert_int_equal(dbc_signal_encode(volt, 358.5, d, 8), 0);
  assert_int_equal(d[0], 0x01);
  assert_int_equal(d[1] & 0xE0, 0x60);
  assert_int_equal(d[1] & 0x1F, 0xAA & 0x1F); /* other bits untouched */
  assert_int_equal(d[2], 0xb3);
  assert_int_equal(d[3] & 0xC0, 0x40);
  assert_int_equal(dbc_signal_encode(volt, 1000, d, 8), SIM_ERANGE);
  assert_true(dbc_signal_decode(volt, d, 8) == 511.5);
  assert_int_equal(dbc_signal_encode(cur, -1000, d, 8), SIM_ERANGE);
  assert_true(dbc_signal_decode(cur, d, 8) == -512);
  assert_int_equal(dbc_signal_encode(volt, -3, d, 8), SIM_ERANGE);
  assert_true(dbc_signal_decode(volt, d, 8) == 0);
  dbc_free(dbc);
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

/* Random signal shapes in an 8-byte (and a 64-byte FD) frame: put then get returns the value
 * and leaves every other bit alone. */
static void test_roundtrip_random(void **state)
{
  (void)state;
  for (int n = 0; n < 20000; n++) {
    struct dbc_signal s;
    memset(&s, 0, sizeof s);
    size_t len = (n % 4 == 0) ? 64 : 8;
    s.length = (uint8_t)(1 + rnd() % 64);
    s.little_endian = rnd() & 1;
    s.is_signed = rnd() & 1;
    s.factor = 1;
    char text[256];
    /* pick a start that fits: build through the parser so the precomputation is the real one */
    unsigned start;
    if (s.little_endian) {
      if (s.length > len * 8)
        continue;
      start = (unsigned)(rnd() % (len * 8 - s.length + 1));
    } else {
      unsigned m = (unsigned)(rnd() % (len * 8 - s.length + 1)); /* MSB-first position */
      start = (m / 8) * 8 + (7 - m % 8);
    }
    snprintf(text, sizeof text, "BO_ 1 M: %zu X\n SG_ S : %u|%u@%d%c (1,0) [0|0] \"\" X\n", len,
             start, s.length, s.little_endian ? 1 : 0, s.is_signed ? '-' : '+');
    struct sim_diag d = SIM_DIAG_INIT;
    struct dbc *dbc = NULL;
    if (dbc_parse(text, strlen(text), "r", &dbc, &d) < 0)
      fail_msg("random signal rejected: %s", text);
    sim_diag_cleanup(&d);
    const struct dbc_signal *sig = &dbc->msgs[0].sigs[0];
    uint8_t data[64], orig[64];
    for (size_t i = 0; i < len; i++)
      orig[i] = data[i] = (uint8_t)rnd();
    uint64_t mask = sig->length >= 64 ? ~0ull : ((1ull << sig->length) - 1);
    uint64_t u = rnd() & mask;
    int64_t want = (int64_t)u;
    if (sig->is_signed && sig->length < 64 && ((u >> (sig->length - 1)) & 1))
      want = (int64_t)(u | ~mask);
    dbc_signal_put_raw(sig, want, data, len);
    if (dbc_signal_raw(sig, data, len) != want)
      fail_msg("%s: got %lld want %lld", text, (long long)dbc_signal_raw(sig, data, len),
               (long long)want);
    /* clearing the signal must restore every other bit */
    dbc_signal_put_raw(sig, 0, data, len);
    dbc_signal_put_raw(sig, 0, orig, len);
    assert_memory_equal(data, orig, len);
    dbc_free(dbc);
  }
}

/* ---- errors --------------------------------------------------------------------------- */

static const struct {
  const char *text;
  const char *where; /* "file:line:col" */
  const char *msg;
} bad[] = {
    {"BO_ 1 A: 8 X\n SG_ S : 0|8@2+ (1,0) [0|0] \"\" X\n", "t.dbc:2:14", "byte order"},
    {"SG_ S : 0|8@1+ (1,0) [0|0] \"\" X\n", "t.dbc:1:1", "SG_ outside a message"},
    {"CM_ \"abc\n", "t.dbc:1:5", "string without end"},
    {"BO_ 1 A: 8 X\nFOO_ bar;\n", "t.dbc:2:1", "unknown keyword 'FOO_'"},
    {"BO_ 1 A: 2 X\n SG_ S : 16|8@1+ (1,0) [0|0] \"\" X\n", "t.dbc:2:10", "does not fit"},
    {"BO_ 1 A: 1 X\n SG_ S : 7|9@0+ (1,0) [0|0] \"\" X\n", "t.dbc:2:10", "does not fit"},
    {"BO_ 1 A: 8 X\n SG_ S : 0|8@1+ (x,0) [0|0] \"\" X\n", "t.dbc:2:18", "number for the factor"},
    {"BO_ 1 A: 65 X\n", "t.dbc:1:1", "DLC 65 out of range"},
    {"BO_ 1 A: 8 X\nBO_ 1 B: 8 X\n", "t.dbc:2:5", "defined twice"},
    {"BO_ 1 A: 8 X\n SG_ S : 0|0@1+ (1,0) [0|0] \"\" X\n", "t.dbc:2:10", "length 0"},
    {"BO_ 1 A: 8 X\n SG_ S : 0|8@1+ (0,0) [0|0] \"\" X\n", "t.dbc:2:10", "factor 0"},
    {"BA_DEF_ \"x\" INT 0 1", "t.dbc:1:1", "without ';'"},
    {"BO_ 1 A: 8 X\n SG_ S mx : 0|8@1+ (1,0) [0|0] \"\" X\n", "t.dbc:2:8", "multiplexer"},
    {"BO_ 1 A: 8 X\n SG_ S : 0|8@1+ (1,0) [0|0] \"\" X\n SG_ S : 8|8@1+ (1,0) [0|0] \"\" X\n",
     "t.dbc:3:2", "defined twice"},
    {"BO_ 1 A: 8 X\n SG_ S1 M : 0|8@1+ (1,0) [0|0] \"\" X\n SG_ S2 M : 8|8@1+ (1,0) [0|0] \"\" X\n",
     "t.dbc:3:2", "two multiplexor"},
    {"BO_ 1 A 8 X\n", "t.dbc:1:9", "expected ':'"},
    {"CM_ XX_ 1 \"a\";\n", "t.dbc:1:1", "unknown object"},
    {"VERSION \"1\"\n@\n", "t.dbc:2:1", "unexpected character '@'"},
    {"BO_ 1 A: 8 X\nCM_ SG_ 1 ;\n", "t.dbc:2:11", "expected a signal name"},
    {"BO_ 1 A: 8 X\nCM_ BU_ ;\n", "t.dbc:2:9", "expected a node name"},
    {"BO_ 1 A: 8 X\nVAL_ 99999999999999999999999 S 1 \"a\";\n", "t.dbc:2:6",
     "integer for the message id"},
};

static void test_errors(void **state)
{
  (void)state;
  for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
    struct sim_diag d = SIM_DIAG_INIT;
    struct dbc *dbc = NULL;
    int rc = dbc_parse(bad[i].text, strlen(bad[i].text), "t.dbc", &dbc, &d);
    if (rc != SIM_EPARSE || dbc)
      fail_msg("case %zu accepted", i);
    assert_true(d.errors >= 1);
    struct sbuf b = SBUF_INIT;
    sim_diag_format(&d.v[0], &b);
    const char *s = sbuf_str(&b);
    if (strncmp(s, bad[i].where, strlen(bad[i].where)) != 0 || s[strlen(bad[i].where)] != ':' ||
        !strstr(s, bad[i].msg))
      fail_msg("case %zu: '%s', expected %s ... %s", i, s, bad[i].where, bad[i].msg);
    sbuf_free(&b);
    sim_diag_cleanup(&d);
  }
  /* a bad message id in VAL_ is one error, not a second "expected a signal name" */
  {
    const char *val = "BO_ 1 A: 8 X\nVAL_ 99999999999999999999999 S 1 \"a\";\n";
    struct sim_diag d1 = SIM_DIAG_INIT;
    struct dbc *dbc1 = NULL;
    assert_int_equal(dbc_parse(val, strlen(val), "t.dbc", &dbc1, &d1), SIM_EPARSE);
    assert_int_equal(d1.errors, 1);
    sim_diag_cleanup(&d1);
  }
  /* every error of a file is reported */
  const char *two = "BO_ 1 A: 8 X\n SG_ S : 0|8@3+ (1,0) [0|0] \"\" X\n SG_ T : 0|0@1+ (1,0) "
                    "[0|0] \"\" X\n";
  struct sim_diag d = SIM_DIAG_INIT;
  struct dbc *dbc = NULL;
  assert_int_equal(dbc_parse(two, strlen(two), "t.dbc", &dbc, &d), SIM_EPARSE);
  assert_int_equal(d.errors, 2);
  sim_diag_cleanup(&d);
  /* non-UTF-8 bytes in strings and a BOM are fine */
  const char *latin = "\xEF\xBB\xBF" "BO_ 1 A: 8 X\n SG_ S : 0|8@1+ (1,0) [0|0] \"\xB0" "C\" X\n"
                      "CM_ SG_ 1 S \"Temp\xE9rature\";\n";
  assert_int_equal(dbc_parse(latin, strlen(latin), "t.dbc", &dbc, &d), 0);
  assert_string_equal(dbc->msgs[0].sigs[0].unit, "\xB0" "C");
  dbc_free(dbc);
  sim_diag_cleanup(&d);
}

static void test_load_import(void **state)
{
  (void)state;
  char dir[] = "/tmp/dbctestXXXXXX";
  assert_non_null(mkdtemp(dir));
  char a[512], b[512];
  snprintf(a, sizeof a, "%s/main.dbc", dir);
  snprintf(b, sizeof b, "%s/_common.dbc", dir);
  FILE *fa = fopen(a, "w"), *fb = fopen(b, "w");
  fputs("CM_ \"IMPORT _common.dbc\";\nBO_ 2 MAIN: 8 X\n SG_ S : 0|8@1+ (1,0) [0|0] \"\" X\n", fa);
  fputs("BO_ 1 COMMON: 8 X\n SG_ C : 0|8@1+ (2,0) [0|0] \"\" X\n"
        "BO_ 2 SHADOWED: 8 X\n", fb);
  fclose(fa);
  fclose(fb);
  struct sim_diag d = SIM_DIAG_INIT;
  struct dbc *dbc = NULL;
  assert_int_equal(dbc_load(a, &dbc, &d), 0);
  assert_int_equal(dbc->n_msgs, 2);
  assert_string_equal(dbc_find_message(dbc, 1)->name, "COMMON");
  assert_string_equal(dbc_find_message(dbc, 2)->name, "MAIN");
  dbc_free(dbc);
  remove(b);
  assert_int_equal(dbc_load(a, &dbc, &d), -ENOENT);
  assert_true(d.errors >= 1);
  sim_diag_cleanup(&d);
  remove(a);
  rmdir(dir);
  assert_int_equal(dbc_load("/nonexistent/x.dbc", &dbc, &d), -ENOENT);
  sim_diag_cleanup(&d);
}

/* Every DBC file of the reference traces parses (skipped when they are not present). */
static void test_reference_files(void **state)
{
  (void)state;
  const char *root = getenv("OVMS_SIM_TRACES");
  char buf[1024];
  if (!root) {
    snprintf(buf, sizeof buf, "%s", test_src_path("../shared/traces"));
    root = buf;
  }
  static const char *const files[] = {
      "nissan_leaf/dbc/AV-CAN.dbc", "nissan_leaf/dbc/CAR-can_AZE0.dbc",
      "nissan_leaf/dbc/EV-can_AZE0.dbc", "nissan_leaf/dbc/EV-can_ZE0.dbc",
      "nissan_leaf/dbc/EV-can_ZE1.dbc", "nissan_leaf/dbc/QC-CAN_ALL.dbc",
      "nissan_leaf/dbc/_nissan_common.dbc", "nissan_leaf/dbc/nissan_leaf_2018.dbc",
      "mitsubishi_imiev/imiev.dbc", "vw_egolf/vwegolf.dbc"};
  struct stat st;
  char path[1200];
  snprintf(path, sizeof path, "%s/%s", root, files[0]);
  if (stat(path, &st) != 0) {
    print_message("reference traces not found under %s: skipped\n", root);
    skip();
  }
  for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
    snprintf(path, sizeof path, "%s/%s", root, files[i]);
    struct sim_diag d = SIM_DIAG_INIT;
    struct dbc *dbc = NULL;
    if (dbc_load(path, &dbc, &d) < 0) {
      struct sbuf b = SBUF_INIT;
      sim_diag_format(&d.v[0], &b);
      fail_msg("%s", sbuf_str(&b));
    }
    assert_true(dbc->n_msgs > 0);
    if (strstr(files[i], "nissan_leaf_2018")) /* 10 own messages + the imported ones */
      assert_true(dbc->n_msgs > 10);
    dbc_free(dbc);
    sim_diag_cleanup(&d);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_sample),  cmocka_unit_test(test_decode),
      cmocka_unit_test(test_encode_clamp),  cmocka_unit_test(test_roundtrip_random),
      cmocka_unit_test(test_errors),        cmocka_unit_test(test_load_import),
      cmocka_unit_test(test_reference_files),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
