/*
 * test_elm327.c - ELM327 transcripts: command -> exact response bytes (echo, linefeeds,
 * spaces and headers on and off, multi-frame answers with flow control as ATFCSH/ATFCSD/ATFCSM
 * set it, NO DATA, ATMA, "?" for unknown commands), against a small ISO-TP responder written
 * here (an OBD ECU on 7E0/7E8 and a Leaf BMS on 79B/7BB); then the same dongle served over
 * TCP and over a pseudo-terminal on a simulator bus.
 */
#include <ev.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "core/array.h"
#include "nettest.h"
#include "testutil.h"

#include "can/bus.h"
#include "can/elm327.h"
#include "can/serve.h"
#include "core/loop.h"

/* ---- a responder: ISO-TP sender of canned answers ---- */

struct responder {
  /* pending multi-frame answer */
  uint32_t id;
  uint8_t msg[64];
  size_t len, off;
  uint8_t sn;
  int fcs;
  struct sim_frame last_fc;
  int (*send)(void *ctx, const struct sim_frame *f);
  void *ctx;
};

static const uint8_t VIN[] = {0x49, 0x02, 0x01, '1', 'D', '4', 'G', 'P', '0', '0',
                              'R', '5', '5', 'B', '1', '2', '3', '4', '5', '6'};

static void rsp_send(struct responder *r, uint32_t id, const uint8_t *d, size_t n)
{
  struct sim_frame f = {.id = id, .len = 8};
  memcpy(f.data, d, n);
  r->send(r->ctx, &f);
}

static void rsp_answer(struct responder *r, uint32_t id, const uint8_t *msg, size_t n)
{
  if (n <= 7) {
    uint8_t d[8] = {(uint8_t)n};
    memcpy(d + 1, msg, n);
    rsp_send(r, id, d, 8);
    return;
  }
  r->id = id;
  memcpy(r->msg, msg, n);
  r->len = n;
  r->off = 6;
  r->sn = 1;
  uint8_t d[8] = {(uint8_t)(0x10 | n >> 8), (uint8_t)n};
  memcpy(d + 2, msg, 6);
  rsp_send(r, id, d, 8);
}

static void rsp_frame(struct responder *r, const struct sim_frame *f)
{
  if ((f->id == 0x7E0 || f->id == 0x79B) && (f->data[0] >> 4) == 3 && r->len) {
    r->fcs++;
    r->last_fc = *f;
    while (r->off < r->len) {
      uint8_t d[8] = {(uint8_t)(0x20 | (r->sn++ & 15))};
      size_t n = r->len - r->off < 7 ? r->len - r->off : 7;
      memcpy(d + 1, r->msg + r->off, n);
      r->off += n;
      rsp_send(r, r->id, d, 8);
    }
    r->len = 0;
    return;
  }
  if ((f->id == 0x7E0 || f->id == 0x7DF) && f->data[0] == 2 && f->data[1] == 0x01 &&
      f->data[2] == 0x00)
    rsp_answer(r, 0x7E8, (const uint8_t[]){0x41, 0x00, 0xBE, 0x3F, 0xA8, 0x13}, 6);
  else if ((f->id == 0x7E0 || f->id == 0x7DF) && f->data[0] == 2 && f->data[1] == 0x09 &&
           f->data[2] == 0x02)
    rsp_answer(r, 0x7E8, VIN, sizeof(VIN));
  else if (f->id == 0x79B && f->data[0] == 2 && f->data[1] == 0x21 && f->data[2] == 0x01) {
    uint8_t m[41] = {0x61, 0x01};
    for (int i = 2; i < 41; i++)
      m[i] = (uint8_t)i;
    rsp_answer(r, 0x7BB, m, sizeof(m));
  }
}

/* ---- the interpreter alone ---- */

struct t {
  struct elm327 *e;
  struct sbuf out;
  struct responder r;
  int64_t armed;
  int sent;
  double volts;
};

static void t_write(void *ctx, const char *s, size_t n)
{
  sbuf_add(&((struct t *)ctx)->out, s, n);
}

static int t_bus(void *ctx, const struct sim_frame *f)
{
  struct t *t = ctx;
  elm327_frame(t->e, f);
  return 0;
}

static int t_send(void *ctx, const struct sim_frame *f)
{
  struct t *t = ctx;
  t->sent++;
  rsp_frame(&t->r, f);
  return 0;
}

