/*
 * nissanleaf.c - the Nissan Leaf / e-NV200 decoder ("nissanleaf", firmware type NL).
 *
 * Decodes EV-CAN (bus 1) and CAR-CAN (bus 2) broadcast frames into the standard metrics and
 * the xnl.* metrics, and runs the firmware's Ticker1/Ticker10 logic (energy, range, charge
 * substate, awake staleness, charge port).  Facts from
 * openvehicles/Open-Vehicle-Monitoring-System-3 vehicle/OVMS.V3/components/vehicle_nissanleaf/
 * src/vehicle_nissanleaf.cpp at 1aa1daff19c5ad8532ba9fc887187c7f301539ac (IncomingFrameCan1,
 * IncomingFrameCan2, vehicle_nissanleaf_car_on, vehicle_nissanleaf_charger_status, Ticker1,
 * Ticker10, HandleEnergy, HandleRange, HandleCharging).  The diagnostic polls (BMS, VCM) are in
 * nl_poll.c; remote commands are not simulated.
 */
#include "nissanleaf.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "core/array.h"
#include "core/error.h"

#define S(v) ((struct nl *)(v)->state)

/* ---- helpers -------------------------------------------------------------------------- */

static int32_t int_or(const struct metric *m, int32_t def)
{
  return metric_is_defined(m) ? metric_int(m) : def;
}

static double float_or(const struct metric *m, double def)
{
  return metric_is_defined(m) ? metric_float(m) : def;
}

static bool str_is(const struct metric *m, const char *s)
{
  return strcmp(metric_string(m), s) == 0;
}

uint8_t nl_crc8(const uint8_t *b, int n)
{
  uint8_t crc = 0;
  for (int i = 0; i < n; i++) {
    crc ^= b[i];
    for (int k = 0; k < 8; k++)
      crc = (crc & 0x80) ? (uint8_t)((crc << 1) ^ 0x85) : (uint8_t)(crc << 1);
  }
  return crc;
}

/* vehicle_nissanleaf_car_on(): trip and energy counters reset when the car turns on. */
static void car_on(struct nl *s, bool on)
{
  if (on && !metric_bool(s->e_on)) {
    metric_set_bool(s->d_cp, false);
    metric_set_float(s->p_trip, 0);
    s->trip_km = 0;
    s->trip_last_ts = 0;
    metric_set_float(s->b_energy_recd, 0);
    metric_set_float(s->b_energy_used, 0);
    metric_set_float(s->x_odo_start, metric_float(s->p_odometer));
    s->cum_used_wh = s->cum_recd_wh = 0;
  }
  metric_set_bool(s->e_on, on);
}

/* vehicle_nissanleaf_charger_status() */
static void charger_status(struct nl *s, enum nl_charger_status st)
{
  bool fast = false;
  switch (st) {
  case NL_CHARGER_IDLE:
    metric_set_bool(s->c_charging, false);
    metric_set_bool(s->g_generating, false);
    metric_set_string(s->c_substate, "stopped");
    metric_set_string(s->c_state, "stopped");
    metric_set_string(s->g_substate, "stopped");
    metric_set_string(s->g_state, "stopped");
    break;
  case NL_CHARGER_PLUGGED_IN_TIMER_WAIT:
    metric_set_bool(s->d_cp, true);
    metric_set_bool(s->c_charging, false);
    if (metric_bool(s->c_pilot)) {
      metric_set_string(s->c_state, "timerwait");
    } else {
      metric_set_string(s->c_substate, "powerwait");
      metric_set_string(s->c_state, "stopped");
    }
    break;
  case NL_CHARGER_QUICK_CHARGING:
    fast = true;
    /* fall through */
  case NL_CHARGER_CHARGING:
    if (!metric_bool(s->c_charging)) {
      metric_set_float(s->c_kwh, 0);
      s->cum_charge_wh = 0;
    }
    metric_set_bool(s->d_cp, true);
    metric_set_bool(s->c_charging, true);
    metric_set_string(s->c_type, fast ? "chademo" : "type1");
    metric_set_string(s->c_mode, fast ? "performance" : "standard");
    metric_set_string(s->c_state, "charging");
    if (s->ze0_charger) {
      metric_set_float(s->c_voltage, metric_float(s->b_voltage));
      metric_set_float(s->c_current, metric_float(s->b_current));
    }
    break;
  case NL_CHARGER_V2X:
    if (!metric_bool(s->g_generating)) {
      metric_set_float(s->g_kwh, 0);
      s->cum_gen_wh = 0;
    }
    metric_set_bool(s->d_cp, true);
    metric_set_bool(s->g_generating, true);
    metric_set_string(s->g_type, "chademo");
    metric_set_string(s->g_mode, "standard");
    metric_set_string(s->g_substate, "onrequest");
    metric_set_string(s->g_state, "exporting");
    break;
  case NL_CHARGER_INTERRUPTED:
  case NL_CHARGER_FINISHED:
    metric_set_float(s->c_current, 0);
    if (s->ze0_charger || s->aze0_charger)
      metric_set_float(s->c_voltage, 0);
    metric_set_bool(s->c_charging, false);
    metric_set_string(s->c_state, st == NL_CHARGER_FINISHED ? "done" : "stopped");
    break;
  }
  if (st != NL_CHARGER_CHARGING && st != NL_CHARGER_QUICK_CHARGING) {
    metric_set_float(s->c_current, 0);
    if (s->ze0_charger || s->aze0_charger)
      metric_set_float(s->c_voltage, 0);
    metric_set_string(s->c_mode, "");
  }
}

/* ---- EV-CAN (bus 1) ------------------------------------------------------------------- */

static void d_1d4(struct vehicle *v, const struct sim_frame *f, const void *arg)
{
  struct nl *s = S(v);
  (void)arg;
  if ((f->data[6] >> 7) == 0 && metric_bool(s->c_charging))
    charger_status(s, NL_CHARGER_INTERRUPTED);
}

static void d_1da(struct vehicle *v, const struct sim_frame *f, const void *arg)
{
  struct nl *s = S(v);
  const uint8_t *d = f->data;
  (void)arg;
  int16_t torq = (int16_t)(((d[2] & 0x07) << 8) | d[3]);
  int16_t rpm = (int16_t)((d[4] << 8) | d[5]);
  if (d[2] & 0x04)
    torq = (int16_t)(torq | (int16_t)0xF800);
  if (d[4] & 0x40)
    rpm = (int16_t)(rpm | (int16_t)0x8000);
  rpm = (int16_t)(rpm / 2);
  torq = (int16_t)(torq / 2); /* "guess based on rpm" per the source comment */
  metric_set_int(s->m_rpm, rpm);
  metric_set_float(s->i_power, rpm * torq * 0.10472 / 1000.0);
}

