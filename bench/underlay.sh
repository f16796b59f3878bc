#!/usr/bin/env bash
# Issue 31 benchmark, one JSON line: underlay mode's throughput (iperf3 TCP) pod to pod across
# two hosts and from a machine outside the cluster to a pod, each against the floor measured in
# the same run, alternating: host to host over the same veth underlay (the raw floor of
# bench/network.sh) and outside namespace to host. Targets: ratios >= 0.95. Medians of RUNS runs
# of SECONDS_EACH s. Hosts (bh1, bh2) and the outside namespace (bout, 100.72.250.200) are network
# namespaces on a bridge in 100.72.250.0/24; traffic stays inside them. The data plane is the
# kernel's, so a debug build measures the same (BIN=.build/debug).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-$PWD/.build/release}
RUNS=${RUNS:-3}
SECONDS_EACH=${SECONDS_EACH:-4}
work=/tmp/berth-underlay-bench-$$
source bench/lib/two-hosts.sh
trap 'ip netns delete bout 2>/dev/null; cleanup_hosts' EXIT
setup_hosts
ip netns add bout
ip link add vbout type veth peer name eth0 netns bout
ip link set vbout master brbench up
ip -n bout addr add 100.72.250.200/24 dev eth0
ip -n bout link set eth0 up; ip -n bout link set lo up

start_cluster underlay
start_pods | "${kubectl[@]}" apply -f - >/dev/null
"${kubectl[@]}" wait --for=condition=Ready pod/p1 pod/p2 --timeout=120s >/dev/null
ip2=$("${kubectl[@]}" get pod p2 -o jsonpath='{.status.podIP}')
ns1=$(pod_netns p1); ns2=$(pod_netns p2)
wait_idle
floor=(); pods=(); floor_outside=(); outside=()
for _ in $(seq 1 "$RUNS"); do
  floor+=("$(measure bh2 100.72.250.2 bh1)")
  pods+=("$(measure "$ns2" "$ip2" "$ns1")")
  floor_outside+=("$(measure bh2 100.72.250.2 bout)")
  outside+=("$(measure "$ns2" "$ip2" bout)")
done
f=$(median "${floor[@]}"); p=$(median "${pods[@]}"); fo=$(median "${floor_outside[@]}"); o=$(median "${outside[@]}")
python3 -c "import json; f,p,fo,o=$f,$p,$fo,$o; print(json.dumps({'bench':'underlay-throughput','runs':$RUNS,'seconds':$SECONDS_EACH,'pod_address':'$ip2','floor_gbps':round(f,2),'pod_to_pod_gbps':round(p,2),'pod_to_pod_ratio':round(p/f,3),'outside_floor_gbps':round(fo,2),'outside_to_pod_gbps':round(o,2),'outside_to_pod_ratio':round(o/fo,3)}))"
