/*
 * backend_slcan.c - slcan / Lawicel serial USB-CAN adapters (CANable, CANtact, Lawicel
 * CANUSB...) spoken directly over the tty, without the kernel's slcan driver:
 * "slcan:/dev/ttyACM0@500000" (bitrate optional, default 500000; ",ts" at the end asks the
 * adapter for its millisecond timestamps with Z1 - they are accepted and checked, frames are
 * still stamped with the simulation clock).
 *
 * start(): opens the tty raw (termios, 115200 8N1 - USB CDC adapters ignore the speed), sends
 * "C\r" (close, in case it was left open), "S<n>\r" (bitrate), "Z0\r" (no timestamps) and
 * "O\r" (open) - "Z1\r" with ",ts" -, then reads lines through a libev io watcher: frames (t/T/r/R/d/D/b/B, via the
 * codec in slcan.c) are delivered, '\r' acknowledgements and 'z'/'Z' transmit confirmations
 * are consumed, BEL ('\a') answers and unparsable lines are counted as rx_err.  A path that
 * is not a tty (/dev/null) fails start() with -ENOTTY; an adapter answering BEL to S or O is
 * unusable: the bus stops (started = false) and the error callback is told (-EPROTO).  When
 * the adapter goes away (read returns 0 / EIO, e.g. unplugged) the same happens with -ENODEV.
 * stop() sends "C\r" (if the tty takes it at once) and closes the tty.
 *
 * Transmit never blocks: what the tty does not take at once waits in an output buffer
 * (SL_OUT_CAP bytes) that an EV_WRITE watcher flushes.  A frame whose whole line does not fit
 * in that buffer is not sent and send() returns -EAGAIN, as socketcan does for a full queue:
 * the periodic emulator and ISO-TP defer and retry.  Lines are never cut: the adapter sees
 * every accepted frame whole, in order.
 */
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "can/bus.h"
#include "can/slcan.h"
#include "core/error.h"
#include "core/loop.h"
#include "core/xalloc.h"

struct sl_priv {
  uint32_t bitrate;
  bool timestamps;
  int fd;
  ev_io io;
  struct sim_canbus *bus;
  char line[SLCAN_MAX_LINE + 8];
  size_t n;
  bool overflow;
  unsigned long bel; /* error answers from the adapter */
  int acks;          /* answers to the start-up commands C, S, Z, O received so far */
  ev_io wio;         /* EV_WRITE, active while out holds bytes */
  char out[4096];    /* accepted output the tty has not taken yet */
  size_t out_len;
  char path[]; /* allocated with the state: close frees them together */
};

#define SL_OUT_CAP sizeof(((struct sl_priv *)0)->out)

/* The start-up commands in the order sent; an adapter refusing S (bitrate) or O (open) cannot
 * be used.  C may be refused (the channel was already closed: Lawicel answers BEL), Z by
 * adapters without timestamps. */
#define SL_STARTUP_CMDS 4

static int sl_open(struct sim_canbus *bus, const char *arg, struct sim_diag *d)
{
  size_t alen = strlen(arg);
  bool ts = alen > 3 && !strcmp(arg + alen - 3, ",ts");
  char *copy = xstrndup(arg, ts ? alen - 3 : alen);
  arg = copy;
  const char *at = strrchr(arg, '@');
  uint32_t rate = 500000;
  if (at) {
    char *end;
    unsigned long v = strtoul(at + 1, &end, 10);
    if (end == at + 1 || *end || slcan_bitrate_index((uint32_t)v) < 0) {
      sim_diag_error(d, NULL, 0, 0, "slcan: unsupported bitrate '%s' (10000, 20000, 50000, "
                     "100000, 125000, 250000, 500000, 800000, 1000000)", at + 1);
      free(copy);
      return SIM_ECONFIG;
    }
    rate = (uint32_t)v;
  }
  size_t n = at ? (size_t)(at - arg) : strlen(arg);
  if (!n) {
    free(copy);
    sim_diag_error(d, NULL, 0, 0, "slcan: needs a tty path (slcan:/dev/ttyACM0@500000)");
    return SIM_ECONFIG;
  }
  struct sl_priv *p = xcalloc(1, sizeof(*p) + n + 1);
  memcpy(p->path, arg, n);
  free(copy);
  p->bitrate = rate;
  p->timestamps = ts;
  p->fd = -1;
  p->bus = bus;
  bus->priv = p;
  return 0;
}

/* Writes as much of out as the tty takes now.  0 (the rest waits), or -errno. */
static int flush_out(struct sl_priv *p)
{
  size_t done = 0;
  while (done < p->out_len) {
    ssize_t k = write(p->fd, p->out + done, p->out_len - done);
    if (k < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        break;
      return -errno;
    }
    done += (size_t)k;
  }
  memmove(p->out, p->out + done, p->out_len - done);
  p->out_len -= done;
  struct ev_loop *ev = sim_loop_ev(p->bus->loop);
  if (p->out_len && !ev_is_active(&p->wio))
    ev_io_start(ev, &p->wio);
  else if (!p->out_len && ev_is_active(&p->wio))
    ev_io_stop(ev, &p->wio);
  return 0;
}

/* Queues the whole of s[0..n) behind what waits and writes what the tty takes: 0, -EAGAIN
 * (nothing queued: no room for all of it) or -errno. */
static int queue_out(struct sl_priv *p, const char *s, size_t n)
{
  if (n > SL_OUT_CAP - p->out_len)
    return -EAGAIN;
  memcpy(p->out + p->out_len, s, n);
  p->out_len += n;
  return flush_out(p);
}

