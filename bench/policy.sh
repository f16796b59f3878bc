#!/usr/bin/env bash
# Issue 5 benchmarks, two JSON lines, on two hosts made of network namespaces (routed mode):
#  policy-scale: TCP connects per second and p99 connect latency from pod p1 (host bh1) to pod p2
#    (host bh2) with 0, 1,000 and 10,000 NetworkPolicy rules in force (Berth compiles them into
#    nftables sets), and in the same run the same rules as one linear iptables chain in p2's
#    namespace (how iptables-based policy engines evaluate them) — flat against linear.
#  policy-enforcement: time from a NetworkPolicy write (the API's answer) until the data path
#    enforces it, seen by a probe connecting every few ms from p1; RUNS deny and RUNS allow
#    writes; median and max (target ≤ 1 s).
# The data plane is the kernel's; the agent's compile time is in the enforcement numbers, so use
# a release build (BIN) for those.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-$PWD/.build/release}
SECONDS_EACH=${SECONDS_EACH:-3}
RUNS=${RUNS:-5}
COUNTS=${COUNTS:-"0 1000 10000"}
work=/tmp/berth-policy-bench-$$
source bench/lib/two-hosts.sh
server_pid=""
trap '[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; cleanup_hosts' EXIT
setup_hosts
start_cluster routed
start_pods client server | "${kubectl[@]}" apply -f - >/dev/null
"${kubectl[@]}" wait --for=condition=Ready pod/p1 pod/p2 --timeout=120s >/dev/null
ip1=$("${kubectl[@]}" get pod p1 -o jsonpath='{.status.podIP}')
ip2=$("${kubectl[@]}" get pod p2 -o jsonpath='{.status.podIP}')
ns1=$(pod_netns p1); ns2=$(pod_netns p2)
probe=(ip netns exec "$ns1" python3 bench/tools/tcpprobe.py)
ip netns exec "$ns2" python3 bench/tools/tcpprobe.py serve 8080 &
server_pid=$!
sleep 0.5
policies=/apis/networking.k8s.io/v1/namespaces/default/networkpolicies

