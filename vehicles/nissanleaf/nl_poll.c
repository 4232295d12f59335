/*
 * nl_poll.c - the Leaf's diagnostic polls (vehicle/poll.h): the firmware's poll lists, its
 * PollReply_* decoders, and the replies a simulated car's BMS (0x79B -> 0x7BB, bus 1) and VCM
 * (0x797 -> 0x79A, bus 2) give, built from the current metrics.
 *
 * Facts from openvehicles/Open-Vehicle-Monitoring-System-3 vehicle/OVMS.V3/components/
 * vehicle_nissanleaf/src/vehicle_nissanleaf.cpp at 1aa1daff19c5ad8532ba9fc887187c7f301539ac:
 * obdii_polls_ze1[] / obdii_polls_aze0[] (ids, services, intervals), PollReply_Battery (group 1:
 * 39, 41 or 51 bytes), PollReply_BMS_Volt (group 2: 196), PollReply_BMS_Shunt (group 6: 24),
 * PollReply_BMS_Temp (group 4: 14 or 29), PollReply_BMS_SOH (group 0x61: 329, ZE1),
 * PollReply_QC / PollReply_L0L1L2 (0x22 0x1203 / 0x1205: 2) and PollReply_VIN (group 0x81: 19).
 * The payloads are what the firmware's decoders get: the reply without its service byte and
 * PID.  The bytes the decoders do not read are filled from the reply captured in the comment of
 * PollReply_Battery (24 kWh example), so a reply looks like a real one.
 *
 * Consistency of the simulated replies: the cell voltages are v.b.c.voltage when it has 96
 * cells, else v.b.voltage / 96 each, and the pack voltage in group 2 is their sum; capacity
 * (Ah) is v.b.cac, else xnl newCarAh x v.b.soh; temperatures are v.b.c.temp, else v.b.temp;
 * the VIN is v.vin.  Not simulated: the balancing shunts (group 6 answers "none balancing";
 * the firmware's xnl.bms.balancing is a bitset<96>, wider than this model's bitsets), and the
 * ZE1's group 4 (29 bytes; its capture in the firmware is incomplete) is answered in the
 * 14-byte layout.
 */
#include <math.h>
#include <string.h>

#include "core/array.h"
#include "nissanleaf.h"

#define S(v) ((struct nl *)(v)->state)

#define BMS_TX 0x79B
#define BMS_RX 0x7BB
#define VCM_TX 0x797
#define VCM_RX 0x79A
#define NL_CELLS 96
#define NL_TEMPS 3

static uint32_t be(const uint8_t *d, int n)
{
  uint32_t x = 0;
  for (int i = 0; i < n; i++)
    x = x << 8 | d[i];
  return x;
}

static void put_be(uint8_t *d, uint32_t x, int n)
{
  for (int i = n - 1; i >= 0; i--, x >>= 8)
    d[i] = (uint8_t)x;
}

static uint32_t clampu(double x, uint32_t max)
{
  if (!(x > 0))
    return 0;
  return x >= max ? max : (uint32_t)lround(x);
}

/* ---- decoders (PollReply_*) ------------------------------------------------------------ */

/* The BMS framework's pack statistics over the cells set (BmsSetCellVoltage and
 * BmsSetCellTemperature complete a reading when every cell is set). */
static void pack_stats(const struct metric *cells, struct metric *mn, struct metric *mx,
                       struct metric *avg)
{
  if (!cells->n)
    return;
  const float *c = cells->data;
  float lo = c[0], hi = c[0];
  double sum = 0;
  for (uint32_t i = 0; i < cells->n; i++) {
    lo = c[i] < lo ? c[i] : lo;
    hi = c[i] > hi ? c[i] : hi;
    sum += c[i];
  }
  metric_set_float(mn, lo);
  metric_set_float(mx, hi);
  metric_set_float(avg, sum / cells->n);
}

static void dec_battery(struct vehicle *v, const struct vehicle_poll *p, const uint8_t *d,
                        size_t len)
{
  struct nl *s = S(v);
  (void)p;
  if (len != 39 && len != 41 && len != 51)
    return;
  uint32_t hx, ah10000;
  if (len == 51) {
    hx = be(d + 28, 2);
    ah10000 = be(d + 35, 3);
    metric_set_float(s->b_soc, be(d + 31, 3) / 10000.0);
    metric_set_float(s->x_hx, hx / 102.4);
  } else {
    hx = be(d + 26, 2);
    ah10000 = be(d + 33, 3);
    metric_set_float(s->x_hx, hx / 100.0);
  }
  float ah = (float)(ah10000 / 10000.0);
  metric_set_float(s->b_cac, ah);
  if (!s->kwh_capacity_read)
    metric_set_float(s->x_e_capacity, (ah * (float)metric_float(s->b_voltage)) / 1000.0);
  float soh = ah / (float)s->new_car_ah * 100; /* float arithmetic, as the firmware */
  metric_set_float(s->x_soh_newcar, soh);
  if (s->soh_newcar)
    metric_set_float(s->b_soh, soh);
}

