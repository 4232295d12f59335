/*
 * test_notify_journal.c - the state directory's journal (sim/notify/journal.c): CRC-32C
 * against the test vectors of RFC 3720 appendix B.4; every kind of damage a crash or an
 * editor leaves (torn tail, zeros, a flipped byte inside, blank lines, CRLF, a BOM, NULs
 * inside, a damaged header) with its message and outcome, with and without --state-repair;
 * the migration of a journal of the earlier line format; what is refused (a second process
 * on the directory, a FIFO or a symlink to a device, a newer format, ids beyond the limit);
 * crash injection through the OVMS_SIM_JOURNAL_CRASH hook at every step of compaction and of
 * appends, each followed by a start that must succeed and keep every acknowledged record;
 * and a directory that cannot be written (a file size limit, as on a full disk), which is
 * never a silent loss: sim_notify_raise() returns the error, the entry stays queued for
 * delivery by this process, and sim_notify_journal_error() reports it.
 */
#include "testutil.h"

#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/array.h"
#include "core/error.h"
#include "notify/journal.h"
#include "notify/queue.h"
#include "model/sim.h"
#include "core/xalloc.h"

struct env {
  struct ev_loop *ev;
  struct sim_loop *loop;
  struct sim *sim;
  struct sim_diag d;
  struct sbuf msgs; /* every diagnostic, formatted, one a line */
  struct notify_journal_damage damage; /* what a refused journal holds */
  int reader;
};

/* Opens the queue on dir; returns the result, the messages in e->msgs. */
static int env_open(struct env *e, const char *dir, bool repair)
{
  e->ev = ev_loop_new(EVFLAG_AUTO);
  e->loop = sim_loop_new(e->ev, SIM_CLOCK_FAST, 1.0, INT64_C(1717228800) * SIM_NS_PER_SEC);
  e->sim = sim_new(e->loop, NULL, 1);
  sim_diag_init(&e->d);
  e->msgs = (struct sbuf)SBUF_INIT;
  e->damage = (struct notify_journal_damage){.quarantine = SBUF_INIT};
  struct sim_notify_opts o = {repair, &e->damage};
  int rc = sim_notify_open_opts(e->sim, dir, &o, &e->d);
  for (size_t i = 0; i < e->d.n; i++) {
    sim_diag_format(&e->d.v[i], &e->msgs);
    sbuf_addc(&e->msgs, '\n');
  }
  e->reader = rc == 0 ? sim_notify_reader(e->sim, "ovmsv3") : -1;
  return rc;
}

static void env_close(struct env *e)
{
  sim_free(e->sim);
  sim_loop_free(e->loop);
  ev_loop_destroy(e->ev);
  sim_diag_cleanup(&e->d);
  sbuf_free(&e->msgs);
  sbuf_free(&e->damage.quarantine);
}

static char *new_dir(void)
{
  char *d = xstrdup("/tmp/ovms-sim-journal-XXXXXX");
  assert_non_null(mkdtemp(d));
  return d;
}

static void rmrf(char *d)
{
  char cmd[300];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
  assert_int_equal(system(cmd), 0);
  free(d);
}

static const char *jpath(const char *dir, const char *suffix)
{
  static char p[300];
  snprintf(p, sizeof(p), "%s/notify.journal%s", dir, suffix);
  return p;
}

static void put_file(const char *path, const char *data, size_t n)
{
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(data, 1, n, f), n);
  assert_int_equal(fclose(f), 0);
}

/*
 * The base journal: data 1..3 and info 1 raised, info 1 read.  Records (after the header):
 * N data 1, N data 2, N data 3, N info 1, R ovmsv3 info 1.  Pending: the three data entries.
 * Returns the file's bytes in b.
 */
