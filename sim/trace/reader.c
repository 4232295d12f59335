/*
 * reader.c - the streaming trace reader: a file (or stdin, or a .gz file when built with
 * zlib) read through one fixed buffer, cut into lines, each handed to the format's codec.
 * Memory use does not depend on the file's length; nothing is allocated per line.
 *
 * With trace_reader_opts.map a regular file is instead mapped in windows of READER_WINDOW
 * bytes that slide along the file (each unmapped when the next is mapped, so the resident
 * size stays flat): lines are parsed in place, without the copy read() makes.  The same
 * line rules apply in both modes (a line longer than READER_BUF is rejected).
 *
 * trace_reader_copy() is the same-format copy of trace_convert(): every line is validated by
 * the codec and runs of consecutive unchanged lines are handed to the writer as one block,
 * straight from the buffer or mapping.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef SIM_HAVE_ZLIB
#include <zlib.h>
#endif

#include "core/error.h"
#include "core/sbuf.h"
#include "trace/codec.h"
#include "trace/trace.h"
#include "core/xalloc.h"

#define READER_BUF (256 * 1024)       /* read() buffer; also the longest line accepted */
#define READER_WINDOW (4 * 1024 * 1024) /* mapped mode: bytes mapped at a time */

struct trace_reader {
  int fd;
#ifdef SIM_HAVE_ZLIB
  gzFile gz;
#endif
  char *buf;     /* the read() buffer, or the current mapped window */
  size_t start, end;
  bool eof;      /* everything left of the input is in buf[start, end) */
  bool mapped;   /* buf is a window [map_off, map_off + end) of the file */
  off_t map_off, fsize;
  bool skipping; /* inside an over-long line */
  const struct trace_format *fmt;
  struct trace_pstate ps;
  const char *line;
  size_t line_len;
  bool all_lines;
  bool gz_cut;      /* the gzip stream ended before its end (zlib: unexpected end of file) */
  bool gz_reported; /* ... and that was reported */
  char *path;
  unsigned long errors;
};

/* A last line without its '\n' whose text is more than blanks: the input was cut off.  NUL
 * bytes count as blanks: analyser programs pad their exports with NULs at the end. */
static bool cut_off(const char *s, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\0')
      return true;
  return false;
}

static int cut_off_error(struct trace_reader *r, size_t n, struct sim_diag *d)
{
  r->errors++;
  sim_diag_error(d, r->path, r->ps.line, (int)(n < 100000 ? n + 1 : 0),
                 "the last line has no line end: the trace is truncated (the line is not used)");
  return SIM_ETRUNC;
}

/* A gzip stream cut short: reported once, in place of the error of its last line (a line
 * cut by the truncation, or none when the cut fell on a line end). */
static int gz_cut_error(struct trace_reader *r, int used, struct sim_diag *d)
{
  r->errors++;
  r->gz_reported = true;
  sim_diag_error(d, r->path, 0, 0,
                 "truncated gzip stream: the compressed file ends early (%d complete line%s "
                 "read)",
                 used, used == 1 ? "" : "s");
  return SIM_ETRUNC;
}

static ssize_t raw_read(struct trace_reader *r, char *p, size_t n)
{
#ifdef SIM_HAVE_ZLIB
  if (r->gz) {
    int got = gzread(r->gz, p, (unsigned)n);
    int zerr = Z_OK;
    if (got <= 0)
      gzerror(r->gz, &zerr);
    if (got < 0)
      return zerr == Z_ERRNO ? -errno : -EIO;
    /* gzread() ends a stream cut short as if it were complete; only gzerror() tells */
    if (got == 0 && zerr == Z_BUF_ERROR)
      r->gz_cut = true;
    return got;
  }
#endif
  for (;;) {
    ssize_t got = read(r->fd, p, n);
    if (got < 0 && errno == EINTR)
      continue;
    return got < 0 ? -errno : got;
  }
}

