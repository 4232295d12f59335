#!/usr/bin/env bash
# docker_direct.sh - the shipped broker runs without Docker as docker/README.md prints it
# (issue 13 item 6).  The ```sh blocks of its section "The shipped broker without Docker" run
# as printed from a scratch copy of the repository root (symlinks; build/ is the build under
# test), with HOME a scratch folder and only the ports P and T replaced by free ones: each
# broker block (the compose broker with ovms_auth.so, then the plain password-file broker)
# runs in the background, the subscriber block and the car block against it; the car's
# metrics must reach the subscriber over TLS as user demo, and a wrong password and a
# subscription to another user's tree are refused.  Also: every `ports:` entry of the compose
# files publishes on 127.0.0.1 only (python3-yaml).
set -u
BIN=${OVMS_SIM_BIN:?}
SRC=${OVMS_SIM_SRC:?}
BUILD=${OVMS_SIM_BUILD:?}
. "$SRC/tests/support/cli_lib.sh"
for t in openssl mosquitto_passwd mosquitto_sub mosquitto_pub python3; do
  command -v "$t" >/dev/null || { echo "$t missing: skipped"; exit 77; }
done
[ -n "${MOSQUITTO_BIN:-}" ] && [ -x "$MOSQUITTO_BIN" ] || { echo "mosquitto missing: skipped"; exit 77; }
python3 -c 'import yaml' 2>/dev/null || { echo "python3-yaml missing: skipped"; exit 77; }
[ -e "$BUILD/server/auth/ovms_auth.so" ] || { echo "server/ not built: skipped"; exit 77; }
PATH=$(dirname "$MOSQUITTO_BIN"):$PATH
set -m # each background block in its own process group, stopped as a whole
tmp=$(mktemp -d); pids=
# stop: each block's process group, and wait until all of it has gone: the block's bash exits
# on the signal at once while mosquitto still writes its persistence file; removing the folder
# under it then makes the rename in persist__backup() (mosquitto src/persist_write.c, 2.0.11 to
# 2.0.20) fail, and its error path closes the file a second time (glibc: "double free")
stop() {
  for p in $pids; do
    kill -- -"$p" 2>/dev/null; wait "$p" 2>/dev/null
    for _ in $(seq 300); do kill -0 -- -"$p" 2>/dev/null || break; sleep 0.1; done
  done
  pids=
}
trap 'stop; rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
root=$tmp/root; mkdir "$root" "$tmp/home"
for f in "$SRC"/*; do [ "$(basename "$f")" = build ] || ln -s "$f" "$root/"; done
mkdir -p "$root/build/sim" # build/: the build under test
ln -s "$BUILD/server" "$root/build/server"; ln -s "$BIN" "$root/build/sim/ovms-sim"

# the compose files: every published port on 127.0.0.1
for f in "$SRC"/docker/*compose*.y*ml; do
  out=$(python3 - "$f" <<'PY'
import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
n = 0
for name, s in (d.get("services") or {}).items():
    for p in s.get("ports") or []:
        n += 1
        if not str(p).startswith("127.0.0.1:"):
            print(f"{name}: {p} is not on 127.0.0.1")
print(f"{n} ports")
PY
)
  check "$(basename "$f") parses" 0 $?
  case "$out" in "0 ports") echo "FAIL: $f publishes no port"; fails=$((fails+1));;
    *"not on"*) echo "FAIL: $f: $out"; fails=$((fails+1));; *) passes=$((passes+1));; esac
done

# the section's sh blocks, each to a file: broker<N> (runs mosquitto -c), car, sub
python3 - "$SRC/docker/README.md" "$tmp" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
sec = text.split("### The shipped broker without Docker", 1)[1].split("\n#", 1)[0]
n = 0
for b in re.findall(r"^```sh\n(.*?)^```", sec, re.S | re.M):
    if "mosquitto -c" in b: n += 1; name = f"broker{n}"
    elif "ovms-sim" in b: name = "car"
    elif "mosquitto_sub" in b: name = "sub"
    else: sys.exit(f"an unknown block: {b}")
    open(f"{sys.argv[2]}/{name}.sh", "w").write(b)
PY
check "the section's blocks extracted" 0 $?
for b in broker1 broker2 car sub; do
  [ -s "$tmp/$b.sh" ] || { echo "FAIL: docker/README.md lacks the $b block"; fails=$((fails+1)); }
done

P=$(free_port); T=$(free_port)
for f in "$tmp"/*.sh; do # only the ports change
  grep -q '^D=\$HOME/ovms-broker .*T=8883' "$f" || { echo "FAIL: $f: no D=\$HOME/ovms-broker ... T=8883"; fails=$((fails+1)); }
  sed -i -e "s/\bP=1883\b/P=$P/" -e "s/\bT=8883\b/T=$T/" "$f"
done

listening() { # port: up to 60 s, as the block makes two RSA keys and a PBKDF2 hash first
  for _ in $(seq 600); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done
  return 1
}
for broker in broker1 broker2; do
  [ -s "$tmp/$broker.sh" ] || continue
  rm -rf "$tmp/home/ovms-broker"
  (cd "$root" && HOME=$tmp/home exec bash -e "$tmp/$broker.sh") > "$tmp/$broker.log" 2>&1 &
  pids="$pids $!"
  listening "$P" && listening "$T"
  check "$broker: mosquitto listens on $P and $T" 0 $?
  if ! kill -0 $pids 2>/dev/null; then echo "$broker exited:"; tail -5 "$tmp/$broker.log"; stop; continue; fi
  (cd "$root" && HOME=$tmp/home exec bash -e "$tmp/sub.sh") > "$tmp/sub.out" 2>&1 &
  pids="$pids $!"
  sleep 0.5
  (cd "$root" && HOME=$tmp/home exec bash -e "$tmp/car.sh") > "$tmp/car.out" 2>&1 &
  pids="$pids $!"
  for _ in $(seq 600); do grep -q '^ovms/demo/DEMO/metric/v/b/soc ' "$tmp/sub.out" && break; sleep 0.1; done
  contains "$broker: the car's SOC reached the subscriber over TLS" "$(cat "$tmp/sub.out")" \
    "ovms/demo/DEMO/metric/v/b/soc 20"
  grep -q 'error:' "$tmp/car.out" && { echo "FAIL: $broker: the car printed an error:"; head -3 "$tmp/car.out"; fails=$((fails+1)); }
  pw=$(cat "$tmp/home/ovms-broker/sim/password")
  mosquitto_pub -h 127.0.0.1 -p "$P" -u demo -P "wrong-$pw" -t ovms/demo/x -m 1 > "$tmp/pub.out" 2>&1
  rc=$?; [ "$rc" != 0 ]; check "$broker: a wrong password is refused (exit $rc)" 0 $?
  contains "$broker: refused as not authorised" "$(cat "$tmp/pub.out")" "not authorised"
  mosquitto_pub -h 127.0.0.1 -p "$P" -t ovms/demo/x -m 1 > "$tmp/pub.out" 2>&1
  rc=$?; [ "$rc" != 0 ]; check "$broker: anonymous is refused (exit $rc)" 0 $?
  # demo publishes to another user's tree and to its own; a subscriber on both sees its own only
  # (both again every half second until the subscriber has its first message)
  timeout 30 mosquitto_sub -h 127.0.0.1 -p "$P" -u demo -P "$pw" -v -t ovms/bob/x -t ovms/demo/y \
    -C 1 > "$tmp/iso.out" 2>&1 &
  iso=$!
  while kill -0 "$iso" 2>/dev/null; do
    mosquitto_pub -h 127.0.0.1 -p "$P" -u demo -P "$pw" -t ovms/bob/x -m other -q 1
    mosquitto_pub -h 127.0.0.1 -p "$P" -u demo -P "$pw" -t ovms/demo/y -m own -q 1
    sleep 0.5
  done
  wait "$iso"
  [ "$(cat "$tmp/iso.out")" = "ovms/demo/y own" ]
  check "$broker: another user's tree is refused ($(tr '\n' ' ' < "$tmp/iso.out"))" 0 $?
  stop
done
if grep -q ovms_auth "$tmp/broker1.log"; then passes=$((passes+1))
else echo "FAIL: broker1 did not load ovms_auth.so"; tail -5 "$tmp/broker1.log"; fails=$((fails+1)); fi
finish
