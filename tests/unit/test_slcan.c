/*
 * test_slcan.c - the slcan / Lawicel codec (table-driven, every error) and the slcan backend
 * against a pseudo-terminal with a scripted adapter on the master side: bitrate and open
 * commands, frames both ways, garbage from the adapter, and the adapter unplugged mid-run;
 * an adapter that stops reading: send() reports a full queue (-EAGAIN) instead of blocking,
 * and every accepted frame reaches the adapter whole and in order once it reads again.
 */
#include "testutil.h"

#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "can/bus.h"
#include "can/slcan.h"
#include "core/array.h"
#include "core/error.h"
#include "core/loop.h"

struct dcase {
  const char *line;
  int rc;
  uint32_t id;
  uint16_t flags;
  uint8_t len;
  const char *data;
  int ts;
  int col;
};

static const struct dcase dcases[] = {
  {"t1DB20102", 0, 0x1DB, 0, 2, "\x01\x02", -1, 0},
  {"t7e8803410d3c00000000", 0, 0x7E8, 0, 8, "\x03\x41\x0d\x3c\0\0\0\0", -1, 0},
  {"t1DB20102EA5F", 0, 0x1DB, 0, 2, "\x01\x02", 0xEA5F, 0},
  {"T18DAF110210140001", 0, 0x18DAF110, SIM_CAN_F_EXT, 2, "\x10\x14", 1, 0},
  {"r7DF2", 0, 0x7DF, SIM_CAN_F_RTR, 2, "", -1, 0},
  {"R18DAF1100", 0, 0x18DAF110, SIM_CAN_F_EXT | SIM_CAN_F_RTR, 0, "", -1, 0},
  {"d1239000102030405060708090A0B", 0, 0x123, SIM_CAN_F_FD, 12,
   "\0\1\2\3\4\5\6\7\x08\x09\x0a\x0b", -1, 0},
  {"b1230", 0, 0x123, SIM_CAN_F_FD | SIM_CAN_F_BRS, 0, "", -1, 0},
  {"", SIM_EPARSE, 0, 0, 0, NULL, 0, 1},
  {"x1DB0", SIM_EPARSE, 0, 0, 0, NULL, 0, 1},
  {"t1D", SIM_EPARSE, 0, 0, 0, NULL, 0, 4},
  {"t1G B0", SIM_EPARSE, 0, 0, 0, NULL, 0, 3},
  {"t8001", SIM_EPARSE, 0, 0, 0, NULL, 0, 2},
  {"t1DB9", SIM_EPARSE, 0, 0, 0, NULL, 0, 5},
  {"t1DB201", SIM_EPARSE, 0, 0, 0, NULL, 0, 8},
  {"t1DB201X2", SIM_EPARSE, 0, 0, 0, NULL, 0, 8},
  {"t1DB20102AB", SIM_EPARSE, 0, 0, 0, NULL, 0, 10},
  {"t1DB20102ABCG", SIM_EPARSE, 0, 0, 0, NULL, 0, 13},
};

static void test_codec(void **state)
{
  (void)state;
  for (size_t i = 0; i < ARRAY_SIZE(dcases); i++) {
    const struct dcase *c = &dcases[i];
    struct sim_frame f;
    int ts = 7, col = 0;
    int rc = slcan_decode(c->line, strlen(c->line), &f, &ts, &col);
    if (rc != c->rc)
      fail_msg("case %zu '%s': rc %d", i, c->line, rc);
    if (rc) {
      if (col != c->col)
        fail_msg("case %zu '%s': column %d, want %d", i, c->line, col, c->col);
      continue;
    }
    assert_int_equal(f.id, c->id);
    assert_int_equal(f.flags, c->flags);
    assert_int_equal(f.len, c->len);
    if (!(f.flags & SIM_CAN_F_RTR))
      assert_memory_equal(f.data, c->data, c->len);
    assert_int_equal(ts, c->ts);
    /* encode -> decode round trip */
    char buf[SLCAN_MAX_LINE];
    int n = slcan_encode(&f, buf, sizeof(buf));
    assert_true(n > 0 && buf[n - 1] == '\r');
    struct sim_frame g;
    assert_int_equal(slcan_decode(buf, (size_t)n - 1, &g, NULL, NULL), 0);
    assert_int_equal(g.id, f.id);
    assert_int_equal(g.flags, f.flags);
    assert_int_equal(g.len, f.len);
    assert_memory_equal(g.data, f.data, f.len);
  }
  struct sim_frame e = {.flags = SIM_CAN_F_ERR};
  char buf[SLCAN_MAX_LINE];
  assert_int_equal(slcan_encode(&e, buf, sizeof(buf)), SIM_EUNSUP);
  assert_int_equal(slcan_bitrate_index(500000), 6);
  assert_int_equal(slcan_bitrate_index(1000000), 8);
  assert_int_equal(slcan_bitrate_index(10000), 0);
  assert_int_equal(slcan_bitrate_index(33333), -1);
}

struct rx {
  int n;
  struct sim_frame f[16];
  int errs;
  int last_err;
};

