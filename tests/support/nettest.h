/*
 * nettest.h - helpers for tests of the CAN network servers and clients: run the simulation
 * loop (in this thread) while a plain blocking-free TCP peer talks to it, and read what the
 * server sent until a condition holds or a wall-time limit passes.
 */
#ifndef SIM_NETTEST_H
#define SIM_NETTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/sbuf.h"

struct sim_loop;

/* A loop in real time (its ev loop is created too; free with nt_loop_free). */
struct sim_loop *nt_loop_new(void);
void nt_loop_free(struct sim_loop *l);
/* Runs l for about ms milliseconds of wall time, or until done(ctx) is true (done may be NULL).
 * Returns done's last value (false for NULL). */
bool nt_pump(struct sim_loop *l, int ms, bool (*done)(void *ctx), void *ctx);
/* A non-blocking TCP connection to 127.0.0.1:port; fails the test when refused. */
int nt_connect(uint16_t port);
/* Writes s (blocking, small writes only). */
void nt_write(int fd, const void *s, size_t n);
void nt_writes(int fd, const char *s);
/* Pumps l and appends what arrives on fd to out until out contains want (or, want NULL, for
 * ms).  Returns true when want was seen; *closed (may be NULL) is set when the peer closed. */
bool nt_read_until(struct sim_loop *l, int fd, struct sbuf *out, const char *want, int ms,
                   bool *closed);
/* A free TCP port on 127.0.0.1 (bound and released: a tiny race, fine for tests). */
uint16_t nt_free_port(void);

#endif
