/*
 * xalloc.h - allocation that cannot fail.
 *
 * Running out of memory is not a condition ovms-sim recovers from: these wrappers abort with a
 * message instead of returning NULL, so that callers need no error path for it (the approach of
 * redis' zmalloc and git's xmalloc).  Everything else about errors follows error.h.
 */
#ifndef SIM_XALLOC_H
#define SIM_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
/* Grows *p (an array of elem-sized items with capacity *cap) to hold at least need items. */
void xgrow(void **p, size_t *cap, size_t need, size_t elem);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Overwrites the string s (its strlen() bytes) with zeros the compiler cannot leave out
 * (explicit_bzero) and frees it; NULL is fine.  Every copy of a password ends here, so that
 * freed memory (reused by the next allocation, or in a core dump) does not hold it. */
void xfree_secret(char *s);

#endif
