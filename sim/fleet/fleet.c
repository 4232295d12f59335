/*
 * fleet.c - N simulated modules on one loop (fleet.h).
 *
 * Each car is a struct sim made exactly as the program makes its one module: configuration
 * (the program's callback), vehicle id, notification queue (<state dir>/<vehicle id>/),
 * housekeeping, scenario run (varied), Server V3.  Every car exists from fleet_start() on (its
 * scenario runs from then); only Server V3 is started paced, one car every 1/connect_rate s
 * from one pacing timer, and the engine then waits conn.stable_wait + jitter before it
 * connects, as a module does after boot.  Statistics come from each car's v3 counters and
 * from a listener on its s.v3.connected metric (connect and reconnect times), and a 1 s
 * sampler notices full syncs.  The only timers are sim_timers in the loop's one heap: per car
 * those of its own components (v3 ticker, scenario tick, housekeeping), for the fleet the
 * pacer and the sampler.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "core/diag.h"
#include "core/error.h"
#include "core/loop.h"
#include "core/rng.h"
#include "core/xalloc.h"
#include "fleet/fleet.h"
#include "model/metrics.h"
#include "model/sim.h"
#include "notify/queue.h"
#include "scenario/scenario.h"
#include "vehicle/housekeeping.h"

struct car {
  struct fleet *f;
  struct sim *sim;
  size_t index;     /* over the whole fleet, 0-based */
  char *id;
  bool started, connected, ever, synced_once, synced;
  uint64_t syncs_at_connect;
};

struct fleet {
  struct sim_loop *loop;
  struct fleet_options o;
  struct v3_url url;
  struct car *cars;
  size_t n;
  size_t next_start;
  struct sim_timer pacer, sampler;
  int64_t wall_start;
  int64_t all_synced;  /* wall ns since start, -1 = not yet */
  size_t synced_once;
  size_t connected, ever;
  uint64_t reconnects;
  int64_t rc_first, rc_last;
  int64_t pacer_t0;    /* simulation time of fleet_start() */
  size_t start_errors; /* cars whose Server V3 could not start */
};

/* splitmix64: independent per-car seeds from the fleet seed and the car's index */


