/*
 * test_trace_replay.c - the CAN bus abstraction with the in-memory backend, trace replay on
 * the simulation clock through the trace backend (can/backend_trace.h), and the recorder.
 *
 * Virtual time (SIM_CLOCK_FAST) makes timing exact: each frame must arrive at precisely its
 * scheduled simulation time.  A short real-time replay measures lateness; its numbers are
 * printed (not asserted: no timing thresholds in tests).
 */
#include "testutil.h"

#include <errno.h>
#include <ev.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "can/backend_trace.h"
#include "can/bus.h"
#include "core/error.h"
#include "model/events.h"
#include "core/loop.h"
#include "model/metrics.h"
#include "model/sim.h"
#include "record/record.h"
#include "trace/replay.h"
#include "trace/trace.h"

#define T0 INT64_C(1700000000)

struct seen {
  int n;
  int64_t at[64];   /* simulation monotonic time of arrival */
  uint32_t id[64];
  uint8_t bus[64];
  struct sim_loop *loop;
};

static void on_rx(void *ctx, struct sim_canbus *bus, const struct sim_frame *f)
{
  struct seen *s = ctx;
  if (s->n < 64) {
    s->at[s->n] = sim_monotonic(s->loop);
    s->id[s->n] = f->id;
    s->bus[s->n] = f->bus;
    s->n++;
  }
}

static struct sim *mksim(enum sim_clock_mode mode, struct ev_loop **evp, struct sim_loop **lp)
{
  *evp = ev_loop_new(EVFLAG_AUTO);
  *lp = sim_loop_new(*evp, mode, 1, T0 * SIM_NS_PER_SEC);
  return sim_new(*lp, NULL, 1);
}

static void rmsim(struct sim *sim, struct ev_loop *ev, struct sim_loop *l)
{
  for (int i = 0; i < SIM_MAX_BUSES; i++)
    can_bus_close(sim->buses[i]), sim->buses[i] = NULL;
  sim_free(sim);
  sim_loop_free(l);
  ev_loop_destroy(ev);
}

static void test_mem_bus_pair(void **state)
{
  (void)state;
  struct ev_loop *ev;
  struct sim_loop *l;
  struct sim *sim = mksim(SIM_CLOCK_FAST, &ev, &l);
  struct sim_canbus *a, *b, *c;
  struct sim_diag d = SIM_DIAG_INIT;
  assert_int_equal(can_bus_new(&a, l, "mem:wire", 1, &d), 0);
  assert_int_equal(can_bus_new(&b, l, "mem:wire", 2, &d), 0);
  assert_int_equal(can_bus_new(&c, l, "mem:other", 3, &d), 0);
  struct seen sa = {.loop = l}, sb = {.loop = l}, sc = {.loop = l};
  can_bus_set_rx(a, on_rx, &sa);
  can_bus_set_rx(b, on_rx, &sb);
  can_bus_set_rx(c, on_rx, &sc);
  struct sim_frame f = {.id = 0x1DB, .len = 2, .data = {1, 2}};
  assert_int_equal(can_bus_send(a, &f), SIM_ESTATE); /* not started */
  can_bus_start(a);
  can_bus_start(b);
  can_bus_start(c);
  assert_int_equal(can_bus_send(a, &f), 0);
  assert_int_equal(sa.n, 0); /* no echo to the sender */
  assert_int_equal(sb.n, 1);
  assert_int_equal(sb.id[0], 0x1DB);
  assert_int_equal(sb.bus[0], 2);
  assert_int_equal(sc.n, 0); /* another wire */
  /* filters: list and id/mask */
  struct sim_can_filter flt[4];
  size_t n = 0;
  assert_int_equal(can_filter_parse("5C5,700/700", flt, 4, &n, &d), 0);
  assert_int_equal(n, 2);
  can_bus_set_filters(b, flt, n);
  f.id = 0x1DB;
  can_bus_send(a, &f);
  f.id = 0x5C5;
  can_bus_send(a, &f);
  f.id = 0x7BB;
  can_bus_send(a, &f);
  assert_int_equal(sb.n, 3);
  assert_int_equal(sb.id[1], 0x5C5);
  assert_int_equal(sb.id[2], 0x7BB);
  assert_int_equal(b->stats.rx_filtered, 1);
  assert_int_equal(can_filter_parse("5C5,xyz", flt, 4, &n, &d), SIM_EPARSE);
  assert_int_equal(d.v[0].col, 5);
  sim_diag_cleanup(&d);
  /* specs */
  uint8_t num;
  const struct sim_canbus_ops *ops;
  const char *arg;
  assert_int_equal(can_bus_parse_spec("2=slcan:/dev/ttyUSB0@250000", &num, &ops, &arg, &d), 0);
  assert_int_equal(num, 2);
  assert_string_equal(ops->name, "slcan");
  assert_string_equal(arg, "/dev/ttyUSB0@250000");
  assert_int_equal(can_bus_parse_spec("9=mem:x", &num, &ops, &arg, &d), SIM_ECONFIG);
  assert_int_equal(can_bus_parse_spec("usb:x", &num, &ops, &arg, &d), SIM_ECONFIG);
  assert_int_equal(can_bus_parse_spec("can0", &num, &ops, &arg, &d), SIM_ECONFIG);
  struct sim_canbus *bad;
  assert_int_equal(can_bus_new(&bad, l, "slcan:/dev/ttyX@12345", 1, &d), SIM_ECONFIG);
  assert_int_equal(d.n, 4);
  sim_diag_cleanup(&d);
  can_bus_close(a);
  can_bus_close(b);
  can_bus_close(c);
  rmsim(sim, ev, l);
}

