/*
 * db.c - db_open() picks the backend by the URL's scheme; the rest forwards to its ops.
 */
#include "db.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "srv_error.h"

int db_open(const char *url, struct db **out, char *err, size_t errlen)
{
  const struct db_ops *ops;
  const char *target = url;
  *out = NULL;
  if (strncmp(url, "sqlite:", 7) == 0) {
    ops = &db_sqlite_ops;
    target = url + 7;
  } else if (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0) {
    ops = &db_pg_ops;
  } else {
    if (err && errlen)
      snprintf(err, errlen, "unknown database URL (want sqlite:PATH or postgresql://...)");
    return SRV_EURL;
  }
  struct db *db = calloc(1, sizeof(*db));
  if (!db)
    return -ENOMEM;
  db->ops = ops;
  int rc = ops->open(db, target);
  if (rc < 0) {
    if (err && errlen)
      snprintf(err, errlen, "%s", db->err[0] ? db->err : srv_strerror(rc));
    free(db);
    return rc;
  }
  *out = db;
  return 0;
}

void db_close(struct db *db)
{
  if (!db)
    return;
  db->ops->close(db);
  free(db);
}

int db_exec(struct db *db, const char *sql, const struct db_val *params, int n, db_row_fn fn,
            void *ctx, long long *changes)
{
  if (!db->piped)
    db->err[0] = '\0';
  return db->ops->exec(db, sql, params, n, fn, ctx, changes);
}

int db_script(struct db *db, const char *sql)
{
  db->err[0] = '\0';
  return db->ops->script(db, sql);
}

int db_pipeline(struct db *db, bool on)
{
  if (!db->ops->pipeline)
    return 0;
  if (on)
    db->err[0] = '\0';
  int rc = db->ops->pipeline(db, on);
  if (rc == 0)
    db->piped = on;
  else if (!on)
    db->piped = false;
  return rc;
}

bool db_pipelined(const struct db *db)
{
  return db->piped;
}

int db_begin(struct db *db)
{
  return db_exec(db, "BEGIN", NULL, 0, NULL, NULL, NULL);
}

int db_commit(struct db *db)
{
  return db_exec(db, "COMMIT", NULL, 0, NULL, NULL, NULL);
}

void db_rollback(struct db *db)
{
  char keep[sizeof(db->err)];
  memcpy(keep, db->err, sizeof(keep));
  (void)db_exec(db, "ROLLBACK", NULL, 0, NULL, NULL, NULL);
  memcpy(db->err, keep, sizeof(keep));
}

const char *db_errmsg(const struct db *db)
{
  return db->err;
}

const char *db_backend(const struct db *db)
{
  return db->ops->name;
}
