/*
 * physics.c - the car model behind YAML scenarios (see physics.h).
 *
 * The model is deliberately simple but closed: every kWh that leaves or enters the pack is
 * accounted for once, and every metric is derived from the same state, so SoC, energy
 * counters, coulombs, ranges, pack voltage, current and power agree with each other the way a
 * real car's do.
 *
 *  - Pack: an NMC-like open-circuit-voltage curve per cell (cell_vmin at 0 %, cell_vmax at
 *    100 %) times the series cell count, plus an internal resistance.  For a terminal power P
 *    the current solves P = (OCV - I R) I; the SoC moves by OCV x I x dt (so I^2 R losses are
 *    paid by the pack and heat it).  Current and power are positive when discharging
 *    (V3/main/metrics_standard.h; the Leaf module negates the BMS current to meet it).
 *  - Drive: the speed follows the target of the current section within the acceleration
 *    limit and a braking envelope (v <= sqrt(v_next^2 + 2 b d)), so a drive ends standing
 *    still exactly at its distance.  Traction power is consumption x speed plus the kinetic
 *    term m a v (divided by 0.9 when accelerating, times the regeneration share when braking).
 *  - Charging: prepare -> charging (constant power, the smaller of the charger, the car's
 *    on-board charger/DC limit and the current limit) -> topoff above the taper SoC where power
 *    falls linearly towards 8 % at 100 % (CC/CV) -> done at the target SoC.  v.c.kwh counts
 *    what the charger delivered, v.c.kwh.grid what it drew (delivered / efficiency).
 *  - Temperatures relax exponentially towards their drivers (ambient, set point, heat from
 *    I^2 R, motor and charger load).
 */
#include "scenario/physics.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/array.h"
#include "core/error.h"
#include "core/loop.h"
#include "model/metrics.h"
#include "core/rng.h"
#include "model/sim.h"
#include "core/xalloc.h"

#define EARTH_KM 6371.0088
#define DEG (M_PI / 180.0)

static const char *const metric_names[PM_COUNT_] = {
#define X(id, name) name,
  PHYSICS_METRICS(X)
#undef X
};

/* ---- helpers -------------------------------------------------------------------------------- */

static double clampd(double x, double lo, double hi)
{
  return x < lo ? lo : x > hi ? hi : x;
}

static double quant(double x, double step)
{
  double r = round(x / step) * step;
  return r == 0 ? 0 : r; /* no "-0" */
}

/* Moves x towards target with time constant tau (s). */
static double relax(double x, double target, double tau, double dt)
{
  if (tau <= 0)
    return target;
  return target + (x - target) * exp(-dt / tau);
}

static double noise(struct physics *p, double sd)
{
  return p->noise ? sim_rng_gauss(&p->sim->rng) * sd : 0;
}

static void setf(struct physics *p, enum physics_metric id, double v)
{
  if (p->m[id])
    metric_set_float(p->m[id], v);
}

static void seti(struct physics *p, enum physics_metric id, int32_t v)
{
  if (p->m[id])
    metric_set_int(p->m[id], v);
}

static void setb(struct physics *p, enum physics_metric id, bool v)
{
  if (p->m[id])
    metric_set_bool(p->m[id], v);
}

static void sets(struct physics *p, enum physics_metric id, const char *v)
{
  if (p->m[id])
    metric_set_string(p->m[id], v);
}

/* Fraction of the cell voltage span at soc (%): an NMC-like OCV curve, steep below 10 %,
 * flat in the middle, rising towards full. */
static const double ocv_tab[][2] = {
  {0, 0.00},  {5, 0.18},  {10, 0.28}, {20, 0.38}, {30, 0.45}, {40, 0.51},
  {50, 0.56}, {60, 0.62}, {70, 0.70}, {80, 0.79}, {90, 0.89}, {100, 1.00}};

double physics_ocv(const struct scenario_vehicle *veh, double soc)
{
  soc = clampd(soc, 0, 100);
  size_t n = ARRAY_SIZE(ocv_tab);
  double f = 1;
  for (size_t i = 1; i < n; i++) {
    if (soc <= ocv_tab[i][0]) {
      double t = (soc - ocv_tab[i - 1][0]) / (ocv_tab[i][0] - ocv_tab[i - 1][0]);
      f = ocv_tab[i - 1][1] + t * (ocv_tab[i][1] - ocv_tab[i - 1][1]);
      break;
    }
  }
  return veh->cells * (veh->cell_vmin + f * (veh->cell_vmax - veh->cell_vmin));
}

double physics_distance_km(double lat1, double lon1, double lat2, double lon2)
{
  double p1 = lat1 * DEG, p2 = lat2 * DEG;
  double dp = (lat2 - lat1) * DEG, dl = (lon2 - lon1) * DEG;
  double a = sin(dp / 2) * sin(dp / 2) + cos(p1) * cos(p2) * sin(dl / 2) * sin(dl / 2);
  return 2 * EARTH_KM * atan2(sqrt(a), sqrt(1 - a));
}

double physics_bearing(double lat1, double lon1, double lat2, double lon2)
{
  double p1 = lat1 * DEG, p2 = lat2 * DEG, dl = (lon2 - lon1) * DEG;
  double y = sin(dl) * cos(p2);
  double x = cos(p1) * sin(p2) - sin(p1) * cos(p2) * cos(dl);
  double b = atan2(y, x) / DEG;
  return fmod(b + 360.0, 360.0);
}

/* ---- init ----------------------------------------------------------------------------------- */

