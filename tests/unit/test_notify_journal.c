/*
 * test_notify_journal.c - a state directory that cannot be written (here: a file size limit,
 * as on a full disk) is never a silent loss: sim_notify_raise() returns the error, the entry
 * stays queued for delivery by this process, and sim_notify_journal_error() reports it.
 */
#include "testutil.h"

#include <errno.h>
#include <ev.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/error.h"
#include "notify/queue.h"
#include "model/sim.h"
#include "core/xalloc.h"

/* Runs in a child (the file size limit must not outlive the test).  Exit 0 = as expected. */
static int child(const char *dir)
{
  signal(SIGXFSZ, SIG_IGN); /* writes past the limit then fail with EFBIG */
  struct rlimit rl = {2048, 2048};
  if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
    return 10;
  struct ev_loop *ev = ev_loop_new(EVFLAG_AUTO);
  struct sim_loop *loop = sim_loop_new(ev, SIM_CLOCK_FAST, 1, 0);
  struct sim *sim = sim_new(loop, NULL, 1);
  if (sim_notify_open(sim, dir, NULL) < 0)
    return 11;
  int reader = sim_notify_reader(sim, "ovmsv3");
  if (reader < 0)
    return 12;
  char text[200];
  memset(text, 'x', sizeof(text) - 1);
  text[sizeof(text) - 1] = '\0';
  int64_t rc = 0;
  int raised = 0;
  while (raised < 100 && (rc = sim_notify_raise(sim, NOTIFY_INFO, "usr.test", text)) > 0)
    raised++;
  if (rc != -EFBIG || raised == 0 || raised == 100)
    return 13;
  if (sim_notify_journal_error(sim) != -EFBIG)
    return 14;
  /* every entry, the one that failed to be journaled included, is still pending */
  int pending = 0;
  const struct sim_notify_entry *e;
  while ((e = sim_notify_peek(sim, reader, NOTIFY_INFO))) {
    pending++;
    sim_notify_mark_read(sim, reader, NOTIFY_INFO, e->id);
  }
  if (pending != raised + 1)
    return 15;
  sim_free(sim);
  sim_loop_free(loop);
  ev_loop_destroy(ev);
  return 0;
}

static void test_full_disk(void **state)
{
  char dir[] = "/tmp/ovms-sim-journal-XXXXXX";
  assert_non_null(mkdtemp(dir));
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0)
    _exit(child(dir));
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  char path[256];
  snprintf(path, sizeof(path), "%s/notify.journal", dir);
  unlink(path);
  snprintf(path, sizeof(path), "%s/notify.journal.tmp", dir);
  unlink(path);
  rmdir(dir);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_full_disk),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
