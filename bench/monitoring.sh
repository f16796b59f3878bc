#!/usr/bin/env bash
# Issue 30 benchmarks, each one JSON line:
#  hpa_step:        `berth up` (release), a CPU-bound Deployment stepped from idle to burning
#                   (bench/lib/hpa_step.py): seconds to the scale-up decision and to the new pods
#                   Ready, median of 3. Kubernetes' average is the anchor (no Kubernetes here).
#  metrics_cost:    `berth server` and a joined `berth agent` as separate processes with 200 sleep
#                   pods: the agent's CPU (share of a core over 60 s) and RSS without a scraper,
#                   then with Prometheus (Debian's 2.42) scraping its three metrics paths every
#                   10 s through the server's node proxy.
#  metrics_render:  `berth server` with 1,000 simulated nodes and 30,000 pods: bytes and
#                   milliseconds of GET /metrics (median of 5).
#  metrics_scrape_nodes: on that cluster, Prometheus (2.42) with `berth monitoring prometheus-config`
#                   scraping the three metrics paths of all 1,000 simulated nodes through the
#                   server's node proxy every 15 s: targets up, scrape seconds p50/p99/max,
#                   samples per round, the server's CPU share and RSS over 60 s.
#  metrics_history_memory: the usage history's resident memory per series (berth-bench history).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-$PWD/.build/release}
PODS=${PODS:-200}
NODES=${NODES:-1000}
DEPLOYMENTS=${DEPLOYMENTS:-300}
REPLICAS=${REPLICAS:-100}
SCRAPE_INTERVAL=${SCRAPE_INTERVAL:-15s}
SCRAPE_WARMUP=${SCRAPE_WARMUP:-45}
PARTS=${PARTS:-"hpa_step metrics_cost metrics_render metrics_scrape_nodes metrics_history_memory"}
want() { [[ " $PARTS " == *" $1 "* ]]; }
work=/tmp/berth-monitoring-bench-$$
mkdir -p "$work"
up_pid=""; server_pid=""; agent_pid=""; prom_pid=""; sim_pid=""
kubectl() { /usr/lib/google-cloud-sdk/bin/kubectl.1.33 "$@"; }
cleanup() {
  set +e
  [ -n "$kc" ] && [ -f "$kc" ] && kubectl --kubeconfig "$kc" delete pods --all -A --grace-period=0 --wait=true --timeout=120s >/dev/null 2>&1
  for pid in "$prom_pid" "$agent_pid" "$up_pid" "$sim_pid" "$server_pid"; do
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  done
  "$BIN/berth" cleanup --data-dir "$work/up/node" --bridge-name brhpab >/dev/null 2>&1
  "$BIN/berth" cleanup --data-dir "$work/node" --bridge-name brcost >/dev/null 2>&1
  awk -v w="$work" '$2 ~ "^"w {print $2}' /proc/mounts | sort -r | xargs -r -n1 umount -l
  rm -rf "$work"
}
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
kc=""

# --- hpa_step ---------------------------------------------------------------------------------
if want hpa_step; then
api=$(port)
"$BIN/berth" up --data-dir "$work/up" --listen "127.0.0.1:$api" --node-name hpa-bench --bridge-name brhpab \
  --pod-subnet 100.96.241.0/24 >"$work/up.log" 2>&1 &
up_pid=$!
kc=$work/up/admin.kubeconfig
for _ in $(seq 600); do [ -f "$kc" ] && kubectl --kubeconfig "$kc" get nodes 2>/dev/null | grep -q ' Ready' && break; sleep 0.2; done
python3 bench/lib/hpa_step.py "$kc" 3
kubectl --kubeconfig "$kc" delete pods --all -A --grace-period=0 --wait=true --timeout=120s >/dev/null 2>&1 || true
kill "$up_pid"; wait "$up_pid" 2>/dev/null || true; up_pid=""
"$BIN/berth" cleanup --data-dir "$work/up/node" --bridge-name brhpab >/dev/null 2>&1 || true
fi

# --- metrics_cost -----------------------------------------------------------------------------
if want metrics_cost; then
api=$(port)
"$BIN/berth" server --data-dir "$work/server" --listen "127.0.0.1:$api" >"$work/server.log" 2>&1 &
server_pid=$!
kc=$work/server/admin.kubeconfig
for _ in $(seq 600); do [ -f "$kc" ] && curl -sfk "https://127.0.0.1:$api/readyz" >/dev/null && break; sleep 0.1; done
token=$("$BIN/berth" token create --kubeconfig "$kc" 2>"$work/join.txt")
hash=$(grep -o 'sha256:[0-9a-f]*' "$work/join.txt")
"$BIN/berth" agent --join "https://127.0.0.1:$api" --token "$token" --ca-cert-hash "$hash" --data-dir "$work/node" --node-name cost-node \
  --bridge-name brcost --pod-subnet 100.96.242.0/24 >"$work/agent.log" 2>&1 &
