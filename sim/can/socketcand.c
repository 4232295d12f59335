/*
 * socketcand.c - the socketcand ASCII protocol codec (see socketcand.h).
 */
#include "can/socketcand.h"

#include <stdio.h>
#include <string.h>

#include "core/array.h"
#include "core/error.h"
#include "core/hex.h"

#define MAX_TOKENS 24

size_t socketcand_next(const uint8_t *p, size_t n, size_t *start, size_t *len, size_t *skip)
{
  size_t i = 0;
  while (i < n && p[i] != '<')
    i++;
  *skip = i;
  if (i == n)
    return 0;
  for (size_t j = i + 1; j < n; j++) {
    if (p[j] == '>') {
      *start = i;
      *len = j - i + 1;
      return j + 1;
    }
    if (p[j] == '<') { /* an unfinished message, followed by a new one */
      *start = i;
      *len = j - i;
      return j;
    }
  }
  return 0;
}

/* Parses a hex token of 1..maxdigits digits. */
static bool parse_hex(const char *t, size_t len, size_t maxdigits, uint32_t *out)
{
  return len <= maxdigits && sim_hex_u32(t, len, out);
}

static bool parse_dec(const char *t, size_t len, size_t maxdigits, uint64_t *out)
{
  if (len == 0 || len > maxdigits)
    return false;
  uint64_t v = 0;
  for (size_t i = 0; i < len; i++) {
    if (t[i] < '0' || t[i] > '9')
      return false;
    v = v * 10 + (uint64_t)(t[i] - '0');
  }
  *out = v;
  return true;
}

struct tok {
  const char *p;
  size_t n;
};

static bool tok_is(const struct tok *t, const char *s)
{
  return t->n == strlen(s) && !memcmp(t->p, s, t->n);
}

static int fail(struct socketcand_msg *m, const char *why)
{
  m->cmd = SCD_ERROR;
  snprintf(m->arg, sizeof(m->arg), "%s", why);
  return SIM_EPARSE;
}

/* An id token: 8 digits is 29-bit (socketcand's element_length() == 8 test); a shorter token
 * whose value does not fit 11 bits is taken as 29-bit too (python-can sends "{:X}" without
 * padding, so a 29-bit id below 0x10000000 arrives with fewer digits). */
static bool parse_id(const struct tok *t, struct sim_frame *f)
{
  uint32_t id;
  if (!parse_hex(t->p, t->n, 8, &id) || id > SIM_CAN_EFF_MASK)
    return false;
  f->id = id;
  if (t->n == 8 || id > SIM_CAN_SFF_MASK)
    f->flags |= SIM_CAN_F_EXT;
  return true;
}

/* Data bytes: one token per byte (1-2 hex digits), or the bytes as one even-length hex run. */
static bool parse_data(const struct tok *t, size_t nt, struct sim_frame *f, size_t want,
                       bool want_known)
{
  size_t n = 0;
  if (nt == 1 && t[0].n > 2) {
    if (t[0].n % 2 || t[0].n / 2 > 8)
      return false;
    for (size_t i = 0; i < t[0].n; i += 2) {
      uint32_t v;
      if (!parse_hex(t[0].p + i, 2, 2, &v))
        return false;
      f->data[n++] = (uint8_t)v;
    }
  } else {
    if (nt > 8)
      return false;
    for (size_t i = 0; i < nt; i++) {
      uint32_t v;
      if (!parse_hex(t[i].p, t[i].n, 2, &v))
        return false;
      f->data[n++] = (uint8_t)v;
    }
  }
  if (want_known && n != want)
    return false;
  f->len = (uint8_t)n;
  return true;
}

static int parse_frame(struct socketcand_msg *m, const struct tok *t, size_t nt)
{
  if (nt < 3 || !parse_id(&t[1], &m->frame))
    return fail(m, "bad frame: expected < frame ID SECS.USECS DATA >");
  const char *dot = memchr(t[2].p, '.', t[2].n);
  uint64_t sec, usec = 0;
  size_t sl = dot ? (size_t)(dot - t[2].p) : t[2].n;
  if (!parse_dec(t[2].p, sl, 12, &sec) || sec > INT64_MAX / 1000000000 - 1 ||
      (dot && !parse_dec(dot + 1, t[2].n - sl - 1, 6, &usec)))
    return fail(m, "bad frame time"); /* (seconds an int64 of ns cannot hold, too) */
  if (dot)
    for (size_t k = t[2].n - sl - 1; k < 6; k++)
      usec *= 10;
  m->ts_ns = (int64_t)sec * 1000000000 + (int64_t)usec * 1000;
  if (!parse_data(t + 3, nt - 3, &m->frame, 0, false))
    return fail(m, "bad frame data");
  m->cmd = SCD_FRAME;
  return 0;
}

