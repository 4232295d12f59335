/*
 * store.c - the tables of store.h: one SQL text per operation, valid in both dialects
 * ($n parameters, INSERT ... ON CONFLICT DO NOTHING: SQLite 3.24+, PostgreSQL 9.5+).
 */
#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "srv_error.h"

long long store_now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int store_migrate(struct db *db)
{
  return db_script(db, db->ops->schema);
}

static int copy_text(char *dst, size_t cap, const struct db_val *v)
{
  if (v->kind == DB_NULL || !v->p) {
    dst[0] = '\0';
    return 0;
  }
  if (v->len >= cap)
    return SRV_EDB;
  memcpy(dst, v->p, v->len);
  dst[v->len] = '\0';
  return 0;
}

static int user_row(void *ctx, const struct db_val *c, int n)
{
  struct store_user *u = ctx;
  if (n < 2 || copy_text(u->hash, sizeof(u->hash), &c[0]) < 0 ||
      copy_text(u->role, sizeof(u->role), &c[1]) < 0)
    return SRV_EDB;
  return 1;
}

int store_user_get(struct db *db, const char *user, struct store_user *out)
{
  struct db_val p[] = {DB_TEXTV(user)};
  int rc = db_exec(db, "SELECT hash, role FROM users WHERE username = $1", p, 1, user_row, out,
                   NULL);
  return rc == 1 ? 0 : rc < 0 ? rc : -ENOENT;
}

static int change(struct db *db, const char *user)
{
  struct db_val p[] = {DB_TEXTV(user), DB_INTV(store_now_ms())};
  return db_exec(db, "INSERT INTO user_changes (username, changed) VALUES ($1, $2)", p, 2, NULL,
                 NULL, NULL);
}

/* Runs sql (params p[0..n)) and a change row for user in one transaction; -ENOENT when sql
 * changed nothing. */
static int changed(struct db *db, const char *sql, const struct db_val *p, int n,
                   const char *user)
{
  int rc = db_begin(db);
  if (rc < 0)
    return rc;
  long long ch = 0;
  rc = db_exec(db, sql, p, n, NULL, NULL, &ch);
  if (rc == 0 && ch == 0)
    rc = -ENOENT;
  if (rc == 0)
    rc = change(db, user);
  if (rc == 0)
    rc = db_commit(db);
  if (rc < 0)
    db_rollback(db);
  return rc;
}

int store_user_add(struct db *db, const char *user, const char *hash)
{
  struct db_val p[] = {DB_TEXTV(user), DB_TEXTV(hash), DB_INTV(store_now_ms())};
  int rc = changed(db,
                   "INSERT INTO users (username, hash, role, updated) VALUES ($1, $2, 'user', $3)"
                   " ON CONFLICT DO NOTHING",
                   p, 3, user);
  return rc == -ENOENT ? -EEXIST : rc;
}

int store_user_set_hash(struct db *db, const char *user, const char *hash)
{
  struct db_val p[] = {DB_TEXTV(user), DB_TEXTV(hash), DB_INTV(store_now_ms())};
  return changed(db, "UPDATE users SET hash = $2, updated = $3 WHERE username = $1", p, 3, user);
}

int store_user_set_role(struct db *db, const char *user, const char *role)
{
  struct db_val p[] = {DB_TEXTV(user), DB_TEXTV(role), DB_INTV(store_now_ms())};
  return changed(db, "UPDATE users SET role = $2, updated = $3 WHERE username = $1", p, 3, user);
}

int store_user_del(struct db *db, const char *user)
{
  struct db_val p[] = {DB_TEXTV(user)};
  return changed(db, "DELETE FROM users WHERE username = $1", p, 1, user);
}

int store_user_rehash(struct db *db, const char *user, const char *old, const char *new_hash)
{
  struct db_val p[] = {DB_TEXTV(user), DB_TEXTV(old), DB_TEXTV(new_hash)};
  return db_exec(db, "UPDATE users SET hash = $3 WHERE username = $1 AND hash = $2", p, 3, NULL,
                 NULL, NULL);
}

struct list_ctx {
  void (*fn)(void *, const char *, const char *);
  void *ctx;
};

static int list_row(void *ctx, const struct db_val *c, int n)
{
  struct list_ctx *l = ctx;
  if (n >= 2)
    l->fn(l->ctx, c[0].p ? c[0].p : "", c[1].p ? c[1].p : "");
  return 0;
}

int store_user_list(struct db *db, void (*fn)(void *ctx, const char *user, const char *role),
                    void *ctx)
{
  struct list_ctx l = {fn, ctx};
  return db_exec(db, "SELECT username, role FROM users ORDER BY username", NULL, 0, list_row, &l,
                 NULL);
}

static int head_row(void *ctx, const struct db_val *c, int n)
{
  *(long long *)ctx = n >= 1 && c[0].kind != DB_NULL ? c[0].i : 0;
  return 0;
}

