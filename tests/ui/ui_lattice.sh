#!/usr/bin/env bash
# ui_lattice.sh - the lattice view of `corral ui` end to end, without a
# browser: a real nats-server with JetStream and two `corral up --lattice`
# hosts (tests/lattice_integration/lib.sh), an echo actor started on both
# through the lattice CLI, a link put through it, and `corral ui --lattice`
# driven with curl. Checks /api/state (both hosts with their labels, the
# actor on each host, the lattice's link, the hosts' call counters and a
# calls/s that rises after calls through the lattice), update through the
# dashboard (every host's inventory shows the new revision, as `corral get
# inventory --lattice --json` reports; a lower revision refused with the
# host's reason), relink (`corral get links --lattice --json` shows the new
# values), bad requests answered 4xx with a JSON error, option errors, and
# the same view from `corral up --lattice --ui-port 0`. Then, with Debian's
# Chromium and the pinned playwright-core (`npm ci` into npm dir, as
# ui_browser.sh does), driver_lattice.js uses the page's buttons; without
# them that part fails when CI=true and is skipped (said so) otherwise.
#   ui_lattice.sh <corral> <guests> <keys> <source dir> <http_load> <nats-server> <npm dir>
. "$(dirname "$0")/../lattice_integration/lib.sh"
NPM_DIR=$7
lt_init "$@"
CHROMIUM=${CORRAL_CHROMIUM:-/usr/bin/chromium}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/ui_lib.sh"
ui_lt_cleanup() {
  ui_stop
  lt_cleanup
}
trap ui_lt_cleanup EXIT

L=(--lattice "$LATTICE" --nats "$NATS_URL")
lc() { "$CORRAL" "$@" "${L[@]}"; }

# option errors need no lattice
out=$("$CORRAL" ui --nats "$NATS_URL" 2>&1) && rc=0 || rc=$?
check "--nats without --lattice: exit 2" "$rc" 2
out=$("$CORRAL" ui --lattice 'a.b' 2>&1) && rc=0 || rc=$?
check "a lattice name with a dot: exit 2" "$rc" 2
check_contains "a lattice name with a dot: says so" "$out" "is not valid"

nats_start || exit 1
for h in a b; do printf 'capabilities:\n  - kind: logging\n' > "$T/$h.yaml"; done
host_up a || exit 1
host_up b || exit 1
hkey() { "$CORRAL" get inventory --json --run-dir "$(host_run "$1")" | python3 -c 'import json,sys;print(json.load(sys.stdin)["host_key"])'; }
A=$(hkey a) B=$(hkey b)

# echo under a fresh module key, revisions 1 and 2
"$CORRAL" keys gen module --json | python3 -c 'import json,sys;print(json.load(sys.stdin)["seed"])' > "$T/echo.nk"
ECHO=$("$CORRAL" keys get "$T/echo.nk")
for r in 1 2 3; do
  "$CORRAL" claims sign "$GUESTS/echo.wasm" --issuer "$KEYS/dev_account.nk" --subject "$T/echo.nk" \
    --name echo --call-alias uiecho --rev "$r" -o "$T/echo$r.wasm" >/dev/null
done
lc start actor "$T/echo1.wasm" --host "$A" >/dev/null || fail "start echo on A"
lc start actor "$T/echo1.wasm" --host "$B" >/dev/null || fail "start echo on B"
lc link put "$ECHO" wasmcloud:keyvalue UI_K=v1 --link-name uil >/dev/null || fail "link put"

ui_start "${L[@]}" || lt_done
pass "corral ui --lattice serves $UI_URL"
state() { ui_req GET /api/state | cut -d' ' -f2- > "$T/state.json"; }
# lattice inventories, as the CLI reports them
linv() { lc get inventory --json > "$T/linv.json"; }

r=$(ui_req GET /api/state)
check "state: 200" "${r%% *}" 200
state
check "state: the lattice" "$(json "$T/state.json" 'd["lattice"]')" "$LATTICE"
check "state: both hosts, with their labels" \
  "$(json "$T/state.json" 'sorted((h["host_key"], h["labels"].get("lt_host")) for h in d["hosts"])')" \
  "$(python3 -c 'import sys;print(sorted([(sys.argv[1],"a"),(sys.argv[2],"b")]))' "$A" "$B")"
