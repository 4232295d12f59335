/*
 * test_v3_wire.c - the bytes the mqtt transport writes itself (sim/v3/transport_mqtt.c,
 * docs/v3.md "Performance"): v3_mqtt_publish_encode() must give exactly the QoS 0 PUBLISH
 * packet libmosquitto sends for the same topic, payload and retain flag (MQTT 3.1.1 section
 * 3.3, send__real_publish() in libmosquitto's lib/send_publish.c).  A real libmosquitto
 * client connects to a listening socket of the test, which answers CONNECT with a CONNACK and
 * reads what the library writes for each mosquitto_publish(); the test compares it byte for
 * byte, across the remaining-length sizes of 1 to 4 bytes.  v3_mqtt_plain_topic() lets through
 * only what libmosquitto's topic checks pass; the payload formatters without printf
 * (v3_format_g(), v3_format_int(), v3_format_payload()) print what printf and metric_format()
 * print.
 */
#include "testutil.h"

#include <arpa/inet.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <inttypes.h>
#include <math.h>
#include <stdio.h>

#include "core/array.h"
#include "core/error.h"
#include "core/sbuf.h"
#include "model/metrics.h"
#include "model/profile.h"
#include "v3/internal.h"
#include "v3/v3.h"

/* Reads exactly n bytes from fd (5 s at most). */
static void read_n(int fd, unsigned char *buf, size_t n)
{
  size_t got = 0;
  while (got < n) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 5000), 1);
    ssize_t r = read(fd, buf + got, n - got);
    assert_true(r > 0);
    got += (size_t)r;
  }
}

/* Reads one MQTT packet (fixed header, remaining length, body) into out. */
static void read_packet(int fd, struct sbuf *out)
{
  unsigned char b;
  sbuf_reset(out);
  read_n(fd, &b, 1);
  sbuf_addc(out, (char)b);
  size_t rem = 0, mul = 1;
  do {
    read_n(fd, &b, 1);
    sbuf_addc(out, (char)b);
    rem += (size_t)(b & 0x7f) * mul;
    mul *= 128;
  } while (b & 0x80);
  unsigned char *body = malloc(rem ? rem : 1);
  read_n(fd, body, rem);
  sbuf_add(out, body, rem);
  free(body);
}

/* Appends what fd has within wait_ms. */
static void read_available(int fd, struct sbuf *out, int wait_ms)
{
  char buf[65536];
  struct pollfd p = {.fd = fd, .events = POLLIN};
  while (poll(&p, 1, wait_ms) == 1) {
    ssize_t r = read(fd, buf, sizeof(buf));
    assert_true(r > 0);
    sbuf_add(out, buf, (size_t)r);
    wait_ms = 0;
  }
}

