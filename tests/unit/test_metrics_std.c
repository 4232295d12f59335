/*
 * test_metrics_std.c - every standard metric of data/standard-metrics.tsv (the firmware's
 * table) exists in a new registry with exactly the TSV's type, unit and autostale, nothing
 * else is registered, and iteration is in ASCII (strcmp) order.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "model/metrics.h"

static const char *type_of(const struct metric *m)
{
  switch (m->type) {
  case METRIC_BOOL: return "bool";
  case METRIC_INT: return "int";
  case METRIC_INT64: return "int64";
  case METRIC_FLOAT: return "float";
  case METRIC_STRING: return "string";
  case METRIC_VEC_FLOAT: return "vector<float>";
  case METRIC_VEC_INT: return "vector<short>";
  case METRIC_BITSET: return "bitset";
  default: return "?";
  }
}

static void test_all_standard_metrics(void **state)
{
  char *tsv = test_read_file(test_src_path("data/standard-metrics.tsv"), NULL);
  struct metrics *ms = metrics_new(NULL);
  size_t rows = 0;
  char *save = NULL;
  char *line = strtok_r(tsv, "\n", &save); /* header */
  assert_non_null(line);
  assert_non_null(strstr(line, "mqtt_payload_format"));
  while ((line = strtok_r(NULL, "\n", &save))) {
    char *f[8] = {0};
    char *p = line;
    for (int i = 0; i < 8 && p; i++) {
      f[i] = p;
      p = strchr(p, '\t');
      if (p)
        *p++ = '\0';
    }
    assert_non_null(f[4]);
    struct metric *m = metrics_find(ms, f[0]);
    if (!m)
      fail_msg("standard metric %s is missing", f[0]);
    /* type */
    const char *want = f[2];
    if (!strncmp(want, "bitset<", 7)) {
      assert_string_equal(type_of(m), "bitset");
      int bits = 0, start = -1;
      assert_int_equal(sscanf(want, "bitset<%d,%d>", &bits, &start), 2);
      assert_int_equal(m->bits, bits);
      assert_int_equal(m->bit_start, start);
    } else {
      if (strcmp(type_of(m), want))
        fail_msg("%s: type %s, TSV says %s", f[0], type_of(m), want);
    }
    /* unit: enum|code|label */
    char code[32] = "", label[32] = "";
    char *c1 = strchr(f[3], '|');
    assert_non_null(c1);
    char *c2 = strchr(c1 + 1, '|');
    assert_non_null(c2);
    snprintf(code, sizeof(code), "%.*s", (int)(c2 - c1 - 1), c1 + 1);
    snprintf(label, sizeof(label), "%s", c2 + 1);
    if (strcmp(sim_unit_code(m->unit), code))
      fail_msg("%s: unit code %s, TSV says %s", f[0], sim_unit_code(m->unit), code);
    assert_string_equal(sim_unit_label(m->unit), label);
    /* autostale: "SM_STALE_MID=120" */
    const char *eq = strchr(f[4], '=');
    assert_non_null(eq);
    assert_int_equal(m->autostale, strtol(eq + 1, NULL, 10));
    /* payload format flags */
    assert_int_equal((m->flags & METRIC_F_FIXED6) != 0, strstr(f[7], "%.6f") != NULL);
    assert_false(metric_is_defined(m));
    rows++;
  }
  assert_int_equal(rows, 198);
  assert_int_equal(metrics_count(ms), 198);
  assert_int_equal(metrics_std_count(), 198);
  for (size_t i = 1; i < metrics_count(ms); i++)
    assert_true(strcmp(metrics_at(ms, i - 1)->name, metrics_at(ms, i)->name) < 0);
  metrics_free(ms);
  free(tsv);
}

static void test_vehicle_metrics_sorted(void **state)
{
  struct metrics *ms = metrics_new(NULL);
  struct metric *a, *b, *again;
  assert_int_equal(metrics_register(ms, "xnl.v.b.soc.nominal", METRIC_FLOAT, SIM_UNIT_PERCENT,
                                    SM_STALE_HIGH, &a), 0);
  assert_int_equal(metrics_register(ms, "co.x", METRIC_INT, SIM_UNIT_NATIVE, 0, &b), 0);
  assert_int_equal(metrics_register(ms, "xnl.v.b.soc.nominal", METRIC_FLOAT, SIM_UNIT_PERCENT,
                                    0, &again), 0);
  assert_ptr_equal(a, again);
  assert_int_equal(metrics_register(ms, "xnl.v.b.soc.nominal", METRIC_INT, 0, 0, &again),
                   SIM_EEXIST);
  assert_int_equal(metrics_register(ms, "Bad Name", METRIC_INT, 0, 0, &again), SIM_ERANGE);
  assert_int_equal(metrics_register(ms, "", METRIC_INT, 0, 0, &again), SIM_ERANGE);
  assert_int_equal(metrics_count(ms), 200);
  assert_ptr_equal(metrics_at(ms, 0), b); /* "co.x" < "m.egpio.input" */
  assert_ptr_equal(metrics_at(ms, 199), a);
  assert_ptr_equal(metrics_find(ms, "xnl.v.b.soc.nominal"), a);
  assert_null(metrics_find(ms, "xnl.v.b"));
  metrics_free(ms);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_all_standard_metrics),
    cmocka_unit_test(test_vehicle_metrics_sorted),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
