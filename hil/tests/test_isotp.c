/*
 * test_isotp.c - the ISO-TP engine (hil/isotp.c), byte-exact and in virtual time.
 *
 * A table of cases: a link configuration, an optional message to send at t = 0, frames
 * injected at given times, and the complete transcript expected: every frame the link puts on
 * the wire, every message it delivers, every end of transmission and every abandoned
 * reception, each with its simulation time in microseconds.  The cases cover every frame type,
 * flow control CTS / WAIT / OVFLW, BS > 0 both ways, STmin in ms, in 100 us steps and reserved
 * values, N_Bs and N_Cr time-outs, sequence errors, restarts, stray frames, extended and 29-bit
 * addressing, padding, functional requests and -EAGAIN retries.  Then two links talk to each
 * other: 4095-byte messages (sequence numbers wrapping at 16) with several BS / STmin
 * combinations, timed in virtual time.
 */
#include "testutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "core/error.h"
#include "core/sbuf.h"
#include "hil/isotp.h"
#include "hiltest.h"

#define US 1000 /* ns */

enum cfgv {
  C_STD = 0,   /* tx 7E0 rx 7E8, pad 0x55 */
  C_BS1,       /* we ask for BS 1 */
  C_RXMAX100,  /* rx_max 100 */
  C_WAITS2,    /* we send two FC WAIT before CTS */
  C_EXT,       /* extended addressing: 6F1/60 -> 660/F1 */
  C_FIXED29,   /* 29-bit normal fixed 18DA10F1 / 18DAF110 */
  C_NOPAD,     /* no padding */
  C_FUNC,      /* also 7DF functional */
  C_FWPOLL,    /* the firmware's poller: pad 0x55, FC padded with 0, STmin 25 ms */
  C_EAGAIN2,   /* the first two sends return -EAGAIN */
};

struct inject {
  int64_t at_us;
  const char *frame;
};

struct tcase {
  const char *name;
  enum cfgv cfg;
  const char *send;             /* hex of a message to send at t = 0, or NULL */
  int send_len;                 /* or a generated message of this many bytes (i & 0xFF) */
  struct inject in[6];
  const char *expect;           /* the transcript */
  unsigned long stray;
};

