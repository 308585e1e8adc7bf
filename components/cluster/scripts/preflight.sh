#!/usr/bin/env bash
# preflight: checks a host before anything is installed and reports every problem at once, each with its fix.
# Read-only: re-runs change nothing. On a host that already runs a kubelet the port checks are skipped (the
# cluster's own components hold those ports).
# Inputs (environment): ROLE (control-plane|worker), MIN_KERNEL (e.g. 5.10), CILIUM_VERSION (for messages),
#   NODE_PORT_RANGE (from-to), API_SERVER_PORT (the port kube-apiserver binds on control planes).
# stdout: one line "identity hostname=... product_uuid=... macs=..." that the caller compares across hosts
#   (kubeadm needs a unique hostname, MAC address and product_uuid per node).
# Profiles: MICROSEG_HOST_PROFILE=ubuntu (default) or lab, where MICROSEG_ROOT prefixes every path read.
step=preflight
# shellcheck source=components/cluster/scripts/prelude.sh
source "$(dirname "${BASH_SOURCE[0]}")/prelude.sh"

: "${ROLE:?preflight: ROLE is required (control-plane or worker)}"
: "${MIN_KERNEL:?preflight: MIN_KERNEL is required, e.g. 5.10}"
: "${CILIUM_VERSION:?preflight: CILIUM_VERSION is required}"
: "${NODE_PORT_RANGE:?preflight: NODE_PORT_RANGE is required, e.g. 30000-32767}"
: "${API_SERVER_PORT:=6443}"
[[ $ROLE == control-plane || $ROLE == worker ]] || fail "ROLE is \"$ROLE\". Fix: use control-plane or worker"
[[ $NODE_PORT_RANGE =~ ^([0-9]+)-([0-9]+)$ ]] || fail "NODE_PORT_RANGE is \"$NODE_PORT_RANGE\". Fix: write from-to, e.g. 30000-32767"
np_from=${BASH_REMATCH[1]}
np_to=${BASH_REMATCH[2]}

problems=()
problem() { problems+=("$1"); }

# --- identity (compared across hosts by the caller)
hostname=$(cat "$root/proc/sys/kernel/hostname" 2>/dev/null || echo unknown)
uuid=$(cat "$root/sys/class/dmi/id/product_uuid" 2>/dev/null || echo unknown)
macs=()
for dev in "$root"/sys/class/net/*; do
  [[ -e $dev/address ]] || continue
  # Virtual devices (lo, bridges, veths) carry local or random MACs; kubeadm asks for unique adapter MACs.
  [[ $(readlink "$dev" || true) == */devices/virtual/* || ${dev##*/} == lo ]] && continue
  mac=$(cat "$dev/address")
  [[ $mac == 00:00:00:00:00:00 ]] || macs+=("$mac")
done
mac_list=$(printf '%s\n' "${macs[@]}" | sort -u | paste -sd, -)
echo "identity hostname=$hostname product_uuid=$uuid macs=${mac_list:-none}"

# --- operating system
os_id=$(sed -n 's/^ID=//p' "$root/etc/os-release" 2>/dev/null | tr -d '"')
os_version=$(sed -n 's/^VERSION_ID=//p' "$root/etc/os-release" 2>/dev/null | tr -d '"')
os_name=$(sed -n 's/^PRETTY_NAME=//p' "$root/etc/os-release" 2>/dev/null | tr -d '"')
if [[ $os_id != ubuntu ]]; then
  problem "the OS is \"${os_name:-unknown (no /etc/os-release)}\", not Ubuntu. Fix: install Ubuntu 22.04 or 24.04 LTS on this host"
elif [[ $os_version == 20.04 ]]; then
  problem "Ubuntu 20.04 is past its standard support (ended May 2025): no security updates without Ubuntu Pro, and its 5.4 kernel is older than Cilium 1.18 needs. Fix: upgrade the host to Ubuntu 22.04 or 24.04 LTS"
