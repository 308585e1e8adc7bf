#!/usr/bin/env bash
# read-kubeconfig: prints /etc/kubernetes/admin.conf on stdout (the caller keeps it secret and rewrites its server
# to the control-plane endpoint). Read-only: re-runs change nothing.
# Profiles: MICROSEG_HOST_PROFILE=ubuntu (default) or lab, where MICROSEG_ROOT prefixes every path.
step=read-kubeconfig
# shellcheck source=components/cluster/scripts/prelude.sh
source "$(dirname "${BASH_SOURCE[0]}")/prelude.sh"

[[ -s $admin ]] || fail "/etc/kubernetes/admin.conf is missing. Fix: run kubeadm-init on this host first"
cat "$admin"
