/*
 * gvret.c - the GVRET binary protocol codec (see gvret.h for the message table and sources).
 */
#include "can/gvret.h"

#include <string.h>

static uint32_t rd32(const uint8_t *p)
{
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void wr32(uint8_t *p, uint32_t v)
{
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16);
  p[3] = (uint8_t)(v >> 24);
}

/* Bit 31 (SavvyCAN, ESP32RET) or a value above 11 bits (the firmware's bit 27 convention). */
static void set_id(struct sim_frame *f, uint32_t raw)
{
  uint32_t v = raw & 0x7FFFFFFFu;
  f->id = v & SIM_CAN_EFF_MASK;
  if ((raw & 0x80000000u) || v > SIM_CAN_SFF_MASK)
    f->flags |= SIM_CAN_F_EXT;
}

static bool fd_len_ok(uint8_t len)
{
  return len <= 8 || len == 12 || len == 16 || len == 20 || len == 24 || len == 32 ||
         len == 48 || len == 64;
}

static void init_ev(struct gvret_event *ev)
{
  memset(ev, 0, sizeof(*ev));
}

/* Host frame: F1 CMD ID(4) BUS LEN DATA */
static size_t host_frame(const uint8_t *p, size_t n, struct gvret_event *ev, bool fd)
{
  if (n < 8)
    return 0;
  uint8_t len = p[7];
  if (fd ? !fd_len_ok(len) : len > 8) {
    ev->kind = GVRET_EV_BAD;
    return 2;
  }
  if (n < 8u + len)
    return 0;
  ev->kind = GVRET_EV_FRAME;
  set_id(&ev->frame, rd32(p + 2));
  ev->bus = p[6];
  ev->frame.len = len;
  if (fd)
    ev->frame.flags |= SIM_CAN_F_FD;
  memcpy(ev->frame.data, p + 8, len);
  return 8u + len;
}

/* The start of a message in either direction: clears ev, then 0 (more bytes needed), 1 (a
 * byte that starts no message: ev->kind = GVRET_EV_SKIP) or 2 (F1 and the command, in
 * ev->cmd). */
static size_t decode_start(const uint8_t *p, size_t n, struct gvret_event *ev)
{
  init_ev(ev);
  if (n == 0)
    return 0;
  if (p[0] != GVRET_START) {
    ev->kind = GVRET_EV_SKIP;
    return 1;
  }
  if (n < 2)
    return 0;
  ev->cmd = p[1];
  return 2;
}

size_t gvret_decode_host(const uint8_t *p, size_t n, struct gvret_event *ev)
{
  if (n > 0 && p[0] == GVRET_BINARY) {
    init_ev(ev);
    ev->kind = GVRET_EV_BINARY;
    return 1;
  }
  size_t start = decode_start(p, n, ev);
  if (start != 2)
    return start;
  ev->kind = GVRET_EV_COMMAND;
  switch (p[1]) {
  case GVRET_BUILD_CAN_FRAME:
    return host_frame(p, n, ev, false);
  case GVRET_BUILD_FD_FRAME:
    return host_frame(p, n, ev, true);
  case GVRET_ECHO_CAN_FRAME: {
    size_t k = host_frame(p, n, ev, false);
    if (k && ev->kind == GVRET_EV_FRAME)
      ev->kind = GVRET_EV_COMMAND;
    return k;
  }
  case GVRET_SETUP_CANBUS:
    if (n < 10)
      return 0;
    ev->arg[0] = rd32(p + 2);
    ev->arg[1] = rd32(p + 6);
    return 10;
  case GVRET_SET_EXT_BUSES:
    if (n < 14)
      return 0;
    ev->arg[0] = rd32(p + 2);
    ev->arg[1] = rd32(p + 6);
    ev->arg[2] = rd32(p + 10);
    return 14;
  case GVRET_SET_DIG_OUTPUTS:
  case GVRET_SET_SINGLEWIRE_MODE:
  case GVRET_SET_SYSTEM_TYPE:
    if (n < 3)
      return 0;
    ev->arg[0] = p[2];
    return 3;
  case GVRET_TIME_SYNC:
  case GVRET_GET_DIG_INPUTS:
  case GVRET_GET_ANALOG_INPUTS:
  case GVRET_GET_CANBUS_PARAMS:
  case GVRET_GET_DEVICE_INFO:
  case GVRET_KEEP_ALIVE:
  case GVRET_GET_NUM_BUSES:
  case GVRET_GET_EXT_BUSES:
  case GVRET_SETUP_FD:
  case GVRET_GET_FD:
    return 2;
  default:
    ev->kind = GVRET_EV_UNKNOWN;
    return 2;
  }
}

/* Reply body lengths (after F1 CMD), device -> host. */
static int reply_body(uint8_t cmd)
{
  switch (cmd) {
  case GVRET_TIME_SYNC: return 4;
  case GVRET_GET_DIG_INPUTS: return 2;
  case GVRET_GET_ANALOG_INPUTS: return 9;
  case GVRET_GET_CANBUS_PARAMS: return 10;
  case GVRET_GET_DEVICE_INFO: return 6;
  case GVRET_KEEP_ALIVE: return 2;
  case GVRET_GET_NUM_BUSES: return 1;
  case GVRET_GET_EXT_BUSES: return 15;
  default: return -1;
  }
}

