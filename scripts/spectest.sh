#!/usr/bin/env bash
# spectest.sh - runs the WebAssembly core spec tests against Corral's engine
# with `corral spectest` and prints one line per file plus the total.
#
#   scripts/spectest.sh [BUILD_DIR] [FILE.wast...]
#
# BUILD_DIR defaults to build/ (it must hold cli/corral); the files default
# to every .wast in ../shared/wasm-testsuite/core (CORRAL_SPEC_DIR overrides).
# Failing commands are listed under their file. Exit status is corral's: 0
# when every test passed, 1 when one failed.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}
shift || true
SUITE=${CORRAL_SPEC_DIR:-../shared/wasm-testsuite/core}
CORRAL="$B/cli/corral"
if [ ! -x "$CORRAL" ]; then
  echo "spectest: $CORRAL not built (ninja -C $B corral)" >&2
  exit 2
fi
if [ $# -gt 0 ]; then files=("$@"); else files=("$SUITE"/*.wast); fi
exec "$CORRAL" spectest "${files[@]}"
