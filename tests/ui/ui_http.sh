#!/usr/bin/env bash
# ui_http.sh - `corral ui` end to end without a browser: a real `corral up`
# with the kvcounter example and `corral ui` against it, driven with curl.
# Options (non-loopback --bind refused, bad --port), no host yet (a
# warning and 502 with the reason), the page and its
# security headers, /api/state with a call rate that rises after HTTP calls,
# the transport's guards (wrong Host, no token, a 413 answered from
# Content-Length before the body, 405 with Allow, 404), update and relink
# changing the host as `corral get inventory` shows, SIGTERM exiting 0, and
# the same dashboard served by `corral up --ui-port 0` inside the host.
#   ui_http.sh <corral> <guests dir> <keys dir> <source dir>
. "$(dirname "$0")/../integration/lib.sh"
it_init "$@"
. "$(dirname "$0")/ui_common.sh"
PORT=$(free_port); export PORT
MANIFEST=$SRC/examples/kvcounter/manifest.yaml

out=$("$CORRAL" ui --bind 0.0.0.0 --run-dir "$RUN" 2>&1) && rc=0 || rc=$?
check "non-loopback --bind: exit 2" "$rc" 2
check_contains "non-loopback --bind: says why" "$out" "has no login"
out=$("$CORRAL" ui --port 70000 2>&1) && rc=0 || rc=$?
check "--port 70000: exit 2" "$rc" 2
out=$("$CORRAL" ui extra 2>&1) && rc=0 || rc=$?
check "an argument: exit 2" "$rc" 2

# No host yet: corral ui still serves, warns, and the API says why (502).
start_ui || exit 1
check_contains "no host: warning" "$(cat "$T/ui.log")" "warning: no host is running"
r=$(ui_req GET /api/state)
check "no host: state 502" "${r%% *}" 502
check_contains "no host: the reason" "$r" '"code":"ERR_CLOSED"'
kill -TERM "$UI_PID"; wait "$UI_PID" || true; UI_PID=

start_host "$MANIFEST" || exit 1
wait_port "$PORT" || exit 1
start_ui || exit 1
pass "corral ui serves $UI_URL"

hdrs=$(curl -s -m 10 -D - -o /dev/null "$UI_URL")
check_contains "page: CSP" "$hdrs" "Content-Security-Policy: default-src 'none'; script-src 'nonce-"
check_contains "page: html" "$hdrs" "Content-Type: text/html; charset=utf-8"
check_contains "page: nosniff" "$hdrs" "X-Content-Type-Options: nosniff"

s=$(ui_req GET /api/state)
check "state: 200" "${s%% *}" 200
check_contains "state: the actor" "$s" '"name":"kvcounter"'
check_contains "state: its http link" "$s" '"PORT":"'"$PORT"'"'

# The call rate: two samples with HTTP calls between them.
for _ in $(seq 20); do http /counter >/dev/null; done
sleep 0.6
for _ in $(seq 20); do http /counter >/dev/null; done
rate=$(ui_req GET /api/state | cut -d' ' -f2- | python3 -c 'import json,sys;print(json.load(sys.stdin)["actors"][0]["calls_per_s"] or 0)')
python3 -c "import sys;sys.exit(0 if float('$rate')>0 else 1)" && pass "calls_per_s > 0 ($rate)" || fail "calls_per_s is $rate"

check "wrong Host: 403" "$(ui_req GET /api/state -H 'Host: rebound.example:80' | cut -d' ' -f1)" 403
check "no token: 403" "$(ui_req POST /api/update -H 'Content-Type: application/json' --data '{}' | cut -d' ' -f1)" 403
check "unknown path: 404" "$(ui_req GET /api/x | cut -d' ' -f1)" 404
allow=$(curl -s -m 10 -X PUT -D - -o /dev/null "${UI_URL}api/state" | tr -d '\r' | sed -n 's/^Allow: //p')
check "PUT /api/state: Allow GET" "$allow" GET
# 1 MiB announced: answered from Content-Length without reading the body
code=$(head -c 1048576 /dev/zero | curl -s -m 10 -o /dev/null -w '%{http_code}' -X POST \
  -H "X-Corral-UI-Token: $UI_TOKEN" -H 'Content-Type: application/json' --data-binary @- "${UI_URL}api/update")
check "oversize body: 413" "$code" 413
r=$(ui_post /api/update '{"actor":"kvcounter","path":"/no/such.wasm"}')
check "update, missing file: 400" "${r%% *}" 400

# Update through the API: the host runs the new revision.
sign_kv 2 "$T/kv2.wasm"
r=$(ui_post /api/update "{\"actor\":\"kvcounter\",\"path\":\"$T/kv2.wasm\"}")
check "update: 200" "${r%% *}" 200
check "inventory: rev 2" "$(inv_json 'd["actors"][0]["rev"]')" 2
r=$(ui_post /api/update "{\"actor\":\"kvcounter\",\"path\":\"$T/kv2.wasm\"}")
check "same revision again: 409" "${r%% *}" 409
check_contains "same revision again: the host's reason" "$r" "not greater than the running revision"

# Relink the HTTP link to a new port: served there, inventory says so.
PORT2=$(free_port)
r=$(ui_post /api/relink "{\"actor\":\"kvcounter\",\"contract_id\":\"wasmcloud:httpserver\",\"values\":{\"PORT\":\"$PORT2\"}}")
check "relink: 200" "${r%% *}" 200
check "inventory: new PORT" "$(inv_json '[l["values"].get("PORT") for l in d["links"] if l["contract_id"]=="wasmcloud:httpserver"][0]')" "$PORT2"
PORT=$PORT2 wait_port "$PORT2" && check "served on the new port" "$(PORT=$PORT2 http /counter | cut -d' ' -f1)" 200

kill -TERM "$UI_PID"
rc=0; wait "$UI_PID" || rc=$?
check "corral ui: SIGTERM exits 0" "$rc" 0
UI_PID=

# The same dashboard inside the host: corral up --ui-port 0.
out=$("$CORRAL" up --ui-port 65536 --run-dir "$RUN" 2>&1) && rc=0 || rc=$?
check "up --ui-port 65536: exit 2" "$rc" 2
stop_host_term
: >"$T/host.log"
PORT=$(free_port); export PORT
start_host "$MANIFEST" --ui-port 0 || exit 1
UI_URL=$(sed -n 's|.*dashboard at \(http://127.0.0.1:[0-9]*/\).*|\1|p' "$T/host.log" | head -1)
[ -n "$UI_URL" ] && pass "up --ui-port: URL logged ($UI_URL)" || { fail "no 'dashboard at' line in the host log"; exit 1; }
UI_TOKEN=$(curl -s -m 10 "$UI_URL" | sed -n 's|.*name="corral-ui-token" content="\([0-9a-f]*\)".*|\1|p')
[ -n "$UI_TOKEN" ] && pass "up --ui-port: the page" || fail "up --ui-port: no page"
r=$(ui_req GET /api/state)
check_contains "up --ui-port: state shows the actor" "$r" '"name":"kvcounter"'
PORT3=$(free_port)
r=$(ui_post /api/relink "{\"actor\":\"kvcounter\",\"contract_id\":\"wasmcloud:httpserver\",\"values\":{\"PORT\":\"$PORT3\"}}")
check "up --ui-port: relink 200" "${r%% *}" 200
check "up --ui-port: inventory has the new PORT" "$(inv_json '[l["values"].get("PORT") for l in d["links"] if l["contract_id"]=="wasmcloud:httpserver"][0]')" "$PORT3"
stop_host_term
check "up --ui-port: SIGTERM exits 0" "$HOST_RC" 0
it_done
