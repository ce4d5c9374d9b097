#!/usr/bin/env bash
# security_cli.sh - the security checks through `corral up` and the CLI:
# a tampered actor in a manifest stops `corral up` (exit 1, hash mismatch
# named); a tampered module and one signed for another module key are
# refused by `corral update actor` while the running rev keeps answering;
# the run dir is 0700 and the control socket 0600; `corral get inventory`
# run as `nobody` (setpriv) is refused, also with the modes opened up (the
# SO_PEERCRED uid check).
#   security_cli.sh <corral> <guests dir> <keys dir> <source dir>
. "$4/tests/integration/lib.sh"
it_init "$@"
PORT=$(free_port)
# a copy of kvcounter_s.wasm with one byte of its code changed
python3 - "$GUESTS/kvcounter_s.wasm" "$T/tampered.wasm" <<'PY'
import sys
b = bytearray(open(sys.argv[1], 'rb').read())
i = 8
while i < len(b):           # find the code section (id 10) and flip a byte in it
    sid = b[i]; i += 1; n = 0; s = 0
    while True:
        x = b[i]; i += 1; n |= (x & 0x7f) << s; s += 7
        if x < 0x80: break
    if sid == 10: b[i + n // 2] ^= 1; break
    i += n
open(sys.argv[2], 'wb').write(b)
PY
mk() { # mk FILE MODULE
cat > "$1" <<YAML
actors:
  - $2
capabilities:
  - kind: httpserver
  - kind: keyvalue:memory
links:
  - actor: kvcounter
    contract_id: wasmcloud:httpserver
    values: { PORT: "$PORT" }
  - actor: kvcounter
    contract_id: wasmcloud:keyvalue
YAML
}
mk "$T/bad.yaml" "$T/tampered.wasm"
rc=0; "$CORRAL" up "$T/bad.yaml" --run-dir "$RUN" --data-dir "$DATA" >"$T/bad.log" 2>&1 || rc=$?
check "corral up with a tampered actor: exit 1" "$rc" 1
check_contains "corral up names the hash mismatch" "$(cat "$T/bad.log")" "does not match the hash in its claims"

mk "$T/good.yaml" "\${CORRAL_GUEST_DIR}/kvcounter_s.wasm"
start_host "$T/good.yaml" || exit 1
wait_port "$PORT" || exit 1
check "rev 1 counts" "$(http /s)" '200 {"counter":1}'
# tampered rev 2
sign_kv 2 "$T/kv2.wasm"
python3 - "$T/kv2.wasm" <<'PY'
import sys
p = sys.argv[1]; b = bytearray(open(p, 'rb').read()); b[len(b) // 3] ^= 0x10; open(p, 'wb').write(b)
PY
out=$("$CORRAL" update actor kvcounter "$T/kv2.wasm" --run-dir "$RUN" 2>&1) && rc=0 || rc=$?
[ "$rc" != 0 ] && pass "update with a tampered module refused ($(echo "$out" | head -1))" || fail "tampered update accepted"
# rev 3 signed for another module key
"$CORRAL" keys gen module --json | python3 -c 'import json,sys;print(json.load(sys.stdin)["seed"])' >"$T/other.nk"
chmod 600 "$T/other.nk"
"$CORRAL" claims sign "$GUESTS/kvcounter.wasm" --issuer "$KEYS/dev_account.nk" --subject "$T/other.nk" \
  --name kvcounter --call-alias kvcounter --cap wasmcloud:httpserver --cap wasmcloud:keyvalue --rev 3 \
  -o "$T/kv3.wasm" >/dev/null
out=$("$CORRAL" update actor kvcounter "$T/kv3.wasm" --run-dir "$RUN" 2>&1) && rc=0 || rc=$?
[ "$rc" != 0 ] && pass "update with another module key refused ($(echo "$out" | head -1))" || fail "foreign update accepted"
rev=$("$CORRAL" get inventory --json --run-dir "$RUN" | python3 -c 'import json,sys;print(json.load(sys.stdin)["actors"][0]["rev"])')
check "still rev 1" "$rev" 1
check "still counting" "$(http /s)" '200 {"counter":2}'
# control socket modes and another uid
check "run dir 0700" "$(stat -c %a "$RUN")" 700
check "socket 0600" "$(stat -c %a "$RUN/control.sock")" 600
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
  chmod 755 "$T"
  nob() { setpriv --reuid=65534 --regid=65534 --clear-groups "$CORRAL" get inventory --run-dir "$RUN" >"$T/nobody.out" 2>&1; }
  nob && rc=0 || rc=$?
  [ "$rc" != 0 ] && pass "nobody refused (modes as created): $(head -1 "$T/nobody.out")" || fail "nobody was served"
  chmod 777 "$RUN" "$RUN/control.sock"
  nob && rc=0 || rc=$?
  [ "$rc" != 0 ] && pass "nobody refused (modes opened up): $(head -1 "$T/nobody.out")" || fail "nobody was served with open modes"
  chmod 700 "$RUN" "$T"; chmod 600 "$RUN/control.sock"
  check "owner still served" "$("$CORRAL" get inventory --json --run-dir "$RUN" >/dev/null 2>&1 && echo yes)" yes
else
  echo "note: not root or no setpriv: the other-uid client is not tried"
fi
stop_host_term
check "SIGTERM exit 0" "$HOST_RC" 0
for k in "$KEYS"/*.nk "$T/other.nk"; do
  s=$(head -c 58 "$k")
  grep -q -F "$s" "$T/host.log" "$T/bad.log" && fail "seed of $(basename "$k") in a log"
done
pass "no seed in the logs"
it_done