static void d_1db(struct vehicle *v, const struct sim_frame *f, const void *arg)
{
  struct nl *s = S(v);
  const uint8_t *d = f->data;
  (void)arg;
  int16_t raw_i = (int16_t)((d[0] << 3) | ((d[1] & 0xE0) >> 5));
  if (raw_i & 0x0400)
    raw_i = (int16_t)(raw_i | (int16_t)0xF800);
  float current = -raw_i / 2.0f;
  uint16_t raw_v = (uint16_t)((d[2] << 2) | ((d[3] & 0xC0) >> 6));
  float voltage = raw_v / 2.0f;
  float power = voltage * current / 1000.0f;
  metric_set_float(s->b_current, current);
  metric_set_float(s->b_voltage, voltage);
  metric_set_float(s->b_power, power);

  /* energy of one 10 ms period, as the firmware assumes */
  float wh = power * 10 / 3600;
  if (wh < 0) {
    s->cum_recd_wh -= wh;
    s->cum_charge_wh -= wh;
  } else {
    s->cum_used_wh += wh;
    s->cum_gen_wh += wh;
  }

  if (!s->ze1) {
    uint8_t soc = d[4] & 0x7F;
    if (soc != 0x7F) {
      metric_set_float(s->x_soc_instrument, soc);
      if (!s->soc_newcar)
        metric_set_float(s->b_soc, soc);
    }
  } else {
    bool on = metric_bool(s->e_on);
    if (!on && voltage > 200.0f && current < -25.0f) {
      if (!str_is(s->c_state, "charging") || !str_is(s->c_type, "chademo"))
        charger_status(s, NL_CHARGER_QUICK_CHARGING);
      metric_set_bool(s->c_pilot, true);
      metric_set_float(s->c_voltage, voltage);
      metric_set_float(s->c_current, -current);
      metric_set_float(s->c_power, -power);
      if (voltage > 0)
        metric_set_float(s->c_climit, metric_float(s->x_charge_limit) * 1000.0f / voltage);
    } else if (!on && metric_bool(s->c_charging) && str_is(s->c_type, "chademo") &&
               current > -5.0f) {
      metric_set_bool(s->c_pilot, false);
      charger_status(s, NL_CHARGER_FINISHED);
    }
  }
}

static void d_1dc(struct vehicle *v, const struct sim_frame *f, const void *arg)
{
  struct nl *s = S(v);
  const uint8_t *d = f->data;
  (void)arg;
  metric_set_float(s->x_out_limit, ((d[0] << 2) | (d[1] >> 6)) / 4.0);
  metric_set_float(s->x_regen_limit, (((d[1] & 0x3F) << 2) | (d[2] >> 4)) / 4.0);
  /* no -10 kW offset here, unlike LB_MAX_POWER_FOR_CHARGER in the Dala DBC
   * (dalathegreat/leaf_can_bus_messages EV-can_AZE0.dbc); the firmware applies none */
  metric_set_float(s->x_charge_limit, (((d[2] & 0x0F) << 6) | (d[3] >> 2)) / 10.0);
}

static void d_284(struct vehicle *v, const struct sim_frame *f, const void *arg)
{
  struct nl *s = S(v);
  (void)arg;
  uint16_t raw = (uint16_t)((f->data[4] << 8) | f->data[5]);
  float speed = (float)(raw / s->speeddivisor);
  metric_set_float(s->p_speed, speed);
  /* UpdateTripCounters(): integrate the mean speed since the last frame (frame time) */
  if (s->trip_last_ts && f->ts > s->trip_last_ts) {
    double ms = (double)(f->ts - s->trip_last_ts) / 1e6;
    double avg = fabs(speed + s->trip_last_speed) / 2;
    s->trip_km += avg / 3.6 * ms / 1000 / 1000;
    metric_set_float(s->p_trip, trunc(s->trip_km * 1000) / 1000);
  }
  s->trip_last_ts = f->ts;
  s->trip_last_speed = speed;
}

static void d_380(struct vehicle *v, const struct sim_frame *f, const void *arg)
{
  struct nl *s = S(v);
  const uint8_t *d = f->data;
  (void)arg;
  s->ze0_charger = true;
  bool ac = (d[4] & 0x40) != 0, qc = (d[4] & 0x20) != 0;
  metric_set_float(s->x_relay_qc, d[4] & 0x20);
  metric_set_float(s->x_relay_ac, d[4] & 0x40);
  if (ac || qc)
    metric_set_bool(s->c_pilot, true);
  else
    metric_set_float(s->c_voltage, 0);
  float pmax = (float)((((d[2] & 0x01) << 8) | d[3]) * 100);
  float vac = (float)(((((d[5] & 0x07) << 8) | (d[6] & 0xFC)) >> 2) * 2);
  if (ac)
    metric_set_float(s->c_voltage, vac);
  else if (qc)
    metric_set_float(s->c_voltage, metric_float(s->b_voltage));
  if (metric_float(s->c_voltage) > 0 && !ac)
    metric_set_float(s->c_climit, pmax / metric_float(s->c_voltage));
  else if (!qc)
    metric_set_float(s->c_power, 0);
}

static void d_390(struct vehicle *v, const struct sim_frame *f, const void *arg)
{
  struct nl *s = S(v);
  const uint8_t *d = f->data;
  (void)arg;
  s->aze0_charger = true;
  float p = (float)((((d[0] & 0x01) << 8) | d[1]) * 100);
  float pmax = (float)((((d[5] & 0x01) << 8) | d[6]) * 100);
  bool ac = (d[3] & 0x20) == 0x20, qc = (d[4] & 0x40) == 0x40, vg = (d[0] >> 4) == 0x09;
  metric_set_float(s->x_relay_ac, d[3] & 0x20);
  metric_set_float(s->x_relay_qc, d[4] & 0x40);
  if ((qc || ac) && !vg) {
    metric_set_bool(s->c_pilot, true);
  } else {
    metric_set_bool(s->c_pilot, false);
    metric_set_float(s->c_voltage, 0);
  }
  if (vg) {
    metric_set_bool(s->g_pilot, true);
    metric_set_float(s->g_voltage, metric_float(s->b_voltage));
  } else {
    metric_set_bool(s->g_pilot, false);
    metric_set_float(s->g_voltage, 0);
  }
  if (qc && !vg)
    metric_set_float(s->c_voltage, metric_float(s->b_voltage));
  if (ac)
    metric_set_float(s->c_voltage, ((d[3] >> 3) & 0x03) * 110);
  double cv = metric_float(s->c_voltage), gv = metric_float(s->g_voltage);
  if (cv > 0 && !vg) {
    metric_set_float(s->c_current, p / cv);
    metric_set_float(s->c_climit, pmax / cv);
    metric_set_float(s->c_power, p / 1000.0);
  } else if (gv > 0 && vg) {
    metric_set_float(s->g_current, metric_float(s->b_current));
    metric_set_float(s->g_climit, pmax / gv);
    metric_set_float(s->g_power, gv * metric_float(s->g_current) / 1000.0);
  } else {
    metric_set_float(s->c_current, 0);
    metric_set_float(s->c_climit, 0);
    metric_set_float(s->c_power, 0);
    metric_set_float(s->g_current, 0);
    metric_set_float(s->g_climit, 0);
    metric_set_float(s->g_power, 0);
  }
  switch ((d[5] >> 1) & 0x3F) {
  case 0x01:
    if (qc && !vg)
      charger_status(s, NL_CHARGER_QUICK_CHARGING);
    else if (qc && vg)
      charger_status(s, NL_CHARGER_V2X);
    else
      charger_status(s, NL_CHARGER_IDLE);
    break;
  case 0x02:
    charger_status(s, NL_CHARGER_FINISHED);
    break;
  case 0x04:
    charger_status(s, metric_float(s->c_voltage) > 0 ? NL_CHARGER_CHARGING
                                                     : NL_CHARGER_INTERRUPTED);
    break;
  case 0x08:
  case 0x09:
    charger_status(s, NL_CHARGER_IDLE);
    break;
  case 0x0C:
    charger_status(s, NL_CHARGER_PLUGGED_IN_TIMER_WAIT);
    break;
  default:
    break;
  }
}

