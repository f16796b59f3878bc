#!/usr/bin/env bash
# Issue 4, failover at scale: `berth server` + `berth agent --simulate 1000` (3 zones), 300
# Deployments x 100 replicas Running, then the simulator is killed (every node stops renewing at
# once, as when the control plane loses its network) for LOST_S seconds and started again with
# the same credentials. One JSON line: server CPU while the nodes were lost, pods evicted, and
# seconds from the simulator's return until all 30,000 pods are Running again.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-$PWD/.build/release}  # another build for A/B runs: BIN=/some/dir bash bench/outage.sh
LOST_S=${LOST_S:-45}
NODES=${NODES:-1000}
DEPLOYMENTS=${DEPLOYMENTS:-300}
REPLICAS=${REPLICAS:-100}
work=$(mktemp -d /tmp/berth-outage-bench.XXXXXX)
source bench/lib/sim-cluster.sh
trap cleanup_sim_cluster EXIT
start_sim_server
start_simulator
wait_nodes_ready
"$BIN/berth-bench" rollout --kubeconfig "$work/server/admin.kubeconfig" --namespace bench \
  --deployments "$DEPLOYMENTS" --replicas "$REPLICAS" --server-pid "$server_pid" >/dev/null
total=$((DEPLOYMENTS * REPLICAS))
# Running pods not being deleted, and all pods, in the bench namespace.
running() {
  curl -sk -H "Authorization: Bearer $(cat "$work/server/admin.token")" "https://127.0.0.1:$port/api/v1/namespaces/bench/pods" |
    python3 -c 'import json,sys; d=json.load(sys.stdin)["items"]; print(sum(1 for p in d if p.get("status",{}).get("phase")=="Running" and not p["metadata"].get("deletionTimestamp")), len(d))'
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }
kill -9 "$sim_pid"; wait "$sim_pid" 2>/dev/null || true; sim_pid=""
before=$(cpu_ticks)
sleep "$LOST_S"
lost_cpu=$(python3 -c "print(round(($(cpu_ticks) - $before) / $(getconf CLK_TCK), 1))")
read -r running_while_lost _ < <(running)
began=$(date +%s.%N)
start_simulator
back=""
for _ in $(seq 1 400); do
  read -r now_running _ < <(running)
  if [ "$now_running" -ge "$total" ]; then back=$(python3 -c "print(round($(date +%s.%N) - $began, 1))"); break; fi
  sleep 1
done
evicted=$(grep -c 'evicting pod from lost node' "$work/server.log" || true)
echo "{\"bench\":\"outage\",\"nodes\":$NODES,\"pods\":$total,\"lost_s\":$LOST_S,\"server_cpu_while_lost_s\":$lost_cpu,\"running_when_back\":$running_while_lost,\"pods_evicted\":$evicted,\"all_running_after_return_s\":${back:-null}}"
