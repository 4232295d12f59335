/*
 * backend_socketcan.c - Linux SocketCAN ("socketcan:can0", "socketcan:vcan0,fd").
 *
 * A CAN_RAW socket bound to the interface, read through a libev io watcher on the simulation
 * loop: classic frames, CAN FD frames (",fd": CAN_RAW_FD_FRAMES), error frames (all error
 * classes are requested with CAN_RAW_ERR_FILTER), kernel acceptance filters (CAN_RAW_FILTER)
 * from can_bus_set_filters().  Facts from the kernel's Documentation/networking/can.rst and
 * include/uapi/linux/can.h, can/raw.h.  On a kernel without CAN (no AF_CAN / PF_CAN module)
 * start() returns SIM_ENOCAN.
 */
#include <errno.h>
#include <ev.h>
#include <linux/can.h>
#include <linux/can/raw.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "can/bus.h"
#include "core/error.h"
#include "core/loop.h"
#include "core/xalloc.h"

struct sc_priv {
  char ifname[IFNAMSIZ];
  bool fd_mode;
  int fd;
  ev_io io;
  struct sim_canbus *bus;
};

static int sc_open(struct sim_canbus *bus, const char *arg, struct sim_diag *d)
{
  const char *comma = strchr(arg, ',');
  size_t n = comma ? (size_t)(comma - arg) : strlen(arg);
  if (n == 0 || n >= IFNAMSIZ) {
    sim_diag_error(d, NULL, 0, 0, "socketcan: bad interface name '%s'", arg);
    return SIM_ECONFIG;
  }
  if (comma && strcmp(comma, ",fd")) {
    sim_diag_error(d, NULL, 0, 0, "socketcan: unknown option '%s' (only ,fd)", comma + 1);
    return SIM_ECONFIG;
  }
  struct sc_priv *p = xcalloc(1, sizeof(*p));
  memcpy(p->ifname, arg, n);
  p->fd_mode = comma != NULL;
  p->fd = -1;
  p->bus = bus;
  bus->priv = p;
  return 0;
}

/* Stops the watcher and closes the socket. */
static void close_socket(struct sc_priv *p)
{
  ev_io_stop(sim_loop_ev(p->bus->loop), &p->io);
  close(p->fd);
  p->fd = -1;
}

static void on_readable(struct ev_loop *ev, ev_io *w, int revents)
{
  struct sc_priv *p = w->data;
  for (int k = 0; k < 64; k++) {
    struct canfd_frame cf;
    ssize_t n = read(p->fd, &cf, sizeof(cf));
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR)
        return;
      int err = errno;
      close_socket(p);
      p->bus->started = false; /* lost: the program ends the run (app/run.c) */
      can_bus_report_error(p->bus, -err, "socketcan read failed (interface down?)");
      return;
    }
    if (n != CAN_MTU && n != CANFD_MTU) {
      p->bus->stats.rx_err++;
      continue;
    }
    struct sim_frame f = {0};
    f.ts = sim_now(p->bus->loop);
    if (cf.can_id & CAN_ERR_FLAG) {
      f.flags |= SIM_CAN_F_ERR;
      f.id = cf.can_id & CAN_ERR_MASK;
    } else if (cf.can_id & CAN_EFF_FLAG) {
      f.flags |= SIM_CAN_F_EXT;
      f.id = cf.can_id & CAN_EFF_MASK;
    } else {
      f.id = cf.can_id & CAN_SFF_MASK;
    }
    if (cf.can_id & CAN_RTR_FLAG)
      f.flags |= SIM_CAN_F_RTR;
    uint8_t len = cf.len > (n == CANFD_MTU ? 64 : 8) ? (n == CANFD_MTU ? 64 : 8) : cf.len;
    if (n == CANFD_MTU) {
      f.flags |= SIM_CAN_F_FD;
      if (cf.flags & CANFD_BRS)
        f.flags |= SIM_CAN_F_BRS;
      if (cf.flags & CANFD_ESI)
        f.flags |= SIM_CAN_F_ESI;
    }
    f.len = len;
    memcpy(f.data, cf.data, len);
    can_bus_deliver(p->bus, &f);
  }
}

