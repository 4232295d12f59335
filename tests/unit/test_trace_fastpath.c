/*
 * test_trace_fastpath.c - the one-pass fast paths of the trace readers (parse_quick and
 * friends in sim/trace/fmt_*.c) agree with the full parsers.  Every line is parsed twice, each
 * time in its own parser state fed the same lines before: as it is (the fast path takes the
 * lines of the writers' layout), and with a leading separator that the full parser skips and
 * the fast path does not take (so the full parser decides).  The results -- return code, every
 * field of the record, and the parser state the next line sees (frame count, bus labels,
 * synthetic times) -- must be the same.  The lines are the writers' own and tricky neighbours
 * of them: limits, wrong lengths, other separators, cases, trailing text.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "core/error.h"
#include "core/loop.h"
#include "trace/trace.h"

struct fcase {
  const char *line;
  int rc; /* 1 frame, 0 nothing, -1 error (the full parser's answer) */
};

struct fsuite {
  const char *fmt;
  const char *prefix;         /* what makes the full parser decide: skipped by it, not by
                                 the fast path */
  const char *const *setup;   /* header lines, NULL-terminated */
  const struct fcase *cases;
  size_t ncases;
};

static void assert_same(const struct trace_record *a, const struct trace_record *b,
                        const struct trace_pstate *pa, const struct trace_pstate *pb,
                        const char *line)
{
  if (a->kind != b->kind || a->frame.id != b->frame.id || a->frame.flags != b->frame.flags ||
      a->frame.bus != b->frame.bus || a->frame.len != b->frame.len || a->ts != b->ts ||
      a->frame.ts != b->frame.ts || a->ts_relative != b->ts_relative ||
      a->untimed != b->untimed || strcmp(a->src, b->src) ||
      memcmp(a->frame.data, b->frame.data, a->frame.len) || pa->nframes != pb->nframes ||
      pa->last_ts != pb->last_ts || pa->nsrcs != pb->nsrcs)
    fail_msg("fast and full parse differ on \"%s\": id %X/%X flags %X/%X bus %u/%u len %u/%u "
             "ts %lld/%lld rel %d/%d src %s/%s",
             line, a->frame.id, b->frame.id, a->frame.flags, b->frame.flags, a->frame.bus,
             b->frame.bus, a->frame.len, b->frame.len, (long long)a->ts, (long long)b->ts,
             a->ts_relative, b->ts_relative, a->src, b->src);
  for (int k = 0; k < pa->nsrcs; k++)
    assert_string_equal(pa->srcs[k], pb->srcs[k]);
}

static void run_suite(const struct fsuite *su)
{
  const struct trace_format *fmt = trace_format_find(su->fmt);
  assert_non_null(fmt);
  struct trace_pstate pa, pb;
  trace_pstate_init(&pa, "fast");
  trace_pstate_init(&pb, "full");
  struct sim_diag d = SIM_DIAG_INIT;
  struct trace_record ra, rb;
  for (size_t k = 0; su->setup && su->setup[k]; k++) {
    const char *h = su->setup[k];
    assert_true(fmt->parse(&pa, h, strlen(h), &ra, &d) >= 0);
    assert_true(fmt->parse(&pb, h, strlen(h), &rb, &d) >= 0);
  }
  for (size_t k = 0; k < su->ncases; k++) {
    const struct fcase *c = &su->cases[k];
    char slow[512];
    snprintf(slow, sizeof(slow), "%s%s", su->prefix, c->line);
    pa.line = pb.line = (int)k + 1;
    /* exact copies, no NUL after them: a read past the line's end is an ASan error */
    size_t na = strlen(c->line), nb = strlen(slow);
    char *la = malloc(na ? na : 1), *lb = malloc(nb ? nb : 1);
    assert_non_null(la);
    assert_non_null(lb);
    memcpy(la, c->line, na);
    memcpy(lb, slow, nb);
    int a = fmt->parse(&pa, la, na, &ra, &d);
    int b = fmt->parse(&pb, lb, nb, &rb, &d);
    if ((a < 0 ? -1 : a) != c->rc || (b < 0 ? -1 : b) != c->rc)
      fail_msg("%s: \"%s\": rc %d (fast) / %d (full), want %d", su->fmt, c->line, a, b, c->rc);
    if (a > 0)
      assert_same(&ra, &rb, &pa, &pb, c->line);
    free(la);
    free(lb);
  }
  sim_diag_cleanup(&d);
}