static void on_rx(void *ctx, struct sim_canbus *bus, const struct sim_frame *f)
{
  struct rx *r = ctx;
  if (r->n < 16)
    r->f[r->n++] = *f;
}

static void on_err(void *ctx, struct sim_canbus *bus, int err, const char *what)
{
  struct rx *r = ctx;
  r->errs++;
  r->last_err = err;
}

/* Runs the loop's I/O until cond or 2 s. */
static void pump(struct ev_loop *ev, const int *counter, int want)
{
  for (int i = 0; i < 200 && *counter < want; i++) {
    ev_run(ev, EVRUN_NOWAIT);
    if (*counter < want)
      usleep(10000);
  }
}

/* Reads what the simulator wrote to the adapter, up to a pause. */
static size_t adapter_read(int m, char *buf, size_t cap)
{
  size_t n = 0;
  struct pollfd p = {.fd = m, .events = POLLIN};
  while (n + 1 < cap && poll(&p, 1, 200) > 0) {
    ssize_t k = read(m, buf + n, cap - 1 - n);
    if (k <= 0)
      break;
    n += (size_t)k;
  }
  buf[n] = 0;
  return n;
}

/* A pseudo-terminal master for the scripted adapter and the spec of its slave side
 * ("slcan:/dev/pts/N@rate"); skips the test when the system has none. */
static int pty_master(int flags, char *spec, size_t cap, const char *rate)
{
  int m = posix_openpt(O_RDWR | O_NOCTTY | flags);
  if (m < 0 || grantpt(m) || unlockpt(m)) {
    fprintf(stderr, "skipped: no pseudo-terminals\n");
    skip();
  }
  snprintf(spec, cap, "slcan:%s@%s", ptsname(m), rate);
  return m;
}

static void test_pty_adapter(void **state)
{
  (void)state;
  char spec[128];
  int m = pty_master(0, spec, sizeof(spec), "250000");
  struct ev_loop *ev = ev_loop_new(EVFLAG_AUTO);
  struct sim_loop *l = sim_loop_new(ev, SIM_CLOCK_FAST, 1, 0);
  struct sim_canbus *bus;
  struct sim_diag d = SIM_DIAG_INIT;
  assert_int_equal(can_bus_new(&bus, l, spec, 1, &d), 0);
  struct rx rx = {0};
  can_bus_set_rx(bus, on_rx, &rx);
  can_bus_set_error(bus, on_err, &rx);
  assert_int_equal(can_bus_start(bus), 0);
  /* the adapter is told: close, bitrate 250k (S5), no timestamps, open */
  char buf[512];
  adapter_read(m, buf, sizeof(buf));
  assert_string_equal(buf, "C\rS5\rZ0\rO\r");
  /* it acknowledges, then frames arrive (one split across two writes, one with a timestamp) */
  const char *in1 = "\r\r\r\rt1DB20102\rT18DAF1102";
  const char *in2 = "1014ABCD\r";
  assert_int_equal(write(m, in1, strlen(in1)), (ssize_t)strlen(in1));
  pump(ev, &rx.n, 1);
  assert_int_equal(write(m, in2, strlen(in2)), (ssize_t)strlen(in2));
  pump(ev, &rx.n, 2);
  assert_int_equal(rx.n, 2);
  assert_int_equal(rx.f[0].id, 0x1DB);
  assert_int_equal(rx.f[0].bus, 1);
  assert_int_equal(rx.f[1].id, 0x18DAF110);
  assert_true(rx.f[1].flags & SIM_CAN_F_EXT);
  /* garbage: unknown lines, a BEL error answer, a broken frame, an over-long line */
  char junk[400];
  memset(junk, 'x', sizeof(junk));
  junk[sizeof(junk) - 1] = '\r';
  assert_true(write(m, "hello\r\at1DBZ\r", 13) == 13);
  assert_true(write(m, junk, sizeof(junk)) == (ssize_t)sizeof(junk));
  assert_true(write(m, "t5C5184\r", 8) == 8);
  pump(ev, &rx.n, 3);
  assert_int_equal(rx.n, 3);
  assert_int_equal(rx.f[2].id, 0x5C5);
  assert_int_equal(bus->stats.rx_err, 4);
  /* frames out */
  struct sim_frame f = {.id = 0x7DF, .len = 3, .data = {0x02, 0x01, 0x0d}};
  assert_int_equal(can_bus_send(bus, &f), 0);
  struct sim_frame x = {.id = 0x18DA10F1, .flags = SIM_CAN_F_EXT, .len = 1, .data = {0xAA}};
  assert_int_equal(can_bus_send(bus, &x), 0);
  adapter_read(m, buf, sizeof(buf));
  assert_string_equal(buf, "t7DF302010D\rT18DA10F11AA\r");
  assert_int_equal(bus->stats.tx, 2);
  /* unplugged: the adapter side disappears */
  close(m);
  pump(ev, &rx.errs, 1);
  assert_int_equal(rx.errs, 1);
  assert_true(rx.last_err < 0);
  assert_false(bus->started);
  assert_int_equal(can_bus_send(bus, &f), SIM_ESTATE);
  can_bus_close(bus);
  sim_loop_free(l);
  ev_loop_destroy(ev);
  /* with ",ts" the adapter is asked for timestamps (Z1); frames carrying them are accepted */
  m = posix_openpt(O_RDWR | O_NOCTTY);
  assert_true(m >= 0 && grantpt(m) == 0 && unlockpt(m) == 0);
  snprintf(spec, sizeof(spec), "slcan:%s@1000000,ts", ptsname(m));
  ev = ev_loop_new(EVFLAG_AUTO);
  l = sim_loop_new(ev, SIM_CLOCK_FAST, 1, 0);
  assert_int_equal(can_bus_new(&bus, l, spec, 2, &d), 0);
  struct rx rx2 = {0};
  can_bus_set_rx(bus, on_rx, &rx2);
  assert_int_equal(can_bus_start(bus), 0);
  adapter_read(m, buf, sizeof(buf));
  assert_string_equal(buf, "C\rS8\rZ1\rO\r");
  assert_true(write(m, "t1DB20102EA5F\r", 14) == 14);
  pump(ev, &rx2.n, 1);
  assert_int_equal(rx2.n, 1);
  assert_int_equal(rx2.f[0].bus, 2);
  assert_int_equal(rx2.f[0].len, 2);
  can_bus_close(bus);
  close(m);
  sim_loop_free(l);
  ev_loop_destroy(ev);
  /* a missing tty */
  assert_int_equal(can_bus_new(&bus, NULL, "slcan:/nonexistent/tty@500000", 1, &d), 0);
  assert_int_equal(can_bus_start(bus), -ENOENT);
  can_bus_close(bus);
  sim_diag_cleanup(&d);
}

