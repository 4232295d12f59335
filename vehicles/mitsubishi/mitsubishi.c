/*
 * mitsubishi.c - the Mitsubishi i-MiEV / Citroen C-Zero / Peugeot iOn decoder and encoders
 * ("mitsubishi", firmware type MI, "Trio").
 *
 * One bus at 500 kbit/s, multi-byte fields big-endian.  Facts from
 * openvehicles/Open-Vehicle-Monitoring-System-3 vehicle/OVMS.V3/components/vehicle_mitsubishi/
 * src/vehicle_mitsubishi.cpp (IncomingFrameCan1, Ticker1, vehicle_mitsubishi_car_on) at
 * 1aa1daff and, for the 0x3A4 strings, the 0x424 door bits, the cell numbering of 0x6E1-0x6E4
 * and the Ticker1 charge state machine, the same file at
 * 02f350b55c3732ae45c7ed149b304388564d57e3; where the two differ, 1aa1daff is followed.
 * Periods of the encoders are the "freqN" comments of that source (0x373 100 Hz,
 * 0x208/0x210/0x346/0x418 50 Hz, 0x424/0x6E1-0x6E4 25 Hz, others 10 Hz).
 *
 * Note the gear convention of this module: P = -1 and R = -2 (IncomingFrameCan1, 0x418; here
 * d_418()), against the "negative = reverse, 0 = neutral or park" of V3/main/metrics_standard.h, kept
 * as the firmware publishes it.  Cell statistics of the firmware's generic BMS code are
 * reduced to the pack average temperature (v.b.p.temp.avg, which Ticker1 copies to v.b.temp)
 * and the voltage min/max/avg.  The diagnostic polls (0x761 etc.) are in mi_poll.c.
 */
#include <math.h>
#include <string.h>

#include "core/array.h"
#include "mitsubishi.h"


/* AsInt() of a float metric: truncation, as the firmware's (int) cast (metric_int rounds) */
static int32_t as_int(const struct metric *m)
{
  return (int32_t)metric_float(m);
}

static uint16_t be16(const uint8_t *d)
{
  return (uint16_t)((d[0] << 8) | d[1]);
}

/* vehicle_mitsubishi_car_on() */
static void car_on(struct mi *s, bool on)
{
  metric_set_bool(s->e_awake, on);
  if (on && !metric_bool(s->e_on)) {
    metric_set_bool(s->e_on, true);
    metric_set_bool(s->e_charging12v, true);
    metric_set_float(s->b_energy_recd, 0);
    metric_set_float(s->b_energy_used, 0);
  } else if (!on && metric_bool(s->e_on)) {
    metric_set_bool(s->e_on, false);
    metric_set_float(s->p_speed, 0);
    metric_set_bool(s->e_charging12v, false);
  }
}

static void d_012(struct vehicle *v, const struct sim_frame *f, const void *arg)
{
  (void)arg;
  car_on(S(v), f->data[2] == 4);
}

static void d_101(struct vehicle *v, const struct sim_frame *f, const void *arg)
{
  (void)arg;
  car_on(S(v), f->data[0] == 4);
}

static void d_208(struct vehicle *v, const struct sim_frame *f, const void *arg)
{
  (void)arg;
  metric_set_float(S(v)->e_footbrake, (be16(f->data + 2) - 24576.0) / 640 * 100.0);
}

static void d_210(struct vehicle *v, const struct sim_frame *f, const void *arg)
{
  (void)arg;
  metric_set_float(S(v)->e_throttle, f->data[2] * 100.0 / 255.0);
}

static void d_215(struct vehicle *v, const struct sim_frame *f, const void *arg)
{
  (void)arg;
  metric_set_float(S(v)->p_speed, be16(f->data) * 0.0078125);
}

static void d_286(struct vehicle *v, const struct sim_frame *f, const void *arg)
{
  struct mi *s = S(v);
  (void)arg;
  metric_set_float(s->c_temp, f->data[3] - 40.0);
  metric_set_float(s->i_temp, f->data[3] - 40.0);
  s->sc = (f->data[1] & 0x20) != 0;
  if (s->sc) {
    metric_set_float(s->c_climit, 14);
    metric_set_string(s->c_state, "charging");
  }
}

static void d_298(struct vehicle *v, const struct sim_frame *f, const void *arg)
{
  struct mi *s = S(v);
  (void)arg;
  metric_set_float(s->m_temp, f->data[3] - 40);
  int rpm = be16(f->data + 6) - 10000;
  metric_set_int(s->m_rpm, (rpm < 10 && rpm > -10) ? 0 : rpm);
}

