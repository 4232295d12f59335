/*
 * test_trace_codecs.c - table-driven tests of every trace codec (sim/trace/fmt_*.c): lines
 * taken from the real trace excerpts under tests/data/traces (provenance in PROVENANCE.tsv
 * there), every error path with its column, content detection, and parse -> write -> parse
 * round trips through every writable format.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/array.h"
#include "core/error.h"
#include "core/loop.h"
#include "trace/trace.h"

#ifdef SIM_HAVE_ZLIB
#include <zlib.h>
#endif

struct pcase {
  const char *fmt;
  const char *line;
  int rc;              /* 1 record, 0 nothing */
  int kind;
  uint32_t id;
  uint16_t flags;
  uint8_t bus;
  const char *data;    /* hex, no spaces */
  int64_t ts;
  const char *name;    /* EVENT/METRIC/COMMENT/STATUS name */
  const char *text;
};

#define NS(s, us) ((int64_t)(s) * 1000000000 + (int64_t)(us) * 1000)

static const struct pcase pcases[] = {
  /* candump -l (synthetic: no recording of this format is in the shared traces) */
  {"candump", "(1724333002.811100) can0 7E8#03410D3C00000000", 1, TRACE_REC_FRAME, 0x7E8, 0, 1,
   "03410D3C00000000", NS(1724333002, 811100), NULL, NULL},
  {"candump", "(1724333002.811200) can0 18DAF110#101462F190574155", 1, TRACE_REC_FRAME,
   0x18DAF110, SIM_CAN_F_EXT, 1, "101462F190574155", NS(1724333002, 811200), NULL, NULL},
  {"candump", "(1724333002.811300) can0 123##3001122334455667788990011", 1, TRACE_REC_FRAME,
   0x123, SIM_CAN_F_FD | SIM_CAN_F_BRS | SIM_CAN_F_ESI, 1, "001122334455667788990011",
   NS(1724333002, 811300), NULL, NULL},
  {"candump", "(1724333002.811400) can0 7DF#R", 1, TRACE_REC_FRAME, 0x7DF, SIM_CAN_F_RTR, 1, "",
   NS(1724333002, 811400), NULL, NULL},
  {"candump", "(1724333002.811500) can0 20000080#0000000000000000", 1, TRACE_REC_FRAME, 0x80,
   SIM_CAN_F_ERR, 1, "0000000000000000", NS(1724333002, 811500), NULL, NULL},
  {"candump", "(1724333002.811600123) can0 7E0#0201 T", 1, TRACE_REC_FRAME, 0x7E0, SIM_CAN_F_TX,
   1, "0201", NS(1724333002, 811600) + 123, NULL, NULL},
  {"candump", "(1724333002.811700) can0 5C5#84.01.06.83", 1, TRACE_REC_FRAME, 0x5C5, 0, 1,
   "84010683", NS(1724333002, 811700), NULL, NULL},
  {"candump", "", 0, TRACE_REC_NONE, 0, 0, 0, NULL, 0, NULL, NULL},
  /* candump screen: nissan_leaf/62kWh-Battery-only-EVcan.txt line 1 */
  {"candump-screen", "  can0  1DB   [8]  00 04 C2 62 00 00 03 B6", 1, TRACE_REC_FRAME, 0x1DB, 0,
   1, "0004C262000003B6", 0, NULL, NULL},
  {"candump-screen", "  can0  1ED   [3]  FF E3 62", 1, TRACE_REC_FRAME, 0x1ED, 0, 1, "FFE362", 0,
   NULL, NULL},
  {"candump-screen", " (1724333002.811100)  can0  18DAF110   [2]  10 14", 1, TRACE_REC_FRAME,
   0x18DAF110, SIM_CAN_F_EXT, 1, "1014", NS(1724333002, 811100), NULL, NULL},
  {"candump-screen", "  can0  7DF   [2]  remote request", 1, TRACE_REC_FRAME, 0x7DF,
   SIM_CAN_F_RTR, 1, "", 0, NULL, NULL},
  {"candump-screen", "  can0  123  [12]  00 11 22 33 44 55 66 77 88 99 AA BB", 1,
   TRACE_REC_FRAME, 0x123, SIM_CAN_F_FD, 1, "00112233445566778899AABB", 0, NULL, NULL},
  /* CRTD: nissan_leaf/env200-2015-with-40kWh-startup-nobridge.crtd */
  {"crtd", "1632509059.541604 2R11 174 00 00 00 aa 0f 00 00 00", 1, TRACE_REC_FRAME, 0x174, 0, 2,
   "000000AA0F000000", NS(1632509059, 541604), NULL, NULL},
  {"crtd", "1632426785.468672 1T11 79B 02 21 01 55 55 55 55 55", 1, TRACE_REC_FRAME, 0x79B,
   SIM_CAN_F_TX, 1, "0221015555555555", NS(1632426785, 468672), NULL, NULL},
  {"crtd", "1724333002.811200 2R29 18DAF110 10 14 62 f1 90 57 41 55", 1, TRACE_REC_FRAME,
   0x18DAF110, SIM_CAN_F_EXT, 2, "101462F190574155", NS(1724333002, 811200), NULL, NULL},
  {"crtd", "1632509070.683420 1CEV Event vehicle.awake", 1, TRACE_REC_EVENT, 0, 0, 1, NULL,
   NS(1632509070, 683420), "vehicle.awake", ""},
  {"crtd", "1724333002.900000 1CMT Metric { \"name\": \"v.b.soc\", \"value\": 85, \"unit\": \"%\" }",
   1, TRACE_REC_METRIC, 0, 0, 1, NULL, NS(1724333002, 900000), "v.b.soc", "85"},
  {"crtd", "1724333002.900000 1CMT Metric { \"name\": \"v.t.pressure\", \"value\": [230.5,231], "
   "\"unit\": \"kPa\" }", 1, TRACE_REC_METRIC, 0, 0, 1, NULL, NS(1724333002, 900000),
   "v.t.pressure", "[230.5,231]"},
  {"crtd", "1632509059.533816 CXX OVMS CRTD", 1, TRACE_REC_COMMENT, 0, 0, 0, NULL,
   NS(1632509059, 533816), "CXX", "OVMS CRTD"},
  {"crtd", "1632509059.533816 CVR 3.0", 1, TRACE_REC_COMMENT, 0, 0, 0, NULL,
   NS(1632509059, 533816), "CVR", "3.0"},
  {"crtd", "1632509064.511234 2CER Error intr=2171314 rxpkt=2184796", 1, TRACE_REC_STATUS, 0, 0,
   2, NULL, NS(1632509064, 511234), "CER", "Error intr=2171314 rxpkt=2184796"},
  {"crtd", "# Fictional VW e-Golf, parked in Berlin", 1, TRACE_REC_COMMENT, 0, 0, 0, NULL, 0, "#",
   "Fictional VW e-Golf, parked in Berlin"},
  {"crtd", "1705316400.150000 3R11 191 00 F0 7F 8C 05 00 00 00", 1, TRACE_REC_FRAME, 0x191, 0, 3,
   "00F07F8C05000000", NS(1705316400, 150000), NULL, NULL},
  {"crtd", "1724333003.000003 CDP", 0, TRACE_REC_NONE, 0, 0, 0, NULL, 0, NULL, NULL},
  /* ASC: vw_eup/KCAN_wakeup_ID400_errors.asc (no date line seen: relative times) */
  {"asc", "   2.718068 2  381             Rx   d 6 00 00 00 00 00 00  Length = 1029430 "
   "BitCount = 107 ID = 897\r", 1, TRACE_REC_FRAME, 0x381, 0, 2, "000000000000", NS(2, 718068),
   NULL, NULL},
  {"asc", "   2.699961 2  400             TxRq d 8 0C 02 A0 04 04 04 00 00  Length = 0 "
   "BitCount = 0 ID = 1024\r", 1, TRACE_REC_FRAME, 0x400, SIM_CAN_F_TX, 2, "0C02A00404040000",
   NS(2, 699961), NULL, NULL},
  {"asc", "   2.701071 2  ErrorFrame\tFlags = 0xfffe\tCodeExt = 0x31d9", 1, TRACE_REC_FRAME, 0x80,
   SIM_CAN_F_ERR, 2, "0000000000000000", NS(2, 701071), NULL, NULL},
  {"asc", "   0.044358 CAN 1 Status:chip status error active\r", 0, TRACE_REC_NONE, 0, 0, 0, NULL,
   0, NULL, NULL},
  {"asc", "base hex  timestamps absolute\r", 0, TRACE_REC_NONE, 0, 0, 0, NULL, 0, NULL, NULL},
  /* a classic DLC of 9..15 carries 8 bytes (ISO 11898-1; can-utils asc2log) */
  {"asc", "   2.7 2  381  Rx   d 9 01 02 03 04 05 06 07 08", 1, TRACE_REC_FRAME, 0x381, 0, 2,
   "0102030405060708", NS(2, 700000), NULL, NULL},
  {"asc", "   0.010000 1  18DAF110x       Rx   d 2 10 14", 1, TRACE_REC_FRAME, 0x18DAF110,
   SIM_CAN_F_EXT, 1, "1014", NS(0, 10000), NULL, NULL},
  {"asc", "   0.288900 1  7DF             Rx   r 2", 1, TRACE_REC_FRAME, 0x7DF, SIM_CAN_F_RTR, 1,
   "", NS(0, 288900), NULL, NULL},
  {"asc", "   0.188901 CANFD   2 Rx        123                                   1 0 9 12 11 22 "
   "33 44 55 66 77 88 99 AA BB CC   130000  130     3000 0 0 0 0 0", 1, TRACE_REC_FRAME, 0x123,
   SIM_CAN_F_FD | SIM_CAN_F_BRS, 2, "112233445566778899AABBCC", NS(0, 188901), NULL, NULL},
  /* TRC 2.1 (synthetic) */
  {"trc", "      1      1059.900 DT 1      0300 Rx -  8    00 01 02 03 04 05 06 07", 1,
   TRACE_REC_FRAME, 0x300, 0, 1, "0001020304050607", NS(1, 59900), NULL, NULL},
  /* SavvyCAN: nissan_leaf/ZE1-chademo-starting-and-charging.csv */
  {"savvycan", "-1688467643383897,00000201,false,Rx,0,8,02,00,00,00,00,00,00,00,\r", 1,
   TRACE_REC_FRAME, 0x201, 0, 1, "0200000000000000", -NS(1688467643, 383897), NULL, NULL},
  {"savvycan", "1700000000000000,18DAF110,true,Tx,1,2,10,14,,,,,,,", 1, TRACE_REC_FRAME,
   0x18DAF110, SIM_CAN_F_EXT | SIM_CAN_F_TX, 2, "1014", NS(1700000000, 0), NULL, NULL},
  /* ParserFlags: nissan_leaf/EV-CANeplus2.log */
  {"parserflags", "1\t0\t1\tRX\t48659509\t\t0x00000120\t4\t0x08 dc 00 dd \tDefault Parser\t", 1,
   TRACE_REC_FRAME, 0x120, 0, 1, "08DC00DD", NS(48659, 509000), NULL, NULL},
  {"parserflags", "1\t0\t1\tRX\t565214935\t\t0x00000603\t1\t0x00 \t", 1, TRACE_REC_FRAME, 0x603, 0,
   1, "00", NS(565214, 935000), NULL, NULL},
  /* numbered export (synthetic) */
  {"numbered", "1\tReceive\t10:21:33.123456\t0x000001DB\tData frame\tStandard frame\t0x08\tx| 00 "
   "04 C2 62 00 00 03 B6", 1, TRACE_REC_FRAME, 0x1DB, 0, 0, "0004C262000003B6",
   NS(37293, 123456), NULL, NULL},
  {"numbered", "3 Send 0x000007DF Remote frame Standard frame 2", 1, TRACE_REC_FRAME, 0x7DF,
   SIM_CAN_F_RTR | SIM_CAN_F_TX, 0, "", 0, NULL, NULL},
};

