#!/usr/bin/env bash
# three_hosts.sh - three `corral up --lattice` processes over a real
# nats-server with JetStream: HTTP on host A reaches the kvcounter actor on
# host B, whose store (keyvalue:sqlite, or keyvalue:redis at
# CORRAL_TEST_REDIS_URL with STORE=redis) is on host C. Checks that each
# piece runs where it should (inventories, the SQLite file under C's data
# dir), `corral get hosts|links|claims`, `corral watch events`, then a live
# update of the actor on B under load: every request answered 200, none
# lost or counted twice.
#   three_hosts.sh <corral> <guests> <keys> <source dir> <http_load> <nats-server> [sqlite|redis]
. "$(dirname "$0")/lib.sh"
lt_init "$@"
STORE=${7:-sqlite}
if [ "$STORE" = redis ] && [ -z "${CORRAL_TEST_REDIS_URL:-}" ]; then
  echo "skipped: CORRAL_TEST_REDIS_URL is not set"; exit 0
fi
CONNS=${CORRAL_LT_CONNS:-4} SECS=${CORRAL_LT_SECS:-6} UPDATES=${CORRAL_LT_UPDATES:-10}
P=/lt$$x$RANDOM   # a fresh counter key (a Redis store may be shared)

three_hosts "$STORE" || exit 1
# B started after C: it must learn of C's store provider at once, not at
# C's next heartbeat (30 s).
ms=$(wait_status "$P/first" 200 10) && pass "A -> B -> C answers 200 ${ms} ms after A was ready" ||
  fail "A -> B -> C: no 200 in 10 s ($ms)"
check "count 1" "$(http "$P")" '200 {"counter":1}'
check "count 2" "$(http "$P")" '200 {"counter":2}'
check "count 3" "$(http "$P")" '200 {"counter":3}'

# Where things run.
"$CORRAL" get inventory --json --run-dir "$(host_run a)" > "$T/inv_a.json"
"$CORRAL" get inventory --json --run-dir "$(host_run b)" > "$T/inv_b.json"
"$CORRAL" get inventory --json --run-dir "$(host_run c)" > "$T/inv_c.json"
check "A runs no actor" "$(json "$T/inv_a.json" 'len(d["actors"])')" 0
check "A runs the HTTP provider" \
  "$(json "$T/inv_a.json" 'sum(p["contract_id"]=="wasmcloud:httpserver" for p in d["providers"])')" 1
check "B runs kvcounter" "$(json "$T/inv_b.json" '[a["call_alias"] for a in d["actors"]]')" "['kvcounter']"
check "B's actor handled 4 calls" "$(json "$T/inv_b.json" 'd["actors"][0]["calls"]')" 4
check "B runs no store" \
  "$(json "$T/inv_b.json" 'sum(p["contract_id"]=="wasmcloud:keyvalue" for p in d["providers"])')" 0
check "C runs the store" \
  "$(json "$T/inv_c.json" '[p["name"] for p in d["providers"] if p["contract_id"]=="wasmcloud:keyvalue"]')" \
  "['keyvalue:$STORE']"
check "C runs no actor" "$(json "$T/inv_c.json" 'len(d["actors"])')" 0
if [ "$STORE" = sqlite ]; then
  n=$(find "$T/c/data" -type f | wc -l)
  [ "$n" -gt 0 ] && pass "the SQLite store lives under C's data dir ($n file(s))" ||
    fail "no file under C's data dir"
  n=$(find "$T/a/data" "$T/b/data" -type f | wc -l)
  check "no store file under A's or B's data dir" "$n" 0
fi

# The control CLI over NATS.
lattice_get hosts --json > "$T/hosts.json" && rc=0 || rc=$?
check "get hosts: exit 0" "$rc" 0
check "get hosts: A, B and C" \
  "$(json "$T/hosts.json" 'sorted(h["labels"].get("lt_host","?") for h in d)')" "['a', 'b', 'c']"
out=$(lattice_get hosts)
check_contains "get hosts (table)" "$out" "HOSTS (3) in lattice $LATTICE"
lattice_get links --json > "$T/links.json"
check "get links: both links, once" \
  "$(json "$T/links.json" 'sorted(l["contract_id"] for l in d["links"])')" \
  "['wasmcloud:httpserver', 'wasmcloud:keyvalue']"
check "get links: they name kvcounter's key" \
  "$(json "$T/links.json" 'sorted(set(l["actor_id"] for l in d["links"]))')" "['$KV_KEY']"
