#!/usr/bin/env bash
# admission.sh - what `corral up` lets in: --revoked (by module key and by
# token id), --allowed-issuer, and the default memory cap (--max-pages).
#   admission.sh <corral> <guests dir> <keys dir> <source dir>
. "$(dirname "$0")/lib.sh"
it_init "$@"
PORT=$(free_port); export PORT
MANIFEST=$SRC/examples/kvcounter/manifest.yaml
MOD=$GUESTS/kvcounter_s.wasm
[ -f "$MOD" ] || { fail "no signed kvcounter at $MOD"; exit 1; }
claims=$("$CORRAL" claims inspect "$MOD" --json)
field() { printf '%s' "$claims" | python3 -c "import json,sys;print(json.load(sys.stdin)['claims']$1)"; }
SUB=$(field "['sub']") JTI=$(field "['jti']") ISS=$(field "['iss']")

# A revoked module key or token id is refused before the host serves anything.
for rev in "$SUB" "$JTI"; do
  out=$(timeout 20 "$CORRAL" up "$MANIFEST" --revoked "$rev" --run-dir "$RUN" --data-dir "$DATA" 2>&1) && rc=0 || rc=$?
  check "revoked ${rev:0:6}...: exit 1" "$rc" 1
  check_contains "revoked ${rev:0:6}...: reason" "$out" "revoked"
done

# An issuer list that does not name the actor's issuer refuses it.
OTHER=$("$CORRAL" keys gen account --json | python3 -c 'import json,sys;print(json.load(sys.stdin)["public_key"])')
out=$(timeout 20 "$CORRAL" up "$MANIFEST" --allowed-issuer "$OTHER" --run-dir "$RUN" --data-dir "$DATA" 2>&1) && rc=0 || rc=$?
check "issuer not allowed: exit 1" "$rc" 1
check_contains "issuer not allowed: reason" "$out" "allowed"

out=$(timeout 20 "$CORRAL" up "$MANIFEST" --max-pages 0 --run-dir "$RUN" 2>&1) && rc=0 || rc=$?
check "--max-pages 0: usage error" "$rc" 2
# Numeric options share one parser (cli_util.c corral_cli_parse_uint): digits in range only.
for bad in x -1 +4 1025 99999999999999999999; do
  out=$(timeout 20 "$CORRAL" up "$MANIFEST" --workers "$bad" --run-dir "$RUN" 2>&1) && rc=0 || rc=$?
  check "--workers $bad: usage error" "$rc" 2
  check_contains "--workers $bad: message" "$out" "--workers needs a whole number from 0 to 1024, not '$bad'"
done

# The actor's own issuer on the list, a cap of 2 pages below what the
# module declares: starting the actor fails with the engine's limit.
out=$(timeout 20 "$CORRAL" up "$MANIFEST" --allowed-issuer "$ISS" --max-pages 1 --run-dir "$RUN" --data-dir "$DATA" 2>&1) && rc=0 || rc=$?
check "max-pages below the module's memory: exit 1" "$rc" 1

# With its issuer allowed and a workable cap, it serves.
start_host "$MANIFEST" --allowed-issuer "$ISS" --max-pages 64 || exit 1
wait_port "$PORT" || exit 1
check "allowed issuer serves" "$(http /admission)" '200 {"counter":1}'
stop_host_term
check "SIGTERM: exit 0" "$HOST_RC" 0
it_done
