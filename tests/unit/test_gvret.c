/*
 * test_gvret.c - the GVRET codec with byte sequences taken from SavvyCAN
 * connections/gvretserial.cpp (piSendFrame, deviceConnected, piSetBusSettings, procRXChar) and
 * from the OVMS firmware's components/can/src/canformat_gvret.cpp (canformat_gvret_binary::get,
 * put with its bit-27 extended-id test, the GET_CANBUS_PARAMS header); the server on a
 * loopback port (unsolicited bus parameters, replies, frames both ways, bad input); and the
 * gvret client backend against the simulator's own server.
 */
#include <ev.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/array.h"
#include "nettest.h"
#include "testutil.h"

#include "can/bus.h"
#include "can/gvret.h"
#include "can/serve.h"
#include "core/loop.h"

#define B(...) ((const uint8_t[]){__VA_ARGS__}), sizeof((const uint8_t[]){__VA_ARGS__})

struct host_case {
  const uint8_t *in;
  size_t n;
  size_t used;
  enum gvret_event_kind kind;
  uint8_t cmd;
  uint32_t id;
  bool ext;
  uint8_t bus, len;
};

static void test_decode_host(void **state)
{
  (void)state;
  const struct host_case cases[] = {
      /* SavvyCAN piSendFrame: 0x123 on bus 0, 2 bytes, then its 0 "checksum" */
      {B(0xF1, 0x00, 0x23, 0x01, 0x00, 0x00, 0x00, 0x02, 0x11, 0x22, 0x00), 10, GVRET_EV_FRAME,
       0, 0x123, false, 0, 2},
      /* SavvyCAN: 29-bit id flagged with bit 31 (ID |= 1u << 31), bus 1 */
      {B(0xF1, 0x00, 0x10, 0xF1, 0xDA, 0x98, 0x01, 0x03, 0xAA, 0xBB, 0xCC, 0x00), 11,
       GVRET_EV_FRAME, 0, 0x18DAF110, true, 1, 3},
      /* the firmware's put() convention: bit 27 (0x8000000) marks 29-bit, kept in the id */
      {B(0xF1, 0x00, 0x23, 0x01, 0x00, 0x08, 0x00, 0x01, 0x55), 9, GVRET_EV_FRAME, 0,
       0x08000123, true, 0, 1},
      /* CAN FD (command 20), 12 bytes */
      {B(0xF1, 0x14, 0xE0, 0x07, 0x00, 0x00, 0x00, 0x0C, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12),
       20, GVRET_EV_FRAME, 0, 0x7E0, false, 0, 12},
      /* deviceConnected: binary mode, then commands of two bytes */
      {B(0xE7), 1, GVRET_EV_BINARY, 0, 0, false, 0, 0},
      {B(0xF1, 0x0C), 2, GVRET_EV_COMMAND, GVRET_GET_NUM_BUSES, 0, false, 0, 0},
      {B(0xF1, 0x09), 2, GVRET_EV_COMMAND, GVRET_KEEP_ALIVE, 0, false, 0, 0},
      /* piSetBusSettings: F1 05 CAN0(4) CAN1(4) [0] */
      {B(0xF1, 0x05, 0x20, 0xA1, 0x07, 0xC0, 0x20, 0xA1, 0x07, 0xC0, 0x00), 10,
       GVRET_EV_COMMAND, GVRET_SETUP_CANBUS, 0, false, 0, 0},
      /* incomplete, bad length, unknown, stray */
      {B(0xF1, 0x00, 0x23, 0x01, 0x00, 0x00, 0x00, 0x02, 0x11), 0, GVRET_EV_FRAME, 0, 0, false,
       0, 0},
      {B(0xF1, 0x00, 0x23, 0x01, 0x00, 0x00, 0x00, 0x09, 0x11), 2, GVRET_EV_BAD, 0, 0, false, 0,
       0},
      {B(0xF1, 0x63), 2, GVRET_EV_UNKNOWN, 0x63, 0, false, 0, 0},
      {B(0x00), 1, GVRET_EV_SKIP, 0, 0, false, 0, 0},
  };
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    const struct host_case *c = &cases[i];
    struct gvret_event ev;
    size_t k = gvret_decode_host(c->in, c->n, &ev);
    if (k != c->used)
      fail_msg("case %zu: used %zu, want %zu", i, k, c->used);
    if (!k)
      continue;
    assert_int_equal(ev.kind, c->kind);
    if (c->kind == GVRET_EV_COMMAND || c->kind == GVRET_EV_UNKNOWN)
      assert_int_equal(ev.cmd, c->cmd);
    if (c->kind == GVRET_EV_FRAME) {
      assert_int_equal(ev.frame.id, c->id);
      assert_int_equal(sim_frame_is_ext(&ev.frame), c->ext);
      assert_int_equal(ev.bus, c->bus);
      assert_int_equal(ev.frame.len, c->len);
    }
  }
  struct gvret_event ev;
  gvret_decode_host(B(0xF1, 0x05, 0x20, 0xA1, 0x07, 0xC0, 0x20, 0xA1, 0x07, 0xC0), &ev);
  assert_int_equal(ev.arg[0], 0xC007A120u); /* 500000 | bit 31 | enable (bit 30) */
}