static void d_29a(struct vehicle *v, const struct sim_frame *f, const void *arg)
{
  struct mi *s = S(v);
  const uint8_t *d = f->data;
  (void)arg;
  if (d[0] == 0) {
    memcpy(s->vinbuf, d + 1, 7);
  } else if (d[0] == 1) {
    memcpy(s->vinbuf + 7, d + 1, 7);
  } else if (d[0] == 2) {
    memcpy(s->vinbuf + 14, d + 1, 3);
    s->vinbuf[17] = 0;
    if (s->vinbuf[0] && s->vinbuf[7])
      metric_set_string_n(s->vin, s->vinbuf, strnlen(s->vinbuf, 17));
  }
}

static void d_346(struct vehicle *v, const struct sim_frame *f, const void *arg)
{
  struct mi *s = S(v);
  (void)arg;
  if (f->data[7] < 255)
    metric_set_float(s->b_range_est, s->qc ? 0 : f->data[7]);
  metric_set_bool(s->e_handbrake, (f->data[4] & 0x20) != 0);
}

static void d_373(struct vehicle *v, const struct sim_frame *f, const void *arg)
{
  struct mi *s = S(v);
  (void)arg;
  double i = (be16(f->data + 2) - 32768) / 100.0;
  double u = be16(f->data + 4) / 10.0;
  metric_set_float(s->b_current, i);
  metric_set_float(s->b_voltage, u);
  /* the raw current is charge-positive: power = -V * I */
  double p = metric_float(s->b_voltage) * metric_float(s->b_current) / 1000.0 * -1.0;
  metric_set_float(s->b_power, p);
  /* 100 Hz frames: kWh += kW / 360000 */
  if (p < 0)
    metric_set_float(s->b_energy_recd, metric_float(s->b_energy_recd) + p / -360000.0);
  else
    metric_set_float(s->b_energy_used, metric_float(s->b_energy_used) + p / 360000.0);
  if (metric_int(s->e_gear) == -1 && p < 0 && s->qc) {
    metric_set_float(s->c_voltage, metric_float(s->b_voltage));
    metric_set_float(s->c_current, metric_float(s->b_current));
  }
}

static void d_374(struct vehicle *v, const struct sim_frame *f, const void *arg)
{
  (void)arg;
  if (f->data[1] > 10)
    metric_set_float(S(v)->b_soc, (f->data[1] - 10) / 2.0);
}

static void d_377(struct vehicle *v, const struct sim_frame *f, const void *arg)
{
  (void)arg;
  uint16_t raw = be16(f->data + 2);
  if (raw != 0xFFFF)
    metric_set_float(S(v)->b_12v_current, raw * 0.1);
}

static void d_384(struct vehicle *v, const struct sim_frame *f, const void *arg)
{
  struct mi *s = S(v);
  (void)arg;
  double amps = f->data[4] / 10.0;
  metric_set_float(s->x_heat_amp, amps);
  metric_set_float(s->x_ac_amp, be16(f->data) / 1000.0);
  metric_set_bool(s->e_heating, amps * metric_float(s->b_voltage) > 0.0);
}

static void d_389(struct vehicle *v, const struct sim_frame *f, const void *arg)
{
  struct mi *s = S(v);
  (void)arg;
  if (!s->qc) {
    metric_set_float(s->c_voltage, f->data[1]);
    metric_set_float(s->c_current, f->data[6] / 10.0);
  }
  metric_set_float(s->c_power, metric_float(s->c_voltage) * metric_float(s->c_current) / 1000);
  if (as_int(s->c_voltage) > 0 && metric_float(s->c_current) > 0.0) {
    metric_set_bool(s->c_charging, true);
    /* 10 Hz frames: kWh += kW / 36000 */
    metric_set_float(s->c_kwh, metric_float(s->c_kwh) + metric_float(s->c_power) / 36000.0);
  }
}

static const char *vent_name(int x)
{
  switch (x) {
  case 1: case 2: return "Face";
  case 3: case 4: return "Legs + Face";
  case 5: case 6: return "Legs";
  case 7: case 8: return "Legs + Windshield";
  case 9: return "Windshield";
  default: return "-";
  }
}

static void d_3a4(struct vehicle *v, const struct sim_frame *f, const void *arg)
{
  struct mi *s = S(v);
  const uint8_t *d = f->data;
  (void)arg;
  metric_set_string(s->e_cabinintake, (d[0] & 0x40) ? "Recirculation" : "Fresh");
  metric_set_bool(s->e_hvac, (d[0] & 0x80) != 0);
  float fan = (float)((d[1] & 15) * 12.5 + 0.5);
  metric_set_int(s->e_cabinfan, (d[0] & 0x20) ? 110 : (int32_t)fan);
  metric_set_string(s->e_cabinvent, vent_name(d[1] >> 4));
}

