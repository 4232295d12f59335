#!/bin/bash
# help_answers.sh - help that answers (issue 13 item 5): each subcommand's --help prints its
# own usage and options only; every option an error message names exists; unknown scenario
# keys get "did you mean"; a %-less percentage below 1 gets a warning; `metrics PATTERN`
# without a match says so (exit 2); `cmake --install` puts ovms-sim in bin/.
set -u
BIN=${OVMS_SIM_BIN:?}
SRC=${OVMS_SIM_SRC:?}
BUILD=${OVMS_SIM_BUILD:?}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
has() { grep -q -- "$2" "$1" || { cat "$1"; fail "$1: no '$2'"; }; }
hasnt() { grep -q -- "$2" "$1" && { cat "$1"; fail "$1: '$2' should not be there"; }; return 0; }

# each subcommand's help: exit 0, its usage first, its options, nothing of the others
for sub in run metrics validate convert; do
  "$BIN" $sub --help > "$T/$sub" 2> "$T/err" || { cat "$T/err"; fail "$sub --help: exit $?"; }
  head -1 "$T/$sub" | grep -q "^Usage: ovms-sim " || fail "$sub --help: $(head -1 "$T/$sub")"
  hasnt "$T/$sub" "^Subcommands"
done
"$BIN" --help > "$T/all"
has "$T/all" "^Subcommands"
has "$T/run" "^Usage: ovms-sim \[run\] \[OPTIONS\]"
has "$T/run" "--scenario FILE"
has "$T/run" "--fleet N"
has "$T/metrics" "^Usage: ovms-sim metrics \[OPTIONS\] \[PATTERN\]"
has "$T/metrics" "--json"
has "$T/metrics" "--trace"
hasnt "$T/metrics" "--fleet"
hasnt "$T/metrics" "--broker"
has "$T/validate" "^Usage: ovms-sim validate FILE"
hasnt "$T/validate" "--scenario"
has "$T/convert" "^Usage: ovms-sim convert \[OPTIONS\] IN OUT"
has "$T/convert" "--from FMT"
has "$T/convert" "--keep-going"
hasnt "$T/convert" "--scenario"
# `ovms-sim run` is the same as no subcommand
"$BIN" run --scenario "$SRC/scenarios/charging.yaml" --fast -q || fail "ovms-sim run: exit $?"

# every option named in a message of the program exists: in --help, convert or plot --help
"$BIN" plot --help > "$T/plot"
cat "$T/all" "$T/convert" "$T/plot" > "$T/known"
grep -ohE '"[^"]*--[a-z][a-z0-9-]+[^"]*"' -r "$SRC/sim" "$SRC/vehicles" "$SRC/hil" --include='*.c' |
  grep -oE -- '--[a-z][a-z0-9-]+' | sort -u > "$T/named"
[ "$(wc -l < "$T/named")" -gt 20 ] || fail "found only $(wc -l < "$T/named") option names in the sources"
while read -r opt; do
  [ "$opt" = --json ] && continue # metrics --json: in metrics --help
  grep -qE -- "$opt( |,|\$)" "$T/known" || fail "a message names $opt, which --help does not list"
done < "$T/named"
grep -qE -- '--json' "$T/metrics" || fail "--json"
# convert suggests --from (it has no --format)
"$BIN" convert --format crtd a b 2> "$T/err"; [ $? -eq 2 ] || fail "convert --format: exit"
hasnt "$T/err" "--format "

# an unknown scenario key: did you mean
sed 's/^  capacity: 40kWh/  capacty: 40kWh/' "$SRC/scenarios/charging.yaml" > "$T/typo.yaml"
grep -q capacty "$T/typo.yaml" || fail "typo not made"
"$BIN" validate "$T/typo.yaml" > /dev/null 2> "$T/err"; rc=$?
[ $rc -eq 2 ] || { cat "$T/err"; fail "validate typo: exit $rc"; }
has "$T/err" "typo.yaml:15:3: error: unknown key 'capacty' in vehicle: did you mean 'capacity'?"
# nothing close: no suggestion
sed 's/^  capacity: 40kWh/  zzzzzzzz: 40kWh/' "$SRC/scenarios/charging.yaml" > "$T/far.yaml"
"$BIN" validate "$T/far.yaml" > /dev/null 2> "$T/err"
has "$T/err" "unknown key 'zzzzzzzz' in vehicle (expected one of"
# a fraction where a percentage is meant: a warning, still valid
sed 's/^  soc: 20%/  soc: 0.7/' "$SRC/scenarios/charging.yaml" > "$T/frac.yaml"
"$BIN" validate "$T/frac.yaml" > /dev/null 2> "$T/err" || { cat "$T/err"; fail "validate 0.7: exit $?"; }
has "$T/err" "frac.yaml:16:8: warning: 0.7 means 0.7 %, not 70 %: write 70% if that is meant"
"$BIN" validate "$SRC/scenarios/charging.yaml" > /dev/null 2> "$T/err"
hasnt "$T/err" "warning"

# metrics PATTERN without a match: said, exit 2
"$BIN" metrics 'v.b.socc' > "$T/out" 2> "$T/err"; rc=$?
[ $rc -eq 2 ] || fail "metrics no match: exit $rc"
has "$T/err" "no metric matches 'v.b.socc'"
[ -s "$T/out" ] && fail "metrics no match printed $(cat "$T/out")"

# cmake --install puts the program in bin/ (DESTDIR into a temp folder)
DESTDIR="$T/root" cmake --install "$BUILD" --prefix /usr/local > "$T/inst" 2>&1 || { cat "$T/inst"; fail "cmake --install"; }
[ -x "$T/root/usr/local/bin/ovms-sim" ] || { cat "$T/inst"; fail "no bin/ovms-sim installed"; }
PATH="$T/root/usr/local/bin:$PATH" ovms-sim --version | grep -q '^ovms-sim ' || fail "installed ovms-sim --version"
echo "help_answers: ok"