static const char *trace_file(void)
{
  static char path[256];
  const char *p = test_write_temp(".crtd",
      "1632509059.000000 CXX OVMS CRTD\n"
      "1632509059.100000 1R11 1DB 01\n"
      "1632509059.150000 2R11 284 02\n"
      "1632509059.150000 1R11 55B 03\n"
      "1632509059.400000 1CEV Event vehicle.awake\n"
      "1632509059.500000 1CMT Metric { \"name\": \"v.b.soc\", \"value\": 66.5, \"unit\": \"%\" }\n"
      "1632509060.100000 1R11 1DB 04\n");
  snprintf(path, sizeof(path), "%s", p);
  return path;
}

static void on_event(void *ctx, const char *name, const char *data)
{
  struct seen *s = ctx;
  if (!strcmp(name, "vehicle.awake") && s->n < 64)
    s->at[s->n++] = sim_monotonic(s->loop);
}

struct done {
  int calls, status;
};

static void on_done(void *ctx, struct trace_replay *r, int status)
{
  struct done *d = ctx;
  d->calls++;
  d->status = status;
}

static void test_replay_virtual_time(void **state)
{
  (void)state;
  const char *path = trace_file();
  struct ev_loop *ev;
  struct sim_loop *l;
  struct sim *sim = mksim(SIM_CLOCK_FAST, &ev, &l);
  struct sim_diag d = SIM_DIAG_INIT;
  assert_int_equal(can_bus_new(&sim->buses[0], l, "mem:ev", 1, &d), 0);
  assert_int_equal(can_bus_new(&sim->buses[1], l, "mem:car", 2, &d), 0);
  struct seen s1 = {.loop = l}, s2 = {.loop = l}, evs = {.loop = l};
  can_bus_set_rx(sim->buses[0], on_rx, &s1);
  can_bus_set_rx(sim->buses[1], on_rx, &s2);
  sim_events_listen(sim->events, "vehicle.*", on_event, &evs);
  struct done dn = {0};
  struct can_trace_opts o = {.replay = {.loops = 2, .on_done = on_done, .ctx = &dn}};
  struct can_trace *t;
  assert_int_equal(can_trace_open(&t, sim, path, &o, sim->buses, &d), 0);
  struct trace_replay *r = can_trace_replay(t);
  can_trace_start(t);
  assert_int_equal(sim_loop_run(l), 0);
  assert_int_equal(dn.calls, 1);
  assert_int_equal(dn.status, 0);
  /* exact schedule: offsets from the first scheduled record (the CXX header is not one),
   * twice; the second pass starts when the first ends (at 1.0 s) */
  static const int64_t want1[] = {0, 50, 1000, 1000, 1050, 2000};
  assert_int_equal(s1.n, 6);
  for (int i = 0; i < 6; i++)
    assert_int_equal(s1.at[i], want1[i] * SIM_NS_PER_MS);
  assert_int_equal(s1.id[1], 0x55B);
  assert_int_equal(s2.n, 2);
  assert_int_equal(s2.at[0], 50 * SIM_NS_PER_MS);
  assert_int_equal(s2.id[0], 0x284);
  assert_int_equal(evs.n, 2);
  assert_int_equal(evs.at[0], 300 * SIM_NS_PER_MS);
  assert_int_equal(evs.at[1], 1300 * SIM_NS_PER_MS);
  struct metric *soc = metrics_find(sim->metrics, "v.b.soc");
  assert_true(metric_is_defined(soc));
  assert_true(metric_float(soc) > 66.4 && metric_float(soc) < 66.6);
  struct trace_replay_stats st;
  trace_replay_get_stats(r, &st);
  assert_int_equal(st.frames, 8);
  assert_int_equal(st.events, 2);
  assert_int_equal(st.metrics, 2);
  assert_int_equal(st.loops_done, 2);
  can_trace_close(t);
  sim_diag_cleanup(&d);
  rmsim(sim, ev, l);
}

