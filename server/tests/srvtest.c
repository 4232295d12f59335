/*
 * srvtest.c - see srvtest.h.
 */
#include "srvtest.h"

#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mosquitto.h>

#include "db.h"

char *srv_fmt(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  char *s = NULL;
  if (vasprintf(&s, fmt, ap) < 0)
    s = NULL;
  va_end(ap);
  if (!s)
    abort();
  return s;
}

static char *slurp(int fd)
{
  size_t n = 0, cap = 4096;
  char *b = malloc(cap);
  for (;;) {
    if (n + 1 >= cap)
      b = realloc(b, cap *= 2);
    ssize_t r = read(fd, b + n, cap - n - 1);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    n += (size_t)r;
  }
  b[n] = '\0';
  return b;
}

int srv_run(const char *stdin_text, char *const argv[], char **out)
{
  int in[2], o[2];
  if (pipe(in) < 0 || pipe(o) < 0)
    return -1;
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(o[1], 1);
    dup2(o[1], 2);
    close(in[1]);
    close(o[0]);
    execv(argv[0], argv);
    _exit(127);
  }
  close(in[0]);
  close(o[1]);
  if (stdin_text) {
    size_t l = strlen(stdin_text);
    ssize_t w = write(in[1], stdin_text, l);
    (void)w;
  }
  close(in[1]);
  char *s = slurp(o[0]);
  close(o[0]);
  int st;
  waitpid(pid, &st, 0);
  if (out)
    *out = s;
  else
    free(s);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int srv_users(const char *db, const char *stdin_text, const char *cmd, const char *a1,
              const char *a2)
{
  const char *bin = getenv("OVMS_USERS_BIN");
  char *argv[] = {(char *)bin, "--database", (char *)db, "--iterations", "1000", (char *)cmd,
                  (char *)a1, (char *)a2, NULL};
  if (!a1)
    argv[6] = NULL;
  return srv_run(stdin_text, argv, NULL);
}

pid_t srv_spawn(const char *dir, const char *name, const char *bin, char *const argv[],
                char *const env[])
{
  char *log = srv_fmt("%s/%s.log", dir, name);
  pid_t parent = getpid();
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
      _exit(1);
    int in = open("/dev/null", O_RDONLY);
    int out = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(in, 0);
    dup2(out, 1);
    dup2(out, 2);
    for (size_t i = 0; env && env[i]; i++)
      putenv(env[i]);
    execv(bin, argv);
    _exit(127);
  }
  free(log);
  return pid;
}

static char *replace(const char *in, const char *from, const char *to)
{
  size_t fl = strlen(from), tl = strlen(to), n = 0;
  for (const char *p = in; (p = strstr(p, from)); p += fl)
    n++;
  char *out = malloc(strlen(in) + n * tl + 1), *o = out;
  for (const char *p = in;;) {
    const char *q = strstr(p, from);
    if (!q) {
      strcpy(o, p);
      break;
    }
    memcpy(o, p, (size_t)(q - p));
    o += q - p;
    memcpy(o, to, tl);
    o += tl;
    p = q + fl;
  }
  return out;
}

