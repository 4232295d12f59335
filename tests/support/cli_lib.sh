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
