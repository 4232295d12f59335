#!/bin/bash
# bench_fleet.sh - a fleet of simulated modules in one process against a local mosquitto
# (issue 12, "Performance"; docs/scaling.md has the numbers and the decisions).
#
# For each fleet size (BENCH_FLEET_SIZES, default "1000"; "1000 5000 10000" for the full
# table, which takes about 8 minutes) it runs
#   ovms-sim --fleet N --scenario scenarios/driving.yaml --connect-rate R (BENCH_FLEET_RATE,
#            default 1000) --broker mqtt://bench@127.0.0.1:PORT
# with the firmware's defaults otherwise (conn.stable_wait 10 s + jitter 0..5 s before the
# first connect, 60 s + jitter after a lost connection), and prints:
#   - time from start until every car was connected and had finished its first full sync
#     (the fleet's own report), and the broker's connected clients at that point;
#   - descriptors of the process per car, peak RSS per car (VmHWM / N);
#   - steady CPU (user + system of the process over a 30 s window after the sync) in cores,
#     and the messages per second the fleet published in that window (a subscriber counts);
#   - after a broker restart: seconds until every car is connected again (the firmware's retry
#     interval plus the pacing spread), and the spread of the reconnects.
# The broker runs as its own process with max_connections unlimited and its descriptor limit
# raised to the hard limit.  Needs mosquitto, mosquitto_sub, python3.  Numbers only.
set -uo pipefail
bin=${OVMS_SIM_BIN:-build-release/sim/ovms-sim}
src=${OVMS_SIM_SRC:-.}
mosq=${MOSQUITTO_BIN:-/usr/sbin/mosquitto}
sizes=${BENCH_FLEET_SIZES:-1000}
rate=${BENCH_FLEET_RATE:-1000}
if ! command -v "$mosq" >/dev/null || ! command -v mosquitto_sub >/dev/null; then
  echo "bench_fleet: mosquitto not installed, skipped"
  exit 0
fi
dir=$(mktemp -d /tmp/ovms-sim-bench-fleet-XXXXXX)
bpid=
spid=
cleanup() {
  [ -n "$spid" ] && kill "$spid" 2>/dev/null
  [ -n "$bpid" ] && kill "$bpid" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
{ [ "$(id -u)" = 0 ] && echo "user root"; echo "listener $port 127.0.0.1"
  echo "allow_anonymous true"; echo "max_connections -1"; echo "sys_interval 1"
  echo "persistence false"; echo "log_dest none"; } > "$dir/m.conf"

start_broker() {
  (ulimit -n "$(ulimit -Hn)"; exec "$mosq" -c "$dir/m.conf") 2>/dev/null &
  bpid=$!
  for _ in $(seq 50); do
    mosquitto_sub -h 127.0.0.1 -p "$port" -t '$SYS/broker/version' -C 1 -W 1 >/dev/null 2>&1 && return
    sleep 0.1
  done
}
sys() { # one $SYS value
  mosquitto_sub -h 127.0.0.1 -p "$port" -t "\$SYS/broker/$1" -C 1 -W 3 2>/dev/null || echo 0
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

start_broker
hz=$(getconf CLK_TCK)
printf '%-7s %-9s %-9s %-8s %-9s %-10s %-11s %-11s %-9s\n' cars synced_s fds/car KiB/car \
  cpu_cores msgs/s back_s spread_s connected
for n in $sizes; do
  rep="$dir/report-$n.json"
  "$bin" --fleet "$n" --scenario "$src/scenarios/driving.yaml" --connect-rate "$rate" \
    --broker "mqtt://bench@127.0.0.1:$port" --quiet --no-progress --report "$rep" \
    2> "$dir/sim-$n.err" &
  spid=$!
  t0=$(date +%s.%N)
  # connected: the broker counts every car
  for _ in $(seq 120); do
    c=$(sys clients/connected)
    [ "${c:-0}" -ge "$n" ] && break
    sleep 0.5
  done
  sleep 8 # the full syncs of the last cars
  fds=$(ls "/proc/$spid/fd" | wc -l)
  # steady state: 30 s of CPU, and every message the fleet published in them (a subscriber
  # to ovms/# counts them; -R leaves out the retained messages the broker replays on
  # subscribing, which are the fleet's earlier state, not its rate: before, they were counted)
  c0=$(cpu_ticks $spid); w0=$(date +%s.%N)
  m1=$(timeout 30 mosquitto_sub -R -h 127.0.0.1 -p "$port" -t 'ovms/#' 2>/dev/null | wc -l); m0=0
  c1=$(cpu_ticks $spid); w1=$(date +%s.%N)
  # broker restart
  kill "$bpid"; wait "$bpid" 2>/dev/null
  tr=$(date +%s.%N)
  start_broker
  back=-1
  for _ in $(seq 400); do
    c=$(sys clients/connected)
    if [ "${c:-0}" -ge "$n" ]; then back=$(python3 -c "print('%.1f' % ($(date +%s.%N) - $tr))"); break; fi
    sleep 0.5
  done
  hwm=$(awk '/VmHWM/ {print $2}' "/proc/$spid/status")
  kill -TERM "$spid"; wait "$spid" 2>/dev/null; spid=
  python3 - "$rep" "$n" "$fds" "$hwm" "$c0" "$c1" "$w0" "$w1" "$m0" "$m1" "$hz" "$back" <<'PY'
import json, sys
rep, n, fds, hwm, c0, c1, w0, w1, m0, m1, hz, back = sys.argv[1:]
n = int(n)
try:
    r = json.load(open(rep))
except Exception:
    r = {}
win = float(w1) - float(w0)
cores = (int(c1) - int(c0)) / float(hz) / win
msgs = (int(m1) - int(m0)) / win
print("%-7d %-9.1f %-9.2f %-8.1f %-9.3f %-10.0f %-11s %-11.2f %d" % (
    n, r.get("all_synced_s", -1), int(fds) / n, int(hwm) / n, cores, msgs, back,
    r.get("reconnect_spread_s", -1), r.get("ever_connected", -1)))
PY
done
echo "(synced_s: start to every car connected and synced once; back_s: broker restart to every"
echo " car connected again = firmware retry 60 s + jitter 0..5 s + connect spread; connect rate $rate/s)"
