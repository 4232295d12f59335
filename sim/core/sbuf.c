/*
 * sbuf.c - see sbuf.h.
 */
#include "core/sbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/xalloc.h"

/* The capacity b needs for extra more bytes and the NUL: the current one when that fits (0
 * then), else the first doubling of it (from 64) that does. */
static size_t grown_cap(const struct sbuf *b, size_t extra)
{
  size_t need = b->len + extra + 1;
  if (need <= b->cap)
    return 0;
  size_t c = b->cap ? b->cap : 64;
  while (c < need)
    c *= 2;
  return c;
}

void sbuf_reserve(struct sbuf *b, size_t extra)
{
  size_t c = grown_cap(b, extra);
  if (!c)
    return;
  b->p = xrealloc(b->p, c);
  b->cap = c;
}

void sbuf_add(struct sbuf *b, const void *data, size_t n)
{
  sbuf_reserve(b, n);
  if (n)
    memcpy(b->p + b->len, data, n);
  b->len += n;
  b->p[b->len] = '\0';
}

void sbuf_addc(struct sbuf *b, char c)
{
  sbuf_reserve(b, 1);
  b->p[b->len++] = c;
  b->p[b->len] = '\0';
}

void sbuf_adds(struct sbuf *b, const char *s)
{
  sbuf_add(b, s, strlen(s));
}

void sbuf_vprintf(struct sbuf *b, const char *fmt, va_list ap)
{
  va_list aq;
  va_copy(aq, ap);
  sbuf_reserve(b, 64);
  int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
  if (n >= 0 && (size_t)n >= b->cap - b->len) {
    sbuf_reserve(b, (size_t)n);
    n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, aq);
  }
  va_end(aq);
  if (n > 0)
    b->len += (size_t)n;
  b->p[b->len] = '\0';
}

void sbuf_printf(struct sbuf *b, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  sbuf_vprintf(b, fmt, ap);
  va_end(ap);
}

void sbuf_reset(struct sbuf *b)
{
  b->len = 0;
  if (b->p)
    b->p[0] = '\0';
}

const char *sbuf_str(const struct sbuf *b)
{
  return b->p ? b->p : "";
}

void sbuf_free(struct sbuf *b)
{
  free(b->p);
  b->p = NULL;
  b->len = b->cap = 0;
}

char *sbuf_detach(struct sbuf *b)
{
  char *p = b->p ? b->p : xstrdup("");
  b->p = NULL;
  b->len = b->cap = 0;
  return p;
}

int sbuf_read_file(struct sbuf *b, const char *path)
{
  FILE *f = fopen(path, "rb");
  if (!f)
    return -errno;
  char chunk[8192];
  size_t n;
  while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
    sbuf_add(b, chunk, n);
  int e = ferror(f) ? errno : 0;
  fclose(f);
  return e ? -e : 0;
}

void sbuf_reserve_secret(struct sbuf *b, size_t extra)
{
  size_t c = grown_cap(b, extra);
  if (!c)
    return;
  char *p = xmalloc(c);
  if (b->p) {
    memcpy(p, b->p, b->len + 1);
    explicit_bzero(b->p, b->cap);
    free(b->p);
  } else {
    p[0] = '\0';
  }
  b->p = p;
  b->cap = c;
}

int sbuf_read_file_secret(struct sbuf *b, const char *path)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  struct stat st;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
    sbuf_reserve_secret(b, (size_t)st.st_size + 1); /* + 1: the read that sees the end */
  int rc = 0;
  for (;;) {
    /* room for one byte and the NUL at least; a file larger than it said doubles b */
    sbuf_reserve_secret(b, b->cap - b->len >= 2 ? 1 : b->cap + 64);
    ssize_t n = read(fd, b->p + b->len, b->cap - b->len - 1);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      rc = -errno;
    if (n <= 0)
      break;
    b->len += (size_t)n;
    b->p[b->len] = '\0';
  }
  close(fd);
  return rc;
}

void sbuf_free_secret(struct sbuf *b)
{
  if (b->p)
    explicit_bzero(b->p, b->cap);
  sbuf_free(b);
}
