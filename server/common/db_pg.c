/*
 * db_pg.c - the PostgreSQL backend of db.h: the URL ("postgresql://user:pw@host:port/db?...")
 * goes to libpq as it is (libpq accepts connection URIs, PostgreSQL manual 34.1.1).
 *
 * Statements with parameters are prepared once per connection (PQprepare, a small cache by
 * SQL text) and run with PQexecPrepared: parameters as text, blobs as binary (bytea), results
 * as text.  A connection found broken is reset (PQreset) once before the next statement, so a
 * restarted database server costs one failed statement, not a restart of the caller.
 * Notices are silenced (library code never prints).
 */
#include "db.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "srv_error.h"

#define CACHE 24

struct pg {
  PGconn *c;
  char *sql[CACHE];
  int next;
  bool piped;
  int queued, send_error;
};

static void quiet(void *arg, const char *message)
{
  (void)arg;
  (void)message;
}

static void set_err(struct db *db, const char *msg)
{
  snprintf(db->err, sizeof(db->err), "%s", msg ? msg : "");
  size_t n = strlen(db->err);
  while (n > 0 && (db->err[n - 1] == '\n' || db->err[n - 1] == ' '))
    db->err[--n] = '\0';
}

static int pg_open(struct db *db, const char *target)
{
  PGconn *c = PQconnectdb(target);
  if (!c)
    return -ENOMEM;
  if (PQstatus(c) != CONNECTION_OK) {
    set_err(db, PQerrorMessage(c));
    PQfinish(c);
    return SRV_EDB;
  }
  PQsetNoticeProcessor(c, quiet, NULL);
  struct pg *p = calloc(1, sizeof(*p));
  if (!p) {
    PQfinish(c);
    return -ENOMEM;
  }
  p->c = c;
  db->priv = p;
  return 0;
}

static void forget(struct pg *p)
{
  for (int i = 0; i < CACHE; i++) {
    free(p->sql[i]);
    p->sql[i] = NULL;
  }
}

static void pg_close(struct db *db)
{
  struct pg *p = db->priv;
  if (!p)
    return;
  forget(p);
  PQfinish(p->c);
  free(p);
}

static int check_conn(struct db *db)
{
  struct pg *p = db->priv;
  PGconn *c = p->c;
  if (PQstatus(c) == CONNECTION_OK)
    return 0;
  forget(p); /* prepared statements die with the session */
  PQreset(c);
  if (PQstatus(c) != CONNECTION_OK) {
    set_err(db, PQerrorMessage(c));
    return SRV_EDB;
  }
  return 0;
}

static int result_error(struct db *db, PGresult *r)
{
  set_err(db, PQresultErrorMessage(r));
  const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
  /* class 53: insufficient resources (53100 disk_full); 55P03 lock_not_available, 40P01
   * deadlock_detected */
  if (state && strncmp(state, "53", 2) == 0)
    return SRV_EFULL;
  if (state && (strcmp(state, "55P03") == 0 || strcmp(state, "40P01") == 0))
    return SRV_EBUSY;
  return SRV_EDB;
}

/* The name of sql's prepared statement ("s<slot>"), preparing it if needed; NULL on error. */
static const char *prepared(struct db *db, const char *sql, int n, char name[8])
{
  struct pg *p = db->priv;
  for (int i = 0; i < CACHE; i++)
    if (p->sql[i] && strcmp(p->sql[i], sql) == 0) {
      snprintf(name, 8, "s%d", i);
      return name;
    }
  int slot = p->next;
  p->next = (p->next + 1) % CACHE;
  snprintf(name, 8, "s%d", slot);
  if (p->sql[slot]) {
    char dealloc[32];
    snprintf(dealloc, sizeof(dealloc), "DEALLOCATE %s", name);
    PQclear(PQexec(p->c, dealloc));
    free(p->sql[slot]);
    p->sql[slot] = NULL;
  }
  PGresult *r = PQprepare(p->c, name, sql, n, NULL);
  if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
    set_err(db, r ? PQresultErrorMessage(r) : PQerrorMessage(p->c));
    PQclear(r);
    return NULL;
  }
  PQclear(r);
  p->sql[slot] = strdup(sql);
  return p->sql[slot] ? name : NULL;
}