static void make_base(const char *dir, struct sbuf *b)
{
  struct env e;
  assert_int_equal(env_open(&e, dir, false), 0);
  assert_int_equal(sim_notify_raise(e.sim, NOTIFY_DATA, "log.test", "one"), 1);
  assert_int_equal(sim_notify_raise(e.sim, NOTIFY_DATA, "log.test", "two\nlines"), 2);
  assert_int_equal(sim_notify_raise(e.sim, NOTIFY_DATA, "log.test", "three"), 3);
  assert_int_equal(sim_notify_raise(e.sim, NOTIFY_INFO, "x.y", "info"), 1);
  assert_int_equal(sim_notify_mark_read(e.sim, e.reader, NOTIFY_INFO, 1), 0);
  env_close(&e);
  size_t n;
  char *s = test_read_file(jpath(dir, ""), &n);
  sbuf_reset(b);
  sbuf_add(b, s, n);
  free(s);
}

/* Offset of the start of line k (0 = the header) of b. */
static size_t line_off(const struct sbuf *b, int k)
{
  size_t off = 0;
  for (int i = 0; i < k; i++)
    off = (size_t)((const char *)memchr(b->p + off, '\n', b->len - off) - b->p) + 1;
  return off;
}

/* ---- CRC-32C ------------------------------------------------------------------------------------ */

