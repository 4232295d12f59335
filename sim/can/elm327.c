/*
 * elm327.c - the ELM327 interpreter (see elm327.h for the command set and its source).
 * Output is built in one buffer per answer and handed to io.write in one piece, so that a
 * TCP client sees an answer and its prompt in one segment.
 */
#include "can/elm327.h"

#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/array.h"
#include "core/sbuf.h"
#include "core/xalloc.h"

#define NS_PER_MS 1000000LL

enum state { S_IDLE, S_WAIT, S_MONITOR };

struct multi {
  bool active;
  uint32_t id;
  uint16_t total, got;
  uint8_t next_sn;
};

/* What ATZ and ATD set back to the defaults (ELM327DS, elm327.h).  The ATSH header and the
 * ATCF/ATCM filter values are not reset; header_set and filter_set are. */
struct settings {
  bool echo, lf, spaces, headers, dlc, responses, caf, cfc;
  int protocol; /* 0..12; 0 = automatic */
  bool auto_proto, searched;
  bool header_set;
  uint8_t cp; /* ATCP, 29-bit priority */
  bool filter_set;
  uint32_t fc_header;
  uint8_t fc_data[5];
  size_t fc_len;
  int fc_mode;
  uint8_t st; /* ATST, x 4 ms */
  int at;     /* ATAT 0/1/2 */
};

static const struct settings elm327_defaults = {
  .echo = true, .lf = false, .spaces = true, .headers = false, .dlc = false,
  .responses = true, .caf = true, .cfc = true, .protocol = 0, .auto_proto = true,
  .searched = false, .header_set = false, .cp = 0x18, .filter_set = false, .fc_mode = 0,
  .fc_header = 0x7E0, .fc_data = {0x30, 0, 0}, .fc_len = 3, .st = 0x32, .at = 1,
};

struct elm327 {
  struct elm327_io io;
  enum state state;
  char line[ELM327_MAX_LINE + 1];
  size_t nline;
  bool overlong;
  char last[ELM327_MAX_LINE + 1];
  struct settings set;   /* ATZ and ATD restore elm327_defaults */
  uint32_t header;       /* ATSH, with set.header_set */
  uint32_t filter, mask; /* ATCF/ATCM, with set.filter_set */
  /* a request in progress */
  int want;        /* answers to wait for (0 = until timeout) */
  int answers;
  struct multi mf[8];
  struct sbuf out;
};

static bool is29(const struct elm327 *e)
{
  int p = e->set.protocol ? e->set.protocol : 6;
  return p == 7 || p == 9 || p == 10;
}

static void defaults(struct elm327 *e)
{
  e->set = elm327_defaults;
}

struct elm327 *elm327_new(const struct elm327_io *io)
{
  struct elm327 *e = xcalloc(1, sizeof(*e));
  e->io = *io;
  defaults(e);
  return e;
}

void elm327_free(struct elm327 *e)
{
  if (!e)
    return;
  sbuf_free(&e->out);
  free(e);
}

bool elm327_busy(const struct elm327 *e)
{
  return e->state != S_IDLE;
}

/* ---- output ---- */

static void put(struct elm327 *e, const char *s)
{
  sbuf_adds(&e->out, s);
}

static void eol(struct elm327 *e)
{
  sbuf_adds(&e->out, e->set.lf ? "\r\n" : "\r");
}

static void flush(struct elm327 *e)
{
  if (e->out.len)
    e->io.write(e->io.ctx, e->out.p, e->out.len);
  sbuf_reset(&e->out);
}

static void prompt(struct elm327 *e)
{
  eol(e);
  put(e, ">");
  flush(e);
}

static void answer(struct elm327 *e, const char *s)
{
  put(e, s);
  eol(e);
  prompt(e);
}

static void put_byte(struct elm327 *e, uint8_t b)
{
  sbuf_printf(&e->out, e->set.spaces ? "%02X " : "%02X", b);
}