int physics_init(struct physics *p, struct sim *sim, const struct scenario_vehicle *veh)
{
  memset(p, 0, sizeof(*p));
  p->sim = sim;
  p->veh = veh;
  p->noise = veh->noise;
  for (int i = 0; i < PM_COUNT_; i++) {
    p->m[i] = metrics_find(sim->metrics, metric_names[i]);
    if (!p->m[i])
      return SIM_ENOTFOUND;
  }
  p->soc = veh->soc;
  p->soh = veh->soh;
  p->cap_kwh = veh->capacity_kwh * veh->soh / 100.0;
  p->avg_cons = veh->consumption;
  p->amb = p->amb_from = p->amb_to = veh->ambient;
  p->cabin = veh->cabin_temp;
  p->btemp = veh->battery_temp;
  p->mtemp = p->itemp = p->ctemp = veh->ambient;
  p->setpoint = veh->setpoint;
  p->locked = veh->locked;
  p->odometer = veh->odometer;
  p->lat = veh->location.lat;
  p->lon = veh->location.lon;
  p->alt = veh->location.alt;
  p->heading = veh->heading;
  p->location = veh->location.name ? xstrdup(veh->location.name) : NULL;
  p->limit_soc = veh->charge_limit;
  p->v12 = veh->v12;
  p->sats = 10;
  p->hdop = 1.0;
  for (int i = 0; veh->noise && i < veh->cells && i < 400; i++) {
    p->cell_dv[i] = (float)(sim_rng_gauss(&sim->rng) * 0.004); /* +/- 4 mV */
    p->cell_dt[i] = (float)(sim_rng_gauss(&sim->rng) * 0.8);   /* +/- 0.8 degC */
  }
  snprintf(p->mode, sizeof(p->mode), "standard");
  p->ocv = physics_ocv(veh, p->soc);
  p->pack_v = p->ocv;
  p->last_ideal = -1;

  sets(p, PM_TYPE, veh->type ? veh->type : "DEMO");
  if (veh->vin)
    sets(p, PM_VIN, veh->vin);
  if (veh->tpms_kpa[0] > 0 || veh->tpms_kpa[1] > 0 || veh->tpms_kpa[2] > 0 ||
      veh->tpms_kpa[3] > 0) {
    float t[4];
    for (int i = 0; i < 4; i++)
      t[i] = (float)veh->tpms_kpa[i];
    metric_set_vec_float(p->m[PM_TPMS], t, 4);
  }
  /* v.c.state stays undefined until the car is first plugged in: setting it raises the
   * charge notifications of the vehicle framework (a "charge.stopped" alert at start-up). */
  sets(p, PM_CMODE, p->mode);
  setb(p, PM_CTIMERMODE, false);
  setb(p, PM_ALARM, false);
  setb(p, PM_VALET, false);
  sets(p, PM_GPSMODE, "AA");
  physics_publish(p);
  return 0;
}

void physics_cleanup(struct physics *p)
{
  free(p->route_cum);
  p->route_cum = NULL;
  free(p->location);
  p->location = NULL;
}

/* ---- drive ---------------------------------------------------------------------------------- */

void physics_drive_start(struct physics *p, const struct scenario_drive *d)
{
  if (p->plugged)
    physics_unplug(p);
  p->locked = false;
  for (int i = 0; i < DOOR_N; i++)
    p->doors[i] = false;
  p->drive = d;
  p->phase = PDP_READY;
  p->phase_t = 0;
  p->on = true;
  p->gear = 0;
  p->trip = 0;
  p->e_used = p->e_recd = p->c_used = p->c_recd = 0;
  p->driven_km = p->drive_s = 0;
  p->cruise_jitter = 0;
  free(p->location);
  p->location = NULL;
  free(p->route_cum);
  p->route_cum = NULL;
  p->route_km = 0;
  if (d->n_route >= 2) {
    p->route_cum = xcalloc(d->n_route, sizeof(double));
    for (size_t i = 1; i < d->n_route; i++)
      p->route_cum[i] = p->route_cum[i - 1] +
                        physics_distance_km(d->route[i - 1].lat, d->route[i - 1].lon,
                                            d->route[i].lat, d->route[i].lon);
    p->route_km = p->route_cum[d->n_route - 1];
    p->lat = d->route[0].lat + p->dlat;
    p->lon = d->route[0].lon + p->dlon;
    p->alt = d->route[0].alt;
    p->heading = physics_bearing(d->route[0].lat, d->route[0].lon, d->route[1].lat,
                                 d->route[1].lon);
  }
  p->target_s = d->duration;
  p->target_km = d->distance > 0 ? d->distance : (d->duration > 0 ? 0 : p->route_km);
  if (p->target_km <= 0 && p->target_s <= 0)
    p->target_km = 0.001;
}

bool physics_drive_active(const struct physics *p)
{
  return p->phase != PDP_NONE;
}

/* Route position (km along the route's straight legs) for the distance driven. */
static double route_pos(const struct physics *p)
{
  if (p->route_km <= 0)
    return 0;
  if (p->target_km > 0)
    return clampd(p->driven_km / p->target_km, 0, 1) * p->route_km;
  return clampd(p->driven_km, 0, p->route_km);
}

/* Driven km at which route position pos (km) is reached. */
static double route_to_driven(const struct physics *p, double pos)
{
  if (p->target_km > 0 && p->route_km > 0)
    return pos / p->route_km * p->target_km;
  return pos;
}

static size_t route_leg(const struct physics *p, double pos)
{
  const struct scenario_drive *d = p->drive;
  size_t i = 0;
  while (i + 2 < d->n_route && pos >= p->route_cum[i + 1])
    i++;
  return i;
}

/* Cruise speed (km/h) at driven distance km, and the next boundary where it drops. */
static double cruise_at(const struct physics *p, double km, double *next_km, double *next_speed)
{
  const struct scenario_drive *d = p->drive;
  double v = d->speed;
  *next_km = -1;
  *next_speed = 0;
  if (d->n_profile) {
    double end = 0;
    for (size_t i = 0; i < d->n_profile; i++) {
      bool last = i + 1 == d->n_profile || d->profile[i].distance <= 0;
      end += d->profile[i].distance;
      if (last || km < end) {
        v = d->profile[i].speed;
        if (!last && d->profile[i + 1].speed < v) {
          *next_km = end;
          *next_speed = d->profile[i + 1].speed;
        }
        break;
      }
    }
  } else if (d->n_route >= 2 && p->route_km > 0) {
    double pos = route_pos(p);
    size_t i = route_leg(p, pos);
    if (d->route[i].speed > 0)
      v = d->route[i].speed;
    if (i + 2 < d->n_route) {
      double nv = d->route[i + 1].speed > 0 ? d->route[i + 1].speed : d->speed;
      if (nv < v) {
        *next_km = route_to_driven(p, p->route_cum[i + 1]);
        *next_speed = nv;
      }
    }
  }
  return fmin(v, p->veh->max_speed);
}

