/*
 * backend_net.h - what the bus backends that are clients of a remote server share
 * (backend_gvret.c, backend_socketcand.c): the end of their open (where they connect, the
 * protocol they speak), the connection that net.h keeps up, and the start, stop and close
 * slots of their ops tables.
 *
 * A backend's private state (bus->priv) begins with a struct can_backend_net; the functions
 * here take the bus and find it there.  The connection's owner (can_net_conn.owner in the
 * protocol's callbacks) is that private state.  A backend's open allocates the state with
 * xcalloc(), parses its own part of the argument, then calls can_backend_net_parse() for
 * "HOST:PORT" and returns can_backend_net_open()'s result.
 */
#ifndef SIM_CAN_BACKEND_NET_H
#define SIM_CAN_BACKEND_NET_H

#include <stdint.h>

#include "can/bus.h"
#include "can/net.h"
#include "core/diag.h"

struct can_backend_net {
  struct sim_canbus *bus; /* borrowed: the bus whose backend this is */
  char host[256];
  uint16_t port;
  const struct can_net_proto *proto; /* static */
  struct can_net_client *cli; /* owned; NULL before the first start */
};

/*
 * Parses hostport ("HOST:PORT", borrowed; both parts required) into nb->host and nb->port.
 * Returns 0, or SIM_ECONFIG with d filled: can_net_parse_hostport()'s message, or
 * "<missing> in '<arg>'" when HOST or PORT is empty (arg: the backend's whole argument).
 */
int can_backend_net_parse(struct can_backend_net *nb, const char *hostport, const char *missing,
                          const char *arg, struct sim_diag *d);
/*
 * Ends a backend's open with the result rc of its parse.  For rc 0 the private state that
 * begins with nb (allocated with xcalloc(); ownership passes to the bus) becomes bus->priv,
 * to speak proto (static) once started; for rc < 0 it is freed.  Returns rc.
 */
int can_backend_net_open(struct sim_canbus *bus, struct can_backend_net *nb,
                         const struct can_net_proto *proto, int rc);
/*
 * The start slot: creates the client on the first call (host, port and proto of the open)
 * and starts connecting.  Returns 0, or a negative errno for an unresolvable host.
 */
int can_backend_net_start(struct sim_canbus *bus);
/* The live connection, or NULL while (re)connecting or before the start. */
struct can_net_conn *can_backend_net_conn(struct sim_canbus *bus);
/* The ops slots: stop connecting (returns 0); free the client and the private state. */
int can_backend_net_stop(struct sim_canbus *bus);
void can_backend_net_close(struct sim_canbus *bus);

#endif
