/*
 * journal.h - the file under the notification queue: <state-dir>/notify.journal.
 *
 * The queue (notify.c) decides what a record says; this module decides how records are
 * framed, checked, recovered after a crash, compacted and locked (docs/v3.md "State
 * directory" has the rules for users).  A record's payload is one line of text without a line
 * end ("N data 1 ...", "R ovmsv3 data 1", "I info 5"); the file is
 *
 *   ovms-sim notify journal 2\n                       the header: format version 2
 *   <len> <crc> <payload>\n                           one record, repeated
 *
 * <len> is the payload's length in bytes and <crc> its CRC-32C (Castagnoli, RFC 3720 appendix
 * B.4), both as 8 lower-case hex digits.  Version 1 is the unframed line format of earlier
 * releases (each payload alone on its line); it is read and rewritten as version 2 on open.
 *
 * Durability: a record counts as written once notify_journal_append() returned 0, which is
 * after fdatasync(); compaction writes a new file, syncs it, renames it over the journal and
 * syncs the directory, so a crash at any point leaves the old or the new journal, whole.
 */
#ifndef SIM_NOTIFY_JOURNAL_H
#define SIM_NOTIFY_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/diag.h"
#include "core/sbuf.h"

#define NOTIFY_JOURNAL_NAME "notify.journal"
#define NOTIFY_JOURNAL_VERSION 2
/* The largest payload a record may have (a notification text, hex-encoded, and its fields). */
#define NOTIFY_JOURNAL_MAX_RECORD (16u << 20)

/* CRC-32C (Castagnoli polynomial 0x1EDC6F41, reflected, initial and final value 0xFFFFFFFF)
 * of n bytes, continuing from crc (0 to start).  Table-driven. */
uint32_t notify_crc32c(uint32_t crc, const void *data, size_t n);

/* ---- reading: pure, bytes in, records out ----------------------------------------------------- */

/*
 * Called once per record found, in file order, with its payload (NUL-terminated, len bytes,
 * no line end) and its byte offset in the file.  Returns 0 when the record was taken,
 * SIM_EPARSE when it is not a record at all (for version 1: a damaged line), SIM_ERANGE when
 * it is well-formed but cannot be taken (an id beyond the limit); a rejection may say why in
 * why.  A rejected record has no effect.
 */
typedef int (*notify_journal_record_fn)(void *ctx, const char *payload, size_t len,
                                        struct sbuf *why);

enum notify_journal_region_kind {
  NOTIFY_JOURNAL_DAMAGED, /* bytes that are no record: torn, overwritten, zeros, a bad CRC */
  NOTIFY_JOURNAL_INVALID, /* a whole record the queue refused (SIM_ERANGE, or SIM_EPARSE of a
                             record whose CRC is right) */
};

/* A run of bytes of the file that gave no record. */
struct notify_journal_region {
  enum notify_journal_region_kind kind;
  size_t off, len;  /* in the file */
  size_t pieces;    /* how many records (lines) it seems to have held, at least 1 */
  bool tail;        /* no record follows it: the end of the file */
  char *why;        /* owned; what was wrong */
};

/* What notify_journal_scan() found.  Cleaned up with notify_journal_scan_cleanup(). */
struct notify_journal_scan {
  int version;          /* 0: empty file, 1: line format, 2: framed records */
  size_t records;       /* records taken by the callback */
  bool bom, crlf, blank; /* a UTF-8 BOM, CRLF line ends, blank lines were seen (and skipped) */
  struct notify_journal_region *v;
  size_t n, cap;
};

/*
 * Reads the journal bytes buf[0..len) (need not be NUL-terminated), giving each record to fn
 * and recording every region that gave none.  A damaged run is resynchronised on the next
 * position where a whole record with a matching CRC (version 2) or the next line (version 1)
 * begins.  Never fails: everything that is not a record ends up in out->v.
 */
void notify_journal_scan(const char *buf, size_t len, notify_journal_record_fn fn, void *ctx,
                         struct notify_journal_scan *out);
void notify_journal_scan_cleanup(struct notify_journal_scan *s);

