/*
 * serve_elm327.c - `--serve [N=]elm327:[HOST:]PORT` and `--serve [N=]elm327:pty`: an ELM327
 * OBD-II dongle (elm327.h) on simulator bus N, reachable as a Wi-Fi dongle (TCP; real ones
 * listen on 192.168.0.10:35000) or as a serial port on a pseudo-terminal (how a Bluetooth
 * dongle's RFCOMM port appears to an app; the path is logged at start and is can_serve_where()).
 *
 * Every TCP client gets its own interpreter (its own settings, as if each had a dongle); the
 * pty is one.  Requests go onto the bus as frames from another node, so the ISO-TP responders
 * on the simulator bus (and a real car behind the bus's backend) answer them; the answers are
 * collected by the interpreter.  The response timeout runs on wall time (an app on the other
 * side waits in wall time).  ATRV reads the metric v.b.12v.voltage.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "can/elm327.h"
#include "can/net.h"
#include "can/serve.h"
#include "core/error.h"
#include "core/loop.h"
#include "core/xalloc.h"
#include "model/metrics.h"

/* s->priv; the connections' owner and the tap's context is the struct can_serve. */
struct elm_server {
  bool pty;
  int slave_fd; /* pty: kept open so that the master never reads EIO between app sessions */
};

struct elm_client {
  struct elm327 *elm;
  struct can_net_conn *c;
  struct can_serve *s;
  ev_timer timer;
};

static void io_write(void *ctx, const char *s, size_t n)
{
  struct elm_client *cl = ctx;
  can_net_send(cl->c, s, n);
}

static int io_send(void *ctx, const struct sim_frame *f)
{
  struct elm_client *cl = ctx;
  cl->c->stats->frames_in++;
  can_tap_inject(&cl->s->taps[cl->s->bus - 1], f, cl->c);
  return 0;
}

static void on_timer(struct ev_loop *ev, ev_timer *w, int revents)
{
  (void)ev;
  (void)revents;
  struct elm_client *cl = w->data;
  elm327_timeout(cl->elm);
}

static void io_arm(void *ctx, int64_t ns)
{
  struct elm_client *cl = ctx;
  ev_timer_stop(cl->c->ev, &cl->timer);
  if (ns > 0) {
    ev_timer_set(&cl->timer, (double)ns / 1e9, 0);
    ev_timer_start(cl->c->ev, &cl->timer);
  }
}

static double io_volts(void *ctx)
{
  struct elm_client *cl = ctx;
  struct metrics *ms = cl->s->metrics;
  struct metric *m = ms ? metrics_find(ms, "v.b.12v.voltage") : NULL;
  return m && metric_is_defined(m) ? metric_float(m) : 12.6;
}

static void on_bus_frame(void *ctx, struct sim_canbus *bus, const struct sim_frame *f,
                         const void *origin)
{
  (void)bus;
  struct can_serve *s = ctx;
  for (struct can_net_conn *c = can_net_server_conns(s->net); c; c = c->next) {
    struct elm_client *cl = c->user;
    if (!c->dead && cl && c != origin && elm327_busy(cl->elm)) {
      elm327_frame(cl->elm, f);
      c->stats->frames_out++;
    }
  }
}

static int elm_open(struct can_net_conn *c)
{
  struct elm_client *cl = xcalloc(1, sizeof(*cl));
  cl->c = c;
  cl->s = c->owner;
  ev_timer_init(&cl->timer, on_timer, 0, 0);
  cl->timer.data = cl;
  struct elm327_io io = {io_write, io_send, io_arm, io_volts, cl};
  cl->elm = elm327_new(&io);
  c->user = cl;
  return 0;
}

static size_t elm_data(struct can_net_conn *c, const uint8_t *p, size_t n)
{
  struct elm_client *cl = c->user;
  elm327_input(cl->elm, p, n);
  return n;
}

static void elm_close(struct can_net_conn *c)
{
  struct elm_client *cl = c->user;
  ev_timer_stop(c->ev, &cl->timer);
  elm327_free(cl->elm);
  free(cl);
}

static const struct can_net_proto elm_proto = {
  .name = "elm327",
  .on_open = elm_open, .on_close = elm_close,
  .on_data = elm_data,
};

static int elm_sopen(struct can_serve *s, const char *arg, struct sim_diag *d)
{
  struct elm_server *sv = s->priv;
  sv->pty = !strcmp(arg, "pty");
  sv->slave_fd = -1;
  return sv->pty ? 0 : can_serve_parse_addr(s, arg, d);
}

static int open_pty(struct can_serve *s, struct sim_diag *d)
{
  struct elm_server *sv = s->priv;
  int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0) {
    int err = -errno;
    if (m >= 0)
      close(m);
    sim_diag_error(d, NULL, 0, 0, "%s: cannot create a pseudo-terminal: %s",
                   s->spec, sim_strerror(err));
    return err;
  }
  const char *name = ptsname(m);
  snprintf(s->where, sizeof(s->where), "%s", name ? name : "?");
  sv->slave_fd = open(s->where, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (sv->slave_fd >= 0) {
    struct termios t;
    if (tcgetattr(sv->slave_fd, &t) == 0) {
      cfmakeraw(&t);
      tcsetattr(sv->slave_fd, TCSANOW, &t);
    }
  }
  s->net = can_net_server_new_nolisten(s->loop, &elm_proto, s);
  can_net_server_set_log(s->net, s->log, s->log_ctx);
  if (!can_net_server_adopt(s->net, m, m, s->where)) {
    sim_diag_error(d, NULL, 0, 0, "%s: cannot use the pseudo-terminal", s->spec);
    return SIM_ESTATE;
  }
  return 0;
}

static int elm_start(struct can_serve *s, struct sim_diag *d)
{
  struct elm_server *sv = s->priv;
  int rc = sv->pty ? open_pty(s, d) : can_serve_listen(s, &elm_proto, s, d);
  if (rc == 0)
    rc = can_serve_tap(s, s->bus, on_bus_frame, s, d);
  return rc;
}

static void elm_sclose(struct can_serve *s)
{
  struct elm_server *sv = s->priv;
  if (sv->slave_fd >= 0)
    close(sv->slave_fd);
}

const struct can_serve_ops can_serve_elm327 = {
  .name = "elm327",
  .per_bus = true,
  .priv_size = sizeof(struct elm_server),
  .open = elm_sopen, .close = elm_sclose,
  .start = elm_start,
};
