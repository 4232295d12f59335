/*
 * notify.c - notifications (notify.h, queue.h; V3/main/ovms_notify.cpp).
 *
 * One queue per module (sim->notify) of entries waiting for their readers, with per-type ids
 * from 1 and creation times from the simulation clock, as V3/main/ovms_notify.cpp
 * (OvmsNotifyType::QueueEntry, m_nextid) at openvehicles/Open-Vehicle-Monitoring-System-3
 * 1aa1daff.  Raising info, alert or error raises the event notify.<type>.<subtype>.
 *
 * Unlike the firmware (whose queue does not survive a reboot), the queue can be durable: with
 * a state directory every new entry and every read mark is a record of notify.journal,
 * synced to the disk before the call returns, so a crash loses nothing acknowledged.  The
 * framing, checks, recovery and compaction of the file are journal.c's; the records are:
 *   I <type> <lastid>                                 highest id used for the type
 *   N <type> <id> <created_ns> <readers> <subtype> <hex text>
 *   R <reader> <type> <id>                            reader has read the entry
 * <readers> is a comma list of reader names.  The journal is rewritten (compacted) on open.
 * Ids above SIM_NOTIFY_ID_MAX are refused on load and never raised.
 *
 * The notifications of the vehicle framework (charge state, *-LOG-Grid, *-LOG-Trip) are raised
 * by sim/vehicle/notify.c, as OvmsVehicle raises them in the firmware.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "core/hex.h"
#include "core/utf8.h"
#include "model/events.h"
#include "model/metrics.h"
#include "notify/journal.h"
#include "notify/queue.h"
#include "model/sim.h"
#include "core/xalloc.h"

#define NTYPES 5
#define MAX_READERS 32

struct reader {
  char *name;
  sim_notify_fn fn;
  void *ctx;
};

struct loaded_pending {
  size_t entry;   /* index of the entry */
  char *names;    /* readers that have not read it, not registered yet */
};

struct sim_notify_queue {
  struct sim *sim;
  struct sim_notify_entry **v; /* in raise order */
  size_t n, cap;
  char **pending_names; /* per entry (parallel to v): readers not yet registered, or NULL */
  int64_t lastid[NTYPES];
  struct reader readers[MAX_READERS];
  int nreaders;
  struct notify_journal *journal; /* NULL without a state directory */
  int journal_err; /* first failed journal write (-errno), 0 = durable */
  uint32_t last_error_code;
  int64_t last_error_time;
  bool have_error;
  uint64_t quarantined; /* entries moved aside (sim_notify_quarantine()) */
};

static const char *const type_names[NTYPES] = {"info", "alert", "error", "data", "stream"};

const char *sim_notify_type_name(enum sim_notify_type t)
{
  return (unsigned)t < NTYPES ? type_names[t] : "?";
}

int sim_notify_type_parse(const char *s, enum sim_notify_type *out)
{
  for (int i = 0; i < NTYPES; i++)
    if (!strcmp(s, type_names[i])) {
      *out = (enum sim_notify_type)i;
      return 0;
    }
  return SIM_ENOTFOUND;
}

void sim_notify_mp_encode(const char *s, struct sbuf *out)
{
  for (; *s; s++)
    sbuf_addc(out, *s == ',' ? ';' : *s == '\n' ? '\r' : *s);
}

/* The offset of the first byte of s that a topic level must not hold (a space, a control
 * character, '/', '+', '#'), or strlen(s). */
static size_t topic_unsafe(const char *s)
{
  size_t i = 0;
  for (; s[i]; i++)
    if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f || s[i] == '/' || s[i] == '+' || s[i] == '#')
      break;
  return i;
}

