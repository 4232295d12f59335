#!/bin/bash
# compare-behaviour.sh - runs the same commands with two ovms-sim binaries and diffs what they
# print: the behaviour check of a change that must not change behaviour (issue 8: "the same
# commands give byte-identical output"; docs/architecture.md "Checking that behaviour did not
# change").
#
# Usage: tools/compare-behaviour.sh OLD_BIN NEW_BIN [OUTDIR]
#
# The commands, run from the repository's top folder so that every path in a message is the
# same for both:
#   - every scenarios/*.yaml with --fast;
#   - convert of every trace under tests/data/ (traces/, vehicles/, hil/) to every format the
#     OLD binary lists with `convert --list-formats`, once stopping at the first bad line and
#     once with --keep-going.
# For each command the standard output, the standard error and the exit status of the two
# binaries are compared; OUTDIR (default a new temporary folder) keeps them as
# OUTDIR/{old,new}/<case>.{out,err,rc}.  Prints one line per case that differs, then a count.
# Exit status: 0 all identical, 1 some differ, 2 bad invocation.
set -u

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
  echo "usage: $0 OLD_BIN NEW_BIN [OUTDIR]" >&2
  exit 2
fi
old=$(realpath "$1") new=$(realpath "$2")
for b in "$old" "$new"; do
  [ -x "$b" ] || { echo "$0: $b is not an executable" >&2; exit 2; }
done
out=${3:-$(mktemp -d /tmp/compare-behaviour.XXXXXX)}
mkdir -p "$out/old" "$out/new" || exit 2
out=$(realpath "$out")
cd "$(dirname "$0")/.." || exit 2

cases=0 differ=0

# run NAME ARGS...: runs both binaries with ARGS and compares the results.
run() {
  local name=$1 side bin
  shift
  for side in old new; do
    [ $side = old ] && bin=$old || bin=$new
    "$bin" "$@" > "$out/$side/$name.out" 2> "$out/$side/$name.err" < /dev/null
    echo $? > "$out/$side/$name.rc"
  done
  cases=$((cases + 1))
  local what=""
  for k in out err rc; do
    cmp -s "$out/old/$name.$k" "$out/new/$name.$k" || what="$what $k"
  done
  if [ -n "$what" ]; then
    differ=$((differ + 1))
    echo "DIFF $name:$what  (ovms-sim $*)"
  fi
}

for s in scenarios/*.yaml; do
  run "scenario-$(basename "$s" .yaml)" --scenario "$s" --fast
done

formats=$("$old" convert --list-formats | awk '{print $1}')
for t in tests/data/traces/* tests/data/vehicles/* tests/data/hil/*; do
  case $t in *PROVENANCE.tsv | *.dbc | *.yaml) continue ;; esac
  [ -f "$t" ] || continue
  base=$(basename "$t")
  for f in $formats; do
    run "convert-$base-$f" convert --to "$f" "$t" -
    run "convert-$base-$f-keep" convert --keep-going --to "$f" "$t" -
  done
done

echo "compare-behaviour: $cases cases, $differ differ (outputs in $out)"
[ $differ -eq 0 ]
