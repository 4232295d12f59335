/*
 * notify_queue.h - the reader side of notifications (an addition to notify.h, which only has
 * the raising side).
 *
 * sim->notify is one queue of entries; each entry waits for every reader registered when it
 * was raised (the firmware's OvmsNotify keeps one queue per reader: ovmsv3, ...).  A reader
 * takes the oldest pending entry of a type with sim_notify_peek(), and marks it read with
 * sim_notify_mark_read() once delivered (for V3: once the broker acknowledged it).
 *
 * With a state directory the queue is durable: every raised entry and every read mark is
 * appended to <dir>/notify.journal and flushed before the call returns, so pending entries
 * survive broker outages and process restarts (even SIGKILL) and are delivered once.  The
 * journal is compacted when it is opened.
 */
#ifndef SIM_NOTIFY_QUEUE_H
#define SIM_NOTIFY_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "notify/notify.h"
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

/*
 * Creates sim->notify (freed with sim_free()).  state_dir may be NULL (memory only); it is
 * created if missing.  Pending entries of a previous run are loaded; per-type ids continue
 * after the highest id seen.  Returns 0, -errno when the directory or journal cannot be used
 * (message in err), SIM_EPARSE for a corrupt journal (message with line number in err),
 * SIM_EEXIST if sim->notify already exists.
 */
int sim_notify_open(struct sim *sim, const char *state_dir, struct sbuf *err);

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

/* mp_encode(): ',' -> ';' and LF -> CR, appended to out (V3/main/ovms_utils.cpp). */
void sim_notify_mp_encode(const char *s, struct sbuf *out);

#endif
