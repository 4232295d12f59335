/*
 * serve.h - simulator buses served to network tools: `--serve [N=]SCHEME:ARG`.
 *
 * A server is a node on one or more simulator buses (struct sim_canbus): it sees every frame
 * on them (a monitor: the simulator's own sends, frames received from the backend, a replay's,
 * other clients') and forwards them to its clients; what a client sends is received by the
 * simulator's nodes (vehicle decoder, responders) and transmitted on the bus's backend, and is
 * forwarded to the other clients but never echoed to its sender.  The schemes are a const
 * registry (STYLE.md section 6), side by side in sim/can/serve_<name>.c:
 *
 *   [N=]socketcand:[HOST:]PORT   bus N (default 1) as channel "canN" (linux-can socketcand)
 *   gvret:[HOST:]PORT            every bus, GVRET binary protocol (SavvyCAN "Network")
 *   [N=]elm327:[HOST:]PORT       an ELM327 OBD dongle on bus N (Wi-Fi dongles: port 35000)
 *   [N=]elm327:pty               the same on a pseudo-terminal (a Bluetooth serial port)
 *
 * HOST defaults to 0.0.0.0 (every interface, as socketcand and the dongles do).  All callbacks
 * run on the loop thread; nothing blocks it (net.h).
 */
#ifndef SIM_CAN_SERVE_H
#define SIM_CAN_SERVE_H

#include <stdbool.h>
#include <stdint.h>

#include "can/bus.h"
#include "can/net.h"
#include "core/diag.h"
#include "core/sbuf.h"

struct sim_loop;
struct metrics;
struct can_serve;

#define CAN_SERVE_DEFAULT_HOST "0.0.0.0"
#define CAN_SERVE_MAX 8

/*
 * A tap: a server's (or bridge's) place on a bus.  It monitors the bus and can inject frames
 * as if a node on the wire had sent them.  on_frame sees every frame on the bus, with origin
 * = the origin given to can_tap_inject() for the injected frame itself (so the server can
 * skip the sender), NULL for every other frame.
 */
typedef void (*can_tap_fn)(void *ctx, struct sim_canbus *bus, const struct sim_frame *f,
                           const void *origin);
struct can_tap {
  struct sim_canbus *bus; /* borrowed */
  can_tap_fn fn;
  void *ctx;
  const struct sim_frame *injecting; /* the frame being delivered by can_tap_inject() */
  const void *origin;
  bool sending; /* inside can_tap_inject()'s backend send: its TX echo is skipped */
  bool attached;
};

/* A scheme's operations.  open parses arg (no I/O); start listens and attaches to the buses
 * (s->buses, through can_serve_tap()); close (may be NULL) releases what s->priv holds besides
 * its memory.  The framework allocates s->priv (priv_size bytes, zeroed; NULL for 0) before
 * open, and detaches the taps and frees s->priv after close.  The --stats line is the same
 * for every scheme (can_serve_report()). */
struct can_serve_ops {
  const char *name;
  bool per_bus; /* takes "N=" and serves one bus; else every bus */
  size_t priv_size;
  int (*open)(struct can_serve *s, const char *arg, struct sim_diag *d);
  int (*start)(struct can_serve *s, struct sim_diag *d);
  void (*close)(struct can_serve *s);
};

struct can_serve {
  const struct can_serve_ops *ops;
  void *priv;
  struct sim_loop *loop;             /* borrowed */
  char *spec;                        /* owned */
  uint8_t bus;                       /* per-bus schemes: 1..8 */
  struct sim_canbus *buses[SIM_MAX_BUSES]; /* borrowed, set by can_serve_start() */
  char where[128];                   /* "0.0.0.0:29536" or "/dev/pts/5", after start */
  can_net_log_fn log;
  void *log_ctx;
  struct metrics *metrics;           /* borrowed, may be NULL (ELM327 ATRV) */
  char host[256];                    /* from can_serve_parse_addr() */
  uint16_t port;
  struct can_net_server *net;        /* owned; freed by can_serve_free() before ops->close */
  struct can_tap taps[SIM_MAX_BUSES]; /* the scheme's place on bus N is taps[N-1] */
};

