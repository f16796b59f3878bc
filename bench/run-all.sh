#!/usr/bin/env bash
# Runs every benchmark; each prints one JSON line.
set -euo pipefail
cd "$(dirname "$0")"
bash api.sh
bash node.sh
bash cluster.sh
bash outage.sh
bash network.sh
bash policy.sh
bash services.sh
bash fuzz.sh
bash backup.sh
bash rbac.sh
bash tenancy.sh
bash registry.sh
bash monitoring.sh
bash ingress.sh
bash loadbalancer.sh
