/*
 * sbuf.c - see sbuf.h.
 */
#include "core/sbuf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

void sbuf_reserve(struct sbuf *b, size_t extra)
{
  size_t need = b->len + extra + 1;
  if (need <= b->cap)
    return;
  size_t c = b->cap ? b->cap : 64;
  while (c < need)
    c *= 2;
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
