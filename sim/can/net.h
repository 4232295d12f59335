/*
 * net.h - the TCP (and tty) plumbing shared by the CAN network servers and clients
 * (socketcand, GVRET, ELM327): a listener on the simulation's libev loop, connections with a
 * bounded output queue, input reassembly with a size limit, and outgoing connections that
 * reconnect with back-off.
 *
 * Nothing here ever blocks the loop: sockets are non-blocking, output that the peer does not
 * take is queued up to SIM_NET_QUEUE_MAX bytes and then whole messages are dropped (counted in
 * can_net_stats.dropped, shown by --stats), and input that a protocol cannot consume grows to
 * at most the protocol's max_pending bytes before the connection is closed with a logged reason
 * (a socketcand line without '>' past 4 KiB).  Output is flushed once per loop iteration (an
 * ev_prepare watcher), so that a burst of frames costs one write() per client.
 *
 * A protocol is a const table of callbacks (struct can_net_proto); its per-connection state
 * hangs off can_net_conn.user.  All callbacks run on the loop thread.  Library code never
 * prints: messages go to the log callback that the owner sets (main prints them on stderr).
 */
#ifndef SIM_CAN_NET_H
#define SIM_CAN_NET_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/diag.h"

struct sim_loop;
struct can_net_conn;
struct can_net_server;

#define SIM_NET_QUEUE_MAX (256u * 1024u) /* queued output per connection, bytes */
#define SIM_NET_READ_CHUNK 16384u

/* A log line from a server or client (no newline).  msg is valid only during the call. */
typedef void (*can_net_log_fn)(void *ctx, const char *msg);

struct can_net_stats {
  unsigned long accepted;   /* connections accepted (or established, for clients) */
  unsigned long closed;     /* connections closed, for any reason */
  unsigned long overlong;   /* closed because input exceeded the protocol's limit */
  unsigned long dropped;    /* messages not queued because a client's queue was full */
  unsigned long bad_input;  /* malformed commands answered with an error */
  unsigned long frames_in;  /* frames received from clients (put on a bus) */
  unsigned long frames_out; /* frames queued to clients */
  unsigned long reconnects; /* clients: connection attempts after the first */
};

/*
 * What a protocol does with a connection.  Every slot but on_data may be NULL.
 *  on_open: a connection was accepted (or, for a client, established); greet or initialise.
 *    Returns 0, or a negative error to close it at once.
 *  on_data: n > 0 bytes arrived (p points at all unconsumed input so far).  Returns how many
 *    it consumed (0..n); the rest is kept and offered again with the next input.
 *  on_close: the connection is going away (peer closed, error, overlong input, server stop);
 *    free conn->user here.
 */
struct can_net_proto {
  const char *name;
  size_t max_pending; /* unconsumed input allowed, bytes (0 = SIM_NET_READ_CHUNK) */
  int (*on_open)(struct can_net_conn *c);
  size_t (*on_data)(struct can_net_conn *c, const uint8_t *p, size_t n);
  void (*on_close)(struct can_net_conn *c);
};

struct can_net_conn {
  const struct can_net_proto *proto;
  struct can_net_server *srv; /* NULL for client connections */
  void *user;                 /* the protocol's state */
  void *owner;                /* the object that owns the server or client */
  int fd;                     /* read side; wfd is the write side (the same, except stdio) */
  int wfd;
  char peer[64];              /* "127.0.0.1:53412" */
  uint8_t *in;                /* unconsumed input */
  size_t nin, capin;
  uint8_t *out;               /* queued output (out[off..nout)) */
  size_t off, nout, capout;
  bool closing;               /* close after the output queue drained */
  bool dead;
  ev_io rio, wio;
  struct ev_loop *ev;
  struct can_net_stats *stats; /* the server's or client's counters (borrowed) */
  can_net_log_fn log;
  void *log_ctx;
  struct can_net_conn *next;  /* in the server's list */
  void (*closed_cb)(struct can_net_conn *c); /* internal: server / client bookkeeping */
  void *closed_ctx;
};

