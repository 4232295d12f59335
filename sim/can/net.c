/*
 * net.c - listeners, connections with bounded queues, and reconnecting clients for the CAN
 * network servers (see net.h).  Connections that close during a callback are only marked
 * dead and freed from the ev_prepare watcher, after every callback of the iteration returned,
 * so a protocol may close a connection (its own or another one) at any time.
 */
#include "can/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/error.h"
#include "core/loop.h"
#include "core/sbuf.h"
#include "core/xalloc.h"

struct can_net_server {
  struct sim_loop *loop;
  struct ev_loop *ev;
  const struct can_net_proto *proto;
  void *owner;
  int lfd;
  uint16_t port;
  ev_io lio;
  ev_prepare prep;
  struct can_net_conn *conns;
  size_t nconns;
  struct can_net_stats stats;
  can_net_log_fn log;
  void *log_ctx;
};

struct can_net_client {
  struct sim_loop *loop;
  struct ev_loop *ev;
  const struct can_net_proto *proto;
  void *owner;
  char host[256];
  uint16_t port;
  struct can_net_conn *conn; /* live or connecting */
  bool connecting, running;
  ev_io cio;                 /* connect completion */
  int cfd;
  ev_timer retry;
  double backoff;
  unsigned long attempts;
  ev_prepare prep;
  struct can_net_stats stats;
  can_net_log_fn log;
  void *log_ctx;
};

int can_net_parse_hostport(const char *s, const char *default_host, char *host, size_t hostsz,
                           uint16_t *port, const char *what, struct sim_diag *d)
{
  const char *colon = NULL;
  const char *hs = s, *he = s;
  if (s[0] == '[') {
    const char *rb = strchr(s, ']');
    if (!rb || rb[1] != ':') {
      sim_diag_error(d, what, 0, 1, "expected [IPV6]:PORT in '%s'", s);
      return SIM_ECONFIG;
    }
    hs = s + 1;
    he = rb;
    colon = rb + 1;
  } else {
    colon = strrchr(s, ':');
    if (colon) {
      hs = s;
      he = colon;
    }
  }
  const char *ps = colon ? colon + 1 : s;
  char *end;
  errno = 0;
  unsigned long v = strtoul(ps, &end, 10);
  if (!*ps || *end || errno || v > 65535 || *ps == '-' || *ps == '+') {
    sim_diag_error(d, what, 0, (int)(ps - s) + 1, "bad port '%s' (0..65535)", ps);
    return SIM_ECONFIG;
  }
  size_t hl = colon ? (size_t)(he - hs) : strlen(default_host);
  if (colon && hl == 0) {
    hs = default_host;
    hl = strlen(default_host);
  } else if (!colon) {
    hs = default_host;
  }
  if (hl + 1 > hostsz) {
    sim_diag_error(d, what, 0, 1, "host name too long in '%s'", s);
    return SIM_ECONFIG;
  }
  memcpy(host, hs, hl);
  host[hl] = 0;
  *port = (uint16_t)v;
  return 0;
}

static int set_nonblock(int fd)
{
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
    return -errno;
  return 0;
}

/* Passes the message fmt/ap, after the prefix already in b, to log; frees b. */
static void log_message(can_net_log_fn log, void *ctx, struct sbuf *b, const char *fmt,
                        va_list ap) __attribute__((format(printf, 4, 0)));
static void log_message(can_net_log_fn log, void *ctx, struct sbuf *b, const char *fmt,
                        va_list ap)
{
  sbuf_vprintf(b, fmt, ap);
  log(ctx, sbuf_str(b));
  sbuf_free(b);
}

void can_net_logf(struct can_net_conn *c, const char *fmt, ...)
{
  if (!c->log)
    return;
  struct sbuf b = SBUF_INIT;
  sbuf_printf(&b, "%s %s: ", c->proto->name, c->peer);
  va_list ap;
  va_start(ap, fmt);
  log_message(c->log, c->log_ctx, &b, fmt, ap);
  va_end(ap);
}

/* ---- connections ---- */