/* Mapped mode: slides the window to start at the page holding the unread rest. */
static ssize_t remap(struct trace_reader *r)
{
  static long page;
  if (!page)
    page = sysconf(_SC_PAGESIZE) > 0 ? sysconf(_SC_PAGESIZE) : 4096;
  off_t pos = r->map_off + (off_t)r->start;
  off_t off = pos - pos % page;
  size_t len = r->fsize - off < READER_WINDOW ? (size_t)(r->fsize - off) : READER_WINDOW;
  if (r->buf)
    munmap(r->buf, r->end);
  r->buf = NULL;
  void *m = len ? mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, r->fd, off) : NULL;
  if (m == MAP_FAILED) {
    int err = -errno;
    r->start = r->end = 0;
    r->eof = true; /* nothing more can be read */
    return err;
  }
  if (m)
    madvise(m, len, MADV_SEQUENTIAL);
  size_t had = r->end - r->start;
  r->buf = m;
  r->map_off = off;
  r->start = (size_t)(pos - off);
  r->end = len;
  if (off + (off_t)len >= r->fsize)
    r->eof = true;
  return (ssize_t)(r->end - r->start - had);
}

/* Moves the unread rest to the front and reads more.  Returns bytes read, 0 at EOF, <0. */
static ssize_t fill(struct trace_reader *r)
{
  if (r->mapped)
    return remap(r);
  if (r->start > 0) {
    memmove(r->buf, r->buf + r->start, r->end - r->start);
    r->end -= r->start;
    r->start = 0;
  }
  if (r->end == READER_BUF)
    return 0;
  ssize_t got = raw_read(r, r->buf + r->end, READER_BUF - r->end);
  if (got > 0)
    r->end += (size_t)got;
  else if (got == 0)
    r->eof = true;
  return got;
}

/* "not a known trace format (formats: crtd, candump, ...; name one to force it)", the list
 * from the registry. */
static void unknown_format(const char *path, struct sim_diag *d)
{
  struct sbuf names = SBUF_INIT;
  for (size_t i = 0; trace_formats[i]; i++)
    sbuf_printf(&names, "%s%s", i ? ", " : "", trace_formats[i]->name);
  sim_diag_error(d, path, 1, 1, "not a known trace format (formats: %s; name one to force it)",
                 sbuf_str(&names));
  sbuf_free(&names);
}

int trace_reader_open(struct trace_reader **out, const char *path,
                      const struct trace_reader_opts *opts, struct sim_diag *d)
{
  *out = NULL;
  const struct trace_format *fmt = NULL;
  if (opts && opts->format) {
    fmt = trace_format_find(opts->format);
    if (!fmt || !fmt->parse) {
      sim_diag_error(d, path, 0, 0, "unknown trace format '%s'", opts->format);
      return SIM_EFORMAT;
    }
  }
  bool is_stdin = !strcmp(path, "-");
  int fd = is_stdin ? dup(0) : open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = -errno;
    sim_diag_error(d, path, 0, 0, "cannot open: %s", sim_strerror(err));
    return err;
  }
  struct trace_reader *r = xcalloc(1, sizeof(*r));
  r->fd = fd;
  r->path = xstrdup(is_stdin ? "<stdin>" : path);
  /* gzip? look at the magic bytes */
  unsigned char magic[2];
  ssize_t m = is_stdin ? 0 : pread(fd, magic, 2, 0);
  size_t plen = strlen(path);
  bool gz = (m == 2 && magic[0] == 0x1f && magic[1] == 0x8b) ||
            (is_stdin && plen > 3 && !strcmp(path + plen - 3, ".gz"));
  if (gz) {
#ifdef SIM_HAVE_ZLIB
    r->gz = gzdopen(fd, "rb");
    if (!r->gz) {
      sim_diag_error(d, r->path, 0, 0, "cannot read gzip data");
      trace_reader_close(r);
      return -EIO;
    }
    r->fd = -1;
#else
    sim_diag_error(d, r->path, 0, 0, "gzip input needs a build with zlib");
    trace_reader_close(r);
    return SIM_EUNSUP;
#endif
  }
  struct stat sb;
  if (!gz && !is_stdin && opts && opts->map && fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode)) {
    r->mapped = true;
    r->fsize = sb.st_size;
  } else {
    r->buf = xmalloc(READER_BUF);
  }
  ssize_t got = fill(r);
  while (got > 0 && r->end < 64 * 1024 && !r->eof)
    got = fill(r);
  if (got < 0) {
    sim_diag_error(d, r->path, 0, 0, "read error: %s", sim_strerror((int)got));
    trace_reader_close(r);
    return (int)got;
  }
  if (!fmt)
    fmt = trace_format_detect(r->buf, r->end);
  if (!fmt && r->end == 0)
    fmt = trace_format_by_ext(path); /* an empty file: by its name, else an error */
  if (!fmt) {
    if (r->end == 0)
      sim_diag_error(d, r->path, 0, 0, "empty file: cannot tell the trace format");
    else
      unknown_format(r->path, d);
    trace_reader_close(r);
    return SIM_EFORMAT;
  }
  r->fmt = fmt;
  trace_pstate_init(&r->ps, r->path);
  if (opts && opts->untimed_period > 0)
    r->ps.untimed_period = opts->untimed_period;
  *out = r;
  return 0;
}

