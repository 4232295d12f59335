/*
 * json.h - a small JSON reader (RFC 8259) for the files the program writes itself and reads
 * back: the run report of --report (ovms-sim plot).  Text in, a tree out; no I/O.  And the
 * one string writer of everything the program writes as JSON.
 *
 * Strings keep their escapes decoded to UTF-8 (\uXXXX, surrogate pairs); numbers are doubles.
 * Nesting is limited to JSON_MAX_DEPTH levels, so a hostile file cannot exhaust the stack.
 */
#ifndef SIM_CORE_JSON_H
#define SIM_CORE_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include "core/diag.h"

struct sbuf;

#define JSON_MAX_DEPTH 64

enum json_type { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

struct json_value {
  enum json_type type;
  bool b;
  double num;
  char *str;                 /* JSON_STRING: NUL-terminated (may hold NULs: len) */
  size_t len;                /* JSON_STRING: bytes; ARRAY/OBJECT: items */
  struct json_value *items;  /* ARRAY/OBJECT: len values */
  char **keys;               /* OBJECT: len keys, NUL-terminated */
  int line, col;             /* where the value starts in the text */
};

/*
 * Parses the n bytes of text (one JSON value, white space around it) into *out, which the
 * caller frees with json_free().  file names the input in diagnostics.  Returns 0, or
 * SIM_EPARSE with one "file:line:col" error in d (then *out holds nothing to free).
 */
int json_parse(const char *text, size_t n, const char *file, struct json_value *out,
               struct sim_diag *d);
/* Frees what json_parse() allocated in v (v itself is the caller's). */
void json_free(struct json_value *v);
/* The member key of object v, or NULL (also when v is not an object). */
const struct json_value *json_get(const struct json_value *v, const char *key);
/* Appends the n bytes of s to out as a JSON string: " and \\ escaped, \n \r \t as such, the
 * other control characters as \u00XX, every other byte as it is (UTF-8 passes through). */
void json_write_string(const char *s, size_t n, struct sbuf *out);

#endif