static const struct tcase cases[] = {
  {"SF tx", C_STD, "22F190", 0, {{0}}, "0 7E0#0322F19055555555\n0 sent OK\n", 0},
  {"SF rx", C_STD, NULL, 0, {{0, "7E8#0462F19001AAAAAA"}}, "0 rx 62F19001\n", 0},
  {"FF rx, FC CTS, CF", C_STD, NULL, 0,
   {{0, "7E8#100A62F190414243"}, {1000, "7E8#2144454647AAAAAA"}},
   "0 7E0#3000005555555555\n1000 rx 62F19041424344454647\n", 0},
  {"FF tx, STmin 10 ms", C_STD, NULL, 20, {{5000, "7E8#30000A"}},
   "0 7E0#1014000102030405\n5000 7E0#21060708090A0B0C\n15000 7E0#220D0E0F10111213\n"
   "15000 sent OK\n", 0},
  {"BS 2 tx", C_STD, NULL, 30, {{1000, "7E8#300200AAAAAAAAAA"}, {3000, "7E8#300200"}},
   "0 7E0#101E000102030405\n1000 7E0#21060708090A0B0C\n1000 7E0#220D0E0F10111213\n"
   "3000 7E0#231415161718191A\n3000 7E0#241B1C1D55555555\n3000 sent OK\n", 0},
  {"FC WAIT restarts N_Bs", C_STD, NULL, 14,
   {{500000, "7E8#310000"}, {1400000, "7E8#310000"}, {2000000, "7E8#300000"}},
   "0 7E0#100E000102030405\n2000000 7E0#21060708090A0B0C\n2000000 7E0#220D555555555555\n"
   "2000000 sent OK\n", 0},
  {"FC OVFLW", C_STD, NULL, 14, {{1000, "7E8#320000"}},
   "0 7E0#100E000102030405\n1000 sent EOVERFLOW\n", 0},
  {"FC bad flow status", C_STD, NULL, 14, {{1000, "7E8#370000"}},
   "0 7E0#100E000102030405\n1000 sent EPROTO\n", 0},
  {"N_Bs time-out", C_STD, NULL, 14, {{0}}, "0 7E0#100E000102030405\n1000000 sent ETIMEDOUT\n",
   0},
  {"N_Cr time-out", C_STD, NULL, 0, {{0, "7E8#100A62F190414243"}},
   "0 7E0#3000005555555555\n1000000 rxerr ETIMEDOUT\n", 0},
  {"N_Cr restarts with every CF", C_STD, NULL, 0,
   {{0, "7E8#101462F190414243"}, {900000, "7E8#2144454647484950"},
    {1800000, "7E8#2251525354555657"}},
   "0 7E0#3000005555555555\n1800000 rx 62F1904142434445464748495051525354555657\n", 0},
  {"STmin 500 us", C_STD, NULL, 20, {{0, "7E8#3000F5"}},
   "0 7E0#1014000102030405\n0 7E0#21060708090A0B0C\n500 7E0#220D0E0F10111213\n500 sent OK\n",
   0},
  {"STmin reserved 0x80 = 127 ms", C_STD, NULL, 20, {{0, "7E8#300080"}},
   "0 7E0#1014000102030405\n0 7E0#21060708090A0B0C\n127000 7E0#220D0E0F10111213\n"
   "127000 sent OK\n", 0},
  {"STmin reserved 0xFA = 127 ms", C_STD, NULL, 20, {{0, "7E8#3000FA"}},
   "0 7E0#1014000102030405\n0 7E0#21060708090A0B0C\n127000 7E0#220D0E0F10111213\n"
   "127000 sent OK\n", 0},
  {"stray: CF, FC idle, PCI 4, SF 0, SF short, other id", C_STD, NULL, 0,
   {{0, "7E8#2101020304050607"}, {1, "7E8#300000"}, {2, "7E8#4000"}, {3, "7E8#00"},
    {4, "7E8#07010203"}, {5, "7E9#0101"}},
   "", 5},
  {"stray: FF shorter than a frame, FF_DL 7", C_STD, NULL, 0,
   {{0, "7E8#100A01"}, {1, "7E8#1007010203040506"}}, "", 2},
  {"wrong sequence number", C_STD, NULL, 0,
   {{0, "7E8#101462F190414243"}, {10, "7E8#2244454647484950"}},
   "0 7E0#3000005555555555\n10 rxerr EILSEQ\n", 0},
  {"FF restarts a reception", C_STD, NULL, 0,
   {{0, "7E8#101462F190414243"}, {10, "7E8#0162"}},
   "0 7E0#3000005555555555\n10 rxerr ECANCELED\n10 rx 62\n", 0},
  {"our BS 1", C_BS1, NULL, 0,
   {{0, "7E8#101062F190414243"}, {10, "7E8#2144454647484950"}, {20, "7E8#22515253"}},
   "0 7E0#3001005555555555\n10 7E0#3001005555555555\n20 rx 62F19041424344454647484950515253\n",
   0},
  {"rx_max: FC OVFLW", C_RXMAX100, NULL, 0, {{0, "7E8#10C862F190414243"}},
   "0 7E0#3200005555555555\n0 rxerr EOVERFLOW\n", 0},
  {"FF_DL escape (> 4095) is an overflow", C_STD, NULL, 0, {{0, "7E8#1000000010000000"}},
   "0 7E0#3200005555555555\n0 rxerr EOVERFLOW\n", 0},
  {"we send FC WAIT twice", C_WAITS2, NULL, 0,
   {{0, "7E8#100A62F190414243"}, {50000, "7E8#2144454647"}, {300000, "7E8#2144454647"}},
   "0 7E0#3100005555555555\n100000 7E0#3100005555555555\n200000 7E0#3000005555555555\n"
   "300000 rx 62F19041424344454647\n", 1},
  {"extended addressing", C_EXT, "22F190", 0,
   {{0, "660#F10462F19001"}, {1, "660#120462F19001"}},
   "0 6F1#600322F190555555\n0 sent OK\n0 rx 62F19001\n", 0},
  {"extended addressing multi-frame", C_EXT, NULL, 12, {{10, "660#F1300000"}},
   "0 6F1#60100C0001020304\n10 6F1#602105060708090A\n10 6F1#60220B5555555555\n10 sent OK\n",
   0},
  {"29-bit normal fixed", C_FIXED29, "22F190", 0, {{0, "18DAF110#0462F19001"}},
   "0 18DA10F1#0322F19055555555\n0 sent OK\n0 rx 62F19001\n", 0},
  {"no padding", C_NOPAD, "0100", 0, {{0, "7E8#100A62F190414243"}},
   "0 7E0#020100\n0 sent OK\n0 7E0#300000\n1000000 rxerr ETIMEDOUT\n", 0},
  {"functional SF", C_FUNC, NULL, 0, {{0, "7DF#020100"}, {1, "7DF#100A010203040506"}},
   "0 rx(func) 0100\n", 1},
  {"firmware poller FC: zero padding, STmin 25 ms", C_FWPOLL, "2101", 0,
   {{0, "7BB#103561010000020D"}},
   "0 79B#0221015555555555\n0 sent OK\n0 79B#3000190000000000\n1000000 rxerr ETIMEDOUT\n", 0},
  {"-EAGAIN is retried", C_EAGAIN2, "2101", 0, {{0}},
   "2000 79B#0221015555555555\n2000 sent OK\n", 0},
};

