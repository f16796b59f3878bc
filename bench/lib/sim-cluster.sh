# Shared by cluster.sh and outage.sh: `berth server` (SQLite, release) and `berth agent
# --simulate NODES` joined with a bootstrap token, in $work. Expects BIN, NODES and work set;
# sets port, server_pid, sim_pid and kubectl; cleanup_sim_cluster stops both and removes $work.
server_pid=""; sim_pid=""
cleanup_sim_cluster() {
  set +e
  [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null && wait "$sim_pid" 2>/dev/null
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}

start_sim_server() {
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
  "$BIN/berth" server --data-dir "$work/server" --listen "127.0.0.1:$port" >"$work/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 100); do [ -f "$work/server/admin.kubeconfig" ] && curl -sk "https://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
  token=$("$BIN/berth" token create --kubeconfig "$work/server/admin.kubeconfig" 2>"$work/join.txt")
  hash=$(grep -o 'sha256:[0-9a-f]*' "$work/join.txt")
  kubectl=(/usr/lib/google-cloud-sdk/bin/kubectl.1.33 --kubeconfig "$work/server/admin.kubeconfig")
}

# Starts the simulator (again, with the credentials it kept, after a stop).
start_simulator() {
  "$BIN/berth" agent --simulate "$NODES" --node-name sim --join "https://127.0.0.1:$port" --token "$token" --ca-cert-hash "$hash" \
    --data-dir "$work/sim" >>"$work/sim.log" 2>&1 &
  sim_pid=$!
}

wait_nodes_ready() {
  for _ in $(seq 1 600); do
    [ "$("${kubectl[@]}" get nodes --no-headers 2>/dev/null | grep -c ' Ready' || true)" -ge "$NODES" ] && return
    sleep 0.5
  done
}
