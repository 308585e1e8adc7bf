#!/usr/bin/env bash
# prepare-host: makes an Ubuntu host ready for kubeadm: swap off for good, overlay + br_netfilter loaded at boot,
# the forwarding sysctls, containerd with the systemd cgroup driver, and kubelet/kubeadm/kubectl pinned from the
# pkgs.k8s.io repository of the chosen minor and held. Every step compares before it changes anything, so a re-run
# on a prepared host ends with "nothing to do".
# Inputs (environment): KUBERNETES_VERSION (e.g. 1.34.2), IP_FAMILY (ipv4|ipv6, default ipv4).
# Profiles: MICROSEG_HOST_PROFILE=ubuntu (default) or lab: under lab every file is written for real below
#   MICROSEG_ROOT, while what needs the Ubuntu kernel or the Kubernetes apt repository (swapoff, modprobe,
#   sysctl --system, apt-get, apt-mark, dpkg, systemctl, containerd --version) prints "lab profile: skipped ...".
#   MICROSEG_LAB_CONTAINERD_VERSION (default 1.7.28) stands for the installed containerd there.
step=prepare-host
# shellcheck source=components/cluster/scripts/prelude.sh
source "$(dirname "${BASH_SOURCE[0]}")/prelude.sh"

: "${KUBERNETES_VERSION:?prepare-host: KUBERNETES_VERSION is required, e.g. 1.34.2}"
: "${IP_FAMILY:=ipv4}"
[[ $KUBERNETES_VERSION =~ ^([0-9]+)\.([0-9]+)\.[0-9]+$ ]] || fail "KUBERNETES_VERSION is \"$KUBERNETES_VERSION\". Fix: give major.minor.patch, e.g. 1.34.2"
minor=${BASH_REMATCH[1]}.${BASH_REMATCH[2]}
[[ $IP_FAMILY == ipv4 || $IP_FAMILY == ipv6 ]] || fail "IP_FAMILY is \"$IP_FAMILY\". Fix: use ipv4 or ipv6"
export DEBIAN_FRONTEND=noninteractive

changes=0
# write_file PATH MODE CONTENT: writes only when the content or mode differs; returns 0 when it wrote.
write_file() {
  local path=$root$1 mode=$2 content=$3
  if [[ -f $path && "$(cat "$path")" == "$content" && $(stat -c %a "$path") == "${mode#0}" ]]; then return 1; fi
  mkdir -p "$(dirname "$path")"
  printf '%s\n' "$content" >"$path.microseg-new"
  chmod "$mode" "$path.microseg-new"
  mv "$path.microseg-new" "$path"
  log "wrote $1"
  changes=$((changes + 1))
}

# --- swap: the kubelet refuses to start with swap on (failSwapOn)
if [[ -f $root/etc/fstab ]]; then
  fstab=$(awk '!/^[[:space:]]*#/ && $3 == "swap" { print "# microseg: swap off for the kubelet: " $0; next } { print }' "$root/etc/fstab")
  write_file /etc/fstab 644 "$fstab" || true
fi
if [[ -r $root/proc/swaps ]] && (($(wc -l <"$root/proc/swaps") > 1)); then
  host "swapoff -a" swapoff -a
  changes=$((changes + 1))
fi

# --- kernel modules: containerd's overlayfs snapshotter, bridged traffic seen by iptables
if write_file /etc/modules-load.d/microseg-k8s.conf 644 $'overlay\nbr_netfilter'; then
  host "modprobe overlay br_netfilter" modprobe -a overlay br_netfilter
fi

# --- sysctls
sysctls=$'net.bridge.bridge-nf-call-iptables = 1\nnet.bridge.bridge-nf-call-ip6tables = 1\nnet.ipv4.ip_forward = 1'
[[ $IP_FAMILY == ipv6 ]] && sysctls+=$'\nnet.ipv6.conf.all.forwarding = 1'
if write_file /etc/sysctl.d/99-microseg-k8s.conf 644 "$sysctls"; then
  host "sysctl --system" sysctl --system >/dev/null
fi