/* ---- harness ---------------------------------------------------------------------------- */

struct harness {
  struct ht_loop h;
  struct isotp_link link;
  struct sbuf out;
  const struct tcase *c;
  size_t next_in;
  struct sim_timer in_timer;
  int eagain;
};

static void note(struct harness *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct harness *t, const char *fmt, ...)
{
  sbuf_printf(&t->out, "%lld ", (long long)(sim_monotonic(t->h.loop) / US));
  va_list ap;
  va_start(ap, fmt);
  sbuf_vprintf(&t->out, fmt, ap);
  va_end(ap);
  sbuf_addc(&t->out, '\n');
}

static int h_send(void *ctx, const struct sim_frame *f)
{
  struct harness *t = ctx;
  if (t->eagain > 0) {
    t->eagain--;
    return -EAGAIN;
  }
  char buf[200];
  note(t, "%s", ht_fmt(f, buf, sizeof buf));
  return 0;
}

static void h_received(void *ctx, struct isotp_link *l, const uint8_t *msg, size_t len,
                       bool functional)
{
  struct harness *t = ctx;
  (void)l;
  char buf[9000];
  note(t, "%s %s", functional ? "rx(func)" : "rx", ht_hex(msg, len, buf, sizeof buf));
}

static void h_sent(void *ctx, struct isotp_link *l, int status)
{
  (void)l;
  note((struct harness *)ctx, "sent %s", sim_err_name(status));
}

static void h_rx_error(void *ctx, struct isotp_link *l, int err)
{
  (void)l;
  note((struct harness *)ctx, "rxerr %s", sim_err_name(err));
}

static const struct isotp_ops h_ops = {h_send, h_received, h_sent, h_rx_error};

static void make_cfg(enum cfgv v, struct isotp_config *c)
{
  isotp_config_default(c, 0x7E0, 0x7E8);
  switch (v) {
  case C_BS1:
    c->bs = 1;
    break;
  case C_RXMAX100:
    c->rx_max = 100;
    break;
  case C_WAITS2:
    c->fc_waits = 2;
    break;
  case C_EXT:
    c->tx_id = 0x6F1;
    c->rx_id = 0x660;
    c->addressing = ISOTP_EXTENDED;
    c->tx_addr = 0x60;
    c->rx_addr = 0xF1;
    break;
  case C_FIXED29:
    c->tx_id = isotp_fixed_id(0x10, 0xF1, false);
    c->rx_id = isotp_fixed_id(0xF1, 0x10, false);
    c->ext_id = true;
    break;
  case C_NOPAD:
    c->pad = -1;
    break;
  case C_FUNC:
    c->tx_id = 0x7E8;
    c->rx_id = 0x7E0;
    c->rx_func_id = 0x7DF;
    break;
  case C_FWPOLL:
  case C_EAGAIN2:
    c->tx_id = 0x79B;
    c->rx_id = 0x7BB;
    c->fc_pad = 0;
    c->stmin = 25;
    break;
  default:
    break;
  }
}

static void in_cb(struct sim_loop *loop, struct sim_timer *tm)
{
  struct harness *t = tm->data;
  const struct tcase *c = t->c;
  while (t->next_in < 6 && c->in[t->next_in].frame &&
         c->in[t->next_in].at_us * US <= sim_monotonic(loop)) {
    struct sim_frame f;
    ht_frame(c->in[t->next_in].frame, &f);
    isotp_link_input(&t->link, &f);
    t->next_in++;
  }
  if (t->next_in < 6 && c->in[t->next_in].frame)
    sim_timer_start_at(loop, tm, c->in[t->next_in].at_us * US, 0);
}

static void unhex(const char *s, uint8_t *b, size_t *n)
{
  *n = 0;
  for (; s[0] && s[1]; s += 2) {
    char x[3] = {s[0], s[1], 0};
    b[(*n)++] = (uint8_t)strtoul(x, NULL, 16);
  }
}

