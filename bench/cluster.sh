#!/usr/bin/env bash
# Issue 4 benchmarks, each one JSON line:
#  scheduler: the scheduling algorithm alone, decisions per second over a 5,000-node snapshot
#             (median of three runs; no API involved).
#  rollout:   `berth server` (release, SQLite) and `berth agent --simulate 1000` joined with a
#             bootstrap token; 300 Deployments × 100 replicas applied at once; seconds until a
#             watch has seen all 30,000 pods Running, pods/s, server RSS.
#  failover:  three hosts as network namespaces (the cluster test's fixture): seconds from
#             killing a host (agent and containers) to its replicas Running elsewhere; median of
#             three runs of that test.
# kube-scheduler and Nomad cannot run here (no images, no internet); their published numbers are
# the reference, as bench/README.md says.
set -euo pipefail
cd "$(dirname "$0")/.."
NODES=${NODES:-1000}
DEPLOYMENTS=${DEPLOYMENTS:-300}
REPLICAS=${REPLICAS:-100}
FAILOVER_RUNS=${FAILOVER_RUNS:-3}
BIN=${BIN:-$PWD/.build/release}
work=/tmp/berth-cluster-bench-$$
mkdir -p "$work"
source bench/lib/sim-cluster.sh
trap cleanup_sim_cluster EXIT

"$BIN/berth-bench" scheduler --nodes 5000 --pods 20000

start_sim_server
start_simulator
wait_nodes_ready
"$BIN/berth-bench" rollout --kubeconfig "$work/server/admin.kubeconfig" --namespace bench \
  --deployments "$DEPLOYMENTS" --replicas "$REPLICAS" --server-pid "$server_pid"
kill "$sim_pid"; wait "$sim_pid" 2>/dev/null || true; sim_pid=""
kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""

swift build --build-tests >/dev/null 2>&1  # the failover run uses the cluster test and its fixture
samples=()
for _ in $(seq 1 "$FAILOVER_RUNS"); do
  out=$(swift test --skip-build --filter spreadFailoverAndReturn 2>&1 || true)
  s=$(echo "$out" | grep -o 'running elsewhere after [0-9.]* s' | grep -o '[0-9.]*' | head -1)
  [ -n "$s" ] && samples+=("$s")
done
python3 -c 'import sys,json,statistics; v=[float(x) for x in sys.argv[1:]]; print(json.dumps({"bench":"failover","runs_s":v,"median_s":round(statistics.median(v),1) if v else None,"target_s":20}))' "${samples[@]}"
