#!/bin/sh
# gen-secrets.sh DIR [USER] [PASSWORD] - creates what docker/compose.yaml mounts:
#   DIR/config/passwd          mosquitto password file with USER (default demo)
#   DIR/certs/ca.crt, ca.key   a test CA (valid 30 days)
#   DIR/certs/server.crt/.key  the broker's certificate for "localhost" and "mosquitto"
#   DIR/sim/password           the password for ovms-sim --password-file
#   DIR/notifyd/password       a random password for user notifier (ovms-notifyd)
# PASSWORD defaults to $OVMS_SIM_PASSWORD, else a random one.  Needs openssl and
# mosquitto_passwd.  For tests and local use only: a real server uses real certificates.
set -eu
dir=${1:?usage: gen-secrets.sh DIR [USER] [PASSWORD]}
user=${2:-demo}
pass=${3:-${OVMS_SIM_PASSWORD:-$(openssl rand -hex 12)}}
mkdir -p "$dir/config" "$dir/certs" "$dir/sim" "$dir/data" "$dir/notifyd"
umask 077
printf '%s\n' "$pass" > "$dir/sim/password"
openssl rand -hex 16 > "$dir/notifyd/password"
: > "$dir/config/passwd"
mosquitto_passwd -b "$dir/config/passwd" "$user" "$pass"
cd "$dir/certs"
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 30 \
  -subj /CN=ovms-sim-test-ca 2>/dev/null
printf 'subjectAltName=DNS:localhost,DNS:mosquitto,IP:127.0.0.1\n' > san.ext
openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=mosquitto \
  2>/dev/null
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt \
  -days 30 -extfile san.ext 2>/dev/null
rm -f server.csr san.ext
chmod 644 ca.crt server.crt
chmod 644 server.key ../config/passwd   # read by the mosquitto user inside the container
chmod 644 ../sim/password ../notifyd/password   # read by the containers' users
echo "secrets for user '$user' in $dir"
