/*
 * journal.c - the notification journal's format, recovery, compaction and lock (journal.h).
 *
 * Reading is a pure scan over the file's bytes (notify_journal_scan(), also the fuzz target's
 * entry point): records are recognised by their framing and CRC-32C, never guessed at, and
 * whatever is not a record becomes a region that the open applies the recovery rules to, as
 * SQLite's WAL and LevelDB's log reader treat a torn tail as the normal result of a crash and
 * keep the valid prefix.  Writing goes through one helper per step (write, sync, rename) so
 * that the crash test hook (OVMS_SIM_JOURNAL_CRASH, journal.h) can stop the process at any of
 * them.
 */
#include "notify/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/hex.h"
#include "core/xalloc.h"

#define HEADER "ovms-sim notify journal "
#define FRAME_HEAD 18 /* "%08x %08x " */

/* ---- CRC-32C ----------------------------------------------------------------------------------- */

static uint32_t crc_table[256];
static bool crc_ready;

static void crc_init(void)
{
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++)
      c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1; /* 0x1EDC6F41 bit-reversed */
    crc_table[i] = c;
  }
  crc_ready = true;
}

uint32_t notify_crc32c(uint32_t crc, const void *data, size_t n)
{
  if (!crc_ready)
    crc_init();
  const unsigned char *p = data;
  crc = ~crc;
  while (n--)
    crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
  return ~crc;
}

/* ---- scanning ----------------------------------------------------------------------------------- */

static bool hex8(const char *p, uint32_t *out)
{
  uint32_t v = 0;
  for (int i = 0; i < 8; i++) {
    int d = sim_hex_digit(p[i]);
    if (d < 0)
      return false;
    v = v << 4 | (uint32_t)d;
  }
  *out = v;
  return true;
}

/* The length of the whole version-2 record at buf[off] (with its line end), or 0 when none
 * begins there.  *plen is the payload's length, *crlf whether the line ends in CR LF. */
static size_t record_at(const char *buf, size_t len, size_t off, size_t *plen, bool *crlf)
{
  uint32_t n, crc;
  if (len - off < FRAME_HEAD + 1 || buf[off + 8] != ' ' || buf[off + 17] != ' ' ||
      !hex8(buf + off, &n) || !hex8(buf + off + 9, &crc) || n > NOTIFY_JOURNAL_MAX_RECORD)
    return 0;
  size_t p = off + FRAME_HEAD;
  if (n > len - p - 1)
    return 0;
  size_t e = p + n;
  size_t rl;
  if (buf[e] == '\n') {
    rl = e + 1 - off;
    *crlf = false;
  } else if (buf[e] == '\r' && e + 1 < len && buf[e + 1] == '\n') {
    rl = e + 2 - off;
    *crlf = true;
  } else {
    return 0;
  }
  if (notify_crc32c(0, buf + p, n) != crc)
    return 0;
  *plen = n;
  return rl;
}

static size_t count_pieces(const char *p, size_t n)
{
  size_t c = 0;
  for (size_t i = 0; i < n; i++)
    c += p[i] == '\n';
  if (n && p[n - 1] != '\n')
    c++;
  return c ? c : 1;
}

/* Per region: the number of records taken before it (to find the tail afterwards). */
struct scan_state {
  struct notify_journal_scan *out;
  size_t *before;
  size_t nbefore;
  notify_journal_record_fn fn;
  void *ctx;
  struct sbuf payload, why;
};

static void add_region(struct scan_state *s, enum notify_journal_region_kind kind, const char *buf,
                       size_t off, size_t len, const char *why)
{
  struct notify_journal_scan *o = s->out;
  struct notify_journal_region *last = o->n ? &o->v[o->n - 1] : NULL;
  /* damaged lines with nothing taken in between are one region */
  if (kind == NOTIFY_JOURNAL_DAMAGED && last && last->kind == kind &&
      s->before[o->n - 1] == o->records) {
    last->len = off + len - last->off;
    last->pieces = count_pieces(buf + last->off, last->len);
    return;
  }
  xgrow((void **)&o->v, &o->cap, o->n + 1, sizeof(*o->v));
  if (s->nbefore < o->cap) {
    s->before = xrealloc(s->before, o->cap * sizeof(*s->before));
    s->nbefore = o->cap;
  }
  o->v[o->n] = (struct notify_journal_region){kind, off, len, count_pieces(buf + off, len), false,
                                              xstrdup(why)};
  s->before[o->n] = o->records;
  o->n++;
}

