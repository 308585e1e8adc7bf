#!/usr/bin/env bash
# prelude: how every host step starts. A step sets step=<its name>, then sources this file; for the remote host,
# lib/cluster/host-scripts.ts puts this text in place of that `source` line, so the host gets one self-contained
# script, and the step's trigger hash covers the prelude too.
# Sets: strict mode and a fixed PATH; fail and log (messages start with the step's name); the host profile:
#   MICROSEG_HOST_PROFILE=ubuntu (default) or lab, where paths lie below MICROSEG_ROOT ($root, "" for /) and
#   MICROSEG_LAB_PATH comes first on PATH; host (runs what needs the real host, or under lab says it skipped it);
#   redact (hides bootstrap tokens and 64-hex keys); validate_kubeadm_config (`kubeadm config validate`);
#   need_admin_kubectl, k and node_exists (kubectl as the admin of the cluster, on a control-plane host).
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
: "${step:?prelude.sh: set step=<name of the host step> before sourcing it}"
fail() { echo "$step: $*" >&2; exit 1; }
log() { echo "$step: $*" >&2; }

profile=${MICROSEG_HOST_PROFILE:-ubuntu}
case $profile in
  ubuntu) [[ -z ${MICROSEG_ROOT:-} || ${MICROSEG_ROOT} == / ]] || fail "MICROSEG_ROOT is only for MICROSEG_HOST_PROFILE=lab" ;;
  lab) [[ -z ${MICROSEG_LAB_PATH:-} ]] || PATH=$MICROSEG_LAB_PATH:$PATH ;;
  *) fail "unknown MICROSEG_HOST_PROFILE \"$profile\". Fix: use ubuntu or lab" ;;
esac
root=${MICROSEG_ROOT:-/}
root=${root%/}

# host WHAT CMD...: runs CMD, which needs the real host; under the lab profile says "lab profile: skipped WHAT".
host() {
  local what=$1
  shift
  if [[ $profile == lab ]]; then echo "lab profile: skipped $what" >&2; else "$@"; fi
}

# Secret-looking words (bootstrap tokens, 64-hex keys and hashes) never reach the caller's log.
redact() { sed -E 's/[a-z0-9]{6}\.[a-z0-9]{16}/[secret]/g; s/[0-9a-f]{64}/[secret]/g'; }

# validate_kubeadm_config FILE: the real kubeadm refuses a bad config before any change (its reason, redacted);
# under the lab profile without kubeadm on PATH, says it skipped that.
validate_kubeadm_config() {
  local out
  if command -v kubeadm >/dev/null; then
    out=$(kubeadm config validate --config "$1" 2>&1) || fail "kubeadm config validate refused the config: $(printf '%s' "$out" | redact | tr '\n' ' ')"
    log "kubeadm config validate: ok"
  elif [[ $profile == lab ]]; then
    echo "lab profile: skipped kubeadm config validate (no kubeadm on PATH; set MICROSEG_LAB_PATH)" >&2
  else
    fail "kubeadm is not installed. Fix: run prepare-host first"
  fi
}

admin=$root/etc/kubernetes/admin.conf
# need_admin_kubectl: the admin kubeconfig of a control plane and kubectl are here.
need_admin_kubectl() {
  [[ -s $admin ]] || fail "/etc/kubernetes/admin.conf is missing. Fix: run this step on the first control-plane host, after kubeadm-init"
  command -v kubectl >/dev/null || fail "kubectl is not installed. Fix: run prepare-host first"
}
k() { kubectl --kubeconfig "$admin" --request-timeout=30s "$@"; }
# node_exists: 0 when the Node NODE_NAME exists, 1 when it does not; any other error stops the step.
node_exists() {
  local err
  if err=$(k get node "$NODE_NAME" -o name 2>&1 >/dev/null); then return 0; fi
  [[ $err == *NotFound* ]] && return 1
  fail "kubectl get node $NODE_NAME failed: $err"
}