static void d_50a(struct vehicle *v, const struct sim_frame *f, const void *arg)
{
  struct nl *s = S(v);
  (void)arg;
  if (s->modelyear >= 2013)
    metric_set_bool(s->x_heatergranted, (f->data[6] & 0x20) != 0);
}

static void d_54a(struct vehicle *v, const struct sim_frame *f, const void *arg)
{
  struct nl *s = S(v);
  (void)arg;
  if (metric_bool(s->e_heating) || metric_bool(s->e_cooling))
    metric_set_float(s->e_cabinsetpoint, f->data[4] / 2); /* integer division, as the firmware */
}

static const char *vent_name(uint8_t x)
{
  switch (x) {
  case 0x80: return "off";
  case 0x88: return "face";
  case 0x90: return "face|feet";
  case 0x98: return "feet";
  case 0xA0: return "windscreen|feet";
  case 0xA8: return "windscreen";
  default: return "";
  }
}

static const char *intake_name(uint8_t x)
{
  switch (x) {
  case 0x09: return "recirc";
  case 0x12: return "fresh";
  case 0x92: return "defrost";
  default: return "";
  }
}

static void d_54b(struct vehicle *v, const struct sim_frame *f, const void *arg)
{
  struct nl *s = S(v);
  const uint8_t *d = f->data;
  (void)arg;
  int fan = (d[4] & 0x38) >> 3;
  metric_set_int(s->e_cabinfan, (int32_t)(fan / 7.0 * 100));
  metric_set_int(s->x_fanlimit, 7);
  metric_set_string(s->e_cabinvent, vent_name(d[2]));
  metric_set_string(s->e_cabinintake, intake_name(d[3]));
  bool hvac;
  if (s->modelyear < 2013) {
    hvac = d[1] == 0x0A || d[1] == 0x48 || d[1] == 0x4B || d[1] == 0x71 || d[1] == 0x76 ||
           d[1] == 0x78 || metric_int(s->e_cabinfan) != 0;
    metric_set_bool(s->e_cooling, (d[1] & 0x10) != 0);
    metric_set_bool(s->e_heating, (d[1] & 0x02) != 0);
    metric_set_bool(s->x_remoteheat, d[1] == 0x4B);
    metric_set_bool(s->x_remotecool, d[1] == 0x71);
  } else if (s->modelyear < 2016) {
    bool cooling = d[1] == 0x78 || d[1] == 0x79 || d[1] == 0x76;
    bool heating = (d[1] & 0x01) != 0;
    bool climate_on = d[0] == 0x10;
    metric_set_bool(s->e_heating, heating);
    metric_set_bool(s->e_cooling, cooling);
    metric_set_bool(s->x_remoteheat, d[1] == 0x4B);
    metric_set_bool(s->x_remotecool, d[1] == 0x71);
    hvac = climate_on && metric_int(s->e_cabinfan) != 0 && !s->climate_really_off;
  } else {
    bool cooling = (d[1] & 0x30) != 0;
    bool heating = (d[1] & 0x01) != 0;
    bool on = metric_bool(s->e_on);
    metric_set_bool(s->e_heating, heating);
    metric_set_bool(s->e_cooling, cooling);
    metric_set_bool(s->x_remoteheat, !on && heating);
    metric_set_bool(s->x_remotecool, !on && cooling);
    metric_set_bool(s->x_hvac_auto, (d[1] & 0x02) != 0);
    hvac = d[1] != 0x08 && d[1] != 0x04;
    if (!hvac)
      metric_set_int(s->e_cabinfan, 0);
  }
  if (hvac)
    metric_set_bool(s->x_rqinprogress, false);
  metric_set_bool(s->e_hvac, hvac);
  metric_set_bool(s->x_fan_only, (d[1] == 0x48 || d[1] == 0x46) && fan != 0);
}

static void d_54c(struct vehicle *v, const struct sim_frame *f, const void *arg)
{
  struct nl *s = S(v);
  (void)arg;
  s->climate_really_off = f->data[5] == 0x00 || f->data[5] == 0xF8;
  if (f->data[6] != 0xFF)
    metric_set_float(s->e_temp, f->data[6] / 2.0 - 40);
}

static void d_54f(struct vehicle *v, const struct sim_frame *f, const void *arg)
{
  struct nl *s = S(v);
  uint8_t x = f->data[0];
  (void)arg;
  if (s->ze1) {
    if (x != 0x50 && x != 20) {
      float c = x / 2.0f - 40.0f;
      if (c > -30.0f && c < 60.0f)
        metric_set_float(s->e_cabintemp, c);
    }
  } else if (x != 20) {
    metric_set_float(s->e_cabintemp, 5.0 / 9.0 * (x - 32) + s->cabintempoffset);
  }
}

static void d_55a(struct vehicle *v, const struct sim_frame *f, const void *arg)
{
  struct nl *s = S(v);
  (void)arg;
  metric_set_float(s->m_temp, 5.0 / 9.0 * (f->data[1] - 32));
  metric_set_float(s->i_temp, 5.0 / 9.0 * (f->data[2] - 32));
}

static void d_55b(struct vehicle *v, const struct sim_frame *f, const void *arg)
{
  struct nl *s = S(v);
  (void)arg;
  uint16_t soc = (uint16_t)((f->data[0] << 2) | (f->data[1] >> 6));
  if (soc != 0x3FF)
    metric_set_float(s->x_soc_nominal, soc / 10.0);
}

static void d_59e(struct vehicle *v, const struct sim_frame *f, const void *arg)
{
  struct nl *s = S(v);
  const uint8_t *d = f->data;
  (void)arg;
  if (s->ze1) {
    float soc = d[7] / 2.0f;
    if (soc > 0.0f && soc <= 100.0f) {
      metric_set_float(s->x_soc_instrument, soc);
      if (!s->soc_newcar)
        metric_set_float(s->b_soc, soc);
    }
  }
  switch (int_or(s->x_b_type, NL_BATTERY_TYPE_2_24KWH)) {
  case NL_BATTERY_TYPE_1_24KWH:
  case NL_BATTERY_TYPE_2_24KWH: {
    uint16_t cap_gid = (uint16_t)((d[2] << 4) | (d[3] >> 4));
    metric_set_float_unit(s->x_e_capacity, cap_gid * NL_WH_PER_GID, SIM_UNIT_WATTHOURS);
    s->kwh_capacity_read = true;
    break;
  }
  default:
    break;
  }
}