/* The registry: NULL-terminated, looked up by scheme name. */
extern const struct can_serve_ops *const can_serve_schemes[];

/*
 * Parses a --serve spec and creates the server on loop (borrowed); nothing is opened.
 * Returns 0 and sets *out (free with can_serve_free()), or SIM_ECONFIG with d filled.
 */
int can_serve_new(struct can_serve **out, struct sim_loop *loop, const char *spec,
                  struct sim_diag *d);
/* The bus numbers s needs, as a bit mask (bit N-1 = bus N); every bus that exists for the
 * all-bus schemes (0 then: they use what is there, bus 1 at least). */
unsigned can_serve_buses(const struct can_serve *s);
/*
 * Listens and attaches to buses (the simulator's sim->buses[], borrowed; an entry may be
 * NULL).  Returns 0, or a negative error with d filled (-EADDRINUSE, a missing bus, too many
 * monitors on a bus: SIM_ELIMIT).
 */
int can_serve_start(struct can_serve *s, struct sim_canbus *const buses[SIM_MAX_BUSES],
                    struct sim_diag *d);
void can_serve_set_log(struct can_serve *s, can_net_log_fn fn, void *ctx);
/* Gives s the module's metrics (borrowed; the ELM327 reads v.b.12v.voltage for ATRV). */
void can_serve_set_metrics(struct can_serve *s, struct metrics *m);
/* Where s listens ("0.0.0.0:29536", a pty path) after can_serve_start(); "" before. */
const char *can_serve_where(const struct can_serve *s);
/* Appends the --stats line of s to out: "serve SCHEME WHERE[ (canN)]: " (the bus of a per-bus
 * scheme) and can_net_stats_report()'s counts; nothing when s listens on no socket (a pty). */
void can_serve_report(struct can_serve *s, struct sbuf *out);
/* Stops (closes every client) and frees.  NULL allowed. */
void can_serve_free(struct can_serve *s);

/* Attaches t to bus as a monitor.  Returns 0 or SIM_ELIMIT (no monitor slot left). */
int can_tap_attach(struct can_tap *t, struct sim_canbus *bus, can_tap_fn fn, void *ctx);
void can_tap_detach(struct can_tap *t);
/*
 * Puts f on the bus as sent by another node: the simulator receives it (monitors, rx callback)
 * and the bus's backend transmits it (to the wire behind the bus; failures are counted by the
 * bus, not returned).  origin identifies the sender for on_frame.
 */
void can_tap_inject(struct can_tap *t, const struct sim_frame *f, const void *origin);

/* For schemes: parses "[HOST:]PORT" into s->host and s->port.  0 or SIM_ECONFIG (d). */
int can_serve_parse_addr(struct can_serve *s, const char *arg, struct sim_diag *d);
/* For schemes: listens on s->host:s->port with proto (connections get owner), sets s->net,
 * its log and s->where.  0 or a negative errno with d filled. */
int can_serve_listen(struct can_serve *s, const struct can_net_proto *proto, void *owner,
                     struct sim_diag *d);
/* For schemes: attaches s->taps[num-1] to bus num (1-based) of s.  0 or SIM_ELIMIT with d
 * filled.  The taps are detached when start fails and by can_serve_free(). */
int can_serve_tap(struct can_serve *s, uint8_t num, can_tap_fn fn, void *ctx,
                  struct sim_diag *d);

/* Formats a frame's time for the network protocols: the simulation clock's UTC time now. */
int64_t can_serve_now_ns(const struct can_serve *s);

/* Appends "  <label>: clients N (accepted A), frames in I out O, dropped D, bad input B,
 * closed for overlong input L\n" to out. */
void can_net_stats_report(const struct can_net_stats *st, size_t clients, const char *label,
                          struct sbuf *out);

#endif
