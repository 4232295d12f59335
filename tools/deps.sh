#!/bin/sh
# Installs the Debian 12 packages ovms-sim needs to build, test and benchmark.
# The one list of dependencies: .ci/run, the README and docker/Dockerfile use it.
# tools/deps.sh --list prints the package names instead.
set -eu
PKGS="build-essential cmake pkg-config libev-dev libmosquitto-dev libyaml-dev libcmocka-dev
zlib1g-dev mosquitto mosquitto-clients openssl can-utils python3-can clang libclang-rt-14-dev
mosquitto-dev libsqlite3-dev libpq-dev libssl-dev sqlite3 postgresql python3-yaml"
if [ "${1:-}" = --list ]; then
  echo $PKGS
  exit 0
fi
SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $PKGS >/dev/null
