/*
 * teslaroadster.c - the Tesla Roadster 1.x/2.x decoder and encoders ("teslaroadster",
 * firmware type TR).
 *
 * One bus at 1 Mbit/s.  0x100 carries the VMS->VDS status stream multiplexed by d0; byte pairs
 * are little-endian; several sub-frames are shorter than 8 bytes and the encoders keep the
 * car's DLCs.  Facts from openvehicles/Open-Vehicle-Monitoring-
 * System-3 vehicle/OVMS.V3/components/vehicle_teslaroadster/src/vehicle_teslaroadster.cpp
 * (IncomingFrameCan1) at 1aa1daff19c5ad8532ba9fc887187c7f301539ac; DLCs and periods of the
 * encoders from the 2012 Roadster 2.5 log traces/tesla_roadster/20120218.charge.done.txt
 * (openvehicles/Open-Vehicle-Monitoring-System vehicle/roadster_canlogs/, commit 260a8429):
 * 0x88/0x89/0x95 every ~0.7 s, 0x96 every ~1 s, 0x80/0x85 every ~2 s, 0x81/0x82/0xA3 every
 * ~10 s.  The cooldown and digital-speedo features (which transmit) are not simulated; 0x93
 * raises the error-code notification but does not clear it.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "notify/notify.h"
#include "core/array.h"
#include "model/sim.h"
#include "vehicle/vehicle.h"

struct tr {
  struct metric *b_soc, *b_range_ideal, *b_range_est, *m_time_utc, *e_temp, *p_lat, *p_lon;
  struct metric *p_gpslock, *p_direction, *p_altitude, *e_gear, *c_current, *c_climit;
  struct metric *p_speed, *m_rpm, *c_voltage, *e_hvac, *c_state, *c_substate, *c_mode, *c_kwh;
  struct metric *e_heating, *d_fl, *d_fr, *d_cp, *c_pilot, *c_charging, *e_handbrake;
  struct metric *e_locked, *e_valet, *e_headlights, *d_hood, *d_trunk, *e_aux12v;
  struct metric *e_charging12v, *e_cooling, *e_alarm, *e_on, *e_awake, *b_cac, *b_lvl_min;
  struct metric *b_lvl_max, *b_soh, *b_health, *i_temp, *c_temp, *m_temp, *b_temp, *vin, *type;
  struct metric *t_pressure, *t_temp, *b_current, *b_power, *p_odometer, *p_trip;
  struct metric *c_timermode, *c_timerstart;
  /* decoder state: m_aux12v, m_vin, m_type of the firmware */
  bool aux12v;
  char vinbuf[18];
  char typ[5];
};

#define S(v) ((struct tr *)(v)->state)

static uint16_t le16(const uint8_t *d)
{
  return (uint16_t)(d[0] | (d[1] << 8));
}

static uint32_t le32(const uint8_t *d)
{
  return (uint32_t)d[0] | ((uint32_t)d[1] << 8) | ((uint32_t)d[2] << 16) | ((uint32_t)d[3] << 24);
}

/* chargemode_code() of the firmware (ovms_utils.cpp). */
static const char *mode_name(int key)
{
  switch (key) {
  case 0: return "standard";
  case 1: return "storage";
  case 3: return "range";
  case 4: return "performance";
  default: return "";
  }
}

static int mode_key(const char *s)
{
  if (!strcmp(s, "storage"))
    return 1;
  if (!strcmp(s, "range"))
    return 3;
  if (!strcmp(s, "performance"))
    return 4;
  return 0;
}

/* ---- decoders ------------------------------------------------------------------------- */

/*
 * 0x100, the VMS->VDS status stream, multiplexed by d0.  long: one case per sub-frame in the
 * order of the firmware's `case 0x100: switch (d[0])` in IncomingFrameCan1, so that the two
 * can be read side by side; most cases are two to five lines.
 */
