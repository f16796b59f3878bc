#!/usr/bin/env bash
# Issue 31 ingress benchmarks, each one JSON line:
#  ingress_throughput: `berth up` (release) with 2 busybox httpd replicas behind an Ingress; wrk
#                      (2 threads, 50 connections, 15 s) through Berth's ingress, through HAProxy 2.6
#                      configured by hand with the same pod addresses, and to one pod directly.
#                      Requests/s and p99 latency; the ratio Berth / hand HAProxy (target >= 0.9).
#  ingress_route_changes: wrk for 25 s through the ingress while 100 Ingresses for other hosts are
#                      created one by one: failed requests (socket errors + non-2xx; target 0); then,
#                      with ROUTES (1,000) Ingresses stored, seconds from creating one more to its
#                      host answering (median of 5; target <= 1 s).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-$PWD/.build/release}
ROUTES=${ROUTES:-1000}
work=/tmp/berth-ingress-bench-$$
mkdir -p "$work"
up_pid=""; hand_pid=""
kubectl() { /usr/lib/google-cloud-sdk/bin/kubectl.1.33 --kubeconfig "$work/up/admin.kubeconfig" "$@"; }
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
cleanup() {
  set +e
  [ -n "$hand_pid" ] && kill "$hand_pid" 2>/dev/null && wait "$hand_pid" 2>/dev/null
  if [ -n "$up_pid" ]; then
    kubectl delete namespace bench --wait=true --timeout=60s >/dev/null 2>&1
    kill "$up_pid" 2>/dev/null; wait "$up_pid" 2>/dev/null
  fi
  "$BIN/berth" cleanup --data-dir "$work/up" --bridge-name bringb >/dev/null 2>&1
  awk -v w="$work" '$2 ~ "^"w {print $2}' /proc/mounts | sort -r | xargs -r -n1 umount -l
  rm -rf "$work"
}
trap cleanup EXIT

api=$(port); http=$(port); https=$(port); hand=$(port)
"$BIN/berth" up --data-dir "$work/up" --listen "127.0.0.1:$api" --node-name ingress-bench --bridge-name bringb \
  --pod-subnet 100.96.243.0/24 --service-cidr 100.66.0.0/16 --ingress-node --ingress-http-port "$http" --ingress-https-port "$https" \
  >"$work/up.log" 2>&1 &
up_pid=$!
for _ in $(seq 600); do [ -f "$work/up/admin.kubeconfig" ] && kubectl get nodes 2>/dev/null | grep -q ' Ready' && break; sleep 0.2; done
kubectl create namespace bench >/dev/null
kubectl apply -f - >/dev/null <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: bench}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: berth/busybox:latest
        command: [sh, -c, "mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 8080 -h /www"]
        readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: bench}
spec: {selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: bench}
spec:
  rules: [{host: bench.test, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}]
YAML
kubectl rollout status deployment/web -n bench --timeout=120s >/dev/null
for _ in $(seq 100); do curl -sf -H 'Host: bench.test' "http://127.0.0.1:$http/" >/dev/null && break; sleep 0.2; done
pods=$(kubectl get pods -n bench -l app=web -o jsonpath='{.items[*].status.podIP}')

# HAProxy by hand: the same two pod addresses, the same timeouts.
{
  printf 'global\n    maxconn 4000\ndefaults\n    mode http\n    option forwardfor\n    option http-keep-alive\n'
  printf '    timeout connect 5s\n    timeout client 60s\n    timeout server 60s\n'
  printf 'frontend hand\n    bind 127.0.0.1:%s\n    default_backend pods\nbackend pods\n    balance roundrobin\n' "$hand"
  i=0; for ip in $pods; do printf '    server s%s %s:8080\n' "$i" "$ip"; i=$((i+1)); done
} >"$work/hand.cfg"
haproxy -db -f "$work/hand.cfg" >"$work/hand.log" 2>&1 &
hand_pid=$!
sleep 1

