/*
 * mi_poll.c - the i-MiEV's diagnostic polls (vehicle/poll.h): the firmware's poll list, its
 * IncomingPollReply decoding, and the replies the simulated car's ECUs give from the metrics.
 *
 * Facts from openvehicles/Open-Vehicle-Monitoring-System-3 vehicle/OVMS.V3/components/
 * vehicle_mitsubishi/src/vehicle_mitsubishi.cpp (vehicle_mitsubishi_polls[], poll states 0 off,
 * 1 on, 2 charging) and mi_can_poll.cpp (IncomingPollReply) at
 * 1aa1daff19c5ad8532ba9fc887187c7f301539ac: BMU 0x761 -> 0x762 groups 1 (SOC real / display,
 * capacity, remaining capacity, charge / discharge power limits), 2 (88 cell voltages in blocks
 * of 24 bytes) and 3 (66 cell temperatures), OBC 0x765 -> 0x766 group 1 (logged only), HVAC
 * 0x771 -> 0x772 group 0x13 (cabin and ambient temperature), meter 0x782 -> 0x783 group 0xCE
 * (trip A / B, 24-bit little-endian, 0.1 km).  As the firmware, cell voltages and temperatures
 * from polls are ignored once the 0x6E1..0x6E4 broadcasts were seen.
 *
 * The reply lengths of the real ECUs are not in the firmware; the simulated ECUs answer with
 * the shortest reply that holds every byte the firmware reads (group 1: 33, group 2: 272,
 * group 3: 69, 0x13: 7, 0xCE: 6, OBC: 8 bytes of zeros).  The firmware's xmi.e.trip.A/B are
 * xmi.e.trip.a/b here: metric names in this model are lower case.
 */
#include <math.h>
#include <string.h>

#include "core/array.h"
#include "mitsubishi.h"

#define S(v) ((struct mi *)(v)->state)

/* The 24-byte blocks of group 2: first byte offset and first cell of each run of cells. */
static const struct { uint16_t off; uint8_t first, n; } volt_runs[] = {
    {0, 0, 8},    {24, 8, 8},   {48, 16, 8},  {72, 24, 8},  {96, 32, 8},   {120, 40, 4},
    {144, 44, 8}, {168, 52, 8}, {192, 60, 8}, {216, 68, 8}, {240, 76, 8},  {264, 84, 4},
};

static unsigned u8c(double x)
{
  if (!(x > 0))
    return 0;
  return x >= 255 ? 255 : (unsigned)lround(x);
}

static unsigned u16c(double x)
{
  if (!(x > 0))
    return 0;
  return x >= 65535 ? 65535 : (unsigned)lround(x);
}

static double num_or(const struct metric *m, double def)
{
  return metric_is_defined(m) ? metric_float(m) : def;
}

/* ---- BMU -------------------------------------------------------------------------------- */

static void dec_bmu1(struct vehicle *v, const struct vehicle_poll *p, const uint8_t *d,
                     size_t len)
{
  struct mi *s = S(v);
  (void)p;
  if (len < 33)
    return;
  metric_set_float(s->x_soc_real, d[0] * 0.5 - 5);
  metric_set_float(s->x_soc_display, d[1] * 0.5 - 5);
  metric_set_float(s->b_cac, ((d[27] << 8) | d[28]) * 0.1f);
  metric_set_float(s->x_cac_rem, ((d[29] << 8) | d[30]) * 0.1f);
  metric_set_float(s->x_max_input, d[31] * 0.25);
  metric_set_float(s->x_max_output, d[32] * 0.25);
}

static size_t enc_bmu1(struct vehicle *v, const struct vehicle_poll *p, uint8_t *out,
                       size_t cap)
{
  struct mi *s = S(v);
  (void)p;
  if (cap < 33)
    return 0;
  memset(out, 0, 33);
  double soc = num_or(s->b_soc, 50);
  double cac = num_or(s->b_cac, 45.0 * num_or(s->b_soh, 100) / 100.0);
  out[0] = (uint8_t)u8c((num_or(s->x_soc_real, soc) + 5) / 0.5);
  out[1] = (uint8_t)u8c((soc + 5) / 0.5);
  unsigned c = u16c(cac * 10), r = u16c(num_or(s->x_cac_rem, cac * soc / 100.0) * 10);
  out[27] = (uint8_t)(c >> 8);
  out[28] = (uint8_t)c;
  out[29] = (uint8_t)(r >> 8);
  out[30] = (uint8_t)r;
  out[31] = (uint8_t)u8c(num_or(s->x_max_input, 50) / 0.25);
  out[32] = (uint8_t)u8c(num_or(s->x_max_output, 50) / 0.25);
  return 33;
}

