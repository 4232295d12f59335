#!/usr/bin/env bash
# A replayed recording with absolute times puts the simulation clock at the recording's time
# (m.time.utc as in the car); --start-time still wins; a relative trace keeps the default.
set -u
BIN=${OVMS_SIM_BIN:?}; SRC=${OVMS_SIM_SRC:?}
fails=0; passes=0
ok() { passes=$((passes+1)); }
bad() { echo "FAIL: $*"; fails=$((fails+1)); }
trace="$SRC/tests/data/vehicles/env200-charge-excerpt.crtd"   # first frame 1632426784.010194
out=$("$BIN" --vehicle nissanleaf --trace "$trace" --fast --duration 30s 2>/dev/null)
[ $? = 0 ] && ok || bad "replay exit status"
first=$(printf '%s\n' "$out" | grep '/metric/m/time/utc ' | head -1 | cut -d' ' -f2-)
case "$first" in "2021-09-23 19:53:"*" UTC") ok;; *) bad "m.time.utc '$first', want 2021-09-23 19:53:xx UTC";; esac
out=$("$BIN" --vehicle nissanleaf --trace "$trace" --fast --duration 30s \
      --start-time '2030-01-01 00:00:00' 2>/dev/null)
first=$(printf '%s\n' "$out" | grep '/metric/m/time/utc ' | head -1 | cut -d' ' -f2-)
case "$first" in "2030-01-01 00:00:"*" UTC") ok;; *) bad "--start-time ignored: '$first'";; esac
# a short trace without --duration: the module still publishes the final state (the run
# waits for the connection and a last modified update before it ends)
out=$("$BIN" --vehicle nissanleaf --trace "$trace" --fast 2>/dev/null)
printf '%s\n' "$out" | grep -q '/metric/v/c/charging yes$' && ok || bad "final v.c.charging not published"
printf '%s\n' "$out" | grep -q '/metric/v/b/soc 53$' && ok || bad "final v.b.soc not published"
echo "$passes passed, $fails failed"
[ "$fails" = 0 ]