/* A complete line ('\n'-terminated) in the buffer: sets *s and *n (without '\n') and returns
 * true; false when the buffer holds no complete line (or only the rest of an over-long one). */
static inline bool find_line(struct trace_reader *r, const char **s, size_t *n)
{
  for (;;) {
    size_t avail = r->end - r->start;
    if (!avail)
      return false;
    char *nl = memchr(r->buf + r->start, '\n', avail < READER_BUF ? avail : READER_BUF);
    if (!nl)
      return false;
    *s = r->buf + r->start;
    *n = (size_t)(nl - *s);
    r->start += *n + 1;
    if (!r->skipping)
      return true;
    r->skipping = false;
  }
}

/* The next line: sets *s and *n (without '\n').  Returns 1, 0 at EOF, SIM_ETRUNC, -errno. */
static int next_line(struct trace_reader *r, const char **s, size_t *n)
{
  for (;;) {
    if (find_line(r, s, n))
      return 1;
    size_t avail = r->end - r->start;
    if (avail >= READER_BUF) {
      /* a line longer than the buffer: drop what we have, skip to its end */
      r->start += READER_BUF;
      if (!r->skipping) {
        r->skipping = true;
        r->ps.line++;
        return SIM_ETRUNC;
      }
      continue;
    }
    if (r->eof) {
      if (r->start == r->end)
        return 0;
      *s = r->buf + r->start;
      *n = r->end - r->start;
      r->start = r->end;
      if (r->skipping) {
        r->skipping = false;
        return 0;
      }
      return 1;
    }
    ssize_t got = fill(r);
    if (got < 0)
      return (int)got;
  }
}

/* Makes s[0, n), just taken from the buffer, the current line. */
static inline void take_line(struct trace_reader *r, const char *s, size_t n)
{
  r->ps.line++;
  r->line = s;
  r->line_len = n;
}

/* Parses the current line s[0, n): 1 when it gives a record (any line, with all_lines), 0 when
 * it gives none, or the parser's error (counted). */
static inline int parse_line(struct trace_reader *r, const char *s, size_t n,
                             struct trace_record *rec, struct sim_diag *d)
{
  int rc = r->fmt->parse(&r->ps, s, n, rec, d);
  if (rc < 0) {
    r->errors++;
    return rc;
  }
  return rc > 0 || r->all_lines;
}

/* trace_reader_next() past its fast path: any line, the end of the buffer, the end. */
static int next_slow(struct trace_reader *r, struct trace_record *rec, struct sim_diag *d)
{
  for (;;) {
    const char *s = NULL;
    size_t n = 0;
    int rc = next_line(r, &s, &n);
    if (rc == SIM_ETRUNC) {
      r->errors++;
      sim_diag_error(d, r->path, r->ps.line, 1, "line longer than %d bytes", READER_BUF);
      return rc;
    }
    if (rc <= 0) {
      if (rc < 0)
        sim_diag_error(d, r->path, r->ps.line, 0, "read error: %s", sim_strerror(rc));
      else if (r->gz_cut && !r->gz_reported)
        return gz_cut_error(r, r->ps.line, d);
      return rc;
    }
    take_line(r, s, n);
    if (s + n == r->buf + r->end && r->eof && r->gz_cut)
      return gz_cut_error(r, r->ps.line - 1, d); /* the last line is where the stream was cut */
    if (s + n == r->buf + r->end && r->eof && cut_off(s, n))
      return cut_off_error(r, n, d);
    if ((rc = parse_line(r, s, n, rec, d)) != 0)
      return rc;
  }
}

