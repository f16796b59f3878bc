#!/usr/bin/env bash
# Issue 29 benchmarks: Berth's built-in registry against docker-registry 2.8 (Debian's
# `docker-registry`) in the same run, with the same clients (skopeo; bench/lib/registry_load.py).
# Both over TLS on loopback; Berth with a bearer token, docker-registry without auth (its
# htpasswd auth runs bcrypt on every request, which would not be a fair comparison).
#  - push and pull of a 200 MB image (5 layers of 40 MB) with skopeo: MB/s, ratio (target >= 1.5x);
#  - 500 small images pushed (16 concurrent clients): images/s, ratio;
#  - 100 concurrent pushers and 500 concurrent pullers: p99 manifest GET latency, errors (0);
#  - garbage collection of 10,000 unreferenced blobs while pushes run: blobs/min (target >=
#    10,000/min), push failures (0); docker-registry's collector needs the registry stopped;
#  - replication lag from push to present on a second berth server, 50 MB image (target <= 5 s).
# Prints one JSON line per benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release}
SMALL=${SMALL:-500}
GC_BLOBS=${GC_BLOBS:-10000}
MIXED_SECONDS=${MIXED_SECONDS:-20}
. bench/lib/server.sh
token=$(cat "$work/berth/admin.token")
berth_url="https://127.0.0.1:$api_port"
berth_ca="$work/berth/ca.crt"
mkdir -p "$work/certs/berth" && cp "$berth_ca" "$work/certs/berth/ca.crt"

# docker-registry over TLS with a certificate of its own.
dist_port=$(port)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj "/CN=127.0.0.1" \
  -addext "subjectAltName=IP:127.0.0.1" -keyout "$work/dist.key" -out "$work/dist.crt" 2>/dev/null
mkdir -p "$work/certs/dist" && cp "$work/dist.crt" "$work/certs/dist/ca.crt"
cat >"$work/dist.yml" <<YAML
version: 0.1
log: {level: error}
storage:
  filesystem: {rootdirectory: $work/dist-data}
  delete: {enabled: true}
http:
  addr: 127.0.0.1:$dist_port
  tls: {certificate: $work/dist.crt, key: $work/dist.key}
YAML
dist_pid=""
start_dist() {
  docker-registry serve "$work/dist.yml" >"$work/dist.log" 2>&1 &
  dist_pid=$!
  for _ in $(seq 100); do curl -sf --cacert "$work/dist.crt" "https://127.0.0.1:$dist_port/v2/" >/dev/null && break; sleep 0.1; done
}
stop_dist() { [ -n "$dist_pid" ] && kill "$dist_pid" 2>/dev/null && wait "$dist_pid" 2>/dev/null || true; dist_pid=""; }
second_pid=""
trap 'stop_dist; [ -n "$second_pid" ] && kill "$second_pid" 2>/dev/null; cleanup' EXIT
start_dist

now() { date +%s.%N; }
ratio() { python3 -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); print(round(a / b, 3) if b else 0)" "$1" "$2"; }
rate() { python3 -c "import sys; print(round(float(sys.argv[1]) / float(sys.argv[2]), 2))" "$1" "$2"; }

# 1. 200 MB in 5 layers, pushed and pulled with skopeo: 3 rounds, each a fresh image (new
# blobs: skopeo skips blobs a registry has, and would mount them from another repository),
# pushed to both registries; the best round of each kept. Then the same layers fetched raw with
# curl (5 in parallel, to /dev/null): what each server serves without the client's own work.
transfer() {  # transfer berth|dist push|pull round -> seconds
  local target=$1 direction=$2 round=$3 host certs creds
  if [ "$target" = berth ]; then host=127.0.0.1:$api_port; certs=$work/certs/berth; creds=(--creds "bench:$token")
  else host=127.0.0.1:$dist_port; certs=$work/certs/dist; creds=(--no-creds); fi
  local started; started=$(now)
  if [ "$direction" = push ]; then
    skopeo copy --dest-cert-dir "$certs" "${creds[@]/--/--dest-}" "oci:$work/big-$round:latest" "docker://$host/bench/big-$round:v1" >/dev/null
  else
    rm -rf "$work/pulled"
    skopeo copy --src-cert-dir "$certs" "${creds[@]/--/--src-}" "docker://$host/bench/big-$round:v1" "oci:$work/pulled:v" >/dev/null
  fi
  python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$started" "$(now)"
}
raw_pull() {  # raw_pull berth|dist round -> seconds
  local target=$1 round=$2 base auth=()
  if [ "$target" = berth ]; then base=$berth_url; ca=$berth_ca; auth=(-H "Authorization: Bearer $token")
  else base=https://127.0.0.1:$dist_port; ca=$work/dist.crt; fi
  local started; started=$(now)
  for layer in $(python3 -c "import json,sys; print(' '.join(l['digest'] for l in json.load(open(sys.argv[1]))['layers']))" "$work/big-$round.manifest"); do
    curl -sf --cacert "$ca" "${auth[@]}" -o /dev/null "$base/v2/bench/big-$round/blobs/$layer" &
  done
  wait
  python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$started" "$(now)"
}
declare -A push_b push_d pull_b pull_d raw_b raw_d
for round in 1 2 3; do
  python3 bench/lib/oci_layout.py "$work/big-$round" --layers 5 --layer-bytes 41943040 --seed $((29 + round))
  manifest=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['manifests'][0]['digest'][7:])" "$work/big-$round/index.json")
  cp "$work/big-$round/blobs/sha256/$manifest" "$work/big-$round.manifest"
  push_b[$round]=$(transfer berth push "$round"); push_d[$round]=$(transfer dist push "$round")
  pull_b[$round]=$(transfer berth pull "$round"); pull_d[$round]=$(transfer dist pull "$round")
  raw_b[$round]=$(raw_pull berth "$round"); raw_d[$round]=$(raw_pull dist "$round")
