#!/usr/bin/env bash
# cli_lattice.sh - the host commands of the CLI through a lattice
# (`--lattice L --nats URL`): three `corral up --lattice` hosts over a real
# nats-server whose message limit is lowered to 32 KiB, so a padded module
# (48 KiB) must travel through the lattice's chunk bucket by reference.
# Checks get inventory (--host and all hosts), start actor by auction (with
# and without a label constraint) and with --host, call through the lattice
# signed with the cluster seed (and refused without it / with a foreign
# seed), update actor (higher revision accepted on every host running it,
# lower refused with the host's reason, a chunked module), start / stop
# provider, link put / del seen in each host's own inventory, stop actor,
# and the errors for an unknown host and a host that does not answer.
#   cli_lattice.sh <corral> <guests> <keys> <source dir> <http_load> <nats-server>
. "$(dirname "$0")/lib.sh"
lt_init "$@"

# lib.sh's nats_start, with max_payload lowered.
printf 'host: 127.0.0.1\nport: %s\nmax_payload: 32768\njetstream {\n  store_dir: "%s/js"\n}\n' \
  "$NATS_PORT" "$T" > "$T/nats.conf"
"$NATS_SERVER" -c "$T/nats.conf" >>"$T/nats.log" 2>&1 &
echo $! > "$T/nats.pid"
for _ in $(seq 200); do grep -q "Server is ready" "$T/nats.log" 2>/dev/null && break; sleep 0.05; done
grep -q "Server is ready" "$T/nats.log" || { fail "nats-server not ready"; lt_done; }

for h in a b c; do printf 'capabilities:\n  - kind: logging\n' > "$T/$h.yaml"; done
host_up a || exit 1
host_up b || exit 1
host_up c || exit 1

L=(--lattice "$LATTICE" --nats "$NATS_URL")
lc() { "$CORRAL" "$@" "${L[@]}"; }
inv_json() { "$CORRAL" get inventory --json --run-dir "$(host_run "$1")" > "$T/inv_$1.json"; }
hkey() { inv_json "$1"; json "$T/inv_$1.json" 'd["host_key"]'; }
A=$(hkey a) B=$(hkey b) C=$(hkey c)

# An echo actor under a fresh module key, revisions 1..3; rev 3 padded with a
# 48 KiB custom section (above the 32 KiB limit: it goes by reference).
"$CORRAL" keys gen module --json | python3 -c 'import json,sys;print(json.load(sys.stdin)["seed"])' > "$T/echo.nk"
ECHO=$("$CORRAL" keys get "$T/echo.nk")
python3 - "$GUESTS/echo.wasm" "$T/echo_big.wasm" <<'PY'
import sys
b = open(sys.argv[1], 'rb').read()
name, data = b'pad', bytes(range(256)) * 192
body = bytes([len(name)]) + name + data
n, leb = len(body), b''
while True:
    x = n & 0x7f; n >>= 7
    leb += bytes([x | (0x80 if n else 0)])
    if not n: break
open(sys.argv[2], 'wb').write(b + b'\x00' + leb + body)
PY
sign_echo() {
  "$CORRAL" claims sign "$3" --issuer "$KEYS/dev_account.nk" --subject "$T/echo.nk" \
    --name echo --call-alias echo --rev "$1" -o "$2" >/dev/null
}
sign_echo 1 "$T/echo1.wasm" "$GUESTS/echo.wasm"
sign_echo 2 "$T/echo2.wasm" "$GUESTS/echo.wasm"
sign_echo 3 "$T/echo3.wasm" "$T/echo_big.wasm"
sz=$(stat -c %s "$T/echo3.wasm")
[ "$sz" -gt 32768 ] && pass "rev 3 is $sz bytes, above the 32 KiB limit" || fail "rev 3 only $sz bytes"

# get inventory
lc get inventory --host "$B" --json > "$T/linv.json" && rc=0 || rc=$?
check "get inventory --host B: exit 0" "$rc" 0
check "get inventory --host B: B's key and label" \
  "$(json "$T/linv.json" '(d["host_key"], d["labels"]["lt_host"])')" "('$B', 'b')"
out=$(lc get inventory)
check "get inventory (table): three hosts" "$(grep -c '^host N' <<< "$out")" 3
check_contains "get inventory (table): B's line" "$out" "host $B"