static void test_encode_matches_libmosquitto(void **state)
{
  (void)state;
  mosquitto_lib_init();
  int ls = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t al = sizeof(a);
  assert_int_equal(bind(ls, (struct sockaddr *)&a, sizeof(a)), 0);
  assert_int_equal(getsockname(ls, (struct sockaddr *)&a, &al), 0);
  assert_int_equal(listen(ls, 1), 0);
  struct mosquitto *m = mosquitto_new("wire", true, NULL);
  assert_non_null(m);
  mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
  assert_int_equal(mosquitto_connect(m, "127.0.0.1", ntohs(a.sin_port), 60), MOSQ_ERR_SUCCESS);
  int fd = accept(ls, NULL, NULL);
  assert_true(fd >= 0);
  struct sbuf pkt = SBUF_INIT, mine = SBUF_INIT;
  read_packet(fd, &pkt);
  assert_int_equal((unsigned char)pkt.p[0], 0x10); /* CONNECT */
  const unsigned char connack[] = {0x20, 0x02, 0x00, 0x00};
  assert_int_equal(write(fd, connack, sizeof(connack)), (ssize_t)sizeof(connack));
  struct pollfd cp = {.fd = mosquitto_socket(m), .events = POLLIN};
  assert_int_equal(poll(&cp, 1, 5000), 1);
  assert_int_equal(mosquitto_loop_read(m, 1), MOSQ_ERR_SUCCESS); /* the CONNACK */

  /* payload sizes around the remaining-length steps: 127/128, 16383/16384, 2097151/2097152 */
  const size_t sizes[] = {0, 1, 5, 120, 121, 122, 200, 16370, 16371, 16372, 70000,
                          2097130, 2097131, 2097132};
  const char *topics[] = {"ovms/alice/MYCAR/metric/v/b/soc", "a", "x/\xc3\xa9/y"};
  char *payload = malloc(2100000);
  for (size_t i = 0; i < 2100000; i++)
    payload[i] = (char)(i * 7 + 3);
  for (size_t t = 0; t < ARRAY_SIZE(topics); t++)
    for (size_t s = 0; s < ARRAY_SIZE(sizes); s++)
      for (int retain = 0; retain < 2; retain++) {
        int mid = 0;
        assert_int_equal(mosquitto_publish(m, &mid, topics[t], (int)sizes[s], payload, 0,
                                           retain != 0),
                         MOSQ_ERR_SUCCESS);
        sbuf_reset(&mine);
        assert_int_equal(v3_mqtt_publish_encode(topics[t], payload, sizes[s], retain != 0,
                                                &mine), 0);
        /* the library writes while the test reads (a large packet fills the socket) */
        sbuf_reset(&pkt);
        while (mosquitto_want_write(m) || pkt.len < mine.len) {
          if (mosquitto_want_write(m))
            assert_int_equal(mosquitto_loop_write(m, 1), MOSQ_ERR_SUCCESS);
          read_available(fd, &pkt, mosquitto_want_write(m) ? 10 : 1000);
        }
        read_available(fd, &pkt, 20); /* nothing more may follow */
        assert_int_equal(mine.len, pkt.len);
        assert_memory_equal(mine.p, pkt.p, pkt.len);
      }
  free(payload);

  /* appends, and refuses what no PUBLISH can carry */
  sbuf_reset(&mine);
  assert_int_equal(v3_mqtt_publish_encode("a", "b", 1, false, &mine), 0);
  assert_int_equal(v3_mqtt_publish_encode("c", "", 0, true, &mine), 0);
  assert_int_equal(mine.len, 6 + 5);
  assert_memory_equal(mine.p, "\x30\x04\x00\x01" "ab" "\x31\x03\x00\x01" "c", 11);
  char *longtopic = malloc(65537);
  memset(longtopic, 'x', 65536);
  longtopic[65536] = '\0';
  assert_int_equal(v3_mqtt_publish_encode(longtopic, "", 0, false, &mine), SIM_ELIMIT);
  longtopic[65535] = '\0';
  assert_int_equal(v3_mqtt_publish_encode(longtopic, "", 0, false, &mine), 0);
  free(longtopic);
  assert_int_equal(v3_mqtt_publish_encode("a", "", 268435455, false, &mine), SIM_ELIMIT);

  sbuf_free(&pkt);
  sbuf_free(&mine);
  mosquitto_destroy(m);
  close(fd);
  close(ls);
  mosquitto_lib_cleanup();
}

/* Every byte value in a topic, alone and inside one: plain only when libmosquitto's two
 * checks (mosquitto_validate_utf8(), mosquitto_pub_topic_check()) both pass and it is ASCII. */
static void test_plain_topic(void **state)
{
  (void)state;
  for (int c = 1; c < 256; c++) {
    char t[8] = {'a', '/', (char)c, '/', 'b', '\0'};
    size_t n;
    bool lib_ok = mosquitto_validate_utf8(t, (int)strlen(t)) == MOSQ_ERR_SUCCESS &&
                  mosquitto_pub_topic_check(t) == MOSQ_ERR_SUCCESS;
    bool plain = v3_mqtt_plain_topic(t, &n);
    if (plain)
      assert_true(lib_ok);
    assert_int_equal(plain, c >= 0x20 && c < 0x7f && c != '+' && c != '#');
    if (plain)
      assert_int_equal(n, 5);
  }
  size_t n;
  assert_false(v3_mqtt_plain_topic("", &n));
  assert_true(v3_mqtt_plain_topic("ovms/alice/MYCAR/metric/v/b/soc", &n));
  assert_int_equal(n, strlen("ovms/alice/MYCAR/metric/v/b/soc"));
  char *big = malloc(65537);
  memset(big, 'x', 65536);
  big[65536] = '\0';
  assert_false(v3_mqtt_plain_topic(big, &n));
  big[65535] = '\0';
  assert_true(v3_mqtt_plain_topic(big, &n));
  free(big);
}

static void check_g(double v)
{
  char want[64];
  snprintf(want, sizeof(want), "%g", v);
  struct sbuf b = SBUF_INIT;
  sbuf_adds(&b, "x"); /* appends */
  v3_format_g(v, &b);
  if (strcmp(b.p + 1, want)) {
    fprintf(stderr, "v3_format_g(%.17g) = \"%s\", printf \"%s\"\n", v, b.p + 1, want);
    fail();
  }
  sbuf_free(&b);
}

