/*
 * test_v3_tls.c - mqtts:// against a real mosquitto with a test CA generated at test time
 * with openssl: a verified connection (SNI/host name localhost), a server certificate from
 * an untrusted CA rejected with a clear error and no connection, and mutual TLS with a
 * client certificate (the TLS settings of OvmsServerV3::Connect(),
 * V3/components/ovms_server_v3/src/ovms_server_v3.cpp).
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "mqtt_harness.h"

#define P "ovms/alice/MYCAR/"

static char *dir;

/* CA1 signs the server (localhost) and client certificates; CA2 signs a second server
 * certificate that the simulator must reject. */
static int make_pki(const char *d)
{
  static const char script[] =
      "exec >openssl.log 2>&1 && "
      "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > san.ext && "
      "for ca in ca1 ca2; do "
      "openssl req -x509 -newkey rsa:2048 -nodes -keyout $ca.key -out $ca.crt -days 2 "
      "-subj /CN=ovms-sim-test-$ca || exit 1; done && "
      "for s in srv1:ca1 srv2:ca2 cli:ca1; do n=${s%:*}; ca=${s#*:}; "
      "openssl req -newkey rsa:2048 -nodes -keyout $n.key -out $n.csr -subj /CN=localhost "
      "|| exit 1; "
      "openssl x509 -req -in $n.csr -CA $ca.crt -CAkey $ca.key -CAcreateserial -out $n.crt "
      "-days 2 -extfile san.ext || exit 1; done";
  char cmd[4096];
  snprintf(cmd, sizeof(cmd), "cd '%s' && %s", d, script);
  return system(cmd);
}

static int setup(void **state)
{
  if (system("openssl version >/dev/null 2>&1") != 0 || !getenv("MOSQUITTO_BIN"))
    exit(TEST_SKIP_EXIT);
  dir = harness_tmpdir();
  return make_pki(dir) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
  harness_rmtree(dir);
  return 0;
}

static char *path(const char *name)
{
  size_t n = strlen(dir) + strlen(name) + 2;
  char *p = malloc(n);
  snprintf(p, n, "%s/%s", dir, name);
  return p;
}

static void run_case(const char *srv, bool require_cert, bool give_cert, bool expect_ok)
{
  struct broker b;
  int tls_port = harness_free_port();
  char extra[2048];
  snprintf(extra, sizeof(extra),
           "listener %d 127.0.0.1\ncafile %s/ca1.crt\ncertfile %s/%s.crt\nkeyfile %s/%s.key\n"
           "require_certificate %s\n",
           tls_port, dir, dir, srv, dir, srv, require_cert ? "true" : "false");
  char *bdir = harness_tmpdir();
  assert_int_equal(broker_start(&b, bdir, 0, extra), 0);
  struct sub *s = sub_new(b.port, "obs", true, NULL, NULL, P "metric/s/v3/connected", 2);
  assert_non_null(s);
  assert_int_equal(sub_ready(s, 10), 0);
  char u[128];
  snprintf(u, sizeof(u), "mqtts://alice@localhost:%d", tls_port);
  char *ca = path("ca1.crt"), *crt = path("cli.crt"), *key = path("cli.key");
  char *argv_cert[] = {"ovms-sim", "--fast", "--duration", "60s", "--vehicle-id", "MYCAR",
                       "--broker", u, "--cafile", ca, "--cert", crt, "--key", key, "--quiet",
                       NULL};
  char *argv_plain[] = {"ovms-sim", "--fast", "--duration", "60s", "--vehicle-id", "MYCAR",
                        "--broker", u, "--cafile", ca, "--quiet", NULL};
  pid_t pid = sim_spawn(bdir, give_cert ? argv_cert : argv_plain, NULL);
  /* a connection that never came up is a runtime failure: exit 3 (README "Exit codes") */
  assert_int_equal(proc_wait(pid, 60), expect_ok ? 0 : 3);
  if (expect_ok) {
    assert_true(sub_wait(s, 0, P "metric/s/v3/connected", "yes", 10) >= 0);
    assert_int_equal(broker_log_count(&b, "as MYCAR (p2, c0, k1740, u'alice')"), 1);
  } else {
    harness_sleep_ms(200);
    assert_int_equal(sub_count_topic(s, 0, P "metric/s/v3/connected", "yes"), 0);
    assert_int_equal(broker_log_count(&b, "as MYCAR"), 0);
    char e[512];
    snprintf(e, sizeof(e), "%s/sim.err", bdir);
    char *err = test_read_file(e, NULL);
    assert_non_null(strstr(err, "could not connect to the broker"));
    if (!require_cert)
      assert_non_null(strstr(err, "certificate verify failed"));
    free(err);
  }
  sub_free(s);
  broker_free(&b);
  free(ca);
  free(crt);
  free(key);
  harness_rmtree(bdir);
}

static void test_tls_verified(void **state)
{
  run_case("srv1", false, false, true);
}

static void test_tls_untrusted_server_rejected(void **state)
{
  run_case("srv2", false, false, false);
}

static void test_mutual_tls(void **state)
{
  run_case("srv1", true, true, true);
  run_case("srv1", true, false, false);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_tls_verified),
    cmocka_unit_test(test_tls_untrusted_server_rejected),
    cmocka_unit_test(test_mutual_tls),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
