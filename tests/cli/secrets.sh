#!/usr/bin/env bash
# secrets.sh - the MQTT password stays secret (issue 16 item 5): a password key given with
# --set is refused (exit 2: the command line is visible in ps) with a pointer to
# --password-file / OVMS_SIM_PASSWORD, and a running simulator has core dumps off (RLIMIT_CORE 0, not dumpable).  The answers to clients (config
# list, request/config) are tests/unit/test_shell.c and test_v3_engine.c.
set -u
BIN=${OVMS_SIM_BIN:?}
SRC=${OVMS_SIM_SRC:?}
. "$SRC/tests/support/cli_lib.sh"
tmp=$(mktemp -d); trap 'kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
pid=
cd "$SRC"

for key in password.server.v3 password.module password; do
  err=$("$BIN" --scenario scenarios/parked-night.yaml --fast --quiet --set "$key=s3cret" 2>&1)
  check "--set $key refused" 2 $?
  contains "--set $key: message" "$err" "give it in --password-file FILE or OVMS_SIM_PASSWORD"
  case "$err" in *s3cret*) check "--set $key: value not echoed" 0 1;; esac
done
# other keys still work
"$BIN" --scenario scenarios/parked-night.yaml --fast --quiet \
  --set server.v3.updatetime.idle=600 >/dev/null 2>&1
check "--set server.v3.updatetime.idle" 0 $?

# core dumps off in a running simulator
"$BIN" --scenario scenarios/parked-night.yaml --quiet --duration 1h >/dev/null 2>&1 &
pid=$!
for _ in $(seq 50); do [ -r /proc/$pid/limits ] && grep -q '^Max core' /proc/$pid/limits && break; sleep 0.1; done
sleep 0.5
limits=$(cat /proc/$pid/limits 2>/dev/null)
contains "RLIMIT_CORE 0" "$(echo "$limits" | awk '/^Max core file size/ {print "soft=" $5, "hard=" $6}')" "soft=0 hard=0"
# not dumpable: /proc/PID/status and environ are root-owned then
owner=$(stat -c %u /proc/$pid/environ 2>/dev/null)
check "not dumpable (/proc/PID/environ owned by root)" 0 "$owner"
kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; pid=

finish