int sim_notify_check(const char *subtype, const char *text, struct sbuf *why)
{
  struct sbuf dummy = SBUF_INIT;
  struct sbuf *w = why ? why : &dummy;
  size_t n = strlen(subtype), bad = 0;
  int rc = 0;
  if (n == 0) {
    sbuf_adds(w, "the subtype is empty");
    rc = SIM_EPARSE;
  } else if (n > SIM_NOTIFY_SUBTYPE_MAX) {
    sbuf_printf(w, "the subtype is %zu bytes long (at most %d)", n, SIM_NOTIFY_SUBTYPE_MAX);
    rc = SIM_ELIMIT;
  } else if (!sim_utf8_valid(subtype, n, &bad)) {
    sbuf_printf(w, "the subtype is not valid UTF-8 (byte %zu)", bad + 1);
    rc = SIM_EPARSE;
  } else if ((bad = topic_unsafe(subtype)) < n) {
    unsigned char c = (unsigned char)subtype[bad];
    if (c > 0x20 && c < 0x7f)
      sbuf_printf(w, "the subtype has the character '%c' (byte %zu), which an MQTT topic level "
                     "cannot hold", c, bad + 1);
    else
      sbuf_printf(w, "the subtype has a space or control character (byte %zu)", bad + 1);
    rc = SIM_EPARSE;
  } else if (text && (n = strlen(text)) > SIM_NOTIFY_TEXT_MAX) {
    sbuf_printf(w, "the text is %zu bytes long (at most %d)", n, SIM_NOTIFY_TEXT_MAX);
    rc = SIM_ELIMIT;
  } else if (text && !sim_utf8_valid(text, n, &bad)) {
    sbuf_printf(w, "the text is not valid UTF-8 (byte %zu)", bad + 1);
    rc = SIM_EPARSE;
  }
  sbuf_free(&dummy);
  return rc;
}

/* ---- journal (the records; their file is journal.c) ------------------------------------------- */

/*
 * Appends one record (b holds its payload and a final '\n') to the journal, which syncs it.
 * The first failure is kept in q->journal_err (sim_notify_journal_error()): the entries stay
 * queued in memory and are still delivered by this process, but they are no longer durable,
 * which main() reports.  Returns 0 or -errno.
 */
static int journal_append(struct sim_notify_queue *q, const struct sbuf *b)
{
  if (!q->journal)
    return 0;
  int rc = notify_journal_append(q->journal, b->p, b->len - 1);
  if (rc < 0 && q->journal_err == 0)
    q->journal_err = rc;
  return rc;
}

static void hex_add(struct sbuf *b, const char *s, size_t n)
{
  static const char hx[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    sbuf_addc(b, hx[(unsigned char)s[i] >> 4]);
    sbuf_addc(b, hx[(unsigned char)s[i] & 15]);
  }
  if (n == 0)
    sbuf_addc(b, '-');
}

static void reader_names(struct sim_notify_queue *q, uint32_t mask, const char *extra,
                         struct sbuf *b)
{
  size_t start = b->len;
  for (int i = 0; i < q->nreaders; i++)
    if (mask & (1u << i)) {
      if (b->len > start)
        sbuf_addc(b, ',');
      sbuf_adds(b, q->readers[i].name);
    }
  if (extra && *extra) {
    if (b->len > start)
      sbuf_addc(b, ',');
    sbuf_adds(b, extra);
  }
  if (b->len == start)
    sbuf_addc(b, '-');
}

/* Appends the journal record of entry i and a '\n' to b. */
static void entry_line(struct sim_notify_queue *q, size_t i, struct sbuf *b)
{
  struct sim_notify_entry *e = q->v[i];
  sbuf_printf(b, "N %s %" PRId64 " %" PRId64 " ", type_names[e->type], e->id, e->created_ns);
  reader_names(q, e->pending, q->pending_names[i], b);
  sbuf_printf(b, " %s ", e->subtype);
  hex_add(b, e->text, e->len);
  sbuf_addc(b, '\n');
}

/* An id of a record: 0 or SIM_EPARSE (not a number), SIM_ERANGE (beyond SIM_NOTIFY_ID_MAX). */
static int parse_id(const char *s, int64_t min, int64_t *out, struct sbuf *why)
{
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (end == s || *end || v < min)
    return SIM_EPARSE;
  if (errno == ERANGE || v > SIM_NOTIFY_ID_MAX) {
    sbuf_printf(why, "id %s is beyond the limit %" PRId64, s, (int64_t)SIM_NOTIFY_ID_MAX);
    return SIM_ERANGE;
  }
  *out = v;
  return 0;
}