#define SUITE(f, pre, setup, cases) {f, pre, setup, cases, ARRAY_SIZE(cases)}

static const char *const trc_setup[] = {";$FILEVERSION=2.1", ";$STARTTIME=45526.5578935185",
                                        ";$COLUMNS=N,O,T,B,I,d,R,L,D", NULL};
static const struct fcase trc_cases[] = {
    {"      1    811.100 DT 1      01DB Rx - 8    01 23 45 67 89 AB CD EF", 1},
    {"      2    811.350 DT 2      18DAF110 Tx - 2    10 14", 1},
    {"      3    811.600 DT 1      07BB Rx - 0   ", 1},
    {"      4    811.600 DT 1      0800 Rx - 0", -1},         /* 11-bit id out of range */
    {"5 811.1234567 DT 1 01DB Rx - 1 01", 1},                   /* 7 fraction digits */
    {"5 811 DT 1 01DB Rx - 1 01", 1},                           /* no fraction */
    {"6 1.5 DT 300 01DB Rx - 1 01", -1},                        /* bus > 255 */
    {"6 1.5 DT 012 01DB Rx - 1 01", 1},                         /* bus label "012" */
    {"7 1.5 DT 1 01DB Rx - 2 01", -1},                          /* a byte short */
    {"8 1.5 DT 1 01DB Rx - 1 01 02", -1},                       /* a byte too many */
    {"9 1.5 DT 1 01DB Rx - 1 0g", -1},
    {"10 1.5 DT 1 01db rx - 1 0a", -1},                         /* "rx" */
    {"11 1.5 DT 1 1DB Rx - 1 0A", 1},                           /* 3-digit id */
    {"12 1.5 DT 1 01DB Rx - 9 00 01 02 03 04 05 06 07", 1},     /* classic DLC 9 = 8 bytes */
    {"13 99999999999999.5 DT 1 01DB Rx - 0", -1},               /* offset out of range */
    {"14 1.5 DT 1 01DB Rx - 8 01 23 45 67 89 AB CD E", 1},      /* a one-digit last byte */
    {"15 1.5 DT 1 01DB Rx - 8 01 23 45 67 89 AB CD EF x", 1},   /* text after the data */
    {"16 1.5 DT 1 01DB Rx - 3 01,02 03", -1},
    {"17 1.5 DT 1 01DB Rx - 3 01  02 03", 1},                   /* two blanks */
    {"18 1.5 DT 1 01DB Rx - 4 1 2 3 4", 1},                     /* one-digit bytes */
    {"19 1.5 RR 1 01DB Rx - 4", 1},
    {"20 1.5 ST 1 01DB Rx - 4", 0},
    {"21 1.5 DT 1 01DB Rx x 3 01 02 03", 1},                    /* another reserved mark */
    {"22 1.5 DT 1 01DB Rx - 3 01 02 03\r", 1},
    {"23) 1.5 DT 1 01DB Rx - 3 01 02 03", -1},
    {"24 1.5 DT 1 01DB Rx -", -1},
    {"25 1.5 DT 1 01DB Rx", -1},
    {"26 1.5 DT 1 01DB", -1},
    {"27 1.5 DT 1 18DAF110", -1},
    {"28 1.5", -1},
    /* the writer's separators compared at once (" DT ", " Rx - ") and their neighbours */
    {"29 1.5  DT 1 01DB Rx - 1 01", 1},                         /* two blanks before DT */
    {"30 1.5 DT  1 01DB Rx - 1 01", 1},                         /* two after it */
    {"31 1.5 DT\t1 01DB Rx - 1 01", 1},                        /* a tab: the full parser */
    {"32 1.5 DT 0 01DB Rx - 1 01", -1},                         /* bus 0 */
    {"33 1.5 DT 9 01DB Rx - 1 01", 1},
    {"34 1.5 DT 12 01DB Rx - 1 01", 1},                         /* two-digit bus */
    {"35 1.5 DT 255 01DB Rx - 1 01", 1},
    {"36 1.5 DT 1x 01DB Rx - 1 01", -1},
    {"37 1.5 DT 1 01DB  Rx - 1 01", 1},                         /* two blanks before Rx */
    {"38 1.5 DT 1 01DB Rx  - 1 01", 1},
    {"39 1.5 DT 1 01DB Rx -  1 01", 1},                         /* two blanks after '-' */
    {"40 1.5 DT 1 01DB Tx - 1 01", 1},
    {"41 1.5 DT 1 01DB Rx - 8", -1},                            /* " Rx - " at the end */
    {"42 1.5 DT 1 01DB Rx - ", -1},
    {"43 1.5 DT 1 01DB Rx -8 01 02 03 04 05 06 07 08", -1},
    {"44 1.5 DT 1 01DB Rt - 1 01", -1},
    {"45 1.5 DT 1 01DB Tx + 1 01", 1},
    {"46 1.5 DT 1 0g1B Rx - 1 01", -1},                         /* bad digit in a 4-digit id */
    {"47 1.5 DT 1 18DAF11G Rx - 1 01", -1},                     /* ... in an 8-digit id */
    {"48 1.5 DT 1 1FFFFFFF Rx - 1 01", 1},
    {"49 1.5 DT 1 20000000 Rx - 1 01", -1},
    {"50 1.5 DT 1 01dB Rx - 1 01", 1},                          /* lowercase id digit */
    /* 8 bytes: every separator and digit position */
    {"51 1.5 DT 1 01DB Rx - 8 01 23 45 67 89 ab cd ef", 1},
    {"52 1.5 DT 1 01DB Rx - 8 01,23 45 67 89 AB CD EF", -1},
    {"53 1.5 DT 1 01DB Rx - 8 01 23,45 67 89 AB CD EF", -1},
    {"54 1.5 DT 1 01DB Rx - 8 01 23 45,67 89 AB CD EF", -1},
    {"55 1.5 DT 1 01DB Rx - 8 01 23 45 67,89 AB CD EF", -1},
    {"56 1.5 DT 1 01DB Rx - 8 01 23 45 67 89,AB CD EF", -1},
    {"57 1.5 DT 1 01DB Rx - 8 01 23 45 67 89 AB,CD EF", -1},
    {"58 1.5 DT 1 01DB Rx - 8 01 23 45 67 89 AB CD,EF", -1},
    {"59 1.5 DT 1 01DB Rx - 8 01 23 45 67 89 AB CD\tEF", 1},    /* a tab: the full parser */
    {"60 1.5 DT 1 01DB Rx - 8 x1 23 45 67 89 AB CD EF", -1},
    {"61 1.5 DT 1 01DB Rx - 8 01 23 45 67 89 AB CD Eg", -1},
    {"62 1.5 DT 1 01DB Rx - 8 01 23 45 6\xC7 89 AB CD EF", -1},
    {"63 1.5 DT 1 01DB Rx - 8 01 23 45 67 89 AB CD EF 00", -1},
    {"64 1.5 DT 1 01DB Rx - 7 01 23 45 67 89 AB CD", 1},
    {"65 1.5 DT 1 01DB Rx - 7 01 23 45 67 89 AB,CD", -1},
    {"66 1.5 DT 1 01DB Rx - 2 01 23", 1},
    {"67 1.5 DT 1 01DB Rx - 2 0123", -1},
    {"68 1.5 DT 1 01DB Rx - 8 0 23 45 67 89 AB CD EF", 1},      /* a one-digit byte */
    {"     69      1.000 DT 1      01DB Rx - 8    FF FF FF FF FF FF FF FF", 1},
    {"1234567890123456 1.5 DT 1 01DB Rx - 1 01", 1},            /* a 16-digit number */
    {"12345678901234567 1.5 DT 1 01DB Rx - 1 01", 1},           /* 17: the full parser */
};

