#!/usr/bin/env bash
# pingpong.sh - actor to actor by call alias: `corral up
# examples/pingpong/manifest.yaml`, `corral call ping Ping --payload hello`
# -> "ping -> pong: hello"; with pong stopped ping reports it unreachable.
#   pingpong.sh <corral> <guests dir> <keys dir> <source dir>
. "$(dirname "$0")/lib.sh"
it_init "$@"
start_host "$SRC/examples/pingpong/manifest.yaml" || exit 1
out=$(remote_call ping Ping hello)
check "ping -> pong" "$out" "ping -> pong: hello"
"$CORRAL" stop actor pong --run-dir "$RUN" >/dev/null
out=$(remote_call ping Ping x 2>&1) && rc=0 || rc=$?
check "pong stopped: exit 1" "$rc" 1
check_contains "pong stopped: message" "$out" "pong unreachable"
stop_host_term
check "SIGTERM: exit 0" "$HOST_RC" 0
it_done
