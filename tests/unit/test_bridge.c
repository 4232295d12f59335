/*
 * test_bridge.c - --bridge: spec parsing, forwarding both ways and one way, id/mask filters,
 * rate limits on the simulation clock, only frames from outside the simulator forwarded, and
 * loop prevention (a circle of three bridges; the same wire behind both buses).
 */
#include <ev.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "can/bridge.h"
#include "can/bus.h"
#include "core/array.h"
#include "core/error.h"
#include "core/loop.h"

struct env {
  struct ev_loop *ev;
  struct sim_loop *loop;
  struct sim_canbus *bus[3];  /* simulator buses 1..3 */
  struct sim_canbus *wire[3]; /* the other end of each mem bus ("outside") */
  int seen[3];                /* frames arriving at the outside of each bus */
};

static void wire_rx(void *ctx, struct sim_canbus *bus, const struct sim_frame *f)
{
  (void)f;
  struct env *e = ctx;
  for (int i = 0; i < 3; i++)
    if (e->wire[i] == bus)
      e->seen[i]++;
}

static int setup(void **state)
{
  struct env *e = calloc(1, sizeof(*e));
  e->ev = ev_loop_new(EVFLAG_AUTO);
  e->loop = sim_loop_new(e->ev, SIM_CLOCK_FAST, 1, 0);
  for (int i = 0; i < 3; i++) {
    char spec[16];
    snprintf(spec, sizeof(spec), "mem:br%d", i);
    assert_int_equal(can_bus_new(&e->bus[i], e->loop, spec, (uint8_t)(i + 1), NULL), 0);
    assert_int_equal(can_bus_new(&e->wire[i], e->loop, spec, 9 - 1, NULL), 0);
    can_bus_start(e->bus[i]);
    can_bus_start(e->wire[i]);
    can_bus_set_rx(e->wire[i], wire_rx, e);
  }
  *state = e;
  return 0;
}

static int teardown(void **state)
{
  struct env *e = *state;
  for (int i = 0; i < 3; i++) {
    can_bus_close(e->bus[i]);
    can_bus_close(e->wire[i]);
  }
  sim_loop_free(e->loop);
  ev_loop_destroy(e->ev);
  free(e);
  return 0;
}

static struct can_bridge *bridge(struct env *e, const char *spec)
{
  struct can_bridge *b;
  struct sim_diag d = SIM_DIAG_INIT;
  assert_int_equal(can_bridge_new(&b, e->loop, spec, &d), 0);
  struct sim_canbus *buses[8] = {e->bus[0], e->bus[1], e->bus[2]};
  assert_int_equal(can_bridge_start(b, buses, &d), 0);
  sim_diag_cleanup(&d);
  return b;
}

/* A frame arriving on simulator bus i from outside (its wire end sends it). */
static void from_outside(struct env *e, int i, uint32_t id)
{
  struct sim_frame f = {.id = id, .len = 2, .data = {(uint8_t)id, 0x11}};
  if (id > 0x7FF)
    f.flags = SIM_CAN_F_EXT;
  can_bus_send(e->wire[i], &f);
}

static void test_parse(void **state)
{
  struct env *e = *state;
  const struct {
    const char *spec;
    int rc;
  } cases[] = {
      {"1=2", 0}, {"1>2", 0}, {"1=2,7E0/7F0,18DAF100/1FFFFF00", 0}, {"2=1,rate=100", 0},
      {"1=1", SIM_ECONFIG}, {"1=9", SIM_ECONFIG}, {"12", SIM_ECONFIG}, {"1=2,xyz", SIM_EPARSE},
      {"1=2,rate=0", SIM_ECONFIG}, {"1=2,rate=-5", SIM_ECONFIG}, {"a=b", SIM_ECONFIG},
  };
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    struct can_bridge *b = NULL;
    struct sim_diag d = SIM_DIAG_INIT;
    int rc = can_bridge_new(&b, e->loop, cases[i].spec, &d);
    if (rc != cases[i].rc)
      fail_msg("'%s': rc %d want %d", cases[i].spec, rc, cases[i].rc);
    can_bridge_free(b);
    sim_diag_cleanup(&d);
  }
}

/* A bridge to a bus that does not exist: SIM_ECONFIG, and a message that names the bridge
 * but no command-line option (the program adds "--bridge" as the message's origin). */