/* Gives one payload to the callback; a refusal becomes an INVALID region (damaged_ok: a
 * SIM_EPARSE is a DAMAGED one instead, for the unchecked lines of version 1). */
static void take(struct scan_state *s, const char *buf, size_t off, size_t rl, const char *p,
                 size_t n, bool damaged_ok)
{
  if (memchr(p, '\0', n) || memchr(p, '\r', n)) {
    add_region(s, damaged_ok ? NOTIFY_JOURNAL_DAMAGED : NOTIFY_JOURNAL_INVALID, buf, off, rl,
               "control characters in a record");
    return;
  }
  sbuf_reset(&s->payload);
  sbuf_add(&s->payload, p, n);
  sbuf_reset(&s->why);
  int rc = s->fn(s->ctx, sbuf_str(&s->payload), n, &s->why);
  if (rc == 0) {
    s->out->records++;
    return;
  }
  const char *why = s->why.len ? sbuf_str(&s->why) : "not a journal record";
  add_region(s, rc == SIM_EPARSE && damaged_ok ? NOTIFY_JOURNAL_DAMAGED : NOTIFY_JOURNAL_INVALID,
             buf, off, rl, why);
}

static void scan_v2(struct scan_state *s, const char *buf, size_t len, size_t off)
{
  struct notify_journal_scan *o = s->out;
  while (off < len) {
    if (buf[off] == '\n') {
      o->blank = true;
      off++;
      continue;
    }
    if (buf[off] == '\r' && off + 1 < len && buf[off + 1] == '\n') {
      o->blank = o->crlf = true;
      off += 2;
      continue;
    }
    size_t plen;
    bool crlf;
    size_t rl = record_at(buf, len, off, &plen, &crlf);
    if (rl) {
      o->crlf |= crlf;
      take(s, buf, off, rl, buf + off + FRAME_HEAD, plen, false);
      off += rl;
      continue;
    }
    size_t p = off + 1;
    while (p < len && !record_at(buf, len, p, &plen, &crlf))
      p++;
    bool zeros = true;
    for (size_t i = off; i < p && zeros; i++)
      zeros = buf[i] == '\0';
    add_region(s, NOTIFY_JOURNAL_DAMAGED, buf, off, p - off,
               zeros ? "zero bytes (an append cut short by a crash or a power loss)"
               : p == len ? "a torn or damaged record (bad length, line end or CRC)"
                          : "a damaged record (bad length, line end or CRC)");
    off = p;
  }
}

static void scan_v1(struct scan_state *s, const char *buf, size_t len, size_t off)
{
  struct notify_journal_scan *o = s->out;
  while (off < len) {
    const char *nl = memchr(buf + off, '\n', len - off);
    size_t end = nl ? (size_t)(nl - buf) : len;
    size_t next = nl ? end + 1 : len;
    size_t l = end - off;
    if (l && buf[end - 1] == '\r') {
      l--;
      o->crlf = true;
    }
    bool blank = true;
    for (size_t i = 0; i < l && blank; i++)
      blank = buf[off + i] == ' ' || buf[off + i] == '\t';
    if (blank && (nl || l == 0)) {
      o->blank = true;
    } else if (!nl) {
      add_region(s, NOTIFY_JOURNAL_DAMAGED, buf, off, next - off,
                 "a last line without its line end (cut short by a crash)");
    } else {
      take(s, buf, off, next - off, buf + off, l, true);
    }
    off = next;
  }
}

