/*
 * events.c - event publication of the Server V3 engine: every module event except the
 * tickers (and clock.* on newer profiles) as <prefix>event (and <prefix>event/<path> on newer
 * profiles), queued for the next poll when the profile batches, as OvmsServerV3::EventListener(),
 * IncomingEvent(), TransmitEvents() and ClearEventQueue() in V3/components/ovms_server_v3/src/ovms_server_v3.cpp (openvehicles/Open-Vehicle-Monitoring-System-3 1aa1daff).
 * Each event also reaches the scheduler (v3_sched_event()).
 */
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"
#include "model/events.h"
#include "model/sim.h"
#include "v3/internal.h"

static bool event_skipped(struct v3 *v3, const char *name)
{
  if (!strncmp(name, "ticker.", 7) || !strcmp(name, "system.event") ||
      !strcmp(name, "system.wifi.scan.done"))
    return true;
  return v3->sim->profile->events_skip_clock && !strncmp(name, "clock.", 6);
}

static void publish_event(struct v3 *v3, const char *name)
{
  const struct sim_profile *pr = v3->sim->profile;
  struct sbuf *t = &v3->scratch;
  if (!pr->event_path_topic || v3_cfg_bool(v3, "events.legacy_topic", true)) {
    sbuf_reset(t);
    sbuf_add(t, v3->prefix.p, v3->prefix.len);
    sbuf_adds(t, "event");
    v3_publish(v3, t->p, name, strlen(name), 0, false, NULL);
  }
  if (pr->event_path_topic) {
    sbuf_reset(t);
    sbuf_add(t, v3->prefix.p, v3->prefix.len);
    sbuf_adds(t, "event/");
    v3_topic_path(name, t);
    v3_publish(v3, t->p, "", 0, 0, false, NULL);
  }
}

void v3_events_clear(struct v3 *v3)
{
  for (size_t i = 0; i < v3->nevents; i++)
    free(v3->events[i]);
  v3->nevents = 0;
}

/* The next "Mongoose poll": publish the queued events (while still connected). */
static void evpoll_cb(struct sim_loop *loop, struct sim_timer *t)
{
  struct v3 *v3 = t->data;
  (void)loop;
  for (size_t i = 0; i < v3->nevents && v3->connected; i++)
    publish_event(v3, v3->events[i]);
  v3_events_clear(v3);
}

/* IncomingEvent() + EventListener().  HEAD (and 3.3.006) queue the event for the next poll,
 * so an event-triggered sync goes out before the event itself; older versions publish it at
 * once. */
static void on_event(void *ctx, const char *name, const char *data)
{
  struct v3 *v3 = ctx;
  (void)data;
  if (!v3->connected)
    return;
  if (!event_skipped(v3, name)) {
    if (v3->sim->profile->batching) {
      xgrow((void **)&v3->events, &v3->capevents, v3->nevents + 1, sizeof(*v3->events));
      v3->events[v3->nevents++] = xstrdup(name);
      if (!sim_timer_active(&v3->evpoll))
        sim_timer_start(v3->sim->loop, &v3->evpoll, 0, 0);
    } else {
      publish_event(v3, name);
    }
  }
  v3_sched_event(v3, name);
}

void v3_events_start(struct v3 *v3)
{
  sim_timer_init(&v3->evpoll, evpoll_cb, v3);
  sim_events_listen(v3->sim->events, "*", on_event, v3);
}

void v3_events_stop(struct v3 *v3)
{
  sim_timer_stop(v3->sim->loop, &v3->evpoll);
  sim_events_unlisten(v3->sim->events, on_event, v3);
}
