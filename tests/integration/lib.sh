# lib.sh - shared helpers of the integration tests (sourced). Each test runs
# a real `corral up` with its own temp run dir, data dir and free port, and
# stops it by PID on exit.
#   usage in a test: . lib.sh; it_init "$@"; ...; it_done
set -euo pipefail

it_init() {
  CORRAL=$1 GUESTS=$2 KEYS=$3 SRC=$4
  T=$(mktemp -d /tmp/corral-it.XXXXXX)
  RUN=$T/run DATA=$T/data
  HOST_PID=
  export CORRAL_GUEST_DIR=$GUESTS
  trap it_cleanup EXIT
  FAILS=0
}

it_cleanup() {
  if [ -n "${HOST_PID:-}" ] && kill -0 "$HOST_PID" 2>/dev/null; then
    kill -TERM "$HOST_PID" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$HOST_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$HOST_PID" 2>/dev/null || true
  fi
  if [ "${FAILS:-0}" != 0 ] && [ -f "$T/host.log" ]; then
    echo "---- host log (last 60 lines) ----"; tail -60 "$T/host.log"
  fi
  rm -rf "$T"
}

free_port() {
  python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'
}

fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
pass() { echo "ok    $*"; }

# check NAME GOT WANT
check() {
  if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: got '$2', want '$3'"; fi
}

# check_contains NAME HAYSTACK NEEDLE
check_contains() {
  case "$2" in *"$3"*) pass "$1" ;; *) fail "$1: '$2' does not contain '$3'" ;; esac
}

# start_host MANIFEST [extra args...]: runs corral up in the background and
# waits (10 s at most) until its control socket answers.
start_host() {
  "$CORRAL" up "$@" --run-dir "$RUN" --data-dir "$DATA" >>"$T/host.log" 2>&1 &
  HOST_PID=$!
  for _ in $(seq 200); do
    if "$CORRAL" get inventory --run-dir "$RUN" >/dev/null 2>&1; then return 0; fi
    kill -0 "$HOST_PID" 2>/dev/null || { fail "corral up exited early"; return 1; }
    sleep 0.05
  done
  fail "host did not come up in 10 s"
  return 1
}

# stop_host_term: SIGTERM, wait (30 s at most); sets HOST_RC.
stop_host_term() {
  kill -TERM "$HOST_PID"
  HOST_RC=0
  for _ in $(seq 300); do kill -0 "$HOST_PID" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$HOST_PID" 2>/dev/null; then fail "host still running 30 s after SIGTERM"; HOST_RC=99; return; fi
  wait "$HOST_PID" || HOST_RC=$?
  HOST_PID=
}

# wait_http PORT PATH: waits (10 s at most) until PORT accepts connections.
wait_port() {
  for _ in $(seq 200); do
    if python3 -c 'import socket,sys;socket.create_connection(("127.0.0.1",int(sys.argv[1])),0.2)' "$1" 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  fail "port $1 never opened"
  return 1
}

# http PATH [curl args]: prints "<status> <body>"
http() {
  local p=$1; shift
  curl -s -m 10 -o "$T/body" -w '%{http_code}' "$@" "http://127.0.0.1:$PORT$p" >"$T/code" 2>/dev/null || true
  echo "$(cat "$T/code") $(cat "$T/body" 2>/dev/null)"
}

# sign REV OUT: re-signs kvcounter with the build's dev keys at revision REV.
sign_kv() {
  "$CORRAL" claims sign "$GUESTS/kvcounter.wasm" --issuer "$KEYS/dev_account.nk" \
    --subject "$KEYS/kvcounter.nk" --name kvcounter --call-alias kvcounter \
    --cap wasmcloud:httpserver --cap wasmcloud:keyvalue --rev "$1" -o "$2" >/dev/null
}

it_done() {
  if [ "$FAILS" != 0 ]; then echo "$FAILS check(s) failed"; exit 1; fi
  echo "all checks passed"
}

# remote_call ACTOR OP PAYLOAD: calls an actor of the running host; prints the
# response bytes, exit 1 on failure (error text on stderr). Uses `corral call`
# when it has the remote form (cmd_call.c hands over to
# corral_cli_call_remote), else speaks the control protocol directly.
remote_call() {
  if "$CORRAL" call --help 2>/dev/null | grep -q -- '--run-dir'; then
    "$CORRAL" call "$1" "$2" --payload "$3" --run-dir "$RUN"
  else
    python3 - "$RUN/control.sock" "$1" "$2" "$3" <<'PY'
import base64, json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
req = {"op": "call", "actor": sys.argv[2], "operation": sys.argv[3],
       "payload_b64": base64.b64encode(sys.argv[4].encode()).decode()}
s.sendall((json.dumps(req) + "\n").encode())
buf = b""
while not buf.endswith(b"\n"):
    d = s.recv(65536)
    if not d: break
    buf += d
r = json.loads(buf)
if not r.get("ok"):
    sys.stderr.write("corral: %s\n" % r.get("error")); sys.exit(1)
sys.stdout.buffer.write(base64.b64decode(r["result"]["response_b64"]))
PY
  fi
}
