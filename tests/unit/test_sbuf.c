/*
 * test_sbuf.c - the growable text buffer: growth by doubling from 64 bytes, always
 * NUL-terminated contents, formatting longer than the free space (never truncated), embedded
 * NUL bytes, reset keeping the memory, detach handing it over, reading a file (appended,
 * bytes as they are, errors as -errno); the secret variants wipe every byte they ever held
 * before the memory is freed.
 */
#include "testutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/array.h"
#include "core/sbuf.h"
#include "core/xalloc.h"

/* sbuf_reserve(extra) on an empty buffer: the capacity is the first power-of-two multiple of
 * 64 that holds extra bytes and the NUL. */
static void test_growth(void **state)
{
  static const struct {
    size_t extra, cap;
  } cases[] = {
    {0, 64}, {1, 64}, {63, 64}, {64, 128}, {127, 128}, {128, 256}, {1000, 1024}, {4095, 4096},
    {4096, 8192},
  };
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    struct sbuf b = SBUF_INIT;
    sbuf_reserve(&b, cases[i].extra);
    if (b.cap != cases[i].cap)
      fail_msg("reserve(%zu): capacity %zu, want %zu", cases[i].extra, b.cap, cases[i].cap);
    assert_int_equal(b.len, 0);
    sbuf_free(&b);
  }
  /* appending one byte at a time doubles the capacity when len + NUL no longer fits */
  struct sbuf b = SBUF_INIT;
  for (size_t n = 1; n <= 300; n++) {
    sbuf_addc(&b, (char)('a' + n % 26));
    size_t want = n < 64 ? 64 : n < 128 ? 128 : n < 256 ? 256 : 512;
    if (b.len != n || b.cap != want || b.p[n] != '\0')
      fail_msg("after %zu bytes: len %zu cap %zu", n, b.len, b.cap);
  }
  /* a reserve that already fits changes nothing */
  char *p = b.p;
  sbuf_reserve(&b, 511 - b.len);
  assert_ptr_equal(b.p, p);
  assert_int_equal(b.cap, 512);
  sbuf_free(&b);
  (void)state;
}

static void test_append(void **state)
{
  struct sbuf b = SBUF_INIT;
  assert_string_equal(sbuf_str(&b), ""); /* never written: "" and no memory */
  assert_null(b.p);
  sbuf_adds(&b, "topic");
  sbuf_addc(&b, '/');
  sbuf_add(&b, "metricXYZ", 6);
  sbuf_add(&b, NULL, 0);
  assert_string_equal(sbuf_str(&b), "topic/metric");
  assert_int_equal(b.len, 12);
  /* embedded NUL bytes count in len; the contents stay terminated after them */
  sbuf_add(&b, "a\0b", 3);
  assert_int_equal(b.len, 15);
  assert_memory_equal(b.p + 12, "a\0b\0", 4);
  sbuf_free(&b);
  (void)state;
}

/* printf appends; output longer than the free space is formatted again after growing, so
 * nothing is cut off. */
static void test_printf(void **state)
{
  static const struct {
    const char *prefix;
    int width; /* %*d field width */
    int value;
  } cases[] = {
    {"", 1, 7}, {"x", 62, 7}, {"x", 63, 7}, {"x", 64, 7}, {"", 200, -3}, {"abc", 5000, 42},
  };
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    struct sbuf b = SBUF_INIT;
    sbuf_adds(&b, cases[i].prefix);
    sbuf_printf(&b, "%*d|%s", cases[i].width, cases[i].value, "end");
    char want[6000];
    int n = snprintf(want, sizeof(want), "%s%*d|%s", cases[i].prefix, cases[i].width,
                     cases[i].value, "end");
    assert_int_equal(b.len, (size_t)n);
    assert_string_equal(sbuf_str(&b), want);
    assert_true(b.cap > b.len);
    sbuf_free(&b);
  }
  struct sbuf b = SBUF_INIT;
  sbuf_printf(&b, "%s", ""); /* empty output: a valid empty string */
  assert_string_equal(sbuf_str(&b), "");
  assert_int_equal(b.len, 0);
  sbuf_printf(&b, "%.3f %s %u", 1.5, "kWh", 42u);
  assert_string_equal(sbuf_str(&b), "1.500 kWh 42");
  sbuf_free(&b);
  (void)state;
}