static void test_device_frames(void **state)
{
  (void)state;
  /* canformat_gvret_binary::get(): F1 00 TIME ID LEN|BUS<<4 DATA 00, 12 + DLC bytes */
  struct sim_frame f = {.id = 0x100, .len = 4, .data = {1, 2, 3, 4}};
  uint8_t out[GVRET_MAX_MSG];
  size_t n = gvret_encode_device_frame(&f, 0, 1000, out);
  const uint8_t want[] = {0xF1, 0x00, 0xE8, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
                          0x04, 0x01, 0x02, 0x03, 0x04, 0x00};
  assert_int_equal(n, sizeof(want));
  assert_memory_equal(out, want, sizeof(want));
  f = (struct sim_frame){.id = 0x18DAF110, .flags = SIM_CAN_F_EXT, .len = 1, .data = {0x7F}};
  n = gvret_encode_device_frame(&f, 2, 0x01020304, out);
  const uint8_t want2[] = {0xF1, 0x00, 0x04, 0x03, 0x02, 0x01, 0x10, 0xF1,
                           0xDA, 0x98, 0x21, 0x7F, 0x00};
  assert_int_equal(n, sizeof(want2));
  assert_memory_equal(out, want2, sizeof(want2));
  /* what SavvyCAN's procRXChar reads back, including the trailing 0 skipped as a stray byte */
  struct gvret_event ev;
  assert_int_equal(gvret_decode_device(out, n, &ev), n - 1);
  assert_int_equal(ev.kind, GVRET_EV_FRAME);
  assert_int_equal(ev.frame.id, 0x18DAF110);
  assert_true(sim_frame_is_ext(&ev.frame));
  assert_int_equal(ev.bus, 2);
  assert_int_equal(ev.time_us, 0x01020304);
  assert_int_equal(gvret_decode_device(out + n - 1, 1, &ev), 1);
  assert_int_equal(ev.kind, GVRET_EV_SKIP);
  /* a device flagging 29-bit ids the firmware's way (bit 27, no bit 31) */
  const uint8_t bit27[] = {0xF1, 0x00, 0, 0, 0, 0, 0x10, 0xF1, 0xDA, 0x1C, 0x01, 0x42};
  assert_int_equal(gvret_decode_device(bit27, sizeof(bit27), &ev), sizeof(bit27));
  assert_int_equal(ev.frame.id, 0x1CDAF110);
  assert_true(sim_frame_is_ext(&ev.frame));
  /* CAN FD, ESP32RET's layout: F1 14 TIME ID LEN BUS DATA 00 */
  f = (struct sim_frame){.id = 0x7E8, .flags = SIM_CAN_F_FD, .len = 16};
  n = gvret_encode_device_frame(&f, 1, 5, out);
  assert_int_equal(n, 12 + 16 + 1);
  assert_int_equal(out[1], 0x14);
  assert_int_equal(out[10], 16);
  assert_int_equal(out[11], 1);
  assert_int_equal(gvret_decode_device(out, n, &ev), n - 1);
  assert_int_equal(ev.frame.len, 16);
  assert_true(ev.frame.flags & SIM_CAN_F_FD);
  /* host frame as SavvyCAN's piSendFrame builds it */
  f = (struct sim_frame){.id = 0x123, .len = 2, .data = {0x11, 0x22}};
  n = gvret_encode_host_frame(&f, 0, out);
  const uint8_t want3[] = {0xF1, 0x00, 0x23, 0x01, 0x00, 0x00, 0x00, 0x02, 0x11, 0x22, 0x00};
  assert_int_equal(n, sizeof(want3));
  assert_memory_equal(out, want3, sizeof(want3));
}

