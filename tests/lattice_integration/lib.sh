# lib.sh - shared helpers of the multi-process lattice tests (sourced). Each
# test starts its own nats-server with JetStream (a free loopback port, a
# temporary store directory) and several `corral up --lattice` hosts as
# separate processes, each with its own manifest, run dir and data dir, all
# signing with one cluster seed file. Every process is stopped by PID on
# exit. The generic helpers (check, fail, pass, free_port, wait_port, http,
# sign_kv) come from tests/integration/lib.sh.
#   usage: . lib.sh; lt_init "$@"; nats_start; write_manifests sqlite;
#          host_up c ...; ...; lt_done
. "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"

# lt_init <corral> <guests dir> <keys dir> <source dir> <http_load> <nats-server>
lt_init() {
  CORRAL=$1 GUESTS=$2 KEYS=$3 SRC=$4 LOAD=$5 NATS_SERVER=$6
  T=$(mktemp -d /tmp/corral-lt.XXXXXX)
  export CORRAL_GUEST_DIR=$GUESTS
  FAILS=0
  trap lt_cleanup EXIT
  LATTICE=lt$$x$RANDOM
  "$CORRAL" keys gen cluster --json |
    python3 -c 'import json,sys;print(json.load(sys.stdin)["seed"])' > "$T/cluster.nk"
  chmod 600 "$T/cluster.nk"
  KV_KEY=$("$CORRAL" keys get "$KEYS/kvcounter.nk")
  NATS_PORT=$(free_port)
  NATS_URL=nats://127.0.0.1:$NATS_PORT
  PORT=$(free_port)
  export PORT
}

