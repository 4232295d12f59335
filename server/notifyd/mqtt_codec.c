/*
 * mqtt_codec.c - MQTT 3.1.1 packets for ovms-notifyd; see mqtt_codec.h.  Section numbers
 * are those of the OASIS MQTT 3.1.1 specification.
 */
#include "mqtt_codec.h"

#include <errno.h>
#include <string.h>

#include "srv_error.h"

bool mqtt_utf8_valid(const char *str, size_t n)
{
  const unsigned char *s = (const unsigned char *)str;
  for (size_t i = 0; i < n;) {
    unsigned c = s[i];
    size_t k;
    unsigned cp;
    if (c == 0)
      return false;
    if (c < 0x80) {
      i++;
      continue;
    }
    if (c >= 0xc2 && c <= 0xdf) {
      k = 1;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      k = 2;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      k = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (n - i <= k)
      return false;
    for (size_t j = 1; j <= k; j++) {
      if ((s[i + j] & 0xc0) != 0x80)
        return false;
      cp = (cp << 6) | (s[i + j] & 0x3f);
    }
    if ((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += k + 1;
  }
  return true;
}

static uint16_t be16(const uint8_t *p)
{
  return (uint16_t)((p[0] << 8) | p[1]);
}

long mqtt_parse(const uint8_t *buf, size_t len, size_t max_packet, struct mqtt_packet *out)
{
  if (len < 2)
    return 0;
  /* 2.2.3 Remaining Length: up to four bytes, 7 bits each */
  size_t rl = 0, hl = 1;
  for (int i = 0;; i++) {
    if (i == 4)
      return SRV_EPROTO;
    if (hl >= len)
      return 0;
    uint8_t b = buf[hl++];
    rl |= (size_t)(b & 0x7f) << (7 * i);
    if (!(b & 0x80)) {
      /* the ranges of Table 2.4 are minimal encodings: a last byte 0 after the first (40 82
       * 00 ...) is a longer spelling of a shorter length, refused (fuzz_mqtt_packet: such a
       * PUBACK did not rebuild to its bytes) */
      if (i > 0 && b == 0)
        return SRV_EPROTO;
      break;
    }
  }
  if (rl > max_packet || rl + hl > max_packet + 5)
    return SRV_EPROTO;
  if (len - hl < rl)
    return 0;
  const uint8_t *p = buf + hl;
  memset(out, 0, sizeof(*out));
  out->type = (enum mqtt_type)(buf[0] >> 4);
  out->flags = buf[0] & 0x0f;
  switch (out->type) {
  case MQTT_CONNACK: /* 3.2 */
    if (rl != 2 || out->flags || (p[0] & 0xfe))
      return SRV_EPROTO;
    out->session_present = p[0] & 1;
    out->return_code = p[1];
    break;
  case MQTT_PUBLISH: { /* 3.3 */
    out->qos = (out->flags >> 1) & 3;
    out->dup = out->flags & 8;
    out->retain = out->flags & 1;
    if (out->qos == 3 || (out->qos == 0 && out->dup) || rl < 2)
      return SRV_EPROTO;
    size_t tl = be16(p), off = 2 + tl;
    if (tl == 0 || off > rl)
      return SRV_EPROTO;
    out->topic = (const char *)p + 2;
    out->topic_len = tl;
    if (memchr(out->topic, '+', tl) || memchr(out->topic, '#', tl))
      return SRV_EPROTO;
    out->topic_utf8 = mqtt_utf8_valid(out->topic, tl);
    if (out->qos > 0) {
      if (off + 2 > rl)
        return SRV_EPROTO;
      out->packet_id = be16(p + off);
      off += 2;
      if (out->packet_id == 0)
        return SRV_EPROTO;
    }
    out->payload = p + off;
    out->payload_len = rl - off;
    break;
  }
  case MQTT_PUBACK:
  case MQTT_PUBREC:
  case MQTT_PUBREL:
  case MQTT_PUBCOMP:
  case MQTT_UNSUBACK: /* 3.4 - 3.7, 3.11 */
    if (rl != 2 || out->flags != (out->type == MQTT_PUBREL ? 2 : 0))
      return SRV_EPROTO;
    out->packet_id = be16(p);
    if (out->packet_id == 0)
      return SRV_EPROTO;
    break;
  case MQTT_SUBACK: /* 3.9 */
    if (rl < 3 || out->flags)
      return SRV_EPROTO;
    out->packet_id = be16(p);
    out->granted = p[2];
    if (out->granted > 2 && out->granted != 0x80)
      return SRV_EPROTO;
    break;
  case MQTT_PINGRESP: /* 3.13 */
    if (rl != 0 || out->flags)
      return SRV_EPROTO;
    break;
  default: /* a client never receives CONNECT, SUBSCRIBE, ... (or type 0/15) */
    return SRV_EPROTO;
  }
  return (long)(hl + rl);
}

/* Fixed header with remaining length rl; returns its length or -ENOSPC. */
static long header(uint8_t *out, size_t cap, uint8_t first, size_t rl)
{
  size_t n = 0;
  if (cap < 1 || rl > 268435455u)
    return -ENOSPC;
  out[n++] = first;
  do {
    if (n >= cap)
      return -ENOSPC;
    uint8_t b = rl & 0x7f;
    rl >>= 7;
    out[n++] = (uint8_t)(b | (rl ? 0x80 : 0));
  } while (rl);
  return (long)n;
}

static uint8_t *put16(uint8_t *p, size_t v)
{
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
  return p + 2;
}

static uint8_t *putstr(uint8_t *p, const char *s, size_t n)
{
  p = put16(p, n);
  memcpy(p, s, n);
  return p + n;
}

long mqtt_build_connect(uint8_t *out, size_t cap, const char *client_id, const char *user,
                        const char *password, uint16_t keepalive, bool clean_session)
{
  size_t cl = strlen(client_id), ul = user ? strlen(user) : 0, pl = password ? strlen(password) : 0;
  if (cl > 65535 || ul > 65535 || pl > 65535 || (password && !user))
    return -EINVAL;
  /* 3.1.2: protocol name "MQTT", level 4, flags, keep alive; 3.1.3 payload */
  size_t rl = 10 + 2 + cl + (user ? 2 + ul : 0) + (password ? 2 + pl : 0);
  long h = header(out, cap, MQTT_CONNECT << 4, rl);
  if (h < 0 || (size_t)h + rl > cap)
    return -ENOSPC;
  uint8_t *p = out + h;
  p = putstr(p, "MQTT", 4);
  *p++ = 4;
  *p++ = (uint8_t)((user ? 0x80 : 0) | (password ? 0x40 : 0) | (clean_session ? 0x02 : 0));
  p = put16(p, keepalive);
  p = putstr(p, client_id, cl);
  if (user)
    p = putstr(p, user, ul);
  if (password)
    p = putstr(p, password, pl);
  return (long)(p - out);
}

long mqtt_build_subscribe(uint8_t *out, size_t cap, uint16_t packet_id, const char *filter,
                          uint8_t qos)
{
  size_t fl = strlen(filter);
  if (fl == 0 || fl > 65535 || qos > 2 || packet_id == 0)
    return -EINVAL;
  size_t rl = 2 + 2 + fl + 1;
  /* 3.8.1: SUBSCRIBE's fixed header flags are 0010 */
  long h = header(out, cap, (MQTT_SUBSCRIBE << 4) | 2, rl);
  if (h < 0 || (size_t)h + rl > cap)
    return -ENOSPC;
  uint8_t *p = out + h;
  p = put16(p, packet_id);
  p = putstr(p, filter, fl);
  *p++ = qos;
  return (long)(p - out);
}

long mqtt_build_ack(uint8_t *out, size_t cap, enum mqtt_type type, uint16_t packet_id)
{
  if (type < MQTT_PUBACK || type > MQTT_PUBCOMP || packet_id == 0)
    return -EINVAL;
  if (cap < 4)
    return -ENOSPC;
  out[0] = (uint8_t)((type << 4) | (type == MQTT_PUBREL ? 2 : 0));
  out[1] = 2;
  put16(out + 2, packet_id);
  return 4;
}

long mqtt_build_simple(uint8_t *out, size_t cap, enum mqtt_type type)
{
  if (type != MQTT_PINGREQ && type != MQTT_DISCONNECT)
    return -EINVAL;
  if (cap < 2)
    return -ENOSPC;
  out[0] = (uint8_t)(type << 4);
  out[1] = 0;
  return 2;
}
