/*
 * util.c - pure helpers of Server V3: broker URL parsing, the topic prefix (Connect()),
 * name-to-topic mapping (mqtt_topic() in V3/main/ovms_utils.cpp), the retain depth rule, the
 * id_filter include/exclude lists (V3/components/id_filter/src/id_filter.cpp), the topic
 * name table of the two topic profiles and the payload formatters of the hot path.  No I/O,
 * no state: unit-tested by tables.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "v3/internal.h"
#include "core/xalloc.h"

/* The topic profiles, indexed by enum sim_topics.  draft-2018 is the seed post:
 * "<prefix>/m/", "<prefix>/c/<clientid>", "<prefix>/cmd/<clientid>/c/" and "/r/" at QoS 2
 * ("using QOS 2 messages" for commands), "<prefix>/notify/<type>" at QoS 2. */
const struct v3_topic_names v3_topics[] = {
  /* name, metric, sub_active, sub_command, sub_qos, client_tree,
   * resp_head, resp_mid, response_qos, notify_qos, notify_subtype_topic */
  [SIM_TOPICS_CURRENT] = {"current", "metric/", "client/+/active", "client/+/command/+", 1, true,
                          "client/", "/response/", 1, 1, true},
  [SIM_TOPICS_DRAFT2018] = {"draft-2018", "m/", "c/+", "cmd/+/c/", 2, false,
                            "cmd/", "/r/", 2, 2, false},
};

/* The message shows the URL with anything between "://" and "@" past a ':' masked, so that
 * a password never reaches a log. */
static int url_error(struct sim_diag *d, const char *url, const char *what)
{
  if (!d)
    return SIM_EPARSE;
  struct sbuf msg = SBUF_INIT;
  sbuf_adds(&msg, "invalid broker URL '");
  const char *s = strstr(url, "://"), *at = s ? strchr(s + 3, '@') : NULL;
  const char *colon = at ? memchr(s + 3, ':', (size_t)(at - s - 3)) : NULL;
  if (colon) {
    sbuf_add(&msg, url, (size_t)(colon - url));
    sbuf_adds(&msg, ":***");
    sbuf_adds(&msg, at);
  } else {
    sbuf_adds(&msg, url);
  }
  sbuf_printf(&msg, "': %s", what);
  sim_diag_error(d, NULL, 0, 0, "%s", sbuf_str(&msg));
  sbuf_free(&msg);
  return SIM_EPARSE;
}

int v3_url_parse(const char *url, struct v3_url *out, struct sim_diag *d)
{
  memset(out, 0, sizeof(*out));
  const char *p;
  if (!strncmp(url, "mqtt://", 7)) {
    p = url + 7;
  } else if (!strncmp(url, "mqtts://", 8)) {
    p = url + 8;
    out->tls = true;
  } else {
    return url_error(d, url, "expected mqtt://[user@]host[:port] or mqtts://...");
  }
  const char *at = strchr(p, '@');
  if (at) {
    size_t ulen = (size_t)(at - p);
    if (memchr(p, ':', ulen))
      return url_error(d, url,
                       "a password in the URL would be visible in ps; give it in a password "
                       "file or the environment");
    if (ulen == 0 || ulen >= sizeof(out->user))
      return url_error(d, url, "bad user name");
    memcpy(out->user, p, ulen);
    p = at + 1;
  }
  const char *hend;
  if (*p == '[') { /* IPv6 literal */
    hend = strchr(p, ']');
    if (!hend)
      return url_error(d, url, "unterminated [ in host");
    size_t hl = (size_t)(hend - p - 1);
    if (hl == 0 || hl >= sizeof(out->host))
      return url_error(d, url, "bad host");
    memcpy(out->host, p + 1, hl);
    hend++;
  } else {
    hend = p + strcspn(p, ":/");
    size_t hl = (size_t)(hend - p);
    if (hl == 0 || hl >= sizeof(out->host))
      return url_error(d, url, "missing host");
    memcpy(out->host, p, hl);
  }
  p = hend;
  if (*p == ':') {
    char *end;
    long port = strtol(p + 1, &end, 10);
    if (end == p + 1 || port < 1 || port > 65535 || (*end && *end != '/'))
      return url_error(d, url, "port must be a number from 1 to 65535");
    out->port = (int)port;
    p = end;
  }
  if (*p == '/')
    p++;
  if (*p)
    return url_error(d, url, "unexpected path after host");
  return 0;
}

void v3_prefix_build(const char *custom, const char *user, const char *vehicleid,
                     struct sbuf *out)
{
  if (custom && *custom) {
    sbuf_adds(out, custom);
    return;
  }
  sbuf_adds(out, "ovms/");
  sbuf_adds(out, user ? user : "");
  sbuf_addc(out, '/');
  if (vehicleid && *vehicleid) {
    sbuf_adds(out, vehicleid);
    sbuf_addc(out, '/');
  }
}

void v3_topic_path(const char *name, struct sbuf *out)
{
  size_t n = strlen(name);
  sbuf_reserve(out, n);
  char *d = out->p + out->len;
  for (size_t i = 0; i < n; i++)
    d[i] = name[i] == '.' ? '/' : name[i];
  out->len += n;
  out->p[out->len] = '\0';
}

