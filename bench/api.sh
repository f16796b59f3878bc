#!/usr/bin/env bash
# Issue 2 benchmark: `berth up` (release, SQLite) vs a single-member etcd, in the same run.
# Prints one JSON line: creates/s, LIST latency, watch delivery p50/p99, server RSS, etcd ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
PODS=${PODS:-20000}
CLIENTS=${CLIENTS:-32}
WATCHERS=${WATCHERS:-100}
BIN=${BIN:-.build/release}  # another build for A/B runs: BIN=/some/dir bash bench/api.sh
work=$(mktemp -d /tmp/berth-bench.XXXXXX)
server_pid=""; etcd_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  # `berth up` runs an agent; whatever it left on the host goes before the directory does.
  "$BIN/berth" cleanup --data-dir "$work/berth" >/dev/null 2>&1 || true
  [ -n "$etcd_pid" ] && kill "$etcd_pid" 2>/dev/null && wait "$etcd_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

api_port=$(port); etcd_port=$(port); peer_port=$(port)
"$BIN/berth" up --data-dir "$work/berth" --listen "127.0.0.1:$api_port" >"$work/berth.log" 2>&1 &
server_pid=$!
etcd --data-dir "$work/etcd" --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
  --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
  --initial-cluster "default=http://127.0.0.1:$peer_port" >"$work/etcd.log" 2>&1 &
etcd_pid=$!
for _ in $(seq 100); do
  [ -f "$work/berth/admin.kubeconfig" ] && curl -sfk "https://127.0.0.1:$api_port/readyz" >/dev/null && \
    curl -sf "http://127.0.0.1:$etcd_port/version" >/dev/null && break
  sleep 0.1
done
line=$("$BIN/berth-bench" api --kubeconfig "$work/berth/admin.kubeconfig" --pods "$PODS" --clients "$CLIENTS" \
  --watchers "$WATCHERS" --etcd "http://127.0.0.1:$etcd_port")
rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$server_pid/status")
hwm_kb=$(awk '/VmHWM/ {print $2}' "/proc/$server_pid/status")
cpu_ticks=$(awk '{print $14 + $15}' "/proc/$server_pid/stat")
# Also after the server's periodic malloc_trim (every 5 s) has had a chance to run: the
# working set rather than the tail of the last 20 MB LIST response.
sleep 6
settled_kb=$(awk '/VmRSS/ {print $2}' "/proc/$server_pid/status")
cpu_s=$(python3 -c "print(round($cpu_ticks / $(getconf CLK_TCK), 1))")
echo "${line%\}},\"server_rss_mb\":$((rss_kb / 1024)),\"server_peak_rss_mb\":$((hwm_kb / 1024)),\"server_rss_mb_settled\":$((settled_kb / 1024)),\"server_cpu_s\":$cpu_s}"
