/*
 * plot.c - `ovms-sim plot RUN.json -o FILE.svg` and `--plot FILE.svg` of a run: draws the
 * series of a run report (--report, docs/scenarios.md "Looking at a run") as an SVG written
 * here, no library: one panel per unit (SoC %, power kW, speed km/h, temperatures °C, ...),
 * one <path class="series"> per metric, the drive and charge phases as shaded <rect>s, axes
 * in simulation time.  Each panel carries its box and ranges as data-* attributes, so a test
 * can map every value to its coordinate.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "core/array.h"
#include "core/json.h"
#include "core/sbuf.h"
#include "scenario/scenario.h"

#define W 960.0
#define LEFT 70.0
#define RIGHT 190.0
#define TOP 50.0
#define PANEL_H 160.0
#define GAP 40.0

static const char *const colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                     "#8c564b", "#e377c2", "#17becf"};

struct plot_series {
  const char *name, *unit;
  const struct json_value *values;
};

static int bad(const char *file, const char *msg, const char *arg)
{
  fprintf(stderr, "%s: error: %s%s\n", file, msg, arg ? arg : "");
  return EXIT_USAGE;
}

/* A "nice" step (1, 2, 5 x 10^k) giving about n ticks over span. */
static double nice_step(double span, int n)
{
  double raw = span / n, p = pow(10, floor(log10(raw))), f = raw / p;
  return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}

/* A step in seconds for the time axis: 1-2-5-10-15-30 s/min, then hours. */
static double time_step(double span)
{
  static const double steps[] = {1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600,
                                 7200, 10800, 21600, 43200, 86400};
  for (size_t i = 0; i < ARRAY_SIZE(steps); i++)
    if (span / steps[i] <= 10)
      return steps[i];
  return nice_step(span / 86400, 8) * 86400;
}

static void time_label(double s, struct sbuf *out)
{
  long long t = llround(s);
  if (t >= 3600)
    sbuf_printf(out, "%lld:%02lld:%02lld", t / 3600, t / 60 % 60, t % 60);
  else
    sbuf_printf(out, "%lld:%02lld", t / 60, t % 60);
}

static void xml_text(struct sbuf *out, const char *s)
{
  for (; *s; s++)
    switch (*s) {
    case '<': sbuf_adds(out, "&lt;"); break;
    case '>': sbuf_adds(out, "&gt;"); break;
    case '&': sbuf_adds(out, "&amp;"); break;
    case '"': sbuf_adds(out, "&quot;"); break;
    default: sbuf_addc(out, *s);
    }
}

/* One panel: the series of unit among ser, at y0: box, phases, y and time ticks, paths and
 * legend.  long: the coordinate macros X() and Y() of this panel are shared by every part of
 * it; split, each part would need the panel's geometry passed in. */
