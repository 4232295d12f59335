/*
 * array.h - ARRAY_SIZE, the element count of an array, for the tables that drive the
 * simulator (decoders, keys, units, test cases).
 *
 * Use it on arrays only: on a pointer it silently gives sizeof(pointer) / sizeof(element).
 * With GCC and Clang a pointer argument is a compile error (the check the Linux kernel's
 * include/linux/array_size.h makes with __must_be_array).
 */
#ifndef SIM_ARRAY_H
#define SIM_ARRAY_H

#include <stddef.h>

#if defined(__GNUC__)
/* 0, or a compile error when a is a pointer rather than an array. */
#define SIM_MUST_BE_ARRAY(a)                                                               \
  (0 * sizeof(char[1 - 2 * __builtin_types_compatible_p(__typeof__(a), __typeof__(&(a)[0]))]))
#else
#define SIM_MUST_BE_ARRAY(a) 0
#endif

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]) + SIM_MUST_BE_ARRAY(a))

#endif