/* The format's parse_ahead() on the next line (the caller checked that the format has one and
 * that r is not inside an over-long line): true when it made the line's record. */
static inline bool ahead_line(struct trace_reader *r, struct trace_record *rec)
{
  if (r->end - r->start < TRACE_AHEAD_READ)
    return false;
  const char *s = r->buf + r->start;
  size_t n = r->fmt->parse_ahead(&r->ps, s, r->end - r->start, rec);
  if (!n)
    return false;
  r->start += n + 1;
  take_line(r, s, n);
  return true;
}

/* trace_reader_next(), inlined into trace_reader_next_frame() as well. */
static inline int next_record(struct trace_reader *r, struct trace_record *rec,
                              struct sim_diag *d)
{
  /* faster still: the format's ordinary frame line, its end found while it is parsed */
  if (r->fmt->parse_ahead && !r->skipping && ahead_line(r, rec))
    return 1;
  /* The fast path: a line with its '\n' in the buffer (so not the last line of the input,
   * which the cut-off checks of next_slow() are about) whose parse gives a record. */
  const char *s;
  size_t n;
  if (find_line(r, &s, &n)) {
    take_line(r, s, n);
    int rc = parse_line(r, s, n, rec, d);
    if (rc != 0)
      return rc;
  }
  return next_slow(r, rec, d);
}

int trace_reader_next(struct trace_reader *r, struct trace_record *rec, struct sim_diag *d)
{
  return next_record(r, rec, d);
}

/* Passes a run of unchanged input to emit.  Returns 0 or emit's error. */
static int flush_run(trace_emit_fn emit, void *ctx, const char **run, size_t *run_n)
{
  int rc = *run_n ? emit(ctx, *run, *run_n) : 0;
  *run = NULL;
  *run_n = 0;
  return rc;
}

/* Adds the line s (n bytes and its '\n') to the run of unchanged input, emitting the run
 * first when s does not follow it.  Returns 0 or emit's error. */
static int extend_run(trace_emit_fn emit, void *ctx, const char **run, size_t *run_n,
                      const char *s, size_t n)
{
  if (*run && *run + *run_n != s) {
    int erc = flush_run(emit, ctx, run, run_n);
    if (erc < 0)
      return erc;
  }
  if (!*run)
    *run = s;
  *run_n += n + 1;
  return 0;
}

/* The next line after a refill of the buffer.  Returns 1 (a line), 2 (a line too long,
 * skipped with keep_going), 0 at the end, or an error (with d filled): also at the end of a
 * gzip stream cut short (counted as a bad line with keep_going). */
static int refill(struct trace_reader *r, const char **s, size_t *n, bool keep_going,
                  struct trace_convert_stats *st, struct sim_diag *d)
{
  int rc = next_line(r, s, n);
  if (rc == SIM_ETRUNC) {
    r->errors++;
    sim_diag_error(d, r->path, r->ps.line, 1, "line longer than %d bytes", READER_BUF);
    if (!keep_going)
      return rc;
    st->bad_lines++;
    return 2;
  }
  if (rc < 0) {
    sim_diag_error(d, r->path, r->ps.line, 0, "read error: %s", sim_strerror(rc));
    return rc;
  }
  if (rc == 0 && r->gz_cut && !r->gz_reported) {
    rc = gz_cut_error(r, r->ps.line, d); /* the cut fell on a line end */
    if (!keep_going)
      return rc;
    st->bad_lines++;
    return 0;
  }
  return rc == 0 ? 0 : 1;
}

