/*
 * mqtt_harness.c - see mqtt_harness.h.
 */
#include "mqtt_harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/sbuf.h"
#include "core/xalloc.h"
#include "testutil.h"

/* In a forked child: die with the test process, so that a failed assertion (cmocka leaves
 * the test function early) never leaves a broker or a simulator behind. */
static void die_with_parent(pid_t parent)
{
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent)
    _exit(1);
}

void harness_sleep_ms(int ms)
{
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
    ;
}

static double wall(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int harness_free_port(void)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t l = sizeof(a);
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
      getsockname(fd, (struct sockaddr *)&a, &l) < 0) {
    if (fd >= 0)
      close(fd);
    return -1;
  }
  close(fd);
  return ntohs(a.sin_port);
}

int harness_rmtree(char *dir)
{
  struct sbuf cmd = SBUF_INIT;
  sbuf_printf(&cmd, "rm -rf '%s'", dir);
  int rc = system(sbuf_str(&cmd)) == 0 ? 0 : -1;
  if (rc)
    fprintf(stderr, "could not remove %s\n", dir);
  sbuf_free(&cmd);
  free(dir);
  return rc;
}

char *harness_tmpdir(void)
{
  char *t = xstrdup("/tmp/ovms-sim-test-XXXXXX");
  if (!mkdtemp(t)) {
    free(t);
    return NULL;
  }
  return t;
}

char *harness_write(const char *dir, const char *name, const char *text)
{
  struct sbuf p = SBUF_INIT;
  sbuf_printf(&p, "%s/%s", dir, name);
  FILE *f = fopen(p.p, "w");
  if (f) {
    fputs(text, f);
    fclose(f);
  }
  return sbuf_detach(&p);
}

static bool port_open(int port)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons((uint16_t)port);
  bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
  if (fd >= 0)
    close(fd);
  return ok;
}

static int broker_spawn(struct broker *b)
{
  const char *bin = getenv("MOSQUITTO_BIN");
  if (!bin || !*bin || access(bin, X_OK) < 0)
    return -1;
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    die_with_parent(parent);
    int null = open("/dev/null", O_RDWR);
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
    execl(bin, bin, "-c", b->conf, (char *)NULL);
    _exit(127);
  }
  b->pid = pid;
  double end = wall() + 10;
  while (wall() < end) {
    if (port_open(b->port))
      return 0;
    int st;
    if (waitpid(pid, &st, WNOHANG) == pid) {
      b->pid = 0;
      return -1;
    }
    harness_sleep_ms(20);
  }
  return -1;
}

int broker_start(struct broker *b, const char *dir, int port, const char *extra)
{
  memset(b, 0, sizeof(*b));
  b->dir = xstrdup(dir);
  b->port = port ? port : harness_free_port();
  struct sbuf p = SBUF_INIT;
  sbuf_printf(&p, "%s/broker.log", dir);
  b->log = sbuf_detach(&p);
  struct sbuf c = SBUF_INIT;
  sbuf_printf(&c,
              "per_listener_settings false\n"
              "log_dest file %s\n"
              "log_type all\n"
              "connection_messages true\n"
              "persistence true\n"
              "persistence_location %s/\n"
              "autosave_interval 1\n"
              "%s"
              "listener %d 127.0.0.1\n"
              "%s\n",
              b->log, dir, getuid() == 0 ? "user root\n" : "", b->port, extra ? extra : "");
  if (!strstr(c.p, "allow_anonymous") && !strstr(c.p, "password_file"))
    sbuf_adds(&c, "allow_anonymous true\n");
  b->conf = harness_write(dir, "mosquitto.conf", c.p);
  sbuf_free(&c);
  return broker_spawn(b);
}

void harness_broker_setup(struct broker *b, char **dir)
{
  *dir = harness_tmpdir();
  if (broker_start(b, *dir, 0, NULL) < 0) {
    fprintf(stderr, "mosquitto (MOSQUITTO_BIN) not available\n");
    exit(TEST_SKIP_EXIT);
  }
}

void harness_broker_teardown(struct broker *b, char *dir)
{
  broker_free(b);
  harness_rmtree(dir);
}

