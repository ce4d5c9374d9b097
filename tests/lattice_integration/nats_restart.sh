#!/usr/bin/env bash
# nats_restart.sh - nats-server restarted under the lattice: three hosts as
# in three_hosts.sh, load on A while nats-server is stopped (by PID) and
# started again on the same port with the same JetStream store. While it is
# down every request is still answered (an error status, no reset or hang)
# and no host exits; afterwards the hosts reconnect by themselves: 200 again
# within 10 s, every host answers `corral get hosts`, the links are still in
# the bucket, and a link change made after the restart reaches the other
# hosts (their bucket watchers resumed).
#   nats_restart.sh <corral> <guests> <keys> <source dir> <http_load> <nats-server>
. "$(dirname "$0")/lib.sh"
lt_init "$@"
P=/restart

three_hosts sqlite || exit 1
ms=$(wait_status "$P" 200 10) && pass "A -> B -> C: 200 after ${ms} ms" || fail "A -> B -> C: $ms"
check "count 2" "$(http "$P")" '200 {"counter":2}'

"$LOAD" "$PORT" "$P" 4 6 5000 > "$T/load.json" &
LOAD_PID=$!
sleep 1
nats_stop
t_down=$(now_ms)
# Down: one request by hand, answered with an error status in time.
out=$(curl -s -m 5 -o "$T/body" -w '%{http_code} %{time_total}' "http://127.0.0.1:$PORT$P" || echo "000 -")
code=${out%% *} secs=${out#* }
case "$code" in 5??) pass "NATS down: answered $code in ${secs} s: $(head -c 120 "$T/body")" ;;
  *) fail "NATS down: got '$out'" ;; esac
sleep 1
nats_start || exit 1
t_up=$(now_ms)
ms=$(wait_status "$P" 200 15) && {
  pass "lattice resumed: 200 ${ms} ms after nats-server was back ($(($(now_ms) - t_down)) ms after it stopped)"
  [ "$ms" -le 10000 ] && pass "resumed within 10 s" || fail "resumed only after $ms ms"
} || fail "lattice did not resume: $ms"
wait "$LOAD_PID" || true
echo "load across the restart: $(cat "$T/load.json")"
check "load: no reset, refused connection or hang" \
  "$(json "$T/load.json" '(d["resets"], d["refused"], d["hangs"], d["server_closed"])')" "(0, 0, 0, 0)"
check "load: 200 before and after, errors only while NATS was down" \
  "$(json "$T/load.json" 'd["status_200"] > 0 and d["requests"] > d["status_200"]')" True
for h in a b c; do
  kill -0 "$(host_pid "$h")" 2>/dev/null && pass "host $h kept running" || fail "host $h exited"
done
for _ in $(seq 50); do
  lattice_get hosts --json > "$T/hosts.json" 2>/dev/null &&
    [ "$(json "$T/hosts.json" 'len(d)')" = 3 ] && break
  sleep 0.2
done
check "get hosts after the restart: A, B and C" \
  "$(json "$T/hosts.json" 'sorted(h["labels"]["lt_host"] for h in d)')" "['a', 'b', 'c']"
lattice_get links --json > "$T/links.json"
check "the links survived in the JetStream store" \
  "$(json "$T/links.json" 'sorted(l["contract_id"] for l in d["links"])')" \
  "['wasmcloud:httpserver', 'wasmcloud:keyvalue']"
# A link change after the restart still reaches B (made on A, applied on B).
"$CORRAL" link del "$KV_KEY" wasmcloud:keyvalue --run-dir "$(host_run a)" >/dev/null && rc=0 || rc=$?
check "link del on A: exit 0" "$rc" 0
ms=$(wait_status "$P" 503 5) && pass "B saw the link go: 503 after ${ms} ms" || fail "link del: $ms"
check_contains "503 from the actor (store unlinked)" "$(http "$P")" '503 {"error":'
"$CORRAL" link put "$KV_KEY" wasmcloud:keyvalue --run-dir "$(host_run a)" >/dev/null && rc=0 || rc=$?
check "link put on A: exit 0" "$rc" 0
ms=$(wait_status "$P" 200 5) && pass "B saw the link back: 200 after ${ms} ms" || fail "link put: $ms"

for h in a b c; do host_stop "$h"; check "host $h: SIGTERM exit 0" "$HOST_RC" 0; done
lt_done
