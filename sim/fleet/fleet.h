/*
 * fleet.h - many simulated modules in one process: the load generator for servers.
 *
 * A fleet is N struct sim on one sim_loop (every timer of every car in its one timer heap),
 * each a complete module: its own metrics, configuration, notification queue (a subfolder of
 * the state directory per car), scenario run with per-car variation drawn from the seed, and
 * Server V3 engine with its own MQTT connection, client id, credentials and last will.  Cars
 * are started paced (connect_rate per second); after that each behaves exactly as a single
 * module: cadence, full syncs, client presence, reconnect back-off and jitter are the engine's
 * (sim/v3), so a broker restart is met by the firmware's fixed retry interval.
 *
 * Pure helpers (ids.c, users.c): the id pattern, shard arithmetic and the users CSV, tested
 * by tables.  The fleet itself (fleet.c) prints nothing; fleet_report() formats the fleet
 * report as text or JSON for the program.  docs/scaling.md has the costs per car.
 */
#ifndef SIM_FLEET_H
#define SIM_FLEET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/diag.h"
#include "core/sbuf.h"
#include "v3/v3.h"

struct sim;
struct sim_loop;
struct scenario;
struct sim_profile;
struct fleet;

/* ---- ids and shards (ids.c) --------------------------------------------------------------- */

#define FLEET_DEFAULT_PATTERN "SIM%04d"
#define FLEET_MAX_CARS 100000       /* in one process (one shard) */
#define FLEET_MAX_TOTAL 100000000    /* in the whole fleet, all shards */
#define FLEET_DEFAULT_CONNECT_RATE 200.0

/*
 * Checks a vehicle id pattern: printf-style text with exactly one integer conversion
 * ("%d", "%04d", "%6d"; flags 0 and -, a width up to 9), "%%" for a percent sign, no other
 * conversion.  Returns 0, or SIM_EPARSE with a message in d (may be NULL).
 */
int fleet_pattern_check(const char *pattern, struct sim_diag *d);
/* Appends the id of car number n (pattern checked before). */
void fleet_format_id(const char *pattern, unsigned long n, struct sbuf *out);

/* Parses "I/K" (0 <= I < K <= 100000).  Returns 0, or SIM_EPARSE. */
int fleet_shard_parse(const char *text, unsigned *i, unsigned *k);
/*
 * Shard i of k of a fleet of n cars: the cars with index first .. first + *count - 1 (0-based
 * index; car index j has number offset + 1 + j).  The shards are disjoint, cover 0..n-1 and
 * differ in size by at most one: first = floor(n * i / k).
 */
void fleet_shard_range(size_t n, unsigned i, unsigned k, size_t *first, size_t *count);

/* ---- users (users.c) ----------------------------------------------------------------------- */

/* One line of --fleet-users: CSV "user,password,vehicle-id". */
struct fleet_user {
  char *user, *password, *vehicle_id; /* owned */
};
struct fleet_users {
  struct fleet_user *v;
  size_t n;
};
/*
 * Parses users CSV text (name used in diagnostics): one "user,password,vehicle-id" per line;
 * empty lines and lines starting with '#' are skipped, a first line "user,password,vehicle-id"
 * is a header; fields may be double-quoted ("a,b", "" for a quote).  Every error goes to d with
 * line and column (a password is never quoted in a message).  Returns 0 (*out filled, free
 * with fleet_users_cleanup()), or SIM_EPARSE.
 */
int fleet_users_parse(const char *text, size_t len, const char *name, struct fleet_users *out,
                      struct sim_diag *d);
/* Reads and parses a file.  Returns 0, SIM_EPARSE, or -errno (recorded in d). */
int fleet_users_load(const char *path, struct fleet_users *out, struct sim_diag *d);
void fleet_users_cleanup(struct fleet_users *u);

/* ---- the fleet (fleet.c) ------------------------------------------------------------------- */

struct fleet_options {
  size_t n;                   /* cars in the whole fleet (all shards) */
  const char *pattern;        /* NULL = FLEET_DEFAULT_PATTERN */
  unsigned long offset;       /* car j has number offset + 1 + j */
  unsigned shard_i, shard_k;  /* k = 0: no sharding */
  const struct fleet_users *users; /* borrowed; NULL: every car uses the broker URL's user */
  const char *state_dir;      /* NULL: memory-only queues; else <dir>/<vehicle id>/ per car */
  double connect_rate;        /* cars started per second (simulation time); <= 0 = at once */
  uint64_t seed;              /* per-car variation and each car's own random generator */
  bool vary;                  /* draw per-car variation (default on; off = N identical cars) */
  const struct scenario *scenario; /* borrowed, may be NULL */
  const struct sim_profile *profile;
  struct v3_options v3;       /* broker, TLS, topics; password = the broker user's */
  /* Applies the program's configuration (config file, --set) to a new car before its id is
   * set.  Returns 0 or a negative error (the fleet is not started). */
  int (*configure)(void *ctx, struct sim *sim);
  void *configure_ctx;
};

/*
 * Creates the cars of this shard on loop (borrowed; every car's timers and sockets are on it)
 * and schedules their start: car j starts j / connect_rate s after fleet_start().  Raises the
 * soft RLIMIT_NOFILE to the hard limit and turns on one descriptor per MQTT connection
 * (v3_mqtt_single_fd).  o and its strings are borrowed until fleet_free().  Returns 0 (*out
 * owned by the caller), SIM_ECONFIG (bad pattern, users file too short, a car's
 * configuration refused; messages in d), -errno (a state directory).
 */
int fleet_new(struct sim_loop *loop, const struct fleet_options *o, struct fleet **out,
              struct sim_diag *d);
/* Starts the pacing of the car starts.  Returns 0. */
int fleet_start(struct fleet *f);
/* Stops and frees every car (their connections close without DISCONNECT, so the broker
 * publishes every will).  NULL is fine. */
void fleet_free(struct fleet *f);

size_t fleet_size(const struct fleet *f);
/* Car i of this shard (0 .. fleet_size() - 1); NULL when out of range or not yet created. */
struct sim *fleet_car(struct fleet *f, size_t i);
/* The --fleet-users line of car i of this shard, NULL without a users file. */
const struct fleet_user *fleet_car_user(const struct fleet *f, size_t i);
/* The vehicle id of car i of this shard. */
const char *fleet_car_id(const struct fleet *f, size_t i);

/* Fleet statistics, sampled live. */
struct fleet_stats {
  size_t cars, started, connected;  /* now */
  size_t synced;                    /* cars that finished a full sync since connecting */
  size_t ever_connected;
  uint64_t connects, reconnects, drops, refused;
  uint64_t published, bytes;        /* PUBLISH packets and payload bytes, all cars */
  uint64_t commands;
  size_t queue_total, queue_max;    /* notifications pending for Server V3 */
  int64_t first_all_synced_ns;      /* wall ns from fleet_start() until every car had
                                       connected and synced once; -1 = not yet */
  int64_t reconnect_first_ns, reconnect_last_ns; /* wall ns (sim_wall_ns) of the first and
                                       last reconnect after a drop; 0 = none */
  double elapsed_s;                 /* wall s since fleet_start() */
};
void fleet_get_stats(struct fleet *f, struct fleet_stats *st);

/* Appends the fleet report (connections, reconnects, messages/s, queue depths, timer
 * lateness of the loop all cars share): text lines, or with json one JSON object. */
void fleet_report(struct fleet *f, struct sbuf *out, bool json);
/* Appends a one-line progress text (no newline). */
void fleet_progress(struct fleet *f, struct sbuf *out);

#endif