int trace_reader_copy(struct trace_reader *r, trace_emit_fn emit, void *ctx, bool keep_going,
                      struct trace_convert_stats *st, struct sim_diag *d)
{
  const char *run = NULL; /* unchanged input not yet emitted (inside r->buf) */
  size_t run_n = 0;
  struct trace_record rec;
  int (*parse)(struct trace_pstate *, const char *, size_t, struct trace_record *,
               struct sim_diag *) = r->fmt->parse;
  bool (*quick)(const char *, size_t) = r->fmt->quick_check;
  for (;;) {
    const char *s;
    size_t n;
    if (!find_line(r, &s, &n)) {
      /* the buffer moves when it is refilled: hand on what we have first */
      int erc = flush_run(emit, ctx, &run, &run_n);
      if (erc < 0)
        return erc;
      int rc = refill(r, &s, &n, keep_going, st, d);
      if (rc <= 0)
        return rc;
      if (rc == 2)
        continue; /* a line too long, skipped */
    }
    r->ps.line++;
    r->line = s;
    r->line_len = n;
    bool lf = s + n < r->buf + r->end; /* a '\n' follows (not the unterminated last line) */
    if (!lf && (cut_off(s, n) || r->gz_cut)) {
      int erc = flush_run(emit, ctx, &run, &run_n);
      if (erc < 0)
        return erc;
      int rc = r->gz_cut ? gz_cut_error(r, r->ps.line - 1, d) : cut_off_error(r, n, d);
      if (!keep_going)
        return rc;
      st->bad_lines++;
      continue;
    }
    if (quick && lf && quick(s, n)) {
      /* an ordinary frame line (the format promises parse() would take it): pass it on */
      st->records++;
      st->written++;
      st->frames++;
      int erc = extend_run(emit, ctx, &run, &run_n, s, n);
      if (erc < 0)
        return erc;
      continue;
    }
    int rc = parse(&r->ps, s, n, &rec, d);
    if (rc >= 0 && lf && !(n && s[n - 1] == '\r')) {
      /* unchanged: extend the run (or start a new one) */
      int erc = extend_run(emit, ctx, &run, &run_n, s, n);
      if (erc < 0)
        return erc;
    } else {
      int erc = flush_run(emit, ctx, &run, &run_n);
      if (erc < 0)
        return erc;
      if (rc >= 0) {
        /* line ends are normalised to '\n' */
        size_t k = n && s[n - 1] == '\r' ? n - 1 : n;
        if ((k && (erc = emit(ctx, s, k)) < 0) || (erc = emit(ctx, "\n", 1)) < 0)
          return erc;
      }
    }
    if (rc < 0) {
      r->errors++;
      if (!keep_going)
        return rc;
      st->bad_lines++;
      continue;
    }
    if (rec.kind != TRACE_REC_NONE) {
      st->records++;
      st->written++;
      if (rec.kind == TRACE_REC_FRAME)
        st->frames++;
    }
  }
}

size_t trace_reader_convert(struct trace_reader *r, const struct trace_format *to,
                            struct trace_wstate *ws, struct sbuf *out, unsigned long *lines)
{
  *lines = 0;
  if (r->skipping || !to->convert_from || r->start >= r->end)
    return 0;
  size_t used = to->convert_from(r->fmt, &r->ps, ws, r->buf + r->start, r->end - r->start, out,
                                 lines);
  r->start += used;
  return used;
}

size_t trace_reader_ahead(struct trace_reader *r, struct trace_record *recs, size_t max)
{
  size_t k = 0;
  if (r->fmt->parse_ahead && !r->skipping)
    while (k < max && ahead_line(r, &recs[k]))
      k++;
  return k;
}

void trace_reader_all_lines(struct trace_reader *r, bool on)
{
  r->all_lines = on;
}

int trace_reader_next_frame(struct trace_reader *r, struct sim_frame *f, struct sim_diag *d)
{
  struct trace_record rec;
  for (;;) {
    int rc = next_record(r, &rec, d);
    if (rc <= 0)
      return rc;
    if (rec.kind == TRACE_REC_FRAME) {
      *f = rec.frame;
      return 1;
    }
  }
}

void trace_reader_raw(const struct trace_reader *r, const char **s, size_t *n)
{
  *s = r->line ? r->line : "";
  *n = r->line ? r->line_len : 0;
}

const struct trace_format *trace_reader_format(const struct trace_reader *r)
{
  return r->fmt;
}

int trace_reader_line(const struct trace_reader *r)
{
  return r->ps.line;
}

unsigned long trace_reader_errors(const struct trace_reader *r)
{
  return r->errors;
}

void trace_reader_close(struct trace_reader *r)
{
  if (!r)
    return;
#ifdef SIM_HAVE_ZLIB
  if (r->gz)
    gzclose(r->gz);
#endif
  if (r->fd >= 0)
    close(r->fd);
  if (r->mapped) {
    if (r->buf)
      munmap(r->buf, r->end);
  } else {
    free(r->buf);
  }
  free(r->path);
  free(r);
}