static void d_5bc(struct vehicle *v, const struct sim_frame *f, const void *arg)
{
  struct nl *s = S(v);
  const uint8_t *d = f->data;
  (void)arg;
  static const char *const reasons[] = {"normal", "capacity drop", "malfunction", "high temp",
                                        "low temp"};
  if ((d[5] >> 5) < 5)
    metric_set_string(s->x_limit_reason, reasons[d[5] >> 5]);
  if (!s->ze1 && int_or(s->x_b_type, 0) == NL_BATTERY_TYPE_1_24KWH) {
    uint8_t soh = (uint8_t)((d[4] >> 1) & 0xF7);
    metric_set_float(s->x_soh_instrument, soh);
    if (!s->soh_newcar)
      metric_set_float(s->b_soh, soh);
  }
  uint16_t gids = (uint16_t)((d[0] << 2) | ((d[1] & 0xC0) >> 6));
  int mx_gids = (d[5] & 0x10) >> 4;
  int type = -1;
  if (gids != 1023) {
    if ((d[4] & 0x01) == 0) {
      if (int_or(s->x_b_type, 0) == NL_BATTERY_TYPE_1_24KWH)
        metric_set_int(s->x_chargebars, d[2] & 0x0F);
    } else {
      metric_set_int(s->x_capacitybars, d[2] & 0x0F);
      type = NL_BATTERY_TYPE_1_24KWH;
    }
    if (mx_gids == 0) {
      metric_set_int(s->x_gids, gids);
      metric_set_float_unit(s->x_e_available, gids * NL_WH_PER_GID, SIM_UNIT_WATTHOURS);
      float soc_new = (float)(gids * 100.0 / s->maxgids);
      metric_set_float(s->x_soc_newcar, soc_new);
      if (s->soc_newcar)
        metric_set_float(s->b_soc, soc_new);
      if (s->soc_newcar_capacity) {
        metric_set_float_unit(s->x_e_capacity, s->maxgids * NL_WH_PER_GID, SIM_UNIT_WATTHOURS);
        s->kwh_capacity_read = true;
      }
    } else {
      metric_set_int(s->x_max_gids, gids);
      metric_set_float_unit(s->x_e_capacity, gids * NL_WH_PER_GID, SIM_UNIT_WATTHOURS);
      type = NL_BATTERY_TYPE_2_30KWH;
      s->kwh_capacity_read = true;
    }
  }
  /* estimated charge times, multiplexed by mx (d5:d6) */
  int mx = ((d[5] << 3) | (d[6] >> 5)) & 0x1F;
  int val = ((d[6] << 8) | d[7]) & 0x1FFF;
  if (val != 0x1FFF) {
    int cd = -1;
    int bt = int_or(s->x_b_type, NL_BATTERY_TYPE_2_24KWH);
    switch (mx) {
    case 0: metric_set_int(s->x_c_quick, val); break;
    case 5: cd = 0; break;
    case 8: cd = 1; break;
    case 9: cd = 1; type = NL_BATTERY_TYPE_1_24KWH; break;
    case 10: cd = 4; type = NL_BATTERY_TYPE_1_24KWH; break;
    case 11: cd = 2; break;
    case 17: cd = 2; type = NL_BATTERY_TYPE_1_24KWH; break;
    case 18:
      if (bt == NL_BATTERY_TYPE_1_24KWH)
        cd = 5;
      else if (bt == NL_BATTERY_TYPE_2_24KWH)
        cd = 3;
      break;
    case 21: cd = 4; type = NL_BATTERY_TYPE_2_24KWH; break;
    case 24: cd = 5; type = NL_BATTERY_TYPE_2_24KWH; break;
    default: break;
    }
    if (cd >= 0)
      metric_set_vec_int_elem(s->x_c_duration, (size_t)cd, val / 2);
  }
  if (type != -1)
    metric_set_int(s->x_b_type, type);
}

static void d_5bf(struct vehicle *v, const struct sim_frame *f, const void *arg)
{
  struct nl *s = S(v);
  const uint8_t *d = f->data;
  (void)arg;
  if (d[4] == 0xB0) {
    metric_set_float(s->c_climit, 120);
    metric_set_bool(s->c_pilot, true);
  } else {
    uint8_t lim = d[2] / 5;
    metric_set_float(s->c_climit, lim);
    metric_set_bool(s->c_pilot, lim > 0 && lim <= 32);
  }
  switch (d[4]) {
  case 0x70:
  case 0x18: metric_set_bool(s->c_pilot, true); break;
  case 0x28: charger_status(s, NL_CHARGER_IDLE); break;
  case 0x30: charger_status(s, NL_CHARGER_PLUGGED_IN_TIMER_WAIT); break;
  case 0xB0: charger_status(s, NL_CHARGER_QUICK_CHARGING); break;
  case 0x60: charger_status(s, NL_CHARGER_CHARGING); break;
  case 0x40: charger_status(s, NL_CHARGER_FINISHED); break;
  default: break;
  }
}

static void d_5c0(struct vehicle *v, const struct sim_frame *f, const void *arg)
{
  struct nl *s = S(v);
  const uint8_t *d = f->data;
  (void)arg;
  if ((d[0] >> 6) == 1)
    metric_set_float(s->b_temp, d[2] / 2 - 40); /* integer division, as the firmware */
  if (d[4] && s->modelyear >= 2013) {
    metric_set_bool(s->x_heaterpresent, (d[4] & 0x01) != 0);
    metric_set_bool(s->x_heatrequested, (d[1] & 0x01) != 0);
  }
}

static void d_679(struct vehicle *v, const struct sim_frame *f, const void *arg)
{
  (void)v, (void)f, (void)arg; /* J1772/VCM wake-up: only logged by the firmware */
}

/* ---- CAR-CAN (bus 2) ------------------------------------------------------------------ */

static void d_180(struct vehicle *v, const struct sim_frame *f, const void *arg)
{
  (void)arg;
  if (f->data[5] != 0xFF)
    metric_set_float(S(v)->e_throttle, f->data[5] / 2.0);
}

static void d_292(struct vehicle *v, const struct sim_frame *f, const void *arg)
{
  (void)arg;
  if (f->data[6] != 0xFF)
    metric_set_float(S(v)->e_footbrake, f->data[6] / 1.39);
}

static void d_355(struct vehicle *v, const struct sim_frame *f, const void *arg)
{
  (void)arg;
  S(v)->odo_unit = ((f->data[6] >> 5) & 1) ? SIM_UNIT_MILES : SIM_UNIT_KM;
}

static void d_385(struct vehicle *v, const struct sim_frame *f, const void *arg)
{
  struct nl *s = S(v);
  const uint8_t *d = f->data;
  double kpa;
  (void)arg;
  /* MS_V_TPMS_IDX_FL, FR, RL, RR = 0..3; d4 is RR, d5 RL */
  static const int idx[4] = {0, 1, 3, 2};
  for (int k = 0; k < 4; k++) {
    if (d[2 + k] && sim_unit_convert(d[2 + k] / 4.0, SIM_UNIT_PSI, SIM_UNIT_KPA, &kpa) == 0)
      metric_set_vec_float_elem(s->t_pressure, (size_t)idx[k], (float)kpa);
  }
}

