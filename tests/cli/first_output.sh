#!/bin/bash
# first_output.sh - output from the first second (issue 13 item 4): a run with nothing to run
# says what it does; -q prints only what did not pass and the one-line summary; a progress
# line on a terminal in real time; the first full sync at once without a broker; empty
# payloads printed as mosquitto_sub -v prints them, compared with a real mosquitto_sub against
# a real mosquitto.
set -u
BIN=${OVMS_SIM_BIN:?}
SRC=${OVMS_SIM_SRC:?}
T=$(mktemp -d)
MPID=
trap '[ -n "$MPID" ] && kill $MPID 2>/dev/null; rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# no scenario, no trace: a note at once (not 11 s of silence), then Ctrl-C/SIGTERM = 130
timeout --preserve-status -s TERM 2 "$BIN" > "$T/out" 2> "$T/err"
rc=$?
[ $rc -eq 130 ] || { cat "$T/err"; fail "idle run: exit $rc, expected 130"; }
grep -q '^ovms-sim: no --scenario, --trace or --can: a parked car idles' "$T/err" || { cat "$T/err"; fail "no note"; }

# no broker: the first full sync at once, also in real time -- its m.monotonic is 0 and it
# comes before any modified pass (a functional bound of 5 s wall time, not a speed test)
python3 - "$BIN" "$SRC/scenarios/charging.yaml" > "$T/first" <<'PY' || { cat "$T/first"; fail "first full sync in real time"; }
import select, signal, subprocess, sys
p = subprocess.Popen([sys.argv[1], "--scenario", sys.argv[2]], stdout=subprocess.PIPE,
                     stderr=subprocess.DEVNULL)
lines, buf = [], b""
try:
    while not any(l.startswith(b"ovms//DEMO/metric/m/monotonic ") for l in lines):
        r, _, _ = select.select([p.stdout], [], [], 5)
        if not r:
            sys.exit("no m.monotonic within 5 s; got %r" % lines)
        d = p.stdout.read1(4096)
        if not d:
            sys.exit("ended early; got %r" % lines)
        buf += d
        *done, buf = buf.split(b"\n")
        lines += done
finally:
    p.send_signal(signal.SIGTERM)
    p.wait()
print(b"\n".join(lines).decode())
PY
[ "$(head -1 "$T/first")" = "ovms//DEMO/event server.v3.connected" ] || { head -3 "$T/first"; fail "first line"; }
grep -qx 'ovms//DEMO/metric/m/monotonic 0' "$T/first" || { tail -3 "$T/first"; fail "the first sync is not at sim time 0"; }
grep -q '^ovms//DEMO/metric/m/hardware ' "$T/first" || fail "the first sync is not a full sync"

# -q: nothing on stdout; stderr only the summary line when every check passed
"$BIN" --scenario "$SRC/scenarios/charging.yaml" --fast -q > "$T/out" 2> "$T/err" || fail "-q: exit $?"
[ -s "$T/out" ] && fail "-q printed on stdout"
[ "$(wc -l < "$T/err")" -eq 1 ] || { cat "$T/err"; fail "-q: more than one line on stderr"; }
grep -q '^AC charge 20% to 90%: 9 checks, 9 passed, 0 failed$' "$T/err" || { cat "$T/err"; fail "-q summary"; }
# ... and the checks that failed, without the ones that passed
sed 's/{metric: v.c.state, value: charging, at: 1h}/{metric: v.c.state, value: done, at: 1h}/' \
  "$SRC/scenarios/charging.yaml" > "$T/bad.yaml"
"$BIN" --scenario "$T/bad.yaml" --fast -q > /dev/null 2> "$T/err"; rc=$?
[ $rc -eq 1 ] || fail "-q failing: exit $rc"
[ "$(wc -l < "$T/err")" -eq 2 ] || { cat "$T/err"; fail "-q failing: not FAIL + summary"; }
grep -q 'FAIL v.c.state = charging' "$T/err" || { cat "$T/err"; fail "-q: FAIL line"; }
grep -q 'PASS' "$T/err" && fail "-q printed PASS lines"
# without -q every check is listed
"$BIN" --scenario "$SRC/scenarios/charging.yaml" --fast > /dev/null 2> "$T/err"
[ "$(grep -c ': PASS ' "$T/err")" -eq 9 ] || { cat "$T/err"; fail "without -q: PASS lines"; }

# a progress line in real time when stderr is a terminal and stdout goes to a file
python3 - "$BIN" "$SRC/scenarios/charging.yaml" "$T/rt.out" > "$T/tty" <<'PY' || fail "progress pty"
import os, pty, subprocess, sys, time
binary, scenario, out = sys.argv[1:4]
m, s = pty.openpty()
with open(out, "w") as o:
    p = subprocess.Popen([binary, "--scenario", scenario, "--speed", "60", "--duration", "3min"],
                         stdout=o, stderr=s)
    os.close(s)
    got = b""
    while True:
        try:
            d = os.read(m, 4096)
        except OSError:
            break
        if not d:
            break
        got += d
    p.wait()
sys.stdout.write(got.decode(errors="replace"))
PY
grep -q '\[step [0-9]/5\] simulated 0:0[0-3]:' "$T/tty" || { cat -v "$T/tty"; fail "no progress line in real time"; }

# empty payloads: what mosquitto_sub -v prints for them, from a real broker
MOSQ=${MOSQUITTO_BIN:-}
[ -x "$MOSQ" ] || MOSQ=$(command -v mosquitto || echo /usr/sbin/mosquitto)
command -v mosquitto_sub > /dev/null && [ -x "$MOSQ" ] || { echo "skipped: no mosquitto/mosquitto_sub"; exit 77; }
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'listener %s 127.0.0.1\nallow_anonymous true\n' "$port" > "$T/m.conf"
"$MOSQ" -c "$T/m.conf" > "$T/m.log" 2>&1 &
MPID=$!
for i in $(seq 50); do mosquitto_pub -p "$port" -t probe -m 1 2>/dev/null && break; sleep 0.1; done
mosquitto_sub -p "$port" -v -t 'ovms/#' > "$T/sub" &
SPID=$!
sleep 0.5
"$BIN" --scenario "$SRC/scenarios/charging.yaml" --fast --broker "mqtt://127.0.0.1:$port" --print \
  --duration 20s > "$T/sim" 2> "$T/err"
sleep 1
kill $SPID
wait $SPID 2>/dev/null
grep -q '/event/server/v3/connected (null)$' "$T/sub" || { cat "$T/sub" | head; fail "mosquitto_sub did not print an empty payload as (null)"; }
grep '/event/server/v3/connected ' "$T/sub" | head -1 > "$T/want"
grep '/event/server/v3/connected ' "$T/sim" | head -1 > "$T/got"
cmp -s "$T/want" "$T/got" || { cat "$T/want" "$T/got"; fail "the empty payload is printed unlike mosquitto_sub -v"; }
# the print transport (no broker) prints it the same way
"$BIN" --scenario "$SRC/scenarios/charging.yaml" --fast --duration 20s > "$T/print" 2>/dev/null
grep -q '^ovms/DEMO/event/server/v3/connected (null)$\|/event/server/v3/connected (null)$' "$T/print" ||
  { grep connected "$T/print"; fail "print transport: empty payload"; }
echo "first_output: ok"
