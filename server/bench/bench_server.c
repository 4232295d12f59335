/*
 * bench_server.c - numbers for the server parts (issue targets in brackets; nothing is
 * asserted, bench/run prints this):
 *   - authentication cold (PBKDF2 at the default and at a low iteration count) and cached
 *     (µs) [cached <= 2 µs], ACL check (µs) [<= 1 µs], through auth_core as the plugin calls it;
 *   - a reconnect storm: 10,000 cars logging in, cold (first login after a broker start) and
 *     warm (reconnect with the cache filled) [10,000 logins <= 2 s on one core];
 *   - notifications stored per second into SQLite and PostgreSQL the way ovms-notifyd stores
 *     them (one transaction per batch of 100, QoS 2 bookkeeping included) [>= 5,000/s];
 *     PostgreSQL only where the Debian postgresql package is installed (a throw-away server
 *     is started in a temporary directory, as nobody when run as root).
 *   - through a real mosquitto loading ovms_auth.so (when mosquitto is installed): the same
 *     storm as 10,000 MQTT connections (CONNECT/CONNACK over loopback, 64 at a time), and
 *     notifications published at QoS 2 by a car until ovms-notifyd has committed them all
 *     (records/s end to end, SQLite and PostgreSQL).
 * In-process parts are single-threaded: those numbers are one core's.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <libgen.h>
#include <limits.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth_core.h"
#include "mqtt_codec.h"
#include "db.h"
#include "pwhash.h"
#include "store.h"

#define STORM 10000
#define RECORDS 20000
#define BATCH 100

static double now(void)
{
  return auth_now();
}

static void add_users(struct db *db, int n, unsigned iterations)
{
  db_begin(db);
  char h[PWHASH_MAX], user[32], pw[32];
  for (int i = 0; i < n; i++) {
    snprintf(user, sizeof(user), "car%05d", i);
    snprintf(pw, sizeof(pw), "pw-%05d", i);
    const char *u = user, *hp = h;
    if (pwhash_make(pw, strlen(pw), iterations, h) < 0) {
      fprintf(stderr, "bench_server: cannot hash\n");
      exit(1);
    }
    struct db_val p[] = {DB_TEXTV(u), DB_TEXTV(hp)};
    if (db_exec(db, "INSERT INTO users (username, hash) VALUES ($1, $2)", p, 2, NULL, NULL,
                NULL) < 0) {
      fprintf(stderr, "bench_server: cannot add users: %s\n", db_errmsg(db));
      exit(1);
    }
  }
  db_commit(db);
}

static struct auth *auth_on(const char *url, unsigned iterations)
{
  struct auth_config c;
  auth_config_defaults(&c);
  c.database = url;
  c.iterations = iterations;
  /* longer than the cold storm takes on a slow machine, so the warm storm is all hits */
  c.cache_ttl = 3600;
  c.fail_user = 0;
  c.fail_addr = 0;
  char err[256];
  struct auth *a = auth_new(&c, err, sizeof(err));
  if (!a) {
    fprintf(stderr, "bench_server: %s\n", err);
    exit(1);
  }
  return a;
}

static double storm(struct auth *a, int n)
{
  char user[32], pw[32];
  double t0 = now();
  for (int i = 0; i < n; i++) {
    snprintf(user, sizeof(user), "car%05d", i);
    snprintf(pw, sizeof(pw), "pw-%05d", i);
    const char *why = "";
    if (auth_login(a, user, pw, "127.0.0.1", now(), &why, NULL) != AUTH_OK) {
      fprintf(stderr, "bench_server: login of %s refused: %s\n", user, why);
      exit(1);
    }
  }
  return now() - t0;
}

static char g_users_url[PATH_MAX + 16];

