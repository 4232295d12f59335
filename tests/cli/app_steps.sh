#!/usr/bin/env bash
# app: scenario steps on the command line: scenarios/app-check.yaml validates and runs (exit 0)
# against a mosquitto started here, with the simulator's own car in the same process and with
# --app-only against a second simulator; bad invocations of app steps and --app-only exit 2
# with the reason (file:line:col where the scenario is at fault).
set -u
BIN=${OVMS_SIM_BIN:?}
SRC=${OVMS_SIM_SRC:?}
. "$SRC/tests/support/cli_lib.sh"
tmp=$(mktemp -d); chmod 755 "$tmp" # the broker may drop to user mosquitto: it reads its files here
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$tmp"' EXIT
cd "$SRC"

out=$("$BIN" validate scenarios/app-check.yaml 2>&1); check "validate app-check" 0 $?
contains "validate app-check ok" "$out" "scenarios/app-check.yaml: ok (4 steps, 3 checks)"

err=$("$BIN" --scenario scenarios/app-check.yaml --fast 2>&1); check "app steps without broker" 2 $?
contains "app steps need a broker" "$err" "scenarios/app-check.yaml: app: steps need a --broker"
err=$("$BIN" --scenario scenarios/app-check.yaml --app-only 2>&1); check "app-only without broker" 2 $?
contains "app-only needs" "$err" "--app-only needs a --scenario and a --broker"
err=$("$BIN" --scenario scenarios/app-check.yaml --fleet 3 --broker mqtt://127.0.0.1:1 --duration 1s 2>&1)
check "app steps with a fleet" 2 $?
contains "app steps one module" "$err" "app: steps talk to one module: not with --fleet or --apps"
err=$("$BIN" --scenario scenarios/charging.yaml --app-only --broker mqtt://127.0.0.1:1 2>&1)
check "app-only with car steps" 2 $?
contains "app-only car step" "$err" "scenarios/charging.yaml:29:5: error: --app-only runs app: and park: steps, not charge"
contains "app-only metric expect" "$err" "error: --app-only has no simulated car: expect: v.c.state would check nothing"
contains "app-only no app step" "$err" "--app-only: the scenario has no app: step"
err=$("$BIN" --scenario scenarios/app-check.yaml --app-only --broker mqtt://127.0.0.1:1 --vehicle emulate 2>&1)
check "app-only with a vehicle" 2 $?

MOSQ=${MOSQUITTO_BIN:-}
if [ -z "$MOSQ" ] || [ ! -x "$MOSQ" ]; then echo "mosquitto not available: the runs skipped"; finish; exit; fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'listener %s 127.0.0.1\nallow_anonymous true\n' "$port" > "$tmp/m.conf"
"$MOSQ" -c "$tmp/m.conf" > "$tmp/m.log" 2>&1 & pids+=($!)
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done

err=$("$BIN" --scenario scenarios/app-check.yaml --broker "mqtt://ci@127.0.0.1:$port" --speed 5 --quiet 2>&1)
check "app-check against its own car" 0 $?
contains "own car summary" "$err" "module answers its app: 3 checks, 3 passed, 0 failed"

printf 'timeline:\n  - park: 1h\n' > "$tmp/car.yaml"
"$BIN" --scenario "$tmp/car.yaml" --vehicle-id MYCAR --broker "mqtt://ci@127.0.0.1:$port" --speed 5 --quiet & pids+=($!)
err=$("$BIN" --scenario scenarios/app-check.yaml --app-only --vehicle-id MYCAR --broker "mqtt://ci@127.0.0.1:$port" 2>&1)
check "app-check against another module" 0 $?
contains "other module summary" "$err" "module answers its app: 3 checks, 3 passed, 0 failed"
contains "other module stat" "$err" "PASS app ci-app command 'stat': 'Not charging\\nSOC: 80.0%"

# TLS and a login: a broker as docker/ configures it (password file, TLS listener), its
# secrets from docker/gen-secrets.sh; the car and the app both log in as alice over mqtts
if command -v openssl >/dev/null && command -v mosquitto_passwd >/dev/null; then
  sh docker/gen-secrets.sh "$tmp/sec" alice "app-pw-1" >/dev/null 2>&1
  tport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  printf 'listener %s 127.0.0.1\ncafile %s\ncertfile %s\nkeyfile %s\npassword_file %s\nallow_anonymous false\n' \
    "$tport" "$tmp/sec/certs/ca.crt" "$tmp/sec/certs/server.crt" "$tmp/sec/certs/server.key" \
    "$tmp/sec/config/passwd" > "$tmp/t.conf"
  "$MOSQ" -c "$tmp/t.conf" > "$tmp/t.log" 2>&1 & pids+=($!)
  for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$tport") 2>/dev/null && break; sleep 0.1; done
  err=$("$BIN" --scenario scenarios/app-check.yaml --broker "mqtts://alice@localhost:$tport" \
        --cafile "$tmp/sec/certs/ca.crt" --password-file "$tmp/sec/sim/password" --speed 5 --quiet 2>&1)
  check "app-check over mqtts with a login" 0 $?
  contains "mqtts summary" "$err" "module answers its app: 3 checks, 3 passed, 0 failed"
  printf 'wrong\n' > "$tmp/bad-pw"
  err=$("$BIN" --scenario scenarios/app-check.yaml --app-only --vehicle-id MYCAR \
        --broker "mqtts://alice@localhost:$tport" --cafile "$tmp/sec/certs/ca.crt" \
        --password-file "$tmp/bad-pw" 2>&1)
  check "app refused login: runtime failure" 3 $?
  contains "refused login cause" "$err" "could not connect to the broker: Connection Refused: not authorised."
  err=$("$BIN" --scenario scenarios/app-check.yaml --app-only --vehicle-id MYCAR \
        --broker "mqtts://alice@localhost:$tport" --password-file "$tmp/sec/sim/password" 2>&1)
  check "app TLS not verified (system CAs): runtime failure" 3 $?
  contains "TLS cause" "$err" "could not connect to the broker: localhost:$tport: A TLS error occurred."
fi
finish