/* Decodes the hex text of an N record into text; returns false when it is not hex. */
static bool hex_decode(const char *h, struct sbuf *text)
{
  if (!strcmp(h, "-"))
    return true;
  size_t hl = strlen(h);
  if (hl % 2)
    return false;
  for (size_t i = 0; i < hl; i += 2) {
    int v = sim_hex_byte(h + i);
    if (v < 0)
      return false;
    sbuf_addc(text, (char)v);
  }
  return true;
}

/* Removes name from the comma list *names (freed and NULL when it becomes empty).  Returns
 * whether it was in the list. */
static bool names_remove(char **names, const char *name)
{
  struct sbuf nb = SBUF_INIT;
  size_t nl = strlen(name);
  bool found = false;
  for (char *s = *names; *s;) {
    size_t l = strcspn(s, ",");
    if (l == nl && !strncmp(s, name, l)) {
      found = true;
    } else {
      if (nb.len)
        sbuf_addc(&nb, ',');
      sbuf_add(&nb, s, l);
    }
    s += l;
    if (*s == ',')
      s++;
  }
  if (found) {
    free(*names);
    *names = nb.len ? sbuf_detach(&nb) : NULL;
  }
  sbuf_free(&nb);
  return found;
}

static void add_loaded(struct sim_notify_queue *q, struct sim_notify_entry *e, const char *names)
{
  xgrow((void **)&q->v, &q->cap, q->n + 1, sizeof(*q->v));
  q->pending_names = xrealloc(q->pending_names, q->cap * sizeof(*q->pending_names));
  q->v[q->n] = e;
  q->pending_names[q->n] = strcmp(names, "-") ? xstrdup(names) : NULL;
  q->n++;
  if (e->id > q->lastid[e->type])
    q->lastid[e->type] = e->id;
}

/* One journal record (notify_journal_record_fn): applies it to the queue being loaded. */
static int load_record(void *ctx, const char *payload, size_t len, struct sbuf *why)
{
  struct sim_notify_queue *q = ctx;
  char *line = xstrdup(payload);
  char *w[8];
  int n = 0;
  char *save = NULL;
  (void)len;
  for (char *s = strtok_r(line, " ", &save); s && n < 8; s = strtok_r(NULL, " ", &save))
    w[n++] = s;
  enum sim_notify_type t;
  int64_t id = 0, created = 0;
  int rc = SIM_EPARSE;
  if (n == 3 && !strcmp(w[0], "I") && sim_notify_type_parse(w[1], &t) == 0) {
    if ((rc = parse_id(w[2], 0, &id, why)) == 0 && id > q->lastid[t])
      q->lastid[t] = id;
  } else if (n == 7 && !strcmp(w[0], "N") && sim_notify_type_parse(w[1], &t) == 0) {
    char *end;
    errno = 0;
    created = strtoll(w[3], &end, 10);
    struct sbuf text = SBUF_INIT;
    /* the journal's own rule for a subtype is one topic word: older journals may hold
     * subtypes sim_notify_check() refuses; those are moved aside when a reader reaches them */
    if ((rc = parse_id(w[2], 1, &id, why)) == 0 &&
        (end == w[3] || *end || errno || !sim_topic_word(w[5]) || !hex_decode(w[6], &text)))
      rc = SIM_EPARSE;
    if (rc == 0) {
      struct sim_notify_entry *e = xcalloc(1, sizeof(*e));
      e->type = t;
      e->id = id;
      e->created_ns = created;
      e->subtype = xstrdup(w[5]);
      e->len = text.len;
      e->text = text.p ? sbuf_detach(&text) : xstrdup("");
      add_loaded(q, e, w[4]);
    }
    sbuf_free(&text);
  } else if (n == 4 && !strcmp(w[0], "R") && sim_notify_type_parse(w[2], &t) == 0) {
    if ((rc = parse_id(w[3], 1, &id, why)) == 0)
      for (size_t i = 0; i < q->n; i++)
        if (q->v[i]->type == t && q->v[i]->id == id && q->pending_names[i])
          names_remove(&q->pending_names[i], w[1]);
  }
  free(line);
  return rc;
}

