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

enum sim_notify_type { NOTIFY_INFO, NOTIFY_ALERT, NOTIFY_ERROR, NOTIFY_DATA, NOTIFY_STREAM };

/* "info", "alert", ... and back (returns 0 or SIM_ENOTFOUND). */
const char *sim_notify_type_name(enum sim_notify_type t);
int sim_notify_type_parse(const char *s, enum sim_notify_type *out);

/*
 * Raises a notification of subtype (lower case, dotted, e.g. "charge.started") with text
 * (copied).  Returns the entry id (> 0) or a negative error: SIM_EPARSE for an invalid
 * subtype; -errno when the state directory's journal could not record it (the entry is
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
