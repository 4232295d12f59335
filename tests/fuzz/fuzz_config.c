/*
 * fuzz_config.c - libFuzzer target for the configuration store: YAML config files
 * (sim_config_load_yaml) and dotted keys with values (sim_config_set_key, as --set).
 *
 * The input is written to a memfd and loaded as a config file (with the Server V3 keys
 * declared, as main() does): the result is 0 or SIM_EPARSE, and a rejection records at least
 * one error with a line and a column.  Then every input line is split at its first ':' or '='
 * into key and value and given to sim_config_set_key(): the result is 0, SIM_ENOTFOUND,
 * SIM_EPARSE or SIM_ERANGE; a rejection explains itself in err; an accepted value reads back
 * unchanged with sim_config_get().
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "model/config.h"
#include "core/error.h"
#include "core/sbuf.h"
#include "v3/v3.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void load_file(struct sim_config *c, const uint8_t *data, size_t size)
{
  int fd = memfd_create("fuzz.yaml", 0);
  if (fd < 0)
    abort();
  size_t done = 0;
  while (done < size) {
    ssize_t w = write(fd, data + done, size - done);
    if (w <= 0)
      abort();
    done += (size_t)w;
  }
  char path[64];
  snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
  struct sim_diag d = SIM_DIAG_INIT;
  int rc = sim_config_load_yaml(c, path, &d);
  if (rc != 0 && rc != SIM_EPARSE)
    abort();
  if (rc < 0) {
    bool located = false;
    for (size_t i = 0; i < d.n; i++)
      if (d.v[i].level == SIM_DIAG_ERROR && d.v[i].line > 0 && d.v[i].col > 0)
        located = true;
    if (!located)
      abort();
  } else if (d.errors) {
    abort();
  }
  sim_diag_cleanup(&d);
  close(fd);
}

static void set_keys(struct sim_config *c, const uint8_t *data, size_t size)
{
  char *text = malloc(size + 1);
  memcpy(text, data, size);
  text[size] = '\0';
  char *save = NULL;
  for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    char *sep = strpbrk(line, ":=");
    if (!sep)
      continue;
    *sep = '\0';
    const char *key = line, *value = sep + 1;
    if (*value == ' ')
      value++;
    struct sim_diag err = SIM_DIAG_INIT;
    int rc = sim_config_set_key(c, key, value, &err);
    if (rc != 0 && rc != SIM_ENOTFOUND && rc != SIM_EPARSE && rc != SIM_ERANGE)
      abort();
    if (rc < 0 && err.errors != 1)
      abort();
    if (rc == 0) {
      const char *param, *inst;
      size_t plen;
      if (sim_config_split_key(c, key, &param, &plen, &inst) < 0)
        abort();
      char *p = strndup(param, plen);
      const char *got = sim_config_get(c, p, inst);
      if (!got || strcmp(got, value)) {
        fprintf(stderr, "%s = '%s' reads back as '%s'\n", key, value, got ? got : "(null)");
        abort();
      }
      free(p);
    }
    sim_diag_cleanup(&err);
  }
  free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct sim_config *c = sim_config_new(NULL);
  v3_config_declare(c);
  load_file(c, data, size);
  set_keys(c, data, size);
  sim_config_free(c);
  return 0;
}
