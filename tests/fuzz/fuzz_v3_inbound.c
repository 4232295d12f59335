/*
 * fuzz_v3_inbound.c - libFuzzer target for the Server V3 engine's handling of inbound MQTT
 * messages (OvmsServerV3::IncomingMsg(), V3/components/ovms_server_v3/src/ovms_server_v3.cpp):
 * client presence, commands run by the shell,
 * metric and config requests, and topics that mean nothing.
 *
 * A module "MYCAR" of user "alice" runs in virtual time against an in-memory transport (as
 * tests/unit/test_v3_engine.c's recording transport) until it is connected.  Input byte 0
 * picks the firmware profile (bit 0: 3.3.004, without request/ subscriptions; else current)
 * and the topic names (bit 1: draft-2018, else current).  The rest is a list of messages
 * separated by NUL bytes: topic field, payload field, topic field, ...  The first byte of a
 * topic field picks its shape, the rest fills it in:
 *   0 prefix + "client/" + rest          5 prefix + "client/<rest>/request/config"
 *   1 prefix + rest                      6 prefix + "client/<rest>/active"
 *   2 rest (no prefix)                   7 prefix + "client/<rest>/command/1"
 *   3 prefix + "client/app/command/" + rest   8 prefix + "c/" + rest (draft presence)
 *   4 prefix + "client/<rest>/request/metric" 9 prefix + "cmd/<rest>/c/1" (draft command)
 * After each message the clock runs one second (the scheduler publishes, clients expire).
 * Nothing may crash or leak; a message the engine cannot use (wrong prefix, unknown kind,
 * malformed client or command id, bad config request) must be counted in
 * v3_get_stats()->rx_rejected, and an accepted command must be counted in ->commands.
 */
#include <ev.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vehicle/housekeeping.h"
#include "core/loop.h"
#include "core/sbuf.h"
#include "model/sim.h"
#include "v3/v3.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PREFIX "ovms/alice/MYCAR/"

/* ---- in-memory transport: accepts everything, acknowledges at once -------------------------- */

struct fake {
  struct v3 *v3;
  struct sim *sim;
  struct sim_timer t;
  bool connecting;
  int next_mid;
  int acks[64];
  size_t nacks;
  size_t published;
};

static struct fake F;

static void deliver(struct sim_loop *loop, struct sim_timer *t)
{
  (void)loop;
  (void)t;
  if (F.connecting) {
    F.connecting = false;
    v3_transport_connack(F.v3, 0);
  }
  size_t n = F.nacks;
  F.nacks = 0;
  for (size_t i = 0; i < n && F.v3; i++)
    v3_transport_acked(F.v3, F.acks[i]);
}

static int f_open(struct v3 *v3, struct sim *sim, const struct v3_options *opt, void **priv,
                  struct sim_diag *d)
{
  (void)opt;
  (void)d;
  F.v3 = v3;
  F.sim = sim;
  sim_timer_init(&F.t, deliver, NULL);
  *priv = &F;
  return 0;
}

static int f_connect(void *priv, const struct v3_connect_info *ci, struct sim_diag *d)
{
  (void)priv;
  (void)ci;
  (void)d;
  F.connecting = true;
  sim_timer_start(F.sim->loop, &F.t, 0, 0);
  return 0;
}

static int f_subscribe(void *priv, const char *const *filters, size_t n, int qos)
{
  (void)priv;
  (void)filters;
  (void)n;
  (void)qos;
  return 0;
}

static int f_publish(void *priv, const char *topic, const void *payload, size_t len, int qos,
                     bool retain, int *mid)
{
  (void)priv;
  (void)retain;
  if (!topic || (len && !payload))
    abort();
  F.published++;
  *mid = ++F.next_mid;
  if (qos > 0 && F.nacks < 64) {
    F.acks[F.nacks++] = *mid;
    sim_timer_start(F.sim->loop, &F.t, 0, 0);
  }
  return 0;
}

