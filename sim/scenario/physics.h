/*
 * physics.h - the car model behind YAML scenarios.
 *
 * One struct physics is the simulated car of a scenario run: battery (SoC, OCV curve, internal
 * resistance, energy and coulomb counters), drive train (speed with acceleration limits,
 * kinetic energy and regeneration, odometer, trip, gear), GPS (route interpolation with
 * heading and altitude, or dead reckoning), the charge state machine (prepare, timerwait,
 * charging, topoff, done, stopped; AC and DC with CC/CV taper), climate, doors, lock and the
 * 12 V system.  physics_step() advances it by dt seconds and writes the standard metrics so
 * that they stay mutually consistent (the conventions of the firmware's V3/main/
 * metrics_standard.h: battery current and power are positive when discharging; gear negative =
 * reverse, 0 = neutral/park).
 *
 * The scenario engine (sim/scenario/run.c) calls the physics_* actions for timeline steps and for
 * commands (sim_control_ops).  Metric pointers are looked up once in physics_init(); the tick
 * path allocates nothing.  Noise comes only from sim->rng, so a run is deterministic.
 */
#ifndef SIM_PHYSICS_H
#define SIM_PHYSICS_H

#include <stdbool.h>
#include <stddef.h>

#include "scenario/scenario.h"

struct sim;
struct metric;

/* The metrics the model writes, looked up once.  X(id, name) */
#define PHYSICS_METRICS(X)                                                              \
  X(TYPE, "v.type") X(VIN, "v.vin")                                                     \
  X(SOC, "v.b.soc") X(SOH, "v.b.soh") X(CAC, "v.b.cac") X(CAPACITY, "v.b.capacity")     \
  X(BVOLT, "v.b.voltage") X(BCUR, "v.b.current") X(BPOW, "v.b.power")                   \
  X(BTEMP, "v.b.temp") X(CONS, "v.b.consumption")                                       \
  X(EUSED, "v.b.energy.used") X(ERECD, "v.b.energy.recd")                               \
  X(EUSEDT, "v.b.energy.used.total") X(ERECDT, "v.b.energy.recd.total")                 \
  X(CUSED, "v.b.coulomb.used") X(CRECD, "v.b.coulomb.recd")                             \
  X(CUSEDT, "v.b.coulomb.used.total") X(CRECDT, "v.b.coulomb.recd.total")               \
  X(RIDEAL, "v.b.range.ideal") X(REST, "v.b.range.est") X(RFULL, "v.b.range.full")      \
  X(RSPEED, "v.b.range.speed")                                                          \
  X(PVAVG, "v.b.p.voltage.avg") X(PVMIN, "v.b.p.voltage.min")                           \
  X(PVMAX, "v.b.p.voltage.max") X(PTAVG, "v.b.p.temp.avg") X(PTMIN, "v.b.p.temp.min")   \
  X(PTMAX, "v.b.p.temp.max") X(PVSTD, "v.b.p.voltage.stddev")                          \
  X(PTSTD, "v.b.p.temp.stddev") X(CELLV, "v.b.c.voltage") X(CELLT, "v.b.c.temp")         \
  X(V12, "v.b.12v.voltage") X(V12REF, "v.b.12v.voltage.ref")                            \
  X(V12ALERT, "v.b.12v.voltage.alert")                                                  \
  X(C12V, "v.c.12v.voltage") X(C12I, "v.c.12v.current") X(C12P, "v.c.12v.power")        \
  X(C12T, "v.c.12v.temp")                                                               \
  X(CHARGING, "v.c.charging") X(CSTATE, "v.c.state") X(CSUB, "v.c.substate")            \
  X(CPILOT, "v.c.pilot") X(CMODE, "v.c.mode") X(CTYPE, "v.c.type") X(CKWH, "v.c.kwh")   \
  X(CKWHGRID, "v.c.kwh.grid") X(CKWHGRIDT, "v.c.kwh.grid.total")                       \
  X(CVOLT, "v.c.voltage") X(CCUR, "v.c.current") X(CPOW, "v.c.power")                   \
  X(CLIMIT, "v.c.climit") X(CEFF, "v.c.efficiency") X(CTEMP, "v.c.temp")                \
  X(CDFULL, "v.c.duration.full") X(CDSOC, "v.c.duration.soc")                           \
  X(CDRANGE, "v.c.duration.range") X(CLSOC, "v.c.limit.soc")                            \
  X(CLRANGE, "v.c.limit.range") X(CTIMERSTART, "v.c.timerstart")                        \
  X(CTIMERMODE, "v.c.timermode")                                                        \
  X(DCP, "v.d.cp") X(DFL, "v.d.fl") X(DFR, "v.d.fr") X(DRL, "v.d.rl") X(DRR, "v.d.rr")  \
  X(DTRUNK, "v.d.trunk") X(DHOOD, "v.d.hood")                                           \
  X(ON, "v.e.on") X(AWAKE, "v.e.awake") X(AUX12V, "v.e.aux12v")                         \
  X(CHG12V, "v.e.charging12v") X(LOCKED, "v.e.locked") X(VALET, "v.e.valet")            \
  X(GEAR, "v.e.gear") X(HANDBRAKE, "v.e.handbrake") X(THROTTLE, "v.e.throttle")         \
  X(FOOTBRAKE, "v.e.footbrake") X(REGEN, "v.e.regenbrake") X(ETEMP, "v.e.temp")          \
  X(CABIN, "v.e.cabintemp") X(SETPOINT, "v.e.cabinsetpoint") X(HVAC, "v.e.hvac")        \
  X(HEATING, "v.e.heating") X(COOLING, "v.e.cooling") X(FAN, "v.e.cabinfan")            \
  X(VENT, "v.e.cabinvent") X(INTAKE, "v.e.cabinintake") X(HEADLIGHTS, "v.e.headlights") \
  X(ALARM, "v.e.alarm")                                                                 \
  X(RPM, "v.m.rpm") X(MTEMP, "v.m.temp") X(IPOW, "v.i.power") X(ITEMP, "v.i.temp")      \
  X(SPEED, "v.p.speed") X(ACCEL, "v.p.acceleration") X(ODO, "v.p.odometer")             \
  X(TRIP, "v.p.trip") X(LAT, "v.p.latitude") X(LON, "v.p.longitude")                    \
  X(ALT, "v.p.altitude") X(DIR, "v.p.direction") X(GPSLOCK, "v.p.gpslock")              \
  X(SATS, "v.p.satcount") X(GPSSQ, "v.p.gpssq") X(GPSTIME, "v.p.gpstime")               \
  X(GPSSPEED, "v.p.gpsspeed") X(HDOP, "v.p.gpshdop") X(GPSMODE, "v.p.gpsmode")          \
  X(LOCATION, "v.p.location") X(TPMS, "v.t.pressure")

