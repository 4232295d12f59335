/*
 * loop.h - the simulation clock and its timers, on top of one libev loop.
 *
 * Every timer in ovms-sim is a sim_timer and every "now" comes from sim_now() /
 * sim_monotonic(), never from time() or ev_now().  Three modes:
 *
 *  SIM_CLOCK_REAL   simulation time runs with the wall clock (speed 1) or a factor (--speed X);
 *                   timers fire from a CLOCK_MONOTONIC timerfd (ns resolution, absolute
 *                   deadlines), so replay lateness is not bound to epoll's millisecond timeout.
 *  SIM_CLOCK_FAST   virtual time: whenever no I/O is ready, time jumps to the next timer.
 *                   Runs as fast as the CPU allows and is deterministic: timers due at the
 *                   same instant fire in the order they were started.
 *
 * I/O watchers (sockets, ttys) are plain libev watchers on sim_loop_ev().  In fast mode a
 * component that waits for a network answer before time may move on (an MQTT QoS 2 handshake,
 * a connection being set up) takes a hold with sim_loop_hold(); while any hold is taken, the
 * loop blocks on I/O instead of advancing virtual time (at most hold_timeout of wall time).
 */
#ifndef SIM_LOOP_H
#define SIM_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct ev_loop;
struct sim_loop;
struct sim_timer;

#define SIM_NS_PER_SEC INT64_C(1000000000)
#define SIM_NS_PER_MS INT64_C(1000000)

enum sim_clock_mode { SIM_CLOCK_REAL, SIM_CLOCK_FAST };

typedef void (*sim_timer_fn)(struct sim_loop *loop, struct sim_timer *t);

/* A timer, embedded in its owner.  Initialise with sim_timer_init(); fields are private. */
struct sim_timer {
  sim_timer_fn cb;
  void *data;       /* for the owner */
  int64_t at;       /* monotonic ns of the next expiry */
  int64_t repeat;   /* ns; 0 = one-shot */
  uint64_t seq;     /* start order, breaks ties deterministically */
  int64_t heap_idx; /* -1 when not active */
};

/*
 * Creates a simulation loop on ev (borrowed; the caller runs no other loop on it).
 * epoch_ns is the UTC time, in ns since 1970, at which simulation starts (monotonic 0).
 * speed applies in SIM_CLOCK_REAL (1.0 = real time; must be > 0).
 * Returns the loop (owned by the caller, freed with sim_loop_free()).
 */
struct sim_loop *sim_loop_new(struct ev_loop *ev, enum sim_clock_mode mode, double speed,
                              int64_t epoch_ns);
void sim_loop_free(struct sim_loop *loop);
struct ev_loop *sim_loop_ev(struct sim_loop *loop);
enum sim_clock_mode sim_loop_mode(const struct sim_loop *loop);
double sim_loop_speed(const struct sim_loop *loop);

/* Simulation time: ns since start (monotonic) and UTC ns since 1970. */
int64_t sim_monotonic(const struct sim_loop *loop);
int64_t sim_now(const struct sim_loop *loop);
/* UTC seconds, as m.time.utc. */
int64_t sim_now_sec(const struct sim_loop *loop);

/* The wall-clock CLOCK_MONOTONIC time in ns (for measuring lateness and for statistics). */
int64_t sim_wall_ns(void);
/* The wall-clock time at which simulation monotonic time t is due (REAL mode). */
int64_t sim_loop_wall_deadline(const struct sim_loop *loop, int64_t t);

void sim_timer_init(struct sim_timer *t, sim_timer_fn cb, void *data);
/* Starts (or restarts) t to fire after `after` ns of simulation time, then every `repeat` ns
 * (0 = once). */
void sim_timer_start(struct sim_loop *loop, struct sim_timer *t, int64_t after, int64_t repeat);
/* Starts t to fire at simulation monotonic time `at` (in the past: as soon as possible). */
void sim_timer_start_at(struct sim_loop *loop, struct sim_timer *t, int64_t at, int64_t repeat);
void sim_timer_stop(struct sim_loop *loop, struct sim_timer *t);
static inline bool sim_timer_active(const struct sim_timer *t)
{
  return t->heap_idx >= 0;
}

/*
 * Precise timers for SIM_CLOCK_REAL (used by trace replay in real time): with slack_ns > 0
 * the timerfd is armed slack_ns before the earliest timer's deadline and the rest of the wait
 * is a short spin on clock_gettime, so timers fire within microseconds of their deadline
 * instead of after the kernel's wake-up latency (tens of µs idle, up to milliseconds on a busy
 * machine).  Timers never fire early.  The price is up to slack_ns of busy CPU per wake-up.
 * 0 turns it off (the default: wait in the kernel only); negative values count as 0.  No
 * effect in SIM_CLOCK_FAST.
 */
void sim_loop_set_precision(struct sim_loop *loop, int64_t slack_ns);
/* The slack set with sim_loop_set_precision (0 = off). */
int64_t sim_loop_precision(const struct sim_loop *loop);

/*
 * Timer lateness in SIM_CLOCK_REAL: every timer fired is counted by how late it ran (wall
 * time after its deadline) in log2 buckets of microseconds (bucket 0: < 1 µs... i: < 2^i µs).
 * With a fleet on one loop this is the lateness every car's timers see.  Copies the buckets
 * (may be NULL) and the maximum in ns (may be NULL); returns the number of timers fired.
 */
#define SIM_LATE_BUCKETS 32
uint64_t sim_loop_lateness(const struct sim_loop *loop, uint64_t buckets[SIM_LATE_BUCKETS],
                           int64_t *max_ns);
/* Counts one duration of ns in such buckets and raises *max_ns to it if larger (also used
 * for other latencies, e.g. the app clients' command round trips). */
void sim_lateness_add(uint64_t buckets[SIM_LATE_BUCKETS], int64_t *max_ns, int64_t ns);
/* An upper bound (ns) of the q-quantile (0..1) of such buckets; 0 when empty. */
int64_t sim_lateness_quantile(const uint64_t buckets[SIM_LATE_BUCKETS], double q);

/* Takes (+1) or releases (-1) a hold on virtual time (see above). */
void sim_loop_hold(struct sim_loop *loop, int delta);

/*
 * Runs until sim_loop_stop() is called or nothing is left to do (no active timer and no
 * active libev watcher).  Returns 0, or a negative error passed to sim_loop_stop().
 */
int sim_loop_run(struct sim_loop *loop);
/* Makes sim_loop_run() return `status` once the current callback returns. */
void sim_loop_stop(struct sim_loop *loop, int status);
bool sim_loop_stopping(const struct sim_loop *loop);

#endif
