#!/bin/sh
# provider_hello.sh - runs the docs/providers.md example for real: a `corral up`
# host loads examples/provider-hello's greeter_provider.so from a manifest
# (`capabilities: - path:`), starts the greeter actor and links them; the
# actor's calls reach the provider through the host, link values change its
# answers, `corral start provider <lib.so>` loads a second instance, and the
# inventory lists them. Every answer is checked against the exact text.
#   provider_hello.sh <corral> <greeter_provider.so> <greeter_actor_s.wasm>
set -u
corral=$1 so=$2 actor=$3
tmp=$(mktemp -d)
run=$tmp/run
up_pid=
cleanup() {
    if [ -n "$up_pid" ] && kill -0 "$up_pid" 2>/dev/null; then
        kill "$up_pid" 2>/dev/null; wait "$up_pid" 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# expect <wanted stdout> <command...>: runs it, compares stdout exactly, wants exit 0.
expect() {
    want=$1; shift
    got=$("$@" 2>"$tmp/err"); rc=$?
    if [ $rc -ne 0 ] || [ "$got" != "$want" ]; then
        fail "$* -> rc $rc, '$got' (wanted '$want'); stderr: $(cat "$tmp/err")"
    else
        echo "ok: $* -> $got"
    fi
}
# refuse <exit code> <text in stderr> <command...>: wants that exit code
# ("any": any failure) and the text in stderr.
refuse() {
    want_rc=$1 want=$2; shift 2
    "$@" >/dev/null 2>"$tmp/err"; rc=$?
    if [ $rc -eq 0 ] || { [ "$want_rc" != any ] && [ $rc -ne "$want_rc" ]; } ||
       ! grep -qF "$want" "$tmp/err"; then
        fail "$* -> rc $rc (wanted $want_rc and '$want'); stderr: $(cat "$tmp/err")"
    else
        echo "ok: $* refused: $want"
    fi
}

cat > "$tmp/manifest.yaml" <<YAML
actors:
  - $actor
capabilities:
  - path: $so
    values: { GREETING: Howdy }
links:
  - actor: greeter
    contract_id: example:greeter
YAML

"$corral" up "$tmp/manifest.yaml" --run-dir "$run" --data-dir "$tmp/data" >"$tmp/up.log" 2>&1 &
up_pid=$!
i=0
while [ ! -S "$run/control.sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
if [ ! -S "$run/control.sock" ]; then
    echo "FAIL: corral up did not start"; cat "$tmp/up.log"; exit 1
fi
# The manifest is applied after the socket opens: wait for the ready line.
i=0
while ! grep -q "ready:" "$tmp/up.log" && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done

# Actor -> host -> provider (config GREETING from the manifest).
expect "Howdy, Ann!" "$corral" call greeter SayHello --payload Ann --run-dir "$run"
expect "Howdy, world!" "$corral" call greeter SayHello --run-dir "$run"
expect "2" "$corral" call greeter GreetCount --run-dir "$run"
# The provider's own check of guest input reaches the caller.
refuse 1 "Greet: name longer than 256 bytes" "$corral" call greeter SayHello \
    --payload "$(printf '%0300d' 0)" --run-dir "$run"
# A link value overrides the config; a bad one is refused and changes nothing.
expect "linked greeter -> example:greeter (link name default)" \
    "$corral" link put greeter example:greeter GREETING=Hey --run-dir "$run"
expect "Hey, Bob!" "$corral" call greeter SayHello --payload Bob --run-dir "$run"
refuse any "GREETING must be 1 to 63 bytes" "$corral" link put greeter example:greeter \
    "GREETING=$(printf '%070d' 0)" --run-dir "$run"
expect "Hey, Cy!" "$corral" call greeter SayHello --payload Cy --run-dir "$run"
# The provider logs through the host's logger.
grep -q "greeter: example:greeter: linked .* greeting 'Hey'" "$tmp/up.log" ||
    fail "the provider's log line is not in the host's log"

# The inventory lists the loaded provider and the link with its values.
inv=$("$corral" get inventory --json --run-dir "$run")
echo "$inv" | python3 -c '
import json, sys
inv = json.load(sys.stdin)
p = [p for p in inv["providers"] if p["contract_id"] == "example:greeter"]
assert len(p) == 1 and p[0]["name"] == "example:greeter" and p[0]["link_name"] == "default", p
assert p[0]["key"].startswith("V"), p
l = [l for l in inv["links"] if l["contract_id"] == "example:greeter"]
assert len(l) == 1 and l[0]["values"] == {"GREETING": "Hey"} and l[0]["provider"] == p[0]["key"], l
a = [a for a in inv["actors"] if a["call_alias"] == "greeter"]
assert len(a) == 1 and a[0]["caps"] == ["example:greeter"] and a[0]["calls"] >= 5, a
' || fail "inventory: $inv"

# A second instance from the CLI, under another link name.
out=$("$corral" start provider "$so" --link-name loud --value GREETING=HELLO --run-dir "$run" 2>&1) ||
    fail "start provider $so: $out"
n=$("$corral" get inventory --json --run-dir "$run" |
    python3 -c 'import json,sys; print(sum(p["contract_id"] == "example:greeter" for p in json.load(sys.stdin)["providers"]))')
[ "$n" = 2 ] || fail "wanted 2 example:greeter providers, inventory has $n"
refuse 3 "No such file or directory" "$corral" start provider "$tmp/missing.so" --run-dir "$run"

# Unlinked: the actor's call fails fast with the host's message.
expect "unlinked greeter -> example:greeter (link name default)" \
    "$corral" link del greeter example:greeter --run-dir "$run"
refuse 1 "no provider linked for example:greeter" "$corral" call greeter SayHello --run-dir "$run"

expect "host stopped" "$corral" stop host --wait --run-dir "$run"
wait "$up_pid"; rc=$?
up_pid=
[ $rc -eq 0 ] || fail "corral up exited $rc"

if [ $fails -ne 0 ]; then
    echo "$fails check(s) failed; host log:"; cat "$tmp/up.log"; exit 1
fi
echo "all checks passed"
