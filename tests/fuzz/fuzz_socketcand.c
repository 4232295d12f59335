/*
 * fuzz_socketcand.c - libFuzzer target for the socketcand codec: the input is a byte stream as
 * a client would send it, split into messages with socketcand_next() and parsed; every frame
 * that parses must format (send and frame forms) and parse back to the same frame.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "can/socketcand.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void roundtrip(const struct sim_frame *f)
{
  char buf[SOCKETCAND_MAX_MSG];
  struct socketcand_msg m;
  int n = socketcand_format_send(f, buf, sizeof(buf));
  if (n > 0 && (socketcand_parse(buf, (size_t)n, &m) != 0 || m.frame.id != f->id ||
                m.frame.len != f->len || memcmp(m.frame.data, f->data, f->len)))
    abort();
  n = socketcand_format_frame(f, 1234567890123, buf, sizeof(buf));
  if (n > 0 && (socketcand_parse(buf, (size_t)n, &m) != 0 || m.frame.id != f->id ||
                m.frame.len != f->len || memcmp(m.frame.data, f->data, f->len)))
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  size_t off = 0;
  while (off < size) {
    size_t start, len, skip;
    size_t k = socketcand_next(data + off, size - off, &start, &len, &skip);
    if (!k)
      break;
    struct socketcand_msg m;
    if (socketcand_parse((const char *)data + off + start, len, &m) == 0 &&
        (m.cmd == SCD_SEND || m.cmd == SCD_FRAME))
      roundtrip(&m.frame);
    off += k;
  }
  return 0;
}
