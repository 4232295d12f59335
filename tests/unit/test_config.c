/*
 * test_config.c - declared keys, typed validation, profile-dependent defaults, dotted keys,
 * listeners and the YAML config file loader with its file:line:col errors.
 */
#include "testutil.h"

#include <string.h>

#include "core/array.h"
#include "model/config.h"
#include "core/error.h"

static const struct sim_config_decl extra[] = {
  {"server.v3", "updatetime.idle", CFG_INT, "600", 1, 86400, 0, 0, "s"},
  {"server.v3", "updatetime.connected", CFG_INT, NULL, 1, 86400, 0,
   1 + (int)offsetof(struct sim_profile, connected), "s"},
  {"server.v3", "tls", CFG_BOOL, "no", 0, 0, 0, 0, ""},
  {"server", "x", CFG_STRING, NULL, 0, 0, 0, 0, ""},
};

static struct sim_config *make(const struct sim_profile *p)
{
  struct sim_config *c = sim_config_new(p);
  sim_config_declare(c, extra, ARRAY_SIZE(extra));
  return c;
}

static int changes;
static void on_change(void *ctx, const char *param, const char *instance)
{
  changes++;
}

static void test_set_get(void **state)
{
  struct sim_config *c = make(NULL);
  struct sim_diag err = SIM_DIAG_INIT;
  assert_int_equal(sim_config_get_int(c, "server.v3", "updatetime.idle", 0), 600);
  assert_int_equal(sim_config_get_int(c, "server.v3", "updatetime.connected", 0), 10);
  sim_config_listen(c, "server.v3", on_change, NULL);
  assert_int_equal(sim_config_set_key(c, "server.v3.updatetime.idle", "300", &err), 0);
  assert_int_equal(sim_config_get_int(c, "server.v3", "updatetime.idle", 0), 300);
  assert_int_equal(changes, 1);
  assert_int_equal(sim_config_set_key(c, "server.v3.updatetime.idle", "300", &err), 0);
  assert_int_equal(changes, 1); /* unchanged value: no notification */
  /* the longest declared param wins: "server.v3" over "server" */
  const char *p, *i;
  size_t pl;
  assert_int_equal(sim_config_split_key(c, "server.v3.tls", &p, &pl, &i), 0);
  assert_int_equal(pl, 9);
  assert_string_equal(i, "tls");
  assert_int_equal(sim_config_split_key(c, "server.x", &p, &pl, &i), 0);
  assert_int_equal(pl, 6);
  /* errors */
  assert_int_equal(err.n, 0);
  assert_int_equal(sim_config_set_key(c, "server.v3.updatetime.idle", "abc", &err), SIM_EPARSE);
  assert_non_null(strstr(sim_diag_last(&err), "'abc' is not an integer"));
  assert_int_equal(sim_config_set_key(c, "server.v3.updatetime.idle", "0", &err), SIM_ERANGE);
  assert_non_null(strstr(sim_diag_last(&err), "0 is out of range for server.v3 updatetime.idle"));
  assert_int_equal(sim_config_set_key(c, "server.v3.tls", "maybe", &err), SIM_EPARSE);
  assert_non_null(strstr(sim_diag_last(&err), "'maybe' is not a boolean"));
  assert_int_equal(sim_config_set_key(c, "server.v3.nope", "1", &err), SIM_ENOTFOUND);
  assert_string_equal(sim_diag_last(&err), "unknown config key 'server.v3.nope'");
  assert_int_equal(sim_config_set_key(c, "nope", "1", &err), SIM_ENOTFOUND);
  assert_string_equal(sim_diag_last(&err), "unknown config key 'nope'");
  /* one entry per refused set, without a location */
  assert_int_equal(err.errors, 5);
  for (size_t k = 0; k < err.n; k++)
    assert_true(err.v[k].line == 0 && err.v[k].col == 0 && !err.v[k].file[0]);
  sim_diag_cleanup(&err);
  assert_int_equal(sim_config_get_int(c, "server.v3", "updatetime.idle", 0), 300);
  /* wildcard instances */
  assert_int_equal(sim_config_set(c, "notify", "charge.started", "*,-ovmsv3", &err), 0);
  assert_string_equal(sim_config_get(c, "notify", "charge.started"), "*,-ovmsv3");
  assert_true(sim_config_get_bool(c, "module", "debug", true) == false);
  /* a boolean is any parse_bool() word and reads back as that word means */
  assert_int_equal(sim_config_set(c, "module", "debug", "On", &err), 0);
  assert_true(sim_config_get_bool(c, "module", "debug", false));
  assert_int_equal(sim_config_set(c, "module", "debug", "0", &err), 0);
  assert_false(sim_config_get_bool(c, "module", "debug", true));
  assert_int_equal(err.n, 0);
  sim_diag_cleanup(&err);
  sim_config_free(c);
}