int srv_broker_start(struct broker *b, const char *dir, const char *dburl, const char *extra)
{
  const char *bin = getenv("MOSQUITTO_BIN"), *plugin = getenv("OVMS_AUTH_PLUGIN");
  const char *src = getenv("OVMS_SIM_SRC");
  if (!bin || !*bin || !plugin || !src)
    return -1;
  char *path = srv_fmt("%s/docker/server/mosquitto.conf", src);
  FILE *f = fopen(path, "r");
  free(path);
  if (!f)
    return -1;
  char *conf = slurp(fileno(f));
  fclose(f);
  int port = harness_free_port();
  char *listener = srv_fmt("listener %d 127.0.0.1\n", port);
  char *logd = srv_fmt("%slog_dest file %s/broker.log\nlog_type all\n",
                       getuid() == 0 ? "user root\n" : "", dir);
  char *data = srv_fmt("%s/", dir);
  char *db = srv_fmt("plugin_opt_database %s\n", dburl);
  char *s1 = replace(conf, "/usr/lib/ovms/ovms_auth.so", plugin);
  char *s2 = replace(s1, "plugin_opt_database sqlite:/var/lib/ovms/ovms.db\n", db);
  char *s3 = replace(s2, "/mosquitto/data/", data);
  char *s4 = replace(s3, "listener 1883\n", listener);
  char *s5 = replace(s4, "log_dest stdout\n", logd);
  char *s6 = replace(s5, "include_dir /mosquitto/conf.d\n", "");
  char *final = srv_fmt("%s%s\n", s6, extra ? extra : "");
  char *confpath = harness_write(dir, "mosquitto.conf", final);
  int rc = broker_start_file(b, dir, confpath, port);
  free(conf), free(listener), free(logd), free(data), free(db);
  free(s1), free(s2), free(s3), free(s4), free(s5), free(s6), free(final), free(confpath);
  return rc;
}

/* ---- PostgreSQL ---- */

static int run_pg(struct pg *pg, const char *cmd)
{
  char *full = pg->as_nobody
                   ? srv_fmt("setpriv --reuid=nobody --regid=nogroup --clear-groups -- %s", cmd)
                   : srv_fmt("%s", cmd);
  int rc = system(full);
  free(full);
  return rc;
}

int pg_start(struct pg *pg)
{
  memset(pg, 0, sizeof(*pg));
  glob_t g;
  if (glob("/usr/lib/postgresql/*/bin/initdb", 0, NULL, &g) != 0 || g.gl_pathc == 0) {
    printf("SKIP: PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb; Debian "
           "package postgresql)\n");
    return -1;
  }
  char *initdb = g.gl_pathv[g.gl_pathc - 1];
  pg->bindir = strndup(initdb, strlen(initdb) - strlen("/initdb"));
  globfree(&g);
  pg->as_nobody = getuid() == 0;
  if (pg->as_nobody && system("command -v setpriv >/dev/null 2>&1") != 0) {
    printf("SKIP: running as root and setpriv (util-linux) is missing\n");
    return -1;
  }
  pg->dir = harness_tmpdir();
  if (pg->as_nobody) {
    struct passwd *pw = getpwnam("nobody");
    if (!pw || chown(pg->dir, pw->pw_uid, pw->pw_gid) < 0) {
      printf("SKIP: cannot hand %s to user nobody\n", pg->dir);
      return -1;
    }
  }
  pg->port = harness_free_port();
  char *cmd = srv_fmt("%s/initdb -D %s/data -U postgres --auth=trust -E UTF8 --no-sync "
                      ">%s/initdb.log 2>&1",
                      pg->bindir, pg->dir, pg->dir);
  int rc = run_pg(pg, cmd);
  free(cmd);
  if (rc != 0) {
    printf("SKIP: initdb failed (see %s/initdb.log)\n", pg->dir);
    return -1;
  }
  cmd = srv_fmt("%s/pg_ctl -D %s/data -w -t 60 -l %s/pg.log -o \"-p %d -k %s "
                "-c listen_addresses=127.0.0.1 -c fsync=off\" start >/dev/null 2>&1",
                pg->bindir, pg->dir, pg->dir, pg->port, pg->dir);
  rc = run_pg(pg, cmd);
  free(cmd);
  if (rc != 0) {
    printf("SKIP: PostgreSQL did not start (see %s/pg.log)\n", pg->dir);
    return -1;
  }
  pg->url = srv_fmt("postgresql://postgres@127.0.0.1:%d/postgres", pg->port);
  return 0;
}

void pg_stop(struct pg *pg)
{
  if (pg->url) {
    char *cmd = srv_fmt("%s/pg_ctl -D %s/data -m immediate stop >/dev/null 2>&1", pg->bindir,
                        pg->dir);
    run_pg(pg, cmd);
    free(cmd);
  }
  free(pg->url);
  free(pg->dir);
  free(pg->bindir);
  memset(pg, 0, sizeof(*pg));
}

