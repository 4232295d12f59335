#!/usr/bin/env bash
# bench_slow_inputs.sh - inputs that were slow (issue 16 item 7): a scenario set: step of
# 200,000 keys (its duplicate check was quadratic: 50 s), the same key 200,000 times, and a
# config file of 100,000 notify keys.  Prints the wall time of each; nothing is asserted.
# Measured on a loaded 2-core machine (Release): 200,000 keys 1.1 s (was 266 s); the 100,000
# notify config keys still take about 150 s (not mended yet).  Run by bench/run.
set -u
BIN=${OVMS_SIM_BIN:?}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
python3 - "$tmp" <<'PY'
import sys
d = sys.argv[1]
with open(d + "/set-keys.yaml", "w") as f:
    f.write("name: x\ntimeline:\n  - set:\n")
    f.writelines("      v.b.soc%d: 1\n" % i for i in range(200000))
with open(d + "/set-dup.yaml", "w") as f:
    f.write("name: x\ntimeline:\n  - set:\n")
    f.writelines("      v.b.soc: %d\n" % (i % 100) for i in range(200000))
with open(d + "/notify.yaml", "w") as f:
    f.write("notify:\n")
    f.writelines("  usr.k%d: ovmsv3\n" % i for i in range(100000))
PY
timed() { # label, command...
  local label=$1; shift
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >/dev/null 2>&1
  local rc=$?
  t1=$(date +%s.%N)
  printf '%-44s %6.2f s (exit %d)\n' "$label" "$(echo "$t1 - $t0" | bc)" "$rc"
}
timed "set: of 200,000 different keys (validate)" "$BIN" validate "$tmp/set-keys.yaml"
timed "set: of one key 200,000 times (validate)" "$BIN" validate "$tmp/set-dup.yaml"
timed "config of 100,000 notify keys (1 s run)" "$BIN" --config "$tmp/notify.yaml" --fast \
  --duration 1s --quiet
