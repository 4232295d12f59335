# cli_lib.sh - helpers for the shell tests of tests/cli/ (sourced, not run): pass/fail
# counting with check (an exit code) and contains (a text in an output), and finish, which
# prints the counts and sets the exit status.
fails=0; passes=0
check() { # name, expected rc, actual rc
  if [ "$2" = "$3" ]; then passes=$((passes+1)); else echo "FAIL: $1 (exit $3, want $2)"; fails=$((fails+1)); fi
}
contains() { # name, haystack, needle
  case "$2" in *"$3"*) passes=$((passes+1));; *) echo "FAIL: $1: output lacks '$3'"; echo "$2" | head -5; fails=$((fails+1));; esac
}
finish() {
  echo "$passes passed, $fails failed"
  [ "$fails" = 0 ]
}
free_port() { # prints a TCP port free on 127.0.0.1 now
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
start_mosquitto() { # dir: starts $MOSQUITTO_BIN (anonymous, 127.0.0.1 only) on a free port; sets
  # mosq_port and mosq_pid and waits until it listens; returns 1 when mosquitto is not available
  local dir=$1
  [ -n "${MOSQUITTO_BIN:-}" ] && [ -x "$MOSQUITTO_BIN" ] || return 1
  chmod 755 "$dir" # the broker may drop to user mosquitto: it reads its files here
  mosq_port=$(free_port)
  printf 'listener %s 127.0.0.1\nallow_anonymous true\n' "$mosq_port" > "$dir/mosquitto.conf"
  "$MOSQUITTO_BIN" -c "$dir/mosquitto.conf" > "$dir/mosquitto.log" 2>&1 & mosq_pid=$!
  for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$mosq_port") 2>/dev/null && return 0; sleep 0.1; done
  return 1
}