/* A configured password is wiped when it is replaced, removed, or the configuration freed. */
static void test_password_wiped(void **state)
{
  struct sim_config *c = sim_config_new(NULL);
  assert_int_equal(sim_config_set(c, "password", "server.v3", "first-secret", NULL), 0);
  const char *v = sim_config_get(c, "password", "server.v3");
  test_free_watch(v, strlen(v) + 1);
  assert_int_equal(sim_config_set(c, "password", "server.v3", "second-secret", NULL), 0);
  assert_int_equal(test_free_result(), TEST_FREE_WATCH ? 1 : -1);
  v = sim_config_get(c, "password", "server.v3");
  assert_string_equal(v, "second-secret");
  test_free_watch(v, strlen(v) + 1);
  assert_int_equal(sim_config_unset(c, "password", "server.v3"), 0);
  assert_int_equal(test_free_result(), TEST_FREE_WATCH ? 1 : -1);
  assert_int_equal(sim_config_set(c, "password", "module", "third-secret", NULL), 0);
  v = sim_config_get(c, "password", "module");
  test_free_watch(v, strlen(v) + 1);
  sim_config_free(c);
  assert_int_equal(test_free_result(), TEST_FREE_WATCH ? 1 : -1);
  (void)state;
}

static void test_profile_defaults(void **state)
{
  struct sim_config *c = make(sim_profile_get(SIM_FW_3_3_005));
  assert_int_equal(sim_config_get_int(c, "server.v3", "updatetime.connected", 0), 60);
  sim_config_set_profile(c, sim_profile_get(SIM_FW_CURRENT));
  assert_int_equal(sim_config_get_int(c, "server.v3", "updatetime.connected", 0), 10);
  sim_config_free(c);
}

