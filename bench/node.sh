#!/usr/bin/env bash
# Issue 3 benchmarks, each one JSON line:
#  pod_start: 30 pods one after another, API create → Running on a watch (image cached), next to
#             `podman run -d` of the same image (podman configured as PEERS.md says) and a raw
#             `runc run -d` of a prepared bundle as the floor; medians and ratios.
#  density:   200 sleep pods created at once: time until all Running, agent RSS, per-pod overhead.
# The control plane (`berth server`) and the agent (`berth agent`) run as separate processes so
# the agent's own memory is measured.
set -euo pipefail
cd "$(dirname "$0")/.."
STARTS=${STARTS:-30}
DENSITY=${DENSITY:-200}
BIN=${BIN:-$PWD/.build/release}
# SERVER_CMD / AGENT_CMD replace "$BIN/berth" for that process (bench/tools/hot-text-order.sh
# runs them under valgrind to learn which functions they execute).
read -r -a server_cmd <<<"${SERVER_CMD:-$BIN/berth}"
read -r -a agent_cmd <<<"${AGENT_CMD:-$BIN/berth}"
# Lower-case path: podman derives an image name from an oci: layout path.
work=/tmp/berth-node-bench-$$
mkdir -p "$work"
server_pid=""; agent_pid=""
export CONTAINERS_CONF=$work/podman/containers.conf CONTAINERS_STORAGE_CONF=$work/podman/storage.conf
cleanup() {
  set +e
  if [ -n "$server_pid" ] && [ -f "$work/server/admin.kubeconfig" ]; then
    /usr/lib/google-cloud-sdk/bin/kubectl.1.33 --kubeconfig "$work/server/admin.kubeconfig" delete pods --all -A --grace-period=0 --wait=true --timeout=120s >/dev/null 2>&1
  fi
  [ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null && wait "$agent_pid" 2>/dev/null
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  # The agent's containers, pod networks, cgroups, mounts, bridge and nftables tables.
  "$BIN/berth" cleanup --data-dir "$work/node" --bridge-name brbench >/dev/null 2>&1
  for id in $(runc --root "$work/runc-root" list -q 2>/dev/null); do runc --root "$work/runc-root" delete --force "$id"; done
  [ -f "$CONTAINERS_CONF" ] && { podman rm -f --all -t 0 >/dev/null 2>&1; podman system reset -f >/dev/null 2>&1; }
  awk -v w="$work" '$2 ~ "^"w {print $2}' /proc/mounts | sort -r | xargs -r -n1 umount -l
  rm -rf "$work"
}
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
median() { python3 -c 'import sys,statistics; print(round(statistics.median(float(x) for x in sys.argv[1:]),1))' "$@"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }  # one fork of date: ~1 ms, same for every sample

api_port=$(port)
"${server_cmd[@]}" server --data-dir "$work/server" --listen "127.0.0.1:$api_port" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 600); do [ -f "$work/server/admin.kubeconfig" ] && curl -sfk "https://127.0.0.1:$api_port/readyz" >/dev/null && break; sleep 0.1; done
kubeconfig=$work/server/admin.kubeconfig
"${agent_cmd[@]}" agent --kubeconfig "$kubeconfig" --data-dir "$work/node" --node-name bench-node --bridge-name brbench \
  --pod-subnet 100.96.240.0/24 >"$work/agent.log" 2>&1 &
agent_pid=$!
for _ in $(seq 600); do curl -sfk -H "Authorization: Bearer $(cat "$work/server/admin.token")" \
  "https://127.0.0.1:$api_port/api/v1/nodes/bench-node" >/dev/null && break; sleep 0.1; done

# Warm up: the first pod unpacks the image's layer.
"$BIN/berth-bench" podstart --kubeconfig "$kubeconfig" --pods 1 --node bench-node --namespace warm >/dev/null
berth_line=$("$BIN/berth-bench" podstart --kubeconfig "$kubeconfig" --pods "$STARTS" --node bench-node --namespace bench)
berth_median=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["median_ms"])' "$berth_line")
/usr/lib/google-cloud-sdk/bin/kubectl.1.33 --kubeconfig "$kubeconfig" -n bench delete pods --all --grace-period=0 --wait=true --timeout=120s >/dev/null