static void panel(struct sbuf *o, const struct json_value *t, const struct plot_series *ser,
                  size_t ns, const char *unit, const struct json_value *phases, double y0,
                  double tmin, double tmax)
{
  double lo = INFINITY, hi = -INFINITY, w = W - LEFT - RIGHT;
  for (size_t j = 0; j < ns; j++)
    if (!strcmp(ser[j].unit, unit))
      for (size_t i = 0; i < ser[j].values->len; i++)
        if (ser[j].values->items[i].type == JSON_NUMBER) {
          lo = fmin(lo, ser[j].values->items[i].num);
          hi = fmax(hi, ser[j].values->items[i].num);
        }
  if (!isfinite(lo))
    lo = 0, hi = 1;
  if (hi - lo < 1e-9)
    lo -= 1, hi += 1;
  double step = nice_step(hi - lo, 5);
  lo = floor(lo / step) * step;
  hi = ceil(hi / step) * step;
  sbuf_printf(o, "<g class=\"panel\" data-unit=\"");
  xml_text(o, unit);
  sbuf_printf(o, "\" data-x=\"%.2f\" data-y=\"%.2f\" data-w=\"%.2f\" data-h=\"%.2f\" "
                 "data-tmin=\"%.9g\" data-tmax=\"%.9g\" data-ymin=\"%.9g\" data-ymax=\"%.9g\">\n",
              LEFT, y0, w, PANEL_H, tmin, tmax, lo, hi);
#define X(v) (LEFT + ((v) - tmin) / (tmax - tmin) * w)
#define Y(v) (y0 + PANEL_H - ((v) - lo) / (hi - lo) * PANEL_H)
  for (size_t i = 0; phases && i < phases->len; i++) {
    const struct json_value *k = json_get(&phases->items[i], "kind"),
                            *a = json_get(&phases->items[i], "start"),
                            *b = json_get(&phases->items[i], "end");
    if (!k || k->type != JSON_STRING || !a || a->type != JSON_NUMBER || !b ||
        b->type != JSON_NUMBER)
      continue;
    sbuf_printf(o, "<rect class=\"phase phase-%s\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" "
                   "height=\"%.2f\" fill=\"%s\" fill-opacity=\"0.15\"/>\n",
                strcmp(k->str, "drive") ? "charge" : "drive", X(a->num), y0,
                X(b->num) - X(a->num), PANEL_H, strcmp(k->str, "drive") ? "#2ca02c" : "#1f77b4");
  }
  sbuf_printf(o, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"none\" "
                 "stroke=\"#444\"/>\n", LEFT, y0, w, PANEL_H);
  for (double v = lo; v <= hi + step / 2; v += step)
    sbuf_printf(o, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#ddd\"/>"
                   "<text x=\"%.2f\" y=\"%.2f\" font-size=\"11\" text-anchor=\"end\">%g</text>\n",
                LEFT, Y(v), LEFT + w, Y(v), LEFT - 5, Y(v) + 4, fabs(v) < step / 1e6 ? 0 : v);
  double ts = time_step(tmax - tmin);
  struct sbuf lab = SBUF_INIT;
  for (double v = ceil(tmin / ts) * ts; v <= tmax + 1e-9; v += ts) {
    sbuf_reset(&lab);
    time_label(v, &lab);
    sbuf_printf(o, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#444\"/>"
                   "<text x=\"%.2f\" y=\"%.2f\" font-size=\"11\" text-anchor=\"middle\">%s"
                   "</text>\n",
                X(v), y0 + PANEL_H, X(v), y0 + PANEL_H + 4, X(v), y0 + PANEL_H + 16,
                sbuf_str(&lab));
  }
  sbuf_free(&lab);
  sbuf_printf(o, "<text x=\"15\" y=\"%.2f\" font-size=\"12\" transform=\"rotate(-90 15 %.2f)\" "
                 "text-anchor=\"middle\">", y0 + PANEL_H / 2, y0 + PANEL_H / 2);
  xml_text(o, *unit ? unit : "value");
  sbuf_adds(o, "</text>\n");
  size_t nth = 0;
  for (size_t j = 0; j < ns; j++) {
    if (strcmp(ser[j].unit, unit))
      continue;
    const char *c = colors[j % ARRAY_SIZE(colors)];
    sbuf_printf(o, "<path class=\"series\" data-metric=\"%s\" fill=\"none\" stroke=\"%s\" "
                   "stroke-width=\"1.5\" d=\"", ser[j].name, c);
    bool pen = false;
    for (size_t i = 0; i < ser[j].values->len && i < t->len; i++) {
      const struct json_value *v = &ser[j].values->items[i];
      if (v->type != JSON_NUMBER || t->items[i].type != JSON_NUMBER) {
        pen = false;
        continue;
      }
      sbuf_printf(o, "%s%.2f %.2f", pen ? " L" : (i ? " M" : "M"), X(t->items[i].num),
                  Y(v->num));
      pen = true;
    }
    sbuf_adds(o, "\"/>\n");
    double ly = y0 + 12 + 16 * (double)nth++;
    sbuf_printf(o, "<g class=\"legend\"><line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" "
                   "stroke=\"%s\" stroke-width=\"3\"/><text x=\"%.2f\" y=\"%.2f\" "
                   "font-size=\"12\">%s</text></g>\n",
                LEFT + w + 10, ly - 4, LEFT + w + 30, ly - 4, c, LEFT + w + 35, ly, ser[j].name);
  }
#undef X
#undef Y
  sbuf_adds(o, "</g>\n");
}

/* Picks the series to draw: the defaults present, then every metric named (which must be). */
static int pick(const char *file, const struct json_value *metrics, const char *const *named,
                size_t nnamed, struct plot_series *ser, size_t *ns, size_t nt)
{
  *ns = 0;
  size_t nd = 0;
  while (scenario_series_default[nd])
    nd++;
  for (size_t k = 0; k < nd + nnamed; k++) {
    bool dflt = k < nd;
    const char *want = dflt ? scenario_series_default[k] : named[k - nd];
    const struct json_value *hit = NULL;
    for (size_t i = 0; i < metrics->len; i++) {
      const struct json_value *n = json_get(&metrics->items[i], "name");
      if (n && n->type == JSON_STRING && !strcmp(n->str, want))
        hit = &metrics->items[i];
    }
    if (!hit) {
      if (dflt)
        continue;
      fprintf(stderr, "%s: error: no series of metric %s in the report (run with --metric %s "
                      "--report)\n", file, want, want);
      return EXIT_USAGE;
    }
    const struct json_value *u = json_get(hit, "unit"), *v = json_get(hit, "values");
    if (!u || u->type != JSON_STRING || !v || v->type != JSON_ARRAY || v->len != nt)
      return bad(file, "a series without unit or with values not matching \"t\": ", want);
    bool seen = false;
    for (size_t i = 0; i < *ns; i++)
      seen |= !strcmp(ser[i].name, want);
    if (!seen && *ns < 64)
      ser[(*ns)++] = (struct plot_series){want, u->str, v};
  }
  return 0;
}

