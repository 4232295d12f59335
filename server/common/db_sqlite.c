/*
 * db_sqlite.c - the SQLite backend of db.h: "sqlite:PATH[?max_page_count=N&busy_timeout=MS]".
 *
 * The file is opened in WAL mode (readers — the broker plugin — never block the writer, the
 * notification daemon) with synchronous=FULL, so a committed transaction survives a crash of
 * the process and of the machine.  busy_timeout (default 1000 ms) is how long a statement
 * waits for another connection's lock before failing with SRV_EBUSY; max_page_count caps the
 * size of the file for this connection (then SRV_EFULL), as an operator's quota and for tests.
 * Prepared statements are kept per SQL text (a small cache), so repeated statements are not
 * parsed again.
 */
#include "db.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "srv_error.h"

#define CACHE 24

struct lite {
  sqlite3 *h;
  struct {
    char *sql;
    sqlite3_stmt *st;
  } cache[CACHE];
  int next;
};

static int map(struct db *db, sqlite3 *h, int rc)
{
  snprintf(db->err, sizeof(db->err), "%s", h ? sqlite3_errmsg(h) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
    return SRV_EBUSY;
  case SQLITE_FULL:
    return SRV_EFULL;
  case SQLITE_NOMEM:
    return -ENOMEM;
  default:
    return SRV_EDB;
  }
}

static int opt_value(const char *q, const char *name, long *out)
{
  size_t nl = strlen(name);
  for (const char *p = q; p && *p;) {
    if (strncmp(p, name, nl) == 0 && p[nl] == '=') {
      char *end;
      long v = strtol(p + nl + 1, &end, 10);
      if (end == p + nl + 1 || (*end && *end != '&') || v < 0)
        return -EINVAL;
      *out = v;
      return 1;
    }
    p = strchr(p, '&');
    if (p)
      p++;
  }
  return 0;
}