# podman, configured per PEERS.md, same image from an OCI layout.
mkdir -p "$work/podman"
cat >"$CONTAINERS_CONF" <<CONF
[containers]
netns = "none"
log_driver = "k8s-file"
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "runc"
[network]
network_backend = "cni"
CONF
cat >"$CONTAINERS_STORAGE_CONF" <<CONF
[storage]
driver = "overlay"
runroot = "$work/podman/run"
graphroot = "$work/podman/root"
CONF
"$BIN/berth" image export --data-dir "$work/node" berth/busybox:latest "$work/layout"
podman pull -q "oci:$work/layout:latest" >/dev/null
image=$(podman images -q | head -1)
echo "$berth_line" >&2
podman run -d --name warm "$image" sleep 3600 >/dev/null
podman_samples=()
for i in $(seq "$STARTS"); do
  t0=$(now_ms); podman run -d --name "p$i" "$image" sleep 3600 >/dev/null; t1=$(now_ms)
  podman_samples+=($((t1 - t0)))
done
podman_median=$(median "${podman_samples[@]}")
podman rm -f --all -t 0 >/dev/null

# runc alone: a prepared bundle on the same unpacked layer, the floor for any runtime.
layer=$(ls -d "$work"/node/node/images/layers/*/ | head -1)
mkdir -p "$work/bundle/rootfs" "$work/runc-root"
cp -a "$layer"/. "$work/bundle/rootfs/"
(cd "$work/bundle" && runc spec && python3 - <<'PY'
import json
c = json.load(open("config.json"))
c["process"]["terminal"] = False
c["process"]["args"] = ["sleep", "3600"]
c["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "hard": 20000, "soft": 20000}]
json.dump(c, open("config.json", "w"))
PY
)
runc_samples=()
for i in $(seq "$STARTS"); do
  t0=$(now_ms); runc --root "$work/runc-root" run -d -b "$work/bundle" "r$i" </dev/null >/dev/null 2>&1; t1=$(now_ms)
  runc_samples+=($((t1 - t0)))
done
runc_median=$(median "${runc_samples[@]}")
for id in $(runc --root "$work/runc-root" list -q); do runc --root "$work/runc-root" delete --force "$id"; done

python3 -c "import json,sys; print(json.dumps({'bench':'pod_start','pods':int(sys.argv[1]),'berth_median_ms':float(sys.argv[2]),'podman_run_d_median_ms':float(sys.argv[3]),'runc_run_median_ms':float(sys.argv[4]),'ratio_berth_over_podman':round(float(sys.argv[2])/float(sys.argv[3]),3)}))" \
  "$STARTS" "$berth_median" "$podman_median" "$runc_median"

# Density.
rss_before=$(awk '/VmRSS/ {print $2}' "/proc/$agent_pid/status")
density_line=$("$BIN/berth-bench" density --kubeconfig "$kubeconfig" --pods "$DENSITY" --node bench-node --namespace bench)
sleep 2
rss_after=$(awk '/VmRSS/ {print $2}' "/proc/$agent_pid/status")
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$agent_pid/status")
# RSS counts the binary's and libraries' code pages (shared with the server); the private dirty
# pages are what the agent itself costs.
private_kb=$(awk '/^Private_Dirty/ {print $2}' "/proc/$agent_pid/smaps_rollup")
conmon_kb=$(ps -o rss= -C conmon | awk '{s+=$1} END {print s+0}')
conmons=$(pgrep -c conmon || true)
seconds=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["all_running_s"])' "$density_line")
python3 -c "import json,sys; a=sys.argv; print(json.dumps({'bench':'density','pods':int(a[1]),'all_running_s':float(a[2]),'agent_rss_mb':round(int(a[3])/1024,1),'agent_peak_rss_mb':round(int(a[4])/1024,1),'agent_rss_idle_mb':round(int(a[5])/1024,1),'agent_private_mb':round(int(a[8])/1024,1),'conmon_rss_per_pod_kb':round(int(a[6])/max(1,int(a[7])))}))" \
  "$DENSITY" "$seconds" "$rss_after" "$hwm" "$rss_before" "$conmon_kb" "$conmons" "$private_kb"