static void hex2bin(const char *h, uint8_t *out, int *n)
{
  *n = 0;
  for (; h[0] && h[1]; h += 2) {
    unsigned v;
    sscanf(h, "%2x", &v);
    out[(*n)++] = (uint8_t)v;
  }
}

static void test_parse_table(void **state)
{
  (void)state;
  for (size_t i = 0; i < ARRAY_SIZE(pcases); i++) {
    const struct pcase *c = &pcases[i];
    const struct trace_format *f = trace_format_find(c->fmt);
    assert_non_null(f);
    struct trace_pstate ps;
    trace_pstate_init(&ps, "t");
    ps.line = 1;
    if (!strcmp(c->fmt, "trc"))
      f->parse(&ps, ";$FILEVERSION=2.1", 17, &(struct trace_record){0}, NULL);
    struct trace_record rec;
    struct sim_diag d = SIM_DIAG_INIT;
    int rc = f->parse(&ps, c->line, strlen(c->line), &rec, &d);
    if (rc != c->rc || (int)rec.kind != c->kind)
      fail_msg("case %zu (%s '%s'): rc %d kind %d, diag %s", i, c->fmt, c->line, rc, rec.kind,
               d.n ? d.v[0].msg : "-");
    sim_diag_cleanup(&d);
    if (rec.kind == TRACE_REC_FRAME) {
      assert_int_equal(rec.frame.id, c->id);
      if (rec.frame.flags != c->flags)
        fail_msg("case %zu: flags %#x, want %#x", i, rec.frame.flags, c->flags);
      assert_int_equal(rec.frame.bus, c->bus);
      uint8_t want[64];
      int n;
      hex2bin(c->data, want, &n);
      if (!(c->flags & SIM_CAN_F_RTR)) {
        assert_int_equal(rec.frame.len, n);
        assert_memory_equal(rec.frame.data, want, (size_t)n);
      }
      if (c->ts)
        assert_int_equal(rec.ts, c->ts);
      assert_int_equal(rec.frame.ts, rec.ts);
    } else if (c->name) {
      assert_int_equal(rec.name_len, strlen(c->name));
      assert_memory_equal(rec.name, c->name, rec.name_len);
      assert_int_equal(rec.text_len, strlen(c->text));
      assert_memory_equal(rec.text, c->text, rec.text_len);
      if (c->ts)
        assert_int_equal(rec.ts, c->ts);
    }
  }
}

struct ecase {
  const char *fmt;
  const char *line;
  int col;          /* expected column; lines before a '\n' in line are headers parsed first */
};

