/*
 * v3_transport_mqtt.c - the "mqtt" transport: libmosquitto driven from the libev loop.
 *
 * No libmosquitto thread: the socket (mosquitto_socket()) is watched with an ev_io, readable
 * -> mosquitto_loop_read(), writable (only while mosquitto_want_write()) ->
 * mosquitto_loop_write(), and one 1 s wall-clock ev_timer shared by every connection of the
 * process runs mosquitto_loop_misc() for the keep-alive (network time, not simulation time):
 * a fleet of 10,000 modules has one such timer, not 10,000.  Every connection attempt uses a new
 * mosquitto handle, so its socket is registered anew after every reconnect, and libmosquitto
 * never retransmits a previous connection's messages by itself: as the firmware (Mongoose
 * never retransmits), the engine decides what is sent again.
 *
 * CONNECT as the firmware's (Connect() and MG_EV_CONNECT): MQTT 3.1.1, CleanSession 0,
 * keep-alive, will retained QoS 0, user name and password only when given.  The module never
 * sends DISCONNECT:
 * dropping a connection destroys the handle, which closes the socket without one.  TLS always
 * verifies the server (CA file/dir, else the system CAs), SNI is set to the host name by
 * libmosquitto, and a client certificate/key pair enables mutual TLS.
 *
 * Descriptors: libmosquitto 2.0's mosquitto_new() opens a socket pair that only wakes its own
 * mosquitto_loop()'s select(); driven from libev with mosquitto_want_write() it is never used.
 * With v3_mqtt_single_fd(true) (fleets, docs/scaling.md) the client is created while the soft
 * RLIMIT_NOFILE is lowered to the lowest free descriptor, so that socketpair() fails with
 * EMFILE and libmosquitto goes on without the pair: one descriptor per connection instead of
 * three.  The limit is restored at once; no other thread may open files meanwhile (ovms-sim
 * has none).
 *
 * QoS 0 publications on a plain-TCP connection are written by the transport itself (issue 14,
 * docs/v3.md "Performance"): each is encoded as the PUBLISH packet libmosquitto would send
 * (MQTT 3.1.1 section 3.3: fixed header 0x30 | retain, remaining length, topic, payload; no
 * packet id) into one buffer, which goes out with one send() per loop wakeup (or per 64 KiB)
 * instead of one write() per packet plus one to libmosquitto's socket pair.  The stream stays
 * in order: a QoS 0 message takes this path only while libmosquitto has nothing queued, and
 * libmosquitto is asked to write (mosquitto_loop_write()) only once the buffer is out.  About
 * once a second a QoS 0 message still goes through libmosquitto and is written at once, so that
 * its keep-alive clock (the time of the last packet out) stays within a second of the truth and
 * PINGREQs go out exactly when they did before.  mqtts:// connections publish through
 * libmosquitto (the bytes go through its TLS session).
 *
 * In virtual time (SIM_CLOCK_FAST) the transport holds the simulation clock
 * (sim_loop_hold()) while a connection is being set up and while QoS 1/2 publications wait
 * for their acknowledgement, so time does not race ahead of the network.
 */
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <mosquitto.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/error.h"
#include "core/sbuf.h"
#include "model/sim.h"
#include "v3/v3.h"
#include "core/xalloc.h"

struct mqtt_tp {
  struct v3 *v3;
  struct sim *sim;
  struct mosquitto *mosq;
  struct mosquitto *dead;   /* dropped inside a callback: destroyed later */
  ev_io io;
  struct mqtt_tp *misc_prev, *misc_next; /* in the list of the shared keep-alive timer */
  bool misc_on;
  struct sim_timer later;   /* deferred work: destroy, report a synchronous failure */
  bool io_active;
  bool connack;             /* CONNACK seen on this connection */
  bool lost;                /* reported closed */
  int in_cb;                /* inside a libmosquitto callback (its callback mutex held) */
  int pending_fail;         /* synchronous connect failure to report (0 none) */
  int hold;                 /* holds taken on the simulation clock */
  bool hold_connect;
  int *mids;                /* QoS 1/2 publications awaiting their acknowledgement */
  size_t nmids, capmids;
  bool direct;              /* QoS 0 PUBLISHes are encoded here (plain TCP, after CONNACK) */
  struct sbuf out;          /* encoded packets not yet written: out.p[out_off..out.len) */
  size_t out_off;
  double lib_at;            /* ev_now() of the last QoS 0 message written by libmosquitto */
  bool in_publish;          /* inside lib_write_now()'s mosquitto_loop_write(): losses defer */
  bool blocked;             /* the socket took less than offered: wait until writable */
};

