/*
 * replay.c - reactive replay (hil/replay.h): learns the ISO-TP exchanges of a trace with
 * listen-only links of the ISO-TP engine, then answers live requests with them.
 */
#include "hil/replay.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "can/bus.h"
#include "core/diag.h"
#include "core/error.h"
#include "core/sbuf.h"
#include "core/xalloc.h"
#include "hil/isotp.h"
#include "model/sim.h"
#include "trace/trace.h"
#include "vehicle/poll.h"

#define MAX_LEARN 512  /* distinct (bus, id) reassembled while learning */
#define RECENT 16      /* requests a response may answer */
#define PAD_UNKNOWN (-2)

struct answers {        /* the recorded answers from one response id, in order */
  uint32_t id;
  uint8_t **data;
  uint16_t *len;
  size_t n, cap, next;
};

struct exchange {
  uint8_t bus;
  uint32_t req_id;
  bool ext;
  uint8_t *req;
  uint16_t req_len;
  struct answers *by_id;
  size_t n_ids;
};

struct learner {        /* one (bus, id) of the file being reassembled */
  struct hil_replay *r;
  uint8_t bus;
  uint32_t id;
  int pad;              /* the padding of its frames, -1 none, PAD_UNKNOWN */
  struct sim_frame last; /* the frame being reassembled last */
  struct isotp_link link;
};

struct recent {
  uint8_t bus;
  uint32_t id;
  bool ext;
  uint16_t len;
  uint8_t msg[ISOTP_MAX_LEN];
};

struct rlink {          /* answering on a live bus */
  struct hil_replay *r;
  uint8_t bus;
  struct isotp_link link;
};

struct hil_replay {
  struct sim *sim;
  struct exchange *ex;
  size_t nex, capex;
  struct learner *learn;
  size_t nlearn;
  struct recent *recent;  /* a ring of RECENT */
  size_t nrecent;
  struct rlink *links;
  size_t nlinks;
  uint8_t monitored;
  struct hil_replay_stats stats;
};

static bool diagnostic_id(const struct sim_frame *f)
{
  if (sim_frame_is_ext(f))
    return (f->id & 0xFFFE0000u) == 0x18DA0000u; /* 0x18DA and 0x18DB */
  return f->id >= 0x700 && f->id <= 0x7FF;
}

/* ---- learning ------------------------------------------------------------------------------ */

static struct exchange *exchange_for(struct hil_replay *r, const struct recent *q)
{
  for (size_t i = 0; i < r->nex; i++) {
    struct exchange *e = &r->ex[i];
    if (e->bus == q->bus && e->req_id == q->id && e->req_len == q->len &&
        !memcmp(e->req, q->msg, q->len))
      return e;
  }
  xgrow((void **)&r->ex, &r->capex, r->nex + 1, sizeof *r->ex);
  struct exchange *e = &r->ex[r->nex++];
  memset(e, 0, sizeof *e);
  e->bus = q->bus;
  e->req_id = q->id;
  e->ext = q->ext;
  e->req = xmalloc(q->len);
  memcpy(e->req, q->msg, q->len);
  e->req_len = q->len;
  r->stats.exchanges++;
  return e;
}

static void add_answer(struct hil_replay *r, const struct recent *q, uint32_t id,
                       const uint8_t *msg, size_t len)
{
  struct exchange *e = exchange_for(r, q);
  struct answers *a = NULL;
  for (size_t i = 0; i < e->n_ids; i++)
    if (e->by_id[i].id == id)
      a = &e->by_id[i];
  if (!a) {
    e->by_id = xrealloc(e->by_id, (e->n_ids + 1) * sizeof *e->by_id);
    a = &e->by_id[e->n_ids++];
    memset(a, 0, sizeof *a);
    a->id = id;
  }
  if (a->n == a->cap) {
    a->cap = a->cap ? 2 * a->cap : 4;
    a->data = xrealloc(a->data, a->cap * sizeof *a->data);
    a->len = xrealloc(a->len, a->cap * sizeof *a->len);
  }
  a->data[a->n] = xmalloc(len);
  memcpy(a->data[a->n], msg, len);
  a->len[a->n++] = (uint16_t)len;
  r->stats.answers_learnt++;
}

