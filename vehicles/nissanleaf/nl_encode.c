/*
 * nl_encode.c - the frames a Nissan Leaf sends, built from the current metrics (the simulated
 * car for hardware-in-the-loop benches).
 *
 * Each encoder is the exact inverse of the decoder in nissanleaf.c for the fields OVMS reads,
 * so encode -> decode gives the metrics back (to the resolution of the field).  The LBC frames
 * 0x1DB, 0x1DC and 0x55B carry the 2-bit PRUN counter in d6 and the CRC-8 (polynomial 0x85)
 * over d0..d6 in d7, as the firmware's leafcrc() and the Dala DBCs (LB_PRUN_55B 48|2, CRC_55B
 * 56|8) describe.  0x284 also carries the wheel speeds d0:d1/d2:d3 at 0.005 km/h (opendbc
 * nissan_leaf_2018.dbc WHEEL_SPEEDS_FRONT), so a DBC-based decoder sees the same speed.
 *
 * Periods: nominal values; the e-NV200 capture (traces/nissan_leaf/env200-2015-with-40kWh-
 * startup-nobridge.crtd) shows 0x1DB/0x1DA/0x1DC every ~20 ms and 0x390 every ~200 ms because
 * the logging module dropped frames, the firmware itself assumes 10 ms for 0x1DB (its energy
 * integration).  DLCs are those of the capture (0x421: 3 bytes).  0x50A, 0x54A, 0x54F,
 * 0x5B9 and 0x5BF go out every 100 ms like the other 0x5xx status frames (nominal; the
 * firmware does not depend on their rate), 0x5B9 with the capture's 7 bytes.
 */
#include <math.h>
#include <string.h>

#include "core/array.h"
#include "nissanleaf.h"

#define S(v) ((struct nl *)(v)->state)

static long clampl(double x, long lo, long hi)
{
  long r = lround(x);
  return r < lo ? lo : r > hi ? hi : r;
}

static void sign_lbc(uint8_t *d, uint8_t *prun)
{
  d[6] = (uint8_t)((d[6] & 0xFC) | (*prun & 3));
  *prun = (uint8_t)((*prun + 1) & 3);
  d[7] = nl_crc8(d, 7);
}

static int e_1db(struct vehicle *v, struct sim_frame *f, const void *arg)
{
  struct nl *s = S(v);
  uint8_t *d = f->data;
  (void)arg;
  if (!metric_is_defined(s->b_voltage))
    return 0;
  long ri = clampl(-metric_float(s->b_current) * 2, -1024, 1023) & 0x7FF;
  long rv = clampl(metric_float(s->b_voltage) * 2, 0, 1023);
  d[0] = (uint8_t)(ri >> 3);
  d[1] = (uint8_t)((ri & 7) << 5);
  d[2] = (uint8_t)(rv >> 2);
  d[3] = (uint8_t)((rv & 3) << 6);
  if (s->ze1)
    d[4] = 0;
  else
    d[4] = metric_is_defined(s->b_soc) ? (uint8_t)clampl(metric_float(s->b_soc), 0, 100) : 0x7F;
  sign_lbc(d, &s->prun_1db);
  return 1;
}

static int e_1da(struct vehicle *v, struct sim_frame *f, const void *arg)
{
  struct nl *s = S(v);
  uint8_t *d = f->data;
  (void)arg;
  if (!metric_is_defined(s->m_rpm))
    return 0;
  long rpm = metric_int(s->m_rpm);
  long rr = clampl((double)rpm * 2, -16384, 16383) & 0x7FFF;
  long torq = 0;
  if (rpm != 0)
    torq = clampl(metric_float(s->i_power) * 1000.0 / (rpm * 0.10472), -512, 511);
  long rt = (torq * 2) & 0x7FF;
  d[2] = (uint8_t)(rt >> 8);
  d[3] = (uint8_t)(rt & 0xFF);
  d[4] = (uint8_t)(rr >> 8);
  d[5] = (uint8_t)(rr & 0xFF);
  return 1;
}