/* Encoded bytes waiting in out beyond which m_publish() writes at once. */
#define DIRECT_FLUSH_AT 65536
/* An emptied buffer larger than this is freed, not kept for the next message: steady-state
 * cadence fits in it, a full sync's burst does not (docs/scaling.md, memory per car). */
#define DIRECT_KEEP 4096

static int lib_inited;

/* The shared keep-alive timer: every connection with a live handle, on one ev loop. */
static struct {
  ev_timer timer;
  struct ev_loop *ev;
  struct mqtt_tp *head;
  struct mqtt_tp *next; /* the iteration's next entry (fixed up when it is removed) */
  size_t n;
} misc_all;

static bool single_fd;

void v3_mqtt_single_fd(bool on)
{
  single_fd = on;
}

struct mosquitto *v3_mqtt_client_new(const char *id, bool clean_session, void *obj)
{
  struct rlimit rl;
  int probe = single_fd ? open("/dev/null", O_RDONLY | O_CLOEXEC) : -1;
  bool lowered = false;
  if (probe >= 0) {
    /* probe is the lowest free descriptor: below it every descriptor is taken */
    close(probe);
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur > (rlim_t)probe) {
      struct rlimit tight = {(rlim_t)probe, rl.rlim_max};
      lowered = setrlimit(RLIMIT_NOFILE, &tight) == 0;
    }
  }
  struct mosquitto *m = mosquitto_new(id, clean_session, obj);
  int saved = errno;
  if (lowered)
    setrlimit(RLIMIT_NOFILE, &rl);
  errno = saved;
  return m;
}

static void set_hold(struct mqtt_tp *t, int want)
{
  if (want != t->hold) {
    sim_loop_hold(t->sim->loop, want - t->hold);
    t->hold = want;
  }
}

static void update_hold(struct mqtt_tp *t)
{
  set_hold(t, (t->hold_connect || t->nmids > 0) ? 1 : 0);
}

static int translate(int rc)
{
  switch (rc) {
  case MOSQ_ERR_SUCCESS: return 0;
  case MOSQ_ERR_NOMEM: return -ENOMEM;
  case MOSQ_ERR_INVAL: return SIM_ECONFIG;
  case MOSQ_ERR_MALFORMED_UTF8: return SIM_EPARSE;
  case MOSQ_ERR_PAYLOAD_SIZE:
  case MOSQ_ERR_OVERSIZE_PACKET: return SIM_ELIMIT;
  case MOSQ_ERR_TLS: return SIM_ETLS;
  case MOSQ_ERR_ERRNO: return errno ? -errno : SIM_EMQTT;
  case MOSQ_ERR_NO_CONN:
  case MOSQ_ERR_CONN_LOST: return -ECONNRESET;
  default: return SIM_EMQTT;
  }
}

int v3_mqtt_publish_encode(const char *topic, const void *payload, size_t len, bool retain,
                           struct sbuf *out)
{
  size_t tlen = strlen(topic);
  if (tlen > 65535)
    return SIM_ELIMIT;
  if (len > 268435455 - 2 - tlen)
    return SIM_ELIMIT;
  size_t rem = 2 + tlen + len;
  unsigned char head[7];
  size_t h = 0;
  head[h++] = (unsigned char)(0x30 | (retain ? 1 : 0));
  do {
    unsigned char b = (unsigned char)(rem % 128);
    rem /= 128;
    head[h++] = rem ? (unsigned char)(b | 0x80) : b;
  } while (rem);
  head[h++] = (unsigned char)(tlen >> 8);
  head[h++] = (unsigned char)(tlen & 0xff);
  sbuf_reserve(out, h + tlen + len);
  char *d = out->p + out->len;
  memcpy(d, head, h);
  memcpy(d + h, topic, tlen);
  if (len)
    memcpy(d + h + tlen, payload, len);
  out->len += h + tlen + len;
  out->p[out->len] = '\0';
  return 0;
}

/* Printable ASCII other than '+' and '#' (MQTT 3.1.1 sections 1.5.3 and 4.7.1): what every
 * check of libmosquitto passes (mosquitto_validate_utf8() refuses U+0000-U+001F and U+007F,
 * mosquitto_pub_topic_check() the wildcards). */
