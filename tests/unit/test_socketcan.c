/*
 * test_socketcan.c - the SocketCAN backend on a virtual CAN interface.
 *
 * Needs a kernel with CAN (AF_CAN) and an interface vcan0 that is up (`ip link add vcan0 type
 * vcan && ip link set vcan0 up`, see hil/socketcan.md).  Where the kernel has no AF_CAN (this
 * build machine) or there is no vcan0, the test says so and exits 77 (skipped).
 */
#include "testutil.h"

#include <errno.h>
#include <ev.h>
#include <linux/can.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "can/bus.h"
#include "core/error.h"
#include "core/loop.h"

static const char *iface(void)
{
  const char *e = getenv("OVMS_SIM_VCAN");
  return e && *e ? e : "vcan0";
}

struct rx {
  int n;
  struct sim_frame f[8];
};

static void on_rx(void *ctx, struct sim_canbus *bus, const struct sim_frame *f)
{
  struct rx *r = ctx;
  if (r->n < 8)
    r->f[r->n++] = *f;
}

static void test_vcan_round_trip(void **state)
{
  (void)state;
  struct ev_loop *ev = ev_loop_new(EVFLAG_AUTO);
  struct sim_loop *l = sim_loop_new(ev, SIM_CLOCK_FAST, 1, 0);
  struct sim_diag d = SIM_DIAG_INIT;
  char a_spec[64], b_spec[64];
  snprintf(a_spec, sizeof(a_spec), "socketcan:%s,fd", iface());
  snprintf(b_spec, sizeof(b_spec), "socketcan:%s,fd", iface());
  struct sim_canbus *a, *b;
  assert_int_equal(can_bus_new(&a, l, a_spec, 1, &d), 0);
  assert_int_equal(can_bus_new(&b, l, b_spec, 2, &d), 0);
  assert_int_equal(can_bus_start(a), 0);
  assert_int_equal(can_bus_start(b), 0);
  struct rx rx = {0};
  can_bus_set_rx(b, on_rx, &rx);
  struct sim_can_filter flt = {.id = 0x7E8, .mask = 0x7FF, .ext_matters = true, .ext = false};
  can_bus_set_filters(b, &flt, 1);
  struct sim_frame f1 = {.id = 0x7DF, .len = 1, .data = {1}};
  struct sim_frame f2 = {.id = 0x7E8, .len = 3, .data = {3, 0x41, 0x0d}};
  struct sim_frame f3 = {.id = 0x7E8, .flags = SIM_CAN_F_FD | SIM_CAN_F_BRS, .len = 12};
  assert_int_equal(can_bus_send(a, &f1), 0);
  assert_int_equal(can_bus_send(a, &f2), 0);
  assert_int_equal(can_bus_send(a, &f3), 0);
  for (int i = 0; i < 100 && rx.n < 2; i++) {
    ev_run(ev, EVRUN_NOWAIT);
    usleep(10000);
  }
  assert_int_equal(rx.n, 2); /* the kernel filter dropped 0x7DF */
  assert_int_equal(rx.f[0].id, 0x7E8);
  assert_int_equal(rx.f[0].len, 3);
  assert_true(rx.f[1].flags & SIM_CAN_F_FD);
  assert_int_equal(rx.f[1].len, 12);
  can_bus_close(a);
  can_bus_close(b);
  sim_loop_free(l);
  ev_loop_destroy(ev);
}

int main(void)
{
  int s = socket(PF_CAN, SOCK_RAW, CAN_RAW);
  if (s < 0) {
    printf("skipped: no AF_CAN in this kernel (socket(PF_CAN) failed: %s); the SocketCAN "
           "backend needs a kernel with CAN and a vcan interface\n", strerror(errno));
    return TEST_SKIP_EXIT;
  }
  close(s);
  struct sim_canbus *bus;
  char spec[64];
  snprintf(spec, sizeof(spec), "socketcan:%s", iface());
  struct ev_loop *ev = ev_loop_new(EVFLAG_AUTO);
  struct sim_loop *l = sim_loop_new(ev, SIM_CLOCK_FAST, 1, 0);
  can_bus_new(&bus, l, spec, 1, NULL);
  int rc = can_bus_start(bus);
  can_bus_close(bus);
  sim_loop_free(l);
  ev_loop_destroy(ev);
  if (rc < 0) {
    printf("skipped: AF_CAN is there but %s cannot be used (%s); create it with "
           "'ip link add %s type vcan && ip link set %s up'\n", iface(), sim_strerror(rc),
           iface(), iface());
    return TEST_SKIP_EXIT;
  }
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_vcan_round_trip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
