/*
 * writer.c - the trace writer: records formatted by the format's codec into one buffer that
 * is written out in large blocks (or through zlib for a name ending in ".gz").  Also
 * trace_convert(), which connects a reader to a writer.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef SIM_HAVE_ZLIB
#include <zlib.h>
#endif

#include "core/error.h"
#include "trace/trace.h"
#include "core/xalloc.h"

#define WRITER_FLUSH (1024 * 1024) /* buffered output is written in blocks of this size */
#define WRITER_DIRECT (64 * 1024)  /* trace_writer_bytes blocks this large skip the buffer */

struct trace_writer {
  int fd;
#ifdef SIM_HAVE_ZLIB
  gzFile gz;
#endif
  const struct trace_format *fmt;
  struct trace_wstate ws;
  struct sbuf out;
  bool header_done;
  int err;
  bool is_stdout;
  bool prealloc; /* a regular file: each block's room is allocated before it is written */
  bool allocated; /* ... and room was allocated (freed past pos after an error) */
  off_t pos;      /* bytes written */
};

int trace_writer_open(struct trace_writer **out, const char *path, const struct trace_format *fmt)
{
  *out = NULL;
  if (!fmt)
    fmt = trace_format_by_ext(path);
  if (!fmt)
    fmt = trace_format_find("crtd");
  if (!fmt->write)
    return SIM_EFORMAT;
  bool is_stdout = !strcmp(path, "-");
  size_t plen = strlen(path);
  bool gz = plen > 3 && !strcmp(path + plen - 3, ".gz");
#ifndef SIM_HAVE_ZLIB
  if (gz)
    return SIM_EUNSUP;
#endif
  int fd = is_stdout ? dup(1) : open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return -errno;
  struct trace_writer *w = xcalloc(1, sizeof(*w));
  w->fd = fd;
  w->fmt = fmt;
  w->is_stdout = is_stdout;
  struct stat sb;
  w->prealloc = !is_stdout && !gz && fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode);
  trace_wstate_init(&w->ws);
#ifdef SIM_HAVE_ZLIB
  if (gz) {
    w->gz = gzdopen(fd, "wb");
    if (!w->gz) {
      close(fd);
      free(w);
      return -ENOMEM;
    }
    w->fd = -1;
  }
#endif
  *out = w;
  return 0;
}

/* Writes p[0, n) to the file.  Returns 0 or the first error (kept in w->err). */
static int put_out(struct trace_writer *w, const char *p, size_t n)
{
#ifdef SIM_HAVE_ZLIB
  if (w->gz) {
    while (n > 0) {
      unsigned k = n > (1u << 30) ? 1u << 30 : (unsigned)n;
      if (gzwrite(w->gz, p, k) != (int)k) {
        if (!w->err)
          w->err = -EIO;
        break;
      }
      p += k;
      n -= k;
    }
    return w->err;
  }
#endif
  /* The file system's room for the block first (without changing the file's size): one
   * allocation per block instead of the delayed allocation's accounting for every page the
   * write() fills (ext4: about 5 of the 15 ms the kernel spends on 64 MB of output).  Not
   * supported (or refused): left to write(). */
  if (w->prealloc) {
    if (fallocate(w->fd, FALLOC_FL_KEEP_SIZE, w->pos, (off_t)n) == 0)
      w->allocated = true;
    else
      w->prealloc = false;
  }
  while (n > 0) {
    ssize_t k = write(w->fd, p, n);
    if (k < 0) {
      if (errno == EINTR)
        continue;
      if (!w->err)
        w->err = -errno;
      break;
    }
    p += k;
    n -= (size_t)k;
    w->pos += k;
  }
  return w->err;
}

int trace_writer_flush(struct trace_writer *w)
{
  put_out(w, w->out.p, w->out.len);
  sbuf_reset(&w->out);
  return w->err;
}

int trace_writer_bytes(struct trace_writer *w, const char *p, size_t n)
{
  w->header_done = true; /* the copied lines carry the file's own header */
  if (n >= WRITER_DIRECT) {
    if (w->out.len && trace_writer_flush(w) < 0)
      return w->err;
    return put_out(w, p, n);
  }
  sbuf_add(&w->out, p, n);
  if (w->out.len >= WRITER_FLUSH)
    return trace_writer_flush(w);
  return w->err;
}

