/*
 * test_net_isotp.c - the network servers with the bench car's ISO-TP engine (hil/isotp.h) as
 * the ECU on the simulator bus: an app polls a "Leaf BMS" (79B -> 7BB, a 41-byte answer, as
 * LeafSpy does with ATSH79B, ATFCSH79B, ATFCSD300000, ATFCSM1, 2101) through the ELM327 dongle
 * over TCP, and a socketcand client exchanges a multi-frame message with the same engine.
 */
#include <ev.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nettest.h"
#include "testutil.h"

#include "can/bus.h"
#include "can/serve.h"
#include "core/loop.h"
#include "hil/isotp.h"

struct ecu {
  struct sim_canbus *bus;
  struct isotp_link link;
  uint8_t answer[41];
  int requests;
  uint8_t got[64];
  size_t ngot;
};

static int ecu_send(void *ctx, const struct sim_frame *f)
{
  return can_bus_send(((struct ecu *)ctx)->bus, f);
}

static void ecu_received(void *ctx, struct isotp_link *l, const uint8_t *msg, size_t len,
                         bool functional)
{
  (void)functional;
  struct ecu *e = ctx;
  e->requests++;
  memcpy(e->got, msg, len < sizeof(e->got) ? len : sizeof(e->got));
  e->ngot = len;
  if (len == 2 && msg[0] == 0x21 && msg[1] == 0x01)
    isotp_link_send(l, e->answer, sizeof(e->answer));
}

static const struct isotp_ops ecu_ops = {.send = ecu_send, .received = ecu_received};

static void bus_rx(void *ctx, struct sim_canbus *bus, const struct sim_frame *f)
{
  (void)bus;
  isotp_link_input(&((struct ecu *)ctx)->link, f);
}

struct env {
  struct sim_loop *loop;
  struct ecu ecu;
  struct can_serve *srv;
};

static void env_open(struct env *e, const char *spec)
{
  e->loop = nt_loop_new();
  assert_int_equal(can_bus_new(&e->ecu.bus, e->loop, "mem:car", 1, NULL), 0);
  can_bus_start(e->ecu.bus);
  struct isotp_config cfg;
  isotp_config_default(&cfg, 0x7BB, 0x79B);
  cfg.pad = 0xFF;
  assert_int_equal(isotp_link_init(&e->ecu.link, e->loop, &cfg, &ecu_ops, &e->ecu), 0);
  e->ecu.answer[0] = 0x61;
  e->ecu.answer[1] = 0x01;
  for (int i = 2; i < 41; i++)
    e->ecu.answer[i] = (uint8_t)(0x80 + i);
  can_bus_set_rx(e->ecu.bus, bus_rx, &e->ecu);
  assert_int_equal(can_serve_new(&e->srv, e->loop, spec, NULL), 0);
  struct sim_canbus *buses[8] = {e->ecu.bus};
  assert_int_equal(can_serve_start(e->srv, buses, NULL), 0);
}

static void env_close(struct env *e)
{
  can_serve_free(e->srv);
  isotp_link_cleanup(&e->ecu.link);
  can_bus_close(e->ecu.bus);
  nt_loop_free(e->loop);
}

static uint16_t port_of(struct can_serve *s)
{
  return (uint16_t)atoi(strrchr(can_serve_where(s), ':') + 1);
}