static void d_421(struct vehicle *v, const struct sim_frame *f, const void *arg)
{
  struct nl *s = S(v);
  (void)arg;
  switch ((f->data[0] >> 3) & 7) {
  case 2:
    metric_set_int(s->e_gear, -1);
    metric_set_bool(s->e_on, true);
    break;
  case 4:
  case 7:
    metric_set_int(s->e_gear, 1);
    metric_set_bool(s->e_on, true);
    break;
  default:
    metric_set_int(s->e_gear, 0);
    break;
  }
}

static void d_5a9(struct vehicle *v, const struct sim_frame *f, const void *arg)
{
  struct nl *s = S(v);
  (void)arg;
  uint16_t r = (uint16_t)((f->data[1] << 4) | (f->data[2] >> 4));
  if (r != 0xFFF)
    metric_set_int(s->x_range_instrument, r / 5);
}

static void d_5b3(struct vehicle *v, const struct sim_frame *f, const void *arg)
{
  struct nl *s = S(v);
  (void)arg;
  if (s->ze1)
    return;
  uint8_t soh = f->data[1] >> 1;
  if (soh) {
    metric_set_float(s->x_soh_instrument, soh);
    if (!s->soh_newcar)
      metric_set_float(s->b_soh, soh);
  }
}

static void d_5b9(struct vehicle *v, const struct sim_frame *f, const void *arg)
{
  struct nl *s = S(v);
  (void)arg;
  metric_set_int(s->x_chargebars, (f->data[1] & 0xF8) >> 3);
  /* the firmware ORs (not shifts) d1's low bits into d2, kept as is */
  metric_set_int(s->x_chargemin3kw, (f->data[1] & 0x07) | f->data[2]);
}

static void d_5c5(struct vehicle *v, const struct sim_frame *f, const void *arg)
{
  struct nl *s = S(v);
  const uint8_t *d = f->data;
  (void)arg;
  metric_set_bool(s->e_handbrake, (d[0] & 4) != 0);
  if (s->odo_unit != SIM_UNIT_NATIVE)
    metric_set_float_unit(s->p_odometer, (d[1] << 16) | (d[2] << 8) | d[3], s->odo_unit);
}

static void d_60d(struct vehicle *v, const struct sim_frame *f, const void *arg)
{
  struct nl *s = S(v);
  const uint8_t *d = f->data;
  (void)arg;
  metric_set_bool(s->d_trunk, (d[0] & 0x80) != 0);
  metric_set_bool(s->d_rr, (d[0] & 0x40) != 0);
  metric_set_bool(s->d_rl, (d[0] & 0x20) != 0);
  metric_set_bool(s->d_fr, (d[0] & 0x10) != 0);
  metric_set_bool(s->d_fl, (d[0] & 0x08) != 0);
  metric_set_bool(s->e_headlights, (d[0] & 0x02) || (d[1] & 0x08));
  metric_set_bool(s->e_locked, (d[2] & 0x10) == 0x10);
  switch ((d[1] >> 1) & 3) {
  case 0:
    car_on(s, false);
    break;
  case 1:
  case 2:
    metric_set_bool(s->e_awake, true);
    break;
  case 3:
    metric_set_bool(s->e_awake, true);
    if (metric_float(s->e_footbrake) > 0)
      car_on(s, true);
    break;
  }
}

/* Sorted by id, then bus.  Every Leaf frame is 8 bytes except where the car sends fewer and
 * the handler reads fewer (0x421 has 3, 0x5A9/0x5B9 7 in the e-NV200 capture). */
static const struct vehicle_decoder nl_decoders[] = {
    {2, 0x180, 6, d_180, NULL},
    {1, 0x1D4, 7, d_1d4, NULL},
    {1, 0x1DA, 6, d_1da, NULL},
    {1, 0x1DB, 5, d_1db, NULL},
    {1, 0x1DC, 4, d_1dc, NULL},
    {1, 0x284, 6, d_284, NULL},
    {2, 0x292, 7, d_292, NULL},
    {2, 0x355, 7, d_355, NULL},
    {1, 0x380, 7, d_380, NULL},
    {2, 0x385, 6, d_385, NULL},
    {1, 0x390, 7, d_390, NULL},
    {2, 0x421, 1, d_421, NULL},
    {1, 0x50A, 7, d_50a, NULL},
    {1, 0x54A, 5, d_54a, NULL},
    {1, 0x54B, 5, d_54b, NULL},
    {1, 0x54C, 7, d_54c, NULL},
    {1, 0x54F, 1, d_54f, NULL},
    {1, 0x55A, 3, d_55a, NULL},
    {1, 0x55B, 2, d_55b, NULL},
    {1, 0x59E, 8, d_59e, NULL},
    {2, 0x5A9, 3, d_5a9, NULL},
    {2, 0x5B3, 2, d_5b3, NULL},
    {2, 0x5B9, 3, d_5b9, NULL},
    {1, 0x5BC, 8, d_5bc, NULL},
    {1, 0x5BF, 5, d_5bf, NULL},
    {1, 0x5C0, 5, d_5c0, NULL},
    {2, 0x5C5, 4, d_5c5, NULL},
    {2, 0x60D, 3, d_60d, NULL},
    {1, 0x679, 0, d_679, NULL},
};

/* ---- tickers -------------------------------------------------------------------------- */

/* HandleEnergy() */
static void nl_ticker1(struct vehicle *v, uint32_t ticker)
{
  struct nl *s = S(v);
  (void)ticker;
  if (metric_bool(s->e_on) && (s->cum_used_wh > 0 || s->cum_recd_wh > 0)) {
    metric_set_float(s->b_energy_used, metric_float(s->b_energy_used) + s->cum_used_wh / 1000.0);
    metric_set_float(s->b_energy_recd, metric_float(s->b_energy_recd) + s->cum_recd_wh / 1000.0);
    s->cum_used_wh = s->cum_recd_wh = 0;
    double bp = float_or(s->b_power, 0), ip = float_or(s->i_power, 0);
    if (bp != 0) {
      metric_set_float(s->i_efficiency, fabs(ip / bp) * 100.0);
      if (bp < 0 && ip != 0)
        metric_set_float(s->i_efficiency, fabs(bp / ip) * 100.0);
    }
  } else {
    metric_set_float(s->i_efficiency, 100);
  }
}

static double capacity_kwh(const struct nl *s)
{
  return metric_is_defined(s->x_e_capacity) ? metric_float(s->x_e_capacity) : 24.0;
}

/* calcMinutesRemaining() */
static int minutes_remaining(const struct nl *s, double target, double power_w)
{
  double soc = float_or(s->b_soc, 100);
  if ((soc > target && power_w > 0) || (soc < target && power_w < 0))
    return 0;
  double mins = capacity_kwh(s) * 1000.0 * (target - soc) / 100.0 / power_w * 60.0;
  if (mins < 0 || isnan(mins))
    mins = 1440;
  return mins > 1440 ? 1440 : (int)mins;
}

