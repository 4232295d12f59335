/*
 * bench_hil.c - timing of the bench car (hil/), in real time on the in-memory bus (mem:):
 *
 *  1. STmin: an ISO-TP sender transmits 4095-byte messages to a receiver that asks for STmin
 *     1, 5, 10, 25 ms and 0xF1-0xF9 (100-900 us); the gaps between consecutive frames as the
 *     receiver sees them (wall clock) against the requested value (target: within +-0.5 ms);
 *  2. periodic transmit jitter: 200 ids every 10 ms for 3 s on sim_timers, the lateness of
 *     every frame on the wire against its deadline (target: p99 <= 100 us on an idle machine);
 *  3. responder latency: request -> first frame of the reply from the generic OBD-II ECU and
 *     from the Leaf's BMS (multi-frame), in real time (target: p99 <= 1 ms), on the in-memory
 *     bus and with the tester a socketcand client of the simulator's socketcand server on
 *     loopback (one process, one loop: the round trip through both TCP stacks); the same for
 *     reactive replay (--trace-respond) answering the recorded BMS group 2 exchange
 *     (tests/data/hil/env200-bms-volt-poll.crtd, or the path in OVMS_SIM_DATA).
 *
 * Prints numbers; asserts nothing.  The loop runs with sim_loop_set_precision() (a short spin
 * before each deadline), as ovms-sim does for --can in real time.  Usage: bench_hil [SECONDS]
 */
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "can/bus.h"
#include "core/array.h"
#include "core/diag.h"
#include "core/loop.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "can/network.h"
#include "hil/isotp.h"
#include "hil/replay.h"
#include "hil/responder.h"
#include "model/sim.h"
#include "vehicle/vehicle.h"

#define SLACK_NS 300000

