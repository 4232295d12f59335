#!/usr/bin/env bash
# The state directory from the command line (docs/v3.md "State directory"): a torn last record
# is dropped with a warning naming its offset and the run goes on (exit 0); damage inside the
# journal stops the start (exit 2) naming the offset and --state-repair, and --state-repair
# keeps the valid records, quarantines the damaged bytes and says how many were kept and
# dropped; a journal of the earlier line format is migrated; a journal that is a FIFO or a
# symlink to a device is refused (exit 2); a second simulator on the same directory is
# refused (exit 3) naming the first one's pid.
set -u
BIN=${OVMS_SIM_BIN:?}
SRC=${OVMS_SIM_SRC:?}
. "$SRC/tests/support/cli_lib.sh"
tmp=$(mktemp -d); bg=
trap '[ -n "$bg" ] && kill "$bg" 2>/dev/null; rm -rf "$tmp"' EXIT
cd "$SRC"
run() { "$BIN" --scenario scenarios/charging.yaml --fast --quiet "$@"; }
J=$tmp/s/notify.journal

run --state-dir "$tmp/s" >/dev/null 2>&1; check "first run" 0 $?
# a torn last record: dropped with a warning naming the offset
size=$(stat -c %s "$J")
printf '0000002a 1234abcd N info 99 0 ovmsv3 x' >>"$J"
err=$(run --state-dir "$tmp/s" 2>&1 >/dev/null); check "torn tail" 0 $?
contains "torn tail warning" "$err" "$J: warning: offset $size: dropped the damaged last record"

# NULs at the end (an append after a power loss)
size=$(stat -c %s "$J")
head -c 4096 /dev/zero >>"$J"
err=$(run --state-dir "$tmp/s" 2>&1 >/dev/null); check "zeros at the tail" 0 $?
contains "zeros warning" "$err" "offset $size: dropped the damaged last record (4096 bytes: zero bytes"

# a flipped byte in the second record: refused, nothing changed; repaired with --state-repair
off=$(head -n 2 "$J" | wc -c)
printf 'X' | dd of="$J" bs=1 seek=$((off + 30)) conv=notrunc 2>/dev/null
cp "$J" "$tmp/damaged"
err=$(run --state-dir "$tmp/s" 2>&1 >/dev/null); check "damage inside" 2 $?
contains "damage inside offset" "$err" "$J: error: offset $off: a damaged record (bad length, line end or CRC)"
contains "damage inside hint" "$err" "Start with --state-repair"
cmp -s "$J" "$tmp/damaged"; check "refused start changes nothing" 0 $?
err=$(run --state-dir "$tmp/s" --state-repair 2>&1 >/dev/null); check "repair" 0 $?
contains "repair report" "$err" "warning: repaired: kept "
contains "repair counts" "$err" "records, dropped 1 damaged"
contains "quarantine" "$(cat "$J.quarantine")" "offset $off,"
err=$(run --state-dir "$tmp/s" 2>&1 >/dev/null); check "after repair" 0 $?
case "$err" in *notify.journal*) echo "FAIL: after repair: $err"; fails=$((fails+1));; *) passes=$((passes+1));; esac

# the line format of earlier releases, with CRLF, a BOM and blank lines
mkdir -p "$tmp/v1"
printf '\xef\xbb\xbfI info 3\r\n\r\nN info 3 1717228800000000000 ovmsv3 x.y 6869\r\n' >"$tmp/v1/notify.journal"
err=$(run --state-dir "$tmp/v1" 2>&1 >/dev/null); check "migration" 0 $?
contains "migration warning" "$err" "migrated 2 records from journal format 1"
head -n 1 "$tmp/v1/notify.journal" | grep -qx 'ovms-sim notify journal 2'; check "migrated header" 0 $?

# a FIFO, a symlink to a device: refused, without blocking
mkdir -p "$tmp/f"; mkfifo "$tmp/f/notify.journal"
err=$(timeout 20 "$BIN" --scenario scenarios/charging.yaml --fast --quiet --state-dir "$tmp/f" 2>&1 >/dev/null)
check "fifo" 2 $?
contains "fifo message" "$err" "notify.journal: error: not a regular file"
mkdir -p "$tmp/d"; ln -s /dev/zero "$tmp/d/notify.journal"
err=$(run --state-dir "$tmp/d" 2>&1 >/dev/null); check "symlink to a device" 2 $?

err=$("$BIN" --scenario scenarios/charging.yaml --fast --state-repair 2>&1); check "repair without dir" 2 $?
contains "repair without dir message" "$err" "--state-repair needs a --state-dir"

# a second simulator on the same directory
"$BIN" --scenario scenarios/charging.yaml --quiet --state-dir "$tmp/s" >/dev/null 2>&1 &
bg=$!
for _ in $(seq 100); do
  [ "$(cat "$tmp/s/lock" 2>/dev/null)" = "$bg" ] && break
  sleep 0.1
done
err=$(run --state-dir "$tmp/s" 2>&1 >/dev/null); check "second simulator" 3 $?
contains "second simulator message" "$err" "$tmp/s: error: the state directory is in use by another process (pid $bg)"
kill "$bg"; wait "$bg" 2>/dev/null; bg=
run --state-dir "$tmp/s" >/dev/null 2>&1; check "after the first one ended" 0 $?

finish
