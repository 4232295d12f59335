/*
 * fnv.h - the 64-bit FNV-1a hash of a NUL-terminated string, for the string-keyed hash
 * tables (core/strset.c; server/common/auth_core.c, which takes it as a header only, as it
 * takes core/array.h, so the server links nothing from sim/).
 *
 * Offset basis 14695981039346656037 and prime 1099511628211: the 64-bit parameters of
 * http://www.isthe.com/chongo/tech/comp/fnv/ ("FNV-1a alternate algorithm").
 */
#ifndef SIM_CORE_FNV_H
#define SIM_CORE_FNV_H

#include <stdint.h>

static inline uint64_t sim_fnv1a64(const char *s)
{
  uint64_t h = UINT64_C(14695981039346656037);
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
  return h;
}

#endif