void notify_journal_scan(const char *buf, size_t len, notify_journal_record_fn fn, void *ctx,
                         struct notify_journal_scan *out)
{
  memset(out, 0, sizeof(*out));
  struct scan_state s = {.out = out, .fn = fn, .ctx = ctx};
  size_t off = 0;
  if (len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3)) {
    out->bom = true;
    off = 3;
  }
  const size_t hl = strlen(HEADER);
  if (len - off >= hl && !memcmp(buf + off, HEADER, hl)) {
    size_t p = off + hl;
    int v = 0;
    while (p < len && buf[p] >= '0' && buf[p] <= '9' && v < 1000)
      v = v * 10 + (buf[p++] - '0');
    if (p < len && buf[p] == '\r' && p + 1 < len && buf[p + 1] == '\n') {
      out->crlf = true;
      p++;
    }
    if (v > 0 && p < len && buf[p] == '\n') {
      out->version = v;
      if (v == NOTIFY_JOURNAL_VERSION)
        scan_v2(&s, buf, len, p + 1);
      goto done;
    }
  }
  if (off == len) {
    out->version = 0;
    goto done;
  }
  /* no header: version 1, unless framed records follow a damaged header */
  size_t plen;
  bool crlf;
  size_t p = off;
  while (p < len && !record_at(buf, len, p, &plen, &crlf))
    p++;
  if (p < len) {
    out->version = NOTIFY_JOURNAL_VERSION;
    if (p > off)
      add_region(&s, NOTIFY_JOURNAL_DAMAGED, buf, off, p - off, "a damaged journal header");
    scan_v2(&s, buf, len, p);
  } else {
    out->version = 1;
    scan_v1(&s, buf, len, off);
  }
done:
  /* the damaged regions after the last record taken form the tail */
  for (size_t i = out->n; i-- > 0;) {
    if (out->v[i].kind != NOTIFY_JOURNAL_DAMAGED || s.before[i] != out->records)
      break;
    out->v[i].tail = true;
  }
  free(s.before);
  sbuf_free(&s.payload);
  sbuf_free(&s.why);
}

void notify_journal_scan_cleanup(struct notify_journal_scan *s)
{
  for (size_t i = 0; i < s->n; i++)
    free(s->v[i].why);
  free(s->v);
  memset(s, 0, sizeof(*s));
}

void notify_journal_frame(const char *payload, size_t len, struct sbuf *out)
{
  sbuf_printf(out, "%08" PRIx32 " %08" PRIx32 " ", (uint32_t)len, notify_crc32c(0, payload, len));
  sbuf_add(out, payload, len);
  sbuf_addc(out, '\n');
}

/* ---- steps, with the crash test hook ------------------------------------------------------------ */

static struct {
  long at, keep; /* crash at step `at` (0 = never), writing `keep` bytes (-1 = half) */
  long step;
} crash;

static void crash_init(void)
{
  const char *e = getenv("OVMS_SIM_JOURNAL_CRASH");
  crash.at = 0;
  crash.keep = -1;
  if (!e || !*e)
    return;
  char *end;
  crash.at = strtol(e, &end, 10);
  if (*end == ':')
    crash.keep = strtol(end + 1, &end, 10);
}

static bool crash_now(void)
{
  return crash.at > 0 && ++crash.step == crash.at;
}

static int write_all(int fd, const char *p, size_t n)
{
  if (crash_now()) {
    size_t k = crash.keep < 0 ? n / 2 : (size_t)crash.keep < n ? (size_t)crash.keep : n;
    while (k > 0) {
      ssize_t w = write(fd, p, k);
      if (w <= 0)
        break;
      p += w;
      k -= (size_t)w;
    }
    _exit(NOTIFY_JOURNAL_CRASH_EXIT);
  }
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0)
      return -errno;
    if (w == 0)
      return -ENOSPC;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static int sync_fd(int fd, bool data_only)
{
  if (crash_now())
    _exit(NOTIFY_JOURNAL_CRASH_EXIT);
  if ((data_only ? fdatasync(fd) : fsync(fd)) < 0)
    return -errno;
  return 0;
}

static int rename_file(const char *from, const char *to)
{
  if (crash_now())
    _exit(NOTIFY_JOURNAL_CRASH_EXIT);
  return rename(from, to) < 0 ? -errno : 0;
}

