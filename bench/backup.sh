#!/usr/bin/env bash
# Issue 26: backup of a store holding PODS (30,000) pods while a write load runs. Prints one JSON
# line: the backup's seconds and bytes, and the create rate of the same load without and with
# backups running back to back (target: with >= 0.8 of without).
set -euo pipefail
cd "$(dirname "$0")/.."
PODS=${PODS:-30000}
LOAD=${LOAD:-8000}
CLIENTS=${CLIENTS:-32}
BIN=${BIN:-.build/release}
work=$(mktemp -d /tmp/berth-backup-bench.XXXXXX)
server_pid=""; loop_pid=""
cleanup() {
  [ -n "$loop_pid" ] && kill "$loop_pid" 2>/dev/null && wait "$loop_pid" 2>/dev/null || true
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
"$BIN/berth" server --data-dir "$work/berth" --listen "127.0.0.1:$port" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do
  [ -f "$work/berth/admin.kubeconfig" ] && curl -sfk "https://127.0.0.1:$port/readyz" >/dev/null && break
  sleep 0.1
done
kc="$work/berth/admin.kubeconfig"
rate() { "$BIN/berth-bench" api --kubeconfig "$kc" --namespace "$1" --pods "$2" --clients "$CLIENTS" --watchers 0 | python3 -c 'import json,sys; print(json.load(sys.stdin)["creates_per_s"])'; }
rate fill "$PODS" >/dev/null
# One backup of the full store, timed, with no load.
start=$(date +%s.%N)
"$BIN/berth" backup --out "$work/one.db" --data-dir "$work/berth" >/dev/null
end=$(date +%s.%N)
backup_s=$(python3 -c "print(round($end - $start, 2))")
backup_bytes=$(stat -c %s "$work/one.db")
store_bytes=$(stat -c %s "$work/berth/state.db")
# The same write load without, then with backups for its whole length: back to back
# (BACKUP_EVERY=0, the worst case: a read transaction always open, so the WAL never resets),
# or one every BACKUP_EVERY seconds.
BACKUP_EVERY=${BACKUP_EVERY:-0}
without=$(rate quiet "$LOAD")
( i=0; while true; do ${BACKUP_PREFIX:-} "$BIN/berth" backup --out "$work/loop.db" --data-dir "$work/berth" >/dev/null; i=$((i+1)); echo $i >"$work/count"; sleep "$BACKUP_EVERY"; done ) &
loop_pid=$!
with=$(rate busy "$LOAD")
kill "$loop_pid" 2>/dev/null; wait "$loop_pid" 2>/dev/null || true; loop_pid=""
backups=$(cat "$work/count" 2>/dev/null || echo 0)
ratio=$(python3 -c "print(round($with / $without, 3))")
echo "{\"bench\":\"backup\",\"pods\":$PODS,\"store_bytes\":$store_bytes,\"backup_seconds\":$backup_s,\"backup_bytes\":$backup_bytes,\"creates_per_s_without\":$without,\"creates_per_s_during_backups\":$with,\"backups_during_load\":$backups,\"backup_every_s\":$BACKUP_EVERY,\"ratio\":$ratio}"
