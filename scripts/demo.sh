#!/usr/bin/env bash
# demo.sh - the main job on a fresh Debian 12 machine: installs packages,
# builds Corral, then runs the demo. Until the host lands, the demo is a
# claims round trip: make an account key, sign an actor module, inspect it
# and verify it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C build -j2
CORRAL=$PWD/build/cli/corral
WORK=$(mktemp -d /tmp/corral-demo.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
printf '(module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))\n' \
  > "$WORK/add.wat"
wat2wasm "$WORK/add.wat" -o "$WORK/add.wasm"
"$CORRAL" keys gen account --json > "$WORK/account.json"
python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["seed"])' "$WORK/account.json" \
  > "$WORK/account.nk"
"$CORRAL" claims sign "$WORK/add.wasm" --issuer "$WORK/account.nk" --name demo \
  --cap wasmcloud:keyvalue --rev 1 --ver 0.1.0 -o "$WORK/add_s.wasm"
"$CORRAL" claims inspect "$WORK/add_s.wasm"
"$CORRAL" claims verify "$WORK/add_s.wasm" && echo "demo: signed module verifies"
