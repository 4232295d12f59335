/*
 * responder.c - builds the simulated car's ECUs from the vehicle's poll list (hil/responder.h)
 * and feeds them the frames of their buses.
 */
#include "hil/responder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ctype.h>

#include "can/bus.h"
#include "core/diag.h"
#include "core/error.h"
#include "core/sbuf.h"
#include "core/xalloc.h"
#include "model/metrics.h"
#include "model/sim.h"
#include "vehicle/vehicle.h"

#define MAX_ECUS 16

/* ---- the vehicle's ECUs: answers from its poll entries ---------------------------------- */

static size_t vehicle_read(struct hil_ecu *e, const uint8_t *req, size_t len, bool functional,
                           uint8_t *resp, size_t cap, uint8_t *nrc)
{
  struct vehicle *v = e->sim->vehicle;
  (void)functional;
  uint8_t bus = (uint8_t)(uintptr_t)e->data;
  bool service_known = false;
  int pl = vehicle_poll_pid_len(req[0]);
  for (size_t i = 0; v && i < v->n_polls; i++) {
    const struct vehicle_poll *p = &v->polls[i];
    if (p->bus != bus || p->txid != e->link.cfg.rx_id || p->type != req[0] || !p->encode)
      continue;
    service_known = true;
    if (len != (size_t)(1 + pl)) {
      *nrc = UDS_NRC_IMLOIF;
      return 0;
    }
    uint16_t pid = pl == 2 ? (uint16_t)(req[1] << 8 | req[2]) : pl == 1 ? req[1] : 0;
    if (pl && p->pid != pid)
      continue;
    resp[0] = (uint8_t)(req[0] + 0x40);
    memcpy(resp + 1, req + 1, (size_t)pl);
    size_t n = p->encode(v, p, resp + 1 + pl, cap - 1 - (size_t)pl);
    if (!n)
      break;
    return 1 + (size_t)pl + n;
  }
  *nrc = service_known ? UDS_NRC_ROOR : UDS_NRC_SNS;
  return 0;
}

static const struct hil_ecu_ops vehicle_ecu_ops = {vehicle_read};

/* ---- the set ------------------------------------------------------------------------------ */

static void on_frame(void *ctx, struct sim_canbus *bus, const struct sim_frame *f)
{
  struct hil_responders *r = ctx;
  if (f->flags & SIM_CAN_F_TX)
    return;
  for (size_t i = 0; i < r->n; i++)
    if (r->ecus[i].bus == bus && hil_ecu_input(&r->ecus[i], f))
      break;
}

static struct hil_ecu *add_ecu(struct hil_responders *r, uint8_t busnum, const char *name,
                               const struct isotp_config *cfg, const struct hil_ecu_ops *ops,
                               const struct hil_responder_opts *o)
{
  struct sim_canbus *bus = busnum >= 1 && busnum <= 8 ? r->sim->buses[busnum - 1] : NULL;
  if (!bus || r->n >= MAX_ECUS)
    return NULL;
  struct hil_ecu *e = &r->ecus[r->n];
  if (hil_ecu_init(e, r->sim, bus, name, cfg, ops, (void *)(uintptr_t)busnum) != 0)
    return NULL;
  e->always_awake = o->always_awake;
  e->no_uds = o->no_uds;
  r->n++;
  return e;
}

void hil_ecu_name_of(const struct vehicle_poll *p, char *out, size_t cap)
{
  size_t n = 0;
  const char *s = p->name ? p->name : "";
  while (s[n] && s[n] != ' ' && n + 1 < cap) {
    out[n] = (char)tolower((unsigned char)s[n]);
    n++;
  }
  out[n] = 0;
}

/* True when the comma-separated list has word (len n). */
static bool list_has(const char *list, const char *word, size_t n)
{
  for (const char *p = list; *p;) {
    const char *c = strchr(p, ',');
    size_t len = c ? (size_t)(c - p) : strlen(p);
    if (len == n && !strncmp(p, word, n))
      return true;
    p += len + (c != NULL);
  }
  return false;
}

static bool vehicle_has_ecu(const struct vehicle *v, const char *word, size_t n)
{
  for (size_t i = 0; v && i < v->n_polls; i++) {
    char name[24];
    hil_ecu_name_of(&v->polls[i], name, sizeof name);
    if (v->polls[i].encode && strlen(name) == n && !strncmp(name, word, n))
      return true;
  }
  return false;
}

/* "bms, vcm" of v (static buffer). */
static const char *vehicle_ecus(const struct vehicle *v)
{
  static char buf[160];
  size_t o = 0;
  buf[0] = 0;
  for (size_t i = 0; v && i < v->n_polls; i++) {
    char name[24];
    hil_ecu_name_of(&v->polls[i], name, sizeof name);
    if (!v->polls[i].encode || strstr(buf, name))
      continue;
    o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%s", o ? ", " : "", name);
    if (o >= sizeof buf)
      break;
  }
  return buf;
}

int hil_responders_parse(struct hil_responder_opts *o, const char *list,
                         const struct vehicle *v, struct sim_diag *d)
{
  o->vehicle = o->obd = false;
  o->no_uds = true;
  o->only = NULL;
  if (!strcmp(list, "none"))
    return 0;
  bool any_vehicle = false;
  for (const char *p = list;;) {
    const char *c = strchr(p, ',');
    size_t n = c ? (size_t)(c - p) : strlen(p);
    int col = (int)(p - list) + 1;
    if (n == 0)
      return sim_diag_error(d, NULL, 0, col, "empty name in the responder list '%s'", list);
    if (n == 3 && !strncmp(p, "all", 3)) {
      o->vehicle = o->obd = true;
      o->no_uds = false;
    } else if (n == 3 && !strncmp(p, "obd", 3)) {
      o->obd = true;
    } else if (n == 3 && !strncmp(p, "uds", 3)) {
      o->no_uds = false;
    } else if (vehicle_has_ecu(v, p, n)) {
      any_vehicle = true;
    } else {
      const char *have = vehicle_ecus(v);
      return sim_diag_error(d, NULL, 0, col, "unknown responder '%.*s' (%s%sobd, uds, all or "
                            "none)", (int)n, p, have, *have ? ", " : "");
    }
    if (!c)
      break;
    p = c + 1;
  }
  if (any_vehicle && !o->vehicle) {
    o->vehicle = true;
    o->only = list;
  }
  return 0;
}