/* ---- SQL ---- */

struct first {
  bool got;
  long long i;
  char *s;
};

static int first_row(void *ctx, const struct db_val *c, int n)
{
  struct first *f = ctx;
  if (n < 1)
    return 1;
  f->got = c[0].kind != DB_NULL;
  f->i = c[0].i;
  if (c[0].kind == DB_TEXT || c[0].kind == DB_BLOB)
    f->s = strndup(c[0].p, c[0].len);
  else if (c[0].kind == DB_INT)
    f->s = srv_fmt("%lld", c[0].i);
  return 1;
}

static int query(const char *dburl, const char *sql, struct first *f)
{
  struct db *db;
  char err[256];
  memset(f, 0, sizeof(*f));
  if (db_open(dburl, &db, err, sizeof(err)) < 0)
    return -1;
  int rc = db_exec(db, sql, NULL, 0, first_row, f, NULL);
  db_close(db);
  return rc < 0 ? -1 : 0;
}

long long srv_sql_int(const char *dburl, const char *sql)
{
  struct first f;
  if (query(dburl, sql, &f) < 0 || !f.got) {
    free(f.s);
    return -1;
  }
  free(f.s);
  return f.i;
}

char *srv_sql_text(const char *dburl, const char *sql)
{
  struct first f;
  if (query(dburl, sql, &f) < 0) {
    free(f.s);
    return NULL;
  }
  return f.s;
}

int srv_wait_file(const char *path, double timeout)
{
  for (int i = 0; i < timeout * 100; i++) {
    if (access(path, F_OK) == 0)
      return 0;
    harness_sleep_ms(10);
  }
  return -1;
}

struct login {
  int rc;
  bool done;
};

static void on_connack(struct mosquitto *m, void *ud, int rc)
{
  struct login *l = ud;
  l->rc = rc;
  l->done = true;
}

int srv_try_login(int port, const char *user, const char *password)
{
  struct login l = {-1, false};
  struct mosquitto *m = mosquitto_new(NULL, true, &l);
  if (!m)
    return -1;
  if (user)
    mosquitto_username_pw_set(m, user, password);
  mosquitto_connect_callback_set(m, on_connack);
  if (mosquitto_connect(m, "127.0.0.1", port, 30) == MOSQ_ERR_SUCCESS)
    for (int i = 0; i < 100 && !l.done; i++)
      mosquitto_loop(m, 100, 1);
  if (l.done && l.rc == 0)
    mosquitto_disconnect(m);
  mosquitto_destroy(m);
  return l.done ? l.rc : -1;
}

void srv_db_reset(const char *dburl)
{
  struct db *db;
  char err[256];
  if (db_open(dburl, &db, err, sizeof(err)) < 0)
    return;
  db_script(db, "DELETE FROM users; DELETE FROM user_changes; DELETE FROM notifications;"
                " DELETE FROM notifyd_qos2;");
  db_close(db);
}

char *srv_test_db(const char *dir, const char *pg_url)
{
  if (!pg_url)
    return srv_fmt("sqlite:%s/ovms.db", dir);
  srv_db_reset(pg_url);
  return srv_fmt("%s", pg_url);
}

int srv_test_broker_main(int argc, char **argv, const struct CMUnitTest *tests, size_t n,
                         const char **pg_url)
{
  struct pg pg;
  bool use_pg = argc > 1 && strcmp(argv[1], "--pg") == 0;
  if (!getenv("OVMS_AUTH_PLUGIN") || !getenv("MOSQUITTO_BIN") || !*getenv("MOSQUITTO_BIN")) {
    printf("SKIP: no mosquitto or plugin\n");
    return TEST_SKIP_EXIT;
  }
  if (use_pg) {
    if (pg_start(&pg) < 0)
      return TEST_SKIP_EXIT;
    *pg_url = pg.url;
  }
  int rc = _cmocka_run_group_tests("tests", tests, n, NULL, NULL);
  if (use_pg)
    pg_stop(&pg);
  *pg_url = NULL;
  return rc;
}
