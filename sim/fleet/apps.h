/*
 * apps.h - the app side of the Server V3 protocol: M simulated app clients (a phone app, a
 * web dashboard) as the 2018 design post describes them, for load tests beside a fleet or
 * against a real module.
 *
 * App j watches one vehicle (ovms/<user>/<vehicle id>/): it connects with a last will
 * client/<client id>/active = 0, announces itself with client/<client id>/active = 1 at QoS 1
 * once a minute (simulation time) and at once whenever the module's metric/s/v3/connected
 * becomes "yes" (the module forgets its clients when it reconnects), and, with a command
 * set, sends it on client/<client id>/command/<n> once a minute; the response on
 * client/<client id>/response/<n> is matched by n and its latency (wall time) recorded.
 * Each app is a libmosquitto client on the loop's libev loop (one descriptor per app with
 * v3_mqtt_single_fd); the apps share one 1 s sim_timer.  Nothing is printed.
 */
#ifndef SIM_FLEET_APPS_H
#define SIM_FLEET_APPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/diag.h"
#include "core/sbuf.h"

struct sim_loop;
struct fleet_apps;

/* What app j watches and how it logs in (strings borrowed for the call). */
struct fleet_app_target {
  const char *user;       /* the topic's user and the MQTT user name; "" = none */
  const char *password;   /* NULL = none */
  const char *vehicle_id;
};

struct fleet_apps_options {
  size_t n;
  const char *host;
  int port;
  const char *command;    /* NULL: no commands */
  /* Fills the target of app j (called once per app in fleet_apps_new()). */
  void (*target)(void *ctx, size_t j, struct fleet_app_target *out);
  void *target_ctx;
};

/* Creates and starts the apps on loop (borrowed).  Returns 0 (*out owned by the caller) or a
 * negative error with its message in d (may be NULL). */
int fleet_apps_new(struct sim_loop *loop, const struct fleet_apps_options *o,
                   struct fleet_apps **out, struct sim_diag *d);
/* Disconnects without DISCONNECT (the broker publishes every will) and frees.  NULL is fine. */
void fleet_apps_free(struct fleet_apps *a);

struct fleet_apps_stats {
  size_t apps, connected;
  uint64_t announces, commands, responses, unmatched;
  size_t pending;                  /* commands without a response yet */
  int64_t lat_p50_ns, lat_p99_ns, lat_max_ns;
};
void fleet_apps_get_stats(const struct fleet_apps *a, struct fleet_apps_stats *st);
/* Appends the apps' report: text lines, or with json one JSON object. */
void fleet_apps_report(const struct fleet_apps *a, struct sbuf *out, bool json);

#endif
