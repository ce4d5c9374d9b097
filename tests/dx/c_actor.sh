#!/usr/bin/env bash
# c_actor.sh - from an empty folder to a signed C actor serving HTTP, then a
# live update: `corral new actor` (files, vendored SDK, refusals), the
# scaffold's own test.sh (build + `corral call --host-call echo`), `corral
# build` (keys made 0600 in a 0700 folder, rev bumped and saved, module key
# stable, errors for a missing project, a compile error, no compiler),
# `corral run` (HTTP on --port, visits counted in SQLite), an edit of the
# source while a request loop runs (new rev, new text, no failed request), a
# compile error during run (old version keeps serving), SIGINT exits 0, and
# the count survives a restart.
#   c_actor.sh <corral> <source dir>
. "$(dirname "$0")/lib.sh"
dx_init "$@"
cd "$T"

# ---- corral new ----
out=$("$CORRAL" new actor greeter --caps httpserver,keyvalue 2>&1) && rc=0 || rc=$?
check "new: exit 0" "$rc" 0
check_contains "new: says what next" "$out" "corral run greeter"
for f in corral.project src/greeter.c sdk/wapc_guest.c sdk/wapc_guest.h sdk/wapc_msgpack.c \
         sdk/wapc_msgpack.h sdk/wapc_contracts.c sdk/wapc_contracts.h README.md test.sh .gitignore; do
  [ -f "greeter/$f" ] && pass "new: greeter/$f" || fail "new: greeter/$f missing"
done
cmp -s greeter/sdk/wapc_guest.c "$SRC/examples/sdk/wapc_guest.c" && pass "new: SDK vendored from the tree" ||
  fail "new: vendored wapc_guest.c differs from examples/sdk"
[ -x greeter/test.sh ] && pass "new: test.sh executable" || fail "new: test.sh not executable"
check "new: caps in project" "$(grep '^caps' greeter/corral.project)" "caps = wasmcloud:httpserver, wasmcloud:keyvalue"
out=$("$CORRAL" new actor greeter 2>&1) && rc=0 || rc=$?
check "new: existing folder refused" "$rc" 1
check_contains "new: existing folder message" "$out" "not an empty folder"
out=$("$CORRAL" new actor Greeter 2>&1) && rc=0 || rc=$?
check "new: bad name refused" "$rc" 2
out=$("$CORRAL" new actor x --caps httpserver,bogus 2>&1) && rc=0 || rc=$?
check "new: unknown cap refused" "$rc" 2
check_contains "new: unknown cap named" "$out" "unknown capability 'bogus'"
out=$("$CORRAL" new actor y --lang cobol 2>&1) && rc=0 || rc=$?
check "new: unknown lang refused" "$rc" 2
"$CORRAL" new actor plain --caps httpserver --dir "$T/elsewhere/plain" >/dev/null
[ -f "$T/elsewhere/plain/src/plain.c" ] && pass "new: --dir" || fail "new: --dir not honoured"
grep -q "wasmcloud:keyvalue" "$T/elsewhere/plain/src/plain.c" && fail "new: keyvalue code without the cap" ||
  pass "new: no keyvalue code without the cap"

# ---- the scaffold's own test (build + corral call --host-call echo) ----
out=$(CORRAL=$CORRAL ./greeter/test.sh 2>&1) && rc=0 || rc=$?
check "scaffold test.sh: exit 0" "$rc" 0
check_contains "scaffold test.sh: reply" "$out" "ok: greeter answers: Hello from greeter (visit #1)"
check "keys: home 0700" "$(mode "$CORRAL_HOME")" 700
check "keys: folder 0700" "$(mode "$CORRAL_HOME/keys")" 700
check "keys: account.nk 0600" "$(mode "$CORRAL_HOME/keys/account.nk")" 600
check "keys: greeter_module.nk 0600" "$(mode "$CORRAL_HOME/keys/greeter_module.nk")" 600
check "build: rev saved" "$(grep '^rev' greeter/corral.project)" "rev = 1"

# ---- corral build ----
out=$("$CORRAL" build greeter 2>&1) && rc=0 || rc=$?
check "build: exit 0" "$rc" 0
check_contains "build: rev 2" "$out" "built greeter rev 2"
key=$(echo "$out" | awk '/^  module key/ {print $3}')
check "build: module key is the subject" "$(echo "$key" | cut -c1)" "M"
check_contains "build: caps" "$out" "caps        wasmcloud:httpserver, wasmcloud:keyvalue"
size=$(stat -c %s greeter/build/greeter_s.wasm)
check_contains "build: size" "$out" "size        $size bytes"
inspect=$("$CORRAL" claims inspect greeter/build/greeter_s.wasm 2>&1 || true)
check_contains "build: claims subject" "$inspect" "$key"
check_contains "build: claims rev" "$inspect" "revision:     2"
"$CORRAL" claims verify greeter/build/greeter_s.wasm >/dev/null 2>&1 && pass "build: signature verifies" ||
  fail "build: corral claims verify refused the module"
issuer=$("$CORRAL" keys get "$CORRAL_HOME/keys/account.nk" 2>/dev/null || true)
check_contains "build: signed by account.nk" "$inspect" "$issuer"
out=$("$CORRAL" build greeter 2>&1)
check "build: same module key on rebuild" "$(echo "$out" | awk '/^  module key/ {print $3}')" "$key"
check "build: rev 3 saved" "$(grep '^rev' greeter/corral.project)" "rev = 3"