/* ---- the file ------------------------------------------------------------------------------------ */

struct notify_journal {
  char *dir, *path;
  int fd;       /* open for appending after notify_journal_rewrite(), else -1 */
  int lockfd;   /* <dir>/lock, held with flock() */
  off_t size;   /* bytes of whole records in the file */
};

__attribute__((format(printf, 4, 5))) static int fail(struct sim_diag *d, const char *file,
                                                      int rc, const char *fmt, ...)
{
  struct sbuf m = SBUF_INIT;
  va_list ap;
  va_start(ap, fmt);
  sbuf_vprintf(&m, fmt, ap);
  va_end(ap);
  sim_diag_error(d, file, 0, 0, "%s", sbuf_str(&m));
  sbuf_free(&m);
  return rc;
}

static int lock_dir(struct notify_journal *j, struct sim_diag *d)
{
  struct sbuf p = SBUF_INIT;
  sbuf_printf(&p, "%s/lock", j->dir);
  int fd = open(p.p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
  int rc = 0;
  struct stat st;
  if (fd < 0) {
    rc = fail(d, p.p, -errno, "cannot create the lock file: %s", strerror(errno));
  } else if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
    rc = fail(d, p.p, SIM_EUNSUP, "%s", "the lock file is not a regular file");
  } else if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
    if (errno == EWOULDBLOCK) {
      char pid[32] = "";
      ssize_t n = pread(fd, pid, sizeof(pid) - 1, 0);
      pid[n > 0 ? n : 0] = '\0';
      pid[strcspn(pid, "\n")] = '\0';
      sim_diag_error(d, j->dir, 0, 0,
                     "the state directory is in use by another process (pid %s): two "
                     "simulators must not share a state directory",
                     *pid ? pid : "unknown");
      rc = -EBUSY;
    } else {
      rc = fail(d, p.p, -errno, "cannot lock: %s", strerror(errno));
    }
  } else {
    char pid[32];
    int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)n, 0) != n)
      rc = fail(d, p.p, -errno, "cannot write the lock file: %s", strerror(errno));
  }
  if (rc < 0 && fd >= 0)
    close(fd);
  else
    j->lockfd = fd;
  sbuf_free(&p);
  return rc;
}

/* Reads the journal into buf (left empty when there is none). */
static int read_journal(struct notify_journal *j, struct sbuf *buf, struct sim_diag *d)
{
  struct stat st;
  if (stat(j->path, &st) < 0)
    return errno == ENOENT ? 0 : fail(d, j->path, -errno, "%s", strerror(errno));
  if (!S_ISREG(st.st_mode))
    return fail(d, j->path, SIM_EUNSUP, "%s",
                "not a regular file (a FIFO, a device, or a symlink to one): refusing to use it");
  int fd = open(j->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return fail(d, j->path, -errno, "%s", strerror(errno));
  int rc = 0;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
    rc = fail(d, j->path, SIM_EUNSUP, "%s", "not a regular file: refusing to use it");
  } else {
    for (;;) {
      sbuf_reserve(buf, 65536);
      ssize_t n = read(fd, buf->p + buf->len, buf->cap - buf->len - 1);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0) {
        rc = fail(d, j->path, -errno, "%s", strerror(errno));
        break;
      }
      if (n == 0)
        break;
      buf->len += (size_t)n;
    }
  }
  close(fd);
  return rc;
}

/* Appends the n bytes at p to the file path (created 0600, no symlink followed) and syncs
 * it.  Returns 0 or -errno. */
static int append_synced(const char *path, const char *p, size_t n)
{
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return -errno;
  int rc = write_all(fd, p, n);
  if (rc == 0)
    rc = sync_fd(fd, true);
  close(fd);
  return rc;
}