bool v3_retain_depth_exceeded(const char *topic)
{
  int n = 0;
  for (const char *p = topic; *p; p++)
    if (*p == '/' && ++n > 7)
      return true;
  return false;
}

int v3_filter_set(struct v3_filter *f, const char *list)
{
  v3_filter_cleanup(f);
  int rc = 0;
  const char *p = list ? list : "";
  while (*p) {
    size_t n = strcspn(p, ",");
    const char *s = p, *e = p + n;
    while (s < e && (*s == ' ' || *s == '\t'))
      s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
      e--;
    if (e > s) {
      const char *star = memchr(s, '*', (size_t)(e - s));
      /* id_filter accepts '*' only as the first or last character */
      bool bad = false;
      for (const char *q = s + 1; q < e - 1; q++)
        if (*q == '*')
          bad = true;
      if (star && e - s > 1 && star != s && star != e - 1)
        bad = true;
      if (bad) {
        rc = SIM_EPARSE;
      } else {
        f->v = xrealloc(f->v, (f->n + 1) * sizeof(*f->v));
        f->v[f->n++] = xstrndup(s, (size_t)(e - s));
      }
    }
    p += n;
    if (*p == ',')
      p++;
  }
  return rc;
}

void v3_filter_cleanup(struct v3_filter *f)
{
  for (size_t i = 0; i < f->n; i++)
    free(f->v[i]);
  free(f->v);
  f->v = NULL;
  f->n = 0;
}

static bool entry_match(const char *e, const char *name)
{
  size_t el = strlen(e);
  if (el == 1 && e[0] == '*')
    return true;
  if (el > 0 && e[el - 1] == '*')
    return !strncmp(e, name, el - 1);
  if (e[0] == '*') {
    size_t nl = strlen(name);
    return nl >= el - 1 && !strcmp(name + nl - (el - 1), e + 1);
  }
  return !strcmp(e, name);
}

bool v3_filter_match(const struct v3_filter *f, const char *name)
{
  for (size_t i = 0; i < f->n; i++)
    if (entry_match(f->v[i], name))
      return true;
  return false;
}

/* ---- Payload formatting: printf's %g and %lld without printf ------------------------------ */

/* Powers of ten 10^-4 .. 10^6 (the range %g prints without an exponent) and 10^0 .. 10^9. */
static const double p10_range[] = {1e-4, 1e-3, 1e-2, 1e-1, 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6};
static const double p10_exact[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};

void v3_format_g(double v, struct sbuf *out)
{
  double a = fabs(v);
  /* printf for what the exact digits below cannot be sure of: no finite value in the fixed
   * range, or one within 1e-12 of a power of ten (the exponent is then a question of the
   * last bit) */
  if (!isfinite(v) || a < 1e-4 || a >= 999999.5) {
    if (v == 0) /* 0 and -0, as %g prints them */
      sbuf_adds(out, signbit(v) ? "-0" : "0");
    else
      sbuf_printf(out, "%g", v);
    return;
  }
  int x = -4; /* decimal exponent: 10^x <= a < 10^(x+1) */
  while (x < 5 && a >= p10_range[x + 5])
    x++;
  double lo = p10_range[x + 4], hi = p10_range[x + 5];
  int p = 5 - x; /* digits after the point at 6 significant digits: 0 .. 9 */
  double s = a * p10_exact[p]; /* in [1e5, 1e6); one rounding: error below 1.2e-10 */
  double r = floor(s), frac = s - r;
  if (a - lo < lo * 1e-12 || hi - a < hi * 1e-12 || fabs(frac - 0.5) < 1e-9) {
    sbuf_printf(out, "%g", v); /* a tie or nearly one: printf's exact rounding decides */
    return;
  }
  uint32_t d = (uint32_t)r + (frac > 0.5 ? 1 : 0);
  if (d >= 1000000) {
    sbuf_printf(out, "%g", v); /* rounded up to the next power of ten: a new exponent */
    return;
  }
  char digits[6];
  for (int i = 5; i >= 0; i--) {
    digits[i] = (char)('0' + d % 10);
    d /= 10;
  }
  char buf[24];
  size_t n = 0;
  if (v < 0)
    buf[n++] = '-';
  size_t last = 6; /* significant digits kept: trailing zeros after the point go */
  while (last > (size_t)(x >= 0 ? x + 1 : 0) && digits[last - 1] == '0')
    last--;
  if (x >= 0) {
    memcpy(buf + n, digits, (size_t)x + 1);
    n += (size_t)x + 1;
    if (last > (size_t)x + 1) {
      buf[n++] = '.';
      memcpy(buf + n, digits + x + 1, last - (size_t)x - 1);
      n += last - (size_t)x - 1;
    }
  } else {
    buf[n++] = '0';
    buf[n++] = '.';
    for (int i = 0; i < -x - 1; i++)
      buf[n++] = '0';
    memcpy(buf + n, digits, last);
    n += last;
  }
  sbuf_add(out, buf, n);
}

void v3_format_int(int64_t v, struct sbuf *out)
{
  char buf[24];
  size_t n = sizeof(buf);
  uint64_t a = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
  do {
    buf[--n] = (char)('0' + a % 10);
    a /= 10;
  } while (a);
  if (v < 0)
    buf[--n] = '-';
  sbuf_add(out, buf + n, sizeof(buf) - n);
}