static int e_1dc(struct vehicle *v, struct sim_frame *f, const void *arg)
{
  struct nl *s = S(v);
  uint8_t *d = f->data;
  (void)arg;
  if (!metric_is_defined(s->x_out_limit))
    return 0;
  long out = clampl(metric_float(s->x_out_limit) * 4, 0, 1023);
  long reg = clampl(metric_float(s->x_regen_limit) * 4, 0, 255);
  long chg = clampl(metric_float(s->x_charge_limit) * 10, 0, 1023);
  d[0] = (uint8_t)(out >> 2);
  d[1] = (uint8_t)(((out & 3) << 6) | (reg >> 2));
  d[2] = (uint8_t)(((reg & 3) << 4) | (chg >> 6));
  d[3] = (uint8_t)((chg & 0x3F) << 2);
  sign_lbc(d, &s->prun_1dc);
  return 1;
}

static int e_284(struct vehicle *v, struct sim_frame *f, const void *arg)
{
  struct nl *s = S(v);
  uint8_t *d = f->data;
  (void)arg;
  if (!metric_is_defined(s->p_speed))
    return 0;
  double kph = metric_float(s->p_speed);
  long wheel = clampl(fabs(kph) / 0.005, 0, 65535);
  long raw = clampl(fabs(kph) * s->speeddivisor, 0, 65535);
  d[0] = d[2] = (uint8_t)(wheel >> 8);
  d[1] = d[3] = (uint8_t)(wheel & 0xFF);
  d[4] = (uint8_t)(raw >> 8);
  d[5] = (uint8_t)(raw & 0xFF);
  return 1;
}

static int e_390(struct vehicle *v, struct sim_frame *f, const void *arg)
{
  struct nl *s = S(v);
  uint8_t *d = f->data;
  (void)arg;
  const char *st = metric_string(s->c_state);
  bool chademo = strcmp(metric_string(s->c_type), "chademo") == 0;
  bool pilot = metric_bool(s->c_pilot) || metric_bool(s->c_charging);
  int status;
  if (metric_bool(s->c_charging))
    status = chademo ? 0x01 : 0x04;
  else if (!strcmp(st, "done"))
    status = 0x02;
  else if (!strcmp(st, "timerwait"))
    status = 0x0C;
  else
    status = 0x08;
  double vac = metric_float(s->c_voltage);
  long power = clampl(metric_float(s->c_power) * 10, 0, 511);          /* 100 W */
  long pmax = clampl(metric_float(s->c_climit) * vac / 100.0, 0, 511);  /* 100 W */
  d[0] = (uint8_t)(power >> 8);
  d[1] = (uint8_t)(power & 0xFF);
  if (pilot && !chademo) {
    long code = clampl(vac / 110.0, 0, 3);
    if (code == 0)
      code = 2;
    d[3] = (uint8_t)(0x20 | (code << 3));
  }
  if (pilot && chademo)
    d[4] = 0x40;
  d[5] = (uint8_t)((status << 1) | (pmax >> 8));
  d[6] = (uint8_t)(pmax & 0xFF);
  return 1;
}

/*
 * 0x5BF: the J1772 pilot limit in d2 (whole amps: the decoder takes d2 / 5) and the charger
 * state in d4 (d_5bf, IncomingFrameCan1 case 0x5bf).  Its decoder writes v.c.climit and
 * v.c.pilot on every frame, as d_390 does from the 0x390 the car sends beside it, so the frame
 * carries what the module derives from that 0x390 (built by e_390 from the same metrics):
 *  - d2 = 5 x the 0x390 limit (100 W units / the decoded voltage: 110/220/330 V on AC, the
 *    0x1DB pack voltage, 0.5 V, on CHAdeMO; 0 unplugged);
 *  - d4 by the charge state, the codes that set the same charger status as 0x390's:
 *    charging 0x60 (CHAdeMO 0xB0, whose forced 120 A is only sent when the 0x390 limit is
 *    exactly 120 A, else 0x70 "starting to charge", which sets only the pilot), done 0x40,
 *    timerwait 0x30, else 0x28 (car on) or 0x38 (off/asleep, no change);
 *  - while plugged with a limit outside 1..32 A, where the decoder would clear the pilot, 0x70
 *    (charging) or 0x18 (cable plugged) instead, which set it.
 * When the 0x390 limit is not a whole number of amps from 0 to 51 (d2 0..255), no d2 gives
 * the same v.c.climit and the frame is held (not sent) until it is again, so v.c.climit and
 * v.c.pilot never alternate between the two frames.
 */
