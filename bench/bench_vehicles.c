/*
 * bench_vehicles.c - frames decoded per second through each vehicle.
 *
 * For every vehicle: frames from a trace held in memory are decoded in a loop (dispatch by
 * binary search, handler, metric updates) and the rate is printed; then the same with the
 * trace text parsed line by line by the CRTD codec first (read + decode).  The heap in use is
 * compared before and after each decode loop to show that decoding allocates nothing.
 *
 * With a Leaf trace, the whole run pipeline is measured too, as `ovms-sim --vehicle nissanleaf
 * --trace FILE --fast --print` does it: the trace replayed on the virtual clock, decoded, the
 * framework's housekeeping, and Server V3 printing its publications (to /dev/null).
 *
 * Usage: bench_vehicles [SECONDS_PER_CASE] [LEAF_TRACE.crtd]
 * Without a Leaf trace the frames are the Leaf's own encoders' output.  With the reference
 * traces present (the folder OVMS_SIM_TRACES names, as for tests/unit/test_dbc.c), e.g.
 *   build-rel/bench/bench_vehicles 1 $OVMS_SIM_TRACES/nissan_leaf/env200-2015-with-40kWh-startup-nobridge.crtd
 * Numbers are printed, never asserted (build without sanitizers for meaningful numbers).
 */
#include <ev.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/loop.h"
#include "model/metrics.h"
#include "model/sim.h"
#include "vehicle/housekeeping.h"
#include "trace/replay.h"
#include "trace/trace.h"
#include "v3/v3.h"
#include "vehicle/vehicle.h"

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct frames {
  struct sim_frame *f;
  size_t n, cap;
};

static void add_frame(void *ctx, const struct sim_frame *f)
{
  struct frames *fs = ctx;
  if (fs->n == fs->cap) {
    fs->cap = fs->cap ? fs->cap * 2 : 1024;
    fs->f = realloc(fs->f, fs->cap * sizeof *fs->f);
    if (!fs->f)
      abort();
  }
  fs->f[fs->n++] = *f;
}

struct ctx {
  struct ev_loop *ev;
  struct sim_loop *loop;
  struct sim *sim;
};

static struct vehicle *open_vehicle(struct ctx *c, const char *name, const char *map)
{
  c->ev = ev_loop_new(EVFLAG_AUTO);
  c->loop = sim_loop_new(c->ev, SIM_CLOCK_FAST, 1.0, 0);
  c->sim = sim_new(c->loop, NULL, 1);
  struct sim_diag d = SIM_DIAG_INIT;
  struct vehicle_opts o = {VEHICLE_F_NOTICKER | VEHICLE_F_ANYBUS, map};
  if (vehicle_attach_opts(c->sim, name, &o, &d) < 0) {
    struct sbuf b = SBUF_INIT;
    if (d.n)
      sim_diag_format(&d.v[0], &b);
    fprintf(stderr, "bench: %s: %s\n", name, sbuf_str(&b));
    exit(1);
  }
  sim_diag_cleanup(&d);
  return c->sim->vehicle;
}

static void close_ctx(struct ctx *c)
{
  sim_free(c->sim);
  sim_loop_free(c->loop);
  ev_loop_destroy(c->ev);
}

/* Synthetic traffic: the vehicle's own encoders, with a few metrics varied between rounds. */
static void synth(const char *name, const char *map, const char *const *set, struct frames *fs)
{
  struct ctx c;
  struct vehicle *v = open_vehicle(&c, name, map);
  for (int round = 0; round < 200; round++) {
    for (const char *const *s = set; *s; s += 2) {
      struct metric *m = metrics_find(c.sim->metrics, s[0]);
      if (m) {
        char buf[64];
        snprintf(buf, sizeof buf, "%g", strtod(s[1], NULL) + round % 7);
        metric_set_from_string(m, buf, SIM_UNIT_NATIVE);
      }
    }
    vehicle_encode_all(v, add_frame, fs);
  }
  close_ctx(&c);
}

