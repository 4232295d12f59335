/*
 * bus.c - the generic part of a CAN bus: creation, software filters, monitors and the
 * receive callback.  The backend registry and spec parsing are in spec.c.  See bus.h.
 */
#include "can/bus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "can/spec.h"
#include "core/error.h"
#include "core/xalloc.h"

int can_bus_new(struct sim_canbus **out, struct sim_loop *loop, const char *spec, uint8_t num,
                struct sim_diag *d)
{
  *out = NULL;
  uint8_t n;
  const struct sim_canbus_ops *ops;
  const char *arg;
  int rc = can_bus_parse_spec(spec, &n, &ops, &arg, d);
  if (rc)
    return rc;
  return can_bus_new_ops(out, loop, ops, arg, num ? num : (n ? n : 1), d);
}

int can_bus_new_ops(struct sim_canbus **out, struct sim_loop *loop,
                    const struct sim_canbus_ops *ops, const char *arg, uint8_t num,
                    struct sim_diag *d)
{
  *out = NULL;
  struct sim_canbus *bus = xcalloc(1, sizeof(*bus));
  bus->ops = ops;
  bus->loop = loop;
  size_t n = strlen(ops->name) + 1 + strlen(arg) + 1;
  bus->spec = xmalloc(n);
  snprintf(bus->spec, n, "%s:%s", ops->name, arg);
  bus->num = num ? num : 1;
  int rc = ops->open(bus, arg, d);
  if (rc) {
    free(bus->spec);
    free(bus);
    return rc;
  }
  *out = bus;
  return 0;
}

int can_bus_start(struct sim_canbus *bus)
{
  if (bus->started)
    return 0;
  int rc = bus->ops->start ? bus->ops->start(bus) : 0;
  if (rc == 0) {
    bus->started = true;
    if (bus->nfilters && bus->ops->set_filters)
      bus->hw_filters = bus->ops->set_filters(bus, bus->filters, bus->nfilters) == 0;
  }
  return rc;
}

/* f as the monitors see it when sent on bus: with the bus number and the TX flag. */
static struct sim_frame as_sent(const struct sim_canbus *bus, const struct sim_frame *f)
{
  struct sim_frame m = *f;
  m.bus = bus->num;
  m.flags |= SIM_CAN_F_TX;
  return m;
}

static void tx_failed(struct sim_canbus *bus, const struct sim_frame *f, int err)
{
  bus->stats.tx_err++;
  struct sim_frame m = as_sent(bus, f);
  for (int i = 0; i < SIM_CANBUS_MAX_MON; i++)
    if (bus->errmon[i].errfn)
      bus->errmon[i].errfn(bus->errmon[i].ctx, bus, err, "TX_Fail", &m);
}

int can_bus_send(struct sim_canbus *bus, const struct sim_frame *f)
{
  if (!bus->started || !bus->ops->send) {
    tx_failed(bus, f, SIM_ESTATE);
    return SIM_ESTATE;
  }
  int rc = bus->ops->send(bus, f);
  if (rc < 0) {
    tx_failed(bus, f, rc);
    return rc;
  }
  bus->stats.tx++;
  struct sim_frame m = as_sent(bus, f);
  for (int i = 0; i < SIM_CANBUS_MAX_MON; i++)
    if (bus->mon[i].fn)
      bus->mon[i].fn(bus->mon[i].ctx, bus, &m);
  return 0;
}

int can_bus_stop(struct sim_canbus *bus)
{
  if (!bus->started)
    return 0;
  bus->started = false;
  return bus->ops->stop ? bus->ops->stop(bus) : 0;
}

void can_bus_close(struct sim_canbus *bus)
{
  if (!bus)
    return;
  can_bus_stop(bus);
  if (bus->ops->close)
    bus->ops->close(bus);
  free(bus->spec);
  free(bus);
}

void can_bus_free_priv(struct sim_canbus *bus)
{
  free(bus->priv);
  bus->priv = NULL;
}

void can_buses_close(struct sim_canbus *const owned[SIM_MAX_BUSES],
                     struct sim_canbus *registry[SIM_MAX_BUSES])
{
  for (int b = 0; b < SIM_MAX_BUSES; b++)
    if (owned[b]) {
      if (registry[b] == owned[b])
        registry[b] = NULL;
      can_bus_close(owned[b]);
    }
}

void can_bus_set_rx(struct sim_canbus *bus, sim_canbus_rx_fn fn, void *ctx)
{
  bus->rx = fn;
  bus->rx_ctx = ctx;
}

void can_bus_set_error(struct sim_canbus *bus, sim_canbus_err_fn fn, void *ctx)
{
  bus->on_error = fn;
  bus->err_ctx = ctx;
}

/* Puts m into the first free one of slots[SIM_CANBUS_MAX_MON]: 0, or SIM_ELIMIT when none
 * is free. */
static int slot_add(struct sim_canbus_mon *slots, struct sim_canbus_mon m)
{
  for (int i = 0; i < SIM_CANBUS_MAX_MON; i++)
    if (!slots[i].fn && !slots[i].errfn) {
      slots[i] = m;
      return 0;
    }
  return SIM_ELIMIT;
}