/* The latest request on bus (from another id than the response's) that msg answers. */
static const struct recent *request_of(struct hil_replay *r, uint8_t bus, uint32_t id,
                                       const uint8_t *msg, size_t len)
{
  bool nrc = msg[0] == 0x7F;
  if (nrc && len < 3)
    return NULL;
  uint8_t sid = nrc ? msg[1] : (uint8_t)(msg[0] - 0x40);
  int pl = nrc ? 0 : vehicle_poll_pid_len(sid);
  size_t n = r->nrecent < RECENT ? r->nrecent : RECENT;
  for (size_t k = 1; k <= n; k++) {
    const struct recent *q = &r->recent[(r->nrecent - k) % RECENT];
    if (q->bus != bus || q->id == id || q->msg[0] != sid)
      continue;
    if (pl && (q->len < 1 + pl || len < (size_t)(1 + pl) || memcmp(q->msg + 1, msg + 1, (size_t)pl)))
      continue;
    return q;
  }
  return NULL;
}

static void learn_received(void *ctx, struct isotp_link *l, const uint8_t *msg, size_t len,
                           bool functional)
{
  struct learner *ln = ctx;
  struct hil_replay *r = ln->r;
  (void)functional;
  if (len == 0)
    return;
  if (ln->pad == PAD_UNKNOWN) { /* the bytes after the content of the last frame */
    size_t used = 1 + (len <= 7 ? len : (len - 7) % 7 + 1);
    if (ln->last.len < 8)
      ln->pad = -1;
    else if (used < 8)
      ln->pad = ln->last.data[used];
  }
  if (msg[0] >= 0x40 && msg[0] <= 0x7F) {
    if (msg[0] == 0x7F && len >= 3 && msg[2] == 0x78)
      return; /* response pending: the answer follows */
    const struct recent *q = request_of(r, ln->bus, ln->id, msg, len);
    if (q)
      add_answer(r, q, ln->id, msg, len);
    return;
  }
  struct recent *q = &r->recent[r->nrecent++ % RECENT];
  q->bus = ln->bus;
  q->id = ln->id;
  q->ext = l->cfg.ext_id;
  q->len = (uint16_t)len;
  memcpy(q->msg, msg, len);
}

static int no_send(void *ctx, const struct sim_frame *f)
{
  (void)ctx;
  (void)f;
  return 0;
}

static const struct isotp_ops learn_ops = {no_send, learn_received, NULL, NULL};

static struct learner *learner_for(struct hil_replay *r, const struct sim_frame *f)
{
  uint8_t bus = f->bus ? f->bus : 1;
  for (size_t i = 0; i < r->nlearn; i++)
    if (r->learn[i].bus == bus && r->learn[i].id == f->id &&
        r->learn[i].link.cfg.ext_id == sim_frame_is_ext(f))
      return &r->learn[i];
  if (r->nlearn >= MAX_LEARN)
    return NULL;
  struct learner *ln = &r->learn[r->nlearn];
  struct isotp_config c;
  isotp_config_default(&c, f->id, f->id);
  c.ext_id = sim_frame_is_ext(f);
  c.listen_only = true;
  ln->r = r;
  ln->bus = bus;
  ln->id = f->id;
  ln->pad = PAD_UNKNOWN;
  if (isotp_link_init(&ln->link, r->sim->loop, &c, &learn_ops, ln) != 0)
    return NULL;
  r->nlearn++;
  return ln;
}

static void learn_frame(struct hil_replay *r, struct sim_frame *f)
{
  if (f->flags & (SIM_CAN_F_RTR | SIM_CAN_F_ERR | SIM_CAN_F_FD) || !diagnostic_id(f))
    return;
  struct learner *ln = learner_for(r, f);
  if (!ln)
    return;
  ln->last = *f;
  f->flags &= (uint16_t)~SIM_CAN_F_TX; /* the recording module's frames are input here */
  isotp_link_input(&ln->link, f);
}

static int learn_file(struct hil_replay *r, const char *path, const struct hil_replay_opts *o,
                      struct sim_diag *d)
{
  struct trace_reader *tr;
  struct trace_reader_opts ro = {.format = o ? o->format : NULL};
  int rc = trace_reader_open(&tr, path, &ro, d);
  if (rc < 0)
    return rc;
  struct sim_frame f;
  while ((rc = trace_reader_next_frame(tr, &f, d)) == 1)
    learn_frame(r, &f);
  trace_reader_close(tr);
  if (rc < 0)
    return rc;
  if (!r->nex) {
    sim_diag_error(d, path, 0, 0, "no ISO-TP request with its response in the trace "
                   "(diagnostic ids 0x700-0x7FF, 0x18DAxxxx/0x18DBxxxx)");
    return SIM_ENOTFOUND;
  }
  return 0;
}

