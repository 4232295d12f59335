#!/bin/bash
# bench_v3.sh [N] - Server V3 full sync next to `mosquitto_pub -l` (issue 14 item 4,
# docs/v3.md "Performance").
#
# Publishes N messages (default 20000) to a local mosquitto, three times each way, and prints
# the publisher's CPU time (user + sys) per message, best of 3:
#   1. mosquitto_pub -l: N lines on stdin, one QoS 0 message each (the same payloads the
#      simulator sends: the decimal values of its benchmark metrics), timed with
#      `perf stat -e task-clock` (else /usr/bin/time, 10 ms resolution) over the whole process
#      and all its threads; also the same run with 1 line, so that the start-up (library,
#      TCP and MQTT connect) can be taken off: "marginal" = (CPU(N) - CPU(1)) / (N - 1);
#   2. bench_v3: a simulated module's full sync of N metrics (one PUBLISH per metric): the
#      simulator thread's CPU time during the sync (RUSAGE_THREAD), which has no start-up.
# Prints the load average next to the numbers (the machine may be shared).  Needs mosquitto,
# mosquitto_pub, python3.  BENCH_V3 = path of bench_v3 (default build/bench/bench_v3).
# Numbers only; nothing is asserted.
set -euo pipefail
n=${1:-20000}
bench=${BENCH_V3:-build/bench/bench_v3}
mosq=${MOSQUITTO_BIN:-/usr/sbin/mosquitto}
dir=$(mktemp -d /tmp/ovms-sim-bench-XXXXXX)
bpid=
trap '[ -n "$bpid" ] && kill $bpid 2>/dev/null; rm -rf "$dir"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
{ [ "$(id -u)" = 0 ] && echo "user root"; echo "listener $port 127.0.0.1"; echo "allow_anonymous true"; \
  echo "max_queued_messages 0"; } > "$dir/m.conf"
"$mosq" -c "$dir/m.conf" 2>/dev/null & bpid=$!
sleep 0.3
python3 -c "import sys; [print('%g' % (i*0.5)) for i in range($n)]" > "$dir/lines"
head -1 "$dir/lines" > "$dir/line1"
have_perf=no
if command -v perf >/dev/null && perf stat -x, -e task-clock true >/dev/null 2>&1; then
  have_perf=yes
fi

# CPU seconds of one mosquitto_pub -l run reading file $1
pub_cpu() {
  if [ $have_perf = yes ]; then
    perf stat -x, -e task-clock -o "$dir/perf" \
      mosquitto_pub -p "$port" -h 127.0.0.1 -t pub/x -l < "$1"
    awk -F, '/task-clock/ {printf "%.6f\n", $1 / 1000}' "$dir/perf"
  else
    /usr/bin/time -f '%U %S' -o "$dir/cpu" mosquitto_pub -p "$port" -h 127.0.0.1 -t pub/x -l < "$1"
    awk '{printf "%.6f\n", $1 + $2}' "$dir/cpu"
  fi
}

best_n=; best_1=
for i in 1 2 3; do
  c=$(pub_cpu "$dir/lines")
  c1=$(pub_cpu "$dir/line1")
  best_n=$(python3 -c "print(min(float(x) for x in '$c ${best_n:-$c}'.split()))")
  best_1=$(python3 -c "print(min(float(x) for x in '$c1 ${best_1:-$c1}'.split()))")
done
kill $bpid; wait $bpid 2>/dev/null || true
bpid=

best_sim=
for i in 1 2 3; do
  out=$("$bench" "$n")
  echo "$out" | sed 's/^/  run '"$i"': /' | grep -E "CPU|end to end" || true
  us=$(echo "$out" | awk '/simulator CPU/ {print $(NF-3)}')
  best_sim=$(python3 -c "print(min(float(x) for x in '$us ${best_sim:-$us}'.split()))")
done
python3 - "$n" "$best_n" "$best_1" "$best_sim" "$have_perf" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'PY'
import sys
n, cn, c1, sim = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
how = "perf stat task-clock" if sys.argv[5] == "yes" else "/usr/bin/time, 10 ms resolution"
print("bench_v3.sh: %d QoS 0 messages, CPU per message, best of 3 (load average %s)" % (n, sys.argv[6]))
print("  mosquitto_pub -l   %.3f us per message (whole process incl. start-up, %s)" % (cn * 1e6 / n, how))
print("                     %.3f us per message marginal ((CPU(%d) - CPU(1)) / %d)" %
      ((cn - c1) * 1e6 / (n - 1), n, n - 1))
print("  ovms-sim full sync %.3f us per message (simulator thread during the sync)" % sim)
print("  target (issue 14): <= 1.5 us and <= mosquitto_pub -l")
PY