static const struct fcase crtd_cases[] = {
    {"1724333002.811100 1R11 1DB 01 23 45 67 89 ab cd ef", 1},
    {"1724333002.811100 2T29 18DAF110 10 14", 1},
    {"1724333002.811100 1R11 7BB", 1},
    {"1724333002.811100 0R11 7BB", -1},
    {"1724333002.811100 1R11 800", -1},
    {"1724333002.811100 1R29 1FFFFFFF 00", 1},
    {"1724333002.811100 1R29 20000000 00", -1},
    {"1724333002.811100 1R11 7BB 01 02 03 04 05 06 07 08 09", -1},
    {"1724333002.811100 1R11 7BB 01 02 03 04 05 06 07 08 09 0a 0b 0c", 1},
    {"1724333002.811100 1R11 7BB 1 2", 1},
    {"1724333002.8111009999 1R11 7BB 01", 1},
    {"50.25 1R11 7BB 01", 1},
    {"9999999999.5 1R11 7BB 01", -1},
    {"8999999999.5 1R11 7BB 01", 1},
    {"1724333002.811100 1R11 7bb 0A", 1},
    {"1724333002.811100 1R11 7BB 0A  0B", 1},
    {"1724333002.811100 1R11 7BB 0A,", -1},
    {"1724333002.811100 1R11 07BB 0A", 1},
    {"1724333002.811100 1R12 7BB 0A", -1},
    {"1724333002.811100 1CXX hello", 1},
    {"1724333002.811100 1R11 7BB 0A 0B 0C 0D 0E 0F 10 1G", -1},
    {"1724333002.811100 1R11 7BB 0A 0B 0C 0D 0E 0F 10 11  ", 1},
    {"1724333002.811100 1R11", -1},
    {"1724333002.811100 1R29 18DAF11", 1},
    {"1724333002.811100", -1},
};