static void d_100(struct vehicle *v, const struct sim_frame *f, const void *arg)
{
  struct tr *s = S(v);
  const uint8_t *d = f->data;
  uint8_t n = f->len;
  (void)arg;
  /* sub-frames shorter than the bytes they use are ignored (the firmware reads stale bytes) */
#define NEED(k) if (n < (k)) break
  switch (d[0]) {
  case 0x06:
    NEED(6);
    if (d[1] == 0x1B)
      metric_set_bool(s->c_timermode, d[4] != 0);
    else if (d[1] == 0x1A)
      metric_set_int(s->c_timerstart, (d[4] * 60 + d[5]) * 60);
    break;
  case 0x80: {
    NEED(8);
    metric_set_float(s->b_soc, d[1]);
    int ideal = le16(d + 2), est = le16(d + 6);
    metric_set_float_unit(s->b_range_ideal, ideal > 6000 ? 0 : ideal, SIM_UNIT_MILES);
    metric_set_float_unit(s->b_range_est, est > 6000 ? 0 : est, SIM_UNIT_MILES);
    break;
  }
  case 0x81:
    NEED(8);
    metric_set_int64(s->m_time_utc, (int64_t)le32(d + 4));
    break;
  case 0x82:
    NEED(2);
    if (s->aux12v)
      metric_set_float(s->e_temp, (int8_t)d[1]);
    break;
  case 0x83:
    NEED(8);
    metric_set_float(s->p_lat, (float)((int32_t)le32(d + 4)) / 2048 / 3600);
    break;
  case 0x84:
    NEED(8);
    metric_set_float(s->p_lon, (float)((int32_t)le32(d + 4)) / 2048 / 3600);
    break;
  case 0x85:
    NEED(6);
    metric_set_bool(s->p_gpslock, d[1] == 1);
    metric_set_float(s->p_direction, le16(d + 2) % 360);
    metric_set_float(s->p_altitude, (d[5] & 0xF0) ? 0 : le16(d + 4));
    break;
  case 0x87:
    NEED(2);
    if (s->typ[2] != '2')
      break; /* v2.x cars only */
    switch (d[1] & 0xE0) {
    case 0x20: metric_set_int(s->e_gear, 0); break;
    case 0x40: metric_set_int(s->e_gear, -1); break;
    case 0x60: metric_set_int(s->e_gear, 0); break;
    case 0x80: metric_set_int(s->e_gear, 1); break;
    default: break;
    }
    break;
  case 0x88:
    NEED(7);
    metric_set_float(s->c_current, d[1]);
    metric_set_float(s->c_climit, d[6]);
    break;
  case 0x89:
    NEED(4);
    metric_set_float_unit(s->p_speed, d[1], SIM_UNIT_MPH);
    metric_set_int(s->m_rpm, d[1] * 112); /* 14000 rpm at 125 mph */
    metric_set_float(s->c_voltage, d[3] * 256.0 + d[2]);
    break;
  case 0x8F:
    NEED(8);
    metric_set_bool(s->e_hvac, le16(d + 6) > 0);
    break;
  case 0x93: {
    /* VDS vehicle error: raise the error-code notification (clearing is not modelled) */
    NEED(8);
    uint32_t k1 = le16(d + 2), k2 = le32(d + 4);
    if (k1 != 0xFFFF && ((d[1] == 0x14 && k1 == 25) || (d[1] & 0x01)))
      sim_notify_error_code(v->sim, k1, k2);
    break;
  }
  case 0x95: {
    NEED(8);
    metric_set_bool(s->e_heating, d[1] == 0x0F);
    const char *st = NULL;
    switch (d[1]) {
    case 0x01: st = "charging"; break;
    case 0x02: st = "topoff"; break;
    case 0x04: st = "done"; break;
    case 0x0C: case 0x15: case 0x16: case 0x17: case 0x18: case 0x19: st = "stopped"; break;
    case 0x0D: st = "prepare"; break;
    case 0x0E: st = "stopped"; break; /* timer wait, reported as stopped by the firmware */
    case 0x0F: st = "heating"; break;
    default: break;
    }
    if (st)
      metric_set_string(s->c_state, st);
    const char *sub = NULL;
    switch (d[2]) {
    case 0x02: sub = "scheduledstart"; break;
    case 0x03: sub = "onrequest"; break;
    case 0x05: sub = "timerwait"; break;
    case 0x07: sub = "powerwait"; break;
    case 0x0D: sub = "stopped"; break;
    default: break;
    }
    if (sub)
      metric_set_string(s->c_substate, sub);
    if (s->typ[2] == '1')
      metric_set_string(s->c_mode, mode_name(d[4] & 0x0F));
    else if (s->typ[2] == '2')
      metric_set_string(s->c_mode, mode_name((d[5] >> 4) & 0x0F));
    metric_set_float(s->c_kwh, d[7]);
    break;
  }
  case 0x96:
    NEED(5);
    s->aux12v = (d[3] & 0x02) != 0;
    metric_set_bool(s->d_fl, d[1] & 0x01);
    metric_set_bool(s->d_fr, d[1] & 0x02);
    metric_set_bool(s->d_cp, d[1] & 0x04);
    metric_set_bool(s->c_pilot, d[1] & 0x08);
    metric_set_bool(s->c_charging, d[1] & 0x10);
    metric_set_bool(s->e_handbrake, d[1] & 0x40);
    metric_set_bool(s->e_locked, d[2] & 0x08);
    metric_set_bool(s->e_valet, d[2] & 0x10);
    metric_set_bool(s->e_headlights, d[2] & 0x20);
    metric_set_bool(s->d_hood, d[2] & 0x40);
    metric_set_bool(s->d_trunk, d[2] & 0x80);
    metric_set_bool(s->e_aux12v, s->aux12v);
    metric_set_bool(s->e_charging12v, d[3] & 0x01);
    metric_set_bool(s->e_cooling, d[3] & 0x02);
    metric_set_bool(s->e_alarm, d[4] & 0x02);
    metric_set_bool(s->e_on, d[1] & 0x80);
    metric_set_bool(s->e_awake, d[1] & 0x80);
    break;
  case 0x9E: {
    NEED(8);
    int lim = d[1], mn = d[6], mx = d[7];
    float cac = (float)d[3] + (float)d[2] / 256;
    metric_set_float(s->b_cac, cac);
    metric_set_float(s->b_lvl_min, mn);
    metric_set_float(s->b_lvl_max, mx);
    if (mx > 0)
      metric_set_float(s->b_soh, (cac / (cac > 165 ? 215.0 : 160.0)) * ((100 * mn) / mx));
    char buf[128];
    snprintf(buf, sizeof buf, "CAC %0.2fAh SOC %d%% LIM %d%% MIN %d%% MAX %d%%", cac,
             (int)metric_float(s->b_soc), lim, mn, mx);
    metric_set_string(s->b_health, buf);
    break;
  }
  case 0xA3:
    NEED(7);
    if (s->aux12v) {
      metric_set_float(s->i_temp, d[1]);
      metric_set_float(s->c_temp, d[1]);
      metric_set_float(s->m_temp, d[2]);
      metric_set_float(s->b_temp, d[6]);
    }
    break;
  case 0xA4:
    NEED(8);
    memcpy(s->vinbuf, d + 1, 7);
    break;
  case 0xA5:
    NEED(8);
    memcpy(s->vinbuf + 7, d + 1, 7);
    s->typ[0] = 'T';
    s->typ[1] = 'R';
    s->typ[2] = (d[3] == 'A' || d[3] == 'B' || d[3] == 'C') ? '2' : '1';
    s->typ[3] = d[1] == '3' ? 'S' : 'N';
    s->typ[4] = 0;
    metric_set_string(s->type, s->typ);
    break;
  case 0xA6:
    NEED(4);
    if (s->vinbuf[0] && s->vinbuf[7]) {
      memcpy(s->vinbuf + 14, d + 1, 3);
      s->vinbuf[17] = 0;
      metric_set_string_n(s->vin, s->vinbuf, strnlen(s->vinbuf, 17));
    }
    break;
  default:
    break;
  }
#undef NEED
}