static int e_5bf(struct vehicle *v, struct sim_frame *f, const void *arg)
{
  struct nl *s = S(v);
  (void)arg;
  struct sim_frame g;
  memset(&g, 0, sizeof g);
  e_390(v, &g, NULL);
  const uint8_t *c = g.data;
  bool ac = (c[3] & 0x20) != 0, qc = (c[4] & 0x40) != 0;
  bool pilot = ac || qc; /* e_390 never sends the V2X code (d0 >> 4 == 9) */
  double cv = 0;
  if (ac)
    cv = ((c[3] >> 3) & 0x03) * 110;
  else if (qc && metric_is_defined(s->b_voltage))
    cv = clampl(metric_float(s->b_voltage) * 2, 0, 1023) / 2.0; /* as e_1db sends it */
  double lim = cv > 0 ? (double)((((c[5] & 0x01) << 8) | c[6]) * 100) / cv : 0;
  bool charging = metric_bool(s->c_charging);
  bool chademo = strcmp(metric_string(s->c_type), "chademo") == 0;
  const char *st = metric_string(s->c_state);
  uint8_t code;
  if (charging)
    code = !chademo ? 0x60 : lim == 120 ? 0xB0 : 0x70;
  else if (!strcmp(st, "done"))
    code = 0x40;
  else if (!strcmp(st, "timerwait"))
    code = 0x30;
  else
    code = metric_bool(s->e_on) ? 0x28 : 0x38;
  if (code != 0xB0) {
    if (lim != floor(lim) || lim > 51)
      return 0;
    if (pilot && !(lim >= 1 && lim <= 32) && code != 0x70)
      code = charging ? 0x70 : 0x18;
    f->data[2] = (uint8_t)(lim * 5);
  }
  f->data[4] = code;
  return 1;
}

static int e_54b(struct vehicle *v, struct sim_frame *f, const void *arg)
{
  struct nl *s = S(v);
  uint8_t *d = f->data;
  (void)arg;
  if (s->modelyear < 2016)
    return 0; /* the older HVAC codes are not a bit field: not encodable from metrics */
  bool hvac = metric_bool(s->e_hvac);
  d[1] = hvac ? (uint8_t)(0x40 | (metric_bool(s->e_heating) ? 0x01 : 0) |
                          (metric_bool(s->e_cooling) ? 0x10 : 0))
              : 0x08;
  static const struct { const char *n; uint8_t c; } vents[] = {
      {"off", 0x80}, {"face", 0x88}, {"face|feet", 0x90}, {"feet", 0x98},
      {"windscreen|feet", 0xA0}, {"windscreen", 0xA8}};
  static const struct { const char *n; uint8_t c; } intakes[] = {
      {"recirc", 0x09}, {"fresh", 0x12}, {"defrost", 0x92}};
  for (size_t i = 0; i < ARRAY_SIZE(vents); i++)
    if (!strcmp(metric_string(s->e_cabinvent), vents[i].n))
      d[2] = vents[i].c;
  for (size_t i = 0; i < ARRAY_SIZE(intakes); i++)
    if (!strcmp(metric_string(s->e_cabinintake), intakes[i].n))
      d[3] = intakes[i].c;
  long fan = clampl(metric_int(s->e_cabinfan) * 7 / 100.0, 0, 7);
  d[4] = (uint8_t)(fan << 3);
  return 1;
}

static int e_54c(struct vehicle *v, struct sim_frame *f, const void *arg)
{
  struct nl *s = S(v);
  (void)arg;
  f->data[5] = metric_bool(s->e_hvac) ? 0x01 : 0x00;
  f->data[6] = metric_is_defined(s->e_temp)
                   ? (uint8_t)clampl((metric_float(s->e_temp) + 40) * 2, 0, 254)
                   : 0xFF;
  return 1;
}

static int e_55a(struct vehicle *v, struct sim_frame *f, const void *arg)
{
  struct nl *s = S(v);
  (void)arg;
  if (!metric_is_defined(s->m_temp))
    return 0;
  f->data[1] = (uint8_t)clampl(metric_float(s->m_temp) * 9 / 5 + 32, 0, 255);
  f->data[2] = (uint8_t)clampl(metric_float(s->i_temp) * 9 / 5 + 32, 0, 255);
  return 1;
}

static int e_55b(struct vehicle *v, struct sim_frame *f, const void *arg)
{
  struct nl *s = S(v);
  uint8_t *d = f->data;
  (void)arg;
  long raw = metric_is_defined(s->x_soc_nominal)
                 ? clampl(metric_float(s->x_soc_nominal) * 10, 0, 1000)
                 : 0x3FF;
  d[0] = (uint8_t)(raw >> 2);
  d[1] = (uint8_t)((raw & 3) << 6);
  d[2] = 0xAA; /* LB_ALU_ANSWER as in the captures */
  sign_lbc(d, &s->prun_55b);
  return 1;
}

