/*
 * sim.c - creation and teardown of a module context (see sim.h).
 *
 * The model knows nothing of the stages above it.  Components that need something in every
 * context from its creation on (Server V3 declares its server.v3.* config keys, which a
 * config file may set before V3 starts) register a hook with sim_on_new() once at program
 * start (v3_register()), as the firmware's components register their config params in their
 * init objects (OvmsServerV3Init in
 * components/ovms_server_v3/src/ovms_server_v3.cpp).  The hooks run in registration order
 * right after the configuration is created.
 */
#include "model/sim.h"

#include <stdlib.h>

#include "core/error.h"
#include "core/xalloc.h"

struct on_free {
  void (*fn)(void *ctx);
  void *ctx;
};

#define MAX_ON_NEW 8

/* Process-wide and append-only: the hooks are code, not module state (see the file comment). */
static void (*on_new[MAX_ON_NEW])(struct sim *sim);
static size_t n_on_new;

int sim_on_new(void (*fn)(struct sim *sim))
{
  for (size_t i = 0; i < n_on_new; i++)
    if (on_new[i] == fn)
      return 0;
  if (n_on_new >= MAX_ON_NEW)
    return SIM_ELIMIT;
  on_new[n_on_new++] = fn;
  return 0;
}

struct sim_priv {
  struct sim pub;
  struct on_free *f;
  size_t n, cap;
};

struct sim *sim_new(struct sim_loop *loop, const struct sim_profile *profile, uint64_t seed)
{
  struct sim_priv *p = xcalloc(1, sizeof(*p));
  struct sim *sim = &p->pub;
  sim->loop = loop;
  sim->profile = profile ? profile : sim_profile_get(SIM_FW_CURRENT);
  sim->metrics = metrics_new(loop);
  /* a standard metric the firmware version lacks is never created on it: hidden */
  for (const char *const *a = sim->profile->absent_metrics; a && *a; a++) {
    struct metric *m = metrics_find(sim->metrics, *a);
    if (m)
      m->flags |= METRIC_F_HIDDEN;
  }
  sim->events = sim_events_new();
  sim->config = sim_config_new(sim->profile);
  for (size_t i = 0; i < n_on_new; i++)
    on_new[i](sim);
  sim_rng_seed(&sim->rng, seed);
  return sim;
}

void sim_on_free(struct sim *sim, void (*fn)(void *ctx), void *ctx)
{
  struct sim_priv *p = (struct sim_priv *)sim;
  xgrow((void **)&p->f, &p->cap, p->n + 1, sizeof(*p->f));
  p->f[p->n++] = (struct on_free){fn, ctx};
}

void sim_free(struct sim *sim)
{
  if (!sim)
    return;
  struct sim_priv *p = (struct sim_priv *)sim;
  while (p->n > 0) {
    struct on_free f = p->f[--p->n];
    f.fn(f.ctx);
  }
  free(p->f);
  sim_config_free(sim->config);
  sim_events_free(sim->events);
  metrics_free(sim->metrics);
  free(p);
}

const char *sim_vehicle_id(const struct sim *sim)
{
  const char *id = sim_config_get(sim->config, "vehicle", "id");
  return id ? id : "";
}
