/*
 * events.c - the event bus (see events.h): a FIFO of raised events dispatched to pattern
 * listeners by the outermost sim_events_raise().
 */
#include "model/events.h"

#include <stdlib.h>
#include <string.h>

#include "model/metrics.h"
#include "core/xalloc.h"

struct elistener {
  char *pattern;
  sim_event_fn fn;
  void *ctx;
  bool dead;
};

struct queued {
  char *name, *data;
};

struct sim_events {
  struct elistener *l;
  size_t nl, lcap;
  struct queued *q;
  size_t qhead, qn, qcap;
  bool dispatching;
  unsigned long count;
};

struct sim_events *sim_events_new(void)
{
  return xcalloc(1, sizeof(struct sim_events));
}

void sim_events_free(struct sim_events *ev)
{
  if (!ev)
    return;
  for (size_t i = 0; i < ev->nl; i++)
    free(ev->l[i].pattern);
  for (size_t i = ev->qhead; i < ev->qn; i++) {
    free(ev->q[i].name);
    free(ev->q[i].data);
  }
  free(ev->l);
  free(ev->q);
  free(ev);
}

int sim_events_listen(struct sim_events *ev, const char *pattern, sim_event_fn fn, void *ctx)
{
  xgrow((void **)&ev->l, &ev->lcap, ev->nl + 1, sizeof(*ev->l));
  ev->l[ev->nl++] = (struct elistener){xstrdup(pattern), fn, ctx, false};
  return 0;
}

void sim_events_unlisten(struct sim_events *ev, sim_event_fn fn, void *ctx)
{
  /* One pass: marks fn's listeners dead and, unless a dispatch is under way (it compacts
   * when it ends), drops every dead one. */
  size_t j = 0;
  for (size_t i = 0; i < ev->nl; i++) {
    struct elistener l = ev->l[i];
    l.dead = l.dead || (l.fn == fn && l.ctx == ctx);
    if (l.dead && !ev->dispatching)
      free(l.pattern);
    else
      ev->l[j++] = l;
  }
  ev->nl = j;
}

void sim_events_raise(struct sim_events *ev, const char *name, const char *data)
{
  ev->count++;
  xgrow((void **)&ev->q, &ev->qcap, ev->qn + 1, sizeof(*ev->q));
  ev->q[ev->qn++] = (struct queued){xstrdup(name), data ? xstrdup(data) : NULL};
  if (ev->dispatching)
    return;
  ev->dispatching = true;
  while (ev->qhead < ev->qn) {
    struct queued e = ev->q[ev->qhead++];
    for (size_t i = 0; i < ev->nl; i++) /* nl may grow during dispatch */
      if (!ev->l[i].dead && metric_name_match(ev->l[i].pattern, e.name))
        ev->l[i].fn(ev->l[i].ctx, e.name, e.data);
    free(e.name);
    free(e.data);
  }
  ev->qhead = ev->qn = 0;
  ev->dispatching = false;
  sim_events_unlisten(ev, NULL, NULL); /* compacts dead listeners */
}

unsigned long sim_events_count(const struct sim_events *ev)
{
  return ev->count;
}