static int parse_send(struct socketcand_msg *m, const struct tok *t, size_t nt)
{
  uint64_t dlc;
  if (nt < 3)
    return fail(m, "syntax: < send ID DLC DATA >");
  if (!parse_id(&t[1], &m->frame))
    return fail(m, "bad CAN id in send command");
  if (!parse_dec(t[2].p, t[2].n, 1, &dlc) || dlc > 8)
    return fail(m, "bad DLC in send command (0..8)");
  if (!parse_data(t + 3, nt - 3, &m->frame, (size_t)dlc, true))
    return fail(m, "data does not match the DLC in send command");
  m->cmd = SCD_SEND;
  return 0;
}

static int parse_subscribe(struct socketcand_msg *m, const struct tok *t, size_t nt)
{
  bool sub = t[0].n == 9;
  uint64_t dummy;
  if (sub ? (nt != 4 || !parse_dec(t[1].p, t[1].n, 10, &dummy) ||
             !parse_dec(t[2].p, t[2].n, 10, &dummy) || !parse_id(&t[3], &m->frame))
          : (nt != 2 || !parse_id(&t[1], &m->frame)))
    return fail(m, sub ? "syntax: < subscribe SECS USECS ID >" : "syntax: < unsubscribe ID >");
  m->cmd = sub ? SCD_SUBSCRIBE : SCD_UNSUBSCRIBE;
  return 0;
}

/* "< error TEXT >": the text, blanks trimmed, into m->arg. */
static int parse_error(struct socketcand_msg *m, const char *s, size_t n, const struct tok *t0)
{
  m->cmd = SCD_ERROR;
  size_t off = (size_t)(t0->p + t0->n - s);
  while (off < n - 1 && s[off] == ' ')
    off++;
  size_t l = n - 1 - off;
  while (l && s[off + l - 1] == ' ')
    l--;
  if (l >= sizeof(m->arg))
    l = sizeof(m->arg) - 1;
  memcpy(m->arg, s + off, l);
  return 0;
}

int socketcand_parse(const char *s, size_t n, struct socketcand_msg *m)
{
  memset(m, 0, sizeof(*m));
  if (n < 2 || s[0] != '<' || s[n - 1] != '>')
    return fail(m, "message not enclosed in < >");
  struct tok t[MAX_TOKENS];
  size_t nt = 0;
  for (size_t i = 1; i < n - 1;) {
    while (i < n - 1 && (s[i] == ' ' || s[i] == '\t'))
      i++;
    if (i >= n - 1)
      break;
    size_t b = i;
    while (i < n - 1 && s[i] != ' ' && s[i] != '\t')
      i++;
    if (nt == MAX_TOKENS)
      return fail(m, "too many fields");
    t[nt].p = s + b;
    t[nt].n = i - b;
    for (size_t k = b; k < i; k++)
      if ((unsigned char)s[k] < 0x20 || (unsigned char)s[k] > 0x7E)
        return fail(m, "non-printable character");
    nt++;
  }
  if (nt == 0)
    return fail(m, "empty command");
  static const struct {
    const char *name;
    enum socketcand_cmd cmd;
  } simple[] = {
      {"hi", SCD_HI},           {"ok", SCD_OK},
      {"rawmode", SCD_RAWMODE}, {"bcmmode", SCD_BCMMODE},
      {"echo", SCD_ECHO},       {"controlmode", SCD_CONTROLMODE},
      {"isotpmode", SCD_ISOTPMODE},
  };
  for (size_t i = 0; i < ARRAY_SIZE(simple); i++)
    if (tok_is(&t[0], simple[i].name)) {
      if (nt != 1)
        return fail(m, "unexpected arguments");
      m->cmd = simple[i].cmd;
      return 0;
    }
  if (tok_is(&t[0], "open")) {
    if (nt != 2 || t[1].n > SOCKETCAND_MAX_BUSNAME)
      return fail(m, "syntax: < open BUS > (at most 16 characters)");
    m->cmd = SCD_OPEN;
    memcpy(m->arg, t[1].p, t[1].n);
    return 0;
  }
  if (tok_is(&t[0], "send"))
    return parse_send(m, t, nt);
  if (tok_is(&t[0], "frame"))
    return parse_frame(m, t, nt);
  if (tok_is(&t[0], "subscribe") || tok_is(&t[0], "unsubscribe"))
    return parse_subscribe(m, t, nt);
  if (tok_is(&t[0], "error"))
    return parse_error(m, s, n, &t[0]);
  static const char *const known[] = {"add", "update", "delete", "filter", "muxfilter",
                                      "statistics", "isotpconf", "sendpdu", "stat", "pdu"};
  for (size_t i = 0; i < ARRAY_SIZE(known); i++)
    if (tok_is(&t[0], known[i])) {
      m->cmd = SCD_UNSUPPORTED;
      snprintf(m->arg, sizeof(m->arg), "%s", known[i]);
      return 0;
    }
  return fail(m, "unknown command");
}

