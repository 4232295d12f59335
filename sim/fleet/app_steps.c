/*
 * app_steps.c - the app clients of a scenario's app: steps (app_steps.h).
 *
 * One app step runs at a time (the timeline waits for it).  Its end is recorded by finish()
 * and handed to the scenario on a zero-delay wall-clock timer, outside libmosquitto's
 * callbacks, because the next step may destroy the handle the callback runs on (drop).  The
 * hold on virtual time taken when a step starts to wait is released there too, so the
 * simulation does not move between the answer and the next step.  One 1 s wall-clock timer
 * runs every connected app's keep-alive (mosquitto_loop_misc); one sim_timer per app
 * announces its presence every minute of simulation time.
 */
#include <errno.h>
#include <ev.h>
#include <mosquitto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/error.h"
#include "core/loop.h"
#include "core/sbuf.h"
#include "core/xalloc.h"
#include "fleet/app_steps.h"
#include "fleet/appconn.h"
#include "model/config.h"
#include "model/sim.h"
#include "v3/v3.h"

#define PRESENCE_NS (60 * SIM_NS_PER_SEC)

struct step_app {
  struct app_steps *owner;
  char *id, *prefix;
  struct appconn c;
  bool connected;      /* CONNACK accepted and the connection not lost or closed */
  bool module_up;      /* the module's metric/s/v3/connected is "yes" */
  int seq;             /* the last command's number */
  struct sim_timer presence;
  char why[200];       /* why the connection ended, "" while it is up */
};

struct app_steps {
  struct sim_loop *loop;
  struct app_steps_options o; /* strings owned */
  struct step_app **v;
  size_t n, cap;
  /* the step being executed */
  struct scenario_run *run;
  struct step_app *cur;
  const struct scenario_step *st;
  int presence_mid;    /* connect: the announcement to be acknowledged; 0 = acknowledged */
  int cmd;             /* command: its number */
  int64_t t0;          /* wall ns when the request went out */
  bool held;
  ev_timer timeout, deliver, misc;
  /* the result, until deliver fires */
  bool have_result;
  int status;
  int64_t latency;
  char *response;
  size_t len;
  char error[256];
  bool ever_connected;
  char last_error[256];
};

static struct ev_loop *evl(const struct app_steps *s)
{
  return sim_loop_ev(s->loop);
}

static void hold(struct app_steps *s, bool on)
{
  if (on != s->held && sim_loop_mode(s->loop) == SIM_CLOCK_FAST)
    sim_loop_hold(s->loop, on ? 1 : -1);
  s->held = on;
}

/* Ends the current step with status (and a message, or the response) once back in the loop. */
static void finish(struct app_steps *s, int status, const void *resp, size_t len,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void finish(struct app_steps *s, int status, const void *resp, size_t len,
                   const char *fmt, ...)
{
  if (!s->run || s->have_result)
    return;
  ev_timer_stop(evl(s), &s->timeout);
  s->have_result = true;
  s->status = status;
  s->latency = sim_wall_ns() - s->t0;
  s->response = resp ? xstrndup(resp, len) : NULL;
  s->len = len;
  s->error[0] = '\0';
  if (fmt) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->error, sizeof(s->error), fmt, ap);
    va_end(ap);
  }
  ev_timer_set(&s->deliver, 0., 0.);
  ev_timer_start(evl(s), &s->deliver);
}

static void on_deliver(struct ev_loop *ev, ev_timer *w, int revents)
{
  struct app_steps *s = w->data;
  (void)ev, (void)revents;
  struct scenario_run *run = s->run;
  struct scenario_app_result res = {s->status, s->response, s->len, s->latency, s->error};
  char *resp = s->response;
  s->run = NULL;
  s->cur = NULL;
  s->st = NULL;
  s->have_result = false;
  s->response = NULL;
  hold(s, false);
  scenario_run_app_done(run, &res); /* may start the next step */
  free(resp);
}

static void on_timeout(struct ev_loop *ev, ev_timer *w, int revents)
{
  struct app_steps *s = w->data;
  (void)ev, (void)revents;
  const struct scenario_app_step *a = &s->st->u.app;
  if (a->action == APP_COMMAND)
    finish(s, -ETIMEDOUT, NULL, 0, "no response within %g s", a->timeout);
  else if (!s->cur->connected)
    finish(s, -ETIMEDOUT, NULL, 0, "not connected within %g s", a->timeout);
  else if (s->presence_mid)
    finish(s, -ETIMEDOUT, NULL, 0, "the broker did not acknowledge the presence within %g s",
           a->timeout);
  else
    finish(s, -ETIMEDOUT, NULL, 0, "the module was not online within %g s", a->timeout);
}

