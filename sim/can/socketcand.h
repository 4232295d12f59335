/*
 * socketcand.h - the socketcand ASCII protocol as a pure codec (strings in, messages out, and
 * back).  Used by the server (serve_socketcand.c), the client backend (backend_socketcand.c),
 * the tests and the fuzz target.
 *
 * Facts from linux-can/socketcand: doc/protocol.md (the commands) and src/state_raw.c (what
 * the daemon actually sends).  Every message is enclosed in '<' ... '>', fields are separated
 * by single blanks, there is no line terminator:
 *
 *   < hi >                          server greeting after connect
 *   < open can0 >  -> < ok >        select a bus (name at most 16 characters)
 *   < rawmode >    -> < ok >        receive every frame;  < bcmmode >, < controlmode >,
 *                                   < isotpmode > switch to the other modes
 *   < send 123 2 1 F1 >             send a frame: id in hex (8 digits = 29-bit), DLC in decimal
 *                                   0..8, one hex token per byte (python-can sends "{:x}")
 *   < frame 123 23.424242 11223344 >  a received frame (raw mode): id %03X or %08X,
 *                                   seconds.microseconds, the data as one hex run (%02X each);
 *                                   protocol.md shows blanks between the bytes, both parse
 *   < echo >       -> < echo >      liveness / latency check
 *   < subscribe 0 0 123 >, < unsubscribe 123 >   BCM mode reception by id
 *   < error ... >                   an error (socketcand: "< error unknown command >")
 */
#ifndef SIM_CAN_SOCKETCAND_H
#define SIM_CAN_SOCKETCAND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/frame.h"

/* Longest message this codec produces: "< frame " + 8 + " " + 20.6 + " " + 16 + " >". */
#define SOCKETCAND_MAX_MSG 96
/* Longest input line the server accepts before closing the client (issue: 4 KiB). */
#define SOCKETCAND_MAX_LINE 4096
#define SOCKETCAND_MAX_BUSNAME 16

enum socketcand_cmd {
  SCD_UNKNOWN = 0,
  SCD_HI,
  SCD_OK,
  SCD_OPEN,        /* arg = bus name */
  SCD_RAWMODE,
  SCD_BCMMODE,
  SCD_CONTROLMODE,
  SCD_ISOTPMODE,
  SCD_SEND,        /* frame */
  SCD_FRAME,       /* frame, ts_ns */
  SCD_ECHO,
  SCD_SUBSCRIBE,   /* frame.id/flags = the id */
  SCD_UNSUBSCRIBE, /* frame.id/flags = the id */
  SCD_ERROR,       /* arg = the text */
  SCD_UNSUPPORTED, /* a documented command this codec knows but does not implement; arg = name */
};

struct socketcand_msg {
  enum socketcand_cmd cmd;
  char arg[64];
  struct sim_frame frame;
  int64_t ts_ns; /* SCD_FRAME: seconds.microseconds as ns */
};

/*
 * Finds the next complete message in a byte stream: skips anything before '<' and returns the
 * number of bytes consumed up to and including the closing '>' (*start and *len then give the
 * message, '<' to '>').  Returns 0 when no complete message is there yet; *skip is then how
 * many leading bytes may be discarded (junk before '<').  A '<' inside a message starts a new
 * one: the unfinished part is returned as a message of its own (it fails to parse).
 */
size_t socketcand_next(const uint8_t *p, size_t n, size_t *start, size_t *len, size_t *skip);

/*
 * Parses one message "< ... >" (n bytes, as socketcand_next found it) into *m.  Returns 0, or
 * SIM_EPARSE with a short English reason in m->arg (the server answers "< error REASON >").
 */
int socketcand_parse(const char *s, size_t n, struct socketcand_msg *m);

/*
 * Takes the next message off a byte stream (n bytes at p): socketcand_next(), then
 * socketcand_parse() of what it found.  *used is the number of bytes done with (the message,
 * or the junk before '<' while no message is complete).  Returns 1 with the message in *m, 0
 * when no complete message is there yet, or SIM_EPARSE for one that does not parse (m->arg
 * says why).
 */
int socketcand_take(const uint8_t *p, size_t n, size_t *used, struct socketcand_msg *m);

/*
 * Formats f as "< frame ID SECS.USECS DATA >" (as socketcand's state_raw.c) into buf (cap >=
 * SOCKETCAND_MAX_MSG), with ts_ns as the time.  Error frames become "< error CLASS SECS.USECS >";
 * RTR frames are not sent by socketcand and return 0.  Returns the length (no NUL counted),
 * SIM_EUNSUP for CAN FD frames longer than 8 bytes.
 */
int socketcand_format_frame(const struct sim_frame *f, int64_t ts_ns, char *buf, size_t cap);

/* Formats f as "< send ID DLC B0 B1 ... >".  Returns the length, SIM_EUNSUP for FD/RTR/error
 * frames (socketcand's send takes classic data frames only). */
int socketcand_format_send(const struct sim_frame *f, char *buf, size_t cap);

#endif
