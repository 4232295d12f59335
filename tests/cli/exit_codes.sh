#!/bin/bash
# exit_codes.sh - a run that did nothing is not a success (README "Exit codes"): each case
# with its code and message.  2: no frame routed / nothing decoded; 3: broker never reached
# (with the cause); 130: interrupted, unreached checks NOT REACHED; bus-less traces go to bus 1.
set -u
BIN=${OVMS_SIM_BIN:?}
DATA=${OVMS_SIM_DATA:?}
SRC=${OVMS_SIM_SRC:?}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
expect() { # CODE PATTERN -- command...: exit code and a stderr line
  local code=$1 pat=$2; shift 3
  "$@" > "$T/out" 2> "$T/err"
  local rc=$?
  [ "$rc" -eq "$code" ] || { cat "$T/err"; fail "'$*': exit $rc, expected $code"; }
  grep -q -- "$pat" "$T/err" || { cat "$T/err"; fail "'$*': no '$pat' on stderr"; }
}
RS="$DATA/traces/roadster-slidestop.txt"   # a Roadster text log: no bus numbers
ENV="$DATA/traces/env200-startup.crtd"

# a bus-less trace goes to bus 1, so the Roadster decoder reads it (exit 0, metrics decoded)
"$BIN" --vehicle teslaroadster --trace "$RS" --fast > "$T/rs" 2> "$T/err" || { cat "$T/err"; fail "roadster"; }
grep -q '/metric/v/type TR$' "$T/rs" || fail "roadster decoded nothing"
# the wrong decoder reads none of the frames: 2
expect 2 'decoder read none of the' -- "$BIN" --vehicle nissanleaf --trace "$RS" --fast
# no frame reaches a bus: 2
expect 2 'no frame of the trace reached a bus' -- "$BIN" --trace "$ENV" --bus-map 9=1 --fast
# a broker that refuses the connection: 3 with the cause, even though every check passed
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
expect 3 "could not connect to the broker: 127.0.0.1:$port: Connection refused" -- \
  timeout 60 "$BIN" --scenario "$SRC/scenarios/charging.yaml" --fast -q --broker "mqtt://127.0.0.1:$port"
# a host name that does not exist: a --fast run ends at once (one resolution, not one per
# reconnection), with the cause; only where this machine's resolver says "no such name"
if python3 -c 'import socket,sys
try: socket.getaddrinfo("no-such-host.invalid", 1883)
except socket.gaierror as e: sys.exit(0 if e.errno == socket.EAI_NONAME else 1)
sys.exit(1)'; then
  expect 3 "could not connect to the broker: host name no-such-host.invalid not resolved" -- \
    timeout 20 "$BIN" --scenario "$SRC/scenarios/charging.yaml" --fast -q --broker mqtt://no-such-host.invalid
else
  echo "skipped the unresolvable-name case: the resolver does not answer EAI_NONAME here"
fi
# interrupted: 130, the time, checks not judged are NOT REACHED (not FAIL)
"$BIN" --scenario "$SRC/scenarios/charging.yaml" --speed 1 -q 2> "$T/err" &
pid=$!
sleep 1
kill -INT $pid
wait $pid
rc=$?
[ $rc -eq 130 ] || { cat "$T/err"; fail "SIGINT: exit $rc, expected 130"; }
grep -q '^ovms-sim: interrupted at .* UTC (simulated 0:00:' "$T/err" || { cat "$T/err"; fail "interrupted message"; }
grep -q 'NOT REACHED v.c.charging' "$T/err" || { cat "$T/err"; fail "NOT REACHED"; }
grep -q 'FAIL' "$T/err" && { cat "$T/err"; fail "an unreached check printed as FAIL"; }
grep -Eq '0 failed, [0-9]+ not reached' "$T/err" || { cat "$T/err"; fail "summary"; }
# --duration shorter than the timeline: the checks judged are reported, the rest NOT REACHED,
# exit 4 (its own code); a judged check that failed makes it 1; a --duration past the end is 0
expect 4 'ovms-sim: --duration 1:01:00 ended the run at step 2 of 5, before the end of the timeline: 6 checks not reached' -- \
  "$BIN" --scenario "$SRC/scenarios/charging.yaml" --fast --duration 61min
grep -q 'PASS v.c.charging = yes' "$T/err" || { cat "$T/err"; fail "--duration: judged check not reported"; }
grep -q 'NOT REACHED v.e.locked (end)' "$T/err" || { cat "$T/err"; fail "--duration: NOT REACHED"; }
grep -q '3 passed, 0 failed, 6 not reached' "$T/err" || { cat "$T/err"; fail "--duration: summary"; }
sed 's/{metric: v.c.state, value: charging, at: 1h}/{metric: v.c.state, value: done, at: 1h}/' \
  "$SRC/scenarios/charging.yaml" > "$T/charging-bad.yaml"
expect 1 'FAIL v.c.state = charging' -- "$BIN" --scenario "$T/charging-bad.yaml" --fast -q --duration 61min
"$BIN" --scenario "$SRC/scenarios/charging.yaml" --fast -q --duration 6h 2> "$T/err" ||
  { cat "$T/err"; fail "--duration past the timeline: exit $?"; }
# metrics --trace honours the trace: the values after replaying it through the decoder
"$BIN" metrics --trace "$ENV" --vehicle nissanleaf v.e.parktime > "$T/m" 2> "$T/err" || { cat "$T/err"; fail "metrics --trace"; }
grep -Eq '^v.e.parktime +int +seconds +[0-9]+$' "$T/m" || { cat "$T/m"; fail "metrics --trace: no decoded value"; }
"$BIN" metrics --vehicle nissanleaf v.e.parktime > "$T/m0"
grep -Eq '^v.e.parktime +int +seconds +$' "$T/m0" || { cat "$T/m0"; fail "metrics without --trace has a value"; }
# ... and its did-nothing check; options that connect somewhere are refused
expect 2 'decoder read none of the' -- "$BIN" metrics --trace "$RS" --vehicle nissanleaf
expect 2 'metrics does not take --broker' -- "$BIN" metrics --broker mqtt://127.0.0.1:1 v.b.soc
expect 2 'metrics does not take --can' -- "$BIN" metrics --can 1=slcan:/dev/null v.b.soc
echo "exit_codes: ok"