/* ---- answering ------------------------------------------------------------------------------ */

static int rl_send(void *ctx, const struct sim_frame *f)
{
  struct rlink *rl = ctx;
  return can_bus_send(rl->r->sim->buses[rl->bus - 1], f);
}

static const struct exchange *find_exchange(const struct hil_replay *r, uint8_t bus,
                                            uint32_t req_id, const uint8_t *msg, size_t len)
{
  for (size_t i = 0; i < r->nex; i++) {
    const struct exchange *e = &r->ex[i];
    if (e->bus == bus && e->req_id == req_id && e->req_len == len && !memcmp(e->req, msg, len))
      return e;
  }
  return NULL;
}

/* True for the first link on rl's bus that takes functional id (counts a request once). */
static bool first_for(const struct hil_replay *r, const struct rlink *rl, uint32_t func)
{
  for (size_t i = 0; i < r->nlinks; i++)
    if (r->links[i].bus == rl->bus && r->links[i].link.cfg.rx_func_id == func)
      return &r->links[i] == rl;
  return true;
}

static void rl_received(void *ctx, struct isotp_link *l, const uint8_t *msg, size_t len,
                        bool functional)
{
  struct rlink *rl = ctx;
  struct hil_replay *r = rl->r;
  uint32_t key = functional ? l->cfg.rx_func_id : l->cfg.rx_id;
  bool counts = !functional || first_for(r, rl, key);
  r->stats.requests += counts;
  const struct exchange *e = find_exchange(r, rl->bus, key, msg, len);
  if (!e) {
    r->stats.unknown += counts;
    return;
  }
  for (size_t i = 0; i < e->n_ids; i++) {
    struct answers *a = &e->by_id[i];
    if (a->id != l->cfg.tx_id)
      continue;
    size_t k = a->next < a->n ? a->next : a->n - 1;
    a->next++;
    if (isotp_link_busy(l)) {
      r->stats.busy++;
    } else if (isotp_link_send(l, a->data[k], a->len[k]) == 0) {
      r->stats.answered++;
    }
    return;
  }
}

static const struct isotp_ops rl_ops = {rl_send, rl_received, NULL, NULL};

static int learnt_pad(const struct hil_replay *r, uint8_t bus, uint32_t id)
{
  for (size_t i = 0; i < r->nlearn; i++)
    if (r->learn[i].bus == bus && r->learn[i].id == id)
      return r->learn[i].pad == PAD_UNKNOWN ? 0x00 : r->learn[i].pad;
  return 0x00;
}

/* The physical request id an ECU answering on resp listens to, for a functional request. */
static uint32_t physical_of(uint32_t func, uint32_t resp, bool ext)
{
  if (!ext && func == 0x7DF && resp >= 0x7E8 && resp <= 0x7EF)
    return resp - 8;
  if (ext && (func & 0xFFFF0000u) == 0x18DB0000u && (resp & 0xFFFF0000u) == 0x18DA0000u)
    return 0x18DA0000u | (resp & 0xFF) << 8 | (resp >> 8 & 0xFF);
  return ISOTP_NO_ID;
}

static void add_link(struct hil_replay *r, const struct exchange *e, uint32_t resp)
{
  uint32_t rx = e->req_id, func = ISOTP_NO_ID;
  uint32_t phys = physical_of(e->req_id, resp, e->ext);
  if (phys != ISOTP_NO_ID) {
    rx = phys;
    func = e->req_id;
  }
  for (size_t i = 0; i < r->nlinks; i++) {
    struct rlink *rl = &r->links[i];
    if (rl->bus == e->bus && rl->link.cfg.tx_id == resp && rl->link.cfg.rx_id == rx) {
      if (func != ISOTP_NO_ID)
        rl->link.cfg.rx_func_id = func;
      return;
    }
  }
  struct isotp_config c;
  isotp_config_default(&c, resp, rx);
  c.rx_func_id = func;
  c.ext_id = e->ext;
  c.pad = learnt_pad(r, e->bus, resp);
  c.bs = 0;
  c.stmin = 0;
  struct rlink *rl = &r->links[r->nlinks];
  rl->r = r;
  rl->bus = e->bus;
  if (isotp_link_init(&rl->link, r->sim->loop, &c, &rl_ops, rl) == 0)
    r->nlinks++;
}

