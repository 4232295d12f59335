/*
 * vehicle.h - the vehicle interface: CAN frames in, metrics out (decoders), and metrics in, CAN
 * frames out (encoders), as the firmware's OvmsVehicle modules do
 * (V3/components/vehicle/vehicle.cpp and the V3/components/vehicle_<car> modules;
 * docs/vehicles.md).
 *
 * A vehicle type is a const struct vehicle_type in a registry looked up by name ("nissanleaf",
 * "teslaroadster", "mitsubishi", or "dbc:FILE" for a vehicle described by a DBC file).  A type
 * supplies:
 *  - a decode table: (bus, id) -> handler, sorted by id then bus, searched with a binary
 *    search.  Handlers are pure: they read the frame and the vehicle state and set metrics
 *    through pointers looked up once at attach time; they allocate nothing;
 *  - an encode table: (bus, id, period) -> encoder that builds the periodic frame the real car
 *    sends from the current metrics (ids, DLCs, counters, checksums), so a simulated car can
 *    stand in for the real one on a bus (HIL) and encode -> decode gives the metrics back;
 *  - the per-second ticker logic of the firmware (Ticker1/Ticker10/Ticker60), run from the
 *    simulation clock (sim_timer), never from the wall clock;
 *  - its configuration keys (the firmware's "xnl", "xtr", "xmi" params), declared with
 *    sim_config_declare(), and its own metrics (xnl.v.b.gids, ...) registered with
 *    metrics_register().
 *
 * Generic behaviour every vehicle shares (vehicle.on/off events, v.e.parktime, m.time.utc...)
 * lives in the framework (sim/vehicle/housekeeping.c), not here.
 *
 * Bus numbers are 1-based as on the module (can1..can4).  A decode entry with bus 0 accepts the
 * id on any bus.  A frame whose (bus, id) has no entry is also decoded by the first entry of its
 * id when the frame has no bus (bus 0: untimed candump excerpts) or when the vehicle was attached
 * with VEHICLE_F_ANYBUS (captures whose bus numbering differs from the module's,
 * docs/vehicles.md).
 */
#ifndef SIM_VEHICLE_H
#define SIM_VEHICLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/frame.h"
#include "model/config.h"
#include "core/diag.h"
#include "core/loop.h"
#include "model/metrics.h"
#include "vehicle/poll.h"

struct sbuf;
struct sim;
struct vehicle;

/* ---- tables a vehicle type provides ---------------------------------------------------- */

/* Decodes one frame.  The dispatcher has checked f->len >= entry.min_len. */
typedef void (*vehicle_decode_fn)(struct vehicle *v, const struct sim_frame *f, const void *arg);

struct vehicle_decoder {
  uint8_t bus;       /* 1-based; 0 = any bus */
  uint32_t id;       /* 11- or 29-bit id (29-bit ids carry VEHICLE_ID_EXT) */
  uint8_t min_len;   /* shorter frames are rejected and counted (stats.short_frames) */
  vehicle_decode_fn fn;
  const void *arg;   /* for the handler (a DBC message, a sub-id...) */
};

/* Marks a 29-bit id in vehicle_decoder.id / vehicle_encoder.id (keeps 11- and 29-bit ids with the
 * same number apart). */
#define VEHICLE_ID_EXT 0x80000000u

/*
 * Builds one frame from the current metrics.  f arrives with bus, id, flags and len preset from
 * the entry and data zeroed; the encoder fills data (and may change len).  Returns 1 if the
 * frame is to be sent, 0 to skip this period (e.g. nothing known yet).
 */
typedef int (*vehicle_encode_fn)(struct vehicle *v, struct sim_frame *f, const void *arg);

struct vehicle_encoder {
  uint8_t bus;
  uint32_t id;          /* with VEHICLE_ID_EXT for 29-bit ids */
  uint32_t period_ms;   /* the car's transmit period */
  uint8_t len;          /* DLC as the car sends it */
  vehicle_encode_fn fn;
  const void *arg;
  const char *name;     /* for listings ("0x1DB LBC status") */
};