/* HandleRange() */
static void handle_range(struct nl *s)
{
  double soc = float_or(s->b_soc, 0), soh = float_or(s->b_soh, 100);
  double bt = float_or(s->b_temp, 20), at = float_or(s->e_temp, 20);
  double max_kwh = !s->soh_newcar ? capacity_kwh(s) : s->maxgids * s->wh_per_gid / 1000.0;
  double avg = (at + bt * 3) / 4.0;
  double factor = (100.0 - fabs(avg - 20.0) * 1.25) / 100.0;
  double range_max = max_kwh * s->km_per_kwh;
  double ideal = range_max * soc / 100.0;
  double full = range_max * soh / 100.0 * factor;
  double est = ideal * soh / 100.0 * factor;
  if (ideal > 0)
    metric_set_float(s->b_range_ideal, ideal);
  if (full > 0)
    metric_set_float(s->b_range_full, full);
  if (est > 0)
    metric_set_float(s->b_range_est, est);
}

/* The charge-substate part of HandleCharging() (auto start/stop needs canwrite: not
 * simulated). */
static void handle_charging(struct nl *s)
{
  const char *st = metric_string(s->c_state);
  const char *sub = metric_string(s->c_substate);
  const char *prev = metric_string(s->x_c_state_prev);
  if (strcmp(prev, st) == 0)
    return;
  if (!strcmp(st, "stopped") && (!strcmp(prev, "charging") || !strcmp(prev, "timerwait")) &&
      strcmp(sub, "scheduledstop") && strcmp(sub, "powerwait"))
    metric_set_string(s->c_substate, "interrupted");
  if (!strcmp(st, "charging") &&
      (!strcmp(prev, "stopped") || !strcmp(prev, "timerwait") || !strcmp(sub, "powerwait")) &&
      strcmp(sub, "scheduledstart"))
    metric_set_string(s->c_substate, "onrequest");
  if (!strcmp(st, "timerwait") && strcmp(sub, "onrequest") && strcmp(sub, "scheduledstop"))
    metric_set_string(s->c_substate, metric_bool(s->c_pilot) ? "timerwait" : "powerwait");
  metric_set_string(s->x_c_state_prev, st);
}

/* The remaining-time estimates of HandleChargeEstimation() / HandleExporting(): to full (or
 * empty), to the SOC limit, to the range limit. */
static void estimate_durations(struct nl *s, double power_w, double full, struct metric *d_full,
                               struct metric *d_soc, struct metric *d_range,
                               const struct metric *lim_soc, const struct metric *lim_range,
                               double max_range)
{
  metric_set_int(d_full, minutes_remaining(s, full, power_w));
  double limit_soc = float_or(lim_soc, 0), limit_range = float_or(lim_range, 0);
  if (limit_soc > 0)
    metric_set_int(d_soc, minutes_remaining(s, limit_soc, power_w));
  if (limit_range > 0 && max_range > 0.0)
    metric_set_int(d_range, minutes_remaining(s, limit_range / max_range * 100.0, power_w));
}

/* HandleChargeEstimation() */
static void handle_charge_estimation(struct nl *s)
{
  if (!metric_bool(s->c_pilot) || !metric_bool(s->c_charging)) {
    metric_set_float(s->c_power, 0);
    metric_set_float(s->c_efficiency, 100); /* neutral for an overall efficiency */
    return;
  }
  if (s->cum_charge_wh > 0) {
    /* 10 s of energy back to an average power */
    double power_w = s->cum_charge_wh * 3600 / 10;
    metric_set_float(s->c_kwh, metric_float(s->c_kwh) + s->cum_charge_wh / 1000.0);
    s->cum_charge_wh = 0;
    double max_range = float_or(s->b_range_full, 0);
    if (!s->range_calc_est) {
      double soc = float_or(s->b_soc, 0);
      max_range = soc > 0 ? 100.0 * float_or(s->b_range_ideal, 0) / soc : 0;
    }
    estimate_durations(s, power_w, 100.0, s->c_duration_full, s->c_duration_soc,
                       s->c_duration_range, s->c_limit_soc, s->c_limit_range, max_range);
  }
  double cp = metric_float(s->c_power), bp = metric_float(s->b_power);
  if (cp != 0)
    metric_set_float(s->c_efficiency, fabs(bp / cp) * 100.0);
  if (metric_float(s->c_efficiency) > 100)
    metric_set_float(s->c_efficiency, 100);
}

/* HandleExporting() */
static void handle_exporting(struct nl *s)
{
  if (!metric_bool(s->g_generating)) {
    metric_set_float(s->g_power, 0);
    return;
  }
  if (s->cum_gen_wh > 0) {
    double power_w = s->cum_gen_wh * 3600 / 10;
    metric_set_float(s->g_kwh, metric_float(s->g_kwh) + s->cum_gen_wh / 1000.0);
    s->cum_gen_wh = 0;
    estimate_durations(s, -power_w, 0.0, s->g_duration_empty, s->g_duration_soc,
                       s->g_duration_range, s->g_limit_soc, s->g_limit_range,
                       float_or(s->b_range_est, 0));
  }
}

static void nl_ticker10(struct vehicle *v, uint32_t ticker)
{
  struct nl *s = S(v);
  (void)ticker;
  handle_range(s);
  handle_charging(s);
  handle_charge_estimation(s);
  handle_exporting(s);
  metric_set_bool(s->e_charging12v, metric_float(s->b_12v_voltage) > 12.8);
  if (metric_bool(s->e_awake) && metric_is_stale(s->e_awake))
    metric_set_bool(s->e_awake, false);
  if (metric_bool(s->c_pilot)) {
    metric_set_bool(s->d_cp, true);
  } else if (metric_is_stale(s->c_pilot) && (s->modelyear < 2013 || metric_is_stale(s->g_pilot)) &&
             metric_bool(s->d_cp)) {
    const char *sub = metric_string(s->c_substate);
    if (!strcmp(sub, "timerwait") || (!strcmp(sub, "powerwait") && s->modelyear > 2012))
      ;
    else
      metric_set_bool(s->d_cp, false);
  }
}

/* ---- set-up --------------------------------------------------------------------------- */

#define NS(m, n) VM_STD(struct nl, m, n)
#define NX(m, n, t, u, st) VM_NEW(struct nl, m, n, t, u, st)

