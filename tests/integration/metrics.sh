#!/usr/bin/env bash
# metrics.sh - end to end: `corral up --metrics-port 0` with the kvcounter
# example; N HTTP requests raise corral_actor_calls_total{operation=
# "HandleRequest"} and the latency histogram's _count by exactly N between
# two scrapes of /metrics; a call of an unknown operation is counted as an
# error; other paths are 404; `corral top --once` shows the actor's totals;
# an HTTP request's traceparent continues in the logged actor call;
# --events stdout prints lifecycle CloudEvents.
#   metrics.sh <corral> <guests dir> <keys dir> <source dir>
. "$(dirname "$0")/lib.sh"
it_init "$@"
PORT=$(free_port); export PORT
MANIFEST=$SRC/examples/kvcounter/manifest.yaml

out=$("$CORRAL" up --metrics-bind 127.0.0.1 --run-dir "$RUN" 2>&1) && rc=0 || rc=$?
check "--metrics-bind without --metrics-port: exit 2" "$rc" 2
out=$("$CORRAL" up --metrics-port 70000 --run-dir "$RUN" 2>&1) && rc=0 || rc=$?
check "--metrics-port 70000: exit 2" "$rc" 2

start_host "$MANIFEST" --metrics-port 0 --log-level debug --events stdout || exit 1
wait_port "$PORT" || exit 1
MPORT=$(sed -n 's|.*metrics at http://127.0.0.1:\([0-9]*\)/metrics.*|\1|p' "$T/host.log" | head -1)
[ -n "$MPORT" ] && pass "metrics port logged ($MPORT)" || { fail "no 'metrics at' line in the log"; exit 1; }

# value METRIC OPERATION: the sample of the kvcounter actor, or 0 when absent.
value() {
  python3 - "$T/scrape" "$1" "$2" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
want, op = sys.argv[2], sys.argv[3]
tot = 0.0
for line in text.splitlines():
    if line.startswith("#") or not line.startswith(want + "{"): continue
    labels, val = line.rsplit(" ", 1)
    if 'name="kvcounter"' in labels and ('operation="%s"' % op) in labels and 'le="' not in labels:
        tot += float(val)
print(int(tot) if tot == int(tot) else tot)
PY
}
scrape() { curl -s -m 10 -o "$T/scrape" -w '%{http_code}' "http://127.0.0.1:$MPORT/metrics"; }

check "first scrape 200" "$(scrape)" 200
grep -q '^# TYPE corral_actor_call_duration_seconds histogram$' "$T/scrape" && pass "histogram TYPE line" || fail "no histogram TYPE line"
c0=$(value corral_actor_calls_total HandleRequest)
n0=$(value corral_actor_call_duration_seconds_count HandleRequest)
e0=$(value corral_actor_errors_total HandleRequest)
N=25
for i in $(seq $N); do
  [ "$(http /counter | cut -d' ' -f1)" = 200 ] || fail "request $i not 200"
done
check "second scrape 200" "$(scrape)" 200
c1=$(value corral_actor_calls_total HandleRequest)
n1=$(value corral_actor_call_duration_seconds_count HandleRequest)
e1=$(value corral_actor_errors_total HandleRequest)
check "calls rose by exactly $N" "$((c1 - c0))" "$N"
check "histogram count rose by exactly $N" "$((n1 - n0))" "$N"
check "no errors" "$((e1 - e0))" 0
inf=$(grep -F 'corral_actor_call_duration_seconds_bucket{' "$T/scrape" | grep -F 'operation="HandleRequest",le="+Inf"}' | awk '{print $2}')
check "+Inf bucket equals the count" "$inf" "$n1"
grep -q '^corral_provider_up{.*contract_id="wasmcloud:httpserver".*} 1$' "$T/scrape" && pass "http provider up" || fail "no corral_provider_up for the http provider"
grep -q '^corral_actor_instances{.*name="kvcounter"} [1-9]' "$T/scrape" && pass "instances gauge" || fail "no instances gauge"

