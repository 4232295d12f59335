/*
 * mitsubishi.h - private state of the Mitsubishi i-MiEV vehicle, shared by the decoder and
 * encoders (mitsubishi.c) and the diagnostic polls (mi_poll.c).
 */
#ifndef VEHICLES_MITSUBISHI_H
#define VEHICLES_MITSUBISHI_H

#include <stdbool.h>
#include <stdint.h>

#include "vehicle/vehicle.h"

#define MI_CELLS_V 88
#define MI_CELLS_T 66

struct mi {
  struct metric *e_on, *e_awake, *e_footbrake, *e_throttle, *p_speed, *c_temp, *i_temp;
  struct metric *m_temp, *m_rpm, *vin, *b_range_est, *e_handbrake, *b_current, *b_voltage;
  struct metric *b_power, *b_energy_used, *b_energy_recd, *b_soc, *b_12v_current, *e_heating;
  struct metric *c_voltage, *c_current, *c_power, *c_charging, *c_kwh, *e_hvac, *e_cabinfan;
  struct metric *e_cabinintake, *e_cabinvent, *p_odometer, *e_gear, *e_headlights, *d_fl;
  struct metric *d_fr, *d_rl, *d_rr, *d_trunk, *e_locked, *c_type, *c_mode, *c_climit;
  struct metric *c_state, *c_substate, *c_pilot, *d_cp, *e_charging12v, *b_temp, *b_cac;
  struct metric *b_soh, *b_range_ideal, *c_cell_v, *c_cell_t, *p_temp_avg, *p_volt_min;
  struct metric *p_volt_max, *p_volt_avg;
  struct metric *x_heat_amp, *x_ac_amp, *x_frontfog, *x_rearfog, *x_blink_l, *x_blink_r;
  struct metric *x_highbeam, *x_lowbeam;
  /* poll replies (mi_poll.c) */
  struct metric *x_soc_real, *x_soc_display, *x_cac_rem, *x_max_input, *x_max_output;
  struct metric *e_cabintemp, *e_temp, *x_trip_a, *x_trip_b;
  bool has_broadcast;          /* 0x6E1..0x6E4 seen: cells come from there, not from polls */
  bool newcell;
  bool qc, sc;                 /* mi_QC, mi_SC of the firmware */
  char vinbuf[18];
  uint8_t cmu_next[4];         /* encoder: next CMU per 0x6E1..0x6E4 */
};

#define S(v) ((struct mi *)(v)->state)

/* mi_poll.c: binds the metrics of the poll replies and installs the poll list in v->polls
 * (at init).  Returns 0 or the vehicle_bind_metrics() error. */
int mi_poll_init(struct vehicle *v, struct sim_diag *d);
/* The firmware's poll states: 0 off, 1 on, 2 charging. */
int mi_poll_state(struct vehicle *v);

#endif