elif [[ $os_version != 22.04 && $os_version != 24.04 ]]; then
  problem "Ubuntu $os_version is not supported. Fix: use Ubuntu 22.04 or 24.04 LTS"
fi

# --- architecture (Cilium publishes amd64 and arm64 images)
arch=$(uname -m)
if [[ $arch != x86_64 && $arch != aarch64 ]]; then
  problem "the architecture is $arch; Cilium images exist for amd64 and arm64 only. Fix: use an amd64 or arm64 host"
fi

# --- kernel
kernel=$(cat "$root/proc/sys/kernel/osrelease" 2>/dev/null || echo unknown)
version_ge() { # $1 >= $2, comparing major.minor
  local a1 a2 b1 b2
  [[ $1 =~ ^([0-9]+)\.([0-9]+) ]] || return 1
  a1=${BASH_REMATCH[1]} a2=${BASH_REMATCH[2]}
  [[ $2 =~ ^([0-9]+)\.([0-9]+) ]] || return 1
  b1=${BASH_REMATCH[1]} b2=${BASH_REMATCH[2]}
  ((a1 > b1 || (a1 == b1 && a2 >= b2)))
}
if ! version_ge "$kernel" "$MIN_KERNEL"; then
  problem "the kernel is $kernel, older than $MIN_KERNEL, the minimum of Cilium $CILIUM_VERSION. Fix: install a newer kernel (e.g. apt-get install linux-generic-hwe-$os_version) and reboot"
fi

# --- cgroup v2 (unified hierarchy)
if [[ ! -e $root/sys/fs/cgroup/cgroup.controllers ]]; then
  problem "cgroup v2 is not mounted at /sys/fs/cgroup (the kubelet and containerd are set up for the unified hierarchy with the systemd driver). Fix: remove systemd.unified_cgroup_hierarchy=0 from GRUB_CMDLINE_LINUX in /etc/default/grub, run update-grub and reboot"
fi

# --- ports
# "tcp PORT" for every listening TCP socket, "udp PORT" for every bound UDP socket, from /proc/net.
bound_ports() {
  local f proto local_address st
  for f in tcp tcp6 udp udp6; do
    [[ -r $root/proc/net/$f ]] || continue
    proto=${f%6}
    while read -r _ local_address _ st _; do
      [[ $proto == udp || $st == 0A ]] || continue
      echo "$proto $((16#${local_address##*:}))"
    done < <(tail -n +2 "$root/proc/net/$f")
  done | sort -u -k1,1 -k2,2n
}
if [[ -e $root/etc/kubernetes/kubelet.conf ]]; then
  echo "$step: this host already runs a kubelet (/etc/kubernetes/kubelet.conf); port checks skipped" >&2
else
  declare -A want=([10250]=kubelet)
  if [[ $ROLE == control-plane ]]; then
    want+=([$API_SERVER_PORT]=kube-apiserver [2379]="etcd client" [2380]="etcd peer" [10257]=kube-controller-manager [10259]=kube-scheduler)
  fi
  while read -r proto port; do
    [[ -n $proto ]] || continue
    if [[ $proto == tcp && -n ${want[$port]:-} ]]; then
      problem "TCP port $port (${want[$port]}) is already in use. Fix: stop what listens on it (ss -ltnp 'sport = :$port'), or run kubeadm-reset if this host was in a cluster before"
    elif ((port >= np_from && port <= np_to)); then
      problem "${proto^^} port $port is in use inside the NodePort range $NODE_PORT_RANGE, where Cilium serves NodePort services on every node. Fix: move that service off the port (ss -lnp 'sport = :$port'), or choose another cluster.serviceNodePortRange"
    fi
  done < <(bound_ports)
fi

if ((${#problems[@]} > 0)); then
  for p in "${problems[@]}"; do echo "$step: $p" >&2; done
  fail "${#problems[@]} problem(s) on $hostname; nothing was changed"
fi
echo "$step: $hostname passed ($os_name, $arch, kernel $kernel, cgroup v2, ports free)" >&2