static void test_replies(void **state)
{
  (void)state;
  struct gvret_device d = {.nbuses = 3, .enabled = {true, true, false},
                           .speed = {500000, 500000, 0}, .build = 618, .time_us = 0x11223344};
  uint8_t out[32];
  const struct {
    uint8_t cmd;
    const uint8_t *want;
    size_t n;
  } cases[] = {
      {GVRET_TIME_SYNC, B(0xF1, 0x01, 0x44, 0x33, 0x22, 0x11)},
      {GVRET_GET_CANBUS_PARAMS, B(0xF1, 0x06, 0x01, 0x20, 0xA1, 0x07, 0x00, 0x01, 0x20, 0xA1,
                                  0x07, 0x00)},
      {GVRET_GET_DEVICE_INFO, B(0xF1, 0x07, 0x6A, 0x02, 0x20, 0x00, 0x00, 0x00)},
      {GVRET_KEEP_ALIVE, B(0xF1, 0x09, 0xDE, 0xAD)},
      {GVRET_GET_NUM_BUSES, B(0xF1, 0x0C, 0x03)},
      {GVRET_GET_DIG_INPUTS, B(0xF1, 0x02, 0x00, 0x00)},
  };
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    size_t n = gvret_encode_reply(cases[i].cmd, &d, out);
    assert_int_equal(n, cases[i].n);
    assert_memory_equal(out, cases[i].want, n);
    struct gvret_event ev;
    assert_int_equal(gvret_decode_device(out, n, &ev), n);
    assert_int_equal(ev.kind, GVRET_EV_REPLY);
  }
  assert_int_equal(gvret_encode_reply(GVRET_GET_EXT_BUSES, &d, out), 17);
  assert_int_equal(gvret_encode_reply(GVRET_GET_FD, &d, out), 0);
  assert_int_equal(gvret_encode_reply(GVRET_SETUP_CANBUS, &d, out), 0);
}

/* ---- server ---- */

struct env {
  struct sim_loop *loop;
  struct sim_canbus *bus[2];
  struct can_serve *srv;
  uint16_t port;
  int nrx[2];
  struct sim_frame last[2];
};

static void on_rx(void *ctx, struct sim_canbus *bus, const struct sim_frame *f)
{
  struct env *e = ctx;
  e->nrx[bus->num - 1]++;
  e->last[bus->num - 1] = *f;
}

static int env_setup(void **state)
{
  struct env *e = calloc(1, sizeof(*e));
  e->loop = nt_loop_new();
  for (int i = 0; i < 2; i++) {
    char spec[16];
    snprintf(spec, sizeof(spec), "mem:gv%d", i);
    assert_int_equal(can_bus_new(&e->bus[i], e->loop, spec, (uint8_t)(i + 1), NULL), 0);
    can_bus_start(e->bus[i]);
    can_bus_set_rx(e->bus[i], on_rx, e);
  }
  assert_int_equal(can_serve_new(&e->srv, e->loop, "gvret:127.0.0.1:0", NULL), 0);
  struct sim_canbus *buses[8] = {e->bus[0], e->bus[1]};
  assert_int_equal(can_serve_start(e->srv, buses, NULL), 0);
  e->port = (uint16_t)atoi(strrchr(can_serve_where(e->srv), ':') + 1);
  *state = e;
  return 0;
}

static int env_teardown(void **state)
{
  struct env *e = *state;
  can_serve_free(e->srv);
  can_bus_close(e->bus[0]);
  can_bus_close(e->bus[1]);
  nt_loop_free(e->loop);
  free(e);
  return 0;
}

static bool read_n(struct env *e, int fd, struct sbuf *b, size_t n)
{
  for (int i = 0; i < 200 && b->len < n; i++)
    nt_read_until(e->loop, fd, b, NULL, 10, NULL);
  return b->len >= n;
}