static void header(struct trace_writer *w, const struct trace_record *first)
{
  if (w->header_done)
    return;
  w->header_done = true;
  if (w->fmt->header)
    w->fmt->header(&w->ws, first, &w->out);
}

/* The format's line for rec into the buffer (the header is written): 1, or 0 when the format
 * cannot carry it (nothing added; counted as dropped). */
static inline int put_record(struct trace_writer *w, const struct trace_record *rec)
{
  size_t before = w->out.len;
  if (w->fmt->write(&w->ws, rec, &w->out) < 0) {
    w->out.len = before;
    if (w->out.p)
      w->out.p[before] = 0;
    w->ws.dropped++;
    return 0;
  }
  return 1;
}

int trace_writer_write(struct trace_writer *w, const struct trace_record *rec)
{
  if (rec->kind != TRACE_REC_FRAME && !(w->fmt->caps & TRACE_CAP_EVENTS)) {
    w->ws.dropped++;
    return 0;
  }
  if (!w->header_done) {
    /* the header takes its time from the first record the format can carry */
    struct trace_wstate probe = w->ws;
    struct sbuf scratch = SBUF_INIT;
    int prc = w->fmt->write(&probe, rec, &scratch);
    sbuf_free(&scratch);
    if (prc < 0) {
      w->ws.dropped++;
      return 0;
    }
    header(w, rec);
  }
  if (!put_record(w, rec))
    return 0;
  if (w->out.len >= WRITER_FLUSH && trace_writer_flush(w) < 0)
    return w->err;
  return 1;
}

int trace_writer_raw(struct trace_writer *w, const struct trace_record *rec, const char *s,
                     size_t n)
{
  if (!w->header_done) {
    w->header_done = true; /* the copied lines carry the file's own header */
    (void)rec;
  }
  sbuf_reserve(&w->out, n + 1);
  memcpy(w->out.p + w->out.len, s, n);
  w->out.len += n;
  w->out.p[w->out.len++] = '\n';
  w->out.p[w->out.len] = 0;
  w->ws.n++;
  if (w->out.len >= WRITER_FLUSH && trace_writer_flush(w) < 0)
    return w->err;
  return 1;
}

int trace_writer_frame(struct trace_writer *w, const struct sim_frame *f)
{
  struct trace_record rec;
  trace_record_clear(&rec);
  rec.kind = TRACE_REC_FRAME;
  rec.frame = *f;
  rec.ts = f->ts;
  rec.ts_relative = f->ts < INT64_C(100000000) * 1000000000;
  return trace_writer_write(w, &rec);
}

const struct trace_format *trace_writer_format(const struct trace_writer *w)
{
  return w->fmt;
}

unsigned long trace_writer_dropped(const struct trace_writer *w)
{
  return w->ws.dropped;
}

int trace_writer_close(struct trace_writer *w)
{
  if (!w)
    return 0;
  header(w, NULL);
  if (w->fmt->footer)
    w->fmt->footer(&w->ws, &w->out);
  trace_writer_flush(w);
  int err = w->err;
  if (err && w->allocated && ftruncate(w->fd, w->pos) < 0) {
    /* (the error is reported already; this only frees room allocated past what was written) */
  }
#ifdef SIM_HAVE_ZLIB
  if (w->gz && gzclose(w->gz) != Z_OK && !err)
    err = -EIO;
#endif
  if (w->fd >= 0 && close(w->fd) < 0 && !err)
    err = -errno;
  sbuf_free(&w->out);
  free(w);
  return err;
}

static int emit_bytes(void *ctx, const char *p, size_t n)
{
  return trace_writer_bytes(ctx, p, n);
}

/* A record read by trace_convert(), written and counted in st.  Returns 0, or a write error
 * (d filled). */
static int convert_one(struct trace_writer *w, const struct trace_record *rec,
                       const char *out_path, struct trace_convert_stats *st, struct sim_diag *d)
{
  st->records++;
  int wr = trace_writer_write(w, rec);
  if (wr < 0) {
    sim_diag_error(d, out_path, 0, 0, "write error: %s", sim_strerror(wr));
    return wr;
  }
  if (wr == 0) {
    st->dropped++;
  } else {
    st->written++;
    if (rec->kind == TRACE_REC_FRAME)
      st->frames++;
  }
  return 0;
}