static void bench_auth(const char *dir)
{
  char *url;
  if (asprintf(&url, "sqlite:%s/users.db", dir) < 0)
    exit(1);
  struct db *db;
  char err[256];
  if (db_open(url, &db, err, sizeof(err)) < 0 || store_migrate(db) < 0) {
    fprintf(stderr, "bench_server: %s\n", err);
    exit(1);
  }
  /* cold at the default iteration count: a few logins */
  char h[PWHASH_MAX];
  pwhash_make("pw-default", 10, PWHASH_DEFAULT_ITERATIONS, h);
  store_user_add(db, "default", h);
  struct auth *a = auth_on(url, PWHASH_DEFAULT_ITERATIONS);
  int n = 5;
  double t0 = now();
  for (int i = 0; i < n; i++) {
    auth_free(a);
    a = auth_on(url, PWHASH_DEFAULT_ITERATIONS);
    auth_login(a, "default", "pw-default", NULL, now(), NULL, NULL);
  }
  double cold_default = (now() - t0) / n;
  /* cached */
  int m = 1000000;
  bool cached = false;
  t0 = now();
  for (int i = 0; i < m; i++)
    auth_login(a, "default", "pw-default", "127.0.0.1", t0, NULL, &cached);
  double hit = (now() - t0) / m;
  /* ACL (role cached), a write in the user's tree and a refused read elsewhere */
  t0 = now();
  for (int i = 0; i < m; i++) {
    auth_acl(a, "default", "ovms/default/CAR/metric/v/b/soc", ACL_WRITE, t0, NULL);
    auth_acl(a, "default", "ovms/other/CAR/metric/v/b/soc", ACL_READ, t0, NULL);
  }
  double acl = (now() - t0) / (2.0 * m);
  auth_free(a);
  printf("auth cold, PBKDF2-SHA512 %d iterations: %.1f ms per login\n",
         PWHASH_DEFAULT_ITERATIONS, cold_default * 1e3);
  printf("auth cached: %.3f us per login (target <= 2 us)%s\n", hit * 1e6,
         cached ? "" : " [cache not hit!]");
  printf("ACL check: %.3f us (target <= 1 us)\n", acl * 1e6);

  /* the storm: 10,000 cars at 1000 iterations (hashing them at 100,000 would take minutes) */
  unsigned low = 1000;
  double t1 = now();
  add_users(db, STORM, low);
  double setup = now() - t1;
  a = auth_on(url, low);
  double cold = storm(a, STORM);
  double warm = storm(a, STORM);
  auth_free(a);
  printf("reconnect storm, %d cars, cold cache, PBKDF2 %u iterations: %.2f s "
         "(%.0f us per login; at %d iterations: about %.0f s)\n",
         STORM, low, cold, cold / STORM * 1e6, PWHASH_DEFAULT_ITERATIONS,
         cold_default * STORM);
  printf("reconnect storm, %d cars, warm cache (reconnect within the cache TTL): %.3f s "
         "(target <= 2 s)\n",
         STORM, warm);
  printf("(setup: %d hashes in %.1f s)\n", STORM, setup);
  pwhash_make("pw-notifier", 11, low, h);
  store_user_add(db, "notifier", h);
  store_user_set_role(db, "notifier", "notifier");
  snprintf(g_users_url, sizeof(g_users_url), "%s", url);
  db_close(db);
  free(url);
}

static double bench_store(const char *url)
{
  struct db *db;
  char err[256];
  if (db_open(url, &db, err, sizeof(err)) < 0 || store_migrate(db) < 0) {
    fprintf(stderr, "bench_server: %s: %s\n", url, err);
    return -1;
  }
  db_script(db, "DELETE FROM notifications; DELETE FROM notifyd_qos2;");
  char payload[] = "*-LOG-Grid,1,86400,Charging,standard,type2,32,230,7.3,45.2,51.0,10.5";
  double t0 = now();
  long long received = store_now_ms();
  for (int i = 0; i < RECORDS; i += BATCH) {
    if (db_begin(db) < 0 || db_pipeline(db, true) < 0)
      return -1;
    for (int k = i; k < i + BATCH; k++) {
      int pid = k % 65535 + 1;
      struct store_notification n = {"alice", "CAR", "data", "log.grid",
                                     "ovms/alice/CAR/notify/data/log/grid", true, k, payload,
                                     sizeof(payload) - 1, received, received - 3000};
      if (store_notification_add_qos2(db, &n, "bench", pid) < 0) {
        fprintf(stderr, "bench_server: insert: %s\n", db_errmsg(db));
        return -1;
      }
    }
    if (db_pipeline(db, false) < 0 || db_commit(db) < 0) {
      fprintf(stderr, "bench_server: commit: %s\n", db_errmsg(db));
      return -1;
    }
    /* the PUBRELs of the batch: one more transaction, as the daemon has it */
    db_begin(db);
    db_pipeline(db, true);
    for (int k = i; k < i + BATCH; k++)
      store_qos2_release(db, "bench", k % 65535 + 1);
    db_pipeline(db, false);
    db_commit(db);
  }
  double t = now() - t0;
  db_close(db);
  return RECORDS / t;
}