static void on_frame(void *ctx, struct sim_canbus *bus, const struct sim_frame *f)
{
  struct hil_replay *r = ctx;
  if (f->flags & SIM_CAN_F_TX)
    return;
  for (size_t i = 0; i < r->nlinks; i++)
    if (r->links[i].bus == bus->num)
      isotp_link_input(&r->links[i].link, f);
}

static int start_answering(struct hil_replay *r)
{
  size_t want = 0;
  for (size_t i = 0; i < r->nex; i++)
    want += r->ex[i].n_ids;
  r->links = xcalloc(want ? want : 1, sizeof *r->links);
  for (size_t i = 0; i < r->nex; i++) {
    const struct exchange *e = &r->ex[i];
    if (e->bus < 1 || e->bus > SIM_MAX_BUSES || !r->sim->buses[e->bus - 1]) {
      r->stats.no_bus++;
      continue;
    }
    for (size_t k = 0; k < e->n_ids; k++)
      add_link(r, e, e->by_id[k].id);
  }
  for (size_t i = 0; i < r->nlinks; i++) {
    uint8_t b = r->links[i].bus;
    if (r->monitored & (1u << (b - 1)))
      continue;
    if (can_bus_add_monitor(r->sim->buses[b - 1], on_frame, r) < 0)
      return SIM_ELIMIT;
    r->monitored = (uint8_t)(r->monitored | (1u << (b - 1)));
  }
  return 0;
}

static void free_learners(struct hil_replay *r)
{
  for (size_t i = 0; i < r->nlearn; i++)
    isotp_link_cleanup(&r->learn[i].link);
  free(r->learn);
  r->learn = NULL;
  r->nlearn = 0;
  free(r->recent);
  r->recent = NULL;
}

int hil_replay_new(struct hil_replay **out, struct sim *sim, const char *path,
                   const struct hil_replay_opts *o, struct sim_diag *d)
{
  struct hil_replay *r = xcalloc(1, sizeof *r);
  r->sim = sim;
  r->learn = xcalloc(MAX_LEARN, sizeof *r->learn);
  r->recent = xcalloc(RECENT, sizeof *r->recent);
  int rc = learn_file(r, path, o, d);
  if (rc == 0)
    rc = start_answering(r);
  free_learners(r);
  if (rc < 0) {
    hil_replay_free(r);
    return rc;
  }
  *out = r;
  return 0;
}

void hil_replay_free(struct hil_replay *r)
{
  if (!r)
    return;
  free_learners(r);
  for (int b = 0; b < SIM_MAX_BUSES; b++)
    if ((r->monitored & (1u << b)) && r->sim->buses[b])
      can_bus_remove_monitor(r->sim->buses[b], on_frame, r);
  for (size_t i = 0; i < r->nlinks; i++)
    isotp_link_cleanup(&r->links[i].link);
  free(r->links);
  for (size_t i = 0; i < r->nex; i++) {
    struct exchange *e = &r->ex[i];
    for (size_t k = 0; k < e->n_ids; k++) {
      for (size_t j = 0; j < e->by_id[k].n; j++)
        free(e->by_id[k].data[j]);
      free(e->by_id[k].data);
      free(e->by_id[k].len);
    }
    free(e->by_id);
    free(e->req);
  }
  free(r->ex);
  free(r);
}

const struct hil_replay_stats *hil_replay_stats(const struct hil_replay *r)
{
  return &r->stats;
}

void hil_replay_report(const struct hil_replay *r, struct sbuf *b)
{
  const struct hil_replay_stats *s = &r->stats;
  sbuf_printf(b, "trace-respond: %lu exchanges learnt (%lu answers), %lu requests, %lu "
                 "answered, %lu unknown, %lu busy",
              s->exchanges, s->answers_learnt, s->requests, s->answered, s->unknown, s->busy);
  if (s->no_bus)
    sbuf_printf(b, ", %lu exchanges on buses the simulator does not have", s->no_bus);
  sbuf_addc(b, '\n');
}