static void d_102(struct vehicle *v, const struct sim_frame *f, const void *arg)
{
  (void)arg;
  if (f->data[0] == 0x0E && f->len >= 2)
    metric_set_bool(S(v)->e_locked, f->data[1] == 0x04);
}

/* TPMS: FL d0,d1; FR d2,d3; RL d4,d5; RR d6,d7 (pressure / 2.755 psi, temperature - 40);
 * a wheel is set only when its temperature byte is > 0.  v.t.* vectors are FL, FR, RL, RR. */
static void d_344(struct vehicle *v, const struct sim_frame *f, const void *arg)
{
  struct tr *s = S(v);
  (void)arg;
  for (int w = 0; w < 4; w++) {
    double kpa;
    if (f->data[2 * w + 1] > 0 &&
        sim_unit_convert(f->data[2 * w] / 2.755, SIM_UNIT_PSI, SIM_UNIT_KPA, &kpa) == 0) {
      metric_set_vec_float_elem(s->t_pressure, (size_t)w, (float)kpa);
      metric_set_vec_float_elem(s->t_temp, (size_t)w, (float)f->data[2 * w + 1] - 40);
    }
  }
}

static void d_400(struct vehicle *v, const struct sim_frame *f, const void *arg)
{
  struct tr *s = S(v);
  const uint8_t *d = f->data;
  (void)arg;
  if (d[0] == 0x01) {
    if (s->typ[2] != '1')
      return; /* v1.x cars only */
    switch (d[3]) {
    case 0x00: case 0x3F: case 0x3B: metric_set_int(s->e_gear, 0); break;
    case 0x3E: metric_set_int(s->e_gear, -1); break;
    case 0x2F: metric_set_int(s->e_gear, 1); break;
    default: break;
    }
  } else if (d[0] == 0x02) {
    unsigned amps = d[2] + ((unsigned)(d[3] & 0x7F) << 8);
    metric_set_float(s->b_current, amps);
    double soc = metric_float(s->b_soc);
    if (soc != 0) /* voltage estimated from the SOC: 370 V empty .. 400 V full */
      metric_set_float(s->b_power, (float)(amps * ((400.0 - 370.0) * soc / 100.0 + 370) / 1000.0));
  }
}