agent_pid=$!
for _ in $(seq 600); do kubectl --kubeconfig "$kc" get nodes 2>/dev/null | grep -q 'cost-node *Ready' && break; sleep 0.2; done
kubectl --kubeconfig "$kc" create deployment sleepers --image berth/busybox:latest --replicas "$PODS" -- sleep 36000 >/dev/null
for _ in $(seq 900); do
  [ "$(kubectl --kubeconfig "$kc" get deployment sleepers -o jsonpath='{.status.readyReplicas}' 2>/dev/null)" = "$PODS" ] && break; sleep 1
done
sleep 20
measure() {  # CPU share of a core and RSS (MB) of the agent over $1 seconds
  local t0 t1 c0 c1
  t0=$(date +%s.%N); c0=$(awk '{print $14+$15}' /proc/$agent_pid/stat)
  sleep "$1"
  t1=$(date +%s.%N); c1=$(awk '{print $14+$15}' /proc/$agent_pid/stat)
  python3 -c "import sys; t0,t1,c0,c1=map(float,sys.argv[1:5]); print(round((c1-c0)/100/(t1-t0)*100,3), round(int(open('/proc/$agent_pid/status').read().split('VmRSS:')[1].split()[0])/1024,1))" "$t0" "$t1" "$c0" "$c1"
}
read -r cpu_without rss_without < <(measure 60)
"$BIN/berth" monitoring prometheus-config --kubeconfig "$kc" --ca-file "$work/ca.crt" --interval 10s >"$work/prometheus.yml"
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" --web.listen-address="127.0.0.1:$(port)" >"$work/prometheus.log" 2>&1 &
prom_pid=$!
sleep 20
read -r cpu_with rss_with < <(measure 60)
series=$(curl -s --cacert "$work/server/ca.crt" -H "Authorization: Bearer $(cat "$work/server/admin.token")" \
  "https://127.0.0.1:$api/api/v1/nodes/cost-node/proxy/metrics/cadvisor" | grep -vc '^#')
kill "$prom_pid"; wait "$prom_pid" 2>/dev/null || true; prom_pid=""
# The windows above differ by less than the agent's own noise; the cost of one scrape round
# (the three paths, as Prometheus asks them) is measured directly: agent CPU ticks over ROUNDS
# rounds, as a share of a core at one round every 10 s.
ROUNDS=${ROUNDS:-50}
c0=$(awk '{print $14+$15}' /proc/$agent_pid/stat)
for _ in $(seq "$ROUNDS"); do
  for path in metrics metrics/cadvisor metrics/resource; do
    curl -s -o /dev/null --cacert "$work/server/ca.crt" -H "Authorization: Bearer $(cat "$work/server/admin.token")" \
      "https://127.0.0.1:$api/api/v1/nodes/cost-node/proxy/$path"
  done
done
c1=$(awk '{print $14+$15}' /proc/$agent_pid/stat)
python3 -c 'import json,sys; a=sys.argv; per=(float(a[8])-float(a[7]))*10/int(a[9]); print(json.dumps({"bench":"metrics_cost","pods":int(a[1]),"cadvisor_series":int(a[2]),
  "agent_cpu_percent_without":float(a[3]),"agent_cpu_percent_with":float(a[4]),"agent_rss_mb_without":float(a[5]),"agent_rss_mb_with":float(a[6]),
  "extra_cpu_percent_of_core_windows":round(float(a[4])-float(a[3]),3),"agent_cpu_ms_per_scrape_round":round(per,1),
  "extra_cpu_percent_of_core_at_10s":round(per/10000*100,3),"extra_rss_mb":round(float(a[6])-float(a[5]),1),"target_cpu_percent":1,"target_rss_mb":5}))' \
  "$PODS" "$series" "$cpu_without" "$cpu_with" "$rss_without" "$rss_with" "$c0" "$c1" "$ROUNDS"
