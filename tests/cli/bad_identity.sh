#!/usr/bin/env bash
# bad_identity.sh - values that would make every connection attempt fail, or put MQTT wildcards
# into the car's topics, are refused before the run with exit 2 (issue 16 item 6): a vehicle
# id with '#', '+' or '/', an empty vehicle id, a user or topic prefix with '#' or '+', a client
# id over 65,535 bytes, and a --cafile, --capath, --cert or --key that cannot be read.  No
# broker is needed: the port given is never connected to, because nothing gets that far.
set -u
BIN=${OVMS_SIM_BIN:?}
SRC=${OVMS_SIM_SRC:?}
. "$SRC/tests/support/cli_lib.sh"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$SRC"
B=mqtt://alice@127.0.0.1:9
run() { timeout 60 "$BIN" --fast --duration 10s --quiet "$@" 2>&1; }

for id in 'CAR#1' 'CAR+1' 'CAR/1'; do
  err=$(run --vehicle-id "$id" --broker $B); check "vehicle id $id" 2 $?
  contains "vehicle id $id: message" "$err" "the vehicle id '$id' has the character '${id:3:1}', which MQTT does not allow in a topic level"
done
err=$(run --set vehicle.id= --broker $B); check "empty vehicle id" 2 $?
contains "empty vehicle id: message" "$err" "the vehicle id is empty"
err=$(run --vehicle-id CAR --broker 'mqtt://al+ice@127.0.0.1:9'); check "user with +" 2 $?
contains "user with +: message" "$err" "the user 'al+ice' has the character '+'"
err=$(run --vehicle-id CAR --set 'server.v3.topic.prefix=ovms/#/' --broker $B)
check "prefix with #" 2 $?
contains "prefix with #: message" "$err" "the topic prefix 'ovms/#/' has the character '#', which MQTT does not allow in a topic"
long=$(head -c 65536 /dev/zero | tr '\0' c)
err=$(run --vehicle-id CAR --client-id "$long" --broker $B); check "client id 65536 bytes" 2 $?
contains "client id: message" "$err" "the MQTT client id is 65536 bytes long (at most 65535)"
err=$(run --vehicle-id CAR --broker mqtts://alice@127.0.0.1:9 --cafile "$tmp/none.pem")
check "missing --cafile" 2 $?
contains "missing --cafile: message" "$err" "the CA file '$tmp/none.pem' cannot be read: No such file or directory"
err=$(run --vehicle-id CAR --broker mqtts://alice@127.0.0.1:9 --capath "$tmp/none")
check "missing --capath" 2 $?
contains "missing --capath: message" "$err" "the CA directory '$tmp/none' cannot be read"
: >"$tmp/key.pem"
err=$(run --vehicle-id CAR --broker mqtts://alice@127.0.0.1:9 --cert "$tmp/none.crt" --key "$tmp/key.pem")
check "missing --cert" 2 $?
contains "missing --cert: message" "$err" "the client certificate '$tmp/none.crt' cannot be read"
err=$(run --vehicle-id CAR --broker mqtts://alice@127.0.0.1:9 --cert "$tmp/key.pem" --key "$tmp/none.key")
check "missing --key" 2 $?
contains "missing --key: message" "$err" "the client key '$tmp/none.key' cannot be read"
# every problem at once is listed
err=$(run --vehicle-id 'A+B' --set 'server.v3.topic.prefix=x/+/' --broker $B); check "two at once" 2 $?
contains "two at once: vehicle id" "$err" "the vehicle id 'A+B'"
contains "two at once: prefix" "$err" "the topic prefix 'x/+/'"

# fine values still run (the print transport takes anything; a '/' in the prefix is fine)
run --vehicle-id 'CAR-1_x.y' --set 'server.v3.topic.prefix=fleet/a/CAR-1/' >/dev/null; check "good values" 0 $?
finish
