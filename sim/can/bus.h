/*
 * bus.h - one CAN bus of the simulated module, whatever is behind it.
 *
 * A struct sim_canbus is a bus as the vehicle code sees it: frames arrive through a receive
 * callback the owner sets (the vehicle decoder attaches there), frames leave through
 * can_bus_send().  Behind it is a backend, a const operation table (STYLE.md section 6), side
 * by side in sim/can/backend_<name>.c:
 *
 *   socketcan:IFACE[,fd]            Linux SocketCAN raw socket (CAN FD when ",fd")
 *   slcan:/dev/ttyACM0[@BITRATE]    Lawicel / slcan serial adapter spoken directly over the tty
 *   mem:NAME                        in-memory bus: every mem bus with the same NAME sees the
 *                                   frames the others send (a bus pair for tests)
 *
 *   trace:NAME                      a bus fed by trace replays (backend_trace.h); created by
 *                                   the inputs set-up (inputs.h), not named by users
 *
 * A bus is named in text as `[N=]backend:arg` (`2=slcan:/dev/ttyUSB0@500000`); spec.h holds
 * the registry of backends and splits that.  Monitors (the recorder, statistics) see every
 * frame in and out.  All callbacks run on the loop thread.
 */
#ifndef SIM_CAN_BUS_H
#define SIM_CAN_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "can/spec.h"
#include "core/diag.h"
#include "core/frame.h"

struct sim_loop;
struct sim_canbus;

/* A received frame (frame->bus = the bus number, TX flag clear).  frame is valid only during
 * the call. */
typedef void (*sim_canbus_rx_fn)(void *ctx, struct sim_canbus *bus, const struct sim_frame *f);
/* A frame seen by a monitor: received (SIM_CAN_F_TX clear) or sent (set). */
typedef void (*sim_canbus_mon_fn)(void *ctx, struct sim_canbus *bus, const struct sim_frame *f);
/* Bus state changes reported by the backend (adapter unplugged, bus-off...): err < 0. */
typedef void (*sim_canbus_err_fn)(void *ctx, struct sim_canbus *bus, int err, const char *what);
/* A problem seen by an error monitor (the recorder): a failed send (f = the frame, TX flag set,
 * what = "TX_Fail") or a bus error reported by the backend (f = NULL, what = its text).
 * err < 0; f and what are valid only during the call. */
typedef void (*sim_canbus_errmon_fn)(void *ctx, struct sim_canbus *bus, int err, const char *what,
                                     const struct sim_frame *f);

/* An acceptance filter: a frame passes when (id & mask) == (want & mask) and the EXT flag
 * matches ext (when mask covers the flag: ext_matters). */
struct sim_can_filter {
  uint32_t id;
  uint32_t mask;
  bool ext_matters;
  bool ext;
};

/*
 * The backend operations.  Every slot except name and open may be NULL.
 *  open(bus, arg, d): parses arg (the part after "name:") and allocates bus->priv; no I/O
 *    that can block.  Returns 0, SIM_ECONFIG (with d filled) for a bad argument.
 *  start: opens the device and starts receiving on bus->loop.  0 or a negative error
 *    (-ENOENT for a missing tty, SIM_ENOCAN for a kernel without CAN).
 *  send: transmits a frame.  0, -EAGAIN when the adapter's queue is full, SIM_ESTATE when
 *    not started, -EIO when the adapter went away.
 *  set_filters: installs acceptance filters in hardware/kernel (NULL = filtered in software).
 *  stop: stops receiving and closes the device; start may be called again.
 *  close: frees bus->priv (stop was called before).
 */
struct sim_canbus_ops {
  const char *name;
  int (*open)(struct sim_canbus *bus, const char *arg, struct sim_diag *d);
  int (*start)(struct sim_canbus *bus);
  int (*send)(struct sim_canbus *bus, const struct sim_frame *f);
  int (*set_filters)(struct sim_canbus *bus, const struct sim_can_filter *f, size_t n);
  int (*stop)(struct sim_canbus *bus);
  void (*close)(struct sim_canbus *bus);
};

struct sim_canbus_stats {
  unsigned long rx, tx;        /* frames received / sent */
  unsigned long rx_filtered;   /* received but rejected by the software filter */
  unsigned long rx_err;        /* error frames / bad input from the adapter */
  unsigned long tx_err;        /* failed sends */
};

#define SIM_CANBUS_MAX_MON 8 /* recorder, statistics, servers, bridges */
#define SIM_CANBUS_MAX_FILTERS 32

/* A monitor slot: fn set in mon[], errfn in errmon[]; free while both are NULL. */
struct sim_canbus_mon {
  sim_canbus_mon_fn fn;
  sim_canbus_errmon_fn errfn;
  void *ctx;
};

