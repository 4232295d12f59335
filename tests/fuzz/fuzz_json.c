/*
 * fuzz_json.c - libFuzzer target for sim/core/json.c, the reader of run reports (ovms-sim
 * plot).  Any bytes: json_parse must return 0 or SIM_EPARSE with exactly one diagnostic that
 * has a line and column, never crash, leak or recurse without bound; what it accepts must
 * come out as the same tree when its parts are looked up again (json_get finds every key).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk(const struct json_value *v, int depth)
{
  if (depth > JSON_MAX_DEPTH + 1)
    abort();
  if (v->type == JSON_OBJECT)
    for (size_t i = 0; i < v->len; i++)
      if (!json_get(v, v->keys[i]))
        abort();
  if (v->type == JSON_ARRAY || v->type == JSON_OBJECT)
    for (size_t i = 0; i < v->len; i++)
      walk(&v->items[i], depth + 1);
  if (v->type == JSON_STRING && v->str[v->len] != 0)
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct sim_diag d = SIM_DIAG_INIT;
  struct json_value v;
  int rc = json_parse((const char *)data, size, "fuzz", &v, &d);
  if (rc == 0) {
    if (d.n)
      abort();
    walk(&v, 0);
    json_free(&v);
  } else if (rc != SIM_EPARSE || d.n != 1 || d.v[0].line < 1 || d.v[0].col < 1) {
    abort();
  }
  sim_diag_cleanup(&d);
  return 0;
}