static void run_case(const struct tcase *c, struct harness *t)
{
  memset(t, 0, sizeof *t);
  ht_open(&t->h);
  t->c = c;
  t->eagain = c->cfg == C_EAGAIN2 ? 2 : 0;
  struct isotp_config cfg;
  make_cfg(c->cfg, &cfg);
  assert_int_equal(isotp_link_init(&t->link, t->h.loop, &cfg, &h_ops, t), 0);
  sim_timer_init(&t->in_timer, in_cb, t);
  uint8_t msg[ISOTP_MAX_LEN];
  size_t n = 0;
  if (c->send) {
    unhex(c->send, msg, &n);
  } else if (c->send_len) {
    n = (size_t)c->send_len;
    for (size_t i = 0; i < n; i++)
      msg[i] = (uint8_t)i;
  }
  if (n)
    assert_int_equal(isotp_link_send(&t->link, msg, n), 0);
  if (c->in[0].frame)
    sim_timer_start_at(t->h.loop, &t->in_timer, c->in[0].at_us * US, 0);
  sim_loop_run(t->h.loop);
}

static void test_table(void **state)
{
  (void)state;
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    struct harness *t = calloc(1, sizeof *t);
    run_case(&cases[i], t);
    const char *got = sbuf_str(&t->out);
    if (strcmp(got, cases[i].expect))
      fail_msg("case '%s':\n--- want\n%s--- got\n%s", cases[i].name, cases[i].expect, got);
    if (t->link.stats.stray != cases[i].stray)
      fail_msg("case '%s': %lu stray frames, want %lu", cases[i].name, t->link.stats.stray,
               cases[i].stray);
    isotp_link_cleanup(&t->link);
    sbuf_free(&t->out);
    ht_close(&t->h);
    free(t);
  }
}

static void test_stmin_codes(void **state)
{
  (void)state;
  static const struct { uint8_t b; int64_t ns; } t[] = {
    {0x00, 0}, {0x01, 1000000}, {0x19, 25000000}, {0x7F, 127000000}, {0x80, 127000000},
    {0xF0, 127000000}, {0xF1, 100000}, {0xF9, 900000}, {0xFA, 127000000}, {0xFF, 127000000},
  };
  for (size_t i = 0; i < ARRAY_SIZE(t); i++)
    assert_int_equal(isotp_stmin_ns(t[i].b), t[i].ns);
  assert_int_equal(isotp_stmin_byte(0), 0x00);
  assert_int_equal(isotp_stmin_byte(100000), 0xF1);
  assert_int_equal(isotp_stmin_byte(450000), 0xF5);
  assert_int_equal(isotp_stmin_byte(25000000), 25);
  assert_int_equal(isotp_stmin_byte(200000000), 127);
  assert_int_equal(isotp_fixed_id(0x10, 0xF1, false), 0x18DA10F1);
  assert_int_equal(isotp_fixed_id(0x33, 0xF1, true), 0x18DB33F1);
}

static void test_bad_use(void **state)
{
  (void)state;
  struct harness *t = calloc(1, sizeof *t);
  ht_open(&t->h);
  struct isotp_config cfg;
  make_cfg(C_STD, &cfg);
  cfg.rx_max = 5000;
  assert_int_equal(isotp_link_init(&t->link, t->h.loop, &cfg, &h_ops, t), SIM_ECONFIG);
  make_cfg(C_STD, &cfg);
  cfg.tx_id = 0x800;
  assert_int_equal(isotp_link_init(&t->link, t->h.loop, &cfg, &h_ops, t), SIM_ECONFIG);
  make_cfg(C_STD, &cfg);
  assert_int_equal(isotp_link_init(&t->link, t->h.loop, &cfg, &h_ops, t), 0);
  uint8_t big[ISOTP_MAX_LEN + 1] = {0};
  assert_int_equal(isotp_link_send(&t->link, big, 0), SIM_ERANGE);
  assert_int_equal(isotp_link_send(&t->link, big, sizeof big), SIM_ERANGE);
  assert_int_equal(isotp_link_send(&t->link, big, 100), 0);
  assert_true(isotp_link_busy(&t->link));
  assert_int_equal(isotp_link_send(&t->link, big, 3), SIM_ESTATE);
  isotp_link_abort(&t->link);
  assert_false(isotp_link_busy(&t->link));
  struct sim_frame f;
  ht_frame("7E8#0162", &f);
  f.flags |= SIM_CAN_F_TX;
  assert_int_equal(isotp_link_input(&t->link, &f), 0);
  f.flags = SIM_CAN_F_EXT;
  assert_int_equal(isotp_link_input(&t->link, &f), 0);
  assert_string_equal(sbuf_str(&t->out), "0 7E0#1064000000000000\n0 sent ECANCELED\n");
  isotp_link_cleanup(&t->link);
  sbuf_free(&t->out);
  ht_close(&t->h);
  free(t);
}

