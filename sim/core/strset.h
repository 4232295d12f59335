/*
 * strset.h - a set of strings for duplicate checks on input: open addressing with FNV-1a,
 * growing at half load, so that n additions cost linear time rather than quadratic (a
 * scenario set: of 200,000 keys, a config file of 100,000 keys).
 *
 * The set borrows its strings: each must stay valid, unchanged, until sim_strset_free().
 */
#ifndef SIM_STRSET_H
#define SIM_STRSET_H

#include <stdbool.h>
#include <stddef.h>

struct sim_strset {
  const char **v; /* cap slots, NULL when free */
  size_t n, cap;
};

#define SIM_STRSET_INIT {NULL, 0, 0}

/* Adds s; false (and nothing added) when an equal string is there already. */
bool sim_strset_add(struct sim_strset *set, const char *s);
void sim_strset_free(struct sim_strset *set);

#endif
