#!/usr/bin/env bash
# Issue 5 benchmark, one JSON line: iperf3 TCP throughput between two pods on two hosts, in the
# same run as the floor (host to host over the raw veth underlay), for routed and vxlan modes;
# ratios to the floor (targets: routed ≥ 0.95, vxlan ≥ 0.80). Medians of RUNS runs of SECONDS s.
# Hosts are network namespaces on a bridge in 100.72.250.0/24; traffic stays inside them.
# The data plane is the kernel's, so a debug build measures the same (BIN=.build/debug).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-$PWD/.build/release}
RUNS=${RUNS:-3}
SECONDS_EACH=${SECONDS_EACH:-4}
work=/tmp/berth-net-bench-$$
mkdir -p "$work"
pids=()
kubectl=(/usr/lib/google-cloud-sdk/bin/kubectl.1.33 --kubeconfig "$work/server/admin.kubeconfig")

stop_cluster() {
  set +e
  "${kubectl[@]}" delete pod --all --grace-period=1 --wait=true >/dev/null 2>&1
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
  pids=()
  for host in bh1 bh2; do
    root=$work/$host/node/runtime/runc
    for id in $(runc --root "$root" list -q 2>/dev/null); do runc --root "$root" delete --force "$id"; done
    for uid in $(ls "$work/$host/node/pods" 2>/dev/null); do ip netns delete "berth-${uid:0:18}" 2>/dev/null; done
    grep " $work/$host" /proc/mounts | awk '{print $2}' | sort -r | xargs -r -n1 umount -l
  done
  rm -rf "$work/server" "$work/bh1" "$work/bh2"
  set -e
}
cleanup() {
  set +e
  stop_cluster
  ip netns delete bh1 2>/dev/null; ip netns delete bh2 2>/dev/null
  ip link delete brbench 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

ip link add brbench type bridge && ip addr add 100.72.250.254/24 dev brbench && ip link set brbench up
for n in 1 2; do
  ip netns add bh$n
  ip link add vbench$n type veth peer name eth0 netns bh$n
  ip link set vbench$n master brbench up
  ip -n bh$n addr add 100.72.250.$n/24 dev eth0
  ip -n bh$n link set eth0 up; ip -n bh$n link set lo up
done

# One iperf3 measurement: server in namespace $1 on address $2, client in namespace $3; Gbit/s.
measure() {
  ip netns exec "$1" iperf3 -s -1 -p 5299 >/dev/null 2>&1 &
  local server=$!
  sleep 0.3
  local json
  json=$(ip netns exec "$3" iperf3 -c "$2" -p 5299 -t "$SECONDS_EACH" -J 2>/dev/null || true)
  wait "$server" 2>/dev/null || true
  echo "$json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9)'
}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

start_cluster() {
  local mode=$1 port
  port=$(python3 -c "import socket; s=socket.socket(); s.bind((\"100.72.250.254\",0)); print(s.getsockname()[1]); s.close()")
  "$BIN/berth" server --data-dir "$work/server" --listen "100.72.250.254:$port" >"$work/server-$mode.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do [ -f "$work/server/admin.kubeconfig" ] && curl -sk "https://100.72.250.254:$port/readyz" >/dev/null && break; sleep 0.1; done
  local token hash
  token=$("$BIN/berth" token create --kubeconfig "$work/server/admin.kubeconfig" 2>"$work/join.txt")
  hash=$(grep -o 'sha256:[0-9a-f]*' "$work/join.txt")
  for n in 1 2; do
    nsenter --net=/run/netns/bh$n "$BIN/berth" agent --join "https://100.72.250.254:$port" --token "$token" --ca-cert-hash "$hash" \
      --data-dir "$work/bh$n" --node-name bh$n --node-address 100.72.250.$n --network-mode "$mode" >"$work/agent-$mode-$n.log" 2>&1 &
    pids+=($!)
  done
  for _ in $(seq 1 200); do
    [ "$("${kubectl[@]}" get nodes --no-headers 2>/dev/null | grep -c ' Ready')" -ge 2 ] && break
    sleep 0.2
  done
  for n in 1 2; do
    printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: p%s}\nspec: {nodeName: bh%s, terminationGracePeriodSeconds: 1, containers: [{name: c, image: berth/busybox:latest, command: [sleep, "3600"]}]}\n' $n $n
    echo "---"
  done | "${kubectl[@]}" apply -f - >/dev/null
  "${kubectl[@]}" wait --for=condition=Ready pod/p1 pod/p2 --timeout=120s >/dev/null
}

pod_netns() { echo "berth-$("${kubectl[@]}" get pod "$1" -o jsonpath='{.metadata.uid}' | cut -c1-18)"; }

floor=(); routed=(); vxlan=()
for _ in $(seq 1 "$RUNS"); do floor+=("$(measure bh2 100.72.250.2 bh1)"); done
for mode in routed vxlan; do
  start_cluster "$mode"
  ip2=$("${kubectl[@]}" get pod p2 -o jsonpath='{.status.podIP}')
  ns1=$(pod_netns p1); ns2=$(pod_netns p2)
  for _ in $(seq 1 "$RUNS"); do
    value=$(measure "$ns2" "$ip2" "$ns1")
    if [ "$mode" = routed ]; then routed+=("$value"); else vxlan+=("$value"); fi
  done
  stop_cluster
done
f=$(median "${floor[@]}"); r=$(median "${routed[@]}"); v=$(median "${vxlan[@]}")
python3 -c "import json; f,r,v=$f,$r,$v; print(json.dumps({'bench':'pod-throughput','runs':$RUNS,'seconds':$SECONDS_EACH,'floor_gbps':round(f,2),'routed_gbps':round(r,2),'vxlan_gbps':round(v,2),'routed_ratio':round(r/f,3),'vxlan_ratio':round(v/f,3)}))"
