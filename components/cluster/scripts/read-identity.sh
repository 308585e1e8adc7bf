#!/usr/bin/env bash
# read-identity: prints this host's identity on stdout, one line
#   identity hostname=... product_uuid=... macs=...
# which the caller compares across hosts: kubeadm needs a unique hostname, MAC address and product_uuid per node
# (cloned VMs share them). Read-only: re-runs change nothing.
# Profiles: MICROSEG_HOST_PROFILE=ubuntu (default) or lab, where MICROSEG_ROOT prefixes every path read.
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
step=read-identity
fail() { echo "$step: $*" >&2; exit 1; }
case ${MICROSEG_HOST_PROFILE:-ubuntu} in
  ubuntu) [[ -z ${MICROSEG_ROOT:-} || ${MICROSEG_ROOT} == / ]] || fail "MICROSEG_ROOT is only for MICROSEG_HOST_PROFILE=lab" ;;
  lab) ;;
  *) fail "unknown MICROSEG_HOST_PROFILE \"${MICROSEG_HOST_PROFILE}\". Fix: use ubuntu or lab" ;;
esac
root=${MICROSEG_ROOT:-/}
root=${root%/}

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