/* ---- two links on one wire -------------------------------------------------------------- */

struct pair {
  struct ht_loop h;
  struct isotp_link a, b;     /* a = tester 7E0/7E8, b = ECU 7E8/7E0 */
  uint8_t got[ISOTP_MAX_LEN];
  size_t got_len;
  int sent_status;
  int64_t first_cf, last_cf;  /* monotonic ns */
  unsigned cfs;
  uint8_t sns[600];
};

static int pair_send_a(void *ctx, const struct sim_frame *f)
{
  struct pair *p = ctx;
  isotp_link_input(&p->b, f);
  return 0;
}

static int pair_send_b(void *ctx, const struct sim_frame *f)
{
  struct pair *p = ctx;
  if ((f->data[0] >> 4) == ISOTP_CF) {
    int64_t now = sim_monotonic(p->h.loop);
    if (!p->cfs)
      p->first_cf = now;
    p->last_cf = now;
    if (p->cfs < sizeof p->sns)
      p->sns[p->cfs] = f->data[0] & 0x0F;
    p->cfs++;
  }
  isotp_link_input(&p->a, f);
  return 0;
}

static void pair_received(void *ctx, struct isotp_link *l, const uint8_t *msg, size_t len,
                          bool functional)
{
  struct pair *p = ctx;
  (void)l;
  (void)functional;
  memcpy(p->got, msg, len);
  p->got_len = len;
}

static void pair_sent(void *ctx, struct isotp_link *l, int status)
{
  struct pair *p = ctx;
  (void)l;
  p->sent_status = status;
}

static const struct isotp_ops pair_ops_a = {pair_send_a, pair_received, NULL, NULL};
static const struct isotp_ops pair_ops_b = {pair_send_b, NULL, pair_sent, NULL};

static void test_4095(void **state)
{
  (void)state;
  static const struct { uint8_t bs, stmin; int64_t duration_ns; } runs[] = {
    {0, 0, 0},                             /* as fast as possible: one instant */
    {0, 1, 584 * SIM_NS_PER_MS},           /* 585 CFs, 584 gaps of 1 ms */
    {8, 0, 0},                             /* 74 blocks, FC after every 8 */
    {8, 0xF2, 584 * 200000},               /* 200 us between CFs, blocks do not add gaps */
    {1, 25, 584 * 25 * SIM_NS_PER_MS},     /* the firmware's STmin */
  };
  for (size_t r = 0; r < ARRAY_SIZE(runs); r++) {
    struct pair *p = calloc(1, sizeof *p);
    ht_open(&p->h);
    struct isotp_config ca, cb;
    isotp_config_default(&ca, 0x7E0, 0x7E8);
    ca.bs = runs[r].bs;
    ca.stmin = runs[r].stmin;
    isotp_config_default(&cb, 0x7E8, 0x7E0);
    cb.pad = 0xAA;
    assert_int_equal(isotp_link_init(&p->a, p->h.loop, &ca, &pair_ops_a, p), 0);
    assert_int_equal(isotp_link_init(&p->b, p->h.loop, &cb, &pair_ops_b, p), 0);
    uint8_t msg[ISOTP_MAX_LEN];
    for (size_t i = 0; i < sizeof msg; i++)
      msg[i] = (uint8_t)(i * 7 + (i >> 8));
    p->sent_status = 1;
    assert_int_equal(isotp_link_send(&p->b, msg, sizeof msg), 0);
    sim_loop_run(p->h.loop);
    assert_int_equal(p->sent_status, 0);
    assert_int_equal(p->got_len, sizeof msg);
    assert_memory_equal(p->got, msg, sizeof msg);
    assert_int_equal(p->cfs, 585);
    for (unsigned i = 0; i < p->cfs; i++)
      assert_int_equal(p->sns[i], (i + 1) & 0x0F);
    assert_int_equal(p->last_cf - p->first_cf, runs[r].duration_ns);
    unsigned long fcs = runs[r].bs ? (585 + runs[r].bs - 1) / runs[r].bs : 1;
    assert_int_equal(p->a.stats.tx_frames, fcs);
    assert_int_equal(p->b.stats.tx_frames, 586);
    isotp_link_cleanup(&p->a);
    isotp_link_cleanup(&p->b);
    ht_close(&p->h);
    free(p);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_table),
    cmocka_unit_test(test_stmin_codes),
    cmocka_unit_test(test_bad_use),
    cmocka_unit_test(test_4095),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
