#!/usr/bin/env bash
# kubeadm-reset: undoes kubeadm init/join on this host (the delete of a node): `kubeadm reset -f` (which also
# removes a control plane's etcd member), then what it leaves behind: CNI config and state, microseg's own files,
# the KUBE-* / CILIUM* iptables chains and Cilium's links.
# Guard: no kubelet.conf, admin.conf, static Pod manifest, CNI config or microseg file left -> nothing to do.
# Profiles: MICROSEG_HOST_PROFILE=ubuntu (default) or lab: files are removed for real below MICROSEG_ROOT;
#   kubeadm reset (kubelet, containers, mounts), iptables and ip link need the host and print "lab profile: skipped ...".
step=kubeadm-reset
# shellcheck source=components/cluster/scripts/prelude.sh
source "$(dirname "${BASH_SOURCE[0]}")/prelude.sh"

shopt -s nullglob
k8s=$root/etc/kubernetes
leftovers=("$k8s"/{admin,super-admin,kubelet,bootstrap-kubelet,controller-manager,scheduler}.conf "$k8s"/manifests/*.yaml \
  "$root"/etc/cni/net.d/* "$k8s"/microseg)
existing=()
for f in "${leftovers[@]}"; do [[ -e $f ]] && existing+=("$f"); done
if ((${#existing[@]} == 0)); then
  log "nothing to do: no kubeadm, CNI or microseg files on this host"
  exit 0
fi

if [[ $profile == ubuntu ]]; then
  command -v kubeadm >/dev/null || fail "kubeadm is not installed, so it cannot reset this host. Fix: run prepare-host, then this step again"
  mkdir -p /var/log/microseg
  kubeadm reset -f >/var/log/microseg/kubeadm-reset.log 2>&1 ||
    fail "kubeadm reset failed (log, root only: /var/log/microseg/kubeadm-reset.log). Fix the cause and run the step again"
else
  echo "lab profile: skipped kubeadm reset -f (needs the kubelet, containerd and the host's mounts)" >&2
fi
# kubeadm reset leaves CNI files, iptables rules and links behind by design; it also removes the files above, so
# these removals only act in the lab or after a partial reset.
rm -rf "${existing[@]}" "$root"/var/lib/cni
for ipt in iptables ip6tables; do
  host "$ipt: removing the KUBE-* and CILIUM* rules" \
    sh -c "$ipt-save | grep -v -e KUBE- -e CILIUM | $ipt-restore"
done
for link in cilium_host cilium_net cilium_vxlan cilium_geneve; do
  if [[ $profile == lab ]]; then
    echo "lab profile: skipped ip link delete $link" >&2
  elif ip link show "$link" >/dev/null 2>&1; then
    ip link delete "$link"
  fi
done
log "reset done: removed ${#existing[@]} kubeadm/CNI/microseg path(s)"