/* Renders the parsed report root into o.  Returns 0 or the exit code (printed). */
static int render(const char *file, const struct json_value *root, const char *const *named,
                  size_t nnamed, struct sbuf *o)
{
  const struct json_value *s = json_get(root, "series"), *t = json_get(s, "t"),
                          *m = json_get(s, "metrics"), *ph = json_get(root, "phases"),
                          *name = json_get(root, "scenario");
  if (!t || t->type != JSON_ARRAY || !m || m->type != JSON_ARRAY)
    return bad(file, "not a run report with a time series (\"series\": run a scenario with "
                     "--report, docs/scenarios.md)", NULL);
  for (size_t i = 0; i < t->len; i++)
    if (t->items[i].type != JSON_NUMBER)
      return bad(file, "a time in \"series\".\"t\" that is not a number", NULL);
  if (ph && ph->type != JSON_ARRAY)
    ph = NULL;
  struct plot_series ser[64];
  size_t ns;
  int rc = pick(file, m, named, nnamed, ser, &ns, t->len);
  if (rc)
    return rc;
  if (!ns)
    return bad(file, "no series to draw", NULL);
  double tmin = t->len ? t->items[0].num : 0, tmax = t->len ? t->items[t->len - 1].num : 1;
  if (tmax - tmin < 1e-9)
    tmax = tmin + 1;
  const char *units[64];
  size_t nu = 0;
  for (size_t j = 0; j < ns; j++) {
    size_t k = 0;
    while (k < nu && strcmp(units[k], ser[j].unit))
      k++;
    if (k == nu)
      units[nu++] = ser[j].unit;
  }
  double h = TOP + (double)nu * (PANEL_H + GAP) + 10;
  sbuf_printf(o, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/"
                 "2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
                 "font-family=\"sans-serif\">\n<rect width=\"100%%\" height=\"100%%\" "
                 "fill=\"white\"/>\n<text class=\"title\" x=\"%.2f\" y=\"28\" font-size=\"16\">",
              W, h, W, h, LEFT);
  xml_text(o, name && name->type == JSON_STRING ? name->str : file);
  sbuf_adds(o, " (simulation time h:mm:ss; shaded: blue drive, green charge)</text>\n");
  for (size_t k = 0; k < nu; k++)
    panel(o, t, ser, ns, units[k], ph, TOP + (double)k * (PANEL_H + GAP), tmin, tmax);
  sbuf_adds(o, "</svg>\n");
  return 0;
}

static int plot_text(const char *file, const char *json, size_t len, const char *const *named,
                     size_t nnamed, const char *out)
{
  struct sim_diag d = SIM_DIAG_INIT;
  struct json_value root;
  if (json_parse(json, len, file, &root, &d) < 0) {
    print_diag(&d);
    sim_diag_cleanup(&d);
    return EXIT_USAGE;
  }
  sim_diag_cleanup(&d);
  struct sbuf o = SBUF_INIT;
  int rc = render(file, &root, named, nnamed, &o);
  json_free(&root);
  if (rc == 0) {
    FILE *f = strcmp(out, "-") ? fopen(out, "w") : stdout;
    if (!f || fwrite(o.p, 1, o.len, f) != o.len || (f != stdout && fclose(f) != 0)) {
      fprintf(stderr, "ovms-sim: cannot write %s\n", out);
      rc = EXIT_RUNTIME;
    }
  }
  sbuf_free(&o);
  return rc;
}

int app_plot_report(const char *json, size_t len, const char *const *metrics, size_t nmetrics,
                    const char *path)
{
  return plot_text("run report", json, len, metrics, nmetrics, path);
}

int cmd_plot(int argc, char **argv)
{
  static const struct option popts[] = {
    {"output", required_argument, NULL, 'o'},
    {"metric", required_argument, NULL, 'm'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
  };
  const char *out = NULL, *named[64];
  size_t nnamed = 0;
  int c;
  optind = 1;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":o:h", popts, NULL)) != -1) {
    switch (c) {
    case 'o': out = optarg; break;
    case 'm':
      if (nnamed == 64)
        return usage_error("plot: at most 64 --metric");
      named[nnamed++] = optarg;
      break;
    case 'h': usage_plot(stdout); return 0;
    case ':': return usage_error("plot: option '%s' needs a value", argv[optind - 1]);
    default: return usage_error("plot: unknown option '%s'", argv[optind - 1]);
    }
  }
  if (argc - optind != 1 || !out)
    return usage_error("plot needs a run report RUN.json and -o FILE.svg");
  struct sbuf in = SBUF_INIT;
  if (sbuf_read_file(&in, argv[optind]) < 0) {
    fprintf(stderr, "ovms-sim: cannot read %s\n", argv[optind]);
    sbuf_free(&in);
    return EXIT_USAGE;
  }
  int rc = plot_text(argv[optind], in.p ? in.p : "", in.len, named, nnamed, out);
  sbuf_free(&in);
  return rc;
}