static int cmp64(const void *a, const void *b)
{
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

static int64_t pct(int64_t *v, size_t n, double p)
{
  if (!n)
    return 0;
  qsort(v, n, sizeof *v, cmp64);
  size_t i = (size_t)(p * (double)(n - 1) + 0.5);
  return v[i];
}

struct sim_loop *bench_loop(struct ev_loop **ev);
struct sim_loop *bench_loop(struct ev_loop **ev)
{
  *ev = ev_loop_new(EVFLAG_AUTO);
  struct sim_loop *loop = sim_loop_new(*ev, SIM_CLOCK_REAL, 1.0, 0);
  sim_loop_set_precision(loop, SLACK_NS);
  return loop;
}

static struct sim_canbus *bench_bus(struct sim_loop *loop, uint8_t num)
{
  struct sim_canbus *b = NULL;
  struct sim_diag d = SIM_DIAG_INIT;
  if (can_bus_new(&b, loop, "mem:bench", num, &d) != 0 || can_bus_start(b) != 0) {
    fprintf(stderr, "bench_hil: cannot open mem:bench\n");
    exit(1);
  }
  return b;
}

/* ---- 1. STmin ---------------------------------------------------------------------------- */

struct stmin_run {
  struct sim_canbus *tx_bus, *rx_bus;
  struct isotp_link sender, receiver;
  int64_t *gaps;
  size_t ngaps, cap;
  int64_t last_cf;
  int messages;
};

static int stmin_send_sender(void *ctx, const struct sim_frame *f)
{
  struct stmin_run *r = ctx;
  return can_bus_send(r->tx_bus, f);
}

static int stmin_send_receiver(void *ctx, const struct sim_frame *f)
{
  struct stmin_run *r = ctx;
  return can_bus_send(r->rx_bus, f);
}

static void stmin_rx_at_receiver(void *ctx, struct sim_canbus *bus, const struct sim_frame *f)
{
  struct stmin_run *r = ctx;
  (void)bus;
  if (f->id == 0x7E8 && (f->data[0] >> 4) == ISOTP_CF) {
    int64_t now = sim_wall_ns();
    if ((f->data[0] & 0x0F) != 1 || r->last_cf) {
      if (r->last_cf && r->ngaps < r->cap)
        r->gaps[r->ngaps++] = now - r->last_cf;
    }
    r->last_cf = now;
  }
  isotp_link_input(&r->receiver, f);
}

static void stmin_rx_at_sender(void *ctx, struct sim_canbus *bus, const struct sim_frame *f)
{
  struct stmin_run *r = ctx;
  (void)bus;
  isotp_link_input(&r->sender, f);
}

static void stmin_sent(void *ctx, struct isotp_link *l, int status)
{
  struct stmin_run *r = ctx;
  r->last_cf = 0;
  if (status != 0 || --r->messages <= 0) {
    sim_loop_stop(l->loop, 0);
    return;
  }
  static uint8_t msg[ISOTP_MAX_LEN];
  isotp_link_send(l, msg, sizeof msg);
}

static const struct isotp_ops stmin_sender_ops = {stmin_send_sender, NULL, stmin_sent, NULL};
static const struct isotp_ops stmin_receiver_ops = {stmin_send_receiver, NULL, NULL, NULL};

static void bench_stmin(void)
{
  static const uint8_t codes[] = {1,    5,    10,   25,   0xF1, 0xF2, 0xF3,
                                  0xF4, 0xF5, 0xF6, 0xF7, 0xF8, 0xF9};
  printf("ISO-TP STmin on mem: (4095-byte messages, gaps between consecutive frames):\n");
  printf("  %-16s %8s %10s %10s %10s %10s %8s\n", "requested", "gaps", "p50", "p99", "min",
         "max", "off>0.5ms");
  for (size_t i = 0; i < ARRAY_SIZE(codes); i++) {
    struct ev_loop *ev;
    struct sim_loop *loop = bench_loop(&ev);
    struct stmin_run r;
    memset(&r, 0, sizeof r);
    r.tx_bus = bench_bus(loop, 1);
    r.rx_bus = bench_bus(loop, 2);
    can_bus_set_rx(r.rx_bus, stmin_rx_at_receiver, &r);
    can_bus_set_rx(r.tx_bus, stmin_rx_at_sender, &r);
    struct isotp_config cs, cr;
    isotp_config_default(&cs, 0x7E8, 0x7E0);
    isotp_config_default(&cr, 0x7E0, 0x7E8);
    cr.stmin = codes[i];
    isotp_link_init(&r.sender, loop, &cs, &stmin_sender_ops, &r);
    isotp_link_init(&r.receiver, loop, &cr, &stmin_receiver_ops, &r);
    int64_t want = isotp_stmin_ns(codes[i]);
    r.messages = want >= 10 * SIM_NS_PER_MS ? 1 : 3;
    r.cap = 4096;
    r.gaps = calloc(r.cap, sizeof *r.gaps);
    static uint8_t msg[ISOTP_MAX_LEN];
    isotp_link_send(&r.sender, msg, want >= 25 * SIM_NS_PER_MS ? 1000 : sizeof msg);
    sim_loop_run(loop);
    size_t off = 0;
    for (size_t k = 0; k < r.ngaps; k++)
      if (llabs(r.gaps[k] - want) > 500000)
        off++;
    int64_t p50 = pct(r.gaps, r.ngaps, 0.5), p99 = pct(r.gaps, r.ngaps, 0.99);
    char label[32];
    snprintf(label, sizeof label, "0x%02X = %.1f ms", codes[i], (double)want / 1e6);
    printf("  %-16s %8zu %8.3fms %8.3fms %8.3fms %8.3fms %8zu\n", label, r.ngaps, p50 / 1e6,
           p99 / 1e6, r.ngaps ? r.gaps[0] / 1e6 : 0.0,
           r.ngaps ? r.gaps[r.ngaps - 1] / 1e6 : 0.0, off);
    free(r.gaps);
    isotp_link_cleanup(&r.sender);
    isotp_link_cleanup(&r.receiver);
    can_bus_close(r.tx_bus);
    can_bus_close(r.rx_bus);
    sim_loop_free(loop);
    ev_loop_destroy(ev);
  }
}

/* ---- 2. periodic transmit jitter -------------------------------------------------------- */

#define NPERIODIC 200
#define PERIOD_NS (10 * SIM_NS_PER_MS)

struct periodic {
  struct sim_canbus *bus;
  struct sim_timer t[NPERIODIC];
  int64_t *late;
  size_t n, cap;
  int64_t end;
};

static void periodic_cb(struct sim_loop *loop, struct sim_timer *t)
{
  struct periodic *p = t->data;
  int64_t due = t->at - t->repeat; /* the loop advanced at before calling us */
  int64_t wall = sim_wall_ns();
  struct sim_frame f;
  memset(&f, 0, sizeof f);
  f.id = (uint32_t)(0x100 + (t - p->t));
  f.len = 8;
  can_bus_send(p->bus, &f);
  if (p->n < p->cap)
    p->late[p->n++] = wall - sim_loop_wall_deadline(loop, due);
  if (sim_monotonic(loop) >= p->end) {
    sim_timer_stop(loop, t);
    bool any = false;
    for (int i = 0; i < NPERIODIC; i++)
      any |= sim_timer_active(&p->t[i]);
    if (!any)
      sim_loop_stop(loop, 0);
  }
}

static void bench_periodic(double seconds)
{
  struct ev_loop *ev;
  struct sim_loop *loop = bench_loop(&ev);
  struct periodic *p = calloc(1, sizeof *p);
  p->bus = bench_bus(loop, 1);
  p->cap = (size_t)(seconds * 1e9 / PERIOD_NS + 2) * NPERIODIC;
  p->late = calloc(p->cap, sizeof *p->late);
  p->end = (int64_t)(seconds * 1e9);
  for (int i = 0; i < NPERIODIC; i++) {
    sim_timer_init(&p->t[i], periodic_cb, p);
    /* staggered as the vehicle encoder scheduler does: ids spread over the period */
    sim_timer_start(loop, &p->t[i], PERIOD_NS + (int64_t)i * PERIOD_NS / NPERIODIC, PERIOD_NS);
  }
  sim_loop_run(loop);
  int64_t p50 = pct(p->late, p->n, 0.5), p99 = pct(p->late, p->n, 0.99);
  printf("periodic transmit: %d ids every %lld ms for %.0f s, %zu frames: lateness p50 %.1f us, "
         "p99 %.1f us, max %.1f us (target p99 <= 100 us)\n",
         NPERIODIC, (long long)(PERIOD_NS / SIM_NS_PER_MS), seconds, p->n, p50 / 1e3, p99 / 1e3,
         p->n ? p->late[p->n - 1] / 1e3 : 0.0);
  can_bus_close(p->bus);
  free(p->late);
  free(p);
  sim_loop_free(loop);
  ev_loop_destroy(ev);
}

/* ---- 3. responder latency ----------------------------------------------------------------- */

#define NREQ 5000

struct latency {
  struct sim_canbus *tester;
  struct sim_timer t;
  int64_t sent_at;
  int64_t *lat;
  size_t n;
  int left;
  const uint8_t *req;
  uint8_t req_len;
  uint32_t id, reply_id;
};

static void latency_rx(void *ctx, struct sim_canbus *bus, const struct sim_frame *f)
{
  struct latency *l = ctx;
  (void)bus;
  if (f->id != l->reply_id || !l->sent_at)
    return;
  if ((f->data[0] >> 4) == ISOTP_FF) { /* the tester's flow control */
    struct sim_frame fc;
    memset(&fc, 0, sizeof fc);
    fc.id = l->id;
    fc.len = 8;
    fc.data[0] = 0x30;
    can_bus_send(l->tester, &fc);
  }
  if ((f->data[0] >> 4) <= ISOTP_FF && l->n < NREQ)
    l->lat[l->n++] = sim_wall_ns() - l->sent_at;
  l->sent_at = 0;
}

static void latency_tick(struct sim_loop *loop, struct sim_timer *t)
{
  struct latency *l = t->data;
  if (l->left-- <= 0) {
    sim_timer_stop(loop, t);
    sim_loop_stop(loop, 0);
    return;
  }
  struct sim_frame f;
  memset(&f, 0, sizeof f);
  f.id = l->id;
  f.len = 8;
  memset(f.data, 0x55, 8);
  f.data[0] = l->req_len;
  memcpy(f.data + 1, l->req, l->req_len);
  l->sent_at = sim_wall_ns();
  can_bus_send(l->tester, &f);
}

/* A free TCP port on loopback (bound and released). */
static int free_port(void)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
      getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
    fprintf(stderr, "bench_hil: no free port\n");
    exit(1);
  }
  close(fd);
  return ntohs(a.sin_port);
}

