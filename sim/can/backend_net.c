/*
 * backend_net.c - the start, connection, stop and close of the network client backends.
 * See backend_net.h.
 */
#include "can/backend_net.h"

#include <stdlib.h>

int can_backend_net_start(struct sim_canbus *bus, const struct can_net_proto *proto)
{
  struct can_backend_net *nb = bus->priv;
  if (!nb->cli)
    can_net_client_new(&nb->cli, bus->loop, nb->host, nb->port, proto, nb);
  return can_net_client_start(nb->cli);
}

struct can_net_conn *can_backend_net_conn(struct sim_canbus *bus)
{
  struct can_backend_net *nb = bus->priv;
  return nb->cli ? can_net_client_conn(nb->cli) : NULL;
}

int can_backend_net_stop(struct sim_canbus *bus)
{
  struct can_backend_net *nb = bus->priv;
  if (nb->cli)
    can_net_client_stop(nb->cli);
  return 0;
}

void can_backend_net_close(struct sim_canbus *bus)
{
  struct can_backend_net *nb = bus->priv;
  can_net_client_free(nb->cli);
  free(nb);
  bus->priv = NULL;
}