static void d_402(struct vehicle *v, const struct sim_frame *f, const void *arg)
{
  struct tr *s = S(v);
  const uint8_t *d = f->data;
  (void)arg;
  unsigned odo = d[3] + ((unsigned)d[4] << 8) + ((unsigned)d[5] << 16);
  metric_set_float_unit(s->p_odometer, (float)odo / 10, SIM_UNIT_MILES);
  metric_set_float_unit(s->p_trip, (float)le16(d + 6) / 10, SIM_UNIT_MILES);
}

static const struct vehicle_decoder tr_decoders[] = {
    {1, 0x100, 1, d_100, NULL},
    {1, 0x102, 1, d_102, NULL},
    {1, 0x344, 8, d_344, NULL},
    {1, 0x400, 4, d_400, NULL},
    {1, 0x402, 8, d_402, NULL},
};

/* ---- encoders ------------------------------------------------------------------------- */

static long clampl(double x, long lo, long hi)
{
  long r = lround(x);
  return r < lo ? lo : r > hi ? hi : r;
}

static void put16(uint8_t *d, long x)
{
  d[0] = (uint8_t)(x & 0xFF);
  d[1] = (uint8_t)((x >> 8) & 0xFF);
}

static void put32(uint8_t *d, uint32_t x)
{
  for (int i = 0; i < 4; i++)
    d[i] = (uint8_t)(x >> (8 * i));
}

static double in_unit(const struct metric *m, enum sim_unit u)
{
  return metric_float_unit(m, u);
}

/* v2.x when the 3rd character of the A5 chunk (VIN position 10) is A, B or C. */
static bool vin_v2(const struct tr *s)
{
  const char *vin = metric_string(s->vin);
  return strlen(vin) >= 17 && (vin[9] == 'A' || vin[9] == 'B' || vin[9] == 'C');
}

enum { E80, E81, E82, E83, E84, E85, E87, E88, E89, E8F, E95, E96, E9E, EA3, EA4, EA5, EA6 };

