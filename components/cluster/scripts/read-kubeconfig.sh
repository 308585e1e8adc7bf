#!/usr/bin/env bash
# read-kubeconfig: prints /etc/kubernetes/admin.conf on stdout (the caller keeps it secret and rewrites its server
# to the control-plane endpoint). Read-only: re-runs change nothing.
# Profiles: MICROSEG_HOST_PROFILE=ubuntu (default) or lab, where MICROSEG_ROOT prefixes every path.
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
step=read-kubeconfig
fail() { echo "$step: $*" >&2; exit 1; }
case ${MICROSEG_HOST_PROFILE:-ubuntu} in
  ubuntu) [[ -z ${MICROSEG_ROOT:-} || ${MICROSEG_ROOT} == / ]] || fail "MICROSEG_ROOT is only for MICROSEG_HOST_PROFILE=lab" ;;
  lab) ;;
  *) fail "unknown MICROSEG_HOST_PROFILE \"${MICROSEG_HOST_PROFILE}\". Fix: use ubuntu or lab" ;;
esac
root=${MICROSEG_ROOT:-/}
root=${root%/}

conf=$root/etc/kubernetes/admin.conf
[[ -s $conf ]] || fail "/etc/kubernetes/admin.conf is missing. Fix: run kubeadm-init on this host first"
cat "$conf"
