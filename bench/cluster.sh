#!/usr/bin/env bash
# Prints, for 1, 3 and 10 lab hosts (1 control plane + N-1 workers, lab host profile), the wall time of a first
# `pulumi up` of KubeadmCluster, the SSH sessions it opened (counted host-side in .lab/hosts/<host>/commands.log),
# the same for a no-change `up`, and the ratio time(10)/time(1). Needs the Kubernetes lab (bash lab/up.sh); starts
# the 10 SSH hosts (lab/hosts-up.sh is idempotent). Counts: bench/cluster.sh 1 3 (default: 1 3 10).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
counts=("$@")
((${#counts[@]})) || counts=(1 3 10)
max=0
for n in "${counts[@]}"; do ((n > max)) && max=$n; done
[[ -f "${LAB_DIR:-.lab}/env" ]] || { echo "bench/cluster.sh: the Kubernetes lab is not up. Fix: bash lab/up.sh" >&2; exit 1; }
LAB_HOST_COUNT=$max bash lab/hosts-up.sh >/dev/null
# shellcheck disable=SC1091
source lab/engine-env.sh >/dev/null
# shellcheck disable=SC1091
source "${LAB_DIR:-.lab}/env"
exec node --import tsx bench/cluster.ts "${counts[@]}"