/* v3_format_g() against printf's %g: the values metrics hold are floats, so every float of
 * the ranges that matter, near the powers of ten and the rounding ties, and a random sample
 * of all 2^32 bit patterns. */
static void test_format_g(void **state)
{
  (void)state;
  const double fixed[] = {0.0, -0.0, 1, -1, 0.5, 0.1, 0.01, 0.001, 0.0001, 0.00009999,
                          1e-5, 123456, 1234567, 999999, 999999.4, 999999.5, 999999.6, 99999.95,
                          99999.949, 9999.9996, 0.000123456, 0.0001234565, 1.5, 2.5, 0.25,
                          0.125, 1e6, 1e-4, 100000, 12345.65, 12345.75, NAN, -NAN, INFINITY,
                          -INFINITY, 1e300, -1e-300, 4.9e-324, 1.7976931348623157e308};
  for (size_t i = 0; i < ARRAY_SIZE(fixed); i++)
    check_g(fixed[i]);
  for (int i = -200000; i <= 200000; i++) {
    check_g(i * 0.5);
    check_g(i * 0.1);
    check_g((float)(i * 0.1));
    check_g(i * 0.001);
    check_g((float)(i * 0.37));
  }
  for (int e = -6; e <= 7; e++) {
    double p = pow(10, e);
    check_g(p);
    check_g(nextafter(p, 0));
    check_g(nextafter(p, INFINITY));
    check_g((float)p);
    check_g(nextafterf((float)p, 0));
    check_g(nextafterf((float)p, INFINITY));
    check_g(p * 0.9999995);
    check_g(p * 9.999995);
    check_g(p * 9.999994999);
  }
  uint32_t x = 2463534242u; /* xorshift32: a fixed sample */
  for (int i = 0; i < 2000000; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    float f;
    memcpy(&f, &x, sizeof(f));
    check_g(f);
    check_g(ldexp((double)(x & 0xffffff), -(int)(x >> 27)));
  }
}

static void test_format_int(void **state)
{
  (void)state;
  const int64_t v[] = {0, 1, -1, 9, 10, -10, 99, 100, 123456789, INT32_MAX, INT32_MIN,
                       INT64_MAX, INT64_MIN, INT64_MIN + 1, 1000000000000000000};
  for (size_t i = 0; i < ARRAY_SIZE(v); i++) {
    char want[32];
    snprintf(want, sizeof(want), "%" PRId64, v[i]);
    struct sbuf b = SBUF_INIT;
    v3_format_int(v[i], &b);
    assert_string_equal(sbuf_str(&b), want);
    sbuf_free(&b);
  }
}

/* v3_format_payload() is metric_format() for every standard metric, defined with values of
 * its type, under the 3.3.004 (lat/lon %g) and the current profile. */
static void test_format_payload(void **state)
{
  (void)state;
  struct metrics *ms = metrics_new(NULL);
  const char *profiles[] = {"3.3.004", "current"};
  const double fv[] = {0, -0.0, 1.5, 51.123456789, -0.000123, 123456789.0, 0.1};
  const int64_t iv[] = {0, -1, 42, 1717228800, INT32_MAX, INT32_MIN};
  for (size_t p = 0; p < 2; p++) {
    const struct sim_profile *pr = sim_profile_find(profiles[p]);
    assert_non_null(pr);
    struct metric_fmt fmt = {.latlon_g = pr->latlon_g};
    for (size_t k = 0; k < 7; k++)
      for (size_t i = 0; i < metrics_count(ms); i++) {
        struct metric *m = metrics_at(ms, i);
        switch (m->type) {
        case METRIC_FLOAT: metric_set_float(m, fv[k]); break;
        case METRIC_INT: metric_set_int(m, (int32_t)iv[k % 6]); break;
        case METRIC_INT64: metric_set_int64(m, iv[k % 6] * 1000); break;
        case METRIC_BOOL: metric_set_bool(m, k & 1); break;
        default: break;
        }
        struct sbuf a = SBUF_INIT, b = SBUF_INIT;
        metric_format(m, &fmt, &a);
        v3_format_payload(pr, m, &b);
        assert_string_equal(sbuf_str(&b), sbuf_str(&a));
        sbuf_free(&a);
        sbuf_free(&b);
      }
  }
  metrics_free(ms);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_encode_matches_libmosquitto),
    cmocka_unit_test(test_plain_topic),
    cmocka_unit_test(test_format_g),
    cmocka_unit_test(test_format_int),
    cmocka_unit_test(test_format_payload),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
