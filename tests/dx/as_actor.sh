#!/usr/bin/env bash
# as_actor.sh - the AssemblyScript path: `npm ci` in sdk/assemblyscript (the
# pinned asc), then examples/as-hello built by `corral build` and called with
# `corral call` (HTTP answers, the msgpack codec round-tripping requests byte
# for byte, hostile payloads failing with the reason and never trapping, the
# module importing nothing but waPC), then `corral new actor --lang
# assemblyscript` -> its test.sh -> `corral run` -> curl, and a live update
# of the TypeScript source under a request loop (no failed request).
# Skipped (exit 77) only when npm is not installed.
#   as_actor.sh <corral> <source dir>
. "$(dirname "$0")/lib.sh"
if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
  echo "SKIP: node/npm are not installed (scripts/setup.sh installs nodejs and npm): AssemblyScript not tested"
  exit 77
fi
dx_init "$@"
MP="python3 $(cd "$(dirname "$0")" && pwd)/mp.py"
cd "$T"

# ---- the SDK's pinned compiler ----
export CORRAL_ASC=$SRC/sdk/assemblyscript/node_modules/.bin/asc
npm_ci() { (cd "$SRC/sdk/assemblyscript" && npm ci --no-audit --no-fund --prefer-offline --loglevel=error) >>"$T/npm.log" 2>&1; }
npm_ci && pass "npm ci in sdk/assemblyscript" || { fail "npm ci failed"; cat "$T/npm.log"; exit 1; }
[ -x "$CORRAL_ASC" ] && pass "asc installed" || { fail "no $CORRAL_ASC"; exit 1; }

# ---- examples/as-hello (a copy, so the tree's corral.project keeps rev 0) ----
mkdir -p repo/examples
cp -r "$SRC/examples/as-hello" repo/examples/
rm -rf repo/examples/as-hello/build
ln -s "$SRC/sdk" repo/sdk
out=$("$CORRAL" build repo/examples/as-hello 2>&1) && rc=0 || rc=$?
check "as-hello: build exit 0" "$rc" 0
check_contains "as-hello: rev 1" "$out" "built as-hello rev 1"
W=repo/examples/as-hello/build/as-hello_s.wasm
if command -v wasm-objdump >/dev/null 2>&1; then
  mods=$(wasm-objdump -x -j Import "$W" | sed -n 's/.*<- \([^.]*\)\..*/\1/p' | sort -u | tr '\n' ' ')
  check "as-hello: imports only waPC" "$mods" "wapc "
fi
call() { # call OP PAYLOAD_NAME [host-call mode]: prints the reply; exit status of corral call
  $MP "$2" "$T/p.mp"
  "$CORRAL" call "$W" "$1" --payload-file "$T/p.mp" --host-call "${3:-echo}" 2>&1
}
out=$(call HandleRequest get_root | tr -d '\000-\010\016-\037\200-\377')
check_contains "as-hello: GET / body" "$out" "Hello from as-hello"
check_contains "as-hello: x-path header" "$out" "x-path"
out=$(call HandleRequest get_count | tr -d '\000-\010\016-\037\200-\377')
check_contains "as-hello: /count through keyvalue (echo host)" "$out" '{"count":1}'
out=$(call HandleRequest get_count error | tr -d '\000-\010\016-\037\200-\377')
check_contains "as-hello: /count without a store: 503" "$out" "store unavailable: no provider linked for wasmcloud:keyvalue"
out=$(call HandleRequest get_missing | tr -d '\000-\010\016-\037\200-\377')
check_contains "as-hello: 404 page" "$out" "no such page: /nope"
out=$(call HandleRequest post_root | tr -d '\000-\010\016-\037\200-\377')
check_contains "as-hello: 405 with allow" "$out" "allow"
out=$(call HealthRequest health | tr -d '\000-\010\016-\037\200-\377')
check_contains "as-hello: health" "$out" "healthy"
for p in get_root rt_headers rt_long rt_unicode; do
  $MP "$p" "$T/in.mp"
  "$CORRAL" call "$W" RoundTrip --payload-file "$T/in.mp" > "$T/out.mp" 2>"$T/rt.err" || true
  cmp -s "$T/in.mp" "$T/out.mp" && pass "codec: $p round-trips byte for byte ($(stat -c %s "$T/in.mp") bytes)" ||
    fail "codec: $p differs after decode+encode ($(cat "$T/rt.err"))"
done
$MP ints "$T/in.mp"
"$CORRAL" call "$W" Ints --payload-file "$T/in.mp" > "$T/out.mp" 2>"$T/rt.err" || true
cmp -s "$T/in.mp" "$T/out.mp" && pass "codec: integers of every width round-trip" ||
  fail "codec: integers differ after decode+encode ($(cat "$T/rt.err"))"
