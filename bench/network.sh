#!/usr/bin/env bash
# Issue 5 benchmark, one JSON line: iperf3 TCP throughput between two pods on two hosts, in the
# same run as the floor (host to host over the raw veth underlay, alternating with the pod runs),
# for routed and vxlan modes;
# ratios to the floor (targets: routed ≥ 0.95, vxlan ≥ 0.80). Medians of RUNS runs of SECONDS s.
# The agents raise their underlay device for BIG TCP in routed mode (bench/lib/two-hosts.sh), which
# the floor then uses too: routed_ratio compares against that tuned floor. floor_raw_gbps is the
# floor with the hosts' devices at the kernel's default size, measured in the same alternation
# (lowered for the measurement, raised again after), and routed_ratio_raw compares against it.
# floor_untuned_gbps is the floor before any agent ran. kernel_vxlan_gbps is the same VXLAN layout
# built by hand with nothing of Berth on the hosts (bench/lib/kernel-vxlan.sh): the most this kernel
# gives it here; vxlan_over_kernel is what Berth costs on top.
# Hosts are network namespaces on a bridge in 100.72.250.0/24; traffic stays inside them.
# The data plane is the kernel's, so a debug build measures the same (BIN=.build/debug).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-$PWD/.build/release}
RUNS=${RUNS:-3}
SECONDS_EACH=${SECONDS_EACH:-4}
work=/tmp/berth-net-bench-$$
source bench/lib/two-hosts.sh
source bench/lib/kernel-vxlan.sh
trap 'kernel_vxlan_down; cleanup_hosts' EXIT
setup_hosts

# Floor and pod runs alternate within each mode, so both see the same machine load.
floor_routed=(); floor_vxlan=(); routed=(); vxlan=(); untuned=(); raw=()
# Sets both hosts' underlay device to $1 bytes of IPv4 GSO/GRO.
host_offload() { for n in 1 2; do ip netns exec bh$n python3 bench/tools/offload-size.py eth0 "$1"; done; }
for _ in $(seq 1 "$RUNS"); do untuned+=("$(measure bh2 100.72.250.2 bh1)"); done
for mode in routed vxlan; do
  start_cluster "$mode"
  start_pods | "${kubectl[@]}" apply -f - >/dev/null
  "${kubectl[@]}" wait --for=condition=Ready pod/p1 pod/p2 --timeout=120s >/dev/null
  ip2=$("${kubectl[@]}" get pod p2 -o jsonpath='{.status.podIP}')
  ns1=$(pod_netns p1); ns2=$(pod_netns p2)
  wait_idle
  for _ in $(seq 1 "$RUNS"); do
    floor=$(measure bh2 100.72.250.2 bh1)
    value=$(measure "$ns2" "$ip2" "$ns1")
    if [ "$mode" = routed ]; then
      floor_routed+=("$floor"); routed+=("$value")
      size=$(ip netns exec bh1 python3 bench/tools/offload-size.py eth0)
      host_offload 65536; raw+=("$(measure bh2 100.72.250.2 bh1)"); host_offload "$size"
    else floor_vxlan+=("$floor"); vxlan+=("$value"); fi
  done
  stop_cluster
done
# The same VXLAN layout by hand, nothing of Berth on the hosts (bench/lib/kernel-vxlan.sh),
# alternating with the floor again.
floor_kernel=(); kernel=()
for n in 1 2; do ip netns exec bh$n sh -c 'echo 0 > /proc/sys/net/bridge/bridge-nf-call-iptables' 2>/dev/null || true; done
kernel_vxlan_up
for _ in $(seq 1 "$RUNS"); do
  floor_kernel+=("$(measure bh2 100.72.250.2 bh1)")
  kernel+=("$(measure kvp2 100.72.242.2 kvp1)")
done
kernel_vxlan_down
fu=$(median "${untuned[@]}"); fw=$(median "${raw[@]}"); fr=$(median "${floor_routed[@]}"); fv=$(median "${floor_vxlan[@]}"); r=$(median "${routed[@]}"); v=$(median "${vxlan[@]}")
fk=$(median "${floor_kernel[@]}"); k=$(median "${kernel[@]}")
python3 -c "import json; fu,fw,fr,fv,r,v,fk,k=$fu,$fw,$fr,$fv,$r,$v,$fk,$k; print(json.dumps({'bench':'pod-throughput','runs':$RUNS,'seconds':$SECONDS_EACH,'big_tcp':'${BIG_TCP:-on}','floor_untuned_gbps':round(fu,2),'floor_raw_gbps':round(fw,2),'floor_gbps':[round(fr,2),round(fv,2)],'routed_gbps':round(r,2),'vxlan_gbps':round(v,2),'routed_ratio':round(r/fr,3),'routed_ratio_raw':round(r/fw,3),'vxlan_ratio':round(v/fv,3),'kernel_vxlan_floor_gbps':round(fk,2),'kernel_vxlan_gbps':round(k,2),'kernel_vxlan_ratio':round(k/fk,3),'vxlan_over_kernel':round(v/k,3)}))"