static void test_yaml_file(void **state)
{
  struct sim_config *c = make(NULL);
  struct sim_diag d = SIM_DIAG_INIT;
  const char *path = test_write_temp(".yaml",
                                     "server.v3:\n"
                                     "  updatetime.idle: 120\n"
                                     "  tls: yes\n"
                                     "vehicle.id: MYCAR\n"
                                     "vehicle:\n"
                                     "  timezone: CET-1\n");
  assert_int_equal(sim_config_load_yaml(c, path, &d), 0);
  assert_int_equal(d.n, 0);
  assert_int_equal(sim_config_get_int(c, "server.v3", "updatetime.idle", 0), 120);
  assert_true(sim_config_get_bool(c, "server.v3", "tls", false));
  assert_string_equal(sim_config_get(c, "vehicle", "id"), "MYCAR");
  assert_string_equal(sim_config_get(c, "vehicle", "timezone"), "CET-1");
  sim_diag_cleanup(&d);

  char bad[256];
  snprintf(bad, sizeof(bad), "%s", test_write_temp(".yaml",
                                                   "server.v3:\n"
                                                   "  updatetime.idle: soon\n"
                                                   "  bogus: 1\n"
                                                   "nope.key: 2\n"));
  assert_int_equal(sim_config_load_yaml(c, bad, &d), SIM_EPARSE);
  assert_int_equal(d.errors, 3);
  struct sbuf b = SBUF_INIT;
  sim_diag_format(&d.v[0], &b);
  char want[512];
  snprintf(want, sizeof(want), "%s:2:20: error: 'soon' is not an integer for server.v3 "
                               "updatetime.idle", bad);
  assert_string_equal(sbuf_str(&b), want);
  assert_int_equal(d.v[1].line, 3);
  assert_int_equal(d.v[2].line, 4);
  assert_int_equal(d.v[2].col, 11);
  sbuf_free(&b);
  sim_diag_cleanup(&d);

  snprintf(bad, sizeof(bad), "%s", test_write_temp(".yaml", "a: [1, 2\nb: 3\n"));
  assert_int_equal(sim_config_load_yaml(c, bad, &d), SIM_EPARSE);
  assert_true(d.errors >= 1);
  assert_true(d.v[0].line >= 1);
  sim_diag_cleanup(&d);
  /* broken YAML inside a value: the YAML error alone, not a "must be a scalar" before it */
  snprintf(bad, sizeof(bad), "%s", test_write_temp(".yaml", "foo: [\n"));
  assert_int_equal(sim_config_load_yaml(c, bad, &d), SIM_EPARSE);
  assert_int_equal(d.errors, 1);
  assert_int_equal(d.v[0].line, 2);
  assert_null(strstr(d.v[0].msg, "scalar"));
  sim_diag_cleanup(&d);
  snprintf(bad, sizeof(bad), "%s", test_write_temp(".yaml", "server.v3:\n  port: [1, 2\n"));
  assert_int_equal(sim_config_load_yaml(c, bad, &d), SIM_EPARSE);
  assert_int_equal(d.errors, 1);
  assert_null(strstr(d.v[0].msg, "scalar"));
  sim_diag_cleanup(&d);
  /* a well-formed list is still refused for its type, at the key */
  snprintf(bad, sizeof(bad), "%s", test_write_temp(".yaml", "vehicle.id: [a, b]\n"));
  assert_int_equal(sim_config_load_yaml(c, bad, &d), SIM_EPARSE);
  assert_int_equal(d.errors, 1);
  assert_int_equal(d.v[0].line, 1);
  assert_non_null(strstr(d.v[0].msg, "must be a scalar"));
  sim_diag_cleanup(&d);
  /* a key set twice (directly, or once flat and once in its section) is an error */
  snprintf(bad, sizeof(bad), "%s", test_write_temp(".yaml", "vehicle.id: ONE\n"
                                                   "vehicle:\n  id: TWO\n"));
  assert_int_equal(sim_config_load_yaml(c, bad, &d), SIM_EPARSE);
  assert_int_equal(d.errors, 1);
  assert_int_equal(d.v[0].line, 3);
  assert_non_null(strstr(d.v[0].msg, "'vehicle.id' is set twice"));
  sim_diag_cleanup(&d);
  /* among many keys (the set of seen keys grows), the one set twice is found, once */
  struct sbuf many = SBUF_INIT;
  sbuf_adds(&many, "notify:\n");
  for (int i = 0; i < 3000; i++)
    sbuf_printf(&many, "  usr.k%d: ovmsv3\n", i);
  sbuf_adds(&many, "  usr.k1234: ovmsv3\n");
  snprintf(bad, sizeof(bad), "%s", test_write_temp(".yaml", sbuf_str(&many)));
  sbuf_free(&many);
  assert_int_equal(sim_config_load_yaml(c, bad, &d), SIM_EPARSE);
  assert_int_equal(d.errors, 1);
  assert_int_equal(d.v[0].line, 3002);
  assert_non_null(strstr(d.v[0].msg, "'notify.usr.k1234' is set twice"));
  assert_string_equal(sim_config_get(c, "notify", "usr.k2999"), "ovmsv3");
  sim_diag_cleanup(&d);
  /* a directory is a clear error, not libyaml's "input error" */
  assert_true(sim_config_load_yaml(c, "/", &d) < 0);
  assert_int_equal(d.errors, 1);
  assert_non_null(strstr(d.v[0].msg, "Is a directory"));
  sim_diag_cleanup(&d);
  /* A second document, or a syntax error after the mapping, was ignored silently. */
  snprintf(bad, sizeof(bad), "%s", test_write_temp(".yaml", "vehicle.id: ONE\n---\n"
                                                   "vehicle.id: TWO\n"));
  assert_int_equal(sim_config_load_yaml(c, bad, &d), SIM_EPARSE);
  assert_int_equal(d.errors, 1);
  assert_int_equal(d.v[0].line, 2);
  assert_int_equal(d.v[0].col, 1);
  sim_diag_cleanup(&d);
  snprintf(bad, sizeof(bad), "%s", test_write_temp(".yaml", "vehicle.id: ONE\n...\n---\n"
                                                   "vehicle.id: TWO\n"));
  assert_int_equal(sim_config_load_yaml(c, bad, &d), SIM_EPARSE);
  assert_int_equal(d.v[0].line, 3);
  sim_diag_cleanup(&d);
  snprintf(bad, sizeof(bad), "%s", test_write_temp(".yaml", "vehicle.id: ONE\n]\n"));
  assert_int_equal(sim_config_load_yaml(c, bad, &d), SIM_EPARSE);
  assert_true(d.errors >= 1 && d.v[0].line == 2);
  sim_diag_cleanup(&d);
  assert_true(sim_config_load_yaml(c, "/nonexistent/x.yaml", &d) < 0);
  sim_diag_cleanup(&d);
  sim_config_free(c);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_set_get),
    cmocka_unit_test(test_password_wiped),
    cmocka_unit_test(test_profile_defaults),
    cmocka_unit_test(test_yaml_file),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