static void f_drop(void *priv)
{
  (void)priv;
  F.connecting = false;
  F.nacks = 0;
}

static void f_close(void *priv)
{
  (void)priv;
  sim_timer_stop(F.sim->loop, &F.t);
  F.v3 = NULL;
}

static const struct v3_transport_ops fake_ops = {"fuzz", f_open, f_connect, f_subscribe,
                                                 f_publish, f_drop, f_close};

/* ---- harness -------------------------------------------------------------------------------- */

static void stop_cb(struct sim_loop *loop, struct sim_timer *t)
{
  (void)t;
  sim_loop_stop(loop, 0);
}

static void run_until(struct sim_loop *loop, struct sim_timer *stop, int64_t sec)
{
  sim_timer_start_at(loop, stop, sec * SIM_NS_PER_SEC, 0);
  sim_loop_run(loop);
}

enum kind { K_REJECT, K_PRESENCE, K_COMMAND, K_METRIC, K_CONFIG };

/* What the engine must make of topic (IncomingMsg(); draft-2018 topics: c/<clientid> and
 * cmd/<clientid>/c/<cmdid>), independently of it. */
static enum kind classify(const char *topic, bool draft, bool requests)
{
  size_t pl = strlen(PREFIX);
  if (strncmp(topic, PREFIX, pl))
    return K_REJECT;
  if (draft) {
    const char *r = topic + pl;
    if (!strncmp(r, "c/", 2))
      return r[2] && !strchr(r + 2, '/') && strlen(r + 2) < 256 ? K_PRESENCE : K_REJECT;
    if (strncmp(r, "cmd/", 4))
      return K_REJECT;
    const char *sl = strchr(r + 4, '/');
    return sl && sl > r + 4 && sl - (r + 4) < 256 && !strncmp(sl, "/c/", 3) ? K_COMMAND
                                                                            : K_REJECT;
  }
  if (strncmp(topic + pl, "client/", 7))
    return K_REJECT;
  const char *id = topic + pl + 7, *sl = strchr(id, '/');
  if (!sl || sl == id || sl - id >= 256)
    return K_REJECT;
  const char *kind = sl + 1;
  if (!strcmp(kind, "active"))
    return K_PRESENCE;
  if (!strncmp(kind, "command/", 8))
    return kind[8] && !strchr(kind + 8, '/') ? K_COMMAND : K_REJECT;
  if (requests && !strcmp(kind, "request/metric"))
    return K_METRIC;
  if (requests && !strcmp(kind, "request/config"))
    return K_CONFIG;
  return K_REJECT;
}

