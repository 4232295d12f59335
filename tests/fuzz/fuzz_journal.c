/*
 * fuzz_journal.c - libFuzzer target for the notification journal loader (sim/notify/journal.c
 * and the records of sim/notify/notify.c).
 *
 * The input is a notify.journal: first the pure scan (notify_journal_scan()) with a callback
 * that takes every record, whose regions must lie inside the input, in order, without
 * overlap, and whose tail flags must only mark the last regions; then the input is written to
 * a state directory (in /dev/shm when there is one, where fdatasync costs nothing) and opened
 * with sim_notify_open_opts(), without and then with repair.  An open returns 0, SIM_EPARSE or
 * SIM_EUNSUP, every refusal explains itself, and after a successful open the rewritten
 * journal opens again without a word and with the same entries pending.
 */
#include <errno.h>
#include <ev.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "model/sim.h"
#include "notify/journal.h"
#include "notify/queue.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];

static int take_all(void *ctx, const char *payload, size_t len, struct sbuf *why)
{
  (void)ctx;
  (void)why;
  if (strlen(payload) != len)
    abort();
  return 0;
}

static void check_scan(const uint8_t *data, size_t size)
{
  struct notify_journal_scan s;
  notify_journal_scan((const char *)data, size, take_all, NULL, &s);
  size_t end = 0;
  bool tail = false;
  for (size_t i = 0; i < s.n; i++) {
    const struct notify_journal_region *r = &s.v[i];
    if (r->off < end || r->len == 0 || r->off + r->len > size || r->pieces == 0 || !r->why)
      abort();
    if (tail && !r->tail)
      abort();
    tail = r->tail;
    end = r->off + r->len;
  }
  notify_journal_scan_cleanup(&s);
}

/* Opens the state directory; returns the result and the number of pending entries. */
static int open_queue(bool repair, size_t *pending, size_t *messages)
{
  struct ev_loop *ev = ev_loop_new(EVFLAG_AUTO);
  struct sim_loop *loop = sim_loop_new(ev, SIM_CLOCK_FAST, 1.0, 0);
  struct sim *sim = sim_new(loop, NULL, 1);
  struct sim_diag d = SIM_DIAG_INIT;
  struct sim_notify_opts o = {repair, NULL};
  int rc = sim_notify_open_opts(sim, dir, &o, &d);
  if (rc != 0 && rc != SIM_EPARSE && rc != SIM_EUNSUP)
    abort();
  if (rc < 0 && d.errors == 0)
    abort();
  *messages = d.n;
  *pending = 0;
  if (rc == 0) {
    static const char *const readers[] = {"ovmsv3", "other", "print"};
    for (size_t i = 0; i < 3; i++)
      *pending += sim_notify_pending(sim, sim_notify_reader(sim, readers[i]));
  }
  sim_diag_cleanup(&d);
  sim_free(sim);
  sim_loop_free(loop);
  ev_loop_destroy(ev);
  return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  check_scan(data, size);
  if (!dir[0]) {
    snprintf(dir, sizeof(dir), "%s/fuzz-journal-%ld",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", (long)getpid());
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
      abort();
  }
  char path[128], quarantine[160];
  snprintf(path, sizeof(path), "%s/notify.journal", dir);
  snprintf(quarantine, sizeof(quarantine), "%s.quarantine", path);
  unlink(quarantine);
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
    abort();
  size_t pending, again, messages;
  int rc = open_queue(false, &pending, &messages);
  if (rc == SIM_EPARSE)
    rc = open_queue(true, &pending, &messages);
  if (rc == 0) {
    if (open_queue(false, &again, &messages) != 0 || messages != 0 || again != pending)
      abort();
  }
  return 0;
}
