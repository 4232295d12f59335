#!/bin/bash
# tls_reason.sh - a broker whose certificate does not verify (issue 13 item 1): a --fast run
# prints the certificate check's own reason (OpenSSL's verify result, e.g. "unable to get
# local issuer certificate") and exits 3; with the right --cafile it connects and exits 0;
# without --cafile the system CAs are used (and do not know the test CA).  Certificates are
# made with openssl in a temporary directory; mosquitto listens with TLS on a free loopback
# port.
set -u
BIN=${OVMS_SIM_BIN:?}
T=$(mktemp -d)
MPID=
trap '[ -n "$MPID" ] && kill $MPID 2>/dev/null; rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
MOSQ=${MOSQUITTO_BIN:-}
[ -x "$MOSQ" ] || MOSQ=$(command -v mosquitto || echo /usr/sbin/mosquitto)
{ [ -x "$MOSQ" ] && command -v openssl > /dev/null; } || { echo "skipped: no mosquitto/openssl"; exit 77; }

cd "$T" || exit 1
for ca in ca1 ca2; do
  openssl req -x509 -newkey rsa:2048 -nodes -keyout $ca.key -out $ca.crt -days 2 \
    -subj "/CN=ovms-sim-test-$ca" 2> /dev/null || fail "openssl: $ca"
done
openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr -subj /CN=localhost \
  2> /dev/null || fail "openssl: server key"
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > san.ext
openssl x509 -req -in srv.csr -CA ca1.crt -CAkey ca1.key -CAcreateserial -out srv.crt -days 2 \
  -extfile san.ext 2> /dev/null || fail "openssl: server certificate"
chmod 755 "$T"; chmod 644 ./*.key ./*.crt # mosquitto may drop to its own user
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'listener %s 127.0.0.1\nallow_anonymous true\ncertfile %s/srv.crt\nkeyfile %s/srv.key\n' \
  "$port" "$T" "$T" > m.conf
"$MOSQ" -c m.conf > m.log 2>&1 &
MPID=$!
for i in $(seq 50); do
  openssl s_client -connect "127.0.0.1:$port" < /dev/null > /dev/null 2>&1 && break
  sleep 0.1
done

reason() { # the run's stderr holds the verification failure with a reason in parentheses
  grep -q '^ovms-sim: could not connect to the broker: TLS verification failed: certificate verify failed ([a-z].*)$' err ||
    { cat err; fail "$1: no verification reason"; }
}
# a CA that did not sign the server's certificate
"$BIN" --fast --duration 30s --broker "mqtts://localhost:$port" --cafile ca2.crt -q > out 2> err
rc=$?
[ $rc -eq 3 ] || { cat err; fail "wrong CA: exit $rc, expected 3"; }
reason "wrong CA"
grep -q 'unable to get local issuer certificate' err || { cat err; fail "wrong CA: reason"; }
# no --cafile: the system CAs, which do not know ca1
"$BIN" --fast --duration 30s --broker "mqtts://localhost:$port" -q > out 2> err
rc=$?
[ $rc -eq 3 ] || { cat err; fail "system CAs: exit $rc, expected 3"; }
reason "system CAs"
# the right CA: connected, exit 0
"$BIN" --fast --duration 30s --broker "mqtts://localhost:$port" --cafile ca1.crt -q > out 2> err
rc=$?
[ $rc -eq 0 ] || { cat err; fail "right CA: exit $rc, expected 0"; }
grep -q 'could not connect' err && { cat err; fail "right CA: not connected"; }
echo "tls_reason: ok"