done
big_bytes=$(du -sb "$work/big-1/blobs" | cut -f1)
best() { printf '%s\n' "$@" | sort -g | head -1; }
for kind in push pull raw; do
  declare -n b_times="${kind}_b" d_times="${kind}_d"
  b=$(best "${b_times[@]}"); d=$(best "${d_times[@]}")
  bm=$(rate "$((big_bytes / 1048576))" "$b"); dm=$(rate "$((big_bytes / 1048576))" "$d")
  label=$kind; [ "$kind" = raw ] && label=pull-raw-curl
  echo "{\"bench\":\"registry-$label-200mb\",\"bytes\":$big_bytes,\"berth_mb_s\":$bm,\"docker_registry_mb_s\":$dm,\"ratio\":$(ratio "$bm" "$dm"),\"target_ratio\":1.5}"
  unset -n b_times d_times
done
rm -rf "$work"/big-* "$work/pulled"

# 2. 500 small images pushed, then pulled, by 16 concurrent clients.
for direction in push pull; do
  b=$(python3 bench/lib/registry_load.py "$berth_url" --cacert "$berth_ca" --token "$token" "$direction-many" --images "$SMALL" --concurrency 16 --prefix small-b)
  d=$(python3 bench/lib/registry_load.py "https://127.0.0.1:$dist_port" --cacert "$work/dist.crt" "$direction-many" --images "$SMALL" --concurrency 16 --prefix small-d)
  python3 - "$direction" "$b" "$d" <<'PY'
import json, sys
direction, b, d = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
br, dr = b["images"] / b["seconds"], d["images"] / d["seconds"]
print(json.dumps({"bench": "registry-%s-500-small" % direction, "berth_images_s": round(br, 1), "docker_registry_images_s": round(dr, 1),
                  "ratio": round(br / dr, 3), "target_ratio": 1.5, "berth_errors": b["errors"], "docker_registry_errors": d["errors"]}))
PY
done

# 3. 100 concurrent pushers and 500 concurrent pullers.
b=$(python3 bench/lib/registry_load.py "$berth_url" --cacert "$berth_ca" --token "$token" mixed --pushers 100 --pullers 500 --seconds "$MIXED_SECONDS" --prefix mixed-b)
d=$(python3 bench/lib/registry_load.py "https://127.0.0.1:$dist_port" --cacert "$work/dist.crt" mixed --pushers 100 --pullers 500 --seconds "$MIXED_SECONDS" --prefix mixed-d)
python3 - "$b" "$d" <<'PY'
import json, sys
b, d = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(json.dumps({"bench": "registry-100-pushers-500-pullers", "berth_get_p99_ms": b["get_p99_ms"], "berth_get_p50_ms": b["get_p50_ms"],
                  "berth_gets": b["gets"], "berth_pushes": b["pushes"], "berth_errors": b["errors"],
                  "docker_registry_get_p99_ms": d["get_p99_ms"], "docker_registry_get_p50_ms": d["get_p50_ms"], "docker_registry_gets": d["gets"],
                  "docker_registry_pushes": d["pushes"], "docker_registry_errors": d["errors"],
                  "p99_ratio": round(d["get_p99_ms"] / b["get_p99_ms"], 3) if b["get_p99_ms"] else 0}))
PY

