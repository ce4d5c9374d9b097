#!/usr/bin/env bash
# echo_http.sh - `corral up examples/echo-http/manifest.yaml` on a free port:
# the actor sees method, path, query and body size as the HTTP provider hands
# them over; JSON logs with --log-format json.
#   echo_http.sh <corral> <guests dir> <keys dir> <source dir>
. "$(dirname "$0")/lib.sh"
it_init "$@"
PORT=$(free_port); export PORT
start_host "$SRC/examples/echo-http/manifest.yaml" --log-format json || exit 1
wait_port "$PORT" || exit 1
check "GET with query" "$(http '/a/b?x=1&y=2')" '200 {"method":"GET","path":"/a/b","query":"x=1&y=2","body_bytes":0}'
check "POST with body" "$(http /p -X POST --data-binary 12345)" '200 {"method":"POST","path":"/p","query":"","body_bytes":5}'
stop_host_term
check "SIGTERM: exit 0" "$HOST_RC" 0
bad=$(grep -v '^{' "$T/host.log" | head -3 || true)
check "every log line is JSON" "$bad" ""
python3 -c 'import json,sys;[json.loads(l) for l in open(sys.argv[1])]' "$T/host.log" && pass "log lines parse" || fail "log lines do not parse as JSON"
it_done