static void test_replay_options(void **state)
{
  (void)state;
  const char *path = trace_file();
  struct ev_loop *ev;
  struct sim_loop *l;
  struct sim *sim = mksim(SIM_CLOCK_FAST, &ev, &l);
  struct sim_diag d = SIM_DIAG_INIT;
  assert_int_equal(can_bus_new(&sim->buses[2], l, "mem:x", 3, &d), 0);
  struct seen s = {.loop = l};
  can_bus_set_rx(sim->buses[2], on_rx, &s);
  struct can_trace_opts o = {.replay = {.start = 40 * SIM_NS_PER_MS,
                                       .end = 900 * SIM_NS_PER_MS, .no_events = true}};
  assert_int_equal(trace_replay_parse_map(&o.replay, "1=3,2=3", &d), 0);
  assert_int_equal(can_filter_parse("284,55B", o.filters, CAN_TRACE_MAX_FILTERS, &o.nfilters,
                                    &d), 0);
  struct can_trace *t;
  assert_int_equal(can_trace_open(&t, sim, path, &o, sim->buses, &d), 0);
  can_trace_start(t);
  sim_loop_run(l);
  /* 0x1DB at 0 is before --start; 0x1DB at 1.0 s after --end; both kept ids arrive on bus 3,
   * 10 ms after the start (50 ms - 40 ms) */
  assert_int_equal(s.n, 2);
  assert_int_equal(s.id[0], 0x284);
  assert_int_equal(s.id[1], 0x55B);
  assert_int_equal(s.bus[0], 3);
  assert_int_equal(s.at[0], 10 * SIM_NS_PER_MS);
  assert_false(metric_is_defined(metrics_find(sim->metrics, "v.b.soc")));
  struct trace_replay_stats ost;
  trace_replay_get_stats(can_trace_replay(t), &ost);
  assert_int_equal(ost.frames, 2);
  assert_int_equal(ost.filtered, 0); /* both 0x1DB lie outside start..end */
  can_trace_close(t);
  struct trace_replay *r;
  /* map parse errors, offsets */
  struct trace_replay_opts o2 = {0};
  assert_int_equal(trace_replay_parse_map(&o2, "can0", &d), SIM_EPARSE);
  assert_int_equal(trace_replay_parse_map(&o2, "can0=9", &d), SIM_EPARSE);
  int64_t ns;
  assert_int_equal(trace_parse_offset("1.5", &ns), 0);
  assert_int_equal(ns, 1500 * SIM_NS_PER_MS);
  assert_int_equal(trace_parse_offset("250ms", &ns), 0);
  assert_int_equal(ns, 250 * SIM_NS_PER_MS);
  assert_int_equal(trace_parse_offset("2m", &ns), 0);
  assert_int_equal(ns, 120 * SIM_NS_PER_SEC);
  assert_int_equal(trace_parse_offset("-1", &ns), SIM_EPARSE);
  assert_int_equal(trace_parse_offset("1x", &ns), SIM_EPARSE);
  /* a bad line stops the replay with the error, with its location in the diagnostics */
  const char *bad = test_write_temp(".crtd", "1.000000 1R11 100 00\n1.100000 1R11 1G0 00\n");
  char badp[256];
  snprintf(badp, sizeof(badp), "%s", bad);
  struct done dn = {0};
  struct trace_replay_opts o3 = {.on_done = on_done, .ctx = &dn};
  assert_int_equal(trace_replay_new(&r, sim, badp, &o3, &d), 0);
  trace_replay_start(r);
  sim_loop_run(l);
  assert_int_equal(dn.status, SIM_EPARSE);
  trace_replay_free(r);
  sim_diag_cleanup(&d);
  rmsim(sim, ev, l);
}