static void conn_kill(struct can_net_conn *c)
{
  if (c->dead)
    return;
  c->dead = true;
  ev_io_stop(c->ev, &c->rio);
  ev_io_stop(c->ev, &c->wio);
  if (c->proto->on_close)
    c->proto->on_close(c);
  c->user = NULL;
  if (c->fd >= 0)
    close(c->fd);
  if (c->wfd >= 0 && c->wfd != c->fd)
    close(c->wfd);
  c->fd = c->wfd = -1;
  c->stats->closed++;
  if (c->closed_cb)
    c->closed_cb(c);
}

static void conn_free(struct can_net_conn *c)
{
  free(c->in);
  free(c->out);
  free(c);
}

void can_net_flush(struct can_net_conn *c)
{
  while (!c->dead && c->off < c->nout) {
    ssize_t w = write(c->wfd, c->out + c->off, c->nout - c->off);
    if (w > 0) {
      c->off += (size_t)w;
      continue;
    }
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (!ev_is_active(&c->wio))
        ev_io_start(c->ev, &c->wio);
      return;
    }
    can_net_logf(c, "write failed: %s; closing", strerror(errno));
    conn_kill(c);
    return;
  }
  if (c->dead)
    return;
  c->off = c->nout = 0;
  if (ev_is_active(&c->wio))
    ev_io_stop(c->ev, &c->wio);
  if (c->closing)
    conn_kill(c);
}

int can_net_send(struct can_net_conn *c, const void *p, size_t n)
{
  if (c->dead || c->closing)
    return SIM_ESTATE;
  if (c->nout - c->off + n > SIM_NET_QUEUE_MAX) {
    c->stats->dropped++;
    return -ENOBUFS;
  }
  if (c->off && c->off == c->nout)
    c->off = c->nout = 0;
  if (c->nout + n > c->capout && c->off) {
    memmove(c->out, c->out + c->off, c->nout - c->off);
    c->nout -= c->off;
    c->off = 0;
  }
  if (c->nout + n > c->capout)
    xgrow((void **)&c->out, &c->capout, c->nout + n, 1);
  memcpy(c->out + c->nout, p, n);
  c->nout += n;
  return 0;
}

void can_net_close(struct can_net_conn *c, bool drain, const char *why)
{
  if (c->dead)
    return;
  if (why)
    can_net_logf(c, "%s", why);
  if (drain && c->off < c->nout) {
    c->closing = true;
    can_net_flush(c);
    return;
  }
  conn_kill(c);
}

static void on_conn_writable(struct ev_loop *ev, ev_io *w, int revents)
{
  (void)ev;
  (void)revents;
  can_net_flush(w->data);
}

static void on_conn_readable(struct ev_loop *ev, ev_io *w, int revents)
{
  (void)ev;
  (void)revents;
  struct can_net_conn *c = w->data;
  size_t limit = c->proto->max_pending ? c->proto->max_pending : SIM_NET_READ_CHUNK;
  if (c->nin + SIM_NET_READ_CHUNK > c->capin)
    xgrow((void **)&c->in, &c->capin, c->nin + SIM_NET_READ_CHUNK, 1);
  ssize_t r = read(c->fd, c->in + c->nin, SIM_NET_READ_CHUNK);
  if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
    return;
  if (r <= 0) {
    if (r < 0 && errno != ECONNRESET && errno != EIO)
      can_net_logf(c, "read failed: %s", strerror(errno));
    conn_kill(c);
    return;
  }
  c->nin += (size_t)r;
  size_t used = 0;
  while (used < c->nin && !c->dead && !c->closing) {
    size_t k = c->proto->on_data(c, c->in + used, c->nin - used);
    if (k == 0)
      break;
    used += k > c->nin - used ? c->nin - used : k;
  }
  if (c->dead)
    return;
  if (used) {
    memmove(c->in, c->in + used, c->nin - used);
    c->nin -= used;
  }
  if (c->nin > limit) {
    c->stats->overlong++;
    struct sbuf why = SBUF_INIT;
    sbuf_printf(&why, "%zu bytes of input without a terminator (limit %zu); closing", c->nin,
                limit);
    c->nin = 0;
    can_net_close(c, true, sbuf_str(&why));
    sbuf_free(&why);
  }
}