static void d_412(struct vehicle *v, const struct sim_frame *f, const void *arg)
{
  (void)arg;
  metric_set_float(S(v)->p_odometer, (f->data[2] << 16) | (f->data[3] << 8) | f->data[4]);
}

static void d_418(struct vehicle *v, const struct sim_frame *f, const void *arg)
{
  struct mi *s = S(v);
  (void)arg;
  switch (f->data[0]) {
  case 'P': metric_set_int(s->e_gear, -1); break;
  case 'R': metric_set_int(s->e_gear, -2); break;
  case 'N': metric_set_int(s->e_gear, 0); break;
  case 'D': metric_set_int(s->e_gear, 1); break;
  case 0x83: metric_set_int(s->e_gear, 2); break; /* B */
  case 0x32: metric_set_int(s->e_gear, 3); break; /* C */
  default: break;
  }
}

static void d_424(struct vehicle *v, const struct sim_frame *f, const void *arg)
{
  struct mi *s = S(v);
  const uint8_t *d = f->data;
  (void)arg;
  metric_set_bool(s->x_frontfog, (d[0] & 8) != 0);
  metric_set_bool(s->x_rearfog, (d[0] & 16) != 0);
  metric_set_bool(s->x_blink_r, (d[1] & 1) != 0);
  metric_set_bool(s->x_blink_l, (d[1] & 2) != 0);
  metric_set_bool(s->x_highbeam, (d[1] & 4) != 0);
  metric_set_bool(s->e_headlights, (d[1] & 32) != 0);
  metric_set_bool(s->x_lowbeam, (d[1] & 64) != 0);
  bool other = (d[2] & 1) != 0; /* one or more doors except the driver's */
  metric_set_bool(s->d_fr, other);
  metric_set_bool(s->d_rl, other);
  metric_set_bool(s->d_rr, other);
  metric_set_bool(s->d_trunk, other);
  metric_set_bool(s->d_fl, (d[2] & 2) != 0);
  metric_set_bool(s->e_locked, (d[2] & 64) != 0);
}

static void d_697(struct vehicle *v, const struct sim_frame *f, const void *arg)
{
  struct mi *s = S(v);
  (void)arg;
  s->qc = f->data[0] == 1;
  if (s->qc) {
    metric_set_string(s->c_type, "Quickcharge");
    metric_set_string(s->c_mode, "CHAdeMO");
    metric_set_float(s->c_climit, f->data[2]);
  }
}

/* Cell voltages V = raw / 200 + 2.1 and temperatures - 50 of one CMU; the numbering skips 4
 * cells and 3 sensors from CMU 7 on (CMU 6 and 12 have fewer cells). */
static void d_6e(struct vehicle *v, const struct sim_frame *f, const void *arg)
{
  S(v)->has_broadcast = true;
  struct mi *s = S(v);
  const uint8_t *d = f->data;
  int pid = (int)(intptr_t)arg;
  int cmu = d[0] & 0x0F;
  if (cmu < 1 || cmu > 12)
    return;
  int vi = (cmu - 1) * 8 + 2 * pid, ti = (cmu - 1) * 6 + 2 * pid;
  if (cmu >= 7) {
    vi -= 4;
    ti -= 3;
  }
  int nv = s->newcell ? 80 : MI_CELLS_V, nt = s->newcell ? 60 : MI_CELLS_T;
  /* readings beyond the pack's cell count are dropped, as the BMS framework does */
  if (vi + 1 < nv) {
    metric_set_vec_float_elem(s->c_cell_v, (size_t)vi, (float)(be16(d + 4) / 200.0 + 2.1));
    metric_set_vec_float_elem(s->c_cell_v, (size_t)vi + 1, (float)(be16(d + 6) / 200.0 + 2.1));
  }
  if (pid == 0) {
    if (ti + 1 < nt) {
      metric_set_vec_float_elem(s->c_cell_t, (size_t)ti, d[2] - 50.0f);
      metric_set_vec_float_elem(s->c_cell_t, (size_t)ti + 1, d[3] - 50.0f);
    }
  } else if (ti < nt) {
    metric_set_vec_float_elem(s->c_cell_t, (size_t)ti, d[1] - 50.0f);
    if (cmu != 6 && cmu != 12 && ti + 1 < nt)
      metric_set_vec_float_elem(s->c_cell_t, (size_t)ti + 1, d[2] - 50.0f);
  }
}

#define PID(x) ((const void *)(intptr_t)(x))

