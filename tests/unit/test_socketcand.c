/*
 * test_socketcand.c - the socketcand codec (tables of messages from linux-can/socketcand
 * doc/protocol.md and src/state_raw.c), the server on a loopback port (greeting, open,
 * rawmode, frames both ways, two clients, malformed and overlong input, a stalled client,
 * 100 clients), and the socketcand client backend against the simulator's own server.
 */
#include <errno.h>
#include <ev.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/array.h"
#include "nettest.h"
#include "testutil.h"

#include "can/bus.h"
#include "can/serve.h"
#include "can/socketcand.h"
#include "core/error.h"
#include "core/loop.h"

/* ---- codec ---- */

struct parse_case {
  const char *in;
  int rc;
  enum socketcand_cmd cmd;
  uint32_t id;
  bool ext;
  int len;
  const char *data; /* hex */
  const char *arg;
};

static const struct parse_case parse_cases[] = {
    {"< hi >", 0, SCD_HI, 0, false, 0, "", NULL},
    {"< ok >", 0, SCD_OK, 0, false, 0, "", NULL},
    {"< open can0 >", 0, SCD_OPEN, 0, false, 0, "", "can0"},
    {"< rawmode >", 0, SCD_RAWMODE, 0, false, 0, "", NULL},
    {"< bcmmode >", 0, SCD_BCMMODE, 0, false, 0, "", NULL},
    {"< echo >", 0, SCD_ECHO, 0, false, 0, "", NULL},
    /* protocol.md examples */
    {"< send 123 0 >", 0, SCD_SEND, 0x123, false, 0, "", NULL},
    {"< send 1AAAAAAA 2 1 F1 >", 0, SCD_SEND, 0x1AAAAAAA, true, 2, "01F1", NULL},
    /* python-can 4.1: "< send {id:X} {dlc:X} {b:x} ... >" */
    {"< send 7DF 8 2 1 d 0 0 0 0 0 >", 0, SCD_SEND, 0x7DF, false, 8, "02010D0000000000", NULL},
    {"< send 18DAF110 3 22 f1 90 >", 0, SCD_SEND, 0x18DAF110, true, 3, "22F190", NULL},
    {"< send 1ABCDE 1 ff >", 0, SCD_SEND, 0x1ABCDE, true, 1, "FF", NULL},
    {"< send 00000123 1 01 >", 0, SCD_SEND, 0x123, true, 1, "01", NULL},
    {"<send 123 1 01>", 0, SCD_SEND, 0x123, false, 1, "01", NULL},
    /* state_raw.c output, and protocol.md's spaced variant */
    {"< frame 123 23.424242 11223344 >", 0, SCD_FRAME, 0x123, false, 4, "11223344", NULL},
    {"< frame 123 23.424242 11 22 33 44 >", 0, SCD_FRAME, 0x123, false, 4, "11223344", NULL},
    {"< frame 1AAAAAAA 1.5  >", 0, SCD_FRAME, 0x1AAAAAAA, true, 0, "", NULL},
    {"< subscribe 0 0 123 >", 0, SCD_SUBSCRIBE, 0x123, false, 0, "", NULL},
    {"< unsubscribe 123 >", 0, SCD_UNSUBSCRIBE, 0x123, false, 0, "", NULL},
    {"< error unknown command >", 0, SCD_ERROR, 0, false, 0, "", "unknown command"},
    {"< add 1 0 123 8 11 22 33 44 55 66 77 88 >", 0, SCD_UNSUPPORTED, 0, false, 0, "", "add"},
    /* malformed */
    {"< send 123 >", SIM_EPARSE, SCD_ERROR, 0, false, 0, "", NULL},
    {"< send 123 9 1 2 3 4 5 6 7 8 9 >", SIM_EPARSE, SCD_ERROR, 0, false, 0, "", NULL},
    {"< send 123 2 01 >", SIM_EPARSE, SCD_ERROR, 0, false, 0, "", NULL},
    {"< send 123 1 100 >", SIM_EPARSE, SCD_ERROR, 0, false, 0, "", NULL},
    {"< send XYZ 1 01 >", SIM_EPARSE, SCD_ERROR, 0, false, 0, "", NULL},
    {"< send 123456789 1 01 >", SIM_EPARSE, SCD_ERROR, 0, false, 0, "", NULL},
    {"< send 3FFFFFFF 1 01 >", SIM_EPARSE, SCD_ERROR, 0, false, 0, "", NULL},
    {"< frame 123 x.1 11 >", SIM_EPARSE, SCD_ERROR, 0, false, 0, "", NULL},
    /* found by fuzz_socketcand: seconds that overflow int64 ns */
    {"< frame 123 462424321232 14 >", SIM_EPARSE, SCD_ERROR, 0, false, 0, "", NULL},
    {"< open >", SIM_EPARSE, SCD_ERROR, 0, false, 0, "", NULL},
    {"< open abcdefghijklmnopq >", SIM_EPARSE, SCD_ERROR, 0, false, 0, "", NULL},
    {"< >", SIM_EPARSE, SCD_ERROR, 0, false, 0, "", NULL},
    {"< bogus >", SIM_EPARSE, SCD_ERROR, 0, false, 0, "", "unknown command"},
    {"< hi there >", SIM_EPARSE, SCD_ERROR, 0, false, 0, "", NULL},
};