static void t_arm(void *ctx, int64_t ns)
{
  ((struct t *)ctx)->armed = ns;
}

static double t_volts(void *ctx)
{
  return ((struct t *)ctx)->volts;
}

/* Sends cmd; when the interpreter waits for answers, lets its timer expire once. */
static const char *say(struct t *t, const char *cmd)
{
  sbuf_reset(&t->out);
  elm327_input(t->e, (const uint8_t *)cmd, strlen(cmd));
  if (elm327_busy(t->e) && t->armed)
    elm327_timeout(t->e);
  return sbuf_str(&t->out);
}

static void check(struct t *t, const char *cmd, const char *want)
{
  const char *got = say(t, cmd);
  if (strcmp(got, want)) {
    struct sbuf a = SBUF_INIT, b = SBUF_INIT;
    for (const char *p = got; *p; p++)
      sbuf_printf(&a, *p == '\r' ? "\\r" : *p == '\n' ? "\\n" : "%c", *p);
    for (const char *p = want; *p; p++)
      sbuf_printf(&b, *p == '\r' ? "\\r" : *p == '\n' ? "\\n" : "%c", *p);
    fail_msg("'%s': got \"%s\", want \"%s\"", cmd, sbuf_str(&a), sbuf_str(&b));
  }
}

static int t_setup(void **state)
{
  struct t *t = calloc(1, sizeof(*t));
  t->volts = 12.43;
  t->r.send = t_bus;
  t->r.ctx = t;
  struct elm327_io io = {t_write, t_send, t_arm, t_volts, t};
  t->e = elm327_new(&io);
  *state = t;
  return 0;
}

static int t_teardown(void **state)
{
  struct t *t = *state;
  elm327_free(t->e);
  sbuf_free(&t->out);
  free(t);
  return 0;
}

struct step {
  const char *cmd, *want;
};

static void run(struct t *t, const struct step *s, size_t n)
{
  for (size_t i = 0; i < n; i++)
    check(t, s[i].cmd, s[i].want);
}

static void test_basics(void **state)
{
  struct t *t = *state;
  const struct step steps[] = {
      {"ATZ\r", "ATZ\r\r\rELM327 v1.5\r\r>"},
      {"ATI\r", "ATI\rELM327 v1.5\r\r>"},
      {"ATE0\r", "ATE0\rOK\r\r>"},
      {"ATI\r", "ELM327 v1.5\r\r>"},
      {"at @1\r", "OBDII to RS232 Interpreter\r\r>"},
      {"ATRV\r", "12.4V\r\r>"},
      {"ATDP\r", "AUTO, ISO 15765-4 (CAN 11/500)\r\r>"},
      {"ATDPN\r", "A6\r\r>"},
      {"ATSP6\r", "OK\r\r>"},
      {"ATDP\r", "ISO 15765-4 (CAN 11/500)\r\r>"},
      {"ATDPN\r", "6\r\r>"},
      {"ATSPD\r", "?\r\r>"},
      {"ATXYZ\r", "?\r\r>"},
      {"HELLO\r", "?\r\r>"},
      {"ATM0\r", "OK\r\r>"},
      {"ATL1\r", "OK\r\n\r\n>"},
      {"ATL0\r", "OK\r\r>"},
      {"ATE1\r", "OK\r\r>"},
      {"AT ST 19\r", "AT ST 19\rOK\r\r>"},
      {"\r", "\rOK\r\r>"}, /* an empty line repeats the last command */
  };
  run(t, steps, ARRAY_SIZE(steps));
}

static void test_obd(void **state)
{
  struct t *t = *state;
  const struct step steps[] = {
      {"ATE0\r", "ATE0\rOK\r\r>"},
      {"0100\r", "SEARCHING...\r41 00 BE 3F A8 13 \r\r>"},
      {"0100\r", "41 00 BE 3F A8 13 \r\r>"},
      {"01001\r", "41 00 BE 3F A8 13 \r\r>"},
      {"ATS0\r", "OK\r\r>"},
      {"0100\r", "4100BE3FA813\r\r>"},
      {"ATH1\r", "OK\r\r>"},
      {"0100\r", "7E8064100BE3FA81300\r\r>"},
      {"ATS1\r", "OK\r\r>"},
      {"0100\r", "7E8 06 41 00 BE 3F A8 13 00 \r\r>"},
      {"ATD1\r", "OK\r\r>"},
      {"0100\r", "7E8 8 06 41 00 BE 3F A8 13 00 \r\r>"},
      {"ATD0\r", "OK\r\r>"},
      {"ATH0\r", "OK\r\r>"},
      /* multi-frame: length line, then numbered segments; flow control to 7E0 */
      {"0902\r", "014\r0: 49 02 01 31 44 34 \r1: 47 50 30 30 52 35 35 \r"
                 "2: 42 31 32 33 34 35 36 \r\r>"},
      {"ATSH7E5\r", "OK\r\r>"},
      {"0100\r", "NO DATA\r\r>"},
  };
  run(t, steps, ARRAY_SIZE(steps));
  assert_int_equal(t->r.fcs, 1);
  assert_int_equal(t->r.last_fc.id, 0x7E0);
  assert_memory_equal(t->r.last_fc.data, ((const uint8_t[]){0x30, 0, 0}), 3);
}

