/*
 * v3_transport_print.c - the "print" transport: no broker.  Each publication is written as
 * one line "<topic> <payload>" (the format of mosquitto_sub -v, an empty payload as
 * "(null)"), and the module behaves as if
 * connected to a broker that accepts everything and has no clients: CONNACK 0 and every
 * acknowledgement arrive on the next turn of the loop (a zero-delay simulation timer, so the
 * output is deterministic in virtual time).  Subscriptions are accepted and never match.
 */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "model/sim.h"
#include "v3/internal.h"
#include "v3/v3.h"
#include "core/xalloc.h"

struct print_tp {
  struct v3 *v3;
  struct sim *sim;
  FILE *out;
  int next_mid;
  bool connecting;
  int *acks;
  size_t nacks, capacks;
  struct sim_timer t;
};

static void deliver(struct sim_loop *loop, struct sim_timer *t)
{
  struct print_tp *p = t->data;
  (void)loop;
  if (p->connecting) {
    p->connecting = false;
    v3_transport_connack(p->v3, 0);
  }
  /* acks queued by callbacks are delivered on the next turn */
  size_t n = p->nacks;
  int *a = p->acks;
  p->acks = NULL;
  p->nacks = p->capacks = 0;
  for (size_t i = 0; i < n; i++)
    v3_transport_acked(p->v3, a[i]);
  free(a);
}

static void kick(struct print_tp *p)
{
  if (!sim_timer_active(&p->t))
    sim_timer_start(p->sim->loop, &p->t, 0, 0);
}

static int p_open(struct v3 *v3, struct sim *sim, const struct v3_options *opt, void **priv,
                  struct sim_diag *d)
{
  (void)d;
  struct print_tp *p = xcalloc(1, sizeof(*p));
  p->v3 = v3;
  p->sim = sim;
  p->out = opt->out ? opt->out : stdout;
  sim_timer_init(&p->t, deliver, p);
  *priv = p;
  return 0;
}

static int p_connect(void *priv, const struct v3_connect_info *ci, struct sim_diag *d)
{
  struct print_tp *p = priv;
  (void)ci;
  (void)d;
  p->next_mid = 0;
  p->connecting = true;
  kick(p);
  return 0;
}

static int p_subscribe(void *priv, const char *const *filters, size_t n, int qos)
{
  (void)priv;
  (void)filters;
  (void)n;
  (void)qos;
  return 0;
}

static int p_publish(void *priv, const char *topic, const void *payload, size_t len, int qos,
                     bool retain, int *mid)
{
  struct print_tp *p = priv;
  (void)retain;
  v3_print_publication(p->out, topic, payload, len);
  if (++p->next_mid > 65535)
    p->next_mid = 1;
  *mid = p->next_mid;
  if (qos > 0) {
    xgrow((void **)&p->acks, &p->capacks, p->nacks + 1, sizeof(*p->acks));
    p->acks[p->nacks++] = *mid;
    kick(p);
  }
  return 0;
}

static void p_drop(void *priv)
{
  struct print_tp *p = priv;
  p->connecting = false;
  p->nacks = 0;
  sim_timer_stop(p->sim->loop, &p->t);
  fflush(p->out);
}

static void p_close(void *priv)
{
  struct print_tp *p = priv;
  sim_timer_stop(p->sim->loop, &p->t);
  fflush(p->out);
  free(p->acks);
  free(p);
}

const struct v3_transport_ops v3_transport_print = {
  .name = "print",
  .open = p_open, .close = p_close,
  .connect = p_connect, .drop = p_drop,
  .subscribe = p_subscribe, .publish = p_publish,
};
