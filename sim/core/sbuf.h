/*
 * sbuf.h - a growable, always NUL-terminated byte buffer.
 *
 * Used wherever text is built: metric payloads, topics, shell output, trace lines.  A buffer
 * that is reset and reused keeps its capacity, so hot paths allocate nothing once warm.
 * A zero-initialised struct sbuf is a valid empty buffer.
 */
#ifndef SIM_SBUF_H
#define SIM_SBUF_H

#include <stdarg.h>
#include <stddef.h>

struct sbuf {
  char *p;    /* NUL-terminated contents (NULL while nothing was ever added) */
  size_t len; /* bytes in use, not counting the NUL */
  size_t cap; /* bytes allocated */
};

#define SBUF_INIT {NULL, 0, 0}

void sbuf_reserve(struct sbuf *b, size_t extra);
void sbuf_add(struct sbuf *b, const void *data, size_t n);
void sbuf_addc(struct sbuf *b, char c);
void sbuf_adds(struct sbuf *b, const char *s);
void sbuf_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sbuf_vprintf(struct sbuf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Empties the buffer, keeping its memory. */
void sbuf_reset(struct sbuf *b);
/* Appends the whole contents of the file at path.  Returns 0, or -errno (what was read before
 * an error stays appended). */
int sbuf_read_file(struct sbuf *b, const char *path);
/* The contents as a C string; "" for a buffer never written. */
const char *sbuf_str(const struct sbuf *b);
/* Frees the memory; the buffer is empty and usable again afterwards. */
void sbuf_free(struct sbuf *b);
/* Hands the memory to the caller (who frees it) and empties the buffer.  Never NULL. */
char *sbuf_detach(struct sbuf *b);

#endif