static void test_missing_bus(void **state)
{
  struct env *e = *state;
  struct can_bridge *b;
  struct sim_diag d = SIM_DIAG_INIT;
  assert_int_equal(can_bridge_new(&b, e->loop, "1=4", &d), 0);
  struct sim_canbus *buses[8] = {e->bus[0], e->bus[1], e->bus[2]};
  assert_int_equal(can_bridge_start(b, buses, &d), SIM_ECONFIG);
  assert_int_equal(d.n, 1);
  assert_string_equal(d.v[0].file, "");
  assert_string_equal(d.v[0].msg, "1=4: there is no bus 4");
  can_bridge_free(b);
  sim_diag_cleanup(&d);
}

static void test_forward_and_filter(void **state)
{
  struct env *e = *state;
  struct can_bridge *b = bridge(e, "1=2,7E0/7F0,18DAF100/1FFFFF00");
  from_outside(e, 0, 0x7E0);      /* passes the filter: reaches bus 2's wire */
  from_outside(e, 0, 0x5BC);      /* filtered */
  from_outside(e, 1, 0x7E8);      /* back direction */
  from_outside(e, 1, 0x18DAF1DB); /* 29-bit filter */
  assert_int_equal(e->seen[1], 1);
  assert_int_equal(e->seen[0], 2);
  /* what the simulator itself sends on bus 1 is not forwarded */
  struct sim_frame f = {.id = 0x7E1, .len = 1};
  can_bus_send(e->bus[0], &f);
  assert_int_equal(e->seen[1], 1);
  const struct can_bridge_stats *st = can_bridge_get_stats(b);
  assert_int_equal(st->fwd[0], 1);
  assert_int_equal(st->fwd[1], 2);
  assert_int_equal(st->filtered, 1);
  struct sbuf r = SBUF_INIT;
  can_bridge_report(b, &r);
  assert_string_equal(sbuf_str(&r), "bridge 1=2,7E0/7F0,18DAF100/1FFFFF00: forwarded 1 1>2, "
                                    "2 2>1, filtered 1, rate-limited 0, loops prevented 0\n");
  sbuf_free(&r);
  can_bridge_free(b);
}

static void test_oneway_and_rate(void **state)
{
  struct env *e = *state;
  struct can_bridge *b = bridge(e, "1>2,rate=10");
  from_outside(e, 1, 0x100); /* one way: not back */
  assert_int_equal(e->seen[0], 0);
  for (int i = 0; i < 5; i++)
    from_outside(e, 0, 0x200 + (uint32_t)i); /* burst of 1 (rate/10), the rest dropped */
  assert_int_equal(e->seen[1], 1);
  assert_int_equal(can_bridge_get_stats(b)->limited, 4);
  can_bridge_free(b);
}

static void test_loops(void **state)
{
  struct env *e = *state;
  /* a circle 1 -> 2 -> 3 -> 1: every bus gets the frame once, nothing runs round */
  struct can_bridge *b12 = bridge(e, "1=2"), *b23 = bridge(e, "2=3"), *b31 = bridge(e, "3=1");
  from_outside(e, 0, 0x321);
  assert_int_equal(e->seen[1], 1);
  assert_int_equal(e->seen[2], 1);
  assert_int_equal(e->seen[0], 0);
  unsigned long loops = can_bridge_get_stats(b12)->loops + can_bridge_get_stats(b23)->loops +
                        can_bridge_get_stats(b31)->loops;
  assert_true(loops >= 1);
  can_bridge_free(b12);
  can_bridge_free(b23);
  can_bridge_free(b31);
  /* the same wire behind both ends: what the bridge put on bus 2 comes back on bus 2 from
   * outside and is not returned to bus 1 */
  memset(e->seen, 0, sizeof(e->seen));
  struct can_bridge *b = bridge(e, "1=2");
  from_outside(e, 0, 0x456);
  assert_int_equal(e->seen[1], 1);
  from_outside(e, 1, 0x456); /* the echo */
  assert_int_equal(e->seen[0], 0);
  assert_int_equal(can_bridge_get_stats(b)->loops, 1);
  can_bridge_free(b);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_parse, setup, teardown),
      cmocka_unit_test_setup_teardown(test_missing_bus, setup, teardown),
      cmocka_unit_test_setup_teardown(test_forward_and_filter, setup, teardown),
      cmocka_unit_test_setup_teardown(test_oneway_and_rate, setup, teardown),
      cmocka_unit_test_setup_teardown(test_loops, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