bool v3_mqtt_plain_topic(const char *topic, size_t *len)
{
  const unsigned char *p = (const unsigned char *)topic;
  size_t n = 0;
  while (p[n] >= 0x20 && p[n] < 0x7f && p[n] != '+' && p[n] != '#')
    n++;
  *len = n;
  return p[n] == '\0' && n > 0 && n <= 65535;
}

static bool out_pending(const struct mqtt_tp *t)
{
  return t->out_off < t->out.len;
}

/* Writes what the buffer holds until it is empty or the socket is full.  Returns 0 (also
 * when the socket took only part of it), or -errno when the connection failed. */
static int direct_write(struct mqtt_tp *t)
{
  int fd = t->mosq ? mosquitto_socket(t->mosq) : -1;
  if (fd < 0)
    return -ECONNRESET;
  while (out_pending(t)) {
    size_t want = t->out.len - t->out_off;
    ssize_t n = send(fd, t->out.p + t->out_off, want, MSG_NOSIGNAL);
    if (n > 0) {
      t->out_off += (size_t)n;
      if ((size_t)n < want) {
        t->blocked = true;
        break;
      }
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      t->blocked = true;
      break;
    } else {
      return n < 0 ? -errno : -ECONNRESET;
    }
  }
  if (!out_pending(t)) {
    if (t->out.cap > DIRECT_KEEP)
      sbuf_free(&t->out); /* a full sync's burst: give it back (a fleet holds one per car) */
    else
      sbuf_reset(&t->out);
    t->out_off = 0;
  } else if (t->out_off >= DIRECT_FLUSH_AT && t->out_off >= t->out.len / 2) {
    memmove(t->out.p, t->out.p + t->out_off, t->out.len - t->out_off + 1);
    t->out.len -= t->out_off;
    t->out_off = 0;
  }
  return 0;
}

static void update_io(struct mqtt_tp *t)
{
  if (!t->mosq)
    return;
  int fd = mosquitto_socket(t->mosq);
  struct ev_loop *ev = sim_loop_ev(t->sim->loop);
  int events = EV_READ | ((out_pending(t) || mosquitto_want_write(t->mosq)) ? EV_WRITE : 0);
  if (fd < 0) {
    if (t->io_active)
      ev_io_stop(ev, &t->io);
    t->io_active = false;
    return;
  }
  if (t->io_active && t->io.fd == fd && (t->io.events & (EV_READ | EV_WRITE)) == events)
    return;
  if (t->io_active)
    ev_io_stop(ev, &t->io);
  ev_io_set(&t->io, fd, events);
  ev_io_start(ev, &t->io);
  t->io_active = true;
}

static void misc_all_cb(struct ev_loop *ev, ev_timer *w, int revents);

static void misc_add(struct mqtt_tp *t)
{
  struct ev_loop *ev = sim_loop_ev(t->sim->loop);
  if (t->misc_on)
    return;
  if (!misc_all.n) {
    misc_all.ev = ev;
    ev_timer_init(&misc_all.timer, misc_all_cb, 1.0, 1.0);
    ev_timer_start(ev, &misc_all.timer);
  }
  t->misc_prev = NULL;
  t->misc_next = misc_all.head;
  if (misc_all.head)
    misc_all.head->misc_prev = t;
  misc_all.head = t;
  misc_all.n++;
  t->misc_on = true;
}

static void misc_remove(struct mqtt_tp *t)
{
  if (!t->misc_on)
    return;
  if (misc_all.next == t)
    misc_all.next = t->misc_next;
  if (t->misc_prev)
    t->misc_prev->misc_next = t->misc_next;
  else
    misc_all.head = t->misc_next;
  if (t->misc_next)
    t->misc_next->misc_prev = t->misc_prev;
  t->misc_on = false;
  if (!--misc_all.n)
    ev_timer_stop(misc_all.ev, &misc_all.timer);
}

static void stop_watchers(struct mqtt_tp *t)
{
  struct ev_loop *ev = sim_loop_ev(t->sim->loop);
  if (t->io_active)
    ev_io_stop(ev, &t->io);
  t->io_active = false;
  misc_remove(t);
}