static int sc_start(struct sim_canbus *bus)
{
  struct sc_priv *p = bus->priv;
  int fd = socket(PF_CAN, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, CAN_RAW);
  if (fd < 0)
    return errno == EAFNOSUPPORT || errno == EPROTONOSUPPORT ? SIM_ENOCAN : -errno;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof(ifr));
  memcpy(ifr.ifr_name, p->ifname, strlen(p->ifname));
  if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0) {
    int err = -errno;
    close(fd);
    return err;
  }
  can_err_mask_t em = CAN_ERR_MASK;
  setsockopt(fd, SOL_CAN_RAW, CAN_RAW_ERR_FILTER, &em, sizeof(em));
  if (p->fd_mode) {
    int on = 1;
    if (setsockopt(fd, SOL_CAN_RAW, CAN_RAW_FD_FRAMES, &on, sizeof(on)) < 0) {
      int err = -errno;
      close(fd);
      return err;
    }
  }
  struct sockaddr_can addr;
  memset(&addr, 0, sizeof(addr));
  addr.can_family = AF_CAN;
  addr.can_ifindex = ifr.ifr_ifindex;
  if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
    int err = -errno;
    close(fd);
    return err;
  }
  p->fd = fd;
  ev_io_init(&p->io, on_readable, fd, EV_READ);
  p->io.data = p;
  ev_io_start(sim_loop_ev(bus->loop), &p->io);
  return 0;
}

static int sc_stop(struct sim_canbus *bus)
{
  struct sc_priv *p = bus->priv;
  if (p->fd >= 0)
    close_socket(p);
  return 0;
}

static int sc_set_filters(struct sim_canbus *bus, const struct sim_can_filter *f, size_t n)
{
  struct sc_priv *p = bus->priv;
  if (p->fd < 0)
    return SIM_ESTATE;
  struct can_filter kf[SIM_CANBUS_MAX_FILTERS];
  for (size_t i = 0; i < n && i < SIM_CANBUS_MAX_FILTERS; i++) {
    kf[i].can_id = f[i].id | (f[i].ext ? CAN_EFF_FLAG : 0);
    kf[i].can_mask = f[i].mask | (f[i].ext_matters ? CAN_EFF_FLAG : 0);
  }
  if (setsockopt(p->fd, SOL_CAN_RAW, CAN_RAW_FILTER, n ? kf : NULL,
                 (socklen_t)(n * sizeof(kf[0]))) < 0)
    return -errno;
  return 0;
}

static int sc_send(struct sim_canbus *bus, const struct sim_frame *f)
{
  struct sc_priv *p = bus->priv;
  if (p->fd < 0)
    return SIM_ESTATE;
  if (f->flags & SIM_CAN_F_ERR)
    return SIM_EUNSUP;
  struct canfd_frame cf;
  memset(&cf, 0, sizeof(cf));
  cf.can_id = f->id | (f->flags & SIM_CAN_F_EXT ? CAN_EFF_FLAG : 0) |
              (f->flags & SIM_CAN_F_RTR ? CAN_RTR_FLAG : 0);
  size_t mtu = CAN_MTU;
  if (f->flags & SIM_CAN_F_FD) {
    if (!p->fd_mode)
      return SIM_EUNSUP;
    mtu = CANFD_MTU;
    cf.flags = (uint8_t)((f->flags & SIM_CAN_F_BRS ? CANFD_BRS : 0) |
                         (f->flags & SIM_CAN_F_ESI ? CANFD_ESI : 0));
  } else if (f->len > 8) {
    return SIM_ERANGE;
  }
  cf.len = f->len;
  memcpy(cf.data, f->data, f->len);
  ssize_t n = write(p->fd, &cf, mtu);
  if (n < 0)
    return errno == ENOBUFS ? -EAGAIN : -errno;
  return n == (ssize_t)mtu ? 0 : -EIO;
}

const struct sim_canbus_ops can_backend_socketcan = {
  .name = "socketcan",
  .open = sc_open, .close = can_bus_free_priv,
  .start = sc_start, .stop = sc_stop,
  .send = sc_send,
  .set_filters = sc_set_filters,
};