static struct can_net_conn *conn_new(struct ev_loop *ev, int rfd, int wfd,
                                     const struct can_net_proto *proto, void *owner,
                                     struct can_net_stats *stats, can_net_log_fn log, void *lctx)
{
  struct can_net_conn *c = xcalloc(1, sizeof(*c));
  c->proto = proto;
  c->owner = owner;
  c->fd = rfd;
  c->wfd = wfd;
  c->ev = ev;
  c->stats = stats;
  c->log = log;
  c->log_ctx = lctx;
  ev_io_init(&c->rio, on_conn_readable, rfd, EV_READ);
  c->rio.data = c;
  ev_io_init(&c->wio, on_conn_writable, wfd, EV_WRITE);
  c->wio.data = c;
  return c;
}

static int conn_begin(struct can_net_conn *c)
{
  c->stats->accepted++;
  if (c->proto->on_open) {
    int rc = c->proto->on_open(c);
    if (rc < 0 || c->dead) {
      conn_kill(c);
      return rc < 0 ? rc : SIM_ESTATE;
    }
  }
  ev_io_start(c->ev, &c->rio);
  return 0;
}

/* ---- server ---- */

static void server_prepare(struct ev_loop *ev, ev_prepare *w, int revents)
{
  (void)ev;
  (void)revents;
  struct can_net_server *s = w->data;
  for (struct can_net_conn **pp = &s->conns; *pp;) {
    struct can_net_conn *c = *pp;
    if (!c->dead && c->off < c->nout && !ev_is_active(&c->wio))
      can_net_flush(c);
    if (c->dead) {
      *pp = c->next;
      s->nconns--;
      conn_free(c);
      continue;
    }
    pp = &c->next;
  }
}

static void server_add(struct can_net_server *s, struct can_net_conn *c)
{
  c->srv = s;
  c->next = s->conns;
  s->conns = c;
  s->nconns++;
}

static void on_accept(struct ev_loop *ev, ev_io *w, int revents)
{
  (void)revents;
  struct can_net_server *s = w->data;
  for (int i = 0; i < 64; i++) {
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    int fd = accept4(s->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
      return;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct can_net_conn *c = conn_new(ev, fd, fd, s->proto, s->owner, &s->stats, s->log,
                                      s->log_ctx);
    char hbuf[48] = "?", pbuf[8] = "?";
    getnameinfo((struct sockaddr *)&ss, sl, hbuf, sizeof(hbuf), pbuf, sizeof(pbuf),
                NI_NUMERICHOST | NI_NUMERICSERV);
    snprintf(c->peer, sizeof(c->peer), "%s:%s", hbuf, pbuf);
    server_add(s, c);
    conn_begin(c);
  }
}

static int listen_on(const char *host, uint16_t port, uint16_t *bound)
{
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                           .ai_flags = AI_PASSIVE};
  struct addrinfo *res = NULL;
  char ps[8];
  snprintf(ps, sizeof(ps), "%u", port);
  int g = getaddrinfo(host, ps, &hints, &res);
  if (g != 0)
    return g == EAI_SYSTEM ? -errno : -EADDRNOTAVAIL;
  int err = -EADDRNOTAVAIL;
  int fd = -1;
  for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      err = -errno;
      continue;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 128) == 0)
      break;
    err = -errno;
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0)
    return err;
  struct sockaddr_storage ss;
  socklen_t sl = sizeof(ss);
  getsockname(fd, (struct sockaddr *)&ss, &sl);
  *bound = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                           : ((struct sockaddr_in *)&ss)->sin_port);
  return fd;
}

struct can_net_server *can_net_server_new_nolisten(struct sim_loop *loop,
                                                   const struct can_net_proto *proto,
                                                   void *owner)
{
  struct can_net_server *s = xcalloc(1, sizeof(*s));
  s->loop = loop;
  s->ev = sim_loop_ev(loop);
  s->proto = proto;
  s->owner = owner;
  s->lfd = -1;
  ev_prepare_init(&s->prep, server_prepare);
  s->prep.data = s;
  ev_prepare_start(s->ev, &s->prep);
  ev_unref(s->ev);
  return s;
}

