/*
 * nettest.c - see nettest.h.
 */
#include "nettest.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ev.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/loop.h"
#include "testutil.h"

struct sim_loop *nt_loop_new(void)
{
  struct ev_loop *ev = ev_loop_new(EVFLAG_AUTO);
  return sim_loop_new(ev, SIM_CLOCK_REAL, 1.0, INT64_C(1717228800) * SIM_NS_PER_SEC);
}

void nt_loop_free(struct sim_loop *l)
{
  struct ev_loop *ev = sim_loop_ev(l);
  sim_loop_free(l);
  ev_loop_destroy(ev);
}

static int64_t now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool nt_pump(struct sim_loop *l, int ms, bool (*done)(void *ctx), void *ctx)
{
  int64_t end = now_ms() + ms;
  for (;;) {
    ev_run(sim_loop_ev(l), EVRUN_NOWAIT);
    if (done && done(ctx))
      return true;
    if (now_ms() >= end)
      return false;
    usleep(200);
  }
}

int nt_connect(uint16_t port)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

void nt_write(int fd, const void *s, size_t n)
{
  const char *p = s;
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && (errno == EINTR || errno == EAGAIN))
      continue;
    assert_true(w > 0);
    p += w;
    n -= (size_t)w;
  }
}

void nt_writes(int fd, const char *s)
{
  nt_write(fd, s, strlen(s));
}

bool nt_read_until(struct sim_loop *l, int fd, struct sbuf *out, const char *want, int ms,
                   bool *closed)
{
  int64_t end = now_ms() + ms;
  if (closed)
    *closed = false;
  for (;;) {
    ev_run(sim_loop_ev(l), EVRUN_NOWAIT);
    char buf[65536];
    ssize_t r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (r > 0)
      sbuf_add(out, buf, (size_t)r);
    else if (r == 0) {
      if (closed)
        *closed = true;
      return want && strstr(sbuf_str(out), want);
    }
    if (want && out->len && strstr(sbuf_str(out), want))
      return true;
    if (now_ms() >= end)
      return false;
    if (r < 0)
      usleep(200);
  }
}

uint16_t nt_free_port(void)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, (struct sockaddr *)&a, sizeof(a));
  socklen_t sl = sizeof(a);
  getsockname(fd, (struct sockaddr *)&a, &sl);
  close(fd);
  return ntohs(a.sin_port);
}
