/*
 * notifyd.c - ovms-notifyd: the central notification daemon of the 2018 Server V3 design
 * post.  It keeps a persistent session (CleanSession 0, a fixed client id) on the broker,
 * subscribed at QoS 2 to ovms/+/+/notify/#, and stores every notification as one row of the
 * table notifications (server/common/store.h).
 *
 * Nothing is lost when it is killed at any instant, because a message is acknowledged only
 * after its row is committed: the MQTT client is its own (mqtt_codec.h), and the receive
 * path is
 *     PUBLISH arrives -> batch -> BEGIN; (QoS 2: hold packet id); INSERT row; COMMIT
 *                     -> PUBACK (QoS 1) / PUBREC (QoS 2)
 *     PUBREL arrives  -> batch -> DELETE the held packet id; COMMIT -> PUBCOMP
 * A crash before COMMIT leaves the message unacknowledged in the broker's session, which
 * resends it (DUP) on the next connection; a crash after COMMIT but before the ack makes the
 * broker resend a message already stored: a QoS 2 packet id still held, or a data record's
 * (user, vehicle, type, subtype, msgid) key, tells it is a duplicate and no second row is
 * made.  (A QoS 1 info/alert resent that way can give a second row: MQTT gives it no id.)
 * Under load the packets that arrived together are committed together (--batch).
 *
 * Test hook: with OVMS_NOTIFYD_TEST_PAUSE_FILE=PATH in the environment the daemon, the first
 * time it is about to commit, writes PATH and stops (pause()) — the moment between receipt
 * and commit at which a test kills it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "acl.h"
#include "db.h"
#include "mqtt_codec.h"
#include "srv_error.h"
#include "store.h"

#define DEFAULT_CLIENT_ID "ovms-notifyd"
#define DEFAULT_FILTER "ovms/+/+/notify/#"
#define DEFAULT_KEEPALIVE 60
#define DEFAULT_BATCH 1000
#define DEFAULT_IDLE_MS 1000
#define MAX_BACKOFF 30.0

struct options {
  char host[256];
  char port[8];
  char user[256];
  bool has_user;
  char password[512];
  bool has_password;
  const char *database;
  const char *client_id;
  const char *filter;
  bool once;
  bool verbose;
  int idle_ms;
  int keepalive;
  size_t batch;
  size_t max_packet;
};

enum item_kind { ITEM_PUBLISH, ITEM_PUBREL };

struct item {
  enum item_kind kind;
  uint8_t qos;
  uint16_t pid;
  char *topic;
  uint8_t *payload;
  size_t len;
  long long received;
};

struct daemon {
  struct options o;
  struct db *db;
  int fd;
  uint8_t *in;
  size_t inlen, incap;
  struct item *items;
  size_t nitems, capitems;
  double last_in, last_out, ping_sent;
  bool suback, connected;
  double retry_at, retry_delay;
  unsigned long stored, duplicates, acked;
  const char *pause_file;
};

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
  (void)sig;
  stopping = 1;
}

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logmsg(const char *fmt, ...)
{
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  time_t t = time(NULL);
  struct tm tm;
  gmtime_r(&t, &tm);
  fprintf(stderr, "%04d-%02d-%02d %02d:%02d:%02dZ ovms-notifyd: %s\n", tm.tm_year + 1900,
          tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, buf);
}

static void sleep_s(double s)
{
  struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
  while (!stopping && nanosleep(&ts, &ts) < 0 && errno == EINTR)
    ;
}

/* ---- connection ---- */