static void free_entry(struct sim_notify_entry *e)
{
  free(e->subtype);
  free(e->text);
  free(e);
}

/* Drops entries nobody waits for (neither a registered reader nor a recorded name). */
static void gc(struct sim_notify_queue *q)
{
  size_t j = 0;
  for (size_t i = 0; i < q->n; i++) {
    if (!q->v[i]->pending && !q->pending_names[i]) {
      free_entry(q->v[i]);
      continue;
    }
    q->v[j] = q->v[i];
    q->pending_names[j] = q->pending_names[i];
    j++;
  }
  q->n = j;
}

/* Loads the journal of dir, then compacts it to what is still pending. */
static int journal_open(struct sim_notify_queue *q, const char *dir,
                        const struct sim_notify_opts *o, struct sim_diag *d)
{
  struct notify_journal_opts jo = {o && o->repair, o ? o->damage : NULL};
  int rc = notify_journal_open(&q->journal, dir, &jo, load_record, q, d);
  if (rc < 0)
    return rc;
  gc(q);
  struct sbuf b = SBUF_INIT;
  for (int t = 0; t < NTYPES; t++)
    if (q->lastid[t])
      sbuf_printf(&b, "I %s %" PRId64 "\n", type_names[t], q->lastid[t]);
  for (size_t i = 0; i < q->n; i++)
    entry_line(q, i, &b);
  rc = notify_journal_rewrite(q->journal, &b, d);
  sbuf_free(&b);
  return rc;
}

/* ---- queue ------------------------------------------------------------------------------------ */

static void queue_free(void *ctx)
{
  struct sim *sim = ctx;
  struct sim_notify_queue *q = sim->notify;
  if (!q)
    return;
  notify_journal_close(q->journal);
  for (size_t i = 0; i < q->n; i++) {
    free_entry(q->v[i]);
    free(q->pending_names[i]);
  }
  for (int i = 0; i < q->nreaders; i++)
    free(q->readers[i].name);
  free(q->v);
  free(q->pending_names);
  free(q);
  sim->notify = NULL;
}

int sim_notify_open_opts(struct sim *sim, const char *state_dir, const struct sim_notify_opts *o,
                         struct sim_diag *d)
{
  if (sim->notify)
    return SIM_EEXIST;
  struct sim_notify_queue *q = xcalloc(1, sizeof(*q));
  q->sim = sim;
  sim->notify = q;
  sim_on_free(sim, queue_free, sim);
  if (state_dir) {
    int rc = journal_open(q, state_dir, o, d);
    if (rc < 0)
      return rc;
  }
  return 0;
}

int sim_notify_open(struct sim *sim, const char *state_dir, struct sim_diag *d)
{
  return sim_notify_open_opts(sim, state_dir, NULL, d);
}

int sim_notify_reader(struct sim *sim, const char *name)
{
  if (!sim->notify)
    sim_notify_open(sim, NULL, NULL);
  struct sim_notify_queue *q = sim->notify;
  for (int i = 0; i < q->nreaders; i++)
    if (!strcmp(q->readers[i].name, name))
      return i;
  if (q->nreaders >= MAX_READERS)
    return SIM_ELIMIT;
  int r = q->nreaders++;
  q->readers[r].name = xstrdup(name);
  /* entries of an earlier run recorded for this reader name */
  for (size_t i = 0; i < q->n; i++)
    if (q->pending_names[i] && names_remove(&q->pending_names[i], name))
      q->v[i]->pending |= 1u << r;
  return r;
}

void sim_notify_set_callback(struct sim *sim, int reader, sim_notify_fn fn, void *ctx)
{
  struct sim_notify_queue *q = sim->notify;
  if (!q || reader < 0 || reader >= q->nreaders)
    return;
  q->readers[reader].fn = fn;
  q->readers[reader].ctx = ctx;
}

