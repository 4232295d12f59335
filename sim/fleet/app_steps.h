/*
 * app_steps.h - the app clients behind a scenario's app: steps (docs/scenarios.md "app"):
 * named app clients that connect, disconnect, drop their connection and send commands when
 * the timeline says so, and report how each step ended (scenario_run_app_done()).
 *
 * An app behaves as the design post's app (and the --apps clients, apps.h): it connects with
 * the will client/<id>/active = 0 (QoS 1), announces client/<id>/active = 1 at QoS 1 at once,
 * every minute of simulation time and whenever the module's metric/s/v3/connected becomes
 * "yes"; a command goes out on client/<id>/command/<n> at QoS 2 and its answer is the first
 * message on client/<id>/response/<n>.  Latencies and time-outs are wall time: they are the
 * network's and the module's, not the simulation's.  In virtual time (--fast) a step that
 * waits holds the simulation clock (sim_loop_hold()), as the module's transport does.
 */
#ifndef SIM_FLEET_APP_STEPS_H
#define SIM_FLEET_APP_STEPS_H

#include <stdbool.h>

#include "core/diag.h"
#include "scenario/scenario.h"

struct sim;
struct sim_loop;
struct app_steps;

struct app_steps_options {
  const char *host;       /* the broker */
  int port;
  bool tls;               /* mqtts: verify the server with cafile/capath (NULL: system CAs) */
  const char *cafile, *capath, *certfile, *keyfile;
  const char *user;       /* MQTT user name and the topic's user; "" = none */
  const char *password;   /* NULL = none */
  /* The module whose configuration names the topics at each connect: config vehicle id (the
   * vehicle watched unless a step gives one) and server.v3 topic.prefix.  Borrowed. */
  struct sim *sim;
};

/* The ops to install with scenario_run_set_apps(run, &app_steps_ops, apps). */
extern const struct scenario_app_ops app_steps_ops;

/* Creates the (idle) app clients on loop.  Strings are copied.  Returns 0 (*out owned by the
 * caller) or a negative error with its message in d (may be NULL). */
int app_steps_new(struct sim_loop *loop, const struct app_steps_options *o,
                  struct app_steps **out, struct sim_diag *d);
/* Closes every app without DISCONNECT (the broker publishes their wills) and frees.  NULL is
 * fine. */
void app_steps_free(struct app_steps *s);

/* Whether an app ever got a CONNACK accepting it, and why the last connection attempt failed
 * ("" if none did). */
bool app_steps_ever_connected(const struct app_steps *s);
const char *app_steps_last_error(const struct app_steps *s);

#endif