static void test_reset_free_detach(void **state)
{
  struct sbuf b = SBUF_INIT;
  sbuf_printf(&b, "%0100d", 1);
  size_t cap = b.cap;
  char *p = b.p;
  sbuf_reset(&b);
  assert_int_equal(b.len, 0);
  assert_string_equal(sbuf_str(&b), "");
  assert_ptr_equal(b.p, p); /* reset keeps the memory */
  assert_int_equal(b.cap, cap);
  sbuf_adds(&b, "again");
  char *d = sbuf_detach(&b);
  assert_string_equal(d, "again");
  assert_null(b.p); /* detached: the buffer is empty and usable */
  assert_int_equal(b.len, 0);
  assert_int_equal(b.cap, 0);
  free(d);
  d = sbuf_detach(&b); /* never NULL, even for a buffer never written */
  assert_non_null(d);
  assert_string_equal(d, "");
  free(d);
  sbuf_adds(&b, "x");
  sbuf_free(&b);
  assert_null(b.p);
  sbuf_free(&b); /* twice is harmless */
  sbuf_reset(&b);
  assert_string_equal(sbuf_str(&b), "");
  (void)state;
}

/* Writes n bytes to a new temporary file; returns its path (static). */
static const char *temp_bytes(const char *data, size_t n)
{
  static char path[64];
  snprintf(path, sizeof(path), "/tmp/ovms-sim-sbuf-XXXXXX");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, data, n), (ssize_t)n);
  close(fd);
  return path;
}

/* sbuf_read_file() appends the whole file, in several reads when it is larger than one
 * (8 KiB), bytes as they are (NUL included); an error leaves the contents as they were. */
static void test_sbuf_read_file(void **state)
{
  enum { N = 20000 };
  char *data = malloc(N);
  assert_non_null(data);
  for (size_t k = 0; k < N; k++)
    data[k] = (char)(k % 251); /* NUL bytes at every 251st position */
  const char *path = temp_bytes(data, N);
  struct sbuf b = SBUF_INIT;
  sbuf_adds(&b, "head:");
  assert_int_equal(sbuf_read_file(&b, path), 0);
  assert_int_equal(b.len, 5 + N);
  assert_memory_equal(b.p, "head:", 5);
  assert_memory_equal(b.p + 5, data, N);
  assert_int_equal(b.p[b.len], '\0');
  assert_int_equal(sbuf_read_file(&b, path), 0); /* appends again */
  assert_int_equal(b.len, 5 + 2 * N);
  assert_memory_equal(b.p + 5 + N, data, N);
  unlink(path);
  free(data);

  /* an empty file: nothing added, still a valid empty string */
  struct sbuf e = SBUF_INIT;
  path = temp_bytes("", 0);
  assert_int_equal(sbuf_read_file(&e, path), 0);
  assert_int_equal(e.len, 0);
  assert_string_equal(sbuf_str(&e), "");
  unlink(path);

  /* a missing file and a folder (opened, but reading fails): -errno, contents kept */
  sbuf_reset(&b);
  sbuf_adds(&b, "kept");
  assert_int_equal(sbuf_read_file(&b, "/nonexistent/ovms-sim/x"), -ENOENT);
  assert_string_equal(sbuf_str(&b), "kept");
  assert_int_equal(sbuf_read_file(&b, "/tmp"), -EISDIR);
  assert_string_equal(sbuf_str(&b), "kept");
  sbuf_free(&b);
  sbuf_free(&e);
  (void)state;
}

/* The free watch sees what a plain free leaves: without a wipe the bytes are still there (so
 * the checks below can fail). */
