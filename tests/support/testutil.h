/*
 * testutil.h - helpers shared by the cmocka tests.
 *
 * cmocka's headers need <stdarg.h>, <stddef.h>, <stdint.h> and <setjmp.h> first; include this
 * header instead of <cmocka.h>.
 */
#ifndef SIM_TESTUTIL_H
#define SIM_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

/* Exit code CTest treats as "skipped" (SKIP_RETURN_CODE). */
#define TEST_SKIP_EXIT 77

/* The repository root (OVMS_SIM_SRC, or the compiled-in source dir) + "/" + rel.  Returns a
 * static buffer, valid until the next call. */
const char *test_src_path(const char *rel);
/* tests/data/<rel>. */
const char *test_data_path(const char *rel);
/* Reads a whole file into a malloc'd NUL-terminated buffer; *len may be NULL.  Fails the
 * test if unreadable. */
char *test_read_file(const char *path, size_t *len);
/* Writes data to a new temporary file and returns its path (static buffer per call
 * sequence: copy it). */
const char *test_write_temp(const char *suffix, const char *data);
/* Runs argv (NULL-terminated) with stdin from /dev/null, capturing stdout and stderr into
 * malloc'd strings (either pointer may be NULL).  Returns the exit status, or 128+signal. */
int test_run(char *const argv[], char **out, char **err);
/* Path of the ovms-sim program under test (OVMS_SIM_BIN). */
const char *test_sim_bin(void);

/*
 * What memory held when it was freed, for the tests that a password is wiped first.  In a
 * build with AddressSanitizer (TEST_FREE_WATCH 1) test_free_watch(p, n) arms a free hook
 * (__sanitizer_install_malloc_and_free_hooks) that, when p is freed, records whether its
 * first n bytes were all zero; test_free_result() then returns 1 (all zero), 0 (not), or -1
 * (p was not freed since the watch).  Without the sanitizer there is no hook: the result is
 * always -1 and a test checks only what it can see before the free.
 */
#if defined(__SANITIZE_ADDRESS__)
#define TEST_FREE_WATCH 1
#else
#define TEST_FREE_WATCH 0
#endif
void test_free_watch(const void *p, size_t n);
int test_free_result(void);

#endif
