/*
 * bridge.c - forwarding between two simulator buses with filters, rate limits and loop
 * prevention (see bridge.h).
 */
#include "can/bridge.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "can/serve.h"
#include "core/error.h"
#include "core/loop.h"
#include "core/xalloc.h"

#define RECENT 64
#define RECENT_NS (100 * 1000000LL)

struct recent {
  int64_t at;
  uint32_t id;
  uint16_t flags;
  uint8_t len;
  uint8_t data[8];
};

struct can_bridge {
  struct sim_loop *loop;
  char *spec;
  uint8_t bus[2];
  bool oneway;
  struct sim_can_filter filters[CAN_BRIDGE_MAX_FILTERS];
  size_t nfilters;
  double rate;       /* frames/s, 0 = unlimited */
  double tokens[2];
  int64_t last[2];
  struct can_tap tap[2];
  struct recent recent[2][RECENT]; /* [dir]: frames put on the destination of dir */
  unsigned rpos[2];
  struct can_bridge_stats st;
};

/* The frame that bridges are forwarding (forwarding is synchronous, on the loop thread) and
 * the buses it has been put on: a bridge does not put it on one of them again.  It stays
 * recorded after the forward returned, for the other monitors of the same delivery on the
 * source bus (recognised by the frame pointer the bus passes to all of them, within 1 ms). */
static struct {
  struct sim_frame f;
  unsigned visited; /* bit N-1 = bus N */
  int depth;
  const struct sim_frame *ptr;
  uint8_t srcbus;
  int64_t wall;
} inflight;

static bool same_frame(const struct sim_frame *a, const struct sim_frame *b)
{
  return a->id == b->id && a->len == b->len &&
         (a->flags & SIM_CAN_F_EXT) == (b->flags & SIM_CAN_F_EXT) &&
         !memcmp(a->data, b->data, a->len);
}

static bool same(const struct recent *r, const struct sim_frame *f)
{
  size_t n = f->len < 8 ? f->len : 8;
  return r->id == f->id && r->len == f->len &&
         (r->flags & SIM_CAN_F_EXT) == (f->flags & SIM_CAN_F_EXT) && !memcmp(r->data, f->data, n);
}

static bool came_back(struct can_bridge *b, int dir, const struct sim_frame *f, int64_t now)
{
  /* a frame arriving on the destination side of the other direction */
  const struct recent *r = b->recent[!dir];
  for (int i = 0; i < RECENT; i++)
    if (r[i].at && now - r[i].at <= RECENT_NS && same(&r[i], f))
      return true;
  return false;
}

static void remember(struct can_bridge *b, int dir, const struct sim_frame *f, int64_t now)
{
  struct recent *r = &b->recent[dir][b->rpos[dir]++ % RECENT];
  r->at = now ? now : 1;
  r->id = f->id;
  r->flags = f->flags;
  r->len = f->len;
  memcpy(r->data, f->data, f->len < 8 ? f->len : 8);
}

static bool rate_ok(struct can_bridge *b, int dir, int64_t now)
{
  if (b->rate <= 0)
    return true;
  double burst = b->rate / 10 < 1 ? 1 : b->rate / 10;
  if (b->last[dir] == 0) {
    b->tokens[dir] = burst;
  } else {
    b->tokens[dir] += (double)(now - b->last[dir]) * 1e-9 * b->rate;
    if (b->tokens[dir] > burst)
      b->tokens[dir] = burst;
  }
  b->last[dir] = now ? now : 1;
  if (b->tokens[dir] < 1)
    return false;
  b->tokens[dir] -= 1;
  return true;
}

static void on_frame(void *ctx, struct sim_canbus *bus, const struct sim_frame *f,
                     const void *origin)
{
  struct can_bridge *b = ctx;
  int dir = bus == b->tap[0].bus ? 0 : 1;
  if ((f->flags & SIM_CAN_F_TX) || origin == b || (dir == 1 && b->oneway))
    return;
  unsigned src = 1u << (b->bus[dir] - 1), dst = 1u << (b->bus[!dir] - 1);
  int64_t wall = sim_wall_ns();
  bool nested = same_frame(&inflight.f, f) &&
                (inflight.depth > 0 || (f == inflight.ptr && bus->num == inflight.srcbus &&
                                        wall - inflight.wall < 1000000));
  if (nested && (inflight.visited & dst)) {
    /* the frame being forwarded came round a circle of bridges */
    b->st.loops++;
    return;
  }
  int64_t now = sim_monotonic(b->loop);
  if (came_back(b, dir, f, now)) {
    b->st.loops++;
    return;
  }
  if (!can_filter_match(b->filters, b->nfilters, f)) {
    b->st.filtered++;
    return;
  }
  if (!rate_ok(b, dir, now)) {
    b->st.limited++;
    return;
  }
  remember(b, dir, f, now);
  b->st.fwd[dir]++;
  if (!nested) {
    inflight.f = *f;
    inflight.visited = src;
    inflight.ptr = f;
    inflight.srcbus = bus->num;
    inflight.wall = wall;
  }
  inflight.visited |= dst;
  inflight.depth++;
  can_tap_inject(&b->tap[!dir], f, b);
  inflight.depth--;
}