static const struct vehicle_decoder mi_decoders[] = {
    {1, 0x012, 3, d_012, NULL},
    {1, 0x101, 1, d_101, NULL},
    {1, 0x208, 4, d_208, NULL},
    {1, 0x210, 3, d_210, NULL},
    {1, 0x215, 2, d_215, NULL},
    {1, 0x286, 4, d_286, NULL},
    {1, 0x298, 8, d_298, NULL},
    {1, 0x29A, 4, d_29a, NULL},
    {1, 0x346, 8, d_346, NULL},
    {1, 0x373, 6, d_373, NULL},
    {1, 0x374, 2, d_374, NULL},
    {1, 0x377, 4, d_377, NULL},
    {1, 0x384, 5, d_384, NULL},
    {1, 0x389, 7, d_389, NULL},
    {1, 0x3A4, 2, d_3a4, NULL},
    {1, 0x412, 5, d_412, NULL},
    {1, 0x418, 1, d_418, NULL},
    {1, 0x424, 3, d_424, NULL},
    {1, 0x697, 3, d_697, NULL},
    {1, 0x6E1, 8, d_6e, PID(0)},
    {1, 0x6E2, 8, d_6e, PID(1)},
    {1, 0x6E3, 8, d_6e, PID(2)},
    {1, 0x6E4, 8, d_6e, PID(3)},
};

/* ---- Ticker1 -------------------------------------------------------------------------- */

static void pack_stats(struct mi *s)
{
  if (metric_is_defined(s->c_cell_t) && s->c_cell_t->n) {
    const float *t = s->c_cell_t->data;
    double sum = 0;
    for (uint32_t i = 0; i < s->c_cell_t->n; i++)
      sum += t[i];
    metric_set_float(s->p_temp_avg, sum / s->c_cell_t->n);
  }
  if (metric_is_defined(s->c_cell_v) && s->c_cell_v->n) {
    const float *c = s->c_cell_v->data;
    double sum = 0, mn = c[0], mx = c[0];
    for (uint32_t i = 0; i < s->c_cell_v->n; i++) {
      sum += c[i];
      mn = c[i] < mn ? c[i] : mn;
      mx = c[i] > mx ? c[i] : mx;
    }
    metric_set_float(s->p_volt_avg, sum / s->c_cell_v->n);
    metric_set_float(s->p_volt_min, mn);
    metric_set_float(s->p_volt_max, mx);
  }
}

static void mi_ticker1(struct vehicle *v, uint32_t ticker)
{
  struct mi *s = S(v);
  (void)ticker;
  pack_stats(s);
  if (metric_is_defined(s->p_temp_avg))
    metric_set_float(s->b_temp, metric_float(s->p_temp_avg));
  if (metric_is_defined(s->c_charging) && metric_is_stale(s->c_charging)) {
    metric_set_float(s->c_voltage, 0);
    metric_set_float(s->c_current, 0);
    metric_set_float(s->b_current, 0);
    metric_set_float(s->b_power, 0);
  }
  if (metric_int(s->e_gear) == -1) { /* charge state machine, in P only */
    if (s->qc || s->sc) {
      metric_set_bool(s->e_charging12v, true);
      if (!metric_bool(s->c_pilot)) {
        metric_set_float(s->c_kwh, 0);
        metric_set_bool(s->c_charging, true);
        metric_set_bool(s->c_pilot, true);
        metric_set_bool(s->d_cp, true);
        metric_set_string(s->c_substate, "onrequest");
      } else {
        metric_set_string(s->c_state, "charging");
        if (metric_float(s->b_current) < 0 && !s->qc && as_int(s->b_soc) > 92 &&
            strcmp(metric_string(s->c_mode), "Balancing") != 0) {
          metric_set_string(s->c_mode, "Balancing");
          metric_set_string(s->c_state, "topoff");
        }
      }
    } else if (as_int(s->c_current) == 0 && as_int(s->c_voltage) < 100) {
      if (metric_bool(s->c_pilot)) {
        metric_set_bool(s->c_charging, false);
        metric_set_bool(s->c_pilot, false);
        metric_set_bool(s->d_cp, false);
        metric_set_bool(s->e_charging12v, false);
        metric_set_string(s->c_type, "None");
        if (as_int(s->b_soc) < 92 && !s->qc) {
          metric_set_string(s->c_state, "stopped");
          metric_set_string(s->c_substate, "interrupted");
        } else {
          metric_set_string(s->c_state, "done");
          metric_set_string(s->c_substate, "scheduledstop");
        }
        metric_set_float(s->c_current, 0);
        metric_set_float(s->c_climit, 0);
        metric_set_string(s->c_mode, "None");
        metric_set_float(s->b_current, 0);
        metric_set_float(s->c_kwh, 0);
      }
    }
  }
  if (metric_float(s->b_soc) <= 10) {
    metric_set_float(s->b_range_ideal, 0);
  } else if (metric_is_defined(s->b_cac)) {
    int cells = s->newcell ? 80 : 88;
    metric_set_float(s->b_range_ideal,
                     metric_float(s->b_soc) * metric_float(s->b_cac) * 3.7 * cells / 16100.0);
    metric_set_float(s->b_soh, metric_float(s->b_cac) / 48.0 * 100);
  }
}

