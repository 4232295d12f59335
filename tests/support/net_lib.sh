# net_lib.sh - the common set-up of the shell tests that talk to ovms-sim over loopback with
# python-can (tests/cli/net_*.sh; sourced, not run): BIN, PY, a scratch folder T removed on
# exit together with the processes in PIDS, fail (prints the message and the simulators'
# stderr files "$T"/err*, exits 1), port (a free loopback TCP port), wait_port PORT (until
# something listens, at most 5 s), and NET_PY, the folder of net_lib.py for PYTHONPATH.
# Exits 77 (skipped) when python3-can is missing.
BIN=${OVMS_SIM_BIN:?}
PY=/usr/bin/python3
T=$(mktemp -d)
PIDS=()
NET_PY=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; cat "$T"/err* 2>/dev/null; exit 1; }
"$PY" -c 'import can.interfaces.socketcand' 2>/dev/null || { echo "skipped: no python3-can"; exit 77; }
port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 100); do
    "$PY" -c "import socket; socket.create_connection(('127.0.0.1',$1)).close()" 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}
