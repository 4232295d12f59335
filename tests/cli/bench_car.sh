#!/bin/bash
# bench_car.sh - the bench car options from the command line (hil/README.md):
#  - bad --responders / --no-obd / --vehicle-poll / --trace-respond invocations exit 2 with a
#    message naming the problem;
#  - the recorded polls of a trace are decoded without --vehicle-poll (--stats, publications);
#  - two simulators over socketcand on loopback: one plays a driving Leaf (--vehicle-emulate, its
#    BMS and VCM answer), the other polls it as the firmware does (--vehicle-poll): replies
#    decoded on one side, requests answered on the other;
#  - --trace-respond answers the module's poller with the recorded BMS reply; the requests
#    the trace does not have are counted unknown.
set -u
BIN=${OVMS_SIM_BIN:?}
DATA=${OVMS_SIM_DATA:?}
SRC=${OVMS_SIM_SRC:?}
. "$SRC/tests/support/cli_lib.sh"
T=$(mktemp -d)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$T"' EXIT
REC="$DATA/hil/env200-bms-volt-poll.crtd"
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

# bad invocations: exit 2 and what is wrong
bad() { # name, expected text, args...
  local name=$1 want=$2
  shift 2
  out=$("$BIN" "$@" 2>&1 >/dev/null)
  check "$name" 2 $?
  contains "$name" "$out" "$want"
}
bad "unknown responder" "unknown responder 'foo' (vcm, bms, obd, uds, all or none)" \
  --vehicle nissanleaf --vehicle-emulate --responders bms,foo --can mem:b1 --fast --duration 1
bad "i-MiEV responders" "unknown responder 'bms' (bmu, obc, hvac, meter, obd, uds" \
  --vehicle mitsubishi --vehicle-emulate --responders bms --can mem:b1 --fast --duration 1
bad "empty responder" "invalid --responders 'bms,'" \
  --vehicle nissanleaf --vehicle-emulate --responders bms, --can mem:b1 --fast --duration 1
bad "responders without emulate" "--responders and --no-obd need --vehicle-emulate" \
  --vehicle nissanleaf --responders bms --can mem:b1 --fast --duration 1
bad "no-obd with obd" "--no-obd and --responders obd ask for opposite things" \
  --vehicle nissanleaf --vehicle-emulate --no-obd --responders obd --can mem:b1 --fast --duration 1
bad "poll without vehicle" "--vehicle-poll needs a --vehicle" --vehicle-poll --can mem:b1
bad "poll without bus" "--vehicle-poll needs a --can bus" \
  --vehicle nissanleaf --vehicle-poll --fast --duration 1
bad "poll and emulate" "--vehicle-poll and --vehicle-emulate exclude each other" \
  --vehicle nissanleaf --vehicle-poll --vehicle-emulate --can mem:b1
bad "respond without bus" "--trace-respond needs a --can bus" --trace-respond "$REC" --fast --duration 1
bad "respond missing file" "$T/none.crtd" --trace-respond "$T/none.crtd" --can mem:b1 --fast --duration 1
printf '1717228801.000000 1R11 1DB 01 02 03\n' > "$T/periodic.crtd"
bad "respond without exchanges" "no ISO-TP request with its response" \
  --trace-respond "$T/periodic.crtd" --can mem:b1 --fast --duration 1
printf '1717228801.000000 1R11 7BB zz\n' > "$T/broken.crtd"
bad "respond bad line" "broken.crtd:1:" --trace-respond "$T/broken.crtd" --can mem:b1 --fast --duration 1
help=$("$BIN" --help)
for o in --responders --no-obd --vehicle-poll --trace-respond; do contains "--help $o" "$help" "$o"; done

# recorded polls in a trace are decoded (listening, nothing sent)
out=$("$BIN" --vehicle nissanleaf --trace "$REC" --fast --stats 2> "$T/err1")
check "trace decode" 0 $?
contains "trace decode stats" "$(cat "$T/err1")" "poller (listening): 0 requests, 1 replies decoded"
contains "trace decode cells" "$out" "metric/v/b/c/voltage 3.732,3.735,3.734,3.737,"

# a simulated Leaf polled by a simulated module over socketcand; both in real time (a car at
# --speed N would time out waiting for the module's flow control after 1000/N ms)
cat > "$T/drive.yaml" <<'EOF'
name: the car drives (poll state "running")
timeline:
  - drive: {distance: 20km, speed: 50kmh}