char *broker_url(const struct broker *b, const char *user)
{
  static char buf[4][128];
  static unsigned i;
  char *u = buf[i++ % 4];
  snprintf(u, sizeof(buf[0]), "mqtt://%s@127.0.0.1:%d", user, b->port);
  return u;
}

int broker_start_file(struct broker *b, const char *dir, const char *conf, int port)
{
  memset(b, 0, sizeof(*b));
  b->dir = xstrdup(dir);
  b->port = port;
  b->conf = xstrdup(conf);
  struct sbuf p = SBUF_INIT;
  sbuf_printf(&p, "%s/broker.log", dir);
  b->log = sbuf_detach(&p);
  return broker_spawn(b);
}

int broker_restart(struct broker *b)
{
  return broker_spawn(b);
}

void broker_stop(struct broker *b)
{
  if (b->pid > 0) {
    kill(b->pid, SIGTERM);
    proc_wait(b->pid, 10);
    b->pid = 0;
  }
}

void broker_free(struct broker *b)
{
  broker_stop(b);
  free(b->dir);
  free(b->conf);
  free(b->log);
}

char *broker_log(const struct broker *b)
{
  FILE *f = fopen(b->log, "r");
  struct sbuf s = SBUF_INIT;
  if (f) {
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
      sbuf_add(&s, buf, n);
    fclose(f);
  }
  return sbuf_detach(&s);
}

size_t broker_log_count(const struct broker *b, const char *needle)
{
  char *l = broker_log(b);
  size_t n = 0;
  for (const char *p = l; (p = strstr(p, needle)); p += strlen(needle))
    n++;
  free(l);
  return n;
}

/* ---- subscriber ------------------------------------------------------------------------------ */

struct sub {
  struct mosquitto *m;
  pthread_mutex_t mu;
  struct rmsg *v;
  size_t n, cap;
  char *filter;
  int qos;
  bool subacked;
};

static void s_connect(struct mosquitto *m, void *obj, int rc)
{
  struct sub *s = obj;
  if (rc == 0)
    mosquitto_subscribe(m, NULL, s->filter, s->qos);
}

static void s_subscribe(struct mosquitto *m, void *obj, int mid, int n, const int *granted)
{
  struct sub *s = obj;
  pthread_mutex_lock(&s->mu);
  s->subacked = true;
  pthread_mutex_unlock(&s->mu);
}

static void s_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
  struct sub *s = obj;
  pthread_mutex_lock(&s->mu);
  if (s->n == s->cap) {
    s->cap = s->cap ? 2 * s->cap : 256;
    s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
  }
  struct rmsg *r = &s->v[s->n++];
  r->topic = xstrdup(msg->topic);
  r->len = msg->payloadlen;
  r->payload = xstrndup(msg->payload ? msg->payload : "", (size_t)msg->payloadlen);
  r->qos = msg->qos;
  r->retain = msg->retain;
  pthread_mutex_unlock(&s->mu);
}