static void test_leaf_bms(void **state)
{
  struct t *t = *state;
  const struct step steps[] = {
      {"ATE0\r", "ATE0\rOK\r\r>"},
      {"ATSP6\r", "OK\r\r>"},
      {"ATSH79B\r", "OK\r\r>"},
      {"ATFCSH79B\r", "OK\r\r>"},
      {"ATFCSD300000\r", "OK\r\r>"},
      {"ATFCSM1\r", "OK\r\r>"},
      {"ATCRA7BB\r", "OK\r\r>"},
      {"2101\r", "029\r0: 61 01 02 03 04 05 \r1: 06 07 08 09 0A 0B 0C \r"
                 "2: 0D 0E 0F 10 11 12 13 \r3: 14 15 16 17 18 19 1A \r"
                 "4: 1B 1C 1D 1E 1F 20 21 \r5: 22 23 24 25 26 27 28 \r\r>"},
      {"ATH1\r", "OK\r\r>"},
      {"2101\r", "7BB 10 29 61 01 02 03 04 05 \r7BB 21 06 07 08 09 0A 0B 0C \r"
                 "7BB 22 0D 0E 0F 10 11 12 13 \r7BB 23 14 15 16 17 18 19 1A \r"
                 "7BB 24 1B 1C 1D 1E 1F 20 21 \r7BB 25 22 23 24 25 26 27 28 \r\r>"},
  };
  run(t, steps, ARRAY_SIZE(steps));
  assert_int_equal(t->r.fcs, 2);
  assert_int_equal(t->r.last_fc.id, 0x79B);
  assert_memory_equal(t->r.last_fc.data, ((const uint8_t[]){0x30, 0x00, 0x00}), 3);
}

static void test_monitor(void **state)
{
  struct t *t = *state;
  check(t, "ATE0\r", "ATE0\rOK\r\r>");
  check(t, "ATH1\r", "OK\r\r>");
  sbuf_reset(&t->out);
  elm327_input(t->e, (const uint8_t *)"ATMA\r", 5);
  assert_true(elm327_busy(t->e));
  struct sim_frame f = {.id = 0x5BC, .len = 2, .data = {0x12, 0x34}};
  elm327_frame(t->e, &f);
  f = (struct sim_frame){.id = 0x18FF50E5, .flags = SIM_CAN_F_EXT, .len = 1, .data = {0xAB}};
  elm327_frame(t->e, &f);
  elm327_input(t->e, (const uint8_t *)"x", 1);
  assert_false(elm327_busy(t->e));
  assert_string_equal(sbuf_str(&t->out), "5BC 12 34 \r18 FF 50 E5 AB \rSTOPPED\r\r>");
}

static void test_bad_input(void **state)
{
  struct t *t = *state;
  check(t, "ATE0\r", "ATE0\rOK\r\r>");
  char big[400];
  memset(big, '0', sizeof(big) - 2);
  big[sizeof(big) - 2] = '\r';
  big[sizeof(big) - 1] = 0;
  check(t, big, "?\r\r>"); /* longer than ELM327_MAX_LINE */
  check(t, "\x01\x02\xff\xfe\r", "?\r\r>");
  check(t, "ATSH12345\r", "?\r\r>");     /* 5 digits */
  check(t, "ATFCSM7\r", "?\r\r>");
  check(t, "ATST\r", "?\r\r>");
  check(t, "0\r", "?\r\r>"); /* a lone digit: no request byte */
  check(t, "0102030405060708\r", "?\r\r>"); /* 8 bytes do not fit a single frame */
  check(t, "ATI\r", "ELM327 v1.5\r\r>");  /* and it still works */
}

