/*
 * test_profile.c - the firmware version table: every switch of every profile, one row per
 * switch across the versions 3.3.004, 3.3.005, 3.3.006 and current (the firmware's master at
 * 1aa1daff), the standard metrics a version lacks, and the lookups by enum and by name.
 */
#include "testutil.h"

#include <stdbool.h>
#include <string.h>

#include "core/array.h"
#include "model/metrics.h"
#include "model/profile.h"

/* One switch: where it is in struct sim_profile, whether it is a bool, and its value in
 * 3.3.004, 3.3.005, 3.3.006 and current. */
struct column {
  const char *name;
  size_t offset;
  bool is_bool;
  unsigned want[4];
};

#define U(f, a, b, c, d) {#f, offsetof(struct sim_profile, f), false, {a, b, c, d}}
#define B(f, a, b, c, d) {#f, offsetof(struct sim_profile, f), true, {a, b, c, d}}
static const struct column columns[] = {
  U(keepalive, 60, 1740, 1740, 1740),
  U(connected, 60, 60, 10, 10),
  U(on, 600, 600, 5, 5),
  U(charging, 600, 600, 10, 10),
  U(awake, 600, 600, 60, 60),
  U(sendall, 0, 0, 1200, 1200),
  B(sched_minimum, 1, 1, 0, 0),
  B(batching, 0, 0, 1, 1),
  B(event_triggered_tx, 0, 0, 1, 1),
  B(event_path_topic, 0, 1, 1, 1),
  B(events_skip_clock, 0, 1, 1, 1),
  B(notify_subtype_slashes, 0, 1, 1, 1),
  B(notify_mp_encode, 1, 0, 0, 0),
  U(notify_size_limit, 1024, 1024, 65535, 65535),
  B(request_subscriptions, 0, 0, 1, 1),
  B(clientid_config, 0, 0, 1, 1),
  B(omit_empty_credentials, 0, 0, 1, 1),
  B(latlon_g, 1, 0, 0, 0),
  B(msgid_skip_zero, 0, 0, 1, 1),
  B(modified_sends_cleared, 1, 1, 0, 0),
  B(sendall_skips_empty, 1, 1, 0, 0),
  B(auth_suspend, 0, 0, 0, 1),
  U(refused_retry, 60, 60, 30, 0),
  U(connfail_retry, 60, 60, 30, 30),
  U(closed_retry, 60, 60, 60, 60),
  B(conn_jitter, 0, 0, 1, 1),
};
#undef U
#undef B

static unsigned value_of(const struct sim_profile *p, const struct column *c)
{
  const char *base = (const char *)p + c->offset;
  if (c->is_bool)
    return *(const bool *)(const void *)base;
  return *(const unsigned *)(const void *)base;
}

static void test_every_switch(void **state)
{
  static const enum sim_fw fws[] = {SIM_FW_3_3_004, SIM_FW_3_3_005, SIM_FW_3_3_006,
                                    SIM_FW_CURRENT};
  for (size_t v = 0; v < ARRAY_SIZE(fws); v++) {
    const struct sim_profile *p = sim_profile_get(fws[v]);
    assert_int_equal(p->fw, fws[v]);
    for (size_t i = 0; i < ARRAY_SIZE(columns); i++) {
      unsigned got = value_of(p, &columns[i]);
      if (got != columns[i].want[v])
        fail_msg("%s: %s is %u, want %u", p->name, columns[i].name, got, columns[i].want[v]);
    }
  }
  (void)state;
}

/* The table above names every field of struct sim_profile but name, fw and absent_metrics. */
static void test_columns_complete(void **state)
{
  size_t bytes = 0;
  for (size_t i = 0; i < ARRAY_SIZE(columns); i++)
    bytes += columns[i].is_bool ? sizeof(bool) : sizeof(unsigned);
  size_t fields = sizeof(const char *) + sizeof(enum sim_fw) + bytes +
                  sizeof(const char *const *);
  assert_true(fields <= sizeof(struct sim_profile));
  assert_true(sizeof(struct sim_profile) - fields < 16); /* padding only */
  (void)state;
}

static void test_lookup(void **state)
{
  static const struct {
    const char *name;
    enum sim_fw fw;
  } names[] = {
    {"3.3.004", SIM_FW_3_3_004},
    {"3.3.005", SIM_FW_3_3_005},
    {"3.3.006", SIM_FW_3_3_006},
    {"current", SIM_FW_CURRENT},
    {"head", SIM_FW_CURRENT},
  };
  for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
    const struct sim_profile *p = sim_profile_find(names[i].name);
    assert_non_null(p);
    assert_int_equal(p->fw, names[i].fw);
    assert_ptr_equal(p, sim_profile_get(names[i].fw));
  }
  static const char *const unknown[] = {"", "3.3.003", "3.3", "HEAD", "master"};
  for (size_t i = 0; i < ARRAY_SIZE(unknown); i++)
    assert_null(sim_profile_find(unknown[i]));
  /* an enum value out of range gives current */
  assert_ptr_equal(sim_profile_get((enum sim_fw)42), sim_profile_get(SIM_FW_CURRENT));
  /* every name the help lists is found, and its profile carries that name */
  char names_list[128];
  snprintf(names_list, sizeof(names_list), "%s", sim_profile_names());
  int n = 0;
  for (char *save, *t = strtok_r(names_list, "|", &save); t; t = strtok_r(NULL, "|", &save)) {
    const struct sim_profile *p = sim_profile_find(t);
    assert_non_null(p);
    assert_string_equal(p->name, t);
    n++;
  }
  assert_int_equal(n, 4);
  (void)state;
}

/* The standard metrics of HEAD that OvmsMetricsStandard() does not create at tag 3.3.004
 * (V3/main/metrics_standard.cpp; docs/v3.md): exactly these six, each a metric of the standard
 * table (a misspelt name would hide nothing); the later versions lack none. */
static void test_absent_metrics(void **state)
{
  static const char *const want[] = {"m.net.connected", "m.net.good.sq", "m.net.ip",
                                      "v.b.capacity",    "v.c.timestamp", "v.g.timestamp"};
  const char *const *a = sim_profile_get(SIM_FW_3_3_004)->absent_metrics;
  assert_non_null(a);
  struct metrics *ms = metrics_new(NULL);
  size_t n = 0;
  for (; a[n]; n++) {
    assert_true(n < ARRAY_SIZE(want));
    assert_string_equal(a[n], want[n]);
    if (!metrics_find(ms, a[n]))
      fail_msg("3.3.004 lacks %s, which is no standard metric", a[n]);
  }
  assert_int_equal(n, ARRAY_SIZE(want));
  metrics_free(ms);
  static const enum sim_fw later[] = {SIM_FW_3_3_005, SIM_FW_3_3_006, SIM_FW_CURRENT};
  for (size_t i = 0; i < ARRAY_SIZE(later); i++)
    assert_null(sim_profile_get(later[i])->absent_metrics);
  (void)state;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_every_switch),
    cmocka_unit_test(test_columns_complete),
    cmocka_unit_test(test_lookup),
    cmocka_unit_test(test_absent_metrics),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
