/*
 * record.c - the recorder: bus monitors, bus error monitors, an event listener and a metric
 * listener feeding one trace writer, stamped with the simulation clock.  See record.h.
 *
 * Problems are written as the firmware's CRTD writer writes them (canformat_crtd.cpp in
 * openvehicles/Open-Vehicle-Monitoring-System-3, canformat_crtd::get()): a failed send as
 * "<bus>CER TX_Fail T11 <ID> <bytes>", a bus error (a received error frame, an adapter that went
 * away) as "<bus>CER Error intr=.. rxpkt=.. ..." with the bus's counters.  Formats that carry
 * error frames (candump) keep received error frames as frames instead.
 */
#include "record/record.h"

#include <stdlib.h>
#include <string.h>

#include "can/bus.h"
#include "core/error.h"
#include "model/events.h"
#include "core/loop.h"
#include "model/metrics.h"
#include "model/sim.h"
#include "trace/codec.h"
#include "trace/trace.h"
#include "model/units.h"
#include "core/xalloc.h"

struct trace_recorder {
  struct sim *sim;
  struct trace_writer *w;
  struct sim_canbus *buses[SIM_MAX_BUSES];
  unsigned long count;
  int err;
  bool statuses; /* the format carries CER/CST records (CRTD) */
  bool errframes; /* the format carries error frames (candump) */
  struct sbuf tmp;
};

static void put(struct trace_recorder *r, const struct trace_record *rec)
{
  int rc = trace_writer_write(r->w, rec);
  if (rc < 0 && !r->err)
    r->err = rc;
  else if (rc > 0)
    r->count++;
}

static void base(struct trace_recorder *r, struct trace_record *rec, enum trace_rec_kind k)
{
  trace_record_clear(rec);
  rec->kind = k;
  rec->ts = sim_now(r->sim->loop);
  rec->frame.ts = rec->ts;
  rec->frame.bus = 1;
}

/* Writes "<bus>CER <text>" with the text in r->tmp. */
static void put_cer(struct trace_recorder *r, uint8_t bus)
{
  struct trace_record rec;
  base(r, &rec, TRACE_REC_STATUS);
  rec.frame.bus = bus;
  rec.name = "CER";
  rec.name_len = 3;
  rec.text = sbuf_str(&r->tmp);
  rec.text_len = r->tmp.len;
  put(r, &rec);
}

/* "Error intr=.. rxpkt=.." with the bus counters, in the order of the current firmware's
 * canformat_crtd::get() (vehicle/OVMS.V3/components/can/src/canformat_crtd.cpp).
 * Counters the simulator does not keep (interrupts, overflows, resets) are 0. */
static void put_bus_error(struct trace_recorder *r, struct sim_canbus *bus, uint32_t errflags)
{
  const struct sim_canbus_stats *st = &bus->stats;
  sbuf_reset(&r->tmp);
  sbuf_printf(&r->tmp,
              "Error intr=0 rxpkt=%lu txpkt=%lu errflags=%#x rxerr=%lu txerr=%lu rxinval=0 "
              "rxovr=0 txovr=0 txdelay=0 txfail=%lu wdgreset=0 errreset=0 isrovr=0 txqueue=0",
              st->rx, st->tx, errflags, st->rx_err, st->tx_err, st->tx_err);
  put_cer(r, bus->num);
}

static void on_error(void *ctx, struct sim_canbus *bus, int err, const char *what,
                     const struct sim_frame *f)
{
  struct trace_recorder *r = ctx;
  (void)err;
  if (!f) {
    put_bus_error(r, bus, 0);
    return;
  }
  /* "TX_Fail T11 7DF 02 01 0d": the frame as a CRTD frame record writes it */
  sbuf_reset(&r->tmp);
  sbuf_printf(&r->tmp, "%s T%s ", what, f->flags & SIM_CAN_F_EXT ? "29" : "11");
  put_canid(&r->tmp, f, true);
  if (!(f->flags & SIM_CAN_F_RTR))
    put_byte_list(&r->tmp, f->data, f->len, false);
  put_cer(r, bus->num);
}

static void on_frame(void *ctx, struct sim_canbus *bus, const struct sim_frame *f)
{
  struct trace_recorder *r = ctx;
  if ((f->flags & SIM_CAN_F_ERR) && !r->errframes) {
    if (r->statuses)
      put_bus_error(r, bus, f->id);
    return;
  }
  struct trace_record rec;
  base(r, &rec, TRACE_REC_FRAME);
  rec.frame = *f;
  rec.frame.ts = rec.ts;
  rec.frame.bus = bus->num;
  put(r, &rec);
}