static void test_elm327_leaf_bms(void **state)
{
  (void)state;
  struct env e = {0};
  env_open(&e, "1=elm327:127.0.0.1:0");
  int fd = nt_connect(port_of(e.srv));
  struct sbuf b = SBUF_INIT;
  nt_writes(fd, "ATE0\rATSP6\rATH0\rATSH79B\rATFCSH79B\rATFCSD300000\rATFCSM1\rATCRA7BB\r");
  assert_true(nt_read_until(e.loop, fd, &b, "OK\r\r>OK\r\r>OK\r\r>OK\r\r>OK\r\r>OK\r\r>OK\r\r>OK\r\r>",
                            3000, NULL));
  sbuf_reset(&b);
  nt_writes(fd, "2101\r");
  assert_true(nt_read_until(e.loop, fd, &b, "\r\r>", 3000, NULL));
  assert_string_equal(sbuf_str(&b),
                      "029\r0: 61 01 82 83 84 85 \r1: 86 87 88 89 8A 8B 8C \r"
                      "2: 8D 8E 8F 90 91 92 93 \r3: 94 95 96 97 98 99 9A \r"
                      "4: 9B 9C 9D 9E 9F A0 A1 \r5: A2 A3 A4 A5 A6 A7 A8 \r\r>");
  assert_int_equal(e.ecu.requests, 1);
  assert_int_equal(e.ecu.link.stats.tx_msgs, 1);
  /* headers on: the frames as the ECU padded them */
  sbuf_reset(&b);
  nt_writes(fd, "ATH1\r2101\r");
  assert_true(nt_read_until(e.loop, fd, &b, "\r\r>7BB", 3000, NULL));
  assert_true(nt_read_until(e.loop, fd, &b, "A8 \r\r>", 3000, NULL));
  assert_non_null(strstr(sbuf_str(&b), "7BB 10 29 61 01 82 83 84 85 \r"));
  assert_non_null(strstr(sbuf_str(&b), "7BB 25 A2 A3 A4 A5 A6 A7 A8 \r"));
  sbuf_free(&b);
  close(fd);
  env_close(&e);
}

static void test_socketcand_isotp(void **state)
{
  (void)state;
  struct env e = {0};
  env_open(&e, "1=socketcand:127.0.0.1:0");
  int fd = nt_connect(port_of(e.srv));
  struct sbuf b = SBUF_INIT;
  nt_writes(fd, "< open can1 >< rawmode >");
  assert_true(nt_read_until(e.loop, fd, &b, "< hi >< ok >< ok >", 3000, NULL));
  /* a 20-byte request as FF + CFs from the client; the ECU's FC comes back */
  sbuf_reset(&b);
  nt_writes(fd, "< send 79B 8 10 14 2e f1 90 31 32 33 >");
  assert_true(nt_read_until(e.loop, fd, &b, "< frame 7BB ", 3000, NULL));
  assert_non_null(strstr(sbuf_str(&b), " 300000"));
  nt_writes(fd, "< send 79B 8 21 34 35 36 37 38 39 41 >< send 79B 8 22 42 43 44 45 46 47 48 >");
  for (int i = 0; i < 100 && e.ecu.requests == 0; i++)
    nt_read_until(e.loop, fd, &b, NULL, 10, NULL);
  if (e.ecu.requests != 1)
    fail_msg("rx_frames %lu stray %lu seq %lu restarts %lu", e.ecu.link.stats.rx_frames,
             e.ecu.link.stats.stray, e.ecu.link.stats.seq_errors, e.ecu.link.stats.restarts);
  assert_int_equal(e.ecu.ngot, 20);
  assert_memory_equal(e.ecu.got, ((const uint8_t[]){0x2E, 0xF1, 0x90, '1', '2', '3', '4', '5',
                                                    '6', '7', '8', '9', 'A', 'B', 'C', 'D',
                                                    'E', 'F', 'G', 'H'}), 20);
  /* the 41-byte answer: FF, our FC, 5 CFs */
  sbuf_reset(&b);
  nt_writes(fd, "< send 79B 8 02 21 01 0 0 0 0 0 >");
  assert_true(nt_read_until(e.loop, fd, &b, "< frame 7BB ", 3000, NULL));
  assert_non_null(strstr(sbuf_str(&b), " 1029610182838485 >"));
  nt_writes(fd, "< send 79B 8 30 0 0 0 0 0 0 0 >");
  assert_true(nt_read_until(e.loop, fd, &b, " 25A2A3A4A5A6A7A8 >", 3000, NULL));
  sbuf_free(&b);
  close(fd);
  env_close(&e);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_elm327_leaf_bms),
      cmocka_unit_test(test_socketcand_isotp),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