static const struct fcase screen_cases[] = {
    {"(1724333002.811100)   can0  1DB   [8]  01 23 45 67 89 AB CD EF", 1},
    {"  can1  18DAF110   [2]  10 14", 1},
    {"  can1  18DAF110   [2]  10 14", 1},
    {"(1724333002.811600)   can0  7BB   [0] ", 1},
    {"(1724333002.811600)   can0  800   [0]", -1},
    {"  can0  20000080   [8]  00 00 00 00 00 00 00 00   ERRORFRAME", 1},
    {"  can0  7DF   [2]  remote request", 1},
    {"  can0  7DF   [2]  01 02   '..'", 1},
    {"  can0  7DF   [3]  01 02", -1},
    {"  can0  7DF   [9]  01", -1},
    {"  can0  123  [12]  00 11 22 33 44 55 66 77 88 99 AA BB", 1},
    {"  vcan12  7DF   [1]  0x", -1},
    {"(-5.000000)  can0  7DF   [1]  01", 1},
    {"  can0  TX - -  123   [1]  01", 1},
    {"  can0  40000000   [1]  01", -1},                   /* above 1FFFFFFF, no error bit */
    {"  slcan3  7DF   [1]  0A", 1},
    {"  a_very_long_interface_name_here  7DF   [1]  0A", 1},
    {"  can0  7df   [1]  0a", 1},
    {"  can0  7DF   [1]  0A 0B", -1},
    {"  can0  7DF   [1", -1},
    {"  can0  7DF", -1},
    {"(1724333002.811100", -1},
};

