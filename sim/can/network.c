/*
 * network.c - --serve and --bridge on a struct sim (see network.h).
 */
#include "can/network.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "can/bridge.h"
#include "core/error.h"
#include "core/frame.h"
#include "core/xalloc.h"
#include "model/sim.h"

struct can_network {
  struct sim *sim;
  struct can_serve *serve[CAN_SERVE_MAX];
  int nserve;
  struct can_bridge *bridge[CAN_NETWORK_MAX_BRIDGES];
  int nbridge;
  struct sim_canbus *made[SIM_MAX_BUSES];
};

/* The checks of add_spec(): create what spec names (on no loop: nothing is opened) and free it
 * again.  0, or the creation's error with d filled. */
static int check_serve(const char *spec, struct sim_diag *d)
{
  struct can_serve *s;
  int rc = can_serve_new(&s, NULL, spec, d);
  can_serve_free(s);
  return rc;
}

static int check_bridge(const char *spec, struct sim_diag *d)
{
  struct can_bridge *b;
  int rc = can_bridge_new(&b, NULL, spec, d);
  can_bridge_free(b);
  return rc;
}

/* Appends spec (borrowed) to list[*n] (room for cap; what names the entries in the error) if
 * check accepts it.  0, SIM_ECONFIG when list is full, or check's error; d filled. */
static int add_spec(const char **list, int *n, int cap, const char *what,
                    int (*check)(const char *spec, struct sim_diag *d), const char *spec,
                    struct sim_diag *d)
{
  if (*n >= cap) {
    sim_diag_error(d, NULL, 0, 0, "at most %d %s", cap, what);
    return SIM_ECONFIG;
  }
  int rc = check(spec, d);
  if (rc == 0)
    list[(*n)++] = spec;
  return rc;
}

int can_network_add_serve(struct can_network_opts *o, const char *spec, struct sim_diag *d)
{
  return add_spec(o->serve, &o->nserve, CAN_SERVE_MAX, "servers", check_serve, spec, d);
}

int can_network_add_bridge(struct can_network_opts *o, const char *spec, struct sim_diag *d)
{
  return add_spec(o->bridge, &o->nbridge, CAN_NETWORK_MAX_BRIDGES, "bridges", check_bridge, spec,
                  d);
}

bool can_network_wanted(const struct can_network_opts *o)
{
  return o->nserve > 0 || o->nbridge > 0;
}

static int need_bus(struct can_network *n, uint8_t num, struct sim_diag *d)
{
  struct sim *sim = n->sim;
  if (sim->buses[num - 1])
    return 0;
  char spec[32];
  snprintf(spec, sizeof(spec), "mem:served-%u", num);
  int rc = can_bus_new(&sim->buses[num - 1], sim->loop, spec, num, d);
  if (rc == 0)
    rc = can_bus_start(sim->buses[num - 1]);
  if (rc == 0)
    n->made[num - 1] = sim->buses[num - 1];
  return rc;
}

int can_network_open(struct can_network **out, struct sim *sim, const struct can_network_opts *o,
                     can_net_log_fn log, void *log_ctx, struct sim_diag *d)
{
  struct can_network *n = xcalloc(1, sizeof(*n));
  n->sim = sim;
  *out = n;
  int rc = 0;
  for (int i = 0; i < o->nserve && rc == 0; i++) {
    rc = can_serve_new(&n->serve[n->nserve], sim->loop, o->serve[i], d);
    if (rc < 0)
      break;
    struct can_serve *s = n->serve[n->nserve++];
    unsigned need = can_serve_buses(s);
    if (!need)
      need = 1; /* the all-bus schemes serve bus 1 at least */
    for (uint8_t b = 1; b <= SIM_MAX_BUSES && rc == 0; b++)
      if (need & 1u << (b - 1))
        rc = need_bus(n, b, d);
  }
  for (int i = 0; i < o->nbridge && rc == 0; i++) {
    rc = can_bridge_new(&n->bridge[n->nbridge], sim->loop, o->bridge[i], d);
    if (rc < 0)
      break;
    uint8_t a, b;
    can_bridge_buses(n->bridge[n->nbridge++], &a, &b);
    rc = need_bus(n, a, d);
    if (rc == 0)
      rc = need_bus(n, b, d);
  }
  for (int i = 0; i < n->nserve && rc == 0; i++) {
    can_serve_set_log(n->serve[i], log, log_ctx);
    can_serve_set_metrics(n->serve[i], sim->metrics);
    rc = can_serve_start(n->serve[i], sim->buses, d);
  }
  return rc;
}

int can_network_start_bridges(struct can_network *n, struct sim_diag *d)
{
  int rc = 0;
  for (int i = 0; i < n->nbridge && rc == 0; i++)
    rc = can_bridge_start(n->bridge[i], n->sim->buses, d);
  return rc;
}

void can_network_describe(struct can_network *n, struct sbuf *out)
{
  for (int i = 0; i < n->nserve; i++) {
    struct can_serve *s = n->serve[i];
    if (!s->where[0])
      continue;
    if (s->ops->per_bus)
      sbuf_printf(out, "serving bus %u as %s on %s\n", s->bus, s->ops->name, s->where);
    else
      sbuf_printf(out, "serving every bus as %s on %s\n", s->ops->name, s->where);
  }
}

void can_network_report(struct can_network *n, struct sim *sim, struct sbuf *out)
{
  for (int i = 0; n && i < n->nserve; i++)
    can_serve_report(n->serve[i], out);
  for (int i = 0; n && i < n->nbridge; i++)
    can_bridge_report(n->bridge[i], out);
  for (int b = 0; b < SIM_MAX_BUSES; b++) {
    const struct sim_canbus *bus = sim->buses[b];
    if (!bus || (strcmp(bus->ops->name, "socketcand") && strcmp(bus->ops->name, "gvret")))
      continue;
    sbuf_printf(out, "bus %d %s: frames in %lu out %lu, lost %lu (sends while disconnected or "
                "refused), bad input %lu\n", b + 1, bus->spec, bus->stats.rx, bus->stats.tx,
                bus->stats.tx_err, bus->stats.rx_err);
  }
}

void can_network_free(struct can_network *n)
{
  if (!n)
    return;
  for (int i = 0; i < n->nbridge; i++)
    can_bridge_free(n->bridge[i]);
  for (int i = 0; i < n->nserve; i++)
    can_serve_free(n->serve[i]);
  can_buses_close(n->made, n->sim->buses);
  free(n);
}
