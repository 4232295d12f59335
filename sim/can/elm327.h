/*
 * elm327.h - an ELM327 OBD-II interpreter as a pure state machine: bytes from the app in,
 * bytes to the app and CAN frames out, frames from the bus in.  The server (serve_elm327.c)
 * connects it to a TCP socket or a pty and to a simulator bus; the tests drive it directly.
 *
 * Behaviour from the ELM327 datasheet (Elm Electronics, ELM327DS): commands end with '\r',
 * are case-insensitive and may contain blanks; every answer ends with "\r\r>" (a blank line
 * and the prompt; ATL1 adds '\n' after each '\r'); an empty line repeats the last command;
 * unknown commands answer "?".  Supported: ATZ ATWS ATD ATI AT@1 ATE0/1 ATL0/1 ATS0/1 ATH0/1
 * ATD0/1 ATR0/1 ATCAF0/1 ATCFC0/1 ATSP h/Ah ATTP ATDP ATDPN ATSH (3, 6 or 8 digits) ATCP ATCRA
 * [id] ATCF ATCM ATAR ATFCSH ATFCSD ATFCSM0/1/2 ATST hh ATAT0/1/2 ATMA ATRV ATPC, and harmless
 * set-up commands answered "OK" (ATM0/1, ATAL, ATNL, ATV0/1, ATCSM, ATIB, ATSW, ATWM, ATKW,
 * ATBI, ATLP, ATCEA, ATSR, ATRA).  The CAN protocols 6-9 (11/29-bit, 500/250 kbit/s) behave
 * alike on a simulator bus; protocol 0 (auto) reports "SEARCHING..." before its first answer
 * and settles on 6.
 *
 * An OBD request "0100" (hex, optionally followed by one digit: how many answers to wait for)
 * goes out as one single frame with ATSH's id (PCI added and padded to 8 bytes with 00 under
 * ATCAF1, sent as given under ATCAF0).  Answers are collected until ATST's timeout (hh x 4 ms,
 * default 32 = 200 ms; under ATAT1/2 20 ms after the last complete answer): single frames
 * print their data, multi-frame answers the total length on a line of its own and then
 * "N: bytes" per segment, with the flow control (ATFCSM 0: "30 00 00" to the sender's id - 8, or
 * the swapped 29-bit address; 1: ATFCSH and ATFCSD; 2: auto header, ATFCSD data) sent after
 * the first frame.  ATH1 prints the id and every data byte of each frame as received.  With no
 * ATCRA/ATCF set, answers are accepted from 7E8-7EF as on a real ELM327 and also, for physical
 * requests to other ECUs (ATSH79B for the Leaf BMS, answering on 7BB), from any other 11-bit
 * diagnostic id 700-7FF; 29-bit answers from 18DAF1xx.
 */
#ifndef SIM_CAN_ELM327_H
#define SIM_CAN_ELM327_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/frame.h"

#define ELM327_VERSION "ELM327 v1.5"
#define ELM327_MAX_LINE 128 /* longer command lines are answered "?" */

struct elm327;

/* What the interpreter needs from its surroundings.  ctx is passed back to each. */
struct elm327_io {
  void (*write)(void *ctx, const char *s, size_t n); /* bytes to the app */
  int (*send)(void *ctx, const struct sim_frame *f); /* a frame onto the bus; 0 or < 0 */
  void (*arm)(void *ctx, int64_t ns);                /* (re)start the timer (ns > 0) or stop
                                                        it (0); expiry: elm327_timeout() */
  double (*volts)(void *ctx);                        /* ATRV; NULL = 12.6 */
  void *ctx;
};

/* Creates an interpreter in its power-on state (io is copied).  Free with elm327_free(). */
struct elm327 *elm327_new(const struct elm327_io *io);
void elm327_free(struct elm327 *e);
/* Bytes from the app (any split: a command may arrive in pieces). */
void elm327_input(struct elm327 *e, const uint8_t *p, size_t n);
/* A frame on the bus (sent by another node). */
void elm327_frame(struct elm327 *e, const struct sim_frame *f);
/* The armed timer expired. */
void elm327_timeout(struct elm327 *e);
/* True while a request waits for answers or ATMA monitors. */
bool elm327_busy(const struct elm327 *e);

#endif
