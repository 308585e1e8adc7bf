#!/usr/bin/env bash
# delete-join-token: on the first control-plane host, deletes the bootstrap token one node's join used, once that
# join is done (or has failed), so the token is not valid for the rest of its TTL. Reads the output of
# create-join-token on stdin (JOIN_TOKEN=<id>.<secret>, CA_CERT_HASH=..., CERTIFICATE_KEY=...); only the token's id,
# its public part, goes on kubeadm's command line.
# Guard: no JOIN_TOKEN on stdin (none was made), or no such token in the cluster (deleted, expired) -> nothing to do.
# Inputs (environment): NODE_NAME (the joining node, for the messages).
# Profiles: MICROSEG_HOST_PROFILE=ubuntu (default) or lab: paths below MICROSEG_ROOT, MICROSEG_LAB_PATH first on
#   PATH; kubectl and kubeadm token delete talk to the API server in admin.conf for real.
step=delete-join-token
# shellcheck source=components/cluster/scripts/prelude.sh
source "$(dirname "${BASH_SOURCE[0]}")/prelude.sh"

: "${NODE_NAME:?delete-join-token: NODE_NAME is required}"

token=''
while IFS= read -r line || [[ -n $line ]]; do
  # The CA pin and a certificate key are not needed here.
  case $line in JOIN_TOKEN=*) token=${line#*=} ;; esac
done
if [[ -z $token ]]; then
  log "nothing to do: no join token on stdin (none was made for $NODE_NAME)"
  exit 0
fi
[[ $token =~ ^([a-z0-9]{6})\.[a-z0-9]{16}$ ]] || fail "JOIN_TOKEN on stdin is not a bootstrap token. Fix: send the output of create-join-token"
id=${BASH_REMATCH[1]}

need_admin_kubectl
command -v kubeadm >/dev/null || fail "kubeadm is not installed. Fix: run prepare-host first"
# token_exists: 0 when the token's Secret exists, 1 when it does not; any other error stops the step.
token_exists() {
  local err
  if err=$(k -n kube-system get secret "bootstrap-token-$id" -o name 2>&1 >/dev/null); then return 0; fi
  [[ $err == *NotFound* ]] && return 1
  fail "kubectl get secret bootstrap-token-$id failed: $err. The token stays valid until it expires. Fix: run kubeadm token delete $id on this host"
}

if ! token_exists; then
  log "nothing to do: the join token $id of $NODE_NAME is already gone"
  exit 0
fi
kubeadm token delete --kubeconfig "$admin" "$id" >/dev/null 2>&1 ||
  fail "kubeadm token delete $id failed; the token stays valid until it expires. Fix: run kubeadm token delete $id on this host"
log "deleted the join token $id of $NODE_NAME"
