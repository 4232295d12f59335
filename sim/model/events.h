/*
 * events.h - the OVMS event bus (firmware V3/main/ovms_events.cpp, OvmsEvents; the event list
 * in docs/source/userguide/events.rst of the firmware repository).
 *
 * Events are named with dots ("vehicle.charge.start").  sim_events_raise() queues the event and,
 * unless an event is already being dispatched, dispatches the queue in FIFO order, so a
 * listener that raises another event sees it delivered after its own returns (the firmware
 * dispatches from a queue, too).  Dispatch is synchronous otherwise: deterministic.
 */
#ifndef SIM_EVENTS_H
#define SIM_EVENTS_H

#include <stdbool.h>

struct sim_events;

/* name and data (may be NULL) are valid only during the call. */
typedef void (*sim_event_fn)(void *ctx, const char *name, const char *data);

struct sim_events *sim_events_new(void);
void sim_events_free(struct sim_events *ev);

/* Calls fn for every event matching pattern (exact, "prefix*" or "*").  Returns 0. */
int sim_events_listen(struct sim_events *ev, const char *pattern, sim_event_fn fn, void *ctx);
void sim_events_unlisten(struct sim_events *ev, sim_event_fn fn, void *ctx);

/* Raises an event; data is optional text attached to it (copied). */
void sim_events_raise(struct sim_events *ev, const char *name, const char *data);

/* How many events were raised in total (statistics). */
unsigned long sim_events_count(const struct sim_events *ev);

#endif
