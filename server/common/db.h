/*
 * db.h - the one database interface of the server parts: a handle opened from a URL, SQL
 * with numbered parameters ($1, $2, ... — both SQLite and PostgreSQL accept them), rows
 * handed to a callback, and errors as values.  Two backends side by side behind a const
 * operation table: db_sqlite.c ("sqlite:PATH[?max_page_count=N&busy_timeout=MS]") and
 * db_pg.c ("postgresql://..." or "postgres://...", passed to libpq as a connection URI).
 *
 * A handle is used by one thread at a time.  Errors: SRV_EBUSY (SQLite locked), SRV_EFULL
 * (SQLite full), SRV_EDB (anything else; db_errmsg() has the backend's text), -ENOMEM.
 */
#ifndef SRV_DB_H
#define SRV_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

enum db_kind { DB_NULL, DB_TEXT, DB_BLOB, DB_INT };

/* A parameter or a column value.  Columns are borrowed: valid during the row callback only.
 * Text columns are NUL-terminated; i holds the value of integer columns (and, for
 * PostgreSQL's text results, of anything that reads as an integer). */
struct db_val {
  enum db_kind kind;
  const void *p;
  size_t len;
  long long i;
};

#define DB_TEXTV(s) ((struct db_val){DB_TEXT, (s), (s) ? strlen(s) : 0, 0})
#define DB_BLOBV(b, n) ((struct db_val){DB_BLOB, (b), (n), 0})
#define DB_INTV(v) ((struct db_val){DB_INT, NULL, 0, (long long)(v)})
#define DB_NULLV ((struct db_val){DB_NULL, NULL, 0, 0})

/* Called once per result row; a non-zero return stops and is returned by db_exec(). */
typedef int (*db_row_fn)(void *ctx, const struct db_val *cols, int ncols);

struct db;

struct db_ops {
  const char *name;
  int (*open)(struct db *db, const char *target);
  void (*close)(struct db *db);
  int (*exec)(struct db *db, const char *sql, const struct db_val *params, int nparams,
              db_row_fn fn, void *ctx, long long *changes);
  int (*script)(struct db *db, const char *sql);
  /* Optional (NULL: statements always run at once): see db_pipeline(). */
  int (*pipeline)(struct db *db, bool on);
  /* The CREATE TABLE statements of store.c in this backend's dialect. */
  const char *schema;
};

struct db {
  const struct db_ops *ops;
  void *priv;
  bool piped;
  char err[256];
};

extern const struct db_ops db_sqlite_ops;
extern const struct db_ops db_pg_ops;

/*
 * Opens url.  On success *out is a new handle (the caller owns it: db_close()).  Returns 0,
 * SRV_EURL (unknown scheme), SRV_EDB (could not open; err gets the reason), -ENOMEM.
 */
int db_open(const char *url, struct db **out, char *err, size_t errlen);
void db_close(struct db *db);

/*
 * Runs one statement with params[0..n) bound to $1..$n; fn (may be NULL) gets each row.
 * *changes (may be NULL) gets the number of rows inserted/updated/deleted.  Returns 0, the
 * callback's non-zero value, or an error.
 */
int db_exec(struct db *db, const char *sql, const struct db_val *params, int n, db_row_fn fn,
            void *ctx, long long *changes);
/* Runs several statements without parameters.  Returns 0 or an error. */
int db_script(struct db *db, const char *sql);
/*
 * Pipelining (PostgreSQL: libpq's pipeline mode; SQLite: nothing to do).  Between
 * db_pipeline(db, true) and db_pipeline(db, false) statements given to db_exec() without a
 * row callback are sent without waiting for their results, so a batch costs one round trip;
 * db_exec() then returns 0 and *changes is not set.  Turning it off waits for all results and
 * returns the first error (a failed statement fails all after it: roll back).
 */
int db_pipeline(struct db *db, bool on);
/* True while pipelining (results deferred). */
bool db_pipelined(const struct db *db);
int db_begin(struct db *db);
int db_commit(struct db *db);
/* Rolls back; errors are ignored (the transaction is gone either way). */
void db_rollback(struct db *db);
/* The backend's last error text (empty when none). */
const char *db_errmsg(const struct db *db);
/* "sqlite" or "postgresql". */
const char *db_backend(const struct db *db);

#endif
