/*
 * spec.h - naming a CAN bus in text: the backend registry and the "[N=]backend:arg" syntax.
 *
 * A bus is named as `backend:arg`, optionally prefixed by the simulator bus number it takes
 * (`2=slcan:/dev/ttyUSB0@500000`).  The backend part is looked up in can_backends[], a const
 * table with one row per backend the user can name; adding a backend (sim/can/backend_<name>.c
 * with its const struct sim_canbus_ops) is one row there.  The registry's examples also make
 * the "expected BACKEND:ARG (...)" message, so a new row shows up in it.
 *
 * Diagnostics carry no file name (the caller knows where the text came from and may label the
 * entries, see sim_diag_entry.file); the column points into the spec.
 */
#ifndef SIM_CAN_SPEC_H
#define SIM_CAN_SPEC_H

#include <stddef.h>
#include <stdint.h>

#include "core/diag.h"

struct sim_canbus_ops;

/* One row of the registry: the scheme as written before ':', its operations and an example
 * argument list for messages ("socketcan:can0"). */
struct can_backend_entry {
  const char *scheme;
  const struct sim_canbus_ops *ops;
  const char *example;
};

/* The registry, terminated by a row with scheme NULL. */
extern const struct can_backend_entry can_backends[];

/* The backend whose scheme is the len bytes at name, or NULL. */
const struct sim_canbus_ops *can_backend_find(const char *name, size_t len);

/*
 * Splits a bus spec "[N=]backend:arg".  Sets *num to N (0 when absent), *backend to the
 * backend (borrowed from can_backends) and *arg to the part after ':' (points into spec).
 * Returns 0, or SIM_ECONFIG with a message in d (unknown backend, N outside 1..SIM_MAX_BUSES,
 * no ':').  backend and arg may be NULL when only the check matters.
 */
int can_bus_parse_spec(const char *spec, uint8_t *num, const struct sim_canbus_ops **backend,
                       const char **arg, struct sim_diag *d);

/* The spec without its "N=" prefix (points into spec). */
const char *can_spec_strip_num(const char *spec);

#endif
