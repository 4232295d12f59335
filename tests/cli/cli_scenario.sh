#!/usr/bin/env bash
# Scenarios on the command line: `validate` accepts the shipped scenarios and reports every
# error of a bad one as file:line:col with exit 2; a run with passing expect: checks exits 0,
# one with a failing check exits 1 and names the check, the step and the value seen; --report
# writes the JSON report; two --fast runs with the same seed give identical output.
set -u
BIN=${OVMS_SIM_BIN:?}
SRC=${OVMS_SIM_SRC:?}
fails=0; passes=0
check() { # name, expected rc, actual rc
  if [ "$2" = "$3" ]; then passes=$((passes+1)); else echo "FAIL: $1 (exit $3, want $2)"; fails=$((fails+1)); fi
}
contains() { # name, haystack, needle
  case "$2" in *"$3"*) passes=$((passes+1));; *) echo "FAIL: $1: output lacks '$3'"; echo "$2" | head -5; fails=$((fails+1));; esac
}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$SRC"

out=$("$BIN" validate scenarios/charging.yaml scenarios/driving.yaml scenarios/fast-charge.yaml \
      scenarios/parked-night.yaml 2>&1); check "validate shipped" 0 $?
contains "validate ok" "$out" "scenarios/driving.yaml: ok"

err=$("$BIN" validate tests/data/scenarios/bad-many.yaml 2>&1 >/dev/null); check "validate bad" 2 $?
n=$(printf '%s\n' "$err" | grep -c ': error: '); check "validate lists all 8 errors" 8 "$n"
contains "validate location" "$err" "tests/data/scenarios/bad-many.yaml:8:11: error: expected a duration"
err=$("$BIN" validate 2>&1); check "validate without file" 2 $?
err=$("$BIN" --scenario tests/data/scenarios/bad-yaml.yaml --fast 2>&1 >/dev/null)
check "run bad scenario" 2 $?
contains "run bad scenario location" "$err" "bad-yaml.yaml:3:9: error: invalid YAML"
err=$("$BIN" --scenario /nonexistent.yaml --fast 2>&1 >/dev/null); check "missing scenario" 2 $?

err=$("$BIN" --scenario scenarios/charging.yaml --fast --report "$tmp/r.json" 2>&1 >/dev/null)
check "charging passes" 0 $?
contains "charging summary" "$err" "9 checks, 9 passed, 0 failed"
contains "report json" "$(cat "$tmp/r.json")" '"passed":9,"failed":0'

cat > "$tmp/fail.yaml" <<'YAML'
name: failing
vehicle: {soc: 50%}
timeline:
  - name: wait
    park: 10min
expect:
  - {metric: v.b.soc, min: 80, after: wait}
  - {metric: v.b.soc, max: 80}
YAML
err=$("$BIN" --scenario "$tmp/fail.yaml" --fast --report "$tmp/f.json" 2>&1 >/dev/null)
check "failing expect exits 1" 1 $?
contains "failure line" "$err" "fail.yaml:7:5: FAIL v.b.soc = 50 (expected >= 80) after step 1, t=0h10m00s, step 1 park 'wait' (line 5)"
contains "failure summary" "$err" "failing: 2 checks, 1 passed, 1 failed"
contains "failure json" "$(cat "$tmp/f.json")" '"pass":false'

# an unwritable --report is a usage error before the run, not a failure after it
out=$("$BIN" --scenario scenarios/charging.yaml --fast --report "$tmp/nodir/r.json" 2>&1)
check "unwritable report exits 2" 2 $?
contains "unwritable report message" "$out" "cannot write $tmp/nodir/r.json"
case "$out" in *PASS*|*ovms/*) echo "FAIL: the run started despite an unwritable --report"; fails=$((fails+1));; *) passes=$((passes+1));; esac

"$BIN" --scenario scenarios/driving.yaml --fast --seed 5 >"$tmp/a.out" 2>"$tmp/a.err"; check "run a" 0 $?
"$BIN" --scenario scenarios/driving.yaml --fast --seed 5 >"$tmp/b.out" 2>"$tmp/b.err"; check "run b" 0 $?
cmp -s "$tmp/a.out" "$tmp/b.out"; check "same seed, same stdout" 0 $?
cmp -s "$tmp/a.err" "$tmp/b.err"; check "same seed, same report" 0 $?

echo "$passes passed, $fails failed"
[ "$fails" = 0 ]