static void move_position(struct physics *p, double ds_km)
{
  const struct scenario_drive *d = p->drive;
  if (d && d->n_route >= 2 && p->route_km > 0) {
    double pos = route_pos(p);
    size_t i = route_leg(p, pos);
    const struct scenario_point *a = &d->route[i], *b = &d->route[i + 1];
    double leg = p->route_cum[i + 1] - p->route_cum[i];
    double t = leg > 0 ? clampd((pos - p->route_cum[i]) / leg, 0, 1) : 1;
    p->lat = a->lat + (b->lat - a->lat) * t + p->dlat;
    p->lon = a->lon + (b->lon - a->lon) * t + p->dlon;
    p->alt = a->alt + (b->alt - a->alt) * t;
    if (leg > 0)
      p->heading = physics_bearing(a->lat, a->lon, b->lat, b->lon);
    return;
  }
  double dr = ds_km / EARTH_KM;
  double h = p->heading * DEG;
  p->lat += dr * cos(h) / DEG;
  double c = cos(p->lat * DEG);
  if (fabs(c) > 1e-6)
    p->lon += dr * sin(h) / c / DEG;
  if (p->lon > 180)
    p->lon -= 360;
  if (p->lon < -180)
    p->lon += 360;
  p->lat = clampd(p->lat, -89.9, 89.9);
}

/* Two seconds after stopping: the car is off and parked at the route's last waypoint. */
static void drive_end(struct physics *p)
{
  const struct scenario_drive *d = p->drive;
  p->on = false;
  p->phase = PDP_NONE;
  if (d && d->n_route >= 2 && d->route[d->n_route - 1].name) {
    free(p->location);
    p->location = xstrdup(d->route[d->n_route - 1].name);
  }
  free(p->route_cum);
  p->route_cum = NULL;
  p->drive = NULL;
}

/* The highest speed (m/s) from which the car can still brake at b (m/s^2) to the next
 * section's speed, to the end of a distance target and by the end of a time target; sets the
 * remaining metres and seconds (1e12 without such a target). */
static double speed_allowed(const struct physics *p, double b, double next_km, double next_speed,
                            double *rem_m, double *rem_t)
{
  double v_allow = 1e9;
  *rem_m = 1e12;
  *rem_t = 1e12;
  if (p->target_km > 0) {
    *rem_m = (p->target_km - p->driven_km) * 1000.0;
    v_allow = sqrt(2 * b * fmax(*rem_m, 0));
  }
  if (next_km > p->driven_km) {
    double vn = next_speed / 3.6;
    v_allow = fmin(v_allow, sqrt(vn * vn + 2 * b * (next_km - p->driven_km) * 1000.0));
  }
  if (p->target_s > 0) {
    *rem_t = p->target_s - p->drive_s;
    v_allow = fmin(v_allow, b * fmax(*rem_t, 0));
  }
  return v_allow;
}

/* Throttle, regeneration and foot brake as a driver would use them for acceleration a. */
static void pedals(struct physics *p, double a, double amax, double b, double v_new)
{
  if (a > 0.05)
    p->throttle = clampd(10 + 70 * a / amax, 0, 100);
  else if (a > -0.2 && v_new > 0)
    p->throttle = clampd(8 + p->speed / 5, 0, 100);
  p->regen_active = a < -0.2;
  if (a < -0.5 * b)
    p->footbrake = clampd(-a / b * 50, 0, 100);
}

/* Resets the per-tick outputs and advances the phases around the motion: two seconds READY
 * before moving off, two seconds PARKING after stopping.  True while the car moves. */
static bool drive_phase(struct physics *p, double dt)
{
  p->accel = 0;
  p->p_trac = 0;
  p->throttle = 0;
  p->footbrake = 0;
  p->regen_active = false;
  if (p->phase == PDP_NONE)
    return false;
  p->phase_t += dt;
  if (p->phase == PDP_READY) {
    if (p->phase_t >= 2) {
      p->phase = PDP_MOVING;
      p->phase_t = 0;
      p->gear = 1;
    }
    return false;
  }
  if (p->phase == PDP_PARKING) {
    p->gear = 0;
    if (p->phase_t >= 2)
      drive_end(p);
    return false;
  }
  return dt > 0;
}

static void drive_tick(struct physics *p, double dt)
{
  const struct scenario_vehicle *veh = p->veh;
  if (!drive_phase(p, dt))
    return;
  const struct scenario_drive *d = p->drive;
  p->drive_s += dt;
  double amax = d->accel > 0 ? d->accel : veh->accel;
  double b = d->decel > 0 ? d->decel : veh->decel;
  double next_km, next_speed;
  double cruise = cruise_at(p, p->driven_km, &next_km, &next_speed);
  if (p->noise) {
    /* A slowly wandering offset (std. dev. about 0.5 km/h): drivers do not hold a speed
     * exactly, but they do not twitch every second either. */
    p->cruise_jitter += sim_rng_gauss(&p->sim->rng) * 0.1 - p->cruise_jitter * 0.02;
    p->cruise_jitter = clampd(p->cruise_jitter, -3, 3);
    cruise = fmax(1, cruise + p->cruise_jitter);
  }
  double v = p->speed / 3.6;
  double rem_m, rem_t;
  double v_allow = speed_allowed(p, b, next_km, next_speed, &rem_m, &rem_t);
  double v_tgt = fmin(cruise / 3.6, v_allow);
  double a = clampd((v_tgt - v) / dt, -1.5 * b, amax);
  double v_new = fmax(0, v + a * dt);
  double ds = (v + v_new) / 2 * dt;
  bool finished = false, flat = p->soc <= 0;
  if (flat) {
    /* a flat pack: the car stops where it is and the drive ends short of its target, so
     * that odometer, SoC and energy used stay consistent (no kilometres from an empty
     * battery) */
    v_new = 0;
    ds = v / 2 * dt;
    finished = true;
  } else if (p->target_km > 0 && (rem_m - ds <= 0.5 || (v_new < 0.3 && rem_m < 5))) {
    ds = fmax(rem_m, 0);
    v_new = 0;
    finished = true;
  } else if (p->target_s > 0 && rem_t <= 0) {
    v_new = 0;
    finished = true;
  }
  a = (v_new - v) / dt;
  double v_avg = ds / dt;
  double cons = d->consumption > 0 ? d->consumption : veh->consumption;
  double kin = veh->mass * a * v_avg / 1000.0; /* kW */
  p->p_trac = cons * v_avg * 3.6 / 1000.0 + (kin > 0 ? kin / 0.9 : kin * veh->regen);
  p->accel = a;
  p->speed = v_new * 3.6;
  p->driven_km += ds / 1000.0;
  p->odometer += ds / 1000.0;
  p->trip += ds / 1000.0;
  if (p->target_km > 0 && finished && !flat)
    p->driven_km = p->target_km;
  move_position(p, ds / 1000.0);
  pedals(p, a, amax, b, v_new);
  if (finished) {
    p->phase = PDP_PARKING;
    p->phase_t = 0;
    p->speed = 0;
    p->gear = 0;
  }
}