lattice_get claims --json > "$T/claims.json"
check "get claims: kvcounter" \
  "$(json "$T/claims.json" '[(c["sub"], c["name"], c.get("call_alias")) for c in d["claims"]]')" \
  "[('$KV_KEY', 'kvcounter', 'kvcounter')]"
out=$("$CORRAL" get hosts --lattice nosuch$$ --nats "$NATS_URL" --timeout 300 2>&1) && rc=0 || rc=$?
check "get hosts of an empty lattice: exit 1" "$rc" 1

# Live update on B under load, watched from the lattice's events.
for r in $(seq 2 $((UPDATES + 1))); do sign_kv "$r" "$T/kv$r.wasm"; done
"$CORRAL" watch events --lattice "$LATTICE" --nats "$NATS_URL" --type actor_updated \
  --count "$UPDATES" --timeout 20000 --json > "$T/events.txt" 2> "$T/watch.err" &
WATCH_PID=$!
echo "$WATCH_PID" > "$T/watch.pid"
for _ in $(seq 100); do grep -q watching "$T/watch.err" && break; sleep 0.05; done
check_contains "watch events: subscribed" "$(cat "$T/watch.err")" "watching wasmbus.evt.$LATTICE"
"$LOAD" "$PORT" "$P" "$CONNS" "$SECS" 5000 > "$T/load.json" &
LOAD_PID=$!
sleep 1
updates=0
step=$(python3 -c "print(max(0.05, ($SECS - 2.0) / $UPDATES))")
for r in $(seq 2 $((UPDATES + 1))); do
  if "$CORRAL" update actor kvcounter "$T/kv$r.wasm" --run-dir "$(host_run b)" >/dev/null 2>>"$T/ctl.err"; then
    updates=$((updates + 1))
  fi
  sleep "$step"
done
wait "$LOAD_PID" && lrc=0 || lrc=$?
echo "live update under load ($STORE): updates=$updates load: $(cat "$T/load.json")"
check "$UPDATES updates on B accepted" "$updates" "$UPDATES"
[ -s "$T/ctl.err" ] && { echo "control errors:"; cat "$T/ctl.err"; }
check "load: exit 0" "$lrc" 0
reqs=$(json "$T/load.json" 'd["requests"]')
check "load: every request 200" "$(json "$T/load.json" 'd["status_200"]')" "$reqs"
check "load: no 503/5xx, reset, refused or hang" \
  "$(json "$T/load.json" '(d["status_503"], d["status_other"], d["resets"], d["refused"], d["hangs"])')" \
  "(0, 0, 0, 0, 0)"
[ "$reqs" -gt 100 ] && pass "load: $reqs requests" || fail "load: only $reqs requests"
# Each 200 counted exactly once in C's store: the next count is 3 + reqs + 1.
check "no request lost or counted twice" "$(http "$P")" "200 {\"counter\":$((reqs + 4))}"
"$CORRAL" get inventory --json --run-dir "$(host_run b)" > "$T/inv_b.json"
check "B runs rev $((UPDATES + 1))" "$(json "$T/inv_b.json" 'd["actors"][0]["rev"]')" $((UPDATES + 1))
for _ in $(seq 100); do kill -0 "$WATCH_PID" 2>/dev/null || break; sleep 0.1; done
wait "$WATCH_PID" 2>/dev/null || true
rm -f "$T/watch.pid"
check "watch events: $UPDATES actor_updated events" "$(grep -c actor_updated "$T/events.txt" || true)" "$UPDATES"
B_KEY=$(json "$T/inv_b.json" 'd["host_key"]')
check "watch events: from B, revisions 2..$((UPDATES + 1)) in order" \
  "$(python3 -c 'import json,sys
evs = [json.loads(l) for l in open(sys.argv[1])]
print(sorted(set(e["source"] for e in evs)), [e["data"]["revision"] for e in evs])' "$T/events.txt")" \
  "['$B_KEY'] $(python3 -c "print(list(range(2, $UPDATES + 2)))")"
lattice_get claims --json > "$T/claims.json"
check "get claims: the bucket follows the update" \
  "$(json "$T/claims.json" '[c["rev"] for c in d["claims"]]')" "[$((UPDATES + 1))]"

# Clean shutdown of all three.
for h in a b c; do host_stop "$h"; check "host $h: SIGTERM exit 0" "$HOST_RC" 0; done
lt_done
