/*
 * ovms_users.c - ovms-users, the user table of ovms_auth.so and ovms-notifyd:
 *
 *     ovms-users --database DB add USER        password from stdin (first line)
 *     ovms-users --database DB passwd USER     new password from stdin
 *     ovms-users --database DB del USER
 *     ovms-users --database DB list            "USER ROLE" lines
 *     ovms-users --database DB role USER ROLE  user | notifier
 *     ovms-users --database DB import USER     a stored hash from stdin (e.g. a Drupal 7
 *                                              "$S$..." from the OVMS server's user table)
 *
 * A password is never an argument (it would show in ps and shell history).  Every change is
 * recorded in user_changes, which the plugin polls: it is in force on the broker within the
 * plugin's poll interval.  Exit status: 0 done, 1 the operation failed (no such user, user
 * exists, database error), 2 bad invocation.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "acl.h"
#include "db.h"
#include "pwhash.h"
#include "srv_error.h"
#include "store.h"

static void usage(FILE *f)
{
  fprintf(f,
          "usage: ovms-users --database DB [--iterations N] COMMAND [ARGS]\n"
          "  add USER        add a user; the password is read from stdin\n"
          "  passwd USER     set a new password, read from stdin\n"
          "  del USER        delete a user (its clients are disconnected)\n"
          "  list            list users and roles\n"
          "  role USER ROLE  set the role: user or notifier\n"
          "  import USER     add or replace a user with a stored hash read from stdin\n"
          "                  (PBKDF2 $pbkdf2-sha512$... or Drupal 7 $S$...)\n"
          "options:\n"
          "  -d, --database DB   sqlite:PATH or postgresql://... (default $OVMS_DATABASE)\n"
          "  -i, --iterations N  PBKDF2-SHA512 iterations (default %d)\n"
          "  -h, --help\n",
          PWHASH_DEFAULT_ITERATIONS);
}

static int bad(const char *msg, const char *arg)
{
  fprintf(stderr, "ovms-users: %s%s%s\ntry 'ovms-users --help'\n", msg, arg ? ": " : "",
          arg ? arg : "");
  return 2;
}

/* Reads one line from stdin (no echo on a terminal) into buf; returns its length or -1. */
static long read_secret(const char *prompt, char *buf, size_t cap)
{
  struct termios old, quiet;
  bool tty = isatty(0) && tcgetattr(0, &old) == 0;
  if (tty) {
    fprintf(stderr, "%s", prompt);
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    tcsetattr(0, TCSANOW, &quiet);
  }
  long n = -1;
  setvbuf(stdin, NULL, _IONBF, 0); /* no stdio buffer keeps a copy of the line */
  if (fgets(buf, (int)cap, stdin)) {
    n = (long)strcspn(buf, "\r\n");
    if ((size_t)n == cap - 1 && buf[n] != '\n' && !feof(stdin))
      n = -2;
    buf[n < 0 ? 0 : n] = '\0';
  }
  if (tty) {
    tcsetattr(0, TCSANOW, &old);
    fprintf(stderr, "\n");
  }
  return n;
}

static void print_user(void *ctx, const char *user, const char *role)
{
  (void)ctx;
  printf("%s %s\n", user, role);
}

static bool valid_user(const char *u)
{
  return *u && strlen(u) <= STORE_MAX_USER && !strpbrk(u, "/+#") && !strchr(u, ' ');
}

