#!/usr/bin/env bash
# Issue 28 benchmark: pod creates/s as a user authorized by RBAC against the admin (who skips
# RBAC: system:masters), in the same run, with 1,000 Roles and 10,000 RoleBindings in the store
# (10 Roles and 100 RoleBindings in each of 100 namespaces, plus the user's own binding to `edit`).
# Prints one JSON line with both rates and their ratio (target >= 0.95).
set -euo pipefail
cd "$(dirname "$0")/.."
PODS=${PODS:-10000}
CLIENTS=${CLIENTS:-32}
NAMESPACES=${NAMESPACES:-100}
BIN=${BIN:-.build/release}
. bench/lib/server.sh
token=$(cat "$work/berth/admin.token")
api="https://127.0.0.1:$api_port"
post() { curl -sf --cacert "$work/berth/ca.crt" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -X POST "$api$1" -d "$2" >/dev/null; }
export -f post; export api token work

# The RBAC objects: namespaces rbac-0..N-1, each with 10 Roles and 100 RoleBindings for other users.
python3 - "$NAMESPACES" >"$work/objects.txt" <<'PY'
import json, sys
n = int(sys.argv[1])
for i in range(n):
    ns = f"rbac-{i}"
    print(f"/api/v1/namespaces\t" + json.dumps({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}))
for i in range(n):
    ns = f"rbac-{i}"
    for r in range(10):
        print(f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/roles\t" + json.dumps({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": f"role-{r}", "namespace": ns},
            "rules": [{"apiGroups": [""], "resources": ["configmaps", f"pods"], "verbs": ["get", "list"], "resourceNames": [f"x-{r}"]}]}))
    for b in range(100):
        print(f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings\t" + json.dumps({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": f"binding-{b}", "namespace": ns},
            "subjects": [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": f"user-{i}-{b}"}, {"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": f"group-{b}"}],
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": f"role-{b % 10}"}}))
PY
grep '^/api/v1/namespaces	' "$work/objects.txt" | while IFS=$'\t' read -r path body; do post "$path" "$body"; done
grep -v '^/api/v1/namespaces	' "$work/objects.txt" | tr '\t' '\n' | xargs -d '\n' -n 2 -P 8 bash -c 'post "$0" "$1"'
roles=$(curl -sf --cacert "$work/berth/ca.crt" -H "Authorization: Bearer $token" "$api/apis/rbac.authorization.k8s.io/v1/roles" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))')
bindings=$(curl -sf --cacert "$work/berth/ca.crt" -H "Authorization: Bearer $token" "$api/apis/rbac.authorization.k8s.io/v1/rolebindings" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))')

# The user, with edit in its namespace; the admin in another.
"$BIN/berth" user create bench-user --group bench --kubeconfig-out "$work/user.kubeconfig" --data-dir "$work/berth" >/dev/null 2>&1
# A namespace per run (pod names repeat from run to run).
for ns in bench-user-1 bench-user-2 bench-admin-1 bench-admin-2; do
  post /api/v1/namespaces "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"$ns\"}}"
done
for ns in bench-user-1 bench-user-2; do
  post /apis/rbac.authorization.k8s.io/v1/namespaces/$ns/rolebindings \
    '{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding","metadata":{"name":"bench-edit"},"subjects":[{"kind":"User","apiGroup":"rbac.authorization.k8s.io","name":"bench-user"}],"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"edit"}}'
done

# Admin, user, user, admin (ABBA): the store grows with every run, and the order cancels that.
rate() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])["creates_per_s"])' "$1"; }
run() { rate "$("$BIN/berth-bench" api --kubeconfig "$1" --namespace "$2" --pods "$PODS" --clients "$CLIENTS" --watchers 0)"; }
a1=$(run "$work/berth/admin.kubeconfig" bench-admin-1); u1=$(run "$work/user.kubeconfig" bench-user-1)
u2=$(run "$work/user.kubeconfig" bench-user-2); a2=$(run "$work/berth/admin.kubeconfig" bench-admin-2)
user_rate=$(python3 -c "print(round(($u1 + $u2) / 2))"); admin_rate=$(python3 -c "print(round(($a1 + $a2) / 2))")
ratio=$(python3 -c "print(round($user_rate / $admin_rate, 3))")
echo "{\"bench\":\"rbac-creates\",\"runs_user\":[$u1,$u2],\"runs_admin\":[$a1,$a2],\"pods\":$PODS,\"clients\":$CLIENTS,\"roles\":$roles,\"rolebindings\":$bindings,\"user_creates_per_s\":$user_rate,\"admin_creates_per_s\":$admin_rate,\"ratio_user_over_admin\":$ratio}"
