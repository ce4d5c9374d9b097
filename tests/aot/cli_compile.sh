#!/bin/sh
# cli_compile.sh <corral> <module.wasm> [<echo.wasm>] - `corral compile` end
# to end: an artifact with its header, --info, the default output in the
# cache, and the clear failures (missing compiler, missing wasm2c, a file that
# is no module); --sign (at compile and on an existing artifact) and --info's
# signer line and verdict, tampered and wrongly keyed. With a waPC echo
# module: `corral start actor --engine interp|aot|auto` and `--artifact`
# against a running host (`corral up --aot-signer`), each checked in the
# inventory's engine field and the host's log.
set -eu
corral=$1
wasm=$2
echo_wasm=${3:-}
[ -z "$echo_wasm" ] || echo_wasm=$(realpath "$echo_wasm")
t=$(mktemp -d)
host_pid=
cleanup() {
    if [ -n "$host_pid" ]; then kill "$host_pid" 2> /dev/null || true; wait "$host_pid" 2> /dev/null || true; fi
    rm -rf "$t"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$corral" compile "$wasm" -o "$t/a.caot" > "$t/out" || fail "compile exited $?"
grep -q "module-sha256 [0-9A-F]\{64\}" "$t/out" || fail "no hash in output"
grep -q "abi [1-9]" "$t/out" || fail "no abi in output"
head -c 13 "$t/a.caot" | grep -q "CORRAL-AOT 1" || fail "no artifact header"
[ "$(stat -c %a "$t/a.caot")" = 600 ] || fail "artifact mode is not 0600"
"$corral" compile --info "$t/a.caot" > "$t/info" || fail "--info exited $?"
grep -q "^compiler " "$t/info" && grep -q "^target .*-march=native" "$t/info" || fail "--info output"

CORRAL_AOT_CACHE="$t/cache" "$corral" compile "$wasm" > "$t/out2" || fail "compile to cache exited $?"
ls "$t/cache"/*-abi[1-9]*.caot > /dev/null || fail "nothing in the cache"
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

# --- signing ---------------------------------------------------------------------------
"$corral" keys gen operator --json > "$t/op.json"
seed=$(sed -n 's/.*"seed": *"\([A-Z0-9]*\)".*/\1/p' "$t/op.json")
pub=$(sed -n 's/.*"public_key": *"\([A-Z0-9]*\)".*/\1/p' "$t/op.json")
[ ${#pub} = 56 ] || fail "no operator key: $(cat "$t/op.json")"
(umask 077; printf '%s\n' "$seed" > "$t/op.nk")
"$corral" compile --info "$t/a.caot" > "$t/info" || fail "--info of an unsigned artifact exited $?"
grep -q "^signer none" "$t/info" || fail "unsigned --info: $(cat "$t/info")"
"$corral" compile "$wasm" -o "$t/s.caot" --sign "$t/op.nk" > "$t/out" || fail "compile --sign exited $?"
grep -q "signer $pub" "$t/out" || fail "compile --sign output: $(cat "$t/out")"
"$corral" compile --info "$t/s.caot" > "$t/info" || fail "--info of a signed artifact exited $?"
grep -q "^signer $pub\$" "$t/info" && grep -q "^signature verifies\$" "$t/info" || fail "signed --info: $(cat "$t/info")"
[ "$(stat -c %a "$t/s.caot")" = 600 ] || fail "signed artifact mode is not 0600"
# a separate step on an existing artifact, seed given as text
cp "$t/a.caot" "$t/a2.caot"
"$corral" compile --sign "$seed" "$t/a2.caot" > "$t/out" || fail "--sign on an artifact exited $?"
grep -q "signed by $pub" "$t/out" || fail "--sign on an artifact: $(cat "$t/out")"
"$corral" compile --info "$t/a2.caot" | grep -q "^signature verifies" || fail "re-signed artifact does not verify"
# one changed ELF byte: --info says so and exits 1
size=$(stat -c %s "$t/s.caot")
cp "$t/s.caot" "$t/bad.caot"
printf 'Q' | dd of="$t/bad.caot" bs=1 seek=$((size - 200)) conv=notrunc 2> /dev/null
rc=0; "$corral" compile --info "$t/bad.caot" > "$t/info" || rc=$?
[ $rc = 1 ] || fail "tampered --info: exit $rc, want 1"
grep -q "^signature does not verify: .*the signature by $pub does not verify" "$t/info" || fail "tampered --info: $(cat "$t/info")"
# a module seed cannot sign; other options do not apply to an artifact
mseed=$("$corral" keys gen module --json | sed -n 's/.*"seed": *"\([A-Z0-9]*\)".*/\1/p')
rc=0; "$corral" compile --sign "$mseed" "$t/a2.caot" 2> "$t/err" || rc=$?
[ $rc = 2 ] || fail "module seed: exit $rc, want 2"
grep -q "operator (SO...) or account (SA...)" "$t/err" || fail "module seed: $(cat "$t/err")"
rc=0; "$corral" compile --sign "$seed" -o "$t/x.caot" "$t/a2.caot" 2> "$t/err" || rc=$?
[ $rc = 2 ] || fail "-o with an artifact: exit $rc, want 2"
rc=0; "$corral" compile "$wasm" -o "$t/y.caot" --sign "$mseed" 2> "$t/err" || rc=$?
[ $rc = 2 ] && [ ! -e "$t/y.caot" ] || fail "a module seed must be refused before compiling (exit $rc)"

# --- corral start actor --engine / --artifact against a running host -------------------------
if [ -n "$echo_wasm" ]; then
    run="$t/run"
    mkdir -m 700 "$run"
    CORRAL_AOT_CACHE="$t/hostcache" "$corral" up --run-dir "$run" --data-dir "$t/data" --allow-unsigned \
        --aot-signer "$pub" > "$t/up.log" 2>&1 &
    host_pid=$!
    i=0
    while [ ! -S "$run/control.sock" ]; do
        i=$((i + 1)); [ $i -lt 100 ] || fail "host did not start: $(cat "$t/up.log")"
        sleep 0.1
    done
    "$corral" compile "$echo_wasm" -o "$t/echo.caot" --sign "$t/op.nk" > /dev/null || fail "compile echo"
    cp "$t/echo.caot" "$t/echo-bad.caot"
    size=$(stat -c %s "$t/echo.caot")
    printf 'Q' | dd of="$t/echo-bad.caot" bs=1 seek=$((size - 100)) conv=notrunc 2> /dev/null
    # start_check <want engine> <start options...>
    start_check() {
        want=$1; shift
        "$corral" start actor "$echo_wasm" --allow-unsigned --run-dir "$run" "$@" > "$t/start" ||
            fail "start actor $*: exit $?"
        key=$(sed -n 's/^started actor \(M[A-Z0-9]*\) .*/\1/p' "$t/start")
        [ -n "$key" ] || fail "start actor $*: $(cat "$t/start")"
        "$corral" get inventory --json --run-dir "$run" > "$t/inv" || fail "inventory"
        grep -q "\"engine\": *\"$want\"" "$t/inv" || fail "start actor $*: engine is not $want: $(grep engine "$t/inv")"
        [ "$("$corral" call "$key" echo --payload native --run-dir "$run")" = native ] || fail "echo after start $*"
        "$corral" stop actor "$key" --run-dir "$run" > /dev/null || fail "stop actor"
    }
    start_check interp --engine interp
    start_check aot --engine aot                # compiled at start into the host's cache
    start_check aot --engine auto               # now cached: native at once
    grep -q "running on native code (cached artifact)" "$t/up.log" || fail "auto did not use the cache"
    start_check aot --artifact "$t/echo.caot"   # signed by the allowed operator, from anywhere
    grep -q "running on native code (artifact $t/echo.caot, signed by an allowed signer)" "$t/up.log" ||
        fail "signed artifact: $(grep native "$t/up.log")"
    start_check interp --artifact "$t/echo-bad.caot"
    grep -q "native code not used (AOT artifact $t/echo-bad.caot: the signature by $pub does not verify" "$t/up.log" ||
        fail "tampered artifact: $(grep native "$t/up.log")"
    start_check interp --engine interp --artifact "$t/echo.caot"
    grep -q "artifact $t/echo.caot not used: the engine is interp" "$t/up.log" || fail "interp + artifact"
    rc=0; "$corral" start actor "$echo_wasm" --engine fast --run-dir "$run" 2> "$t/err" || rc=$?
    [ $rc = 2 ] && grep -q "interp, aot or auto" "$t/err" || fail "--engine fast: exit $rc"
    rc=0; "$corral" start provider logging --engine aot --run-dir "$run" 2> "$t/err" || rc=$?
    [ $rc = 2 ] || fail "--engine on a provider: exit $rc"
    "$corral" stop host --run-dir "$run" > /dev/null || fail "stop host"
    wait "$host_pid" || fail "host exited $?"
    host_pid=

    # the same through a manifest: aot_signers and an actor's artifact (relative path)
    printf 'aot_signers:\n  - %s\nactors:\n  - path: %s\n    artifact: echo.caot\n' "$pub" "$echo_wasm" > "$t/m.yaml"
    CORRAL_AOT_CACHE="$t/hostcache" "$corral" up "$t/m.yaml" --run-dir "$run" --data-dir "$t/data" \
        --allow-unsigned > "$t/up2.log" 2>&1 &
    host_pid=$!
    i=0
    until "$corral" get inventory --json --run-dir "$run" > "$t/inv" 2> /dev/null && grep -q '"engine"' "$t/inv"; do
        i=$((i + 1)); [ $i -lt 100 ] || fail "manifest host did not start: $(cat "$t/up2.log")"
        sleep 0.1
    done
    grep -q '"engine": *"aot"' "$t/inv" || fail "manifest artifact: $(grep engine "$t/inv")"
    grep -q "running on native code (artifact $t/echo.caot, signed by an allowed signer)" "$t/up2.log" ||
        fail "manifest artifact log: $(grep native "$t/up2.log")"
    "$corral" stop host --run-dir "$run" > /dev/null || fail "stop manifest host"
    wait "$host_pid" || fail "manifest host exited $?"
    host_pid=
    printf 'aot_signers:\n  - %s\n' OSHORT > "$t/bad.yaml"
    rc=0; "$corral" up "$t/bad.yaml" --run-dir "$run" > /dev/null 2> "$t/err" || rc=$?
    [ $rc = 3 ] && grep -q "bad.yaml:2: aot_signers\[0\]: 'OSHORT' is not a public key" "$t/err" ||
        fail "bad aot_signers: exit $rc: $(cat "$t/err")"
    mpub=$("$corral" keys gen module --json | sed -n 's/.*"public_key": *"\([A-Z0-9]*\)".*/\1/p')
    rc=0; "$corral" up --aot-signer "$mpub" --run-dir "$run" > /dev/null 2> "$t/err" || rc=$?
    [ $rc != 0 ] && grep -q "AOT artifact signer #1 '$mpub' is not an operator or account key" "$t/err" ||
        fail "module key as --aot-signer: exit $rc: $(cat "$t/err")"
fi
echo "ok"
