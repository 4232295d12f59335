/*
 * sim.c - creation and teardown of a module context (see sim.h).
 */
#include "model/sim.h"

#include <stdlib.h>

#include "v3/v3.h"
#include "core/xalloc.h"

struct on_free {
  void (*fn)(void *ctx);
  void *ctx;
};

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
  sim->events = sim_events_new();
  sim->config = sim_config_new(sim->profile);
  v3_config_declare(sim->config); /* server.v3.* are module keys, valid before V3 starts */
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