/*
 * Encodes the 0x100 sub-frame arg (E80 ...), the exact inverse of d_100().  long: one case
 * per sub-frame in the same order as d_100() and the firmware's switch, so that decode and
 * encode of a field can be compared line by line.
 */
static int e_100(struct vehicle *v, struct sim_frame *f, const void *arg)
{
  struct tr *s = S(v);
  uint8_t *d = f->data;
  int which = (int)(intptr_t)arg;
  switch (which) {
  case E80:
    if (!metric_is_defined(s->b_soc))
      return 0;
    d[0] = 0x80;
    d[1] = (uint8_t)clampl(metric_float(s->b_soc), 0, 100);
    put16(d + 2, clampl(in_unit(s->b_range_ideal, SIM_UNIT_MILES), 0, 6000));
    put16(d + 6, clampl(in_unit(s->b_range_est, SIM_UNIT_MILES), 0, 6000));
    return 1;
  case E81:
    d[0] = 0x81;
    put32(d + 4, (uint32_t)(v->sim && v->sim->loop ? sim_now_sec(v->sim->loop)
                                                   : metric_int64(s->m_time_utc)));
    return 1;
  case E82:
    if (!metric_is_defined(s->e_temp))
      return 0;
    d[0] = 0x82;
    d[1] = (uint8_t)(int8_t)clampl(metric_float(s->e_temp), -128, 127);
    return 1;
  case E83:
  case E84: {
    const struct metric *m = which == E83 ? s->p_lat : s->p_lon;
    if (!metric_is_defined(m))
      return 0;
    d[0] = which == E83 ? 0x83 : 0x84;
    put32(d + 4, (uint32_t)(int32_t)clampl(metric_float(m) * 3600 * 2048, INT32_MIN, INT32_MAX));
    return 1;
  }
  case E85:
    d[0] = 0x85;
    d[1] = metric_bool(s->p_gpslock) ? 1 : 0;
    put16(d + 2, clampl(metric_float(s->p_direction), 0, 359));
    put16(d + 4, clampl(metric_float(s->p_altitude), 0, 0x0FFF));
    return 1;
  case E87: {
    if (!vin_v2(s))
      return 0;
    int g = metric_int(s->e_gear);
    d[0] = 0x87;
    d[1] = g < 0 ? 0x40 : g > 0 ? 0x80 : 0x20;
    return 1;
  }
  case E88:
    d[0] = 0x88;
    d[1] = (uint8_t)clampl(metric_float(s->c_current), 0, 255);
    d[6] = (uint8_t)clampl(metric_float(s->c_climit), 0, 255);
    return 1;
  case E89: {
    d[0] = 0x89;
    d[1] = (uint8_t)clampl(in_unit(s->p_speed, SIM_UNIT_MPH), 0, 255);
    long vline = clampl(metric_float(s->c_voltage), 0, 65535);
    put16(d + 2, vline);
    return 1;
  }
  case E8F:
    d[0] = 0x8F;
    put16(d + 6, metric_bool(s->e_hvac) ? 1000 : 0);
    return 1;
  case E95: {
    static const struct { const char *n; uint8_t c; } st[] = {
        {"charging", 0x01}, {"topoff", 0x02}, {"done", 0x04}, {"stopped", 0x17},
        {"prepare", 0x0D}, {"heating", 0x0F}};
    static const struct { const char *n; uint8_t c; } sub[] = {
        {"scheduledstart", 0x02}, {"onrequest", 0x03}, {"timerwait", 0x05},
        {"powerwait", 0x07}, {"stopped", 0x0D}};
    d[0] = 0x95;
    for (size_t i = 0; i < ARRAY_SIZE(st); i++)
      if (!strcmp(metric_string(s->c_state), st[i].n))
        d[1] = st[i].c;
    if (metric_bool(s->e_heating))
      d[1] = 0x0F;
    for (size_t i = 0; i < ARRAY_SIZE(sub); i++)
      if (!strcmp(metric_string(s->c_substate), sub[i].n))
        d[2] = sub[i].c;
    int mode = mode_key(metric_string(s->c_mode));
    if (vin_v2(s))
      d[5] = (uint8_t)(mode << 4);
    else
      d[4] = (uint8_t)mode;
    d[7] = (uint8_t)clampl(metric_float(s->c_kwh), 0, 255);
    return 1;
  }
  case E96:
    d[0] = 0x96;
    d[1] = (uint8_t)((metric_bool(s->d_fl) ? 0x01 : 0) | (metric_bool(s->d_fr) ? 0x02 : 0) |
                     (metric_bool(s->d_cp) ? 0x04 : 0) | (metric_bool(s->c_pilot) ? 0x08 : 0) |
                     (metric_bool(s->c_charging) ? 0x10 : 0) |
                     (metric_bool(s->e_handbrake) ? 0x40 : 0) | (metric_bool(s->e_on) ? 0x80 : 0));
    d[2] = (uint8_t)((metric_bool(s->e_locked) ? 0x08 : 0) | (metric_bool(s->e_valet) ? 0x10 : 0) |
                     (metric_bool(s->e_headlights) ? 0x20 : 0) |
                     (metric_bool(s->d_hood) ? 0x40 : 0) | (metric_bool(s->d_trunk) ? 0x80 : 0));
    d[3] = (uint8_t)((metric_bool(s->e_charging12v) ? 0x01 : 0) |
                     (metric_bool(s->e_aux12v) || metric_bool(s->e_cooling) ? 0x02 : 0));
    d[4] = metric_bool(s->e_alarm) ? 0x02 : 0;
    return 1;
  case E9E: {
    if (!metric_is_defined(s->b_cac))
      return 0;
    double cac = metric_float(s->b_cac);
    d[0] = 0x9E;
    d[1] = (uint8_t)clampl(metric_float(s->b_soc), 0, 100);
    d[3] = (uint8_t)clampl(floor(cac), 0, 255);
    d[2] = (uint8_t)clampl((cac - floor(cac)) * 256, 0, 255);
    d[6] = (uint8_t)clampl(metric_float(s->b_lvl_min), 0, 255);
    d[7] = (uint8_t)clampl(metric_float(s->b_lvl_max), 0, 255);
    return 1;
  }
  case EA3:
    if (!metric_is_defined(s->b_temp))
      return 0;
    d[0] = 0xA3;
    d[1] = (uint8_t)clampl(metric_float(s->i_temp), 0, 255);
    d[2] = (uint8_t)clampl(metric_float(s->m_temp), 0, 255);
    d[6] = (uint8_t)clampl(metric_float(s->b_temp), 0, 255);
    return 1;
  case EA4:
  case EA5:
  case EA6: {
    const char *vin = metric_string(s->vin);
    if (strlen(vin) < 17)
      return 0;
    int off = which == EA4 ? 0 : which == EA5 ? 7 : 14;
    int n = which == EA6 ? 3 : 7;
    d[0] = (uint8_t)(0xA4 + (which - EA4));
    memcpy(d + 1, vin + off, (size_t)n);
    return 1;
  }
  default:
    return 0;
  }
}