struct vehicle_type {
  const char *name;     /* registry name: "nissanleaf" */
  const char *code;     /* firmware type code, published as v.type: "NL" */
  const char *title;    /* "Nissan Leaf / e-NV200" */
  size_t state_size;    /* bytes of private state, zeroed, at vehicle->state */
  /*
   * Called once at attach, after the vehicle's config keys are declared.  arg is the text after
   * "name:" ("dbc:FILE" gives "FILE"), or NULL.  Looks metrics up, registers vehicle metrics and
   * may replace the decode/encode tables (v->dec, v->enc).  Errors go to d with a location.
   * Returns 0 or a negative SIM_E* code.  May be NULL.
   */
  int (*init)(struct vehicle *v, const char *arg, struct sim_diag *d);
  /* Frees what init allocated.  May be NULL. */
  void (*cleanup)(struct vehicle *v);
  /* Re-reads configuration (called at attach after init and whenever a key of cfg_param
   * changes).  May be NULL. */
  void (*config_changed)(struct vehicle *v);
  /* Ticker1 / Ticker10 / Ticker60, with the firmware's tick counter.  Each may be NULL. */
  void (*ticker1)(struct vehicle *v, uint32_t ticker);
  void (*ticker10)(struct vehicle *v, uint32_t ticker);
  void (*ticker60)(struct vehicle *v, uint32_t ticker);

  const struct vehicle_decoder *decoders; /* sorted by (id, bus); checked at attach */
  size_t n_decoders;
  const struct vehicle_encoder *encoders;
  size_t n_encoders;

  const char *cfg_param;                  /* "xnl"; NULL if none */
  const struct sim_config_decl *config;   /* static */
  size_t n_config;

  /* The firmware's poll state (PollSetState) from the metrics, 0..VEHICLE_POLL_NSTATES-1;
   * NULL = vehicle_poll_state()'s default.  May be NULL. */
  int (*poll_state)(struct vehicle *v);
};

/* ---- the attached vehicle ------------------------------------------------------------- */

struct vehicle_stats {
  uint64_t frames;        /* frames given to vehicle_decode() */
  uint64_t decoded;       /* frames a handler took */
  uint64_t unknown;       /* no handler for (bus, id) */
  uint64_t short_frames;  /* shorter than the handler needs */
  uint64_t encoded;       /* frames produced by encoders */
  uint64_t unsent;        /* encoded frames lost: no such bus, or the bus failed (not full) */
  uint64_t sent;          /* encoded frames a bus took (vehicle_encoder_start_buses) */
  uint64_t deferred;      /* sends refused by a full transmit queue, retried later */
};

#define VEHICLE_F_ANYBUS 0x01   /* decode an id whatever bus it arrives on */
#define VEHICLE_F_NOTICKER 0x02 /* do not start the ticker timer (tests drive vehicle_tick()) */

/* Called for every frame an encoder produces (HIL: put it on a bus). */
typedef void (*vehicle_frame_sink)(void *ctx, const struct sim_frame *f);

/*
 * An attached vehicle.  Fields are for vehicle implementations (vehicles/<car>/) and for
 * statistics; other code uses the functions below.
 */
struct vehicle {
  const struct vehicle_type *type;
  struct sim *sim;            /* borrowed */
  struct metrics *ms;         /* = sim->metrics */
  struct sim_config *cfg;     /* = sim->config */
  void *state;                /* type->state_size bytes, owned */
  unsigned flags;             /* VEHICLE_F_* */

  /* The tables in use: the type's, or built by init (DBC).  Sorted by (id, bus). */
  const struct vehicle_decoder *dec;
  size_t n_dec;
  const struct vehicle_encoder *enc;
  size_t n_enc;

  struct vehicle_stats stats;

  /* ticker */
  struct sim_timer tick_timer;
  uint32_t ticker;            /* seconds since attach, as the firmware's ticker counter */