static void test_crc32c(void **state)
{
  (void)state;
  unsigned char buf[48];
  /* RFC 3720 appendix B.4 (the CRC bytes there are listed least significant first) */
  memset(buf, 0, 32);
  assert_int_equal(notify_crc32c(0, buf, 32), 0x8A9136AAu);
  memset(buf, 0xff, 32);
  assert_int_equal(notify_crc32c(0, buf, 32), 0x62A8AB43u);
  for (int i = 0; i < 32; i++)
    buf[i] = (unsigned char)i;
  assert_int_equal(notify_crc32c(0, buf, 32), 0x46DD794Eu);
  for (int i = 0; i < 32; i++)
    buf[i] = (unsigned char)(31 - i);
  assert_int_equal(notify_crc32c(0, buf, 32), 0x113FDB5Cu);
  static const unsigned char iscsi_read[48] = {
    0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
    0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
  assert_int_equal(notify_crc32c(0, iscsi_read, 48), 0xD9963A56u);
  /* the common check value, and continuing a CRC over pieces */
  assert_int_equal(notify_crc32c(0, "123456789", 9), 0xE3069283u);
  assert_int_equal(notify_crc32c(notify_crc32c(0, "1234", 4), "56789", 5), 0xE3069283u);
  assert_int_equal(notify_crc32c(0, "", 0), 0);
}

/* ---- damage, one case a row ------------------------------------------------------------------ */

enum mutation {
  M_TORN_TAIL,     /* half a record appended */
  M_ZERO_TAIL,     /* 4096 zero bytes appended (an append after a power loss) */
  M_GARBAGE_TAIL,  /* a line of garbage appended */
  M_FLIP_MIDDLE,   /* one byte of record 2 (N data 2) changed */
  M_ZEROS_MIDDLE,  /* record 2 overwritten with zeros */
  M_BLANK_LINES,   /* blank lines between the records */
  M_CRLF,          /* every LF as CR LF */
  M_BOM,           /* a UTF-8 BOM in front */
  M_HEADER,        /* a byte of the header changed */
  M_NEWER,         /* the header of a version 3 */
};

struct damage_case {
  const char *name;
  enum mutation m;
  int rc;             /* without --state-repair */
  const char *msg;    /* in the messages, "%zu" = the damaged offset (optional) */
  size_t pending;     /* data entries pending after the start that succeeds */
  int repair_rc;      /* with --state-repair */
  const char *repair_msg;
};

static const struct damage_case damage_cases[] = {
  {"torn tail", M_TORN_TAIL, 0, "offset %zu: dropped the damaged last record", 3, 0, NULL},
  {"zeros at the tail", M_ZERO_TAIL, 0, "offset %zu: dropped the damaged last record (4096 "
   "bytes: zero bytes", 3, 0, NULL},
  {"garbage line at the tail", M_GARBAGE_TAIL, 0, "offset %zu: dropped the damaged last", 3, 0,
   NULL},
  {"flipped byte inside", M_FLIP_MIDDLE, SIM_EPARSE,
   "offset %zu: a damaged record (bad length, line end or CRC)", 2, 0,
   "repaired: kept 4 records, dropped 1 damaged"},
  {"zeros inside", M_ZEROS_MIDDLE, SIM_EPARSE, "offset %zu: zero bytes", 2, 0,
   "repaired: kept 4 records, dropped 1 damaged"},
  {"blank lines", M_BLANK_LINES, 0, NULL, 3, 0, NULL},
  {"CRLF", M_CRLF, 0, NULL, 3, 0, NULL},
  {"BOM", M_BOM, 0, NULL, 3, 0, NULL},
  {"damaged header", M_HEADER, SIM_EPARSE, "offset 0: a damaged journal header", 3, 0,
   "repaired: kept 5 records"},
  {"newer format", M_NEWER, SIM_EUNSUP, "journal format 3 is newer", 0, SIM_EUNSUP, NULL},
};

/* Applies m to the base journal b; *off is the damaged offset. */
static void mutate(const struct sbuf *b, enum mutation m, struct sbuf *out, size_t *off)
{
  sbuf_reset(out);
  size_t r2 = line_off(b, 2), r3 = line_off(b, 3);
  *off = b->len;
  switch (m) {
  case M_TORN_TAIL: {
    struct sbuf rec = SBUF_INIT;
    notify_journal_frame("N data 4 0 ovmsv3 log.test 41", 29, &rec);
    sbuf_add(out, b->p, b->len);
    sbuf_add(out, rec.p, rec.len / 2);
    sbuf_free(&rec);
    break;
  }
  case M_ZERO_TAIL:
    sbuf_add(out, b->p, b->len);
    for (int i = 0; i < 4096; i++)
      sbuf_addc(out, '\0');
    break;
  case M_GARBAGE_TAIL:
    sbuf_add(out, b->p, b->len);
    sbuf_adds(out, "0000zz garbage\n");
    break;
  case M_FLIP_MIDDLE:
    sbuf_add(out, b->p, b->len);
    out->p[r2 + 30] ^= 0x01;
    *off = r2;
    break;
  case M_ZEROS_MIDDLE:
    sbuf_add(out, b->p, b->len);
    memset(out->p + r2, 0, r3 - r2);
    *off = r2;
    break;
  case M_BLANK_LINES:
    for (size_t i = 0; i < b->len; i++) {
      sbuf_addc(out, b->p[i]);
      if (b->p[i] == '\n')
        sbuf_adds(out, i % 2 ? "\n" : "\r\n\n");
    }
    break;
  case M_CRLF:
    for (size_t i = 0; i < b->len; i++) {
      if (b->p[i] == '\n')
        sbuf_addc(out, '\r');
      sbuf_addc(out, b->p[i]);
    }
    break;
  case M_BOM:
    sbuf_adds(out, "\xef\xbb\xbf");
    sbuf_add(out, b->p, b->len);
    break;
  case M_HEADER:
    sbuf_add(out, b->p, b->len);
    out->p[3] = 'X';
    *off = 0;
    break;
  case M_NEWER:
    sbuf_adds(out, "ovms-sim notify journal 3\n");
    sbuf_add(out, b->p + line_off(b, 1), b->len - line_off(b, 1));
    break;
  }
}

static void test_damage(void **state)
{
  (void)state;
  struct sbuf base = SBUF_INIT, bad = SBUF_INIT, want = SBUF_INIT;
  for (size_t k = 0; k < ARRAY_SIZE(damage_cases); k++) {
    const struct damage_case *c = &damage_cases[k];
    char *dir = new_dir();
    make_base(dir, &base);
    size_t off;
    mutate(&base, c->m, &bad, &off);
    put_file(jpath(dir, ""), bad.p, bad.len);
    sbuf_reset(&want);
    if (c->msg) {
      /* "%zu" in the message is the offset */
      const char *pc = strstr(c->msg, "%zu");
      sbuf_add(&want, c->msg, pc ? (size_t)(pc - c->msg) : strlen(c->msg));
      if (pc) {
        sbuf_printf(&want, "%zu", off);
        sbuf_adds(&want, pc + 3);
      }
    }
    struct env e;
    int rc = env_open(&e, dir, false);
    if (rc != c->rc || (c->msg && !strstr(sbuf_str(&e.msgs), want.p)) ||
        (!c->msg && e.msgs.len))
      fail_msg("%s: rc %d (want %d), messages:\n%s(want \"%s\")", c->name, rc, c->rc,
               sbuf_str(&e.msgs), sbuf_str(&want));
    if (rc == SIM_EPARSE) {
      assert_true(e.damage.inside);
      /* the library says what a repair keeps; naming the option is the program's part */
      assert_null(strstr(sbuf_str(&e.msgs), "--"));
      assert_true(e.damage.entry < e.d.n);
      assert_string_equal(e.d.v[e.damage.entry].msg,
                          "the journal is damaged inside; nothing was changed.");
      assert_non_null(strstr(sbuf_str(&e.damage.quarantine), "notify.journal.quarantine"));
    }
    if (rc == 0) {
      if (sim_notify_pending(e.sim, e.reader) != c->pending)
        fail_msg("%s: %zu pending", c->name, sim_notify_pending(e.sim, e.reader));
    }
    env_close(&e);
    if (rc < 0) {
      /* a refused start changes nothing */
      size_t n;
      char *now = test_read_file(jpath(dir, ""), &n);
      assert_true(n == bad.len && !memcmp(now, bad.p, n));
      free(now);
      rc = env_open(&e, dir, true);
      if (rc != c->repair_rc ||
          (c->repair_msg && !strstr(sbuf_str(&e.msgs), c->repair_msg)))
        fail_msg("%s: repair rc %d, messages:\n%s", c->name, rc, sbuf_str(&e.msgs));
      if (rc == 0) {
        if (sim_notify_pending(e.sim, e.reader) != c->pending)
          fail_msg("%s: %zu pending after repair", c->name,
                   sim_notify_pending(e.sim, e.reader));
        /* the damaged bytes are in the quarantine file, with their offset */
        char *q = test_read_file(jpath(dir, ".quarantine"), NULL);
        sbuf_reset(&want);
        sbuf_printf(&want, "offset %zu,", off);
        assert_non_null(strstr(q, want.p));
        free(q);
      }
      env_close(&e);
    }
    if (rc == 0) {
      /* the journal was rewritten whole: the next start says nothing */
      assert_int_equal(env_open(&e, dir, false), 0);
      if (e.msgs.len)
        fail_msg("%s: second start: %s", c->name, sbuf_str(&e.msgs));
      assert_int_equal(sim_notify_pending(e.sim, e.reader), c->pending);
      env_close(&e);
    }
    rmrf(dir);
  }
  sbuf_free(&base);
  sbuf_free(&bad);
  sbuf_free(&want);
}

/* ---- the earlier line format ------------------------------------------------------------------ */

static void test_migration(void **state)
{
  (void)state;
  char *dir = new_dir();
  /* as journals of the line format were written, with what editors and crashes add */
  static const char v1[] =
      "\xef\xbb\xbf"
      "I info 4\n"
      "N data 1 1717228800000000000 ovmsv3 log.trip 6f6e65\r\n"
      "\n"
      "N data 2 1717228800000000000 ovmsv3,other log.trip -\n"
      "N info 5 1717228800000000000 ovmsv3 x.y 6869\n"
      "R ovmsv3 data 1\n"
      "  \n"
      "N data 3 1717228800000000000 ovmsv3 log.tr"; /* torn */
  put_file(jpath(dir, ""), v1, sizeof(v1) - 1);
  struct env e;
  assert_int_equal(env_open(&e, dir, false), 0);
  assert_non_null(strstr(sbuf_str(&e.msgs), "migrated 5 records from journal format 1"));
  assert_non_null(strstr(sbuf_str(&e.msgs), "dropped the damaged last record"));
  assert_int_equal(sim_notify_pending(e.sim, e.reader), 2); /* data 2, info 5 */
  const struct sim_notify_entry *x = sim_notify_peek(e.sim, e.reader, NOTIFY_DATA);
  assert_int_equal(x->id, 2);
  assert_string_equal(x->text, "");
  assert_string_equal(sim_notify_peek(e.sim, e.reader, NOTIFY_INFO)->text, "hi");
  assert_int_equal(sim_notify_raise(e.sim, NOTIFY_INFO, "x.y", "next"), 6);
  env_close(&e);
  char *now = test_read_file(jpath(dir, ""), NULL);
  assert_true(!strncmp(now, "ovms-sim notify journal 2\n", 26));
  free(now);
  /* the other reader still waits for data 2 */
  assert_int_equal(env_open(&e, dir, false), 0);
  assert_int_equal(e.msgs.len, 0);
  int other = sim_notify_reader(e.sim, "other");
  assert_int_equal(sim_notify_pending(e.sim, other), 1);
  env_close(&e);

  /* a damaged line inside a line-format journal stops the start, a repair keeps the rest */
  static const char v1bad[] = "N data 1 0 ovmsv3 log.trip 41\n"
                              "N data 2 0 ovmsv3 log.trip 4\n" /* odd hex */
                              "N data 3 0 ovmsv3 log.trip 43\n";
  put_file(jpath(dir, ""), v1bad, sizeof(v1bad) - 1);
  assert_int_equal(env_open(&e, dir, false), SIM_EPARSE);
  assert_non_null(strstr(sbuf_str(&e.msgs), "offset 30: not a journal record (29 bytes) before "
                                            "valid records"));
  env_close(&e);
  assert_int_equal(env_open(&e, dir, true), 0);
  assert_non_null(strstr(sbuf_str(&e.msgs), "repaired: kept 2 records, dropped 1 damaged "
                                            "(29 bytes, moved to"));
  assert_int_equal(sim_notify_pending(e.sim, e.reader), 2);
  env_close(&e);
  rmrf(dir);
}

/* ---- what is refused ----------------------------------------------------------------------------- */

static void test_ids_limit(void **state)
{
  (void)state;
  static const struct {
    const char *journal;
    int rc;
  } cases[] = {
    {"I info 9223372036854775807\n", SIM_EPARSE},
    {"I info 99999999999999999999\n", SIM_EPARSE},
    {"N data 9007199254740992 0 ovmsv3 log.trip 41\n", SIM_EPARSE},
    {"I info 9007199254740991\n", 0},
  };
  for (size_t k = 0; k < ARRAY_SIZE(cases); k++) {
    char *dir = new_dir();
    put_file(jpath(dir, ""), cases[k].journal, strlen(cases[k].journal));
    struct env e;
    int rc = env_open(&e, dir, false);
    if (rc != cases[k].rc)
      fail_msg("%s: rc %d: %s", cases[k].journal, rc, sbuf_str(&e.msgs));
    if (rc < 0)
      assert_non_null(strstr(sbuf_str(&e.msgs), "offset 0: id "));
    else /* the last id: a raise is refused, not wrapped */
      assert_int_equal(sim_notify_raise(e.sim, NOTIFY_INFO, "x.y", "z"), SIM_ERANGE);
    env_close(&e);
    rmrf(dir);
  }
}

static void test_refused_files(void **state)
{
  (void)state;
  char *dir = new_dir();
  struct env e;
  /* a FIFO (opening it for reading would block forever) */
  assert_int_equal(mkfifo(jpath(dir, ""), 0600), 0);
  assert_int_equal(env_open(&e, dir, false), SIM_EUNSUP);
  assert_non_null(strstr(sbuf_str(&e.msgs), "notify.journal: error: not a regular file"));
  env_close(&e);
  unlink(jpath(dir, ""));
  /* a symlink to a device */
  assert_int_equal(symlink("/dev/zero", jpath(dir, "")), 0);
  assert_int_equal(env_open(&e, dir, false), SIM_EUNSUP);
  assert_non_null(strstr(sbuf_str(&e.msgs), "not a regular file"));
  env_close(&e);
  unlink(jpath(dir, ""));
  /* a state directory that is a file */
  char file[300];
  snprintf(file, sizeof(file), "%s/plain", dir);
  put_file(file, "x", 1);
  assert_int_equal(env_open(&e, file, false), -ENOTDIR);
  env_close(&e);
  rmrf(dir);
}

static void test_second_process(void **state)
{
  (void)state;
  char *dir = new_dir();
  struct env a, b;
  assert_int_equal(env_open(&a, dir, false), 0);
  assert_int_equal(sim_notify_raise(a.sim, NOTIFY_INFO, "x.y", "first"), 1);
  /* a second open of the directory conflicts even inside this process (flock() locks belong
   * to the open file); the other process is named */
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    struct env c;
    int rc = env_open(&c, dir, false);
    char want[128];
    snprintf(want, sizeof(want), "in use by another process (pid %ld)", (long)getppid());
    _exit(rc == -EBUSY && strstr(sbuf_str(&c.msgs), want) ? 0 : 1);
  }
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  assert_int_equal(env_open(&b, dir, false), -EBUSY);
  env_close(&b);
  /* the journal was not touched by the refused starts */
  assert_int_equal(sim_notify_raise(a.sim, NOTIFY_INFO, "x.y", "second"), 2);
  env_close(&a);
  assert_int_equal(env_open(&b, dir, false), 0);
  assert_int_equal(b.msgs.len, 0);
  assert_int_equal(sim_notify_pending(b.sim, b.reader), 2);
  env_close(&b);
  /* what an interrupted compaction leaves is cleaned up */
  put_file(jpath(dir, ".tmp"), "garbage", 7);
  assert_int_equal(env_open(&b, dir, false), 0);
  assert_int_equal(sim_notify_pending(b.sim, b.reader), 2);
  assert_int_equal(access(jpath(dir, ".tmp"), F_OK), -1);
  env_close(&b);
  rmrf(dir);
}