void trace_recorder_frame(struct trace_recorder *r, const struct sim_frame *f)
{
  struct trace_record rec;
  base(r, &rec, TRACE_REC_FRAME);
  rec.frame = *f;
  rec.frame.ts = rec.ts;
  put(r, &rec);
}

static void on_event(void *ctx, const char *name, const char *data)
{
  struct trace_recorder *r = ctx;
  if (!strncmp(name, "ticker.", 7) || !strncmp(name, "clock.", 6))
    return; /* once a second and once a minute: noise in a recording */
  struct trace_record rec;
  base(r, &rec, TRACE_REC_EVENT);
  rec.name = name;
  rec.name_len = strlen(name);
  rec.text = data ? data : "";
  rec.text_len = data ? strlen(data) : 0;
  put(r, &rec);
}

static void on_metric(void *ctx, struct metric *m)
{
  struct trace_recorder *r = ctx;
  struct trace_record rec;
  base(r, &rec, TRACE_REC_METRIC);
  sbuf_reset(&r->tmp);
  metric_format_json(m, &r->tmp);
  rec.name = m->name;
  rec.name_len = strlen(m->name);
  rec.text = sbuf_str(&r->tmp);
  rec.text_len = r->tmp.len;
  rec.unit = sim_unit_label((enum sim_unit)m->unit);
  rec.unit_len = strlen(rec.unit);
  put(r, &rec);
}

int trace_recorder_add_bus(struct trace_recorder *r, struct sim_canbus *bus)
{
  for (int i = 0; i < SIM_MAX_BUSES; i++)
    if (!r->buses[i]) {
      int rc = can_bus_add_monitor(bus, on_frame, r);
      if (rc == 0 && r->statuses && (rc = can_bus_add_error_monitor(bus, on_error, r)) < 0)
        can_bus_remove_monitor(bus, on_frame, r);
      if (rc == 0)
        r->buses[i] = bus;
      return rc;
    }
  return SIM_ELIMIT;
}

int trace_recorder_open(struct trace_recorder **out, struct sim *sim, const char *path,
                        const char *format, struct sim_diag *d)
{
  *out = NULL;
  const struct trace_format *fmt = NULL;
  if (format) {
    fmt = trace_format_find(format);
    if (!fmt || !fmt->write) {
      sim_diag_error(d, path, 0, 0, "unknown trace format '%s'", format);
      return SIM_EFORMAT;
    }
  }
  struct trace_recorder *r = xcalloc(1, sizeof(*r));
  r->sim = sim;
  int rc = trace_writer_open(&r->w, path, fmt);
  if (rc < 0) {
    sim_diag_error(d, path, 0, 0, "cannot create: %s", sim_strerror(rc));
    free(r);
    return rc;
  }
  unsigned caps = trace_writer_format(r->w)->caps;
  r->statuses = caps & TRACE_CAP_EVENTS;
  r->errframes = caps & TRACE_CAP_ERR;
  for (int i = 0; i < SIM_MAX_BUSES; i++)
    if (sim->buses[i])
      trace_recorder_add_bus(r, sim->buses[i]);
  if (trace_writer_format(r->w)->caps & TRACE_CAP_EVENTS) {
    if (sim->events)
      sim_events_listen(sim->events, "*", on_event, r);
    if (sim->metrics)
      metrics_listen(sim->metrics, "*", on_metric, r);
  }
  *out = r;
  return 0;
}

unsigned long trace_recorder_count(const struct trace_recorder *r)
{
  return r->count;
}

int trace_recorder_error(const struct trace_recorder *r)
{
  return r->err;
}

int trace_recorder_close(struct trace_recorder *r)
{
  if (!r)
    return 0;
  for (int i = 0; i < SIM_MAX_BUSES; i++)
    if (r->buses[i]) {
      can_bus_remove_monitor(r->buses[i], on_frame, r);
      can_bus_remove_error_monitor(r->buses[i], on_error, r);
    }
  if (r->sim->events)
    sim_events_unlisten(r->sim->events, on_event, r);
  if (r->sim->metrics)
    metrics_unlisten(r->sim->metrics, on_metric, r);
  int rc = trace_writer_close(r->w);
  int err = r->err ? r->err : rc;
  sbuf_free(&r->tmp);
  free(r);
  return err;
}