static void hexbytes(const char *hex, uint8_t *out)
{
  for (size_t i = 0; hex[2 * i]; i++) {
    char b[3] = {hex[2 * i], hex[2 * i + 1], 0};
    out[i] = (uint8_t)strtoul(b, NULL, 16);
  }
}

static void test_parse(void **state)
{
  (void)state;
  for (size_t i = 0; i < ARRAY_SIZE(parse_cases); i++) {
    const struct parse_case *c = &parse_cases[i];
    struct socketcand_msg m;
    int rc = socketcand_parse(c->in, strlen(c->in), &m);
    if (rc != c->rc || m.cmd != c->cmd)
      fail_msg("case %zu '%s': rc %d cmd %d", i, c->in, rc, m.cmd);
    if (c->arg)
      assert_string_equal(m.arg, c->arg);
    if (rc == 0 && (c->cmd == SCD_SEND || c->cmd == SCD_FRAME || c->cmd == SCD_SUBSCRIBE)) {
      assert_int_equal(m.frame.id, c->id);
      assert_int_equal(sim_frame_is_ext(&m.frame), c->ext);
      assert_int_equal(m.frame.len, c->len);
      uint8_t want[8];
      hexbytes(c->data, want);
      assert_memory_equal(m.frame.data, want, (size_t)c->len);
    }
  }
  struct socketcand_msg m;
  assert_int_equal(socketcand_parse("< frame 123 23.424242 11 >", 26, &m), 0);
  assert_int_equal(m.ts_ns, INT64_C(23424242000));
}

static void test_format(void **state)
{
  (void)state;
  char buf[SOCKETCAND_MAX_MSG];
  struct sim_frame f = {.id = 0x123, .len = 4, .data = {0x11, 0x22, 0x33, 0x44}};
  assert_int_equal(socketcand_format_frame(&f, INT64_C(23424242000), buf, sizeof(buf)), 32);
  assert_string_equal(buf, "< frame 123 23.424242 11223344 >");
  f = (struct sim_frame){.id = 0x1AAAAAAA, .flags = SIM_CAN_F_EXT, .len = 2, .data = {1, 0xF1}};
  socketcand_format_frame(&f, SIM_NS_PER_SEC, buf, sizeof(buf));
  assert_string_equal(buf, "< frame 1AAAAAAA 1.000000 01F1 >");
  f = (struct sim_frame){.id = 0x7E8};
  socketcand_format_frame(&f, 0, buf, sizeof(buf));
  assert_string_equal(buf, "< frame 7E8 0.000000  >");
  f = (struct sim_frame){.id = 0x4, .flags = SIM_CAN_F_ERR};
  socketcand_format_frame(&f, 0, buf, sizeof(buf));
  assert_string_equal(buf, "< error 004 0.000000 >");
  f = (struct sim_frame){.id = 0x1AAAAAAA, .flags = SIM_CAN_F_EXT, .len = 2, .data = {1, 0xF1}};
  socketcand_format_send(&f, buf, sizeof(buf));
  assert_string_equal(buf, "< send 1AAAAAAA 2 01 F1 >");
  f = (struct sim_frame){.id = 0x123};
  socketcand_format_send(&f, buf, sizeof(buf));
  assert_string_equal(buf, "< send 123 0 >");
  f.flags = SIM_CAN_F_FD;
  assert_int_equal(socketcand_format_send(&f, buf, sizeof(buf)), SIM_EUNSUP);
  /* round trip: what the formatter writes, the parser reads */
  f = (struct sim_frame){.id = 0x18DAF110, .flags = SIM_CAN_F_EXT, .len = 8,
                         .data = {1, 2, 3, 4, 5, 6, 7, 8}};
  int n = socketcand_format_send(&f, buf, sizeof(buf));
  struct socketcand_msg m;
  assert_int_equal(socketcand_parse(buf, (size_t)n, &m), 0);
  assert_int_equal(m.frame.id, f.id);
  assert_memory_equal(m.frame.data, f.data, 8);
}

