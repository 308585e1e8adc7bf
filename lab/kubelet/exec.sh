#!/usr/bin/env bash
# Runs a command inside a running lab container, as `kubectl exec` would: in the container's mount, UTS and network
# namespaces, at its root (the chroot of lab/kubelet/container.sh), with its environment, inside its cgroup (so
# cgroup-attached BPF programs, e.g. Cilium's socket load balancer, see it as the pod's).
# Usage: exec.sh PID CGROUP_DIR -- COMMAND [ARG...]
set -euo pipefail
export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
pid="$1" cg="$2"
shift 2
[[ "${1:-}" == "--" ]] && shift
[[ -d "/proc/${pid}" ]] || { echo "exec.sh: no process ${pid}" >&2; exit 126; }
echo "$$" >"${cg}/cgroup.procs"
mapfile -d '' -t envs <"/proc/${pid}/environ"
exec nsenter -t "${pid}" -m -u -n -r -w -- env -i "${envs[@]}" "$@"