/* ---- charging ------------------------------------------------------------------------------- */

/* v.c.state of each charge state (idle and stopped show "stopped") */
static const char *const cstate_names[] = {
  [PCS_TIMERWAIT] = "timerwait", [PCS_PREPARE] = "prepare", [PCS_CHARGING] = "charging",
  [PCS_TOPOFF] = "topoff",       [PCS_DONE] = "done",
};

static const char *cstate_name(enum physics_charge_state s)
{
  return (size_t)s < ARRAY_SIZE(cstate_names) && cstate_names[s] ? cstate_names[s] : "stopped";
}

/* v.c.type of each charge type */
static const char *const ctype_names[] = {
  [CHARGE_TYPE1] = "type1", [CHARGE_TYPE2] = "type2", [CHARGE_CHADEMO] = "chademo",
  [CHARGE_CCS] = "ccs",
};

static const char *ctype_name(enum scenario_charge_type t)
{
  return (size_t)t < ARRAY_SIZE(ctype_names) ? ctype_names[t] : "type2";
}

int physics_charge_plug(struct physics *p, const struct scenario_charge *c)
{
  if (p->phase != PDP_NONE)
    return SIM_ESTATE;
  p->charge = *c;
  p->charge.mode = NULL;
  if (c->mode)
    snprintf(p->mode, sizeof(p->mode), "%s", c->mode);
  p->plugged = true;
  p->doors[DOOR_CP] = true;
  p->limit_soc = c->target_soc;
  p->climit = c->current;
  p->c_kwh = p->c_kwh_grid = 0;
  p->c_t = p->c_phase_t = 0;
  p->e_recd = p->c_recd = 0;
  p->charging = false;
  if (c->timer_start >= 0) {
    p->cstate = PCS_TIMERWAIT;
    p->substate = "timerwait";
  } else {
    p->cstate = PCS_PREPARE;
    p->substate = "onrequest";
  }
  sets(p, PM_CTYPE, ctype_name(c->type));
  return 0;
}

bool physics_charge_active(const struct physics *p)
{
  return p->plugged && (p->cstate == PCS_TIMERWAIT || p->cstate == PCS_PREPARE ||
                        p->cstate == PCS_CHARGING || p->cstate == PCS_TOPOFF);
}

/* The session ends (done or stopped): the charger no longer delivers. */
static void charge_end(struct physics *p, enum physics_charge_state cstate, const char *substate)
{
  p->cstate = cstate;
  p->charging = false;
  p->substate = substate;
}

int physics_charge_stop(struct physics *p, const char *substate)
{
  if (!physics_charge_active(p))
    return SIM_ESTATE;
  charge_end(p, PCS_STOPPED, substate);
  return 0;
}

int physics_charge_start(struct physics *p)
{
  if (!p->plugged)
    return SIM_ESTATE;
  if (p->cstate == PCS_PREPARE || p->cstate == PCS_CHARGING || p->cstate == PCS_TOPOFF)
    return SIM_ESTATE;
  if (p->soc >= p->limit_soc - 0.05)
    p->limit_soc = 100;
  if (p->soc >= 99.95)
    return SIM_ESTATE;
  p->charge.target_soc = p->limit_soc;
  p->charge.duration = 0;
  p->c_t = 0;
  p->c_phase_t = 0;
  p->cstate = PCS_PREPARE;
  p->substate = "onrequest";
  return 0;
}

void physics_unplug(struct physics *p)
{
  if (!p->plugged)
    return;
  if (physics_charge_active(p)) {
    p->cstate = PCS_STOPPED;
    p->substate = "interrupted";
  }
  p->plugged = false;
  p->charging = false;
  p->doors[DOOR_CP] = false;
  p->c_power = p->c_current = p->c_voltage = p->c_batt_kw = 0;
}

int physics_charge_current(struct physics *p, int amps)
{
  if (amps < 0 || amps > 1000)
    return SIM_ERANGE;
  p->climit = amps;
  p->charge.current = amps;
  return 0;
}

int physics_charge_mode(struct physics *p, const char *mode)
{
  static const char *const modes[] = {"standard", "storage", "range", "performance", NULL};
  for (int i = 0; modes[i]; i++) {
    if (!strcmp(mode, modes[i])) {
      snprintf(p->mode, sizeof(p->mode), "%s", mode);
      return 0;
    }
  }
  return SIM_EPARSE;
}

/* Share of the constant-current power the pack accepts at soc (CC/CV taper). */
static double taper(const struct physics *p, double soc)
{
  double t0 = p->charge.taper_soc;
  if (soc < t0 || t0 >= 100)
    return 1;
  return fmax(0.08, (100 - soc) / (100 - t0));
}

/* Constant-current power the charger delivers to the car (kW), before the taper. */
static double cc_power(const struct physics *p)
{
  const struct scenario_charge *c = &p->charge;
  double pw;
  if (c->dc) {
    pw = fmin(c->power, p->veh->dc_power);
    if (p->climit > 0)
      pw = fmin(pw, p->climit * p->pack_v / 1000.0);
    return pw; /* DC: what the station delivers is what the car gets */
  }
  pw = fmin(c->power, p->veh->ac_power);
  if (p->climit > 0)
    pw = fmin(pw, p->climit * c->voltage / 1000.0);
  return pw * c->efficiency;
}

static double hvac_kw(const struct physics *p)
{
  if (!p->hvac)
    return 0;
  double demand = fabs(p->setpoint - p->cabin) / 8.0;
  return p->veh->hvac_power * clampd(demand, 0.15, 1);
}

