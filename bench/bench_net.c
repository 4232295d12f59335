/*
 * bench_net.c - the socketcand server over loopback (sim/can/serve_socketcand.c):
 *
 *  1. frames/s from the simulator to one client: the simulator sends N frames on a served
 *     in-memory bus as fast as the client (a thread reading with blocking recv and splitting
 *     messages with socketcand_next) takes them; target >= 100 000 frames/s (25 x a saturated
 *     500 kbit/s bus);
 *  2. frames/s from one client to the simulator ("< send >" lines written as fast as the
 *     socket takes them, counted on the bus's receive callback);
 *  3. added latency, one way, both directions: the sender puts its CLOCK_MONOTONIC time in the
 *     frame's data, the receiver subtracts it (one frame in flight at a time, 1 ms apart;
 *     the side that waits sleeps instead of spinning, so both threads get a CPU on a small
 *     machine); p50/p99/max; target p99 <= 200 us.  The load average is printed with it:
 *     on a shared machine the tail is the scheduler's;
 *  4. python-can (Debian python3-can, its "socketcand" interface) receiving from the same
 *     server, for comparison: frames/s and the ratio.
 *
 * Prints numbers; asserts nothing.  Usage: bench_net [FRAMES]  (default 200000)
 */
#include <arpa/inet.h>
#include <ev.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "can/bus.h"
#include "can/net.h"
#include "can/serve.h"
#include "can/socketcand.h"
#include "core/loop.h"

