#!/usr/bin/env bash
# fuzz.sh - builds the libFuzzer targets (tests/fuzz/fuzz_*.c) with clang-14,
# ASan and UBSan into build-fuzz/, and runs each for a fixed time.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]    (default: 60 s, every target)
#
# Seeds: targets of the engine (fuzz_vm_*) start from the .wasm files that
# wast2json makes of shared/wasm-testsuite/core; any target may also have
# seeds in tests/fuzz/seeds/<module>/. New corpus entries go to
# build-fuzz/corpus/<target>/, crashes to build-fuzz/artifacts/. Exits non-zero
# when a target finds a crash, leak or timeout. CI runs it with a short time.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-60}
shift || true
B=build-fuzz
SUITE=${CORRAL_SPEC_DIR:-../shared/wasm-testsuite/core}

cmake -S . -B "$B" -G Ninja -DCMAKE_C_COMPILER=clang-14 -DCORRAL_FUZZ=ON -DCORRAL_SANITIZE=ON \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
if [ $# -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(ninja -C "$B" -t targets all | sed -n 's/^\(fuzz_[a-z0-9_]*\): .*/\1/p' | sort -u)
fi
if [ ${#targets[@]} -eq 0 ]; then echo "fuzz: no fuzz targets"; exit 0; fi
ninja -C "$B" -j2 "${targets[@]}"

# Engine seeds: every binary module of the core spec tests.
seeds_vm="$B/seeds/vm"
if [ ! -d "$seeds_vm" ] && [ -d "$SUITE" ]; then
  mkdir -p "$seeds_vm.tmp"
  for w in "$SUITE"/*.wast; do
    wast2json "$w" -o "$seeds_vm.tmp/$(basename "${w%.wast}").json" >/dev/null 2>&1 || true
  done
  rm -f "$seeds_vm.tmp"/*.json "$seeds_vm.tmp"/*.wat
  mv "$seeds_vm.tmp" "$seeds_vm"
fi

mkdir -p "$B/artifacts"
status=0
for t in "${targets[@]}"; do
  mod=$(echo "$t" | sed -E 's/^fuzz_([a-z]+)_.*$/\1/')
  corpus="$B/corpus/$t"
  mkdir -p "$corpus"
  dirs=("$corpus")
  [ -d "$B/seeds/$mod" ] && dirs+=("$B/seeds/$mod")
  [ -d "tests/fuzz/seeds/$mod" ] && dirs+=("tests/fuzz/seeds/$mod")
  echo "fuzz: $t for ${SECS}s (seeds: ${dirs[*]:1})"
  if ! "$B/tests/fuzz/$t" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 \
        -max_len=262144 -print_final_stats=1 -artifact_prefix="$B/artifacts/$t-" \
        "${dirs[@]}" 2>"$B/$t.log"; then
    echo "fuzz: $t FAILED (see $B/$t.log and $B/artifacts/)"
    tail -40 "$B/$t.log"
    status=1
  else
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$B/$t.log" | tail -n 1)
    cov=$(grep -oE 'cov: [0-9]+' "$B/$t.log" | tail -n 1 | cut -d' ' -f2)
    echo "fuzz: $t ok: ${execs:-?} executions, ${cov:-?} edges covered"
  fi
done
exit $status