int can_net_server_new(struct can_net_server **out, struct sim_loop *loop, const char *host,
                       uint16_t port, const struct can_net_proto *proto, void *owner)
{
  *out = NULL;
  uint16_t bound = 0;
  int fd = listen_on(host, port, &bound);
  if (fd < 0)
    return fd;
  struct can_net_server *s = can_net_server_new_nolisten(loop, proto, owner);
  s->lfd = fd;
  s->port = bound;
  ev_io_init(&s->lio, on_accept, fd, EV_READ);
  s->lio.data = s;
  ev_io_start(s->ev, &s->lio);
  *out = s;
  return 0;
}

struct can_net_conn *can_net_server_adopt(struct can_net_server *s, int rfd, int wfd,
                                          const char *name)
{
  set_nonblock(rfd);
  if (wfd != rfd)
    set_nonblock(wfd);
  struct can_net_conn *c = conn_new(s->ev, rfd, wfd, s->proto, s->owner, &s->stats, s->log,
                                    s->log_ctx);
  snprintf(c->peer, sizeof(c->peer), "%s", name);
  server_add(s, c);
  return conn_begin(c) == 0 ? c : NULL;
}

void can_net_server_free(struct can_net_server *s)
{
  if (!s)
    return;
  if (s->lfd >= 0) {
    ev_io_stop(s->ev, &s->lio);
    close(s->lfd);
  }
  for (struct can_net_conn *c = s->conns; c; c = c->next)
    conn_kill(c);
  while (s->conns) {
    struct can_net_conn *c = s->conns;
    s->conns = c->next;
    conn_free(c);
  }
  ev_ref(s->ev);
  ev_prepare_stop(s->ev, &s->prep);
  free(s);
}

void can_net_server_set_log(struct can_net_server *s, can_net_log_fn fn, void *ctx)
{
  s->log = fn;
  s->log_ctx = ctx;
}

uint16_t can_net_server_port(const struct can_net_server *s)
{
  return s->port;
}

struct can_net_stats *can_net_server_stats(struct can_net_server *s)
{
  return &s->stats;
}

struct can_net_conn *can_net_server_conns(struct can_net_server *s)
{
  return s->conns;
}

size_t can_net_server_nconns(const struct can_net_server *s)
{
  size_t n = 0;
  for (const struct can_net_conn *c = s->conns; c; c = c->next)
    n += !c->dead;
  return n;
}

/* ---- client ---- */

static void client_schedule(struct can_net_client *c);

static void client_closed(struct can_net_conn *conn)
{
  struct can_net_client *c = conn->closed_ctx;
  if (c->running)
    client_schedule(c);
}

static void client_prepare(struct ev_loop *ev, ev_prepare *w, int revents)
{
  (void)ev;
  (void)revents;
  struct can_net_client *c = w->data;
  struct can_net_conn *conn = c->conn;
  if (!conn)
    return;
  if (!conn->dead && conn->off < conn->nout && !ev_is_active(&conn->wio))
    can_net_flush(conn);
  if (conn->dead) {
    conn_free(conn);
    c->conn = NULL;
  }
}

