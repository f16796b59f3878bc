#!/usr/bin/env bash
# Issue 28 benchmarks, one berth server (SQLite):
#  - 10,000 namespaces in 1,000 tenants: a tenant owner's `get namespaces` p99 (target <= 50 ms)
#    and `auth can-i` (SelfSubjectAccessReview) p99 (target <= 5 ms);
#  - quota admission under 32 concurrent creators in one namespace: never over quota (checked
#    after: pods stored and status.used equal the quota exactly), requests/s against the same
#    creates into a namespace without a quota in the same run.
# Prints one JSON line per benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."
TENANTS=${TENANTS:-1000}
PER_TENANT=${PER_TENANT:-10}
PODS=${PODS:-4000}
CLIENTS=${CLIENTS:-32}
BIN=${BIN:-.build/release}
. bench/lib/server.sh
owner=owner-$((TENANTS / 2))
"$BIN/berth" user create "$owner" --kubeconfig-out "$work/owner.kubeconfig" --data-dir "$work/berth" >/dev/null 2>&1
"$BIN/berth-bench" quota --kubeconfig "$work/berth/admin.kubeconfig" --namespace quota-bench --pods "$PODS" --clients "$CLIENTS"
"$BIN/berth-bench" tenants --kubeconfig "$work/berth/admin.kubeconfig" --user-kubeconfig "$work/owner.kubeconfig" --owner "$owner" \
  --tenants "$TENANTS" --namespaces-per-tenant "$PER_TENANT" --rounds 500
