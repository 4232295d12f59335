/*
 * backend_net.h - what the bus backends that are clients of a remote server share
 * (backend_gvret.c, backend_socketcand.c): where they connect, the connection that net.h keeps
 * up, and the start, stop and close slots of their ops tables.
 *
 * A backend's private state (bus->priv) begins with a struct can_backend_net; the functions
 * here take the bus and find it there.  The connection's owner (can_net_conn.owner in the
 * protocol's callbacks) is that private state.
 */
#ifndef SIM_CAN_BACKEND_NET_H
#define SIM_CAN_BACKEND_NET_H

#include <stdint.h>

#include "can/bus.h"
#include "can/net.h"

struct can_backend_net {
  struct sim_canbus *bus; /* borrowed: the bus whose backend this is */
  char host[256];
  uint16_t port;
  struct can_net_client *cli; /* owned; NULL before the first start */
};

/*
 * Creates the client on the first call (host, port and proto, borrowed and static) and starts
 * connecting.  Returns 0, or a negative errno for an unresolvable host.
 */
int can_backend_net_start(struct sim_canbus *bus, const struct can_net_proto *proto);
/* The live connection, or NULL while (re)connecting or before the start. */
struct can_net_conn *can_backend_net_conn(struct sim_canbus *bus);
/* The ops slots: stop connecting (returns 0); free the client and the private state. */
int can_backend_net_stop(struct sim_canbus *bus);
void can_backend_net_close(struct sim_canbus *bus);

#endif