static int e_344(struct vehicle *v, struct sim_frame *f, const void *arg)
{
  struct tr *s = S(v);
  (void)arg;
  if (!metric_is_defined(s->t_pressure))
    return 0;
  const float *p = s->t_pressure->data, *t = s->t_temp->data;
  for (uint32_t w = 0; w < 4; w++) {
    double psi = 0;
    if (w < s->t_pressure->n && sim_unit_convert(p[w], SIM_UNIT_KPA, SIM_UNIT_PSI, &psi) == 0) {
      f->data[2 * w] = (uint8_t)clampl(psi * 2.755, 0, 255);
      double temp = w < s->t_temp->n ? t[w] : 20.0;
      f->data[2 * w + 1] = (uint8_t)clampl(temp + 40, 1, 255);
    }
  }
  return 1;
}

static int e_400(struct vehicle *v, struct sim_frame *f, const void *arg)
{
  struct tr *s = S(v);
  uint8_t *d = f->data;
  if (arg) { /* 0x01: PRND for v1.x cars */
    if (vin_v2(s) || strlen(metric_string(s->vin)) < 17)
      return 0;
    int g = metric_int(s->e_gear);
    d[0] = 0x01;
    d[3] = g < 0 ? 0x3E : g > 0 ? 0x2F : 0x3F;
    return 1;
  }
  long amps = clampl(metric_float(s->b_current), 0, 0x7FFF);
  d[0] = 0x02;
  d[2] = (uint8_t)(amps & 0xFF);
  d[3] = (uint8_t)(amps >> 8);
  return 1;
}