static const struct ecase ecases[] = {
  {"candump", "1724333002.811100) can0 7E8#00", 1},
  {"candump", "(1724333002.811100 can0 7E8#00", 19},
  {"candump", "(x) can0 7E8#00", 2},
  {"candump", "(1.5) ", 6},
  {"candump", "(1.5) can0 7E8", 12},
  {"candump", "(1.5) can0 7E8G#00", 12},
  {"candump", "(1.5) can0 8E8#00", 12},
  {"candump", "(1.5) can0 9FFFFFFF#00", 12},
  {"candump", "(1.5) can0 7E8#0", 17},
  {"candump", "(1.5) can0 7E8#0G", 17},
  {"candump", "(1.5) can0 7E8#001122334455667788", 32},
  {"candump", "(1.5) can0 7E8##", 17},
  {"candump", "(1.5) can0 7E8##0001122334455667788", 16},
  {"candump", "(1.5) can0 7E8#R9", 17},
  {"candump", "(1.5) can0 7E8#00 X", 19},
  {"candump", "(1.5) can0 7E8#00 T more", 21},
  {"candump", "(1.5) can0 7E8#0011223344556677_3", 32},
  {"candump-screen", "  can0  1DB   8]  00", 15},
  {"candump-screen", "  can0  1DBX   [8]  00", 9},
  {"candump-screen", "  can0  1DB   [9]  00", 16},
  {"candump-screen", "  can0  1DB   [13]  00", 16},
  {"candump-screen", "  can0  1DB   [2]  00", 22},
  {"candump-screen", " (1.5  can0  1DB   [2]  00 11", 3},
  {"candump-screen", "  can0  9FFFFFFF   [1]  00", 9},  /* above 1FFFFFFF, no error bit */
  {"candump-screen", "  can0  40000000   [1]  00", 9},
  {"candump-screen", "  can0  C0000000   [1]  00", 9},
  {"crtd", "x 1R11 100 00", 1},
  {"crtd", "1.5", 4},
  {"crtd", "1.5 0R11 100", 5},
  {"crtd", "1.5 1X11 100", 5},
  {"crtd", "1.5 R11 100", 5},
  {"crtd", "1.5 1R11 800 00", 10},
  {"crtd", "1.5 1R11 10G 00", 12},
  {"crtd", "1.5 1R11 100 0x", 14},
  {"crtd", "1.5 1CEV Event", 15},
  {"crtd", "1.5 1CMT Metric name=x", 17},
  {"crtd", "1.5 1CMT Metric { \"value\": 1 }", 17},
  {"crtd", "1.5 1CMT Metric { \"name\": \"x\" }", 17},
  {"asc", "   2.7 2  381  Xx   d 6 00", 16},
  {"asc", "   2.7 2  381  Rx   q 6 00", 21},
  {"asc", "   2.7 2  381  Rx   d 6 00", 27},
  {"asc", "   2.7 2  38G  Rx   d 1 00", 13},
  {"asc", "   2.7 2  800  Rx   d 1 00", 11},
  {"asc", "   2.7 0  100  Rx   d 1 00", 8},
  {"asc", "garbage", 1},
  /* a classic DLC over 8 means 8 bytes: a 9th byte is an error, not cut off silently */
  {"asc", "   2.7 2  381  Rx   d 9 01 02 03 04 05 06 07 08 09", 49},
  {"asc", "   2.7 2  381  Rx   d 2 01 02 03  Length = 1", 31},
  {"asc", "base oct timestamps absolute", 6},
  {"trc", "      1      1059.900 XX 1      0300 Rx -  8", 0},
  {"trc", "      1      1059.900 DT 1      0800 Rx -  1    00", 33},
  {"trc", "      1      1059.900 DT 0      0300 Rx -  1    00", 26},
  {"trc", "      1      1059.900 DT 1      0300 Qx -  1    00", 38},
  {"trc", "      1      1059.900 DT 1      0300 Rx -  2    00", 51},
  {"trc", "      1      abc DT 1      0300 Rx -  2    00", 14},
  {"trc", "x", 1},
  {"trc", ";$FILEVERSION=3.0", 15},
  /* fuzz finding: strtod took "45500" of "45500l,D" and ignored the rest */
  {"trc", ";$STARTTIME=45500l,D", 18},
  {"trc", ";$STARTTIME=", 13},
  {"trc", ";$STARTTIME=43183.", 19},
  {"trc", ";$STARTTIME=1000.5", 13},
  {"trc", ";$STARTTIME=123456789", 13},
  {"trc", ";$STARTTIME=455236.352500000", 13}, /* year 3146: int64 ns overflowed (fuzz) */
  {"trc", "  ;$STARTTIME=43183.5 x", 22},
  /* fuzz finding: an FD data length of 11 (2.0 has a length column, not a DLC) was accepted,
   * and the 2.1 writer turned it into DLC 9 = 12 bytes that did not parse back */
  {"trc", ";$FILEVERSION=2.0\n      2      1060.100 FB 18DAF110 Tx 11 00 11 22 33 44 55 66 77 "
   "88 99 AA", 38},
  {"savvycan", "12x,00000201,false,Rx,0,8,02,00,00,00,00,00,00,00,", 3},
  {"savvycan", "1,0000020G,false,Rx,0,8,02,00,00,00,00,00,00,00,", 3},
  {"savvycan", "1,00000201,maybe,Rx,0,8,02,00,00,00,00,00,00,00,", 12},
  {"savvycan", "1,00000201,false,Up,0,8,02,00,00,00,00,00,00,00,", 18},
  {"savvycan", "1,00000201,false,Rx,0,9,02,00,00,00,00,00,00,00,", 23},
  {"savvycan", "1,00000201,false,Rx,0,8,02,00,00", 33},
  {"savvycan", "1,00000801,false,Rx,0,1,02", 1},
  {"parserflags", "1\t0\t1\tRX\tx\t\t0x00000120\t4\t0x08 dc 00 dd \t", 10},
  {"parserflags", "1\t0\t1\tXX\t1\t\t0x00000120\t4\t0x08 dc 00 dd \t", 7},
  {"parserflags", "1\t0\t1\tRX\t1\t\t0x0000012G\t4\t0x08 dc 00 dd \t", 15},
  {"parserflags", "1\t0\t1\tRX\t1\t\t0x00000120\t4\t0x08 dc 00 \t", 36},
  {"parserflags", "1\t0\t1\tRX\t1\t\t0x00000120\t99\t0x08 \t", 24},
  {"numbered", "1 Maybe 0x100 Data frame Standard frame 1 00", 3},
  {"numbered", "1 Receive 0x100 Odd frame Standard frame 1 00", 17},
  {"numbered", "1 Receive 0x100 Data frame Weird frame 1 00", 28},
  {"numbered", "1 Receive 0x100 Data frame Standard frame 9 00", 43},
  {"numbered", "1 Receive 0x100 Data frame Standard frame 2 00", 47},
  {"numbered", "1 Receive 99:99:99.0 0x100 Data frame Standard frame 1 00", 11},
  {"numbered", "1 Receive 0x800 Data frame Standard frame 1 00", 43},
  {"cando-csv", "RD11,x,100,00", 6},
  {"cando-csv", "RD11,0.1,10G,00", 10},
  {"cando-csv", "RD11,0.1,800,00", 10},
  {"cando-csv", "RD11,0.1,100,GG", 14},
  {"cando-csv", "RD11,0.1,100,100", 14},
  {"cando-csv", "RD11,0.1,100,0,1,2,3,4,5,6,7,8", 30},
  {"cando-csv", "XX11,0.1,100,00", 1},
  /* a line among the rows that is no row: an error, not skipped */
  {"cando-csv", "this line is no CANdo row", 1},
  {"cando-csv", "RD = Receive Data", 1},
  {"cando-csv", "EFx", 1},
  {"roadster-txt", "x 100 00", 1},
  {"roadster-txt", "         0.1 1G0 00", 14},
  {"roadster-txt", "         0.1 1000 00", 14},
  {"roadster-txt", "         0.1 100 00 01 02 03 04 05 06 07 08", 42},
};

static void test_errors(void **state)
{
  (void)state;
  for (size_t i = 0; i < ARRAY_SIZE(ecases); i++) {
    const struct ecase *c = &ecases[i];
    const struct trace_format *f = trace_format_find(c->fmt);
    struct trace_pstate ps;
    trace_pstate_init(&ps, "bad.trace");
    const char *line = c->line, *nl = strrchr(line, '\n');
    if (nl) {
      for (const char *p = line; p < nl;) {
        size_t n = strcspn(p, "\n");
        if (f->parse(&ps, p, n, &(struct trace_record){0}, NULL) < 0)
          fail_msg("error case %zu: header line '%.*s' does not parse", i, (int)n, p);
        p += n + 1;
      }
      line = nl + 1;
    } else if (!strcmp(c->fmt, "trc")) {
      f->parse(&ps, ";$FILEVERSION=2.1", 17, &(struct trace_record){0}, NULL);
    }
    if (!strcmp(c->fmt, "cando-csv"))
      f->parse(&ps, "TYPE,TIME,ID,D1,D2", 18, &(struct trace_record){0}, NULL);
    ps.line = 7;
    struct trace_record rec;
    struct sim_diag d = SIM_DIAG_INIT;
    int rc = f->parse(&ps, line, strlen(line), &rec, &d);
    if (!strcmp(c->line, "      1      1059.900 XX 1      0300 Rx -  8")) {
      /* an unknown TRC type is a bad line, not a silently skipped one */
      assert_int_equal(rc, SIM_EPARSE);
    } else if (rc != SIM_EPARSE || d.n != 1) {
      fail_msg("error case %zu (%s '%s'): rc %d, %zu diagnostics", i, c->fmt, c->line, rc, d.n);
    }
    assert_string_equal(d.v[0].file, "bad.trace");
    assert_int_equal(d.v[0].line, 7);
    if (c->col && d.v[0].col != c->col)
      fail_msg("error case %zu (%s '%s'): column %d, want %d (%s)", i, c->fmt, c->line,
               d.v[0].col, c->col, d.v[0].msg);
    sim_diag_cleanup(&d);
  }
}

static void test_detect(void **state)
{
  (void)state;
  static const struct { const char *file, *fmt; } files[] = {
    {"traces/env200-startup.crtd", "crtd"},     {"traces/egolf-kcan-synthetic.crtd", "crtd"},
    {"traces/env200-charge-poll.crtd", "crtd"}, {"traces/eup-kcan.asc", "asc"},
    {"traces/eplus-evcan.tsv", "parserflags"},  {"traces/ze0-stock.tsv", "parserflags"},
    {"traces/ze1-chademo.csv", "savvycan"},     {"traces/leaf62-battery.can", "candump-screen"},
    {"traces/imiev-ign-off.can", "candump-screen"}, {"traces/synthetic-candump.log", "candump"},
    {"traces/synthetic-v11.trc", "trc"},        {"traces/synthetic-v13.trc", "trc"},
    {"traces/synthetic-v20.trc", "trc"},        {"traces/synthetic-v21.trc", "trc"},
    {"traces/synthetic-numbered.txt", "numbered"},
    {"traces/roadster-charge-done.cando.csv", "cando-csv"},
    {"traces/roadster-slidestop.txt", "roadster-txt"},
  };
  for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
    size_t len;
    char *text = test_read_file(test_data_path(files[i].file), &len);
    /* content only: the name must not matter */
    const struct trace_format *f = trace_format_detect(text, len);
    if (!f || strcmp(f->name, files[i].fmt))
      fail_msg("%s detected as %s", files[i].file, f ? f->name : "nothing");
    free(text);
  }
  assert_null(trace_format_detect("hello world\nthis is not a trace\n", 32));
  /* the reader says where and why */
  struct trace_reader *r;
  struct sim_diag d = SIM_DIAG_INIT;
  const char *p = test_write_temp(".txt", "hello world\nthis is not a trace\n");
  assert_int_equal(trace_reader_open(&r, p, NULL, &d), SIM_EFORMAT);
  assert_int_equal(d.n, 1);
  assert_int_equal(d.v[0].line, 1);
  sim_diag_cleanup(&d);
  assert_ptr_equal(trace_format_by_ext("x/y.crtd.gz"), trace_format_find("crtd"));
  assert_ptr_equal(trace_format_by_ext("a.ASC"), trace_format_find("asc"));
}