static void client_log(struct can_net_client *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void client_log(struct can_net_client *c, const char *fmt, ...)
{
  if (!c->log)
    return;
  struct sbuf b = SBUF_INIT;
  sbuf_printf(&b, "%s %s:%u: ", c->proto->name, c->host, c->port);
  va_list ap;
  va_start(ap, fmt);
  log_message(c->log, c->log_ctx, &b, fmt, ap);
  va_end(ap);
}

static void on_connected(struct ev_loop *ev, ev_io *w, int revents)
{
  (void)revents;
  struct can_net_client *c = w->data;
  ev_io_stop(ev, &c->cio);
  c->connecting = false;
  int err = 0;
  socklen_t el = sizeof(err);
  getsockopt(c->cfd, SOL_SOCKET, SO_ERROR, &err, &el);
  if (err) {
    if (c->attempts <= 1 || c->backoff >= 5.0)
      client_log(c, "connect failed: %s; retrying", strerror(err));
    close(c->cfd);
    c->cfd = -1;
    client_schedule(c);
    return;
  }
  int one = 1;
  setsockopt(c->cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (c->conn) { /* a dead one not yet collected */
    conn_free(c->conn);
    c->conn = NULL;
  }
  struct can_net_conn *conn = conn_new(ev, c->cfd, c->cfd, c->proto, c->owner, &c->stats,
                                       c->log, c->log_ctx);
  snprintf(conn->peer, sizeof(conn->peer), "%.48s:%u", c->host, c->port);
  conn->closed_cb = client_closed;
  conn->closed_ctx = c;
  c->cfd = -1;
  c->conn = conn;
  c->backoff = 0.1;
  conn_begin(conn);
}

static void client_try(struct can_net_client *c)
{
  c->attempts++;
  if (c->attempts > 1)
    c->stats.reconnects++;
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
  struct addrinfo *res = NULL;
  char ps[8];
  snprintf(ps, sizeof(ps), "%u", c->port);
  if (getaddrinfo(c->host, ps, &hints, &res) != 0 || !res) {
    client_log(c, "cannot resolve host; retrying");
    client_schedule(c);
    return;
  }
  int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    freeaddrinfo(res);
    client_schedule(c);
    return;
  }
  int rc = connect(fd, res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);
  if (rc < 0 && errno != EINPROGRESS) {
    if (c->attempts <= 1 || c->backoff >= 5.0)
      client_log(c, "connect failed: %s; retrying", strerror(errno));
    close(fd);
    client_schedule(c);
    return;
  }
  c->cfd = fd;
  c->connecting = true;
  ev_io_init(&c->cio, on_connected, fd, EV_WRITE);
  c->cio.data = c;
  ev_io_start(c->ev, &c->cio);
}

static void on_retry(struct ev_loop *ev, ev_timer *w, int revents)
{
  (void)ev;
  (void)revents;
  struct can_net_client *c = w->data;
  if (c->running)
    client_try(c);
}

static void client_schedule(struct can_net_client *c)
{
  if (!c->running || ev_is_active(&c->retry))
    return;
  ev_timer_set(&c->retry, c->backoff, 0);
  ev_timer_start(c->ev, &c->retry);
  c->backoff = c->backoff * 2 > 5.0 ? 5.0 : c->backoff * 2;
}

int can_net_client_new(struct can_net_client **out, struct sim_loop *loop, const char *host,
                       uint16_t port, const struct can_net_proto *proto, void *owner)
{
  struct can_net_client *c = xcalloc(1, sizeof(*c));
  c->loop = loop;
  c->ev = sim_loop_ev(loop);
  c->proto = proto;
  c->owner = owner;
  snprintf(c->host, sizeof(c->host), "%s", host);
  c->port = port;
  c->cfd = -1;
  c->backoff = 0.1;
  ev_timer_init(&c->retry, on_retry, 0, 0);
  c->retry.data = c;
  ev_prepare_init(&c->prep, client_prepare);
  c->prep.data = c;
  *out = c;
  return 0;
}

int can_net_client_start(struct can_net_client *c)
{
  if (c->running)
    return 0;
  c->running = true;
  ev_prepare_start(c->ev, &c->prep);
  ev_unref(c->ev);
  client_try(c);
  return 0;
}

void can_net_client_stop(struct can_net_client *c)
{
  if (!c->running)
    return;
  c->running = false;
  ev_timer_stop(c->ev, &c->retry);
  if (c->connecting) {
    ev_io_stop(c->ev, &c->cio);
    close(c->cfd);
    c->cfd = -1;
    c->connecting = false;
  }
  if (c->conn) {
    conn_kill(c->conn);
    conn_free(c->conn);
    c->conn = NULL;
  }
  ev_ref(c->ev);
  ev_prepare_stop(c->ev, &c->prep);
}

void can_net_client_free(struct can_net_client *c)
{
  if (!c)
    return;
  can_net_client_stop(c);
  free(c);
}

void can_net_client_set_log(struct can_net_client *c, can_net_log_fn fn, void *ctx)
{
  c->log = fn;
  c->log_ctx = ctx;
}

struct can_net_conn *can_net_client_conn(struct can_net_client *c)
{
  return c->conn && !c->conn->dead ? c->conn : NULL;
}

struct can_net_stats *can_net_client_stats(struct can_net_client *c)
{
  return &c->stats;
}