const struct sim_notify_entry *sim_notify_peek(struct sim *sim, int reader,
                                               enum sim_notify_type type)
{
  struct sim_notify_queue *q = sim->notify;
  if (!q || reader < 0)
    return NULL;
  for (size_t i = 0; i < q->n; i++)
    if (q->v[i]->type == type && (q->v[i]->pending & (1u << reader)))
      return q->v[i];
  return NULL;
}

int sim_notify_mark_read(struct sim *sim, int reader, enum sim_notify_type type, int64_t id)
{
  struct sim_notify_queue *q = sim->notify;
  if (!q || reader < 0 || reader >= q->nreaders)
    return SIM_ENOTFOUND;
  for (size_t i = 0; i < q->n; i++) {
    struct sim_notify_entry *e = q->v[i];
    if (e->type != type || e->id != id || !(e->pending & (1u << reader)))
      continue;
    e->pending &= ~(1u << reader);
    struct sbuf b = SBUF_INIT;
    sbuf_printf(&b, "R %s %s %" PRId64 "\n", q->readers[reader].name, type_names[type], id);
    int jrc = journal_append(q, &b);
    sbuf_free(&b);
    if (!e->pending && !q->pending_names[i]) {
      free_entry(e);
      memmove(&q->v[i], &q->v[i + 1], (q->n - i - 1) * sizeof(*q->v));
      memmove(&q->pending_names[i], &q->pending_names[i + 1],
              (q->n - i - 1) * sizeof(*q->pending_names));
      q->n--;
    }
    return jrc;
  }
  return SIM_ENOTFOUND;
}

/* A word of a dead-letter line: s itself when it is printable ASCII without a space, else
 * "x:" and its hex. */
static void dead_word(struct sbuf *b, const char *s, size_t n)
{
  bool plain = n > 0 && n <= 4096;
  for (size_t i = 0; plain && i < n; i++)
    plain = s[i] > 0x20 && s[i] < 0x7f;
  if (plain) {
    sbuf_add(b, s, n);
  } else {
    sbuf_adds(b, "x:");
    hex_add(b, s, n);
  }
}

int sim_notify_quarantine(struct sim *sim, int reader, enum sim_notify_type type, int64_t id,
                          const char *reason)
{
  struct sim_notify_queue *q = sim->notify;
  if (!q || reader < 0 || reader >= q->nreaders)
    return SIM_ENOTFOUND;
  const struct sim_notify_entry *e = NULL;
  for (size_t i = 0; i < q->n && !e; i++)
    if (q->v[i]->type == type && q->v[i]->id == id && (q->v[i]->pending & (1u << reader)))
      e = q->v[i];
  if (!e)
    return SIM_ENOTFOUND;
  int drc = 0;
  if (q->journal) {
    struct sbuf b = SBUF_INIT;
    sbuf_printf(&b, "%s %" PRId64 " %" PRId64 " ", type_names[type], id, e->created_ns);
    dead_word(&b, e->subtype, strlen(e->subtype));
    sbuf_addc(&b, ' ');
    hex_add(&b, e->text, e->len);
    sbuf_addc(&b, ' ');
    for (const char *r = reason; *r; r++)
      sbuf_addc(&b, *r == '\n' ? ' ' : *r);
    sbuf_addc(&b, '\n');
    drc = notify_journal_dead(q->journal, b.p, b.len);
    sbuf_free(&b);
  }
  q->quarantined++;
  int rc = sim_notify_mark_read(sim, reader, type, id);
  return drc < 0 ? drc : rc;
}

uint64_t sim_notify_quarantined(const struct sim *sim)
{
  return sim->notify ? sim->notify->quarantined : 0;
}

/* Entries pending for reader, of type (all types: type < 0). */
static size_t count_pending(struct sim *sim, int reader, int type)
{
  struct sim_notify_queue *q = sim->notify;
  size_t n = 0;
  if (!q || reader < 0)
    return 0;
  for (size_t i = 0; i < q->n; i++)
    if ((q->v[i]->pending & (1u << reader)) && (type < 0 || (int)q->v[i]->type == type))
      n++;
  return n;
}

