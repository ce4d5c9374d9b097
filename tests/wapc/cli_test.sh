#!/bin/sh
# cli_test.sh - end-to-end checks of `corral call` (cli/cmd_call.c) on the
# built guests: output bytes, --json, host-call modes, limits, exit codes.
#   cli_test.sh <corral binary> <guest dir>
set -u
CORRAL=$1
G=$2
fails=0

# expect <exit code> <expected stdout> <command args...>
expect() {
    want_rc=$1 want_out=$2
    shift 2
    out=$("$CORRAL" "$@" 2>/tmp/corral_cli_test.$$)
    rc=$?
    if [ "$rc" != "$want_rc" ] || [ "$out" != "$want_out" ]; then
        echo "FAIL: corral $*"
        echo "  exit $rc (want $want_rc), stdout: $out"
        echo "  want stdout: $want_out"
        echo "  stderr: $(cat /tmp/corral_cli_test.$$)"
        fails=$((fails + 1))
    fi
}

# expect_err <exit code> <stderr substring> <command args...>
expect_err() {
    want_rc=$1 want_err=$2
    shift 2
    "$CORRAL" "$@" >/dev/null 2>/tmp/corral_cli_test.$$
    rc=$?
    if [ "$rc" != "$want_rc" ] || ! grep -qF -- "$want_err" /tmp/corral_cli_test.$$; then
        echo "FAIL: corral $*"
        echo "  exit $rc (want $want_rc), stderr: $(cat /tmp/corral_cli_test.$$)"
        echo "  want in stderr: $want_err"
        fails=$((fails + 1))
    fi
}

expect 0 "hello there" call "$G/echo.wasm" echo --payload "hello there"
expect 0 '{"ok": true, "response": "aGk="}' call "$G/echo.wasm" echo --payload hi --json
printf 'from a file' >/tmp/corral_cli_payload.$$
expect 0 "from a file" call "$G/echo.wasm" echo --payload-file /tmp/corral_cli_payload.$$
rm -f /tmp/corral_cli_payload.$$
expect 0 "Hello, bob" call "$G/hello.wasm" hello --host-call echo --payload bob
expect 0 "Hello, " call "$G/hello.wasm" hello --host-call empty
expect_err 1 "host call failed: no provider linked for example:greeter" call "$G/hello.wasm" hello
expect 1 '{"ok":false,"error":"deadline exceeded after 50 ms","status":"ERR_TRAP_DEADLINE"}' \
    call "$G/kitchen.wasm" loop --deadline-ms 50 --json
expect_err 1 "fuel exhausted" call "$G/kitchen.wasm" loop --fuel 100000
expect_err 1 "unreachable" call "$G/kitchen.wasm" unreachable
expect_err 1 "unknown import env.foo" call "$G/unknown_import.wasm" x
expect_err 1 "guest returned success without a response" call "$G/no_response.wasm" x
expect_err 0 "[guest stdout] hello world" call "$G/kitchen.wasm" stdout
expect_err 3 "cannot open" call "$G/does_not_exist.wasm" x
expect_err 2 "needs a module and an operation" call "$G/echo.wasm"
expect_err 2 "--host-call must be error, echo or empty" call "$G/echo.wasm" echo --host-call nope
expect_err 2 "--max-pages must be between 1 and 65536" call "$G/echo.wasm" echo --max-pages 0
out=$("$CORRAL" call --help)
case $out in
    *"usage: corral call"*) ;;
    *) echo "FAIL: corral call --help"; fails=$((fails + 1)) ;;
esac
pages=$("$CORRAL" call "$G/kitchen.wasm" grow --max-pages 7 | od -An -tu4 | tr -d ' ')
[ "$pages" = 7 ] || { echo "FAIL: grow --max-pages 7 gave '$pages'"; fails=$((fails + 1)); }

rm -f /tmp/corral_cli_test.$$
if [ $fails -ne 0 ]; then
    echo "$fails check(s) failed"
    exit 1
fi
echo "all corral call checks passed"