# start actor: auction with a constraint, with --host, plain auction
out=$(lc start actor "$T/echo2.wasm" --constraint lt_host=c 2>&1) && rc=0 || rc=$?
check "start actor (auction lt_host=c): exit 0" "$rc" 0
check "start actor (auction lt_host=c): on C" "$out" "started actor $ECHO (echo, rev 2) on host $C"
inv_json c
check "C runs echo rev 2" "$(json "$T/inv_c.json" '[(a["key"], a["rev"]) for a in d["actors"]]')" "[('$ECHO', 2)]"
out=$(lc start actor "$T/echo2.wasm" --host "$A" --json 2>&1) && rc=0 || rc=$?
check "start actor --host A: exit 0" "$rc" 0
check "start actor --host A --json" "$(python3 -c 'import json,sys;d=json.loads(sys.argv[1]);print(d["key"],d["rev"],d["host_id"])' "$out")" "$ECHO 2 $A"
out=$(lc start actor "$T/echo2.wasm" --constraint lt_host=nosuch 2>&1) && rc=0 || rc=$?
check "start actor (auction nobody matches): exit 1" "$rc" 1
check_contains "start actor (auction nobody matches): says so" "$out" "no host of lattice $LATTICE answered the auction"
out=$(lc start actor "$T/echo1.wasm" --host "$B" --allow-unsigned --max-instances 2 2>&1) && rc=0 || rc=$?
check "start actor rev 1 --host B: exit 0" "$rc" 0
out=$(lc stop actor "$ECHO" --host "$B" 2>&1) && rc=0 || rc=$?
check "stop actor --host B: exit 0" "$rc" 0
check "stop actor --host B: output" "$out" "stopped actor $ECHO on host $B"
inv_json b
check "B runs no actor after stop" "$(json "$T/inv_b.json" 'len(d["actors"])')" 0

