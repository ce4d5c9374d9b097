#!/usr/bin/env bash
# zero_downtime.sh - live updates and relinks under load: kvcounter on the
# in-memory store behind the HTTP provider, http_load keeps CONNS keep-alive
# connections busy for SECS seconds while this script performs 50 actor
# updates (revs 2..51), 20 keyvalue relinks (link del + link put) and 10
# swaps of the keyvalue provider (stop it, start a new instance). Every
# request must get 200, or 503 while the store is unlinked or being swapped; no reset, no
# refused connection, no hang. Prints the counts.
#   zero_downtime.sh <corral> <guests dir> <keys dir> <source dir> <http_load>
. "$(dirname "$0")/lib.sh"
LOAD=$5
it_init "$1" "$2" "$3" "$4"
CONNS=${CORRAL_IT_CONNS:-8} SECS=${CORRAL_IT_SECS:-20}
PORT=$(free_port)
cat > "$T/mem.yaml" <<YAML
actors:
  - path: \${CORRAL_GUEST_DIR}/kvcounter_s.wasm
    max_instances: 8
capabilities:
  - kind: httpserver
  - kind: keyvalue:memory
links:
  - actor: kvcounter
    contract_id: wasmcloud:httpserver
    values: { PORT: "$PORT", THREADS: "4" }
  - actor: kvcounter
    contract_id: wasmcloud:keyvalue
YAML
for r in $(seq 2 51); do sign_kv "$r" "$T/kv$r.wasm"; done
start_host "$T/mem.yaml" || exit 1
wait_port "$PORT" || exit 1
"$LOAD" "$PORT" /load "$CONNS" "$SECS" 5000 > "$T/load.json" &
LOAD_PID=$!
sleep 1
updates=0 relinks=0 swaps=0 uerr=0 lerr=0 serr=0
step=$(python3 -c "print(max(0.01, ($SECS - 3) / 50.0 - 0.05))")
for r in $(seq 2 51); do
  if "$CORRAL" update actor kvcounter "$T/kv$r.wasm" --run-dir "$RUN" >/dev/null 2>>"$T/ctl.err"; then
    updates=$((updates + 1)); else uerr=$((uerr + 1)); fi
  if [ $((r % 2)) = 0 ] && [ $relinks -lt 20 ] && [ $r -gt 5 ]; then
    if "$CORRAL" link del kvcounter wasmcloud:keyvalue --run-dir "$RUN" >/dev/null 2>>"$T/ctl.err" &&
       "$CORRAL" link put kvcounter wasmcloud:keyvalue --run-dir "$RUN" >/dev/null 2>>"$T/ctl.err"; then
      relinks=$((relinks + 1)); else lerr=$((lerr + 1)); fi
  fi
  # Every 5th revision also swaps the store provider itself (stop + start a
  # new instance): the kept link is applied to the new one.
  if [ $((r % 5)) = 0 ]; then
    pkey=$("$CORRAL" get inventory --json --run-dir "$RUN" |
      python3 -c 'import json,sys;print([p["key"] for p in json.load(sys.stdin)["providers"] if p["contract_id"]=="wasmcloud:keyvalue"][0])')
    if "$CORRAL" stop provider "$pkey" --run-dir "$RUN" >/dev/null 2>>"$T/ctl.err" &&
       "$CORRAL" start provider keyvalue:memory --run-dir "$RUN" >/dev/null 2>>"$T/ctl.err"; then
      swaps=$((swaps + 1)); else serr=$((serr + 1)); fi
  fi
  sleep "$step"
done
wait "$LOAD_PID" && lrc=0 || lrc=$?
echo "updates=$updates relinks=$relinks provider_swaps=$swaps load: $(cat "$T/load.json")"
check "50 updates accepted" "$updates" 50
check "20 relinks done" "$relinks" 20
check "10 provider swaps done" "$swaps" 10
[ -s "$T/ctl.err" ] && { echo "control errors:"; cat "$T/ctl.err"; }
check "load: only 200/503, no reset/refused/hang" "$lrc" 0
rev=$("$CORRAL" get inventory --json --run-dir "$RUN" | python3 -c 'import json,sys;print(json.load(sys.stdin)["actors"][0]["rev"])')
check "final rev 51" "$rev" 51
stop_host_term
check "SIGTERM under no load: exit 0" "$HOST_RC" 0
it_done
