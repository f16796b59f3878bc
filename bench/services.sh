#!/usr/bin/env bash
# Issue 5 benchmark, one JSON line: connect latency from pod p1 (host bh1) to a Service whose
# endpoint is pod p2 (host bh2), with 10 and with 5,000 Services defined (every one selecting
# p2, so each has its own endpoint chain). Berth programs Services as nftables verdict maps:
# one lookup whatever their number, so the two should match. Also reports how long the 4,990
# extra Services took from the first API write until the last one answered from p1.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-$PWD/.build/release}
SECONDS_EACH=${SECONDS_EACH:-3}
MANY=${MANY:-5000}
work=/tmp/berth-svc-bench-$$
source bench/lib/two-hosts.sh
server_pid=""
trap '[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; cleanup_hosts' EXIT
setup_hosts
start_cluster routed
start_pods client server | "${kubectl[@]}" apply -f - >/dev/null
"${kubectl[@]}" wait --for=condition=Ready pod/p1 pod/p2 --timeout=120s >/dev/null
ns1=$(pod_netns p1); ns2=$(pod_netns p2)
ip netns exec "$ns2" python3 bench/tools/tcpprobe.py serve 8080 &
server_pid=$!
token=$(grep -o 'token: .*' "$work/server/admin.kubeconfig" | head -1 | awk '{print $2}')
create() { python3 bench/tools/create_services.py 100.72.250.254 "$api_port" "$token" "$1" "$2"; }
cluster_ip() { "${kubectl[@]}" get service "$1" -o jsonpath='{.spec.clusterIP}'; }
probe=(ip netns exec "$ns1" python3 bench/tools/tcpprobe.py)

create 0 10 >/dev/null
target=$(cluster_ip fill-0)
"${probe[@]}" flip "$target" 80 open 60 >/dev/null
"${probe[@]}" flip "$(cluster_ip fill-9)" 80 open 60 >/dev/null
wait_idle
few=$("${probe[@]}" connect "$target" 80 "$SECONDS_EACH")

began=$(date +%s.%N)
create 10 $((MANY - 10)) >/dev/null
"${probe[@]}" flip "$(cluster_ip "fill-$((MANY - 1))")" 80 open 300 >"$work/flip"
programmed=$(python3 -c "print(round($(cat "$work/flip") - $began, 2))")
wait_idle
many=$("${probe[@]}" connect "$target" 80 "$SECONDS_EACH")
rules=$(ip netns exec bh1 nft list table ip berth-svc-berth0 | wc -l)
python3 - "$few" "$many" "$MANY" "$programmed" "$rules" <<'PY'
import json, sys
few, many = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(json.dumps({"bench": "service-connect", "services": [10, int(sys.argv[3])],
                  "p50_us": [few["p50_us"], many["p50_us"]], "p99_us": [few["p99_us"], many["p99_us"]],
                  "connects_per_s": [few["connects_per_s"], many["connects_per_s"]],
                  "p50_ratio_many_vs_few": round(many["p50_us"] / few["p50_us"], 3),
                  "failures": few["failures"] + many["failures"],
                  "create_to_last_reachable_s": float(sys.argv[4]), "nft_table_lines": int(sys.argv[5])}))
PY