# call through the lattice
out=$(lc call echo echo --payload "hello lattice" --cluster-seed "$T/cluster.nk" 2>&1) && rc=0 || rc=$?
check "call echo by alias (cluster seed): answer" "$rc $out" "0 hello lattice"
out=$(lc call "$ECHO" echo --payload "by key" --cluster-seed "$(cat "$T/cluster.nk")" --json 2>&1)
check "call echo by key --json" "$(python3 -c 'import json,sys;d=json.loads(sys.argv[1]);print(d["response"],d["bytes"])' "$out")" "by key 6"
out=$(lc call echo echo --payload x 2>&1) && rc=0 || rc=$?
check "call without --cluster-seed: exit 2" "$rc" 2
"$CORRAL" keys gen cluster --json | python3 -c 'import json,sys;print(json.load(sys.stdin)["seed"])' > "$T/other.nk"
out=$(lc call echo echo --payload x --cluster-seed "$T/other.nk" 2>&1) && rc=0 || rc=$?
check "call signed by a foreign cluster key: exit 1" "$rc" 1
check_contains "call signed by a foreign cluster key: the host's reason" "$out" "issuer"
out=$(lc call echo nosuchop --payload x --cluster-seed "$T/cluster.nk" 2>&1) && rc=0 || rc=$?
check "call of an unknown operation: exit 1" "$rc" 1
n_calls=$(inv_json a; inv_json c; python3 -c 'import json,sys
print(sum(a["calls"] for f in sys.argv[1:] for a in json.load(open(f))["actors"]))' "$T/inv_a.json" "$T/inv_c.json")
[ "$n_calls" -ge 2 ] && pass "the hosts counted $n_calls calls" || fail "the hosts counted $n_calls calls"

# update actor: lower revision refused, higher accepted (chunked module) on A and C
out=$(lc update actor echo "$T/echo1.wasm" --host "$C" 2>&1) && rc=0 || rc=$?
check "update to rev 1 (lower): exit 1" "$rc" 1
check_contains "update to rev 1 (lower): the host's reason" "$out" "host $C refused"
echo "  (refusal: $out)"
out=$(lc update actor echo "$T/echo3.wasm" 2>&1) && rc=0 || rc=$?
check "update to rev 3 (chunked) on every host running it: exit 0" "$rc" 0
check "update to rev 3: two hosts" "$(grep -c "rev 2 -> 3" <<< "$out")" 2
inv_json a; inv_json c
check "A runs rev 3" "$(json "$T/inv_a.json" '[a["rev"] for a in d["actors"]]')" "[3]"
check "C runs rev 3" "$(json "$T/inv_c.json" '[a["rev"] for a in d["actors"]]')" "[3]"
out=$(lc call echo echo --payload "after update" --cluster-seed "$T/cluster.nk" 2>&1)
check "call after the update" "$out" "after update"
t0=$(now_ms); n=0
for _ in $(seq 20); do
  [ "$(lc call echo echo --payload ping --cluster-seed "$T/cluster.nk" 2>&1)" = ping ] && n=$((n + 1))
done
check "20 calls in a row answered" "$n" 20
echo "  (20 'corral call --lattice' processes, each connect + claims lookup + call: $(($(now_ms) - t0)) ms)"
python3 -c 'import sys;sys.stdout.write("".join(chr(97 + i % 26) for i in range(40000)))' > "$T/big.txt"
lc call echo echo --payload-file "$T/big.txt" --cluster-seed "$T/cluster.nk" > "$T/big.out" && rc=0 || rc=$?
check "call with a 40000-byte payload (chunked both ways): exit 0" "$rc" 0
check "call with a 40000-byte payload: the same bytes back" \
  "$(head -c 40000 "$T/big.out" | cmp -s - "$T/big.txt" && echo same || echo differ)" same
out=$(lc start actor "$T/echo3.wasm" --host "$B" 2>&1) && rc=0 || rc=$?
check "start a chunked module --host B: exit 0" "$rc" 0
check "start a chunked module --host B" "$out" "started actor $ECHO (echo, rev 3) on host $B"
python3 - "$T/echo3.wasm" "$T/echo_bad.wasm" <<'PY'
import sys
b = bytearray(open(sys.argv[1], 'rb').read()); b[-100] ^= 0xff
open(sys.argv[2], 'wb').write(bytes(b))
PY
out=$(lc update actor echo "$T/echo_bad.wasm" --host "$B" 2>&1) && rc=0 || rc=$?
check "update to an altered chunked module: exit 1 (claims verified)" "$rc" 1
echo "  (refusal: $out)"

# Hostile module references straight on the control subject (nats_raw.py):
# refused with a reason, the host keeps running.
RAW=$(dirname "$0")/nats_raw.py
raw_la() {
  printf '%s' "$1" > "$T/raw.json"
  python3 "$RAW" request "$NATS_PORT" "wasmbus.ctl.$LATTICE.cmd.$B.la" "$T/raw.json" 5
}
out=$(raw_la '{"module_ref":{"prefix":"../x","size":10}}')
check_contains "module_ref with a bad prefix: refused" "$out" '"accepted":false'
check_contains "module_ref with a bad prefix: why" "$out" "module_ref needs a prefix"
out=$(raw_la '{"module_ref":{"prefix":"nosuch","size":100}}')
check_contains "module_ref to missing chunks: refused" "$out" '"accepted":false'
check_contains "module_ref to missing chunks: why" "$out" "fetching a chunk"
out=$(raw_la '{"module_ref":{"prefix":"x","size":999999999999}}')
check_contains "module_ref above the lattice's maximum: refused" "$out" "above the lattice's maximum"
out=$(raw_la '{"module_ref":{"prefix":"x","size":10},"module_b64":"AA=="}')
check_contains "module_ref with module_b64: refused" "$out" "give module_ref alone"
check "B still answers" "$(lc get inventory --host "$B" --json | python3 -c 'import json,sys;print(json.load(sys.stdin)["host_key"])')" "$B"

# providers
out=$(lc start provider numbergen --host "$B" --link-name lt 2>&1) && rc=0 || rc=$?
check "start provider numbergen --host B: exit 0" "$rc" 0
PKEY=$(sed -n 's/^started provider \([^ ]*\) .*/\1/p' <<< "$out")
check_contains "start provider: output" "$out" "link name lt) on host $B"
inv_json b
check "B runs numbergen (lt)" \
  "$(json "$T/inv_b.json" '[(p["key"], p["link_name"]) for p in d["providers"] if p["name"]=="numbergen" and p["link_name"]!="default"]')" \
  "[('$PKEY', 'lt')]"
out=$(lc start provider nosuchkind --host "$B" 2>&1) && rc=0 || rc=$?
check "start provider of an unknown kind: exit 1" "$rc" 1
# A path on the remote host's disk is refused over the lattice (a shared object
# loaded by anyone who can publish on the control subjects).
out=$(lc start provider /usr/lib/x86_64-linux-gnu/libm.so.6 --host "$B" 2>&1) && rc=0 || rc=$?
check "start provider by path over the lattice: exit 1" "$rc" 1
check_contains "start provider by path: reason" "$out" "provider path is not accepted over the lattice"
check_contains "start provider of an unknown kind: the host's reason" "$out" "host $B refused"
out=$(lc stop provider "$PKEY" 2>&1) && rc=0 || rc=$?
check "stop provider (found on B): exit 0" "$rc" 0
check "stop provider: output" "$out" "stopped provider $PKEY on host $B"
inv_json b
check "B runs no numbergen (lt)" "$(json "$T/inv_b.json" 'sum(p["link_name"]=="lt" for p in d["providers"])')" 0

# links: put / del through the lattice, seen in every host's inventory
out=$(lc link put "$ECHO" wasmcloud:keyvalue LT_K=v1 --link-name ltl 2>&1) && rc=0 || rc=$?
check "link put: exit 0" "$rc" 0
seen() {  # seen HOST 1|0: waits (5 s) until the link is (1) or is not (0) in HOST's inventory
  local v
  for _ in $(seq 100); do
    inv_json "$1"
    v=$(json "$T/inv_$1.json" 'sum(l.get("link_name")=="ltl" and l.get("values",{}).get("LT_K")=="v1" for l in d["links"])')
    [ "$v" = "$2" ] && { echo ok; return; }
    sleep 0.05
  done
  echo "no (last: $v)"
}
for h in a b c; do check "link put: seen on $h" "$(seen $h 1)" ok; done
out=$(lc link del "$ECHO" wasmcloud:keyvalue --link-name ltl 2>&1) && rc=0 || rc=$?
check "link del: exit 0" "$rc" 0
for h in a b c; do check "link del: gone from $h" "$(seen $h 0)" ok; done

# stop actor everywhere
out=$(lc stop actor echo 2>&1) && rc=0 || rc=$?
check "stop actor (every host): exit 0" "$rc" 0
check "stop actor: three hosts" "$(grep -c "stopped actor $ECHO" <<< "$out")" 3
out=$(lc call echo echo --payload x --cluster-seed "$T/cluster.nk" 2>&1) && rc=0 || rc=$?
check "call after stop: exit 1" "$rc" 1
out=$(lc stop actor echo 2>&1) && rc=0 || rc=$?
check "stop actor nobody runs: exit 1" "$rc" 1
check_contains "stop actor nobody runs: says so" "$out" "no host of lattice $LATTICE runs actor echo"

# errors: an unknown host, a host that does not answer
out=$(lc get inventory --host NBOGUSHOSTKEY 2>&1) && rc=0 || rc=$?
check "unknown host: exit 1" "$rc" 1
check_contains "unknown host: says so" "$out" "host NBOGUSHOSTKEY is not in lattice $LATTICE"
kill -STOP "$(host_pid c)"
t0=$(now_ms)
out=$(lc get inventory --host "$C" --timeout-ms 700 2>&1) && rc=0 || rc=$?
t=$(($(now_ms) - t0))
kill -CONT "$(host_pid c)"
check "stopped host: exit 1" "$rc" 1
check_contains "stopped host: says so" "$out" "host $C did not answer in 700 ms"
[ "$t" -lt 3000 ] && pass "stopped host: gave up after $t ms" || fail "stopped host: took $t ms"
out=$("$CORRAL" get inventory --lattice "$LATTICE" --nats nats://127.0.0.1:1 2>&1) && rc=0 || rc=$?
check "NATS unreachable: exit 1" "$rc" 1

for h in a b c; do host_stop "$h"; check "host $h: SIGTERM exit 0" "$HOST_RC" 0; done
lt_done