# Stops every process this test started (hosts first, then nats-server):
# SIGCONT (a host may be stopped), SIGTERM, 10 s, SIGKILL.
lt_cleanup() {
  local f pid
  for f in "$T"/*.pid; do
    [ -e "$f" ] || continue
    case "$f" in */nats.pid) continue ;; esac
    pid=$(cat "$f")
    kill -CONT "$pid" 2>/dev/null || true
    kill -TERM "$pid" 2>/dev/null || true
  done
  for f in "$T"/*.pid; do
    [ -e "$f" ] || continue
    case "$f" in */nats.pid) continue ;; esac
    pid=$(cat "$f")
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  if [ -e "$T/nats.pid" ]; then
    pid=$(cat "$T/nats.pid")
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  if [ "${FAILS:-0}" != 0 ]; then
    for f in "$T"/*.log; do
      [ -e "$f" ] || continue
      echo "---- $(basename "$f") (last 40 lines) ----"; tail -n 40 "$f"
    done
  fi
  rm -rf "$T"
}

# now_ms: a monotonic-enough wall clock in milliseconds.
now_ms() { date +%s%3N; }

# nats_start: nats-server with JetStream on NATS_PORT, store in $T/js (the
# same port and store on every call, so a restart keeps the lattice's
# buckets); waits (10 s at most) until it accepts connections.
nats_start() {
  printf 'host: 127.0.0.1\nport: %s\njetstream {\n  store_dir: "%s/js"\n}\n' \
    "$NATS_PORT" "$T" > "$T/nats.conf"
  "$NATS_SERVER" -c "$T/nats.conf" >>"$T/nats.log" 2>&1 &
  echo $! > "$T/nats.pid"
  for _ in $(seq 200); do
    if grep -q "Server is ready" "$T/nats.log" 2>/dev/null; then return 0; fi
    kill -0 "$(cat "$T/nats.pid")" 2>/dev/null || { fail "nats-server exited early"; return 1; }
    sleep 0.05
  done
  fail "nats-server not ready in 10 s"
  return 1
}

# nats_stop: SIGTERM by PID, waits (10 s at most) for it to exit.
nats_stop() {
  local pid
  pid=$(cat "$T/nats.pid")
  kill -TERM "$pid"
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then fail "nats-server still running 10 s after SIGTERM"; return 1; fi
  rm -f "$T/nats.pid"
}

# write_manifests STORE: $T/a.yaml (the HTTP provider, and the two links of
# kvcounter, put once: they are lattice-wide), $T/b.yaml (the kvcounter
# actor), $T/c.yaml (the store: sqlite, or redis at CORRAL_TEST_REDIS_URL).
# The links name the actor by its module key: host A does not run it, so
# the call alias means nothing there.
write_manifests() {
  local kind=keyvalue:$1 kvvals='{}'
  if [ "$1" = redis ]; then kvvals="{ URL: \"$CORRAL_TEST_REDIS_URL\" }"; fi
  cat > "$T/a.yaml" <<YAML
capabilities:
  - kind: httpserver
links:
  - actor: $KV_KEY
    contract_id: wasmcloud:httpserver
    values: { PORT: "$PORT", THREADS: "4" }
  - actor: $KV_KEY
    contract_id: wasmcloud:keyvalue
    values: $kvvals
YAML
  cat > "$T/b.yaml" <<YAML
actors:
  - path: \${CORRAL_GUEST_DIR}/kvcounter_s.wasm
    max_instances: 8
YAML
  cat > "$T/c.yaml" <<YAML
capabilities:
  - kind: $kind
YAML
}

# host_up NAME [extra corral up args]: starts `corral up $T/NAME.yaml` in
# the lattice with run dir $T/NAME/run and data dir $T/NAME/data (kept
# across restarts); waits (15 s at most) until it says it is ready.
host_up() {
  local n=$1 pid off; shift
  mkdir -p "$T/$n/run" "$T/$n/data"
  touch "$T/$n.log"
  off=$(($(wc -l < "$T/$n.log") + 1))
  "$CORRAL" up "$T/$n.yaml" --lattice "$LATTICE" --nats "$NATS_URL" \
    --cluster-seed "$T/cluster.nk" --run-dir "$T/$n/run" --data-dir "$T/$n/data" \
    --label "lt_host=$n" "$@" >>"$T/$n.log" 2>&1 &
  pid=$!
  echo "$pid" > "$T/$n.pid"
  for _ in $(seq 300); do
    if tail -n +"$off" "$T/$n.log" | grep -q " ready: "; then return 0; fi
    kill -0 "$pid" 2>/dev/null || { fail "host $n exited early"; return 1; }
    sleep 0.05
  done
  fail "host $n not ready in 15 s"
  return 1
}

host_pid() { cat "$T/$1.pid"; }
host_run() { echo "$T/$1/run"; }

# host_kill NAME: SIGKILL (no goodbye to the lattice), waits until gone.
host_kill() {
  local pid
  pid=$(host_pid "$1")
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -f "$T/$1.pid"
}

# host_stop NAME: SIGTERM, waits (30 s at most); sets HOST_RC.
host_stop() {
  local pid t0
  pid=$(host_pid "$1")
  t0=$(now_ms)
  kill -TERM "$pid"
  HOST_RC=0
  for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then fail "host $1 still running 30 s after SIGTERM"; HOST_RC=99; return; fi
  wait "$pid" || HOST_RC=$?
  echo "host $1 stopped in $(($(now_ms) - t0)) ms"
  rm -f "$T/$1.pid"
}

# three_hosts STORE: nats-server, then C (store), B (actor), A (HTTP): the
# order in which B must learn of a provider that started before it.
three_hosts() {
  nats_start || return 1
  write_manifests "$1"
  host_up c || return 1
  host_up b || return 1
  host_up a || return 1
  wait_port "$PORT" || return 1
}

# wait_status PATH CODE SECONDS: polls GET PATH every 50 ms until it answers
# CODE; prints the milliseconds it took (or fails after SECONDS).
wait_status() {
  local t0 c
  t0=$(now_ms)
  for _ in $(seq $(($3 * 20))); do
    c=$(curl -s -o "$T/wait_body" -m 5 -w '%{http_code}' "http://127.0.0.1:$PORT$1" 2>/dev/null || true)
    if [ "$c" = "$2" ]; then echo $(($(now_ms) - t0)); return 0; fi
    sleep 0.05
  done
  echo "never (last: $c $(head -c 300 "$T/wait_body" 2>/dev/null))"
  return 1
}

# json FILE EXPR: evaluates a Python expression over the JSON in FILE (d).
json() { python3 -c 'import json,sys;d=json.load(open(sys.argv[1]));print(eval(sys.argv[2]))' "$1" "$2"; }

# lattice_get WHAT [--json]: corral get hosts|links|claims on this lattice.
lattice_get() {
  "$CORRAL" get "$1" --lattice "$LATTICE" --nats "$NATS_URL" "${@:2}"
}

# lt_done: no host logged a sanitizer report (ASan/UBSan builds), then the
# verdict.
lt_done() {
  local f
  for f in "$T"/*.log; do
    [ -e "$f" ] || continue
    if grep -q -E "ERROR: (Address|Leak)Sanitizer|runtime error:" "$f"; then
      fail "sanitizer report in $(basename "$f")"
      grep -E -A20 "ERROR: (Address|Leak)Sanitizer|runtime error:" "$f" | head -40
    fi
  done
  it_done
}
