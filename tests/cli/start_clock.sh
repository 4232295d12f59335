#!/usr/bin/env bash
# The simulation's start time (docs/scenarios.md "Running"): in real time a scenario starts
# now, so m.time.utc is plausible to clock-checking servers; with --fast at its start: (the
# same output run after run); --start-time wins in both; start_realtime: time-of-day keeps
# start:'s UTC time of day (today's or yesterday's), start_realtime: start keeps start:.
set -u
BIN=${OVMS_SIM_BIN:?}
fails=0; passes=0
ok() { passes=$((passes+1)); }
bad() { echo "FAIL: $*"; fails=$((fails+1)); }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/s.yaml" <<'Y'
start: "2024-06-01 17:30:00"
timeline:
  - park: 10min
Y
sed 's/^timeline:/start_realtime: time-of-day\ntimeline:/' "$tmp/s.yaml" > "$tmp/tod.yaml"
sed 's/^timeline:/start_realtime: start\ntimeline:/' "$tmp/s.yaml" > "$tmp/keep.yaml"
# first m.time.utc of a run, as epoch seconds ("" when none)
first_utc() {
  local t
  t=$("$BIN" "$@" 2>/dev/null | grep '/metric/m/time/utc ' | head -1 | cut -d' ' -f2-)
  [ -n "$t" ] && date -u -d "${t% UTC}" +%s
}
# real time (60 simulated seconds at --speed 100): within 10 minutes of the wall clock
now=$(date +%s)
t=$(first_utc --scenario "$tmp/s.yaml" --speed 100 --duration 60s)
if [ -n "$t" ] && [ $((t - now)) -gt -600 ] && [ $((t - now)) -lt 600 ]; then ok
else bad "real time: m.time.utc $t, wall clock $now"; fi
# --fast: start: applies, byte-identical output twice
a=$("$BIN" --scenario "$tmp/s.yaml" --fast 2>/dev/null)
b=$("$BIN" --scenario "$tmp/s.yaml" --fast 2>/dev/null)
[ -n "$a" ] && [ "$a" = "$b" ] && ok || bad "--fast output differs between two runs"
first=$(printf '%s\n' "$a" | grep '/metric/m/time/utc ' | head -1 | cut -d' ' -f2-)
case "$first" in "2024-06-01 17:30:"*" UTC") ok;; *) bad "--fast m.time.utc '$first'";; esac
# --start-time overrides, in real time and with --fast
want=$(date -u -d '2030-01-01 00:00:00' +%s)
for mode in "--speed 100 --duration 60s" "--fast"; do
  # shellcheck disable=SC2086
  t=$(first_utc --scenario "$tmp/s.yaml" --start-time '2030-01-01 00:00:00' $mode)
  if [ -n "$t" ] && [ $((t - want)) -ge 0 ] && [ $((t - want)) -lt 120 ]; then ok
  else bad "--start-time with $mode: m.time.utc $t, want $want"; fi
done
# start_realtime: time-of-day: 17:30 UTC of today or yesterday, not in the future
now=$(date +%s)
t=$(first_utc --scenario "$tmp/tod.yaml" --speed 100 --duration 60s)
tod=$(( ${t:-0} % 86400 ))
if [ -n "$t" ] && [ "$tod" -ge 63000 ] && [ "$tod" -lt 63120 ] &&
   [ $((now - t)) -gt -120 ] && [ $((now - t)) -lt $((86400 + 600)) ]; then ok
else bad "time-of-day: m.time.utc $t (time of day $tod s), wall clock $now"; fi
# start_realtime: start: start: itself in real time
t=$(first_utc --scenario "$tmp/keep.yaml" --speed 100 --duration 60s)
want=$(date -u -d '2024-06-01 17:30:00' +%s)
if [ -n "$t" ] && [ $((t - want)) -ge 0 ] && [ $((t - want)) -lt 120 ]; then ok
else bad "start_realtime: start: m.time.utc $t, want $want"; fi
echo "$passes passed, $fails failed"
[ "$fails" = 0 ]