/* ---- crash injection ----------------------------------------------------------------------------- */

/*
 * A child process that starts on dir with OVMS_SIM_JOURNAL_CRASH=<at>:<keep>, raises `raises`
 * data notifications and marks every second one read, reporting on fd each acknowledged step
 * as "r <id>\n" (raised) or "m <id>\n" (marked), and "M <id>\n" before a mark (after a crash
 * there, the mark may or may not have been recorded).  It ends with _exit(86) at the crash step,
 * or 0 when the step was never reached.
 */
static void crash_child(const char *dir, int at, int keep, int raises, int fd)
{
  char spec[32];
  snprintf(spec, sizeof(spec), "%d:%d", at, keep);
  setenv("OVMS_SIM_JOURNAL_CRASH", spec, 1);
  struct env e;
  if (env_open(&e, dir, false) < 0)
    _exit(3);
  char text[64];
  for (int i = 0; i < raises; i++) {
    snprintf(text, sizeof(text), "record %d of a crash test", i);
    int64_t id = sim_notify_raise(e.sim, NOTIFY_DATA, "log.crash", text);
    if (id <= 0)
      _exit(4);
    char line[32];
    int n = snprintf(line, sizeof(line), "r %lld\n", (long long)id);
    if (write(fd, line, (size_t)n) != n)
      _exit(5);
    if (id % 2 == 0) {
      n = snprintf(line, sizeof(line), "M %lld\n", (long long)id);
      if (write(fd, line, (size_t)n) != n)
        _exit(5);
      if (sim_notify_mark_read(e.sim, e.reader, NOTIFY_DATA, id) < 0)
        _exit(6);
      n = snprintf(line, sizeof(line), "m %lld\n", (long long)id);
      if (write(fd, line, (size_t)n) != n)
        _exit(5);
    }
  }
  _exit(0);
}