# An unknown operation is a guest error, counted under its name.
remote_call kvcounter NoSuchOperation "" >/dev/null 2>&1 && fail "unknown operation succeeded" || pass "unknown operation fails"
scrape >/dev/null
check "error counted" "$(value corral_actor_errors_total NoSuchOperation)" 1
check "calls counted" "$(value corral_actor_calls_total NoSuchOperation)" 1
check "not a trap" "$(value corral_actor_traps_total NoSuchOperation)" 0

# corral top --once: one frame, no escape codes, the actor's totals.
top=$("$CORRAL" top --once --interval-ms 100 --run-dir "$RUN")
case "$top" in *$'\x1b'*) fail "top --once printed escape codes" ;; *) pass "top --once: no escape codes" ;; esac
row=$(printf '%s\n' "$top" | awk '$1 == "kvcounter"')
[ -n "$row" ] && pass "top shows kvcounter" || fail "top has no kvcounter row: $top"
tcalls=$(printf '%s' "$row" | awk '{print $5}') terrs=$(printf '%s' "$row" | awk '{print $6}')
[ "${tcalls:-0}" -ge "$c1" ] && pass "top calls >= $c1 ($tcalls)" || fail "top calls '$tcalls' < $c1"
check "top errors" "$terrs" 1
out=$("$CORRAL" top --interval-ms 5 --run-dir "$RUN" 2>&1) && rc=0 || rc=$?
check "top --interval-ms 5: exit 2" "$rc" 2

check "other path 404" "$(curl -s -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MPORT/")" 404
check "POST 405" "$(curl -s -m 5 -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$MPORT/metrics")" 405

# --events stdout: lifecycle events as CloudEvents JSON lines.
evs=$(grep '^{"specversion"' "$T/host.log" | python3 -c '
import json, sys
ts = []
for l in sys.stdin:
    e = json.loads(l)
    assert e["specversion"] == "1.0" and e["source"].startswith("corral://host/N"), e
    ts.append(e["type"].rsplit(".", 1)[1])
print(ts.count("actor_started"), ts.count("linkdef_set"), ts.count("provider_started") >= 4)')
check "CloudEvents: 1 actor_started, 2 linkdef_set, >= 4 provider_started" "$evs" "1 2 True"
out=$("$CORRAL" up --events file --run-dir "$RUN" 2>&1) && rc=0 || rc=$?
check "--events file: exit 2" "$rc" 2

# W3C traceparent: an HTTP request's header continues in the actor call (a
# new span of the same trace), printed in the host's debug call line.
TP=00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
check "request with traceparent" "$(curl -s -m 5 -o /dev/null -w '%{http_code}' -H "traceparent: $TP" "http://127.0.0.1:$PORT/counter")" 200
check "request with a malformed traceparent" "$(curl -s -m 5 -o /dev/null -w '%{http_code}' -H "traceparent: 00-XYZ" "http://127.0.0.1:$PORT/counter")" 200
sleep 0.3
line=$(grep 'operation HandleRequest' "$T/host.log" | grep 'traceparent=00-4bf92f3577b34da6a3ce929d0e0e4736-' || true)
check "one call line continues the trace" "$(printf '%s\n' "$line" | grep -c traceparent= || true)" 1
span=$(printf '%s' "$line" | sed -n 's/.*traceparent=00-[0-9a-f]*-\([0-9a-f]*\)-01.*/\1/p')
[ -n "$span" ] && [ "$span" != 00f067aa0ba902b7 ] && pass "its own span id ($span)" || fail "span id '$span'"
ntp=$(grep 'operation HandleRequest' "$T/host.log" | grep -c 'traceparent=00-[0-9a-f]\{32\}-[0-9a-f]\{16\}-01' || true)
[ "$ntp" -ge $((N + 2)) ] && pass "every HTTP call logged with a traceparent ($ntp)" || fail "only $ntp call lines with a traceparent"

stop_host_term
check "SIGTERM: exit 0" "$HOST_RC" 0
out=$("$CORRAL" top --once --run-dir "$RUN" 2>&1) && rc=0 || rc=$?
check "top without a host: exit 1" "$rc" 1
check_contains "top without a host: message" "$out" "no host is running"
it_done
