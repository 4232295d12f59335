/*
 * test_trace_fused.c - the fused candump -> ASC conversion (fmt_asc.c's convert_from, used by
 * trace_convert) writes exactly what the general path (candump parse() + ASC write()) writes,
 * line for line, on every candump file under tests/data/, on edge cases (CAN FD, remote
 * requests, error frames, 29-bit ids, odd time stamps, labels, case, blanks, CR, time before
 * the origin...) and on a long stream of mutated lines; and that the fused path is really
 * taken for the ordinary lines.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/array.h"
#include "core/error.h"
#include "core/sbuf.h"
#include "fused_pass.h"
#include "trace/trace.h"

static const struct trace_format *asc_fmt(void)
{
  return trace_format_find("asc");
}

/* Both passes over text give the same bytes, counters and errors.  Returns the lines the
 * fused path took. */
static unsigned long check_same(const char *what, const char *text, size_t n)
{
  struct fused_pass g, f;
  const char *broken = fused_run(text, n, false, &g);
  if (!broken)
    broken = fused_run(text, n, true, &f);
  else
    memset(&f, 0, sizeof(f));
  char buf[512];
  const char *diff = broken ? broken : fused_diff(&g, &f, buf, sizeof(buf));
  if (diff) {
    print_error("%s: %s\n", what, diff);
    fail();
  }
  unsigned long taken = f.fused;
  fused_pass_free(&g);
  fused_pass_free(&f);
  return taken;
}

static const char ordinary[] = "(1724333002.811100) can0 7E8#03410D3C00000000";

/* Lines each of which the general path treats in its own way (or not at all). */
static const char *const edge[] = {
    "(1724333002.811200) can0 18DAF110#101462F190574155", /* 29-bit */
    "(1724333002.811300) can1 123##1112233445566778899AABBCC", /* CAN FD, BRS */
    "(1724333002.811310) can1 123##0",
    "(1724333002.811320) can1 123##3AABB",
    "(1724333002.811400) can0 7DF#R", /* remote requests */
    "(1724333002.811500) can0 7DF#R3",
    "(1724333002.811510) can0 7DF#r",
    "(1724333002.811520) can0 7DF#R8 T",
    "(1724333002.811600) can0 20000080#0000000000000000", /* error frame */
    "(1724333002.811700123) can0 7E0#0201 T",             /* 9 digits, Tx */
    "(1724333002.811800) can0 1DB#",                      /* no data */
    "(1724333002.811900) vcan2 5C5#84.01.06.83",          /* new label, dots */
    "(1724333003.000000) can1 07e#0a0b0c",                /* lowercase */
    "(1724333003.000001) can1 000#00",
    "(1724333003.000002) can1 7FF#FFFFFFFFFFFFFFFF",
    "(1724333003.000003) can1 1FFFFFFF#FF",
    "(1724333003.000004) can1 00000001#",
    "(1724333003.000035) can0 1fffffff#ab",
    "(1724333003.000036) can0 7E8#AbCd",
    "(1724333003.000054) can0 0000000A#0341",
    "(1724333003.000056) can0 0AB#0341",
    "(1724333003.000060) can0 18DAF110#101462F1905741",
    "(1724333003.000061) can0 18DAF110#10",
    "(1724333003.000005) can0 7E8#03410D3C00000000 R", /* tails, blanks, CR, NUL */
    "(1724333003.000006) can0 7E8#03410D3C00000000\r",
    "(1724333003.000007) can0 7E8#03410D3C00000000  ",
    "(1724333003.000008)  can0  7E8#03410D3C00000000",
    "(1724333003.000044)\tcan0\t7E8#0341",
    "(1724333003.000045) can0 7E8#0341\t",
    "(1724333003.000009) can0 7E8#03410D3C000000_9", /* raw DLC */
    "(1724333003.000010) can0 7E8#03410D3C00000000_9",
    "(1724333003.000011) verylonginterfacename 7E8#0341", /* labels */
    "(1724333003.000013) can9 7E8#0341",
    "(1724333003.000014) a 7E8#0341",
    "(1724333003.000015) abcdefg 7E8#0341",
    "(1724333003.000016) abcdefgh 7E8#0341",
    "(1724333003.000017) abcdefghi 7E8#0341",
    "(1724333003.000018) can 7E8#0341",
    "(1724333003.000019) can00 7E8#0341",
    "(1724333003.000052) can10 7E8#0341",
    "(1724333001.999999) can0 7E8#0341", /* before the origin's second */
    "(1724332000.000000) can0 7E8#0341",
    "(0.000001) can0 7E8#0341", /* other time layouts */
    "(-1.500000) can0 7E8#0341",
    "(1724333003.5) can0 7E8#0341",
    "(01724333003.500000) can0 7E8#0341",
    "(9223372029.000000) can0 7E8#0341", /* near the int64 limit of ns */
    "(9223372036.000000) can0 7E8#0341",
    "(9999999999.000000) can0 7E8#0341",
    "(1724333013.000000) can0 7E8#0341", /* wider ASC seconds */
    "(1724333102.000000) can0 7E8#0341",
    "(1724334002.000000) can0 7E8#0341",
    "(1725333002.000000) can0 7E8#0341",
    "(1724333003.000025) can0 800#0341", /* bad lines */
    "(1724333003.000026) can0 7E8#034",
    "(1724333003.000027) can0 7E8#03410D3C0000000000",
    "(1724333003.000028) can0 7E8#0G",
    "(1724333003.000029) can0 7E#0341",
    "(1724333003.000030) can0 7E8F#0341",
    "(1724333003.000031) can0 7E8 #0341",
    "(1724333003.000032) can0 3FFFFFFF#0341",
    "(1724333003.000034) can0 1234567#0341",
    "(1724333003.000048 can0 7E8#0341",
    "(1724333003.00004a) can0 7E8#0341",
    "(172433300a.000049) can0 7E8#0341",
    "(1724333003,000050) can0 7E8#0341",
    "\xef\xbb\xbf(1724333003.000047) can0 7E8#0341",
    "(1724333003.000046) can0 7E8#03410D3C00000000\x80",
    "(1724333003.000046) can0 7E8#03410D3C0000000\xb0",
    "(1724333003.000053) can0 7E8#03410D3C00000000                              ",
    "",
    "   ",
    "# comment",
};