static void bench_decode(const char *label, const char *name, const char *map,
                         const struct frames *fs, double seconds)
{
  struct ctx c;
  struct vehicle *v = open_vehicle(&c, name, map);
  /* warm up: every metric the trace touches exists and has its final storage */
  for (size_t i = 0; i < fs->n; i++)
    vehicle_decode(v, &fs->f[i]);
  struct mallinfo2 before = mallinfo2();
  uint64_t done = 0;
  double t0 = now_s(), t;
  do {
    for (size_t i = 0; i < fs->n; i++)
      vehicle_decode(v, &fs->f[i]);
    done += fs->n;
    t = now_s();
  } while (t - t0 < seconds);
  struct mallinfo2 after = mallinfo2();
  printf("%-34s %10zu frames  %8.2f M frames/s  decoded %5.1f%%  heap delta %zd bytes\n", label,
         fs->n, done / (t - t0) / 1e6,
         v->stats.frames ? 100.0 * v->stats.decoded / v->stats.frames : 0.0,
         (ssize_t)after.uordblks - (ssize_t)before.uordblks);
  close_ctx(&c);
}

/* Read + decode: CRTD text in memory parsed by the codec, then decoded. */
static void bench_read_decode(const char *label, const char *name, const char *text,
                              size_t len, double seconds)
{
  struct ctx c;
  struct vehicle *v = open_vehicle(&c, name, NULL);
  const struct trace_format *fmt = trace_format_find("crtd");
  uint64_t done = 0;
  double t0 = now_s(), t;
  do {
    struct trace_pstate ps;
    trace_pstate_init(&ps, "mem");
    const char *p = text, *end = text + len;
    while (p < end) {
      const char *nl = memchr(p, '\n', (size_t)(end - p));
      size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
      struct trace_record rec;
      ps.line++;
      if (fmt->parse(&ps, p, n, &rec, NULL) == 1 && rec.kind == TRACE_REC_FRAME) {
        vehicle_decode(v, &rec.frame);
        done++;
      }
      p += n + 1;
    }
    t = now_s();
  } while (t - t0 < seconds);
  printf("%-34s %10s         %8.2f M frames/s\n", label, "", done / (t - t0) / 1e6);
  close_ctx(&c);
}

struct pipe {
  struct vehicle *v;
  struct sim_loop *loop;
};

static enum trace_replay_fate pipe_frame(void *ctx, const struct sim_frame *f)
{
  vehicle_decode(((struct pipe *)ctx)->v, f);
  return TRACE_FRAME_DELIVERED;
}

static void on_replay_done(void *ctx, struct trace_replay *r, int status)
{
  (void)r, (void)status;
  sim_loop_stop(((struct pipe *)ctx)->loop, 0);
}

/* The run pipeline: replay (virtual time) -> vehicle -> metrics -> V3 print to /dev/null. */
static void bench_pipeline(const char *label, const char *path, int loops)
{
  struct ctx c;
  struct vehicle *v = open_vehicle(&c, "nissanleaf", NULL);
  FILE *devnull = fopen("/dev/null", "w");
  struct v3_options vo;
  memset(&vo, 0, sizeof vo);
  vo.out = devnull;
  housekeeping_start(c.sim);
  if (v3_start(c.sim, &vo, NULL) < 0) {
    printf("%-34s skipped (v3_start failed)\n", label);
    fclose(devnull);
    close_ctx(&c);
    return;
  }
  struct trace_replay_opts ro;
  memset(&ro, 0, sizeof ro);
  ro.loops = loops;
  ro.no_events = true;
  struct pipe pp = {v, c.loop};
  ro.on_frame = pipe_frame;
  ro.ctx = &pp;
  ro.on_done = on_replay_done;
  struct trace_replay *r;
  struct sim_diag d = SIM_DIAG_INIT;
  if (trace_replay_new(&r, c.sim, path, &ro, &d) < 0) {
    printf("%-34s skipped (cannot open the trace)\n", label);
  } else {
    double t0 = now_s();
    trace_replay_start(r);
    sim_loop_run(c.loop);
    double t = now_s() - t0;
    struct trace_replay_stats st;
    trace_replay_get_stats(r, &st);
    printf("%-34s %10lu frames  %8.2f M frames/s  (%.0f s simulated)\n", label, st.frames,
           st.frames / t / 1e6, st.sim_ns / 1e9);
    trace_replay_free(r);
  }
  sim_diag_cleanup(&d);
  fclose(devnull);
  close_ctx(&c);
}

static char *crtd_text(const struct frames *fs, size_t *len)
{
  struct sbuf b = SBUF_INIT;
  for (size_t i = 0; i < fs->n; i++) {
    const struct sim_frame *f = &fs->f[i];
    sbuf_printf(&b, "%.6f %uR11 %X", 1600000000.0 + i * 0.001, f->bus ? f->bus : 1u,
                (unsigned)f->id);
    for (int k = 0; k < f->len; k++)
      sbuf_printf(&b, " %02x", f->data[k]);
    sbuf_addc(&b, '\n');
  }
  *len = b.len;
  return sbuf_detach(&b);
}

