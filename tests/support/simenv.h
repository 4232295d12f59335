/*
 * simenv.h - a simulator for the unit tests that drive one directly: its own libev loop and
 * the virtual (fast) clock starting at 2024-06-01 08:00:00 UTC, seed 1, no profile.
 */
#ifndef SIM_TEST_SIMENV_H
#define SIM_TEST_SIMENV_H

#include <ev.h>

#include "core/loop.h"
#include "model/sim.h"

struct test_sim {
  struct ev_loop *ev;
  struct sim_loop *loop;
  struct sim *sim;
};

/* Creates e's loop, clock and simulator (free with test_sim_free()). */
void test_sim_new(struct test_sim *e);
/* Frees what test_sim_new() created, the simulator first. */
void test_sim_free(struct test_sim *e);

/*
 * The car of a V3 integration test's child process: e's simulator on the real clock at 30x
 * from now (seed: the pid), vehicle id, the notification queue in state_dir, housekeeping,
 * and Server V3 publishing to mqtt://alice@127.0.0.1:port.  Returns 0, 3 when the queue
 * cannot be opened or 4 when V3 does not start (the child's exit codes).  The child runs
 * sim_loop_run(e->loop) and exits without freeing.
 */
int test_v3_car(struct test_sim *e, const char *id, const char *state_dir, int port);

#endif
