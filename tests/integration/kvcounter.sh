#!/usr/bin/env bash
# kvcounter.sh - end to end: `corral up examples/kvcounter/manifest.yaml`
# (SQLite store under a temp data dir, a free port), then over HTTP and the
# control socket: counting, 405, inventory, remote call, restart keeps the
# count, stop/start actor, link del -> 503 and link put -> 200, live update
# (higher rev accepted, lower and equal refused), manifest errors, stop host
# and SIGTERM both exit 0.
#   kvcounter.sh <corral> <guests dir> <keys dir> <source dir>
. "$(dirname "$0")/lib.sh"
it_init "$@"
PORT=$(free_port); export PORT
MANIFEST=$SRC/examples/kvcounter/manifest.yaml

# No host yet: a clear error.
out=$("$CORRAL" get inventory --run-dir "$RUN" 2>&1) && rc=0 || rc=$?
check "no host: exit 1" "$rc" 1
check_contains "no host: message" "$out" "no host is running: cannot connect to $RUN/control.sock"

# A manifest mistake is reported with file, line and key before anything starts.
printf 'actors:\n  - path: x.wasm\nlinks:\n  - actor: kvcounter\n    link_name: default\n' > "$T/bad.yaml"
out=$("$CORRAL" up "$T/bad.yaml" --run-dir "$RUN" --data-dir "$DATA" 2>&1) && rc=0 || rc=$?
check "bad manifest: exit 3" "$rc" 3
check_contains "bad manifest: file, line, key" "$out" "bad.yaml:4: links[0]: missing 'contract_id'"
[ ! -e "$RUN/control.sock" ] && pass "bad manifest: no socket" || fail "bad manifest left a socket"
printf 'actors:\n  - ${CORRAL_IT_UNSET_VAR}/k.wasm\n' > "$T/bad2.yaml"
out=$("$CORRAL" up "$T/bad2.yaml" --run-dir "$RUN" 2>&1) && rc=0 || rc=$?
check_contains "unset variable named" "$out" "bad2.yaml:2: actors[0]: environment variable CORRAL_IT_UNSET_VAR is not set"

start_host "$MANIFEST" --label env=test || exit 1
wait_port "$PORT" || exit 1
out=$("$CORRAL" up --run-dir "$RUN" --data-dir "$DATA" 2>&1) && rc=0 || rc=$?
check "second host on the same run dir: exit 1" "$rc" 1
check_contains "second host: message" "$out" "another host is running on $RUN/control.sock"
check "GET /counter -> 1" "$(http /counter)" '200 {"counter":1}'
check "GET /counter -> 2" "$(http /counter)" '200 {"counter":2}'
check "GET /other/x -> 1 (key :other:x)" "$(http /other/x)" '200 {"counter":1}'
ctype=$(curl -s -m 5 -o /dev/null -w '%{content_type}' "http://127.0.0.1:$PORT/ct")
check "content-type" "$ctype" "application/json"
check "POST -> 405" "$(http /counter -X POST | cut -d' ' -f1)" 405

inv=$("$CORRAL" get inventory --run-dir "$RUN")
check_contains "inventory lists the actor" "$inv" "kvcounter"
check_contains "inventory lists the http provider" "$inv" "wasmcloud:httpserver"
invj=$("$CORRAL" get inventory --json --run-dir "$RUN")
alias=$(printf '%s' "$invj" | python3 -c 'import json,sys;d=json.load(sys.stdin);print(",".join(a.get("call_alias","") for a in d["actors"]))')
check "inventory --json call_alias" "$alias" "kvcounter"
nlinks=$(printf '%s' "$invj" | python3 -c 'import json,sys;print(len(json.load(sys.stdin)["links"]))')
check "inventory --json links" "$nlinks" 2
labels=$(printf '%s' "$invj" | python3 -c 'import json,sys;d=json.load(sys.stdin)["labels"];print(d.get("app"),d.get("env"))')
check "labels from manifest and --label" "$labels" "kvcounter test"
KEY=$(printf '%s' "$invj" | python3 -c 'import json,sys;print(json.load(sys.stdin)["actors"][0]["key"])')

# Remote call by alias and by key: the actor's health answer (msgpack).
h=$(remote_call kvcounter HealthRequest "" | od -An -c | tr -d ' \n')
check_contains "remote call HealthRequest" "$h" "healthy"
h=$(remote_call "$KEY" HealthRequest "" | od -An -c | tr -d ' \n')
check_contains "remote call by key" "$h" "healthy"
out=$(remote_call nosuchactor Op "" 2>&1) && rc=0 || rc=$?
check "remote call unknown actor: exit 1" "$rc" 1
check_contains "remote call unknown actor: message" "$out" "nosuchactor"

