# Sourced by bench/network.sh: the VXLAN pod path built by hand with `ip` and `bridge` on the
# same two hosts (bh1, bh2), with nothing of Berth in it: no agent, no nftables, no
# br_netfilter hooks. It is the flannel-style layout Berth's vxlan mode programs (a bridge per
# host with the pod's veth on it, a /24 routed onlink through the VXLAN device to the peer's
# tunnel address, a permanent neighbour and a forwarding entry per peer), so its throughput is
# the most this kernel gives the layout on this machine, and vxlan_gbps / kernel_vxlan_gbps is
# what Berth itself costs. Addresses stay in the test underlay range 100.72.0.0/16 and inside
# namespaces made here; kernel_vxlan_down removes all of it.

# Each step may find its part gone already (it also runs from the EXIT trap, under set -e).
kernel_vxlan_down() {
  for n in 1 2; do
    ip netns delete kvp$n 2>/dev/null || true
    ip -n bh$n link delete kvx 2>/dev/null || true
    ip -n bh$n link delete kbr 2>/dev/null || true
  done
}

# Host n gets pod subnet 100.72.24$n.0/24, the pod 100.72.24$n.2, the tunnel address .0.
kernel_vxlan_up() {
  local n m
  for n in 1 2; do
    ip netns exec bh$n sysctl -qw net.ipv4.ip_forward=1
    ip -n bh$n link add kvx type vxlan id 7701 local 100.72.250.$n dev eth0 dstport 4790 nolearning
    ip -n bh$n link set kvx address 02:6b:76:00:00:0$n mtu 1450 up
    ip -n bh$n addr add 100.72.24$n.0/32 dev kvx
    ip -n bh$n link add kbr type bridge
    ip -n bh$n addr add 100.72.24$n.1/24 dev kbr
    ip -n bh$n link set kbr mtu 1450 up
    ip netns add kvp$n
    ip -n bh$n link add kveth type veth peer name eth0 netns kvp$n
    ip -n bh$n link set kveth master kbr mtu 1450 up
    ip -n kvp$n addr add 100.72.24$n.2/24 dev eth0
    ip -n kvp$n link set eth0 mtu 1450 up
    ip -n kvp$n link set lo up
    ip -n kvp$n route add default via 100.72.24$n.1
  done
  for n in 1 2; do
    m=$((3 - n))
    ip -n bh$n neigh add 100.72.24$m.0 lladdr 02:6b:76:00:00:0$m dev kvx nud permanent
    bridge -n bh$n fdb append 02:6b:76:00:00:0$m dev kvx dst 100.72.250.$m
    ip -n bh$n route add 100.72.24$m.0/24 via 100.72.24$m.0 dev kvx onlink
  done
}