  /* encoder scheduler: all zero while stopped */
  struct vehicle_sched {
    struct sim_timer *timers;   /* one per encoder while started */
    int64_t *backoff;           /* per encoder: current queue-full back-off in ns, 0 = none */
    void *snap;                 /* state before an encode, restored when the send is deferred */
    bool bus;                   /* started by vehicle_encoder_start_buses() */
    vehicle_frame_sink sink;
    void *sink_ctx;
  } sched;

  /* diagnostic polls (vehicle/poll.h), installed by the type's init; NULL = none */
  const struct vehicle_poll *polls;
  size_t n_polls;

  /* options */
  char *map_file;             /* --vehicle-map (DBC vehicles), owned */
  uint8_t rx_buses;           /* bit n-1: the vehicle is the rx callback of bus n */
};

struct vehicle_opts {
  unsigned flags;             /* VEHICLE_F_* */
  const char *map_file;       /* DBC vehicles: signal -> metric mapping file; NULL = none */
};

/* ---- registry ------------------------------------------------------------------------- */

/* The built-in types, NULL-terminated. */
extern const struct vehicle_type *const vehicle_types[];

/*
 * The type called name ("nissanleaf"; "dbc:FILE" finds the "dbc" type and sets *arg to
 * "FILE").  Aliases of the firmware type codes ("NL", "TR", "MI") are accepted.  arg may be
 * NULL.  Returns the type or NULL.
 */
const struct vehicle_type *vehicle_type_find(const char *name, const char **arg);

/* ---- life cycle ----------------------------------------------------------------------- */

/*
 * Creates the vehicle `name` on sim (see vehicle_type_find()), declares its configuration
 * keys, runs its init, sets v.type, starts the ticker (1 s sim_timer on sim->loop unless
 * VEHICLE_F_NOTICKER) and stores it in sim->vehicle; it is freed with sim_free() or
 * vehicle_detach().  Errors (unknown name, unreadable or bad DBC file) go to d with a location.
 * Returns 0, SIM_ENOTFOUND for an unknown name, SIM_EEXIST if sim already has a vehicle,
 * SIM_EPARSE for a bad definition file, or -errno when it cannot be read.
 */
int vehicle_attach(struct sim *sim, const char *name, struct sim_diag *d);
int vehicle_attach_opts(struct sim *sim, const char *name, const struct vehicle_opts *opts,
                        struct sim_diag *d);
/* Stops timers and frees sim->vehicle (if any); sim->vehicle becomes NULL. */
void vehicle_detach(struct sim *sim);

/* ---- decoding ------------------------------------------------------------------------- */

/*
 * Decodes one frame from any source (trace, live bus, scenario).  Error and RTR frames and
 * frames without a handler are counted and ignored.  Returns 1 if a handler took the frame,
 * 0 if not.  Never allocates.
 */
int vehicle_decode(struct vehicle *v, const struct sim_frame *f);

/* The decode entry for (bus, id) by the rules at the top, or NULL.  id with VEHICLE_ID_EXT for
 * 29-bit frames. */
const struct vehicle_decoder *vehicle_find_decoder(const struct vehicle *v, uint8_t bus,
                                                   uint32_t id);

/* A vehicle_frame_sink / trace replay frame callback that decodes f into ctx (a struct
 * vehicle *). */
void vehicle_decode_sink(void *ctx, const struct sim_frame *f);

/*
 * Makes the vehicle the receive callback of every bus present in v->sim->buses, so frames
 * from live buses and from replays delivered into buses are decoded.  Buses added later need
 * another call.  Detaching the vehicle removes the callbacks.  Returns the number of buses.
 */
int vehicle_listen_buses(struct vehicle *v);

/* Runs one second of ticker logic: Ticker1, and Ticker10/Ticker60 when due (the 1 s timer
 * calls it; tests and trace replays without a loop call it themselves). */
void vehicle_tick(struct vehicle *v);

/* ---- encoding ------------------------------------------------------------------------- */

/*
 * Runs encoder i (0 <= i < v->n_enc) once into *out.  Returns 1 if a frame was produced, 0 if
 * the encoder skipped, SIM_ERANGE for a bad index.
 */
int vehicle_encode(struct vehicle *v, size_t i, struct sim_frame *out);

