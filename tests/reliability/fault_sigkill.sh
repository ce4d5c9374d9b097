#!/usr/bin/env bash
# fault_sigkill.sh - the host killed with SIGKILL while writing, SQLite store
# with SYNC=full: a client counts every increment it saw acknowledged (HTTP
# 200 {"counter":N} from kvcounter), the host is killed mid-load, restarted
# on the same data dir, and the stored count must be at least the highest
# acknowledged one (no acknowledged write lost), and the database must pass
# PRAGMA integrity_check. Three rounds.
#   fault_sigkill.sh <corral> <guests dir> <keys dir> <source dir>
. "$4/tests/integration/lib.sh"
it_init "$@"
PORT=$(free_port)
cat > "$T/m.yaml" <<YAML
actors:
  - \${CORRAL_GUEST_DIR}/kvcounter_s.wasm
capabilities:
  - kind: httpserver
  - kind: keyvalue:sqlite
    values: { SYNC: full, PATH: "$T/kv.db" }
links:
  - actor: kvcounter
    contract_id: wasmcloud:httpserver
    values: { PORT: "$PORT" }
  - actor: kvcounter
    contract_id: wasmcloud:keyvalue
YAML
load() { # writes one acknowledged counter per line to $1
  while :; do
    r=$(curl -s -m 5 "http://127.0.0.1:$PORT/kill" 2>/dev/null || true)
    case "$r" in '{"counter":'*'}') r=${r#'{"counter":'}; echo "${r%\}}" >>"$1" ;; esac
  done
}
for round in 1 2 3; do
  start_host "$T/m.yaml" || exit 1
  wait_port "$PORT" || exit 1
  : >"$T/acks"
  load "$T/acks" & L1=$!
  load "$T/acks" & L2=$!
  sleep "1.$((RANDOM % 9))"
  kill -KILL "$HOST_PID"; wait "$HOST_PID" 2>/dev/null || true; HOST_PID=
  sleep 0.3
  kill "$L1" "$L2" 2>/dev/null || true; wait "$L1" "$L2" 2>/dev/null || true
  acked=$(sort -n "$T/acks" | tail -1); acked=${acked:-0}
  n=$(wc -l <"$T/acks")
  [ -s "$T/kv.db" ] || fail "round $round: no database at $T/kv.db"
  ic=$(sqlite3 "$T/kv.db" 'PRAGMA integrity_check;' 2>&1 || true)
  check "round $round: integrity_check after SIGKILL" "$ic" ok
  start_host "$T/m.yaml" || exit 1
  wait_port "$PORT" || exit 1
  r=$(http /kill)
  next=$(echo "$r" | sed -n 's/^200 {"counter":\([0-9]*\)}$/\1/p')
  stored=$(( ${next:-0} - 1 ))
  echo "figure: round $round: $n acknowledged increments, highest $acked, stored after restart $stored"
  if [ -n "$next" ] && [ "$stored" -ge "$acked" ] && [ "$n" -gt 0 ]; then pass "round $round: every acknowledged increment kept"
  else fail "round $round: stored $stored < acknowledged $acked (reply '$r', $n acks)"; fi
  stop_host_term
done
it_done
