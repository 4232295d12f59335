/*
 * network.h - the command-line face of the CAN network servers and bridges: the options
 * --serve (serve.h) and --bridge (bridge.h) collected into one struct, then set up on a
 * struct sim after its buses exist (can/inputs.h), reported for --stats and torn down.
 *
 * A bus that is served or bridged but has no --can (and no trace bus) gets an in-memory bus
 * ("mem:served-N"), so `ovms-sim --serve socketcand:29536` alone is a bus that tools can
 * share, with the simulator's responders on it.
 */
#ifndef SIM_CAN_NETWORK_H
#define SIM_CAN_NETWORK_H

#include "can/net.h"
#include "can/serve.h"
#include "core/diag.h"
#include "core/sbuf.h"

struct sim;
struct can_network;

#define CAN_NETWORK_MAX_BRIDGES 8

struct can_network_opts {
  const char *serve[CAN_SERVE_MAX];             /* borrowed */
  int nserve;
  const char *bridge[CAN_NETWORK_MAX_BRIDGES];  /* borrowed */
  int nbridge;
};

/* Adds a --serve spec after checking it.  Returns 0 or SIM_ECONFIG with d filled. */
int can_network_add_serve(struct can_network_opts *o, const char *spec, struct sim_diag *d);
/* Adds a --bridge spec after checking it.  Returns 0, SIM_ECONFIG or SIM_EPARSE (d). */
int can_network_add_bridge(struct can_network_opts *o, const char *spec, struct sim_diag *d);
/* True when o asks for anything. */
bool can_network_wanted(const struct can_network_opts *o);

/*
 * Creates the missing buses (stored in sim->buses[], closed by can_network_free()) for the
 * servers and the bridges, and starts the servers on sim (borrowed); the bridges are started
 * by can_network_start_bridges() after it.  log (may be NULL) receives the servers' messages
 * (a client closed for overlong input...).  Returns 0 and sets *out (free with
 * can_network_free(), also after an error), or an error with d filled (-EADDRINUSE...).
 */
int can_network_open(struct can_network **out, struct sim *sim, const struct can_network_opts *o,
                     can_net_log_fn log, void *log_ctx, struct sim_diag *d);
/* Starts the bridges of n on its buses.  Returns 0, or the first error (SIM_ECONFIG for a
 * missing bus, SIM_ELIMIT for a bus without a free monitor slot) with d filled. */
int can_network_start_bridges(struct can_network *n, struct sim_diag *d);
/* Appends "serving ... on WHERE" lines, one per server, to out (what main announces). */
void can_network_describe(struct can_network *n, struct sbuf *out);
/* Appends the --stats lines of every server and bridge (n may be NULL), and one line per bus
 * of sim that is a network client (socketcand:, gvret:): frames, sends lost while it was
 * disconnected, bad input. */
void can_network_report(struct can_network *n, struct sim *sim, struct sbuf *out);
/* Stops the servers and bridges and closes the buses it created.  NULL allowed. */
void can_network_free(struct can_network *n);

#endif