/* A PostgreSQL server in dir (NULL when not installed or not startable). */
static char *pg_start(const char *dir, char **bindir_out, int port)
{
  glob_t g;
  if (glob("/usr/lib/postgresql/*/bin/initdb", 0, NULL, &g) != 0 || g.gl_pathc == 0)
    return NULL;
  char *bindir = strndup(g.gl_pathv[g.gl_pathc - 1], strlen(g.gl_pathv[g.gl_pathc - 1]) - 7);
  globfree(&g);
  const char *as = "";
  if (getuid() == 0) {
    struct passwd *pw = getpwnam("nobody");
    if (!pw || chown(dir, pw->pw_uid, pw->pw_gid) < 0)
      return NULL;
    as = "setpriv --reuid=nobody --regid=nogroup --clear-groups -- ";
  }
  char *cmd;
  if (asprintf(&cmd,
               "%s%s/initdb -D %s/data -U postgres --auth=trust --no-sync >/dev/null 2>&1 && "
               "%s%s/pg_ctl -D %s/data -w -l %s/pg.log -o \"-p %d -k %s "
               "-c listen_addresses=127.0.0.1\" start >/dev/null 2>&1",
               as, bindir, dir, as, bindir, dir, dir, port, dir) < 0)
    return NULL;
  int rc = system(cmd);
  free(cmd);
  if (rc != 0)
    return NULL;
  *bindir_out = bindir;
  char *url;
  if (asprintf(&url, "postgresql://postgres@127.0.0.1:%d/postgres", port) < 0)
    return NULL;
  return url;
}

/* ---- through mosquitto ---- */

static int free_port(void)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t l = sizeof(a);
  int port = -1;
  if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
      getsockname(fd, (struct sockaddr *)&a, &l) == 0)
    port = ntohs(a.sin_port);
  if (fd >= 0)
    close(fd);
  return port;
}

static int tcp(int port)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons((uint16_t)port);
  if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
    return fd;
  if (fd >= 0)
    close(fd);
  return -1;
}

static pid_t spawn(char *const argv[], const char *log)
{
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    execv(argv[0], argv);
    _exit(127);
  }
  return pid;
}

static void stop(pid_t pid)
{
  if (pid > 0) {
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
  }
}