size_t sim_notify_pending(struct sim *sim, int reader)
{
  return count_pending(sim, reader, -1);
}

size_t sim_notify_pending_type(struct sim *sim, int reader, enum sim_notify_type type)
{
  return count_pending(sim, reader, (int)type);
}

int64_t sim_notify_raise(struct sim *sim, enum sim_notify_type type, const char *subtype,
                         const char *text)
{
  if ((unsigned)type >= NTYPES || !subtype)
    return SIM_EPARSE;
  int crc = sim_notify_check(subtype, text, NULL);
  if (crc < 0)
    return crc;
  if (!sim->notify)
    sim_notify_open(sim, NULL, NULL);
  struct sim_notify_queue *q = sim->notify;
  if (q->lastid[type] >= SIM_NOTIFY_ID_MAX)
    return SIM_ERANGE;
  struct sim_notify_entry *e = xcalloc(1, sizeof(*e));
  e->type = type;
  e->id = ++q->lastid[type];
  e->created_ns = sim_now(sim->loop);
  e->subtype = xstrdup(subtype);
  e->text = xstrdup(text ? text : "");
  e->len = strlen(e->text);
  e->pending = q->nreaders >= 32 ? UINT32_MAX : ((1u << q->nreaders) - 1);
  int64_t id = e->id;
  int jrc = 0;
  if (e->pending) {
    xgrow((void **)&q->v, &q->cap, q->n + 1, sizeof(*q->v));
    q->pending_names = xrealloc(q->pending_names, q->cap * sizeof(*q->pending_names));
    q->v[q->n] = e;
    q->pending_names[q->n] = NULL;
    q->n++;
    struct sbuf b = SBUF_INIT;
    entry_line(q, q->n - 1, &b);
    jrc = journal_append(q, &b);
    sbuf_free(&b);
  } else {
    struct sbuf b = SBUF_INIT;
    sbuf_printf(&b, "I %s %" PRId64 "\n", type_names[type], id);
    jrc = journal_append(q, &b);
    sbuf_free(&b);
    free_entry(e);
    e = NULL;
  }
  if (type == NOTIFY_INFO || type == NOTIFY_ALERT || type == NOTIFY_ERROR) {
    struct sbuf ev = SBUF_INIT;
    sbuf_printf(&ev, "notify.%s.%s", type_names[type], subtype);
    sim_events_raise(sim->events, ev.p, NULL);
    sbuf_free(&ev);
  }
  /* a callback may mark the entry read (and so free it): look it up again each time */
  for (int r = 0; e && r < q->nreaders; r++) {
    e = NULL;
    for (size_t i = 0; i < q->n; i++)
      if (q->v[i]->type == type && q->v[i]->id == id)
        e = q->v[i];
    if (e && q->readers[r].fn && (e->pending & (1u << r)))
      q->readers[r].fn(q->readers[r].ctx, e);
  }
  return jrc < 0 ? jrc : id;
}

int sim_notify_journal_error(const struct sim *sim)
{
  return sim->notify ? sim->notify->journal_err : 0;
}

int64_t sim_notify_error_code(struct sim *sim, uint32_t code, uint32_t data)
{
  if (!sim->notify)
    sim_notify_open(sim, NULL, NULL);
  struct sim_notify_queue *q = sim->notify;
  int64_t now = sim_monotonic(sim->loop) / SIM_NS_PER_SEC;
  if (q->have_error && q->last_error_code == code && now - q->last_error_time < 120)
    return 0;
  q->have_error = true;
  q->last_error_code = code;
  q->last_error_time = now;
  const char *vt = "";
  struct metric *m = metrics_find(sim->metrics, "v.type");
  if (m)
    vt = metric_string(m);
  char text[128];
  snprintf(text, sizeof(text), "%s,%" PRIu32 ",%" PRIu32, vt, code, data);
  return sim_notify_raise(sim, NOTIFY_ERROR, "code", text);
}
