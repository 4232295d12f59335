/*
 * nissanleaf.h - private state of the Nissan Leaf / e-NV200 vehicle (decoder, tickers and
 * encoders share it).  See nissanleaf.c for the decoding, nl_encode.c for the frames the
 * simulated car sends.
 */
#ifndef VEHICLES_NISSANLEAF_H
#define VEHICLES_NISSANLEAF_H

#include <stdbool.h>
#include <stdint.h>

#include "model/metrics.h"
#include "vehicle/vehicle.h"

/* Firmware constants: OVMS3:components/vehicle_nissanleaf/src/vehicle_nissanleaf.h. */
#define NL_DEFAULT_MODEL_YEAR 2012
#define NL_NEW_CAR_GIDS 281
#define NL_WH_PER_GID 80
#define NL_KM_PER_KWH 7.1
#define NL_DEFAULT_SPEED_DIVISOR 98.0
#define NL_NEW_CAR_AH 66 /* GEN_1_NEW_CAR_AH: xnl newCarAh default */

/* Battery types the firmware detects from 0x5BC/0x59E (enum battery_type). */
enum { NL_BATTERY_TYPE_1_24KWH, NL_BATTERY_TYPE_2_24KWH, NL_BATTERY_TYPE_2_30KWH };

/* Charger states of vehicle_nissanleaf_charger_status(). */
enum nl_charger_status {
  NL_CHARGER_IDLE,
  NL_CHARGER_PLUGGED_IN_TIMER_WAIT,
  NL_CHARGER_CHARGING,
  NL_CHARGER_QUICK_CHARGING,
  NL_CHARGER_FINISHED,
  NL_CHARGER_INTERRUPTED,
  NL_CHARGER_V2X,
};

struct nl {
  /* standard metrics */
  struct metric *b_current, *b_voltage, *b_power, *b_soc, *b_soh, *b_temp;
  struct metric *b_energy_used, *b_energy_recd, *b_12v_voltage;
  struct metric *b_range_ideal, *b_range_full, *b_range_est;
  struct metric *c_charging, *c_state, *c_substate, *c_pilot, *c_voltage, *c_current;
  struct metric *c_climit, *c_power, *c_kwh, *c_type, *c_mode, *c_efficiency, *c_duration_full;
  struct metric *c_duration_soc, *c_duration_range, *c_limit_soc, *c_limit_range;
  struct metric *g_duration_empty, *g_duration_soc, *g_duration_range, *g_limit_soc;
  struct metric *g_limit_range;
  struct metric *g_pilot, *g_voltage, *g_current, *g_climit, *g_power, *g_generating;
  struct metric *g_state, *g_substate, *g_kwh, *g_type, *g_mode;
  struct metric *d_cp, *d_fl, *d_fr, *d_rl, *d_rr, *d_trunk;
  struct metric *e_on, *e_awake, *e_locked, *e_headlights, *e_gear, *e_throttle;
  struct metric *e_footbrake, *e_handbrake, *e_temp, *e_cabintemp, *e_heating, *e_cooling;
  struct metric *e_hvac, *e_charging12v, *e_cabinsetpoint, *e_cabinfan, *e_cabinvent;
  struct metric *e_cabinintake;
  struct metric *m_rpm, *m_temp, *i_temp, *i_power, *i_efficiency;
  struct metric *p_speed, *p_odometer, *p_trip, *t_pressure;
  /* vehicle metrics (names as the firmware's constructor) */
  struct metric *x_gids, *x_max_gids, *x_soc_newcar, *x_soc_instrument, *x_range_instrument;
  struct metric *x_soh_instrument, *x_e_capacity, *x_e_available, *x_b_type;
  struct metric *x_heaterpresent, *x_heatrequested, *x_heatergranted, *x_c_duration;
  struct metric *x_chargemin3kw, *x_c_quick, *x_chargebars, *x_capacitybars, *x_soc_nominal;
  struct metric *x_out_limit, *x_regen_limit, *x_charge_limit, *x_limit_reason;
  struct metric *x_relay_qc, *x_relay_ac, *x_fanlimit, *x_fan_only, *x_remoteheat;
  struct metric *x_remotecool, *x_rqinprogress, *x_hvac_auto, *x_odo_start, *x_c_state_prev;

  /* poll replies (nl_poll.c) */
  struct metric *b_cac, *c_cell_v, *c_cell_t, *p_tmax, *p_tmin, *p_tavg, *p_vmax, *p_vmin;
  struct metric *p_vavg, *vin, *x_hx, *x_soh_newcar, *x_thermistor, *x_temp_int;
  struct metric *x_count_qc, *x_count_l0l1l2;
  double new_car_ah;           /* xnl newCarAh */

  /* configuration (xnl.*), re-read by config_changed */
  int modelyear;
  int maxgids;
  bool ze1, soc_newcar, soh_newcar, soc_newcar_capacity, canwrite;
  bool range_calc_est;         /* xnl.suffrangecalc = "est" (else "ideal") */
  double speeddivisor, cabintempoffset, km_per_kwh, wh_per_gid;

  /* decoder state */
  enum sim_unit odo_unit;      /* SIM_UNIT_NATIVE until 0x355 was seen ("Other") */
  bool ze0_charger, aze0_charger, climate_really_off, kwh_capacity_read;
  double cum_used_wh, cum_recd_wh, cum_charge_wh, cum_gen_wh;
  double trip_km;
  int64_t trip_last_ts;        /* frame time of the last 0x284 (ns), 0 = none */
  float trip_last_speed;

  /* encoder state */
  uint8_t prun_1db, prun_1dc, prun_55b;
  uint8_t mux_5bc;
};

/* The CRC-8 (polynomial 0x85, init 0, no reflection) the LBC puts in byte 7 of 0x1DB, 0x1DC
 * and 0x55B, over n bytes. */
uint8_t nl_crc8(const uint8_t *b, int n);

/* nl_poll.c: binds the metrics of the poll replies (at init); installs the poll list of the
 * configured model (ZE1 or not) in v->polls (at every configuration change).  nl_poll_init
 * returns 0 or the vehicle_bind_metrics() error. */
int nl_poll_init(struct vehicle *v, struct sim_diag *d);
void nl_poll_select(struct vehicle *v);

extern const struct vehicle_encoder nl_encoders[];
extern const size_t nl_n_encoders;

#endif