check "state: the actor on each host" \
  "$(json "$T/state.json" 'sorted((a["host_key"], a["key"], a["rev"]) for a in d["actors"])')" \
  "$(python3 -c 'import sys;print(sorted([(sys.argv[1],sys.argv[3],1),(sys.argv[2],sys.argv[3],1)]))' "$A" "$B" "$ECHO")"
check "state: uptime of each host" "$(json "$T/state.json" 'all(isinstance(h["uptime_s"], int) for h in d["hosts"])')" True
check "state: the lattice's link" \
  "$(json "$T/state.json" '[(l["actor"], l["link_name"], l["values"]) for l in d["links"] if l["contract_id"]=="wasmcloud:keyvalue"]')" \
  "[('$ECHO', 'uil', {'UI_K': 'v1'})]"
check "state: the hosts' call counters are there" "$(json "$T/state.json" 'all("calls" in a and "errors" in a for a in d["actors"])')" True

# calls through the lattice: the hosts count them, the dashboard gives a rate
for _ in $(seq 10); do lc call uiecho echo --payload x --cluster-seed "$T/cluster.nk" >/dev/null 2>&1; done
sleep 0.6
for _ in $(seq 10); do lc call uiecho echo --payload x --cluster-seed "$T/cluster.nk" >/dev/null 2>&1; done
state
calls=$(json "$T/state.json" 'sum(a["calls"] for a in d["actors"])')
linv
cli_calls=$(json "$T/linv.json" 'sum(a["calls"] for h in d for a in h["actors"])')
[ "$calls" -ge 20 ] && pass "state: $calls calls counted over both hosts" || fail "state: $calls calls counted"
check "state: the same counts as 'corral get inventory --lattice'" "$calls" "$cli_calls"
rate=$(json "$T/state.json" 'sum(a["calls_per_s"] or 0 for a in d["actors"])')
python3 -c "import sys;sys.exit(0 if float('$rate')>0 else 1)" && pass "calls_per_s > 0 ($rate)" || fail "calls_per_s is $rate"