static const struct fcase numbered_cases[] = {
    {"1\tReceive\t13:23:22.811100\t0x000001DB\tData frame\tStandard frame\t0x08\tx| 01 23 45 67 "
     "89 AB CD EF",
     1},
    {"2\tSend\t13:23:22.811350\t0x18DAF110\tData frame\tExtended frame\t0x02\tx| 10 14", 1},
    {"3\tReceive\t13:23:22.811600\t0x000007BB\tData frame\tStandard frame\t0x00\tx|", 1},
    {"4\tReceive\t24:00:00.000000\t0x000007BB\tData frame\tStandard frame\t0x00\tx|", -1},
    {"5\tReceive\t23:59:60.5\t0x000007BB\tData frame\tStandard frame\t0x00", 1},
    {"6\tReceive\t13:23:22.811600\t0x00000800\tData frame\tStandard frame\t0x00\tx|", -1},
    {"7\tReceive\t13:23:22.811600\t0x000007BB\tData frame\tStandard frame\t0x02\tx| 01", -1},
    {"8\tReceive\t13:23:22.811600\t0x000007BB\tData frame\tStandard frame\t0x01\tx| 01 02", -1},
    {"9\tReceive\t13:23:22.811600\t0x000007BB\tRemote frame\tStandard frame\t0x02", 1},
    {"10 Receive 13:23:22.811600 0x000007BB Data frame Standard frame 0x01 x| 0A", 1},
    {"11\treceive\t13:23:22.811600\t0x000007BB\tdata frame\tstandard frame\t1\t0A", 1},
    {"12\tReceive\t13:23:22.811600\t0x000007BB\tData frame\tStandard frame\t0x09\tx| 01", -1},
    {"13\tReceive\t13:23:22:811\t0x000007BB\tData frame\tStandard frame\t0x00", 1},
    {"14\tReceive\t13:23:22.8116001234\t0x000007BB\tData frame\tStandard frame\t0x00", 1},
    {"15\tSend\t13:60:22.811600\t0x000007BB\tData frame\tStandard frame\t0x00", -1},
    {"16\tReceive\t13:23:22.811600\t0x1FFFFFFF\tData frame\tExtended frame\t0x01\tx| ff", 1},
    {"17\tReceive\t13:23:22.811600\t0x000007BB\tData frame\tStandard frame\t0x01\tx| ff zz", -1},
    {"18\tReceive\t13:23:22.811600\t0x000007BB\tData frame\tStandard frame\t0x01\tx|", -1},
    {"19\tReceive\t13:23:22.811600\t0x000007BB\tData frame\tStandard frame\t0x0", 1},
    {"20\tReceive\t13:23:22.811600\t0x000007BB\tData frame\tStandard frame", -1},
    {"21\tSend\t1", -1},
};

static const char *const savvy_setup[] = {
    "Time Stamp,ID,Extended,Dir,Bus,LEN,D1,D2,D3,D4,D5,D6,D7,D8", NULL};
static const struct fcase savvy_cases[] = {
    {"1724333002811100,000001DB,false,Rx,0,8,01,23,45,67,89,AB,CD,EF,", 1},
    {"1724333002811350,18DAF110,true,Tx,1,2,10,14,,,,,,,", 1},
    {"1724333002811600,000007BB,false,Rx,0,0,,,,,,,,,", 1},
    {"1724333002811600,000007BB,false,Rx,0,0", 1},
    {"1724333002811600,00000800,false,Rx,0,0,,,,,,,,,", -1},
    {"9999999999999999,000007BB,false,Rx,0,0", -1},
    {"1724333002811600,000007BB,false,Rx,255,0", -1},
    {"1724333002811600,000007BB,false,Rx,0,2,01", -1},
    {"1724333002811600,000007BB,false,Rx,0,2,01,2", 1},
    {"1724333002811600,000007BB,false,Rx,0,2,01,023", -1},
    {"1724333002811600,000007BB,FALSE,Rx,0,1,0a", 1},
    {"-1688467643383897,00000201,false,Rx,0,1,02", 1},
    {"1724333002811600,7BB,false,Rx,0,1,0a", 1},
    {"1724333002811600,000007BB,false,Rx,0,1,0a,zz", 1},
    {"1724333002811600,000007BB,false,Rx,0,1,0ab", -1},
    {"123,000007BB,false,Rx,0,1,0a", 1},
    {"1724333002811600,000007BB,false,Rx,0,12,00,01,02,03,04,05,06,07,08,09,0A,0B", 1},
    {"1724333002811600,000007BB,false,Rx,0,3,00;01,02", -1},
    {"1724333002811600,000007BB,false,Rx,0,3,00, 01,02", 1},
    {"1724333002811600,000007BB,false,Rx,007,1,0a", 1},
    {"1724333002811600,000007BB,false,Rx,0,9,0a", -1},
    {"1724333002811600,000007BB,false,Rx,0,", -1},
    {"1724333002811600,000007BB,false,Rx,0", -1},
    {"1724333002811600,000007BB,true", -1},
};