enum physics_metric {
#define X(id, name) PM_##id,
  PHYSICS_METRICS(X)
#undef X
  PM_COUNT_
};

enum physics_charge_state {
  PCS_IDLE,      /* not plugged, or plugged and never started */
  PCS_TIMERWAIT, /* plugged, waiting for the timer */
  PCS_PREPARE,   /* handshake before current flows */
  PCS_CHARGING,  /* constant current (power) */
  PCS_TOPOFF,    /* constant voltage: power tapers */
  PCS_DONE,      /* target reached */
  PCS_STOPPED    /* stopped (command, duration, unplugged) */
};

enum physics_drive_phase { PDP_NONE, PDP_READY, PDP_MOVING, PDP_PARKING };

struct physics {
  struct sim *sim;
  const struct scenario_vehicle *veh;
  struct metric *m[PM_COUNT_];
  bool noise;

  /* battery */
  double soc, soh, cap_kwh; /* cap_kwh: usable capacity x SoH */
  double pack_v, pack_i, pack_p, ocv;
  double e_used, e_recd, e_used_t, e_recd_t; /* kWh */
  double c_used, c_recd, c_used_t, c_recd_t; /* Ah */
  double avg_cons;                           /* Wh/km behind v.b.range.est */
  double last_ideal;
  double range_speed;

  /* temperatures (°C) */
  double amb, cabin, btemp, mtemp, itemp, ctemp;
  double amb_from, amb_to, amb_t, amb_dur; /* ambient ramp */

  /* body */
  bool on, locked, valet, hvac, heating, cooling;
  double setpoint;
  bool doors[DOOR_N];
  int gear;
  double wake_left; /* s the car stays awake after `wakeup` */

  /* motion */
  double speed, accel; /* km/h, m/s^2 */
  double odometer, trip;
  double lat, lon, alt, heading;
  double dlat, dlon; /* degrees added to every route waypoint (a fleet's route jitter) */
  double p_trac;   /* kW traction power at the battery */
  double throttle, footbrake;
  bool regen_active;
  char *location;  /* owned; NULL = none */

