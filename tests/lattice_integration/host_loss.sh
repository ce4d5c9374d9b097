#!/usr/bin/env bash
# host_loss.sh - the actor's host goes away and comes back, A stays up.
# Three hosts as in three_hosts.sh (A: HTTP, B: kvcounter, C: SQLite store).
#   1. B killed (SIGKILL) under load: every request is answered - 200 before,
#      504 for the calls in flight on B (the lattice call times out), 503 once
#      the server has dropped B's subscription (no host runs the actor) -
#      never a reset, refused connection or hang; A keeps running.
#   2. Another host (C) starts the actor: 200 again; it stops it: 503.
#   3. B restarted (same run and data dirs): 200 again within a few seconds.
#   4. B hung (SIGSTOP): every call fails with the timeout, 504 "gateway
#      timeout" after the 2 s call timeout; SIGCONT: 200 again.
#   host_loss.sh <corral> <guests> <keys> <source dir> <http_load> <nats-server>
. "$(dirname "$0")/lib.sh"
lt_init "$@"
CONNS=${CORRAL_LT_CONNS:-4}
P=/loss

three_hosts sqlite || exit 1
ms=$(wait_status "$P" 200 10) && pass "A -> B -> C: 200 after ${ms} ms" || fail "A -> B -> C: $ms"

# A stays up: its process, its control socket and its listener.
a_alive() {
  kill -0 "$(host_pid a)" 2>/dev/null && "$CORRAL" get inventory --run-dir "$(host_run a)" >/dev/null
}

# 1. B killed under load.
"$LOAD" "$PORT" "$P" "$CONNS" 4 5000 > "$T/kill.json" &
LOAD_PID=$!
sleep 1.5
t_kill=$(now_ms)
host_kill b
wait "$LOAD_PID" || true
echo "B killed under load: $(cat "$T/kill.json")"
check "kill: no reset, refused connection or hang" \
  "$(json "$T/kill.json" '(d["resets"], d["refused"], d["hangs"], d["server_closed"])')" "(0, 0, 0, 0)"
check "kill: every request answered 200, 503 or 504" \
  "$(json "$T/kill.json" 'd["requests"] == d["status_200"] + d["status_503"] + d["status_504"]')" True
check "kill: 200 before the kill, 503 after it" \
  "$(json "$T/kill.json" 'd["status_200"] > 0 and d["status_503"] > 0')" True
check "kill: at most one timeout (504) per connection in flight" \
  "$(json "$T/kill.json" "d['status_504'] <= $CONNS")" True
check "kill: no answer slower than the 2 s call timeout (+0.5 s)" \
  "$(json "$T/kill.json" 'd["max_latency_ms"] < 2500')" True
a_alive && pass "A is up after B was killed" || fail "A is gone after B was killed"
r=$(http "$P")
check "B gone: 503 from A" "$r" "503 service unavailable: no actor is ready for this request"
lattice_get hosts --json > "$T/hosts.json"
check "B gone: get hosts shows A and C" \
  "$(json "$T/hosts.json" 'sorted(h["labels"]["lt_host"] for h in d)')" "['a', 'c']"

# 2. Another host runs the actor.
t0=$(now_ms)
"$CORRAL" start actor "$GUESTS/kvcounter_s.wasm" --run-dir "$(host_run c)" >/dev/null && rc=0 || rc=$?
check "start the actor on C: exit 0" "$rc" 0
ms=$(wait_status "$P" 200 5) && pass "actor on C: 200 $(($(now_ms) - t0)) ms after 'corral start actor'" ||
  fail "actor on C: $ms"
"$CORRAL" stop actor kvcounter --run-dir "$(host_run c)" >/dev/null && rc=0 || rc=$?
check "stop the actor on C: exit 0" "$rc" 0
check "no actor anywhere: 503" "$(http "$P" | cut -d' ' -f1)" 503

# 3. B comes back (its run dir still holds the killed host's socket).
t0=$(now_ms)
host_up b || exit 1
t_ready=$(now_ms)
ms=$(wait_status "$P" 200 10) && pass "B back: 200 $(($(now_ms) - t0)) ms after starting it ($ms ms after it was ready; $(($(now_ms) - t_kill)) ms after the kill)" ||
  fail "B back: $ms"
[ "$(($(now_ms) - t0))" -le 5000 ] && pass "B back: 200 within 5 s" || fail "B back: 200 only after $(($(now_ms) - t0)) ms"
a_alive && pass "A is up" || fail "A is gone"

# 4. B hung: calls time out.
kill -STOP "$(host_pid b)"
"$LOAD" "$PORT" "$P" "$CONNS" 3 5000 > "$T/stop.json" && lrc=0 || lrc=$?
echo "B stopped (SIGSTOP) under load: $(cat "$T/stop.json")"
check "hung B: every request answered 504" \
  "$(json "$T/stop.json" '(d["requests"] > 0, d["status_504"] == d["requests"])')" "(True, True)"
check "hung B: no reset, refused connection or hang" \
  "$(json "$T/stop.json" '(d["resets"], d["refused"], d["hangs"], d["server_closed"])')" "(0, 0, 0, 0)"
check "hung B: answered at the 2 s timeout (1.9 .. 2.5 s)" \
  "$(json "$T/stop.json" '1900 <= d["max_latency_ms"] < 2500')" True
out=$(curl -s -m 5 -o "$T/body" -w '%{http_code} %{time_total}' "http://127.0.0.1:$PORT$P")
check "hung B: 504 and its text" "${out%% *} $(cat "$T/body")" "504 gateway timeout: the actor did not answer in time"
a_alive && pass "A is up while B hangs" || fail "A is gone while B hangs"
kill -CONT "$(host_pid b)"
ms=$(wait_status "$P" 200 10) && pass "B resumed (SIGCONT): 200 after ${ms} ms" || fail "B resumed: $ms"

for h in a b c; do host_stop "$h"; check "host $h: SIGTERM exit 0" "$HOST_RC" 0; done
lt_done