/* Appends the version-2 framing of payload (len bytes, no line end) to out. */
void notify_journal_frame(const char *payload, size_t len, struct sbuf *out);

/* ---- the file --------------------------------------------------------------------------------- */

struct notify_journal;

/* Filled when an open fails on a journal damaged inside, for the caller's advice (a repair
 * would keep `records` valid records and move the damaged bytes to `quarantine`). */
struct notify_journal_damage {
  bool inside;             /* the open refused a journal damaged before valid records */
  size_t entry;            /* the index in d of the error that says so */
  size_t records;          /* the valid records a repair keeps */
  struct sbuf quarantine;  /* where a repair moves the damaged bytes (owned: sbuf_free) */
};

struct notify_journal_opts {
  bool repair; /* keep the valid records of a journal damaged inside, quarantine the rest */
  struct notify_journal_damage *damage; /* may be NULL; see above */
};

/*
 * Opens the journal of state directory dir (created, mode 0700, if missing): locks the
 * directory against a second process (flock on <dir>/lock, which holds the owner's pid),
 * removes what an interrupted compaction left, reads notify.journal (if any) through
 * notify_journal_scan() with fn, and applies the recovery rules:
 *   - a damaged region at the end is dropped, with a warning naming its offset;
 *   - a damaged or invalid region before other records fails the open (SIM_EPARSE) unless
 *     opts->repair: then its bytes are appended to notify.journal.quarantine, and a warning
 *     says how many records were kept and dropped; without it *opts->damage (when given)
 *     says what a repair would keep;
 *   - a version-1 journal is noted for migration (a warning).
 * Problems are recorded in d (file = the journal's path, line = 0, the offset in the message).
 * The journal is not written until notify_journal_rewrite().  *out is owned by the caller
 * (notify_journal_close()).  Returns 0; -EBUSY when another process holds the lock; -errno or
 * SIM_EUNSUP (not a regular file: a FIFO, a device, a symlink to one) when the directory or the
 * file cannot be used; SIM_EPARSE as said.  *out is NULL on failure.
 */
int notify_journal_open(struct notify_journal **out, const char *dir,
                        const struct notify_journal_opts *opts, notify_journal_record_fn fn,
                        void *ctx, struct sim_diag *d);

/*
 * Compaction: replaces the journal by one holding exactly the payloads of records (each a
 * payload followed by '\n'), crash-safe (write notify.journal.tmp, fdatasync, rename, fsync the
 * directory), then opens it for appending.  Returns 0 or -errno (the old journal is then
 * unchanged; the message is in d).
 */
int notify_journal_rewrite(struct notify_journal *j, const struct sbuf *records,
                           struct sim_diag *d);

/*
 * Appends one record (payload of len bytes, no line end) and syncs it: when 0 is returned the
 * record survives a crash.  On a failed or short write the file is cut back to its last whole
 * record, so later appends never follow a torn one.  Returns 0 or -errno.
 */
int notify_journal_append(struct notify_journal *j, const char *payload, size_t len);

/* The journal's path ("<dir>/notify.journal"); valid until notify_journal_close(). */
const char *notify_journal_path(const struct notify_journal *j);

/*
 * The dead-letter file: appends line (len bytes, ending in '\n') to <dir>/notify.dead and
 * syncs it.  It holds notifications that could not be delivered and were moved aside
 * (sim_notify_quarantine()); nothing reads it back.  Returns 0 or -errno.
 */
int notify_journal_dead(struct notify_journal *j, const char *line, size_t len);

/* Closes the journal and releases the lock.  j may be NULL. */
void notify_journal_close(struct notify_journal *j);

/*
 * Test hook, not for production use: when the environment variable OVMS_SIM_JOURNAL_CRASH is
 * "N" or "N:K" when the journal is opened, the Nth journal step of this process (each write,
 * sync and rename of compaction and appends counts as one step, from 1) does not complete:
 * a write writes only its first K bytes (default: half), then the process ends with
 * _exit(NOTIFY_JOURNAL_CRASH_EXIT), as if killed at that point.  The crash tests
 * (tests/integration/test_notify_crash.c) use it.
 */
#define NOTIFY_JOURNAL_CRASH_EXIT 86

#endif
