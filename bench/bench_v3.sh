#!/bin/bash
# bench_v3.sh [N] - Server V3 full sync next to `mosquitto_pub -l` (issue 3, "Performance").
#
# Publishes N messages (default 20000) to a local mosquitto twice and prints messages per
# second end to end (first to last message at a subscriber) and publisher CPU per message:
#   1. mosquitto_pub -l: N lines on stdin, one QoS 0 message each (the same payloads the
#      simulator sends: the decimal values of its benchmark metrics);
#   2. bench_v3: a simulated module's full sync of N metrics (one PUBLISH per metric).
# Needs mosquitto, mosquitto_pub, mosquitto_sub, python3.  BENCH_V3 = path of bench_v3
# (default build/bench/bench_v3).  Numbers only; nothing is asserted.
set -euo pipefail
n=${1:-20000}
bench=${BENCH_V3:-build/bench/bench_v3}
mosq=${MOSQUITTO_BIN:-/usr/sbin/mosquitto}
dir=$(mktemp -d /tmp/ovms-sim-bench-XXXXXX)
trap 'kill $bpid 2>/dev/null || true; rm -rf "$dir"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
{ [ "$(id -u)" = 0 ] && echo "user root"; echo "listener $port 127.0.0.1"; echo "allow_anonymous true"; \
  echo "max_queued_messages 0"; } > "$dir/m.conf"
"$mosq" -c "$dir/m.conf" 2>/dev/null & bpid=$!
sleep 0.3
python3 -c "import sys; [print('%g' % (i*0.5)) for i in range($n)]" > "$dir/lines"
mosquitto_sub -p "$port" -h 127.0.0.1 -t 'pub/#' -C "$n" -F '%U' > "$dir/stamps" &
spid=$!
sleep 0.3
/usr/bin/time -f '%U %S' -o "$dir/cpu" mosquitto_pub -p "$port" -h 127.0.0.1 -t pub/x -l < "$dir/lines"
wait $spid
python3 - "$dir/stamps" "$dir/cpu" "$n" <<'PY'
import sys
st = [float(l) for l in open(sys.argv[1]) if l.strip()]
u, s = (float(x) for x in open(sys.argv[2]).read().split()[:2])
n = int(sys.argv[3])
span = st[-1] - st[0] if len(st) > 1 else float('nan')
print("mosquitto_pub -l: %d messages" % len(st))
print("  first to last message %.3f s: %.0f messages/s end to end" % (span, len(st) / span))
print("  publisher CPU %.3f s, %.3f us per message (process, incl. start-up)" % (u + s, (u + s) * 1e6 / n))
PY
kill $bpid; wait $bpid 2>/dev/null || true
"$bench" "$n"