static int load_trace(const char *path, struct frames *fs, char **text, size_t *len)
{
  struct trace_reader *r;
  struct sim_diag d = SIM_DIAG_INIT;
  if (trace_reader_open(&r, path, NULL, &d) < 0) {
    sim_diag_cleanup(&d);
    return -1;
  }
  struct sim_frame f;
  int rc;
  while ((rc = trace_reader_next_frame(r, &f, &d)) != 0)
    if (rc > 0 && !(f.flags & SIM_CAN_F_TX))
      add_frame(fs, &f);
  trace_reader_close(r);
  sim_diag_cleanup(&d);
  FILE *fp = fopen(path, "rb");
  if (fp) {
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    *text = malloc((size_t)n + 1);
    *len = fread(*text, 1, (size_t)n, fp);
    fclose(fp);
  }
  return 0;
}

int main(int argc, char **argv)
{
  double secs = argc > 1 ? strtod(argv[1], NULL) : 1.0;
  if (!(secs > 0))
    secs = 1.0;
  printf("bench_vehicles: decode rate per vehicle (%.1f s per case)\n", secs);

  static const char *const leaf_set[] = {"v.b.voltage", "360", "v.b.current", "-20",
                                         "v.b.soc", "60", "v.p.speed", "40",
                                         "xnl.v.b.soc.nominal", "61", "v.m.rpm", "3000",
                                         "v.e.footbrake", "5", "v.p.odometer", "12000", NULL};
  static const char *const tr_set[] = {"v.b.soc", "80", "v.b.range.ideal", "300", "v.p.speed",
                                       "50", "v.c.voltage", "230", "v.b.current", "40",
                                       "v.b.temp", "25", "v.p.odometer", "30000", NULL};
  static const char *const mi_set[] = {"v.b.soc", "70", "v.b.voltage", "330", "v.b.current",
                                       "-10", "v.p.speed", "30", "v.m.rpm", "2000",
                                       "v.p.odometer", "50000", NULL};

  struct frames leaf = {0}, tr = {0}, mi = {0}, real = {0};
  synth("nissanleaf", NULL, leaf_set, &leaf);
  synth("teslaroadster", NULL, tr_set, &tr);
  synth("mitsubishi", NULL, mi_set, &mi);

  bench_decode("nissanleaf (encoder traffic)", "nissanleaf", NULL, &leaf, secs);
  bench_decode("teslaroadster (encoder traffic)", "teslaroadster", NULL, &tr, secs);
  bench_decode("mitsubishi (encoder traffic)", "mitsubishi", NULL, &mi, secs);

  char *text = NULL;
  size_t len = 0;
  if (argc > 2 && load_trace(argv[2], &real, &text, &len) == 0 && real.n) {
    bench_decode("nissanleaf (real trace)", "nissanleaf", NULL, &real, secs);
    bench_read_decode("nissanleaf read+decode (real CRTD)", "nissanleaf", text, len, secs);
    bench_pipeline("pipeline --trace --fast --print", argv[2], 10);
  } else {
    text = crtd_text(&leaf, &len);
    bench_read_decode("nissanleaf read+decode (CRTD text)", "nissanleaf", text, len, secs);
  }

  /* the DBC vehicle with the Leaf's Dala DBC excerpt, on the Leaf traffic */
  const char *src = getenv("OVMS_SIM_SRC");
  char dbc[1024], map[] = "/tmp/bench_vehicles_map_XXXXXX";
  snprintf(dbc, sizeof dbc, "dbc:%s/tests/data/vehicles/leaf-ev-can-ze1-excerpt.dbc",
           src ? src : ".");
  int fd = mkstemp(map);
  if (fd >= 0) {
    FILE *fp = fdopen(fd, "w");
    fputs("LB_Current v.b.current scale=-1\nLB_Total_Voltage v.b.voltage\nLB_SOC v.b.soc "
          "scale=0.1\n", fp);
    fclose(fp);
    FILE *probe = fopen(dbc + 4, "r");
    if (probe) {
      fclose(probe);
      bench_decode("dbc:Leaf EV-CAN excerpt", dbc, map, real.n ? &real : &leaf, secs);
    } else {
      printf("%-34s skipped (set OVMS_SIM_SRC to the source tree)\n", "dbc:Leaf EV-CAN excerpt");
    }
    remove(map);
  }
  free(text);
  free(leaf.f);
  free(tr.f);
  free(mi.f);
  free(real.f);
  return 0;
}
