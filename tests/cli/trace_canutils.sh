#!/bin/bash
# trace_canutils.sh - cross-checks of ovms-sim convert against can-utils (Debian can-utils):
#  1. our candump -> ASC and log2asc's ASC of the same log decode to the same frames;
#  2. asc2log of our ASC gives back the original log (times relative to the first frame, as
#     asc2log 2020.11 cannot read the date line);
#  3. candump -> every format -> candump is lossless for what each format carries (checked
#     in unit.trace_codecs); here: candump -> crtd -> candump and the CLI's exit codes.
set -u
BIN=${OVMS_SIM_BIN:?}
DATA=${OVMS_SIM_DATA:?}
if ! command -v log2asc >/dev/null || ! command -v asc2log >/dev/null; then
  echo "skipped: can-utils (log2asc, asc2log) not installed"
  exit 77
fi
export TZ=UTC
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# A log with classic 11/29-bit frames, RTR, TX, an error frame and two interfaces, plus the
# real frames of the e-NV200 excerpt (converted from CRTD).
cat > "$T/in.log" <<'LOG'
(1724333002.811100) can0 7E8#03410D3C00000000
(1724333002.821100) can0 18DAF110#1014
(1724333002.831100) can1 1DB#0004C262000003B6
(1724333003.000001) can0 7DF#R
(1724333003.200000) can0 20000080#0000000000000000
(1724333003.300000) can0 7E0#0102 T
(1724333003.400000) can1 5C5#
LOG
"$BIN" convert -q "$DATA/traces/env200-startup.crtd" "$T/env.log" || fail "convert crtd"
sed -e 's/^(1632509059\./(1724333004./' -e 's/^(1632509064\./(1724333005./' \
    -e 's/^(1632509070\./(1724333006./' "$T/env.log" >> "$T/in.log"

# relative-time candump text of any trace
norm() {
  "$BIN" convert -q "$1" - --to candump | awk '
    { t = substr($1, 2, length($1) - 2); if (NR == 1) t0 = t;
      sub(/ R$/, ""); $1 = sprintf("(%.6f)", t - t0); print }'
}

# 1. log2asc vs ours
log2asc -I "$T/in.log" -O "$T/theirs.asc" can0 can1 || fail "log2asc"
"$BIN" convert -q "$T/in.log" "$T/ours.asc" || fail "convert to asc"
norm "$T/theirs.asc" > "$T/theirs.txt"
norm "$T/ours.asc" > "$T/ours.txt"
diff -u "$T/theirs.txt" "$T/ours.txt" || fail "our ASC and log2asc's ASC decode differently"
[ "$(wc -l < "$T/ours.txt")" -eq "$(grep -c '^(' "$T/in.log")" ] || fail "frame count"

# 2. asc2log of our ASC == original (relative times, interface names can0/can1)
asc2log -I "$T/ours.asc" -O "$T/back.log" 2>/dev/null || fail "asc2log"
norm "$T/back.log" > "$T/back.txt"
norm "$T/in.log" > "$T/orig.txt"
diff -u "$T/orig.txt" "$T/back.txt" || fail "asc2log of our ASC differs from the original log"

# 3. CRTD round trip is exact, absolute times included
"$BIN" convert -q "$T/in.log" "$T/x.crtd" || fail "to crtd"
grep -q '^1724333002.811100 1R11 7E8 03 41 0d 3c 00 00 00 00$' "$T/x.crtd" || fail "CRTD line"
grep -v '#R\|20000080' "$T/in.log" > "$T/in-crtd.log"  # CRTD carries no RTR / error frames
"$BIN" convert -q "$T/x.crtd" "$T/y.log" || fail "crtd back"
diff -u "$T/in-crtd.log" "$T/y.log" || fail "candump -> crtd -> candump"

# exit codes: bad input is 2 with file:line:col
printf '(1.000000) can0 7E8#00\n(1.100000) can0 7G8#00\n' > "$T/bad.log"
"$BIN" convert "$T/bad.log" "$T/out.crtd" 2> "$T/err"; rc=$?
[ $rc -eq 2 ] || fail "bad line: exit $rc"
grep -q "bad.log:2:17: error: candump log: the id must be 3 or 8 hex digits" "$T/err" || { cat "$T/err"; fail "message"; }
"$BIN" convert --keep-going "$T/bad.log" "$T/out.crtd" 2> /dev/null || fail "--keep-going"
[ "$(grep -c R11 "$T/out.crtd")" -eq 1 ] || fail "--keep-going kept the good line"
"$BIN" convert --to nosuch "$T/in.log" "$T/o" 2>/dev/null; [ $? -eq 2 ] || fail "--to nosuch"
echo hello > "$T/hello.txt"
"$BIN" convert "$T/hello.txt" "$T/o" 2> "$T/err"; [ $? -eq 2 ] || fail "unknown format"
grep -q "hello.txt:1:1: error: not a known trace format" "$T/err" || fail "format message"
echo "ok"
