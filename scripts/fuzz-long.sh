#!/usr/bin/env bash
# fuzz-long.sh - a longer fuzzing campaign over every libFuzzer target
# (tests/fuzz/fuzz_*.c): runs scripts/fuzz.sh with a long time per target
# (default 1 hour; CI uses scripts/fuzz.sh with a short time instead), keeps
# the corpus in build-fuzz/corpus/ between campaigns, then prints for each
# target its executions and final coverage (libFuzzer's cov: edges and ft:
# features) from build-fuzz/<target>.log.
#
#   scripts/fuzz-long.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-3600}
shift || true
status=0
scripts/fuzz.sh "$SECS" "$@" || status=$?
printf '%-28s %14s %8s %8s %s\n' target executions cov ft result
for log in build-fuzz/fuzz_*.log; do
  [ -f "$log" ] || continue
  t=$(basename "$log" .log)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  res=ok
  grep -q -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error|SUMMARY' "$log" && res=FAILED
  printf '%-28s %14s %8s %8s %s\n' "$t" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$res"
done
exit $status
