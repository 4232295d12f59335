/*
 * ecu.c - a simulated control unit (hil/ecu.h): the common UDS services, the fault injection
 * (silent, slow, NRC, response pending) and the answers over its ISO-TP link.
 */
#include "hil/ecu.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "can/bus.h"
#include "core/error.h"
#include "model/sim.h"
#include "vehicle/vehicle.h"


static size_t negative(uint8_t *resp, uint8_t svc, uint8_t nrc)
{
  resp[0] = 0x7F;
  resp[1] = svc;
  resp[2] = nrc;
  return 3;
}

static bool suppressed_for_functional(uint8_t nrc)
{
  return nrc == UDS_NRC_SNS || nrc == UDS_NRC_SFNS || nrc == UDS_NRC_ROOR;
}

/* ---- the common services ---------------------------------------------------------------- */

static size_t session_control(struct hil_ecu *e, const uint8_t *req, size_t len, uint8_t *resp,
                              uint8_t *nrc)
{
  if (len != 2) {
    *nrc = UDS_NRC_IMLOIF;
    return 0;
  }
  uint8_t sub = req[1] & 0x7F;
  if (sub < 1 || sub > 3) {
    *nrc = UDS_NRC_SFNS;
    return 0;
  }
  e->session = sub;
  if (req[1] & 0x80)
    return 0;
  static const uint8_t timing[4] = {0x00, 0x32, 0x01, 0xF4};
  resp[0] = 0x50;
  resp[1] = sub;
  memcpy(resp + 2, timing, 4);
  return 6;
}

static size_t tester_present(const uint8_t *req, size_t len, uint8_t *resp, uint8_t *nrc)
{
  if (len != 2) {
    *nrc = UDS_NRC_IMLOIF;
    return 0;
  }
  if ((req[1] & 0x7F) != 0) {
    *nrc = UDS_NRC_SFNS;
    return 0;
  }
  if (req[1] & 0x80)
    return 0;
  resp[0] = 0x7E;
  resp[1] = 0x00;
  return 2;
}

/* 0x22: every DID through ops->read as a single-DID request, concatenated. */
static size_t read_dids(struct hil_ecu *e, const uint8_t *req, size_t len, bool functional,
                        uint8_t *resp, size_t cap, uint8_t *nrc)
{
  if (len < 3 || (len - 1) % 2) {
    *nrc = UDS_NRC_IMLOIF;
    return 0;
  }
  size_t n = 1;
  resp[0] = 0x62;
  bool any = false;
  uint8_t part[ISOTP_MAX_LEN];
  for (size_t i = 1; i + 1 < len; i += 2) {
    uint8_t one[3] = {0x22, req[i], req[i + 1]};
    uint8_t sub = 0;
    size_t m = e->ops && e->ops->read ? e->ops->read(e, one, 3, functional, part, sizeof part,
                                                     &sub)
                                      : 0;
    if (m < 3 || part[0] != 0x62)
      continue;
    if (n + m - 1 > cap) {
      *nrc = UDS_NRC_RTL;
      return 0;
    }
    memcpy(resp + n, part + 1, m - 1);
    n += m - 1;
    any = true;
  }
  if (!any) {
    *nrc = UDS_NRC_ROOR;
    return 0;
  }
  return n;
}

size_t hil_ecu_dispatch(struct hil_ecu *e, const uint8_t *req, size_t len, bool functional,
                        uint8_t *resp, size_t cap)
{
  if (len < 1 || cap < 8)
    return 0;
  uint8_t svc = req[0], nrc = 0;
  size_t n = 0;
  bool uds_service = svc == 0x10 || svc == 0x3E || svc == 0x27 || svc == 0x2E || svc == 0x31;
  switch (e->no_uds && uds_service ? 0x00 : svc) {
  case 0x10:
    n = session_control(e, req, len, resp, &nrc);
    break;
  case 0x3E:
    n = tester_present(req, len, resp, &nrc);
    break;
  case 0x27:
  case 0x2E:
  case 0x31:
    nrc = e->session == 1 ? UDS_NRC_SNSIAS : UDS_NRC_SNS;
    break;
  case 0x22:
    n = read_dids(e, req, len, functional, resp, cap, &nrc);
    break;
  default:
    if (e->ops && e->ops->read)
      n = e->ops->read(e, req, len, functional, resp, cap, &nrc);
    else
      nrc = UDS_NRC_SNS;
    break;
  }
  if (n)
    return n;
  if (!nrc || (functional && suppressed_for_functional(nrc)))
    return 0;
  return negative(resp, svc, nrc);
}