bool hil_responders_would_have(const struct hil_responder_opts *o, const struct vehicle *v,
                               const char *name)
{
  if (!strcmp(name, "obd") || !strcmp(name, "7e0"))
    return o->obd;
  for (size_t i = 0; o->vehicle && v && i < v->n_polls; i++) {
    const struct vehicle_poll *p = &v->polls[i];
    char ecu[24], hex[16];
    hil_ecu_name_of(p, ecu, sizeof ecu);
    snprintf(hex, sizeof hex, "%x", (unsigned)p->txid);
    if (!p->encode || p->txid == VEHICLE_POLL_BROADCAST || !p->rxid ||
        (o->only && !list_has(o->only, ecu, strlen(ecu))))
      continue;
    if (!strcmp(ecu, name) || !strcmp(hex, name))
      return true;
  }
  return false;
}

static bool have_ecu(struct hil_responders *r, uint8_t busnum, uint32_t rx_id)
{
  for (size_t i = 0; i < r->n; i++)
    if ((uintptr_t)r->ecus[i].data == busnum && r->ecus[i].link.cfg.rx_id == rx_id)
      return true;
  return false;
}

static void add_vehicle_ecus(struct hil_responders *r, const struct hil_responder_opts *o)
{
  struct vehicle *v = r->sim->vehicle;
  for (size_t i = 0; v && i < v->n_polls; i++) {
    const struct vehicle_poll *p = &v->polls[i];
    if (p->txid == VEHICLE_POLL_BROADCAST || !p->rxid || !p->encode ||
        have_ecu(r, p->bus, p->txid))
      continue;
    char name[24];
    hil_ecu_name_of(p, name, sizeof name);
    if (o->only && !list_has(o->only, name, strlen(name)))
      continue;
    struct isotp_config c;
    isotp_config_default(&c, p->rxid, p->txid);
    c.pad = 0xFF;
    add_ecu(r, p->bus, name, &c, &vehicle_ecu_ops, o);
  }
}

int hil_responders_new(struct hil_responders **out, struct sim *sim,
                       const struct hil_responder_opts *o)
{
  struct hil_responders *r = xcalloc(1, sizeof *r);
  r->sim = sim;
  r->ecus = xcalloc(MAX_ECUS, sizeof *r->ecus);
  if (o->vehicle)
    add_vehicle_ecus(r, o);
  if (o->obd) {
    struct isotp_config c;
    isotp_config_default(&c, 0x7E8, 0x7E0);
    c.rx_func_id = VEHICLE_POLL_BROADCAST;
    c.pad = 0xAA;
    add_ecu(r, o->obd_bus ? o->obd_bus : 1, "obd", &c, &hil_obd_ops, o);
  }
  struct metric *vin = metrics_find(sim->metrics, "v.vin");
  if (r->n && vin && !metric_is_defined(vin))
    metric_set_string(vin, HIL_DEFAULT_VIN);
  for (size_t i = 0; i < r->n; i++) {
    struct sim_canbus *bus = r->ecus[i].bus;
    if (r->monitored & (1u << (bus->num - 1)))
      continue;
    if (can_bus_add_monitor(bus, on_frame, r) < 0) {
      hil_responders_free(r);
      return SIM_ELIMIT;
    }
    r->monitored = (uint8_t)(r->monitored | (1u << (bus->num - 1)));
  }
  *out = r;
  return 0;
}

void hil_responders_free(struct hil_responders *r)
{
  if (!r)
    return;
  for (int b = 0; b < 8; b++)
    if ((r->monitored & (1u << b)) && r->sim->buses[b])
      can_bus_remove_monitor(r->sim->buses[b], on_frame, r);
  for (size_t i = 0; i < r->n; i++)
    hil_ecu_cleanup(&r->ecus[i]);
  free(r->ecus);
  free(r);
}

struct hil_ecu *hil_responders_find(struct hil_responders *r, const char *name)
{
  for (size_t i = 0; r && i < r->n; i++) {
    char hex[16];
    snprintf(hex, sizeof hex, "%x", (unsigned)r->ecus[i].link.cfg.rx_id);
    if (!strcmp(r->ecus[i].name, name) || !strcmp(hex, name))
      return &r->ecus[i];
  }
  return NULL;
}

void hil_responders_report(const struct hil_responders *r, struct sbuf *b)
{
  for (size_t i = 0; r && i < r->n; i++) {
    const struct hil_ecu *e = &r->ecus[i];
    const struct hil_ecu_stats *s = &e->stats;
    sbuf_printf(b, "responder %s (bus %u, %x -> %x): %lu requests, %lu answers, %lu negative, "
                   "%lu asleep, %lu silent, %lu busy, %lu stray frames\n",
                e->name, (unsigned)e->bus->num, (unsigned)e->link.cfg.rx_id,
                (unsigned)e->link.cfg.tx_id, s->requests, s->answers, s->negatives, s->asleep,
                s->silent, s->busy, e->link.stats.stray);
  }
}
