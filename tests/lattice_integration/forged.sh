#!/usr/bin/env bash
# forged.sh - forged invocations published by the test with raw NATS client
# code (nats_raw.py: the NATS text protocol, no library) are refused by a
# real host process. Three hosts as in three_hosts.sh; the test listens on
# B's actor subject, captures the genuine invocation A sends for one HTTP
# request, then publishes it again unchanged (replay), with its body altered
# (hash mismatch) and with its token's signature altered. Each gets an error
# reply naming the reason, an invocation_failed event from B, and never
# reaches the actor (the count does not move). The in-process variants
# (unsigned, wrong cluster key, expired, wrong target...) are in
# tests/lattice/test_lattice_nats.c (forged_invocations_refused).
#   forged.sh <corral> <guests> <keys> <source dir> <http_load> <nats-server>
. "$(dirname "$0")/lib.sh"
lt_init "$@"
RAW=$(dirname "$0")/nats_raw.py
P=/forged
SUBJ=wasmbus.rpc.$LATTICE.$KV_KEY

three_hosts sqlite || exit 1
ms=$(wait_status "$P" 200 10) && pass "A -> B -> C: 200 after ${ms} ms" || fail "A -> B -> C: $ms"

python3 "$RAW" capture "$NATS_PORT" "$SUBJ" "$T/inv.bin" 10 > "$T/cap.out" 2> "$T/cap.err" &
CAP_PID=$!
echo "$CAP_PID" > "$T/cap.pid"
"$CORRAL" watch events --lattice "$LATTICE" --nats "$NATS_URL" --type invocation_failed \
  --count 3 --timeout 10000 --json > "$T/events.txt" 2> "$T/watch.err" &
WATCH_PID=$!
echo "$WATCH_PID" > "$T/watch.pid"
for _ in $(seq 100); do
  grep -q subscribed "$T/cap.out" && grep -q watching "$T/watch.err" && break
  sleep 0.05
done
TRACE=4bf92f3577b34da6a3ce929d0e0e4736
check "genuine call while listening" \
  "$(http "$P" -H "traceparent: 00-$TRACE-00f067aa0ba902b7-01")" '200 {"counter":2}'
wait "$CAP_PID" && rc=0 || rc=$?
rm -f "$T/cap.pid"
check "captured A's invocation of B's actor" "$rc" 0
check "the capture is a HandleRequest for $P" \
  "$(python3 -c 'import sys;d=open(sys.argv[1],"rb").read();print(b"HandleRequest" in d, sys.argv[2].encode() in d)' "$T/inv.bin" "$P")" \
  "True True"
# The invocation carries the W3C trace context of the HTTP request (same trace id).
check "the invocation carries the request's trace id" \
  "$(python3 -c 'import sys;d=open(sys.argv[1],"rb").read();print(b"traceparent" in d, ("00-"+sys.argv[2]+"-").encode() in d)' "$T/inv.bin" "$TRACE")" \
  "True True"

# refused REQUEST_FILE EXPECTED_TEXT NAME
refused() {
  local out rc
  out=$(python3 "$RAW" request "$NATS_PORT" "$SUBJ" "$1" 5 2>&1 | tr -c '[:print:]' ' ') && rc=0 || rc=$?
  check "$3: a reply" "$rc" 0
  echo "      reply: $(printf '%s' "$out" | tr -s ' ' | head -c 220)"
  check_contains "$3: refused" "$out" "$2"
}
refused "$T/inv.bin" "this id was already seen (replay)" "replayed unchanged"
python3 -c 'import sys
d = open(sys.argv[1], "rb").read()
open(sys.argv[2], "wb").write(d.replace(b"/forged", b"/forgeD", 1))' "$T/inv.bin" "$T/tampered.bin"
refused "$T/tampered.bin" "the message hash does not match its token (tampered in transit)" "body altered"
python3 -c 'import re, sys
d = bytearray(open(sys.argv[1], "rb").read())
m = re.search(rb"eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.([A-Za-z0-9_-]+)", d)
i = m.start(1) + 5
d[i] = ord("A") if d[i] != ord("A") else ord("B")
open(sys.argv[2], "wb").write(bytes(d))' "$T/inv.bin" "$T/badsig.bin"
refused "$T/badsig.bin" "its anti-forgery token does not verify" "signature altered"

check "no forged call reached the actor" "$(http "$P")" '200 {"counter":3}'
for _ in $(seq 100); do kill -0 "$WATCH_PID" 2>/dev/null || break; sleep 0.1; done
wait "$WATCH_PID" 2>/dev/null || true
rm -f "$T/watch.pid"
"$CORRAL" get inventory --json --run-dir "$(host_run b)" > "$T/inv_b.json"
B_KEY=$(json "$T/inv_b.json" 'd["host_key"]')
check "3 invocation_failed events, from B" \
  "$(python3 -c 'import json,sys
evs = [json.loads(l) for l in open(sys.argv[1])]
print(len(evs), sorted(set(e["source"] for e in evs)))' "$T/events.txt")" "3 ['$B_KEY']"

for h in a b c; do host_stop "$h"; check "host $h: SIGTERM exit 0" "$HOST_RC" 0; done
lt_done