static void dec_volt(struct vehicle *v, const struct vehicle_poll *p, const uint8_t *d,
                     size_t len)
{
  struct nl *s = S(v);
  (void)p;
  if (len != 196)
    return;
  for (int i = 0; i < NL_CELLS; i++) {
    int mv = (int)be(d + 2 * i, 2);
    if (mv < 5000)
      metric_set_vec_float_elem(s->c_cell_v, (size_t)i, (float)(mv / 1000.0));
  }
  if (s->c_cell_v->n == NL_CELLS)
    pack_stats(s->c_cell_v, s->p_vmin, s->p_vmax, s->p_vavg);
}

static void dec_temp(struct vehicle *v, const struct vehicle_poll *p, const uint8_t *d,
                     size_t len)
{
  struct nl *s = S(v);
  (void)p;
  if (len != 14 && len != 29)
    return;
  int32_t thermistor[4], temp_int[6];
  size_t out = 0;
  int i;
  for (i = 0; i < 4; i++) {
    thermistor[i] = (int32_t)be(d + i * 3, 2);
    temp_int[i] = d[i * 3 + 2];
    if (thermistor[i] != 0xffff)
      metric_set_vec_float_elem(s->c_cell_t, out++, (float)(-0.102 * (thermistor[i] - 710)));
  }
  temp_int[i++] = d[12];
  temp_int[i++] = d[13];
  metric_set_vec_int(s->x_thermistor, thermistor, 4);
  metric_set_vec_int(s->x_temp_int, temp_int, 6);
  if (s->c_cell_t->n >= NL_TEMPS)
    pack_stats(s->c_cell_t, s->p_tmin, s->p_tmax, s->p_tavg);
  metric_set_float(s->b_temp, metric_float(s->p_tmax));
}

static void dec_soh(struct vehicle *v, const struct vehicle_poll *p, const uint8_t *d,
                    size_t len)
{
  struct nl *s = S(v);
  (void)p;
  if (len != 329)
    return;
  float soh = (float)(be(d + 2, 2) / 100.0f);
  metric_set_float(s->x_soh_instrument, soh);
  if (!s->soh_newcar)
    metric_set_float(s->b_soh, soh);
}

static void dec_count(struct vehicle *v, const struct vehicle_poll *p, const uint8_t *d,
                      size_t len)
{
  struct nl *s = S(v);
  if (len != 2)
    return;
  uint32_t count = be(d, 2);
  if (count != 0xFFFF)
    metric_set_int(p->pid == 0x1203 ? s->x_count_qc : s->x_count_l0l1l2, (int32_t)count);
}

static void dec_vin(struct vehicle *v, const struct vehicle_poll *p, const uint8_t *d,
                    size_t len)
{
  struct nl *s = S(v);
  (void)p;
  if (len != 19)
    return;
  char buf[20];
  size_t n = strnlen((const char *)d, 19);
  memcpy(buf, d, n);
  buf[n] = 0;
  for (size_t i = 0; i < n; i++)
    if (buf[i] == 0x1b) /* the ESC the AZE0 returns */
      buf[i] = 0x20;
  metric_set_string(s->vin, buf);
}

/* ---- encoders (the simulated BMS / VCM) ------------------------------------------------- */

/* The 24 kWh group 1 reply of the PollReply_Battery comment, the template for the bytes the
 * firmware does not decode. */
static const uint8_t group1_template[41] = {
    0x00, 0x00, 0x02, 0x0d, 0x02, 0x87, 0x00, 0x00, 0x03, 0x63, 0xff, 0xff, 0xff, 0xff,
    0x00, 0x1c, 0x2a, 0xf8, 0x9a, 0x89, 0x2e, 0x4b, 0x03, 0xa4, 0x00, 0x5c, 0x26, 0x9a,
    0x00, 0x0e, 0xcf, 0x81, 0x00, 0x09, 0xd7, 0xb0, 0x80, 0x00, 0x01, 0x00, 0x00};

static double capacity_ah(struct nl *s)
{
  if (metric_is_defined(s->b_cac))
    return metric_float(s->b_cac);
  double soh = metric_is_defined(s->b_soh) ? metric_float(s->b_soh) : 100.0;
  return s->new_car_ah * soh / 100.0;
}