static int quarantine(struct notify_journal *j, const char *buf,
                      const struct notify_journal_scan *s, struct sbuf *qpath, struct sim_diag *d)
{
  struct sbuf b = SBUF_INIT;
  for (size_t i = 0; i < s->n; i++) {
    const struct notify_journal_region *r = &s->v[i];
    sbuf_printf(&b, "# ovms-sim state repair: %s offset %zu, %zu bytes: %s\n", j->path, r->off,
                r->len, r->why);
    sbuf_add(&b, buf + r->off, r->len);
    if (r->len && buf[r->off + r->len - 1] != '\n')
      sbuf_addc(&b, '\n');
  }
  int rc = append_synced(qpath->p, b.p, b.len);
  sbuf_free(&b);
  if (rc < 0)
    return fail(d, qpath->p, rc, "%s", strerror(-rc));
  return 0;
}

/* The recovery rules (journal.h) on what the scan found. */
static int recover(struct notify_journal *j, const char *buf, const struct notify_journal_scan *s,
                   const struct notify_journal_opts *opts, struct sim_diag *d)
{
  if (s->version > NOTIFY_JOURNAL_VERSION) {
    sim_diag_error(d, j->path, 0, 0,
                   "journal format %d is newer than this ovms-sim reads (%d): refusing to use it",
                   s->version, NOTIFY_JOURNAL_VERSION);
    return SIM_EUNSUP;
  }
  size_t inside = 0, dropped = 0, dropped_bytes = 0;
  for (size_t i = 0; i < s->n; i++) {
    inside += !s->v[i].tail;
    dropped += s->v[i].pieces;
    dropped_bytes += s->v[i].len;
  }
  struct sbuf qpath = SBUF_INIT;
  sbuf_printf(&qpath, "%s.quarantine", j->path);
  int rc = 0;
  bool repair = opts && opts->repair;
  if (inside && !repair) {
    for (size_t i = 0; i < s->n; i++)
      if (!s->v[i].tail)
        sim_diag_error(d, j->path, 0, 0, "offset %zu: %s (%zu bytes) before valid records",
                       s->v[i].off, s->v[i].why, s->v[i].len);
    if (opts && opts->damage) {
      opts->damage->inside = true;
      opts->damage->entry = d ? d->n : 0;
      opts->damage->records = s->records;
      sbuf_reset(&opts->damage->quarantine);
      sbuf_adds(&opts->damage->quarantine, qpath.p);
    }
    sim_diag_error(d, j->path, 0, 0, "the journal is damaged inside; nothing was changed.");
    rc = SIM_EPARSE;
  } else if (inside) {
    rc = quarantine(j, buf, s, &qpath, d);
    if (rc == 0)
      sim_diag_warn(d, j->path, 0, 0,
                    "repaired: kept %zu records, dropped %zu damaged (%zu bytes, moved to %s)",
                    s->records, dropped, dropped_bytes, qpath.p);
  } else {
    for (size_t i = 0; i < s->n; i++)
      sim_diag_warn(d, j->path, 0, 0,
                    "offset %zu: dropped the damaged last record (%zu bytes: %s); it was never "
                    "completely written, so never acknowledged",
                    s->v[i].off, s->v[i].len, s->v[i].why);
  }
  if (rc == 0 && s->version == 1)
    sim_diag_warn(d, j->path, 0, 0,
                  "migrated %zu records from journal format 1 (the line format of earlier "
                  "releases) to format %d",
                  s->records, NOTIFY_JOURNAL_VERSION);
  sbuf_free(&qpath);
  return rc;
}

