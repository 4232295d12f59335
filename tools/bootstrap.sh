#!/bin/sh
# Sets up a fresh Debian 12 machine and builds ovms-sim into build/ (idempotent: a second run
# only rebuilds what changed).  Options are passed to cmake, e.g. -DOVMS_SIM_SANITIZE=ON.
set -eu
cd "$(dirname "$0")/.."
missing=
for p in cmake pkg-config; do command -v $p >/dev/null 2>&1 || missing=1; done
for h in ev.h mosquitto.h yaml.h cmocka.h; do [ -f /usr/include/$h ] || missing=1; done
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || missing=1
[ -z "$missing" ] || tools/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
cmake --build build -j"$(nproc)"
