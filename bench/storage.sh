#!/usr/bin/env bash
# Issue 32 benchmarks, each one JSON line (fio from Debian in the same run):
#  local_fio:    sequential write and read (1 MiB blocks, 256 MiB) and 4k random read/write IOPS
#                (libaio, depth 16, direct) on a berth.dev/local volume — the ext4 image on a loop
#                device that the pod's bind mount shows — against the same jobs in a plain
#                directory of the disk the image lives on (the raw disk); ratios (target ≥ 0.9).
#  gluster_fio:  the same jobs on a berth.dev/glusterfs volume (storage node bh1 of two network-
#                namespace hosts, replica 1; GlusterFS refuses loopback bricks) as the agent
#                mounted it for its pod, against the same GlusterFS volume mounted on the host by
#                hand with default options (target ≥ 0.95); the raw brick disk for reference.
#                (fio runs on the host: a pod's volume is a bind mount of the agent's mount, with
#                no data path of its own, and the busybox image has no fio.)
#  provisioning: CLAIMS claims of the default class (WaitForFirstConsumer), each with a pod,
#                created at once: seconds until every claim is Bound and every pod Running.
# The failover number (host loss → pod Running elsewhere with its GlusterFS data) comes from
# the cluster test: `swift test --no-parallel --filter GlusterVolumeTests` prints it.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-$PWD/.build/release}
CLAIMS=${CLAIMS:-100}
work=/tmp/berth-storage-bench-$$
mkdir -p "$work"
pid=""
kubectl=(/usr/lib/google-cloud-sdk/bin/kubectl.1.33 --kubeconfig "$work/up/admin.kubeconfig")
cleanup() {
  set +e
  if [ -n "$pid" ]; then
    "${kubectl[@]}" delete pods --all -n default --grace-period=1 --wait=true --timeout=180s >/dev/null 2>&1
    "${kubectl[@]}" delete pvc --all -n default --wait=true --timeout=180s >/dev/null 2>&1
    kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  fi
  umount -l "$work/hand" 2>/dev/null
  "$BIN/berth" cleanup --data-dir "$work/up/node" --bridge-name brstor >/dev/null 2>&1
  awk -v w="$work" '$2 ~ "^"w {print $2}' /proc/mounts | sort -r | xargs -r -n1 umount -l
  rm -rf "$work"
}
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# fio_suite DIR → "seq_write_MiBps seq_read_MiBps randread_iops randwrite_iops"
fio_suite() {
  local dir=$1 out=()
  for job in "--rw=write --bs=1M --size=256M --end_fsync=1" "--rw=read --bs=1M --size=256M --invalidate=1" \
             "--rw=randread --bs=4k --size=128M --ioengine=libaio --iodepth=16 --direct=1 --runtime=8 --time_based" \
             "--rw=randwrite --bs=4k --size=128M --ioengine=libaio --iodepth=16 --direct=1 --runtime=8 --time_based"; do
    # shellcheck disable=SC2086
    out+=("$(fio --name=bench --directory="$dir" $job --output-format=json 2>/dev/null | python3 -c '
import json, sys
job = json.load(sys.stdin)["jobs"][0]
side = job["write"] if job["write"]["io_bytes"] > 0 else job["read"]
rw = sys.argv[1]
print(round(side["bw"] / 1024, 1) if "--bs=1M" in rw else round(side["iops"]))' "$job")")
    rm -f "$dir"/bench.*
  done
  echo "${out[*]}"
}
ratio() { python3 -c 'import sys; print(round(float(sys.argv[1]) / float(sys.argv[2]), 3))' "$1" "$2"; }
# best2 "a b c d" "e f g h": the larger of each pair. Each suite runs twice, alternating with the
# one it is compared to, so neither always runs cold (first-run effects moved ratios by 20 %).
best2() { python3 -c 'import sys; a=sys.argv[1].split(); b=sys.argv[2].split(); print(" ".join(str(max(float(x), float(y))) for x, y in zip(a, b)))' "$1" "$2"; }

api=$(port)
"$BIN/berth" up --data-dir "$work/up" --listen "127.0.0.1:$api" --node-name storage-bench --bridge-name brstor \
  --pod-subnet 100.96.244.0/24 --no-ingress-node >"$work/up.log" 2>&1 &
pid=$!
for _ in $(seq 600); do "${kubectl[@]}" get node storage-bench >/dev/null 2>&1 && break; sleep 0.2; done

wait_for() {  # wait_for SECONDS COMMAND…
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do [ $SECONDS -lt $deadline ] || return 1; sleep 0.2; done
}
pod_with_claim() {  # NAME CLAIM
  cat <<YAML
apiVersion: v1
kind: Pod
metadata: {name: $1}
spec:
  terminationGracePeriodSeconds: 1
  containers: [{name: main, image: berth/busybox:latest, command: [sleep, "3600"], volumeMounts: [{name: data, mountPath: /data}]}]
  volumes: [{name: data, persistentVolumeClaim: {claimName: $2}}]
YAML
}
claim() {  # NAME SIZE [CLASS]
  echo "{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolumeClaim\",\"metadata\":{\"name\":\"$1\"},\"spec\":{\"accessModes\":[\"ReadWriteOnce\"],\"resources\":{\"requests\":{\"storage\":\"$2\"}}${3:+,\"storageClassName\":\"$3\"}}}"
}

# local_fio
claim fio 1Gi | "${kubectl[@]}" apply -f - >/dev/null
pod_with_claim fio fio | "${kubectl[@]}" apply -f - >/dev/null
wait_for 120 "${kubectl[@]}" wait --for=condition=Ready pod/fio --timeout=1s
volume=$("${kubectl[@]}" get pvc fio -o jsonpath='{.spec.volumeName}')
path=$("${kubectl[@]}" get pv "$volume" -o jsonpath='{.spec.local.path}')
mkdir -p "$work/raw"
first_volume=$(fio_suite "$path"); first_raw=$(fio_suite "$work/raw")
read -r lw lr lri lrw <<<"$(best2 "$first_volume" "$(fio_suite "$path")")"
read -r rw rr rri rrw <<<"$(best2 "$first_raw" "$(fio_suite "$work/raw")")"
echo "{\"bench\":\"local_fio\",\"seq_write_MiBps\":$lw,\"seq_read_MiBps\":$lr,\"randread_iops\":$lri,\"randwrite_iops\":$lrw,\"raw_seq_write_MiBps\":$rw,\"raw_seq_read_MiBps\":$rr,\"raw_randread_iops\":$rri,\"raw_randwrite_iops\":$rrw,\"ratio_seq_write\":$(ratio "$lw" "$rw"),\"ratio_seq_read\":$(ratio "$lr" "$rr"),\"ratio_randread\":$(ratio "$lri" "$rri"),\"ratio_randwrite\":$(ratio "$lrw" "$rrw")}"
"${kubectl[@]}" delete pod fio --grace-period=1 --wait=true >/dev/null

# provisioning
start=$(date +%s.%N)
for i in $(seq "$CLAIMS"); do claim "c$i" 16Mi; echo '---'; pod_with_claim "p$i" "c$i"; echo '---'; done | "${kubectl[@]}" apply -f - >/dev/null
bound=""
deadline=$((SECONDS + 600))
while [ $SECONDS -lt $deadline ]; do
  b=$("${kubectl[@]}" get pvc -o jsonpath='{range .items[*]}{.status.phase}{"\n"}{end}' | grep -c '^Bound$' || true)
  r=$("${kubectl[@]}" get pods -o jsonpath='{range .items[*]}{.status.phase}{"\n"}{end}' | grep -c '^Running$' || true)
  now=$(date +%s.%N)
  [ -z "$bound" ] && [ "$b" -ge "$CLAIMS" ] && bound=$(python3 -c "print(round($now-$start,2))")
  if [ "$r" -ge "$CLAIMS" ]; then running=$(python3 -c "print(round($now-$start,2))"); break; fi
  sleep 0.2
done
echo "{\"bench\":\"provisioning\",\"claims\":$CLAIMS,\"all_bound_s\":${bound:-null},\"all_running_s\":${running:-null}}"

# The provisioning pods and claims go through the agent (their volumes unmounted, images
# removed) before `berth up` stops; `berth cleanup` then finds nothing left to kill.
"${kubectl[@]}" delete pods --all --grace-period=1 --wait=true --timeout=300s >/dev/null
"${kubectl[@]}" delete pvc --all --wait=true --timeout=300s >/dev/null
kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; pid=""
"$BIN/berth" cleanup --data-dir "$work/up/node" --bridge-name brstor >&2

# gluster_fio, on two hosts made of network namespaces (bench/lib/two-hosts.sh).
host_work=$work/hosts
work_outer=$work
work=$host_work
# shellcheck source=bench/lib/two-hosts.sh
source bench/lib/two-hosts.sh
work=$work_outer
trap 'work=$host_work; cleanup_hosts; work=$work_outer; cleanup' EXIT
work=$host_work; setup_hosts; AGENT_ARGS=--storage-node start_cluster routed; work=$work_outer
kubectl=(/usr/lib/google-cloud-sdk/bin/kubectl.1.33 --kubeconfig "$host_work/server/admin.kubeconfig")
pod_on() { pod_with_claim "$1" "$2" | sed "s/^spec:/spec:\n  nodeName: $3/"; }
# gluster_fio
cat <<YAML | "${kubectl[@]}" apply -f - >/dev/null
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: gluster}
provisioner: berth.dev/glusterfs
parameters: {servers: "100.72.250.1", replica: "1", brickDir: "$work/bricks"}
YAML
claim gfio 2Gi gluster | "${kubectl[@]}" apply -f - >/dev/null
pod_on gfio gfio bh1 | "${kubectl[@]}" apply -f - >/dev/null
wait_for 180 "${kubectl[@]}" wait --for=condition=Ready pod/gfio --timeout=1s
gvolume=$("${kubectl[@]}" get pvc gfio -o jsonpath='{.spec.volumeName}')
agent_mount=$host_work/bh1/node/glusterfs/$gvolume
mkdir -p "$work/hand" "$work/brickraw"
mount -t glusterfs "100.72.250.1:/$gvolume" "$work/hand"
first_agent=$(fio_suite "$agent_mount"); first_hand=$(fio_suite "$work/hand")
read -r gw gr gri grw <<<"$(best2 "$first_agent" "$(fio_suite "$agent_mount")")"
read -r hw hr hri hrw <<<"$(best2 "$first_hand" "$(fio_suite "$work/hand")")"
read -r bw br bri brw <<<"$(fio_suite "$work/brickraw")"
echo "{\"bench\":\"gluster_fio\",\"seq_write_MiBps\":$gw,\"seq_read_MiBps\":$gr,\"randread_iops\":$gri,\"randwrite_iops\":$grw,\"host_mount_seq_write_MiBps\":$hw,\"host_mount_seq_read_MiBps\":$hr,\"host_mount_randread_iops\":$hri,\"host_mount_randwrite_iops\":$hrw,\"ratio_seq_write\":$(ratio "$gw" "$hw"),\"ratio_seq_read\":$(ratio "$gr" "$hr"),\"ratio_randread\":$(ratio "$gri" "$hri"),\"ratio_randwrite\":$(ratio "$grw" "$hrw"),\"raw_disk_seq_write_MiBps\":$bw,\"raw_disk_seq_read_MiBps\":$br,\"raw_disk_randread_iops\":$bri,\"raw_disk_randwrite_iops\":$brw}"
umount "$work/hand"
"${kubectl[@]}" delete pod gfio --grace-period=1 --wait=true >/dev/null
"${kubectl[@]}" delete pvc gfio --wait=true --timeout=120s >/dev/null