/* ---- encoders ------------------------------------------------------------------------- */

static long clampl(double x, long lo, long hi)
{
  long r = lround(x);
  return r < lo ? lo : r > hi ? hi : r;
}

static void put16(uint8_t *d, long x)
{
  d[0] = (uint8_t)((x >> 8) & 0xFF);
  d[1] = (uint8_t)(x & 0xFF);
}

static int e_101(struct vehicle *v, struct sim_frame *f, const void *arg)
{
  (void)arg;
  f->data[0] = metric_bool(S(v)->e_on) ? 4 : 0;
  return 1;
}

static int e_208(struct vehicle *v, struct sim_frame *f, const void *arg)
{
  (void)arg;
  put16(f->data + 2, clampl(metric_float(S(v)->e_footbrake) * 6.4 + 24576, 0, 65535));
  return 1;
}

static int e_210(struct vehicle *v, struct sim_frame *f, const void *arg)
{
  (void)arg;
  f->data[2] = (uint8_t)clampl(metric_float(S(v)->e_throttle) * 2.55, 0, 255);
  return 1;
}

static int e_215(struct vehicle *v, struct sim_frame *f, const void *arg)
{
  (void)arg;
  put16(f->data, clampl(metric_float(S(v)->p_speed) * 128, 0, 65535));
  return 1;
}

static int e_286(struct vehicle *v, struct sim_frame *f, const void *arg)
{
  struct mi *s = S(v);
  (void)arg;
  f->data[3] = (uint8_t)clampl(metric_float(s->c_temp) + 40, 0, 255);
  bool ac = metric_bool(s->c_charging) && strcmp(metric_string(s->c_type), "Quickcharge") != 0;
  f->data[1] = ac ? 0x74 : 0x00;
  return 1;
}

static int e_298(struct vehicle *v, struct sim_frame *f, const void *arg)
{
  struct mi *s = S(v);
  (void)arg;
  f->data[3] = (uint8_t)clampl(metric_float(s->m_temp) + 40, 0, 255);
  put16(f->data + 6, clampl(metric_int(s->m_rpm) + 10000.0, 0, 65535));
  return 1;
}

static int e_29a(struct vehicle *v, struct sim_frame *f, const void *arg)
{
  struct mi *s = S(v);
  int chunk = (int)(intptr_t)arg;
  const char *vin = metric_string(s->vin);
  if (strlen(vin) < 17)
    return 0;
  f->data[0] = (uint8_t)chunk;
  memcpy(f->data + 1, vin + 7 * chunk, chunk == 2 ? 3 : 7);
  return 1;
}

static int e_346(struct vehicle *v, struct sim_frame *f, const void *arg)
{
  struct mi *s = S(v);
  (void)arg;
  f->data[4] = metric_bool(s->e_handbrake) ? 0x20 : 0;
  f->data[7] = (uint8_t)clampl(metric_float(s->b_range_est), 0, 254);
  return 1;
}

static int e_373(struct vehicle *v, struct sim_frame *f, const void *arg)
{
  struct mi *s = S(v);
  (void)arg;
  if (!metric_is_defined(s->b_voltage))
    return 0;
  put16(f->data + 2, clampl(metric_float(s->b_current) * 100 + 32768, 0, 65535));
  put16(f->data + 4, clampl(metric_float(s->b_voltage) * 10, 0, 65535));
  return 1;
}

static int e_374(struct vehicle *v, struct sim_frame *f, const void *arg)
{
  struct mi *s = S(v);
  (void)arg;
  if (!metric_is_defined(s->b_soc))
    return 0;
  f->data[1] = (uint8_t)clampl(metric_float(s->b_soc) * 2 + 10, 11, 255);
  f->data[0] = f->data[1];
  return 1;
}

/* 0x377: 12 V current, 0.1 A per bit in d2-d3 (d_377); 0xFFFF = not available */
static int e_377(struct vehicle *v, struct sim_frame *f, const void *arg)
{
  struct mi *s = S(v);
  (void)arg;
  long raw = metric_is_defined(s->b_12v_current)
                 ? clampl(metric_float(s->b_12v_current) * 10, 0, 0xFFFE)
                 : 0xFFFF;
  f->data[2] = (uint8_t)(raw >> 8);
  f->data[3] = (uint8_t)(raw & 0xFF);
  return 1;
}

/* 0x384: A/C current d0:d1 in mA, heater current d4 in 0.1 A (d_384, which also sets
 * v.e.heating from the heater power); sent once either current is known */
