/*
 * test_v3_docker.c - checks what docker/ configures without docker: runs a local mosquitto
 * with docker/mosquitto/mosquitto.conf and docker/mosquitto/acl (container paths rewritten to
 * a temporary directory, ports to free loopback ports) and secrets made by
 * docker/gen-secrets.sh, then: anonymous and wrong-password logins are refused, the simulator
 * connects over TLS (mqtts, verified with the generated CA) with --password-file, its user
 * sees ovms/<user>/..., another user is kept out by the per-user ACL.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mqtt_harness.h"
#include "core/sbuf.h"

#define P "ovms/alice/MYCAR/"

static void replace_all(struct sbuf *out, const char *in, const char *from, const char *to)
{
  size_t fl = strlen(from);
  for (const char *p = in;;) {
    const char *q = strstr(p, from);
    if (!q) {
      sbuf_adds(out, p);
      return;
    }
    sbuf_add(out, p, (size_t)(q - p));
    sbuf_adds(out, to);
    p = q + fl;
  }
}

static void test_docker_broker_config(void **state)
{
  if (!getenv("MOSQUITTO_BIN") || system("openssl version >/dev/null 2>&1") != 0 ||
      system("command -v mosquitto_passwd >/dev/null 2>&1") != 0)
    skip();
  char *d = harness_tmpdir();
  char cmd[2048], gen[512], acl[512];
  snprintf(gen, sizeof(gen), "%s", test_src_path("docker/gen-secrets.sh"));
  snprintf(acl, sizeof(acl), "%s", test_src_path("docker/mosquitto/acl"));
  snprintf(cmd, sizeof(cmd), "sh '%s' '%s' alice s3cret >/dev/null && "
           "mosquitto_passwd -b '%s/config/passwd' bob b0b && cp '%s' '%s/config/acl'",
           gen, d, d, acl, d);
  assert_int_equal(system(cmd), 0);

  int plain = harness_free_port(), tls = harness_free_port();
  char *conf = test_read_file(test_src_path("docker/mosquitto/mosquitto.conf"), NULL);
  struct sbuf a = SBUF_INIT, b = SBUF_INIT, c = SBUF_INIT, e = SBUF_INIT;
  char dd[512], l1[64], l2[64], logd[600];
  snprintf(dd, sizeof(dd), "%s/", d);
  snprintf(l1, sizeof(l1), "listener %d 127.0.0.1\n", plain);
  snprintf(l2, sizeof(l2), "listener %d 127.0.0.1\n", tls);
  snprintf(logd, sizeof(logd), "%slog_dest file %s/broker.log\nlog_type all",
           getuid() == 0 ? "user root\n" : "", d);
  replace_all(&a, conf, "/mosquitto/", dd);
  replace_all(&b, a.p, "listener 1883\n", l1);
  replace_all(&c, b.p, "listener 8883\n", l2);
  replace_all(&e, c.p, "log_dest stdout", logd);
  char *path = harness_write(d, "mosquitto.conf", e.p);
  struct broker br;
  assert_int_equal(broker_start_file(&br, d, path, plain), 0);

  /* the owner sees her tree; another user does not (ACL) */
  struct sub *alice = sub_new(plain, "alice-app", true, "alice", "s3cret", P "#", 2);
  struct sub *bob = sub_new(plain, "bob-app", true, "bob", "b0b", "ovms/alice/#", 2);
  assert_int_equal(sub_ready(alice, 10), 0);
  assert_int_equal(sub_ready(bob, 10), 0);

  /* anonymous: refused */
  char u[128];
  snprintf(u, sizeof(u), "mqtt://127.0.0.1:%d", plain);
  char *argv0[] = {"ovms-sim", "--fast", "--duration", "40s", "--vehicle-id", "MYCAR",
                   "--broker", u, "--quiet", NULL};
  proc_wait(sim_spawn(d, argv0, NULL), 60);
  assert_true(broker_log_count(&br, "(0, 5)") >= 1);
  /* over TLS with the generated CA and the password file */
  char ut[128], ca[600], pw[600];
  snprintf(ut, sizeof(ut), "mqtts://alice@localhost:%d", tls);
  snprintf(ca, sizeof(ca), "%s/certs/ca.crt", d);
  snprintf(pw, sizeof(pw), "%s/sim/password", d);
  char *argv1[] = {"ovms-sim", "--fast", "--duration", "60s", "--vehicle-id", "MYCAR",
                   "--broker", ut, "--cafile", ca, "--password-file", pw, "--quiet", NULL};
  assert_int_equal(proc_wait(sim_spawn(d, argv1, NULL), 60), 0);
  assert_true(sub_wait(alice, 0, P "metric/s/v3/connected", "yes", 10) >= 0);
  assert_true(sub_wait(alice, 0, P "metric/s/v3/connected", "no", 10) >= 0);
  harness_sleep_ms(200);
  assert_int_equal(sub_count(bob), 0);

  sub_free(alice);
  sub_free(bob);
  broker_free(&br);
  sbuf_free(&a);
  sbuf_free(&b);
  sbuf_free(&c);
  sbuf_free(&e);
  free(conf);
  free(path);
  harness_rmtree(d);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_docker_broker_config),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
