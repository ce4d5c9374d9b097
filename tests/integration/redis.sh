#!/usr/bin/env bash
# redis.sh - the kvcounter demo on the Redis store (CORRAL_TEST_REDIS_URL,
# exported by scripts/test.sh): counting, and the count survives a host
# restart. Skipped (exit 0 with a note) when the variable is not set.
#   redis.sh <corral> <guests dir> <keys dir> <source dir>
. "$(dirname "$0")/lib.sh"
it_init "$@"
if [ -z "${CORRAL_TEST_REDIS_URL:-}" ]; then echo "skipped: CORRAL_TEST_REDIS_URL is not set"; exit 0; fi
PORT=$(free_port)
cat > "$T/redis.yaml" <<YAML
actors:
  - \${CORRAL_GUEST_DIR}/kvcounter_s.wasm
capabilities:
  - kind: httpserver
  - kind: keyvalue:redis
links:
  - actor: kvcounter
    contract_id: wasmcloud:httpserver
    values: { PORT: "$PORT" }
  - actor: kvcounter
    contract_id: wasmcloud:keyvalue
    values: { URL: "\${CORRAL_TEST_REDIS_URL}" }
YAML
P=/it$$-$RANDOM
start_host "$T/redis.yaml" || exit 1
wait_port "$PORT" || exit 1
check "redis: 1" "$(http $P)" '200 {"counter":1}'
check "redis: 2" "$(http $P)" '200 {"counter":2}'
stop_host_term
check "redis: SIGTERM exit 0" "$HOST_RC" 0
start_host "$T/redis.yaml" || exit 1
wait_port "$PORT" || exit 1
check "redis: after restart 3" "$(http $P)" '200 {"counter":3}'
it_done
