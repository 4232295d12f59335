#!/bin/bash
# trace-compare.sh - ovms-sim convert against can-utils log2asc and python-can's reader on the
# same synthetic candump log (default 1 000 000 frames; argument 1).  Prints the best of REPEAT
# (default 3) wall and CPU times (CPU: perf stat task-clock when perf can count; wall: separate
# runs without perf), the speed-ups over log2asc, the load, and peak memory (GNU time when
# installed).
# Numbers only, nothing asserted.
# Usage: bench/trace-compare.sh [FRAMES] [OVMS_SIM_BIN]
set -u
N=${1:-1000000}
BIN=${2:-${OVMS_SIM_BIN:-$(dirname "$0")/../build/sim/ovms-sim}}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
python3 - "$N" > "$T/in.log" <<'PY'
import sys
n = int(sys.argv[1]); ids = [0x1DB, 0x1DC, 0x55B, 0x5BC, 0x284, 0x18DAF110, 0x7BB, 0x390]
x = 88172645463325252; out = []
for i in range(n):
    x ^= (x << 13) & 0xFFFFFFFFFFFFFFFF; x ^= x >> 7; x ^= (x << 17) & 0xFFFFFFFFFFFFFFFF
    i_d = ids[x % 8]; us = 1724333002 * 1000000 + i * 250
    out.append("(%d.%06d) can%d %0*X#%016X\n" % (us // 1000000, us % 1000000, (x >> 60) & 1,
               8 if i_d > 0x7FF else 3, i_d, x >> 3))
    if len(out) >= 100000: sys.stdout.write("".join(out)); out = []
sys.stdout.write("".join(out))
PY
echo "input: $N frames, $(du -h "$T/in.log" | cut -f1)"
REPEAT=${REPEAT:-3}
# CPU time: perf stat's task-clock (user + kernel, to 0.01 ms) when perf can count, else GNU
# time's user + sys (10 ms steps).  Wall time comes from separate runs of the bare command,
# timed by bash's EPOCHREALTIME (no fork): perf stat's own start-up and exit (12-20 ms here,
# more than half of a 25 ms convert) and a forked date would otherwise be counted as the
# program's wall time.  The machine's load is printed: on a shared machine compare the CPU times.
PERF=0
if command -v perf >/dev/null && perf stat -x, -e task-clock -o /dev/null true 2>/dev/null; then
  PERF=1
fi
echo "load: $(cut -d' ' -f1-3 /proc/loadavg); cpu time from $([ $PERF = 1 ] && echo 'perf stat task-clock' || echo 'GNU time user+sys'); wall time from runs without perf"
usecs() { local t=${1/./}; echo $((10#$t)); } # EPOCHREALTIME (s.micro) in microseconds
tm() { # label, command...: the best (smallest) of REPEAT runs, wall and CPU (user+sys)
  local label=$1; shift
  local best="" bestcpu="" kb="?" secs cpu s e u sy
  for _ in $(seq "$REPEAT"); do
    rm -f "$T"/out.* "$T"/their.asc
    s=$EPOCHREALTIME
    "$@" >/dev/null 2>&1
    e=$EPOCHREALTIME
    secs=$(echo "scale=6; ($(usecs "$e") - $(usecs "$s")) / 1000000" | bc)
    rm -f "$T"/out.* "$T"/their.asc
    if [ $PERF = 1 ]; then
      perf stat -x, -e task-clock -o "$T/perf" "$@" >/dev/null 2>&1
      cpu=$(awk -F, '/task-clock/ {printf "%.4f", $1 / 1000}' "$T/perf")
    elif [ -x /usr/bin/time ]; then
      /usr/bin/time -f "%U %S" -o "$T/time" "$@" >/dev/null 2>&1
      read -r u sy < "$T/time"
      cpu=$(echo "$u + $sy" | bc)
    else
      cpu=$secs
    fi
    if [ -z "$best" ] || [ "$(echo "$secs < $best" | bc)" = 1 ]; then best=$secs; fi
    if [ -z "$bestcpu" ] || [ "$(echo "$cpu < $bestcpu" | bc)" = 1 ]; then bestcpu=$cpu; fi
  done
  if [ -x /usr/bin/time ]; then # peak memory: one more run
    rm -f "$T"/out.* "$T"/their.asc
    /usr/bin/time -f "%M" -o "$T/time" "$@" >/dev/null 2>&1 && kb=$(tail -1 "$T/time")
  fi
  printf '%-40s %8.3f s wall  %8.3f s cpu   peak %s KiB\n' "$label" "$best" "$bestcpu" "$kb"
  echo "$best" > "$T/$label.secs"
  echo "$bestcpu" > "$T/$label.cpu"
}
tm "ovms-sim convert candump->candump" "$BIN" convert -q "$T/in.log" "$T/out.log"
tm "ovms-sim convert candump->asc" "$BIN" convert -q "$T/in.log" "$T/out.asc"
tm "log2asc (can-utils)" log2asc -I "$T/in.log" -O "$T/their.asc" can0 can1
PY=${PYTHON:-/usr/bin/python3}  # Debian python3-can lives in the system python
if "$PY" -c "import can" 2>/dev/null; then
  tm "python-can CanutilsLogReader" "$PY" -c "
import can, sys
n = 0
for m in can.CanutilsLogReader(sys.argv[1]): n += 1
print(n)" "$T/in.log"
fi
# ovms-sim's convert JOB against log2asc, wall and CPU time (best of $REPEAT)
speedup() {
  local ours theirs
  ours=$(cat "$T/ovms-sim convert $1.secs")
  theirs=$(cat "$T/log2asc (can-utils).secs")
  [ "$(echo "$ours > 0" | bc)" = 1 ] &&
    echo "speed-up of ovms-sim convert ($1) over log2asc: $(echo "scale=1; $theirs / $ours" | bc)x wall (best of $REPEAT)"
  ours=$(cat "$T/ovms-sim convert $1.cpu")
  theirs=$(cat "$T/log2asc (can-utils).cpu")
  [ "$(echo "$ours > 0" | bc)" = 1 ] &&
    echo "                                                            $(echo "scale=1; $theirs / $ours" | bc)x cpu time"
  return 0
}
speedup "candump->candump"
speedup "candump->asc" # the same job as log2asc
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
exit 0
