/*
 * srvtest.h - helpers for the tests of the server parts: running ovms-users and other
 * programs, a mosquitto loading ovms_auth.so with docker/server/mosquitto.conf (paths and
 * ports rewritten, as test_v3_docker.c does for docker/mosquitto), a throw-away PostgreSQL
 * server, and one-value SQL queries through the server's own db layer.
 *
 * Programs come from the environment CTest sets: OVMS_USERS_BIN, OVMS_NOTIFYD_BIN,
 * OVMS_AUTH_PLUGIN, MOSQUITTO_BIN, OVMS_SIM_BIN, OVMS_SIM_SRC.
 */
#ifndef SRVTEST_H
#define SRVTEST_H

#include <stdbool.h>
#include <sys/types.h>

#include "mqtt_harness.h"

/* printf into a new malloc'd string. */
char *srv_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Runs argv with stdin_text (NULL: /dev/null) on stdin; *out (may be NULL) gets stdout and
 * stderr together (malloc'd).  Returns the exit status or 128+signal. */
int srv_run(const char *stdin_text, char *const argv[], char **out);

/* ovms-users --database db --iterations 1000 cmd [a1 [a2]] with stdin_text.  Returns the
 * exit status. */
int srv_users(const char *db, const char *stdin_text, const char *cmd, const char *a1,
              const char *a2);

/* Starts bin with argv (argv[0] ignored) in the background, stdout+stderr appended to
 * dir/<name>.log, env entries added.  Returns the pid. */
pid_t srv_spawn(const char *dir, const char *name, const char *bin, char *const argv[],
                char *const env[]);

/* Starts mosquitto on a free port with docker/server/mosquitto.conf using the built plugin
 * and dburl, plus extra lines.  Returns 0, or -1 (skip when no MOSQUITTO_BIN). */
int srv_broker_start(struct broker *b, const char *dir, const char *dburl, const char *extra);

/* A PostgreSQL server in a temporary directory (initdb + pg_ctl of the Debian postgresql
 * package, run as 'nobody' when the test runs as root). */
struct pg {
  char *dir;
  char *bindir;
  int port;
  char *url;
  bool as_nobody;
};
/* Returns 0, or -1 with a message printed when PostgreSQL is not installed or cannot be
 * started (the caller skips). */
int pg_start(struct pg *pg);
void pg_stop(struct pg *pg);

/* The first column of the first row of sql on dburl as an integer (-1 on error/no row). */
long long srv_sql_int(const char *dburl, const char *sql);
/* The same as a malloc'd string (NULL on error/no row). */
char *srv_sql_text(const char *dburl, const char *sql);

/* Waits until path exists (timeout seconds).  Returns 0 or -1. */
int srv_wait_file(const char *path, double timeout);

/* Connects to 127.0.0.1:port as user/password (NULL: anonymous) and returns the CONNACK
 * code (0 accepted, 5 not authorized, 4 bad credentials) or -1 without an answer. */
int srv_try_login(int port, const char *user, const char *password);

/* Empties the server tables of dburl (PostgreSQL tests share one database). */
void srv_db_reset(const char *dburl);

/* The database of one broker/daemon test (malloc'd): pg_url, emptied, when given, else an
 * SQLite file in dir. */
char *srv_test_db(const char *dir, const char *pg_url);

struct CMUnitTest;
/*
 * The main() of a test that needs mosquitto with ovms_auth.so: TEST_SKIP_EXIT without them;
 * with "--pg" in argv[1] a throw-away PostgreSQL (TEST_SKIP_EXIT when it cannot start) whose
 * URL is in *pg_url while the n tests run.  Returns cmocka's result.
 */
int srv_test_broker_main(int argc, char **argv, const struct CMUnitTest *tests, size_t n,
                         const char **pg_url);

#endif