/* The connection is gone (error in read/write/misc, or the peer closed). */
static void lost(struct mqtt_tp *t, int err)
{
  if (t->lost)
    return;
  t->lost = true;
  stop_watchers(t);
  t->hold_connect = false;
  t->nmids = 0;
  update_hold(t);
  if (!t->connack && err < 0 && !*v3_last_error(t->v3))
    v3_transport_error(t->v3, sim_strerror(err)); /* the cause of a failed connect */
  v3_transport_closed(t->v3, err, !t->connack);
}

/* After a libmosquitto loop call on m that returned rc: nothing when a callback dropped the
 * client, the loss of the connection on an error, else the watchers updated. */
static void after_loop_call(struct mqtt_tp *t, struct mosquitto *m, int rc)
{
  if (t->mosq != m)
    return; /* dropped by a callback */
  if (rc != MOSQ_ERR_SUCCESS)
    lost(t, translate(rc));
  else
    update_io(t);
}

static void io_cb(struct ev_loop *ev, ev_io *w, int revents)
{
  struct mqtt_tp *t = w->data;
  struct mosquitto *m = t->mosq;
  (void)ev;
  int rc = MOSQ_ERR_SUCCESS;
  if (revents & EV_READ)
    rc = mosquitto_loop_read(m, 1);
  if (rc == MOSQ_ERR_SUCCESS && t->mosq == m && (revents & EV_WRITE)) {
    /* the transport's own packets first: libmosquitto's were queued after them */
    t->blocked = false;
    int err = out_pending(t) ? direct_write(t) : 0;
    if (err < 0) {
      lost(t, err);
      return;
    }
    if (!out_pending(t))
      rc = mosquitto_loop_write(m, 1);
  }
  after_loop_call(t, m, rc);
}

static void misc_one(struct mqtt_tp *t)
{
  if (!t->mosq)
    return;
  struct mosquitto *m = t->mosq;
  after_loop_call(t, m, mosquitto_loop_misc(m));
}

static void misc_all_cb(struct ev_loop *ev, ev_timer *w, int revents)
{
  (void)ev;
  (void)w;
  (void)revents;
  for (struct mqtt_tp *t = misc_all.head; t; t = misc_all.next) {
    misc_all.next = t->misc_next;
    misc_one(t);
  }
  misc_all.next = NULL;
}

static void later_cb(struct sim_loop *loop, struct sim_timer *tm)
{
  struct mqtt_tp *t = tm->data;
  (void)loop;
  if (t->dead) {
    mosquitto_destroy(t->dead);
    t->dead = NULL;
  }
  if (t->pending_fail) {
    int err = t->pending_fail;
    t->pending_fail = 0;
    lost(t, err);
  }
}

/* ---- libmosquitto callbacks ---------------------------------------------------------------- */

static void on_connect(struct mosquitto *m, void *obj, int rc)
{
  struct mqtt_tp *t = obj;
  if (t->mosq != m)
    return;
  t->hold_connect = false;
  update_hold(t);
  if (rc == 0) {
    t->connack = true;
    t->direct = mosquitto_ssl_get(m) == NULL;
    t->lib_at = ev_now(sim_loop_ev(t->sim->loop));
    /* From now on libmosquitto only queues packets; they are written by the writable watcher
     * in bursts, or at once by lib_write_now() on plain TCP: no write attempt per PUBLISH
     * into a full socket buffer.  (Not before CONNACK: the TLS handshake and CONNECT are
     * driven the ordinary way.) */
    mosquitto_threaded_set(m, true);
  } else
    t->lost = true; /* the refusal is the outcome: no separate "closed" */
  t->in_cb++;
  v3_transport_connack(t->v3, rc);
  t->in_cb--;
}

static void fail_later(struct mqtt_tp *t, int err);

static void on_disconnect(struct mosquitto *m, void *obj, int rc)
{
  struct mqtt_tp *t = obj;
  if (t->mosq != m)
    return;
  int err = rc == MOSQ_ERR_KEEPALIVE ? -ETIMEDOUT : -ECONNRESET;
  if (t->in_publish) {
    fail_later(t, err); /* not inside the engine's publish call */
    return;
  }
  t->in_cb++;
  lost(t, err);
  t->in_cb--;
}

