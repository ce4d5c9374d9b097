#!/usr/bin/env bash
# demo.sh - the main job on a fresh Debian 12 machine: installs packages,
# builds Corral (the host, the providers and the example actors, signed with
# a development key made in the build tree), shows the kvcounter actor's
# claims, then runs the kvcounter demo in the foreground:
#   corral up examples/kvcounter/manifest.yaml
# It serves http://127.0.0.1:${PORT:-8080}/ and keeps its count in SQLite
# under the host's data dir, so a restart continues counting. Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C build -j2
CORRAL=$PWD/build/cli/corral
export CORRAL_GUEST_DIR=$PWD/build/guests
PORT=${PORT:-8080}
export PORT

"$CORRAL" claims inspect "$CORRAL_GUEST_DIR/kvcounter_s.wasm"
cat <<EOF

demo: starting the kvcounter host (Ctrl-C to stop). In another terminal try:

    curl 127.0.0.1:$PORT/counter              # {"counter":1}, then 2, 3, ...
    build/cli/corral get inventory            # actors, providers, links
    build/cli/corral link del kvcounter wasmcloud:keyvalue   # curl now gets 503
    build/cli/corral link put kvcounter wasmcloud:keyvalue   # and 200 again

EOF
exec "$CORRAL" up examples/kvcounter/manifest.yaml
