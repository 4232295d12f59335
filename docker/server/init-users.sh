#!/bin/sh
# ovms-init-users: the compose stack's one-shot user set-up (docker/compose.yaml "users"):
# user demo (the simulated car) with the password of docker/secrets/sim/password and user
# notifier (role notifier, for ovms-notifyd) with docker/secrets/notifyd/password, in
# sqlite:/var/lib/ovms/ovms.db.  Re-running it sets the passwords again.
set -eu
db=${OVMS_DATABASE:-sqlite:/var/lib/ovms/ovms.db}
for u in demo:/run/ovms/demo.pw notifier:/run/ovms/notifier.pw; do
  name=${u%%:*} file=${u#*:}
  ovms-users --database "$db" add "$name" < "$file" 2>/dev/null ||
    ovms-users --database "$db" passwd "$name" < "$file"
done
ovms-users --database "$db" role notifier notifier
ovms-users --database "$db" list
