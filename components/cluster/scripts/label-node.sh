#!/usr/bin/env bash
# label-node: on the first control-plane host, sets the configured labels of a Node, all of them: the kubelet may
# not set some itself (NodeRestriction: kubernetes.io / k8s.io labels outside kubelet.kubernetes.io,
# node.kubernetes.io and the well-known set, e.g. node-role.kubernetes.io/*), and it applies its own node-labels
# only when it registers the Node, so a label changed after the join is set here.
# Guard: every label already has its value -> nothing to do.
# Inputs (environment): NODE_NAME, NODE_LABELS ("key=value,key2=value2"), NODE_WAIT_SECONDS (default 120: how long to
#   wait for the kubelet to register the Node after its join).
# Profiles: MICROSEG_HOST_PROFILE=ubuntu (default) or lab: paths below MICROSEG_ROOT, MICROSEG_LAB_PATH first on
#   PATH; kubectl talks to the API server in admin.conf for real.
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
step=label-node
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

: "${NODE_NAME:?label-node: NODE_NAME is required}"
: "${NODE_LABELS:?label-node: NODE_LABELS is required}"

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

# The kubelet registers its Node shortly after the join: wait for it, bounded (NODE_WAIT_SECONDS, default 120).
wait=${NODE_WAIT_SECONDS:-120}
[[ $wait =~ ^[0-9]+$ ]] || fail "NODE_WAIT_SECONDS must be a number of seconds, got \"$wait\""
deadline=$((SECONDS + wait))
until node_exists; do
  ((SECONDS < deadline)) || fail "node $NODE_NAME did not register within ${wait}s. Fix: check the kubelet on $NODE_NAME (journalctl -u kubelet), then re-run pulumi up"
  sleep 2
done
# shellcheck disable=SC2016 # a Go template, not shell
current=$(k get node "$NODE_NAME" -o go-template='{{range $k, $v := .metadata.labels}}{{$k}}={{$v}}{{"\n"}}{{end}}')
IFS=, read -ra wanted <<<"$NODE_LABELS"
missing=()
for l in "${wanted[@]}"; do
  grep -qxF -- "$l" <<<"$current" || missing+=("$l")
done
if ((${#missing[@]} == 0)); then
  log "nothing to do: node $NODE_NAME has ${NODE_LABELS//,/, }"
  exit 0
fi
k label node "$NODE_NAME" --overwrite "${missing[@]}" >/dev/null || fail "kubectl label node $NODE_NAME failed"
log "labelled $NODE_NAME: ${missing[*]}"