EOF
# car_and_module LABEL SCENARIO CARLOG MODULELOG SECONDS: the emulated Leaf running SCENARIO,
# serving its two buses over socketcand, and a polling module against them for SECONDS
car_and_module() {
  local pa pb car
  pa=$(port); pb=$(port)
  "$BIN" -q --vehicle nissanleaf --vehicle-emulate --scenario "$2" \
    --serve 1=socketcand:127.0.0.1:"$pa" --serve 2=socketcand:127.0.0.1:"$pb" --stats 2> "$3" &
  car=$!
  PIDS+=($car)
  wait_port "$pa" && wait_port "$pb" || { echo "FAIL: $1: car ports"; exit 1; }
  "$BIN" -q --vehicle nissanleaf --vehicle-poll --can 1=socketcand:127.0.0.1:"$pa"/can1 \
    --can 2=socketcand:127.0.0.1:"$pb"/can2 --duration "$5" --stats 2> "$4"
  check "$1" 0 $?
  kill "$car"; wait "$car" 2>/dev/null
}
car_and_module "module run" "$T/drive.yaml" "$T/car" "$T/module" 6
# at most one request a second on bus 1 from 1 s on (AZE0 "on"/"running": groups 1, 2, 6, 4; group 6 has
# no decoder; the list restarts while the module learns the poll state from the car's frames);
# the VCM is polled only while "on"; the last request may be on its way at the end
matches() { # name, file, extended regex
  if grep -Eq "$3" "$2"; then passes=$((passes+1)); else echo "FAIL: $1: no /$3/"; cat "$2"; fails=$((fails+1)); fi
}
matches "module polls" "$T/module" \
  "poller \(polling\): [2-8] requests, [1-7] replies decoded, 0 negative"
matches "bms answers" "$T/car" "responder bms \(bus 1, 79b -> 7bb\): [2-8] requests, [2-8] answers, 0 negative"
matches "vcm answers" "$T/car" "responder vcm \(bus 2, 797 -> 79a\): ([0-2]) requests, \1 answers"

# reactive replay answering the module's poller
P3=$(port)
"$BIN" -q --trace-respond "$REC" --serve 1=socketcand:127.0.0.1:"$P3" --stats 2> "$T/replay" &
REP=$!
PIDS+=($REP)
wait_port "$P3" || { echo "FAIL: replay port"; exit 1; }
cat > "$T/drive.yaml" <<'EOF'
name: the module's car drives (poll state "running")
timeline:
  - drive: {distance: 20km, speed: 50kmh}
EOF
"$BIN" -q --vehicle nissanleaf --scenario "$T/drive.yaml" --vehicle-poll \
  --can 1=socketcand:127.0.0.1:"$P3"/can1 --duration 8 --stats 2> "$T/module2"
check "module against replay" 0 $?
kill "$REP"; wait "$REP" 2>/dev/null
# 21 01 at 1 s (not in the trace: unknown, time-out at 3 s), 21 02 at 3 s (answered), 21 06 at
# 4 s, 21 04 at 6 s (unknown); the poll state going from on to running restarts the list
matches "replayed reply decoded" "$T/module2" \
  "poller \(polling\): [3-7] requests, [1-3] replies decoded, 0 negative"
matches "replay stats" "$T/replay" \
  "trace-respond: 1 exchanges learnt \(1 answers\), [3-7] requests, [1-3] answered, [2-5] unknown"
# the scenario's ecu: step makes the car's BMS answer every poll with NRC 0x22
cat > "$T/nrc.yaml" <<'EOF'
name: the BMS refuses
timeline:
  - ecu: {name: bms, fault: "nrc:22"}
  - drive: {distance: 20km, speed: 50kmh}
EOF
printf 'name: x\ntimeline:\n  - ecu: {name: bms, fault: loud}\n' > "$T/badfault.yaml"
bad "ecu bad fault" "badfault.yaml:3:29: error: 'loud' is not an ECU fault (ok, silent" \
  --scenario "$T/badfault.yaml" --fast
bad "ecu without emulate" "nrc.yaml:3:5: error: ecu: steps need --vehicle-emulate" \
  --vehicle nissanleaf --scenario "$T/nrc.yaml" --fast
bad "ecu not there" "the simulated car has no ECU 'bms'" --vehicle nissanleaf --vehicle-emulate \
  --responders vcm --scenario "$T/nrc.yaml" --can mem:b1 --fast
bad "ecu of another car" "the simulated car has no ECU 'bms'" --vehicle mitsubishi \
  --vehicle-emulate --scenario "$T/nrc.yaml" --can mem:b1 --fast
car_and_module "module against refusing BMS" "$T/nrc.yaml" "$T/car2" "$T/module3" 8
matches "negatives seen" "$T/module3" "poller \(polling\): [2-8] requests, [0-2] replies decoded, [2-6] negative, 0 pending, 0 timeouts"
matches "BMS refused" "$T/car2" "responder bms \(bus 1, 79b -> 7bb\): ([2-6]) requests, 0 answers, \1 negative"
finish