/* The edge lines, each between ordinary lines (so that the fused path runs before and after
 * each), then each at the start of a run. */
static void test_edge_lines(void **state)
{
  (void)state;
  struct sbuf t = SBUF_INIT;
  sbuf_printf(&t, "%s\n", ordinary);
  for (size_t k = 0; k < ARRAY_SIZE(edge); k++)
    sbuf_printf(&t, "%s\n%s\n%s\n", edge[k], ordinary, ordinary);
  assert_true(check_same("edge lines", t.p, t.len) > 0);
  /* a line the fused path leaves to the general one at the very start of each call */
  for (size_t k = 0; k < ARRAY_SIZE(edge); k++) {
    sbuf_reset(&t);
    sbuf_printf(&t, "%s\n%s\n", ordinary, edge[k]);
    for (int i = 0; i < 4; i++)
      sbuf_printf(&t, "%s\n", ordinary);
    check_same(edge[k], t.p, t.len);
  }
  sbuf_free(&t);
}

/* The first record comes through the general path (it sets the origin); then the fused path
 * takes the ordinary lines, and the last lines (closer to the end than its 8-byte loads may
 * read) are the general path's again. */
static void test_fused_taken(void **state)
{
  (void)state;
  struct sbuf t = SBUF_INIT;
  for (int i = 0; i < 100; i++) {
    sbuf_printf(&t, "(1724333%03d.%06d) can%d %s#", 2 + i / 40, i * 997 % 1000000, i & 1,
                i % 3 ? "1DB" : "18DAF110");
    for (int k = 0; k < i % 9; k++)
      sbuf_printf(&t, "%02X", (i * 37 + k * 11) & 255);
    sbuf_addc(&t, '\n');
  }
  /* all but the first line, the first of can1 and the last one or two */
  unsigned long taken = check_same("ordinary lines", t.p, t.len);
  assert_true(taken >= 96 && taken <= 97);
  sbuf_free(&t);
}

/* A small deterministic generator (xorshift64). */
static uint64_t rnd(uint64_t *x)
{
  *x ^= *x << 13;
  *x ^= *x >> 7;
  *x ^= *x << 17;
  return *x;
}

