/*
 * backend_mem.c - an in-memory CAN bus ("mem:NAME"), for tests and for connecting two
 * simulated components.  Every started mem bus with the same NAME (within the process) receives
 * what any other one sends, synchronously, like nodes on one wire; the sender does not receive
 * its own frame.
 */
#include <string.h>

#include "can/bus.h"
#include "core/error.h"
#include "core/xalloc.h"

struct mem_priv {
  struct sim_canbus *bus;
  struct mem_priv *next;
  char name[]; /* allocated with the state: close frees them together */
};

static struct mem_priv *wires; /* started mem buses, all names */

static int mem_open(struct sim_canbus *bus, const char *arg, struct sim_diag *d)
{
  if (!arg[0]) {
    sim_diag_error(d, NULL, 0, 0, "mem: needs a name (mem:NAME)");
    return SIM_ECONFIG;
  }
  size_t len = strlen(arg);
  struct mem_priv *p = xcalloc(1, sizeof(*p) + len + 1);
  memcpy(p->name, arg, len);
  p->bus = bus;
  bus->priv = p;
  return 0;
}

static int mem_start(struct sim_canbus *bus)
{
  struct mem_priv *p = bus->priv;
  p->next = wires;
  wires = p;
  return 0;
}

static int mem_send(struct sim_canbus *bus, const struct sim_frame *f)
{
  struct mem_priv *self = bus->priv;
  for (struct mem_priv *p = wires; p; p = p->next) {
    if (p == self || strcmp(p->name, self->name))
      continue;
    struct sim_frame copy = *f;
    can_bus_deliver(p->bus, &copy);
  }
  return 0;
}

static int mem_stop(struct sim_canbus *bus)
{
  for (struct mem_priv **pp = &wires; *pp; pp = &(*pp)->next)
    if (*pp == bus->priv) {
      *pp = (*pp)->next;
      break;
    }
  return 0;
}

const struct sim_canbus_ops can_backend_mem = {
  .name = "mem",
  .open = mem_open, .close = can_bus_free_priv,
  .start = mem_start, .stop = mem_stop,
  .send = mem_send,
};
