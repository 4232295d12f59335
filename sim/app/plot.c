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

/* A panel's geometry: its box on the page and the value and time ranges it maps into it. */
struct panel_box {
  double y0, w;       /* top of the box, width of the plot area */
  double lo, hi, step; /* y range, rounded to whole steps of the y ticks */
  double tmin, tmax;   /* time range */
};

static double px(const struct panel_box *b, double t)
{
  return LEFT + (t - b->tmin) / (b->tmax - b->tmin) * b->w;
}

static double py(const struct panel_box *b, double v)
{
  return b->y0 + PANEL_H - (v - b->lo) / (b->hi - b->lo) * PANEL_H;
}

/* The y range of the series of unit, widened to whole ticks (0..1 when none has a value). */
static void panel_range(struct panel_box *b, const struct plot_series *ser, size_t ns,
                        const char *unit)
{
  double lo = INFINITY, hi = -INFINITY;
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
  b->step = nice_step(hi - lo, 5);
  b->lo = floor(lo / b->step) * b->step;
  b->hi = ceil(hi / b->step) * b->step;
}

/* The drive and charge phases as shaded rectangles (entries without kind/start/end skipped). */
static void panel_phases(struct sbuf *o, const struct panel_box *b,
                         const struct json_value *phases)
{
  for (size_t i = 0; phases && i < phases->len; i++) {
    const struct json_value *k = json_get(&phases->items[i], "kind"),
                            *s = json_get(&phases->items[i], "start"),
                            *e = json_get(&phases->items[i], "end");
    if (!k || k->type != JSON_STRING || !s || s->type != JSON_NUMBER || !e ||
        e->type != JSON_NUMBER)
      continue;
    bool drive = !strcmp(k->str, "drive");
    sbuf_printf(o, "<rect class=\"phase phase-%s\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" "
                   "height=\"%.2f\" fill=\"%s\" fill-opacity=\"0.15\"/>\n",
                drive ? "drive" : "charge", px(b, s->num), b->y0,
                px(b, e->num) - px(b, s->num), PANEL_H, drive ? "#1f77b4" : "#2ca02c");
  }
}

/* The frame, the y grid with its labels, the time ticks and the unit as the y axis title. */
static void panel_axes(struct sbuf *o, const struct panel_box *b, const char *unit)
{
  double y0 = b->y0, w = b->w;
  sbuf_printf(o, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"none\" "
                 "stroke=\"#444\"/>\n", LEFT, y0, w, PANEL_H);
  for (double v = b->lo; v <= b->hi + b->step / 2; v += b->step)
    sbuf_printf(o, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#ddd\"/>"
                   "<text x=\"%.2f\" y=\"%.2f\" font-size=\"11\" text-anchor=\"end\">%g</text>\n",
                LEFT, py(b, v), LEFT + w, py(b, v), LEFT - 5, py(b, v) + 4,
                fabs(v) < b->step / 1e6 ? 0 : v);
  double ts = time_step(b->tmax - b->tmin);
  struct sbuf lab = SBUF_INIT;
  for (double v = ceil(b->tmin / ts) * ts; v <= b->tmax + 1e-9; v += ts) {
    sbuf_reset(&lab);
    time_label(v, &lab);
    sbuf_printf(o, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#444\"/>"
                   "<text x=\"%.2f\" y=\"%.2f\" font-size=\"11\" text-anchor=\"middle\">%s"
                   "</text>\n",
                px(b, v), y0 + PANEL_H, px(b, v), y0 + PANEL_H + 4, px(b, v), y0 + PANEL_H + 16,
                sbuf_str(&lab));
  }
  sbuf_free(&lab);
  sbuf_printf(o, "<text x=\"15\" y=\"%.2f\" font-size=\"12\" transform=\"rotate(-90 15 %.2f)\" "
                 "text-anchor=\"middle\">", y0 + PANEL_H / 2, y0 + PANEL_H / 2);
  xml_text(o, *unit ? unit : "value");
  sbuf_adds(o, "</text>\n");
}

/* One series as a path (lifted over values that are not numbers) and its legend entry, the
 * nth of the panel, in colour c. */
static void panel_series(struct sbuf *o, const struct panel_box *b, const struct json_value *t,
                         const struct plot_series *s, const char *c, size_t nth)
{
  sbuf_printf(o, "<path class=\"series\" data-metric=\"%s\" fill=\"none\" stroke=\"%s\" "
                 "stroke-width=\"1.5\" d=\"", s->name, c);
  bool pen = false;
  for (size_t i = 0; i < s->values->len && i < t->len; i++) {
    const struct json_value *v = &s->values->items[i];
    if (v->type != JSON_NUMBER || t->items[i].type != JSON_NUMBER) {
      pen = false;
      continue;
    }
    sbuf_printf(o, "%s%.2f %.2f", pen ? " L" : (i ? " M" : "M"), px(b, t->items[i].num),
                py(b, v->num));
    pen = true;
  }
  sbuf_adds(o, "\"/>\n");
  double ly = b->y0 + 12 + 16 * (double)nth, lx = LEFT + b->w;
  sbuf_printf(o, "<g class=\"legend\"><line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" "
                 "stroke=\"%s\" stroke-width=\"3\"/><text x=\"%.2f\" y=\"%.2f\" "
                 "font-size=\"12\">%s</text></g>\n",
              lx + 10, ly - 4, lx + 30, ly - 4, c, lx + 35, ly, s->name);
}

/* One panel: the series of unit among ser, at y0: box, phases, y and time ticks, paths and
 * legend, in a <g> that carries the box and ranges as data-* attributes. */
static void panel(struct sbuf *o, const struct json_value *t, const struct plot_series *ser,
                  size_t ns, const char *unit, const struct json_value *phases, double y0,
                  double tmin, double tmax)
{
  struct panel_box b = {.y0 = y0, .w = W - LEFT - RIGHT, .tmin = tmin, .tmax = tmax};
  panel_range(&b, ser, ns, unit);
  sbuf_printf(o, "<g class=\"panel\" data-unit=\"");
  xml_text(o, unit);
  sbuf_printf(o, "\" data-x=\"%.2f\" data-y=\"%.2f\" data-w=\"%.2f\" data-h=\"%.2f\" "
                 "data-tmin=\"%.9g\" data-tmax=\"%.9g\" data-ymin=\"%.9g\" data-ymax=\"%.9g\">\n",
              LEFT, y0, b.w, PANEL_H, tmin, tmax, b.lo, b.hi);
  panel_phases(o, &b, phases);
  panel_axes(o, &b, unit);
  size_t nth = 0;
  for (size_t j = 0; j < ns; j++)
    if (!strcmp(ser[j].unit, unit))
      panel_series(o, &b, t, &ser[j], colors[j % ARRAY_SIZE(colors)], nth++);
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