static int e_402(struct vehicle *v, struct sim_frame *f, const void *arg)
{
  struct tr *s = S(v);
  uint8_t *d = f->data;
  (void)arg;
  if (!metric_is_defined(s->p_odometer))
    return 0;
  long odo = clampl(in_unit(s->p_odometer, SIM_UNIT_MILES) * 10, 0, 0xFFFFFF);
  d[3] = (uint8_t)(odo & 0xFF);
  d[4] = (uint8_t)((odo >> 8) & 0xFF);
  d[5] = (uint8_t)((odo >> 16) & 0xFF);
  put16(d + 6, clampl(in_unit(s->p_trip, SIM_UNIT_MILES) * 10, 0, 65535));
  return 1;
}

#define SUB(x) ((const void *)(intptr_t)(x))

static const struct vehicle_encoder tr_encoders[] = {
    {1, 0x100, 2000, 8, e_100, SUB(E80), "0x100/80 SOC, ranges"},
    {1, 0x100, 10000, 8, e_100, SUB(E81), "0x100/81 time"},
    {1, 0x100, 10000, 2, e_100, SUB(E82), "0x100/82 ambient"},
    {1, 0x100, 2000, 8, e_100, SUB(E83), "0x100/83 latitude"},
    {1, 0x100, 2000, 8, e_100, SUB(E84), "0x100/84 longitude"},
    {1, 0x100, 2000, 6, e_100, SUB(E85), "0x100/85 GPS"},
    {1, 0x100, 10000, 8, e_100, SUB(E87), "0x100/87 gear (v2)"},
    {1, 0x100, 700, 7, e_100, SUB(E88), "0x100/88 charger settings"},
    {1, 0x100, 700, 6, e_100, SUB(E89), "0x100/89 speed, line voltage"},
    {1, 0x100, 10000, 8, e_100, SUB(E8F), "0x100/8F HVAC"},
    {1, 0x100, 700, 8, e_100, SUB(E95), "0x100/95 charge state"},
    {1, 0x100, 1000, 8, e_100, SUB(E96), "0x100/96 doors, flags"},
    {1, 0x100, 10000, 8, e_100, SUB(E9E), "0x100/9E CAC"},
    {1, 0x100, 10000, 7, e_100, SUB(EA3), "0x100/A3 temperatures"},
    {1, 0x100, 10000, 8, e_100, SUB(EA4), "0x100/A4 VIN 1-7"},
    {1, 0x100, 10000, 8, e_100, SUB(EA5), "0x100/A5 VIN 8-14"},
    {1, 0x100, 10000, 4, e_100, SUB(EA6), "0x100/A6 VIN 15-17"},
    {1, 0x344, 1000, 8, e_344, NULL, "0x344 TPMS"},
    {1, 0x400, 100, 8, e_400, SUB(1), "0x400/01 PRND (v1)"},
    {1, 0x400, 100, 8, e_400, NULL, "0x400/02 current"},
    {1, 0x402, 1000, 8, e_402, NULL, "0x402 odometer, trip"},
};

/* ---- set-up --------------------------------------------------------------------------- */

#define TS(m, n) VM_STD(struct tr, m, n)