int notify_journal_open(struct notify_journal **out, const char *dir,
                        const struct notify_journal_opts *opts, notify_journal_record_fn fn,
                        void *ctx, struct sim_diag *d)
{
  *out = NULL;
  crash_init();
  if (mkdir(dir, 0700) < 0 && errno != EEXIST)
    return fail(d, dir, -errno, "cannot create the state directory: %s", strerror(errno));
  struct stat st;
  if (stat(dir, &st) < 0)
    return fail(d, dir, -errno, "%s", strerror(errno));
  if (!S_ISDIR(st.st_mode))
    return fail(d, dir, -ENOTDIR, "%s", "the state directory is not a directory");
  struct notify_journal *j = xcalloc(1, sizeof(*j));
  j->fd = j->lockfd = -1;
  j->dir = xstrdup(dir);
  struct sbuf p = SBUF_INIT;
  sbuf_printf(&p, "%s/" NOTIFY_JOURNAL_NAME, dir);
  j->path = sbuf_detach(&p);
  int rc = lock_dir(j, d);
  if (rc == 0) {
    /* an interrupted compaction left its new file: the journal itself is whole */
    sbuf_printf(&p, "%s.tmp", j->path);
    unlink(p.p);
    sbuf_free(&p);
    struct sbuf buf = SBUF_INIT;
    rc = read_journal(j, &buf, d);
    if (rc == 0) {
      struct notify_journal_scan s;
      notify_journal_scan(buf.p ? buf.p : "", buf.len, fn, ctx, &s);
      rc = recover(j, buf.p, &s, opts, d);
      notify_journal_scan_cleanup(&s);
    }
    sbuf_free(&buf);
  }
  if (rc < 0) {
    notify_journal_close(j);
    return rc;
  }
  *out = j;
  return 0;
}

int notify_journal_rewrite(struct notify_journal *j, const struct sbuf *records, struct sim_diag *d)
{
  struct sbuf b = SBUF_INIT, tmp = SBUF_INIT;
  sbuf_printf(&b, HEADER "%d\n", NOTIFY_JOURNAL_VERSION);
  for (size_t off = 0; off < records->len;) {
    const char *nl = memchr(records->p + off, '\n', records->len - off);
    size_t n = nl ? (size_t)(nl - records->p) - off : records->len - off;
    notify_journal_frame(records->p + off, n, &b);
    off += n + 1;
  }
  sbuf_printf(&tmp, "%s.tmp", j->path);
  int rc = 0;
  int fd = open(tmp.p, O_WRONLY | O_APPEND | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    rc = -errno;
  if (rc == 0)
    rc = write_all(fd, b.p, b.len);
  if (rc == 0)
    rc = sync_fd(fd, true);
  if (rc == 0)
    rc = rename_file(tmp.p, j->path);
  if (rc == 0) {
    int dfd = open(j->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    rc = dfd < 0 ? -errno : sync_fd(dfd, false);
    if (dfd >= 0)
      close(dfd);
  }
  if (rc < 0) {
    /* the old journal stays as it was: nothing of it is lost */
    sim_diag_error(d, tmp.p, 0, 0, "cannot compact the journal: %s", strerror(-rc));
    if (fd >= 0) {
      close(fd);
      unlink(tmp.p);
    }
  } else {
    if (j->fd >= 0)
      close(j->fd);
    j->fd = fd;
    j->size = (off_t)b.len;
  }
  sbuf_free(&b);
  sbuf_free(&tmp);
  return rc;
}

int notify_journal_append(struct notify_journal *j, const char *payload, size_t len)
{
  if (j->fd < 0)
    return -EBADF;
  struct sbuf b = SBUF_INIT;
  notify_journal_frame(payload, len, &b);
  int rc = write_all(j->fd, b.p, b.len);
  if (rc == 0)
    rc = sync_fd(j->fd, true);
  if (rc == 0) {
    j->size += (off_t)b.len;
  } else if (ftruncate(j->fd, j->size) < 0) {
    /* the file may end in a torn record: append nothing after it (the next open drops it) */
    close(j->fd);
    j->fd = -1;
  }
  sbuf_free(&b);
  return rc;
}

const char *notify_journal_path(const struct notify_journal *j)
{
  return j->path;
}

int notify_journal_dead(struct notify_journal *j, const char *line, size_t len)
{
  struct sbuf path = SBUF_INIT;
  sbuf_printf(&path, "%s/notify.dead", j->dir);
  int rc = append_synced(path.p, line, len);
  sbuf_free(&path);
  return rc;
}

void notify_journal_close(struct notify_journal *j)
{
  if (!j)
    return;
  if (j->fd >= 0)
    close(j->fd);
  if (j->lockfd >= 0)
    close(j->lockfd);
  free(j->dir);
  free(j->path);
  free(j);
}
