#!/bin/bash
# net_servers.sh - the network servers and the bridge from the command line: --serve gvret
# answers SavvyCAN's connect burst byte for byte; --bridge 1=2 with a filter between two
# socketcand-served buses (python-can on each side); a socketcand line past 4 KiB closes that
# client with a logged reason and the server keeps serving; an ELM327 on TCP answers ATZ/ATI;
# bad --serve / --bridge specs exit 2.  Skipped (77) without python3-can.
set -u
. "$(dirname "$0")/../support/net_lib.sh"

"$BIN" --serve socketcand:1 --serve bogus:2 2> "$T/e1"; [ $? -eq 2 ] || fail "bad --serve exit 2"
grep -q "unknown server 'bogus'" "$T/e1" || fail "bad --serve message"
"$BIN" --bridge 1=2,rate=x 2> "$T/e2"; [ $? -eq 2 ] || fail "bad --bridge exit 2"
"$BIN" --serve 3=gvret:23 2> "$T/e3"; [ $? -eq 2 ] || fail "gvret takes no N="

P1=$(port); P2=$(port); PG=$(port); PE=$(port)
"$BIN" -q --serve 1=socketcand:127.0.0.1:"$P1" --serve 2=socketcand:127.0.0.1:"$P2" \
  --serve gvret:127.0.0.1:"$PG" --serve elm327:127.0.0.1:"$PE" --bridge 1=2,7E0/7F0 --stats \
  2> "$T/err" &
SIM=$!
PIDS+=($SIM)
for p in "$P1" "$P2" "$PG" "$PE"; do wait_port "$p" || fail "port $p"; done

cat > "$T/t.py" <<PYEOF
import can, socket, sys, time
p1, p2, pg, pe = map(int, sys.argv[1:5])
from net_lib import recv_id
# GVRET: parameters unasked, then SavvyCAN's burst answered
g = socket.create_connection(("127.0.0.1", pg))
g.settimeout(2)
head = g.recv(12)
assert head == bytes([0xF1, 6, 1, 0x20, 0xA1, 7, 0, 1, 0x20, 0xA1, 7, 0]), head.hex()
g.sendall(bytes([0xE7, 0xE7, 0xF1, 0x0C, 0xF1, 0x09]))
r = b""
while len(r) < 7:
    r += g.recv(64)
assert r[:7] == bytes([0xF1, 0x0C, 2, 0xF1, 0x09, 0xDE, 0xAD]), r.hex()
# the bridge: 7E0 crosses from bus 1 to bus 2, 5BC is filtered; the GVRET client sees both
a = can.Bus(interface="socketcand", channel="can1", host="127.0.0.1", port=p1)
b = can.Bus(interface="socketcand", channel="can2", host="127.0.0.1", port=p2)
time.sleep(0.2)
a.send(can.Message(arbitration_id=0x5BC, data=[1], is_extended_id=False))
a.send(can.Message(arbitration_id=0x7E0, data=[2, 1, 0], is_extended_id=False))
m = recv_id(b, 0x7E0)
assert m is not None and list(m.data) == [2, 1, 0], m
assert recv_id(b, 0x5BC, 0.5) is None, "filtered frame crossed"
gv = b""
end = time.time() + 2
while time.time() < end and gv.count(bytes([0xF1, 0x00])) < 3:
    try:
        gv += g.recv(4096)
    except socket.timeout:
        break
assert bytes([0xBC, 0x05, 0, 0, 0x01]) in gv, gv.hex()   # 5BC on GVRET bus 0, len 1
assert bytes([0xE0, 0x07, 0, 0, 0x13]) in gv, gv.hex()   # 7E0 bridged: bus 1, len 3
# an overlong socketcand line closes that client only
s = socket.create_connection(("127.0.0.1", p1))
s.settimeout(2)
assert s.recv(64) == b"< hi >"
s.sendall(b"<" + b"x" * 5000)
closed = False
try:
    while True:
        if not s.recv(4096):
            closed = True
            break
except (socket.timeout, ConnectionResetError):
    closed = True
assert closed
a.send(can.Message(arbitration_id=0x7E1, data=[9], is_extended_id=False))
assert recv_id(b, 0x7E1) is not None, "server stopped serving"
# the ELM327 on TCP
e = socket.create_connection(("127.0.0.1", pe))
e.settimeout(2)
e.sendall(b"ATZ\r")
r = b""
while not r.endswith(b">"):
    r += e.recv(256)
assert r == b"ATZ\r\r\rELM327 v1.5\r\r>", r
a.shutdown(); b.shutdown()
print("ok")
PYEOF
PYTHONPATH="$NET_PY" timeout 60 "$PY" "$T/t.py" "$P1" "$P2" "$PG" "$PE" > "$T/out" 2> "$T/err.py" || { cat "$T/out"; fail "clients"; }
grep -qx ok "$T/out" || fail "clients did not finish"
kill -TERM "$SIM"
wait "$SIM"
grep -q "without a terminator (limit 4096); closing" "$T/err" || fail "overlong input logged"
grep -q "closed for overlong input 1" "$T/err" || fail "--stats counts the overlong close"
grep -q "bridge 1=2,7E0/7F0: forwarded 2 1>2, 0 2>1, filtered 1" "$T/err" || fail "bridge stats"
echo ok
