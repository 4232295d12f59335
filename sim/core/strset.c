/*
 * strset.c - the string set of strset.h.
 */
#include "core/strset.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/fnv.h"
#include "core/xalloc.h"

static size_t hash(const char *s)
{
  return (size_t)sim_fnv1a64(s);
}

/* The slot of s: where it is, or the free slot where it would go.  cap is a power of 2 and
 * at least one slot is free. */
static size_t slot(const struct sim_strset *set, const char *s)
{
  size_t mask = set->cap - 1;
  size_t i = hash(s) & mask;
  while (set->v[i] && strcmp(set->v[i], s))
    i = (i + 1) & mask;
  return i;
}

static void grow(struct sim_strset *set)
{
  struct sim_strset big = {xcalloc(set->cap ? 2 * set->cap : 16, sizeof(const char *)),
                           set->n, set->cap ? 2 * set->cap : 16};
  for (size_t i = 0; i < set->cap; i++)
    if (set->v[i])
      big.v[slot(&big, set->v[i])] = set->v[i];
  free(set->v);
  *set = big;
}

bool sim_strset_add(struct sim_strset *set, const char *s)
{
  if (2 * (set->n + 1) > set->cap)
    grow(set);
  size_t i = slot(set, s);
  if (set->v[i])
    return false;
  set->v[i] = s;
  set->n++;
  return true;
}

void sim_strset_free(struct sim_strset *set)
{
  free(set->v);
  *set = (struct sim_strset)SIM_STRSET_INIT;
}
