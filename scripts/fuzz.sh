#!/usr/bin/env bash
# fuzz.sh - builds every libFuzzer target (tests/fuzz/fuzz_*.c) with clang-14,
# ASan and UBSan, and runs each for SECONDS (default 20). Seeds: files under
# tests/fuzz/seeds/<target>/ when present; the vm targets also get the
# official spec-test modules (converted with wast2json). Exits non-zero on the
# first crash or sanitizer report; prints executions and coverage per target.
# Usage: scripts/fuzz.sh [SECONDS] [target...]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SECS=${1:-20}; shift || true
BUILD=$ROOT/build-fuzz
CC=clang-14 cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCORRAL_FUZZ=ON -DCORRAL_SANITIZE=ON -DCORRAL_GUESTS=OFF >/dev/null
targets=("$@")
if [ ${#targets[@]} = 0 ]; then
  for f in tests/fuzz/fuzz_*.c; do [ -e "$f" ] && targets+=("$(basename "$f" .c)"); done
fi
[ ${#targets[@]} = 0 ] && { echo "fuzz: no targets"; exit 0; }
ninja -C "$BUILD" -j2 "${targets[@]}"

SPEC_SEEDS=$BUILD/seeds-spec
if [ ! -d "$SPEC_SEEDS" ] && command -v wast2json >/dev/null; then
  mkdir -p "$SPEC_SEEDS"
  for w in "$ROOT"/../shared/wasm-testsuite/core/*.wast; do
    wast2json "$w" -o "$SPEC_SEEDS/$(basename "$w" .wast).json" >/dev/null 2>&1 || true
  done
  rm -f "$SPEC_SEEDS"/*.json "$SPEC_SEEDS"/*.wat
fi

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
for t in "${targets[@]}"; do
  corpus=$BUILD/corpus/$t
  mkdir -p "$corpus"
  seeds=()
  [ -d tests/fuzz/seeds/$t ] && seeds+=("tests/fuzz/seeds/$t")
  case "$t" in fuzz_vm_*) [ -d "$SPEC_SEEDS" ] && seeds+=("$SPEC_SEEDS") ;; esac
  log=$BUILD/$t.log
  if ! "$BUILD/tests/fuzz/$t" -max_total_time="$SECS" -rss_limit_mb=2048 -timeout=10 \
       -artifact_prefix="$BUILD/$t-" "$corpus" "${seeds[@]}" >"$log" 2>&1; then
    tail -n 40 "$log"
    echo "fuzz: $t FAILED (log: $log)"
    exit 1
  fi
  stats=$(grep -E '^#[0-9]+.*(DONE|pulse|NEW|REDUCE|INITED)' "$log" | tail -n 1 || true)
  echo "fuzz: $t ok in ${SECS}s: ${stats}"
done