static int e_5bc(struct vehicle *v, struct sim_frame *f, const void *arg)
{
  struct nl *s = S(v);
  uint8_t *d = f->data;
  (void)arg;
  bool max = (s->mux_5bc & 1) && metric_is_defined(s->x_max_gids);
  s->mux_5bc++;
  long gids;
  if (max)
    gids = metric_int(s->x_max_gids);
  else if (metric_is_defined(s->x_gids))
    gids = metric_int(s->x_gids);
  else
    gids = 1023;
  gids = gids < 0 ? 0 : gids > 1023 ? 1023 : gids;
  d[0] = (uint8_t)(gids >> 2);
  d[1] = (uint8_t)((gids & 3) << 6);
  static const char *const reasons[] = {"normal", "capacity drop", "malfunction", "high temp",
                                        "low temp"};
  int reason = 0;
  for (int i = 0; i < 5; i++)
    if (!strcmp(metric_string(s->x_limit_reason), reasons[i]))
      reason = i;
  d[5] = (uint8_t)((reason << 5) | (max ? 0x10 : 0));
  d[6] = 0x1F; /* charge-time value 0x1FFF: none */
  d[7] = 0xFF;
  return 1;
}

static int e_5c0(struct vehicle *v, struct sim_frame *f, const void *arg)
{
  struct nl *s = S(v);
  (void)arg;
  if (!metric_is_defined(s->b_temp))
    return 0;
  f->data[0] = 0x40;
  f->data[2] = (uint8_t)clampl((metric_float(s->b_temp) + 40) * 2, 0, 255);
  return 1;
}

/* 0x180: throttle in d5, 0.5 % per bit (d_180); 0xFF = not available */
static int e_180(struct vehicle *v, struct sim_frame *f, const void *arg)
{
  struct nl *s = S(v);
  (void)arg;
  f->data[5] = metric_is_defined(s->e_throttle)
                   ? (uint8_t)clampl(metric_float(s->e_throttle) * 2, 0, 254)
                   : 0xFF;
  return 1;
}

/* 0x5A9: instrument range, 0.2 km per bit in d1 and the high nibble of d2 (d_5a9);
 * 0xFFF = not available */
static int e_5a9(struct vehicle *v, struct sim_frame *f, const void *arg)
{
  struct nl *s = S(v);
  (void)arg;
  long r = metric_is_defined(s->x_range_instrument)
               ? clampl(metric_float(s->x_range_instrument) * 5, 0, 0xFFE)
               : 0xFFF;
  f->data[1] = (uint8_t)(r >> 4);
  f->data[2] = (uint8_t)((r & 0x0F) << 4);
  return 1;
}

static int e_292(struct vehicle *v, struct sim_frame *f, const void *arg)
{
  struct nl *s = S(v);
  (void)arg;
  f->data[6] = (uint8_t)clampl(metric_float(s->e_footbrake) * 1.39, 0, 254);
  return 1;
}

static int e_355(struct vehicle *v, struct sim_frame *f, const void *arg)
{
  (void)v, (void)f, (void)arg; /* d6.5 = 0: the odometer in 0x5C5 is in km */
  return 1;
}

static int e_385(struct vehicle *v, struct sim_frame *f, const void *arg)
{
  struct nl *s = S(v);
  (void)arg;
  static const int idx[4] = {0, 1, 3, 2}; /* d2 FL, d3 FR, d4 RR, d5 RL */
  const float *p = s->t_pressure->data;
  if (!metric_is_defined(s->t_pressure))
    return 0;
  for (int k = 0; k < 4; k++) {
    double psi = 0;
    if ((uint32_t)idx[k] < s->t_pressure->n &&
        sim_unit_convert(p[idx[k]], SIM_UNIT_KPA, SIM_UNIT_PSI, &psi) == 0)
      f->data[2 + k] = (uint8_t)clampl(psi * 4, 0, 255);
  }
  return 1;
}

static int e_421(struct vehicle *v, struct sim_frame *f, const void *arg)
{
  struct nl *s = S(v);
  (void)arg;
  int g = metric_int(s->e_gear);
  int code = g < 0 ? 2 : g > 0 ? 4 : 1; /* R, D, P */
  f->data[0] = (uint8_t)(code << 3);
  return 1;
}