# Restart: the SQLite count survives.
stop_host_term
check "SIGTERM: exit 0" "$HOST_RC" 0
[ ! -e "$RUN/control.sock" ] && pass "socket removed on exit" || fail "socket left behind"
start_host "$MANIFEST" || exit 1
wait_port "$PORT" || exit 1
check "after restart -> 3" "$(http /counter)" '200 {"counter":3}'

# Stop and start the actor: its links come back with it.
out=$("$CORRAL" stop actor kvcounter --run-dir "$RUN") && rc=0 || rc=$?
check "stop actor: exit 0" "$rc" 0
code=$(http /counter | cut -d' ' -f1)
case "$code" in 000|503) pass "stopped actor: no 200 ($code)" ;; *) fail "stopped actor answered $code" ;; esac
out=$("$CORRAL" stop actor kvcounter --run-dir "$RUN" 2>&1) && rc=0 || rc=$?
check "stop unknown actor: exit 1" "$rc" 1
"$CORRAL" start actor "$GUESTS/kvcounter_s.wasm" --max-instances 3 --run-dir "$RUN" >/dev/null && rc=0 || rc=$?
check "start actor: exit 0" "$rc" 0
maxi=$("$CORRAL" get inventory --json --run-dir "$RUN" | python3 -c 'import json,sys;print(json.load(sys.stdin)["actors"][0]["max_instances"])')
check "start actor --max-instances 3" "$maxi" 3
out=$("$CORRAL" get health kvcounter --run-dir "$RUN") && rc=0 || rc=$?
check "get health: exit 0" "$rc" 0
check "get health" "$out" "kvcounter: healthy - ok"
wait_port "$PORT"
check "restarted actor -> 4" "$(http /counter)" '200 {"counter":4}'
out=$("$CORRAL" start actor "$GUESTS/kvcounter_s.wasm" --run-dir "$RUN" 2>&1) && rc=0 || rc=$?
check "start running actor again: exit 1" "$rc" 1

# Unlink the store: 503 (the actor says the store is unavailable); relink: 200.
"$CORRAL" link del kvcounter wasmcloud:keyvalue --run-dir "$RUN" >/dev/null && rc=0 || rc=$?
check "link del: exit 0" "$rc" 0
r=$(http /counter)
check "after link del -> 503" "${r%% *}" 503
"$CORRAL" link put kvcounter wasmcloud:keyvalue --run-dir "$RUN" >/dev/null && rc=0 || rc=$?
check "link put: exit 0" "$rc" 0
out=$("$CORRAL" link put kvcounter wasmcloud:keyvalue SYNC=sometimes --run-dir "$RUN" 2>&1) && rc=0 || rc=$?
check "link put with a value the provider refuses: exit 1" "$rc" 1
check_contains "link put refused: the provider's reason" "$out" "SYNC must be 'normal' or 'full'"
check "after link put -> 5" "$(http /counter)" '200 {"counter":5}'

# Live update: higher rev accepted, equal or lower refused.
sign_kv 2 "$T/kv2.wasm"
sign_kv 1 "$T/kv1.wasm"
out=$("$CORRAL" update actor kvcounter "$T/kv2.wasm" --run-dir "$RUN") && rc=0 || rc=$?
check "update to rev 2: exit 0" "$rc" 0
check_contains "update reports revs" "$out" "rev 1 -> 2"
check "updated actor -> 6" "$(http /counter)" '200 {"counter":6}'
out=$("$CORRAL" update actor kvcounter "$T/kv1.wasm" --run-dir "$RUN" 2>&1) && rc=0 || rc=$?
check "update to lower rev: exit 1" "$rc" 1
out=$("$CORRAL" update actor kvcounter "$T/kv2.wasm" --run-dir "$RUN" 2>&1) && rc=0 || rc=$?
check "update to equal rev: exit 1" "$rc" 1
rev=$("$CORRAL" get inventory --json --run-dir "$RUN" | python3 -c 'import json,sys;print(json.load(sys.stdin)["actors"][0]["rev"])')
check "inventory shows rev 2" "$rev" 2

# stop host: drains and exits 0.
"$CORRAL" stop host --wait --run-dir "$RUN" >/dev/null && rc=0 || rc=$?
check "stop host --wait: exit 0" "$rc" 0
wait "$HOST_PID" && HOST_RC=0 || HOST_RC=$?
HOST_PID=
check "corral up after stop host: exit 0" "$HOST_RC" 0
it_done
