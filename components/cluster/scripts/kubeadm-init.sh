#!/usr/bin/env bash
# kubeadm-init: writes the rendered kubeadm config to /etc/kubernetes/microseg/kubeadm-init.yaml (root only),
# validates it with kubeadm and runs `kubeadm init` on the first control-plane host. kubeadm's output names the
# bootstrap token (and, with --upload-certs, the certificate key), so it goes to a root-only log, never to stdout.
# Guard: /etc/kubernetes/admin.conf exists -> nothing to do (kubeadm init never runs twice on a host).
# Inputs (environment): KUBEADM_CONFIG_B64 (base64 of the config; it holds no secret), UPLOAD_CERTS (0|1).
# Profiles: MICROSEG_HOST_PROFILE=ubuntu (default) or lab: files are written for real below MICROSEG_ROOT and
#   `kubeadm config validate` runs when kubeadm is on PATH (MICROSEG_LAB_PATH is put first on PATH); `kubeadm init`
#   itself needs a kubelet and containerd and prints "lab profile: skipped ...".
step=kubeadm-init
# shellcheck source=components/cluster/scripts/prelude.sh
source "$(dirname "${BASH_SOURCE[0]}")/prelude.sh"

: "${KUBEADM_CONFIG_B64:?kubeadm-init: KUBEADM_CONFIG_B64 is required}"
: "${UPLOAD_CERTS:=0}"
config=$(printf '%s' "$KUBEADM_CONFIG_B64" | base64 -d 2>/dev/null) || fail "KUBEADM_CONFIG_B64 is not base64"
dir=$root/etc/kubernetes/microseg
file=$dir/kubeadm-init.yaml

if [[ -f $root/etc/kubernetes/admin.conf ]]; then
  if [[ -f $file && "$(cat "$file")" != "$config" ]]; then
    log "warning: the config differs from the one this cluster was initialised with; kubeadm init does not reconfigure a cluster (that is kubeadm upgrade or the kubeadm-config ConfigMap)"
  fi
  log "nothing to do: /etc/kubernetes/admin.conf exists (already initialised)"
  exit 0
fi

umask 077
mkdir -p "$dir" "$root/var/log/microseg"
printf '%s\n' "$config" >"$file"
log "wrote /etc/kubernetes/microseg/kubeadm-init.yaml"

validate_kubeadm_config "$file"

args=(init --config "$file")
[[ $UPLOAD_CERTS == 1 ]] && args+=(--upload-certs)
logfile=$root/var/log/microseg/kubeadm-init.log
if [[ $profile == lab ]]; then
  echo "lab profile: skipped kubeadm ${args[*]} (needs a kubelet and containerd)" >&2
  exit 0
fi
if ! kubeadm "${args[@]}" >"$logfile" 2>&1; then
  tail -n 20 "$logfile" | redact >&2
  fail "kubeadm init failed (full log, root only: /var/log/microseg/kubeadm-init.log). Fix the cause, run kubeadm-reset on this host, then run pulumi up again"
fi
[[ -f $root/etc/kubernetes/admin.conf ]] || fail "kubeadm init returned but /etc/kubernetes/admin.conf is missing (log: /var/log/microseg/kubeadm-init.log)"
log "done (log, root only: /var/log/microseg/kubeadm-init.log)"