# Writes policy files: rules.txt (one "cidr port" per rule), berth-K.json (100 rules each),
# allow-client.json, deny-all.json.
python3 - "$work" "$ip1" <<'PY'
import json, sys
work, client = sys.argv[1], sys.argv[2]
rules = [("198.18.%d.%d/32" % (i // 250, i % 250 + 1), 10000 + i % 5000) for i in range(10000)]
with open(work + "/rules.txt", "w") as out:
    for cidr, port in rules: out.write("%s %d\n" % (cidr, port))
def policy(name, ingress):
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": name},
            "spec": {"podSelector": {"matchLabels": {"app": "server"}}, "policyTypes": ["Ingress"], "ingress": ingress}}
for k in range(100):
    chunk = rules[k * 100:(k + 1) * 100]
    ingress = [{"from": [{"ipBlock": {"cidr": c}}], "ports": [{"protocol": "TCP", "port": p}]} for c, p in chunk]
    json.dump(policy("rules-%d" % k, ingress), open("%s/berth-%d.json" % (work, k), "w"))
json.dump(policy("allow-client", [{"from": [{"podSelector": {"matchLabels": {"app": "client"}}}], "ports": [{"protocol": "TCP", "port": 8080}]}]),
          open(work + "/allow-client.json", "w"))
json.dump(policy("deny-all", []), open(work + "/deny-all.json", "w"))
PY

flip() { "${probe[@]}" flip "$ip2" 8080 "$1" "${2:-60}"; }
measure() { "${probe[@]}" connect "$ip2" 8080 "$SECONDS_EACH"; }

# Berth with N rules: N/100 policies isolate p2, then allow-client; the client's first
# successful connect shows every earlier policy is in force too (the agent applies them in order).
berth_rules() {
  local n=$1
  api DELETE "$policies" >/dev/null
  flip open >/dev/null
  [ "$n" -eq 0 ] && return
  for k in $(seq 0 $((n / 100 - 1))); do api POST "$policies" "$work/berth-$k.json" >/dev/null; done
  flip closed >/dev/null
  api POST "$policies" "$work/allow-client.json" >/dev/null
  flip open 120 >/dev/null
}

# The same rules as a linear iptables chain in p2's namespace (Berth's policies removed).
iptables_rules() {
  local n=$1
  {
    echo "*filter"
    echo ":INPUT ACCEPT [0:0]"
    echo ":BENCH - [0:0]"
    echo "-A INPUT -j BENCH"
    echo "-A BENCH -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT"
    head -n "$n" "$work/rules.txt" | awk '{print "-A BENCH -s " $1 " -p tcp --dport " $2 " -j ACCEPT"}'
    echo "-A BENCH -s $ip1/32 -p tcp --dport 8080 -j ACCEPT"
    echo "-A BENCH -j DROP"
    echo "COMMIT"
  } | ip netns exec "$ns2" iptables-restore
}

results="{}"
record() { results=$(python3 -c "import json,sys; r=json.loads(sys.argv[1]); r[sys.argv[2]]=json.loads(sys.argv[3]); print(json.dumps(r))" "$results" "$1" "$2"); }
for n in $COUNTS; do
  berth_rules "$n"
  wait_idle
  record "berth_$n" "$(measure)"
done
api DELETE "$policies" >/dev/null
flip open >/dev/null
for n in $COUNTS; do
  iptables_rules "$n"
  wait_idle
  record "iptables_$n" "$(measure)"
done
ip netns exec "$ns2" iptables-restore <<<$'*filter\n:INPUT ACCEPT [0:0]\nCOMMIT'
python3 - "$results" "$COUNTS" <<'PY'
import json, sys
r = json.loads(sys.argv[1]); counts = sys.argv[2].split()
out = {"bench": "policy-scale", "rules": [int(c) for c in counts], "iptables": __import__("subprocess").run(["iptables", "--version"], capture_output=True, text=True).stdout.strip()}
for engine in ("berth", "iptables"):
    out[engine + "_connects_per_s"] = [r["%s_%s" % (engine, c)]["connects_per_s"] for c in counts]
    out[engine + "_p99_us"] = [r["%s_%s" % (engine, c)]["p99_us"] for c in counts]
    out[engine + "_failures"] = sum(r["%s_%s" % (engine, c)]["failures"] for c in counts)
first, last = counts[0], counts[-1]
for engine in ("berth", "iptables"):
    out[engine + "_rate_ratio_%s_vs_%s" % (last, first)] = round(r["%s_%s" % (engine, last)]["connects_per_s"] / r["%s_%s" % (engine, first)]["connects_per_s"], 3)
print(json.dumps(out))
PY

# Enforcement: deny-all isolates p2 (the client is cut off), deleting it opens it again.
deny=(); allow=()
for _ in $(seq 1 "$RUNS"); do
  flip open >/dev/null
  ip netns exec "$ns1" python3 bench/tools/tcpprobe.py flip "$ip2" 8080 closed 10 >"$work/flip" &
  watcher=$!
  sleep 0.3
  start=$(date +%s.%N)
  api POST "$policies" "$work/deny-all.json" >/dev/null
  wait "$watcher"
  deny+=("$(python3 -c "print($(cat "$work/flip") - $start)")")
  ip netns exec "$ns1" python3 bench/tools/tcpprobe.py flip "$ip2" 8080 open 10 >"$work/flip" &
  watcher=$!
  sleep 0.3
  start=$(date +%s.%N)
  api DELETE "$policies/deny-all" >/dev/null
  wait "$watcher"
  allow+=("$(python3 -c "print($(cat "$work/flip") - $start)")")
done
python3 - "${deny[*]}" "${allow[*]}" <<'PY'
import json, statistics, sys
deny = [float(x) for x in sys.argv[1].split()]; allow = [float(x) for x in sys.argv[2].split()]
both = deny + allow
print(json.dumps({"bench": "policy-enforcement", "writes": len(both), "median_ms": round(statistics.median(both) * 1000, 1),
                  "max_ms": round(max(both) * 1000, 1), "deny_ms": [round(x * 1000, 1) for x in deny], "allow_ms": [round(x * 1000, 1) for x in allow],
                  "target_ms": 1000}))
PY