/* Ordinary lines with 15 % of them mutated (a character replaced, inserted or deleted, from
 * an alphabet of the characters that matter) and some edge lines among them. */
static void make_stream(struct sbuf *t, int lines, uint64_t seed)
{
  static const char alpha[] = "0123456789ABCDEFabcdef#.() \t\rRTx-_zG";
  static const char *const labels[] = {"can0", "can1", "can0", "vcan3", "can0", "slcan0"};
  uint64_t x = seed;
  uint64_t t0 = UINT64_C(1724333002000000);
  char line[160];
  for (int i = 0; i < lines; i++) {
    static const unsigned steps[] = {1, 250, 999, 1000000, 37};
    t0 += steps[rnd(&x) % 5];
    bool ext = rnd(&x) % 10 < 3;
    uint32_t id = (uint32_t)(ext ? rnd(&x) % (1u << 29) : rnd(&x) % 0x800);
    int nb = (int)(rnd(&x) % 9);
    int n = snprintf(line, sizeof(line), "(%llu.%06llu) %s %0*X#",
                     (unsigned long long)(t0 / 1000000), (unsigned long long)(t0 % 1000000),
                     labels[rnd(&x) % 6], ext ? 8 : 3, (unsigned)id);
    for (int k = 0; k < nb; k++)
      n += snprintf(line + n, sizeof(line) - (size_t)n, "%02X", (unsigned)(rnd(&x) & 255));
    if (rnd(&x) % 100 < 5)
      n = snprintf(line, sizeof(line), "%s", edge[rnd(&x) % ARRAY_SIZE(edge)]);
    if (rnd(&x) % 100 < 15) {
      int m = 1 + (int)(rnd(&x) % 3);
      for (int j = 0; j < m && n > 0 && n < (int)sizeof(line) - 2; j++) {
        int at = (int)(rnd(&x) % (uint64_t)n);
        char c = alpha[rnd(&x) % (sizeof(alpha) - 1)];
        unsigned op = (unsigned)(rnd(&x) % 10);
        if (op < 4) {
          line[at] = c;
        } else if (op < 7) {
          memmove(line + at + 1, line + at, (size_t)(n - at));
          line[at] = c;
          n++;
        } else {
          memmove(line + at, line + at + 1, (size_t)(n - at - 1));
          n--;
        }
      }
    }
    sbuf_add(t, line, (size_t)n);
    sbuf_addc(t, '\n');
  }
}

static void test_mutated_stream(void **state)
{
  (void)state;
  for (uint64_t seed = 1; seed <= 8; seed++) {
    struct sbuf t = SBUF_INIT;
    make_stream(&t, 5000, seed * 0x9E3779B97F4A7C15u);
    assert_true(check_same("mutated stream", t.p, t.len) > 1000);
    sbuf_free(&t);
  }
}

/* Every candump file of tests/data (and each other trace there as candump writes it), through
 * both passes; and through trace_convert against the general reader and writer. */
static void general_convert(const char *in, const char *out, struct trace_convert_stats *st,
                            struct sbuf *errs)
{
  struct sim_diag d = SIM_DIAG_INIT;
  struct trace_reader_opts ro = {.format = "candump", .map = true};
  struct trace_reader *r;
  memset(st, 0, sizeof(*st));
  assert_int_equal(trace_reader_open(&r, in, &ro, &d), 0);
  struct trace_writer *w;
  assert_int_equal(trace_writer_open(&w, out, asc_fmt()), 0);
  struct trace_record rec;
  int rc;
  while ((rc = trace_reader_next(r, &rec, &d)) != 0) {
    if (rc < 0) {
      assert_true(rc == SIM_EPARSE || rc == SIM_ETRUNC);
      st->bad_lines++;
      continue;
    }
    st->records++;
    if (trace_writer_write(w, &rec) > 0)
      st->frames++;
  }
  assert_int_equal(trace_writer_close(w), 0);
  trace_reader_close(r);
  for (size_t k = 0; k < d.n; k++) {
    sim_diag_format(&d.v[k], errs);
    sbuf_addc(errs, '\n');
  }
  sim_diag_cleanup(&d);
}