/* Reads a whole file; returns the records' frames (and counts other kinds). */
static size_t read_frames(const char *path, const char *fmt, struct sim_frame *out, size_t cap,
                          size_t *events)
{
  struct trace_reader *r;
  struct sim_diag d = SIM_DIAG_INIT;
  struct trace_reader_opts o = {.format = fmt};
  int rc = trace_reader_open(&r, path, &o, &d);
  if (rc)
    fail_msg("%s: %s", path, d.n ? d.v[0].msg : sim_strerror(rc));
  size_t n = 0;
  struct trace_record rec;
  while ((rc = trace_reader_next(r, &rec, &d)) > 0) {
    if (rec.kind == TRACE_REC_FRAME && n < cap)
      out[n++] = rec.frame;
    else if (events && (rec.kind == TRACE_REC_EVENT || rec.kind == TRACE_REC_METRIC))
      (*events)++;
  }
  if (rc < 0)
    fail_msg("%s:%d: %s", path, d.n ? d.v[0].line : 0, d.n ? d.v[0].msg : sim_strerror(rc));
  trace_reader_close(r);
  sim_diag_cleanup(&d);
  return n;
}

static void test_excerpt_counts(void **state)
{
  (void)state;
  struct sim_frame f[64];
  size_t ev = 0;
  assert_int_equal(read_frames(test_data_path("traces/env200-startup.crtd"), NULL, f, 64, &ev), 11);
  assert_int_equal(ev, 1);
  assert_int_equal(f[0].bus, 2);
  assert_int_equal(read_frames(test_data_path("traces/eup-kcan.asc"), NULL, f, 64, NULL), 6);
  assert_true(f[0].flags & SIM_CAN_F_TX); /* the TxRq 0x400 */
  assert_true(f[1].flags & SIM_CAN_F_ERR);
  assert_int_equal(read_frames(test_data_path("traces/leaf62-battery.can"), NULL, f, 64, NULL), 12);
  assert_int_equal(f[11].ts - f[0].ts, 11 * 10 * SIM_NS_PER_MS); /* untimed: 10 ms apart */
  assert_int_equal(read_frames(test_data_path("traces/ze1-chademo.csv"), NULL, f, 64, NULL), 10);
  assert_int_equal(f[1].ts - f[0].ts, 10017 * 1000);
  assert_int_equal(read_frames(test_data_path("traces/eplus-evcan.tsv"), NULL, f, 64, NULL), 11);
  assert_int_equal(read_frames(test_data_path("traces/synthetic-v11.trc"), NULL, f, 64, NULL), 3);
  assert_int_equal(read_frames(test_data_path("traces/synthetic-v20.trc"), NULL, f, 64, NULL), 3);
  assert_int_equal(f[1].len, 12);
  /* $STARTTIME=45526.5332500000 days since 1899-12-30 = 1724330872.8 s, + 1059.900 ms */
  assert_int_equal(read_frames(test_data_path("traces/synthetic-v21.trc"), NULL, f, 64, NULL), 2);
  assert_int_equal(f[0].ts, NS(1724330873, 859900));
  /* Roadster logs: unpadded bytes, DLC = byte count, banner start time (taken as UTC) */
  assert_int_equal(read_frames(test_data_path("traces/roadster-charge-done.cando.csv"), NULL, f,
                               64, NULL), 6);
  assert_int_equal(f[2].len, 8);
  assert_memory_equal(f[2].data, "\x95\x17\x07\x64\x57\x02\x0e\x00", 8);
  assert_int_equal(f[0].ts, NS(1329559052, 18100)); /* 2012-02-18 09:57:32 + 0.0181 */
  assert_int_equal(read_frames(test_data_path("traces/roadster-slidestop.txt"), NULL, f, 64,
                               NULL), 7);
  assert_int_equal(f[4].id, 0x588);
  assert_int_equal(f[4].len, 3);
  assert_int_equal(f[1].len, 6);
}

/* Flags a format can carry. */
static uint16_t carried(const struct trace_format *fmt)
{
  uint16_t m = SIM_CAN_F_EXT;
  if (fmt->caps & TRACE_CAP_FD)
    m |= SIM_CAN_F_FD;
  if (fmt->caps & TRACE_CAP_FDFLAGS)
    m |= SIM_CAN_F_BRS | SIM_CAN_F_ESI;
  if (fmt->caps & TRACE_CAP_TX)
    m |= SIM_CAN_F_TX;
  if (fmt->caps & TRACE_CAP_RTR)
    m |= SIM_CAN_F_RTR;
  if (fmt->caps & TRACE_CAP_ERR)
    m |= SIM_CAN_F_ERR;
  return m;
}

static void test_round_trips(void **state)
{
  (void)state;
  static const char *const files[] = {
    "traces/env200-startup.crtd", "traces/env200-charge-poll.crtd", "traces/eup-kcan.asc",
    "traces/eplus-evcan.tsv", "traces/ze0-stock.tsv", "traces/ze1-chademo.csv",
    "traces/leaf62-battery.can", "traces/synthetic-candump.log", "traces/synthetic-v11.trc",
    "traces/synthetic-v13.trc", "traces/synthetic-v20.trc", "traces/synthetic-v21.trc",
    "traces/synthetic-numbered.txt", "traces/egolf-kcan-synthetic.crtd",
    "traces/roadster-charge-done.cando.csv", "traces/roadster-slidestop.txt",
  };
  char tmp[] = "/tmp/ovms-rt-XXXXXX";
  assert_non_null(mkdtemp(tmp));
  for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
    struct sim_frame a[64], b[64];
    size_t na = read_frames(test_data_path(files[i]), NULL, a, 64, NULL);
    assert_true(na > 0);
    for (size_t k = 0; trace_formats[k]; k++) {
      const struct trace_format *to = trace_formats[k];
      if (!to->write)
        continue; /* read-only formats */
      char out[256];
      snprintf(out, sizeof(out), "%s/rt.%s", tmp, to->name);
      struct sim_diag d = SIM_DIAG_INIT;
      struct trace_convert_opts o = {.to = to->name};
      struct trace_convert_stats st;
      int rc = trace_convert(test_data_path(files[i]), out, &o, &st, &d);
      if (rc)
        fail_msg("%s -> %s: %s", files[i], to->name, d.n ? d.v[0].msg : sim_strerror(rc));
      sim_diag_cleanup(&d);
      size_t nb = read_frames(out, to->name, b, 64, NULL);
      /* every frame the format can carry comes back identical */
      uint16_t m = carried(to);
      size_t j = 0;
      for (size_t q = 0; q < na; q++) {
        if ((a[q].flags & ~m & (SIM_CAN_F_ERR | SIM_CAN_F_RTR | SIM_CAN_F_FD)) ||
            (!(to->caps & TRACE_CAP_FD) && a[q].len > 8))
          continue; /* dropped by design */
        if (j >= nb)
          fail_msg("%s -> %s: frame %zu missing", files[i], to->name, q);
        const struct sim_frame *x = &a[q], *y = &b[j++];
        if (x->id != y->id || (x->flags & m) != (y->flags & m) || x->len != y->len ||
            (!(x->flags & SIM_CAN_F_RTR) && memcmp(x->data, y->data, x->len)))
          fail_msg("%s -> %s: frame %zu differs (id %X/%X flags %X/%X len %u/%u)", files[i],
                   to->name, q, x->id, y->id, x->flags, y->flags, x->len, y->len);
        /* relative timing is kept to the format's resolution (ParserFlags: ms + fraction) */
        int64_t res = !strcmp(to->name, "crtd") || !strcmp(to->name, "savvycan") ? 1000 : 1;
        if (q > 0 && j > 1 && (a[q].ts / res - a[0].ts / res) != (y->ts - b[0].ts) / res)
          fail_msg("%s -> %s: frame %zu time %lld != %lld", files[i], to->name, q,
                   (long long)(a[q].ts - a[0].ts), (long long)(y->ts - b[0].ts));
      }
      assert_int_equal(j, nb);
      unlink(out);
    }
  }
  rmdir(tmp);
}

static void test_crtd_events_round_trip(void **state)
{
  (void)state;
  const char *in = test_write_temp(".crtd",
      "1724333002.000000 CXX OVMS CRTD\n"
      "1724333002.000000 CVR 3.1\n"
      "1724333002.100000 1R11 7E8 03 41 0d 3c\n"
      "1724333002.200000 1CEV Event vehicle.charge.start\n"
      "1724333002.300000 1CMT Metric { \"name\": \"v.b.soc\", \"value\": 85.5, \"unit\": \"%\" }\n"
      "1724333002.400000 2CER Error intr=1 rxpkt=2\n");
  char inp[256];
  snprintf(inp, sizeof(inp), "%s", in);
  char out[] = "/tmp/ovms-crtd-XXXXXX.crtd";
  int fd = mkstemps(out, 5);
  close(fd);
  struct sim_diag d = SIM_DIAG_INIT;
  assert_int_equal(trace_convert(inp, out, NULL, NULL, &d), 0);
  char *a = test_read_file(inp, NULL), *b = test_read_file(out, NULL);
  assert_string_equal(a, b); /* CRTD -> CRTD is byte-identical for firmware-style input */
  free(a);
  free(b);
  unlink(out);
  unlink(inp);
}