static void test_next(void **state)
{
  (void)state;
  const char *s = "junk< hi >< open";
  size_t start, len, skip;
  size_t k = socketcand_next((const uint8_t *)s, strlen(s), &start, &len, &skip);
  assert_int_equal(k, 10);
  assert_int_equal(start, 4);
  assert_int_equal(len, 6);
  k = socketcand_next((const uint8_t *)s + 10, strlen(s) - 10, &start, &len, &skip);
  assert_int_equal(k, 0);
  assert_int_equal(skip, 0);
  s = "< send 1<echo>";
  k = socketcand_next((const uint8_t *)s, strlen(s), &start, &len, &skip);
  assert_int_equal(k, 8); /* the unfinished "< send 1" is a message of its own */
  s = "xyz";
  assert_int_equal(socketcand_next((const uint8_t *)s, 3, &start, &len, &skip), 0);
  assert_int_equal(skip, 3);
}

/* socketcand_take(): junk is dropped, a good message is parsed, a bad one is reported with
 * its reason, an unfinished one waits. */
static void test_take(void **state)
{
  (void)state;
  const uint8_t *s = (const uint8_t *)"xy< echo >< frame >< open";
  size_t n = strlen((const char *)s), used = 99;
  struct socketcand_msg m;
  assert_int_equal(socketcand_take(s, n, &used, &m), 1);
  assert_int_equal(used, 10);
  assert_int_equal(m.cmd, SCD_ECHO);
  assert_int_equal(socketcand_take(s + 10, n - 10, &used, &m), SIM_EPARSE);
  assert_int_equal(used, 9);
  assert_true(m.arg[0] != '\0');
  assert_int_equal(socketcand_take(s + 19, n - 19, &used, &m), 0);
  assert_int_equal(used, 0);
  assert_int_equal(socketcand_take((const uint8_t *)"abc", 3, &used, &m), 0);
  assert_int_equal(used, 3);
}

/* ---- server ---- */

struct env {
  struct sim_loop *loop;
  struct sim_canbus *bus;
  struct can_serve *srv;
  uint16_t port;
  struct sim_frame rx[64];
  int nrx;
  char log[512];
  int nlog;
};

static void on_rx(void *ctx, struct sim_canbus *bus, const struct sim_frame *f)
{
  (void)bus;
  struct env *e = ctx;
  if (e->nrx < 64)
    e->rx[e->nrx] = *f;
  e->nrx++;
}

static void on_log(void *ctx, const char *msg)
{
  struct env *e = ctx;
  snprintf(e->log, sizeof(e->log), "%s", msg);
  e->nlog++;
}

static int env_setup(void **state)
{
  struct env *e = calloc(1, sizeof(*e));
  e->loop = nt_loop_new();
  assert_int_equal(can_bus_new(&e->bus, e->loop, "mem:scd", 1, NULL), 0);
  assert_int_equal(can_bus_start(e->bus), 0);
  can_bus_set_rx(e->bus, on_rx, e);
  assert_int_equal(can_serve_new(&e->srv, e->loop, "1=socketcand:127.0.0.1:0", NULL), 0);
  can_serve_set_log(e->srv, on_log, e);
  struct sim_canbus *buses[8] = {e->bus};
  assert_int_equal(can_serve_start(e->srv, buses, NULL), 0);
  const char *w = can_serve_where(e->srv);
  e->port = (uint16_t)atoi(strrchr(w, ':') + 1);
  assert_true(e->port > 0);
  *state = e;
  return 0;
}

static int env_teardown(void **state)
{
  struct env *e = *state;
  can_serve_free(e->srv);
  can_bus_close(e->bus);
  nt_loop_free(e->loop);
  free(e);
  return 0;
}