static void check_convert(const char *in)
{
  char a[] = "/tmp/ovms-fused-a-XXXXXX", b[] = "/tmp/ovms-fused-b-XXXXXX";
  close(mkstemp(a));
  close(mkstemp(b));
  struct trace_convert_stats gs, fs;
  struct sbuf gerr = SBUF_INIT, ferr = SBUF_INIT;
  general_convert(in, a, &gs, &gerr);
  struct trace_convert_opts co = {.from = "candump", .to = "asc", .keep_going = true};
  struct sim_diag d = SIM_DIAG_INIT;
  assert_int_equal(trace_convert(in, b, &co, &fs, &d), 0);
  for (size_t k = 0; k < d.n; k++) {
    sim_diag_format(&d.v[k], &ferr);
    sbuf_addc(&ferr, '\n');
  }
  sim_diag_cleanup(&d);
  size_t an, bn;
  char *ta = test_read_file(a, &an), *tb = test_read_file(b, &bn);
  if (an != bn || memcmp(ta, tb, an)) {
    print_error("%s: trace_convert writes other bytes than the general path\n", in);
    fail();
  }
  assert_string_equal(sbuf_str(&gerr), sbuf_str(&ferr));
  assert_int_equal(gs.records, fs.records);
  assert_int_equal(gs.frames, fs.frames);
  assert_int_equal(gs.bad_lines, fs.bad_lines);
  free(ta);
  free(tb);
  sbuf_free(&gerr);
  sbuf_free(&ferr);
  unlink(a);
  unlink(b);
}

static void test_data_files(void **state)
{
  (void)state;
  static const char *const files[] = {
      "traces/synthetic-candump.log", "traces/analyser-export.txt",
      "traces/egolf-kcan-synthetic.crtd", "traces/env200-charge-poll.crtd",
      "traces/env200-startup.crtd", "traces/eplus-evcan.tsv", "traces/eup-kcan.asc",
      "traces/imiev-ign-off.can", "traces/leaf62-battery.can",
      "traces/roadster-charge-done.cando.csv", "traces/roadster-slidestop.txt",
      "traces/synthetic-numbered.txt", "traces/synthetic-v11.trc", "traces/synthetic-v13.trc",
      "traces/synthetic-v20.trc", "traces/synthetic-v21.trc", "traces/ze0-stock.tsv",
      "traces/ze1-chademo.csv",
  };
  for (size_t k = 0; k < ARRAY_SIZE(files); k++) {
    const char *path = test_data_path(files[k]);
    char in[512];
    snprintf(in, sizeof(in), "%s", path);
    char tmp[] = "/tmp/ovms-fused-in-XXXXXX";
    close(mkstemp(tmp));
    const char *src = in;
    if (strstr(files[k], "candump") == NULL) {
      /* another format: as candump writes it */
      struct trace_convert_opts co = {.to = "candump", .keep_going = true};
      struct sim_diag d = SIM_DIAG_INIT;
      assert_int_equal(trace_convert(in, tmp, &co, NULL, &d), 0);
      sim_diag_cleanup(&d);
      src = tmp;
    }
    size_t n;
    char *text = test_read_file(src, &n);
    /* the file, and the file repeated (the fused path needs room past the line it reads) */
    check_same(files[k], text, n);
    struct sbuf t = SBUF_INIT;
    for (int i = 0; i < 8; i++)
      sbuf_add(&t, text, n);
    check_same(files[k], t.p, t.len);
    sbuf_free(&t);
    free(text);
    check_convert(src);
    unlink(tmp);
  }
  check_convert(test_data_path("traces/bad-truncated.log.gz"));
}

/* trace_convert over a file longer than the reader's mapped window (4 MiB), mutated lines
 * among ordinary ones: the lines across the windows' ends. */
static void test_convert_long_file(void **state)
{
  (void)state;
  struct sbuf t = SBUF_INIT;
  make_stream(&t, 110000, 42);
  char in[] = "/tmp/ovms-fused-long-XXXXXX";
  int fd = mkstemp(in);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, t.p, t.len), (ssize_t)t.len);
  close(fd);
  assert_true(t.len > 4 * 1024 * 1024);
  check_convert(in);
  unlink(in);
  sbuf_free(&t);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_edge_lines),
      cmocka_unit_test(test_fused_taken),
      cmocka_unit_test(test_mutated_stream),
      cmocka_unit_test(test_data_files),
      cmocka_unit_test(test_convert_long_file),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