/* 10,000 MQTT logins, at most 64 in flight; returns seconds or -1. */
static double mqtt_storm(int port)
{
  enum { CONC = 64 };
  int fds[CONC];
  int started = 0, done = 0, refused = 0;
  for (int i = 0; i < CONC; i++)
    fds[i] = -1;
  double t0 = now();
  while (done < STORM) {
    for (int i = 0; i < CONC && started < STORM; i++) {
      if (fds[i] >= 0)
        continue;
      char user[32], pw[32], id[32];
      snprintf(user, sizeof(user), "car%05d", started);
      snprintf(pw, sizeof(pw), "pw-%05d", started);
      snprintf(id, sizeof(id), "storm%05d", started);
      uint8_t b[256];
      long n = mqtt_build_connect(b, sizeof(b), id, user, pw, 60, true);
      fds[i] = tcp(port);
      if (fds[i] < 0 || send(fds[i], b, (size_t)n, MSG_NOSIGNAL) != n)
        return -1;
      started++;
    }
    struct pollfd pf[CONC];
    for (int i = 0; i < CONC; i++)
      pf[i] = (struct pollfd){fds[i], POLLIN, 0};
    if (poll(pf, CONC, 10000) <= 0)
      return -1;
    for (int i = 0; i < CONC; i++) {
      if (fds[i] < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
        continue;
      uint8_t ack[4];
      if (recv(fds[i], ack, 4, MSG_WAITALL) != 4 || ack[0] != 0x20 || ack[3] != 0)
        refused++;
      uint8_t disc[2] = {0xe0, 0};
      if (send(fds[i], disc, 2, MSG_NOSIGNAL) < 0)
        refused += 0;
      close(fds[i]);
      fds[i] = -1;
      done++;
    }
  }
  double t = now() - t0;
  if (refused)
    printf("(%d logins refused)\n", refused);
  return t;
}

static int count_row(void *ctx, const struct db_val *c, int n)
{
  *(long long *)ctx = n > 0 ? c[0].i : -1;
  return 0;
}

static long long count_rows(const char *url)
{
  struct db *db;
  char err[256];
  long long n = -1;
  if (db_open(url, &db, err, sizeof(err)) < 0)
    return -1;
  db_exec(db, "SELECT COUNT(*) FROM notifications", NULL, 0, count_row, &n, NULL);
  db_close(db);
  return n;
}

static volatile int g_acked;

static void on_publish(struct mosquitto *m, void *ud, int mid)
{
  __atomic_add_fetch(&g_acked, 1, __ATOMIC_RELAXED);
}

/* A car publishing RECORDS data records at QoS 2 as fast as the broker takes them;
 * ovms-notifyd storing them into url.  Returns records/s or -1. */
static double e2e(const char *dir, int port, const char *bindir, const char *url)
{
  char broker[64], pwf[PATH_MAX], notifyd[PATH_MAX], log[PATH_MAX];
  snprintf(broker, sizeof(broker), "mqtt://notifier@127.0.0.1:%d", port);
  snprintf(pwf, sizeof(pwf), "%s/notifier.pw", dir);
  snprintf(notifyd, sizeof(notifyd), "%s/../server/notifyd/ovms-notifyd", bindir);
  snprintf(log, sizeof(log), "%s/notifyd.log", dir);
  FILE *f = fopen(pwf, "w");
  if (!f)
    return -1;
  fputs("pw-notifier\n", f);
  fclose(f);
  struct db *db;
  char err[256];
  if (db_open(url, &db, err, sizeof(err)) < 0)
    return -1;
  store_migrate(db);
  db_script(db, "DELETE FROM notifications; DELETE FROM notifyd_qos2");
  db_close(db);
  char *argv[] = {notifyd, "--broker", broker, "--password-file", pwf, "--database",
                  (char *)url, "--client-id", "bench-notifyd", NULL};
  pid_t d = spawn(argv, log);
  struct mosquitto *m = mosquitto_new("bench-car", true, NULL);
  if (!m) {
    stop(d);
    return -1;
  }
  mosquitto_username_pw_set(m, "car00000", "pw-00000");
  /* flow control in the publisher: libmosquitto's lists of unacknowledged messages are
   * searched linearly, so 20,000 at once would make the car the bottleneck */
  mosquitto_max_inflight_messages_set(m, 0);
  mosquitto_publish_callback_set(m, on_publish);
  if (mosquitto_connect(m, "127.0.0.1", port, 60) != MOSQ_ERR_SUCCESS) {
    stop(d);
    return -1;
  }
  mosquitto_loop_start(m);
  /* the daemon's session exists once a first record arrives */
  const char *warm = "ovms/car00000/CAR/notify/info/bench/warmup";
  double t0 = now();
  while (count_rows(url) < 1 && now() - t0 < 30) {
    mosquitto_publish(m, NULL, warm, 4, "warm", 1, false);
    usleep(200000);
  }
  const char payload[] = "*-LOG-Grid,1,86400,Charging,standard,type2,32,230,7.3,45.2,51.0";
  long long base = count_rows(url);
  t0 = now();
  g_acked = 0;
  int sent0 = 0;
  for (int k = 0; k < RECORDS; k++) {
    while (sent0 - __atomic_load_n(&g_acked, __ATOMIC_RELAXED) > 200)
      usleep(200);
    sent0++;
    char topic[96];
    snprintf(topic, sizeof(topic), "ovms/car00000/CAR/notify/data/log/grid/%d/0", k + 1);
    while (mosquitto_publish(m, NULL, topic, (int)sizeof(payload) - 1, payload, 2, false) ==
           MOSQ_ERR_NOMEM)
      usleep(1000);
  }
  double t = -1;
  while (now() - t0 < 90) {
    if (count_rows(url) >= base + RECORDS) {
      t = now() - t0;
      break;
    }
    usleep(20000);
  }
  mosquitto_disconnect(m);
  mosquitto_loop_stop(m, false);
  mosquitto_destroy(m);
  stop(d);
  if (t < 0) {
    char cmd[PATH_MAX + 32];
    snprintf(cmd, sizeof(cmd), "tail -5 %s >&2", log);
    if (system(cmd) != 0)
      fprintf(stderr, "bench_server: no ovms-notifyd log\n");
  }
  return t > 0 ? RECORDS / t : -1;
}

static void bench_broker(const char *dir, const char *pg)
{
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0)
    return;
  self[n] = '\0';
  char *bindir = dirname(self);
  char plugin[PATH_MAX], conf[PATH_MAX], log[PATH_MAX];
  snprintf(plugin, sizeof(plugin), "%s/../server/auth/ovms_auth.so", bindir);
  const char *mosq = access("/usr/sbin/mosquitto", X_OK) == 0 ? "/usr/sbin/mosquitto" : NULL;
  if (!mosq || access(plugin, R_OK) != 0 || !g_users_url[0]) {
    printf("through mosquitto: skipped (no /usr/sbin/mosquitto or no built plugin)\n");
    return;
  }
  mosquitto_lib_init();
  int port = free_port();
  snprintf(conf, sizeof(conf), "%s/mosquitto.conf", dir);
  snprintf(log, sizeof(log), "%s/broker.log", dir);
  FILE *f = fopen(conf, "w");
  if (!f)
    return;
  fprintf(f,
          "%slistener %d 127.0.0.1\nallow_anonymous false\nplugin %s\n"
          "plugin_opt_database %s\nplugin_opt_fail_user 0\nplugin_opt_fail_addr 0\n"
          "plugin_opt_iterations 1000\nplugin_opt_cache_ttl 3600\nmax_inflight_messages 100\n"
          "max_queued_messages 1000000\nlog_dest none\n",
          getuid() == 0 ? "user root\n" : "", port, plugin, g_users_url);
  fclose(f);
  char *argv[] = {(char *)mosq, "-c", conf, NULL};
  pid_t b = spawn(argv, log);
  int fd = -1;
  for (int i = 0; i < 100 && fd < 0; i++) {
    usleep(50000);
    fd = tcp(port);
  }
  if (fd < 0) {
    printf("through mosquitto: skipped (broker did not start)\n");
    stop(b);
    return;
  }
  close(fd);
  double cold = mqtt_storm(port), warm = mqtt_storm(port);
  printf("reconnect storm through mosquitto + ovms_auth.so, %d MQTT logins, cold cache, PBKDF2 "
         "1000 iterations: %.2f s\n",
         STORM, cold);
  printf("reconnect storm through mosquitto + ovms_auth.so, %d MQTT logins, warm cache: %.2f s "
         "(target <= 2 s)\n",
         STORM, warm);
  char lite[PATH_MAX + 16];
  snprintf(lite, sizeof(lite), "sqlite:%s/e2e.db", dir);
  double r = e2e(dir, port, bindir, lite);
  printf("end to end, car -> mosquitto -> ovms-notifyd -> SQLite, %d data records at QoS 2: "
         "%.0f records/s (target >= 5000)\n",
         RECORDS, r);
  if (pg) {
    r = e2e(dir, port, bindir, pg);
    printf("end to end, car -> mosquitto -> ovms-notifyd -> PostgreSQL, %d data records at QoS 2: "
           "%.0f records/s (target >= 5000)\n",
           RECORDS, r);
  }
  stop(b);
  mosquitto_lib_cleanup();
}