/* Minutes to charge from soc to target at the present charger power, with taper. */
static int minutes_to(const struct physics *p, double target)
{
  if (target <= p->soc)
    return 0;
  double cc = cc_power(p), t = 0, load = hvac_kw(p) + 0.05;
  for (double s = p->soc; s < target; s += 0.5) {
    double step = fmin(0.5, target - s);
    double kw = cc * taper(p, s) - load;
    if (kw <= 0.01)
      return -1;
    t += step / 100.0 * p->cap_kwh / kw * 60.0;
  }
  return (int)ceil(t);
}

static void charge_tick(struct physics *p, double dt, int64_t now_sec)
{
  p->c_batt_kw = 0;
  p->c_power = 0;
  p->c_current = 0;
  if (!p->plugged) {
    p->c_voltage = 0;
    return;
  }
  const struct scenario_charge *c = &p->charge;
  p->c_voltage = c->dc ? p->pack_v : c->voltage;
  switch (p->cstate) {
  case PCS_TIMERWAIT: {
    int64_t tod = now_sec % 86400;
    int64_t from = tod - (int64_t)ceil(dt);
    /* The timer time was passed in this tick (also across midnight). */
    if ((from < c->timer_start && c->timer_start <= tod) ||
        (from < 0 && c->timer_start >= from + 86400)) {
      p->cstate = PCS_PREPARE;
      p->substate = "scheduledstart";
      p->c_phase_t = 0;
    }
    break;
  }
  case PCS_PREPARE:
    p->c_phase_t += dt;
    if (p->c_phase_t >= c->prepare) {
      p->cstate = PCS_CHARGING;
      p->charging = true;
    }
    break;
  case PCS_CHARGING:
  case PCS_TOPOFF: {
    p->c_t += dt;
    double kw = cc_power(p) * taper(p, p->soc);
    p->cstate = p->soc >= c->taper_soc && c->taper_soc < 100 ? PCS_TOPOFF : PCS_CHARGING;
    p->c_batt_kw = kw;
    double eff = c->efficiency > 0 ? c->efficiency : 1;
    p->c_power = c->dc ? kw : kw / eff;
    p->c_current = c->dc ? kw * 1000.0 / fmax(p->pack_v, 1) : p->c_power * 1000.0 / c->voltage;
    p->c_kwh += kw * dt / 3600.0;
    p->c_kwh_grid += kw / eff * dt / 3600.0;
    p->c_kwh_grid_t += kw / eff * dt / 3600.0;
    break;
  }
  default: break;
  }
  if (p->hvac && !p->charging && p->cstate != PCS_PREPARE) {
    /* Plugged in but not charging: the charger feeds the climate system (pre-conditioning on
     * mains power), so the battery is spared. */
    double eff = c->efficiency > 0 ? c->efficiency : 1;
    double kw = hvac_kw(p) + 0.05;
    p->c_batt_kw = kw;
    p->c_power = c->dc ? kw : kw / eff;
    p->c_current = c->dc ? kw * 1000.0 / fmax(p->pack_v, 1) : p->c_power * 1000.0 / c->voltage;
    p->c_kwh_grid += kw / eff * dt / 3600.0;
    p->c_kwh_grid_t += kw / eff * dt / 3600.0;
  }
}

/* After the SoC moved: end of session checks. */
static void charge_after(struct physics *p)
{
  if (!p->plugged || (p->cstate != PCS_CHARGING && p->cstate != PCS_TOPOFF))
    return;
  if (p->soc >= p->charge.target_soc - 1e-9)
    charge_end(p, PCS_DONE, p->charge.target_soc < 100 ? "scheduledstop" : "onrequest");
  else if (p->charge.duration > 0 && p->c_t >= p->charge.duration)
    charge_end(p, PCS_STOPPED, "scheduledstop");
}

/* ---- body ----------------------------------------------------------------------------------- */

void physics_climate(struct physics *p, bool on, double setpoint)
{
  p->hvac = on;
  if (!isnan(setpoint))
    p->setpoint = setpoint;
}

void physics_lock(struct physics *p, bool locked)
{
  p->locked = locked;
}

void physics_valet(struct physics *p, bool on)
{
  p->valet = on;
}

void physics_wakeup(struct physics *p)
{
  p->wake_left = 300;
}

void physics_door(struct physics *p, enum scenario_door door, bool open)
{
  if (door == DOOR_CP && !open && p->plugged)
    physics_unplug(p);
  p->doors[door] = open;
}

void physics_ambient(struct physics *p, double target, double seconds)
{
  p->amb_from = p->amb;
  p->amb_to = target;
  p->amb_t = 0;
  p->amb_dur = seconds;
  if (seconds <= 0) {
    p->amb = target;
    p->amb_dur = 0;
  }
}

/* The metrics physics_sync() copies into a field as they are: a double, or a bool (flag). */
#define SYNC_D(pm, field) {PM_##pm, offsetof(struct physics, field), false}
#define SYNC_B(pm, field) {PM_##pm, offsetof(struct physics, field), true}
static const struct {
  enum physics_metric pm;
  size_t offset;
  bool flag;
} synced[] = {
  SYNC_D(CABIN, cabin),         SYNC_D(BTEMP, btemp),        SYNC_D(MTEMP, mtemp),
  SYNC_D(ITEMP, itemp),         SYNC_D(ODO, odometer),       SYNC_D(TRIP, trip),
  SYNC_D(SETPOINT, setpoint),   SYNC_D(LAT, lat),            SYNC_D(LON, lon),
  SYNC_D(ALT, alt),             SYNC_D(DIR, heading),        SYNC_D(CLRANGE, limit_range),
  SYNC_D(CLIMIT, climit),       SYNC_D(V12, v12),            SYNC_B(LOCKED, locked),
  SYNC_B(VALET, valet),         SYNC_B(HVAC, hvac),          SYNC_B(DFL, doors[DOOR_FL]),
  SYNC_B(DFR, doors[DOOR_FR]),  SYNC_B(DRL, doors[DOOR_RL]), SYNC_B(DRR, doors[DOOR_RR]),
  SYNC_B(DTRUNK, doors[DOOR_TRUNK]), SYNC_B(DHOOD, doors[DOOR_HOOD]),
  SYNC_B(DCP, doors[DOOR_CP]),
};
#undef SYNC_D
#undef SYNC_B

