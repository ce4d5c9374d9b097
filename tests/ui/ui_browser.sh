#!/usr/bin/env bash
# ui_browser.sh - `corral ui` end to end in Debian's headless Chromium:
# `npm ci` of the pinned playwright-core (package.json, package-lock.json)
# into a folder of the build tree, a real `corral up` with the kvcounter
# example, `corral ui` against it, then driver.js clicks through the page
# (actor and link shown, call rate > 0, update, relink, bad input, a claims
# name made of HTML shown as text). Without /usr/bin/chromium (or node/npm)
# it fails when CI=true and is skipped (exit 77) otherwise.
#   ui_browser.sh <corral> <guests dir> <keys dir> <source dir> <npm dir>
. "$(dirname "$0")/../integration/lib.sh"
NPM_DIR=$5
CHROMIUM=${CORRAL_CHROMIUM:-/usr/bin/chromium}

missing() {
  if [ "${CI:-}" = true ]; then
    echo "FAIL: $1 (CI=true: scripts/setup.sh installs it; the dashboard must be tested)"
    exit 1
  fi
  echo "SKIP: $1 (scripts/setup.sh installs it): corral ui not tested in a browser"
  exit 77
}
[ -x "$CHROMIUM" ] || missing "no Chromium at $CHROMIUM (Debian package chromium)"
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || missing "node/npm are not installed"

it_init "$1" "$2" "$3" "$4"
. "$(dirname "$0")/ui_common.sh"
HERE=$(cd "$(dirname "$0")" && pwd)

ui_npm_ci "$NPM_DIR" "$HERE" || exit 1

PORT=$(free_port); export PORT
start_host "$SRC/examples/kvcounter/manifest.yaml" || exit 1
wait_port "$PORT" || exit 1
start_ui || exit 1
sign_kv 2 "$T/kv2.wasm"
"$CORRAL" claims sign "$GUESTS/kvcounter.wasm" --issuer "$KEYS/dev_account.nk" \
  --subject "$KEYS/kvcounter.nk" --name '<img src=x onerror=window.pwned=1>kv' --call-alias kvcounter \
  --cap wasmcloud:httpserver --cap wasmcloud:keyvalue --rev 3 -o "$T/kv3.wasm" >/dev/null

out=$(UI_URL=$UI_URL CORRAL=$CORRAL RUN=$RUN CHROMIUM=$CHROMIUM PORT=$PORT PORT2=$(free_port) \
      KV2=$T/kv2.wasm KV3=$T/kv3.wasm NODE_PATH=$NPM_DIR/node_modules \
      timeout 240 node "$HERE/driver.js" 2>&1) && rc=0 || rc=$?
printf '%s\n' "$out"
FAILS=$((FAILS + $(printf '%s\n' "$out" | grep -c '^FAIL:' || true)))
[ "$rc" = 0 ] || [ "$FAILS" != 0 ] || fail "driver.js exited $rc"
kill -TERM "$UI_PID"
rc=0; wait "$UI_PID" || rc=$?
check "corral ui: SIGTERM exits 0 (clean under ASan too)" "$rc" 0
UI_PID=
it_done