static const struct vehicle_metric_bind nl_binds[] = {
    NS(b_current, "v.b.current"), NS(b_voltage, "v.b.voltage"), NS(b_power, "v.b.power"),
    NS(b_soc, "v.b.soc"), NS(b_soh, "v.b.soh"), NS(b_temp, "v.b.temp"),
    NS(b_energy_used, "v.b.energy.used"), NS(b_energy_recd, "v.b.energy.recd"),
    NS(b_12v_voltage, "v.b.12v.voltage"), NS(b_range_ideal, "v.b.range.ideal"),
    NS(b_range_full, "v.b.range.full"), NS(b_range_est, "v.b.range.est"),
    NS(c_charging, "v.c.charging"), NS(c_state, "v.c.state"), NS(c_substate, "v.c.substate"),
    NS(c_pilot, "v.c.pilot"), NS(c_voltage, "v.c.voltage"), NS(c_current, "v.c.current"),
    NS(c_climit, "v.c.climit"), NS(c_power, "v.c.power"), NS(c_kwh, "v.c.kwh"),
    NS(c_type, "v.c.type"), NS(c_mode, "v.c.mode"), NS(c_efficiency, "v.c.efficiency"),
    NS(c_duration_full, "v.c.duration.full"), NS(c_duration_soc, "v.c.duration.soc"),
    NS(c_duration_range, "v.c.duration.range"), NS(c_limit_soc, "v.c.limit.soc"),
    NS(c_limit_range, "v.c.limit.range"), NS(g_duration_empty, "v.g.duration.empty"),
    NS(g_duration_soc, "v.g.duration.soc"), NS(g_duration_range, "v.g.duration.range"),
    NS(g_limit_soc, "v.g.limit.soc"), NS(g_limit_range, "v.g.limit.range"),
    NS(g_pilot, "v.g.pilot"), NS(g_voltage, "v.g.voltage"), NS(g_current, "v.g.current"),
    NS(g_climit, "v.g.climit"), NS(g_power, "v.g.power"), NS(g_generating, "v.g.generating"),
    NS(g_state, "v.g.state"), NS(g_substate, "v.g.substate"), NS(g_kwh, "v.g.kwh"),
    NS(g_type, "v.g.type"), NS(g_mode, "v.g.mode"),
    NS(d_cp, "v.d.cp"), NS(d_fl, "v.d.fl"), NS(d_fr, "v.d.fr"), NS(d_rl, "v.d.rl"),
    NS(d_rr, "v.d.rr"), NS(d_trunk, "v.d.trunk"),
    NS(e_on, "v.e.on"), NS(e_awake, "v.e.awake"), NS(e_locked, "v.e.locked"),
    NS(e_headlights, "v.e.headlights"), NS(e_gear, "v.e.gear"), NS(e_throttle, "v.e.throttle"),
    NS(e_footbrake, "v.e.footbrake"), NS(e_handbrake, "v.e.handbrake"), NS(e_temp, "v.e.temp"),
    NS(e_cabintemp, "v.e.cabintemp"), NS(e_heating, "v.e.heating"),
    NS(e_cooling, "v.e.cooling"), NS(e_hvac, "v.e.hvac"), NS(e_charging12v, "v.e.charging12v"),
    NS(e_cabinsetpoint, "v.e.cabinsetpoint"), NS(e_cabinfan, "v.e.cabinfan"),
    NS(e_cabinvent, "v.e.cabinvent"), NS(e_cabinintake, "v.e.cabinintake"),
    NS(m_rpm, "v.m.rpm"), NS(m_temp, "v.m.temp"), NS(i_temp, "v.i.temp"),
    NS(i_power, "v.i.power"), NS(i_efficiency, "v.i.efficiency"),
    NS(p_speed, "v.p.speed"), NS(p_odometer, "v.p.odometer"), NS(p_trip, "v.p.trip"),
    NS(t_pressure, "v.t.pressure"),
    NX(x_gids, "xnl.v.b.gids", METRIC_INT, SIM_UNIT_NATIVE, SM_STALE_HIGH),
    NX(x_max_gids, "xnl.v.b.max.gids", METRIC_INT, SIM_UNIT_NATIVE, SM_STALE_HIGH),
    NX(x_soc_newcar, "xnl.v.b.soc.newcar", METRIC_FLOAT, SIM_UNIT_PERCENT, SM_STALE_HIGH),
    NX(x_soc_instrument, "xnl.v.b.soc.instrument", METRIC_FLOAT, SIM_UNIT_PERCENT,
       SM_STALE_HIGH),
    NX(x_range_instrument, "xnl.v.b.range.instrument", METRIC_INT, SIM_UNIT_KM, SM_STALE_HIGH),
    NX(x_soh_instrument, "xnl.v.b.soh.instrument", METRIC_FLOAT, SIM_UNIT_PERCENT,
       SM_STALE_HIGH),
    NX(x_e_capacity, "xnl.v.b.e.capacity", METRIC_FLOAT, SIM_UNIT_KWH, SM_STALE_HIGH),
    NX(x_e_available, "xnl.v.b.e.available", METRIC_FLOAT, SIM_UNIT_KWH, SM_STALE_HIGH),
    NX(x_b_type, "xnl.v.b.type", METRIC_INT, SIM_UNIT_NATIVE, SM_STALE_HIGH),
    NX(x_heaterpresent, "xnl.v.b.heaterpresent", METRIC_BOOL, SIM_UNIT_NATIVE, SM_STALE_HIGH),
    NX(x_heatrequested, "xnl.v.b.heatrequested", METRIC_BOOL, SIM_UNIT_NATIVE, SM_STALE_HIGH),
    NX(x_heatergranted, "xnl.v.b.heatergranted", METRIC_BOOL, SIM_UNIT_NATIVE, SM_STALE_HIGH),
    NX(x_c_duration, "xnl.v.c.duration", METRIC_VEC_INT, SIM_UNIT_MINUTES, SM_STALE_HIGH),
    NX(x_chargemin3kw, "xnl.v.c.chargeminutes3kw", METRIC_INT, SIM_UNIT_NATIVE, SM_STALE_HIGH),
    NX(x_c_quick, "xnl.v.c.quick", METRIC_INT, SIM_UNIT_NATIVE, SM_STALE_HIGH),
    NX(x_chargebars, "xnl.v.c.chargebars", METRIC_INT, SIM_UNIT_NATIVE, SM_STALE_HIGH),
    NX(x_capacitybars, "xnl.v.b.capacitybars", METRIC_INT, SIM_UNIT_NATIVE, SM_STALE_HIGH),
    NX(x_soc_nominal, "xnl.v.b.soc.nominal", METRIC_FLOAT, SIM_UNIT_PERCENT, SM_STALE_HIGH),
    NX(x_out_limit, "xnl.v.b.output.limit", METRIC_FLOAT, SIM_UNIT_KW, SM_STALE_HIGH),
    NX(x_regen_limit, "xnl.v.b.regen.limit", METRIC_FLOAT, SIM_UNIT_KW, SM_STALE_HIGH),
    NX(x_charge_limit, "xnl.v.b.charge.limit", METRIC_FLOAT, SIM_UNIT_KW, SM_STALE_HIGH),
    NX(x_limit_reason, "xnl.v.c.limit.reason", METRIC_STRING, SIM_UNIT_NATIVE, SM_STALE_MIN),
    NX(x_relay_qc, "xnl.v.c.relay.qc", METRIC_FLOAT, SIM_UNIT_NATIVE, SM_STALE_HIGH),
    NX(x_relay_ac, "xnl.v.c.relay.ac", METRIC_FLOAT, SIM_UNIT_NATIVE, SM_STALE_HIGH),
    NX(x_fanlimit, "v.e.cabinfanlimit", METRIC_INT, SIM_UNIT_NATIVE, SM_STALE_MIN),
    NX(x_fan_only, "xnl.cc.fan.only", METRIC_BOOL, SIM_UNIT_NATIVE, SM_STALE_MIN),
    NX(x_remoteheat, "xnl.cc.remoteheat", METRIC_BOOL, SIM_UNIT_NATIVE, SM_STALE_MIN),
    NX(x_remotecool, "xnl.cc.remotecool", METRIC_BOOL, SIM_UNIT_NATIVE, SM_STALE_MIN),
    NX(x_rqinprogress, "xnl.cc.rqinprogress", METRIC_BOOL, SIM_UNIT_NATIVE, SM_STALE_MIN),
    NX(x_hvac_auto, "xnl.v.e.hvac.auto", METRIC_BOOL, SIM_UNIT_NATIVE, SM_STALE_MIN),
    NX(x_odo_start, "xnl.v.pos.odometer.start", METRIC_FLOAT, SIM_UNIT_KM, SM_STALE_MID),
    NX(x_c_state_prev, "xnl.v.c.state.previous", METRIC_STRING, SIM_UNIT_NATIVE,
       SM_STALE_HIGH),
};

