# lib.sh - shared helpers of the developer-experience tests (sourced): a temp
# folder with its own CORRAL_HOME, free ports, checks, a background
# `corral run` stopped by PID on exit, and an HTTP request loop that counts
# failures during live updates.
#   usage: . lib.sh; dx_init <corral> <source dir>; ...; dx_done
set -euo pipefail

dx_init() {
  CORRAL=$1 SRC=$2
  T=$(mktemp -d /tmp/corral-dx.XXXXXX)
  export CORRAL_HOME=$T/home
  RUN_PID= LOOP_PID=
  FAILS=0
  trap dx_cleanup EXIT
}

dx_cleanup() {
  for p in ${LOOP_PID:-} ${RUN_PID:-}; do
    if kill -0 "$p" 2>/dev/null; then
      kill -INT "$p" 2>/dev/null || true
      for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$p" 2>/dev/null || true
    fi
  done
  if [ "${FAILS:-0}" != 0 ] && [ -f "$T/run.log" ]; then
    echo "---- corral run log (last 40 lines) ----"; tail -40 "$T/run.log"
  fi
  rm -rf "$T"
}

free_port() {
  python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'
}

fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
pass() { echo "ok    $*"; }
check() { if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: got '$2', want '$3'"; fi; }
check_contains() {
  case "$2" in *"$3"*) pass "$1" ;; *) fail "$1: '$2' does not contain '$3'" ;; esac
}

# http PATH: prints "<status> <body>" (body without its trailing newline).
http() {
  curl -s -m 10 -o "$T/body" -w '%{http_code}' "http://127.0.0.1:$PORT$1" >"$T/code" 2>/dev/null || true
  echo "$(cat "$T/code") $(cat "$T/body" 2>/dev/null)"
}

# start_run DIR [args]: `corral run DIR --port $PORT` in the background; waits
# (60 s at most: the first build compiles) for its "try:" line.
start_run() {
  local dir=$1; shift
  : > "$T/run.log"
  "$CORRAL" run "$dir" --port "$PORT" "$@" >>"$T/run.log" 2>&1 &
  RUN_PID=$!
  for _ in $(seq 600); do
    grep -q "^try: curl http://127.0.0.1:$PORT/" "$T/run.log" && return 0
    kill -0 "$RUN_PID" 2>/dev/null || { fail "corral run exited early"; cat "$T/run.log"; return 1; }
    sleep 0.1
  done
  fail "corral run did not serve within 60 s"
  return 1
}

# wait_log TEXT [SECONDS]: waits until the run log contains TEXT.
wait_log() {
  for _ in $(seq $((${2:-60} * 10))); do
    grep -qF -- "$1" "$T/run.log" && return 0
    sleep 0.1
  done
  fail "no '$1' in the run log after ${2:-60} s"
  return 1
}

# stop_run: SIGINT, waits (30 s at most); sets RUN_RC.
stop_run() {
  kill -INT "$RUN_PID"
  RUN_RC=0
  for _ in $(seq 300); do kill -0 "$RUN_PID" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$RUN_PID" 2>/dev/null; then fail "corral run still running 30 s after SIGINT"; RUN_RC=99; return; fi
  wait "$RUN_PID" || RUN_RC=$?
  RUN_PID=
}

# start_loop PATH: requests PATH over and over (one connection each) until
# stop_loop; every response is logged as "<status>" in $T/loop.log.
start_loop() {
  : > "$T/loop.log"
  ( while :; do
      curl -s -m 10 -o /dev/null -w '%{http_code}\n' "http://127.0.0.1:$PORT$1" >>"$T/loop.log" 2>/dev/null ||
        echo "curl-failed" >>"$T/loop.log"
    done ) &
  LOOP_PID=$!
}

# stop_loop: stops the loop; sets LOOP_TOTAL and LOOP_BAD (anything but 200).
stop_loop() {
  kill "$LOOP_PID" 2>/dev/null || true
  wait "$LOOP_PID" 2>/dev/null || true
  LOOP_PID=
  LOOP_TOTAL=$(grep -c . "$T/loop.log" || true)
  LOOP_BAD=$(grep -vc '^200$' "$T/loop.log" || true)
}

# mode PATH: octal permission bits.
mode() { stat -c '%a' "$1"; }

dx_done() {
  if [ "$FAILS" != 0 ]; then echo "$FAILS check(s) failed"; exit 1; fi
  echo "all checks passed"
}
