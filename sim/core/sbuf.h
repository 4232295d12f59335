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

/* For a buffer that holds a secret (a password, a file of them).  Growing with sbuf_reserve()
 * may leave a copy of the contents in memory that realloc() freed; these do not. */
/* As sbuf_reserve(), but when the buffer must grow its contents move to new memory and the
 * old memory is wiped (all of it, also what a reset left behind) before it is freed. */
void sbuf_reserve_secret(struct sbuf *b, size_t extra);
/* As sbuf_read_file(), without a stdio buffer or a copy on the stack: the bytes go straight
 * into b, grown with sbuf_reserve_secret().  Returns 0, or -errno. */
int sbuf_read_file_secret(struct sbuf *b, const char *path);
/* Wipes the whole memory of b (its capacity, not only len bytes) and frees it; the buffer is
 * empty and usable again afterwards. */
void sbuf_free_secret(struct sbuf *b);
/* Hands the memory to the caller (who frees it) and empties the buffer.  Never NULL. */
char *sbuf_detach(struct sbuf *b);

#endif
