#!/usr/bin/env bash
# Bad input never passes in silence: a CRTD or Roadster text trace cut off in its last line is
# reported with file:line:col and counted (exit 2; with --keep-going counted as a bad line,
# exit 0), in convert and in a replay; so are a gzip trace cut short (as a truncated gzip
# stream), an ASC "d 9" frame with 9 bytes and a garbage line among CANdo CSV rows; an invalid timezone: in a scenario is an error with its
# position; YAML nested deeper than the loaders' limit (64) is refused at once, for scenarios
# and config files; a notify: step whose subtype or text a broker could never take (too long,
# not UTF-8) is an error at its position.  (The time limit below only guards against a hang;
# it is no benchmark.)
set -u
BIN=${OVMS_SIM_BIN:?}
SRC=${OVMS_SIM_SRC:?}
. "$SRC/tests/support/cli_lib.sh"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$SRC"
T=tests/data/traces

# a CRTD trace whose last frame line lost its last bytes (and its line end)
head -c -10 $T/env200-startup.crtd >"$tmp/cut.crtd"
lines=$(wc -l <"$tmp/cut.crtd")
err=$("$BIN" convert "$tmp/cut.crtd" "$tmp/out.log" 2>&1); check "crtd cut: convert" 2 $?
contains "crtd cut: message" "$err" "$tmp/cut.crtd:$((lines + 1)):39: error: the last line has no line end: the trace is truncated"
err=$("$BIN" convert --keep-going "$tmp/cut.crtd" "$tmp/out.log" 2>&1); check "crtd cut: --keep-going" 0 $?
contains "crtd cut: counted" "$err" "1 bad lines"
err=$("$BIN" --vehicle nissanleaf --trace "$tmp/cut.crtd" --fast --quiet 2>&1); check "crtd cut: replay" 2 $?
contains "crtd cut: replay message" "$err" "the trace is truncated"
# the whole file is fine
"$BIN" convert $T/env200-startup.crtd "$tmp/out.log" 2>/dev/null; check "crtd whole" 0 $?

# a Roadster text trace cut inside its last line
head -c -25 $T/roadster-slidestop.txt >"$tmp/cut.txt"
err=$("$BIN" convert --from roadster-txt "$tmp/cut.txt" "$tmp/out.log" 2>&1); check "roadster cut" 2 $?
contains "roadster cut: message" "$err" "cut.txt:9:"
contains "roadster cut: truncated" "$err" "the trace is truncated (the line is not used)"

# a gzip trace cut short: a truncated compressed file, not a syntax error of its last line
err=$("$BIN" convert $T/bad-truncated.log.gz "$tmp/out.log" 2>&1); check "gz cut: convert" 2 $?
contains "gz cut: message" "$err" "$T/bad-truncated.log.gz: error: truncated gzip stream: the compressed file ends early (3 complete lines read)"
case "$err" in *"no line end"*) echo "FAIL: gz cut: reported as a cut line"; fails=$((fails+1));; esac
err=$("$BIN" convert --keep-going $T/bad-truncated.log.gz "$tmp/out.log" 2>&1)
check "gz cut: --keep-going" 0 $?
contains "gz cut: counted" "$err" "converted 3 records (3 frames), 0 dropped, 1 bad lines"
err=$("$BIN" convert --to crtd $T/bad-truncated.log.gz "$tmp/out.crtd" 2>&1)
check "gz cut: convert to crtd" 2 $?
contains "gz cut: crtd message" "$err" "truncated gzip stream"
# cut in the trailer only: every line is there, the stream is still incomplete
gzip -c $T/synthetic-candump.log | head -c -4 >"$tmp/trailer.log.gz"
err=$("$BIN" --trace "$tmp/trailer.log.gz" --fast --quiet 2>&1); check "gz trailer cut: replay" 2 $?
contains "gz trailer cut: message" "$err" "trailer.log.gz: error: truncated gzip stream: the compressed file ends early (9 complete lines read)"
gzip -c $T/synthetic-candump.log >"$tmp/whole.log.gz"
"$BIN" convert "$tmp/whole.log.gz" "$tmp/out.log" 2>/dev/null; check "gz whole" 0 $?

# ASC: "d 9" is 8 bytes in classic CAN; a 9th byte is an error, never cut off silently
err=$("$BIN" convert $T/bad-dlc9.asc "$tmp/out.log" 2>&1); check "asc d 9: convert" 2 $?
contains "asc d 9: message" "$err" "$T/bad-dlc9.asc:6:65: error: ASC: more data bytes than DLC 9 gives (8)"
err=$("$BIN" convert --keep-going $T/bad-dlc9.asc "$tmp/out.log" 2>&1); check "asc d 9: --keep-going" 0 $?
contains "asc d 9: counted" "$err" "converted 2 records (2 frames), 0 dropped, 1 bad lines"
grep -q '^([0-9.]*) can1 381#0102030405060708$' "$tmp/out.log"; check "asc d 9 with 8 bytes kept" 0 $?