struct sub *sub_new(int port, const char *id, bool clean, const char *user, const char *pass,
                    const char *filter, int qos)
{
  mosquitto_lib_init();
  struct sub *s = xcalloc(1, sizeof(*s));
  pthread_mutex_init(&s->mu, NULL);
  s->filter = xstrdup(filter);
  s->qos = qos;
  s->m = mosquitto_new(id, clean, s);
  if (!s->m) {
    free(s->filter);
    free(s);
    return NULL;
  }
  mosquitto_int_option(s->m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
  if (user)
    mosquitto_username_pw_set(s->m, user, pass);
  mosquitto_connect_callback_set(s->m, s_connect);
  mosquitto_subscribe_callback_set(s->m, s_subscribe);
  mosquitto_message_callback_set(s->m, s_message);
  mosquitto_reconnect_delay_set(s->m, 1, 1, false);
  if (mosquitto_connect(s->m, "127.0.0.1", port, 60) != MOSQ_ERR_SUCCESS ||
      mosquitto_loop_start(s->m) != MOSQ_ERR_SUCCESS) {
    mosquitto_destroy(s->m);
    free(s->filter);
    free(s);
    return NULL;
  }
  return s;
}

void sub_free(struct sub *s)
{
  if (!s)
    return;
  mosquitto_disconnect(s->m);
  mosquitto_loop_stop(s->m, false);
  mosquitto_destroy(s->m);
  for (size_t i = 0; i < s->n; i++) {
    free(s->v[i].topic);
    free(s->v[i].payload);
  }
  free(s->v);
  free(s->filter);
  pthread_mutex_destroy(&s->mu);
  free(s);
}

int sub_ready(struct sub *s, double timeout)
{
  double end = wall() + timeout;
  while (wall() < end) {
    pthread_mutex_lock(&s->mu);
    bool ok = s->subacked;
    pthread_mutex_unlock(&s->mu);
    if (ok)
      return 0;
    harness_sleep_ms(10);
  }
  return -1;
}

size_t sub_count(struct sub *s)
{
  pthread_mutex_lock(&s->mu);
  size_t n = s->n;
  pthread_mutex_unlock(&s->mu);
  return n;
}

struct rmsg sub_get(struct sub *s, size_t i)
{
  pthread_mutex_lock(&s->mu);
  struct rmsg r = s->v[i];
  pthread_mutex_unlock(&s->mu);
  return r;
}

static bool matches(const struct rmsg *r, const char *topic, const char *payload)
{
  return !strcmp(r->topic, topic) && (!payload || !strcmp(r->payload, payload));
}

long sub_wait(struct sub *s, size_t from, const char *topic, const char *payload,
              double timeout)
{
  double end = wall() + timeout;
  for (;;) {
    pthread_mutex_lock(&s->mu);
    for (size_t i = from; i < s->n; i++)
      if (matches(&s->v[i], topic, payload)) {
        pthread_mutex_unlock(&s->mu);
        return (long)i;
      }
    pthread_mutex_unlock(&s->mu);
    if (wall() >= end)
      return -1;
    harness_sleep_ms(10);
  }
}

size_t sub_count_topic(struct sub *s, size_t from, const char *topic, const char *payload)
{
  size_t c = 0;
  pthread_mutex_lock(&s->mu);
  for (size_t i = from; i < s->n; i++)
    if (matches(&s->v[i], topic, payload))
      c++;
  pthread_mutex_unlock(&s->mu);
  return c;
}

int sub_publish(struct sub *s, const char *topic, const char *payload, int qos, bool retain)
{
  return mosquitto_publish(s->m, NULL, topic, (int)strlen(payload), payload, qos, retain) ==
                 MOSQ_ERR_SUCCESS
             ? 0
             : -1;
}

/* ---- processes --------------------------------------------------------------------------------- */

pid_t sim_spawn(const char *dir, char *const argv[], char *const env[])
{
  const char *bin = getenv("OVMS_SIM_BIN");
  struct sbuf o = SBUF_INIT, e = SBUF_INIT;
  sbuf_printf(&o, "%s/sim.out", dir);
  sbuf_printf(&e, "%s/sim.err", dir);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    die_with_parent(parent);
    int in = open("/dev/null", O_RDONLY);
    int out = open(o.p, O_WRONLY | O_CREAT | O_APPEND, 0644);
    int err = open(e.p, O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    for (size_t i = 0; env && env[i]; i++)
      putenv(env[i]);
    execv(bin, argv);
    _exit(127);
  }
  sbuf_free(&o);
  sbuf_free(&e);
  return pid;
}

int proc_wait(pid_t pid, double timeout)
{
  double end = wall() + timeout;
  for (;;) {
    int st;
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid)
      return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    if (r < 0)
      return -1;
    if (wall() >= end) {
      proc_kill(pid);
      return -1;
    }
    harness_sleep_ms(10);
  }
}

void proc_kill(pid_t pid)
{
  if (pid <= 0)
    return;
  kill(pid, SIGKILL);
  int st;
  waitpid(pid, &st, 0);
}

pid_t proc_fork(int (*fn)(void *arg), void *arg)
{
  fflush(NULL);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    die_with_parent(parent);
    _exit(fn(arg));
  }
  return pid;
}
