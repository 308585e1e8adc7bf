#!/usr/bin/env bash
# remove-node: on a control-plane host, deletes the Node object of NODE_NAME (after drain-node, and after
# kubeadm-reset on that host, which also removes a control plane's etcd member).
# Guard: the Node does not exist -> nothing to do.
# Inputs (environment): NODE_NAME.
# Profiles: MICROSEG_HOST_PROFILE=ubuntu (default) or lab: paths below MICROSEG_ROOT, MICROSEG_LAB_PATH first on
#   PATH; kubectl talks to the API server in admin.conf for real.
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
step=remove-node
fail() { echo "$step: $*" >&2; exit 1; }
profile=${MICROSEG_HOST_PROFILE:-ubuntu}
case $profile in
  ubuntu) [[ -z ${MICROSEG_ROOT:-} || ${MICROSEG_ROOT} == / ]] || fail "MICROSEG_ROOT is only for MICROSEG_HOST_PROFILE=lab" ;;
  lab) [[ -z ${MICROSEG_LAB_PATH:-} ]] || PATH=$MICROSEG_LAB_PATH:$PATH ;;
  *) fail "unknown MICROSEG_HOST_PROFILE \"$profile\". Fix: use ubuntu or lab" ;;
esac
root=${MICROSEG_ROOT:-/}
root=${root%/}
log() { echo "$step: $*" >&2; }

: "${NODE_NAME:?remove-node: NODE_NAME is required}"

admin=$root/etc/kubernetes/admin.conf
[[ -s $admin ]] || fail "/etc/kubernetes/admin.conf is missing. Fix: run this step on the first control-plane host, after kubeadm-init"
command -v kubectl >/dev/null || fail "kubectl is not installed. Fix: run prepare-host first"
k() { kubectl --kubeconfig "$admin" --request-timeout=30s "$@"; }
# node_exists: 0 when the Node exists, 1 when it does not; any other error stops the step.
node_exists() {
  local err
  if err=$(k get node "$NODE_NAME" -o name 2>&1 >/dev/null); then return 0; fi
  [[ $err == *NotFound* ]] && return 1
  fail "kubectl get node $NODE_NAME failed: $err"
}

if ! node_exists; then
  log "nothing to do: node $NODE_NAME is not in the cluster"
  exit 0
fi
k delete node "$NODE_NAME" --wait=true >/dev/null || fail "kubectl delete node $NODE_NAME failed"
log "deleted node $NODE_NAME"