out=$("$CORRAL" build "$T/elsewhere" 2>&1) && rc=0 || rc=$?
check "build: no project: exit 3" "$rc" 3
check_contains "build: no project: message" "$out" "no corral.project in $T/elsewhere"
cp -r greeter broken
echo 'int oops = ;' >> broken/src/greeter.c
out=$("$CORRAL" build broken 2>&1) && rc=0 || rc=$?
check "build: compile error: exit 1" "$rc" 1
check_contains "build: compiler output shown" "$out" "greeter.c"
check_contains "build: compile failed" "$out" "compile failed"
check "build: failed build keeps rev" "$(grep '^rev' broken/corral.project)" "rev = 3"
out=$(CORRAL_CLANG=/nonexistent/clang "$CORRAL" build greeter 2>&1) && rc=0 || rc=$?
check "build: no compiler: exit 3" "$rc" 3
check_contains "build: no compiler: message" "$out" "not an executable compiler"
out=$(PATH=/nonexistent "$CORRAL" build greeter 2>&1) && rc=0 || rc=$?
check_contains "build: clang-14 missing: message" "$out" "clang-14 not found"
echo "lang = fortran" >> broken/corral.project
out=$("$CORRAL" build broken 2>&1) && rc=0 || rc=$?
check "build: bad project file: exit 3" "$rc" 3
check_contains "build: bad project file: line" "$out" "corral.project:8: lang must be c or assemblyscript"

# Two first builds of a new actor at once end up with one module key.
"$CORRAL" new actor twin --caps httpserver >/dev/null
cp -r twin twin2
"$CORRAL" build twin > "$T/twin1.out" 2>&1 & p1=$!
"$CORRAL" build twin2 > "$T/twin2.out" 2>&1 & p2=$!
wait $p1 && wait $p2 && pass "build: racing first builds succeed" || fail "build: a racing first build failed"
k1=$(awk '/^  module key/ {print $3}' "$T/twin1.out") k2=$(awk '/^  module key/ {print $3}' "$T/twin2.out")
check "build: racing first builds share the key" "$k1" "$k2"
check "build: the key file holds that key" "$("$CORRAL" keys get "$CORRAL_HOME/keys/twin_module.nk")" "$k1"
check "build: no temp key files left" "$(ls "$CORRAL_HOME/keys" | grep -c new || true)" 0

# ---- corral run ----
PORT=$(free_port)
start_run greeter || exit 1
check_contains "run: rev 4 running" "$(cat "$T/run.log")" "greeter rev 4 is running"
check "run: first visit" "$(http /)" "200 Hello from greeter (visit #1)"
check "run: second visit" "$(http /any/path)" "200 Hello from greeter (visit #2)"

# Live update while requests keep coming.
start_loop /
sleep 1
sed -i 's/"Hello from greeter"/"Howdy from greeter"/' greeter/src/greeter.c
wait_log "updated greeter to rev 5" 60
sleep 1
stop_loop
echo "requests during the update: $LOOP_TOTAL, not 200: $LOOP_BAD"
[ "$LOOP_TOTAL" -gt 5 ] && pass "update: the loop ran ($LOOP_TOTAL requests)" || fail "update: only $LOOP_TOTAL requests"
check "update: no failed request" "$LOOP_BAD" 0
body=$(http /)
check_contains "update: new text" "$body" "200 Howdy from greeter (visit #"
check "update: rev saved" "$(grep '^rev' greeter/corral.project)" "rev = 5"

# A compile error keeps the running version.
echo 'int oops = ;' >> greeter/src/greeter.c
wait_log "still serving the previous revision" 60
check_contains "run: compile error shown" "$(cat "$T/run.log")" "error: expected expression"
check_contains "run: old version serves" "$(http /)" "200 Howdy from greeter"
sed -i '$d' greeter/src/greeter.c
wait_log "updated greeter to rev 6" 60
check_contains "run: fixed build serves" "$(http /)" "200 Howdy from greeter"

stop_run
check "run: SIGINT exits 0" "$RUN_RC" 0
check_contains "run: stopped cleanly" "$(cat "$T/run.log")" "stopping greeter"

# The count lives in SQLite under $CORRAL_HOME/data: it survives a restart.
before=$(echo "$body" | sed 's/.*visit #\([0-9]*\)).*/\1/')
[ -f "$CORRAL_HOME/data/greeter/keyvalue.sqlite" ] && pass "run: SQLite store in the data dir" ||
  fail "run: no $CORRAL_HOME/data/greeter/keyvalue.sqlite"
start_run greeter --run-dir "$T/run" || exit 1
after=$(http / | sed 's/.*visit #\([0-9]*\)).*/\1/')
inv=$("$CORRAL" get inventory --json --run-dir "$T/run" 2>&1 |
  python3 -c 'import json,sys;a=json.load(sys.stdin)["actors"][0];print(a["name"],a["rev"],a["call_alias"])' 2>&1 || true)
check "run --run-dir: inventory over the control socket" "$inv" "greeter 7 greeter"
[ "$after" -gt "$before" ] && pass "run: count kept across restarts ($before -> $after)" ||
  fail "run: count $after after restart, was $before"
stop_run
dx_done