int main(int argc, char **argv)
{
  static const struct option longopts[] = {{"database", required_argument, NULL, 'd'},
                                           {"iterations", required_argument, NULL, 'i'},
                                           {"help", no_argument, NULL, 'h'},
                                           {NULL, 0, NULL, 0}};
  const char *database = getenv("OVMS_DATABASE");
  unsigned iterations = PWHASH_DEFAULT_ITERATIONS;
  int c;
  while ((c = getopt_long(argc, argv, "+d:i:h", longopts, NULL)) != -1) {
    switch (c) {
    case 'd':
      database = optarg;
      break;
    case 'i': {
      char *end;
      errno = 0;
      unsigned long v = strtoul(optarg, &end, 10);
      if (end == optarg || *end || errno || v < PWHASH_MIN_ITERATIONS ||
          v > PWHASH_MAX_ITERATIONS)
        return bad("--iterations wants a number from 1000 to 100000000", optarg);
      iterations = (unsigned)v;
      break;
    }
    case 'h':
      usage(stdout);
      return 0;
    default:
      return bad("bad option", NULL);
    }
  }
  if (!database || !*database)
    return bad("no database (--database or OVMS_DATABASE)", NULL);
  if (optind >= argc)
    return bad("no command", NULL);
  const char *cmd = argv[optind];
  int nargs = argc - optind - 1;
  char **args = argv + optind + 1;
  int want = strcmp(cmd, "list") == 0 ? 0 : strcmp(cmd, "role") == 0 ? 2 : 1;
  if (strcmp(cmd, "add") && strcmp(cmd, "passwd") && strcmp(cmd, "del") && strcmp(cmd, "list") &&
      strcmp(cmd, "role") && strcmp(cmd, "import"))
    return bad("unknown command", cmd);
  if (nargs != want)
    return bad("wrong number of arguments for", cmd);
  if (want >= 1 && !valid_user(args[0]))
    return bad("a user name is 1 to 128 characters without '/', '+', '#' or spaces", args[0]);
  if (want == 2 && strcmp(args[1], STORE_ROLE_USER) && strcmp(args[1], STORE_ROLE_NOTIFIER))
    return bad("a role is 'user' or 'notifier'", args[1]);

  char secret[PWHASH_MAX_PASSWORD + 2];
  long slen = 0;
  if (strcmp(cmd, "add") == 0 || strcmp(cmd, "passwd") == 0 || strcmp(cmd, "import") == 0) {
    slen = read_secret(strcmp(cmd, "import") == 0 ? "Hash: " : "Password: ", secret,
                       sizeof(secret));
    if (slen == -2) {
      OPENSSL_cleanse(secret, sizeof(secret));
      return bad("longer than 512 bytes on stdin", NULL);
    }
    if (slen <= 0)
      return bad("nothing on stdin", NULL);
  }

  struct db *db;
  char err[300];
  int rc = db_open(database, &db, err, sizeof(err));
  if (rc < 0) {
    OPENSSL_cleanse(secret, sizeof(secret));
    fprintf(stderr, "ovms-users: %s: %s\n", database, err);
    return 1;
  }
  rc = store_migrate(db);
  char hash[PWHASH_MAX];
  if (rc == 0 && (strcmp(cmd, "add") == 0 || strcmp(cmd, "passwd") == 0)) {
    rc = pwhash_make(secret, (size_t)slen, iterations, hash);
    OPENSSL_cleanse(secret, sizeof(secret));
    if (rc == 0)
      rc = cmd[0] == 'a' ? store_user_add(db, args[0], hash)
                         : store_user_set_hash(db, args[0], hash);
  } else if (rc == 0 && strcmp(cmd, "import") == 0) {
    if (pwhash_verify(secret, "", 0) == SRV_EHASH) {
      db_close(db);
      return bad("not a PBKDF2-SHA512 or Drupal 7 hash on stdin", NULL);
    }
    rc = store_user_add(db, args[0], secret);
    if (rc == -EEXIST)
      rc = store_user_set_hash(db, args[0], secret);
  } else if (rc == 0 && strcmp(cmd, "del") == 0) {
    rc = store_user_del(db, args[0]);
  } else if (rc == 0 && strcmp(cmd, "role") == 0) {
    rc = store_user_set_role(db, args[0], args[1]);
  } else if (rc == 0) {
    rc = store_user_list(db, print_user, NULL);
  }
  OPENSSL_cleanse(secret, sizeof(secret)); /* also when store_migrate() failed before its use */
  if (rc < 0) {
    if (rc == -ENOENT)
      fprintf(stderr, "ovms-users: no such user: %s\n", args[0]);
    else if (rc == -EEXIST)
      fprintf(stderr, "ovms-users: user exists: %s\n", args[0]);
    else
      fprintf(stderr, "ovms-users: %s: %s\n", srv_strerror(rc),
              db_errmsg(db)[0] ? db_errmsg(db) : database);
  }
  db_close(db);
  return rc < 0 ? 1 : 0;
}
