#!/usr/bin/env bash
# Issue 4, failover at scale: `berth server` + `berth agent --simulate 1000` (3 zones), 300
# Deployments x 100 replicas Running, then the simulator is killed (every node stops renewing at
# once, as when the control plane loses its network) for LOST_S seconds and started again with
# the same credentials. One JSON line: server CPU while the nodes were lost, pods evicted, and
# seconds from the simulator's return until all 30,000 pods are Running again.
# PARTIAL=N instead loses N of the nodes for good (a simulator of their own, killed): pods
# evicted, and seconds from the kill until all pods are Running on the other nodes
# (node grace 10 s + eviction timeout 10 s of it).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-$PWD/.build/release}  # another build for A/B runs: BIN=/some/dir bash bench/outage.sh
LOST_S=${LOST_S:-45}
NODES=${NODES:-1000}
DEPLOYMENTS=${DEPLOYMENTS:-300}
REPLICAS=${REPLICAS:-100}
work=$(mktemp -d /tmp/berth-outage-bench.XXXXXX)
source bench/lib/sim-cluster.sh
lost_pid=""
trap '[ -n "$lost_pid" ] && kill "$lost_pid" 2>/dev/null; cleanup_sim_cluster' EXIT
PARTIAL=${PARTIAL:-0}
start_sim_server
if [ "$PARTIAL" -gt 0 ]; then
  total_nodes=$NODES; NODES=$((total_nodes - PARTIAL))
  start_simulator
  "$BIN/berth" agent --simulate "$PARTIAL" --node-name lost --join "https://127.0.0.1:$port" --token "$token" --ca-cert-hash "$hash" \
    --data-dir "$work/lost" >>"$work/lost.log" 2>&1 &
  lost_pid=$!
  NODES=$total_nodes
else
  start_simulator
fi
wait_nodes_ready
"$BIN/berth-bench" rollout --kubeconfig "$work/server/admin.kubeconfig" --namespace bench \
  --deployments "$DEPLOYMENTS" --replicas "$REPLICAS" --server-pid "$server_pid" >/dev/null
total=$((DEPLOYMENTS * REPLICAS))
# Running pods not being deleted, and all pods, in the bench namespace.
running() {
  curl -sk -H "Authorization: Bearer $(cat "$work/server/admin.token")" "https://127.0.0.1:$port/api/v1/namespaces/bench/pods" |
    python3 -c 'import json,sys; d=json.load(sys.stdin)["items"]; print(sum(1 for p in d if p.get("status",{}).get("phase")=="Running" and not p["metadata"].get("deletionTimestamp")), len(d))'
}
# Running pods not being deleted and not on the lost nodes.
running_elsewhere() {
  curl -sk -H "Authorization: Bearer $(cat "$work/server/admin.token")" "https://127.0.0.1:$port/api/v1/namespaces/bench/pods" |
    python3 -c 'import json,sys; d=json.load(sys.stdin)["items"]; print(sum(1 for p in d if p.get("status",{}).get("phase")=="Running" and not p["metadata"].get("deletionTimestamp") and not p["spec"].get("nodeName","").startswith("lost-")))'
}
not_running() {
  curl -sk -H "Authorization: Bearer $(cat "$work/server/admin.token")" "https://127.0.0.1:$port/api/v1/namespaces/bench/pods?fieldSelector=status.phase%21%3DRunning" |
    python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))'
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }
if [ "$PARTIAL" -gt 0 ]; then
  on_lost=$(curl -sk -H "Authorization: Bearer $(cat "$work/server/admin.token")" "https://127.0.0.1:$port/api/v1/namespaces/bench/pods" |
    python3 -c 'import json,sys; print(sum(1 for p in json.load(sys.stdin)["items"] if p["spec"].get("nodeName","").startswith("lost-")))')
  before=$(cpu_ticks)
  began=$(date +%s.%N)
  kill -9 "$lost_pid"; wait "$lost_pid" 2>/dev/null || true; lost_pid=""
  replaced=""
  for _ in $(seq 1 400); do
    # The full list (a second of server CPU per few calls) only once the cheap checks pass.
    [ "$(grep -c 'evicting pod from lost node' "$work/server.log" || true)" -ge "$on_lost" ] || { sleep 0.2; continue; }
    [ "$(not_running)" -eq 0 ] || { sleep 0.2; continue; }
    if [ "$(running_elsewhere)" -ge "$total" ]; then
      replaced=$(python3 -c "print(round($(date +%s.%N) - $began, 1))"); break
    fi
    sleep 0.5
  done
  cpu=$(python3 -c "print(round(($(cpu_ticks) - $before) / $(getconf CLK_TCK), 1))")
  evicted=$(grep -c 'evicting pod from lost node' "$work/server.log" || true)
  first=$(grep -m1 'evicting pod from lost node' "$work/server.log" | cut -c1-25)
  last=$(grep 'evicting pod from lost node' "$work/server.log" | tail -1 | cut -c1-25)
  span=$(python3 -c "from datetime import datetime as d; f=lambda s: d.fromisoformat(s.strip()); print((f('$last')-f('$first')).total_seconds())" 2>/dev/null || echo null)
  echo "{\"bench\":\"partial-outage\",\"nodes\":$NODES,\"lost_nodes\":$PARTIAL,\"pods\":$total,\"pods_on_lost_nodes\":$on_lost,\"pods_evicted\":$evicted,\"eviction_span_s\":$span,\"server_cpu_s\":$cpu,\"all_running_after_kill_s\":${replaced:-null}}"
  exit 0
fi
kill -9 "$sim_pid"; wait "$sim_pid" 2>/dev/null || true; sim_pid=""
on_lost=$total  # every node is lost at once
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
echo "{\"bench\":\"outage\",\"nodes\":$NODES,\"pods\":$total,\"lost_s\":$LOST_S,\"server_cpu_while_lost_s\":$lost_cpu,\"running_when_back\":$running_while_lost,\"pods_on_lost_nodes\":$on_lost,\"pods_evicted\":$evicted,\"all_running_after_return_s\":${back:-null}}"