  /* drive controller */
  enum physics_drive_phase phase;
  const struct scenario_drive *drive;
  double phase_t;    /* s in the current phase */
  double target_km;  /* 0 = duration-driven */
  double target_s;
  double driven_km, drive_s;
  double cruise_jitter;
  double *route_cum; /* cumulative km along the route (allocated at drive start) */
  double route_km;

  /* charging */
  enum physics_charge_state cstate;
  bool plugged, charging;
  struct scenario_charge charge; /* copy of the active step's parameters (mode borrowed) */
  double climit;
  double limit_soc, limit_range;
  double c_kwh, c_kwh_grid, c_kwh_grid_t;
  double c_power, c_voltage, c_current; /* grid side */
  double c_batt_kw;                     /* kW delivered to the car */
  double c_t, c_phase_t;
  char mode[16];
  const char *substate;

  /* 12 V */
  double v12;

  /* cells (vehicle cell_metrics): fixed manufacturing spread drawn at init */
  float cell_dv[400], cell_dt[400];
  float cell_v[400], cell_t[400];

  /* gps noise state */
  int sats;
  double hdop;
};

/*
 * Initialises the model from veh (borrowed; must outlive p) for sim, looks up its metrics and
 * writes the initial values.  Returns 0 or SIM_ENOTFOUND if a standard metric is missing.
 */
int physics_init(struct physics *p, struct sim *sim, const struct scenario_vehicle *veh);
/* Frees what the model allocated (route tables, location). */
void physics_cleanup(struct physics *p);

/* Advances the model by dt seconds of simulation time and writes the metrics. */
void physics_step(struct physics *p, double dt);
/* Writes every metric from the current state (physics_step() does it too). */
void physics_publish(struct physics *p);

/* Starts a drive (unplugs, unlocks, turns the car on).  d is borrowed until the drive ends. */
void physics_drive_start(struct physics *p, const struct scenario_drive *d);
/* True while a drive is in progress (from physics_drive_start() until the car is off). */
bool physics_drive_active(const struct physics *p);

/* Plugs in and starts (or schedules, with a timer) a charge session with c's parameters
 * (copied).  Returns 0, SIM_ESTATE while driving. */
int physics_charge_plug(struct physics *p, const struct scenario_charge *c);
/* True while a session is waiting, preparing or charging. */
bool physics_charge_active(const struct physics *p);
/* Stops charging (state "stopped", given substate).  Returns 0 or SIM_ESTATE when not
 * charging. */
int physics_charge_stop(struct physics *p, const char *substate);
/* Starts charging again while plugged.  Returns 0, SIM_ESTATE when not plugged or already
 * charging. */
int physics_charge_start(struct physics *p);
/* Unplugs the cable (a running charge ends "interrupted"). */
void physics_unplug(struct physics *p);
/* Charge current limit (A) and charge mode (standard|storage|range|performance). */
int physics_charge_current(struct physics *p, int amps);
int physics_charge_mode(struct physics *p, const char *mode);

/* Climate (HVAC) on or off; setpoint in degC, NAN leaves the set point unchanged. */
void physics_climate(struct physics *p, bool on, double setpoint);
/* Central locking (v.e.locked) and valet mode (v.e.valet). */
void physics_lock(struct physics *p, bool locked);
void physics_valet(struct physics *p, bool on);
/* Keeps the car awake (v.e.awake) for 5 minutes. */
void physics_wakeup(struct physics *p);
/* Opens or closes a door (v.d.*); closing the charge port while plugged in unplugs. */
void physics_door(struct physics *p, enum scenario_door door, bool open);
/* Ramps the ambient temperature linearly to target over seconds (0 = at once). */
void physics_ambient(struct physics *p, double target, double seconds);

/*
 * Called after a `set` step wrote metric m: if the model owns that value (v.b.soc, v.e.temp,
 * v.p.odometer, position, temperatures, limits ...) its state follows, so the next tick does
 * not overwrite the value.  Returns true if the model took the value.
 */
bool physics_sync(struct physics *p, struct metric *m);

/* Open-circuit pack voltage at soc (%) for the vehicle's cells (exposed for tests). */
double physics_ocv(const struct scenario_vehicle *veh, double soc);
/* Great-circle distance in km and initial bearing in degrees between two points. */
double physics_distance_km(double lat1, double lon1, double lat2, double lon2);
double physics_bearing(double lat1, double lon1, double lat2, double lon2);

#endif
