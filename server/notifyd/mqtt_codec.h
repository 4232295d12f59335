/*
 * mqtt_codec.h - the part of MQTT 3.1.1 (OASIS standard, 29 Oct 2014) that ovms-notifyd
 * speaks, as pure functions: packets built into a caller's buffer, and a parser that takes
 * whatever bytes have arrived and returns one complete packet at a time.
 *
 * ovms-notifyd has its own client because the order of things on the QoS 1/2 receive path is
 * the whole point: libmosquitto sends PUBACK (QoS 1) and PUBREC/PUBCOMP (QoS 2) before or
 * independently of its message callback, so a message could be acknowledged and then lost in
 * a crash before it was stored.  Here the daemon acknowledges only after the row is committed
 * (server/README.md "Nothing lost").
 *
 * Only what a subscriber needs: CONNECT, SUBSCRIBE, PUBACK, PUBREC, PUBCOMP, PINGREQ,
 * DISCONNECT out; CONNACK, SUBACK, PUBLISH, PUBREL, PINGRESP (and PUBACK/PUBREC/PUBCOMP/
 * UNSUBACK, which a broker has no reason to send us and are reported as such) in.
 */
#ifndef NOTIFYD_MQTT_CODEC_H
#define NOTIFYD_MQTT_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum mqtt_type {
  MQTT_CONNECT = 1,
  MQTT_CONNACK = 2,
  MQTT_PUBLISH = 3,
  MQTT_PUBACK = 4,
  MQTT_PUBREC = 5,
  MQTT_PUBREL = 6,
  MQTT_PUBCOMP = 7,
  MQTT_SUBSCRIBE = 8,
  MQTT_SUBACK = 9,
  MQTT_UNSUBSCRIBE = 10,
  MQTT_UNSUBACK = 11,
  MQTT_PINGREQ = 12,
  MQTT_PINGRESP = 13,
  MQTT_DISCONNECT = 14,
};

/* One parsed packet; pointers borrow the input buffer. */
struct mqtt_packet {
  enum mqtt_type type;
  uint8_t flags;
  uint16_t packet_id;    /* PUBLISH QoS 1/2, PUBACK..PUBCOMP, SUBACK */
  /* CONNACK */
  bool session_present;
  uint8_t return_code;
  /* SUBACK: the first granted QoS (0x80 = failure) */
  uint8_t granted;
  /* PUBLISH */
  uint8_t qos;
  bool dup, retain;
  const char *topic;     /* not NUL-terminated */
  size_t topic_len;
  bool topic_utf8;       /* the topic is well-formed UTF-8 without U+0000 (MQTT-1.5.3) */
  const uint8_t *payload;
  size_t payload_len;
};

/* Largest packet the parser accepts by default (a 1 MB notification fits with room). */
#define MQTT_DEFAULT_MAX_PACKET (16u * 1024 * 1024)

/*
 * Parses the packet at the start of buf[0..len).  Returns the number of bytes it occupies
 * (> 0) with *out filled, 0 when more bytes are needed, or SRV_EPROTO for a malformed packet
 * or one larger than max_packet (then the connection must be dropped).
 */
long mqtt_parse(const uint8_t *buf, size_t len, size_t max_packet, struct mqtt_packet *out);

/* Builders: write into out (cap bytes) and return the length, or -ENOSPC / -EINVAL. */
long mqtt_build_connect(uint8_t *out, size_t cap, const char *client_id, const char *user,
                        const char *password, uint16_t keepalive, bool clean_session);
long mqtt_build_subscribe(uint8_t *out, size_t cap, uint16_t packet_id, const char *filter,
                          uint8_t qos);
/* PUBACK, PUBREC, PUBREL or PUBCOMP with packet_id. */
long mqtt_build_ack(uint8_t *out, size_t cap, enum mqtt_type type, uint16_t packet_id);
/* PINGREQ or DISCONNECT. */
long mqtt_build_simple(uint8_t *out, size_t cap, enum mqtt_type type);

/* True when s[0..n) is well-formed UTF-8 (no overlongs, surrogates or U+0000). */
bool mqtt_utf8_valid(const char *s, size_t n);

#endif