static void test_replay_real_time(void **state)
{
  (void)state;
  /* 200 frames 1 ms apart, in real time: lateness is measured and printed, not asserted */
  char path[] = "/tmp/ovms-rt-XXXXXX.log";
  int fd = mkstemps(path, 4);
  FILE *f = fdopen(fd, "w");
  for (int i = 0; i < 200; i++)
    fprintf(f, "(1700000000.%06d) can0 1DB#%02X\n", i * 1000, i & 0xFF);
  fclose(f);
  struct ev_loop *ev;
  struct sim_loop *l;
  struct sim *sim = mksim(SIM_CLOCK_REAL, &ev, &l);
  struct sim_diag d = SIM_DIAG_INIT;
  assert_int_equal(can_bus_new(&sim->buses[0], l, "mem:rt", 1, &d), 0);
  struct seen s = {.loop = l};
  can_bus_set_rx(sim->buses[0], on_rx, &s);
  struct can_trace_opts o = {.replay = {.stats = true}};
  struct can_trace *t;
  assert_int_equal(can_trace_open(&t, sim, path, &o, sim->buses, &d), 0);
  struct trace_replay *r = can_trace_replay(t);
  can_trace_start(t);
  assert_int_equal(sim_loop_run(l), 0);
  struct trace_replay_stats st;
  trace_replay_get_stats(r, &st);
  assert_int_equal(st.frames, 200);
  assert_int_equal(st.late_samples, 200);
  assert_true(st.late_p50 <= st.late_p99 + 1000 && st.late_p99 <= st.late_max + 1000);
  struct sbuf out = SBUF_INIT;
  trace_replay_format_stats(&st, "real-time replay", &out);
  fprintf(stderr, "%s", sbuf_str(&out));
  sbuf_free(&out);
  can_trace_close(t);
  unlink(path);
  rmsim(sim, ev, l);
}

/* Bus errors and failed sends become CRTD CER records (firmware
 * vehicle/OVMS.V3/components/can/src/canformat_crtd.cpp, canformat_crtd::get()); a format that
 * carries error frames (candump) keeps error frames as frames. */
