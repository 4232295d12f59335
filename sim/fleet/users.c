/*
 * users.c - the --fleet-users file: one car's credentials per line, "user,password,vehicle-id"
 * (CSV as spreadsheets write it: fields may be double-quoted, "" inside quotes is a quote).
 *
 * Car j of the fleet (0-based index over the whole fleet, before sharding) takes line j, so
 * every shard reads the same file and picks its own lines.  Diagnostics name line and column
 * but never show a password field's content.
 */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/utf8.h"
#include "core/xalloc.h"
#include "fleet/fleet.h"

/* Splits one line into at most 4 fields (the 4th means "too many").  Returns the number of
 * fields, or -column of a quoting error. */
static int split(const char *line, size_t len, struct sbuf f[4])
{
  int n = 0;
  size_t i = 0;
  for (;;) {
    if (n == 4)
      return 4;
    sbuf_reset(&f[n]);
    if (i < len && line[i] == '"') {
      size_t start = i++;
      for (;;) {
        if (i >= len)
          return -(int)(start + 1);
        if (line[i] == '"' && i + 1 < len && line[i + 1] == '"') {
          sbuf_addc(&f[n], '"');
          i += 2;
        } else if (line[i] == '"') {
          i++;
          break;
        } else {
          sbuf_addc(&f[n], line[i++]);
        }
      }
      if (i < len && line[i] != ',')
        return -(int)(i + 1);
    } else {
      while (i < len && line[i] != ',')
        sbuf_addc(&f[n], line[i++]);
    }
    n++;
    if (i >= len)
      return n;
    i++; /* the comma */
  }
}

int fleet_users_parse(const char *text, size_t len, const char *name, struct fleet_users *out,
                      struct sim_diag *d)
{
  memset(out, 0, sizeof(*out));
  struct sbuf f[4] = {SBUF_INIT, SBUF_INIT, SBUF_INIT, SBUF_INIT};
  size_t cap = 0;
  int line = 0;
  bool bad = false;
  size_t pos = 0;
  while (pos < len) {
    const char *l = text + pos;
    const char *nl = memchr(l, '\n', len - pos);
    size_t ll = nl ? (size_t)(nl - l) : len - pos;
    pos += ll + (nl ? 1 : 0);
    line++;
    while (ll > 0 && (l[ll - 1] == '\r'))
      ll--;
    if (ll == 0 || l[0] == '#')
      continue;
    for (int k = 0; k < 4; k++) /* room for the whole line: no realloc() copy of a password */
      sbuf_reserve_secret(&f[k], ll);
    int nf = split(l, ll, f);
    if (nf < 0) {
      sim_diag_error(d, name, line, -nf, "unbalanced quotes");
      bad = true;
      continue;
    }
    if (line == 1 && nf == 3 && !strcmp(sbuf_str(&f[0]), "user") &&
        !strcmp(sbuf_str(&f[1]), "password"))
      continue; /* header */
    if (nf != 3) {
      sim_diag_error(d, name, line, 1, "expected user,password,vehicle-id (%d fields)", nf);
      bad = true;
      continue;
    }
    if (!sim_topic_word(sbuf_str(&f[0]))) {
      sim_diag_error(d, name, line, 1, "the user must not be empty nor contain / # + or spaces");
      bad = true;
      continue;
    }
    if (!sim_topic_word(sbuf_str(&f[2]))) {
      sim_diag_error(d, name, line, (int)(strlen(sbuf_str(&f[0])) + f[1].len + 3),
                     "the vehicle id must not be empty nor contain / # + or spaces");
      bad = true;
      continue;
    }
    xgrow((void **)&out->v, &cap, out->n + 1, sizeof(*out->v));
    struct fleet_user *u = &out->v[out->n++];
    u->user = xstrdup(sbuf_str(&f[0]));
    u->password = xstrdup(sbuf_str(&f[1]));
    u->vehicle_id = xstrdup(sbuf_str(&f[2]));
  }
  for (int i = 0; i < 4; i++)
    sbuf_free_secret(&f[i]);
  if (!bad && out->n == 0) {
    sim_diag_error(d, name, line, 0, "no users in the file");
    bad = true;
  }
  if (bad) {
    fleet_users_cleanup(out);
    return SIM_EPARSE;
  }
  return 0;
}

int fleet_users_load(const char *path, struct fleet_users *out, struct sim_diag *d)
{
  memset(out, 0, sizeof(*out));
  struct sbuf b = SBUF_INIT;
  int rc = sbuf_read_file_secret(&b, path);
  if (rc < 0)
    sim_diag_error(d, path, 0, 0, "%s", strerror(-rc));
  else
    rc = fleet_users_parse(b.len ? b.p : "", b.len, path, out, d);
  sbuf_free_secret(&b);
  return rc;
}

void fleet_users_cleanup(struct fleet_users *u)
{
  for (size_t i = 0; i < u->n; i++) {
    free(u->v[i].user);
    xfree_secret(u->v[i].password);
    free(u->v[i].vehicle_id);
  }
  free(u->v);
  u->v = NULL;
  u->n = 0;
}
