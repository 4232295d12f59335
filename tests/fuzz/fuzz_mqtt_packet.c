/*
 * fuzz_mqtt_packet.c - libFuzzer target for ovms-notifyd's MQTT 3.1.1 parser
 * (server/notifyd/mqtt_codec.c) and the notification topic parser and ACL rules
 * (server/common/acl.c): the input is a byte stream from a broker, parsed packet by packet as
 * the daemon does; every packet must lie inside the input, PUBLISH topics are split as the
 * daemon stores them and checked against the rules.  A parsed PUBREL/PUBACK id must rebuild
 * to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "mqtt_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  size_t off = 0;
  while (off < size) {
    struct mqtt_packet p;
    long n = mqtt_parse(data + off, size - off, 65536, &p);
    if (n <= 0)
      break;
    if ((size_t)n > size - off)
      abort();
    if (p.type == MQTT_PUBLISH) {
      if (p.topic < (const char *)data || p.topic + p.topic_len > (const char *)data + size ||
          p.payload + p.payload_len > data + size)
        abort();
      char topic[65536 + 1], buf[65536 + 1];
      memcpy(topic, p.topic, p.topic_len);
      topic[p.topic_len] = '\0';
      struct notify_topic t;
      notify_topic_parse(topic, buf, sizeof(buf), &t);
      if (!t.user || !t.vehicle || !t.type || !t.subtype)
        abort();
      acl_allows(t.user, ACL_ROLE_USER, topic, ACL_READ, NULL);
      acl_allows("notifier", ACL_ROLE_NOTIFIER, topic, ACL_SUBSCRIBE, NULL);
    } else if (p.type == MQTT_PUBREL || p.type == MQTT_PUBACK) {
      uint8_t b[4];
      if (mqtt_build_ack(b, sizeof(b), p.type, p.packet_id) != 4 || memcmp(b, data + off, 4))
        abort();
    }
    off += (size_t)n;
  }
  return 0;
}
