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
ctest --test-dir "$BUILD" --output-on-failure -j2 "$@" || status=$?

if [ $FUZZ = 1 ] && [ $status = 0 ]; then
  scripts/fuzz.sh "${CORRAL_FUZZ_SECONDS:-20}" || status=$?
fi
exit $status
