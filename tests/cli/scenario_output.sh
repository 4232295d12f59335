#!/usr/bin/env bash
# What a scenario run publishes (cli_scenario.sh covers validate, reports and exit codes):
# every shipped scenario passes its expect: checks; --fast output is byte-identical for the
# same seed and differs for another; the output uses the real topic mapping and payload
# formats; a malformed scenario prints nothing on stdout; --duration and metrics --scenario.
set -u
BIN=${OVMS_SIM_BIN:?}; SRC=${OVMS_SIM_SRC:?}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fails=0; passes=0
ok() { passes=$((passes+1)); }
bad() { echo "FAIL: $*"; fails=$((fails+1)); }
expect_rc() { [ "$2" = "$3" ] && ok || bad "$1: exit $3, want $2"; }

# every shipped scenario is valid and passes its checks
out=$("$BIN" validate "$SRC"/scenarios/*.yaml); expect_rc "validate scenarios" 0 $?
for f in "$SRC"/scenarios/*.yaml; do
  # app: steps need a broker: tests/cli/app_steps.sh runs those against a mosquitto
  grep -q '^ *- app:' "$f" && continue
  "$BIN" --scenario "$f" --fast --quiet --report "$tmp/r.json" 2>"$tmp/err"; rc=$?
  expect_rc "$(basename "$f") passes its checks" 0 $rc
  [ $rc = 0 ] || cat "$tmp/err"
  grep -q '"failed": *0' "$tmp/r.json" && ok || bad "$(basename "$f") report: $(head -c 300 "$tmp/r.json")"
done

# determinism: same seed -> identical bytes; the output is not trivially empty
for f in charging driving; do
  "$BIN" --scenario "$SRC/scenarios/$f.yaml" --fast --seed 7 > "$tmp/a" 2>/dev/null
  "$BIN" --scenario "$SRC/scenarios/$f.yaml" --fast --seed 7 > "$tmp/b" 2>/dev/null
  [ "$(wc -l < "$tmp/a")" -gt 500 ] && ok || bad "$f: only $(wc -l < "$tmp/a") lines"
  cmp -s "$tmp/a" "$tmp/b" && ok || bad "$f: two runs with --seed 7 differ"
  "$BIN" --scenario "$SRC/scenarios/$f.yaml" --fast --seed 8 > "$tmp/c" 2>/dev/null
  cmp -s "$tmp/a" "$tmp/c" && bad "$f: --seed 7 and --seed 8 give identical output" || ok
done

# topic mapping and payload formats on the wire (firmware
# vehicle/OVMS.V3/components/ovms_server_v3/src/ovms_server_v3.cpp and mqtt_topic() in
# vehicle/OVMS.V3/main/ovms_utils.cpp; docs/v3.md)
"$BIN" --scenario "$SRC/scenarios/charging.yaml" --fast --vehicle-id MYCAR \
  --set server.v3.user=alice > "$tmp/out" 2>/dev/null
grep -qE '^ovms/alice/MYCAR/metric/v/b/soc [0-9.]+$' "$tmp/out" && ok || bad "v.b.soc topic/payload"
grep -qE '^ovms/alice/MYCAR/metric/m/time/utc [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} UTC$' "$tmp/out" && ok || bad "m.time.utc format"
grep -qE '^ovms/alice/MYCAR/metric/v/p/latitude -?[0-9]+\.[0-9]{6}$' "$tmp/out" && ok || bad "latitude %.6f"
grep -qE '^ovms/alice/MYCAR/metric/v/c/charging (yes|no)$' "$tmp/out" && ok || bad "bool yes/no"
grep -qE '^ovms/alice/MYCAR/metric/v/t/pressure [0-9.]+,[0-9.]+,[0-9.]+,[0-9.]+$' "$tmp/out" && ok || bad "vector payload"
grep -qE '^ovms/alice/MYCAR/metric/v/c/timestamp [0-9-]+ [0-9:]+ CES?T$' "$tmp/out" && ok || bad "DateLocal in the scenario's time zone"
grep -q '^ovms/alice/MYCAR/event vehicle.charge.start$' "$tmp/out" && ok || bad "legacy event topic"
grep -q '^ovms/alice/MYCAR/event/vehicle/charge/start (null)$' "$tmp/out" && ok || bad "event path topic with empty payload, printed (null) as mosquitto_sub -v does"
grep -qE ' (km|%|kWh)$' "$tmp/out" && bad "a payload carries a unit" || ok
# the first full sync is in ASCII order
awk '/metric\//{print $1}' "$tmp/out" | head -60 | LC_ALL=C sort -c 2>/dev/null && ok || bad "full sync not in ASCII order"

# a malformed scenario: file:line:col, exit 2, nothing half-run
"$BIN" --scenario "$SRC/tests/data/scenarios/bad-unknown-key.yaml" --fast > "$tmp/out" 2>"$tmp/err"; rc=$?
expect_rc "malformed scenario" 2 $rc
grep -qE 'bad-unknown-key.yaml:[0-9]+:[0-9]+: error: ' "$tmp/err" && ok || bad "no file:line:col: $(cat "$tmp/err")"
[ -s "$tmp/out" ] && bad "output printed for a malformed scenario" || ok
"$BIN" validate "$SRC"/tests/data/scenarios/bad-*.yaml > /dev/null 2>"$tmp/err"; rc=$?
expect_rc "validate bad fixtures" 2 $rc
n=$(grep -c ': error: ' "$tmp/err"); [ "$n" -ge 19 ] && ok || bad "validate reported only $n errors"
# --fast without an end is refused
"$BIN" --fast > /dev/null 2>&1; expect_rc "--fast without end" 2 $?
# --duration ends a run early: checks not reached are neither passed nor failed (exit 4,
# README "Exit codes"); nothing is published after 30 simulated minutes
"$BIN" --scenario "$SRC/scenarios/charging.yaml" --fast --duration 30min > "$tmp/out" 2>"$tmp/err"
expect_rc "--duration before the checks" 4 $?
grep -q 'not reached' "$tmp/err" && ok || bad "unreached checks: $(tail -3 "$tmp/err")"
last=$(grep '/metric/m/monotonic ' "$tmp/out" | tail -1 | awk '{print $2}')
[ -n "$last" ] && [ "$last" -le 1800 ] && ok || bad "published at m.monotonic $last after --duration 30min"
# metrics --scenario shows the values after the run, nothing else
out=$("$BIN" metrics --scenario "$SRC/scenarios/charging.yaml" v.c.state)
case "$out" in *"v.c.state"*"done"*) ok;; *) bad "metrics --scenario: $out";; esac

echo "$passes passed, $fails failed"
[ "$fails" = 0 ]