int main(void)
{
  char dir[] = "/tmp/ovms-bench-server-XXXXXX";
  if (!mkdtemp(dir))
    return 1;
  chmod(dir, 0755);
  bench_auth(dir);
  char *lite;
  if (asprintf(&lite, "sqlite:%s/notify.db", dir) < 0)
    return 1;
  double r = bench_store(lite);
  printf("notifications stored, SQLite (WAL, synchronous=FULL, QoS 2, batches of %d): %.0f records/s "
         "(target >= 5000)\n",
         BATCH, r);
  char pgdir[] = "/tmp/ovms-bench-pg-XXXXXX";
  char *bindir = NULL;
  int port = 20000 + getpid() % 20000;
  char *pg = mkdtemp(pgdir) ? pg_start(pgdir, &bindir, port) : NULL;
  if (pg) {
    r = bench_store(pg);
    printf("notifications stored, PostgreSQL (fsync on, QoS 2, pipelined batches of %d): %.0f records/s "
           "(target >= 5000)\n",
           BATCH, r);
    bench_broker(dir, pg);
    char *cmd;
    if (asprintf(&cmd, "%s%s/pg_ctl -D %s/data -m immediate stop >/dev/null 2>&1",
                 getuid() == 0 ? "setpriv --reuid=nobody --regid=nogroup --clear-groups -- " : "",
                 bindir, pgdir) >= 0) {
      if (system(cmd) != 0)
        fprintf(stderr, "bench_server: pg_ctl stop failed\n");
      free(cmd);
    }
    free(pg);
    free(bindir);
  } else {
    printf("notifications stored, PostgreSQL: skipped (postgresql not installed or not "
           "startable)\n");
    bench_broker(dir, NULL);
  }
  char *rm;
  if (asprintf(&rm, "rm -rf %s %s", dir, pgdir) >= 0) {
    if (system(rm) != 0)
      fprintf(stderr, "bench_server: cleanup failed\n");
    free(rm);
  }
  free(lite);
  return 0;
}
