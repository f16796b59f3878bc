# Starts one `berth server` on SQLite in a fresh work directory for a benchmark, and stops it
# (by its PID) and removes the directory on exit. Source it after setting BIN; it sets `work`,
# `api_port` and `server_pid`.
work=$(mktemp -d /tmp/berth-bench.XXXXXX)
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
api_port=$(port)
"$BIN/berth" server --data-dir "$work/berth" --listen "127.0.0.1:$api_port" >"$work/berth.log" 2>&1 &
server_pid=$!
for _ in $(seq 100); do
  [ -f "$work/berth/admin.kubeconfig" ] && curl -sfk "https://127.0.0.1:$api_port/readyz" >/dev/null && break
  sleep 0.1
done