static void test_free_watch_works(void **state)
{
  char *s = xstrdup("hunter2");
  test_free_watch(s, 8);
  free(s);
  assert_int_equal(test_free_result(), TEST_FREE_WATCH ? 0 : -1);
  (void)state;
}

static void test_secret_free(void **state)
{
  /* the whole capacity, also what a reset left behind after len */
  struct sbuf b = SBUF_INIT;
  sbuf_adds(&b, "a-long-password-of-the-car");
  sbuf_reset(&b);
  sbuf_adds(&b, "x");
  assert_int_equal(b.cap, 64);
  test_free_watch(b.p, b.cap);
  sbuf_free_secret(&b);
  assert_int_equal(test_free_result(), TEST_FREE_WATCH ? 1 : -1);
  assert_null(b.p);
  assert_int_equal(b.cap, 0);
  sbuf_free_secret(&b); /* an empty buffer: nothing to wipe */
  char *s = xstrdup("hunter2");
  test_free_watch(s, 8);
  xfree_secret(s);
  assert_int_equal(test_free_result(), TEST_FREE_WATCH ? 1 : -1);
  xfree_secret(NULL);
  (void)state;
}

static void test_secret_grow(void **state)
{
  struct sbuf b = SBUF_INIT;
  sbuf_reserve_secret(&b, 10); /* a first allocation as sbuf_reserve()'s */
  assert_int_equal(b.cap, 64);
  assert_string_equal(sbuf_str(&b), "");
  sbuf_adds(&b, "secret");
  char *old = b.p;
  sbuf_reserve_secret(&b, 10); /* fits: nothing moves */
  assert_ptr_equal(b.p, old);
  test_free_watch(old, 64);
  sbuf_reserve_secret(&b, 100); /* grows: the contents move, the old memory is wiped */
  assert_int_equal(test_free_result(), TEST_FREE_WATCH ? 1 : -1);
  assert_int_equal(b.cap, 128);
  assert_int_equal(b.len, 6);
  assert_string_equal(sbuf_str(&b), "secret");
  sbuf_free_secret(&b);
  (void)state;
}

static void test_secret_read(void **state)
{
  /* the same bytes as sbuf_read_file(), appended after what b holds; larger than a first
   * allocation */
  char data[5000];
  for (size_t i = 0; i < sizeof(data) - 1; i++)
    data[i] = (char)(i % 97 ? 'a' + i % 26 : '\n');
  data[sizeof(data) - 1] = '\0';
  const char *path = test_write_temp(".txt", data);
  struct sbuf a = SBUF_INIT, b = SBUF_INIT;
  sbuf_adds(&a, "head:");
  sbuf_adds(&b, "head:");
  assert_int_equal(sbuf_read_file(&a, path), 0);
  assert_int_equal(sbuf_read_file_secret(&b, path), 0);
  assert_int_equal(b.len, 5 + sizeof(data) - 1);
  assert_int_equal(a.len, b.len);
  assert_memory_equal(a.p, b.p, a.len + 1);
  unlink(path);
  assert_int_equal(sbuf_read_file_secret(&b, path), -ENOENT);
  assert_int_equal(b.len, a.len); /* unchanged */
  sbuf_reset(&b);
  assert_int_equal(sbuf_read_file_secret(&b, "/"), -EISDIR);
  assert_int_equal(b.len, 0);
  path = test_write_temp(".txt", "");
  assert_int_equal(sbuf_read_file_secret(&b, path), 0); /* empty */
  assert_int_equal(b.len, 0);
  unlink(path);
  sbuf_free(&a);
  sbuf_free_secret(&b);
  (void)state;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_growth),
    cmocka_unit_test(test_append),
    cmocka_unit_test(test_printf),
    cmocka_unit_test(test_reset_free_detach),
    cmocka_unit_test(test_sbuf_read_file),
    cmocka_unit_test(test_free_watch_works),
    cmocka_unit_test(test_secret_free),
    cmocka_unit_test(test_secret_grow),
    cmocka_unit_test(test_secret_read),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