/* Frees every one of slots[SIM_CANBUS_MAX_MON] that holds m. */
static void slot_remove(struct sim_canbus_mon *slots, struct sim_canbus_mon m)
{
  for (int i = 0; i < SIM_CANBUS_MAX_MON; i++)
    if (slots[i].fn == m.fn && slots[i].errfn == m.errfn && slots[i].ctx == m.ctx)
      slots[i] = (struct sim_canbus_mon){0};
}

int can_bus_add_monitor(struct sim_canbus *bus, sim_canbus_mon_fn fn, void *ctx)
{
  return slot_add(bus->mon, (struct sim_canbus_mon){.fn = fn, .ctx = ctx});
}

void can_bus_remove_monitor(struct sim_canbus *bus, sim_canbus_mon_fn fn, void *ctx)
{
  slot_remove(bus->mon, (struct sim_canbus_mon){.fn = fn, .ctx = ctx});
}

int can_bus_add_error_monitor(struct sim_canbus *bus, sim_canbus_errmon_fn fn, void *ctx)
{
  return slot_add(bus->errmon, (struct sim_canbus_mon){.errfn = fn, .ctx = ctx});
}

void can_bus_remove_error_monitor(struct sim_canbus *bus, sim_canbus_errmon_fn fn, void *ctx)
{
  slot_remove(bus->errmon, (struct sim_canbus_mon){.errfn = fn, .ctx = ctx});
}

int can_bus_set_filters(struct sim_canbus *bus, const struct sim_can_filter *f, size_t n)
{
  if (n > SIM_CANBUS_MAX_FILTERS)
    return SIM_ELIMIT;
  if (n)
    memcpy(bus->filters, f, n * sizeof(*f));
  bus->nfilters = n;
  bus->hw_filters = false;
  if (bus->started && bus->ops->set_filters)
    bus->hw_filters = bus->ops->set_filters(bus, f, n) == 0;
  return 0;
}

bool can_filter_match(const struct sim_can_filter *flt, size_t n, const struct sim_frame *f)
{
  if (n == 0)
    return true;
  bool ext = (f->flags & SIM_CAN_F_EXT) != 0;
  for (size_t i = 0; i < n; i++) {
    if (flt[i].ext_matters && flt[i].ext != ext)
      continue;
    if ((f->id & flt[i].mask) == (flt[i].id & flt[i].mask))
      return true;
  }
  return false;
}

int can_filter_parse(const char *s, struct sim_can_filter *f, size_t cap, size_t *n,
                     struct sim_diag *d)
{
  const char *p = s;
  while (*p) {
    const char *tok = p;
    char *end;
    unsigned long id = strtoul(p, &end, 16);
    size_t digits = (size_t)(end - p);
    if (end == p || id > 0x1FFFFFFFul) {
      sim_diag_error(d, NULL, 0, (int)(tok - s) + 1, "expected a hex CAN id in '%s'", s);
      return SIM_EPARSE;
    }
    unsigned long mask = id > 0x7FF || digits == 8 ? 0x1FFFFFFFul : 0x7FFul;
    bool ext = id > 0x7FF || digits == 8;
    if (*end == '/') {
      p = end + 1;
      mask = strtoul(p, &end, 16);
      if (end == p || mask > 0x1FFFFFFFul) {
        sim_diag_error(d, NULL, 0, (int)(p - s) + 1, "expected a hex mask in '%s'", s);
        return SIM_EPARSE;
      }
    }
    if (*end && *end != ',') {
      sim_diag_error(d, NULL, 0, (int)(end - s) + 1, "unexpected '%c' in '%s'", *end, s);
      return SIM_EPARSE;
    }
    if (*n >= cap)
      return SIM_ELIMIT;
    f[(*n)++] = (struct sim_can_filter){(uint32_t)id, (uint32_t)mask, true, ext};
    p = *end ? end + 1 : end;
  }
  return 0;
}

void can_bus_deliver(struct sim_canbus *bus, struct sim_frame *f)
{
  f->bus = bus->num;
  f->flags &= (uint16_t)~SIM_CAN_F_TX;
  if (f->flags & SIM_CAN_F_ERR)
    bus->stats.rx_err++;
  for (int i = 0; i < SIM_CANBUS_MAX_MON; i++)
    if (bus->mon[i].fn)
      bus->mon[i].fn(bus->mon[i].ctx, bus, f);
  if (!bus->hw_filters && !can_filter_match(bus->filters, bus->nfilters, f)) {
    bus->stats.rx_filtered++;
    return;
  }
  bus->stats.rx++;
  if (bus->rx)
    bus->rx(bus->rx_ctx, bus, f);
}

void can_bus_report_error(struct sim_canbus *bus, int err, const char *what)
{
  for (int i = 0; i < SIM_CANBUS_MAX_MON; i++)
    if (bus->errmon[i].errfn)
      bus->errmon[i].errfn(bus->errmon[i].ctx, bus, err, what, NULL);
  if (bus->on_error)
    bus->on_error(bus->err_ctx, bus, err, what);
}