static int e_384(struct vehicle *v, struct sim_frame *f, const void *arg)
{
  struct mi *s = S(v);
  (void)arg;
  if (!metric_is_defined(s->x_heat_amp) && !metric_is_defined(s->x_ac_amp))
    return 0;
  put16(f->data, clampl(metric_float(s->x_ac_amp) * 1000, 0, 65535));
  f->data[4] = (uint8_t)clampl(metric_float(s->x_heat_amp) * 10, 0, 255);
  return 1;
}

static int e_389(struct vehicle *v, struct sim_frame *f, const void *arg)
{
  struct mi *s = S(v);
  (void)arg;
  if (!strcmp(metric_string(s->c_type), "Quickcharge"))
    return 1; /* the AC charger is idle while quick charging */
  f->data[1] = (uint8_t)clampl(metric_float(s->c_voltage), 0, 255);
  f->data[6] = (uint8_t)clampl(metric_float(s->c_current) * 10, 0, 255);
  return 1;
}

static int e_3a4(struct vehicle *v, struct sim_frame *f, const void *arg)
{
  struct mi *s = S(v);
  (void)arg;
  static const struct { const char *n; int c; } vents[] = {
      {"Face", 1}, {"Legs + Face", 3}, {"Legs", 5}, {"Legs + Windshield", 7}, {"Windshield", 9}};
  int fan = metric_int(s->e_cabinfan);
  int vent = 0;
  for (size_t i = 0; i < ARRAY_SIZE(vents); i++)
    if (!strcmp(metric_string(s->e_cabinvent), vents[i].n))
      vent = vents[i].c;
  f->data[0] = (uint8_t)(0x07 | (metric_bool(s->e_hvac) ? 0x80 : 0) |
                         (!strcmp(metric_string(s->e_cabinintake), "Recirculation") ? 0x40 : 0) |
                         (fan >= 110 ? 0x20 : 0));
  f->data[1] = (uint8_t)((vent << 4) | (fan >= 110 ? 0 : clampl((fan - 0.5) / 12.5, 0, 15)));
  return 1;
}

static int e_412(struct vehicle *v, struct sim_frame *f, const void *arg)
{
  struct mi *s = S(v);
  (void)arg;
  if (!metric_is_defined(s->p_odometer))
    return 0;
  long odo = clampl(metric_float(s->p_odometer), 0, 0xFFFFFF);
  f->data[0] = metric_bool(s->e_on) ? 0xFE : 0x40;
  f->data[1] = (uint8_t)clampl(metric_float(s->p_speed), 0, 255);
  f->data[2] = (uint8_t)(odo >> 16);
  f->data[3] = (uint8_t)(odo >> 8);
  f->data[4] = (uint8_t)odo;
  return 1;
}

static int e_418(struct vehicle *v, struct sim_frame *f, const void *arg)
{
  (void)arg;
  static const uint8_t codes[] = {'R', 'P', 'N', 'D', 0x83, 0x32}; /* -2 .. 3 */
  int g = metric_int(S(v)->e_gear);
  f->data[0] = codes[g < -2 ? 0 : g > 3 ? 5 : g + 2];
  return 1;
}

static int e_424(struct vehicle *v, struct sim_frame *f, const void *arg)
{
  struct mi *s = S(v);
  (void)arg;
  bool other = metric_bool(s->d_fr) || metric_bool(s->d_rl) || metric_bool(s->d_rr) ||
               metric_bool(s->d_trunk);
  f->data[1] = metric_bool(s->e_headlights) ? 0x20 : 0;
  f->data[2] = (uint8_t)((other ? 1 : 0) | (metric_bool(s->d_fl) ? 2 : 0) |
                         (metric_bool(s->e_locked) ? 64 : 0));
  return 1;
}

static int e_697(struct vehicle *v, struct sim_frame *f, const void *arg)
{
  struct mi *s = S(v);
  (void)arg;
  if (strcmp(metric_string(s->c_type), "Quickcharge") != 0 || !metric_bool(s->c_charging))
    return 0;
  f->data[0] = 1;
  f->data[2] = (uint8_t)clampl(metric_float(s->c_climit), 0, 255);
  return 1;
}