static void put_id(struct elm327 *e, const struct sim_frame *f)
{
  if (f->flags & SIM_CAN_F_EXT) {
    uint32_t id = f->id;
    if (e->set.spaces)
      sbuf_printf(&e->out, "%02X %02X %02X %02X ", id >> 24, (id >> 16) & 0xFF,
                  (id >> 8) & 0xFF, id & 0xFF);
    else
      sbuf_printf(&e->out, "%08X", id);
  } else {
    sbuf_printf(&e->out, e->set.spaces ? "%03X " : "%03X", f->id);
  }
  if (e->set.dlc)
    sbuf_printf(&e->out, e->set.spaces ? "%u " : "%u", f->len);
}

static void put_raw(struct elm327 *e, const struct sim_frame *f)
{
  if (e->set.headers)
    put_id(e, f);
  for (int i = 0; i < f->len; i++)
    put_byte(e, f->data[i]);
  eol(e);
}

/* ---- parsing helpers ---- */

static int hexv(char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

static bool all_hex(const char *s, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (hexv(s[i]) < 0)
      return false;
  return n > 0;
}

static uint32_t hexnum(const char *s, size_t n)
{
  uint32_t v = 0;
  for (size_t i = 0; i < n; i++)
    v = v << 4 | (uint32_t)hexv(s[i]);
  return v;
}

/* ---- receive filter ---- */

static bool accept_frame(const struct elm327 *e, const struct sim_frame *f)
{
  bool ext = (f->flags & SIM_CAN_F_EXT) != 0;
  if (e->set.filter_set)
    return (f->id & e->mask) == (e->filter & e->mask) &&
           (ext == (e->filter > 0x7FF || is29(e)));
  if (ext)
    return (f->id & 0x1FFFFF00u) == 0x18DAF100u;
  if (f->id >= 0x7E8 && f->id <= 0x7EF)
    return true;
  return f->id >= 0x700 && f->id <= 0x7FF && f->id != e->header && f->id != 0x7DF;
}

static uint32_t tx_id(const struct elm327 *e)
{
  if (is29(e))
    return e->set.header_set
               ? (e->header > 0xFFFFFF ? e->header : (uint32_t)e->set.cp << 24 | e->header)
               : 0x18DB33F1u;
  return e->set.header_set ? e->header & 0x7FF : 0x7DF;
}

/* ---- requests ---- */

static void finish(struct elm327 *e, bool stopped)
{
  e->io.arm(e->io.ctx, 0);
  if (stopped)
    put(e, "STOPPED"), eol(e);
  else if (e->state == S_WAIT && e->answers == 0)
    put(e, "NO DATA"), eol(e);
  e->state = S_IDLE;
  memset(e->mf, 0, sizeof(e->mf));
  prompt(e);
}

static int64_t timeout_ns(const struct elm327 *e)
{
  int st = e->set.st ? e->set.st : 256;
  return (int64_t)st * 4 * NS_PER_MS;
}

static void send_fc(struct elm327 *e, const struct sim_frame *ff)
{
  struct sim_frame fc = {0};
  fc.flags = ff->flags & SIM_CAN_F_EXT;
  if (e->set.fc_mode == 1) {
    fc.id = e->set.fc_header;
    if (fc.id > 0x7FF)
      fc.flags |= SIM_CAN_F_EXT;
  } else if (ff->flags & SIM_CAN_F_EXT) {
    fc.id = (ff->id & 0xFFFF0000u) | (ff->id & 0xFF) << 8 | (ff->id >> 8 & 0xFF);
  } else {
    fc.id = ff->id - 8;
  }
  fc.len = 8;
  if (e->set.fc_mode == 0) {
    fc.data[0] = 0x30;
  } else {
    memcpy(fc.data, e->set.fc_data, e->set.fc_len);
  }
  e->io.send(e->io.ctx, &fc);
}

static struct multi *multi_for(struct elm327 *e, uint32_t id, bool create)
{
  struct multi *free_slot = NULL;
  for (int i = 0; i < 8; i++) {
    if (e->mf[i].active && e->mf[i].id == id)
      return &e->mf[i];
    if (!e->mf[i].active && !free_slot)
      free_slot = &e->mf[i];
  }
  return create ? free_slot : NULL;
}

static void answered(struct elm327 *e)
{
  e->answers++;
  if (e->want && e->answers >= e->want) {
    flush(e);
    finish(e, false);
    return;
  }
  e->io.arm(e->io.ctx, e->set.at ? 20 * NS_PER_MS < timeout_ns(e) ? 20 * NS_PER_MS : timeout_ns(e)
                                 : timeout_ns(e));
}

/* A frame while waiting for answers, under ATCAF1 without headers. */
static void formatted(struct elm327 *e, const struct sim_frame *f)
{
  if (f->len == 0)
    return;
  uint8_t pci = f->data[0] >> 4;
  if (pci == 0) {
    uint8_t n = f->data[0] & 15;
    if (n == 0 || n + 1 > f->len)
      return;
    for (int i = 1; i <= n; i++)
      put_byte(e, f->data[i]);
    eol(e);
    flush(e);
    answered(e);
  } else if (pci == 1 && f->len == 8) {
    uint16_t total = (uint16_t)((f->data[0] & 15) << 8 | f->data[1]);
    struct multi *m = multi_for(e, f->id, true);
    if (!m || total < 7)
      return;
    *m = (struct multi){true, f->id, total, 6, 1};
    sbuf_printf(&e->out, "%03X", total);
    eol(e);
    put(e, e->set.spaces ? "0: " : "0:");
    for (int i = 2; i < 8; i++)
      put_byte(e, f->data[i]);
    eol(e);
    flush(e);
    e->io.arm(e->io.ctx, timeout_ns(e));
    if (e->set.cfc)
      send_fc(e, f); /* last: a synchronous sender answers it with its consecutive frames */
  } else if (pci == 2) {
    struct multi *m = multi_for(e, f->id, false);
    if (!m || (f->data[0] & 15) != (m->next_sn & 15))
      return;
    sbuf_printf(&e->out, e->set.spaces ? "%X: " : "%X:", m->next_sn & 15);
    int n = m->total - m->got < 7 ? m->total - m->got : 7;
    if (n > f->len - 1)
      n = f->len - 1;
    for (int i = 1; i <= n; i++)
      put_byte(e, f->data[i]);
    eol(e);
    flush(e);
    m->got = (uint16_t)(m->got + n);
    m->next_sn++;
    if (m->got >= m->total) {
      m->active = false;
      answered(e);
    } else {
      e->io.arm(e->io.ctx, timeout_ns(e));
    }
  }
}

void elm327_frame(struct elm327 *e, const struct sim_frame *f)
{
  if (e->state == S_IDLE || (f->flags & (SIM_CAN_F_ERR | SIM_CAN_F_RTR)))
    return;
  if (e->state == S_MONITOR) {
    if (e->set.filter_set && !accept_frame(e, f))
      return;
    put_raw(e, f);
    flush(e);
    return;
  }
  if (!accept_frame(e, f))
    return;
  if (e->set.caf && !e->set.headers) {
    formatted(e, f);
    return;
  }
  /* raw: every accepted frame as received; flow control still sent for first frames */
  if (f->len && (f->data[0] >> 4) == 3 && e->set.caf)
    return;
  put_raw(e, f);
  flush(e);
  bool first = f->len == 8 && (f->data[0] >> 4) == 1;
  bool last = !e->set.caf || (f->data[0] >> 4) == 0;
  if (e->set.caf && first) {
    struct multi *m = multi_for(e, f->id, true);
    if (m)
      *m = (struct multi){true, f->id, (uint16_t)((f->data[0] & 15) << 8 | f->data[1]), 6, 1};
  } else if (e->set.caf && (f->data[0] >> 4) == 2) {
    struct multi *m = multi_for(e, f->id, false);
    if (m) {
      m->got = (uint16_t)(m->got + 7);
      if (m->got >= m->total) {
        m->active = false;
        last = true;
      }
    }
  }
  if (last)
    answered(e);
  else
    e->io.arm(e->io.ctx, timeout_ns(e));
  if (e->set.cfc && first && e->state == S_WAIT)
    send_fc(e, f);
}

void elm327_timeout(struct elm327 *e)
{
  if (e->state == S_WAIT)
    finish(e, false);
}

static void request(struct elm327 *e, const char *s, size_t n)
{
  if (!e->set.protocol && !e->set.auto_proto) {
    answer(e, "?");
    return;
  }
  int p = e->set.protocol ? e->set.protocol : 6;
  if (p < 6 || p > 12) {
    answer(e, "UNABLE TO CONNECT");
    return;
  }
  int want = 0;
  if (n % 2) {
    want = hexv(s[n - 1]);
    n--;
  }
  size_t nb = n / 2;
  if (nb == 0 || nb > (e->set.caf ? 7u : 8u)) {
    answer(e, "?");
    return;
  }
  struct sim_frame f = {0};
  f.id = tx_id(e);
  if (f.id > 0x7FF || is29(e))
    f.flags |= SIM_CAN_F_EXT;
  size_t k = 0;
  if (e->set.caf)
    f.data[k++] = (uint8_t)nb;
  for (size_t i = 0; i < nb; i++)
    f.data[k++] = (uint8_t)hexnum(s + 2 * i, 2);
  f.len = e->set.caf ? 8 : (uint8_t)k;
  if (e->set.auto_proto && !e->set.searched) {
    put(e, "SEARCHING...");
    eol(e);
    e->set.searched = true;
  }
  if (!e->set.responses) {
    e->io.send(e->io.ctx, &f);
    prompt(e);
    return;
  }
  flush(e);
  e->state = S_WAIT;
  e->want = want;
  e->answers = 0;
  memset(e->mf, 0, sizeof(e->mf));
  e->io.arm(e->io.ctx, timeout_ns(e));
  if (e->io.send(e->io.ctx, &f) < 0 && e->state == S_WAIT) {
    e->state = S_IDLE;
    e->io.arm(e->io.ctx, 0);
    answer(e, "CAN ERROR");
  }
}

/* ---- AT commands ---- */

static const char *const PROTOCOLS[] = {
    "AUTO", "SAE J1850 PWM", "SAE J1850 VPW", "ISO 9141-2", "ISO 14230-4 (KWP 5BAUD)",
    "ISO 14230-4 (KWP FAST)", "ISO 15765-4 (CAN 11/500)", "ISO 15765-4 (CAN 29/500)",
    "ISO 15765-4 (CAN 11/250)", "ISO 15765-4 (CAN 29/250)", "SAE J1939 (CAN 29/250)",
    "USER1 CAN (11* /125)", "USER2 CAN (11* /50)",
};

static bool flag_cmd(struct elm327 *e, const char *c, size_t n)
{
  static const struct {
    const char *name;
    size_t off;
  } flags[] = {
      {"E", offsetof(struct settings, echo)},   {"L", offsetof(struct settings, lf)},
      {"S", offsetof(struct settings, spaces)}, {"H", offsetof(struct settings, headers)},
      {"D", offsetof(struct settings, dlc)},    {"R", offsetof(struct settings, responses)},
      {"CAF", offsetof(struct settings, caf)},  {"CFC", offsetof(struct settings, cfc)},
  };
  if (n < 2 || (c[n - 1] != '0' && c[n - 1] != '1'))
    return false;
  for (size_t i = 0; i < ARRAY_SIZE(flags); i++)
    if (strlen(flags[i].name) == n - 1 && !memcmp(flags[i].name, c, n - 1)) {
      *(bool *)((char *)&e->set + flags[i].off) = c[n - 1] == '1';
      answer(e, "OK");
      return true;
    }
  return false;
}

static bool prefix(const char *c, size_t n, const char *p, const char **arg, size_t *alen)
{
  size_t l = strlen(p);
  if (n < l || memcmp(c, p, l))
    return false;
  *arg = c + l;
  *alen = n - l;
  return true;
}

static void monitor(struct elm327 *e)
{
  flush(e);
  e->state = S_MONITOR;
}

static bool is(const char *c, size_t n, const char *name)
{
  return strlen(name) == n && !memcmp(c, name, n);
}

/* Identity, reset and status commands.  Returns whether c was one of them. */
static bool at_info(struct elm327 *e, const char *c, size_t n)
{
  char buf[64];
  if (is(c, n, "Z") || is(c, n, "WS")) {
    defaults(e);
    put(e, "\r\r" ELM327_VERSION);
    eol(e);
    prompt(e);
  } else if (is(c, n, "D")) {
    defaults(e);
    answer(e, "OK");
  } else if (is(c, n, "I")) {
    answer(e, ELM327_VERSION);
  } else if (is(c, n, "@1")) {
    answer(e, "OBDII to RS232 Interpreter");
  } else if (is(c, n, "RV")) {
    double v = e->io.volts ? e->io.volts(e->io.ctx) : 12.6;
    snprintf(buf, sizeof(buf), "%.1fV", v);
    answer(e, buf);
  } else if (is(c, n, "DP")) {
    int p = e->set.protocol ? e->set.protocol : 6;
    snprintf(buf, sizeof(buf), "%s%s", e->set.auto_proto ? "AUTO, " : "", PROTOCOLS[p]);
    answer(e, buf);
  } else if (is(c, n, "DPN")) {
    snprintf(buf, sizeof(buf), "%s%X", e->set.auto_proto ? "A" : "",
             e->set.protocol ? e->set.protocol : 6);
    answer(e, buf);
  } else if (is(c, n, "MA")) {
    monitor(e);
  } else if (is(c, n, "PC")) {
    e->set.searched = false;
    answer(e, "OK");
  } else {
    return false;
  }
  return true;
}

/* Protocol, header and receive filter.  Returns whether c was one of them. */
static bool at_addressing(struct elm327 *e, const char *c, size_t n)
{
  const char *a;
  size_t al;
  if ((prefix(c, n, "SP", &a, &al) || prefix(c, n, "TP", &a, &al)) && al >= 1 && al <= 2) {
    bool aut = al == 2 && a[0] == 'A';
    if ((al == 2 && !aut) || hexv(a[al - 1]) < 0 || hexv(a[al - 1]) > 12)
      return false;
    int p = hexv(a[al - 1]);
    e->set.protocol = p;
    e->set.auto_proto = aut || p == 0;
    e->set.searched = false;
  } else if (prefix(c, n, "SH", &a, &al) && (al == 3 || al == 6 || al == 8) && all_hex(a, al)) {
    e->header = hexnum(a, al);
    e->set.header_set = true;
  } else if (prefix(c, n, "CP", &a, &al) && al == 2 && all_hex(a, al)) {
    e->set.cp = (uint8_t)(hexnum(a, al) & 0x1F);
  } else if (is(c, n, "CRA") || is(c, n, "AR")) {
    e->set.filter_set = false;
  } else if (prefix(c, n, "CRA", &a, &al) && (al == 3 || al == 8) && all_hex(a, al)) {
    e->filter = hexnum(a, al);
    e->mask = al == 3 ? 0x7FF : 0x1FFFFFFF;
    e->set.filter_set = true;
  } else if ((prefix(c, n, "CF", &a, &al) || prefix(c, n, "CM", &a, &al)) &&
             (al == 3 || al == 8) && all_hex(a, al)) {
    if (!e->set.filter_set)
      e->filter = e->mask = 0;
    if (c[1] == 'F')
      e->filter = hexnum(a, al);
    else
      e->mask = hexnum(a, al);
    e->set.filter_set = true;
  } else {
    return false;
  }
  answer(e, "OK");
  return true;
}

/* Flow control and timing.  Returns whether c was one of them. */
static bool at_flow(struct elm327 *e, const char *c, size_t n)
{
  const char *a;
  size_t al;
  if (prefix(c, n, "FCSH", &a, &al) && (al == 3 || al == 6 || al == 8) && all_hex(a, al)) {
    e->set.fc_header = hexnum(a, al);
    if (al == 6)
      e->set.fc_header |= (uint32_t)e->set.cp << 24;
  } else if (prefix(c, n, "FCSD", &a, &al) && al >= 2 && al <= 10 && al % 2 == 0 &&
             all_hex(a, al)) {
    e->set.fc_len = al / 2;
    for (size_t i = 0; i < e->set.fc_len; i++)
      e->set.fc_data[i] = (uint8_t)hexnum(a + 2 * i, 2);
  } else if (prefix(c, n, "FCSM", &a, &al) && al == 1 && a[0] >= '0' && a[0] <= '2') {
    e->set.fc_mode = a[0] - '0';
  } else if (prefix(c, n, "ST", &a, &al) && al == 2 && all_hex(a, al)) {
    e->set.st = (uint8_t)hexnum(a, al);
  } else if (prefix(c, n, "AT", &a, &al) && al == 1 && a[0] >= '0' && a[0] <= '2') {
    e->set.at = a[0] - '0';
  } else {
    return false;
  }
  answer(e, "OK");
  return true;
}

/* Set-up commands that change nothing on a simulator bus. */
static bool at_harmless(struct elm327 *e, const char *c, size_t n)
{
  static const char *const plain[] = {"M0", "M1", "AL", "NL", "V0", "V1", "CSM0", "CSM1",
                                      "BI", "LP", "CEA", "KW0", "KW1", "FE", "SI"};
  static const char *const with_arg[] = {"IB", "SW", "WM", "SR", "RA", "CEA", "PP"};
  const char *a;
  size_t al;
  for (size_t i = 0; i < ARRAY_SIZE(plain); i++)
    if (is(c, n, plain[i])) {
      answer(e, "OK");
      return true;
    }
  for (size_t i = 0; i < ARRAY_SIZE(with_arg); i++)
    if (prefix(c, n, with_arg[i], &a, &al) && al >= 1 && all_hex(a, al)) {
      answer(e, "OK");
      return true;
    }
  return false;
}

static void at_command(struct elm327 *e, const char *c, size_t n)
{
  if (!at_info(e, c, n) && !flag_cmd(e, c, n) && !at_addressing(e, c, n) && !at_flow(e, c, n) &&
      !at_harmless(e, c, n))
    answer(e, "?");
}

static void command(struct elm327 *e, const char *raw, size_t rn)
{
  char c[ELM327_MAX_LINE + 1];
  size_t n = 0;
  for (size_t i = 0; i < rn; i++) {
    unsigned char ch = (unsigned char)raw[i];
    if (ch <= ' ')
      continue;
    c[n++] = (char)toupper(ch);
  }
  c[n] = 0;
  if (n >= 2 && c[0] == 'A' && c[1] == 'T') {
    at_command(e, c + 2, n - 2);
    return;
  }
  if (n && all_hex(c, n)) {
    request(e, c, n);
    return;
  }
  answer(e, "?");
}

static void line_done(struct elm327 *e)
{
  if (e->set.echo) {
    sbuf_add(&e->out, e->line, e->nline);
    eol(e);
  }
  if (e->overlong) {
    e->overlong = false;
    e->nline = 0;
    answer(e, "?");
    return;
  }
  bool blank = true;
  for (size_t i = 0; i < e->nline; i++)
    if ((unsigned char)e->line[i] > ' ')
      blank = false;
  if (blank) {
    if (!e->last[0]) {
      prompt(e);
      return;
    }
    memcpy(e->line, e->last, strlen(e->last) + 1);
    e->nline = strlen(e->last);
  } else {
    memcpy(e->last, e->line, e->nline);
    e->last[e->nline] = 0;
  }
  size_t n = e->nline;
  e->nline = 0;
  char copy[ELM327_MAX_LINE + 1];
  memcpy(copy, e->line, n);
  command(e, copy, n);
}

void elm327_input(struct elm327 *e, const uint8_t *p, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    char ch = (char)p[i];
    if (ch == '\n' || ch == 0)
      continue;
    if (e->state != S_IDLE) {
      /* any character interrupts a request or ATMA; it is not part of a command */
      finish(e, true);
      continue;
    }
    if (ch == '\r') {
      line_done(e);
    } else if (e->nline < ELM327_MAX_LINE) {
      e->line[e->nline++] = ch;
    } else {
      e->overlong = true;
    }
  }
}