/* Stops both watchers, drops what waits in out and closes the tty. */
static void close_tty(struct sl_priv *p)
{
  struct ev_loop *ev = sim_loop_ev(p->bus->loop);
  ev_io_stop(ev, &p->io);
  ev_io_stop(ev, &p->wio);
  p->out_len = 0;
  close(p->fd);
  p->fd = -1;
}

static void gone(struct sl_priv *p, int err, const char *why)
{
  close_tty(p);
  p->bus->started = false;
  can_bus_report_error(p->bus, err, why);
}

static void handle_line(struct sl_priv *p)
{
  const char *s = p->line;
  size_t n = p->n;
  if (n == 0) {
    if (p->acks < SL_STARTUP_CMDS)
      p->acks++;
    return; /* a plain '\r': OK to a command */
  }
  if ((s[0] == 'z' || s[0] == 'Z') && n == 1)
    return; /* transmit confirmation */
  if (strchr("tTrRdDbB", s[0])) {
    struct sim_frame f;
    if (slcan_decode(s, n, &f, NULL, NULL) == 0) {
      f.ts = sim_now(p->bus->loop);
      can_bus_deliver(p->bus, &f);
      return;
    }
  }
  if (s[0] == 'V' || s[0] == 'N' || s[0] == 'F')
    return; /* version / serial number / status answers */
  p->bus->stats.rx_err++;
}

static void on_readable(struct ev_loop *ev, ev_io *w, int revents)
{
  struct sl_priv *p = w->data;
  char buf[512];
  ssize_t got = read(p->fd, buf, sizeof(buf));
  if (got < 0 && (errno == EAGAIN || errno == EINTR))
    return;
  if (got <= 0) {
    gone(p, got == 0 ? -ENODEV : -errno, "slcan adapter went away (unplugged?)");
    return;
  }
  for (ssize_t i = 0; i < got; i++) {
    char c = buf[i];
    if (c == '\a') {
      if (p->acks < SL_STARTUP_CMDS && (p->acks == 1 || p->acks == 3)) {
        gone(p, -EPROTO, p->acks == 1 ? "slcan adapter refused the bitrate (S command)"
                                      : "slcan adapter refused to open the channel (O command)");
        return;
      }
      if (p->acks < SL_STARTUP_CMDS)
        p->acks++;
      p->bel++;
      p->bus->stats.rx_err++;
      p->n = 0;
      continue;
    }
    if (c == '\r' || c == '\n') {
      if (!p->overflow)
        handle_line(p);
      else
        p->bus->stats.rx_err++;
      p->n = 0;
      p->overflow = false;
      continue;
    }
    if (p->n < SLCAN_MAX_LINE)
      p->line[p->n++] = c;
    else
      p->overflow = true;
  }
}

static void on_writable(struct ev_loop *ev, ev_io *w, int revents)
{
  struct sl_priv *p = w->data;
  (void)ev;
  (void)revents;
  int rc = flush_out(p);
  if (rc < 0)
    gone(p, rc == -EIO || rc == -ENXIO ? -ENODEV : rc, "slcan adapter went away (unplugged?)");
}

static int sl_start(struct sim_canbus *bus)
{
  struct sl_priv *p = bus->priv;
  int fd = open(p->path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  struct termios tio;
  if (tcgetattr(fd, &tio) < 0) {
    int err = errno;
    close(fd);
    return -err; /* -ENOTTY: not a serial device (/dev/null, a file) */
  }
  cfmakeraw(&tio);
  cfsetispeed(&tio, B115200);
  cfsetospeed(&tio, B115200);
  tio.c_cflag |= CLOCAL | CREAD;
  if (tcsetattr(fd, TCSANOW, &tio) < 0) {
    int err = errno;
    close(fd);
    return -err;
  }
  char cmd[16];
  int idx = slcan_bitrate_index(p->bitrate);
  int n = snprintf(cmd, sizeof(cmd), "C\rS%d\rZ%d\rO\r", idx, p->timestamps ? 1 : 0);
  p->fd = fd;
  p->n = 0;
  p->acks = 0;
  p->out_len = 0;
  ev_io_init(&p->io, on_readable, fd, EV_READ);
  p->io.data = p;
  ev_io_init(&p->wio, on_writable, fd, EV_WRITE);
  p->wio.data = p;
  int rc = queue_out(p, cmd, (size_t)n);
  if (rc < 0) {
    close_tty(p);
    return rc;
  }
  ev_io_start(sim_loop_ev(bus->loop), &p->io);
  return 0;
}

static int sl_stop(struct sim_canbus *bus)
{
  struct sl_priv *p = bus->priv;
  if (p->fd >= 0) {
    queue_out(p, "C\r", 2); /* best effort: what the tty does not take now is dropped */
    close_tty(p);
  }
  return 0;
}

static int sl_send(struct sim_canbus *bus, const struct sim_frame *f)
{
  struct sl_priv *p = bus->priv;
  if (p->fd < 0)
    return SIM_ESTATE;
  char buf[SLCAN_MAX_LINE];
  int n = slcan_encode(f, buf, sizeof(buf));
  if (n < 0)
    return n;
  int rc = queue_out(p, buf, (size_t)n);
  return rc == -EIO || rc == -ENXIO ? -EIO : rc;
}

const struct sim_canbus_ops can_backend_slcan = {
  .name = "slcan",
  .open = sl_open, .close = can_bus_free_priv,
  .start = sl_start, .stop = sl_stop,
  .send = sl_send,
};