bool physics_sync(struct physics *p, struct metric *m)
{
  double v = metric_float(m);
  if (m == p->m[PM_SOC]) {
    p->soc = clampd(v, 0, 100);
  } else if (m == p->m[PM_SOH]) {
    p->soh = clampd(v, 1, 100);
    p->cap_kwh = p->veh->capacity_kwh * p->soh / 100.0;
  } else if (m == p->m[PM_ETEMP]) {
    p->amb = p->amb_to = v;
    p->amb_dur = 0;
  } else if (m == p->m[PM_CLSOC]) {
    p->limit_soc = clampd(v, 1, 100);
    p->charge.target_soc = p->limit_soc;
  } else if (m == p->m[PM_CMODE]) {
    snprintf(p->mode, sizeof(p->mode), "%s", metric_string(m));
  } else if (m == p->m[PM_LOCATION]) {
    free(p->location);
    p->location = metric_string(m)[0] ? xstrdup(metric_string(m)) : NULL;
  } else {
    for (size_t i = 0; i < ARRAY_SIZE(synced); i++)
      if (m == p->m[synced[i].pm]) {
        char *f = (char *)p + synced[i].offset;
        if (synced[i].flag)
          *(bool *)f = metric_bool(m);
        else
          *(double *)f = v;
        return true;
      }
    return false;
  }
  return true;
}

/* ---- the tick ------------------------------------------------------------------------------- */

static void battery_tick(struct physics *p, double dt)
{
  const struct scenario_vehicle *veh = p->veh;
  double load = 0;
  if (p->on)
    load += p->phase == PDP_MOVING ? p->p_trac : veh->aux_power;
  else if (p->charging || p->hvac)
    load += 0.05; /* electronics awake */
  load += hvac_kw(p);
  double pw = load - p->c_batt_kw; /* kW at the terminals, + = discharge */
  double r = veh->resistance;
  p->ocv = physics_ocv(veh, p->soc);
  double i;
  if (r > 0) {
    double disc = p->ocv * p->ocv - 4 * r * pw * 1000.0;
    i = disc > 0 ? (p->ocv - sqrt(disc)) / (2 * r) : p->ocv / (2 * r);
  } else {
    i = pw * 1000.0 / p->ocv;
  }
  p->pack_i = i;
  p->pack_v = p->ocv - i * r;
  p->pack_p = p->pack_v * i / 1000.0;
  if (dt <= 0)
    return;
  double e_chem = p->ocv * i * dt / 3600.0 / 1000.0; /* kWh out of the cells */
  p->soc = clampd(p->soc - e_chem / p->cap_kwh * 100.0, 0, 100);
  double e_term = p->pack_p * dt / 3600.0, ah = i * dt / 3600.0;
  if (e_term >= 0) {
    p->e_used += e_term;
    p->e_used_t += e_term;
    p->c_used += ah;
    p->c_used_t += ah;
  } else {
    p->e_recd -= e_term;
    p->e_recd_t -= e_term;
    p->c_recd -= ah;
    p->c_recd_t -= ah;
  }
  if (p->phase == PDP_MOVING && p->speed > 1) {
    double inst = p->pack_p / p->speed * 1000.0;
    double w = clampd(p->speed / 3600.0 * dt / 20.0, 0, 1); /* 20 km memory */
    p->avg_cons += (inst - p->avg_cons) * w;
    p->avg_cons = clampd(p->avg_cons, 50, 1000);
  }
}

static void thermal_tick(struct physics *p, double dt)
{
  const struct scenario_vehicle *veh = p->veh;
  if (dt <= 0)
    return;
  if (p->amb_dur > 0) {
    p->amb_t += dt;
    double f = clampd(p->amb_t / p->amb_dur, 0, 1);
    p->amb = p->amb_from + (p->amb_to - p->amb_from) * f;
    if (f >= 1)
      p->amb_dur = 0;
  }
  /* Pack: I^2 R heat against passive cooling; heat capacity 7.5 kJ/K per kWh. */
  double heat_c = fmax(veh->capacity_kwh, 1) * 7500.0;
  double tau = p->phase == PDP_MOVING ? 3 * 3600.0 : 8 * 3600.0;
  double q = p->pack_i * p->pack_i * veh->resistance - (p->btemp - p->amb) * heat_c / tau;
  p->btemp += q * dt / heat_c;
  /* Cabin. */
  if (p->hvac)
    p->cabin = relax(p->cabin, p->setpoint, 360, dt);
  else
    p->cabin = relax(p->cabin, p->amb, 2700, dt);
  p->heating = p->hvac && p->setpoint > p->amb;
  p->cooling = p->hvac && p->setpoint < p->amb;
  /* Drive train and charger. */
  double trac = fabs(p->p_trac);
  p->mtemp = relax(p->mtemp, p->amb + 0.8 * trac, 600, dt);
  p->itemp = relax(p->itemp, p->amb + 0.5 * trac, 300, dt);
  double ch = p->charging ? (p->charge.dc ? 0.1 * p->c_power : 2.5 * p->c_power) : 0;
  p->ctemp = relax(p->ctemp, p->amb + ch, 600, dt);
  /* 12 V: the DC/DC converter holds it at 14.2 V while the car is on, charging or heating. */
  bool dcdc = p->on || p->charging || p->hvac;
  p->v12 = relax(p->v12, dcdc ? 14.2 : veh->v12, dcdc ? 60 : 1200, dt);
  if (p->wake_left > 0)
    p->wake_left = fmax(0, p->wake_left - dt);
}

/*
 * True between sunset and sunrise at the car's position: solar time from UTC and longitude,
 * sunrise/sunset hour angle from the latitude and the solar declination of the day
 * (Cooper's approximation; no refraction or equation of time: good to some 15 minutes).
 */
static bool is_dark(const struct physics *p, int64_t utc)
{
  struct tm tm;
  time_t t = (time_t)utc;
  gmtime_r(&t, &tm);
  double decl = 23.44 * DEG * sin(2 * M_PI * (284 + tm.tm_yday + 1) / 365.0);
  double solar = tm.tm_hour + tm.tm_min / 60.0 + p->lon / 15.0;
  solar = fmod(solar + 48.0, 24.0);
  double x = -tan(p->lat * DEG) * tan(decl);
  if (x >= 1)
    return true; /* polar night */
  if (x <= -1)
    return false; /* midnight sun */
  double half = acos(x) / DEG / 15.0;
  return solar < 12 - half || solar > 12 + half;
}