static void test_time_cache(void **state)
{
  (void)state;
  /* consecutive lines share the seconds digits; the cache must never confuse them */
  static const struct { const char *line; int64_t ts; } seq[] = {
    {"(1724333002.811100) can0 7E8#00", NS(1724333002, 811100)},
    {"(1724333002.9) can0 7E8#00", NS(1724333002, 900000)},
    {"(1724333003.000001) can0 7E8#00", NS(1724333003, 1)},
    {"(172433300.000001) can0 7E8#00", NS(172433300, 1)},
    {"(1724333003.123456789) can0 7E8#00", NS(1724333003, 123456) + 789},
    {"(1724333003) can0 7E8#00", NS(1724333003, 0)},
    {"(1724333003.5) can0 7E8#00", NS(1724333003, 500000)},
  };
  const struct trace_format *f = trace_format_find("candump");
  struct trace_pstate ps;
  trace_pstate_init(&ps, "t");
  struct trace_wstate ws;
  trace_wstate_init(&ws);
  struct sbuf out = SBUF_INIT;
  for (size_t i = 0; i < ARRAY_SIZE(seq); i++) {
    struct trace_record rec;
    assert_int_equal(f->parse(&ps, seq[i].line, strlen(seq[i].line), &rec, NULL), 1);
    assert_int_equal(rec.ts, seq[i].ts);
    sbuf_reset(&out);
    f->write(&ws, &rec, &out);
    struct trace_pstate ps2;
    trace_pstate_init(&ps2, "t");
    struct trace_record back;
    assert_int_equal(f->parse(&ps2, out.p, out.len - 1, &back, NULL), 1);
    assert_int_equal(back.ts, seq[i].ts);
  }
  sbuf_free(&out);
  /* the cached path (8 fraction digits at a time) against the plain parser: every fraction
   * length 0..12, digits varied, with and without text after it, lines cut short */
  static const char *const tails[] = {")", ") can0 7E8#00", "", "x", ".5"};
  for (int digits = 0; digits <= 12; digits++)
    for (size_t t = 0; t < ARRAY_SIZE(tails); t++)
      for (int v = 0; v < 3; v++) {
        char buf[64];
        int n = snprintf(buf, sizeof(buf), "1724333002%s", digits || v ? "." : "");
        for (int k = 0; k < digits; k++)
          buf[n++] = (char)('0' + (k * 7 + v * 3 + 1) % 10);
        n += snprintf(buf + n, sizeof(buf) - (size_t)n, "%s", tails[t]);
        struct trace_pstate pc;
        trace_pstate_init(&pc, "t");
        int64_t a = -1, b = -2, prime;
        trace_parse_time_ps(&pc, "1724333002.1)", 13, &prime); /* fill the cache */
        size_t na = trace_parse_time(buf, (size_t)n, false, &a);
        size_t nb = trace_parse_time_ps(&pc, buf, (size_t)n, &b);
        if (na != nb || (na && a != b))
          fail_msg("'%s': plain %zu %lld, cached %zu %lld", buf, na, (long long)a, nb,
                   (long long)b);
      }
}

static void test_same_format_copy(void **state)
{
  (void)state;
  /* same format in and out: every line copied as it is (headers too), CRLF -> LF */
  static const char *const files[] = {"traces/eup-kcan.asc", "traces/synthetic-v11.trc",
                                      "traces/ze1-chademo.csv", "traces/eplus-evcan.tsv",
                                      "traces/synthetic-candump.log"};
  for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
    char out[] = "/tmp/ovms-copy-XXXXXX";
    close(mkstemp(out));
    struct sim_diag d = SIM_DIAG_INIT;
    const struct trace_format *f = NULL;
    size_t len;
    char *in = test_read_file(test_data_path(files[i]), &len);
    f = trace_format_detect(in, len);
    struct trace_convert_opts o = {.to = f->name};
    assert_int_equal(trace_convert(test_data_path(files[i]), out, &o, NULL, &d), 0);
    char *got = test_read_file(out, NULL);
    size_t k = 0;
    for (size_t j = 0; j < len; j++)
      if (in[j] != '\r')
        in[k++] = in[j];
    in[k] = 0;
    assert_string_equal(got, in);
    free(in);
    free(got);
    unlink(out);
  }
}

/* The same-format copy around the awkward lines: a bad line (stops the copy, or is left out
 * with keep_going), an over-long line, CRLF, and a last line without '\n' (a truncated trace:
 * a bad line too); and the reader gives the same records whether the file is read or mapped. */
static void test_copy_and_map(void **state)
{
  (void)state;
  struct sbuf text = SBUF_INIT;
  sbuf_adds(&text, "(1.000000) can0 100#01\n(1.000100) can0 101#02\r\n(1.000200) can0 10G#03\n");
  sbuf_adds(&text, "(1.000300) can1 102#");
  for (int k = 0; k < 150000; k++) /* 300 000 bytes: longer than a line may be */
    sbuf_adds(&text, "00");
  sbuf_adds(&text, "\n(1.000400) can0 103#04\n(1.000500) can1 104#05");
  const char *in = test_write_temp(".log", sbuf_str(&text));
  char out[] = "/tmp/ovms-copy2-XXXXXX";
  close(mkstemp(out));
  struct sim_diag d = SIM_DIAG_INIT;
  struct trace_convert_stats st;
  /* stops at line 3, after copying lines 1-2 */
  assert_int_equal(trace_convert(in, out, &(struct trace_convert_opts){.to = "candump"}, &st, &d),
                   SIM_EPARSE);
  assert_int_equal(d.v[0].line, 3);
  char *got = test_read_file(out, NULL);
  assert_string_equal(got, "(1.000000) can0 100#01\n(1.000100) can0 101#02\n");
  free(got);
  sim_diag_cleanup(&d);
  /* keep going: lines 3, 4 and the unterminated last line 6 left out */
  struct trace_convert_opts o = {.to = "candump", .keep_going = true};
  assert_int_equal(trace_convert(in, out, &o, &st, &d), 0);
  got = test_read_file(out, NULL);
  assert_string_equal(got, "(1.000000) can0 100#01\n(1.000100) can0 101#02\n"
                           "(1.000400) can0 103#04\n");
  free(got);
  assert_int_equal(st.bad_lines, 3);
  assert_int_equal(st.frames, 3);
  assert_int_equal(d.n, 3);
  assert_int_equal(d.v[1].line, 4);
  assert_int_equal(d.v[2].line, 6);
  assert_non_null(strstr(d.v[2].msg, "the last line has no line end: the trace is truncated"));
  sim_diag_cleanup(&d);
  /* read and mapped: the same records, errors and lines */
  for (int map = 0; map < 2; map++) {
    struct trace_reader *r;
    struct trace_reader_opts ro = {.map = map};
    assert_int_equal(trace_reader_open(&r, in, &ro, &d), 0);
    struct trace_record rec;
    int rcs[8], lines[8], n = 0, rc;
    uint32_t ids[8];
    while ((rc = trace_reader_next(r, &rec, &d)) != 0 && n < 8) {
      rcs[n] = rc;
      lines[n] = trace_reader_line(r);
      ids[n++] = rc > 0 ? rec.frame.id : 0;
    }
    trace_reader_close(r);
    assert_int_equal(n, 6);
    static const int want_rc[6] = {1, 1, SIM_EPARSE, SIM_ETRUNC, 1, SIM_ETRUNC};
    static const uint32_t want_id[6] = {0x100, 0x101, 0, 0, 0x103, 0};
    for (int k = 0; k < 6; k++) {
      assert_int_equal(rcs[k], want_rc[k]);
      assert_int_equal(lines[k], k + 1);
      assert_int_equal(ids[k], want_id[k]);
    }
    sim_diag_cleanup(&d);
  }
  sbuf_free(&text);
  /* longer than one mapped window (4 MiB): lines straddle window ends, some CRLF, some with
   * 9 fraction digits (full parse), and the copy is still byte for byte */
  struct sbuf big = SBUF_INIT;
  for (int k = 0; k < 130000; k++) {
    if (k % 1000 == 7)
      sbuf_printf(&big, "(1700000000.%09d) can1 18DAF110#%02X\r\n", k, k & 0xFF);
    else
      sbuf_printf(&big, "(%010d.%06d) can%d %03X#%.*s\n", 1700000000 + k / 1000000,
                  k % 1000000, k & 1, k & 0x7FF, 2 * (k % 9), "0011223344556677");
  }
  in = test_write_temp(".log", sbuf_str(&big));
  assert_true(big.len > 4 * 1024 * 1024);
  assert_int_equal(trace_convert(in, out, &(struct trace_convert_opts){.to = "candump"}, &st, &d),
                   0);
  assert_int_equal(st.frames, 130000);
  size_t glen;
  got = test_read_file(out, &glen);
  size_t k = 0;
  for (size_t j = 0; j < big.len; j++)
    if (big.p[j] != '\r')
      big.p[k++] = big.p[j];
  assert_int_equal(glen, k);
  assert_memory_equal(got, big.p, k);
  free(got);
  struct trace_reader *r;
  assert_int_equal(trace_reader_open(&r, in, &(struct trace_reader_opts){.map = true}, &d), 0);
  struct sim_frame fr;
  int frames = 0;
  while (trace_reader_next_frame(r, &fr, &d) > 0)
    frames++;
  assert_int_equal(frames, 130000);
  assert_int_equal(trace_reader_errors(r), 0);
  trace_reader_close(r);
  sbuf_free(&big);
  unlink(out);
}