static int64_t mono_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp64(const void *a, const void *b)
{
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

static int64_t pct(int64_t *v, size_t n, double p)
{
  if (!n)
    return 0;
  return v[(size_t)(p * (double)(n - 1) + 0.5)];
}

struct bench {
  struct sim_loop *loop;
  struct sim_canbus *bus;
  struct can_serve *srv;
  uint16_t port;
  atomic_long client_rx;   /* frames the client thread parsed */
  atomic_int client_ready;
  atomic_int stop;
  int fd;
  long rx;                 /* frames the bus received from the client */
  int64_t *lat;            /* one-way latencies */
  size_t nlat;
  bool measure_rx;
  int64_t rx_lat_at;
};

static int connect_raw(uint16_t port)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
    return -1;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

/* The client thread: handshake, then parse frames; in latency mode, record one-way times. */
static void *client_main(void *arg)
{
  struct bench *b = arg;
  const char *hs = "< open can1 >< rawmode >";
  if (write(b->fd, hs, strlen(hs)) < 0)
    return NULL;
  static uint8_t buf[1 << 20];
  size_t n = 0;
  int oks = 0;
  while (!atomic_load(&b->stop)) {
    ssize_t r = recv(b->fd, buf + n, sizeof(buf) - n, 0);
    if (r <= 0)
      break;
    int64_t now = mono_ns();
    n += (size_t)r;
    size_t off = 0;
    for (;;) {
      size_t start, len, skip;
      size_t k = socketcand_next(buf + off, n - off, &start, &len, &skip);
      if (!k) {
        off += skip;
        break;
      }
      struct socketcand_msg m;
      if (socketcand_parse((const char *)buf + off + start, len, &m) == 0) {
        if (m.cmd == SCD_OK && ++oks == 2)
          atomic_store(&b->client_ready, 1);
        if (m.cmd == SCD_FRAME) {
          if (m.frame.id == 0x7FF && b->lat) {
            int64_t t0;
            memcpy(&t0, m.frame.data, 8);
            b->lat[b->nlat++] = now - t0;
          }
          atomic_fetch_add(&b->client_rx, 1);
        }
      }
      off += k;
    }
    memmove(buf, buf + off, n - off);
    n -= off;
  }
  return NULL;
}

static void on_rx(void *ctx, struct sim_canbus *bus, const struct sim_frame *f)
{
  (void)bus;
  struct bench *b = ctx;
  b->rx++;
  if (b->measure_rx && f->id == 0x7FE) {
    int64_t t0;
    memcpy(&t0, f->data, 8);
    b->lat[b->nlat++] = mono_ns() - t0;
  }
}

static void pump(struct bench *b)
{
  ev_run(sim_loop_ev(b->loop), EVRUN_NOWAIT);
}

static void print_lat(const char *what, int64_t *v, size_t n)
{
  qsort(v, n, sizeof(*v), cmp64);
  printf("  %-34s p50 %6.1f us  p99 %6.1f us  max %7.1f us  (%zu frames; target p99 <= 200 us)\n",
         what, pct(v, n, 0.5) / 1e3, pct(v, n, 0.99) / 1e3, n ? v[n - 1] / 1e3 : 0.0, n);
}

static double to_client(struct bench *b, long frames)
{
  long base = atomic_load(&b->client_rx);
  int64_t t0 = mono_ns();
  struct sim_frame f = {.id = 0x123, .len = 8};
  for (long i = 0; i < frames;) {
    /* keep at most ~4000 frames in flight: the queue never drops, the client sets the pace */
    while (i - (atomic_load(&b->client_rx) - base) > 4000)
      pump(b);
    for (int k = 0; k < 256 && i < frames; k++, i++) {
      memcpy(f.data, &i, sizeof(i));
      can_bus_send(b->bus, &f);
    }
    pump(b);
  }
  while (atomic_load(&b->client_rx) - base < frames && mono_ns() - t0 < 30 * 1000000000LL)
    pump(b);
  return (double)frames / ((double)(mono_ns() - t0) / 1e9);
}

struct writer {
  int fd;
  long frames;
};

static void *writer_main(void *arg)
{
  struct writer *w = arg;
  static char buf[64 * 1024];
  size_t n = 0;
  for (long i = 0; i < w->frames; i++) {
    n += (size_t)snprintf(buf + n, sizeof(buf) - n, "< send 321 8 %lx 0 0 0 0 0 0 0 >",
                          i & 0xFF);
    if (n > sizeof(buf) - 64 || i == w->frames - 1) {
      for (size_t off = 0; off < n;) {
        ssize_t r = write(w->fd, buf + off, n - off);
        if (r <= 0)
          return NULL;
        off += (size_t)r;
      }
      n = 0;
    }
  }
  return NULL;
}

static double from_client(struct bench *b, long frames)
{
  b->rx = 0;
  struct writer w = {b->fd, frames};
  pthread_t th;
  int64_t t0 = mono_ns();
  pthread_create(&th, NULL, writer_main, &w);
  while (b->rx < frames && mono_ns() - t0 < 30 * 1000000000LL)
    pump(b);
  double fps = (double)b->rx / ((double)(mono_ns() - t0) / 1e9);
  pthread_join(th, NULL);
  return fps;
}

static void latency(struct bench *b, int n)
{
  b->lat = calloc((size_t)n, sizeof(int64_t));
  b->nlat = 0;
  struct sim_frame f = {.id = 0x7FF, .len = 8};
  for (int i = 0; i < n; i++) {
    long want = atomic_load(&b->client_rx) + 1;
    int64_t t = mono_ns();
    memcpy(f.data, &t, 8);
    can_bus_send(b->bus, &f);
    pump(b); /* flushes: the frame is written now */
    /* wait without spinning, so that the client thread gets a CPU of the machine */
    while (atomic_load(&b->client_rx) < want)
      usleep(20);
    usleep(1000);
  }
  print_lat("simulator -> client, one way:", b->lat, b->nlat);
  /* client -> simulator: the main thread writes the client's sends (socket is shared) */
  int64_t *lat = b->lat;
  b->lat = NULL; /* the reader thread no longer records */
  size_t nl = 0;
  int64_t *lat2 = calloc((size_t)n, sizeof(int64_t));
  b->lat = lat2;
  b->nlat = 0;
  b->measure_rx = true;
  for (int i = 0; i < n; i++) {
    int64_t t = mono_ns();
    uint8_t d[8];
    memcpy(d, &t, 8);
    char line[96];
    int len = snprintf(line, sizeof(line), "< send 7FE 8 %x %x %x %x %x %x %x %x >", d[0], d[1],
                       d[2], d[3], d[4], d[5], d[6], d[7]);
    size_t before = b->nlat;
    if (write(b->fd, line, (size_t)len) != len)
      break;
    while (b->nlat == before)
      pump(b);
    int64_t until = mono_ns() + 1000000;
    while (mono_ns() < until)
      pump(b);
  }
  b->measure_rx = false;
  nl = b->nlat;
  print_lat("client -> simulator, one way:", lat2, nl);
  free(lat);
  free(lat2);
  b->lat = NULL;
}

static double python_can(struct bench *b, long frames)
{
  char script[1024];
  snprintf(script, sizeof(script),
           "import can,time,sys\n"
           "b=can.Bus(interface='socketcand',channel='can1',host='127.0.0.1',port=%u)\n"
           "print('ready',flush=True)\n"
           "n=0;t0=None\n"
           "while n<%ld:\n"
           "  m=b.recv(2.0)\n"
           "  if m is None: break\n"
           "  if t0 is None: t0=time.monotonic()\n"
           "  n+=1\n"
           "dt=time.monotonic()-t0 if t0 else 1\n"
           "print(n, n/dt, flush=True)\n",
           b->port, frames);
  int out[2];
  if (pipe(out) < 0)
    return 0;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    close(out[0]);
    if (!getenv("BENCH_NET_DEBUG")) {
      int devnull = open("/dev/null", O_WRONLY);
      dup2(devnull, 2);
    }
    execl("/usr/bin/python3", "python3", "-c", script, (char *)NULL);
    _exit(127);
  }
  close(out[1]);
  FILE *in = fdopen(out[0], "r");
  char line[128] = "";
  /* wait for "ready" while serving the handshake */
  int64_t t0 = mono_ns();
  int fl = fcntl(out[0], F_GETFL);
  fcntl(out[0], F_SETFL, fl | O_NONBLOCK);
  size_t got = 0;
  while (mono_ns() - t0 < 10 * 1000000000LL) {
    pump(b);
    ssize_t r = read(out[0], line + got, sizeof(line) - 1 - got);
    if (r > 0)
      got += (size_t)r;
    line[got] = 0;
    if (strstr(line, "ready"))
      break;
    usleep(100);
  }
  if (!strstr(line, "ready")) {
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    fclose(in);
    return 0;
  }
  usleep(200000);
  struct sim_frame f = {.id = 0x124, .len = 8};
  struct can_net_stats *st = can_net_server_stats(b->srv->net);
  unsigned long dropped0 = st->dropped;
  for (long i = 0; i < frames; i++) {
    memcpy(f.data, &i, sizeof(i));
    can_bus_send(b->bus, &f);
    /* pace by the server's queue: keep python-can's socket and our queue from overflowing */
    for (struct can_net_conn *c = can_net_server_conns(b->srv->net); c; c = c->next)
      while (!c->dead && c->nout - c->off > 64 * 1024)
        ev_run(sim_loop_ev(b->loop), EVRUN_ONCE);
    if (i % 64 == 0)
      pump(b);
  }
  fcntl(out[0], F_SETFL, fl);
  long n = 0;
  double fps = 0;
  got = 0;
  line[0] = 0;
  while (mono_ns() - t0 < 60 * 1000000000LL) {
    pump(b);
    ssize_t r = read(out[0], line + got, sizeof(line) - 1 - got);
    if (r > 0)
      got += (size_t)r;
    line[got] = 0;
    if (strchr(line, '\n'))
      break;
    if (r == 0)
      break;
    fcntl(out[0], F_SETFL, fl | O_NONBLOCK);
    usleep(1000);
  }
  sscanf(line, "%ld %lf", &n, &fps);
  waitpid(pid, NULL, 0);
  fclose(in);
  printf("  python-can 4.1 socketcand client:  %8.0f frames/s (%ld of %ld frames, %lu dropped by "
         "the server's queue)\n", fps, n, frames, st->dropped - dropped0);
  return fps;
}