static void gps_tick(struct physics *p)
{
  if (!p->noise)
    return;
  if (sim_rng_range(&p->sim->rng, 0, 29) == 0)
    p->sats = (int)clampd(p->sats + sim_rng_range(&p->sim->rng, -1, 1), 6, 14);
  p->hdop = quant(clampd(0.6 + (14 - p->sats) * 0.12 + noise(p, 0.05), 0.5, 5), 0.1);
}

void physics_step(struct physics *p, double dt)
{
  double ideal_before = p->last_ideal;
  drive_tick(p, dt);
  charge_tick(p, dt, sim_now_sec(p->sim->loop));
  battery_tick(p, dt);
  charge_after(p);
  thermal_tick(p, dt);
  gps_tick(p);
  double full = p->cap_kwh * 1000.0 / p->veh->ideal_consumption;
  double ideal = p->soc / 100.0 * full;
  if (dt > 0 && ideal_before >= 0)
    p->range_speed = (ideal - ideal_before) / dt * 3600.0;
  p->last_ideal = ideal;
  physics_publish(p);
}

/* Cell voltages and temperatures: the pack value plus each cell's fixed deviation; pack
 * statistics (v.b.p.*) from them. */
static void cell_publish(struct physics *p)
{
  const struct scenario_vehicle *veh = p->veh;
  int n = veh->cells < 400 ? veh->cells : 400;
  double cell = p->pack_v / veh->cells;
  double vs = 0, vs2 = 0, ts = 0, ts2 = 0;
  double vmin = 1e9, vmax = -1e9, tmin = 1e9, tmax = -1e9;
  for (int i = 0; i < n; i++) {
    double v = quant(cell + p->cell_dv[i], 0.001), t = quant(p->btemp + p->cell_dt[i], 0.5);
    p->cell_v[i] = (float)v;
    p->cell_t[i] = (float)t;
    vs += v, vs2 += v * v, ts += t, ts2 += t * t;
    vmin = fmin(vmin, v), vmax = fmax(vmax, v), tmin = fmin(tmin, t), tmax = fmax(tmax, t);
  }
  double vavg = vs / n, tavg = ts / n;
  setf(p, PM_PVAVG, quant(vavg, 0.001));
  setf(p, PM_PVMIN, vmin);
  setf(p, PM_PVMAX, vmax);
  setf(p, PM_PVSTD, quant(sqrt(fmax(0, vs2 / n - vavg * vavg)), 0.0001));
  setf(p, PM_PTAVG, quant(tavg, 0.1));
  setf(p, PM_PTMIN, tmin);
  setf(p, PM_PTMAX, tmax);
  setf(p, PM_PTSTD, quant(sqrt(fmax(0, ts2 / n - tavg * tavg)), 0.01));
  if (veh->cell_metrics) {
    metric_set_vec_float(p->m[PM_CELLV], p->cell_v, (size_t)n);
    metric_set_vec_float(p->m[PM_CELLT], p->cell_t, (size_t)n);
  }
}

/* The ideal range at 100 % SoC, km. */
static double full_range(const struct physics *p)
{
  return p->cap_kwh * 1000.0 / p->veh->ideal_consumption;
}

static void publish_battery(struct physics *p)
{
  const struct scenario_vehicle *veh = p->veh;
  double full = full_range(p);
  double ideal = p->soc / 100.0 * full;
  double cold = 1 + fmax(0, 15 - p->amb) * 0.01;
  double est = p->soc / 100.0 * p->cap_kwh * 1000.0 / (p->avg_cons * cold);
  setf(p, PM_SOC, quant(p->soc, 0.1));
  setf(p, PM_SOH, quant(p->soh, 0.1));
  setf(p, PM_CAPACITY, quant(p->cap_kwh, 0.1));
  setf(p, PM_CAC, quant(p->cap_kwh * 1000.0 / (veh->cells * 3.7), 0.1));
  double vn = noise(p, 0.1), in = fabs(p->pack_i) > 0.5 ? noise(p, 0.1) : 0;
  setf(p, PM_BVOLT, quant(p->pack_v + vn, 0.1));
  setf(p, PM_BCUR, quant(p->pack_i + in, 0.1));
  setf(p, PM_BPOW, quant(p->pack_p, 0.01));
  setf(p, PM_BTEMP, quant(p->btemp, 0.5));
  setf(p, PM_CONS, p->phase == PDP_MOVING && p->speed > 1
                       ? quant(p->pack_p / p->speed * 1000.0, 1) : 0);
  setf(p, PM_EUSED, quant(p->e_used, 0.001));
  setf(p, PM_ERECD, quant(p->e_recd, 0.001));
  setf(p, PM_EUSEDT, quant(p->e_used_t, 0.001));
  setf(p, PM_ERECDT, quant(p->e_recd_t, 0.001));
  setf(p, PM_CUSED, quant(p->c_used, 0.01));
  setf(p, PM_CRECD, quant(p->c_recd, 0.01));
  setf(p, PM_CUSEDT, quant(p->c_used_t, 0.01));
  setf(p, PM_CRECDT, quant(p->c_recd_t, 0.01));
  setf(p, PM_RFULL, quant(full, 1));
  setf(p, PM_RIDEAL, quant(ideal, 1));
  setf(p, PM_REST, quant(est, 1));
  setf(p, PM_RSPEED, quant(p->range_speed, 0.1));
  cell_publish(p);
}

static void publish_12v(struct physics *p)
{
  const struct scenario_vehicle *veh = p->veh;
  bool dcdc = p->on || p->charging || p->hvac;
  setf(p, PM_V12, quant(p->v12, 0.01));
  setf(p, PM_V12REF, veh->v12);
  setb(p, PM_V12ALERT, p->v12 < 11.8);
  setf(p, PM_C12V, dcdc ? quant(p->v12, 0.01) : 0);
  double i12 = dcdc ? (p->on ? veh->aux_power * 1000.0 : 60.0) / 14.2 : 0;
  setf(p, PM_C12I, quant(i12, 0.1));
  setf(p, PM_C12P, quant(i12 * p->v12, 1));
  setf(p, PM_C12T, quant(p->amb + (dcdc ? 8 : 0), 0.5));
  setb(p, PM_AUX12V, true);
  setb(p, PM_CHG12V, dcdc);
}