static int e_5b3(struct vehicle *v, struct sim_frame *f, const void *arg)
{
  struct nl *s = S(v);
  (void)arg;
  if (!metric_is_defined(s->b_soh))
    return 0;
  f->data[1] = (uint8_t)(clampl(metric_float(s->b_soh), 0, 127) << 1);
  return 1;
}

static int e_5c5(struct vehicle *v, struct sim_frame *f, const void *arg)
{
  struct nl *s = S(v);
  (void)arg;
  long odo = clampl(metric_float(s->p_odometer), 0, 0xFFFFFF);
  f->data[0] = metric_bool(s->e_handbrake) ? 0x04 : 0;
  f->data[1] = (uint8_t)(odo >> 16);
  f->data[2] = (uint8_t)(odo >> 8);
  f->data[3] = (uint8_t)odo;
  return 1;
}

/* 0x50A: heater granted, d6 bit 5 (d_50a, read on 2013+ cars only) */
static int e_50a(struct vehicle *v, struct sim_frame *f, const void *arg)
{
  struct nl *s = S(v);
  (void)arg;
  if (s->modelyear < 2013 || !metric_is_defined(s->x_heatergranted))
    return 0;
  f->data[6] = metric_bool(s->x_heatergranted) ? 0x20 : 0;
  return 1;
}

/* 0x54A: cabin set point, 0.5 C per bit in d4 (d_54a; the decoder halves with integer
 * division, so a half degree is lost, as in the firmware) */
static int e_54a(struct vehicle *v, struct sim_frame *f, const void *arg)
{
  struct nl *s = S(v);
  (void)arg;
  if (!metric_is_defined(s->e_cabinsetpoint))
    return 0;
  f->data[4] = (uint8_t)clampl(metric_float(s->e_cabinsetpoint) * 2, 0, 255);
  return 1;
}

/* 0x54F: cabin temperature in d0 (d_54f): ZE1 0.5 C per bit from -40 C, 0x50 = not
 * available; older cars degrees F, minus xnl.cabintempoffset, 20 = not available.  A value
 * that would encode as the "not available" code is sent one step up (0.5 C / 1 F). */
static int e_54f(struct vehicle *v, struct sim_frame *f, const void *arg)
{
  struct nl *s = S(v);
  (void)arg;
  uint8_t na = s->ze1 ? 0x50 : 20;
  long x = na;
  if (metric_is_defined(s->e_cabintemp)) {
    double c = metric_float(s->e_cabintemp);
    x = s->ze1 ? clampl((c + 40) * 2, 21, 199)
               : clampl((c - s->cabintempoffset) * 9 / 5 + 32, 0, 255);
    if (x == na)
      x++;
  }
  f->data[0] = (uint8_t)x;
  return 1;
}

/* 0x5B9: charge bars in d1 bits 7..3, 3 kW charge minutes d1 bits 2..0 ORed with d2
 * (d_5b9, as the firmware): minutes up to 255 go in d2 alone */
static int e_5b9(struct vehicle *v, struct sim_frame *f, const void *arg)
{
  struct nl *s = S(v);
  (void)arg;
  if (!metric_is_defined(s->x_chargebars) || !metric_is_defined(s->x_chargemin3kw))
    return 0;
  f->data[1] = (uint8_t)(clampl(metric_int(s->x_chargebars), 0, 31) << 3);
  f->data[2] = (uint8_t)clampl(metric_int(s->x_chargemin3kw), 0, 255);
  return 1;
}

static int e_60d(struct vehicle *v, struct sim_frame *f, const void *arg)
{
  struct nl *s = S(v);
  uint8_t *d = f->data;
  (void)arg;
  d[0] = (uint8_t)((metric_bool(s->d_trunk) ? 0x80 : 0) | (metric_bool(s->d_rr) ? 0x40 : 0) |
                   (metric_bool(s->d_rl) ? 0x20 : 0) | (metric_bool(s->d_fr) ? 0x10 : 0) |
                   (metric_bool(s->d_fl) ? 0x08 : 0) | (metric_bool(s->e_headlights) ? 0x02 : 0));
  /* a car in R or D is READY even when v.e.on was never set */
  bool on = metric_bool(s->e_on) || metric_int(s->e_gear) != 0;
  int start = on ? 3 : metric_bool(s->e_awake) ? 2 : 0;
  d[1] = (uint8_t)(start << 1);
  d[2] = metric_bool(s->e_locked) ? 0x18 : 0;
  return 1;
}