static const struct vehicle_metric_bind tr_binds[] = {
    TS(b_soc, "v.b.soc"), TS(b_range_ideal, "v.b.range.ideal"), TS(b_range_est, "v.b.range.est"),
    TS(m_time_utc, "m.time.utc"), TS(e_temp, "v.e.temp"), TS(p_lat, "v.p.latitude"),
    TS(p_lon, "v.p.longitude"), TS(p_gpslock, "v.p.gpslock"), TS(p_direction, "v.p.direction"),
    TS(p_altitude, "v.p.altitude"), TS(e_gear, "v.e.gear"), TS(c_current, "v.c.current"),
    TS(c_climit, "v.c.climit"), TS(p_speed, "v.p.speed"), TS(m_rpm, "v.m.rpm"),
    TS(c_voltage, "v.c.voltage"), TS(e_hvac, "v.e.hvac"), TS(c_state, "v.c.state"),
    TS(c_substate, "v.c.substate"), TS(c_mode, "v.c.mode"), TS(c_kwh, "v.c.kwh"),
    TS(e_heating, "v.e.heating"), TS(d_fl, "v.d.fl"), TS(d_fr, "v.d.fr"), TS(d_cp, "v.d.cp"),
    TS(c_pilot, "v.c.pilot"), TS(c_charging, "v.c.charging"), TS(e_handbrake, "v.e.handbrake"),
    TS(e_locked, "v.e.locked"), TS(e_valet, "v.e.valet"), TS(e_headlights, "v.e.headlights"),
    TS(d_hood, "v.d.hood"), TS(d_trunk, "v.d.trunk"), TS(e_aux12v, "v.e.aux12v"),
    TS(e_charging12v, "v.e.charging12v"), TS(e_cooling, "v.e.cooling"), TS(e_alarm, "v.e.alarm"),
    TS(e_on, "v.e.on"), TS(e_awake, "v.e.awake"), TS(b_cac, "v.b.cac"),
    TS(b_lvl_min, "v.b.p.level.min"), TS(b_lvl_max, "v.b.p.level.max"), TS(b_soh, "v.b.soh"),
    TS(b_health, "v.b.health"), TS(i_temp, "v.i.temp"), TS(c_temp, "v.c.temp"),
    TS(m_temp, "v.m.temp"), TS(b_temp, "v.b.temp"), TS(vin, "v.vin"), TS(type, "v.type"),
    TS(t_pressure, "v.t.pressure"), TS(t_temp, "v.t.temp"), TS(b_current, "v.b.current"),
    TS(b_power, "v.b.power"), TS(p_odometer, "v.p.odometer"), TS(p_trip, "v.p.trip"),
    TS(c_timermode, "v.c.timermode"), TS(c_timerstart, "v.c.timerstart"),
};

/* The firmware's "xtr" keys (features that transmit; declared so configurations load). */
static const struct sim_config_decl tr_config[] = {
    {"xtr", "digital.speedo", CFG_BOOL, "no", 0, 0, 0, 0, "digital speedo (not simulated)"},
    {"xtr", "digital.speedo.reps", CFG_INT, "3", 0, 100, 0, 0, "digital speedo repetitions"},
    {"xtr", "cooldown.timelimit", CFG_INT, "60", 1, 1440, 0, 0, "cooldown time limit, minutes"},
    {"xtr", "cooldown.templimit", CFG_INT, "31", -40, 100, 0, 0, "cooldown temperature limit"},
    {"xtr", "cooldown.current", CFG_INT, "12", 1, 70, 0, 0, "cooldown charge current"},
};

static int tr_init(struct vehicle *v, const char *arg, struct sim_diag *d)
{
  (void)arg;
  return vehicle_bind_metrics(v, tr_binds, ARRAY_SIZE(tr_binds), d);
}

const struct vehicle_type vehicle_type_teslaroadster = {
    .name = "teslaroadster",
    .code = "TR",
    .title = "Tesla Roadster",
    .state_size = sizeof(struct tr),
    .init = tr_init,
    .decoders = tr_decoders,
    .n_decoders = ARRAY_SIZE(tr_decoders),
    .encoders = tr_encoders,
    .n_encoders = ARRAY_SIZE(tr_encoders),
    .cfg_param = "xtr",
    .config = tr_config,
    .n_config = ARRAY_SIZE(tr_config),
};