static void on_publish(struct mosquitto *m, void *obj, int mid)
{
  struct mqtt_tp *t = obj;
  if (t->mosq != m)
    return;
  for (size_t i = 0; i < t->nmids; i++)
    if (t->mids[i] == mid) {
      t->mids[i] = t->mids[--t->nmids];
      update_hold(t);
      t->in_cb++;
      v3_transport_acked(t->v3, mid);
      t->in_cb--;
      return;
    }
}

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
  struct mqtt_tp *t = obj;
  if (t->mosq != m || !msg->topic)
    return;
  t->in_cb++;
  v3_transport_message(t->v3, msg->topic, msg->payload ? msg->payload : "",
                       (size_t)(msg->payloadlen > 0 ? msg->payloadlen : 0));
  t->in_cb--;
}

/*
 * libmosquitto's own error messages (TLS verification, name resolution) become the detail
 * of the failure.  An OpenSSL error is logged at MOSQ_LOG_ERR while the handshake's SSL
 * object still exists (net__print_ssl_error() in libmosquitto's net_mosq.c); when the
 * certificate check failed, its result names the reason (SSL_get_verify_result(),
 * X509_verify_cert_error_string()): "TLS verification failed: certificate verify failed
 * (unable to get local issuer certificate)".
 */
static void on_log(struct mosquitto *m, void *obj, int level, const char *str)
{
  struct mqtt_tp *t = obj;
  if (t->mosq != m || level != MOSQ_LOG_ERR || !str)
    return;
  const char *p = strstr(str, "routines:");
  if (p) { /* "OpenSSL Error[0]: error:0A000086:SSL routines::certificate verify failed" */
    p = strrchr(str, ':');
    char buf[256];
    SSL *ssl = mosquitto_ssl_get(m);
    long vr = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
    if (vr != X509_V_OK)
      snprintf(buf, sizeof(buf), "TLS verification failed: %s (%s)", p + 1,
               X509_verify_cert_error_string(vr));
    else
      snprintf(buf, sizeof(buf), "TLS: %s", p + 1);
    v3_transport_error(t->v3, buf);
  } else {
    v3_transport_error(t->v3, str);
  }
}

/* ---- operations ---------------------------------------------------------------------------- */

static int m_open(struct v3 *v3, struct sim *sim, const struct v3_options *opt, void **priv,
                  struct sim_diag *d)
{
  (void)opt;
  (void)d;
  if (!lib_inited++)
    mosquitto_lib_init();
  struct mqtt_tp *t = xcalloc(1, sizeof(*t));
  t->v3 = v3;
  t->sim = sim;
  ev_io_init(&t->io, io_cb, -1, EV_READ);
  t->io.data = t;
  sim_timer_init(&t->later, later_cb, t);
  *priv = t;
  return 0;
}

/* Writes out what libmosquitto still has queued on a live connection (at most about 2 s of
 * wall time), as a TCP close delivers data already written: the last publications before an
 * exit or a reconnect are not lost in the client's queue. */
static void flush(struct mqtt_tp *t)
{
  if (!t->mosq || !t->connack || t->lost || t->in_cb || t->pending_fail)
    return;
  for (int i = 0; i < 200 && (out_pending(t) || mosquitto_want_write(t->mosq)); i++) {
    struct pollfd p = {.fd = mosquitto_socket(t->mosq), .events = POLLOUT};
    if (p.fd < 0 || poll(&p, 1, 10) < 0)
      return;
    if (!(p.revents & POLLOUT))
      continue;
    if (out_pending(t)) {
      if (direct_write(t) < 0)
        return;
    } else if (mosquitto_loop_write(t->mosq, 1) != MOSQ_ERR_SUCCESS) {
      return;
    }
  }
}

static void m_drop(void *priv)
{
  struct mqtt_tp *t = priv;
  flush(t);
  stop_watchers(t);
  sbuf_reset(&t->out); /* as libmosquitto's queue goes with its handle */
  t->out_off = 0;
  t->direct = false;
  t->hold_connect = false;
  t->nmids = 0;
  update_hold(t);
  t->pending_fail = 0;
  if (t->mosq) {
    if (t->dead)
      mosquitto_destroy(t->dead);
    t->dead = t->mosq; /* we may be inside one of its callbacks */
    t->mosq = NULL;
    sim_timer_start(t->sim->loop, &t->later, 0, 0);
  }
}

