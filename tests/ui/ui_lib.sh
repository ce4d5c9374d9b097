# ui_lib.sh - functions shared by every `corral ui` end-to-end test (sourced
# after tests/integration/lib.sh or tests/lattice_integration/lib.sh, which
# give T, CORRAL, pass and fail). No trap here: each test's cleanup calls
# ui_stop before its own library's cleanup.
UI_PID=

# ui_stop: stops the dashboard by PID (TERM, then KILL after 5 s); prints its
# log when a check failed.
ui_stop() {
  if [ -n "${UI_PID:-}" ] && kill -0 "$UI_PID" 2>/dev/null; then
    kill -TERM "$UI_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$UI_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$UI_PID" 2>/dev/null || true
  fi
  if [ "${FAILS:-0}" != 0 ] && [ -f "$T/ui.log" ]; then
    echo "---- corral ui log ----"; cat "$T/ui.log"
  fi
}

# ui_start ARGS...: runs `corral ui ARGS` in the background, waits for the URL
# it prints and sets UI_PID, UI_URL, UI_PORT and UI_TOKEN. Returns 1 (after a
# fail line) when it exits early, prints no URL in 10 s or the page has no token.
ui_start() {
  # the log exists before the loop reads it: the child opens it in its own
  # time, and a sed on a missing file would end the test (set -e)
  : >"$T/ui.log"
  "$CORRAL" ui "$@" >>"$T/ui.log" 2>&1 &
  UI_PID=$!
  UI_URL=
  for _ in $(seq 200); do
    UI_URL=$(sed -n 's|^corral ui: serving \(http://[^ ]*\) .*|\1|p' "$T/ui.log")
    [ -n "$UI_URL" ] && break
    kill -0 "$UI_PID" 2>/dev/null || { fail "corral ui exited early: $(cat "$T/ui.log")"; return 1; }
    sleep 0.05
  done
  [ -n "$UI_URL" ] || { fail "corral ui printed no URL in 10 s"; return 1; }
  UI_PORT=$(printf '%s' "$UI_URL" | sed -n 's|http://127.0.0.1:\([0-9]*\)/|\1|p')
  UI_TOKEN=$(curl -s -m 10 "$UI_URL" | sed -n 's|.*name="corral-ui-token" content="\([0-9a-f]*\)".*|\1|p')
  [ -n "$UI_TOKEN" ] || { fail "the page carries no token"; return 1; }
}

# ui_req METHOD PATH [curl args]: prints "<status> <body>"
ui_req() {
  local m=$1 p=$2; shift 2
  curl -s -m 30 -X "$m" -o "$T/ui_body" -w '%{http_code}' "$@" "${UI_URL%/}$p" >"$T/ui_code" 2>/dev/null || true
  echo "$(cat "$T/ui_code") $(cat "$T/ui_body" 2>/dev/null)"
}

# ui_post PATH JSON: a POST as the page makes it
ui_post() {
  ui_req POST "$1" -H "X-Corral-UI-Token: $UI_TOKEN" -H 'Content-Type: application/json' --data-binary "$2"
}

# ui_npm_ci DIR SRC: playwright-core into DIR exactly as SRC's package-lock.json
# locks it; `npm ci` again only when the lock changed. Returns 1 (after a fail
# line and npm's log) when npm fails.
ui_npm_ci() {
  local dir=$1 src=$2
  mkdir -p "$dir"
  if cmp -s "$src/package-lock.json" "$dir/package-lock.json" && [ -d "$dir/node_modules/playwright-core" ]; then
    return 0
  fi
  cp "$src/package.json" "$src/package-lock.json" "$dir/"
  if (cd "$dir" && npm ci --no-audit --no-fund --prefer-offline --loglevel=error) >"$T/npm.log" 2>&1; then
    pass "npm ci (playwright-core)"
  else
    fail "npm ci failed"; cat "$T/npm.log"; return 1
  fi
}
