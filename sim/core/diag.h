/*
 * diag.h - diagnostics with a location, for everything that parses input.
 *
 * Parsers (scenario YAML, config files, trace lines, command-line values) take a struct
 * sim_diag and record each problem with file, line and column.  Library code never prints;
 * main() formats the entries as "file:line:col: error: message" and exits 2.  A parser that
 * can continue after an error records every error it finds (ovms-sim validate lists them all).
 */
#ifndef SIM_DIAG_H
#define SIM_DIAG_H

#include <stddef.h>

#include "core/sbuf.h"

enum sim_diag_level { SIM_DIAG_ERROR, SIM_DIAG_WARNING };

struct sim_diag_entry {
  enum sim_diag_level level;
  char *file; /* owned; "" when the input has no name */
  int line;   /* 1-based; 0 when unknown */
  int col;    /* 1-based; 0 when unknown */
  char *msg;  /* owned */
};

struct sim_diag {
  struct sim_diag_entry *v;
  size_t n, cap;
  size_t errors;   /* entries with level SIM_DIAG_ERROR */
  size_t max;      /* stop recording after this many entries (0 = 100); the last one then
                      says "too many problems, the rest are not reported" */
};

#define SIM_DIAG_INIT {NULL, 0, 0, 0, 0}

void sim_diag_init(struct sim_diag *d);
void sim_diag_cleanup(struct sim_diag *d);

/*
 * Records an error.  d may be NULL (the error is then only returned).  file may be NULL.
 * Returns SIM_EPARSE, so that parsers can write "return sim_diag_error(...)".
 */
int sim_diag_error(struct sim_diag *d, const char *file, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Records a warning (not counted in errors).  Returns 0. */
int sim_diag_warn(struct sim_diag *d, const char *file, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* The message of the last entry recorded, "" when there is none (d may be NULL). */
const char *sim_diag_last(const struct sim_diag *d);

/* Appends the message of every entry (no location, no level), one per line, to out, without
 * a final newline; nothing when d is NULL or empty.  For a caller that reports one line of
 * text per problem, e.g. "ovms-sim: msg". */
void sim_diag_join(const struct sim_diag *d, struct sbuf *out);

/* Appends "file:line:col: error: msg" (fields left out when unknown) to out, without newline. */
void sim_diag_format(const struct sim_diag_entry *e, struct sbuf *out);

#endif
