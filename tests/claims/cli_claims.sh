#!/bin/sh
# cli_claims.sh - end-to-end test of `corral keys` and `corral claims`: makes
# keys, signs a small module written here, inspects and verifies it, and
# checks the exit code and message of every error path. Run by ctest with the
# path of the built corral binary as $1.
set -u
CORRAL=${1:?usage: cli_claims.sh <corral binary>}
T=$(mktemp -d "${TMPDIR:-/tmp}/corral_cli_claims.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1
failures=0

fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# expect <rc> <stderr/stdout substring or ""> <command...>
expect() {
    want=$1; needle=$2; shift 2
    "$@" >out.txt 2>err.txt
    rc=$?
    [ "$rc" -eq "$want" ] || fail "'$*' exited $rc, expected $want ($(cat err.txt))"
    if [ -n "$needle" ] && ! grep -q -e "$needle" out.txt err.txt; then
        fail "'$*' output lacks '$needle': $(cat out.txt err.txt)"
    fi
}

# one function returning 42 and a custom section "other"; the 0x2a is at offset 38
printf '\000asm\001\000\000\000\001\005\001\140\000\001\177\003\002\001\000\000\013\005otherhello\012\006\001\004\000\101\052\013' > m.wasm
[ "$(wc -c < m.wasm)" -eq 40 ] || fail "test module is not 40 bytes"
printf 'this is not wasm' > notwasm.wasm

# ---- keys
expect 0 "exit codes" "$CORRAL" keys --help
expect 0 "Public Key: A" "$CORRAL" keys gen account
grep -q '^Seed: SA' out.txt || fail "keys gen account prints no SA seed"
for t in module:M server:N cluster:C operator:O user:U service:V; do
    expect 0 "\"public_key\": \"${t#*:}" "$CORRAL" keys gen "${t%:*}" --json
    grep -q "\"seed\": \"S${t#*:}" out.txt || fail "keys gen ${t%:*} --json: no S${t#*:} seed"
done
expect 2 "unknown key type" "$CORRAL" keys gen admin
expect 2 "" "$CORRAL" keys gen
expect 2 "unknown keys command" "$CORRAL" keys frob

"$CORRAL" keys gen account --json > acct.json
ACCT_SEED=$(sed 's/.*"seed": "\([A-Z2-7]*\)".*/\1/' acct.json)
ACCT_PUB=$(sed 's/.*"public_key": "\([A-Z2-7]*\)".*/\1/' acct.json)
printf '%s\n' "$ACCT_SEED" > acct.nk
expect 0 "^$ACCT_PUB\$" "$CORRAL" keys get "$ACCT_SEED"
expect 0 "^$ACCT_PUB\$" "$CORRAL" keys get acct.nk
BAD_SEED=$(printf '%s' "$ACCT_SEED" | sed 's/^\(SA.........\)./\1Q/')
[ "$BAD_SEED" != "$ACCT_SEED" ] || BAD_SEED=$(printf '%s' "$ACCT_SEED" | sed 's/^\(SA.........\)./\1R/')
expect 3 "checksum" "$CORRAL" keys get "$BAD_SEED"
expect 3 "cannot read key file" "$CORRAL" keys get ./missing.nk
expect 3 "expected a seed" "$CORRAL" keys get "$ACCT_PUB"

"$CORRAL" keys gen module --json > mod.json
MOD_SEED=$(sed 's/.*"seed": "\([A-Z2-7]*\)".*/\1/' mod.json)

# ---- claims sign: errors
expect 0 "exit codes" "$CORRAL" claims --help
expect 0 "expires-in-days" "$CORRAL" claims sign --help
expect 2 "-o" "$CORRAL" claims sign m.wasm --issuer acct.nk --name hello
expect 2 "name" "$CORRAL" claims sign m.wasm --issuer acct.nk -o s.wasm
expect 2 "issuer" "$CORRAL" claims sign m.wasm --name hello -o s.wasm
expect 3 "account key" "$CORRAL" claims sign m.wasm --issuer "$MOD_SEED" --name hello -o s.wasm
expect 3 "module key" "$CORRAL" claims sign m.wasm --issuer acct.nk --subject "$ACCT_SEED" --name hello -o s.wasm
expect 3 "cannot read key file" "$CORRAL" claims sign m.wasm --issuer nokey.nk --name hello -o s.wasm
expect 3 "not a WebAssembly module" "$CORRAL" claims sign notwasm.wasm --issuer acct.nk --name hello -o s.wasm
expect 3 "missing.wasm" "$CORRAL" claims sign missing.wasm --issuer acct.nk --name hello -o s.wasm
expect 2 "section" "$CORRAL" claims sign m.wasm --issuer acct.nk --name hello --section foo -o s.wasm
expect 2 "rev" "$CORRAL" claims sign m.wasm --issuer acct.nk --name hello --rev x -o s.wasm
[ ! -e s.wasm ] || fail "a failed sign wrote s.wasm"
[ ! -e s.wasm.nk ] || fail "a failed sign wrote s.wasm.nk"

# ---- claims sign: success, new module key beside the output
expect 0 "signed m.wasm" "$CORRAL" claims sign m.wasm --issuer acct.nk --name hello \
    --cap wasmcloud:httpserver --cap wasmcloud:keyvalue --tag demo --rev 3 --ver 0.1.0 \
    --call-alias greeter -o s.wasm
[ -f s.wasm.nk ] || fail "no s.wasm.nk written"
[ "$(stat -c %a s.wasm.nk)" = 600 ] || fail "s.wasm.nk mode is $(stat -c %a s.wasm.nk), not 600"
grep -q '^SM' s.wasm.nk || fail "s.wasm.nk holds no module seed"
MOD_PUB=$("$CORRAL" keys get s.wasm.nk)
cmp -n 40 m.wasm s.wasm || fail "signed module does not start with the original bytes"
expect 2 "already exists" "$CORRAL" claims sign m.wasm --issuer acct.nk --name hello -o s.wasm

# ---- inspect
expect 0 "verdict: *valid" "$CORRAL" claims inspect s.wasm
for s in "$ACCT_PUB" "$MOD_PUB" "name: *hello" "matches the module" \
         "wasmcloud:httpserver, wasmcloud:keyvalue" "tags: *demo" "revision: *3" "version: *0.1.0" \
         "call alias: *greeter" "expires: *never" "issued: *20"; do
    grep -q -e "$s" out.txt || fail "inspect output lacks '$s'"
done
expect 0 '"valid": true' "$CORRAL" claims inspect --json s.wasm
for s in '"error": null' '"typ": "jwt"' '"alg": "Ed25519"' "\"sub\": \"$MOD_PUB\"" '"hash_matches": true'; do
    grep -q -e "$s" out.txt || fail "inspect --json lacks $s"
done
expect 1 "no claims token" "$CORRAL" claims inspect m.wasm
expect 3 "not a WebAssembly module" "$CORRAL" claims inspect notwasm.wasm
expect 3 "missing.wasm" "$CORRAL" claims inspect missing.wasm

# ---- verify
expect 0 "valid" "$CORRAL" claims verify s.wasm
expect 0 "" "$CORRAL" claims verify s.wasm --issuer "$ACCT_PUB"
OTHER_PUB=$("$CORRAL" keys gen account --json | sed 's/.*"public_key": "\([A-Z2-7]*\)".*/\1/')
expect 1 "not on the allowed issuer list" "$CORRAL" claims verify s.wasm --issuer "$OTHER_PUB"
expect 0 "" "$CORRAL" claims verify s.wasm --issuer "$OTHER_PUB" --issuer "$ACCT_PUB"
expect 3 "expected an account key" "$CORRAL" claims verify s.wasm --issuer "$MOD_PUB"
expect 1 "revoked" "$CORRAL" claims verify s.wasm --revoked "$MOD_PUB"
expect 1 "no claims token" "$CORRAL" claims verify m.wasm
expect 3 "not a WebAssembly module" "$CORRAL" claims verify notwasm.wasm
expect 3 "missing.wasm" "$CORRAL" claims verify missing.wasm
expect 2 "" "$CORRAL" claims verify

# tampered code
cp s.wasm t.wasm
printf '\053' | dd of=t.wasm bs=1 seek=38 conv=notrunc 2>/dev/null
expect 1 "does not match" "$CORRAL" claims verify t.wasm
expect 1 "INVALID" "$CORRAL" claims inspect t.wasm
grep -q "DOES NOT match" out.txt || fail "inspect of a tampered module does not flag the hash"

# re-sign with the same subject and the newer section name; times
expect 0 "" "$CORRAL" claims sign s.wasm --issuer "$ACCT_SEED" --subject s.wasm.nk --name hello \
    --rev 4 --section wasmcloud_jwt -o s2.wasm
[ ! -e s2.wasm.nk ] || fail "signing with --subject wrote a new key"
grep -q wasmcloud_jwt s2.wasm || fail "s2.wasm has no wasmcloud_jwt section"
expect 0 "$MOD_PUB" "$CORRAL" claims verify s2.wasm
cmp -n 40 m.wasm s2.wasm || fail "re-signed module does not start with the original bytes"
expect 0 "" "$CORRAL" claims sign m.wasm --issuer acct.nk --subject "$MOD_SEED" --name old \
    --expires-in-days 0 -o e.wasm
expect 1 "expired" "$CORRAL" claims verify e.wasm
expect 1 '"valid": false' "$CORRAL" claims inspect --json e.wasm
grep -q '"error_code": "ERR_TOKEN_EXPIRED"' out.txt || fail "inspect --json lacks the expired code"
expect 0 "" "$CORRAL" claims sign m.wasm --issuer acct.nk --subject "$MOD_SEED" --name later \
    --not-before-days 2 -o n.wasm
expect 1 "not valid before" "$CORRAL" claims verify n.wasm

if [ "$failures" -ne 0 ]; then
    echo "$failures check(s) failed" >&2
    exit 1
fi
echo "cli_claims: all checks passed"