static const char *const pf_setup[] = {
    "ParserFlags\tCh\tCounter\tT/R\tTime\tFlags\tCAN ID\tLen\tData\tParser Name\tdefault", NULL};
static const struct fcase pf_cases[] = {
    {"1\t0\t1\tRX\t0\t\t0x000001db\t8\t0x01 23 45 67 89 ab cd ef \tDefault Parser\t", 1},
    {"1\t1\t2\tTX\t0.250000\tX\t0x18daf110\t2\t0x10 14 \tDefault Parser\t", 1},
    {"1\t0\t3\tRX\t0.500000\t\t0x000007bb\t0\t\tDefault Parser\t", 1},
    {"1\t0\t4\tRX\t48659509\t\t0x00000120\t4\t0x08 dc 00 dd \tDefault Parser", 1},
    {"1\t0\t4\tRX\t1.5\t\t0x00000120\t2\t0x08 \tDefault Parser", -1},
    {"1\t0\t4\tRX\t1.5\t\t0x00000120\t1\t0x08 dc \tDefault Parser", -1},
    {"1\t255\t4\tRX\t1.5\t\t0x00000120\t0\t\t", -1},
    {"1\t0\t4\trx\t1.5\t\t0x00000120\t0\t\t", 1},
    {"1\t0\t4\tRX\t1.\t\t0x00000120\t0\t\t", -1},
    {"1\t0\t4\tRX\t1.5\tE\t0x00000120\t0\t\t", 1},
    {"1\t0\t4\tRX\t1.5\t\t0x20000000\t0\t\t", -1},
    {"1\t0\t4\tRX\t1.5\t\t0x00000120\t1\t08\t", 1},
    {"1\t0\t4\tRX\t1.5\t\t0x00000120\t1\t0x08 zz\t", 1},
    {"1\t0\t4\tRX\t1.5\t\t0x00000120\t1\t0x08\r", 1},
    {"1\t0\t4\tRX\t1.5\t\t0x00000120\t1\t0x08", 1},
    {"1\t0\t4\tRX\t1.1234567891\t\t0x00000120\t1\t0x08", 1},
    {"1\t0\t4\tRX\t1.5\t\t0x00000900\t1\t0x08", 1},
    {"1\t0\t4\tRX\t1.5\t\t0x00000120\t1\t0x08\tx\ty\tz", 1},
    {"1\t0\t4\tRX\t1.5\t\t0x00000120\t9\t0x08", -1},
    {"1\t0\t4\tRX\t1.5\tX", -1},        /* the row ends after the flags */
    {"1\t0\t4\tRX\t1.5\t", -1},
    {"1\t0\t4\tRX\t1.5", -1},
};

static void test_fast_paths_agree(void **state)
{
  (void)state;
  const struct fsuite suites[] = {
      SUITE("trc", "\t", trc_setup, trc_cases),
      SUITE("crtd", "\t", NULL, crtd_cases),
      SUITE("candump-screen", "\t", NULL, screen_cases),
      SUITE("numbered", "\t", NULL, numbered_cases),
      SUITE("savvycan", " ", savvy_setup, savvy_cases),
      SUITE("parserflags", " ", pf_setup, pf_cases),
  };
  for (size_t k = 0; k < ARRAY_SIZE(suites); k++)
    run_suite(&suites[k]);
}

/* A SavvyCAN file without a header: the first row sets the columns (full parser), the next
 * ones take the fast path with them. */
static void test_savvy_headerless(void **state)
{
  (void)state;
  const struct fsuite su = SUITE("savvycan", " ", NULL, savvy_cases);
  run_suite(&su);
}

