#!/bin/bash
# trace_replay.sh - the run options for CAN input/output: --trace with --fast, --record,
# --filter, --loop, --start/--end, --bus-map, --stats, and the errors (exit 2 with a located
# message; exit 3 for SocketCAN on a kernel without AF_CAN).
set -u
BIN=${OVMS_SIM_BIN:?}
DATA=${OVMS_SIM_DATA:?}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
IN="$DATA/traces/env200-startup.crtd"   # 11 frames (buses 1 and 2), 1 CEV, 1 CER

"$BIN" --fast -q --trace "$IN" --record "$T/r.crtd" --stats 2> "$T/err" || { cat "$T/err"; fail "replay"; }
[ "$(grep -c 'R11' "$T/r.crtd")" -eq 11 ] || fail "11 frames recorded"
grep -q '2R11 174 00 00 00 aa 0f 00 00 00$' "$T/r.crtd" || fail "bus 2 frame"
grep -q 'CEV Event vehicle.awake$' "$T/r.crtd" || fail "CEV replayed as an event and recorded"
grep -q '11 frames in' "$T/err" || { cat "$T/err"; fail "--stats"; }
# the recording keeps the original spacing on the simulation clock: first frame to the
# vehicle.awake event is 11.141816 s in the original (1632509059.541604 -> 1632509070.683420)
awk '/R11 174/ && !t0 { t0 = $1 } /vehicle.awake/ { printf "%.6f\n", $1 - t0 }' "$T/r.crtd" \
  | grep -qx '11.141816' || fail "timing"

"$BIN" --fast -q --trace "$IN" --filter 2DE --loop 3 --record "$T/f.crtd" || fail "filter/loop"
[ "$(grep -c 'R11 2DE' "$T/f.crtd")" -eq 6 ] || fail "2 x 0x2DE x 3 loops"
[ "$(grep -c 'R11' "$T/f.crtd")" -eq 6 ] || fail "only 0x2DE"

"$BIN" --fast -q --trace "$IN" --end 1s --bus-map 2=3 --record "$T/e.crtd" || fail "end/map"
[ "$(grep -c '3R11' "$T/e.crtd")" -eq 9 ] || fail "bus 2 mapped to 3, frames of the first second"
[ "$(grep -c 'R11' "$T/e.crtd")" -eq 9 ] || fail "--end 1s"

"$BIN" --fast -q --trace 2="$DATA/traces/leaf62-battery.can" --record "$T/s.log" || fail "screen"
[ "$(grep -c ' can1 ' "$T/s.log")" -eq 12 ] || fail "N=FILE puts the frames on bus 2 (can1)"

# untimed traces: frames --trace-period apart (default 10 ms)
"$BIN" --fast -q --trace "$DATA/traces/leaf62-battery.can" --trace-period 250ms --record "$T/p.crtd" \
  || fail "--trace-period"
awk '/R11/ { if (!t0) t0 = $1; last = $1 } END { printf "%.6f\n", last - t0 }' "$T/p.crtd" \
  | grep -qx '2.750000' || fail "12 frames 250 ms apart"
"$BIN" --fast --trace "$IN" --trace-period 0 2>/dev/null; [ $? -eq 2 ] || fail "bad period"

# several traces at once, each on its own bus (the Leaf's EV-CAN and CAR-CAN)
"$BIN" --fast -q --trace 1="$DATA/traces/leaf62-battery.can" --trace 2="$DATA/traces/imiev-ign-off.can" \
  --record "$T/two.crtd" --stats 2> "$T/err" || fail "two traces"
[ "$(grep -c ' 1R11 ' "$T/two.crtd")" -eq 12 ] || fail "trace 1 on bus 1"
[ "$(grep -c ' 2R11 ' "$T/two.crtd")" -eq 8 ] || fail "trace 2 on bus 2"
[ "$(grep -c 'frames in' "$T/err")" -eq 2 ] || fail "stats per trace"
# both start together: the first frame of each at the same time, then interleaved
[ "$(awk '/R11/ {print $1; exit}' "$T/two.crtd")" = "$(awk '/2R11/ {print $1; exit}' "$T/two.crtd")" ] \
  || fail "simultaneous start"

# errors
"$BIN" --fast --trace /nonexistent.log 2> "$T/err"; [ $? -eq 2 ] || fail "missing file exit"
grep -q 'nonexistent.log: error: cannot open' "$T/err" || fail "missing file message"
printf '1.000000 1R11 100 00\n1.100000 1R11 10G 00\n' > "$T/bad.crtd"
"$BIN" --fast -q --trace "$T/bad.crtd" 2> "$T/err"; [ $? -eq 2 ] || fail "bad line exit"
grep -q 'bad.crtd:2:17: error: CRTD: bad CAN id' "$T/err" || { cat "$T/err"; fail "bad line message"; }
"$BIN" --fast -q --keep-going --trace "$T/bad.crtd" 2> "$T/err" || fail "--keep-going"
"$BIN" --fast --trace "$IN" --filter 1G 2>/dev/null; [ $? -eq 2 ] || fail "bad filter"
"$BIN" --fast --trace "$IN" --bus-map can0 2>/dev/null; [ $? -eq 2 ] || fail "bad bus map"
"$BIN" --fast --trace "$IN" --loop x 2>/dev/null; [ $? -eq 2 ] || fail "bad loop"
"$BIN" --fast --trace "$IN" --start 2s --end 1s 2>/dev/null; [ $? -eq 2 ] || fail "end before start"
"$BIN" --can 2=usb:x 2>/dev/null; [ $? -eq 2 ] || fail "unknown backend"
"$BIN" --can slcan:/dev/ttyX@12345 2>/dev/null; [ $? -eq 2 ] || fail "bad bitrate"
"$BIN" --fast -q --duration 1 --can socketcan:vcan0 2> "$T/err"; rc=$?
if grep -q 'no SocketCAN' "$T/err"; then
  [ $rc -eq 3 ] || fail "no AF_CAN exit"
fi
echo ok
