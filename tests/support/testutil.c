/*
 * testutil.c - see testutil.h.
 */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/sbuf.h"

const char *test_src_path(const char *rel)
{
  static char buf[4096];
  const char *root = getenv("OVMS_SIM_SRC");
  snprintf(buf, sizeof(buf), "%s/%s", root ? root : ".", rel);
  return buf;
}

const char *test_data_path(const char *rel)
{
  static char buf[4096];
  const char *root = getenv("OVMS_SIM_SRC");
  snprintf(buf, sizeof(buf), "%s/tests/data/%s", root ? root : ".", rel);
  return buf;
}

char *test_read_file(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  if (!f)
    fail_msg("cannot open %s: %s", path, strerror(errno));
  struct sbuf b = SBUF_INIT;
  char tmp[65536];
  size_t n;
  while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
    sbuf_add(&b, tmp, n);
  fclose(f);
  if (len)
    *len = b.len;
  return sbuf_detach(&b);
}

const char *test_write_temp(const char *suffix, const char *data)
{
  static char path[256];
  snprintf(path, sizeof(path), "/tmp/ovms-sim-test-XXXXXX%s", suffix ? suffix : "");
  int fd = mkstemps(path, suffix ? (int)strlen(suffix) : 0);
  if (fd < 0)
    fail_msg("mkstemps: %s", strerror(errno));
  size_t len = strlen(data);
  if (write(fd, data, len) != (ssize_t)len)
    fail_msg("write: %s", strerror(errno));
  close(fd);
  return path;
}

static void drain(int fd, struct sbuf *b)
{
  char tmp[65536];
  ssize_t n;
  while ((n = read(fd, tmp, sizeof(tmp))) > 0)
    sbuf_add(b, tmp, (size_t)n);
}

int test_run(char *const argv[], char **out, char **err)
{
  char opath[] = "/tmp/ovms-sim-out-XXXXXX", epath[] = "/tmp/ovms-sim-err-XXXXXX";
  int ofd = mkstemp(opath), efd = mkstemp(epath);
  if (ofd < 0 || efd < 0)
    fail_msg("mkstemp: %s", strerror(errno));
  unlink(opath);
  unlink(epath);
  pid_t pid = fork();
  if (pid < 0)
    fail_msg("fork: %s", strerror(errno));
  if (pid == 0) {
    int nul = open("/dev/null", O_RDONLY);
    dup2(nul, 0);
    dup2(ofd, 1);
    dup2(efd, 2);
    execv(argv[0], argv);
    _exit(127);
  }
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  struct sbuf ob = SBUF_INIT, eb = SBUF_INIT;
  lseek(ofd, 0, SEEK_SET);
  lseek(efd, 0, SEEK_SET);
  drain(ofd, &ob);
  drain(efd, &eb);
  close(ofd);
  close(efd);
  if (out)
    *out = sbuf_detach(&ob);
  if (err)
    *err = sbuf_detach(&eb);
  sbuf_free(&ob);
  sbuf_free(&eb);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

const char *test_sim_bin(void)
{
  const char *p = getenv("OVMS_SIM_BIN");
  return p ? p : "./sim/ovms-sim";
}

static const volatile void *watched;
static size_t watched_len;
static int watched_result = -1;

#if TEST_FREE_WATCH
int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void *, size_t),
                                              void (*free_hook)(const volatile void *));

static void on_malloc(const volatile void *p, size_t n)
{
  (void)p;
  (void)n;
}

/* called before the memory is released, while it is still readable */
static void on_free(const volatile void *p)
{
  if (!watched || p != watched)
    return;
  const volatile unsigned char *c = p;
  watched_result = 1;
  for (size_t i = 0; i < watched_len; i++)
    if (c[i])
      watched_result = 0;
  watched = NULL;
}
#endif

void test_free_watch(const void *p, size_t n)
{
#if TEST_FREE_WATCH
  static int installed;
  if (!installed++)
    __sanitizer_install_malloc_and_free_hooks(on_malloc, on_free);
#endif
  watched = p;
  watched_len = n;
  watched_result = -1;
}

int test_free_result(void)
{
  return watched_result;
}