/* The candump quick check (the same-format copy skips the full parse of the lines it takes):
 * what it accepts must parse as a frame; the unusual shapes are left to the parser. */
static void test_quick_check(void **state)
{
  (void)state;
  static const struct { const char *line; bool quick; } cases[] = {
    {"(1724333002.811100) can0 7E8#03410D3C00000000", true},
    {"(1724333002.811100) vcan12 18DAF110#101462F190574155", true},
    {"(1724333002.811100) can0 7FF#", true},
    {"(0000000001.000000) x 000#00", true},
    {"(1724333002.811100) can0 800#00", false},        /* 11-bit id out of range */
    {"(1724333002.811100) can0 20000080#0000000000000000", false}, /* error frame */
    {"(1724333002.811100) can0 7E8#0", false},         /* odd digit count */
    {"(1724333002.811100) can0 7E8#001122334455667788", false}, /* 9 bytes */
    {"(1724333002.811100) can0 7E8#0G", false},
    {"(1724333002.811100) can0 7E8#00 T", false},      /* direction: parser */
    {"(1724333002.811100) can0 7E8#00\r", false},
    {"(1724333002.811100) can0 7E8##100", false},      /* FD: parser */
    {"(1724333002.811100) can0 7E8#R", false},
    {"(1724333002.811100123) can0 7E8#00", false},     /* 9 fraction digits: parser */
    {"(172433300.811100) can0 7E8#00", false},         /* 9-digit seconds: parser */
    {"(1724333002.811100)  can0 7E8#00", false},       /* two blanks: parser */
    {"(1724333002.811100) can0 7E8#00.11", false},
    {"(1724333002x811100) can0 7E8#00", false},
    {"(9223372029.999999) can1 1FFFFFFF#FF", true}, /* the largest seconds it takes */
    {"(9223372030.000000) can0 7E8#00", false},
    {"(1724333002.811100) slcan0 0AB#0a0B0c0D0e0F1a1B", true}, /* either case */
  };
  const struct trace_format *f = trace_format_find("candump");
  assert_non_null(f->quick_check);
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    const char *l = cases[i].line;
    bool q = f->quick_check(l, strlen(l));
    if (q != cases[i].quick)
      fail_msg("quick check of '%s': %d", l, q);
    struct trace_pstate ps;
    trace_pstate_init(&ps, "t");
    struct trace_record rec;
    int rc = f->parse(&ps, l, strlen(l), &rec, NULL);
    if (q && (rc != 1 || rec.kind != TRACE_REC_FRAME))
      fail_msg("'%s' passed the quick check but parses to %d", l, rc);
    if (!q)
      continue;
    /* parse()'s fast path for such lines gives what the full parse gives: the same line with
     * a CR (which the fast path leaves to the full parse, and the full parse drops) */
    char cr[96];
    snprintf(cr, sizeof(cr), "%s\r", l);
    struct trace_pstate ps2;
    trace_pstate_init(&ps2, "t");
    struct trace_record full;
    assert_int_equal(f->parse(&ps2, cr, strlen(cr), &full, NULL), 1);
    if (full.ts != rec.ts || full.ts_relative != rec.ts_relative ||
        full.frame.ts != rec.frame.ts || full.frame.id != rec.frame.id ||
        full.frame.flags != rec.frame.flags || full.frame.bus != rec.frame.bus ||
        full.frame.len != rec.frame.len || memcmp(full.frame.data, rec.frame.data, rec.frame.len) ||
        strcmp(full.src, rec.src) || ps.nframes != ps2.nframes)
      fail_msg("'%s': the fast path and the full parse differ", l);
  }
  /* every byte value in every position of a 29-bit id and of 8 data bytes: the same result
   * from the fast path as from the full parse, a frame or an error */
  for (int pos = 0; pos < 24; pos++)
    for (int b = 1; b < 256; b++) {
      char l[64], cr[80];
      int n = snprintf(l, sizeof(l), "(1724333002.811100) can0 1ABCDEF9#0123456789aBcDeF");
      l[n - 25 + pos + (pos >= 8)] = (char)b; /* the id's 8 digits, then (after '#') 16 */
      snprintf(cr, sizeof(cr), "%s\r", l);
      struct trace_pstate pa, pb;
      trace_pstate_init(&pa, "t");
      trace_pstate_init(&pb, "t");
      struct trace_record ra, rb;
      int a = f->parse(&pa, l, (size_t)n, &ra, NULL);
      int c = f->parse(&pb, cr, (size_t)n + 1, &rb, NULL);
      if (a != c || (a == 1 && (ra.frame.id != rb.frame.id || ra.frame.flags != rb.frame.flags ||
                                ra.frame.len != rb.frame.len ||
                                memcmp(ra.frame.data, rb.frame.data, ra.frame.len))))
        fail_msg("byte 0x%02X at digit %d: the fast path gives %d, the full parse %d", b, pos,
                 a, c);
    }
}

/* A CAN FD frame whose length lies between two DLC steps (11 bytes) is written by the TRC
 * writer as DLC 9 padded with zero bytes to 12, and that line parses back. */
static void test_trc_fd_padding(void **state)
{
  (void)state;
  const struct trace_format *f = trace_format_find("trc");
  struct trace_record rec;
  trace_record_clear(&rec);
  rec.kind = TRACE_REC_FRAME;
  rec.frame.id = 0x123;
  rec.frame.flags = SIM_CAN_F_FD;
  rec.frame.bus = 1;
  rec.frame.len = 11;
  memset(rec.frame.data, 0xAB, 11);
  rec.ts_relative = true;
  struct trace_wstate ws;
  trace_wstate_init(&ws);
  struct sbuf out = SBUF_INIT;
  assert_int_equal(f->write(&ws, &rec, &out), 0);
  assert_non_null(strstr(out.p, " FD 1 "));
  assert_non_null(strstr(out.p, " 9    AB AB AB AB AB AB AB AB AB AB AB 00\n"));
  struct trace_pstate ps;
  trace_pstate_init(&ps, "t");
  f->parse(&ps, ";$FILEVERSION=2.1", 17, &(struct trace_record){0}, NULL);
  struct trace_record back;
  assert_int_equal(f->parse(&ps, out.p, out.len - 1, &back, NULL), 1);
  assert_int_equal(back.frame.len, 12);
  assert_int_equal(back.frame.data[10], 0xAB);
  assert_int_equal(back.frame.data[11], 0);
  sbuf_free(&out);
}

static void test_gzip(void **state)
{
  (void)state;
#ifdef SIM_HAVE_ZLIB
  char out[] = "/tmp/ovms-gz-XXXXXX.log.gz";
  int fd = mkstemps(out, 7);
  close(fd);
  struct sim_diag d = SIM_DIAG_INIT;
  assert_int_equal(trace_convert(test_data_path("traces/env200-startup.crtd"), out, NULL, NULL, &d),
                   0);
  unsigned char magic[2];
  FILE *f = fopen(out, "rb");
  assert_int_equal(fread(magic, 1, 2, f), 2);
  fclose(f);
  assert_int_equal(magic[0], 0x1f);
  struct sim_frame fr[16];
  assert_int_equal(read_frames(out, NULL, fr, 16, NULL), 11);
  unlink(out);
#else
  skip();
#endif
}

/* A gzip stream cut short reads as complete through gzread(): the reader asks gzerror() and
 * reports the cut once (SIM_ETRUNC) after the complete lines, never as a syntax error of the
 * cut line.  Cut inside the data (the fixture) and cut in the trailer only (all lines there). */