out=$(call Ints ints_too_big) && rc=0 || rc=$?
check_contains "codec: u64 above i64 refused" "$out" "Ints: integer too large"
out=$(call Ints ints_truncated) && rc=0 || rc=$?
check_contains "codec: truncated integer refused" "$out" "Ints: truncated input"
$MP extra_key "$T/in.mp"
out=$("$CORRAL" call "$W" RoundTrip --payload-file "$T/in.mp" 2>&1 | tr -d '\000-\010\016-\037\200-\377') || true
check_contains "codec: unknown keys skipped" "$out" "queryString"
expect_error() { # NAME PAYLOAD TEXT
  out=$(call RoundTrip "$2") && rc=0 || rc=$?
  check "hostile: $1 fails (exit 1)" "$rc" 1
  check_contains "hostile: $1 reason" "$out" "$3"
  case "$out" in *unreachable*|*trap*) fail "hostile: $1 trapped: $out" ;; esac
}
expect_error truncated bad_truncated "HttpRequest: truncated input"
expect_error "wrong type" bad_type "HttpRequest: expected a string (key 'method')"
expect_error "missing key" bad_missing "HttpRequest: missing key (key 'body')"
expect_error "duplicate key" bad_duplicate "HttpRequest: duplicate key (key 'path')"
expect_error "not a map" bad_not_map "HttpRequest: expected a map"
expect_error "huge map count" bad_huge_count "HttpRequest: truncated input"
expect_error "deep nesting" bad_deep "HttpRequest: nesting too deep"
out=$("$CORRAL" call "$W" NoSuchOp 2>&1) && rc=0 || rc=$?
check_contains "unknown operation" "$out" "unknown operation: NoSuchOp"

# ---- corral new --lang assemblyscript ----
out=$("$CORRAL" new actor tsy --lang assemblyscript --caps httpserver,keyvalue,logging 2>&1) && rc=0 || rc=$?
check "new as: exit 0" "$rc" 0
check_contains "new as: npm install hint" "$out" "npm install"
for f in corral.project assembly/index.ts assembly/wapc/index.ts assembly/wapc/msgpack.ts \
         assembly/wapc/contracts.ts package.json README.md test.sh; do
  [ -f "tsy/$f" ] && pass "new as: tsy/$f" || fail "new as: tsy/$f missing"
done
cmp -s tsy/assembly/wapc/msgpack.ts "$SRC/sdk/assemblyscript/assembly/msgpack.ts" &&
  pass "new as: SDK vendored from the tree" || fail "new as: vendored msgpack.ts differs"
check "new as: lang" "$(grep '^lang' tsy/corral.project)" "lang = assemblyscript"
out=$(CORRAL=$CORRAL ./tsy/test.sh 2>&1) && rc=0 || rc=$?
check "new as: test.sh exit 0" "$rc" 0
check_contains "new as: test.sh reply" "$out" "ok: tsy answers: Hello from tsy (visit #1)"
out=$(CORRAL_ASC=/nonexistent/asc "$CORRAL" build tsy 2>&1) && rc=0 || rc=$?
check "build as: no compiler: exit 3" "$rc" 3
cp -r tsy tsy-broken
echo 'let broken: i32 = "text";' >> tsy-broken/assembly/index.ts
out=$("$CORRAL" build tsy-broken 2>&1) && rc=0 || rc=$?
check "build as: compile error: exit 1" "$rc" 1
check_contains "build as: compiler output shown" "$out" "ERROR"

PORT=$(free_port)
start_run tsy || exit 1
check "run as: first visit" "$(http /)" "200 Hello from tsy (visit #1)"
check "run as: second visit" "$(http /)" "200 Hello from tsy (visit #2)"
start_loop /
sleep 1
sed -i 's/"Hello from tsy"/"Howdy from tsy"/' tsy/assembly/index.ts
wait_log "updated tsy to rev 3" 90
sleep 1
stop_loop
echo "requests during the update: $LOOP_TOTAL, not 200: $LOOP_BAD"
[ "$LOOP_TOTAL" -gt 5 ] && pass "update as: the loop ran ($LOOP_TOTAL requests)" || fail "update as: only $LOOP_TOTAL requests"
check "update as: no failed request" "$LOOP_BAD" 0
check_contains "update as: new text" "$(http /)" "200 Howdy from tsy (visit #"
stop_run
check "run as: SIGINT exits 0" "$RUN_RC" 0
dx_done
