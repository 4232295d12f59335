#!/usr/bin/env bash
# The default "print" transport of ovms-sim (no broker): one line "<topic> <payload>" per
# publication, as mosquitto_sub -v prints; deterministic in virtual time; the full sync at once
# (no broker: no connect wait), events, the modified cadence; --topics draft-2018; bad Server
# V3 options are usage errors (exit 2) that never echo a password.
set -u
BIN=${OVMS_SIM_BIN:?}
fails=0; passes=0
check() { if [ "$2" = "$3" ]; then passes=$((passes+1)); else echo "FAIL: $1 (got '$3', want '$2')"; fails=$((fails+1)); fi; }
contains() { case "$2" in *"$3"*) passes=$((passes+1));; *) echo "FAIL: $1: output lacks '$3'"; echo "$2" | head -5; fails=$((fails+1));; esac; }
lacks() { case "$2" in *"$3"*) echo "FAIL: $1: output has '$3'"; fails=$((fails+1));; *) passes=$((passes+1));; esac; }

a=$("$BIN" --fast --duration 700s --vehicle-id MYCAR --set server.v3.user=alice); check "run" 0 $?
b=$("$BIN" --fast --duration 700s --vehicle-id MYCAR --set server.v3.user=alice)
check "deterministic" "$(echo "$a" | md5sum)" "$(echo "$b" | md5sum)"
check "first line" "ovms/alice/MYCAR/event server.v3.connected" "$(echo "$a" | head -1)"
check "event path line" "ovms/alice/MYCAR/event/server/v3/connected (null)" "$(echo "$a" | sed -n 2p)"
contains "connected metric" "$a" "ovms/alice/MYCAR/metric/s/v3/connected yes"
# the full sync is in ASCII order
sync=$(echo "$a" | grep ' ' | awk '{print $1}' | grep '/metric/' | head -15)
check "ASCII order" "$(echo "$sync" | LC_ALL=C sort)" "$sync"
# no broker, nothing to wait for: the full sync at sim time 0 (issue 13 item 4)
mono=$(echo "$a" | grep '/metric/m/monotonic ' | awk '{print $2}')
check "full sync at once" 0 "$(echo "$mono" | sed -n 1p)"
# idle: the modified pass when now > lasttx + 600 (m.monotonic changes every second), at 602:
# the sync at m.monotonic 0 counts as second 1, since a timestamp of 0 means "never" in
# Ticker1()
check "idle cadence" 602 "$(echo "$mono" | sed -n 2p)"
lacks "no ticker events" "$a" "event ticker."

d=$("$BIN" --fast --duration 60s --vehicle-id MYCAR --topics draft-2018)
contains "draft-2018 metric" "$d" "ovms//MYCAR/m/s/v3/connected yes"
lacks "draft-2018 no metric/" "$d" "/metric/"

p=$("$BIN" --fast --duration 60s --vehicle-id MYCAR --set server.v3.topic.prefix=foo)
contains "custom prefix verbatim" "$p" "foometric/s/v3/connected yes"

e=$("$BIN" --fast --duration 10s --broker http://x 2>&1); check "bad URL exit" 2 $?
contains "bad URL message" "$e" "invalid broker URL"
e=$("$BIN" --fast --duration 10s --broker mqtt://u:hunter2@h 2>&1); check "URL password exit" 2 $?
lacks "password not echoed" "$e" "hunter2"
e=$("$BIN" --fast --duration 10s --broker mqtts://h --cert c.pem 2>&1); check "cert without key" 2 $?
e=$("$BIN" --fast --duration 10s --topics nope 2>&1); check "bad --topics" 2 $?
e=$("$BIN" --fast --duration 10s --state-dir /proc/ovms-sim-nope 2>&1); check "bad --state-dir" 2 $?
contains "bad --state-dir message" "$e" "/proc/ovms-sim-nope"
e=$("$BIN" --fast --duration 10s --broker mqtt://h --password-file /nonexistent 2>&1); check "missing password file" 2 $?
e=$("$BIN" --help); contains "--help --broker" "$e" "--broker URL"
contains "--help --state-dir" "$e" "--state-dir DIR"

echo "v3_print: $passes passed, $fails failed"
[ "$fails" = 0 ]