/*
 * Splits "[HOST:]PORT" (HOST a name, an IPv4 address or "[v6]"; default_host when absent).
 * Writes the host into host (size hostsz) and the port into *port.  Returns 0 or SIM_ECONFIG
 * with a message in d (labelled what; NULL leaves the label to the caller).
 */
int can_net_parse_hostport(const char *s, const char *default_host, char *host, size_t hostsz,
                           uint16_t *port, const char *what, struct sim_diag *d);

/*
 * Creates a listener on host:port (port 0 = any free port) on loop (borrowed).  Each accepted
 * connection gets proto (borrowed, static) and owner.  Returns 0 and sets *out (free with
 * can_net_server_free(), which closes every connection), or a negative errno (-EADDRINUSE...).
 */
int can_net_server_new(struct can_net_server **out, struct sim_loop *loop, const char *host,
                       uint16_t port, const struct can_net_proto *proto, void *owner);
void can_net_server_free(struct can_net_server *s);
void can_net_server_set_log(struct can_net_server *s, can_net_log_fn fn, void *ctx);
/* The port actually bound (useful with port 0). */
uint16_t can_net_server_port(const struct can_net_server *s);
/* The server's counters (never NULL). */
struct can_net_stats *can_net_server_stats(struct can_net_server *s);
/* The first connection (then conn->next); NULL when none. */
struct can_net_conn *can_net_server_conns(struct can_net_server *s);
/* Connections currently open. */
size_t can_net_server_nconns(const struct can_net_server *s);

/*
 * Adopts an already open fd pair (a pty master, stdin/stdout) as a connection of s: the same
 * queues and callbacks as an accepted socket.  Returns the connection (owned by s) or NULL
 * when on_open refused it.
 */
struct can_net_conn *can_net_server_adopt(struct can_net_server *s, int rfd, int wfd,
                                          const char *name);
/* A server without a listening socket, for can_net_server_adopt() (a pty). */
struct can_net_server *can_net_server_new_nolisten(struct sim_loop *loop,
                                                   const struct can_net_proto *proto,
                                                   void *owner);

/*
 * Queues n bytes to c as one message: all or nothing.  Returns 0, or -ENOBUFS when the queue
 * would exceed SIM_NET_QUEUE_MAX (the message is dropped and counted), SIM_ESTATE when c is
 * closing.  The bytes go out at the end of the loop iteration (or at once with flush).
 */
int can_net_send(struct can_net_conn *c, const void *p, size_t n);
/* Writes what is queued now, as far as the socket takes it. */
void can_net_flush(struct can_net_conn *c);
/* Closes c once its queue is written (drain) or at once; why (may be NULL) is logged. */
void can_net_close(struct can_net_conn *c, bool drain, const char *why);
/* Logs a message through c's log callback, prefixed with the protocol and the peer. */
void can_net_logf(struct can_net_conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * An outgoing connection that is kept up: connects (non-blocking) to host:port, runs proto on
 * it, and after a failure or a close tries again after 0.1 s, doubling up to 5 s (wall time:
 * network back-off does not follow the simulation clock).
 */
struct can_net_client;
int can_net_client_new(struct can_net_client **out, struct sim_loop *loop, const char *host,
                       uint16_t port, const struct can_net_proto *proto, void *owner);
/* Starts connecting.  Returns 0 or a negative errno for an unresolvable host. */
int can_net_client_start(struct can_net_client *c);
void can_net_client_stop(struct can_net_client *c);
void can_net_client_free(struct can_net_client *c);
void can_net_client_set_log(struct can_net_client *c, can_net_log_fn fn, void *ctx);
/* The live connection, or NULL while (re)connecting. */
struct can_net_conn *can_net_client_conn(struct can_net_client *c);
struct can_net_stats *can_net_client_stats(struct can_net_client *c);

#endif