static int m_connect(void *priv, const struct v3_connect_info *ci, struct sim_diag *d)
{
  struct mqtt_tp *t = priv;
  m_drop(t);
  t->connack = false;
  t->lost = false;
  struct mosquitto *m = v3_mqtt_client_new(ci->client_id, ci->clean_session, t);
  if (!m) {
    int e = errno;
    sim_diag_error(d, NULL, 0, 0, "cannot create MQTT client: %s", strerror(e));
    return e == EINVAL ? SIM_ECONFIG : -ENOMEM;
  }
  mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
  mosquitto_connect_callback_set(m, on_connect);
  mosquitto_disconnect_callback_set(m, on_disconnect);
  mosquitto_publish_callback_set(m, on_publish);
  mosquitto_message_callback_set(m, on_message);
  mosquitto_log_callback_set(m, on_log);
  int rc = mosquitto_will_set(m, ci->will_topic, (int)strlen(ci->will_payload), ci->will_payload,
                              ci->will_qos, ci->will_retain);
  if (rc == MOSQ_ERR_SUCCESS && ci->username)
    rc = mosquitto_username_pw_set(m, ci->username, ci->password);
  if (rc == MOSQ_ERR_SUCCESS && ci->tls) {
    /* without --cafile/--capath the system CAs; mosquitto_tls_set() refuses to have neither
     * (MOSQ_ERR_INVAL), so OpenSSL's default directory is named as the CA path too */
    const char *capath = ci->capath;
    if (!ci->cafile && !ci->capath) {
      mosquitto_int_option(m, MOSQ_OPT_TLS_USE_OS_CERTS, 1);
      capath = X509_get_default_cert_dir();
    }
    rc = mosquitto_tls_set(m, ci->cafile, capath, ci->certfile, ci->keyfile, NULL);
    if (rc == MOSQ_ERR_SUCCESS)
      rc = mosquitto_tls_opts_set(m, 1 /* SSL_VERIFY_PEER */, NULL, NULL);
    if (rc == MOSQ_ERR_SUCCESS)
      rc = mosquitto_tls_insecure_set(m, false);
  }
  if (rc != MOSQ_ERR_SUCCESS) {
    sim_diag_error(d, NULL, 0, 0, "MQTT client setup failed: %s", mosquitto_strerror(rc));
    mosquitto_destroy(m);
    return SIM_ECONFIG;
  }
  t->mosq = m;
  t->hold_connect = true;
  update_hold(t);
  errno = 0;
  rc = mosquitto_connect_async(m, ci->host, ci->port, (int)ci->keepalive);
  if (rc != MOSQ_ERR_SUCCESS) {
    /* a TCP connect that failed at once (refused on loopback, no route, bad host): reported
     * as a failed connection on the next turn of the loop, as the firmware's MG_EV_CONNECT */
    int e = errno;
    t->pending_fail = translate(rc);
    if (!t->pending_fail)
      t->pending_fail = SIM_EMQTT;
    char why[160];
    if (rc == MOSQ_ERR_EAI)
      snprintf(why, sizeof(why), "host name %s not resolved", ci->host);
    else if (rc == MOSQ_ERR_ERRNO && e)
      snprintf(why, sizeof(why), "%s:%d: %s", ci->host, ci->port, strerror(e));
    else
      snprintf(why, sizeof(why), "%s:%d: %s", ci->host, ci->port, mosquitto_strerror(rc));
    if (rc != MOSQ_ERR_TLS || !*v3_last_error(t->v3))
      v3_transport_error(t->v3, why); /* TLS: the verification's own reason is kept */
    t->hold_connect = false;
    update_hold(t);
    sim_timer_start(t->sim->loop, &t->later, 0, 0);
    return 0;
  }
  misc_add(t);
  update_io(t);
  return 0;
}

/* Writes what libmosquitto just queued at once when nothing is queued before it and no
 * libmosquitto callback is running, so that the QoS 0 messages after it can take the direct
 * way.  A failure is reported on the next turn of the loop. */
static void lib_write_now(struct mqtt_tp *t)
{
  if (!t->direct || t->in_cb || t->pending_fail || out_pending(t) ||
      !mosquitto_want_write(t->mosq))
    return;
  t->in_publish = true;
  int rc = mosquitto_loop_write(t->mosq, 1);
  t->in_publish = false;
  if (rc != MOSQ_ERR_SUCCESS)
    fail_later(t, translate(rc));
}