run_wrk() {  # URL [extra wrk args] → "rps p99_ms errors"
  wrk -t2 -c50 -d"${DURATION:-15s}" --latency "$@" >"$work/wrk.txt" 2>&1 || true
  python3 - "$work/wrk.txt" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", text)
scale = {"us": 0.001, "ms": 1, "s": 1000}
p99ms = float(p99.group(1)) * scale[p99.group(2)] if p99 else -1
errors = sum(int(x) for x in re.findall(r"(?:connect|read|write|timeout) (\d+)", text))
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
errors += int(non2xx.group(1)) if non2xx else 0
total = re.search(r"(\d+) requests in", text)
print(rps, round(p99ms, 2), errors, total.group(1) if total else 0)
PY
}
first_pod=${pods%% *}
read -r berth_rps berth_p99 berth_err _ < <(run_wrk -H 'Host: bench.test' "http://127.0.0.1:$http/")
read -r hand_rps hand_p99 hand_err _ < <(run_wrk "http://127.0.0.1:$hand/")
read -r direct_rps direct_p99 direct_err _ < <(run_wrk "http://$first_pod:8080/")
python3 -c 'import json,sys; a=sys.argv; b,h,d=float(a[1]),float(a[4]),float(a[7]); print(json.dumps({"bench":"ingress_throughput",
  "berth_rps":b,"berth_p99_ms":float(a[2]),"berth_errors":int(a[3]),"hand_haproxy_rps":h,"hand_haproxy_p99_ms":float(a[5]),"hand_errors":int(a[6]),
  "direct_one_pod_rps":d,"direct_p99_ms":float(a[8]),"ratio_vs_hand_haproxy":round(b/h,3),"target_ratio":0.9}))' \
  "$berth_rps" "$berth_p99" "$berth_err" "$hand_rps" "$hand_p99" "$hand_err" "$direct_rps" "$direct_p99" "$direct_err"

# Route changes under load: 100 new Ingresses (each a seamless reload) during 25 s of wrk.
DURATION=25s run_wrk -H 'Host: bench.test' "http://127.0.0.1:$http/" >"$work/under-load.txt" &
wrk_pid=$!
sleep 2
for i in $(seq 100); do
  kubectl apply -f - >/dev/null <<YAML
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: change-$i, namespace: bench}
spec:
  rules: [{host: change-$i.test, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}]
YAML
done
wait "$wrk_pid"
read -r load_rps _ load_err load_total <"$work/under-load.txt"

# Time to route with ROUTES Ingresses stored.
python3 - "$ROUTES" >"$work/many.yaml" <<'PY'
import sys
for i in range(int(sys.argv[1])):
    print(f"""---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {{name: many-{i}, namespace: bench}}
spec:
  rules: [{{host: many-{i}.test, http: {{paths: [{{path: /, pathType: Prefix, backend: {{service: {{name: web, port: {{number: 80}}}}}}}}]}}}}]""")
PY
kubectl apply -f "$work/many.yaml" >/dev/null
last=$((ROUTES - 1))
for _ in $(seq 600); do curl -sf -H "Host: many-$last.test" "http://127.0.0.1:$http/" >/dev/null && break; sleep 0.2; done
times=()
for trial in 1 2 3 4 5; do
  t0=$(date +%s.%N)
  kubectl apply -f - >/dev/null <<YAML
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: timed-$trial, namespace: bench}
spec:
  rules: [{host: timed-$trial.test, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}]
YAML
  until curl -sf -m 1 -H "Host: timed-$trial.test" "http://127.0.0.1:$http/" >/dev/null; do sleep 0.02; done
  t1=$(date +%s.%N)
  times+=("$(python3 -c "print(round($t1-$t0,3))")")
done
python3 -c 'import json,sys,statistics; a=sys.argv; t=[float(x) for x in a[5:]]; print(json.dumps({"bench":"ingress_route_changes",
  "changes_during_load":100,"requests":int(a[3]),"failed_requests":int(a[2]),"rps_during_changes":float(a[1]),"target_failed":0,
  "ingresses_stored":int(a[4]),"seconds_to_route_runs":t,"seconds_to_route_median":statistics.median(t),"target_seconds":1}))' \
  "$load_rps" "$load_err" "$load_total" "$((ROUTES + 100))" "${times[@]}"
