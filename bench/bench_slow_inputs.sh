#!/usr/bin/env bash
# bench_slow_inputs.sh - inputs that were slow or unbounded (issue 16 item 7), each timed
# and held to a generous bound:
#   a scenario set: step of 200,000 keys (its duplicate check was quadratic: 266 s; the names
#     are unknown metrics, so exit 2), and the same key 200,000 times;
#   100,000 named steps (the duplicate step-name check was quadratic: 50,000 took 4.6 s);
#   a config file of 100,000 notify keys (its duplicate-key check was quadratic: 154 s);
#   YAML nested 100,000 deep in a scenario and in a config file (refused at depth 64);
#   a notify.journal that is a FIFO (refused, not waited on); --speed 1e-12 (the minimum is
#   0.001).
# Measured on a loaded 2-core machine (Release): every input under 0.5 s.
# Prints the wall time and exit code of each; fails, naming it, when one takes more than
# BOUND seconds (default 10) or exits with another code than expected.  Run by bench/run.
set -u
BIN=${OVMS_SIM_BIN:?}
BOUND=${BOUND:-10}
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
with open(d + "/steps.yaml", "w") as f:
    f.write("name: x\ntimeline:\n")
    f.writelines("  - name: s%d\n    lock:\n" % i for i in range(100000))
with open(d + "/notify.yaml", "w") as f:
    f.write("notify:\n")
    f.writelines("  usr.k%d: ovmsv3\n" % i for i in range(100000))
with open(d + "/deep.yaml", "w") as f:
    f.write("name: x\ntimeline:\n  - set: " + "[" * 100000 + "]" * 100000 + "\n")
with open(d + "/deep-config.yaml", "w") as f:
    f.write("notify: " + "[" * 100000 + "]" * 100000 + "\n")
PY
mkdir "$tmp/fifo" && mkfifo "$tmp/fifo/notify.journal"
failed=()
timed() { # label, expected exit code, command...
  local label=$1 want=$2; shift 2
  local t0 t1 s
  t0=$(date +%s.%N)
  timeout $((BOUND * 6)) "$@" >/dev/null 2>&1
  local rc=$?
  t1=$(date +%s.%N)
  s=$(echo "$t1 - $t0" | bc)
  printf '%-46s %6.2f s (exit %d, bound %d s)\n' "$label" "$s" "$rc" "$BOUND"
  if [ "$rc" -ne "$want" ]; then
    echo "  FAIL: exit $rc, expected $want" >&2
    failed+=("$label")
  elif [ "$(echo "$s > $BOUND" | bc)" = 1 ]; then
    echo "  FAIL: over the bound of $BOUND s" >&2
    failed+=("$label")
  fi
}
timed "set: of 200,000 different keys (validate)" 2 "$BIN" validate "$tmp/set-keys.yaml"
timed "set: of one key 200,000 times (validate)" 2 "$BIN" validate "$tmp/set-dup.yaml"
timed "100,000 named steps (validate)" 0 "$BIN" validate "$tmp/steps.yaml"
timed "config of 100,000 notify keys (1 s run)" 0 "$BIN" --config "$tmp/notify.yaml" --fast \
  --duration 1s --quiet
timed "scenario nested 100,000 deep (validate)" 2 "$BIN" validate "$tmp/deep.yaml"
timed "config nested 100,000 deep" 2 "$BIN" --config "$tmp/deep-config.yaml" --fast \
  --duration 1s --quiet
timed "notify.journal a FIFO (refused)" 2 "$BIN" --state-dir "$tmp/fifo" --fast --duration 1s \
  --quiet
timed "--speed 1e-12 (refused)" 2 "$BIN" --speed 1e-12 --duration 1s --quiet
if [ ${#failed[@]} -gt 0 ]; then
  echo "bench_slow_inputs: failed: ${failed[*]}" >&2
  exit 1
fi