/* ---- served on a bus: TCP and pty ---- */

struct env {
  struct sim_loop *loop;
  struct sim_canbus *bus;
  struct can_serve *srv;
  struct responder r;
};

static int env_send(void *ctx, const struct sim_frame *f)
{
  return can_bus_send(((struct env *)ctx)->bus, f);
}

static void env_rx(void *ctx, struct sim_canbus *bus, const struct sim_frame *f)
{
  (void)bus;
  rsp_frame(&((struct env *)ctx)->r, f);
}

static void env_open(struct env *e, const char *spec)
{
  e->loop = nt_loop_new();
  assert_int_equal(can_bus_new(&e->bus, e->loop, "mem:elm", 1, NULL), 0);
  can_bus_start(e->bus);
  e->r.send = env_send;
  e->r.ctx = e;
  can_bus_set_rx(e->bus, env_rx, e);
  assert_int_equal(can_serve_new(&e->srv, e->loop, spec, NULL), 0);
  struct sim_canbus *buses[8] = {e->bus};
  assert_int_equal(can_serve_start(e->srv, buses, NULL), 0);
}

static void env_close(struct env *e)
{
  can_serve_free(e->srv);
  can_bus_close(e->bus);
  nt_loop_free(e->loop);
}

static void test_tcp(void **state)
{
  (void)state;
  struct env e = {0};
  env_open(&e, "1=elm327:127.0.0.1:0");
  int fd = nt_connect((uint16_t)atoi(strrchr(can_serve_where(e.srv), ':') + 1));
  struct sbuf b = SBUF_INIT;
  nt_writes(fd, "ATZ\r");
  assert_true(nt_read_until(e.loop, fd, &b, ">", 2000, NULL));
  assert_string_equal(sbuf_str(&b), "ATZ\r\r\rELM327 v1.5\r\r>");
  sbuf_reset(&b);
  nt_writes(fd, "ATE0\rATSP6\r");
  assert_true(nt_read_until(e.loop, fd, &b, "OK\r\r>OK\r\r>", 2000, NULL));
  sbuf_reset(&b);
  nt_writes(fd, "0902\r");
  assert_true(nt_read_until(e.loop, fd, &b, ">", 3000, NULL));
  assert_string_equal(sbuf_str(&b), "014\r0: 49 02 01 31 44 34 \r1: 47 50 30 30 52 35 35 \r"
                                    "2: 42 31 32 33 34 35 36 \r\r>");
  sbuf_reset(&b);
  nt_writes(fd, "ATRV\r");
  assert_true(nt_read_until(e.loop, fd, &b, ">", 2000, NULL));
  assert_string_equal(sbuf_str(&b), "12.6V\r\r>");
  sbuf_free(&b);
  close(fd);
  env_close(&e);
}

static void test_pty(void **state)
{
  (void)state;
  struct env e = {0};
  env_open(&e, "elm327:pty");
  const char *path = can_serve_where(e.srv);
  assert_true(!strncmp(path, "/dev/pts/", 9));
  int fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK);
  assert_true(fd >= 0);
  struct termios tio;
  tcgetattr(fd, &tio);
  cfmakeraw(&tio);
  tcsetattr(fd, TCSANOW, &tio);
  struct sbuf b = SBUF_INIT;
  nt_writes(fd, "ATE0\r0100\r");
  for (int i = 0; i < 300 && !strstr(sbuf_str(&b), "13 \r\r>"); i++) {
    nt_pump(e.loop, 10, NULL, NULL);
    char buf[256];
    ssize_t r = read(fd, buf, sizeof(buf));
    if (r > 0)
      sbuf_add(&b, buf, (size_t)r);
  }
  assert_string_equal(sbuf_str(&b), "ATE0\rOK\r\r>SEARCHING...\r41 00 BE 3F A8 13 \r\r>");
  sbuf_free(&b);
  close(fd);
  env_close(&e);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_basics, t_setup, t_teardown),
      cmocka_unit_test_setup_teardown(test_obd, t_setup, t_teardown),
      cmocka_unit_test_setup_teardown(test_leaf_bms, t_setup, t_teardown),
      cmocka_unit_test_setup_teardown(test_monitor, t_setup, t_teardown),
      cmocka_unit_test_setup_teardown(test_bad_input, t_setup, t_teardown),
      cmocka_unit_test(test_tcp),
      cmocka_unit_test(test_pty),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
