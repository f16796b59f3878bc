#!/usr/bin/env bash
# Issue 31, LoadBalancer address failover: two hosts (bench/lib/two-hosts.sh, routed) and an
# "outside" namespace (bout, 100.72.250.200) on the same underlay; a Deployment with one pod per
# host behind a LoadBalancer Service (externalTrafficPolicy: Local, so each announcer serves
# its own pod) with an address from a LoadBalancerPool (100.72.250.100-109). ROUNDS times: the
# announcing host dies (its agent SIGKILLed, its link down: a dead machine answers no ARP), and
# the outside client, trying every 50 ms with a 300 ms timeout, measures seconds from the kill
# to the first answer from the other host; then the dead host comes back (link up, agent
# restarted) before the next round. One JSON line: failover seconds per round, median, max
# (target <= 3 s). The floor is the address Lease's 2 s duration plus one 0.4 s pass.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-$PWD/.build/release}
ROUNDS=${ROUNDS:-5}
work=/tmp/berth-lb-bench-$$
source bench/lib/two-hosts.sh
cleanup() {
  set +e
  ip netns delete bout 2>/dev/null
  cleanup_hosts
}
trap cleanup EXIT

setup_hosts
ip netns add bout
ip link add vbout type veth peer name eth0 netns bout
ip link set vbout master brbench up
ip -n bout addr add 100.72.250.200/24 dev eth0
ip -n bout link set eth0 up; ip -n bout link set lo up
start_cluster routed
"${kubectl[@]}" apply -f - >/dev/null <<'YAML'
apiVersion: berth.dev/v1
kind: LoadBalancerPool
metadata: {name: bench}
spec: {addresses: ["100.72.250.100-100.72.250.109"]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      topologySpreadConstraints:
      - {maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: DoNotSchedule, labelSelector: {matchLabels: {app: web}}}
      containers:
      - name: web
        image: berth/busybox:latest
        command: [sh, -c, "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www"]
        readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: LoadBalancer
  externalTrafficPolicy: Local
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
YAML
"${kubectl[@]}" rollout status deployment/web --timeout=120s >/dev/null
address=100.72.250.100
answers() { ip netns exec bout curl -s -f -m "${1:-0.3}" "http://$address/" >/dev/null 2>&1; }
for _ in $(seq 1 300); do answers 1 && break; sleep 0.2; done
answers 1 || { echo '{"benchmark":"loadbalancer_failover","error":"the address never answered"}'; exit 1; }

agent_pid() { # the PID of host $1's agent (pids[1] is bh1's, pids[2] bh2's, as start_cluster started them)
  echo "${pids[${1#bh}]}"
}
results=()
for round in $(seq 1 "$ROUNDS"); do
  holder=$("${kubectl[@]}" get lease -n kube-node-lease lb-100-72-250-100 -o jsonpath='{.spec.holderIdentity}')
  pid=$(agent_pid "$holder")
  kill -9 "$pid"; wait "$pid" 2>/dev/null || true
  ip -n "$holder" link set eth0 down
  start=$(date +%s.%N)
  until answers 0.3; do sleep 0.05; done
  end=$(date +%s.%N)
  results+=("$(echo "$end - $start" | bc -l | xargs printf '%.2f')")
  # The dead host comes back: link up, its agent restarted with the same identity.
  ip -n "$holder" link set eth0 up
  n=${holder#bh}
  token=$("$BIN/berth" token create --kubeconfig "$work/server/admin.kubeconfig" 2>"$work/join.txt")
  hash=$(grep -o 'sha256:[0-9a-f]*' "$work/join.txt")
  nsenter --net=/run/netns/$holder "$BIN/berth" agent --join "https://100.72.250.254:$api_port" --token "$token" --ca-cert-hash "$hash" --data-dir "$work/$holder" \
    --node-name "$holder" --node-address "100.72.250.$n" --network-mode routed --big-tcp "${BIG_TCP:-on}" >>"$work/agent-routed-$n.log" 2>&1 &
  pids[$n]=$!
  for _ in $(seq 1 200); do
    [ "$("${kubectl[@]}" get nodes --no-headers 2>/dev/null | grep -c ' Ready')" -ge 2 ] && break
    sleep 0.2
  done
  sleep 3  # its pod's endpoint ready again and its announcer contending
done
printf '{"benchmark":"loadbalancer_failover","rounds":%d,"failover_s":[%s],"median_s":%s,"max_s":%s,"target_s":3}\n' \
  "$ROUNDS" "$(IFS=,; echo "${results[*]}")" "$(median "${results[@]}")" "$(printf '%s\n' "${results[@]}" | sort -g | tail -1)"
