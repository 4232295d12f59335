/*
 * store.h - the server's tables on top of db.h, the same SQL for SQLite and PostgreSQL.
 *
 *   users(username PK, hash, role, updated)   role 'user' or 'notifier'
 *   user_changes(rev, username, changed)      one row per add/passwd/role/del: the plugin
 *                                             polls it to see revocations (auth_core.h)
 *   notifications(id, username, vehicle, type, subtype, msgid, payload, received, recorded,
 *                 topic)                      UNIQUE(username, vehicle, type, subtype, msgid):
 *                                             a data record (msgid set) is stored once however
 *                                             often it is delivered; msgid NULL never collides
 *   notifyd_qos2(client, packet_id)           QoS 2 packets stored but not yet released
 *                                             (PUBREL), so a resent PUBLISH is not stored twice
 *
 * Times (updated, changed, received, recorded) are milliseconds since the Unix epoch, UTC.
 * The caller owns the db handle; strings passed in are borrowed.
 */
#ifndef SRV_STORE_H
#define SRV_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "db.h"

#define STORE_ROLE_USER "user"
#define STORE_ROLE_NOTIFIER "notifier"
#define STORE_MAX_USER 128

/* Creates the tables that do not exist yet.  Returns 0 or a db error. */
int store_migrate(struct db *db);

struct store_user {
  char hash[256];
  char role[32];
};

/* Reads one user.  Returns 0, -ENOENT, or a db error. */
int store_user_get(struct db *db, const char *user, struct store_user *out);
/* Adds a user (role "user").  Returns 0, -EEXIST, or a db error. */
int store_user_add(struct db *db, const char *user, const char *hash);
/* Replaces the hash / role, deletes.  Each records a user_changes row in the same
 * transaction.  Return 0, -ENOENT, or a db error. */
int store_user_set_hash(struct db *db, const char *user, const char *hash);
int store_user_set_role(struct db *db, const char *user, const char *role);
int store_user_del(struct db *db, const char *user);
/* Replaces hash old by new after a login with an outdated hash (no change is recorded: the
 * password is the same).  Returns 0 (also when the hash was changed meanwhile) or an error. */
int store_user_rehash(struct db *db, const char *user, const char *old, const char *new_hash);
/* Calls fn(ctx, username, role) for every user in name order.  Returns 0 or an error. */
int store_user_list(struct db *db, void (*fn)(void *ctx, const char *user, const char *role),
                    void *ctx);

/* The newest change revision (0 when none).  Returns 0 or an error. */
int store_changes_head(struct db *db, long long *rev);
/* Calls fn(ctx, username) for every change after rev and sets *rev to the newest one seen.
 * Returns 0 or an error. */
int store_changes_since(struct db *db, long long *rev, void (*fn)(void *ctx, const char *user),
                        void *ctx);

struct store_notification {
  const char *username, *vehicle, *type, *subtype, *topic;
  bool has_msgid;
  long long msgid;
  const void *payload;
  size_t len;
  long long received, recorded;
};

/* Inserts one row (inside the caller's transaction).  Returns 1 when stored, 0 when it was
 * there already (the same data record), or a db error. */
int store_notification_add(struct db *db, const struct store_notification *n);

/*
 * A QoS 2 notification as ovms-notifyd stores it: hold (client, packet_id) and insert the row
 * only when the id was not held already (else the PUBLISH is a resend).  One statement on
 * PostgreSQL (a data-modifying CTE), two on SQLite.  Returns 1 stored, 0 resend or same data
 * record (0 as well when pipelined: not known yet), or a db error.
 */
int store_notification_add_qos2(struct db *db, const struct store_notification *n,
                                const char *client, int packet_id);

/* QoS 2 bookkeeping for client (ovms-notifyd): is packet_id held (1/0); hold it (1 when
 * newly held, 0 when it was held already: the PUBLISH is a resend); release it.  Return as
 * said, 0, or a db error. */
int store_qos2_held(struct db *db, const char *client, int packet_id);
int store_qos2_hold(struct db *db, const char *client, int packet_id);
int store_qos2_release(struct db *db, const char *client, int packet_id);

/* Milliseconds since the epoch (CLOCK_REALTIME). */
long long store_now_ms(void);

#endif