size_t gvret_decode_device(const uint8_t *p, size_t n, struct gvret_event *ev)
{
  size_t start = decode_start(p, n, ev);
  if (start != 2)
    return start;
  if (p[1] == GVRET_BUILD_CAN_FRAME || p[1] == GVRET_BUILD_FD_FRAME) {
    bool fd = p[1] == GVRET_BUILD_FD_FRAME;
    size_t hdr = fd ? 12 : 11;
    if (n < hdr)
      return 0;
    uint8_t len = fd ? p[10] : (uint8_t)(p[10] & 0x0F);
    if (fd ? !fd_len_ok(len) : len > 8) {
      ev->kind = GVRET_EV_BAD;
      return 2;
    }
    if (n < hdr + len)
      return 0;
    ev->kind = GVRET_EV_FRAME;
    ev->time_us = rd32(p + 2);
    set_id(&ev->frame, rd32(p + 6));
    ev->bus = fd ? p[11] : (uint8_t)(p[10] >> 4);
    ev->frame.len = len;
    if (fd)
      ev->frame.flags |= SIM_CAN_F_FD;
    memcpy(ev->frame.data, p + hdr, len);
    return hdr + len;
  }
  int body = reply_body(p[1]);
  if (body < 0) {
    ev->kind = GVRET_EV_UNKNOWN;
    return 2;
  }
  if (n < 2u + (size_t)body)
    return 0;
  ev->kind = GVRET_EV_REPLY;
  memcpy(ev->raw, p + 2, (size_t)body);
  ev->nraw = (uint8_t)body;
  if (p[1] == GVRET_TIME_SYNC)
    ev->time_us = rd32(p + 2);
  return 2u + (size_t)body;
}

static uint32_t wire_id(const struct sim_frame *f)
{
  return (f->flags & SIM_CAN_F_EXT) ? (f->id & SIM_CAN_EFF_MASK) | 0x80000000u
                                    : f->id & SIM_CAN_SFF_MASK;
}

size_t gvret_encode_device_frame(const struct sim_frame *f, uint8_t bus, uint32_t time_us,
                                 uint8_t *out)
{
  if (f->flags & (SIM_CAN_F_ERR | SIM_CAN_F_RTR))
    return 0;
  bool fd = (f->flags & SIM_CAN_F_FD) || f->len > 8;
  out[0] = GVRET_START;
  out[1] = fd ? GVRET_BUILD_FD_FRAME : GVRET_BUILD_CAN_FRAME;
  wr32(out + 2, time_us);
  wr32(out + 6, wire_id(f));
  size_t k;
  if (fd) {
    out[10] = f->len;
    out[11] = bus;
    k = 12;
  } else {
    out[10] = (uint8_t)(f->len | (bus & 0x0F) << 4);
    k = 11;
  }
  memcpy(out + k, f->data, f->len);
  k += f->len;
  out[k++] = 0;
  return k;
}

size_t gvret_encode_host_frame(const struct sim_frame *f, uint8_t bus, uint8_t *out)
{
  if (f->flags & (SIM_CAN_F_ERR | SIM_CAN_F_RTR))
    return 0;
  bool fd = (f->flags & SIM_CAN_F_FD) || f->len > 8;
  out[0] = GVRET_START;
  out[1] = fd ? GVRET_BUILD_FD_FRAME : GVRET_BUILD_CAN_FRAME;
  wr32(out + 2, wire_id(f));
  out[6] = fd ? bus : (uint8_t)(bus & 3);
  out[7] = f->len;
  memcpy(out + 8, f->data, f->len);
  out[8 + f->len] = 0;
  return 9u + f->len;
}

size_t gvret_encode_reply(uint8_t cmd, const struct gvret_device *dev, uint8_t *out)
{
  out[0] = GVRET_START;
  out[1] = cmd;
  int body = reply_body(cmd);
  if (body < 0)
    return 0;
  memset(out + 2, 0, (size_t)body);
  switch (cmd) {
  case GVRET_TIME_SYNC:
    wr32(out + 2, dev->time_us);
    break;
  case GVRET_GET_CANBUS_PARAMS:
    out[2] = dev->enabled[0];
    wr32(out + 3, dev->speed[0]);
    out[7] = dev->enabled[1];
    wr32(out + 8, dev->speed[1]);
    break;
  case GVRET_GET_DEVICE_INFO:
    out[2] = (uint8_t)dev->build;
    out[3] = (uint8_t)(dev->build >> 8);
    out[4] = 0x20; /* EEPROM version, as ESP32RET */
    break;
  case GVRET_KEEP_ALIVE:
    out[2] = 0xDE;
    out[3] = 0xAD;
    break;
  case GVRET_GET_NUM_BUSES:
    out[2] = dev->nbuses;
    break;
  case GVRET_GET_EXT_BUSES:
    out[2] = dev->enabled[2];
    wr32(out + 3, dev->speed[2]);
    break;
  default:
    break;
  }
  return 2u + (size_t)body;
}
