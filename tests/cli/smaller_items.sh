#!/bin/bash
# smaller_items.sh - issue 13 item 7: --start-time takes fractions of a second; --record keeps
# a trace's absolute times with their microseconds.
set -u
BIN=${OVMS_SIM_BIN:?}
DATA=${OVMS_SIM_DATA:?}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# --start-time with a fraction: m.time.utc is whole seconds, the record's times carry it
"$BIN" metrics m.time.utc --start-time '2026-08-22 14:43:22.750' > "$T/m" || fail "--start-time fraction: exit $?"
grep -qE '^m.time.utc +int64 +utcdate +2026-08-22 14:43:22 UTC$' "$T/m" || { cat "$T/m"; fail "--start-time fraction: m.time.utc"; }
"$BIN" metrics m.time.utc --start-time '1787409802.5' > "$T/m2" || fail "epoch with a fraction"
cmp -s "$T/m" "$T/m2" || { cat "$T/m" "$T/m2"; fail "epoch fraction differs"; }
"$BIN" metrics m.time.utc --start-time '2026-08-22 14:43:22.x' > /dev/null 2> "$T/err"
[ $? -eq 2 ] || fail "a bad fraction is accepted"
grep -q "invalid --start-time" "$T/err" || fail "bad fraction message"
printf '1.000000 1R11 100 01\n1.250000 1R11 101 02\n' > "$T/rel.crtd"
"$BIN" --trace "$T/rel.crtd" --fast --start-time '2026-08-22 14:43:22.123456' --record "$T/rec1.crtd" -q ||
  fail "--start-time fraction with a trace: exit $?"
grep -q '^1787409802.123456 1R11 100 01$' "$T/rec1.crtd" || { head "$T/rec1.crtd"; fail "--start-time fraction: recorded time"; }
grep -q '^1787409802.373456 1R11 101 02$' "$T/rec1.crtd" || { head "$T/rec1.crtd"; fail "--start-time fraction: second frame"; }

# --record keeps the absolute times of the trace, microseconds included
ENV="$DATA/traces/env200-startup.crtd"
"$BIN" --trace "$ENV" --fast --record "$T/rec.crtd" -q || fail "record: exit $?"
grep -E '^[0-9]+\.[0-9]{6} [0-9]R(11|29) ' "$ENV" | head -20 | awk '{print $1, $2, $3}' > "$T/want"
grep -E '^[0-9]+\.[0-9]{6} [0-9]R(11|29) ' "$T/rec.crtd" | head -20 | awk '{print $1, $2, $3}' > "$T/got"
[ -s "$T/want" ] || fail "no frames in $ENV"
cmp -s "$T/want" "$T/got" || { diff "$T/want" "$T/got" | head; fail "--record changed the trace's times"; }

echo "smaller_items: ok"