static uint64_t mix(uint64_t x)
{
  x += UINT64_C(0x9E3779B97F4A7C15);
  x = (x ^ (x >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  x = (x ^ (x >> 27)) * UINT64_C(0x94D049BB133111EB);
  return x ^ (x >> 31);
}

/* ---- per-car events ------------------------------------------------------------------------ */

static void on_connected(void *ctx, struct metric *m)
{
  struct car *c = ctx;
  struct fleet *f = c->f;
  bool up = metric_bool(m);
  if (up == c->connected)
    return;
  c->connected = up;
  if (!up) {
    f->connected--;
    c->synced = false;
    return;
  }
  f->connected++;
  c->syncs_at_connect = c->sim->v3 ? v3_get_stats(c->sim->v3)->full_syncs : 0;
  if (c->ever) {
    int64_t w = sim_wall_ns();
    f->reconnects++;
    if (!f->rc_first)
      f->rc_first = w;
    f->rc_last = w;
  } else {
    c->ever = true;
    f->ever++;
  }
}

static void on_sample(struct sim_loop *loop, struct sim_timer *t)
{
  struct fleet *f = t->data;
  (void)loop;
  for (size_t i = 0; i < f->n; i++) {
    struct car *c = &f->cars[i];
    if (!c->connected || c->synced || !c->sim->v3)
      continue;
    if (v3_get_stats(c->sim->v3)->full_syncs > c->syncs_at_connect) {
      c->synced = true;
      if (!c->synced_once) {
        c->synced_once = true;
        f->synced_once++;
      }
    }
  }
  if (f->all_synced < 0 && f->synced_once == f->n)
    f->all_synced = sim_wall_ns() - f->wall_start;
}

/* ---- creating and starting cars ------------------------------------------------------------ */

static void vary(struct fleet *f, struct car *c, struct scenario_variation *v)
{
  memset(v, 0, sizeof(*v));
  if (!f->o.vary)
    return;
  struct sim_rng r;
  sim_rng_seed(&r, mix(f->o.seed ^ mix(c->index + 1) ^ UINT64_C(0x766172)));
  v->soc = (sim_rng_double(&r) - 0.5) * 30;        /* +-15 % SoC */
  v->capacity = (sim_rng_double(&r) - 0.5) * 0.2;  /* +-10 % kWh */
  v->start_offset = sim_rng_double(&r) * 300;      /* 0..5 min later */
  v->dlat = (sim_rng_double(&r) - 0.5) * 0.04;     /* +-0.02 deg, about +-2 km */
  v->dlon = (sim_rng_double(&r) - 0.5) * 0.04;
}

static int car_make(struct fleet *f, struct car *c, struct sim_diag *d)
{
  struct sbuf id = SBUF_INIT;
  const struct fleet_user *u = f->o.users ? &f->o.users->v[c->index] : NULL;
  if (u)
    sbuf_adds(&id, u->vehicle_id);
  else
    fleet_format_id(f->o.pattern, f->o.offset + 1 + c->index, &id);
  c->id = sbuf_detach(&id);
  c->sim = sim_new(f->loop, f->o.profile, mix(f->o.seed ^ mix(c->index + 1)));
  c->sim->user = c;
  int rc = f->o.configure ? f->o.configure(f->o.configure_ctx, c->sim) : 0;
  if (rc < 0) {
    sim_diag_error(d, NULL, 0, 0, "%s: the configuration was refused", c->id);
    return SIM_ECONFIG;
  }
  if (sim_config_set(c->sim->config, "vehicle", "id", c->id, NULL) < 0) {
    sim_diag_error(d, NULL, 0, 0, "'%s' is not a valid vehicle id", c->id);
    return SIM_ECONFIG;
  }
  char *dir = NULL;
  if (f->o.state_dir) {
    struct sbuf p = SBUF_INIT;
    sbuf_printf(&p, "%s/%s", f->o.state_dir, c->id);
    dir = sbuf_detach(&p);
  }
  rc = sim_notify_open(c->sim, dir, d);
  free(dir);
  if (rc < 0)
    return rc;
  housekeeping_start(c->sim);
  metrics_listen(c->sim->metrics, "s.v3.connected", on_connected, c);
  return 0;
}

static int car_run_scenario(struct fleet *f, struct car *c, struct sim_diag *d)
{
  if (!f->o.scenario)
    return 0;
  struct scenario_variation v;
  vary(f, c, &v);
  int rc = scenario_start_varied(c->sim, f->o.scenario, &v, NULL);
  if (rc < 0)
    sim_diag_error(d, NULL, 0, 0, "%s: the scenario cannot start: %s", c->id,
                   sim_strerror(rc));
  return rc;
}

static int car_start_v3(struct fleet *f, struct car *c, struct sim_diag *d)
{
  struct v3_options vo = f->o.v3;
  char url[512];
  const struct fleet_user *u = f->o.users ? &f->o.users->v[c->index] : NULL;
  if (u && f->o.v3.broker && strcmp(f->o.v3.broker, "print")) {
    if (f->url.port)
      snprintf(url, sizeof(url), "%s://%s@%s:%d", f->url.tls ? "mqtts" : "mqtt", u->user,
               f->url.host, f->url.port);
    else
      snprintf(url, sizeof(url), "%s://%s@%s", f->url.tls ? "mqtts" : "mqtt", u->user,
               f->url.host);
    vo.broker = url;
    vo.password = u->password;
  }
  vo.client_id = NULL; /* the vehicle id, each car its own */
  c->started = true;
  return v3_start(c->sim, &vo, d);
}

static void on_pace(struct sim_loop *loop, struct sim_timer *t)
{
  struct fleet *f = t->data;
  /* cars due by now: with a high rate several per tick of the pacer */
  size_t due = f->n;
  if (f->o.connect_rate > 0) {
    double s = (double)(sim_monotonic(loop) - f->pacer_t0) / 1e9;
    due = (size_t)(s * f->o.connect_rate) + 1;
    if (due > f->n)
      due = f->n;
  }
  while (f->next_start < due) {
    struct car *c = &f->cars[f->next_start++];
    struct sim_diag d = SIM_DIAG_INIT;
    if (car_start_v3(f, c, &d) < 0)
      f->start_errors++;
    sim_diag_cleanup(&d);
  }
  if (f->next_start >= f->n)
    sim_timer_stop(loop, t);
}

/* ---- life cycle ------------------------------------------------------------------------------ */

static void raise_nofile(void)
{
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

int fleet_new(struct sim_loop *loop, const struct fleet_options *o, struct fleet **out,
              struct sim_diag *d)
{
  *out = NULL;
  struct fleet *f = xcalloc(1, sizeof(*f));
  f->loop = loop;
  f->o = *o;
  f->all_synced = -1;
  if (!f->o.pattern)
    f->o.pattern = FLEET_DEFAULT_PATTERN;
  int rc = 0;
  size_t first, count;
  fleet_shard_range(o->n, o->shard_i, o->shard_k, &first, &count);
  if (o->n == 0 || o->n > FLEET_MAX_TOTAL) {
    sim_diag_error(d, NULL, 0, 0, "a fleet has 1 to %d cars", FLEET_MAX_TOTAL);
    rc = SIM_ECONFIG;
  } else if (count == 0 || count > FLEET_MAX_CARS) {
    sim_diag_error(d, NULL, 0, 0,
                   "this shard has %zu cars: one process runs 1 to %d (use more shards)", count,
                   FLEET_MAX_CARS);
    rc = SIM_ECONFIG;
  } else if (!o->users && fleet_pattern_check(f->o.pattern, d) < 0) {
    rc = SIM_ECONFIG;
  } else if (o->users && o->users->n < o->n) {
    sim_diag_error(d, NULL, 0, 0, "the users file has %zu lines for %zu cars", o->users->n,
                   o->n);
    rc = SIM_ECONFIG;
  } else if (o->v3.broker && strcmp(o->v3.broker, "print") &&
             v3_url_parse(o->v3.broker, &f->url, d) < 0) {
    rc = SIM_ECONFIG;
  } else if (o->state_dir && mkdir(o->state_dir, 0700) < 0 && errno != EEXIST) {
    rc = -errno;
    sim_diag_error(d, NULL, 0, 0, "%s: %s", o->state_dir, strerror(-rc));
  }
  if (rc < 0) {
    free(f);
    return rc;
  }
  raise_nofile();
  v3_mqtt_single_fd(true);
  f->n = count;
  f->cars = xcalloc(f->n ? f->n : 1, sizeof(*f->cars));
  for (size_t i = 0; i < f->n && rc == 0; i++) {
    struct car *c = &f->cars[i];
    c->f = f;
    c->index = first + i;
    rc = car_make(f, c, d);
  }
  sim_timer_init(&f->pacer, on_pace, f);
  sim_timer_init(&f->sampler, on_sample, f);
  if (rc < 0) {
    fleet_free(f);
    return rc;
  }
  *out = f;
  return 0;
}

int fleet_start(struct fleet *f)
{
  struct sim_diag d = SIM_DIAG_INIT;
  for (size_t i = 0; i < f->n; i++) {
    int rc = car_run_scenario(f, &f->cars[i], &d);
    if (rc < 0) {
      sim_diag_cleanup(&d);
      return rc;
    }
  }
  sim_diag_cleanup(&d);
  f->wall_start = sim_wall_ns();
  f->pacer_t0 = sim_monotonic(f->loop);
  int64_t tick = f->o.connect_rate > 0 ? (int64_t)(1e9 / f->o.connect_rate) : 0;
  if (tick < 10 * SIM_NS_PER_MS)
    tick = 10 * SIM_NS_PER_MS;
  sim_timer_start(f->loop, &f->pacer, 0, tick);
  sim_timer_start(f->loop, &f->sampler, SIM_NS_PER_SEC, SIM_NS_PER_SEC);
  return 0;
}

void fleet_free(struct fleet *f)
{
  if (!f)
    return;
  sim_timer_stop(f->loop, &f->pacer);
  sim_timer_stop(f->loop, &f->sampler);
  for (size_t i = 0; i < f->n; i++) {
    sim_free(f->cars[i].sim);
    free(f->cars[i].id);
  }
  free(f->cars);
  free(f);
}

size_t fleet_size(const struct fleet *f)
{
  return f->n;
}

struct sim *fleet_car(struct fleet *f, size_t i)
{
  return i < f->n ? f->cars[i].sim : NULL;
}

const struct fleet_user *fleet_car_user(const struct fleet *f, size_t i)
{
  return i < f->n && f->o.users ? &f->o.users->v[f->cars[i].index] : NULL;
}

const char *fleet_car_id(const struct fleet *f, size_t i)
{
  return i < f->n && f->cars[i].id ? f->cars[i].id : "";
}

/* ---- statistics and report ------------------------------------------------------------------ */

void fleet_get_stats(struct fleet *f, struct fleet_stats *st)
{
  memset(st, 0, sizeof(*st));
  st->cars = f->n;
  st->connected = f->connected;
  st->ever_connected = f->ever;
  st->reconnects = f->reconnects;
  for (size_t i = 0; i < f->n; i++) {
    struct car *c = &f->cars[i];
    if (c->started)
      st->started++;
    if (c->synced)
      st->synced++;
    if (c->sim && c->sim->v3) {
      const struct v3_stats *v = v3_get_stats(c->sim->v3);
      st->connects += v->connects;
      st->drops += v->drops;
      st->refused += v->refused;
      st->published += v->published;
      st->bytes += v->bytes;
      st->commands += v->commands;
    }
    if (c->sim && c->sim->notify) {
      size_t q = sim_notify_pending(c->sim, sim_notify_reader(c->sim, "ovmsv3"));
      st->queue_total += q;
      if (q > st->queue_max)
        st->queue_max = q;
    }
  }
  st->first_all_synced_ns = f->all_synced;
  st->reconnect_first_ns = f->rc_first;
  st->reconnect_last_ns = f->rc_last;
  st->elapsed_s = f->wall_start ? (double)(sim_wall_ns() - f->wall_start) / 1e9 : 0;
}

static void fmt_ns(struct sbuf *out, int64_t ns)
{
  if (ns < 1000000)
    sbuf_printf(out, "%.0f us", (double)ns / 1e3);
  else if (ns < 1000000000)
    sbuf_printf(out, "%.1f ms", (double)ns / 1e6);
  else
    sbuf_printf(out, "%.2f s", (double)ns / 1e9);
}

void fleet_report(struct fleet *f, struct sbuf *out, bool json)
{
  struct fleet_stats st;
  fleet_get_stats(f, &st);
  uint64_t b[SIM_LATE_BUCKETS];
  int64_t lmax;
  uint64_t timers = sim_loop_lateness(f->loop, b, &lmax);
  int64_t p50 = sim_lateness_quantile(b, 0.5), p99 = sim_lateness_quantile(b, 0.99);
  if (p50 > lmax) /* the bucket's bound above the largest value seen */
    p50 = lmax;
  if (p99 > lmax)
    p99 = lmax;
  double rate = st.elapsed_s > 0 ? (double)st.published / st.elapsed_s : 0;
  double spread = st.reconnect_first_ns ? (double)(st.reconnect_last_ns - st.reconnect_first_ns) / 1e9 : 0;
  const char *first = fleet_car_id(f, 0), *last = fleet_car_id(f, f->n ? f->n - 1 : 0);
  if (json) {
    sbuf_printf(out,
                "{\"cars\":%zu,\"first_id\":\"%s\",\"last_id\":\"%s\",\"shard\":\"%u/%u\","
                "\"started\":%zu,\"connected\":%zu,\"ever_connected\":%zu,\"synced\":%zu,"
                "\"connects\":%llu,\"reconnects\":%llu,\"drops\":%llu,\"refused\":%llu,"
                "\"start_errors\":%zu,\"published\":%llu,\"payload_bytes\":%llu,"
                "\"messages_per_s\":%.1f,\"commands\":%llu,\"queue_total\":%zu,"
                "\"queue_max\":%zu,\"elapsed_s\":%.3f,\"all_synced_s\":%.3f,"
                "\"reconnect_spread_s\":%.3f,\"lateness\":{\"timers\":%llu,\"p50_us\":%.0f,"
                "\"p99_us\":%.0f,\"max_us\":%.0f}}",
                st.cars, first, last, f->o.shard_k ? f->o.shard_i : 0,
                f->o.shard_k ? f->o.shard_k : 1, st.started, st.connected, st.ever_connected,
                st.synced, (unsigned long long)st.connects, (unsigned long long)st.reconnects,
                (unsigned long long)st.drops, (unsigned long long)st.refused, f->start_errors,
                (unsigned long long)st.published, (unsigned long long)st.bytes, rate,
                (unsigned long long)st.commands, st.queue_total, st.queue_max, st.elapsed_s,
                st.first_all_synced_ns < 0 ? -1.0 : (double)st.first_all_synced_ns / 1e9,
                spread, (unsigned long long)timers, (double)p50 / 1e3, (double)p99 / 1e3,
                (double)lmax / 1e3);
    return;
  }
  sbuf_printf(out, "fleet: %zu cars (%s .. %s, shard %u/%u), %zu started, %zu connected, "
                   "%zu synced\n", st.cars, first, last, f->o.shard_k ? f->o.shard_i : 0,
              f->o.shard_k ? f->o.shard_k : 1, st.started, st.connected, st.synced);
  sbuf_printf(out, "connections: %llu connects, %llu reconnects, %llu drops, %llu refused, "
                   "%zu start errors\n", (unsigned long long)st.connects,
              (unsigned long long)st.reconnects, (unsigned long long)st.drops,
              (unsigned long long)st.refused, f->start_errors);
  sbuf_printf(out, "messages: %llu published (%.1f/s over %.1f s), %llu payload bytes, "
                   "%llu commands\n", (unsigned long long)st.published, rate, st.elapsed_s,
              (unsigned long long)st.bytes, (unsigned long long)st.commands);
  sbuf_printf(out, "notification queues: %zu pending, at most %zu on one car\n", st.queue_total,
              st.queue_max);
  if (st.first_all_synced_ns >= 0)
    sbuf_printf(out, "every car connected and synced %.2f s after the start\n",
                (double)st.first_all_synced_ns / 1e9);
  if (st.reconnects)
    sbuf_printf(out, "reconnects spread over %.2f s\n", spread);
  if (timers) {
    sbuf_adds(out, "timer lateness (every car's timers, one loop): p50 < ");
    fmt_ns(out, p50);
    sbuf_adds(out, ", p99 < ");
    fmt_ns(out, p99);
    sbuf_adds(out, ", max ");
    fmt_ns(out, lmax);
    sbuf_printf(out, " (%llu timers)\n", (unsigned long long)timers);
  }
}

void fleet_progress(struct fleet *f, struct sbuf *out)
{
  size_t synced = 0, started = 0;
  for (size_t i = 0; i < f->n; i++) {
    synced += f->cars[i].synced;
    started += f->cars[i].started;
  }
  sbuf_printf(out, "fleet: %zu/%zu started, %zu connected, %zu synced, %llu reconnects",
              started, f->n, f->connected, synced, (unsigned long long)f->reconnects);
}
