#!/bin/bash
# bench_replay_mqtt.sh - a 5 kHz trace replayed in real time beside 4000 MQTT commands per
# second (issue 16 item 8, "Dense replay leaves room for MQTT").
#
# For the default replay (sleeping in the event loop) and for --precise-timing: starts a local
# mosquitto and ovms-sim replaying a generated 5 kHz candump trace, waits for the module to
# connect, sends `stat` on client/app1/command/1 at 4000 messages/s for 5 s (mosquitto_pub -l,
# QoS 1) and prints the commands sent, the responses counted at a subscriber, the simulator's
# CPU share during the load (/proc/PID/stat) and its RSS before, after and 2 s later.
# Needs mosquitto, mosquitto_pub, mosquitto_sub, python3.  Numbers only; nothing is asserted.
set -euo pipefail
sim=${OVMS_SIM_BIN:-build/sim/ovms-sim}
mosq=${MOSQUITTO_BIN:-/usr/sbin/mosquitto}
rate=4000 secs=5
dir=$(mktemp -d /tmp/ovms-sim-bench-XXXXXX)
bpid=
trap 'kill $bpid 2>/dev/null || true; rm -rf "$dir"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
{ [ "$(id -u)" = 0 ] && echo "user root"; echo "listener $port 127.0.0.1"; echo "allow_anonymous true"; \
  echo "max_queued_messages 0"; } > "$dir/m.conf"
"$mosq" -c "$dir/m.conf" 2>/dev/null & bpid=$!
python3 - "$dir/t.log" <<'PY'
import sys
with open(sys.argv[1], 'w') as f:
    for i in range(5000 * 40):
        f.write("(%.6f) can0 %03X#%016X\n" % (1724333000 + i / 5000, 0x100 + i % 64, i))
PY
sleep 0.5
run() {
  "$sim" --trace "$dir/t.log" --broker "mqtt://bench@127.0.0.1:$port" --vehicle-id BENCH "$@" \
    > "$dir/sim.out" 2> "$dir/sim.err" & local spid=$!
  local t=0
  until mosquitto_sub -p "$port" -t ovms/bench/BENCH/metric/s/v3/connected -C 1 -W 1 2>/dev/null | grep -q yes; do
    sleep 1; t=$((t + 1)); [ $t -lt 40 ] || { echo "module did not connect"; kill $spid; return 1; }
  done
  sleep 1.5 # the module subscribes on its first tick after CONNACK
  mosquitto_sub -p "$port" -q 1 -F '%t' -t 'ovms/bench/BENCH/client/app1/response/#' > "$dir/resp" &
  local subpid=$!
  sleep 0.3
  local u0 s0 u1 s1 r0 r1 r2
  read -r u0 s0 < <(awk '{print $14, $15}' "/proc/$spid/stat")
  r0=$(awk '/VmRSS/ {print $2}' "/proc/$spid/status")
  local w0; w0=$(date +%s.%N)
  python3 - $rate $secs <<'PY' | mosquitto_pub -p "$port" -q 1 -l -t ovms/bench/BENCH/client/app1/command/1
import sys, time
r, s = int(sys.argv[1]), float(sys.argv[2]); t0 = time.monotonic()
for i in range(int(r * s)):
    d = t0 + i / r - time.monotonic()
    if d > 0:
        time.sleep(d)
    sys.stdout.write("stat\n")
    if i % 20 == 0:
        sys.stdout.flush()
PY
  local w1; w1=$(date +%s.%N)
  read -r u1 s1 < <(awk '{print $14, $15}' "/proc/$spid/stat")
  r1=$(awk '/VmRSS/ {print $2}' "/proc/$spid/status")
  sleep 2
  r2=$(awk '/VmRSS/ {print $2}' "/proc/$spid/status")
  kill $subpid $spid 2>/dev/null || true
  wait $subpid $spid 2>/dev/null || true
  local hz; hz=$(getconf CLK_TCK)
  python3 - "$*" $((rate * secs)) "$(grep -c . "$dir/resp")" $((u1 + s1 - u0 - s0)) "$hz" "$w0" "$w1" "$r0" "$r1" "$r2" <<'PY'
import sys
a = sys.argv
sent, resp, ticks, hz = int(a[2]), int(a[3]), int(a[4]), int(a[5])
wall = float(a[7]) - float(a[6])
print("replay 5 kHz %s: %d commands sent at %d/s, %d answered (%.0f/s); simulator CPU %.0f %% "
      "during the load; RSS %s / %s / %s kB (before / after / 2 s later)"
      % (a[1] or "(default)", sent, sent / wall, resp, resp / wall, 100.0 * ticks / hz / wall,
         a[8], a[9], a[10]))
PY
}
run
run --precise-timing