/* Connects a client in raw mode; asserts the exact greeting bytes python-can expects. */
static int raw_client(struct env *e)
{
  int fd = nt_connect(e->port);
  struct sbuf b = SBUF_INIT;
  assert_true(nt_read_until(e->loop, fd, &b, "< hi >", 2000, NULL));
  assert_string_equal(sbuf_str(&b), "< hi >");
  sbuf_reset(&b);
  nt_writes(fd, "< open can1 >");
  assert_true(nt_read_until(e->loop, fd, &b, "< ok >", 2000, NULL));
  assert_string_equal(sbuf_str(&b), "< ok >");
  sbuf_reset(&b);
  nt_writes(fd, "< rawmode >");
  assert_true(nt_read_until(e->loop, fd, &b, "< ok >", 2000, NULL));
  assert_string_equal(sbuf_str(&b), "< ok >");
  sbuf_free(&b);
  return fd;
}

static void test_server_frames(void **state)
{
  struct env *e = *state;
  int a = raw_client(e), b = raw_client(e);
  /* the simulator sends: both clients get it, in socketcand's format */
  struct sim_frame f = {.id = 0x7E8, .len = 3, .data = {0x02, 0x41, 0x0D}};
  assert_int_equal(can_bus_send(e->bus, &f), 0);
  struct sbuf sa = SBUF_INIT, sb = SBUF_INIT;
  assert_true(nt_read_until(e->loop, a, &sa, " >", 2000, NULL));
  assert_true(nt_read_until(e->loop, b, &sb, " >", 2000, NULL));
  assert_true(strncmp(sbuf_str(&sa), "< frame 7E8 1717228", 19) == 0);
  assert_non_null(strstr(sbuf_str(&sa), " 02410D >"));
  /* client a sends: the bus receives it, client b sees it, a does not */
  sbuf_reset(&sa);
  sbuf_reset(&sb);
  nt_writes(a, "< send 18DAF110 2 3e 0 >");
  assert_true(nt_read_until(e->loop, b, &sb, " >", 2000, NULL));
  assert_non_null(strstr(sbuf_str(&sb), "< frame 18DAF110 "));
  assert_non_null(strstr(sbuf_str(&sb), " 3E00 >"));
  assert_int_equal(e->nrx, 1);
  assert_int_equal(e->rx[0].id, 0x18DAF110);
  assert_true(sim_frame_is_ext(&e->rx[0]));
  assert_false(nt_read_until(e->loop, a, &sa, "frame", 100, NULL));
  /* echo */
  nt_writes(a, "< echo >");
  assert_true(nt_read_until(e->loop, a, &sa, "< echo >", 2000, NULL));
  sbuf_free(&sa);
  sbuf_free(&sb);
  close(a);
  close(b);
}

static void test_server_bad_input(void **state)
{
  struct env *e = *state;
  int fd = nt_connect(e->port);
  struct sbuf b = SBUF_INIT;
  assert_true(nt_read_until(e->loop, fd, &b, "< hi >", 2000, NULL));
  sbuf_reset(&b);
  nt_writes(fd, "< rawmode >");
  assert_true(nt_read_until(e->loop, fd, &b, " >", 2000, NULL));
  assert_string_equal(sbuf_str(&b), "< error no bus open: send < open BUS > first >");
  sbuf_reset(&b);
  nt_writes(fd, "< open can7 >");
  assert_true(nt_read_until(e->loop, fd, &b, " >", 2000, NULL));
  assert_string_equal(sbuf_str(&b), "< error unknown bus can7 (this server has can1) >");
  sbuf_reset(&b);
  nt_writes(fd, "< open can1 >< send 123 2 01 >< bogus >< isotpmode >< echo >");
  assert_true(nt_read_until(e->loop, fd, &b, "< echo >", 2000, NULL));
  assert_string_equal(sbuf_str(&b), "< ok >"
                                    "< error data does not match the DLC in send command >"
                                    "< error unknown command >"
                                    "< error isotpmode is not supported by ovms-sim >"
                                    "< echo >");
  assert_int_equal(e->nrx, 0);
  /* a line without '>' past 4 KiB closes this client, with a logged reason */
  char big[5000];
  memset(big, 'x', sizeof(big));
  big[0] = '<';
  nt_write(fd, big, sizeof(big));
  bool closed = false;
  sbuf_reset(&b);
  nt_read_until(e->loop, fd, &b, NULL, 1000, &closed);
  assert_true(closed);
  assert_non_null(strstr(e->log, "without a terminator"));
  struct sbuf rep = SBUF_INIT;
  can_serve_report(e->srv, &rep);
  assert_non_null(strstr(sbuf_str(&rep), "bad input 5"));
  assert_non_null(strstr(sbuf_str(&rep), "closed for overlong input 1"));
  sbuf_free(&rep);
  sbuf_free(&b);
  close(fd);
}

