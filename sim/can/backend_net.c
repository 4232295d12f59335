/*
 * backend_net.c - the end of the open, the start, connection, stop and close of the network
 * client backends.  See backend_net.h.
 */
#include "can/backend_net.h"

#include <stdlib.h>

#include "core/error.h"

int can_backend_net_parse(struct can_backend_net *nb, const char *hostport, const char *missing,
                          const char *arg, struct sim_diag *d)
{
  int rc = can_net_parse_hostport(hostport, "", nb->host, sizeof(nb->host), &nb->port, NULL, d);
  if (rc == 0 && (!nb->host[0] || !nb->port)) {
    sim_diag_error(d, NULL, 0, 0, "%s in '%s'", missing, arg);
    rc = SIM_ECONFIG;
  }
  return rc;
}

int can_backend_net_open(struct sim_canbus *bus, struct can_backend_net *nb,
                         const struct can_net_proto *proto, int rc)
{
  if (rc < 0) {
    free(nb);
  } else {
    nb->bus = bus;
    nb->proto = proto;
    bus->priv = nb;
  }
  return rc;
}

int can_backend_net_start(struct sim_canbus *bus)
{
  struct can_backend_net *nb = bus->priv;
  if (!nb->cli)
    can_net_client_new(&nb->cli, bus->loop, nb->host, nb->port, nb->proto, nb);
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
  can_bus_free_priv(bus);
}
