/*
 * spec.c - the CAN backend registry and bus spec parsing.  See spec.h.
 */
#include "can/spec.h"

#include <stdlib.h>
#include <string.h>

#include "can/bus.h"
#include "core/error.h"
#include "core/frame.h"
#include "core/sbuf.h"

extern const struct sim_canbus_ops can_backend_socketcan, can_backend_slcan, can_backend_mem;
extern const struct sim_canbus_ops can_backend_socketcand, can_backend_gvret;

const struct can_backend_entry can_backends[] = {
    {"socketcan", &can_backend_socketcan, "socketcan:can0"},
    {"slcan", &can_backend_slcan, "slcan:/dev/ttyACM0@500000"},
    {"mem", &can_backend_mem, "mem:NAME"},
    {"socketcand", &can_backend_socketcand, "socketcand:HOST:PORT/can0"},
    {"gvret", &can_backend_gvret, "gvret:HOST:23"},
    {NULL, NULL, NULL},
};

const struct sim_canbus_ops *can_backend_find(const char *name, size_t len)
{
  for (const struct can_backend_entry *e = can_backends; e->scheme; e++)
    if (strlen(e->scheme) == len && !strncmp(e->scheme, name, len))
      return e->ops;
  return NULL;
}

const char *can_spec_strip_num(const char *spec)
{
  const char *eq = strchr(spec, '=');
  const char *colon = strchr(spec, ':');
  return eq && (!colon || eq < colon) ? eq + 1 : spec;
}

/* "expected BACKEND:ARG (socketcan:can0, ...) in 'SPEC'", the examples from the registry. */
static int no_colon(const char *spec, int col, struct sim_diag *d)
{
  struct sbuf ex = SBUF_INIT;
  for (const struct can_backend_entry *e = can_backends; e->scheme; e++)
    sbuf_printf(&ex, "%s%s", e == can_backends ? "" : ", ", e->example);
  sim_diag_error(d, NULL, 0, col, "expected BACKEND:ARG (%s) in '%s'", sbuf_str(&ex), spec);
  sbuf_free(&ex);
  return SIM_ECONFIG;
}

int can_bus_parse_spec(const char *spec, uint8_t *num, const struct sim_canbus_ops **backend,
                       const char **arg, struct sim_diag *d)
{
  *num = 0;
  const char *p = can_spec_strip_num(spec);
  if (p != spec) {
    char *end;
    long n = strtol(spec, &end, 10);
    if (end != p - 1 || n < 1 || n > SIM_MAX_BUSES) {
      sim_diag_error(d, NULL, 0, 1, "bus number must be 1..%d in '%s'", SIM_MAX_BUSES, spec);
      return SIM_ECONFIG;
    }
    *num = (uint8_t)n;
  }
  const char *colon = strchr(p, ':');
  if (!colon)
    return no_colon(spec, (int)(p - spec) + 1, d);
  const struct sim_canbus_ops *ops = can_backend_find(p, (size_t)(colon - p));
  if (!ops) {
    sim_diag_error(d, NULL, 0, (int)(p - spec) + 1, "unknown CAN backend '%.*s'",
                   (int)(colon - p), p);
    return SIM_ECONFIG;
  }
  if (backend)
    *backend = ops;
  if (arg)
    *arg = colon + 1;
  return 0;
}
