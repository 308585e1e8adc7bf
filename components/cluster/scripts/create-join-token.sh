#!/usr/bin/env bash
# create-join-token: on the first control-plane host, prints what one node needs to join, on stdout as
#   JOIN_TOKEN=<a bootstrap token valid for TOKEN_TTL, default 15m>
#   CA_CERT_HASH=sha256:<hash of the cluster CA public key>
#   CERTIFICATE_KEY=<key of the control-plane certificates just uploaded>   (CONTROL_PLANE=1 only)
# The caller keeps stdout secret and hands it to kubeadm-join on the node's stdin.
# Guard: the Node NODE_NAME already exists -> nothing to do, nothing printed (no token is created).
# Inputs (environment): NODE_NAME, CONTROL_PLANE (0|1), TOKEN_TTL (default 15m).
# Profiles: MICROSEG_HOST_PROFILE=ubuntu (default) or lab: paths below MICROSEG_ROOT, MICROSEG_LAB_PATH first on
#   PATH; kubectl and kubeadm token create talk to the API server in admin.conf for real; the certificate upload
#   needs this control plane's own certificates and prints "lab profile: skipped ..." with a freshly generated key.
step=create-join-token
# shellcheck source=components/cluster/scripts/prelude.sh
source "$(dirname "${BASH_SOURCE[0]}")/prelude.sh"

: "${NODE_NAME:?create-join-token: NODE_NAME is required}"
: "${CONTROL_PLANE:=0}"
: "${TOKEN_TTL:=15m}"

need_admin_kubectl

if node_exists; then
  log "nothing to do: node $NODE_NAME is already in the cluster"
  exit 0
fi
command -v kubeadm >/dev/null || fail "kubeadm is not installed. Fix: run prepare-host first"
ca=$root/etc/kubernetes/pki/ca.crt
[[ -s $ca ]] || fail "/etc/kubernetes/pki/ca.crt is missing. Fix: run this step on the first control-plane host, after kubeadm-init"

token=$(kubeadm token create --kubeconfig "$admin" --ttl "$TOKEN_TTL" --description "microseg: join $NODE_NAME" 2>/dev/null) ||
  fail "kubeadm token create failed. Fix: check that the API server in /etc/kubernetes/admin.conf answers (kubectl get --raw /readyz)"
# kubeadm's discovery pin: sha256 of the CA's DER SubjectPublicKeyInfo (any key type, so pkey rather than rsa).
hash=$(openssl x509 -in "$ca" -noout -pubkey | openssl pkey -pubin -outform der | sha256sum | cut -d' ' -f1) ||
  fail "could not hash the public key of /etc/kubernetes/pki/ca.crt"
key=''
if [[ $CONTROL_PLANE == 1 ]]; then
  if [[ $profile == lab ]]; then
    echo "lab profile: skipped kubeadm init phase upload-certs --upload-certs (needs this control plane's certificates and the kubeadm-config ConfigMap); generated a key with kubeadm certs certificate-key" >&2
    key=$(kubeadm certs certificate-key)
  else
    # The key is the last line; it stays out of the process list (no --certificate-key argument).
    key=$(kubeadm init phase upload-certs --upload-certs 2>/dev/null | tail -n 1) ||
      fail "kubeadm init phase upload-certs failed. Fix: run it by hand on this host to see why"
  fi
  [[ $key =~ ^[0-9a-f]{64}$ ]] || fail "kubeadm init phase upload-certs printed no certificate key"
fi
log "token for $NODE_NAME created (ttl $TOKEN_TTL)"
printf 'JOIN_TOKEN=%s\nCA_CERT_HASH=sha256:%s\n' "$token" "$hash"
[[ -z $key ]] || printf 'CERTIFICATE_KEY=%s\n' "$key"
