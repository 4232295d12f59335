/*
 * queue.h - the reader side of notifications (an addition to notify.h, which only has
 * the raising side).
 *
 * sim->notify is one queue of entries; each entry waits for every reader registered when it
 * was raised (the firmware's OvmsNotify keeps one queue per reader: ovmsv3, ...).  A reader
 * takes the oldest pending entry of a type with sim_notify_peek(), and marks it read with
 * sim_notify_mark_read() once delivered (for V3: once the broker acknowledged it).
 *
 * With a state directory the queue is durable: every raised entry and every read mark is
 * appended to <dir>/notify.journal and synced to the disk before the call returns, so pending
 * entries survive broker outages and process restarts (even SIGKILL or a power loss) and are
 * delivered once.  The journal is compacted when it is opened (journal.h; the recovery rules
 * are in docs/v3.md "State directory").
 */
#ifndef SIM_NOTIFY_QUEUE_H
#define SIM_NOTIFY_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "notify/notify.h"
#include "core/diag.h"
#include "core/sbuf.h"

struct sim;

/* One queued notification.  Owned by the queue; valid until marked read by every reader. */
struct sim_notify_entry {
  enum sim_notify_type type;
  int64_t id;          /* per type, from 1 */
  int64_t created_ns;  /* simulation UTC time (sim_now()) of creation */
  char *subtype;       /* "charge.started" */
  char *text;          /* the payload */
  size_t len;          /* strlen(text) */
  uint32_t pending;    /* one bit per reader that has not read it */
};

/* The largest notification id: 2^53 - 1, the largest integer a JSON or JavaScript reader of
 * the id keeps exactly; at a million notifications a second it lasts 285 years.  Larger ids
 * in a journal are refused on load, and a raise beyond it fails with SIM_ERANGE. */
#define SIM_NOTIFY_ID_MAX INT64_C(9007199254740991)

struct notify_journal_damage; /* notify/journal.h */

struct sim_notify_opts {
  bool repair; /* start from the valid records of a journal damaged inside */
  struct notify_journal_damage *damage; /* may be NULL: what a refused journal holds */
};

/*
 * Creates sim->notify (freed with sim_free()).  state_dir may be NULL (memory only); it is
 * created if missing and locked against other processes until sim_free().  Pending entries
 * of a previous run are loaded; per-type ids continue after the highest id seen.  Warnings
 * (a dropped torn record, a migration, a repair) and errors go to d (may be NULL), with the
 * journal's path and the byte offset in the message.  o may be NULL (no repair).
 * Returns 0; -EBUSY when another process uses the state directory; SIM_EPARSE for a journal
 * damaged inside (without o->repair) or a record beyond the limits; SIM_EUNSUP for a journal
 * that is no regular file or of a newer format; -errno when the directory or the journal
 * cannot be used; SIM_EEXIST if sim->notify already exists.
 */
int sim_notify_open_opts(struct sim *sim, const char *state_dir, const struct sim_notify_opts *o,
                         struct sim_diag *d);

/* sim_notify_open_opts() without repair. */
int sim_notify_open(struct sim *sim, const char *state_dir, struct sim_diag *d);

/* Registers a reader (e.g. "ovmsv3") that receives entries raised from now on (and, for a
 * durable queue, the pending entries recorded for that reader name).  Returns the reader
 * number (0..31) or SIM_ELIMIT.  Registering the same name again returns the same number. */
int sim_notify_reader(struct sim *sim, const char *name);

/* Called after a new entry was queued for reader (optional; one callback per reader). */
typedef void (*sim_notify_fn)(void *ctx, const struct sim_notify_entry *e);
void sim_notify_set_callback(struct sim *sim, int reader, sim_notify_fn fn, void *ctx);

/* The oldest entry of type still pending for reader, or NULL. */
const struct sim_notify_entry *sim_notify_peek(struct sim *sim, int reader,
                                               enum sim_notify_type type);
/* Marks entry (type, id) read by reader; frees it once every reader has read it.
 * Returns 0, SIM_ENOTFOUND, or -errno when the journal could not record the mark (the entry
 * is marked in memory; see sim_notify_journal_error()). */
int sim_notify_mark_read(struct sim *sim, int reader, enum sim_notify_type type, int64_t id);
/* Number of entries pending for reader (all types). */
size_t sim_notify_pending(struct sim *sim, int reader);
/* Number of entries of type pending for reader. */
size_t sim_notify_pending_type(struct sim *sim, int reader, enum sim_notify_type type);

/*
 * Moves entry (type, id) aside for reader, for an entry that can never be delivered (its
 * publication failed for a reason a retry cannot mend, or it is one sim_notify_check() refuses,
 * loaded from an older journal): it is marked read, so that the entries after it flow again,
 * and with a state directory it is appended to <dir>/notify.dead as the line
 *   <type> <id> <created_ns> <subtype> <hex text> <reason>
 * (subtype and text in hex when they are not printable ASCII: "x:<hex>").  Counted in
 * sim_notify_quarantined().  Returns 0, SIM_ENOTFOUND, or -errno when a file could not be
 * written (the entry is moved aside in memory all the same).
 */
int sim_notify_quarantine(struct sim *sim, int reader, enum sim_notify_type type, int64_t id,
                          const char *reason);
/* Entries moved aside by sim_notify_quarantine() in this process. */
uint64_t sim_notify_quarantined(const struct sim *sim);

/* mp_encode(): ',' -> ';' and LF -> CR, appended to out (V3/main/ovms_utils.cpp). */
void sim_notify_mp_encode(const char *s, struct sbuf *out);

#endif
