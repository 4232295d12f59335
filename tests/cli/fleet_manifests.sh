#!/usr/bin/env bash
# The fleet's deployment files (docs/scaling.md): docker/k8s/*.yaml and
# docker/compose.fleet.yaml parse as YAML (python3-yaml); the Indexed Job's completion index
# selects --fleet-shard I/K with K = completions; the command lines the Job and the compose
# shards produce are accepted by ovms-sim (run in virtual time with the print transport in
# place of the broker), and their shards cover the fleet's ids exactly once; the shard
# arithmetic for a million cars in 100 shards gives 10,000 cars each.
set -u
BIN=${OVMS_SIM_BIN:?}
SRC=${OVMS_SIM_SRC:?}
. "$SRC/tests/support/cli_lib.sh"
python3 -c 'import yaml' 2>/dev/null || { echo "python3-yaml missing: skipped"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$SRC"

for f in docker/k8s/*.yaml docker/compose.fleet.yaml; do
  python3 -c 'import sys, yaml; list(yaml.safe_load_all(open(sys.argv[1])))' "$f"
  check "$f parses" 0 $?
done

# The Job: its args with $(SHARD) = the index, one line per index asked for; the scenario path
# of the image mapped to the repository's, and what must be given for the job to make sense
python3 - docker/k8s/fleet-job.yaml > "$tmp/job" <<'PY'
import sys, yaml
job = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d and d.get("kind") == "Job"][0]
spec = job["spec"]
assert spec["completionMode"] == "Indexed", "not an Indexed Job"
k = spec["completions"]
c = spec["template"]["spec"]["containers"][0]
env = {e["name"]: e for e in c.get("env", [])}
path = env["SHARD"]["valueFrom"]["fieldRef"]["fieldPath"]
assert path == "metadata.annotations['batch.kubernetes.io/job-completion-index']", path
args = c["args"]
assert "$(SHARD)/%d" % k in args, "the shard is not index/completions"
print(k)
for i in (0, 1, k - 1):
    a = [x.replace("$(SHARD)", str(i)).replace("/usr/share/ovms-sim/", "") for x in args]
    print("\t".join(a))
PY
check "the job is an Indexed Job whose index selects the shard" 0 $?
k=$(head -1 "$tmp/job")
n=0
tail -n +2 "$tmp/job" | while IFS=$'\t' read -r -a args; do
  "$BIN" "${args[@]}" --broker print --fast --duration 1s --quiet --report "$tmp/job$n.json" \
    >/dev/null 2>"$tmp/job$n.err"
  echo "$? $(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["cars"], r["first_id"], r["last_id"], r["shard"])' "$tmp/job$n.json" 2>/dev/null)"
  n=$((n+1))
done > "$tmp/job.out"
want="0 10000 SIM0000001 SIM0010000 0/$k
0 10000 SIM0010001 SIM0020000 1/$k
0 10000 SIM0990001 SIM1000000 $((k-1))/$k"
got=$(cat "$tmp/job.out")
[ "$got" = "$want" ]; check "the job's shards 0, 1 and K-1 ($got)" 0 $?

# compose: every sim-N service a shard N/K of the same fleet, together all of it
python3 - docker/compose.fleet.yaml > "$tmp/compose" <<'PY'
import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
sims = sorted(s for s in d["services"] if s.startswith("sim-"))
ports = d["services"]["mosquitto"]["ports"]
assert all(str(p).startswith("127.0.0.1:") for p in ports), "a port published beyond loopback"
for s in sims:
    cmd = d["services"][s]["command"]
    i = cmd.index("--fleet-shard")
    assert cmd[i + 1] == "%s/%d" % (s[4:], len(sims)), (s, cmd[i + 1])
    print("\t".join(x.replace("/usr/share/ovms-sim/", "") for x in cmd))
PY
check "compose: sim-N runs shard N/K, the broker only on 127.0.0.1" 0 $?
n=0
while IFS=$'\t' read -r -a args; do
  "$BIN" "${args[@]}" --broker print --fast --duration 1s --quiet --report "$tmp/c$n.json" \
    >/dev/null 2>&1
  check "compose shard $n runs" 0 $?
  n=$((n+1))
done < "$tmp/compose"
ids=$(python3 - "$tmp" "$n" <<'PY'
import json, sys
d, n = sys.argv[1], int(sys.argv[2])
r = [json.load(open("%s/c%d.json" % (d, i))) for i in range(n)]
print(sum(x["cars"] for x in r), r[0]["first_id"], r[-1]["last_id"],
      all(int(r[i]["last_id"][3:]) + 1 == int(r[i + 1]["first_id"][3:]) for i in range(n - 1)))
PY
)
[ "$ids" = "3000 SIM0001 SIM3000 True" ]; check "compose shards cover SIM0001..SIM3000 once ($ids)" 0 $?

# bad shards and sizes are refused before anything starts
"$BIN" --fleet 10 --fleet-shard 2/2 --fast --duration 1s >/dev/null 2>&1; check "shard I >= K" 2 $?
"$BIN" --fleet 10 --fleet-shard 1 --fast --duration 1s >/dev/null 2>&1; check "shard without /K" 2 $?
err=$("$BIN" --fleet 300000 --fast --duration 1s 2>&1 >/dev/null); check "300,000 cars in one process" 2 $?
contains "more shards" "$err" "use more shards"
"$BIN" --fleet 3 --fleet-shard 0/4 --fast --duration 1s >/dev/null 2>&1; check "an empty shard" 2 $?
finish