static void dec_bmu2(struct vehicle *v, const struct vehicle_poll *p, const uint8_t *d,
                     size_t len)
{
  struct mi *s = S(v);
  (void)p;
  if (len < 272 || s->has_broadcast)
    return;
  for (size_t r = 0; r < ARRAY_SIZE(volt_runs); r++)
    for (int i = 0; i < volt_runs[r].n; i++) {
      const uint8_t *b = d + volt_runs[r].off + 2 * i;
      metric_set_vec_float_elem(s->c_cell_v, (size_t)(volt_runs[r].first + i),
                                ((b[0] << 8) | b[1]) * 0.001f);
    }
}

static size_t enc_bmu2(struct vehicle *v, const struct vehicle_poll *p, uint8_t *out,
                       size_t cap)
{
  struct mi *s = S(v);
  (void)p;
  if (cap < 272)
    return 0;
  memset(out, 0, 272);
  bool have = s->c_cell_v->n >= MI_CELLS_V;
  double even = num_or(s->b_voltage, 330) / MI_CELLS_V;
  for (size_t r = 0; r < ARRAY_SIZE(volt_runs); r++)
    for (int i = 0; i < volt_runs[r].n; i++) {
      int cell = volt_runs[r].first + i;
      double cv = have ? ((const float *)s->c_cell_v->data)[cell] : even;
      unsigned mv = u16c(cv * 1000);
      out[volt_runs[r].off + 2 * i] = (uint8_t)(mv >> 8);
      out[volt_runs[r].off + 2 * i + 1] = (uint8_t)mv;
    }
  return 272;
}

static void dec_bmu3(struct vehicle *v, const struct vehicle_poll *p, const uint8_t *d,
                     size_t len)
{
  struct mi *s = S(v);
  (void)p;
  if (len < 69 || s->has_broadcast)
    return;
  for (int i = 0; i < 33; i++)
    metric_set_vec_float_elem(s->c_cell_t, (size_t)i, (float)(d[i] - 50.0));
  for (int i = 36; i < 69; i++)
    metric_set_vec_float_elem(s->c_cell_t, (size_t)(33 + i - 36), (float)(d[i] - 50.0));
}

static size_t enc_bmu3(struct vehicle *v, const struct vehicle_poll *p, uint8_t *out,
                       size_t cap)
{
  struct mi *s = S(v);
  (void)p;
  if (cap < 69)
    return 0;
  memset(out, 0xfe, 69);
  bool have = s->c_cell_t->n >= MI_CELLS_T;
  double t0 = num_or(s->b_temp, 20);
  for (int k = 0; k < MI_CELLS_T; k++) {
    double t = have ? ((const float *)s->c_cell_t->data)[k] : t0;
    out[k < 33 ? k : k + 3] = (uint8_t)u8c(t + 50);
  }
  return 69;
}

/* ---- OBC, HVAC, meter ------------------------------------------------------------------- */

static size_t enc_zero8(struct vehicle *v, const struct vehicle_poll *p, uint8_t *out,
                        size_t cap)
{
  (void)v;
  (void)p;
  if (cap < 8)
    return 0;
  memset(out, 0, 8);
  return 8;
}

static void dec_hvac(struct vehicle *v, const struct vehicle_poll *p, const uint8_t *d,
                     size_t len)
{
  struct mi *s = S(v);
  (void)p;
  if (len < 5)
    return;
  metric_set_float(s->e_cabintemp, d[2] * 0.25 - 16.0);
  metric_set_float(s->e_temp, d[4] * 0.3 - 29.0);
}

static size_t enc_hvac(struct vehicle *v, const struct vehicle_poll *p, uint8_t *out,
                       size_t cap)
{
  struct mi *s = S(v);
  (void)p;
  if (cap < 7)
    return 0;
  memset(out, 0, 7);
  out[2] = (uint8_t)u8c((num_or(s->e_cabintemp, 20) + 16.0) / 0.25);
  out[4] = (uint8_t)u8c((num_or(s->e_temp, 15) + 29.0) / 0.3);
  return 7;
}