static int lite_open(struct db *db, const char *target)
{
  struct lite *l = calloc(1, sizeof(*l));
  if (!l)
    return -ENOMEM;
  char *path = strdup(target);
  if (!path) {
    free(l);
    return -ENOMEM;
  }
  char *q = strchr(path, '?');
  if (q)
    *q++ = '\0';
  long pages = 0, busy = 1000;
  if ((q && opt_value(q, "max_page_count", &pages) < 0) ||
      (q && opt_value(q, "busy_timeout", &busy) < 0) || !*path) {
    snprintf(db->err, sizeof(db->err), "bad sqlite URL options in '%s'", target);
    free(path);
    free(l);
    return SRV_EURL;
  }
  int rc = sqlite3_open_v2(path, &l->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
  free(path);
  if (rc != SQLITE_OK) {
    rc = map(db, l->h, rc);
    sqlite3_close(l->h);
    free(l);
    return rc;
  }
  sqlite3_busy_timeout(l->h, (int)busy);
  db->priv = l;
  char sql[128];
  rc = sqlite3_exec(l->h, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL, NULL);
  if (rc == SQLITE_OK && pages > 0) {
    snprintf(sql, sizeof(sql), "PRAGMA max_page_count=%ld;", pages);
    rc = sqlite3_exec(l->h, sql, NULL, NULL, NULL);
  }
  if (rc != SQLITE_OK) {
    rc = map(db, l->h, rc);
    sqlite3_close(l->h);
    free(l);
    db->priv = NULL;
    return rc;
  }
  return 0;
}

static void lite_close(struct db *db)
{
  struct lite *l = db->priv;
  if (!l)
    return;
  for (int i = 0; i < CACHE; i++) {
    sqlite3_finalize(l->cache[i].st);
    free(l->cache[i].sql);
  }
  sqlite3_close(l->h);
  free(l);
}

static int prepare(struct db *db, struct lite *l, const char *sql, sqlite3_stmt **out)
{
  for (int i = 0; i < CACHE; i++)
    if (l->cache[i].sql && strcmp(l->cache[i].sql, sql) == 0) {
      *out = l->cache[i].st;
      return 0;
    }
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(l->h, sql, -1, &st, NULL);
  if (rc != SQLITE_OK)
    return map(db, l->h, rc);
  char *copy = strdup(sql);
  if (!copy) {
    sqlite3_finalize(st);
    return -ENOMEM;
  }
  int slot = l->next;
  l->next = (l->next + 1) % CACHE;
  sqlite3_finalize(l->cache[slot].st);
  free(l->cache[slot].sql);
  l->cache[slot].sql = copy;
  l->cache[slot].st = st;
  *out = st;
  return 0;
}

static int bind(sqlite3_stmt *st, const struct db_val *params, int n)
{
  for (int i = 0; i < n; i++) {
    char name[16];
    snprintf(name, sizeof(name), "$%d", i + 1);
    int idx = sqlite3_bind_parameter_index(st, name);
    if (idx == 0)
      continue;
    const struct db_val *v = &params[i];
    int rc;
    switch (v->kind) {
    case DB_TEXT:
      rc = sqlite3_bind_text(st, idx, v->p ? v->p : "", (int)v->len, SQLITE_STATIC);
      break;
    case DB_BLOB:
      rc = sqlite3_bind_blob(st, idx, v->p ? v->p : "", (int)v->len, SQLITE_STATIC);
      break;
    case DB_INT:
      rc = sqlite3_bind_int64(st, idx, v->i);
      break;
    default:
      rc = sqlite3_bind_null(st, idx);
      break;
    }
    if (rc != SQLITE_OK)
      return rc;
  }
  return SQLITE_OK;
}

static int lite_exec(struct db *db, const char *sql, const struct db_val *params, int n,
                     db_row_fn fn, void *ctx, long long *changes)
{
  struct lite *l = db->priv;
  sqlite3_stmt *st = NULL;
  int rc = prepare(db, l, sql, &st);
  if (rc < 0)
    return rc;
  int ret = 0;
  rc = bind(st, params, n);
  if (rc != SQLITE_OK) {
    ret = map(db, l->h, rc);
    goto out;
  }
  for (;;) {
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
      break;
    if (rc != SQLITE_ROW) {
      ret = map(db, l->h, rc);
      goto out;
    }
    if (!fn)
      continue;
    struct db_val cols[16];
    int nc = sqlite3_column_count(st);
    if (nc > 16)
      nc = 16;
    for (int i = 0; i < nc; i++) {
      struct db_val *c = &cols[i];
      switch (sqlite3_column_type(st, i)) {
      case SQLITE_INTEGER:
        *c = (struct db_val){DB_INT, NULL, 0, sqlite3_column_int64(st, i)};
        break;
      case SQLITE_NULL:
        *c = (struct db_val){DB_NULL, NULL, 0, 0};
        break;
      case SQLITE_BLOB: {
        const void *b = sqlite3_column_blob(st, i);
        *c = (struct db_val){DB_BLOB, b, (size_t)sqlite3_column_bytes(st, i), 0};
        break;
      }
      default: {
        const char *t = (const char *)sqlite3_column_text(st, i);
        *c = (struct db_val){DB_TEXT, t ? t : "", (size_t)sqlite3_column_bytes(st, i),
                             t ? strtoll(t, NULL, 10) : 0};
        break;
      }
      }
    }
    ret = fn(ctx, cols, nc);
    if (ret)
      goto out;
  }
  if (changes)
    *changes = sqlite3_changes(l->h);
out:
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return ret;
}

static int lite_script(struct db *db, const char *sql)
{
  struct lite *l = db->priv;
  int rc = sqlite3_exec(l->h, sql, NULL, NULL, NULL);
  return rc == SQLITE_OK ? 0 : map(db, l->h, rc);
}

const struct db_ops db_sqlite_ops = {
    .name = "sqlite",
    .open = lite_open,
    .close = lite_close,
    .exec = lite_exec,
    .script = lite_script,
    .schema = "CREATE TABLE IF NOT EXISTS users ("
              " username TEXT PRIMARY KEY, hash TEXT NOT NULL,"
              " role TEXT NOT NULL DEFAULT 'user', updated INTEGER NOT NULL DEFAULT 0);"
              "CREATE TABLE IF NOT EXISTS user_changes ("
              " rev INTEGER PRIMARY KEY AUTOINCREMENT, username TEXT NOT NULL,"
              " changed INTEGER NOT NULL);"
              "CREATE TABLE IF NOT EXISTS notifications ("
              " id INTEGER PRIMARY KEY AUTOINCREMENT, username TEXT NOT NULL,"
              " vehicle TEXT NOT NULL, type TEXT NOT NULL, subtype TEXT NOT NULL,"
              " msgid INTEGER, payload BLOB NOT NULL, received INTEGER NOT NULL,"
              " recorded INTEGER NOT NULL, topic TEXT NOT NULL,"
              " UNIQUE (username, vehicle, type, subtype, msgid));"
              "CREATE TABLE IF NOT EXISTS notifyd_qos2 ("
              " client TEXT NOT NULL, packet_id INTEGER NOT NULL,"
              " PRIMARY KEY (client, packet_id));",
};