static int parse_bus(const char *s, const char *end, uint8_t *out)
{
  if (end - s != 1 || *s < '1' || *s > '8')
    return -1;
  *out = (uint8_t)(*s - '0');
  return 0;
}

static int parse_option(struct can_bridge *b, const char *opt, struct sim_diag *d)
{
  if (!strncmp(opt, "rate=", 5)) {
    char *end;
    double r = strtod(opt + 5, &end);
    if (end == opt + 5 || *end || !(r > 0) || r > 1e9) {
      sim_diag_error(d, NULL, 0, 0, "rate= needs a positive number of frames/s in '%s'",
                     b->spec);
      return SIM_ECONFIG;
    }
    b->rate = r;
    return 0;
  }
  int rc = can_filter_parse(opt, b->filters, CAN_BRIDGE_MAX_FILTERS, &b->nfilters, d);
  if (rc == SIM_ELIMIT)
    sim_diag_error(d, NULL, 0, 0, "at most %d filters in '%s'", CAN_BRIDGE_MAX_FILTERS,
                   b->spec);
  return rc;
}

int can_bridge_new(struct can_bridge **out, struct sim_loop *loop, const char *spec,
                   struct sim_diag *d)
{
  *out = NULL;
  struct can_bridge *b = xcalloc(1, sizeof(*b));
  b->loop = loop;
  b->spec = xstrdup(spec);
  const char *op = strpbrk(spec, "=>");
  const char *comma = strchr(spec, ',');
  const char *bend = comma ? comma : spec + strlen(spec);
  if (!op || op > bend || parse_bus(spec, op, &b->bus[0]) < 0 ||
      parse_bus(op + 1, bend, &b->bus[1]) < 0 || b->bus[0] == b->bus[1]) {
    sim_diag_error(d, NULL, 0, 1,
                   "expected A=B or A>B with two different buses 1..8, then ,FILTER or ,rate=N "
                   "(e.g. 1=2,7E0/7F0,rate=1000) in '%s'", spec);
    can_bridge_free(b);
    return SIM_ECONFIG;
  }
  b->oneway = *op == '>';
  char *opts = xstrdup(comma ? comma + 1 : "");
  int rc = 0;
  for (char *save = NULL, *t = strtok_r(opts, ",", &save); t && rc == 0;
       t = strtok_r(NULL, ",", &save))
    rc = parse_option(b, t, d);
  free(opts);
  if (rc < 0) {
    can_bridge_free(b);
    return rc;
  }
  *out = b;
  return 0;
}

void can_bridge_buses(const struct can_bridge *b, uint8_t *a, uint8_t *bb)
{
  *a = b->bus[0];
  *bb = b->bus[1];
}

int can_bridge_start(struct can_bridge *b, struct sim_canbus *const buses[SIM_MAX_BUSES], struct sim_diag *d)
{
  for (int i = 0; i < 2; i++) {
    struct sim_canbus *bus = buses[b->bus[i] - 1];
    if (!bus) {
      sim_diag_error(d, NULL, 0, 0, "%s: there is no bus %u", b->spec, b->bus[i]);
      return SIM_ECONFIG;
    }
    if (can_tap_attach(&b->tap[i], bus, on_frame, b) < 0) {
      sim_diag_error(d, NULL, 0, 0, "%s: bus %u has no monitor slot left", b->spec,
                     b->bus[i]);
      can_tap_detach(&b->tap[0]);
      return SIM_ELIMIT;
    }
  }
  return 0;
}

void can_bridge_report(const struct can_bridge *b, struct sbuf *out)
{
  sbuf_printf(out,
              "bridge %s: forwarded %lu %u>%u, %lu %u>%u, filtered %lu, rate-limited %lu, "
              "loops prevented %lu\n",
              b->spec, b->st.fwd[0], b->bus[0], b->bus[1], b->st.fwd[1], b->bus[1], b->bus[0],
              b->st.filtered, b->st.limited, b->st.loops);
}

const struct can_bridge_stats *can_bridge_get_stats(const struct can_bridge *b)
{
  return &b->st;
}

void can_bridge_free(struct can_bridge *b)
{
  if (!b)
    return;
  can_tap_detach(&b->tap[0]);
  can_tap_detach(&b->tap[1]);
  free(b->spec);
  free(b);
}
