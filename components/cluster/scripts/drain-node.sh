#!/usr/bin/env bash
# drain-node: on a control-plane host, cordons NODE_NAME and evicts its pods (DaemonSet pods stay; emptyDir data
# is deleted), before kubeadm-reset on the node and remove-node.
# Guard: the Node does not exist -> nothing to do.
# Inputs (environment): NODE_NAME, DRAIN_TIMEOUT (default 300s).
# Profiles: MICROSEG_HOST_PROFILE=ubuntu (default) or lab: paths below MICROSEG_ROOT, MICROSEG_LAB_PATH first on
#   PATH; kubectl talks to the API server in admin.conf for real.
step=drain-node
# shellcheck source=components/cluster/scripts/prelude.sh
source "$(dirname "${BASH_SOURCE[0]}")/prelude.sh"

: "${NODE_NAME:?drain-node: NODE_NAME is required}"
: "${DRAIN_TIMEOUT:=300s}"

need_admin_kubectl

if ! node_exists; then
  log "nothing to do: node $NODE_NAME is not in the cluster"
  exit 0
fi
if ! out=$(k drain "$NODE_NAME" --ignore-daemonsets --delete-emptydir-data --timeout="$DRAIN_TIMEOUT" 2>&1); then
  fail "kubectl drain $NODE_NAME failed: $(tr '\n' ' ' <<<"$out"). Fix: look at the pods that block the eviction (PodDisruptionBudgets), then run pulumi up again"
fi
log "drained $NODE_NAME"
