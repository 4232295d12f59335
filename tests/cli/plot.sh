#!/usr/bin/env bash
# ovms-sim plot and --plot: the SVG of a shipped scenario's run report (charging.yaml,
# driving.yaml) is well-formed XML with one <path class="series"> per series, as many points as
# the report has numeric samples, every point at the coordinate its value maps to in its
# panel's box, and the phases as <rect class="phase ...">; bad input exits 2.
set -u
BIN=${OVMS_SIM_BIN:?}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
. "$SRC/tests/support/cli_lib.sh"
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT

verify() { # report svg want_phase_kind [extra metric]
  python3 - "$@" <<'PY'
import json, sys, xml.etree.ElementTree as ET
rep, svg, kind = sys.argv[1], sys.argv[2], sys.argv[3]
extra = sys.argv[4:]
r = json.load(open(rep)); t = r["series"]["t"]
root = ET.parse(svg).getroot()          # raises on malformed XML
ns = "{http://www.w3.org/2000/svg}"
want = [m for m in r["series"]["metrics"] if any(v is not None for v in m["values"])]
paths = {p.get("data-metric"): (p, g) for g in root.iter(ns + "g") if g.get("class") == "panel"
         for p in g.iter(ns + "path")}
errs = []
for m in r["series"]["metrics"]:
    if m["name"] not in paths: errs.append("no path for " + m["name"]); continue
    p, g = paths[m["name"]]
    x0, y0, w, h = (float(g.get(k)) for k in ("data-x", "data-y", "data-w", "data-h"))
    tmin, tmax, lo, hi = (float(g.get(k)) for k in ("data-tmin", "data-tmax", "data-ymin", "data-ymax"))
    pts = [tuple(map(float, s.strip().lstrip("ML").split())) for s in p.get("d").replace("M", "|M").replace("L", "|L").split("|") if s.strip()]
    exp = [(x0 + (tt - tmin) / (tmax - tmin) * w, y0 + h - (v - lo) / (hi - lo) * h) for tt, v in zip(t, m["values"]) if v is not None]
    if len(pts) != len(exp): errs.append("%s: %d points, want %d" % (m["name"], len(pts), len(exp))); continue
    bad = [i for i, (a, b) in enumerate(zip(pts, exp)) if abs(a[0] - b[0]) > 0.01 or abs(a[1] - b[1]) > 0.01]
    if bad: errs.append("%s: point %d at %s, want %s" % (m["name"], bad[0], pts[bad[0]], exp[bad[0]]))
for e in extra:
    if e not in paths: errs.append("no path for --metric " + e)
rects = [x for x in root.iter(ns + "rect") if (x.get("class") or "").startswith("phase")]
if not any(x.get("class") == "phase phase-" + kind for x in rects): errs.append("no %s phase rect" % kind)
if len(r["phases"]) * len({g.get("data-unit") for g in root.iter(ns + "g") if g.get("class") == "panel"}) != len(rects):
    errs.append("phase rects: %d" % len(rects))
title = [x for x in root.iter(ns + "text") if x.get("class") == "title"]
if not title or r["scenario"] not in title[0].text: errs.append("title lacks the scenario name")
if len(t) > 1100: errs.append("series too long: %d" % len(t))
print("\n".join(errs)); sys.exit(1 if errs else 0)
PY
}

"$BIN" --scenario "$SRC/scenarios/charging.yaml" --fast -q --report "$dir/ch.json" --plot "$dir/run.svg" --metric v.c.power > /dev/null 2>&1
check "charging run" 0 $?
"$BIN" plot "$dir/ch.json" -o "$dir/ch.svg" --metric v.c.power; check "plot charging" 0 $?
out=$(verify "$dir/ch.json" "$dir/ch.svg" charge v.c.power); check "charging svg: $out" 0 $?
out=$(verify "$dir/ch.json" "$dir/run.svg" charge v.c.power); check "--plot svg: $out" 0 $?
"$BIN" --scenario "$SRC/scenarios/driving.yaml" --fast -q --report "$dir/dr.json" > /dev/null 2>&1
"$BIN" plot "$dir/dr.json" -o "$dir/dr.svg"; check "plot driving" 0 $?
out=$(verify "$dir/dr.json" "$dir/dr.svg" drive); check "driving svg: $out" 0 $?

h=$("$BIN" plot --help); check "plot --help" 0 $?
contains "help text" "$h" "Usage: ovms-sim plot"
echo '{"scenario":' > "$dir/bad.json"
e=$("$BIN" plot "$dir/bad.json" -o "$dir/x.svg" 2>&1); check "not JSON" 2 $?
contains "not JSON: where" "$e" "bad.json:2:1: error:"
echo '{"scenario":"x","checks":[]}' > "$dir/old.json"
e=$("$BIN" plot "$dir/old.json" -o "$dir/x.svg" 2>&1); check "no series" 2 $?
contains "no series message" "$e" "not a run report with a time series"
e=$("$BIN" plot "$dir/ch.json" -o "$dir/x.svg" --metric v.e.cabintemp 2>&1); check "missing series" 2 $?
contains "missing series message" "$e" "no series of metric v.e.cabintemp"
e=$("$BIN" --scenario "$SRC/scenarios/charging.yaml" --fast --metric v.nope --plot "$dir/y.svg" 2>&1); check "unknown metric" 2 $?
contains "unknown metric message" "$e" "unknown metric"
e=$("$BIN" --scenario "$SRC/scenarios/charging.yaml" --fast --metric v.c.state --plot "$dir/y.svg" 2>&1); check "string metric" 2 $?
e=$("$BIN" plot "$dir/ch.json" 2>&1); check "no -o" 2 $?
finish
