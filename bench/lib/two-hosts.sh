# Sourced by the network benchmarks: two hosts made of network namespaces (bh1, bh2) on a bridge
# in 100.72.250.0/24, a `berth server` on the bridge address and one joined agent per host.
# Traffic stays inside these namespaces. Callers set BIN and work, and call setup_hosts once.
# The bridge and its veths stand in for a physical network: they pass 192 KiB buffers on
# unsegmented (as NICs would segment them), so the agents run with --big-tcp $BIG_TCP (default
# on; BIG_TCP=off measures without it).
kubectl=(/usr/lib/google-cloud-sdk/bin/kubectl.1.33 --kubeconfig "$work/server/admin.kubeconfig")
pids=()
api_port=""

stop_cluster() {
  set +e
  "${kubectl[@]}" delete pod --all --grace-period=1 --wait=true >/dev/null 2>&1
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; done
  pids=()
  for host in bh1 bh2; do
    [ -d "$work/$host" ] && nsenter --net=/run/netns/$host "$BIN/berth" cleanup --data-dir "$work/$host" >/dev/null 2>&1
  done
  rm -rf "$work/server" "$work/bh1" "$work/bh2"
  set -e
}

cleanup_hosts() {
  set +e
  stop_cluster
  ip netns delete bh1 2>/dev/null; ip netns delete bh2 2>/dev/null
  ip link delete brbench 2>/dev/null
  rm -rf "$work"
}

setup_hosts() {
  mkdir -p "$work"
  ip link add brbench type bridge && ip addr add 100.72.250.254/24 dev brbench && ip link set brbench up
  for n in 1 2; do
    ip netns add bh$n
    ip link add vbench$n type veth peer name eth0 netns bh$n
    ip link set vbench$n master brbench up
    python3 bench/tools/offload-size.py vbench$n 196608
    ip -n bh$n addr add 100.72.250.$n/24 dev eth0
    ip -n bh$n link set eth0 up; ip -n bh$n link set lo up
  done
  python3 bench/tools/offload-size.py brbench 196608
}

# Underlay mode: each host's pods on its eth0 with a range of the underlay (.64/27 on bh1, .96/27 on bh2).
underlay_args() { [ "$1" = underlay ] && echo "--underlay-interface eth0 --pod-subnet 100.72.250.$((32 + 32 * $2))/27" || true; }

# start_cluster MODE: control plane on the bridge, agents in bh1 and bh2, both nodes Ready.
start_cluster() {
  local mode=$1
  api_port=$(python3 -c "import socket; s=socket.socket(); s.bind((\"100.72.250.254\",0)); print(s.getsockname()[1]); s.close()")
  "$BIN/berth" server --data-dir "$work/server" --listen "100.72.250.254:$api_port" >"$work/server-$mode.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do [ -f "$work/server/admin.kubeconfig" ] && curl -sk "https://100.72.250.254:$api_port/readyz" >/dev/null && break; sleep 0.1; done
  local token hash
  token=$("$BIN/berth" token create --kubeconfig "$work/server/admin.kubeconfig" 2>"$work/join.txt")
  hash=$(grep -o 'sha256:[0-9a-f]*' "$work/join.txt")
  for n in 1 2; do
    nsenter --net=/run/netns/bh$n "$BIN/berth" agent --join "https://100.72.250.254:$api_port" --token "$token" --ca-cert-hash "$hash" \
      --data-dir "$work/bh$n" --node-name bh$n --node-address 100.72.250.$n --network-mode "$mode" --big-tcp "${BIG_TCP:-on}" \
      $(underlay_args "$mode" "$n") ${AGENT_ARGS:-} >"$work/agent-$mode-$n.log" 2>&1 &
    pids+=($!)
  done
  for _ in $(seq 1 200); do
    [ "$("${kubectl[@]}" get nodes --no-headers 2>/dev/null | grep -c ' Ready')" -ge 2 ] && break
    sleep 0.2
  done
}

# start_pods LABEL1 LABEL2: pod p1 on bh1 and p2 on bh2 (sleeping busybox), labelled app=LABEL.
start_pods() {
  printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: p1, labels: {app: %s}}\nspec: {nodeName: bh1, terminationGracePeriodSeconds: 1, containers: [{name: c, image: berth/busybox:latest, command: [sleep, "3600"]}]}\n---\n' "${1:-client}"
  printf 'apiVersion: v1\nkind: Pod\nmetadata: {name: p2, labels: {app: %s}}\nspec: {nodeName: bh2, terminationGracePeriodSeconds: 1, containers: [{name: c, image: berth/busybox:latest, command: [sleep, "3600"]}]}\n' "${2:-server}"
}

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

pod_netns() { echo "berth-$("${kubectl[@]}" get pod "$1" -o jsonpath='{.metadata.uid}' | cut -c1-18)"; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# api METHOD PATH [BODY-FILE]: the admin token against the API, quietly.
api() {
  local token
  token=$(grep -o 'token: .*' "$work/server/admin.kubeconfig" | head -1 | awk '{print $2}')
  if [ -n "${3:-}" ]; then
    curl -sk -o /dev/null -w '%{http_code}' -X "$1" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' --data-binary @"$3" "https://100.72.250.254:$api_port$2"
  else
    curl -sk -o /dev/null -w '%{http_code}' -X "$1" -H "Authorization: Bearer $token" "https://100.72.250.254:$api_port$2"
  fi
}

# wait_idle: until the server and agents used under 30 ms of CPU in half a second (start-up,
# image import and rule renders are over), at most 60 s; measurements then see only the data path.
wait_idle() {
  local ticks before after
  ticks() { local sum=0; for pid in "${pids[@]}"; do sum=$((sum + $(awk '{print $14+$15}' /proc/$pid/stat))); done; echo $sum; }
  for _ in $(seq 1 120); do
    before=$(ticks); sleep 0.5; after=$(ticks)
    [ $((after - before)) -le 3 ] && return 0
  done
}