/*
 * Runs every encoder once, in table order, calling sink for each frame produced (encode ->
 * decode round trips, one-shot snapshots).  Returns the number of frames produced.
 */
int vehicle_encode_all(struct vehicle *v, vehicle_frame_sink sink, void *ctx);

/*
 * Starts the encoder scheduler: every encoder runs with its period on the simulation clock
 * (first run after one period, staggered deterministically), and each frame goes to sink
 * (borrowed ctx), with ts = simulation UTC time.  Replaces a previous sink.  Returns 0.
 */
int vehicle_encoder_start(struct vehicle *v, vehicle_frame_sink sink, void *ctx);
void vehicle_encoder_stop(struct vehicle *v);

/*
 * Starts the encoder scheduler with every frame sent (can_bus_send) on the simulator bus of
 * its number (sim->buses[bus - 1]); frames for buses that do not exist, or that a bus fails
 * to send, are counted in stats.unsent.  This is how a simulated car stands in for the real
 * one on a bench.
 *
 * A full transmit queue (the backend returns -EAGAIN or -ENOBUFS) slows the car down rather
 * than losing the frame: the encoder's side effects on the vehicle state (counters) are
 * undone, the send is counted in stats.deferred and the same id is encoded again, from the
 * then current metrics, after a back-off of 1 ms doubling up to its period; once a bus takes
 * it, the id runs on its period again from then on.  Returns 0.
 */
int vehicle_encoder_start_buses(struct vehicle *v);

/* Appends the encoder statistics ("vehicle emulation: ...") to b if encoders ran. */
void vehicle_encoder_report(const struct vehicle *v, struct sbuf *b);

/* ---- polls ---------------------------------------------------------------------------- */

/*
 * The poll state that selects the interval column of v->polls: type->poll_state, or by default
 * VEHICLE_POLLSTATE_CHARGING while v.c.charging, _RUNNING while v.e.on with a gear engaged
 * (v.e.gear != 0), _ON while v.e.on, else _OFF.
 */
int vehicle_poll_state(struct vehicle *v);
/* True while the car's control units answer diagnostic requests: v.e.on, v.c.charging or
 * v.e.awake (a sleeping car's ECUs are silent, as the firmware's Leaf notes: "Leaf does not
 * respond to polls when car is off"). */
bool vehicle_ecus_awake(struct vehicle *v);

/* ---- helpers for vehicle implementations ---------------------------------------------- */

/* How a vehicle implementation binds metric pointers at init: name, and for vehicle metrics
 * (type >= 0) the type, unit and autostale to register it with; type < 0 = a standard metric. */
struct vehicle_metric_bind {
  size_t offset;          /* offsetof(state struct, struct metric * member) */
  const char *name;
  int type;               /* enum metric_type, or -1 for an existing (standard) metric */
  enum sim_unit unit;
  unsigned autostale;
};
#define VM_STD(st, member, name) {offsetof(st, member), name, -1, SIM_UNIT_NATIVE, 0}
#define VM_NEW(st, member, name, type, unit, stale) {offsetof(st, member), name, type, unit, stale}

/*
 * Fills the metric pointers of v->state from binds.  Returns 0, or SIM_ENOTFOUND (with a
 * message in d) for a standard metric that does not exist, or the metrics_register() error.
 */
int vehicle_bind_metrics(struct vehicle *v, const struct vehicle_metric_bind *binds, size_t n,
                         struct sim_diag *d);

/* The vehicle's config values (param = type->cfg_param).  Declared defaults apply. */
long vehicle_cfg_int(const struct vehicle *v, const char *instance, long def);
bool vehicle_cfg_bool(const struct vehicle *v, const char *instance, bool def);
double vehicle_cfg_float(const struct vehicle *v, const char *instance, double def);

/* Checks that a decode table is sorted by (id, bus) without duplicates.  Returns 0 or
 * SIM_ECONFIG with the first bad index in *bad (may be NULL). */
int vehicle_table_check(const struct vehicle_decoder *t, size_t n, size_t *bad);

#endif
