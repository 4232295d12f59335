/*
 * test_mqtt_codec.c - ovms-notifyd's MQTT 3.1.1 codec: builders checked byte by byte against
 * the specification's layouts (sections 3.1, 3.4-3.8, 3.12), the parser on every packet a
 * broker sends, fed whole, in pieces and one byte at a time, and malformed input (bad
 * remaining length, QoS 3, packet id 0, wildcards in a topic, oversize, packets a client never
 * receives), UTF-8 validation.
 */
#include "testutil.h"

#include <errno.h>
#include <string.h>

#include "core/array.h"
#include "mqtt_codec.h"
#include "srv_error.h"

static void test_builders(void **state)
{
  uint8_t b[256];
  long n = mqtt_build_connect(b, sizeof(b), "id", "u", "p", 60, false);
  const uint8_t want[] = {0x10, 20, 0, 4, 'M', 'Q', 'T', 'T', 4, 0xc0, 0, 60, 0, 2, 'i', 'd', 0, 1,
                          'u', 0, 1, 'p'};
  assert_int_equal(n, sizeof(want));
  assert_memory_equal(b, want, sizeof(want));
  n = mqtt_build_connect(b, sizeof(b), "id", NULL, NULL, 30, true);
  assert_int_equal(n, 16);
  assert_int_equal(b[9], 0x02);
  assert_int_equal(mqtt_build_connect(b, sizeof(b), "id", NULL, "p", 30, true), -EINVAL);
  assert_int_equal(mqtt_build_connect(b, 10, "id", "u", "p", 60, false), -ENOSPC);
  n = mqtt_build_subscribe(b, sizeof(b), 7, "a/#", 2);
  const uint8_t sub[] = {0x82, 8, 0, 7, 0, 3, 'a', '/', '#', 2};
  assert_int_equal(n, sizeof(sub));
  assert_memory_equal(b, sub, sizeof(sub));
  const uint8_t rel[] = {0x62, 2, 0x12, 0x34};
  assert_int_equal(mqtt_build_ack(b, sizeof(b), MQTT_PUBREL, 0x1234), 4);
  assert_memory_equal(b, rel, 4);
  assert_int_equal(mqtt_build_ack(b, sizeof(b), MQTT_PUBREC, 1), 4);
  assert_int_equal(b[0], 0x50);
  assert_int_equal(mqtt_build_ack(b, sizeof(b), MQTT_PUBACK, 0), -EINVAL);
  assert_int_equal(mqtt_build_simple(b, sizeof(b), MQTT_PINGREQ), 2);
  assert_int_equal(b[0], 0xc0);
  assert_int_equal(mqtt_build_simple(b, sizeof(b), MQTT_DISCONNECT), 2);
  assert_int_equal(b[0], 0xe0);
}

/* PUBLISH qos 2, dup, topic "a/b", id 0x0102, payload "xyz" */
static const uint8_t publish[] = {0x3c, 10, 0, 3, 'a', '/', 'b', 1, 2, 'x', 'y', 'z'};

static void test_parse_publish(void **state)
{
  struct mqtt_packet p;
  assert_int_equal(mqtt_parse(publish, sizeof(publish), 1024, &p), sizeof(publish));
  assert_int_equal(p.type, MQTT_PUBLISH);
  assert_int_equal(p.qos, 2);
  assert_true(p.dup);
  assert_false(p.retain);
  assert_int_equal(p.topic_len, 3);
  assert_memory_equal(p.topic, "a/b", 3);
  assert_true(p.topic_utf8);
  assert_int_equal(p.packet_id, 0x0102);
  assert_int_equal(p.payload_len, 3);
  assert_memory_equal(p.payload, "xyz", 3);
  /* every prefix: need more */
  for (size_t i = 0; i < sizeof(publish); i++)
    assert_int_equal(mqtt_parse(publish, i, 1024, &p), 0);
  /* QoS 0 has no packet id; empty payload */
  const uint8_t q0[] = {0x31, 5, 0, 3, 'a', '/', 'b'};
  assert_int_equal(mqtt_parse(q0, sizeof(q0), 1024, &p), sizeof(q0));
  assert_int_equal(p.qos, 0);
  assert_true(p.retain);
  assert_int_equal(p.payload_len, 0);
}

static void test_parse_others(void **state)
{
  struct mqtt_packet p;
  const uint8_t connack[] = {0x20, 2, 1, 5};
  assert_int_equal(mqtt_parse(connack, 4, 1024, &p), 4);
  assert_int_equal(p.type, MQTT_CONNACK);
  assert_true(p.session_present);
  assert_int_equal(p.return_code, 5);
  const uint8_t suback[] = {0x90, 3, 0, 1, 0x80};
  assert_int_equal(mqtt_parse(suback, 5, 1024, &p), 5);
  assert_int_equal(p.granted, 0x80);
  const uint8_t pubrel[] = {0x62, 2, 0, 9};
  assert_int_equal(mqtt_parse(pubrel, 4, 1024, &p), 4);
  assert_int_equal(p.type, MQTT_PUBREL);
  assert_int_equal(p.packet_id, 9);
  const uint8_t pingresp[] = {0xd0, 0};
  assert_int_equal(mqtt_parse(pingresp, 2, 1024, &p), 2);
  assert_int_equal(p.type, MQTT_PINGRESP);
}

