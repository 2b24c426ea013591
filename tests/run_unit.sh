#!/usr/bin/env bash
# Runs every C unit-test binary in the given directory and prints the total as
# "N passed, N failed" on the last line. Exits non-zero if any test failed or any
# binary crashed.
set -u
dir=${1:?usage: run_unit.sh BUILD_TEST_DIR}
total_pass=0
total_fail=0
crashed=0
shopt -s nullglob
bins=("$dir"/test_*)
if [ ${#bins[@]} -eq 0 ]; then
  echo "run_unit.sh: no test binaries in $dir" >&2
  exit 1
fi
for t in "${bins[@]}"; do
  [ -x "$t" ] || continue
  out=$("$t" 2>&1)
  rc=$?
  printf '%s\n' "$out" | grep -v -E ': [0-9]+ passed, [0-9]+ failed$' || true
  line=$(printf '%s\n' "$out" | grep -E ': [0-9]+ passed, [0-9]+ failed$' | tail -n 1)
  if [ -z "$line" ]; then
    echo "CRASHED $(basename "$t") (exit $rc)"
    crashed=$((crashed + 1))
    continue
  fi
  p=$(printf '%s' "$line" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed$/\1/')
  f=$(printf '%s' "$line" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed$/\2/')
  echo "  $(basename "$t"): $p passed, $f failed"
  total_pass=$((total_pass + p))
  total_fail=$((total_fail + f))
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    echo "CRASHED $(basename "$t") after its summary (exit $rc)"
    crashed=$((crashed + 1))
  fi
done
total_fail=$((total_fail + crashed))
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