/* The connection is gone (lost, refused, closed): the waiting step fails with why. */
static void gone(struct step_app *p, const char *why)
{
  struct app_steps *s = p->owner;
  appconn_stop_io(&p->c);
  sim_timer_stop(s->loop, &p->presence);
  p->connected = false;
  p->module_up = false;
  if (!p->why[0] && why != p->why)
    snprintf(p->why, sizeof(p->why), "%.*s", (int)sizeof(p->why) - 1, why);
  if (s->cur == p && s->st->u.app.action != APP_DISCONNECT)
    finish(s, SIM_EMQTT, NULL, 0, "%s", p->why);
}

static void announce(struct step_app *p, int *mid)
{
  appconn_publish(&p->c, p->prefix, p->id, "active", "1", 1, mid);
  sim_timer_start(p->owner->loop, &p->presence, PRESENCE_NS, PRESENCE_NS);
}

static void on_presence(struct sim_loop *loop, struct sim_timer *t)
{
  struct step_app *p = t->data;
  (void)loop;
  if (p->connected) {
    announce(p, NULL);
    appconn_update_io(&p->c);
  }
}

/* The connect step ends when its announcement is acknowledged (and the module is online, if
 * it asked for that). */
static void connect_progress(struct app_steps *s)
{
  if (s->cur && s->st->u.app.action == APP_CONNECT && s->cur->connected && !s->presence_mid &&
      (!s->st->u.app.wait_online || s->cur->module_up))
    finish(s, 0, NULL, 0, NULL);
}

static void on_connect(struct mosquitto *m, void *obj, int rc)
{
  struct step_app *p = obj;
  struct app_steps *s = p->owner;
  if (rc != 0) {
    snprintf(s->last_error, sizeof(s->last_error), "%s", mosquitto_connack_string(rc));
    gone(p, s->last_error);
    return;
  }
  p->connected = true;
  s->ever_connected = true;
  appconn_subscribe(&p->c, p->prefix, p->id, 1);
  announce(p, s->cur == p ? &s->presence_mid : NULL);
}

static void on_publish(struct mosquitto *m, void *obj, int mid)
{
  struct step_app *p = obj;
  struct app_steps *s = p->owner;
  (void)m;
  if (s->cur == p && s->presence_mid && mid == s->presence_mid) {
    s->presence_mid = 0;
    connect_progress(s);
  }
}

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
  struct step_app *p = obj;
  struct app_steps *s = p->owner;
  (void)m;
  struct appconn_msg_info e = appconn_message(msg, p->prefix, p->id);
  switch (e.kind) {
  case APPCONN_MSG_CONNECTED:
    if (e.up && !p->module_up)
      announce(p, NULL); /* the module starts with no clients: tell it again at once */
    p->module_up = e.up;
    connect_progress(s);
    break;
  case APPCONN_MSG_RESPONSE:
    if (s->cur == p && s->st->u.app.action == APP_COMMAND && e.n == s->cmd)
      finish(s, 0, msg->payload ? msg->payload : "", (size_t)msg->payloadlen, NULL);
    break;
  case APPCONN_MSG_OTHER:
    break;
  }
}

static void on_disconnect(struct mosquitto *m, void *obj, int rc)
{
  struct step_app *p = obj;
  struct app_steps *s = p->owner;
  (void)m;
  if (rc == 0 && s->cur == p && s->st->u.app.action == APP_DISCONNECT) {
    gone(p, "disconnected");
    finish(s, 0, NULL, 0, NULL);
    return;
  }
  gone(p, rc == 0 ? "disconnected" : "the connection was lost");
}

/* A connection attempt that failed (refused, unreachable) but that libmosquitto's TLS layer
 * does not report: the socket's pending error.  0 if none. */
static int connect_error(const struct step_app *p, int revents)
{
  int fd = mosquitto_socket(p->c.m), e = 0;
  socklen_t len = sizeof(e);
  if (p->connected || fd < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
    return 0;
  if (e || !(revents & EV_READ))
    return e;
  /* readable before CONNACK: the broker's bytes, or the end (refused, closed) */
  char c;
  ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0)
    return ECONNRESET;
  return n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR ? errno : 0;
}

static void io_cb(struct ev_loop *ev, ev_io *w, int revents)
{
  struct step_app *p = w->data;
  (void)ev;
  int cerr = connect_error(p, revents);
  int rc = cerr ? MOSQ_ERR_ERRNO : appconn_io(&p->c, revents);
  if (rc != MOSQ_ERR_SUCCESS) {
    char why[200];
    if (rc == MOSQ_ERR_ERRNO)
      snprintf(why, sizeof(why), "%s:%d: %s", p->owner->o.host, p->owner->o.port,
               strerror(cerr ? cerr : errno));
    else
      snprintf(why, sizeof(why), "%s:%d: %s", p->owner->o.host, p->owner->o.port,
               mosquitto_strerror(rc));
    if (!p->connected && !p->why[0])
      snprintf(p->owner->last_error, sizeof(p->owner->last_error), "%s", why);
    gone(p, why);
    return;
  }
  appconn_update_io(&p->c);
}

