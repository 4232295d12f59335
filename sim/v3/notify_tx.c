/*
 * notify_tx.c - notification transmission of the Server V3 engine: the "ovmsv3" reader of the
 * module's notification queue, the channel filter (config "notify <subtype>"), the topics
 * and payloads of each type, one entry of a type in flight at a time, and the read mark once
 * the broker acknowledged it (PUBACK; for data the end of the QoS 2 exchange), as
 * OvmsServerV3::NotificationFilter(), IncomingNotification(), TransmitNotification*(),
 * TransmitPendingNotifications*() and IncomingPubRec() in V3/components/ovms_server_v3/src/ovms_server_v3.cpp (openvehicles/Open-Vehicle-Monitoring-System-3 1aa1daff).
 */
#include <inttypes.h>
#include <string.h>

#include "core/error.h"
#include "core/xalloc.h"
#include "model/sim.h"
#include "notify/notify.h"
#include "notify/queue.h"
#include "v3/internal.h"

/* NotificationFilter(): the reader "ovmsv3" and config "notify <subtype>". */
static bool notify_wanted(struct v3 *v3, const struct sim_notify_entry *e)
{
  const struct sim_profile *pr = v3->sim->profile;
  if (e->type == NOTIFY_STREAM)
    return false;
  if (pr->auth_suspend && !strcmp(e->subtype, "server.v3.auth.failure"))
    return false; /* post-3.3.006 commit 4ff580404 */
  if (e->len > pr->notify_size_limit)
    return false;
  const char *f = sim_config_get(v3->sim->config, "notify", e->subtype);
  if (!f || !*f || !strcmp(f, "*"))
    return true;
  bool incl = false, excl = false;
  const char *p = f;
  while (*p) {
    size_t n = strcspn(p, ",");
    if ((n == 6 && !strncmp(p, "ovmsv3", 6)) || (n == 1 && *p == '*'))
      incl = true;
    if ((n == 7 && !strncmp(p, "-ovmsv3", 7)) || (n == 1 && *p == '-'))
      excl = true;
    p += n;
    if (*p == ',')
      p++;
  }
  return incl && !excl;
}

static struct v3_inflight *find_ack(struct v3 *v3, int mid)
{
  for (size_t i = 0; i < v3->nacks; i++)
    if (v3->acks[i].mid == mid)
      return &v3->acks[i];
  return NULL;
}

static bool type_in_flight(struct v3 *v3, int type)
{
  for (size_t i = 0; i < v3->nacks; i++)
    if (v3->acks[i].type == type)
      return true;
  return false;
}

void v3_track_ack(struct v3 *v3, int mid, int type, int64_t id)
{
  xgrow((void **)&v3->acks, &v3->capacks, v3->nacks + 1, sizeof(*v3->acks));
  v3->acks[v3->nacks++] = (struct v3_inflight){mid, type, id};
}

/* Publishes one notification entry; returns the publish result.  The entry is marked read
 * when the broker acknowledges it (PUBACK; end of the QoS 2 exchange for data). */
static int transmit_notification(struct v3 *v3, const struct sim_notify_entry *e)
{
  const struct sim_profile *pr = v3->sim->profile;
  const struct v3_topic_names *tn = v3->tn;
  struct sbuf *t = &v3->topic, *pl = &v3->payload;
  sbuf_reset(t);
  sbuf_reset(pl);
  sbuf_add(t, v3->prefix.p, v3->prefix.len);
  sbuf_adds(t, "notify/");
  sbuf_adds(t, sim_notify_type_name(e->type));
  int qos = tn->notify_qos;
  if (e->type == NOTIFY_DATA) {
    qos = 2;
    const char *lf = memchr(e->text, '\n', e->len);
    sbuf_add(pl, e->text, lf ? (size_t)(lf - e->text) : e->len);
  } else if (pr->notify_mp_encode) {
    sim_notify_mp_encode(e->text, pl);
  } else {
    sbuf_add(pl, e->text, e->len);
  }
  if (tn->notify_subtype_topic) {
    sbuf_addc(t, '/');
    if (pr->notify_subtype_slashes)
      v3_topic_path(e->subtype, t);
    else
      sbuf_adds(t, e->subtype);
    if (e->type == NOTIFY_DATA) {
      int64_t age = (sim_now(v3->sim->loop) - e->created_ns) / SIM_NS_PER_SEC;
      sbuf_printf(t, "/%" PRId64 "/%" PRId64, e->id, age > 0 ? -age : (int64_t)0);
    }
  }
  int mid = 0;
  int rc = v3_publish(v3, t->p, pl->p, pl->len, qos, false, &mid);
  if (rc < 0)
    return rc;
  if (e->type == NOTIFY_DATA)
    v3->data_wait = (struct v3_inflight){mid, NOTIFY_DATA, e->id};
  else
    v3_track_ack(v3, mid, (int)e->type, e->id);
  return 0;
}

/* Whether a publication error is one a retry cannot mend (the topic or payload itself is
 * refused); the connection errors are not. */
static bool permanent(int rc)
{
  return rc == SIM_EPARSE || rc == SIM_ELIMIT || rc == SIM_ECONFIG;
}

