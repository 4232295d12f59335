/*
 * obd.c - the generic OBD-II ECU's data (SAE J1979 / ISO 15031-5), built from the current
 * metrics: mode 01 (current data) and mode 09 (vehicle information).  The ECU itself (ids
 * 0x7DF functional / 0x7E0 physical -> 0x7E8, UDS services) is a struct hil_ecu with these ops.
 *
 * Mode 01 PIDs: 00/20/40 (support bitmaps), 05 coolant, 0C engine speed, 0D vehicle speed,
 * 0F intake air, 11 throttle, 1F run time since start, 2F fuel level, 46 ambient air,
 * 5B hybrid battery remaining, 5C oil temperature - which covers what the firmware's generic
 * OBD-II vehicle polls (vehicle/OVMS.V3/components/vehicle_obdii/src/vehicle_obdii.cpp
 * obdii_polls[]) and maps the same way back: coolant = v.b.temp, intake = v.i.temp,
 * oil = v.m.temp, ambient = v.e.temp, speed = v.p.speed, fuel level = v.b.soc, engine speed =
 * v.m.rpm.  The fuel level byte is rounded up (ceil(soc x 256 / 100)) so that the firmware's
 * (A x 100) >> 8 gives the SOC back; J1979's A x 100 / 255 reads it up to 0.4 % high.
 * Several PIDs in one request (up to 6) are answered together; unsupported PIDs are not
 * answered, as J1979 requires.
 *
 * Mode 09: 00 (bitmap), 02 VIN (v.vin, one data item), 0A ECU name ("ECM-EngineControl").
 */
#include <math.h>
#include <string.h>

#include "hil/ecu.h"
#include "model/metrics.h"
#include "model/sim.h"

static const uint8_t mode01_pids[] = {0x05, 0x0C, 0x0D, 0x0F, 0x11, 0x1F, 0x20, 0x2F,
                                      0x40, 0x46, 0x5B, 0x5C};
static const uint8_t mode09_pids[] = {0x02, 0x0A};

static double mf(struct hil_ecu *e, const char *name, double def)
{
  struct metric *m = metrics_find(e->sim->metrics, name);
  return m && metric_is_defined(m) ? metric_float(m) : def;
}

static uint8_t byte_of(double x)
{
  if (!(x > 0))
    return 0;
  return x >= 255 ? 255 : (uint8_t)lround(x);
}

/* The support bitmap of PIDs base+1..base+32 from a sorted list. */
static size_t bitmap(const uint8_t *pids, size_t n, uint8_t base, uint8_t *out)
{
  memset(out, 0, 4);
  bool any = false;
  for (size_t i = 0; i < n; i++) {
    int k = pids[i] - base - 1;
    if (k >= 0 && k < 32) {
      out[k / 8] |= (uint8_t)(0x80 >> (k % 8));
      any = true;
    }
  }
  return any ? 4 : 0;
}

static size_t put16(uint8_t *d, double x)
{
  unsigned v = x > 0 ? (x > 65535 ? 65535 : (unsigned)lround(x)) : 0;
  d[0] = (uint8_t)(v >> 8);
  d[1] = (uint8_t)v;
  return 2;
}

/* Data bytes of mode 01 PID pid; 0 = not supported. */
static size_t mode01(struct hil_ecu *e, uint8_t pid, uint8_t *d)
{
  switch (pid) {
  case 0x00:
  case 0x20:
  case 0x40:
    return bitmap(mode01_pids, sizeof mode01_pids, pid, d);
  case 0x05:
    d[0] = byte_of(mf(e, "v.b.temp", 20) + 40);
    return 1;
  case 0x0C:
    return put16(d, mf(e, "v.m.rpm", 0) * 4);
  case 0x0D:
    d[0] = byte_of(mf(e, "v.p.speed", 0));
    return 1;
  case 0x0F:
    d[0] = byte_of(mf(e, "v.i.temp", 20) + 40);
    return 1;
  case 0x11:
    d[0] = byte_of(mf(e, "v.e.throttle", 0) * 255 / 100);
    return 1;
  case 0x1F: {
    struct metric *on = metrics_find(e->sim->metrics, "v.e.on");
    double s = 0;
    if (on && metric_bool(on))
      s = (double)(sim_monotonic(e->sim->loop) - on->lastmodified) / 1e9;
    return put16(d, floor(s));
  }
  case 0x2F:
    d[0] = byte_of(ceil(mf(e, "v.b.soc", 0) * 256 / 100 - 1e-9));
    return 1;
  case 0x46:
    d[0] = byte_of(mf(e, "v.e.temp", 15) + 40);
    return 1;
  case 0x5B:
    d[0] = byte_of(mf(e, "v.b.soc", 0) * 255 / 100);
    return 1;
  case 0x5C:
    d[0] = byte_of(mf(e, "v.m.temp", 20) + 40);
    return 1;
  default:
    return 0;
  }
}

static size_t mode09(struct hil_ecu *e, uint8_t pid, uint8_t *d, size_t cap)
{
  switch (pid) {
  case 0x00:
    return bitmap(mode09_pids, sizeof mode09_pids, 0, d);
  case 0x02: {
    struct metric *m = metrics_find(e->sim->metrics, "v.vin");
    const char *vin = m ? metric_string(m) : "";
    size_t n = strlen(vin);
    if (!n || cap < 18)
      return 0;
    d[0] = 1; /* number of data items */
    memset(d + 1, 0, 17);
    memcpy(d + 1, vin, n > 17 ? 17 : n);
    return 18;
  }
  case 0x0A: {
    static const char name[20] = "ECM\0-EngineControl";
    if (cap < 21)
      return 0;
    d[0] = 1;
    memcpy(d + 1, name, 20);
    return 21;
  }
  default:
    return 0;
  }
}

static size_t obd_read(struct hil_ecu *e, const uint8_t *req, size_t len, bool functional,
                       uint8_t *resp, size_t cap, uint8_t *nrc)
{
  (void)functional;
  size_t n = 1;
  if (req[0] == 0x01) {
    if (len < 2 || len > 7) {
      *nrc = UDS_NRC_IMLOIF;
      return 0;
    }
    resp[0] = 0x41;
    for (size_t i = 1; i < len; i++) {
      uint8_t d[8];
      size_t m = mode01(e, req[i], d);
      if (!m || n + 1 + m > cap)
        continue;
      resp[n++] = req[i];
      memcpy(resp + n, d, m);
      n += m;
    }
    return n > 1 ? n : 0; /* nothing supported: no answer (J1979) */
  }
  if (req[0] == 0x09) {
    if (len != 2) {
      *nrc = UDS_NRC_IMLOIF;
      return 0;
    }
    size_t m = mode09(e, req[1], resp + 2, cap - 2);
    if (!m)
      return 0;
    resp[0] = 0x49;
    resp[1] = req[1];
    return 2 + m;
  }
  *nrc = UDS_NRC_SNS;
  return 0;
}

const struct hil_ecu_ops hil_obd_ops = {obd_read};