/* VCM 0x1D4: d6 bit 7 clear means the charge was interrupted (read only while charging), so it
 * is clear exactly when the car's charge state says so. */
static int e_1d4(struct vehicle *v, struct sim_frame *f, const void *arg)
{
  struct nl *s = S(v);
  (void)arg;
  f->data[6] = strcmp(metric_string(s->c_state), "interrupted") ? 0x80 : 0;
  return 1;
}

/* 0x59E: d2:d3 (12 bits) the capacity in GIDs as 0x5BC's max GIDs give it (read on 24 kWh
 * packs), d7 the ZE1 instrument SOC in 0.5 %.  Not sent before a capacity is known (the decoder
 * would read 0 kWh). */
static int e_59e(struct vehicle *v, struct sim_frame *f, const void *arg)
{
  struct nl *s = S(v);
  uint8_t *d = f->data;
  (void)arg;
  long gids;
  if (metric_is_defined(s->x_max_gids))
    gids = metric_int(s->x_max_gids);
  else if (metric_is_defined(s->x_e_capacity))
    gids = lround(metric_float(s->x_e_capacity) * 1000.0 / NL_WH_PER_GID);
  else
    return 0;
  gids = clampl((double)gids, 0, 4095);
  d[2] = (uint8_t)(gids >> 4);
  d[3] = (uint8_t)((gids & 0x0F) << 4);
  double soc = metric_is_defined(s->x_soc_instrument) ? metric_float(s->x_soc_instrument)
                                                      : metric_float(s->b_soc);
  d[7] = (uint8_t)clampl(soc * 2.0, 0, 200);
  return 1;
}

const struct vehicle_encoder nl_encoders[] = {
    {1, 0x1D4, 10, 7, e_1d4, NULL, "0x1D4 VCM charge interrupted flag"},
    {1, 0x1DA, 10, 8, e_1da, NULL, "0x1DA inverter rpm/torque"},
    {1, 0x1DB, 10, 8, e_1db, NULL, "0x1DB LBC current/voltage/SOC"},
    {1, 0x1DC, 10, 8, e_1dc, NULL, "0x1DC LBC power limits"},
    {1, 0x284, 20, 8, e_284, NULL, "0x284 speed"},
    {1, 0x390, 100, 8, e_390, NULL, "0x390 OBC status"},
    {1, 0x50A, 100, 8, e_50a, NULL, "0x50A heater granted"},
    {1, 0x54A, 100, 8, e_54a, NULL, "0x54A cabin set point"},
    {1, 0x54B, 100, 8, e_54b, NULL, "0x54B HVAC"},
    {1, 0x54C, 100, 8, e_54c, NULL, "0x54C ambient temperature"},
    {1, 0x54F, 100, 8, e_54f, NULL, "0x54F cabin temperature"},
    {1, 0x55A, 100, 8, e_55a, NULL, "0x55A motor/inverter temperature"},
    {1, 0x55B, 100, 8, e_55b, NULL, "0x55B LBC SOC"},
    {1, 0x59E, 100, 8, e_59e, NULL, "0x59E capacity / ZE1 instrument SOC"},
    {1, 0x5BC, 100, 8, e_5bc, NULL, "0x5BC GIDs"},
    {1, 0x5BF, 100, 8, e_5bf, NULL, "0x5BF J1772 pilot limit / charger state"},
    {1, 0x5C0, 500, 8, e_5c0, NULL, "0x5C0 battery temperature"},
    {2, 0x180, 10, 8, e_180, NULL, "0x180 throttle"},
    {2, 0x292, 40, 8, e_292, NULL, "0x292 footbrake"},
    {2, 0x355, 40, 8, e_355, NULL, "0x355 units"},
    {2, 0x385, 1000, 8, e_385, NULL, "0x385 TPMS"},
    {2, 0x421, 100, 3, e_421, NULL, "0x421 gear"},
    {2, 0x5A9, 100, 8, e_5a9, NULL, "0x5A9 instrument range"},
    {2, 0x5B3, 100, 8, e_5b3, NULL, "0x5B3 SOH"},
    {2, 0x5B9, 100, 7, e_5b9, NULL, "0x5B9 charge bars / 3 kW minutes"},
    {2, 0x5C5, 100, 8, e_5c5, NULL, "0x5C5 odometer/handbrake"},
    {2, 0x60D, 100, 8, e_60d, NULL, "0x60D doors/start state"},
};
const size_t nl_n_encoders = ARRAY_SIZE(nl_encoders);