/* What answers: the responders of vehicle (NULL: the OBD-II ECU), or a replay of path. */
struct answerer {
  const char *vehicle;
  const char *replay;
};

static void latency_run(const char *label, const struct answerer *who, bool net, uint32_t id,
                        uint32_t reply_id, const uint8_t *req, uint8_t req_len)
{
  struct ev_loop *ev;
  struct sim_loop *loop = bench_loop(&ev);
  struct sim *sim = sim_new(loop, NULL, 1);
  struct sim_diag d = SIM_DIAG_INIT;
  if (who->vehicle) {
    struct vehicle_opts vo = {VEHICLE_F_NOTICKER, NULL};
    vehicle_attach_opts(sim, who->vehicle, &vo, &d);
  }
  sim->buses[0] = bench_bus(loop, 1);
  struct latency l;
  memset(&l, 0, sizeof l);
  struct can_network *nw = NULL;
  if (net) {
    char spec[64], client[80];
    int port = free_port();
    snprintf(spec, sizeof spec, "1=socketcand:127.0.0.1:%d", port);
    snprintf(client, sizeof client, "socketcand:127.0.0.1:%d/can1", port);
    struct can_network_opts no;
    memset(&no, 0, sizeof no);
    if (can_network_add_serve(&no, spec, &d) < 0 ||
        can_network_open(&nw, sim, &no, NULL, NULL, &d) < 0 ||
        can_bus_new(&l.tester, loop, client, 1, &d) != 0 || can_bus_start(l.tester) != 0) {
      fprintf(stderr, "bench_hil: socketcand on loopback: %s\n", sim_diag_last(&d));
      exit(1);
    }
  } else {
    l.tester = bench_bus(loop, 1);
  }
  can_bus_set_rx(l.tester, latency_rx, &l);
  l.lat = calloc(NREQ, sizeof *l.lat);
  l.left = NREQ;
  l.req = req;
  l.req_len = req_len;
  l.id = id;
  l.reply_id = reply_id;
  struct hil_responder_opts o = {.vehicle = who->vehicle != NULL, .obd = who->vehicle == NULL,
                                 .obd_bus = 1, .always_awake = true};
  struct hil_responders *rs = NULL;
  struct hil_replay *rp = NULL;
  if (who->replay && hil_replay_new(&rp, sim, who->replay, NULL, &d) != 0) {
    fprintf(stderr, "bench_hil: %s: %s\n", who->replay, sim_diag_last(&d));
    exit(1);
  }
  if (!who->replay)
    hil_responders_new(&rs, sim, &o);
  sim_timer_init(&l.t, latency_tick, &l);
  /* a network tester connects first (half a second) */
  sim_timer_start(loop, &l.t, net ? 500 * SIM_NS_PER_MS : SIM_NS_PER_MS, SIM_NS_PER_MS);
  sim_loop_run(loop);
  int64_t p50 = pct(l.lat, l.n, 0.5), p99 = pct(l.lat, l.n, 0.99);
  printf("%s latency, %s: %zu requests, request -> first frame p50 %.1f us, p99 %.1f us,"
         " max %.1f us (target p99 <= 1 ms)\n",
         who->replay ? "trace-respond" : "responder", label, l.n, p50 / 1e3, p99 / 1e3,
         l.n ? l.lat[l.n - 1] / 1e3 : 0.0);
  hil_responders_free(rs);
  hil_replay_free(rp);
  can_bus_close(l.tester);
  can_network_free(nw);
  can_bus_close(sim->buses[0]);
  sim->buses[0] = NULL;
  sim_free(sim);
  sim_diag_cleanup(&d);
  free(l.lat);
  sim_loop_free(loop);
  ev_loop_destroy(ev);
}

