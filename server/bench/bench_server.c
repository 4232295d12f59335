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
 * Single-threaded: every number is one core's.
 */
#include <errno.h>
#include <glob.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth_core.h"
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