/* A notification that can never be published is moved aside (notify.dead in the state
 * directory) and reported, so that the ones after it are delivered. */
static void move_aside(struct v3 *v3, const struct sim_notify_entry *e, const char *why)
{
  struct sbuf m = SBUF_INIT;
  sbuf_printf(&m, "notification %s %" PRId64 " can never be delivered (%s): moved aside",
              sim_notify_type_name(e->type), e->id, why);
  enum sim_notify_type type = e->type;
  int64_t id = e->id;
  int rc = sim_notify_quarantine(v3->sim, v3->reader, type, id, why); /* frees e */
  if (rc < 0 && rc != SIM_ENOTFOUND)
    sbuf_printf(&m, " (the dead-letter file could not be written: %s)", sim_strerror(rc));
  v3->stats.quarantined++;
  if (v3->on_warning)
    v3->on_warning(v3->warning_ctx, sbuf_str(&m));
  sbuf_free(&m);
}

/* Sends the oldest pending entry of type, if any and none of that type is in flight.
 * Entries V3 does not take are marked read on the way. */
static void notify_send_one(struct v3 *v3, enum sim_notify_type type)
{
  if (!v3->connected || !v3->sim->notify)
    return;
  if (type == NOTIFY_DATA ? v3->data_wait.mid != 0 : type_in_flight(v3, (int)type))
    return;
  for (;;) {
    const struct sim_notify_entry *e = sim_notify_peek(v3->sim, v3->reader, type);
    if (!e)
      return;
    if (!notify_wanted(v3, e)) {
      sim_notify_mark_read(v3->sim, v3->reader, e->type, e->id);
      continue;
    }
    struct sbuf why = SBUF_INIT;
    int rc = sim_notify_check(e->subtype, e->text, &why);
    if (rc == 0)
      rc = transmit_notification(v3, e);
    if (rc == 0 || !permanent(rc)) {
      sbuf_free(&why);
      return; /* sent, or retried at the next tick */
    }
    if (!why.len)
      sbuf_printf(&why, "the broker client refused it: %s", sim_strerror(rc));
    move_aside(v3, e, sbuf_str(&why));
    sbuf_free(&why);
  }
}

/* Ticker1 step 2: one info, one error, one alert, and one data record if none is waiting
 * (the next data records follow from v3_transport_acked()). */
void v3_notify_drain(struct v3 *v3)
{
  notify_send_one(v3, NOTIFY_INFO);
  notify_send_one(v3, NOTIFY_ERROR);
  notify_send_one(v3, NOTIFY_ALERT);
  notify_send_one(v3, NOTIFY_DATA);
  /* stream entries are never sent by V3 */
  const struct sim_notify_entry *e;
  while ((e = sim_notify_peek(v3->sim, v3->reader, NOTIFY_STREAM)))
    sim_notify_mark_read(v3->sim, v3->reader, e->type, e->id);
}

static void on_notification(void *ctx, const struct sim_notify_entry *e)
{
  struct v3 *v3 = ctx;
  if (v3->connected && e->type != NOTIFY_DATA)
    notify_send_one(v3, e->type);
}

/* The end of a publication's exchange.  For the data record in flight this is the firmware's
 * IncomingPubRec(): mark it read and transmit the next pending record at once
 * (TransmitPendingNotificationsData()), so a backlog drains at the broker's pace, not one
 * record per Ticker1.  libmosquitto reports the end of the QoS 2 exchange (PUBCOMP), not the
 * PUBREC, so here both happen one round trip later than on the module (docs/v3.md). */
void v3_transport_acked(struct v3 *v3, int mid)
{
  if (mid != 0 && v3->data_wait.mid == mid) {
    v3->stats.delivered++;
    sim_notify_mark_read(v3->sim, v3->reader, NOTIFY_DATA, v3->data_wait.id);
    v3->data_wait.mid = 0;
    notify_send_one(v3, NOTIFY_DATA);
    return;
  }
  struct v3_inflight *a = find_ack(v3, mid);
  if (!a)
    return;
  struct v3_inflight done = *a;
  *a = v3->acks[--v3->nacks];
  if (done.type < 0 && v3->responses_unacked)
    v3->responses_unacked--;
  if (done.type >= 0) {
    v3->stats.delivered++;
    sim_notify_mark_read(v3->sim, v3->reader, (enum sim_notify_type)done.type, done.id);
  }
}

void v3_notify_attach(struct v3 *v3)
{
  struct sim *sim = v3->sim;
  if (!sim->notify)
    sim_notify_open(sim, NULL, NULL);
  v3->reader = sim_notify_reader(sim, "ovmsv3");
  if (v3->reader >= 0)
    sim_notify_set_callback(sim, v3->reader, on_notification, v3);
}

void v3_notify_detach(struct v3 *v3)
{
  if (v3->sim->notify && v3->reader >= 0)
    sim_notify_set_callback(v3->sim, v3->reader, NULL, NULL);
}

size_t v3_notify_backlog(struct v3 *v3, int type)
{
  if (!v3->sim->notify || v3->reader < 0)
    return 0;
  return type < 0 ? sim_notify_pending(v3->sim, v3->reader)
                  : sim_notify_pending_type(v3->sim, v3->reader, (enum sim_notify_type)type);
}
