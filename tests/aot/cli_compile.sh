#!/bin/sh
# cli_compile.sh <corral> <module.wasm> - `corral compile` end to end: an
# artifact with its header, --info, the default output in the cache, and the
# clear failures (missing compiler, missing wasm2c, a file that is no module).
set -eu
corral=$1
wasm=$2
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$corral" compile "$wasm" -o "$t/a.caot" > "$t/out" || fail "compile exited $?"
grep -q "module-sha256 [0-9A-F]\{64\}" "$t/out" || fail "no hash in output"
grep -q "abi 1" "$t/out" || fail "no abi in output"
head -c 13 "$t/a.caot" | grep -q "CORRAL-AOT 1" || fail "no artifact header"
[ "$(stat -c %a "$t/a.caot")" = 600 ] || fail "artifact mode is not 0600"
"$corral" compile --info "$t/a.caot" > "$t/info" || fail "--info exited $?"
grep -q "^compiler " "$t/info" && grep -q "^target .*-march=native" "$t/info" || fail "--info output"

CORRAL_AOT_CACHE="$t/cache" "$corral" compile "$wasm" > "$t/out2" || fail "compile to cache exited $?"
ls "$t/cache"/*-abi1.caot > /dev/null || fail "nothing in the cache"
[ "$(stat -c %a "$t/cache")" = 700 ] || fail "cache is not 0700"

rc=0; CC=/nonexistent/cc "$corral" compile "$wasm" -o "$t/b.caot" 2> "$t/err" || rc=$?
[ $rc = 4 ] || fail "missing compiler: exit $rc, want 4"
grep -q "cannot run the C compiler" "$t/err" || fail "missing compiler: message: $(cat "$t/err")"
rc=0; CORRAL_WASM2C=/nonexistent/wasm2c "$corral" compile "$wasm" -o "$t/b.caot" 2> "$t/err" || rc=$?
[ $rc = 4 ] || fail "missing wasm2c: exit $rc, want 4"
grep -q "install wabt" "$t/err" || fail "missing wasm2c: message"
printf 'not wasm' > "$t/x.wasm"
rc=0; "$corral" compile "$t/x.wasm" -o "$t/b.caot" 2> "$t/err" || rc=$?
[ $rc = 3 ] || fail "bad module: exit $rc, want 3"
[ ! -e "$t/b.caot" ] || fail "an artifact was written for a failed compile"
echo "ok"