static int pg_exec(struct db *db, const char *sql, const struct db_val *params, int n,
                   db_row_fn fn, void *ctx, long long *changes)
{
  PGconn *c = ((struct pg *)db->priv)->c;
  int rc = check_conn(db);
  if (rc < 0)
    return rc;
  const char *values[16];
  int lengths[16], formats[16];
  char ints[16][24];
  if (n > 16)
    return -EINVAL;
  for (int i = 0; i < n; i++) {
    const struct db_val *v = &params[i];
    lengths[i] = 0;
    formats[i] = 0;
    switch (v->kind) {
    case DB_TEXT:
      values[i] = v->p ? v->p : "";
      break;
    case DB_BLOB:
      values[i] = v->p ? v->p : "";
      lengths[i] = (int)v->len;
      formats[i] = 1;
      break;
    case DB_INT:
      snprintf(ints[i], sizeof(ints[i]), "%lld", v->i);
      values[i] = ints[i];
      break;
    default:
      values[i] = NULL;
      break;
    }
  }
  struct pg *pp = db->priv;
  if (pp->piped && !fn) {
    /* unprepared (PQprepare is synchronous), but sent without waiting */
    if (PQsendQueryParams(c, sql, n, NULL, values, lengths, formats, 0) != 1) {
      set_err(db, PQerrorMessage(c));
      if (!pp->send_error)
        pp->send_error = SRV_EDB;
    } else {
      pp->queued++;
    }
    return 0;
  }
  char name[8];
  PGresult *r;
  if (n > 0) {
    const char *stmt = prepared(db, sql, n, name);
    if (!stmt)
      return SRV_EDB;
    r = PQexecPrepared(c, stmt, n, values, lengths, formats, 0);
  } else {
    r = PQexecParams(c, sql, 0, NULL, NULL, NULL, NULL, 0);
  }
  if (!r) {
    set_err(db, PQerrorMessage(c));
    return SRV_EDB;
  }
  ExecStatusType st = PQresultStatus(r);
  int ret = 0;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    ret = result_error(db, r);
    PQclear(r);
    return ret;
  }
  int rows = PQntuples(r), nc = PQnfields(r);
  if (nc > 16)
    nc = 16;
  for (int row = 0; fn && row < rows && !ret; row++) {
    struct db_val cols[16];
    for (int i = 0; i < nc; i++) {
      if (PQgetisnull(r, row, i)) {
        cols[i] = (struct db_val){DB_NULL, NULL, 0, 0};
        continue;
      }
      const char *t = PQgetvalue(r, row, i);
      cols[i] = (struct db_val){DB_TEXT, t, (size_t)PQgetlength(r, row, i), strtoll(t, NULL, 10)};
    }
    ret = fn(ctx, cols, nc);
  }
  if (changes) {
    const char *ct = PQcmdTuples(r);
    *changes = ct && *ct ? strtoll(ct, NULL, 10) : 0;
  }
  PQclear(r);
  return ret;
}

static int pg_pipeline(struct db *db, bool on)
{
  struct pg *p = db->priv;
  if (on) {
    int rc = check_conn(db);
    if (rc < 0)
      return rc;
    if (PQenterPipelineMode(p->c) != 1) {
      set_err(db, PQerrorMessage(p->c));
      return SRV_EDB;
    }
    p->piped = true;
    p->queued = 0;
    p->send_error = 0;
    return 0;
  }
  if (!p->piped)
    return 0;
  p->piped = false;
  int ret = p->send_error;
  if (PQpipelineSync(p->c) != 1) {
    set_err(db, PQerrorMessage(p->c));
    ret = SRV_EDB;
  } else {
    /* each statement's result then NULL; PGRES_PIPELINE_SYNC ends it.  A broken connection
     * gives NULL for ever: bounded by the number of statements sent. */
    int nulls = 0;
    for (;;) {
      PGresult *r = PQgetResult(p->c);
      if (!r) {
        if (++nulls > p->queued + 2) {
          set_err(db, PQerrorMessage(p->c));
          ret = SRV_EDB;
          break;
        }
        continue;
      }
      ExecStatusType st = PQresultStatus(r);
      if (st == PGRES_PIPELINE_SYNC) {
        PQclear(r);
        break;
      }
      if (st == PGRES_FATAL_ERROR && ret == 0)
        ret = result_error(db, r);
      else if (st == PGRES_PIPELINE_ABORTED && ret == 0)
        ret = SRV_EDB;
      PQclear(r);
    }
  }
  if (PQexitPipelineMode(p->c) != 1 && ret == 0) {
    set_err(db, PQerrorMessage(p->c));
    ret = SRV_EDB;
  }
  return ret;
}

static int pg_script(struct db *db, const char *sql)
{
  int rc = check_conn(db);
  if (rc < 0)
    return rc;
  PGconn *c = ((struct pg *)db->priv)->c;
  PGresult *r = PQexec(c, sql);
  if (!r) {
    set_err(db, PQerrorMessage(c));
    return SRV_EDB;
  }
  int st = PQresultStatus(r);
  rc = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? 0 : result_error(db, r);
  PQclear(r);
  return rc;
}

const struct db_ops db_pg_ops = {
    .name = "postgresql",
    .open = pg_open,
    .close = pg_close,
    .exec = pg_exec,
    .script = pg_script,
    .pipeline = pg_pipeline,
    .schema = "CREATE TABLE IF NOT EXISTS users ("
              " username TEXT PRIMARY KEY, hash TEXT NOT NULL,"
              " role TEXT NOT NULL DEFAULT 'user', updated BIGINT NOT NULL DEFAULT 0);"
              "CREATE TABLE IF NOT EXISTS user_changes ("
              " rev BIGSERIAL PRIMARY KEY, username TEXT NOT NULL, changed BIGINT NOT NULL);"
              "CREATE TABLE IF NOT EXISTS notifications ("
              " id BIGSERIAL PRIMARY KEY, username TEXT NOT NULL,"
              " vehicle TEXT NOT NULL, type TEXT NOT NULL, subtype TEXT NOT NULL,"
              " msgid BIGINT, payload BYTEA NOT NULL, received BIGINT NOT NULL,"
              " recorded BIGINT NOT NULL, topic TEXT NOT NULL,"
              " UNIQUE (username, vehicle, type, subtype, msgid));"
              "CREATE TABLE IF NOT EXISTS notifyd_qos2 ("
              " client TEXT NOT NULL, packet_id INTEGER NOT NULL,"
              " PRIMARY KEY (client, packet_id));",
};