# --- containerd, systemd cgroup driver (matches the kubelet's cgroupDriver: systemd)
if [[ $profile == lab ]]; then
  echo "lab profile: skipped apt-get install containerd" >&2
  containerd_version=${MICROSEG_LAB_CONTAINERD_VERSION:-1.7.28}
  echo "lab profile: skipped containerd --version (using MICROSEG_LAB_CONTAINERD_VERSION=$containerd_version)" >&2
else
  if ! dpkg-query -W -f='${Status}' containerd 2>/dev/null | grep -q 'install ok installed'; then
    apt-get update -q >/dev/null || fail "apt-get update failed. Fix: check the host's apt sources and network"
    apt-get install -y -q containerd >/dev/null || fail "apt-get install containerd failed. Fix: run it by hand to see why"
    changes=$((changes + 1))
  fi
  containerd_version=$(containerd --version | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -n1)
fi
case ${containerd_version%%.*} in
  1) # config version 2 (containerd 1.x)
    containerd_config=$'version = 2\n\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]\n  runtime_type = "io.containerd.runc.v2"\n\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]\n  SystemdCgroup = true' ;;
  2) # config version 3 (containerd 2.x moved the CRI runtime plugin)
    containerd_config=$'version = 3\n\n[plugins.\'io.containerd.cri.v1.runtime\'.containerd.runtimes.runc]\n  runtime_type = \'io.containerd.runc.v2\'\n\n[plugins.\'io.containerd.cri.v1.runtime\'.containerd.runtimes.runc.options]\n  SystemdCgroup = true' ;;
  *) fail "containerd $containerd_version is not supported. Fix: install containerd 1.7 or 2.x" ;;
esac
if write_file /etc/containerd/config.toml 644 "$containerd_config"; then
  host "systemctl restart containerd" systemctl restart containerd
fi
if [[ $profile == ubuntu ]] && ! systemctl is-enabled --quiet containerd; then
  systemctl enable --now containerd
  changes=$((changes + 1))
fi

# --- Kubernetes packages from pkgs.k8s.io, one repository per minor
keyring=/etc/apt/keyrings/kubernetes-apt-keyring.gpg
repo="https://pkgs.k8s.io/core:/stable:/v$minor/deb/"
if write_file /etc/apt/sources.list.d/kubernetes.list 644 "deb [signed-by=$keyring] $repo /"; then
  mkdir -p "$root/etc/apt/keyrings"
  host "download of the pkgs.k8s.io v$minor signing key to $keyring" \
    sh -c "curl -fsSL '${repo}Release.key' | gpg --dearmor --yes -o '$keyring'"
  host "apt-get update" apt-get update -q >/dev/null
fi
packages=(kubelet kubeadm kubectl)
if [[ $profile == lab ]]; then
  echo "lab profile: skipped apt-get install and apt-mark hold of ${packages[*]} $KUBERNETES_VERSION" >&2
else
  current=yes
  for p in "${packages[@]}"; do
    [[ $(dpkg-query -W -f='${Version}' "$p" 2>/dev/null || true) == "$KUBERNETES_VERSION-"* ]] || current=no
  done
  if [[ $current == no ]]; then
    pin=$(apt-cache madison kubeadm | awk -v v="$KUBERNETES_VERSION" '$3 ~ "^" v "-" { print $3; exit }')
    [[ -n $pin ]] || fail "kubeadm $KUBERNETES_VERSION is not in $repo. Fix: set cluster.kubernetesVersion to a released $minor patch version"
    apt-mark unhold "${packages[@]}" >/dev/null
    apt-get install -y -q --allow-downgrades "${packages[@]/%/=$pin}" >/dev/null || fail "apt-get install of ${packages[*]} $pin failed. Fix: run it by hand to see why"
    changes=$((changes + 1))
  fi
  if [[ $(apt-mark showhold "${packages[@]}" | sort | paste -sd' ' -) != "kubeadm kubectl kubelet" ]]; then
    apt-mark hold "${packages[@]}" >/dev/null
    changes=$((changes + 1))
  fi
  if ! systemctl is-enabled --quiet kubelet; then
    systemctl enable kubelet
    changes=$((changes + 1))
  fi
fi

if ((changes == 0)); then log "nothing to do"; else log "$changes change(s)"; fi