int store_changes_head(struct db *db, long long *rev)
{
  *rev = 0;
  return db_exec(db, "SELECT MAX(rev) FROM user_changes", NULL, 0, head_row, rev, NULL);
}

struct since_ctx {
  void (*fn)(void *, const char *);
  void *ctx;
  long long rev;
};

static int since_row(void *ctx, const struct db_val *c, int n)
{
  struct since_ctx *s = ctx;
  if (n < 2)
    return 0;
  if (c[0].i > s->rev)
    s->rev = c[0].i;
  s->fn(s->ctx, c[1].p ? c[1].p : "");
  return 0;
}

int store_changes_since(struct db *db, long long *rev, void (*fn)(void *ctx, const char *user),
                        void *ctx)
{
  struct since_ctx s = {fn, ctx, *rev};
  struct db_val p[] = {DB_INTV(*rev)};
  int rc = db_exec(db, "SELECT rev, username FROM user_changes WHERE rev > $1 ORDER BY rev", p, 1,
                   since_row, &s, NULL);
  if (rc == 0)
    *rev = s.rev;
  return rc;
}

/* The one INSERT of a notification: with client, in the same statement as its QoS 2 hold
 * (PostgreSQL only: the row goes in only if the hold is new), else on its own.  Returns 1
 * when a row went in (never while pipelined with a client), 0 when not, < 0 on error. */
static int notification_insert(struct db *db, const struct store_notification *n,
                               const char *client, int packet_id)
{
  struct db_val p[] = {DB_TEXTV(n->username),
                       DB_TEXTV(n->vehicle),
                       DB_TEXTV(n->type),
                       DB_TEXTV(n->subtype),
                       n->has_msgid ? DB_INTV(n->msgid) : DB_NULLV,
                       DB_BLOBV(n->payload, n->len),
                       DB_INTV(n->received),
                       DB_INTV(n->recorded),
                       DB_TEXTV(n->topic),
                       DB_TEXTV(client),
                       DB_INTV(packet_id)};
  long long ch = 0;
  int rc;
  if (!client)
    rc = db_exec(db,
                 "INSERT INTO notifications (username, vehicle, type, subtype, msgid, payload,"
                 " received, recorded, topic) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
                 " ON CONFLICT DO NOTHING",
                 p, 9, NULL, NULL, &ch);
  else
    rc = db_exec(db,
                 "WITH h AS (INSERT INTO notifyd_qos2 (client, packet_id) VALUES ($10, $11)"
                 " ON CONFLICT DO NOTHING RETURNING 1)"
                 " INSERT INTO notifications (username, vehicle, type, subtype, msgid, payload,"
                 " received, recorded, topic) SELECT $1::text, $2::text, $3::text, $4::text,"
                 " $5::bigint, $6::bytea, $7::bigint, $8::bigint, $9::text FROM h"
                 " ON CONFLICT DO NOTHING",
                 p, 11, NULL, NULL, db_pipelined(db) ? NULL : &ch);
  return rc < 0 ? rc : ch > 0;
}

int store_notification_add(struct db *db, const struct store_notification *n)
{
  return notification_insert(db, n, NULL, 0);
}

int store_notification_add_qos2(struct db *db, const struct store_notification *n,
                                const char *client, int packet_id)
{
  if (strcmp(db_backend(db), "postgresql") != 0) {
    int fresh = store_qos2_hold(db, client, packet_id);
    if (fresh <= 0)
      return fresh;
    return store_notification_add(db, n);
  }
  return notification_insert(db, n, client, packet_id);
}

static int one_row(void *ctx, const struct db_val *c, int n)
{
  *(int *)ctx = 1;
  return 0;
}

int store_qos2_held(struct db *db, const char *client, int packet_id)
{
  struct db_val p[] = {DB_TEXTV(client), DB_INTV(packet_id)};
  int found = 0;
  int rc = db_exec(db, "SELECT 1 FROM notifyd_qos2 WHERE client = $1 AND packet_id = $2", p, 2,
                   one_row, &found, NULL);
  return rc < 0 ? rc : found;
}

int store_qos2_hold(struct db *db, const char *client, int packet_id)
{
  struct db_val p[] = {DB_TEXTV(client), DB_INTV(packet_id)};
  long long ch = 0;
  int rc = db_exec(db,
                   "INSERT INTO notifyd_qos2 (client, packet_id) VALUES ($1, $2)"
                   " ON CONFLICT DO NOTHING",
                   p, 2, NULL, NULL, &ch);
  return rc < 0 ? rc : ch > 0;
}

int store_qos2_release(struct db *db, const char *client, int packet_id)
{
  struct db_val p[] = {DB_TEXTV(client), DB_INTV(packet_id)};
  return db_exec(db, "DELETE FROM notifyd_qos2 WHERE client = $1 AND packet_id = $2", p, 2, NULL,
                 NULL, NULL);
}
