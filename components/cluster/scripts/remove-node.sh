#!/usr/bin/env bash
# remove-node: on a control-plane host, deletes the Node object of NODE_NAME (after drain-node, and after
# kubeadm-reset on that host, which also removes a control plane's etcd member).
# Guard: the Node does not exist -> nothing to do.
# Inputs (environment): NODE_NAME.
# Profiles: MICROSEG_HOST_PROFILE=ubuntu (default) or lab: paths below MICROSEG_ROOT, MICROSEG_LAB_PATH first on
#   PATH; kubectl talks to the API server in admin.conf for real.
step=remove-node
# shellcheck source=components/cluster/scripts/prelude.sh
source "$(dirname "${BASH_SOURCE[0]}")/prelude.sh"

: "${NODE_NAME:?remove-node: NODE_NAME is required}"

need_admin_kubectl

if ! node_exists; then
  log "nothing to do: node $NODE_NAME is not in the cluster"
  exit 0
fi
k delete node "$NODE_NAME" --wait=true >/dev/null || fail "kubectl delete node $NODE_NAME failed"
log "deleted node $NODE_NAME"