static size_t enc_battery(struct vehicle *v, const struct vehicle_poll *p, uint8_t *out,
                          size_t cap)
{
  struct nl *s = S(v);
  (void)p;
  size_t len = s->ze1 ? 51 : 39;
  if (cap < len)
    return 0;
  memset(out, 0xff, len);
  memcpy(out, group1_template, len < 41 ? len : 41);
  uint32_t ah10000 = clampu(capacity_ah(s) * 10000.0, 0xFFFFFF);
  double hx = metric_is_defined(s->x_hx) ? metric_float(s->x_hx) : 100.0;
  if (len == 51) {
    put_be(out + 28, clampu(hx * 102.4, 0xFFFF), 2);
    put_be(out + 31, clampu(metric_float(s->b_soc) * 10000.0, 0xFFFFFF), 3);
    put_be(out + 35, ah10000, 3);
  } else {
    put_be(out + 26, clampu(hx * 100.0, 0xFFFF), 2);
    put_be(out + 33, ah10000, 3);
  }
  return len;
}

/* Cell i's voltage: v.b.c.voltage, else the pack voltage shared evenly. */
static double cell_v(struct nl *s, int i)
{
  if (s->c_cell_v->n == NL_CELLS)
    return ((const float *)s->c_cell_v->data)[i];
  return metric_float(s->b_voltage) / NL_CELLS;
}

static size_t enc_volt(struct vehicle *v, const struct vehicle_poll *p, uint8_t *out,
                       size_t cap)
{
  struct nl *s = S(v);
  (void)p;
  if (cap < 196)
    return 0;
  uint32_t sum_mv = 0;
  for (int i = 0; i < NL_CELLS; i++) {
    uint32_t mv = clampu(cell_v(s, i) * 1000.0, 4999);
    put_be(out + 2 * i, mv, 2);
    sum_mv += mv;
  }
  put_be(out + 192, (sum_mv + 5) / 10, 2); /* pack = sum of the cells, 10 mV */
  put_be(out + 194, (sum_mv + 5) / 10, 2); /* bus voltage: the contactors are closed */
  return 196;
}

static double cell_t(struct nl *s, int i)
{
  if (s->c_cell_t->n >= NL_TEMPS)
    return ((const float *)s->c_cell_t->data)[i];
  return metric_is_defined(s->b_temp) ? metric_float(s->b_temp) : 20.0;
}

static size_t enc_temp(struct vehicle *v, const struct vehicle_poll *p, uint8_t *out,
                       size_t cap)
{
  struct nl *s = S(v);
  (void)p;
  if (cap < 14)
    return 0;
  /* packs 1, 2, (3 unused), 4 -> cells 0, 1, 2; thermistor = 710 - t / 0.102 */
  static const int slot[4] = {0, 1, -1, 2};
  double tmax = -100;
  for (int k = 0; k < 4; k++) {
    if (slot[k] < 0) {
      memset(out + 3 * k, 0xff, 3);
      continue;
    }
    double t = cell_t(s, slot[k]);
    tmax = t > tmax ? t : tmax;
    put_be(out + 3 * k, clampu(710 - t / 0.102, 0xFFFE), 2);
    out[3 * k + 2] = (uint8_t)lround(t);
  }
  out[12] = (uint8_t)lround(tmax);
  out[13] = 0;
  return 14;
}

static size_t enc_shunt(struct vehicle *v, const struct vehicle_poll *p, uint8_t *out,
                        size_t cap)
{
  (void)v;
  (void)p;
  if (cap < 24)
    return 0;
  memset(out, 0, 24);
  return 24;
}

static size_t enc_soh(struct vehicle *v, const struct vehicle_poll *p, uint8_t *out,
                      size_t cap)
{
  struct nl *s = S(v);
  (void)p;
  if (cap < 329)
    return 0;
  memset(out, 0, 329);
  double soh = metric_is_defined(s->b_soh) ? metric_float(s->b_soh) : 100.0;
  put_be(out + 2, clampu(soh * 100.0, 0xFFFF), 2);
  return 329;
}

static size_t enc_count(struct vehicle *v, const struct vehicle_poll *p, uint8_t *out,
                        size_t cap)
{
  struct nl *s = S(v);
  if (cap < 2)
    return 0;
  struct metric *m = p->pid == 0x1203 ? s->x_count_qc : s->x_count_l0l1l2;
  put_be(out, clampu(metric_float(m), 0xFFFE), 2);
  return 2;
}

static size_t enc_vin(struct vehicle *v, const struct vehicle_poll *p, uint8_t *out,
                      size_t cap)
{
  struct nl *s = S(v);
  (void)p;
  const char *vin = metric_string(s->vin);
  size_t n = strlen(vin);
  if (cap < 19 || n == 0)
    return 0;
  memset(out, 0, 19);
  memcpy(out, vin, n > 17 ? 17 : n);
  return 19;
}

