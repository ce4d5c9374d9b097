# ui_common.sh - shared by the `corral ui` end-to-end tests (sourced after
# tests/integration/lib.sh): start_ui runs `corral ui` against the test's
# host, waits for the URL it prints and sets UI_URL, UI_PORT and UI_TOKEN;
# the cleanup stops it by PID before lib.sh stops the host.
UI_PID=

ui_cleanup() {
  if [ -n "${UI_PID:-}" ] && kill -0 "$UI_PID" 2>/dev/null; then
    kill -TERM "$UI_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$UI_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$UI_PID" 2>/dev/null || true
  fi
  if [ "${FAILS:-0}" != 0 ] && [ -f "$T/ui.log" ]; then
    echo "---- corral ui log ----"; cat "$T/ui.log"
  fi
  it_cleanup
}
trap ui_cleanup EXIT

start_ui() {
  # the log exists before the loop reads it: the child opens it in its own
  # time, and a sed on a missing file would end the test (set -e)
  : >"$T/ui.log"
  "$CORRAL" ui --run-dir "$RUN" "$@" >>"$T/ui.log" 2>&1 &
  UI_PID=$!
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

# inv_json PYTHON-EXPR: evaluates EXPR on d = `corral get inventory --json`
inv_json() {
  "$CORRAL" get inventory --json --run-dir "$RUN" | python3 -c "import json,sys;d=json.load(sys.stdin);print($1)"
}