static void test_stalled_client(void **state)
{
  struct env *e = *state;
  int stalled = raw_client(e);
  int live = raw_client(e);
  int shrink = 4096;
  setsockopt(stalled, SOL_SOCKET, SO_RCVBUF, &shrink, sizeof(shrink));
  struct sbuf b = SBUF_INIT;
  /* far more than the stalled client's queue and socket buffers hold */
  for (int i = 0; i < 300000; i++) {
    struct sim_frame f = {.id = 0x100 + (i & 0xFF), .len = 8};
    memcpy(f.data, &i, sizeof(i));
    can_bus_send(e->bus, &f);
    if (i % 500 == 0) {
      nt_read_until(e->loop, live, &b, NULL, 0, NULL);
      sbuf_reset(&b);
    }
  }
  nt_read_until(e->loop, live, &b, NULL, 200, NULL);
  struct sbuf rep = SBUF_INIT;
  can_serve_report(e->srv, &rep);
  const char *d = strstr(sbuf_str(&rep), "dropped ");
  assert_non_null(d);
  assert_true(strtoul(d + 8, NULL, 10) > 0);
  /* the live client still gets new frames */
  sbuf_reset(&b);
  struct sim_frame f = {.id = 0x321, .len = 1, .data = {0x5A}};
  can_bus_send(e->bus, &f);
  assert_true(nt_read_until(e->loop, live, &b, "< frame 321 ", 2000, NULL));
  sbuf_free(&rep);
  sbuf_free(&b);
  close(stalled);
  close(live);
}

static void test_hundred_clients(void **state)
{
  struct env *e = *state;
  enum { N = 100 };
  int fds[N];
  for (int i = 0; i < N; i++)
    fds[i] = raw_client(e);
  for (int k = 0; k < 10; k++) {
    struct sim_frame f = {.id = 0x400 + (uint32_t)k, .len = 1, .data = {(uint8_t)k}};
    can_bus_send(e->bus, &f);
  }
  for (int i = 0; i < N; i++) {
    struct sbuf b = SBUF_INIT;
    assert_true(nt_read_until(e->loop, fds[i], &b, "< frame 409 ", 3000, NULL));
    int n = 0;
    for (const char *p = sbuf_str(&b); (p = strstr(p, "< frame ")); p++)
      n++;
    assert_int_equal(n, 10);
    sbuf_free(&b);
  }
  /* client 0 sends: the other 99 see it */
  nt_writes(fds[0], "< send 555 1 aa >");
  for (int i = 1; i < N; i++) {
    struct sbuf b = SBUF_INIT;
    assert_true(nt_read_until(e->loop, fds[i], &b, "< frame 555 ", 3000, NULL));
    sbuf_free(&b);
  }
  for (int i = 0; i < N; i++)
    close(fds[i]);
}

/* ---- the client backend against the simulator's own server ---- */

struct remote {
  struct env *e;
  struct sim_canbus *bus;
  int nrx;
  struct sim_frame last;
};

static void remote_rx(void *ctx, struct sim_canbus *bus, const struct sim_frame *f)
{
  (void)bus;
  struct remote *r = ctx;
  r->nrx++;
  r->last = *f;
}

static bool got_rx(void *ctx)
{
  struct remote *r = ctx;
  return r->nrx > 0;
}

static bool bus_rx(void *ctx)
{
  struct env *e = ctx;
  return e->nrx > 0;
}

static void test_client_backend(void **state)
{
  struct env *e = *state;
  char spec[64];
  snprintf(spec, sizeof(spec), "socketcand:127.0.0.1:%u/can1", e->port);
  struct remote r = {.e = e};
  assert_int_equal(can_bus_new(&r.bus, e->loop, spec, 2, NULL), 0);
  can_bus_set_rx(r.bus, remote_rx, &r);
  assert_int_equal(can_bus_start(r.bus), 0);
  /* until the handshake is done, sends fail and are counted */
  struct sim_frame f = {.id = 0x7DF, .len = 8, .data = {2, 1, 0x0D}};
  assert_int_equal(can_bus_send(r.bus, &f), -ENOTCONN);
  assert_int_equal(r.bus->stats.tx_err, 1);
  /* frames from the served bus arrive on the client bus once it is up */
  for (int i = 0; i < 100 && !r.nrx; i++) {
    struct sim_frame g = {.id = 0x5C5, .len = 2, .data = {0xAB, 0xCD}};
    can_bus_send(e->bus, &g);
    nt_pump(e->loop, 20, got_rx, &r);
  }
  assert_true(r.nrx > 0);
  assert_int_equal(r.last.id, 0x5C5);
  assert_int_equal(r.last.bus, 2);
  assert_int_equal(r.last.data[1], 0xCD);
  /* and frames sent on the client bus reach the served bus */
  assert_int_equal(can_bus_send(r.bus, &f), 0);
  assert_true(nt_pump(e->loop, 2000, bus_rx, e));
  assert_int_equal(e->rx[0].id, 0x7DF);
  assert_int_equal(e->rx[0].data[2], 0x0D);
  can_bus_close(r.bus);
}