static int tcp_connect(const struct options *o, char *err, size_t errlen)
{
  struct addrinfo hints = {0}, *res = NULL;
  hints.ai_socktype = SOCK_STREAM;
  int rc = getaddrinfo(o->host, o->port, &hints, &res);
  if (rc != 0) {
    snprintf(err, errlen, "%s: %s", o->host, gai_strerror(rc));
    return -EHOSTUNREACH;
  }
  int fd = -1, e = ECONNREFUSED;
  for (struct addrinfo *a = res; a; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0)
      continue;
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
      break;
    e = errno;
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0) {
    snprintf(err, errlen, "%s:%s: %s", o->host, o->port, strerror(e));
    return -e;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

static int send_all(struct daemon *d, const uint8_t *p, size_t n)
{
  while (n > 0) {
    ssize_t w = send(d->fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return -errno;
    p += w;
    n -= (size_t)w;
  }
  d->last_out = now_s();
  return 0;
}

static void drop_items(struct daemon *d)
{
  for (size_t i = 0; i < d->nitems; i++) {
    free(d->items[i].topic);
    free(d->items[i].payload);
  }
  d->nitems = 0;
}

static void disconnect(struct daemon *d, bool graceful)
{
  if (d->fd >= 0) {
    if (graceful) {
      uint8_t b[2];
      long n = mqtt_build_simple(b, sizeof(b), MQTT_DISCONNECT);
      if (n > 0)
        (void)send_all(d, b, (size_t)n);
    }
    close(d->fd);
  }
  d->fd = -1;
  d->connected = d->suback = false;
  d->inlen = 0;
  /* uncommitted messages are still the broker's: it resends them on the next connection */
  drop_items(d);
}

/* ---- storing ---- */

/* A copy of s[0..n) safe for a text column: bytes of ill-formed UTF-8 become '?'. */
static char *text_copy(const char *s, size_t n, bool utf8)
{
  char *t = malloc(n + 1);
  if (!t)
    return NULL;
  for (size_t i = 0; i < n; i++)
    t[i] = !utf8 && ((unsigned char)s[i] >= 0x80 || s[i] == 0) ? '?' : s[i];
  t[n] = '\0';
  return t;
}

static int store_item(struct daemon *d, const struct item *it)
{
  char buf[65536 + 1];
  struct notify_topic nt;
  if (notify_topic_parse(it->topic, buf, sizeof(buf), &nt) < 0)
    logmsg("malformed notification topic stored as it is: %s", it->topic);
  struct store_notification n = {
      .username = nt.user,
      .vehicle = nt.vehicle,
      .type = nt.type,
      .subtype = nt.subtype,
      .topic = it->topic,
      .has_msgid = nt.has_msgid,
      .msgid = nt.msgid,
      .payload = it->payload,
      .len = it->len,
      .received = it->received,
      .recorded = it->received - nt.age_s * 1000,
  };
  int rc = it->qos == 2 ? store_notification_add_qos2(d->db, &n, d->o.client_id, it->pid)
                        : store_notification_add(d->db, &n);
  bool known = !db_pipelined(d->db);
  if (rc == 1 || (rc == 0 && !known))
    d->stored++;
  else if (rc == 0)
    d->duplicates++;
  if (rc >= 0 && d->o.verbose)
    logmsg("%s %s (%zu bytes)", !known ? "storing" : rc ? "stored" : "duplicate", it->topic,
           it->len);
  return rc < 0 ? rc : 0;
}

/* Commits the batch and then acknowledges it.  Returns 0, a db error (batch kept for a
 * retry, nothing acknowledged), or a socket error. */
static int commit_batch(struct daemon *d)
{
  if (d->nitems == 0)
    return 0;
  if (d->pause_file) {
    FILE *f = fopen(d->pause_file, "w");
    if (f) {
      fprintf(f, "%zu\n", d->nitems);
      fclose(f);
    }
    for (;;)
      pause();
  }
  /* one transaction; on PostgreSQL its statements are pipelined (one round trip) */
  int rc = db_begin(d->db);
  if (rc == 0)
    rc = db_pipeline(d->db, true);
  for (size_t i = 0; rc == 0 && i < d->nitems; i++) {
    const struct item *it = &d->items[i];
    if (it->kind == ITEM_PUBREL)
      rc = store_qos2_release(d->db, d->o.client_id, it->pid);
    else
      rc = store_item(d, it);
  }
  int prc = db_pipeline(d->db, false);
  if (rc == 0)
    rc = prc;
  if (rc == 0)
    rc = db_commit(d->db);
  if (rc < 0) {
    db_rollback(d->db);
    logmsg("cannot store %zu message(s), not acknowledged, retrying: %s (%s)", d->nitems,
           srv_strerror(rc), db_errmsg(d->db));
    return rc;
  }
  /* committed: now, and only now, acknowledge */
  uint8_t *acks = malloc(d->nitems * 4);
  size_t n = 0;
  if (!acks)
    return -ENOMEM;
  for (size_t i = 0; i < d->nitems; i++) {
    const struct item *it = &d->items[i];
    enum mqtt_type t = it->kind == ITEM_PUBREL ? MQTT_PUBCOMP
                       : it->qos == 2          ? MQTT_PUBREC
                                               : MQTT_PUBACK;
    if (it->kind == ITEM_PUBLISH && it->qos == 0)
      continue;
    n += (size_t)mqtt_build_ack(acks + n, 4, t, it->pid);
  }
  d->acked += d->nitems;
  drop_items(d);
  rc = n ? send_all(d, acks, n) : 0;
  free(acks);
  return rc;
}

/* ---- packets ---- */

static int add_item(struct daemon *d, const struct item *it)
{
  if (d->nitems == d->capitems) {
    size_t cap = d->capitems ? d->capitems * 2 : 64;
    struct item *n = realloc(d->items, cap * sizeof(*n));
    if (!n)
      return -ENOMEM;
    d->items = n;
    d->capitems = cap;
  }
  d->items[d->nitems++] = *it;
  return 0;
}

static int handle(struct daemon *d, const struct mqtt_packet *p)
{
  switch (p->type) {
  case MQTT_PUBLISH: {
    struct item it = {ITEM_PUBLISH, p->qos, p->packet_id, NULL, NULL, p->payload_len,
                      store_now_ms()};
    it.topic = text_copy(p->topic, p->topic_len, p->topic_utf8);
    it.payload = malloc(p->payload_len ? p->payload_len : 1);
    if (!it.topic || !it.payload) {
      free(it.topic);
      free(it.payload);
      return -ENOMEM;
    }
    memcpy(it.payload, p->payload, p->payload_len);
    return add_item(d, &it);
  }
  case MQTT_PUBREL: {
    struct item it = {ITEM_PUBREL, 2, p->packet_id, NULL, NULL, 0, 0};
    return add_item(d, &it);
  }
  case MQTT_SUBACK:
    if (p->granted == 0x80) {
      logmsg("the broker refused the subscription to %s (is the user's role 'notifier'?)",
             d->o.filter);
      return SRV_EDENIED;
    }
    if (!d->suback && p->granted < 2)
      logmsg("subscription granted at QoS %d only", p->granted);
    d->suback = true;
    return 0;
  case MQTT_PINGRESP:
    d->ping_sent = 0;
    return 0;
  default:
    logmsg("unexpected packet type %d from the broker", (int)p->type);
    return SRV_EPROTO;
  }
}

/* Reads what the socket has; returns bytes read (0 = none now), or an error (closed). */
static long read_some(struct daemon *d)
{
  if (d->incap - d->inlen < 65536) {
    size_t cap = d->incap ? d->incap * 2 : 131072;
    if (cap > d->o.max_packet + 131072 && d->incap >= d->o.max_packet + 65536)
      cap = d->incap;
    if (cap != d->incap) {
      uint8_t *n = realloc(d->in, cap);
      if (!n)
        return -ENOMEM;
      d->in = n;
      d->incap = cap;
    }
  }
  ssize_t r = recv(d->fd, d->in + d->inlen, d->incap - d->inlen, MSG_DONTWAIT);
  if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
    return 0;
  if (r <= 0)
    return r == 0 ? -ECONNRESET : -errno;
  d->inlen += (size_t)r;
  d->last_in = now_s();
  return r;
}

static int parse_all(struct daemon *d)
{
  size_t off = 0;
  int rc = 0;
  while (rc == 0) {
    struct mqtt_packet p;
    long n = mqtt_parse(d->in + off, d->inlen - off, d->o.max_packet, &p);
    if (n < 0) {
      logmsg("malformed packet from the broker; reconnecting");
      rc = (int)n;
      break;
    }
    if (n == 0)
      break;
    rc = handle(d, &p);
    off += (size_t)n;
  }
  memmove(d->in, d->in + off, d->inlen - off);
  d->inlen -= off;
  return rc;
}

/* Waits for CONNACK (timeout 10 s).  Returns 0 or an error. */
static int handshake(struct daemon *d)
{
  uint8_t buf[2048];
  const struct options *o = &d->o;
  long n = mqtt_build_connect(buf, sizeof(buf), o->client_id, o->has_user ? o->user : NULL,
                              o->has_password ? o->password : NULL, (uint16_t)o->keepalive,
                              false);
  if (n < 0)
    return (int)n;
  int rc = send_all(d, buf, (size_t)n);
  explicit_bzero(buf, sizeof(buf)); /* it holds the password; memset() of a dead buffer can go */
  if (rc < 0)
    return rc;
  double end = now_s() + 10;
  while (now_s() < end && !stopping) {
    struct pollfd pf = {d->fd, POLLIN, 0};
    int pr = poll(&pf, 1, 200);
    if (pr <= 0)
      continue;
    long r = read_some(d);
    if (r < 0)
      return (int)r;
    struct mqtt_packet p;
    long pl = mqtt_parse(d->in, d->inlen, d->o.max_packet, &p);
    if (pl < 0)
      return (int)pl;
    if (pl == 0)
      continue;
    if (p.type != MQTT_CONNACK)
      return SRV_EPROTO;
    memmove(d->in, d->in + pl, d->inlen - (size_t)pl);
    d->inlen -= (size_t)pl;
    if (p.return_code != 0) {
      static const char *why[] = {"", "unacceptable protocol version", "client id rejected",
                                  "server unavailable", "bad user name or password",
                                  "not authorized"};
      logmsg("the broker refused the connection: %s (CONNACK %d)",
             p.return_code < 6 ? why[p.return_code] : "?", p.return_code);
      return SRV_EREFUSED;
    }
    logmsg("connected to %s:%s as %s (%s)", o->host, o->port, o->client_id,
           p.session_present ? "session resumed" : "new session");
    n = mqtt_build_subscribe(buf, sizeof(buf), 1, o->filter, 2);
    if (n < 0)
      return (int)n;
    return send_all(d, buf, (size_t)n);
  }
  return -ETIMEDOUT;
}

/* Runs one connection until it ends.  Returns 0 when the daemon should exit (stop signal,
 * --once drained), or an error (reconnect). */
static int session(struct daemon *d)
{
  double db_retry = 0.1;
  double next_commit = 0;
  for (;;) {
    double t = now_s();
    if (stopping) {
      while (d->nitems && commit_batch(d) == SRV_EBUSY)
        sleep_s(0.05);
      disconnect(d, true);
      return 0;
    }
    if (d->o.once && d->suback && d->nitems == 0 && t - d->last_in >= d->o.idle_ms / 1000.0) {
      disconnect(d, true);
      return 0;
    }
    if (d->ping_sent > 0 && t - d->ping_sent > d->o.keepalive) {
      logmsg("no PINGRESP from the broker; reconnecting");
      return -ETIMEDOUT;
    }
    if (t - d->last_out >= d->o.keepalive / 2.0 && d->ping_sent == 0) {
      uint8_t b[2];
      long n = mqtt_build_simple(b, sizeof(b), MQTT_PINGREQ);
      int rc = send_all(d, b, (size_t)n);
      if (rc < 0)
        return rc;
      d->ping_sent = t;
    }
    int timeout = 200;
    if (d->nitems && next_commit > t)
      timeout = (int)((next_commit - t) * 1000) + 1;
    struct pollfd pf = {d->fd, POLLIN, 0};
    int pr = poll(&pf, 1, d->nitems && next_commit <= t ? 0 : timeout);
    if (pr < 0 && errno != EINTR)
      return -errno;
    if (pr > 0) {
      long r;
      while ((r = read_some(d)) > 0) {
        int rc = parse_all(d);
        if (rc < 0)
          return rc;
        if (d->nitems >= d->o.batch)
          break;
      }
      if (r < 0) {
        logmsg("connection to the broker lost: %s", srv_strerror((int)r));
        return (int)r;
      }
    }
    if (d->nitems && now_s() >= next_commit) {
      int rc = commit_batch(d);
      if (rc == 0) {
        db_retry = 0.1;
        next_commit = 0;
      } else if (rc == SRV_EBUSY || rc == SRV_EFULL || rc == SRV_EDB || rc == -ENOMEM) {
        next_commit = now_s() + db_retry;
        db_retry = db_retry * 2 > 5 ? 5 : db_retry * 2;
      } else {
        return rc;
      }
    }
  }
}

static int run(struct daemon *d)
{
  double delay = 0.5, start = now_s();
  while (!stopping) {
    char err[512];
    d->fd = tcp_connect(&d->o, err, sizeof(err));
    int rc = d->fd;
    if (d->fd >= 0) {
      d->inlen = 0;
      d->last_in = d->last_out = now_s();
      d->ping_sent = 0;
      rc = handshake(d);
      if (rc == 0) {
        d->connected = true;
        delay = 0.5;
        rc = session(d);
        if (rc == 0)
          return 0;
      }
      disconnect(d, false);
    } else {
      logmsg("cannot connect: %s", err);
    }
    if (rc == SRV_EDENIED)
      return 1;
    if (d->o.once && now_s() - start > 10) {
      logmsg("--once: giving up");
      return 1;
    }
    /* back-off with jitter; refused credentials wait longer */
    double wait = rc == SRV_EREFUSED ? MAX_BACKOFF : delay;
    wait *= 0.8 + 0.4 * ((double)rand() / RAND_MAX);
    sleep_s(wait);
    delay = delay * 2 > MAX_BACKOFF ? MAX_BACKOFF : delay * 2;
  }
  return 0;
}

/* ---- command line ---- */

static void usage(FILE *f)
{
  fprintf(f,
          "usage: ovms-notifyd --broker mqtt://USER@HOST[:PORT] --password-file FILE "
          "--database DB [OPTIONS]\n"
          "Stores every notification published under " DEFAULT_FILTER " (QoS 2, persistent\n"
          "session) as a row of the table notifications; acknowledges only what is committed.\n"
          "  -b, --broker URL         mqtt://[USER@]HOST[:PORT] (port 1883)\n"
          "  -p, --password-file F    the MQTT password: first line of F (or $OVMS_NOTIFYD_PASSWORD)\n"
          "  -d, --database DB        sqlite:PATH or postgresql://...\n"
          "  -i, --client-id ID       MQTT client id (default " DEFAULT_CLIENT_ID ")\n"
          "      --filter F           subscription (default " DEFAULT_FILTER ")\n"
          "      --batch N            most messages per transaction (default %d)\n"
          "      --keepalive S        MQTT keep alive seconds (default %d)\n"
          "      --once               drain what the broker holds, then exit (CI)\n"
          "      --idle-ms MS         with --once: quiet time that ends the drain (default %d)\n"
          "      --max-packet BYTES   largest packet accepted (default %u)\n"
          "  -v, --verbose            log every message stored\n"
          "  -h, --help\n",
          DEFAULT_BATCH, DEFAULT_KEEPALIVE, DEFAULT_IDLE_MS, MQTT_DEFAULT_MAX_PACKET);
}

static int bad(const char *msg, const char *arg)
{
  fprintf(stderr, "ovms-notifyd: %s%s%s\ntry 'ovms-notifyd --help'\n", msg, arg ? ": " : "",
          arg ? arg : "");
  return 2;
}

static int parse_url(const char *url, struct options *o)
{
  if (strncmp(url, "mqtt://", 7) != 0)
    return -1;
  const char *p = url + 7, *at = strchr(p, '@');
  if (at) {
    if ((size_t)(at - p) >= sizeof(o->user) || memchr(p, ':', (size_t)(at - p)))
      return -1; /* a password in the URL would show in ps */
    memcpy(o->user, p, (size_t)(at - p));
    o->user[at - p] = '\0';
    o->has_user = true;
    p = at + 1;
  }
  const char *colon = strrchr(p, ':');
  size_t hl = colon ? (size_t)(colon - p) : strlen(p);
  if (hl == 0 || hl >= sizeof(o->host))
    return -1;
  memcpy(o->host, p, hl);
  o->host[hl] = '\0';
  snprintf(o->port, sizeof(o->port), "1883");
  if (colon) {
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || *end || port < 1 || port > 65535)
      return -1;
    snprintf(o->port, sizeof(o->port), "%ld", port);
  }
  return 0;
}

static long number(const char *s, long min, long max)
{
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  return end == s || *end || errno || v < min || v > max ? -1 : v;
}

int main(int argc, char **argv)
{
  enum { O_FILTER = 256, O_BATCH, O_KEEPALIVE, O_ONCE, O_IDLE, O_MAXPACKET };
  static const struct option longopts[] = {{"broker", required_argument, NULL, 'b'},
                                           {"password-file", required_argument, NULL, 'p'},
                                           {"database", required_argument, NULL, 'd'},
                                           {"client-id", required_argument, NULL, 'i'},
                                           {"filter", required_argument, NULL, O_FILTER},
                                           {"batch", required_argument, NULL, O_BATCH},
                                           {"keepalive", required_argument, NULL, O_KEEPALIVE},
                                           {"once", no_argument, NULL, O_ONCE},
                                           {"idle-ms", required_argument, NULL, O_IDLE},
                                           {"max-packet", required_argument, NULL, O_MAXPACKET},
                                           {"verbose", no_argument, NULL, 'v'},
                                           {"help", no_argument, NULL, 'h'},
                                           {NULL, 0, NULL, 0}};
  static struct daemon d;
  struct options *o = &d.o;
  o->client_id = DEFAULT_CLIENT_ID;
  o->filter = DEFAULT_FILTER;
  o->keepalive = DEFAULT_KEEPALIVE;
  o->batch = DEFAULT_BATCH;
  o->idle_ms = DEFAULT_IDLE_MS;
  o->max_packet = MQTT_DEFAULT_MAX_PACKET;
  const char *broker = NULL, *pwfile = NULL;
  long v;
  int c;
  while ((c = getopt_long(argc, argv, "b:p:d:i:vh", longopts, NULL)) != -1) {
    switch (c) {
    case 'b':
      broker = optarg;
      break;
    case 'p':
      pwfile = optarg;
      break;
    case 'd':
      o->database = optarg;
      break;
    case 'i':
      o->client_id = optarg;
      break;
    case O_FILTER:
      o->filter = optarg;
      break;
    case O_BATCH:
      if ((v = number(optarg, 1, 100000)) < 0)
        return bad("--batch wants 1..100000", optarg);
      o->batch = (size_t)v;
      break;
    case O_KEEPALIVE:
      if ((v = number(optarg, 5, 65535)) < 0)
        return bad("--keepalive wants 5..65535 seconds", optarg);
      o->keepalive = (int)v;
      break;
    case O_ONCE:
      o->once = true;
      break;
    case O_IDLE:
      if ((v = number(optarg, 10, 3600000)) < 0)
        return bad("--idle-ms wants 10..3600000", optarg);
      o->idle_ms = (int)v;
      break;
    case O_MAXPACKET:
      if ((v = number(optarg, 1024, 268435455)) < 0)
        return bad("--max-packet wants 1024..268435455", optarg);
      o->max_packet = (size_t)v;
      break;
    case 'v':
      o->verbose = true;
      break;
    case 'h':
      usage(stdout);
      return 0;
    default:
      return bad("bad option", NULL);
    }
  }
  if (optind < argc)
    return bad("unexpected argument", argv[optind]);
  if (!broker)
    return bad("--broker is required", NULL);
  if (parse_url(broker, o) < 0)
    return bad("--broker wants mqtt://[USER@]HOST[:PORT] (no password in the URL)", NULL);
  if (!o->database)
    return bad("--database is required", NULL);
  if (!*o->client_id || strlen(o->client_id) > 23 * 10)
    return bad("bad --client-id", o->client_id);
  const char *envpw = getenv("OVMS_NOTIFYD_PASSWORD");
  if (pwfile) {
    FILE *f = fopen(pwfile, "r");
    if (!f) {
      fprintf(stderr, "ovms-notifyd: %s: %s\n", pwfile, strerror(errno));
      return 2;
    }
    char fbuf[BUFSIZ]; /* stdio's buffer holds the file's bytes: ours, to wipe */
    setvbuf(f, fbuf, _IOFBF, sizeof(fbuf));
    if (!fgets(o->password, sizeof(o->password), f))
      o->password[0] = '\0';
    fclose(f);
    explicit_bzero(fbuf, sizeof(fbuf));
    o->password[strcspn(o->password, "\r\n")] = '\0';
    o->has_password = true;
  } else if (envpw) {
    snprintf(o->password, sizeof(o->password), "%s", envpw);
    o->has_password = true;
  }
  if (o->has_password && !o->has_user)
    return bad("a password needs a user: mqtt://USER@HOST", NULL);

  char err[300];
  int rc = db_open(o->database, &d.db, err, sizeof(err));
  if (rc < 0) {
    fprintf(stderr, "ovms-notifyd: %s: %s\n", o->database, err);
    return 1;
  }
  rc = store_migrate(d.db);
  if (rc < 0) {
    fprintf(stderr, "ovms-notifyd: %s: %s\n", o->database, db_errmsg(d.db));
    db_close(d.db);
    return 1;
  }
  struct sigaction sa = {0};
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  srand((unsigned)time(NULL) ^ (unsigned)getpid());
  d.fd = -1;
  d.pause_file = getenv("OVMS_NOTIFYD_TEST_PAUSE_FILE");
  if (d.pause_file && !*d.pause_file)
    d.pause_file = NULL;
  rc = run(&d);
  logmsg("exiting: %lu stored, %lu duplicates ignored (PostgreSQL: duplicates counted as "
         "stored)", d.stored, d.duplicates);
  disconnect(&d, false);
  free(d.items);
  free(d.in);
  db_close(d.db);
  explicit_bzero(o->password, sizeof(o->password));
  return rc;
}
