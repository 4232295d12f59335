#!/usr/bin/env bash
# examples.sh - every example runs as printed (issue 13 item 6): each command line of a ```sh
# block in README.md and docs/*.md that starts with ovms-sim (or build/sim/ovms-sim, also after
# `&&` or VAR=value assignments) runs from the repository root with the built binary and must
# exit 0 without printing `error:`.  Adapted only where a run would be real time (--fast added,
# in place of --speed) or needs a live counterpart: a broker is a mosquitto started here on a
# free loopback port (and a subscriber must see a publication), --password-file ~/.ovms-pass a
# file made here.  Examples that need hardware or a second live party are skipped by the list
# in skip_reason, with the reason printed; their input files must still exist.  A ```sh line
# that names ovms-sim but is no such command line, and a ``` block without a language (sh,
# text, yaml, json, c), fail the test: no example goes unrun unnoticed.  Outputs land in a
# scratch copy of the root (symlinks), not in the source tree.
set -u
BIN=${OVMS_SIM_BIN:?}
SRC=${OVMS_SIM_SRC:?}
. "$SRC/tests/support/cli_lib.sh"
tmp=$(mktemp -d); mosq_pid=; sub_pid=
trap 'kill $mosq_pid $sub_pid 2>/dev/null; rm -rf "$tmp"' EXIT
root=$tmp/root; mkdir "$root"
for f in "$SRC"/*; do ln -s "$f" "$root/"; done
printf 'example-pw\n' > "$tmp/pass"; chmod 600 "$tmp/pass"
broker=
if start_mosquitto "$tmp"; then broker=mqtt://alice@127.0.0.1:$mosq_port
else echo "mosquitto not available: the --broker examples are skipped"; fi

# The skip list: a command line matching one of these needs what a test cannot start.
skip_reason() {
  case "$1" in
    # a USB-CAN adapter at /dev/ttyACM0 (opening a missing adapter: cli.adapter_lost)
    *slcan:*) echo "needs an slcan adapter (/dev/ttyACM0)";;
    # hil.md's pair over socketcand: both sides run until interrupted, in real time
    # (socketcand serving and polling: cli.net_servers)
    *socketcand*) echo "a two-process pair that runs until interrupted (see cli.net_servers)";;
    # SocketCAN interfaces can0/can1 wired to a car or a module
    *socketcan:*) echo "needs SocketCAN interfaces can0/can1 on a car or module bus";;
    # the app end waits for a live module MYCAR behind a TLS broker (run with a second
    # simulator as MYCAR in cli.app_steps)
    *--app-only*) echo "needs a live module MYCAR behind a TLS broker (see cli.app_steps)";;
    # docs/v3.md's TLS line names the user's own broker and CA (a TLS broker from the
    # shipped configuration: cli.docker_direct)
    *broker.example*) echo "needs the user's TLS broker broker.example and its CA ca.crt (see cli.docker_direct)";;
    *--broker*) [ -n "$broker" ] || echo "mosquitto not available";;
  esac
}

# What an example's output must show where its README comment promises it: the e-NV200 replay
# prints the speed (0x284, decoded with --vehicle-anybus) and the gear (0x421).
expect_out() {
  case "$1" in
    *env200-startup-excerpt.crtd*) echo "/metric/v/p/speed /metric/v/e/gear";;
  esac
}

# file:line <TAB> command, continuation lines joined, trailing comments dropped; an
# unlabelled block or an ovms-sim line that is no command line as file:line <TAB> UNRUN text
extract() {
  python3 - "$SRC" <<'PY'
import glob, os, re, sys
src = sys.argv[1]
files = ["README.md"] + sorted(os.path.relpath(p, src) for p in glob.glob(os.path.join(src, "docs", "*.md")))
for f in files:
    text = open(os.path.join(src, f)).read()
    for m in re.finditer(r"^```([^\n]*)\n(.*?)^```", text, re.S | re.M):
        if m.group(1) not in ("sh", "text", "yaml", "json", "c"):
            where = text[:m.start()].count("\n") + 1
            print(f"{f}:{where}\tUNRUN a block labelled '{m.group(1)}': label it sh, text, yaml, json or c")
            continue
        if m.group(1) != "sh":
            continue
        first = text[:m.start()].count("\n") + 2
        lines = m.group(2).split("\n")
        i = 0
        while i < len(lines):
            start, cmd = first + i, lines[i]
            while cmd.endswith("\\") and i + 1 < len(lines):
                i += 1
                cmd = cmd[:-1] + " " + lines[i].strip()
            i += 1
            cmd = re.sub(r"\s+#\s.*$", "", cmd).strip()
            hit = re.search(r"(?:^|&&\s*)((?:[A-Z_][A-Z0-9_]*=\S*\s+)*(?:build/sim/)?ovms-sim\b.*)$", cmd)
            if hit:
                print(f"{f}:{start}\t{hit.group(1)}")
            elif re.search(r"\bovms-sim\b", cmd):
                print(f"{f}:{start}\tUNRUN an ovms-sim line that is no command line: {cmd}")
PY
}

n_run=0; n_skip=0
while IFS=$'\t' read -r where cmd; do
  case "$cmd" in UNRUN*) echo "FAIL: $where: ${cmd#UNRUN }"; fails=$((fails+1)); continue;; esac
  reason=$(skip_reason "$cmd")
  # the files an example reads exist in the repository, skipped or not
  for arg in $(echo "$cmd" | grep -oE -- '--(trace|trace-respond|scenario) [^ ]+' | cut -d' ' -f2); do
    [ -e "$SRC/${arg#*=}" ] || { echo "FAIL: $where: ${arg#*=} is not in the repository"; fails=$((fails+1)); }
  done
  if [ -n "$reason" ]; then echo "SKIP $where: $reason"; n_skip=$((n_skip+1)); continue; fi
  run=$(echo "$cmd" | sed -E 's#(^|[[:space:]])(build/sim/)?ovms-sim\b#\1"$BIN"#')
  run=${run%; echo \$?}                     # the exit code is what this test checks
  # virtual time: --speed N (which excludes --fast) becomes --fast, a real-time run gets it
  run=$(echo "$run" | sed -E 's/--speed [^ ]+/--fast/')
  case "$run" in *--fast*) ;; *--scenario*|*"--trace "*) run="$run --fast";; esac
  run=${run//\~\/.ovms-pass/$tmp/pass}
  if [ -n "$broker" ]; then run=$(echo "$run" | sed -E "s#mqtts?://alice@[^ ]+#$broker#"); fi
  case "$run" in *--broker*)
    : > "$tmp/sub.out"
    timeout 30 mosquitto_sub -h 127.0.0.1 -p "$mosq_port" -v -t 'ovms/#' -C 1 > "$tmp/sub.out" 2>&1 &
    sub_pid=$!; sleep 0.3;;
  esac
  (cd "$root" && BIN=$BIN timeout 30 bash -c "$run") > "$tmp/out" 2> "$tmp/err"
  rc=$?
  echo "RUN  $where: $run -> exit $rc"; n_run=$((n_run+1))
  check "$where: $cmd" 0 "$rc"
  if grep -q 'error:' "$tmp/err" "$tmp/out"; then
    echo "FAIL: $where: printed error:"; grep 'error:' "$tmp/err" "$tmp/out" | head -3; fails=$((fails+1))
  fi
  [ "$rc" = 0 ] || head -5 "$tmp/err"
  for want in $(expect_out "$cmd"); do
    contains "$where: output shows $want" "$(cat "$tmp/out")" "$want"
  done
  if [ -n "$sub_pid" ]; then
    wait "$sub_pid"; sub_pid=
    contains "$where: a publication reached the broker" "$(cat "$tmp/sub.out")" "ovms/alice/"
  fi
done < <(extract)
echo "$n_run examples run, $n_skip skipped"
[ "$n_run" -ge 10 ] || { echo "FAIL: only $n_run examples found"; fails=$((fails+1)); }
finish