/* One CMU per call, cycling through the CMUs that send this frame. */
static int e_6e(struct vehicle *v, struct sim_frame *f, const void *arg)
{
  struct mi *s = S(v);
  int pid = (int)(intptr_t)arg;
  if (!metric_is_defined(s->c_cell_v))
    return 0;
  /* CMUs 6 and 12 carry 4 cells: they send 0x6E1 and 0x6E2 only */
  static const uint8_t all[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  static const uint8_t full[10] = {1, 2, 3, 4, 5, 7, 8, 9, 10, 11};
  int cmu = pid < 2 ? all[s->cmu_next[pid] % 12] : full[s->cmu_next[pid] % 10];
  s->cmu_next[pid]++;
  int vi = (cmu - 1) * 8 + 2 * pid, ti = (cmu - 1) * 6 + 2 * pid;
  if (cmu >= 7) {
    vi -= 4;
    ti -= 3;
  }
  const float *cv = s->c_cell_v->data, *ct = s->c_cell_t->data;
  uint32_t nv = s->c_cell_v->n, nt = metric_is_defined(s->c_cell_t) ? s->c_cell_t->n : 0;
  f->data[0] = (uint8_t)cmu;
  for (int k = 0; k < 2; k++) {
    double volt = (uint32_t)(vi + k) < nv ? cv[vi + k] : 2.1;
    put16(f->data + 4 + 2 * k, clampl((volt - 2.1) * 200, 0, 65535));
  }
  for (int k = 0; k < 3; k++) {
    /* pid 0 carries sensors ti, ti+1 in d2, d3; the others ti, ti+1 in d1, d2 */
    int sensor = pid == 0 ? ti + k - 1 : ti + k;
    double t = (sensor >= 0 && (uint32_t)sensor < nt) ? ct[sensor] : 0;
    f->data[1 + k] = (uint8_t)clampl(t + 50, 0, 255);
  }
  return 1;
}

static const struct vehicle_encoder mi_encoders[] = {
    {1, 0x101, 100, 8, e_101, NULL, "0x101 key"},
    {1, 0x208, 20, 8, e_208, NULL, "0x208 brake pedal"},
    {1, 0x210, 20, 8, e_210, NULL, "0x210 accelerator"},
    {1, 0x215, 20, 8, e_215, NULL, "0x215 speed"},
    {1, 0x286, 100, 8, e_286, NULL, "0x286 charger temperature / AC charger"},
    {1, 0x298, 100, 8, e_298, NULL, "0x298 motor temperature / rpm"},
    {1, 0x29A, 100, 8, e_29a, PID(0), "0x29A VIN 1-7"},
    {1, 0x29A, 100, 8, e_29a, PID(1), "0x29A VIN 8-14"},
    {1, 0x29A, 100, 8, e_29a, PID(2), "0x29A VIN 15-17"},
    {1, 0x346, 20, 8, e_346, NULL, "0x346 range / handbrake"},
    {1, 0x373, 10, 8, e_373, NULL, "0x373 pack current / voltage"},
    {1, 0x374, 100, 8, e_374, NULL, "0x374 SOC"},
    {1, 0x377, 100, 8, e_377, NULL, "0x377 12 V current"},
    {1, 0x384, 100, 8, e_384, NULL, "0x384 heater / A/C current"},
    {1, 0x389, 100, 8, e_389, NULL, "0x389 AC charger"},
    {1, 0x3A4, 100, 8, e_3a4, NULL, "0x3A4 climate"},
    {1, 0x412, 100, 8, e_412, NULL, "0x412 odometer"},
    {1, 0x418, 20, 8, e_418, NULL, "0x418 gear"},
    {1, 0x424, 40, 8, e_424, NULL, "0x424 lights / doors"},
    {1, 0x697, 100, 8, e_697, NULL, "0x697 CHAdeMO"},
    {1, 0x6E1, 40, 8, e_6e, PID(0), "0x6E1 cells"},
    {1, 0x6E2, 40, 8, e_6e, PID(1), "0x6E2 cells"},
    {1, 0x6E3, 40, 8, e_6e, PID(2), "0x6E3 cells"},
    {1, 0x6E4, 40, 8, e_6e, PID(3), "0x6E4 cells"},
};

/* ---- set-up --------------------------------------------------------------------------- */

#define MS(m, n) VM_STD(struct mi, m, n)
#define MX(m, n, t, u) VM_NEW(struct mi, m, n, t, u, SM_STALE_MIN)

static const struct vehicle_metric_bind mi_binds[] = {
    MS(e_on, "v.e.on"), MS(e_awake, "v.e.awake"), MS(e_footbrake, "v.e.footbrake"),
    MS(e_throttle, "v.e.throttle"), MS(p_speed, "v.p.speed"), MS(c_temp, "v.c.temp"),
    MS(i_temp, "v.i.temp"), MS(m_temp, "v.m.temp"), MS(m_rpm, "v.m.rpm"), MS(vin, "v.vin"),
    MS(b_range_est, "v.b.range.est"), MS(e_handbrake, "v.e.handbrake"),
    MS(b_current, "v.b.current"), MS(b_voltage, "v.b.voltage"), MS(b_power, "v.b.power"),
    MS(b_energy_used, "v.b.energy.used"), MS(b_energy_recd, "v.b.energy.recd"),
    MS(b_soc, "v.b.soc"), MS(b_12v_current, "v.b.12v.current"), MS(e_heating, "v.e.heating"),
    MS(c_voltage, "v.c.voltage"), MS(c_current, "v.c.current"), MS(c_power, "v.c.power"),
    MS(c_charging, "v.c.charging"), MS(c_kwh, "v.c.kwh"), MS(e_hvac, "v.e.hvac"),
    MS(e_cabinfan, "v.e.cabinfan"), MS(e_cabinintake, "v.e.cabinintake"),
    MS(e_cabinvent, "v.e.cabinvent"), MS(p_odometer, "v.p.odometer"), MS(e_gear, "v.e.gear"),
    MS(e_headlights, "v.e.headlights"), MS(d_fl, "v.d.fl"), MS(d_fr, "v.d.fr"),
    MS(d_rl, "v.d.rl"), MS(d_rr, "v.d.rr"), MS(d_trunk, "v.d.trunk"), MS(e_locked, "v.e.locked"),
    MS(c_type, "v.c.type"), MS(c_mode, "v.c.mode"), MS(c_climit, "v.c.climit"),
    MS(c_state, "v.c.state"), MS(c_substate, "v.c.substate"), MS(c_pilot, "v.c.pilot"),
    MS(d_cp, "v.d.cp"), MS(e_charging12v, "v.e.charging12v"), MS(b_temp, "v.b.temp"),
    MS(b_cac, "v.b.cac"), MS(b_soh, "v.b.soh"), MS(b_range_ideal, "v.b.range.ideal"),
    MS(c_cell_v, "v.b.c.voltage"), MS(c_cell_t, "v.b.c.temp"), MS(p_temp_avg, "v.b.p.temp.avg"),
    MS(p_volt_min, "v.b.p.voltage.min"), MS(p_volt_max, "v.b.p.voltage.max"),
    MS(p_volt_avg, "v.b.p.voltage.avg"),
    MX(x_heat_amp, "xmi.e.heating.amp", METRIC_FLOAT, SIM_UNIT_AMPS),
    MX(x_ac_amp, "xmi.e.ac.amp", METRIC_FLOAT, SIM_UNIT_AMPS),
    MX(x_frontfog, "xmi.e.frontfog", METRIC_BOOL, SIM_UNIT_NATIVE),
    MX(x_rearfog, "xmi.e.rearfog", METRIC_BOOL, SIM_UNIT_NATIVE),
    MX(x_blink_l, "xmi.e.blinker.left", METRIC_BOOL, SIM_UNIT_NATIVE),
    MX(x_blink_r, "xmi.e.blinker.right", METRIC_BOOL, SIM_UNIT_NATIVE),
    MX(x_highbeam, "xmi.e.highbeam", METRIC_BOOL, SIM_UNIT_NATIVE),
    MX(x_lowbeam, "xmi.e.lowbeam", METRIC_BOOL, SIM_UNIT_NATIVE),
};

static const struct sim_config_decl mi_config[] = {
    {"xmi", "newcell", CFG_BOOL, "no", 0, 0, 0, 0, "80-cell pack (else 88 cells)"},
    {"xmi", "oldheater", CFG_BOOL, "no", 0, 0, 0, 0, "old heater temperature encoding"},
};

static void mi_config_changed(struct vehicle *v)
{
  S(v)->newcell = vehicle_cfg_bool(v, "newcell", false);
}

static int mi_init(struct vehicle *v, const char *arg, struct sim_diag *d)
{
  struct mi *s = S(v);
  (void)arg;
  int rc = vehicle_bind_metrics(v, mi_binds, ARRAY_SIZE(mi_binds), d);
  if (rc == 0)
    rc = mi_poll_init(v, d);
  if (rc < 0)
    return rc;
  /* the constructor: charge type "None", v.c.charging goes stale after 30 s */
  metric_set_string(s->c_type, "None");
  s->c_charging->autostale = 30;
  return 0;
}

const struct vehicle_type vehicle_type_mitsubishi = {
    .name = "mitsubishi",
    .code = "MI",
    .title = "Mitsubishi i-MiEV / Citroen C-Zero / Peugeot iOn",
    .state_size = sizeof(struct mi),
    .init = mi_init,
    .config_changed = mi_config_changed,
    .ticker1 = mi_ticker1,
    .poll_state = mi_poll_state,
    .decoders = mi_decoders,
    .n_decoders = ARRAY_SIZE(mi_decoders),
    .encoders = mi_encoders,
    .n_encoders = ARRAY_SIZE(mi_encoders),
    .cfg_param = "xmi",
    .config = mi_config,
    .n_config = ARRAY_SIZE(mi_config),
};