#define CRASH_MAX_ID 400

static void test_crash_injection(void **state)
{
  (void)state;
  /* steps per run: compaction = write, sync, rename, directory sync; then per raise a write and
   * a sync, per mark read the same */
  char *dir = new_dir();
  /* 1 raised and acknowledged, 3 being marked read, 2 marked read and acknowledged */
  char acked[CRASH_MAX_ID + 1] = {0};
  char done[CRASH_MAX_ID + 1] = {0};  /* read in an earlier round */
  int runs = 0, crashes = 0;
  for (int at = 1; at <= 18; at++) {
    for (int keep = -1; keep <= 40; keep += 10) {
      int pfd[2];
      assert_int_equal(pipe(pfd), 0);
      pid_t pid = fork();
      assert_true(pid >= 0);
      if (pid == 0) {
        close(pfd[0]);
        crash_child(dir, at, keep, 4, pfd[1]);
      }
      close(pfd[1]);
      FILE *f = fdopen(pfd[0], "r");
      char kind;
      long long id;
      while (fscanf(f, " %c %lld", &kind, &id) == 2) {
        assert_true(id > 0 && id <= CRASH_MAX_ID);
        acked[id] = kind == 'r' ? 1 : kind == 'M' ? 3 : 2;
      }
      fclose(f);
      int status;
      assert_int_equal(waitpid(pid, &status, 0), pid);
      assert_true(WIFEXITED(status));
      if (WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != NOTIFY_JOURNAL_CRASH_EXIT)
        fail_msg("crash at step %d (keep %d): the child exited %d", at, keep,
                 WEXITSTATUS(status));
      crashes += WEXITSTATUS(status) == NOTIFY_JOURNAL_CRASH_EXIT;
      runs++;
      /* every start after a crash succeeds and has every acknowledged record */
      struct env e;
      int rc = env_open(&e, dir, false);
      if (rc < 0)
        fail_msg("start after a crash at step %d (keep %d): %s", at, keep, sbuf_str(&e.msgs));
      /* take every pending entry: each acknowledged raise is there once, each acknowledged
       * read mark held, nothing taken earlier comes back */
      char seen[CRASH_MAX_ID + 1] = {0};
      const struct sim_notify_entry *x;
      while ((x = sim_notify_peek(e.sim, e.reader, NOTIFY_DATA))) {
        assert_true(x->id > 0 && x->id <= CRASH_MAX_ID);
        if (done[x->id] || acked[x->id] == 2)
          fail_msg("crash at step %d (keep %d): id %lld is pending again", at, keep,
                   (long long)x->id);
        seen[x->id] = 1;
        assert_int_equal(sim_notify_mark_read(e.sim, e.reader, NOTIFY_DATA, x->id), 0);
      }
      for (int i = 1; i <= CRASH_MAX_ID; i++) {
        if (acked[i] == 1 && !seen[i])
          fail_msg("crash at step %d (keep %d): acknowledged id %d lost", at, keep, i);
        if (seen[i] || acked[i])
          done[i] = 1;
        acked[i] = 0;
      }
      env_close(&e);
    }
  }
  assert_true(crashes > runs / 2);
  rmrf(dir);
}

/* ---- a full disk ------------------------------------------------------------------------------- */

/* Runs in a child (the file size limit must not outlive the test).  Exit 0 = as expected. */
static int full_disk_child(const char *dir)
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
  (void)state;
  char *dir = new_dir();
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0)
    _exit(full_disk_child(dir));
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  /* the failed write was cut back: the journal holds whole records only */
  struct env e;
  assert_int_equal(env_open(&e, dir, false), 0);
  assert_int_equal(e.msgs.len, 0);
  env_close(&e);
  rmrf(dir);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_crc32c),
    cmocka_unit_test(test_damage),
    cmocka_unit_test(test_migration),
    cmocka_unit_test(test_ids_limit),
    cmocka_unit_test(test_refused_files),
    cmocka_unit_test(test_second_process),
    cmocka_unit_test(test_crash_injection),
    cmocka_unit_test(test_full_disk),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
