/*
 * sim.h - the context of one simulated module.
 *
 * A struct sim ties together what one OVMS module has: its loop and clock, metrics, events,
 * configuration, notifications, vehicle, CAN buses, Server V3 connection and command shell.
 * It is passed explicitly to every component (no globals), so one process can run a fleet of
 * modules, each its own struct sim, on one loop.
 */
#ifndef SIM_SIM_H
#define SIM_SIM_H

#include <stdint.h>

#include "core/frame.h"
#include "model/config.h"
#include "model/events.h"
#include "core/loop.h"
#include "model/metrics.h"
#include "model/profile.h"
#include "core/rng.h"

struct sim_notify_queue; /* notify.c */
struct vehicle;          /* vehicle.h */
struct v3;               /* v3.h */
struct sim_canbus;       /* can/bus.h */
struct scenario_run;     /* scenario.h */

/*
 * What commands can do to the car (the firmware's OvmsVehicle::Command* virtuals).  The active
 * source of truth installs it: the scenario engine (its physics model obeys), a vehicle
 * emulation, or nothing.  Every slot may be NULL ("functionality not available").  Each
 * returns 0 on success, SIM_EUNSUP when not available, another negative code on failure.
 */
struct sim_control_ops {
  int (*charge_start)(void *ctx);
  int (*charge_stop)(void *ctx);
  int (*charge_mode)(void *ctx, const char *mode);   /* standard|storage|range|performance */
  int (*charge_current)(void *ctx, int amps);
  int (*climate)(void *ctx, int on);
  int (*lock)(void *ctx, const char *pin);
  int (*unlock)(void *ctx, const char *pin);
  int (*valet)(void *ctx, const char *pin, int on);
  int (*wakeup)(void *ctx);
  int (*homelink)(void *ctx, int button);
};

struct sim {
  struct sim_loop *loop;      /* borrowed: shared by a fleet */
  struct metrics *metrics;
  struct sim_events *events;
  struct sim_config *config;
  const struct sim_profile *profile;
  struct sim_rng rng;
  struct sim_notify_queue *notify;
  struct vehicle *vehicle;
  struct v3 *v3;
  struct scenario_run *scenario;
  struct sim_canbus *buses[SIM_MAX_BUSES]; /* index = bus number - 1 */
  const struct sim_control_ops *control; /* may be NULL */
  void *control_ctx;
  void *user;                  /* for the program */
};

/*
 * Creates a module context on loop (borrowed): metrics, events and configuration for the given
 * profile (NULL = current), the random generator seeded with seed.  Other members start NULL
 * and are filled by their components.  Free with sim_free().
 */
struct sim *sim_new(struct sim_loop *loop, const struct sim_profile *profile, uint64_t seed);
/* Frees what sim_new() created and whatever components are still attached. */
void sim_free(struct sim *sim);

/* Registers fn(ctx) to run in sim_free(), in reverse order of registration (components
 * that attach themselves to the context use it to be freed with it). */
void sim_on_free(struct sim *sim, void (*fn)(void *ctx), void *ctx);

/* Registers fn(sim) to run in every sim_new() from now on, right after the configuration is
 * created and before sim_new() returns (components that are not part of the model use it to
 * declare their config keys, e.g. Server V3: v3_register()).  Process-wide, as the firmware's
 * components initialise once at boot; call it at program start, before any sim_new().
 * Registering the same fn again does nothing.  Returns 0, or SIM_ELIMIT past 8 hooks. */
int sim_on_new(void (*fn)(struct sim *sim));

/* The vehicle id (config "vehicle id"), "" when unset. */
const char *sim_vehicle_id(const struct sim *sim);

#endif
