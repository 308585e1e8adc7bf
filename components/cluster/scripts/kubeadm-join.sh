#!/usr/bin/env bash
# kubeadm-join: joins this host to the cluster, as a worker or (when the config has a controlPlane section) as a
# control plane. The rendered config holds placeholders for the join secrets; they arrive on stdin as
# JOIN_TOKEN=..., CA_CERT_HASH=sha256:..., CERTIFICATE_KEY=... lines (the output of create-join-token), are put
# into a root-only temporary copy for `kubeadm join` and removed afterwards. Never on the command line.
# Guard: /etc/kubernetes/kubelet.conf exists -> nothing to do (stdin is not read).
# Inputs (environment): KUBEADM_CONFIG_B64 (base64 of the config with placeholders; no secret).
# Profiles: MICROSEG_HOST_PROFILE=ubuntu (default) or lab: files are written for real below MICROSEG_ROOT and
#   `kubeadm config validate` runs when kubeadm is on PATH (MICROSEG_LAB_PATH first); `kubeadm join` itself needs a
#   kubelet and containerd and prints "lab profile: skipped ...", then writes a stand-in kubelet.conf (the guard's file).
step=kubeadm-join
# shellcheck source=components/cluster/scripts/prelude.sh
source "$(dirname "${BASH_SOURCE[0]}")/prelude.sh"

# The placeholders of lib/cluster/kubeadm-config.ts JOIN_PLACEHOLDERS.
placeholder_token=xxxxxx.xxxxxxxxxxxxxxxx
placeholder_hash=sha256:0000000000000000000000000000000000000000000000000000000000000000
placeholder_key=ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff

: "${KUBEADM_CONFIG_B64:?kubeadm-join: KUBEADM_CONFIG_B64 is required}"
config=$(printf '%s' "$KUBEADM_CONFIG_B64" | base64 -d 2>/dev/null) || fail "KUBEADM_CONFIG_B64 is not base64"
dir=$root/etc/kubernetes/microseg
file=$dir/kubeadm-join.yaml

if [[ -f $root/etc/kubernetes/kubelet.conf ]]; then
  log "nothing to do: /etc/kubernetes/kubelet.conf exists (already joined)"
  exit 0
fi

token='' hash='' key=''
while IFS= read -r line || [[ -n $line ]]; do
  case $line in
    JOIN_TOKEN=*) token=${line#*=} ;;
    CA_CERT_HASH=*) hash=${line#*=} ;;
    CERTIFICATE_KEY=*) key=${line#*=} ;;
    '') ;;
    *) fail "unexpected line on stdin (\"${line%%=*}=...\"). Fix: send the output of create-join-token" ;;
  esac
done
# create-join-token prints nothing for a Node already in the cluster: here that Node's host lost its kubelet.conf.
[[ -n $token$hash$key ]] || fail "no join token on stdin: create-join-token makes none for a node already in the cluster, and this host has no /etc/kubernetes/kubelet.conf (reset by hand?). Fix: delete its Node on the first control plane (kubectl delete node <name>), then run pulumi up again"
[[ $token =~ ^[a-z0-9]{6}\.[a-z0-9]{16}$ ]] || fail "JOIN_TOKEN on stdin is missing or not a bootstrap token. Fix: send the output of create-join-token"
[[ $hash =~ ^sha256:[0-9a-f]{64}$ ]] || fail "CA_CERT_HASH on stdin is missing or not sha256:<64 hex>. Fix: send the output of create-join-token"
control_plane=no
[[ $config == *"$placeholder_key"* ]] && control_plane=yes
if [[ $control_plane == yes ]]; then
  [[ $key =~ ^[0-9a-f]{64}$ ]] || fail "CERTIFICATE_KEY on stdin is missing or not 64 hex digits (a control-plane join needs it). Fix: run create-join-token with CONTROL_PLANE=1"
fi

umask 077
mkdir -p "$dir" "$root/var/log/microseg"
printf '%s\n' "$config" >"$file"
log "wrote /etc/kubernetes/microseg/kubeadm-join.yaml (placeholders only)"
filled=$(mktemp "$dir/.kubeadm-join.XXXXXX")
trap 'rm -f "$filled"' EXIT
config=${config//"$placeholder_token"/"$token"}
config=${config//"$placeholder_hash"/"$hash"}
[[ $control_plane == yes ]] && config=${config//"$placeholder_key"/"$key"}
printf '%s\n' "$config" >"$filled"

validate_kubeadm_config "$filled"

logfile=$root/var/log/microseg/kubeadm-join.log
if [[ $profile == lab ]]; then
  echo "lab profile: skipped kubeadm join --config <filled copy> (needs a kubelet and containerd); wrote a stand-in /etc/kubernetes/kubelet.conf" >&2
  # What a real join leaves behind, so the guard above sees a joined host on a rerun, as on Ubuntu.
  printf '# lab profile: stand-in for the kubelet.conf kubeadm join writes\n' >"$root/etc/kubernetes/kubelet.conf"
  exit 0
fi
if ! kubeadm join --config "$filled" >"$logfile" 2>&1; then
  tail -n 20 "$logfile" | redact >&2
  fail "kubeadm join failed (full log, root only: /var/log/microseg/kubeadm-join.log). Fix the cause, run kubeadm-reset on this host, then run pulumi up again"
fi
log "done (log, root only: /var/log/microseg/kubeadm-join.log)"