# 4. Garbage collection of unreferenced blobs while 16 pushers run. The garbage is uploaded
# first; the collection's grace window (5 s) is shorter than its age and longer than a push
# takes, so pushes in flight keep their blobs while all the garbage is due.
python3 bench/lib/registry_load.py "$berth_url" --cacert "$berth_ca" --token "$token" blobs --count "$GC_BLOBS" --concurrency 32 --repo bench/garbage --prefix gc >/dev/null
sleep 6
python3 bench/lib/registry_load.py "$berth_url" --cacert "$berth_ca" --token "$token" mixed --pushers 16 --pullers 4 --seconds 15 --prefix gc-load >"$work/gc-load.json" &
load_pid=$!
sleep 2
gc_started=$(now)
report=$(curl -sf --cacert "$berth_ca" -H "Authorization: Bearer $token" -X POST "$berth_url/berth/v1/registry/gc?graceSeconds=5")
gc_seconds=$(python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$gc_started" "$(now)")
wait "$load_pid"
# docker-registry: the same number of unreferenced blobs, collected offline (the registry stopped).
python3 bench/lib/registry_load.py "https://127.0.0.1:$dist_port" --cacert "$work/dist.crt" blobs --count "$GC_BLOBS" --concurrency 32 --repo bench/garbage --prefix gc >/dev/null
stop_dist
dist_started=$(now)
docker-registry garbage-collect "$work/dist.yml" >"$work/dist-gc.log" 2>&1
dist_seconds=$(python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$dist_started" "$(now)")
dist_removed=$(grep -c "blob eligible for deletion" "$work/dist-gc.log" || true)
python3 - "$report" "$gc_seconds" "$(cat "$work/gc-load.json")" "$dist_removed" "$dist_seconds" <<'PY'
import json, sys
report, seconds, load = json.loads(sys.argv[1]), float(sys.argv[2]), json.loads(sys.argv[3])
dist_removed, dist_seconds = int(sys.argv[4]), float(sys.argv[5])
print(json.dumps({"bench": "registry-gc-online", "blobs_removed": report["blobsRemoved"], "seconds": round(seconds, 3),
                  "blobs_per_min": round(report["blobsRemoved"] / seconds * 60), "target_blobs_per_min": 10000,
                  "pushes_during_gc": load["pushes"], "push_or_pull_errors": load["errors"],
                  "docker_registry_blobs_removed": dist_removed, "docker_registry_seconds": round(dist_seconds, 3),
                  "docker_registry_blobs_per_min": round(dist_removed / dist_seconds * 60) if dist_seconds else 0,
                  "docker_registry_online": False}))
PY

# 5. Replication lag: a second berth server, a push replication, a 50 MB image.
second_port=$(port)
"$BIN/berth" server --data-dir "$work/second" --listen "127.0.0.1:$second_port" >"$work/second.log" 2>&1 &
second_pid=$!
for _ in $(seq 100); do [ -f "$work/second/admin.kubeconfig" ] && curl -sfk "https://127.0.0.1:$second_port/readyz" >/dev/null && break; sleep 0.1; done
second_token=$(cat "$work/second/admin.token")
python3 - "$second_token" "$work/second/ca.crt" "$second_port" >"$work/replication.json" <<'PY'
import json, sys
token, ca, port = sys.argv[1], open(sys.argv[2]).read(), sys.argv[3]
print(json.dumps({"apiVersion": "v1", "kind": "List", "items": [
    {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "second", "namespace": "berth-system"}, "stringData": {"token": token, "ca.crt": ca}},
    {"apiVersion": "berth.dev/v1", "kind": "RegistryReplication", "metadata": {"name": "lag"},
     "spec": {"mode": "push", "remote": {"url": "https://127.0.0.1:%s" % port, "secretRef": {"name": "second"}},
              "repositories": ["lag/*"], "trigger": {"onPush": True}}}]}))
PY
"$BIN/berth" apply -f "$work/replication.json" --kubeconfig "$work/berth/admin.kubeconfig" >/dev/null
python3 bench/lib/oci_layout.py "$work/fifty" --layers 2 --layer-bytes 26214400 --seed 50
lags=()
for round in 1 2 3; do
  skopeo copy --dest-cert-dir "$work/certs/berth" --dest-creds "bench:$token" "oci:$work/fifty:latest" "docker://127.0.0.1:$api_port/lag/app:r$round" >/dev/null
  pushed=$(now)
  for _ in $(seq 3000); do
    code=$(curl -s -o /dev/null -w '%{http_code}' -I --cacert "$work/second/ca.crt" -H "Authorization: Bearer $second_token" \
      "https://127.0.0.1:$second_port/v2/lag/app/manifests/r$round")
    [ "$code" = 200 ] && break
    sleep 0.02
  done
  lags+=("$(python3 -c "import sys; print(round(float(sys.argv[2]) - float(sys.argv[1]), 3))" "$pushed" "$(now)")")
  python3 bench/lib/oci_layout.py "$work/fifty" --layers 2 --layer-bytes 26214400 --seed $((50 + round)) >/dev/null
done
echo "{\"bench\":\"registry-replication-lag-50mb\",\"lag_seconds\":[${lags[0]},${lags[1]},${lags[2]}],\"target_seconds\":5}"
