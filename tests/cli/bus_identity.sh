#!/bin/bash
# bus_identity.sh - buses keep their identity through conversions: bus N is written to candump
# as can<N-1> and can<K> reads back as bus K+1 whatever order the interfaces first appear in,
# so CRTD -> candump -> decode gives the same metrics as decoding the CRTD (docs/traces.md,
# "Buses").  Names that are not can<digit>, vcan<digit> or slcan<digit> take the lowest bus
# number not yet taken.
set -u
BIN=${OVMS_SIM_BIN:?}
DATA=${OVMS_SIM_DATA:?}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
IN="$DATA/traces/env200-startup.crtd"   # every frame on bus 2 (the EV-CAN of this module)

"$BIN" convert "$IN" "$T/s.log" 2> "$T/err" || { cat "$T/err"; fail "convert to candump"; }
head -1 "$T/s.log" | grep -q ') can1 174#' || fail "bus 2 written as can1: $(head -1 "$T/s.log")"
"$BIN" convert "$T/s.log" "$T/back.crtd" 2> "$T/err" || { cat "$T/err"; fail "back to CRTD"; }
grep -q ' 2R11 174 ' "$T/back.crtd" || fail "can1 read back as bus 2"

# the same metrics from the CRTD and from its candump conversion
"$BIN" --vehicle nissanleaf --trace "$IN" --fast > "$T/a" 2> "$T/err" || { cat "$T/err"; fail "decode CRTD"; }
"$BIN" --vehicle nissanleaf --trace "$T/s.log" --fast > "$T/b" 2> "$T/err" || { cat "$T/err"; fail "decode candump"; }
[ -s "$T/a" ] || fail "nothing decoded"
cmp -s "$T/a" "$T/b" || { diff "$T/a" "$T/b" | head; fail "CRTD and candump decode differently"; }

# interface numbers, not order of appearance; other names take the lowest free bus
printf '(1.000000) can3 100#01\n(1.100000) vcan0 101#02\n(1.200000) slcan1 102#03\n(1.300000) foo 103#04\n(1.400000) bar 104#05\n' > "$T/m.log"
"$BIN" convert "$T/m.log" "$T/m.crtd" 2> "$T/err" || { cat "$T/err"; fail "mixed names"; }
for want in '4R11 100' '1R11 101' '2R11 102' '3R11 103' '5R11 104'; do
  grep -q " $want " "$T/m.crtd" || { cat "$T/m.crtd"; fail "expected '$want'"; }
done
echo "bus_identity: ok"