static void test_server(void **state)
{
  struct env *e = *state;
  int fd = nt_connect(e->port);
  struct sbuf b = SBUF_INIT;
  /* bus parameters unasked, as the firmware's getheader() */
  assert_true(read_n(e, fd, &b, 12));
  const uint8_t params[] = {0xF1, 0x06, 0x01, 0x20, 0xA1, 0x07, 0x00,
                            0x01, 0x20, 0xA1, 0x07, 0x00};
  assert_memory_equal(b.p, params, 12);
  sbuf_reset(&b);
  /* SavvyCAN's deviceConnected burst */
  const uint8_t hello[] = {0xE7, 0xE7, 0xF1, 0x0C, 0xF1, 0x06, 0xF1, 0x07, 0xF1, 0x01,
                           0xF1, 0x09};
  nt_write(fd, hello, sizeof(hello));
  assert_true(read_n(e, fd, &b, 3 + 12 + 8 + 6 + 4));
  assert_memory_equal(b.p, ((const uint8_t[]){0xF1, 0x0C, 0x02}), 3);
  assert_memory_equal(b.p + 3, params, 12);
  assert_int_equal((uint8_t)b.p[15], 0xF1);
  assert_int_equal((uint8_t)b.p[16], 0x07);
  assert_int_equal((uint8_t)b.p[23], 0xF1);
  assert_int_equal((uint8_t)b.p[24], 0x01);
  assert_memory_equal(b.p + 29, ((const uint8_t[]){0xF1, 0x09, 0xDE, 0xAD}), 4);
  sbuf_reset(&b);
  /* a frame on simulator bus 2 reaches the client as GVRET bus 1 */
  struct sim_frame f = {.id = 0x5BC, .len = 2, .data = {0xAA, 0x55}};
  can_bus_send(e->bus[1], &f);
  assert_true(read_n(e, fd, &b, 14));
  struct gvret_event ev;
  assert_int_equal(gvret_decode_device((uint8_t *)b.p, b.len, &ev), 13);
  assert_int_equal(ev.frame.id, 0x5BC);
  assert_int_equal(ev.bus, 1);
  sbuf_reset(&b);
  /* SavvyCAN sends on bus 0: the simulator's bus 1 receives it; junk and bad lengths count */
  const uint8_t tx[] = {0x00, 0x42, 0xF1, 0x00, 0x10, 0xF1, 0xDA, 0x98, 0x00, 0x03, 0x02, 0x10,
                        0x03, 0x00, 0xF1, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x0C, 0xF1, 0x00,
                        0x01, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00};
  nt_write(fd, tx, sizeof(tx));
  nt_read_until(e->loop, fd, &b, NULL, 100, NULL);
  assert_int_equal(e->nrx[0], 1);
  assert_int_equal(e->last[0].id, 0x18DAF110);
  assert_true(sim_frame_is_ext(&e->last[0]));
  assert_int_equal(e->last[0].data[1], 0x10);
  struct sbuf rep = SBUF_INIT;
  can_serve_report(e->srv, &rep);
  assert_non_null(strstr(sbuf_str(&rep), "frames in 1 "));
  assert_non_null(strstr(sbuf_str(&rep), "bad input 2")); /* length 12, and bus 7 */
  sbuf_free(&rep);
  /* and the client did not get its own frame back */
  assert_int_equal(b.len, 0);
  sbuf_free(&b);
  close(fd);
}

struct remote {
  int nrx;
  struct sim_frame last;
};

static void remote_rx(void *ctx, struct sim_canbus *bus, const struct sim_frame *f)
{
  (void)bus;
  struct remote *r = ctx;
  r->nrx++;
  r->last = *f;
}

static bool got(void *ctx)
{
  return ((struct remote *)ctx)->nrx > 0;
}

static bool bus1_rx(void *ctx)
{
  return ((struct env *)ctx)->nrx[1] > 0;
}

static void test_client_backend(void **state)
{
  struct env *e = *state;
  char spec[64];
  snprintf(spec, sizeof(spec), "gvret:127.0.0.1:%u/2", e->port);
  struct sim_canbus *cb;
  struct remote r = {0};
  assert_int_equal(can_bus_new(&cb, e->loop, spec, 3, NULL), 0);
  can_bus_set_rx(cb, remote_rx, &r);
  assert_int_equal(can_bus_start(cb), 0);
  for (int i = 0; i < 100 && !r.nrx; i++) {
    struct sim_frame f = {.id = 0x1DB, .len = 8, .data = {1, 2, 3, 4, 5, 6, 7, 8}};
    can_bus_send(e->bus[0], &f); /* bus 1: not the one this client reads */
    f.id = 0x1DC;
    can_bus_send(e->bus[1], &f);
    nt_pump(e->loop, 20, got, &r);
  }
  assert_true(r.nrx > 0);
  assert_int_equal(r.last.id, 0x1DC);
  assert_int_equal(r.last.bus, 3);
  struct sim_frame f = {.id = 0x18DAF1DB, .flags = SIM_CAN_F_EXT, .len = 2, .data = {9, 8}};
  assert_int_equal(can_bus_send(cb, &f), 0);
  assert_true(nt_pump(e->loop, 2000, bus1_rx, e));
  assert_int_equal(e->last[1].id, 0x18DAF1DB);
  assert_true(sim_frame_is_ext(&e->last[1]));
  can_bus_close(cb);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_decode_host),
      cmocka_unit_test(test_device_frames),
      cmocka_unit_test(test_replies),
      cmocka_unit_test_setup_teardown(test_server, env_setup, env_teardown),
      cmocka_unit_test_setup_teardown(test_client_backend, env_setup, env_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