static void test_parse_malformed(void **state)
{
  struct mqtt_packet p;
  const struct {
    uint8_t b[16];
    size_t n;
  } bad[] = {
      {{0x30, 0xff, 0xff, 0xff, 0xff, 0x01}, 6},   /* five length bytes */
      /* fuzz finding (tests/fuzz/regress/fuzz_mqtt_packet): length 2 spelt in two bytes, a
       * PUBACK that did not rebuild to its bytes; Table 2.4's ranges are minimal */
      {{0x40, 0x82, 0x00, 0x00, 0xff}, 5},
      {{0x30, 0x83, 0x80, 0x00, 0, 1, 'a'}, 7},     /* three bytes for 3 */
      {{0x36, 5, 0, 1, 'a', 0, 1}, 7},             /* QoS 3 */
      {{0x38, 5, 0, 3, 'a', '/', 'b'}, 7},         /* DUP on QoS 0 */
      {{0x32, 5, 0, 1, 'a', 0, 0}, 7},             /* packet id 0 */
      {{0x30, 4, 0, 2, 'a', '+'}, 6},              /* wildcard in a topic name */
      {{0x30, 3, 0, 0, 'x'}, 5},                   /* empty topic */
      {{0x30, 3, 0, 9, 'x'}, 5},                   /* topic longer than the packet */
      {{0x62, 2, 0, 0}, 4},                        /* PUBREL id 0 */
      {{0x60, 2, 0, 1}, 4},                        /* PUBREL with wrong flags */
      {{0x20, 3, 0, 0, 0}, 5},                     /* CONNACK length 3 */
      {{0x10, 0}, 2},                              /* CONNECT from a broker */
      {{0x00, 0}, 2},                              /* type 0 */
      {{0xf0, 0}, 2},                              /* type 15 */
      {{0x90, 3, 0, 1, 3}, 5},                     /* SUBACK granted 3 */
  };
  for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
    if (mqtt_parse(bad[i].b, bad[i].n, 1024, &p) != SRV_EPROTO)
      fail_msg("case %zu not refused", i);
  /* larger than max_packet: refused as soon as the length is known */
  const uint8_t big[] = {0x30, 0x80, 0x80, 0x01};
  assert_int_equal(mqtt_parse(big, sizeof(big), 1024, &p), SRV_EPROTO);
  /* invalid UTF-8 in a topic is reported, not refused (the daemon stores a safe copy) */
  const uint8_t inv[] = {0x30, 4, 0, 2, 0xc3, 0x28};
  assert_int_equal(mqtt_parse(inv, sizeof(inv), 1024, &p), sizeof(inv));
  assert_false(p.topic_utf8);
}

static void test_utf8(void **state)
{
  assert_true(mqtt_utf8_valid("abc", 3));
  assert_true(mqtt_utf8_valid("\xc3\xa9", 2));
  assert_true(mqtt_utf8_valid("\xe2\x82\xac", 3));
  assert_true(mqtt_utf8_valid("\xf0\x9f\x9a\x97", 4));
  assert_false(mqtt_utf8_valid("\xc3", 1));
  assert_false(mqtt_utf8_valid("\xc0\xaf", 2));       /* overlong */
  assert_false(mqtt_utf8_valid("\xe0\x80\xaf", 3));   /* overlong */
  assert_false(mqtt_utf8_valid("\xed\xa0\x80", 3));   /* surrogate */
  assert_false(mqtt_utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
  assert_false(mqtt_utf8_valid("a\0b", 3));
  assert_false(mqtt_utf8_valid("\xff", 1));
}

static void test_stream(void **state)
{
  /* several packets back to back, consumed one at a time */
  uint8_t s[64];
  size_t n = 0;
  const uint8_t pingresp[] = {0xd0, 0};
  memcpy(s + n, publish, sizeof(publish));
  n += sizeof(publish);
  memcpy(s + n, pingresp, 2);
  n += 2;
  memcpy(s + n, publish, sizeof(publish));
  n += sizeof(publish);
  size_t off = 0;
  int count = 0;
  struct mqtt_packet p;
  long r;
  while ((r = mqtt_parse(s + off, n - off, 1024, &p)) > 0) {
    off += (size_t)r;
    count++;
  }
  assert_int_equal(r, 0);
  assert_int_equal(count, 3);
  assert_int_equal(off, n);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_builders),        cmocka_unit_test(test_parse_publish),
      cmocka_unit_test(test_parse_others),    cmocka_unit_test(test_parse_malformed),
      cmocka_unit_test(test_utf8),            cmocka_unit_test(test_stream),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