struct errs {
  int n;
  int last;
};

static void on_bus_error(void *ctx, struct sim_canbus *bus, int err, const char *what)
{
  (void)bus;
  (void)what;
  struct errs *e = ctx;
  e->n++;
  e->last = err;
}

/* Serves a fresh mem bus on port; returns the server. */
static struct can_serve *serve_on(struct sim_loop *loop, struct sim_canbus *bus, uint16_t port)
{
  char spec[64];
  snprintf(spec, sizeof(spec), "socketcand:127.0.0.1:%u", port);
  struct can_serve *s;
  assert_int_equal(can_serve_new(&s, loop, spec, NULL), 0);
  struct sim_canbus *buses[8] = {bus};
  assert_int_equal(can_serve_start(s, buses, NULL), 0);
  return s;
}

static void test_client_reconnect(void **state)
{
  (void)state;
  struct sim_loop *loop = nt_loop_new();
  uint16_t port = nt_free_port();
  struct sim_canbus *served, *cb;
  assert_int_equal(can_bus_new(&served, loop, "mem:rc", 1, NULL), 0);
  can_bus_start(served);
  char spec[64];
  snprintf(spec, sizeof(spec), "socketcand:127.0.0.1:%u/can1", port);
  assert_int_equal(can_bus_new(&cb, loop, spec, 2, NULL), 0);
  struct remote r = {0};
  struct errs er = {0};
  can_bus_set_rx(cb, remote_rx, &r);
  can_bus_set_error(cb, on_bus_error, &er);
  assert_int_equal(can_bus_start(cb), 0);
  /* nobody listens: sends are lost and counted, the client keeps trying */
  struct sim_frame f = {.id = 0x100, .len = 1};
  nt_pump(loop, 300, NULL, NULL);
  assert_int_equal(can_bus_send(cb, &f), -ENOTCONN);
  assert_int_equal(cb->stats.tx_err, 1);
  /* the daemon appears: the client connects within its back-off */
  struct can_serve *s = serve_on(loop, served, port);
  for (int i = 0; i < 300 && !r.nrx; i++) {
    struct sim_frame g = {.id = 0x200, .len = 1};
    can_bus_send(served, &g);
    nt_pump(loop, 20, got_rx, &r);
  }
  assert_true(r.nrx > 0);
  /* the daemon goes away: the loss is reported once, then it comes back */
  can_serve_free(s);
  nt_pump(loop, 200, NULL, NULL);
  assert_int_equal(er.n, 1);
  assert_int_equal(er.last, -ECONNRESET);
  s = serve_on(loop, served, port);
  r.nrx = 0;
  for (int i = 0; i < 400 && !r.nrx; i++) {
    struct sim_frame g = {.id = 0x201, .len = 1};
    can_bus_send(served, &g);
    nt_pump(loop, 20, got_rx, &r);
  }
  assert_true(r.nrx > 0);
  assert_int_equal(r.last.id, 0x201);
  can_serve_free(s);
  can_bus_close(cb);
  can_bus_close(served);
  nt_loop_free(loop);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse),
      cmocka_unit_test(test_format),
      cmocka_unit_test(test_next),
      cmocka_unit_test(test_take),
      cmocka_unit_test_setup_teardown(test_server_frames, env_setup, env_teardown),
      cmocka_unit_test_setup_teardown(test_server_bad_input, env_setup, env_teardown),
      cmocka_unit_test_setup_teardown(test_stalled_client, env_setup, env_teardown),
      cmocka_unit_test_setup_teardown(test_hundred_clients, env_setup, env_teardown),
      cmocka_unit_test_setup_teardown(test_client_backend, env_setup, env_teardown),
      cmocka_unit_test(test_client_reconnect),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