/* The topic for a topic field (see the top of the file). */
static void make_topic(const uint8_t *f, size_t n, struct sbuf *t)
{
  unsigned sel = n ? f[0] % 10 : 1;
  const char *rest = n ? (const char *)f + 1 : "";
  size_t rn = n ? n - 1 : 0;
  if (sel != 2)
    sbuf_adds(t, PREFIX);
  switch (sel) {
  case 0: sbuf_adds(t, "client/"); sbuf_add(t, rest, rn); break;
  case 1: case 2: sbuf_add(t, rest, rn); break;
  case 3: sbuf_adds(t, "client/app/command/"); sbuf_add(t, rest, rn); break;
  case 4: sbuf_adds(t, "client/"); sbuf_add(t, rest, rn); sbuf_adds(t, "/request/metric"); break;
  case 5: sbuf_adds(t, "client/"); sbuf_add(t, rest, rn); sbuf_adds(t, "/request/config"); break;
  case 6: sbuf_adds(t, "client/"); sbuf_add(t, rest, rn); sbuf_adds(t, "/active"); break;
  case 8: sbuf_adds(t, "c/"); sbuf_add(t, rest, rn); break;
  case 9: sbuf_adds(t, "cmd/"); sbuf_add(t, rest, rn); sbuf_adds(t, "/c/1"); break;
  default: sbuf_adds(t, "client/"); sbuf_add(t, rest, rn); sbuf_adds(t, "/command/1"); break;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static FILE *devnull;
  if (!devnull)
    devnull = fopen("/dev/null", "w");
  if (size < 1)
    return 0;
  bool old = data[0] & 1, draft = data[0] & 2;
  data++;
  size--;
  memset(&F, 0, sizeof(F));
  struct ev_loop *ev = ev_loop_new(EVFLAG_AUTO);
  struct sim_loop *loop = sim_loop_new(ev, SIM_CLOCK_FAST, 1.0,
                                       INT64_C(1717228800) * SIM_NS_PER_SEC);
  const struct sim_profile *prof = sim_profile_find(old ? "3.3.004" : "current");
  if (!prof)
    abort();
  struct sim *sim = sim_new(loop, prof, 7);
  v3_config_declare(sim->config);
  sim_config_set(sim->config, "vehicle", "id", "MYCAR", NULL);
  sim_config_set(sim->config, "server.v3", "user", "alice", NULL);
  sim_config_set(sim->config, "server.v3", "server", "broker.test", NULL);
  housekeeping_start(sim);
  struct sim_timer stop;
  sim_timer_init(&stop, stop_cb, NULL);
  struct v3_options o = {.transport = &fake_ops, .out = devnull,
                         .topics = draft ? SIM_TOPICS_DRAFT2018 : SIM_TOPICS_CURRENT};
  if (v3_start(sim, &o, NULL) < 0)
    abort();
  int64_t now = 30;
  run_until(loop, &stop, now);
  if (!v3_connected(sim->v3))
    abort();

  size_t pos = 0, msgs = 0;
  struct sbuf topic = SBUF_INIT;
  while (pos < size && msgs < 64 && sim->v3 && sim->v3 == F.v3) {
    const uint8_t *tf = data + pos, *z = memchr(tf, 0, size - pos);
    size_t tn = z ? (size_t)(z - tf) : size - pos;
    pos += tn + (z ? 1 : 0);
    const uint8_t *pf = data + pos;
    z = pos < size ? memchr(pf, 0, size - pos) : NULL;
    size_t pn = pos < size ? (z ? (size_t)(z - pf) : size - pos) : 0;
    pos += pn + (z ? 1 : 0);
    sbuf_reset(&topic);
    make_topic(tf, tn, &topic);
    struct v3 *v3 = sim->v3;
    struct v3_stats before = *v3_get_stats(v3);
    /* topics are C strings: a NUL inside ends them (the broker never delivers one) */
    v3_transport_message(v3, sbuf_str(&topic), pf, pn);
    msgs++;
    if (sim->v3 == v3 && F.v3 == v3) {
      const struct v3_stats *after = v3_get_stats(v3);
      uint64_t rej = after->rx_rejected - before.rx_rejected;
      uint64_t cmds = after->commands - before.commands;
      enum kind k = classify(sbuf_str(&topic), draft, prof->request_subscriptions);
      bool ok;
      switch (k) {
      case K_REJECT: ok = rej == 1 && cmds == 0; break;
      case K_COMMAND: ok = rej == 0 && cmds == 1; break;
      case K_CONFIG: ok = rej <= 1 && cmds == 0; break; /* a malformed request is rejected */
      default: ok = rej == 0 && cmds == 0; break;
      }
      if (!ok) {
        fprintf(stderr, "topic '%s': kind %d, rejected +%llu, commands +%llu\n",
                sbuf_str(&topic), (int)k, (unsigned long long)rej, (unsigned long long)cmds);
        abort();
      }
    }
    if (!sim->v3)
      break;
    now++;
    run_until(loop, &stop, now);
  }
  sbuf_free(&topic);
  sim_free(sim);
  sim_loop_free(loop);
  ev_loop_destroy(ev);
  return 0;
}