/* ---- answering ---------------------------------------------------------------------------- */

static void answer(struct hil_ecu *e, const uint8_t *buf, size_t len)
{
  if (isotp_link_busy(&e->link)) {
    e->stats.busy++;
    return;
  }
  if (isotp_link_send(&e->link, buf, len) != 0)
    return;
  if (buf[0] == 0x7F)
    e->stats.negatives++;
  else
    e->stats.answers++;
}

static void send_pending(struct hil_ecu *e)
{
  uint8_t p[3];
  negative(p, e->pending_svc, UDS_NRC_RCRRP);
  answer(e, p, 3);
}

static void timer_cb(struct sim_loop *loop, struct sim_timer *t)
{
  struct hil_ecu *e = t->data;
  (void)loop;
  if (e->pending_left) {
    e->pending_left--;
    send_pending(e);
    sim_timer_start(e->sim->loop, &e->timer, e->fault.delay_ns, 0);
    return;
  }
  answer(e, e->reply, e->reply_len);
}

static bool awake(struct hil_ecu *e)
{
  return e->always_awake || !e->sim->vehicle || vehicle_ecus_awake(e->sim->vehicle);
}

static void on_request(void *ctx, struct isotp_link *l, const uint8_t *msg, size_t len,
                       bool functional)
{
  struct hil_ecu *e = ctx;
  (void)l;
  e->stats.requests++;
  if (!awake(e)) {
    e->stats.asleep++;
    return;
  }
  if (e->fault.kind == ECU_FAULT_SILENT) {
    e->stats.silent++;
    return;
  }
  sim_timer_stop(e->sim->loop, &e->timer);
  e->pending_left = 0;
  if (e->fault.kind == ECU_FAULT_NRC) {
    uint8_t p[3];
    answer(e, p, negative(p, msg[0], e->fault.nrc));
    return;
  }
  size_t n = hil_ecu_dispatch(e, msg, len, functional, e->reply, sizeof e->reply);
  if (!n) {
    e->stats.silent++;
    return;
  }
  e->reply_len = n;
  switch (e->fault.kind) {
  case ECU_FAULT_SLOW:
    sim_timer_start(e->sim->loop, &e->timer, e->fault.delay_ns, 0);
    break;
  case ECU_FAULT_PENDING:
    e->pending_svc = msg[0];
    e->pending_left = e->fault.pending ? (uint8_t)(e->fault.pending - 1) : 0;
    if (e->fault.pending)
      send_pending(e);
    sim_timer_start(e->sim->loop, &e->timer, e->fault.delay_ns, 0);
    break;
  default:
    answer(e, e->reply, e->reply_len);
    break;
  }
}

static int link_send(void *ctx, const struct sim_frame *f)
{
  struct hil_ecu *e = ctx;
  return can_bus_send(e->bus, f);
}

static const struct isotp_ops ecu_link_ops = {link_send, on_request, NULL, NULL};

int hil_ecu_init(struct hil_ecu *e, struct sim *sim, struct sim_canbus *bus, const char *name,
                 const struct isotp_config *cfg, const struct hil_ecu_ops *ops, void *data)
{
  memset(e, 0, sizeof *e);
  snprintf(e->name, sizeof e->name, "%s", name);
  e->sim = sim;
  e->bus = bus;
  e->ops = ops;
  e->data = data;
  e->session = 1;
  sim_timer_init(&e->timer, timer_cb, e);
  return isotp_link_init(&e->link, sim->loop, cfg, &ecu_link_ops, e);
}

void hil_ecu_cleanup(struct hil_ecu *e)
{
  if (e->sim)
    sim_timer_stop(e->sim->loop, &e->timer);
  isotp_link_cleanup(&e->link);
}

int hil_ecu_input(struct hil_ecu *e, const struct sim_frame *f)
{
  return isotp_link_input(&e->link, f);
}

void hil_ecu_set_fault(struct hil_ecu *e, const struct ecu_fault *f)
{
  e->fault = *f;
  if (f->kind == ECU_FAULT_NONE) {
    sim_timer_stop(e->sim->loop, &e->timer);
    e->pending_left = 0;
  }
}

