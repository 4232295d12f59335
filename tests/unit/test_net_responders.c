/*
 * test_net_responders.c - an OBD app through the ELM327 dongle (TCP) to the bench car's ECUs
 * (hil/responder.h) on a served bus: the generic OBD-II ECU answers 0100 and the VIN (0902,
 * multi-frame with the dongle's flow control), and the Leaf's BMS answers LeafSpy's poll
 * (ATSH79B, ATFCSH79B, ATFCSD300000, ATFCSM1, 2101) with a multi-frame group 1.
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
#include "hil/responder.h"
#include "model/metrics.h"
#include "model/sim.h"
#include "vehicle/vehicle.h"

static void test_leafspy_session(void **state)
{
  (void)state;
  struct sim_loop *loop = nt_loop_new();
  struct sim *sim = sim_new(loop, NULL, 1);
  struct sim_diag d = SIM_DIAG_INIT;
  struct vehicle_opts vo = {VEHICLE_F_NOTICKER, NULL};
  assert_int_equal(vehicle_attach_opts(sim, "nissanleaf", &vo, &d), 0);
  assert_int_equal(can_bus_new(&sim->buses[0], loop, "mem:leafspy", 1, &d), 0);
  can_bus_start(sim->buses[0]);
  vehicle_listen_buses(sim->vehicle);
  struct hil_responder_opts ro = {.vehicle = true, .obd = true, .obd_bus = 1,
                                  .always_awake = true};
  struct hil_responders *rs;
  assert_int_equal(hil_responders_new(&rs, sim, &ro), 0);
  struct can_serve *srv;
  assert_int_equal(can_serve_new(&srv, loop, "1=elm327:127.0.0.1:0", &d), 0);
  can_serve_set_metrics(srv, sim->metrics);
  assert_int_equal(can_serve_start(srv, sim->buses, &d), 0);
  int fd = nt_connect((uint16_t)atoi(strrchr(can_serve_where(srv), ':') + 1));
  struct sbuf b = SBUF_INIT;

  nt_writes(fd, "ATZ\rATE0\rATSP6\r");
  assert_true(nt_read_until(loop, fd, &b, "OK\r\r>OK\r\r>", 3000, NULL));
  sbuf_reset(&b);
  nt_writes(fd, "0100\r");
  assert_true(nt_read_until(loop, fd, &b, "\r\r>", 3000, NULL));
  assert_true(!strncmp(sbuf_str(&b), "41 00 ", 6));
  sbuf_reset(&b);
  nt_writes(fd, "0902\r");
  assert_true(nt_read_until(loop, fd, &b, "\r\r>", 3000, NULL));
  /* 20 bytes: 49 02 01 and the 17 characters of the VIN (HIL_DEFAULT_VIN) */
  assert_true(!strncmp(sbuf_str(&b), "014\r0: 49 02 01 4F 56 4D \r1: ", 29));

  sbuf_reset(&b);
  nt_writes(fd, "ATSH79B\rATFCSH79B\rATFCSD300000\rATFCSM1\r");
  assert_true(nt_read_until(loop, fd, &b, "OK\r\r>OK\r\r>OK\r\r>OK\r\r>", 3000, NULL));
  sbuf_reset(&b);
  nt_writes(fd, "2101\r");
  assert_true(nt_read_until(loop, fd, &b, "\r\r>", 3000, NULL));
  const char *s = sbuf_str(&b);
  /* a multi-frame answer: the length on its own line, then segment 0 starting 61 01 */
  assert_true(strlen(s) > 20);
  assert_int_equal(s[3], '\r');
  assert_true(!strncmp(s + 4, "0: 61 01 ", 9));
  assert_non_null(strstr(s, "\r1: "));

  sbuf_free(&b);
  close(fd);
  can_serve_free(srv);
  hil_responders_free(rs);
  sim_free(sim);
  nt_loop_free(loop);
  sim_diag_cleanup(&d);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_leafspy_session),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