/* ---- the poll lists --------------------------------------------------------------------- */

#define BMS(pid, i1, i2, i3, dec, enc, name)                                                   \
  {1, BMS_TX, BMS_RX, VEHICLE_POLL_OBDIIGROUP, pid, {0, i1, i2, i3}, dec, enc, name}

/* The VCM's polls and BMS groups 1 and 2, the same in both lists. */
#define NL_POLLS_COMMON                                                                        \
  {2, VCM_TX, VCM_RX, VEHICLE_POLL_OBDIIGROUP, 0x81, {0, 3600, 0, 0}, dec_vin, enc_vin,         \
   "VCM VIN"},                                                                                 \
  {2, VCM_TX, VCM_RX, VEHICLE_POLL_READDATA, 0x1203, {0, 0, 0, 3600}, dec_count, enc_count,     \
   "VCM quick charge count"},                                                                  \
  {2, VCM_TX, VCM_RX, VEHICLE_POLL_READDATA, 0x1205, {0, 0, 0, 3600}, dec_count, enc_count,     \
   "VCM L0/L1/L2 charge count"},                                                               \
  BMS(0x01, 60, 60, 60, dec_battery, enc_battery, "BMS battery"),                              \
  BMS(0x02, 60, 60, 60, dec_volt, enc_volt, "BMS cell voltages")

/* obdii_polls_ze1[] */
static const struct vehicle_poll nl_polls_ze1[] = {
    NL_POLLS_COMMON,
    BMS(0x06, 0, 0, 60, NULL, enc_shunt, "BMS shunts"),
    BMS(0x04, 180, 180, 180, dec_temp, enc_temp, "BMS temperatures"),
    BMS(0x61, 900, 900, 900, dec_soh, enc_soh, "BMS SOH"),
};

/* obdii_polls_aze0[] */
static const struct vehicle_poll nl_polls_aze0[] = {
    NL_POLLS_COMMON,
    BMS(0x06, 60, 60, 60, NULL, enc_shunt, "BMS shunts"),
    BMS(0x04, 180, 180, 180, dec_temp, enc_temp, "BMS temperatures"),
};

#define NS(m, n) VM_STD(struct nl, m, n)
#define NX(m, n, t, u, st) VM_NEW(struct nl, m, n, t, u, st)

static const struct vehicle_metric_bind nl_poll_binds[] = {
    NS(b_cac, "v.b.cac"), NS(c_cell_v, "v.b.c.voltage"), NS(c_cell_t, "v.b.c.temp"),
    NS(p_tmax, "v.b.p.temp.max"), NS(p_tmin, "v.b.p.temp.min"), NS(p_tavg, "v.b.p.temp.avg"),
    NS(p_vmax, "v.b.p.voltage.max"), NS(p_vmin, "v.b.p.voltage.min"),
    NS(p_vavg, "v.b.p.voltage.avg"), NS(vin, "v.vin"),
    NX(x_hx, "xnl.v.b.hx", METRIC_FLOAT, SIM_UNIT_NATIVE, SM_STALE_HIGH),
    NX(x_soh_newcar, "xnl.v.b.soh.newcar", METRIC_FLOAT, SIM_UNIT_PERCENT, SM_STALE_HIGH),
    NX(x_thermistor, "xnl.bms.thermistor", METRIC_VEC_INT, SIM_UNIT_NATIVE, SM_STALE_MIN),
    NX(x_temp_int, "xnl.bms.temp.int", METRIC_VEC_INT, SIM_UNIT_CELSIUS, SM_STALE_MIN),
    NX(x_count_qc, "xnl.v.c.count.qc", METRIC_INT, SIM_UNIT_NATIVE, SM_STALE_NONE),
    NX(x_count_l0l1l2, "xnl.v.c.count.l0l1l2", METRIC_INT, SIM_UNIT_NATIVE, SM_STALE_NONE),
};

int nl_poll_init(struct vehicle *v, struct sim_diag *d)
{
  return vehicle_bind_metrics(v, nl_poll_binds, ARRAY_SIZE(nl_poll_binds),
                              d);
}

void nl_poll_select(struct vehicle *v)
{
  struct nl *s = S(v);
  s->new_car_ah = vehicle_cfg_float(v, "newCarAh", NL_NEW_CAR_AH);
  if (!(s->new_car_ah > 0))
    s->new_car_ah = NL_NEW_CAR_AH;
  if (s->ze1) {
    v->polls = nl_polls_ze1;
    v->n_polls = ARRAY_SIZE(nl_polls_ze1);
  } else {
    v->polls = nl_polls_aze0;
    v->n_polls = ARRAY_SIZE(nl_polls_aze0);
  }
}