# update through the dashboard: every host running the actor takes rev 2
r=$(ui_post /api/update "{\"actor\":\"uiecho\",\"path\":\"$T/echo2.wasm\"}")
check "update: 200" "${r%% *}" 200
check_contains "update: rev 1 -> 2" "$r" '"new_rev":2'
check "update: two hosts answered" "$(printf '%s' "${r#* }" | python3 -c 'import json,sys;print(len(json.load(sys.stdin)["hosts"]))')" 2
linv
check "get inventory --lattice: both hosts run rev 2" \
  "$(json "$T/linv.json" 'sorted((h["host_key"], [a["rev"] for a in h["actors"]]) for h in d)')" \
  "$(python3 -c 'import sys;print(sorted([(sys.argv[1],[2]),(sys.argv[2],[2])]))' "$A" "$B")"
r=$(ui_post /api/update "{\"actor\":\"uiecho\",\"path\":\"$T/echo1.wasm\",\"host\":\"$A\"}")
check "update to a lower revision on A: 409" "${r%% *}" 409
check_contains "update to a lower revision: the host's reason" "$r" "host $A refused"
r=$(ui_post /api/update "{\"actor\":\"nosuchactor\",\"path\":\"$T/echo2.wasm\"}")
check "update of an actor no host runs: 409" "${r%% *}" 409
check_contains "update of an actor no host runs: says so" "$r" "no host of lattice $LATTICE runs actor nosuchactor"

# relink: linkdefs.del + put, seen by `corral get links --lattice`
r=$(ui_post /api/relink "{\"actor\":\"uiecho\",\"contract_id\":\"wasmcloud:keyvalue\",\"link_name\":\"uil\",\"values\":{\"UI_K\":\"v2\",\"UI_X\":\"y\"}}")
check "relink: 200" "${r%% *}" 200
check_contains "relink: the old values" "$r" '"old_values":{"UI_K":"v1"}'
lattice_get links --json > "$T/links.json"
check "get links --lattice: the new values" \
  "$(json "$T/links.json" '[(l["actor_id"], l["values"]) for l in d["links"] if l["link_name"]=="uil"]')" \
  "[('$ECHO', {'UI_K': 'v2', 'UI_X': 'y'})]"
r=$(ui_post /api/relink "{\"actor\":\"$ECHO\",\"contract_id\":\"wasmcloud:keyvalue\",\"link_name\":\"uil\",\"new_link_name\":\"uil2\"}")
check "relink to a new link name: 200" "${r%% *}" 200
lattice_get links --json > "$T/links.json"
check "get links --lattice: only the new name" \
  "$(json "$T/links.json" 'sorted(l["link_name"] for l in d["links"] if l["actor_id"]=="'"$ECHO"'")')" "['uil2']"

# bad requests: 4xx with a JSON error
r=$(ui_post /api/relink "{\"actor\":\"uiecho\",\"contract_id\":\"wasmcloud:keyvalue\",\"link_name\":\"nosuch\"}")
check "relink of a link that does not exist: 404" "${r%% *}" 404
check_contains "relink of a link that does not exist: JSON error" "$r" '{"error":'
r=$(ui_post /api/update '{"actor":"uiecho"}')
check "update without a path: 400" "${r%% *}" 400
check_contains "update without a path: JSON error" "$r" "missing field 'path'"
r=$(ui_post /api/update "{\"actor\":\"uiecho\",\"path\":\"$T/echo2.wasm\",\"host\":\"a.b\"}")
check "update with a host that is not a key: 400" "${r%% *}" 400
r=$(ui_post /api/update "{\"actor\":\"uiecho\",\"path\":\"$T/echo2.wasm\",\"nope\":1}")
check "update with an unknown field: 400" "${r%% *}" 400
r=$(ui_req POST /api/relink -H 'Content-Type: application/json' --data '{}')
check "relink without the token: 403" "${r%% *}" 403

# The buttons in a browser (driver_lattice.js)
browser_missing=
[ -x "$CHROMIUM" ] || browser_missing="no Chromium at $CHROMIUM (Debian package chromium)"
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || browser_missing="node/npm are not installed"
if [ -n "$browser_missing" ]; then
  if [ "${CI:-}" = true ]; then fail "$browser_missing (CI=true: scripts/setup.sh installs it)"
  else echo "SKIP: $browser_missing: the lattice view not tested in a browser"; fi
else
  ui_npm_ci "$NPM_DIR" "$HERE"
  out=$(UI_URL=$UI_URL CORRAL=$CORRAL CHROMIUM=$CHROMIUM LATTICE=$LATTICE NATS_URL=$NATS_URL \
        HOST_A=$A HOST_B=$B ECHO=$ECHO ECHO3=$T/echo3.wasm LINK_NAME=uil2 \
        NODE_PATH=$NPM_DIR/node_modules timeout 120 node "$HERE/driver_lattice.js" 2>&1) && rc=0 || rc=$?
  printf '%s\n' "$out"
  FAILS=$((FAILS + $(printf '%s\n' "$out" | grep -c '^FAIL:' || true)))
  [ "$rc" = 0 ] || [ "$FAILS" != 0 ] || fail "driver_lattice.js exited $rc"
fi

kill -TERM "$UI_PID"
rc=0; wait "$UI_PID" || rc=$?
check "corral ui --lattice: SIGTERM exits 0" "$rc" 0
UI_PID=

# The same view from inside a host: corral up --lattice --ui-port 0
printf 'capabilities:\n  - kind: logging\n' > "$T/c.yaml"
host_up c --ui-port 0 || exit 1
UI_URL=$(sed -n 's|.*dashboard of lattice [^ ]* at \(http://127.0.0.1:[0-9]*/\).*|\1|p' "$T/c.log" | head -1)
[ -n "$UI_URL" ] && pass "up --lattice --ui-port: URL logged ($UI_URL)" || fail "no 'dashboard of lattice' line in the host log"
if [ -n "$UI_URL" ]; then
  state
  check "up --ui-port: the view lists all three hosts" "$(json "$T/state.json" 'len(d["hosts"])')" 3
fi
for h in a b c; do host_stop "$h"; check "host $h: SIGTERM exit 0" "$HOST_RC" 0; done
lt_done
