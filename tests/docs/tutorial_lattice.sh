#!/bin/sh
# tutorial_lattice.sh - runs docs/tutorial.md from `corral new` to section 6
# (the two-host lattice) with the commands the tutorial shows, and checks the
# answers it shows: visits counted across hosts, the lattice listings, a live
# update on the actor's host, 503 once that host stops, and the count going
# on when it comes back. Starts its own nats-server on a free port.
#   tutorial_lattice.sh <corral>        (needs nats-server, clang-14, curl, python3)
set -u
corral=$1
tmp=$(mktemp -d)
export CORRAL_HOME=$tmp/home
cd "$tmp" || exit 1
pids=
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null; done
    for p in $pids; do wait "$p" 2>/dev/null; done
    cd / && rm -rf "$tmp"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
# wait_for <file> <text>: up to 10 s for text to appear in file.
wait_for() {
    i=0
    while ! grep -q "$2" "$1" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    grep -q "$2" "$1" 2>/dev/null || fail "'$2' never appeared in $1: $(cat "$1")"
}
# expect_http <wanted body> [wanted code]: retries for up to 5 s while the
# status differs (a host that just joined learns the others within about a
# second; a failed request counts no visit), then compares body and status.
expect_http() {
    i=0
    while :; do
        got=$(curl -s -w ' %{http_code}' "127.0.0.1:$hp/" | tr -d '\n')
        case $got in *" ${2:-200}") break ;; esac
        [ $i -ge 50 ] && break
        sleep 0.1; i=$((i + 1))
    done
    if [ "$got" != "$1 ${2:-200}" ]; then fail "curl: '$got' (wanted '$1 ${2:-200}')"; else echo "ok: curl -> $got"; fi
}

"$corral" new actor hello >/dev/null || { echo "FAIL: corral new"; exit 1; }
"$corral" build hello >/dev/null || { echo "FAIL: corral build"; exit 1; }

np=$(free_port) hp=$(free_port)
nats-server -a 127.0.0.1 -p "$np" -js -sd "$tmp/js" >nats.log 2>&1 &
pids="$pids $!"
(umask 077; "$corral" keys gen cluster | sed -n 's/^Seed: //p' > cluster.nk)
[ "$(stat -c %a cluster.nk)" = 600 ] || fail "cluster.nk mode $(stat -c %a cluster.nk)"
grep -q '^SC' cluster.nk || fail "cluster.nk holds no cluster seed"
key=$("$corral" keys get "$CORRAL_HOME/keys/hello_module.nk")
printf 'actors:\n  - hello/build/hello_s.wasm\n' > app.yaml
cat > edge.yaml <<YAML
capabilities:
  - kind: httpserver
  - kind: keyvalue:sqlite
links:
  - actor: $key
    contract_id: wasmcloud:httpserver
    values: { PORT: "$hp" }
  - actor: $key
    contract_id: wasmcloud:keyvalue
YAML
wait_for nats.log "Server is ready"

up() { # up <name>
    "$corral" up "$1.yaml" --lattice tut --nats "nats://127.0.0.1:$np" --cluster-seed cluster.nk \
        --run-dir "$tmp/$1/run" --data-dir "$tmp/$1/data" --label "role=$1" >"$1.log" 2>&1 &
    pids="$pids $!"
    wait_for "$1.log" "ready:"
}
up app
up edge
sleep 0.5 # edge learns where the actor runs from app's heartbeat

expect_http "Hello from hello (visit #1)"
expect_http "Hello from hello (visit #2)"
lat="--lattice tut --nats nats://127.0.0.1:$np"
# shellcheck disable=SC2086
"$corral" get hosts $lat | grep -q '^HOSTS (2) in lattice tut' || fail "get hosts: $("$corral" get hosts $lat 2>&1)"
# shellcheck disable=SC2086
[ "$("$corral" get links $lat | grep -c "$key")" = 2 ] || fail "get links: $("$corral" get links $lat 2>&1)"
# shellcheck disable=SC2086
"$corral" get claims $lat | grep -q "$key  hello " || fail "get claims: $("$corral" get claims $lat 2>&1)"

sed -i 's/Hello from hello/Howdy from hello/' hello/src/hello.c
"$corral" build hello >/dev/null || fail "second build"
out=$("$corral" update actor hello hello/build/hello_s.wasm --run-dir "$tmp/app/run") || fail "update: $out"
case $out in *"rev 1 -> 2"*) ;; *) fail "update said: $out" ;; esac
expect_http "Howdy from hello (visit #3)"

[ "$("$corral" stop host --wait --run-dir "$tmp/app/run")" = "host stopped" ] || fail "stop app"
sleep 0.5
expect_http "service unavailable: no actor is ready for this request" 503
up app
sleep 0.5
expect_http "Howdy from hello (visit #4)"

"$corral" stop host --wait --run-dir "$tmp/app/run" >/dev/null || fail "stop app again"
"$corral" stop host --wait --run-dir "$tmp/edge/run" >/dev/null || fail "stop edge"
if [ $fails -ne 0 ]; then
    echo "$fails check(s) failed"; tail -n 20 app.log edge.log; exit 1
fi
echo "all checks passed"
