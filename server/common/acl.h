/*
 * acl.h - the access rules of ovms_auth.so as a pure function, and the parser of
 * notification topics ovms-notifyd stores.
 *
 * Rules (the OVMS server's /mqapi/acl: "allowed iff the topic starts with ovms/<username>/";
 * the 2018 design post's per-user namespace):
 *   role "user":     read, write and subscribe under ovms/<user>/ only (a subscription filter
 *                    must name the user literally: ovms/<user>/#, ovms/<user>/+/metric/#, ...);
 *   role "notifier": read and subscribe ovms/+/+/notify/# (and filters inside it), write
 *                    nothing.
 * Unsubscribing is always allowed.  A user name holding '/', '+' or '#' (which could not name
 * one tree) or an empty one is allowed nothing.
 */
#ifndef SRV_ACL_H
#define SRV_ACL_H

#include <stdbool.h>
#include <stddef.h>

/* The access bits, with the values of mosquitto_plugin.h's MOSQ_ACL_*. */
#define ACL_READ 0x01
#define ACL_WRITE 0x02
#define ACL_SUBSCRIBE 0x04
#define ACL_UNSUBSCRIBE 0x08

enum acl_role { ACL_ROLE_USER, ACL_ROLE_NOTIFIER };

/* Maps a users.role value ("user", "notifier"); unknown roles are plain users. */
enum acl_role acl_role_parse(const char *role);

/*
 * Decides access to topic (a topic name for READ/WRITE, a filter for SUBSCRIBE) by user in
 * role.  Returns true to allow; on false *reason (may be NULL) gets a static text.
 */
bool acl_allows(const char *user, enum acl_role role, const char *topic, int access,
                const char **reason);

/*
 * A notification topic ovms/<user>/<vehicle>/notify/<type>/<subtype path>[/<id>/<-age>]
 * split into parts (pointers into buf, a copy the caller provides of at least strlen(topic)+1
 * bytes).  subtype is the path with '/' turned back into '.' (the firmware's subtype name).
 * For type "data" the last two levels are the record id and its negative age in seconds
 * (spec: notify/data/<subtype path>/<id>/<-age>); has_msgid says both parsed.
 */
struct notify_topic {
  const char *user, *vehicle, *type, *subtype;
  bool has_msgid;
  long long msgid;
  long long age_s;
};

/*
 * Parses topic.  Returns 0 when well-formed; SRV_EPROTO when not, with what could be taken
 * filled in (missing parts are "", no msgid) so the message can still be stored.
 */
int notify_topic_parse(const char *topic, char *buf, size_t cap, struct notify_topic *out);

#endif