/* The adapter stops reading: the tty fills, send() returns -EAGAIN (the frame is not sent)
 * without blocking; when it reads again the buffered output is flushed from the loop and the
 * adapter sees exactly the accepted frames, none cut, none lost, then sending works again. */
static void test_pty_stalled_reader(void **state)
{
  (void)state;
  char spec[128];
  int m = pty_master(O_NONBLOCK, spec, sizeof(spec), "500000");
  struct ev_loop *ev = ev_loop_new(EVFLAG_AUTO);
  struct sim_loop *l = sim_loop_new(ev, SIM_CLOCK_FAST, 1, 0);
  struct sim_canbus *bus;
  struct sim_diag d = SIM_DIAG_INIT;
  assert_int_equal(can_bus_new(&bus, l, spec, 1, &d), 0);
  assert_int_equal(can_bus_start(bus), 0);
  size_t cap = 4u << 20, want = 0;
  char *expect = malloc(cap), *got = malloc(cap);
  want = (size_t)snprintf(expect, cap, "C\rS6\rZ0\rO\r");
  /* the adapter reads nothing: frames until the queue is full (bounded) */
  unsigned accepted = 0;
  int rc = 0;
  for (unsigned i = 0; i < 100000 && rc == 0; i++) {
    struct sim_frame f = {.id = 0x100 + (i % 0x600), .len = 8};
    for (int k = 0; k < 8; k++)
      f.data[k] = (uint8_t)(i >> (k % 4 * 8));
    rc = can_bus_send(bus, &f);
    if (rc == 0) {
      char line[SLCAN_MAX_LINE];
      int n = slcan_encode(&f, line, sizeof(line));
      assert_true(n > 0 && want + (size_t)n < cap);
      memcpy(expect + want, line, (size_t)n);
      want += (size_t)n;
      accepted++;
    }
  }
  assert_int_equal(rc, -EAGAIN);
  assert_true(accepted > 0);
  assert_int_equal(bus->stats.tx, accepted);
  assert_true(bus->started);
  /* still full while nobody reads */
  ev_run(ev, EVRUN_NOWAIT);
  struct sim_frame extra = {.id = 0x7DF, .len = 3, .data = {0x02, 0x01, 0x0d}};
  assert_int_equal(can_bus_send(bus, &extra), -EAGAIN);
  /* the adapter reads again: the loop flushes the rest */
  size_t n = 0;
  for (int round = 0; round < 2000 && n < want; round++) {
    ev_run(ev, EVRUN_NOWAIT);
    struct pollfd pf = {.fd = m, .events = POLLIN};
    if (poll(&pf, 1, 10) > 0) {
      ssize_t k = read(m, got + n, cap - n);
      if (k > 0)
        n += (size_t)k;
    }
  }
  assert_int_equal(n, want);
  assert_memory_equal(got, expect, want);
  assert_int_equal(can_bus_send(bus, &extra), 0);
  char buf[64];
  adapter_read(m, buf, sizeof(buf));
  assert_string_equal(buf, "t7DF302010D\r");
  free(expect);
  free(got);
  can_bus_close(bus);
  close(m);
  sim_loop_free(l);
  ev_loop_destroy(ev);
  sim_diag_cleanup(&d);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_codec),
    cmocka_unit_test(test_pty_adapter),
    cmocka_unit_test(test_pty_stalled_reader),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