static void test_record_errors(void **state)
{
  (void)state;
  for (int pass = 0; pass < 2; pass++) {
    struct ev_loop *ev;
    struct sim_loop *l;
    struct sim *sim = mksim(SIM_CLOCK_FAST, &ev, &l);
    struct sim_diag d = SIM_DIAG_INIT;
    struct sim_canbus *peer;
    assert_int_equal(can_bus_new(&sim->buses[0], l, "mem:recerr", 1, &d), 0);
    assert_int_equal(can_bus_new(&sim->buses[1], l, "mem:down", 2, &d), 0); /* never started */
    assert_int_equal(can_bus_new(&peer, l, "mem:recerr", 1, &d), 0);
    can_bus_start(sim->buses[0]);
    can_bus_start(peer);
    char path[] = "/tmp/ovms-recerr-XXXXXX.crtd";
    char lpath[] = "/tmp/ovms-recerr-XXXXXX.log";
    char *p = pass ? lpath : path;
    close(mkstemps(p, pass ? 4 : 5));
    struct trace_recorder *rec;
    assert_int_equal(trace_recorder_open(&rec, sim, p, NULL, &d), 0);
    struct sim_frame f = {.id = 0x7E8, .len = 3, .data = {3, 0x41, 0x0d}};
    can_bus_send(peer, &f); /* received: rx 1 */
    f.id = 0x7DF;
    assert_int_equal(can_bus_send(sim->buses[0], &f), 0); /* sent: tx 1 */
    struct sim_frame x = {.id = 0x18DAF110, .flags = SIM_CAN_F_EXT, .len = 3,
                          .data = {0x02, 0x10, 0x03}};
    assert_int_equal(can_bus_send(sim->buses[1], &x), SIM_ESTATE); /* bus 2 is down */
    struct sim_frame e = {.id = 0x80, .flags = SIM_CAN_F_ERR, .len = 8};
    can_bus_send(peer, &e); /* an error frame received on bus 1 */
    can_bus_report_error(sim->buses[0], -EIO, "adapter went away");
    assert_int_equal(trace_recorder_close(rec), 0);
    char *text = test_read_file(p, NULL);
    if (pass == 0) {
      assert_non_null(strstr(text, "1700000000.000000 2CER TX_Fail T29 18DAF110 02 10 03\n"));
      assert_non_null(strstr(text, "1700000000.000000 1CER Error intr=0 rxpkt=1 txpkt=1 "
                                   "errflags=0x80 rxerr=1 txerr=0 rxinval=0 rxovr=0 txovr=0 "
                                   "txdelay=0 txfail=0 wdgreset=0 errreset=0 isrovr=0 txqueue=0\n"));
      /* the error frame itself was counted as received */
      assert_non_null(strstr(text, "1700000000.000000 1CER Error intr=0 rxpkt=2 txpkt=1 "
                                   "errflags=0 rxerr=1 txerr=0 "));
      /* what we write reads back as STATUS records */
      struct trace_reader *rd;
      assert_int_equal(trace_reader_open(&rd, p, NULL, &d), 0);
      struct trace_record r;
      int status = 0, frames = 0;
      while (trace_reader_next(rd, &r, &d) > 0) {
        status += r.kind == TRACE_REC_STATUS;
        frames += r.kind == TRACE_REC_FRAME;
      }
      trace_reader_close(rd);
      assert_int_equal(status, 3);
      assert_int_equal(frames, 2);
    } else {
      assert_non_null(strstr(text, "(1700000000.000000) can0 20000080#0000000000000000\n"));
      assert_null(strstr(text, "CER"));
    }
    free(text);
    unlink(p);
    can_bus_close(peer);
    sim_diag_cleanup(&d);
    rmsim(sim, ev, l);
  }
}

static void test_record(void **state)
{
  (void)state;
  struct ev_loop *ev;
  struct sim_loop *l;
  struct sim *sim = mksim(SIM_CLOCK_FAST, &ev, &l);
  struct sim_diag d = SIM_DIAG_INIT;
  struct sim_canbus *peer;
  assert_int_equal(can_bus_new(&sim->buses[0], l, "mem:rec", 1, &d), 0);
  assert_int_equal(can_bus_new(&peer, l, "mem:rec", 1, &d), 0);
  can_bus_start(sim->buses[0]);
  can_bus_start(peer);
  char path[] = "/tmp/ovms-rec-XXXXXX.crtd";
  close(mkstemps(path, 5));
  struct trace_recorder *rec;
  assert_int_equal(trace_recorder_open(&rec, sim, path, NULL, &d), 0);
  struct sim_frame f = {.id = 0x7E8, .len = 3, .data = {3, 0x41, 0x0d}};
  can_bus_send(peer, &f); /* received by the module */
  f.id = 0x7DF;
  can_bus_send(sim->buses[0], &f); /* sent by the module */
  sim_events_raise(sim->events, "vehicle.charge.start", NULL);
  metric_set_int(metrics_find(sim->metrics, "v.b.soc"), 85);
  assert_int_equal(trace_recorder_close(rec), 0);
  char *text = test_read_file(path, NULL);
  assert_non_null(strstr(text, " CXX OVMS CRTD\n"));
  assert_non_null(strstr(text, " CVR 3.1\n"));
  assert_non_null(strstr(text, "1700000000.000000 1R11 7E8 03 41 0d\n"));
  assert_non_null(strstr(text, "1700000000.000000 1T11 7DF 03 41 0d\n"));
  assert_non_null(strstr(text, "1CEV Event vehicle.charge.start\n"));
  assert_non_null(strstr(text, "1CMT Metric { \"name\": \"v.b.soc\", \"value\": 85, \"unit\": \"%\" }"));
  free(text);
  unlink(path);
  can_bus_close(peer);
  sim_diag_cleanup(&d);
  rmsim(sim, ev, l);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_mem_bus_pair),     cmocka_unit_test(test_replay_virtual_time),
    cmocka_unit_test(test_replay_options),   cmocka_unit_test(test_replay_real_time),
    cmocka_unit_test(test_record),           cmocka_unit_test(test_record_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