static void publish_charging(struct physics *p)
{
  const struct scenario_vehicle *veh = p->veh;
  double full = full_range(p);
  setb(p, PM_CHARGING, p->charging);
  setb(p, PM_CPILOT, p->plugged);
  if (p->cstate != PCS_IDLE)
    sets(p, PM_CSTATE, cstate_name(p->cstate));
  if (p->substate)
    sets(p, PM_CSUB, p->substate);
  sets(p, PM_CMODE, p->mode);
  setf(p, PM_CKWH, quant(p->c_kwh, 0.01));
  setf(p, PM_CKWHGRID, quant(p->c_kwh_grid, 0.01));
  setf(p, PM_CKWHGRIDT, quant(p->c_kwh_grid_t, 0.01));
  setf(p, PM_CVOLT, p->c_voltage > 0 ? quant(p->c_voltage + (p->charge.dc ? 0 : noise(p, 0.5)),
                                             0.1) : 0);
  setf(p, PM_CCUR, quant(p->c_current, 0.1));
  setf(p, PM_CPOW, quant(p->c_power, 0.01));
  if (p->plugged) {
    double cl = p->climit > 0 ? p->climit
                : p->charge.dc ? floor(fmin(p->charge.power, veh->dc_power) * 1000.0 / 400.0)
                : floor(fmin(p->charge.power, veh->ac_power) * 1000.0 / p->charge.voltage);
    setf(p, PM_CLIMIT, cl);
    setf(p, PM_CEFF, p->charging ? quant(p->charge.efficiency * 100, 0.1) : 0);
  }
  setf(p, PM_CTEMP, quant(p->ctemp, 0.5));
  bool active = p->charging || p->cstate == PCS_PREPARE;
  int dfull = active ? minutes_to(p, 100) : 0;
  int dsoc = active ? minutes_to(p, p->limit_soc) : 0;
  seti(p, PM_CDFULL, dfull < 0 ? 0 : dfull);
  seti(p, PM_CDSOC, dsoc < 0 ? 0 : dsoc);
  if (p->limit_range > 0 && full > 0) {
    int dr = active ? minutes_to(p, fmin(100, p->limit_range / full * 100.0)) : 0;
    seti(p, PM_CDRANGE, dr < 0 ? 0 : dr);
    setf(p, PM_CLRANGE, p->limit_range);
  }
  setf(p, PM_CLSOC, p->limit_soc);
  setb(p, PM_CTIMERMODE, p->plugged && p->charge.timer_start >= 0);
  if (p->plugged && p->charge.timer_start >= 0)
    seti(p, PM_CTIMERSTART, p->charge.timer_start);
}

static void publish_body(struct physics *p)
{
  static const enum physics_metric door_m[DOOR_N] = {PM_DFL, PM_DFR, PM_DRL, PM_DRR,
                                                     PM_DTRUNK, PM_DHOOD, PM_DCP};
  for (int i = 0; i < DOOR_N; i++)
    setb(p, door_m[i], p->doors[i]);
  setb(p, PM_ON, p->on);
  setb(p, PM_AWAKE, p->on || p->charging || p->cstate == PCS_PREPARE || p->hvac ||
                        p->wake_left > 0);
  setb(p, PM_LOCKED, p->locked);
  setb(p, PM_VALET, p->valet);
  seti(p, PM_GEAR, p->gear);
  setb(p, PM_HANDBRAKE, p->phase != PDP_MOVING);
  setf(p, PM_THROTTLE, quant(p->throttle, 1));
  setf(p, PM_FOOTBRAKE, quant(p->footbrake, 1));
  setb(p, PM_REGEN, p->regen_active);
  setf(p, PM_ETEMP, quant(p->amb, 0.5));
  setf(p, PM_CABIN, quant(p->cabin, 0.5));
  setf(p, PM_SETPOINT, p->setpoint);
  setb(p, PM_HVAC, p->hvac);
  setb(p, PM_HEATING, p->heating);
  setb(p, PM_COOLING, p->cooling);
  seti(p, PM_FAN, p->hvac ? (int)clampd(20 + fabs(p->setpoint - p->cabin) * 8, 20, 100) : 0);
  sets(p, PM_VENT, p->hvac ? (p->heating ? "feet,screen" : "face") : "");
  sets(p, PM_INTAKE, p->hvac ? "fresh" : "");
  setb(p, PM_HEADLIGHTS, p->on && is_dark(p, sim_now_sec(p->sim->loop)));
}

/* Drive train and GPS. */
static void publish_motion(struct physics *p)
{
  seti(p, PM_RPM, (int32_t)lround(p->speed * p->veh->rpm_per_kmh));
  setf(p, PM_MTEMP, quant(p->mtemp, 0.5));
  setf(p, PM_ITEMP, quant(p->itemp, 0.5));
  setf(p, PM_IPOW, quant(p->on ? p->p_trac : 0, 0.01));
  setf(p, PM_SPEED, quant(p->speed, 0.1));
  setf(p, PM_ACCEL, quant(p->accel, 0.01));
  setf(p, PM_ODO, quant(p->odometer, 0.1));
  setf(p, PM_TRIP, quant(p->trip, 0.1));

  /* GPS */
  setf(p, PM_LAT, p->lat);
  setf(p, PM_LON, p->lon);
  setf(p, PM_ALT, quant(p->alt, 0.1));
  setf(p, PM_DIR, quant(p->heading, 0.1));
  setb(p, PM_GPSLOCK, true);
  seti(p, PM_SATS, p->sats);
  seti(p, PM_GPSSQ, (int)clampd(30 + p->sats * 5, 0, 100));
  setf(p, PM_HDOP, p->hdop);
  setf(p, PM_GPSSPEED, p->speed > 0.5 ? quant(fmax(0, p->speed + noise(p, 0.3)), 0.1) : 0);
  if (p->m[PM_GPSTIME])
    metric_set_int64(p->m[PM_GPSTIME], sim_now_sec(p->sim->loop));
  sets(p, PM_LOCATION, p->location ? p->location : "");
}

void physics_publish(struct physics *p)
{
  /* in this order: the noise of each part comes from the one seeded generator */
  publish_battery(p);
  publish_12v(p);
  publish_charging(p);
  publish_body(p);
  publish_motion(p);
}