#define CONVERT_AHEAD 64 /* records taken from the reader at a time (trace_reader_ahead) */

/* trace_convert() between two formats: record by record (whole runs of the reader's ordinary
 * frame lines at a time through trace_reader_ahead), or whole runs of lines through the
 * writer's convert_from when it has one.  Returns 0 at the end of the input, or an error (with
 * d filled). */
static int convert_records(struct trace_reader *r, struct trace_writer *w, bool keep_going,
                           const char *out_path, struct trace_convert_stats *st,
                           struct sim_diag *d)
{
  struct trace_record rec;
  struct trace_record ahead[CONVERT_AHEAD];
  bool fusable = w->fmt->convert_from != NULL;
  for (;;) {
    unsigned long fused;
    int rc;
    if (fusable && w->header_done && trace_reader_convert(r, w->fmt, &w->ws, &w->out, &fused)) {
      /* whole lines converted without the record (trace_format.convert_from) */
      st->records += fused;
      st->written += fused;
      st->frames += fused;
      if (w->out.len >= WRITER_FLUSH && (rc = trace_writer_flush(w)) < 0) {
        sim_diag_error(d, out_path, 0, 0, "write error: %s", sim_strerror(rc));
        return rc;
      }
      continue;
    }
    size_t k = w->header_done ? trace_reader_ahead(r, ahead, CONVERT_AHEAD) : 0;
    if (k) {
      /* frames after the header: trace_writer_write() without its tests, one flush test */
      for (size_t i = 0; i < k; i++) {
        int wr = put_record(w, &ahead[i]);
        st->written += (unsigned long)wr;
        st->frames += (unsigned long)wr;
        st->dropped += (unsigned long)!wr;
      }
      st->records += k;
      if (w->out.len >= WRITER_FLUSH && (rc = trace_writer_flush(w)) < 0) {
        sim_diag_error(d, out_path, 0, 0, "write error: %s", sim_strerror(rc));
        return rc;
      }
      continue;
    }
    rc = trace_reader_next(r, &rec, d);
    if (rc == 0)
      return 0;
    if (rc < 0) {
      if ((rc == SIM_EPARSE || rc == SIM_ETRUNC) && keep_going) {
        st->bad_lines++;
        continue;
      }
      return rc;
    }
    if ((rc = convert_one(w, &rec, out_path, st, d)) < 0)
      return rc;
  }
}

int trace_convert(const char *in_path, const char *out_path, const struct trace_convert_opts *o,
                  struct trace_convert_stats *stats, struct sim_diag *d)
{
  struct trace_convert_stats st = {0};
  struct trace_convert_opts def = {0};
  if (!o)
    o = &def;
  const struct trace_format *to = NULL;
  if (o->to) {
    to = trace_format_find(o->to);
    if (!to || !to->write) {
      sim_diag_error(d, NULL, 0, 0, "unknown output format '%s'", o->to);
      return SIM_EFORMAT;
    }
  }
  struct trace_reader_opts ro = {
      .format = o->from, .untimed_period = o->untimed_period, .map = true};
  struct trace_reader *r;
  int rc = trace_reader_open(&r, in_path, &ro, d);
  if (rc < 0)
    return rc;
  struct trace_writer *w;
  rc = trace_writer_open(&w, out_path, to);
  if (rc < 0) {
    sim_diag_error(d, out_path, 0, 0, "cannot create: %s", sim_strerror(rc));
    trace_reader_close(r);
    return rc;
  }
  if (trace_reader_format(r) == trace_writer_format(w)) {
    /* same format: copy every line that parses (header lines included, as they come) */
    rc = trace_reader_copy(r, emit_bytes, w, o->keep_going, &st, d);
    if (rc < 0 && rc != SIM_EPARSE && rc != SIM_ETRUNC && w->err)
      sim_diag_error(d, out_path, 0, 0, "write error: %s", sim_strerror(rc));
  } else {
    rc = convert_records(r, w, o->keep_going, out_path, &st, d);
  }
  int crc = trace_writer_close(w);
  if (rc >= 0 && crc < 0) {
    sim_diag_error(d, out_path, 0, 0, "write error: %s", sim_strerror(crc));
    rc = crc;
  }
  trace_reader_close(r);
  if (stats)
    *stats = st;
  return rc < 0 ? rc : 0;
}
