#!/usr/bin/env bash
# fault_redis.sh - Redis killed (SIGKILL) and restarted under HTTP load on
# kvcounter with keyvalue:redis: while it is down every request fails fast
# (503 from the actor carrying "keyvalue backend unavailable", each answered
# well under the 300 ms bound), requests succeed again within 1 s of Redis
# answering PING again, and the host process is the same one throughout.
#   fault_redis.sh <corral> <guests dir> <keys dir> <source dir>
. "$4/tests/integration/lib.sh"
it_init "$@"
command -v redis-server >/dev/null || { echo "skipped: no redis-server"; exit 0; }
PORT=$(free_port) RPORT=$(free_port)
redis_up() {
  redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
    >>"$T/redis.log" 2>&1 & RPID=$!
  for _ in $(seq 100); do redis-cli -p "$RPORT" ping 2>/dev/null | grep -q PONG && return 0; sleep 0.02; done
  fail "redis did not start"; return 1
}
LP=
redis_up || exit 1
trap 'kill -KILL $RPID 2>/dev/null || true; kill $LP 2>/dev/null || true; it_cleanup' EXIT
cat > "$T/m.yaml" <<YAML
actors:
  - \${CORRAL_GUEST_DIR}/kvcounter_s.wasm
capabilities:
  - kind: httpserver
  - kind: keyvalue:redis
    values: { URL: "redis://127.0.0.1:$RPORT" }
links:
  - actor: kvcounter
    contract_id: wasmcloud:httpserver
    values: { PORT: "$PORT" }
  - actor: kvcounter
    contract_id: wasmcloud:keyvalue
YAML
start_host "$T/m.yaml" || exit 1
wait_port "$PORT" || exit 1
PID0=$HOST_PID
check "before: counting" "$(http /r)" '200 {"counter":1}'
# background load during the whole test
( while :; do curl -s -o /dev/null -m 5 "http://127.0.0.1:$PORT/load" || true; done ) & LP=$!
sleep 1
kill -KILL "$RPID"; wait "$RPID" 2>/dev/null || true
sleep 0.2
worst=0 bad=0
for i in $(seq 20); do
  out=$(curl -s -m 5 -o "$T/b" -w '%{http_code} %{time_total}' "http://127.0.0.1:$PORT/r")
  code=${out% *} ms=$(awk -v t="${out#* }" 'BEGIN{printf "%d", t*1000}')
  [ "$ms" -gt "$worst" ] && worst=$ms
  if [ "$code" != 503 ] || ! grep -q "keyvalue backend unavailable" "$T/b"; then bad=$((bad+1)); echo "  down: $code $(cat "$T/b")"; fi
done
echo "figure: while Redis is down: 20 requests, slowest answered in $worst ms, $bad not 503/'keyvalue backend unavailable'"
check "down: documented error" "$bad" 0
[ "$worst" -lt 300 ] && pass "down: fail fast (< 300 ms)" || fail "down: slowest $worst ms"
redis_up || exit 1
t0=$(date +%s%N)
ok=
for _ in $(seq 300); do
  if [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$PORT/r")" = 200 ]; then ok=1; break; fi
  sleep 0.01
done
dt=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "figure: first success $dt ms after Redis answered PING again"
[ -n "$ok" ] && [ "$dt" -le 1000 ] && pass "back within 1 s ($dt ms)" || fail "not back within 1 s ($dt ms)"
kill -0 "$PID0" 2>/dev/null && pass "host never restarted (same pid)" || fail "host pid $PID0 gone"
kill "$LP" 2>/dev/null; wait "$LP" 2>/dev/null || true
stop_host_term
check "SIGTERM exit 0" "$HOST_RC" 0
kill -KILL "$RPID" 2>/dev/null || true
it_done