# CANdo CSV: a garbage line among the rows is an error (the key section after them is text)
err=$("$BIN" convert $T/bad-garbage.cando.csv "$tmp/out.log" 2>&1); check "cando garbage: convert" 2 $?
contains "cando garbage: message" "$err" "$T/bad-garbage.cando.csv:9:1: error: CANdo CSV: expected RD11/RR11/TD11/TR11/RD29... rows"
err=$("$BIN" convert --keep-going $T/bad-garbage.cando.csv "$tmp/out.log" 2>&1)
check "cando garbage: --keep-going" 0 $?
contains "cando garbage: counted" "$err" "converted 3 records (3 frames), 0 dropped, 1 bad lines"
err=$("$BIN" --trace $T/bad-garbage.cando.csv --fast --quiet 2>&1); check "cando garbage: replay" 2 $?
"$BIN" convert $T/roadster-charge-done.cando.csv "$tmp/out.log" 2>/dev/null; check "cando whole" 0 $?

# an invalid timezone: in a scenario
cat >"$tmp/tz.yaml" <<'YAML'
name: bad timezone
vehicle:
  timezone: "CET-1CEST,M3.5.0,M13.5.0/3"
timeline:
  - park: 1min
YAML
err=$("$BIN" validate "$tmp/tz.yaml" 2>&1); check "timezone" 2 $?
contains "timezone position" "$err" "tz.yaml:3:13: error: invalid timezone 'CET-1CEST,M3.5.0,M13.5.0/3' at character 19: expected a month 1-12"
sed -i 's|"CET-1CEST,M3.5.0,M13.5.0/3"|Europe/Berlin|' "$tmp/tz.yaml"
err=$("$BIN" --scenario "$tmp/tz.yaml" --fast 2>&1); check "timezone name in a run" 2 $?
contains "timezone name" "$err" "invalid timezone 'Europe/Berlin' at character 7"

# deeply nested YAML
python3 -c "print('name: x\ntimeline: ' + '['*100000 + ']'*100000)" >"$tmp/deep.yaml"
err=$(timeout 60 "$BIN" validate "$tmp/deep.yaml" 2>&1); check "deep scenario" 2 $?
contains "deep scenario message" "$err" "deep.yaml:2:74: error: nested deeper than 64 levels"
{ echo "name: x"; echo "timeline:"; for i in $(seq 70); do printf '%*s- \n' $((i * 2)) ''; done; } >"$tmp/deep-block.yaml"
err=$(timeout 60 "$BIN" validate "$tmp/deep-block.yaml" 2>&1); check "deep block scenario" 2 $?
contains "deep block message" "$err" "error: nested deeper than 64 levels"
python3 -c "print('server:\n  x: ' + '{a: '*100000 + '}'*100000)" >"$tmp/deep-config.yaml"
err=$(timeout 60 "$BIN" --config "$tmp/deep-config.yaml" --fast --duration 1s 2>&1)
check "deep config" 2 $?
contains "deep config message" "$err" "deep-config.yaml:2:"
contains "deep config limit" "$err" "nested deeper than 64 levels: not a config file"

# notifications a broker could never take are refused where the scenario says them
python3 -c "print('name: x\ntimeline:\n  - notify: {subtype: ' + 'a' * 70000 + ', text: hi}')" >"$tmp/long-subtype.yaml"
err=$("$BIN" validate "$tmp/long-subtype.yaml" 2>&1); check "long subtype" 2 $?
contains "long subtype message" "$err" "long-subtype.yaml:3:13: error: this notification cannot be raised: the subtype is 70000 bytes long (at most 128)"
err=$("$BIN" --scenario "$tmp/long-subtype.yaml" --fast 2>&1); check "long subtype in a run" 2 $?
python3 -c "print('name: x\ntimeline:\n  - notify: \\'' + 'x' * 1048577 + '\\'')" >"$tmp/long-text.yaml"
err=$("$BIN" validate "$tmp/long-text.yaml" 2>&1); check "long text" 2 $?
contains "long text message" "$err" "long-text.yaml:3:13: error: this notification cannot be raised: the text is 1048577 bytes long (at most 1048576)"
printf 'name: x\ntimeline:\n  - notify: {subtype: usr.ok, text: "\\xff"}\n' >"$tmp/ok-text.yaml"
"$BIN" validate "$tmp/ok-text.yaml" >/dev/null 2>&1; check "escaped text is UTF-8" 0 $?

finish
