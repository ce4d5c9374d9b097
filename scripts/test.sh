#!/usr/bin/env bash
# test.sh - sets up a fresh Debian 12 machine and runs every Corral test:
# installs packages, builds with -Werror and ASan+UBSan, starts redis-server
# and nats-server on free loopback ports (stopped by PID on exit), runs the
# whole ctest suite, then each libFuzzer target for a short fixed time.
# Usage: scripts/test.sh [--no-setup] [--no-fuzz] [ctest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SETUP=1 FUZZ=1
while [ $# -gt 0 ]; do
  case "$1" in
    --no-setup) SETUP=0; shift ;;
    --no-fuzz) FUZZ=0; shift ;;
    *) break ;;
  esac
done
[ $SETUP = 1 ] && scripts/setup.sh

BUILD=${CORRAL_BUILD_DIR:-$ROOT/build-test}
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCORRAL_WERROR=ON -DCORRAL_SANITIZE=ON >/dev/null
ninja -C "$BUILD" -j2

# Servers for the integration tests, on free loopback ports, stopped by PID.
RUN=$(mktemp -d /tmp/corral-test.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null || true; done
  rm -rf "$RUN"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
REDIS_PORT=$(free_port)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
  --dir "$RUN" --logfile "$RUN/redis.log" & PIDS+=($!)
NATS_PORT=$(free_port)
nats-server -a 127.0.0.1 -p "$NATS_PORT" -js -sd "$RUN/js" -l "$RUN/nats.log" & PIDS+=($!)
for _ in $(seq 50); do
  redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1
done
export CORRAL_TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
export CORRAL_TEST_NATS_URL="nats://127.0.0.1:$NATS_PORT"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

status=0
ctest --test-dir "$BUILD" --output-on-failure -j2 "$@" 2>&1 | tee "$RUN/ctest.log" || status=$?
# "97% tests passed, 4 tests failed out of 117"
ct_total=$(sed -n 's/.*tests failed out of \([0-9]*\).*/\1/p' "$RUN/ctest.log" | tail -n 1)
ct_failed=$(sed -n 's/.* \([0-9]*\) tests failed out of.*/\1/p' "$RUN/ctest.log" | tail -n 1)
ct_total=${ct_total:-0} ct_failed=${ct_failed:-0}

# Valgrind-clean on exit: the unit tests again, without sanitizers, under
# memcheck (definite leaks and invalid accesses fail the run).
if [ $status = 0 ] && [ "${CORRAL_VALGRIND:-1}" = 1 ]; then
  VG=$ROOT/build-valgrind
  VG_TESTS=(base/test_base claims/test_claims vm/test_vm wapc/test_wapc wapc/test_wapc_msgpack
            providers/test_providers host/test_host manifest/test_manifest)
  cmake -S . -B "$VG" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCORRAL_WERROR=ON >/dev/null
  ninja -C "$VG" -j2 $(for t in "${VG_TESTS[@]}"; do basename "$t"; done)
  vg_pass=0 vg_fail=0
  for t in "${VG_TESTS[@]}"; do
    if CORRAL_UNDER_VALGRIND=1 valgrind -q --error-exitcode=9 --leak-check=full \
         --errors-for-leak-kinds=definite "$VG/tests/$t" >"$VG/$(basename "$t").valgrind.log" 2>&1; then
      vg_pass=$((vg_pass + 1))
    else
      vg_fail=$((vg_fail + 1)); status=1
      echo "valgrind: $t FAILED"; tail -n 30 "$VG/$(basename "$t").valgrind.log"
    fi
  done
  echo "valgrind: $vg_pass passed, $vg_fail failed"
fi

fz_pass=0 fz_fail=0
if [ $FUZZ = 1 ] && [ $status = 0 ]; then
  scripts/fuzz.sh "${CORRAL_FUZZ_SECONDS:-20}" 2>&1 | tee "$RUN/fuzz.log" || status=1
  fz_pass=$(grep -c '^fuzz: .* ok: ' "$RUN/fuzz.log" || true)
  fz_fail=$(grep -c '^fuzz: .* FAILED' "$RUN/fuzz.log" || true)
fi
# One closing line over everything that ran: ctest, valgrind, fuzz targets.
passed=$((ct_total - ct_failed + ${vg_pass:-0} + fz_pass))
failed=$((ct_failed + ${vg_fail:-0} + fz_fail))
[ $status = 0 ] || [ $failed -gt 0 ] || failed=1
echo "corral: $passed passed, $failed failed"
exit $status
