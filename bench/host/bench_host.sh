#!/usr/bin/env bash
# bench_host.sh - the host end to end under wrk, beside a bare libmicrohttpd
# server in the same run: requests/s, p50 and p99 latency of
#   bare       corral_bench_bare_hello (HTTP alone, the provider's settings)
#   memory     kvcounter on keyvalue:memory  (HTTP + actor + Add)
#   sqlite     kvcounter on keyvalue:sqlite  (SYNC normal, WAL)
#   redis      kvcounter on keyvalue:redis   (CORRAL_TEST_REDIS_URL, or a
#              redis-server started here on a free port when installed)
#   memory+updates  the memory run while `corral update actor` swaps in a new
#              revision back to back (p99 during live updates)
# Every run uses keep-alive connections from wrk on loopback. The bare server
# runs first and last; compare each row with both (the machine's load drifts).
#   bench/host/bench_host.sh <build dir> [seconds] [connections]
# Needs: ninja -C <build> corral corral_bench_bare_hello corral_guests
set -euo pipefail
B=$(cd "${1:?usage: bench_host.sh <build dir> [seconds] [connections]}" && pwd)
SECS=${2:-10} CONNS=${3:-32} WT=2
SRC=$(cd "$(dirname "$0")/../.." && pwd)
CORRAL=$B/cli/corral BARE=$B/bench/host/corral_bench_bare_hello
GUESTS=$B/guests KEYS=$B/keys
for f in "$CORRAL" "$BARE" "$GUESTS/kvcounter_s.wasm" "$KEYS/kvcounter.nk"; do
  [ -e "$f" ] || { echo "missing $f: ninja -C $B corral corral_bench_bare_hello corral_guests"; exit 2; }
done
command -v wrk >/dev/null || { echo "wrk is not installed"; exit 2; }
T=$(mktemp -d /tmp/corral-bench.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null || true; done
  rm -rf "$T"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 200); do
    python3 -c 'import socket,sys;socket.create_connection(("127.0.0.1",int(sys.argv[1])),0.2)' "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  echo "port $1 never opened"; exit 1
}

# run_wrk NAME URL: one wrk run, one result row.
printf '%-16s %12s %10s %10s %10s\n' run "requests/s" "p50 ms" "p99 ms" "non-2xx"
run_wrk() {
  wrk -t"$WT" -c"$CONNS" -d"${SECS}s" --latency "$2" > "$T/wrk.txt" 2>&1 || true
  python3 - "$1" "$T/wrk.txt" <<'PY'
import re, sys
name, text = sys.argv[1], open(sys.argv[2]).read()
def ms(v):
    m = re.match(r"([\d.]+)(us|ms|s)", v)
    return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)] if m else float("nan")
rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
p50 = re.search(r"\s50%\s+(\S+)", text)
p99 = re.search(r"\s99%\s+(\S+)", text)
bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
err = re.search(r"Socket errors:.*", text)
print("%-16s %12.0f %10.2f %10.2f %10d%s" % (name, float(rps.group(1)) if rps else 0.0,
      ms(p50.group(1)) if p50 else float("nan"), ms(p99.group(1)) if p99 else float("nan"),
      int(bad.group(1)) if bad else 0, ("  " + err.group(0)) if err else ""))
PY
}

# bare libmicrohttpd (run first and last: the machine's load drifts)
bare_run() {
  local p
  p=$(free_port)
  "$BARE" "$p" 2 & PIDS+=($!)
  wait_port "$p"
  run_wrk "$1" "http://127.0.0.1:$p/counter"
  kill "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true
}
bare_run bare

# host_run NAME KIND LINKVALUES [UPDATES]
host_run() {
  local name=$1 kind=$2 kvvals=$3 updates=${4:-0} port
  port=$(free_port)
  cat > "$T/m.yaml" <<YAML
actors:
  - path: $GUESTS/kvcounter_s.wasm
    max_instances: 8
capabilities:
  - kind: httpserver
  - kind: $kind
links:
  - actor: kvcounter
    contract_id: wasmcloud:httpserver
    values: { PORT: "$port" }
  - actor: kvcounter
    contract_id: wasmcloud:keyvalue
    values: { $kvvals }
YAML
  rm -rf "$T/run" "$T/data"
  "$CORRAL" up "$T/m.yaml" --run-dir "$T/run" --data-dir "$T/data" --log-level warn 2>"$T/host.log" &
  local hp=$!
  PIDS+=($hp)
  wait_port "$port"
  if [ "$updates" = 0 ]; then
    run_wrk "$name" "http://127.0.0.1:$port/counter"
  else
    ( r=2; n=0; end=$(( $(date +%s) + SECS ))
      while [ "$(date +%s)" -lt "$end" ] && [ -e "$T/kv$r.wasm" ]; do
        "$CORRAL" update actor kvcounter "$T/kv$r.wasm" --run-dir "$T/run" >/dev/null && n=$((n + 1))
        r=$((r + 1))
      done
      echo "$n" > "$T/updates" ) &
    local up=$!
    run_wrk "$name" "http://127.0.0.1:$port/counter"
    wait "$up" || true
    echo "  (live updates during the run: $(cat "$T/updates"))"
  fi
  kill -TERM "$hp"; wait "$hp" 2>/dev/null || true
}

host_run memory keyvalue:memory ""
host_run sqlite keyvalue:sqlite "SYNC: normal"
REDIS_URL=${CORRAL_TEST_REDIS_URL:-}
if [ -z "$REDIS_URL" ] && command -v redis-server >/dev/null; then
  RP=$(free_port)
  redis-server --port "$RP" --bind 127.0.0.1 --save '' --appendonly no --dir "$T" \
    --logfile "$T/redis.log" & PIDS+=($!)
  for _ in $(seq 50); do redis-cli -p "$RP" ping >/dev/null 2>&1 && break; sleep 0.1; done
  REDIS_URL=redis://127.0.0.1:$RP
fi
if [ -n "$REDIS_URL" ]; then host_run redis keyvalue:redis "URL: \"$REDIS_URL\""; else echo "redis: skipped (no redis-server)"; fi

# Re-signed revisions for the live-update run (same module key, rising rev).
for r in $(seq 2 400); do
  "$CORRAL" claims sign "$GUESTS/kvcounter.wasm" --issuer "$KEYS/dev_account.nk" \
    --subject "$KEYS/kvcounter.nk" --name kvcounter --call-alias kvcounter \
    --cap wasmcloud:httpserver --cap wasmcloud:keyvalue --rev "$r" -o "$T/kv$r.wasm" >/dev/null
done
host_run memory+updates keyvalue:memory "" 1
bare_run "bare (again)"
echo "(wrk -t$WT -c$CONNS -d${SECS}s, keep-alive, loopback; $(nproc) cores)"
