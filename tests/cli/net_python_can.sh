#!/bin/bash
# net_python_can.sh - python-can's "socketcand" interface (Debian python3-can, unchanged)
# against `ovms-sim --serve socketcand`: frames from the simulator (a replay) to the client,
# frames from the client to the simulator (recorded), two clients seeing each other's frames
# but not their own, an ISO-TP multi-frame exchange (a 60-byte answer with flow control)
# between two python-can clients through the served bus, and --stats counting it all.  Then
# the simulator's own socketcand client backend (--can 2=socketcand:...) against a second
# simulator serving the bus.  Skipped (77) when python3-can is missing.
set -u
. "$(dirname "$0")/../support/net_lib.sh"
P=$(port)
# a replay on bus 1: 0x5BC every 100 ms, forever
for i in $(seq 0 9); do printf '(%d.%d00000) can0 5BC#0102030405060708\n' 1700000000 "$i"; done > "$T/t.log"
"$BIN" -q --trace 1="$T/t.log" --loop 0 --serve 1=socketcand:127.0.0.1:"$P" \
  --record "$T/rec.crtd" --stats 2> "$T/err" &
PIDS+=($!)
SIM=$!
wait_port "$P" || fail "server did not listen"

cat > "$T/clients.py" <<PYEOF
import can, sys, time
port = int(sys.argv[1])
def bus():
    return can.Bus(interface="socketcand", channel="can1", host="127.0.0.1", port=port)
from net_lib import recv_id
a = bus()
# 1. the simulator's replay reaches the client, data as sent
m = recv_id(a, 0x5BC)
assert m is not None and bytes(m.data) == bytes(range(1, 9)), m
# 2. a second client; each sees the other's frames but not its own
b = bus()
time.sleep(0.2)
a.send(can.Message(arbitration_id=0x7DF, data=[2, 1, 0x0D], is_extended_id=False))
m = recv_id(b, 0x7DF)
assert m is not None and list(m.data) == [2, 1, 0x0D], m
b.send(can.Message(arbitration_id=0x18DAF110, data=[0x22, 0xF1, 0x90], is_extended_id=True))
m = recv_id(a, 0x18DAF110)
assert m is not None and list(m.data) == [0x22, 0xF1, 0x90], m
assert recv_id(a, 0x7DF, 0.5) is None, "own frame echoed"
# 3. ISO-TP through the served bus: b answers 7E0 requests on 7E8 with 60 bytes
payload = bytes((i * 7) & 0xFF for i in range(60))
a.send(can.Message(arbitration_id=0x7E0, data=[2, 0x21, 0x01, 0, 0, 0, 0, 0], is_extended_id=False))
req = recv_id(b, 0x7E0)
assert req is not None and list(req.data[:3]) == [2, 0x21, 0x01]
b.send(can.Message(arbitration_id=0x7E8, data=[0x10, len(payload)] + list(payload[:6]), is_extended_id=False))
ff = recv_id(a, 0x7E8)
assert ff is not None and ff.data[0] == 0x10 and ff.data[1] == 60
got = bytearray(ff.data[2:8])
a.send(can.Message(arbitration_id=0x7E0, data=[0x30, 0, 0, 0, 0, 0, 0, 0], is_extended_id=False))
fc = recv_id(b, 0x7E0)
assert fc is not None and fc.data[0] == 0x30, fc
off, sn = 6, 1
while off < len(payload):
    chunk = payload[off:off + 7]
    b.send(can.Message(arbitration_id=0x7E8, data=[0x20 | (sn & 15)] + list(chunk) + [0xAA] * (7 - len(chunk)), is_extended_id=False))
    off += 7
    sn += 1
while len(got) < 60:
    cf = recv_id(a, 0x7E8)
    assert cf is not None and (cf.data[0] >> 4) == 2, cf
    got += cf.data[1:8]
assert bytes(got[:60]) == payload, got
a.shutdown()
b.shutdown()
print("ok")
PYEOF
PYTHONPATH="$NET_PY" timeout 60 "$PY" "$T/clients.py" "$P" > "$T/out" 2> "$T/err.py" || { cat "$T/out"; fail "python-can clients"; }
grep -qx ok "$T/out" || fail "python-can clients did not finish"

# 4. the simulator's socketcand client backend against this server: bus 2 of a second
# simulator is the first one's bus 1 (the replay arrives, what it sends is recorded there)
"$BIN" -q --can 2=socketcand:127.0.0.1:"$P"/can1 --record "$T/rec2.crtd" --duration 2 \
  2> "$T/err2" || fail "client backend run"
grep -q '2R11 5BC 01 02 03 04 05 06 07 08' "$T/rec2.crtd" || fail "replay frames via the client backend"

kill -TERM "$SIM"
wait "$SIM"
grep -q 'R11 7DF 02 01 0d' "$T/rec.crtd" || fail "client frame received by the simulator"
grep -q 'R29 18DAF110 22 f1 90' "$T/rec.crtd" || fail "29-bit client frame"
grep -q 'serve socketcand 127.0.0.1:'"$P"' (can1): clients 0 (accepted [0-9]*), frames in 13 ' "$T/err" || fail "--stats line"
echo ok