static void test_gzip_truncated(void **state)
{
  (void)state;
#ifdef SIM_HAVE_ZLIB
  struct cut {
    char *path;
    int frames;
  } cuts[2] = {{strdup(test_data_path("traces/bad-truncated.log.gz")), 3}, {NULL, 9}};
  char tail[] = "/tmp/ovms-gzcut-XXXXXX.log.gz";
  int fd = mkstemps(tail, 7);
  gzFile gz = gzdopen(dup(fd), "wb");
  FILE *in = fopen(test_data_path("traces/synthetic-candump.log"), "rb");
  char buf[4096];
  size_t n = fread(buf, 1, sizeof(buf), in);
  fclose(in);
  assert_int_equal(gzwrite(gz, buf, (unsigned)n), (int)n);
  gzclose(gz);
  off_t size = lseek(fd, 0, SEEK_END);
  assert_int_equal(ftruncate(fd, size - 4), 0); /* the length of the trailer lost */
  close(fd);
  cuts[1].path = strdup(tail);
  for (int c = 0; c < 2; c++) {
    const char *path = cuts[c].path;
    struct trace_reader *r;
    struct sim_diag d = SIM_DIAG_INIT;
    assert_int_equal(trace_reader_open(&r, path, NULL, &d), 0);
    struct trace_record rec;
    int rc, frames = 0;
    while ((rc = trace_reader_next(r, &rec, &d)) > 0)
      frames += rec.kind == TRACE_REC_FRAME;
    assert_int_equal(rc, SIM_ETRUNC);
    assert_int_equal(frames, cuts[c].frames);
    assert_int_equal(d.errors, 1);
    assert_int_equal(d.v[0].line, 0);
    assert_non_null(strstr(d.v[0].msg, "truncated gzip stream"));
    assert_int_equal(trace_reader_next(r, &rec, &d), 0); /* reported once */
    assert_int_equal(d.errors, 1);
    assert_int_equal(trace_reader_errors(r), 1);
    trace_reader_close(r);
    sim_diag_cleanup(&d);
    free(cuts[c].path);
  }
  unlink(tail);
#else
  skip();
#endif
}

static int parse_text(const struct trace_format *fmt, const char *text, struct sim_frame *f,
                      int max);

/* Fuzz finding: 11-digit seconds overflowed the int64 ns multiplication (UBSan).  The largest
 * time an int64 of ns holds parses; more digits are "not a time".  Second finding
 * (fuzz_trace_asc, regress/fuzz_trace_asc/clamped-time-reads-back): the reader stopped 7 s
 * short of the limit, so the ASC writer's clamped time (INT64_MAX ns) did not read back. */
static void test_time_range(void **state)
{
  int64_t ns = 0;
  assert_int_equal(trace_parse_time("9223372029.999999999", 20, false, &ns), 20);
  assert_true(ns == INT64_C(9223372029999999999));
  assert_int_equal(trace_parse_time("9223372036.854775807", 20, false, &ns), 20);
  assert_true(ns == INT64_MAX);
  assert_int_equal(trace_parse_time("9223372036.854775808", 20, false, &ns), 0);
  assert_int_equal(trace_parse_time("9223372037", 10, false, &ns), 0);
  assert_int_equal(trace_parse_time("-9223372036.854775807", 21, true, &ns), 21);
  assert_true(ns == -INT64_MAX);
  /* the cached seconds path: the last second of the range is never cached */
  struct trace_pstate pc;
  trace_pstate_init(&pc, "t");
  assert_int_equal(trace_parse_time_ps(&pc, "9223372036.1 x", 14, &ns), 12);
  assert_int_equal(trace_parse_time_ps(&pc, "9223372036.854775808 x", 22, &ns), 0);
  assert_int_equal(trace_parse_time_ps(&pc, "9223372036.854775807 x", 22, &ns), 20);
  assert_true(ns == INT64_MAX);
  /* the ASC writer's clamp reads back */
  const struct trace_format *asc = trace_format_find("asc");
  struct sim_frame f[1];
  assert_int_equal(parse_text(asc, "base hex  timestamps absolute\n"
                                   "9223372036.854775807 2  ErrorFrame\n", f, 1), 1);
  assert_true(f[0].ts == INT64_MAX);
  assert_int_equal(trace_parse_time("16324267877.5", 13, false, &ns), 0);
  assert_int_equal(trace_parse_time("92233720370", 11, false, &ns), 0);
  assert_int_equal(trace_parse_time("1632426784.010194", 17, false, &ns), 17);
  assert_true(ns == INT64_C(1632426784010194000));
}

/* Parses the lines of text with one parser state; the frames in f (at most max). */
static int parse_text(const struct trace_format *fmt, const char *text, struct sim_frame *f,
                      int max)
{
  struct trace_pstate ps;
  trace_pstate_init(&ps, "t.trc");
  int n = 0;
  for (const char *p = text; *p;) {
    size_t len = strcspn(p, "\n");
    struct trace_record rec;
    int rc = fmt->parse(&ps, p, len, &rec, NULL);
    if (rc < 0)
      return rc;
    if (rc == 1 && rec.kind == TRACE_REC_FRAME && n < max)
      f[n++] = rec.frame;
    p += len + (p[len] == '\n');
  }
  return n;
}

/* Fuzz finding (fuzz_trace_trc, tests/fuzz/regress/fuzz_trace_trc): a record of the last day
 * and a half before the int64 ns limit (2262-04-11T23:47:16.854775807Z) got a $STARTTIME the
 * reader refused, and an offset of 9e13 ms overflowed ms * 10^6 instead of being refused. */
static void test_trc_time_limit(void **state)
{
  (void)state;
  const struct trace_format *trc = trace_format_find("trc");
  struct trace_wstate ws;
  trace_wstate_init(&ws);
  struct trace_record rec;
  trace_record_clear(&rec);
  rec.kind = TRACE_REC_FRAME;
  rec.frame.id = 0x123;
  rec.frame.len = 1;
  rec.ts = INT64_MAX - 999999; /* 2262-04-11T23:47:16.853775807Z: a whole ms is left */
  rec.ts -= rec.ts % 1000;     /* the writer keeps microseconds */
  struct sbuf out = SBUF_INIT;
  assert_int_equal(trc->header(&ws, &rec, &out), 0);
  assert_int_equal(trc->write(&ws, &rec, &out), 0);
  struct sim_frame f[2];
  assert_int_equal(parse_text(trc, sbuf_str(&out), f, 2), 1);
  assert_true(f[0].ts == rec.ts);
  sbuf_free(&out);
  /* offsets: the last ns is accepted, one more (or 9e13 ms) refused */
  assert_int_equal(parse_text(trc, ";$FILEVERSION=2.1\n1 9223372036854.775807 DT 1 0 Rx - 1 00\n",
                              f, 2), 1);
  assert_true(f[0].ts == INT64_MAX);
  assert_int_equal(parse_text(trc, ";$FILEVERSION=2.1\n1 9223372036854.775808 DT 1 0 Rx - 1 00\n",
                              f, 2), SIM_EPARSE);
  assert_int_equal(parse_text(trc, ";$FILEVERSION=2.1\n1 90000000000000 DT 1 0 Rx - 1 00\n", f, 2),
                   SIM_EPARSE);
  /* $STARTTIME: the last whole ms of int64 ns is accepted, a day later refused */
  assert_int_equal(parse_text(trc, ";$FILEVERSION=2.1\n;$STARTTIME=132320.99\n", f, 2), 0);
  assert_int_equal(parse_text(trc, ";$FILEVERSION=2.1\n;$STARTTIME=132321.99\n", f, 2),
                   SIM_EPARSE);
}

/* ASC times are written relative to the first record; one near INT64_MIN after a later first
 * record overflowed the subtraction (UBSan, fuzz_trace_asc,
 * regress/fuzz_trace_asc/time-before-origin-overflow): it is written as time 0. */
static void test_asc_time_before_origin(void **state)
{
  (void)state;
  const struct trace_format *asc = trace_format_find("asc");
  struct trace_wstate ws;
  trace_wstate_init(&ws);
  struct trace_record rec;
  trace_record_clear(&rec);
  rec.kind = TRACE_REC_FRAME;
  rec.frame.id = 0x123;
  rec.frame.len = 1;
  rec.ts = INT64_C(1632509059533816000);
  struct sbuf out = SBUF_INIT;
  assert_int_equal(asc->header(&ws, &rec, &out), 0);
  assert_int_equal(asc->write(&ws, &rec, &out), 0);
  sbuf_reset(&out);
  rec.ts = INT64_MIN + 1;
  assert_int_equal(asc->write(&ws, &rec, &out), 0);
  assert_non_null(strstr(sbuf_str(&out), "0.000000 "));
  sbuf_free(&out);
}

/* A $COLUMNS naming the message type twice: one line was both CAN FD (FB) and a remote request
 * (RR), which no bus carries, and was written back without its data (fuzz_trace_trc,
 * regress/fuzz_trace_trc/columns-twice-T).  The line is refused; one T column still reads. */
static void test_trc_type_twice(void **state)
{
  (void)state;
  const struct trace_format *trc = trace_format_find("trc");
  struct sim_frame f[2];
  assert_int_equal(parse_text(trc, ";$FILEVERSION=2.0\n;$COLUMNS=N,O,T,T,I,d,l,D\n"
                                   "1 1060.100 FB RR 07DF Rx 2\n", f, 2), SIM_EPARSE);
  assert_int_equal(parse_text(trc, ";$FILEVERSION=2.0\n;$COLUMNS=N,O,T,I,d,l,D\n"
                                   "1 1061.000 RR 07DF Rx 2\n", f, 2), 1);
  assert_true(f[0].flags & SIM_CAN_F_RTR);
  assert_int_equal(f[0].len, 2);
}

