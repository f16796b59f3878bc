#!/usr/bin/env bash
# Installs what Berth needs on a fresh Debian 12 machine, as root. Idempotent: packages already
# present are left alone, and apt is only consulted when something is missing.
set -euo pipefail

packages=(
  libsqlite3-dev   # the embedded store links the system SQLite
  etcd-server      # the distributed store's tests start a real etcd
  curl             # end-to-end tests and benchmarks
  ca-certificates
  zlib1g-dev       # gzip layers are inflated with the system zlib
  libzstd-dev      # zstd layers are decompressed with the system libzstd
  zstd             # the zstd layer tests compress with the CLI
  runc             # the OCI runtime every container runs under
  conmon           # one monitor per container: logs, exit codes, survives agent restarts
  containernetworking-plugins  # CNI bridge, host-local, loopback, bandwidth, portmap
  iproute2         # network namespaces
  nftables         # Services and network policy
  kmod             # modprobe br_netfilter when the kernel has not loaded it
  busybox-static   # the offline berth/busybox image is built from it
  docker-registry  # registry pull tests start a local Distribution registry
  prometheus       # the monitoring tests scrape Berth with a real Prometheus; promtool checks /metrics and the rules
  prometheus-alertmanager  # receives the shipped alerts in a test
  apache2-utils    # htpasswd for the registry's basic-auth test
  skopeo           # pushes test images into that registry
  podman           # the pod-start benchmark's competitor
  iperf3           # bandwidth-limit tests and pod network throughput benchmarks
  iptables         # the policy-scale benchmark's linear-chain competitor
  python3          # benchmark probes (connect rates, enforcement timing)
  glusterfs-server # berth.dev/glusterfs volumes: agents on storage nodes run glusterd and its bricks
  glusterfs-client # ...and every agent mounts those volumes through the FUSE client
  fio              # the storage benchmarks
  bind9-dnsutils   # dig: the DNS tests ask the cluster resolver over TCP and for SRV records
  gcc              # the sandbox test compiles a static probe of the seccomp clone filter
  libc6-dev
  e2fsprogs        # mkfs.ext4: the disk-full test fills a small loop-mounted filesystem
  util-linux       # mount -o loop, fallocate
  openssl          # the etcd TLS test makes its CA and certificates; the CSR test its requests
  python3-kubernetes  # the python client end-to-end tests (RBAC, tenants)
  haproxy          # the ingress data plane the agent runs on ingress nodes
  wrk              # the ingress benchmark's load generator
)

missing=()
for package in "${packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done

if ((${#missing[@]} > 0)); then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Packages with a daemon (haproxy) must not start it: Berth's agent runs its own instances.
  policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Swift lives in /opt/swift on these machines; fail early and clearly when it is missing.
if ! command -v swift >/dev/null 2>&1 && [ ! -x /opt/swift/usr/bin/swift ]; then
  echo "swift toolchain not found (expected on PATH or at /opt/swift/usr/bin)" >&2
  exit 1
fi

# kubectl for the end-to-end tests: the cloud SDK's pinned 1.33 build when present.
if [ ! -x /usr/lib/google-cloud-sdk/bin/kubectl.1.33 ] && ! command -v kubectl >/dev/null 2>&1; then
  echo "note: kubectl not found; the kubectl end-to-end test will be skipped" >&2
fi