static void dec_meter(struct vehicle *v, const struct vehicle_poll *p, const uint8_t *d,
                      size_t len)
{
  struct mi *s = S(v);
  (void)p;
  if (len < 6)
    return;
  metric_set_float(s->x_trip_a, (d[0] | d[1] << 8 | (uint32_t)d[2] << 16) * 0.1);
  metric_set_float(s->x_trip_b, (d[3] | d[4] << 8 | (uint32_t)d[5] << 16) * 0.1);
}

static size_t enc_meter(struct vehicle *v, const struct vehicle_poll *p, uint8_t *out,
                        size_t cap)
{
  struct mi *s = S(v);
  (void)p;
  if (cap < 6)
    return 0;
  struct metric *m[2] = {s->x_trip_a, s->x_trip_b};
  for (int k = 0; k < 2; k++) {
    double x = num_or(m[k], 0) * 10;
    uint32_t t = x > 0 ? (x >= 0xFFFFFF ? 0xFFFFFF : (uint32_t)lround(x)) : 0;
    out[3 * k] = (uint8_t)t;
    out[3 * k + 1] = (uint8_t)(t >> 8);
    out[3 * k + 2] = (uint8_t)(t >> 16);
  }
  return 6;
}

/* vehicle_mitsubishi_polls[] (poll bus 0 = the vehicle's can1) */
static const struct vehicle_poll mi_polls[] = {
    {1, 0x761, 0x762, VEHICLE_POLL_OBDIIGROUP, 0x01, {0, 10, 10, 0}, dec_bmu1, enc_bmu1,
     "BMU capacity"},
    {1, 0x761, 0x762, VEHICLE_POLL_OBDIIGROUP, 0x02, {0, 1, 1, 0}, dec_bmu2, enc_bmu2,
     "BMU cell voltages"},
    {1, 0x761, 0x762, VEHICLE_POLL_OBDIIGROUP, 0x03, {0, 1, 1, 0}, dec_bmu3, enc_bmu3,
     "BMU cell temperatures"},
    {1, 0x765, 0x766, VEHICLE_POLL_OBDIIGROUP, 0x01, {0, 1, 0, 0}, NULL, enc_zero8, "OBC"},
    {1, 0x771, 0x772, VEHICLE_POLL_OBDIIGROUP, 0x13, {0, 1, 1, 0}, dec_hvac, enc_hvac,
     "HVAC temperatures"},
    {1, 0x782, 0x783, VEHICLE_POLL_OBDIIGROUP, 0xCE, {0, 5, 0, 0}, dec_meter, enc_meter,
     "meter trip A/B"},
};

#define MS(m, n) VM_STD(struct mi, m, n)
#define MX(m, n, t, u) VM_NEW(struct mi, m, n, t, u, 10)

static const struct vehicle_metric_bind mi_poll_binds[] = {
    MS(e_cabintemp, "v.e.cabintemp"), MS(e_temp, "v.e.temp"),
    MX(x_soc_real, "xmi.b.soc.real", METRIC_FLOAT, SIM_UNIT_PERCENT),
    MX(x_soc_display, "xmi.b.soc.display", METRIC_FLOAT, SIM_UNIT_PERCENT),
    MX(x_cac_rem, "xmi.v.bat.cac.rem", METRIC_FLOAT, SIM_UNIT_AMPHOURS),
    MX(x_max_input, "xmi.v.bat.max.input", METRIC_FLOAT, SIM_UNIT_KW),
    MX(x_max_output, "xmi.v.bat.max.output", METRIC_FLOAT, SIM_UNIT_KW),
    MX(x_trip_a, "xmi.e.trip.a", METRIC_FLOAT, SIM_UNIT_KM),
    MX(x_trip_b, "xmi.e.trip.b", METRIC_FLOAT, SIM_UNIT_KM),
};

int mi_poll_init(struct vehicle *v, struct sim_diag *d)
{
  v->polls = mi_polls;
  v->n_polls = ARRAY_SIZE(mi_polls);
  return vehicle_bind_metrics(v, mi_poll_binds, ARRAY_SIZE(mi_poll_binds),
                              d);
}

int mi_poll_state(struct vehicle *v)
{
  struct mi *s = S(v);
  if (s->qc || s->sc)
    return 2;
  return metric_bool(s->e_on) ? 1 : 0;
}