static void on_misc(struct ev_loop *ev, ev_timer *w, int revents)
{
  struct app_steps *s = w->data;
  (void)ev, (void)revents;
  for (size_t i = 0; i < s->n; i++) {
    struct step_app *p = s->v[i];
    if (!p->connected)
      continue;
    if (mosquitto_loop_misc(p->c.m) != MOSQ_ERR_SUCCESS)
      gone(p, "the connection was lost (keep-alive)");
    else
      appconn_update_io(&p->c);
  }
}

static struct step_app *find(struct app_steps *s, const char *id)
{
  for (size_t i = 0; i < s->n; i++)
    if (!strcmp(s->v[i]->id, id))
      return s->v[i];
  return NULL;
}

static void destroy_handle(struct step_app *p)
{
  appconn_stop_io(&p->c);
  sim_timer_stop(p->owner->loop, &p->presence);
  if (p->c.m)
    mosquitto_destroy(p->c.m); /* no DISCONNECT: the broker publishes the will */
  p->c.m = NULL;
  p->connected = false;
}

/* A new handle for p (with its will, login and TLS) and the connection attempt. */
static int app_connect(struct app_steps *s, struct step_app *p, const char *vehicle,
                       struct sim_diag *d)
{
  destroy_handle(p);
  const struct sim_config *cfg = s->o.sim->config;
  if (!vehicle)
    vehicle = sim_config_get(cfg, "vehicle", "id");
  const char *custom = sim_config_get(cfg, "server.v3", "topic.prefix");
  struct sbuf b = SBUF_INIT;
  v3_prefix_build(custom && *custom ? custom : NULL, s->o.user, vehicle ? vehicle : "DEMO", &b);
  free(p->prefix);
  p->prefix = sbuf_detach(&b);
  p->why[0] = '\0';
  p->module_up = false;
  int rc = appconn_client_new(&p->c, p->id, p->prefix, s->o.user, s->o.password, p, on_connect,
                              on_message);
  struct mosquitto *m = p->c.m;
  if (!m) {
    sim_diag_error(d, NULL, 0, 0, "cannot create MQTT client: %s", strerror(errno));
    return -ENOMEM;
  }
  mosquitto_disconnect_callback_set(m, on_disconnect);
  mosquitto_publish_callback_set(m, on_publish);
  if (rc == MOSQ_ERR_SUCCESS && s->o.tls) {
    if (!s->o.cafile && !s->o.capath)
      mosquitto_int_option(m, MOSQ_OPT_TLS_USE_OS_CERTS, 1);
    /* mosquitto_tls_set() wants a CA file or directory; the system CAs alone need no call */
    if (s->o.cafile || s->o.capath || s->o.certfile)
      rc = mosquitto_tls_set(m, s->o.cafile, s->o.capath, s->o.certfile, s->o.keyfile, NULL);
    if (rc == MOSQ_ERR_SUCCESS)
      rc = mosquitto_tls_opts_set(m, 1 /* SSL_VERIFY_PEER */, NULL, NULL);
  }
  errno = 0;
  if (rc == MOSQ_ERR_SUCCESS)
    rc = mosquitto_connect_async(m, s->o.host, s->o.port, 60);
  if (rc != MOSQ_ERR_SUCCESS) {
    snprintf(s->last_error, sizeof(s->last_error), "%s:%d: %s", s->o.host, s->o.port,
             rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
    sim_diag_error(d, NULL, 0, 0, "%s", s->last_error);
    destroy_handle(p);
    return SIM_EMQTT;
  }
  appconn_update_io(&p->c);
  return 0;
}

static int send_command(struct app_steps *s, struct step_app *p, const char *command,
                        struct sim_diag *d)
{
  if (!p->connected) {
    sim_diag_error(d, NULL, 0, 0, "not connected (%s)", p->why[0] ? p->why : "never was");
    return SIM_ESTATE;
  }
  char rest[32];
  s->cmd = ++p->seq;
  snprintf(rest, sizeof(rest), "command/%d", s->cmd);
  int rc = appconn_publish(&p->c, p->prefix, p->id, rest, command, 2, NULL);
  if (rc != MOSQ_ERR_SUCCESS) {
    sim_diag_error(d, NULL, 0, 0, "cannot send the command: %s", mosquitto_strerror(rc));
    return SIM_EMQTT;
  }
  appconn_update_io(&p->c);
  return 0;
}

/* disconnect: active 0, then DISCONNECT (the broker publishes no will); ends when written. */
static int disconnect(struct app_steps *s, struct step_app *p)
{
  if (!p->connected) {
    finish(s, 0, NULL, 0, NULL); /* already gone: nothing to close */
    return 0;
  }
  appconn_publish(&p->c, p->prefix, p->id, "active", "0", 1, NULL);
  if (mosquitto_disconnect(p->c.m) != MOSQ_ERR_SUCCESS) {
    gone(p, "disconnected");
    finish(s, 0, NULL, 0, NULL);
    return 0;
  }
  appconn_update_io(&p->c);
  return 0;
}

static int start_step(void *ctx, struct scenario_run *run, const struct scenario_step *st,
                      struct sim_diag *d)
{
  struct app_steps *s = ctx;
  const struct scenario_app_step *a = &st->u.app;
  if (s->run) {
    sim_diag_error(d, NULL, 0, 0, "an app step is still running");
    return SIM_ESTATE;
  }
  struct step_app *p = find(s, a->id);
  if (!p) {
    p = xcalloc(1, sizeof(*p));
    p->owner = s;
    p->id = xstrdup(a->id);
    appconn_init(&p->c, s->loop, io_cb, p);
    sim_timer_init(&p->presence, on_presence, p);
    xgrow((void **)&s->v, &s->cap, s->n + 1, sizeof(*s->v));
    s->v[s->n++] = p;
  }
  s->run = run;
  s->cur = p;
  s->st = st;
  s->presence_mid = 0;
  s->t0 = sim_wall_ns();
  int rc = 0;
  switch (a->action) {
  case APP_CONNECT: rc = app_connect(s, p, a->vehicle, d); break;
  case APP_COMMAND: rc = send_command(s, p, a->command, d); break;
  case APP_DISCONNECT: rc = disconnect(s, p); break;
  case APP_DROP:
    destroy_handle(p);
    snprintf(p->why, sizeof(p->why), "dropped");
    finish(s, 0, NULL, 0, NULL);
    break;
  }
  if (rc < 0) {
    s->run = NULL;
    s->cur = NULL;
    s->st = NULL;
    return rc;
  }
  if (!s->have_result && (a->action == APP_CONNECT || a->action == APP_COMMAND)) {
    ev_timer_set(&s->timeout, a->timeout, 0.);
    ev_timer_start(evl(s), &s->timeout);
  }
  hold(s, true);
  return 0;
}

const struct scenario_app_ops app_steps_ops = {start_step};

int app_steps_new(struct sim_loop *loop, const struct app_steps_options *o,
                  struct app_steps **out, struct sim_diag *d)
{
  (void)d;
  struct app_steps *s = xcalloc(1, sizeof(*s));
  s->loop = loop;
  s->o = *o;
  s->o.host = xstrdup(o->host);
  s->o.user = xstrdup(o->user ? o->user : "");
  s->o.password = o->password ? xstrdup(o->password) : NULL;
  s->o.cafile = o->cafile ? xstrdup(o->cafile) : NULL;
  s->o.capath = o->capath ? xstrdup(o->capath) : NULL;
  s->o.certfile = o->certfile ? xstrdup(o->certfile) : NULL;
  s->o.keyfile = o->keyfile ? xstrdup(o->keyfile) : NULL;
  ev_timer_init(&s->timeout, on_timeout, 0., 0.);
  ev_timer_init(&s->deliver, on_deliver, 0., 0.);
  ev_timer_init(&s->misc, on_misc, 1., 1.);
  s->timeout.data = s->deliver.data = s->misc.data = s;
  ev_timer_start(sim_loop_ev(loop), &s->misc);
  ev_unref(sim_loop_ev(loop)); /* the keep-alive alone keeps no run going */
  mosquitto_lib_init();
  *out = s;
  return 0;
}

void app_steps_free(struct app_steps *s)
{
  if (!s)
    return;
  struct ev_loop *ev = evl(s);
  ev_ref(ev);
  ev_timer_stop(ev, &s->misc);
  ev_timer_stop(ev, &s->timeout);
  ev_timer_stop(ev, &s->deliver);
  hold(s, false);
  for (size_t i = 0; i < s->n; i++) {
    destroy_handle(s->v[i]);
    free(s->v[i]->id);
    free(s->v[i]->prefix);
    free(s->v[i]);
  }
  free(s->v);
  free(s->response);
  free((char *)s->o.host);
  free((char *)s->o.user);
  xfree_secret((char *)s->o.password);
  free((char *)s->o.cafile);
  free((char *)s->o.capath);
  free((char *)s->o.certfile);
  free((char *)s->o.keyfile);
  free(s);
  mosquitto_lib_cleanup();
}

bool app_steps_ever_connected(const struct app_steps *s)
{
  return s->ever_connected;
}

const char *app_steps_last_error(const struct app_steps *s)
{
  return s->last_error;
}