/* candump's parse_ahead (the reader's fast path over its buffer) against parse() of the same
 * line: a line it takes gives the same record and parser state, and its length; a line it
 * leaves (taken: 0) goes through parse() as in the reader.  Each line is followed by its '\n'
 * and more lines, in a buffer of exactly TRACE_AHEAD_READ bytes (or the line and its '\n' when
 * longer): a read past them is an ASan error. */
struct acase {
  const char *line;
  int taken;
};

static const char *const ahead_setup[] = {"(1724333002.000000) can0 123#11",
                                          "(1724333002.000000) can1 123#11",
                                          "(1724333002.000000) vcan1 123#11",
                                          "(1724333002.000000) abcdefgh 123#11",
                                          "(1724333002.000000) abcdefg 123#11", NULL};
static const struct acase ahead_cases[] = {
    {"(1724333002.000000) can0 7E8#0011223344556677", 1},
    {"(1724333002.000250) can1 18DAF110#0011223344556677", 1},
    {"(1724333002.000500) can0 123#", 1},
    {"(1724333002.000500) can0 123#11", 1},
    {"(1724333002.000500) can0 123#112233", 1},
    {"(1724333002.000500) can0 123#1122334455667F", 1},
    {"(1724333002.000500) can0 000#ABCDEF", 1},
    {"(1724333002.000500) can0 7e8#00", 1},
    {"(1724333002.000500) can0 0000ffff#00", 1},
    {"(1724333002.000500) can0 1FFFFFFF#0102030405060708", 1},
    {"(1724333002.000500) vcan1 7FF#FF", 0}, /* bus 2 is can1's slot: parse() numbers it */
    {"(1724333003.999999) can1 7FF#FF", 1},
    {"(9223372029.000000) can0 7E8#00", 1},
    {"(0000000000.000000) can0 7E8#00", 1},
    {"(1724333002.000500) can0 123#abcdef", 0},  /* lowercase data: parse_quick */
    {"(1724333002.000500) can0 123#aBCDEF", 0},
    {"(1724333002.000500) can0 7E8#0011\r", 0},
    {"(1724333002.000500) can0 7E8#0011223344556677\r", 0},
    {"(1724333002.000500) can0 7E8#00 T", 0},
    {"(1724333002.000500) can0 7E8#0011223344556677 R", 0},
    {"(1724333002.000500) can0 7E8#0011223344556677 ", 0},
    {"(1724333002.000500) can0 7E8##10011", 0},
    {"(1724333002.000500) can0 7E8#R", 0},
    {"(1724333002.000500) can0 20000080#0000000000000000", 0},
    {"(1724333002.000500) can0 800#00", 0},
    {"(1724333002.000500) can0 7E#00", 0},
    {"(1724333002.000500) can0 7E8G#00", 0},
    {"(1724333002.000500) can0 2000000#00", 0},
    {"(1724333002.000500) can0 123#123", 0},
    {"(1724333002.000500) can0 123#11.22", 0},
    {"(1724333002.000500) can0 123#001122334455667788", 0},
    {"(1724333002.000500) can0 123#0G", 0},
    {"(1724333002.000500) can0  7E8#00", 0},
    {"(1724333002.000500)\tcan0 7E8#00", 0},
    {"(1724333002.000500) can0\t7E8#00", 0},
    {"(1724333002.000500)  can0 7E8#00", 0},
    {"(1724333002.000500) can6 7E8#00", 0}, /* a new interface: numbered by parse() */
    {"(1724333002.000500) can6 7E8#00", 1}, /* ... then known */
    {"(1724333002.000500) can 7E8#00", 0},
    {"(1724333002.000500) can00 7E8#00", 0},
    {"(1724333002.000500) abcdefgh 7E8#00", 0}, /* 8 bytes: parse() */
    {"(1724333002.000500) abcdefg 7E8#00", 1},
    {"(1724333002.000500) abcdef 7E8#00", 0},
    {"(1724333002.00050) can0 7E8#00", 0},
    {"(1724333002.0005000) can0 7E8#00", 0},
    {"(1724333002.000500( can0 7E8#00", 0}, /* the seconds of the line before, a bad stamp */
    {"(1724333002.0005a0) can0 7E8#00", 0},
    {"(1724333002x000500) can0 7E8#00", 0},
    {"[1724333002.000500) can0 7E8#00", 0},
    {"(1724333002.000500)xcan0 7E8#00", 0},
    {"(9223372037.000000) can0 7E8#00", 0},
    {"(172433300.000500) can0 7E8#00", 0},
    {"(17243330020.000500) can0 7E8#00", 0},
    {"(1724333002.000500) can0 7E8#00", 1},
    {"", 0},
    {"(1724333002.000500) can0", 0},
};