kubectl --kubeconfig "$kc" delete deployment sleepers --wait=false >/dev/null
kubectl --kubeconfig "$kc" delete pods --all -A --grace-period=0 --wait=true --timeout=300s >/dev/null 2>&1 || true
kill "$agent_pid"; wait "$agent_pid" 2>/dev/null || true; agent_pid=""
kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
"$BIN/berth" cleanup --data-dir "$work/node" --bridge-name brcost >/dev/null 2>&1 || true
fi

# --- metrics_render ---------------------------------------------------------------------------
if want metrics_render || want metrics_scrape_nodes; then
source bench/lib/sim-cluster.sh
start_sim_server
start_simulator
wait_nodes_ready
"$BIN/berth-bench" rollout --kubeconfig "$work/server/admin.kubeconfig" --namespace bench \
  --deployments "$DEPLOYMENTS" --replicas "$REPLICAS" --server-pid "$server_pid" >"$work/rollout.json"
samples=()
bytes=0
for _ in 1 2 3 4 5; do
  out=$(curl -s -o "$work/metrics.txt" -w '%{time_total} %{size_download}' --cacert "$work/server/ca.crt" \
    -H "Authorization: Bearer $(cat "$work/server/admin.token")" "https://127.0.0.1:$port/metrics")
  samples+=("$(echo "$out" | cut -d' ' -f1)"); bytes=$(echo "$out" | cut -d' ' -f2)
done
pods=$(grep -c '^kube_pod_info{' "$work/metrics.txt" || true)
python3 -c 'import json,sys,statistics; a=sys.argv; t=[float(x)*1000 for x in a[3:]]; print(json.dumps({"bench":"metrics_render","pods":int(a[1]),"bytes":int(a[2]),
  "ms_runs":[round(x) for x in t],"ms_median":round(statistics.median(t))}))' "$pods" "$bytes" "${samples[@]}"
# metrics_scrape_nodes: Prometheus with the shipped config scrapes every simulated node's three
# metrics paths through the server's node proxy (3 targets per node) every $SCRAPE_INTERVAL.
if want metrics_scrape_nodes; then
"$BIN/berth" monitoring prometheus-config --kubeconfig "$work/server/admin.kubeconfig" --ca-file "$work/server/ca.crt" \
  --interval "$SCRAPE_INTERVAL" >"$work/prometheus.yml"
prom_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" --web.listen-address="127.0.0.1:$prom_port" >"$work/prometheus.log" 2>&1 &
prom_pid=$!
sleep "$SCRAPE_WARMUP"
t0=$(date +%s.%N); c0=$(awk '{print $14+$15}' /proc/$server_pid/stat)
sleep 60
t1=$(date +%s.%N); c1=$(awk '{print $14+$15}' /proc/$server_pid/stat)
rss=$(awk '/VmRSS/ {print $2}' /proc/$server_pid/status)
q() { curl -s "http://127.0.0.1:$prom_port/api/v1/query" --data-urlencode "query=$1" | python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "nan")'; }
jobs='job=~"berth-kubelet|berth-cadvisor|berth-resource"'
python3 -c 'import json,sys; a=sys.argv; print(json.dumps({"bench":"metrics_scrape_nodes","nodes":int(a[1]),"interval":a[2],"targets":int(float(a[3])),"targets_up":int(float(a[4])),
  "scrape_seconds_p50":round(float(a[5]),3),"scrape_seconds_p99":round(float(a[6]),3),"scrape_seconds_max":round(float(a[7]),3),"samples_per_round":int(float(a[8])),
  "server_cpu_percent_of_core":round((float(a[10])-float(a[9]))/100/(float(a[12])-float(a[11]))*100,1),"server_rss_mb":round(int(a[13])/1024,1)}))' \
  "$NODES" "$SCRAPE_INTERVAL" "$(q "count(up{$jobs})")" "$(q "sum(up{$jobs})")" "$(q "quantile(0.5, scrape_duration_seconds{$jobs})")" \
  "$(q "quantile(0.99, scrape_duration_seconds{$jobs})")" "$(q "max(scrape_duration_seconds{$jobs})")" "$(q "sum(scrape_samples_scraped{$jobs})")" \
  "$c0" "$c1" "$t0" "$t1" "$rss"
kill "$prom_pid"; wait "$prom_pid" 2>/dev/null || true; prom_pid=""
fi
cleanup_sim_cluster
sim_pid=""; server_pid=""
mkdir -p "$work"
fi

# --- metrics_history_memory -------------------------------------------------------------------
if want metrics_history_memory; then
"$BIN/berth-bench" history --series 100000 --window 3600
fi