static int m_subscribe(void *priv, const char *const *filters, size_t n, int qos)
{
  struct mqtt_tp *t = priv;
  if (!t->mosq)
    return SIM_ESTATE;
  int rc = mosquitto_subscribe_multiple(t->mosq, NULL, (int)n, (char *const *const)filters, qos,
                                        0, NULL);
  if (rc == MOSQ_ERR_SUCCESS)
    lib_write_now(t);
  update_io(t);
  return translate(rc);
}

/* A failure found while writing outside the loop's callbacks is reported on the next turn of
 * the loop, as a failed loop call would be. */
static void fail_later(struct mqtt_tp *t, int err)
{
  if (!t->pending_fail)
    t->pending_fail = err;
  sim_timer_start(t->sim->loop, &t->later, 0, 0);
}

/* A QoS 0 PUBLISH encoded into t->out, refused for the same reasons mosquitto_publish()
 * refuses one (lib/actions.c in libmosquitto 2.0), with the same error. */
static int direct_publish(struct mqtt_tp *t, const char *topic, const void *payload, size_t len,
                          bool retain)
{
  if (!*topic)
    return translate(MOSQ_ERR_INVAL);
  size_t tlen = 0;
  if (!v3_mqtt_plain_topic(topic, &tlen)) {
    /* libmosquitto's checks, in its order, for their exact outcome */
    tlen = strlen(topic);
    if (tlen > 65535 || mosquitto_validate_utf8(topic, (int)tlen))
      return translate(MOSQ_ERR_MALFORMED_UTF8);
    if (len > 268435455) /* MQTT_MAX_PAYLOAD */
      return translate(MOSQ_ERR_PAYLOAD_SIZE);
    if (mosquitto_pub_topic_check(topic) != MOSQ_ERR_SUCCESS)
      return translate(MOSQ_ERR_INVAL);
  } else if (len > 268435455) {
    return translate(MOSQ_ERR_PAYLOAD_SIZE);
  }
  if (t->pending_fail)
    return 0; /* the connection failed: reported on the next turn, as a queued packet is */
  if (mosquitto_socket(t->mosq) < 0)
    return translate(MOSQ_ERR_NO_CONN);
  int rc = v3_mqtt_publish_encode(topic, payload, len, retain, &t->out);
  if (rc < 0)
    return translate(MOSQ_ERR_PAYLOAD_SIZE);
  if (!t->blocked && t->out.len - t->out_off >= DIRECT_FLUSH_AT) {
    int err = direct_write(t);
    if (err < 0)
      fail_later(t, err);
  }
  update_io(t);
  return 0;
}

static int m_publish(void *priv, const char *topic, const void *payload, size_t len, int qos,
                     bool retain, int *mid)
{
  struct mqtt_tp *t = priv;
  if (!t->mosq)
    return SIM_ESTATE;
  bool lib_now = false; /* this QoS 0 message refreshes libmosquitto's keep-alive clock */
  if (qos == 0 && t->direct && !mosquitto_want_write(t->mosq)) {
    double now = ev_now(sim_loop_ev(t->sim->loop));
    if (now - t->lib_at < 1.0 || out_pending(t) || t->in_cb || t->pending_fail) {
      *mid = 0;
      return direct_publish(t, topic, payload, len, retain);
    }
    lib_now = true;
  }
  int rc = mosquitto_publish(t->mosq, mid, topic, (int)len, payload, qos, retain);
  if (rc != MOSQ_ERR_SUCCESS)
    return translate(rc);
  if (lib_now)
    t->lib_at = ev_now(sim_loop_ev(t->sim->loop));
  lib_write_now(t);
  if (qos > 0) {
    xgrow((void **)&t->mids, &t->capmids, t->nmids + 1, sizeof(*t->mids));
    t->mids[t->nmids++] = *mid;
    update_hold(t);
  }
  update_io(t);
  return 0;
}

static void m_close(void *priv)
{
  struct mqtt_tp *t = priv;
  m_drop(t);
  sim_timer_stop(t->sim->loop, &t->later);
  if (t->dead)
    mosquitto_destroy(t->dead);
  sbuf_free(&t->out);
  free(t->mids);
  free(t);
  if (!--lib_inited)
    mosquitto_lib_cleanup();
}

const struct v3_transport_ops v3_transport_mqtt = {
  .name = "mqtt",
  .open = m_open, .close = m_close,
  .connect = m_connect, .drop = m_drop,
  .subscribe = m_subscribe, .publish = m_publish,
};