static void bench_responders(void)
{
  static const uint8_t obd[] = {0x01, 0x0D}, bms[] = {0x21, 0x02};
  static char trace[512];
  const char *data = getenv("OVMS_SIM_DATA");
  snprintf(trace, sizeof trace, "%s/hil/env200-bms-volt-poll.crtd",
           data ? data : "tests/data");
  const struct answerer obd_ecu = {NULL, NULL}, leaf = {"nissanleaf", NULL}, rec = {NULL, trace};
  for (int net = 0; net < 2; net++) {
    const char *on = net ? "socketcand on loopback" : "mem";
    char label[128];
    snprintf(label, sizeof label, "OBD-II 01 0D (single frame) on %s", on);
    latency_run(label, &obd_ecu, net, 0x7DF, 0x7E8, obd, 2);
    snprintf(label, sizeof label, "Leaf BMS 21 02 (198 bytes, first frame) on %s", on);
    latency_run(label, &leaf, net, 0x79B, 0x7BB, bms, 2);
    snprintf(label, sizeof label, "recorded BMS 21 02 (198 bytes, first frame) on %s", on);
    if (access(trace, R_OK) == 0)
      latency_run(label, &rec, net, 0x79B, 0x7BB, bms, 2);
  }
}

int main(int argc, char **argv)
{
  double secs = argc > 1 ? strtod(argv[1], NULL) : 3.0;
  if (!(secs > 0))
    secs = 3.0;
  bench_stmin();
  bench_periodic(secs);
  bench_responders();
  return 0;
}