struct sim_canbus {
  const struct sim_canbus_ops *ops;
  void *priv;                 /* backend state */
  struct sim_loop *loop;      /* borrowed */
  char *spec;                 /* "slcan:/dev/ttyACM0@500000" (owned) */
  uint8_t num;                /* simulator bus number, 1-based */
  bool started;
  sim_canbus_rx_fn rx;        /* the owner's receive callback (may be NULL) */
  void *rx_ctx;
  sim_canbus_err_fn on_error; /* may be NULL */
  void *err_ctx;
  struct sim_canbus_mon mon[SIM_CANBUS_MAX_MON];
  struct sim_canbus_mon errmon[SIM_CANBUS_MAX_MON];
  struct sim_can_filter filters[SIM_CANBUS_MAX_FILTERS];
  size_t nfilters;            /* 0 = accept everything */
  bool hw_filters;            /* the backend applies the filters */
  struct sim_canbus_stats stats;
};

/*
 * Creates a bus from "[N=]backend:arg" with number num (1..SIM_MAX_BUSES; 0 = the spec's N,
 * else 1) on loop (borrowed).
 * Nothing is opened yet: call can_bus_start().  Returns 0 and sets *out (owned by the caller,
 * freed with can_bus_close()), SIM_ECONFIG with d filled for a bad spec.
 */
int can_bus_new(struct sim_canbus **out, struct sim_loop *loop, const char *spec, uint8_t num,
                struct sim_diag *d);
/*
 * Creates a bus with backend ops (not necessarily in the registry: the trace backend) and the
 * backend argument arg, number num (1..SIM_MAX_BUSES; 0 = 1).  bus->spec becomes
 * "name:arg".  Ownership and errors as can_bus_new().
 */
int can_bus_new_ops(struct sim_canbus **out, struct sim_loop *loop,
                    const struct sim_canbus_ops *ops, const char *arg, uint8_t num,
                    struct sim_diag *d);
/* Opens the device and starts delivering frames.  Returns 0 or the backend's error. */
int can_bus_start(struct sim_canbus *bus);
/* Sends f (its bus field is ignored; the TX flag is set on what monitors see).  Returns 0 or
 * the backend's error (counted in stats.tx_err and shown to the error monitors). */
int can_bus_send(struct sim_canbus *bus, const struct sim_frame *f);
/* Stops (closes the device).  Returns 0 or the backend's error. */
int can_bus_stop(struct sim_canbus *bus);
/* Stops if started, frees everything.  NULL is allowed. */
void can_bus_close(struct sim_canbus *bus);
/* For backends' close slots: frees bus->priv (NULL allowed) and sets it to NULL.  A close
 * slot by itself for private state that owns no other memory. */
void can_bus_free_priv(struct sim_canbus *bus);
/* Closes every bus of owned[] (the caller's; entries may be NULL) and clears the entry of
 * registry[] (the simulator's buses[]) that still points at the same bus. */
void can_buses_close(struct sim_canbus *const owned[SIM_MAX_BUSES],
                     struct sim_canbus *registry[SIM_MAX_BUSES]);

/* Sets the receive callback (one owner; NULL removes it). */
void can_bus_set_rx(struct sim_canbus *bus, sim_canbus_rx_fn fn, void *ctx);
/* Sets the error callback (one owner; NULL removes it). */
void can_bus_set_error(struct sim_canbus *bus, sim_canbus_err_fn fn, void *ctx);
/* Adds a monitor.  Returns 0 or SIM_ELIMIT when SIM_CANBUS_MAX_MON are attached. */
int can_bus_add_monitor(struct sim_canbus *bus, sim_canbus_mon_fn fn, void *ctx);
void can_bus_remove_monitor(struct sim_canbus *bus, sim_canbus_mon_fn fn, void *ctx);
/* Adds an error monitor: it sees every failed can_bus_send() and every
 * can_bus_report_error().  Returns 0 or SIM_ELIMIT when SIM_CANBUS_MAX_MON are attached. */
int can_bus_add_error_monitor(struct sim_canbus *bus, sim_canbus_errmon_fn fn, void *ctx);
void can_bus_remove_error_monitor(struct sim_canbus *bus, sim_canbus_errmon_fn fn, void *ctx);
/* Replaces the acceptance filters (n = 0: accept all).  Uses the backend's hardware filters
 * when it has them.  Returns 0, SIM_ELIMIT for too many. */
int can_bus_set_filters(struct sim_canbus *bus, const struct sim_can_filter *f, size_t n);

/* True when f passes the filter list (n = 0: always). */
bool can_filter_match(const struct sim_can_filter *flt, size_t n, const struct sim_frame *f);
/*
 * Parses a filter list "1DB,5C5,18DAF110,700/7F0,~" : comma-separated hex ids (8 digits or
 * a value above 0x7FF means 29-bit) with an optional /mask.  Appends to f (capacity cap) and
 * sets *n.  Returns 0, SIM_EPARSE (d has the column; no file name) or SIM_ELIMIT.
 */
int can_filter_parse(const char *s, struct sim_can_filter *f, size_t cap, size_t *n,
                     struct sim_diag *d);

/*
 * For backends (and the trace replay, which feeds frames into a bus as if received): delivers
 * a received frame to the monitors and, if it passes the filters, to the rx callback.
 * Sets f->bus to bus->num.
 */
void can_bus_deliver(struct sim_canbus *bus, struct sim_frame *f);
/* For backends: reports an error (adapter gone, bus off) to the error monitors and the error
 * callback. */
void can_bus_report_error(struct sim_canbus *bus, int err, const char *what);

#endif