int socketcand_take(const uint8_t *p, size_t n, size_t *used, struct socketcand_msg *m)
{
  size_t start, len, skip;
  *used = socketcand_next(p, n, &start, &len, &skip);
  if (!*used) {
    *used = skip;
    return 0;
  }
  return socketcand_parse((const char *)p + start, len, m) < 0 ? SIM_EPARSE : 1;
}

static int fmt_time(char *buf, size_t cap, int64_t ts_ns)
{
  if (ts_ns < 0)
    ts_ns = 0;
  return snprintf(buf, cap, "%lld.%06lld", (long long)(ts_ns / 1000000000),
                  (long long)(ts_ns % 1000000000 / 1000));
}

static const char HEX[] = "0123456789ABCDEF";

/* Appends f's data bytes in hex at buf[n] (each followed by a blank when spaced, else the
 * run followed by one) and the closing '>' of a message.  Returns the message length. */
static int put_data(const struct sim_frame *f, bool spaced, char *buf, int n)
{
  for (int i = 0; i < f->len; i++) {
    buf[n++] = HEX[f->data[i] >> 4];
    buf[n++] = HEX[f->data[i] & 15];
    if (spaced)
      buf[n++] = ' ';
  }
  if (!spaced)
    buf[n++] = ' ';
  buf[n++] = '>';
  buf[n] = 0;
  return n;
}

int socketcand_format_frame(const struct sim_frame *f, int64_t ts_ns, char *buf, size_t cap)
{
  if (cap < SOCKETCAND_MAX_MSG)
    return SIM_ELIMIT;
  if (f->flags & SIM_CAN_F_RTR)
    return 0;
  if (f->len > 8)
    return SIM_EUNSUP;
  char ts[32];
  fmt_time(ts, sizeof(ts), ts_ns);
  int n;
  if (f->flags & SIM_CAN_F_ERR)
    return snprintf(buf, cap, "< error %03X %s >", (unsigned)(f->id & SIM_CAN_EFF_MASK), ts);
  if (f->flags & SIM_CAN_F_EXT)
    n = snprintf(buf, cap, "< frame %08X %s ", (unsigned)(f->id & SIM_CAN_EFF_MASK), ts);
  else
    n = snprintf(buf, cap, "< frame %03X %s ", (unsigned)(f->id & SIM_CAN_SFF_MASK), ts);
  return put_data(f, false, buf, n);
}

int socketcand_format_send(const struct sim_frame *f, char *buf, size_t cap)
{
  if (cap < SOCKETCAND_MAX_MSG)
    return SIM_ELIMIT;
  if (f->len > 8 || (f->flags & (SIM_CAN_F_RTR | SIM_CAN_F_ERR | SIM_CAN_F_FD)))
    return SIM_EUNSUP;
  int n;
  if (f->flags & SIM_CAN_F_EXT)
    n = snprintf(buf, cap, "< send %08X %u ", (unsigned)(f->id & SIM_CAN_EFF_MASK), f->len);
  else
    n = snprintf(buf, cap, "< send %03X %u ", (unsigned)(f->id & SIM_CAN_SFF_MASK), f->len);
  return put_data(f, true, buf, n);
}