/* Keys of the firmware's "xnl" param that change decoding (vehicle_nissanleaf.cpp
 * ConfigChanged() and the GetParamValue calls in the decoders). */
static const struct sim_config_decl nl_config[] = {
    {"xnl", "modelyear", CFG_INT, "2012", 1990, 2100, 0, 0,
     "model year: HVAC decoding of 0x54B, battery heater bits (>= 2013)"},
    {"xnl", "ze1", CFG_BOOL, "no", 0, 0, 0, 0, "2018+ ZE1 car (0x59E SOC, 0x54F Celsius, CHAdeMO via 0x1DB)"},
    {"xnl", "speeddivisor", CFG_STRING, "98.0", 0, 0, 0, 0, "0x284 speed divisor"},
    {"xnl", "maxGids", CFG_INT, "281", 1, 1023, 0, 0, "GIDs of a new battery (soc.newcar)"},
    {"xnl", "soc.newcar", CFG_BOOL, "no", 0, 0, 0, 0, "v.b.soc from GIDs/maxGids instead of the dash"},
    {"xnl", "soc.newcar.capacity", CFG_BOOL, "no", 0, 0, 0, 0, "capacity from maxGids"},
    {"xnl", "soh.newcar", CFG_BOOL, "no", 0, 0, 0, 0, "v.b.soh not from the dash"},
    {"xnl", "cabintempoffset", CFG_STRING, "0", 0, 0, 0, 0, "offset added to the cabin temperature (pre-ZE1)"},
    {"xnl", "canwrite", CFG_BOOL, "no", 0, 0, 0, 0, "polling and commands (not simulated)"},
    {"xnl", "kmPerKWh", CFG_STRING, "7.1", 0, 0, 0, 0, "range estimate: km per kWh"},
    {"xnl", "whPerGid", CFG_STRING, "80", 0, 0, 0, 0, "range estimate: Wh per GID"},
    {"xnl", "suffsoc", CFG_INT, "0", 0, 100, 0, 0, "sufficient SOC % (v.c.limit.soc)"},
    {"xnl", "suffrange", CFG_INT, "0", 0, 2000, 0, 0, "sufficient range km (v.c.limit.range)"},
    {"xnl", "suffrangecalc", CFG_STRING, "ideal", 0, 0, 0, 0,
     "range for the range limit: ideal or est"},
    {"xnl", "newCarAh", CFG_STRING, "66", 0, 0, 0, 0,
     "Ah of a new battery (SOH from the BMS group 1 poll)"},
};

static void nl_config_changed(struct vehicle *v)
{
  struct nl *s = S(v);
  s->modelyear = (int)vehicle_cfg_int(v, "modelyear", NL_DEFAULT_MODEL_YEAR);
  s->ze1 = vehicle_cfg_bool(v, "ze1", false);
  s->speeddivisor = vehicle_cfg_float(v, "speeddivisor", NL_DEFAULT_SPEED_DIVISOR);
  if (!(s->speeddivisor > 0))
    s->speeddivisor = NL_DEFAULT_SPEED_DIVISOR;
  s->maxgids = (int)vehicle_cfg_int(v, "maxGids", NL_NEW_CAR_GIDS);
  if (s->maxgids <= 0)
    s->maxgids = NL_NEW_CAR_GIDS;
  s->soc_newcar = vehicle_cfg_bool(v, "soc.newcar", false);
  s->soc_newcar_capacity = vehicle_cfg_bool(v, "soc.newcar.capacity", false);
  s->soh_newcar = vehicle_cfg_bool(v, "soh.newcar", false);
  s->cabintempoffset = vehicle_cfg_float(v, "cabintempoffset", 0.0);
  s->canwrite = vehicle_cfg_bool(v, "canwrite", false);
  s->km_per_kwh = vehicle_cfg_float(v, "kmPerKWh", NL_KM_PER_KWH);
  s->wh_per_gid = vehicle_cfg_float(v, "whPerGid", NL_WH_PER_GID);
  const char *calc = v->cfg ? sim_config_get(v->cfg, "xnl", "suffrangecalc") : NULL;
  s->range_calc_est = calc && !strcmp(calc, "est");
  metric_set_float(s->c_limit_soc, (double)vehicle_cfg_int(v, "suffsoc", 0));
  metric_set_float(s->c_limit_range, (double)vehicle_cfg_int(v, "suffrange", 0));
  nl_poll_select(v);
}

static int nl_init(struct vehicle *v, const char *arg, struct sim_diag *d)
{
  struct nl *s = S(v);
  (void)arg;
  int rc = vehicle_bind_metrics(v, nl_binds, ARRAY_SIZE(nl_binds), d);
  if (rc == 0)
    rc = nl_poll_init(v, d);
  if (rc < 0)
    return rc;
  s->odo_unit = SIM_UNIT_NATIVE;
  v->enc = nl_encoders;
  v->n_enc = nl_n_encoders;
  /* the constructor's InitString("v.c.state", ..., "stopped") */
  if (!metric_is_defined(s->c_state))
    metric_set_string(s->c_state, "stopped");
  return 0;
}

const struct vehicle_type vehicle_type_nissanleaf = {
    .name = "nissanleaf",
    .code = "NL",
    .title = "Nissan Leaf / e-NV200",
    .state_size = sizeof(struct nl),
    .init = nl_init,
    .config_changed = nl_config_changed,
    .ticker1 = nl_ticker1,
    .ticker10 = nl_ticker10,
    .decoders = nl_decoders,
    .n_decoders = ARRAY_SIZE(nl_decoders),
    /* the encode table is in nl_encode.c; nl_init() installs it (its size is not a constant
     * expression here) */
    .cfg_param = "xnl",
    .config = nl_config,
    .n_config = ARRAY_SIZE(nl_config),
};