static void test_candump_ahead(void **state)
{
  (void)state;
  const struct trace_format *fmt = trace_format_find("candump");
  assert_non_null(fmt);
  assert_non_null(fmt->parse_ahead);
  struct trace_pstate pa, pb;
  trace_pstate_init(&pa, "ahead");
  trace_pstate_init(&pb, "full");
  struct sim_diag d = SIM_DIAG_INIT;
  struct trace_record ra, rb;
  for (size_t k = 0; ahead_setup[k]; k++) {
    const char *h = ahead_setup[k];
    assert_int_equal(fmt->parse(&pa, h, strlen(h), &ra, &d), 1);
    assert_int_equal(fmt->parse(&pb, h, strlen(h), &rb, &d), 1);
  }
  static const char more[] = "(1724333002.000000) can0 7E8#00\n(1724333002.000000) can";
  for (size_t k = 0; k < ARRAY_SIZE(ahead_cases); k++) {
    const struct acase *c = &ahead_cases[k];
    size_t len = strlen(c->line);
    size_t n = len + 1 > TRACE_AHEAD_READ ? len + 1 : TRACE_AHEAD_READ;
    char *buf = malloc(n), *exact = malloc(len ? len : 1);
    assert_non_null(buf);
    assert_non_null(exact);
    memcpy(buf, c->line, len);
    buf[len] = '\n';
    for (size_t i = len + 1; i < n; i++)
      buf[i] = more[(i - len - 1) % (sizeof(more) - 1)];
    memcpy(exact, c->line, len);
    pa.line = pb.line = (int)k + 1;
    size_t got = fmt->parse_ahead(&pa, buf, n, &ra);
    int b = fmt->parse(&pb, exact, len, &rb, &d);
    if ((got != 0) != (c->taken != 0))
      fail_msg("candump ahead: \"%s\": taken %zu, want %d", c->line, got, c->taken);
    if (got) {
      assert_int_equal(got, len);
      assert_int_equal(b, 1);
    } else {
      assert_int_equal(fmt->parse(&pa, exact, len, &ra, &d), b); /* as the reader goes on */
    }
    if (b > 0)
      assert_same(&ra, &rb, &pa, &pb, c->line);
    free(buf);
    free(exact);
  }
  sim_diag_cleanup(&d);
}

/* The seconds cache of the full parse compares every digit: 17 digits (leading zeros) that
 * differ only in the 9th are other seconds (it used to compare the first and last 8 only). */
static void test_time_cache_long_seconds(void **state)
{
  (void)state;
  const struct trace_format *fmt = trace_format_find("candump");
  struct trace_pstate ps;
  trace_pstate_init(&ps, "t");
  struct sim_diag d = SIM_DIAG_INIT;
  struct trace_record rec;
  static const char *const lines[] = {"(00000000000000001.000000) can0 123#11",
                                      "(00000000100000001.000000) can0 123#11"};
  static const int64_t want[] = {SIM_NS_PER_SEC, INT64_C(100000001) * SIM_NS_PER_SEC};
  for (int k = 0; k < 2; k++) {
    assert_int_equal(fmt->parse(&ps, lines[k], strlen(lines[k]), &rec, &d), 1);
    assert_int_equal(rec.ts, want[k]);
  }
  sim_diag_cleanup(&d);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fast_paths_agree),
      cmocka_unit_test(test_savvy_headerless),
      cmocka_unit_test(test_candump_ahead),
      cmocka_unit_test(test_time_cache_long_seconds),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
