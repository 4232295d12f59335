#!/usr/bin/env bash
# CLI behaviour of ovms-sim (STYLE.md section 11): --help on stdout with exit 0, bad
# invocations with one specific error and "Try 'ovms-sim --help'" on stderr, exit 2; malformed
# numbers are errors, not zeros; `metrics` lists every standard metric.
set -u
BIN=${OVMS_SIM_BIN:?}
fails=0; passes=0
check() { # name, expected rc, actual rc
  if [ "$2" = "$3" ]; then passes=$((passes+1)); else echo "FAIL: $1 (exit $3, want $2)"; fails=$((fails+1)); fi
}
contains() { # name, haystack, needle
  case "$2" in *"$3"*) passes=$((passes+1));; *) echo "FAIL: $1: output lacks '$3'"; echo "$2" | head -5; fails=$((fails+1));; esac
}

out=$("$BIN" --help 2>/dev/null); check "--help" 0 $?
contains "--help usage" "$out" "Usage: ovms-sim [run] [OPTIONS]"
contains "--help lists --scenario" "$out" "--scenario FILE"
contains "--help default seed" "$out" "random seed (default 1)"
out=$("$BIN" --version); check "--version" 0 $?
contains "--version" "$out" "ovms-sim "

for args in "--speed abc" "--speed 0" "--speed -3" "--speed 1x" "--seed 12a" "--seed -1" \
            "--duration soon" "--duration 0" "--start-time tomorrow" "--bogus" "-Z" \
            "--start-time 9223372036854775807" "--start-time 2024-02-30" \
            "--firmware 9.9" "--set novalue" "--set =x" "--fast --speed 2" "--fast --speed 1" \
            "extra-arg" \
            "--set server.v3.nonexistent=1" "--scenario"; do
  err=$("$BIN" $args 2>&1 >/dev/null); rc=$?
  check "$args" 2 $rc
  contains "$args hint" "$err" "Try 'ovms-sim --help'"
done
err=$("$BIN" --speed abc 2>&1); contains "--speed message" "$err" "invalid --speed 'abc'"
for x in 1e-12 0.0009 0 -1 2e6 nan; do
  err=$(timeout 20 "$BIN" --speed $x --duration 1s 2>&1); check "--speed $x refused" 2 $?
  contains "--speed $x message" "$err" "invalid --speed '$x': a number from 0.001 to 1e+06"
done
timeout 60 "$BIN" --speed 0.001 --duration 0.001s --quiet >/dev/null 2>&1; check "--speed 0.001" 0 $?
err=$("$BIN" --set vehicle.units.distance 2>&1); contains "--set message" "$err" "expected KEY=VALUE"

out=$("$BIN" metrics); check "metrics" 0 $?
n=$(printf '%s\n' "$out" | wc -l); check "metrics lists 198 metrics" 198 "$n"
contains "metrics row" "$out" "v.b.soc"
out=$("$BIN" metrics 'v.p.lat*'); contains "metrics pattern" "$out" "v.p.latitude"
n=$(printf '%s\n' "$out" | wc -l); check "metrics pattern count" 1 "$n"
out=$("$BIN" metrics --json 'v.e.on'); contains "metrics json" "$out" '"name": "v.e.on"'
out=$("$BIN" metrics m.time.utc --start-time '2026-08-22 14:43:22')
contains "metrics value" "$out" "2026-08-22 14:43:22 UTC"

# a '*' in the middle is refused as the firmware's filters refuse it, not an empty listing
for pat in 'v.*.soc' '*b*' ''; do
  err=$("$BIN" metrics "$pat" 2>&1 >/dev/null); check "metrics '$pat'" 2 $?
  contains "metrics '$pat' message" "$err" "invalid metrics PATTERN"
done
out=$("$BIN" metrics '*soc'); contains "metrics *suffix" "$out" "v.b.soc"
# --vehicle adds the vehicle's own metrics to the listing
out=$("$BIN" metrics --vehicle nissanleaf 'xnl.*'); check "metrics --vehicle" 0 $?
contains "metrics --vehicle lists xnl.*" "$out" "xnl.v.b.soc.nominal"
err=$("$BIN" metrics --vehicle dbc:/nonexistent.dbc 2>&1 >/dev/null); check "metrics bad dbc" 2 $?

# an unreadable password file says why
err=$("$BIN" --password-file / --fast --duration 1 2>&1 >/dev/null); check "--password-file /" 2 $?
contains "--password-file / message" "$err" "Is a directory"
: > "${TMPDIR:-/tmp}/ovms-sim-empty-pw.$$"
err=$("$BIN" --password-file "${TMPDIR:-/tmp}/ovms-sim-empty-pw.$$" --fast --duration 1 2>&1 >/dev/null)
check "--password-file empty" 2 $?
contains "--password-file empty message" "$err" "empty password file"
rm -f "${TMPDIR:-/tmp}/ovms-sim-empty-pw.$$"

echo "$passes passed, $fails failed"
[ "$fails" = 0 ]
