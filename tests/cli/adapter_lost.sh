#!/bin/bash
# adapter_lost.sh - an slcan adapter that cannot be opened or configured, or that goes away
# mid-run, ends the run with an error on stderr and exit 3 (README "Exit codes"), not only a
# CER line in the record file.  The adapter is a pseudo-terminal driven by python3.
set -u
BIN=${OVMS_SIM_BIN:?}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# not a tty: exit 3 and why
timeout 20 "$BIN" --can 1=slcan:/dev/null --fast --duration 5s > /dev/null 2> "$T/err"
rc=$?
[ $rc -eq 3 ] || { cat "$T/err"; fail "/dev/null: exit $rc, expected 3"; }
grep -q 'slcan:/dev/null: not a serial device' "$T/err" || { cat "$T/err"; fail "/dev/null message"; }
# missing: exit 3
timeout 20 "$BIN" --can 1=slcan:$T/nonexistent --fast --duration 5s > /dev/null 2> "$T/err"
rc=$?
[ $rc -eq 3 ] || { cat "$T/err"; fail "missing tty: exit $rc, expected 3"; }
grep -q 'No such file or directory' "$T/err" || { cat "$T/err"; fail "missing tty message"; }

# MODE: "unplug" (acknowledge, send a frame, close the pty) or "refuse" (BEL to S)
adapter() {
  python3 - "$BIN" "$1" "$T/rec.crtd" <<'PY'
import os, pty, subprocess, sys, time, select
binary, mode, rec = sys.argv[1:4]
m, s = pty.openpty()
name = os.ttyname(s)
p = subprocess.Popen([binary, "--can", "1=slcan:%s@500000" % name, "--duration", "60s",
                      "--record", rec, "-q"],
                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
got = b""
deadline = time.time() + 20
while b"O\r" not in got and time.time() < deadline:
    r, _, _ = select.select([m], [], [], 0.5)
    if r:
        got += os.read(m, 100)
assert got == b"C\rS6\rZ0\rO\r", got
os.close(s)  # the simulator holds the tty now
if mode == "refuse":
    os.write(m, b"\a\a")
    err = p.communicate(timeout=20)[1]
else:
    os.write(m, b"\r\r\r\rt1DB20102\r")
    time.sleep(1)
    os.close(m)
    err = p.communicate(timeout=20)[1]
sys.stderr.write(err.decode())
sys.exit(p.returncode)
PY
}
adapter unplug 2> "$T/err"
rc=$?
[ $rc -eq 3 ] || { cat "$T/err"; fail "unplugged: exit $rc, expected 3"; }
grep -q '^ovms-sim: bus 1 (slcan:.*): slcan adapter went away (unplugged?)' "$T/err" ||
  { cat "$T/err"; fail "unplugged message"; }
grep -q '1DB' "$T/rec.crtd" || fail "the frame before the loss is not recorded"
adapter refuse 2> "$T/err"
rc=$?
[ $rc -eq 3 ] || { cat "$T/err"; fail "refused: exit $rc, expected 3"; }
grep -q 'slcan adapter refused the bitrate (S command)' "$T/err" || { cat "$T/err"; fail "refused message"; }
echo "adapter_lost: ok"
