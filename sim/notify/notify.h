/*
 * notify.h - notifications (OvmsNotify, V3/main/ovms_notify.cpp; the firmware's
 * docs/source/userguide/notifications.rst): info, alert, error, data, stream.
 *
 * Raising a notification queues it for every reader (Server V3, the --print output).
 * Entries carry a per-type id from 1 and a creation time from the simulation clock.  The
 * queue is durable when a state directory is configured: entries survive restarts of the
 * process and are delivered once (DESIGN.md "Nothing lost").  info, alert and error raise the
 * event notify.<type>.<subtype>.
 */
#ifndef SIM_NOTIFY_H
#define SIM_NOTIFY_H

#include <stdint.h>

struct sim;
struct sbuf;

enum sim_notify_type { NOTIFY_INFO, NOTIFY_ALERT, NOTIFY_ERROR, NOTIFY_DATA, NOTIFY_STREAM };

/* "info", "alert", ... and back (returns 0 or SIM_ENOTFOUND). */
const char *sim_notify_type_name(enum sim_notify_type t);
int sim_notify_type_parse(const char *s, enum sim_notify_type *out);

/* The longest subtype, in bytes.  The firmware's own subtypes are under 40 bytes; the limit
 * keeps every topic far below MQTT's 65,535 bytes whatever the vehicle id and prefix. */
#define SIM_NOTIFY_SUBTYPE_MAX 128
/* The longest text, in bytes (1 MiB).  What V3 sends is limited further by the profile
 * (notify.report size: 1,024 or 65,535 bytes). */
#define SIM_NOTIFY_TEXT_MAX (1024 * 1024)

/*
 * Checks a notification before it is raised: the subtype is 1..SIM_NOTIFY_SUBTYPE_MAX bytes
 * of UTF-8 without a space, a control character, '/', '+' or '#' (it becomes part of an MQTT
 * topic: MQTT 3.1.1 sections 1.5.3 and 4.7); the text is at most SIM_NOTIFY_TEXT_MAX bytes of
 * UTF-8 (text may be NULL).  Returns 0, or SIM_EPARSE / SIM_ELIMIT with the reason appended to
 * why (may be NULL), e.g. "the subtype is 70000 bytes long (at most 128)".
 */
int sim_notify_check(const char *subtype, const char *text, struct sbuf *why);

/*
 * Raises a notification of subtype (lower case, dotted, e.g. "charge.started") with text
 * (copied).  Returns the entry id (> 0) or a negative error: SIM_EPARSE / SIM_ELIMIT for a
 * subtype or text sim_notify_check() refuses; -errno when the state directory's journal could not record it (the entry is
 * still queued and delivered by this process, but would not survive a restart; see
 * sim_notify_journal_error()).
 */
int64_t sim_notify_raise(struct sim *sim, enum sim_notify_type type, const char *subtype,
                         const char *text);

/* The first journal write error of the state directory (-errno), or 0 while every entry and
 * read mark was recorded durably (or no state directory is used). */
int sim_notify_journal_error(const struct sim *sim);

/* NotifyErrorCode(): subtype "code", payload "<vehicletype>,<code>,<data>"; repeats of the
 * same code within 120 s are suppressed (returns 0 then). */
int64_t sim_notify_error_code(struct sim *sim, uint32_t code, uint32_t data);

#endif
