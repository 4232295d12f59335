/*
 * xalloc.c - see xalloc.h.
 */
#include "core/xalloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void oom(size_t n)
{
  fprintf(stderr, "ovms-sim: out of memory (allocating %zu bytes)\n", n);
  abort();
}

void *xmalloc(size_t n)
{
  void *p = malloc(n ? n : 1);
  if (!p)
    oom(n);
  return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
  void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
  if (!p)
    oom(nmemb * size);
  return p;
}

void *xrealloc(void *p, size_t n)
{
  void *q = realloc(p, n ? n : 1);
  if (!q)
    oom(n);
  return q;
}

void xgrow(void **p, size_t *cap, size_t need, size_t elem)
{
  if (need <= *cap)
    return;
  size_t c = *cap ? *cap : 8;
  while (c < need) {
    if (c > SIZE_MAX / 2)
      oom(SIZE_MAX);
    c *= 2;
  }
  if (elem && c > SIZE_MAX / elem)
    oom(SIZE_MAX);
  *p = xrealloc(*p, c * elem);
  *cap = c;
}

char *xstrdup(const char *s)
{
  return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
  char *d = xmalloc(n + 1);
  memcpy(d, s, n);
  d[n] = '\0';
  return d;
}

void xfree_secret(char *s)
{
  if (s)
    explicit_bzero(s, strlen(s));
  free(s);
}