int main(int argc, char **argv)
{
  long frames = argc > 1 ? atol(argv[1]) : 200000;
  if (frames < 1000)
    frames = 1000;
  struct bench b = {0};
  struct ev_loop *ev = ev_loop_new(EVFLAG_AUTO);
  b.loop = sim_loop_new(ev, SIM_CLOCK_REAL, 1.0, 0);
  if (can_bus_new(&b.bus, b.loop, "mem:bench", 1, NULL) < 0 || can_bus_start(b.bus) < 0 ||
      can_serve_new(&b.srv, b.loop, "1=socketcand:127.0.0.1:0", NULL) < 0) {
    fprintf(stderr, "bench_net: set-up failed\n");
    return 1;
  }
  can_bus_set_rx(b.bus, on_rx, &b);
  struct sim_canbus *buses[8] = {b.bus};
  if (can_serve_start(b.srv, buses, NULL) < 0) {
    fprintf(stderr, "bench_net: cannot listen\n");
    return 1;
  }
  b.port = can_net_server_port(b.srv->net);
  b.fd = connect_raw(b.port);
  pthread_t th;
  pthread_create(&th, NULL, client_main, &b);
  while (!atomic_load(&b.client_ready))
    pump(&b);
  double load[3] = {0};
  getloadavg(load, 3);
  printf("socketcand server over loopback, %ld frames of 8 bytes (load average %.2f, %ld CPUs):\n",
         frames, load[0], sysconf(_SC_NPROCESSORS_ONLN));
  double out = to_client(&b, frames);
  printf("  simulator -> 1 client:             %8.0f frames/s (target >= 100000)\n", out);
  double in = from_client(&b, frames);
  printf("  1 client -> simulator:             %8.0f frames/s\n", in);
  latency(&b, 2000);
  double py = python_can(&b, frames / 4 < 50000 ? frames / 4 : 50000);
  if (py > 0)
    printf("  ratio simulator->client / python-can receiving: %.1f x (python-can is the "
           "bottleneck there)\n", out / py);
  atomic_store(&b.stop, 1);
  shutdown(b.fd, SHUT_RDWR);
  pthread_join(th, NULL);
  close(b.fd);
  can_serve_free(b.srv);
  can_bus_close(b.bus);
  sim_loop_free(b.loop);
  ev_loop_destroy(ev);
  return 0;
}
