#!/usr/bin/env bash
# soak.sh - soak test of a real `corral up`: kvcounter on the SQLite store
# behind the HTTP provider, under HTTP load (tests/integration/http_load,
# keep-alive connections) for SECONDS (default 600), while the actor is
# live-updated every UPDATE_S seconds (rev 2, 3, ...) and the keyvalue link
# is dropped and put back (a provider relink) every RELINK_S seconds. The
# host's RSS is sampled every 2 s. Passes when:
#   - every request got 200, or 503 while the store was unlinked (http_load
#     exits non-zero on anything else: other statuses, resets, refused
#     connections, hangs) and every update and relink was accepted;
#   - memory is flat: the mean RSS of the last quarter of the run is within
#     20 % + 4 MiB of the mean of the second quarter (after warm-up);
#   - the host exits 0 on SIGTERM without an AddressSanitizer/LeakSanitizer
#     report (a sanitizer build's leak check runs at exit);
#   - no seed of the signing keys appears in the host log, the script's
#     logs, or `corral --help` / `corral <command> --help`.
#
#   scripts/soak.sh [SECONDS]                       (uses build/)
#   scripts/soak.sh SECONDS CORRAL GUESTS KEYS HTTP_LOAD   (ctest: 60 s)
# Environment: CONNS (default 4), UPDATE_S (default 10), RELINK_S (7).
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
SECS=${1:-600}
if [ $# -ge 5 ]; then
  CORRAL=$2 GUESTS=$3 KEYS=$4 LOAD=$5
else
  B=${CORRAL_BUILD:-$SRC/build}
  CORRAL=$B/cli/corral GUESTS=$B/guests KEYS=$B/keys LOAD=$B/tests/integration/http_load
fi
CONNS=${CONNS:-4} UPDATE_S=${UPDATE_S:-10} RELINK_S=${RELINK_S:-7}
. "$SRC/tests/integration/lib.sh"
it_init "$CORRAL" "$GUESTS" "$KEYS" "$SRC"
PORT=$(free_port)
cat > "$T/soak.yaml" <<YAML
actors:
  - path: \${CORRAL_GUEST_DIR}/kvcounter_s.wasm
    max_instances: 4
capabilities:
  - kind: httpserver
  - kind: keyvalue:sqlite
links:
  - actor: kvcounter
    contract_id: wasmcloud:httpserver
    values: { PORT: "$PORT", THREADS: "4" }
  - actor: kvcounter
    contract_id: wasmcloud:keyvalue
YAML
start_host "$T/soak.yaml" || exit 1
wait_port "$PORT" || exit 1
"$LOAD" "$PORT" /soak "$CONNS" "$SECS" 5000 >"$T/load.json" 2>"$T/load.err" &
LOAD_PID=$!
t0=$(date +%s)
rev=1 updates=0 uerr=0 relinks=0 lerr=0 next_u=$UPDATE_S next_l=$RELINK_S
: >"$T/rss"
while kill -0 "$LOAD_PID" 2>/dev/null; do
  el=$(( $(date +%s) - t0 ))
  awk '/^VmRSS:/{print $2}' "/proc/$HOST_PID/status" >>"$T/rss" 2>/dev/null || true
  if [ "$el" -ge "$next_u" ] && [ "$el" -lt "$SECS" ]; then
    rev=$((rev + 1))
    sign_kv "$rev" "$T/kv.wasm"
    if "$CORRAL" update actor kvcounter "$T/kv.wasm" --run-dir "$RUN" >/dev/null 2>>"$T/ctl.err"
    then updates=$((updates + 1)); else uerr=$((uerr + 1)); fi
    next_u=$((next_u + UPDATE_S))
  fi
  if [ "$el" -ge "$next_l" ] && [ "$el" -lt "$SECS" ]; then
    if "$CORRAL" link del kvcounter wasmcloud:keyvalue --run-dir "$RUN" >/dev/null 2>>"$T/ctl.err" &&
       "$CORRAL" link put kvcounter wasmcloud:keyvalue --run-dir "$RUN" >/dev/null 2>>"$T/ctl.err"
    then relinks=$((relinks + 1)); else lerr=$((lerr + 1)); fi
    next_l=$((next_l + RELINK_S))
  fi
  sleep 2
done
wait "$LOAD_PID" && lrc=0 || lrc=$?
echo "figure: soak ${SECS}s: updates=$updates relinks=$relinks load: $(cat "$T/load.json")"
check "load: only 200 / 503 (no other status, reset, refusal or hang)" "$lrc" 0
check "every update accepted" "$uerr" 0
check "every relink accepted" "$lerr" 0
[ "$updates" -gt 0 ] && pass "updates happened ($updates)" || fail "no update happened"
[ -s "$T/ctl.err" ] && { echo "control errors:"; cat "$T/ctl.err"; }
n=$(wc -l <"$T/rss")
read -r q2 q4 < <(awk -v n="$n" '{v[NR]=$1} END{
  a=int(n/4); s2=0; c2=0; s4=0; c4=0
  for(i=a+1;i<=2*a;i++){s2+=v[i];c2++} for(i=3*a+1;i<=n;i++){s4+=v[i];c4++}
  printf "%d %d\n", (c2?s2/c2:0), (c4?s4/c4:0)}' "$T/rss")
echo "figure: RSS samples=$n mean 2nd quarter ${q2} KiB, mean last quarter ${q4} KiB, max $(sort -n "$T/rss" | tail -1) KiB"
if [ "$n" -ge 8 ] && [ "$q4" -le $(( q2 * 12 / 10 + 4096 )) ]; then pass "memory flat"
else fail "memory grew: ${q2} -> ${q4} KiB ($n samples)"; fi
stop_host_term
check "SIGTERM: exit 0" "$HOST_RC" 0
if grep -q -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$T/host.log"; then
  fail "sanitizer report in the host log"; grep -A20 -E 'ERROR: |runtime error:' "$T/host.log" | head -40
else pass "no sanitizer report at exit"; fi
# seeds: never in logs or help texts
{ "$CORRAL" --help 2>&1 || true
  for c in $("$CORRAL" --help 2>&1 | awk '/^  [a-z]/{print $1}' | sort -u); do "$CORRAL" "$c" --help 2>&1 || true; done
} >"$T/help.txt"
leaks=0
for k in "$KEYS"/*.nk; do
  [ -f "$k" ] || continue
  s=$(head -c 58 "$k")
  for f in "$T/host.log" "$T/help.txt" "$T/ctl.err" "$T/load.err"; do
    [ -f "$f" ] && grep -q -F "$s" "$f" && { leaks=$((leaks + 1)); echo "seed of $(basename "$k") in $(basename "$f")"; }
  done
done
check "no signing seed in host log, help texts or control output" "$leaks" 0
w=$(grep -c -E ' (warn|error) ' "$T/host.log" || true)
echo "figure: host log: $w warning/error lines"
if [ "$FAILS" != 0 ]; then
  keep=${SOAK_KEEP_DIR:-/tmp}/corral-soak-$$
  mkdir -p "$keep" && cp "$T"/*.log "$T"/rss "$T"/load.json "$keep"/ 2>/dev/null || true
  echo "logs kept in $keep"
  grep -E ' (warn|error) ' "$T/host.log" | tail -20 || true
fi
it_done