/* The frames a and b (n each) are equal field by field (bus 0, unassigned, is bus 1). */
static void assert_frames_equal(const struct sim_frame *a, const struct sim_frame *b, size_t n,
                                const char *what)
{
  for (size_t i = 0; i < n; i++) {
    const struct sim_frame *x = &a[i], *y = &b[i];
    if (x->ts != y->ts || x->id != y->id || x->flags != y->flags ||
        (x->bus ? x->bus : 1) != (y->bus ? y->bus : 1) || /* unassigned: written as the first */
        x->len != y->len ||
        memcmp(x->data, y->data, x->flags & SIM_CAN_F_RTR ? 0 : x->len))
      fail_msg("%s: frame %zu differs (id %x/%x flags %x/%x bus %u/%u ts %lld/%lld)", what, i,
               x->id, y->id, x->flags, y->flags, x->bus, y->bus,
               (long long)x->ts, (long long)y->ts);
  }
}

/* The USB-CAN analyser export (tests/data/traces/analyser-export.txt: NUL and blank column
 * separators, CRLF, NUL padding at the end): read frame-exact, then written as candump and as
 * a numbered export and read back to the same frames. */
static void test_analyser_export(void **state)
{
  (void)state;
  const char *path = test_data_path("traces/analyser-export.txt");
  FILE *fp = fopen(path, "rb");
  assert_non_null(fp);
  char text[4096];
  size_t tlen = fread(text, 1, sizeof(text), fp);
  fclose(fp);
  assert_ptr_equal(trace_format_detect(text, tlen), trace_format_find("numbered"));
  struct sim_frame f[8], back[8];
  assert_int_equal(read_frames(path, NULL, f, 8, NULL), 5);
  const int64_t t0 = (10 * 3600 + 21 * 60 + 33) * SIM_NS_PER_SEC;
  assert_true(f[0].ts == t0 + 123 * SIM_NS_PER_MS && f[0].id == 0x1DB && f[0].len == 8 &&
              f[0].flags == 0);
  assert_memory_equal(f[0].data, "\x00\x04\xC2\x62\x00\x00\x03\xB6", 8);
  assert_true(f[1].ts == t0 + 133 * SIM_NS_PER_MS && f[1].id == 0x18DAF110 && f[1].len == 2 &&
              f[1].flags == (SIM_CAN_F_EXT | SIM_CAN_F_TX));
  assert_memory_equal(f[1].data, "\x10\x14", 2);
  assert_true(f[2].id == 0x7DF && f[2].len == 2 && f[2].flags == SIM_CAN_F_RTR);
  assert_true(f[3].id == 0x55 && f[3].len == 0 && f[3].ts == t0 + 1007 * SIM_NS_PER_MS);
  assert_true(f[4].ts == 86399999 * SIM_NS_PER_MS && f[4].id == 0x1FFFFFFF && f[4].len == 8);
  assert_memory_equal(f[4].data, "\xFF\xFE\xFD\xFC\xFB\xFA\xF9\xF8", 8);
  static const char *const outs[] = {"candump", "numbered"};
  for (size_t k = 0; k < ARRAY_SIZE(outs); k++) {
    const struct trace_format *w = trace_format_find(outs[k]);
    struct trace_wstate ws;
    trace_wstate_init(&ws);
    struct sbuf out = SBUF_INIT;
    for (size_t i = 0; i < 5; i++) {
      struct trace_record rec;
      trace_record_clear(&rec);
      rec.kind = TRACE_REC_FRAME;
      rec.frame = f[i];
      rec.ts = f[i].ts;
      assert_int_equal(w->write(&ws, &rec, &out), 0);
    }
    char tmp[] = "/tmp/ovms-analyser-XXXXXX";
    int fd = mkstemp(tmp);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, out.p, out.len), (ssize_t)out.len);
    close(fd);
    assert_int_equal(read_frames(tmp, outs[k], back, 8, NULL), 5);
    assert_frames_equal(f, back, 5, outs[k]);
    unlink(tmp);
    sbuf_free(&out);
  }
}

/* Writes text[0..n) to a temporary file (path in tmp) and reads its frames. */
static size_t read_text(const char *text, size_t n, const char *fmt, struct sim_frame *f,
                        size_t cap)
{
  char tmp[] = "/tmp/ovms-variant-XXXXXX";
  int fd = mkstemp(tmp);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, n), (ssize_t)n);
  close(fd);
  size_t got = read_frames(tmp, fmt, f, cap, NULL);
  unlink(tmp);
  return got;
}

/* Every text fixture read as it is, with a UTF-8 BOM, with every line in CRLF, with LF and
 * CRLF mixed, with NUL padding at the end, and (blank-separated formats) with a NUL after
 * each blank of the frame lines: the same frames, and the same format detected. */
static void test_text_variants(void **state)
{
  (void)state;
  static const struct { const char *file; bool nul_blanks; } fx[] = {
    {"synthetic-candump.log", true},  {"leaf62-battery.can", true},
    {"env200-startup.crtd", true},    {"eup-kcan.asc", true},
    {"synthetic-v11.trc", true},      {"synthetic-v21.trc", true},
    {"synthetic-numbered.txt", true}, {"analyser-export.txt", true},
    /* the Roadster log tells bytes from annotation by the number of blanks */
    {"roadster-slidestop.txt", false}, {"ze1-chademo.csv", false},
    {"eplus-evcan.tsv", false},       {"roadster-charge-done.cando.csv", false},
  };
  static struct sim_frame ref[64], got[64];
  for (size_t k = 0; k < ARRAY_SIZE(fx); k++) {
    char rel[128];
    snprintf(rel, sizeof(rel), "traces/%s", fx[k].file);
    FILE *fp = fopen(test_data_path(rel), "rb");
    assert_non_null(fp);
    static char orig[16384];
    size_t n = fread(orig, 1, sizeof(orig), fp);
    fclose(fp);
    const struct trace_format *fmt = trace_format_detect(orig, n);
    assert_non_null(fmt);
    size_t nref = read_frames(test_data_path(rel), NULL, ref, 64, NULL);
    assert_true(nref > 0);
    for (int v = 0; v < 5; v++) {
      if (v == 4 && !fx[k].nul_blanks)
        continue;
      struct sbuf t = SBUF_INIT;
      if (v == 0)
        sbuf_adds(&t, "\xEF\xBB\xBF");
      int line = 0;
      bool data_line = false; /* NUL blanks go into frame lines only (digit or '(' first) */
      for (size_t i = 0; i < n; i++) {
        char c = orig[i];
        if (i == 0 || orig[i - 1] == '\n') {
          size_t b = i;
          while (b < n && orig[b] == ' ')
            b++;
          data_line = b < n && ((orig[b] >= '0' && orig[b] <= '9') || orig[b] == '(');
        }
        if (c == '\r' && (v == 1 || v == 2) && i + 1 < n && orig[i + 1] == '\n')
          continue; /* re-ended below */
        if (c == '\n' && (v == 1 || (v == 2 && line++ % 2)))
          sbuf_addc(&t, '\r');
        sbuf_addc(&t, c);
        if (c == ' ' && v == 4 && data_line)
          sbuf_addc(&t, '\0');
      }
      if (v == 3)
        sbuf_add(&t, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16);
      const char *what[] = {"BOM", "CRLF", "mixed line ends", "trailing NULs", "NUL blanks"};
      if (trace_format_detect(t.p, t.len) != fmt)
        fail_msg("%s with %s: detected as another format", fx[k].file, what[v]);
      size_t m = read_text(t.p, t.len, NULL, got, 64);
      if (m != nref)
        fail_msg("%s with %s: %zu frames, not %zu", fx[k].file, what[v], m, nref);
      char label[160];
      snprintf(label, sizeof(label), "%s with %s", fx[k].file, what[v]);
      assert_frames_equal(ref, got, nref, label);
      sbuf_free(&t);
    }
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_time_range),      cmocka_unit_test(test_trc_time_limit),
      cmocka_unit_test(test_trc_type_twice), cmocka_unit_test(test_asc_time_before_origin),
    cmocka_unit_test(test_parse_table),     cmocka_unit_test(test_errors),
    cmocka_unit_test(test_detect),          cmocka_unit_test(test_excerpt_counts),
    cmocka_unit_test(test_round_trips),     cmocka_unit_test(test_crtd_events_round_trip),
    cmocka_unit_test(test_time_cache),      cmocka_unit_test(test_same_format_copy),
    cmocka_unit_test(test_gzip),            cmocka_unit_test(test_trc_fd_padding),
    cmocka_unit_test(test_gzip_truncated),
    cmocka_unit_test(test_copy_and_map),     cmocka_unit_test(test_quick_check),
    cmocka_unit_test(test_analyser_export), cmocka_unit_test(test_text_variants),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
