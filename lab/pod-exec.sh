#!/usr/bin/env bash
# Runs a command in a pod of the datapath lab, from this machine's root namespaces: the interface programs such as
# `microseg verify` use to probe from a real source pod. The lab kubelet keeps one file per running pod in
# LAB_DIR/pods/<namespace>_<name>.json (node, uid, labels, podIP, netns: the pod's network namespace file,
# cgroup, containers: [{name, pid, cgroup}]); this script reads it.
#   lab/pod-exec.sh NAMESPACE POD [-c CONTAINER] -- COMMAND...
#       inside the container, as `kubectl exec` does: its mount/UTS/network namespaces, root, env and cgroup
#   lab/pod-exec.sh NAMESPACE POD --net -- COMMAND...
#       this machine's programs (curl, nc, dig, ...) in the pod's network namespace and cgroup, with the pod's
#       resolv.conf: the probe is the pod's traffic for Cilium (its identity, its policy, its socket load balancer)
#   lab/pod-exec.sh --node NODE -- COMMAND...
#       this machine's programs in the network namespace and cgroup of lab node NODE: traffic of that node's host
#       (Cilium's `host` identity for the node's own pods, `remote-node` for the others)
#   lab/pod-exec.sh --outside [--route IP=NODE]... -- COMMAND...
#       in the lab's "outside" namespace (<bridge>-outside, not a node, not a pod: Cilium's `world`); each --route
#       first sends IP/32 through node NODE's eth0 (where that pod runs)
#   lab/pod-exec.sh --list      the pods, one per line: namespace/name node podIP netns
# Exit codes: the command's; 125 when the pod is not running in the lab.
set -euo pipefail
export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LAB_DIR="${LAB_DIR:-${ROOT}/.lab}"
TABLE="${LAB_DIR}/pods"
die() { printf 'pod-exec: %s\n' "$*" >&2; exit 125; }

if [[ "${1:-}" == "--list" ]]; then
  shopt -s nullglob
  for f in "${TABLE}"/*.json; do jq -r '"\(.namespace)/\(.name) \(.node) \(.podIP) \(.netns)"' "${f}"; done
  exit 0
fi
# node_address NODE: the eth0 address lab/nodes-up.sh gave the node (<net>.<10+index>).
node_address() {
  local i=0 n
  IFS=, read -r -a nodes <<<"${LAB_NODE_NAMES}"
  for n in "${nodes[@]}"; do
    [[ "${n}" == "$1" ]] && { printf '%s.%d' "${LAB_DP_NET}" $((10 + i)); return 0; }
    i=$((i + 1))
  done
  die "no lab node $1 (nodes: ${LAB_NODE_NAMES})"
}
if [[ "${1:-}" == "--node" || "${1:-}" == "--outside" ]]; then
  [[ -f "${LAB_DIR}/env" ]] || die "no lab at ${LAB_DIR} (no env file)"
  # shellcheck source=/dev/null
  source "${LAB_DIR}/env"
  [[ "${LAB_DATAPATH:-0}" == 1 ]] || die "the lab at ${LAB_DIR} is not a datapath lab"
  if [[ "$1" == "--node" ]]; then
    node="${2:?--node needs a node name}"
    shift 2
    [[ "${1:-}" == "--" ]] && shift
    (($# > 0)) || die "no command given"
    node_address "${node}" >/dev/null
    # shellcheck source=/dev/null
    source "${LAB_DIR}/nodes/datapath.env"
    echo "$$" >"${LAB_DP_CGROUP}/${node}/cgroup.procs"
    exec nsenter --net="/run/netns/${LAB_DP_BRIDGE}-${node}" -- "$@"
  fi
  shift
  outside="${LAB_DP_BRIDGE}-outside"
  ip netns list | grep -q "^${outside}\b" || die "no outside namespace ${outside}: lab/up.sh (LAB_DATAPATH=1) makes it"
  while (($# > 0)) && [[ "$1" != "--" ]]; do
    case "$1" in
      --route)
        [[ "${2:-}" =~ ^([0-9.]+)=([a-z0-9-]+)$ ]] || die "--route wants IP=NODE, got \"${2:-}\""
        ip -n "${outside}" route replace "${BASH_REMATCH[1]}/32" via "$(node_address "${BASH_REMATCH[2]}")"
        shift 2 ;;
      *) die "unknown option $1" ;;
    esac
  done
  [[ "${1:-}" == "--" ]] && shift
  (($# > 0)) || die "no command given"
  exec ip netns exec "${outside}" "$@"
fi
(($# >= 2)) || die "usage: lab/pod-exec.sh NAMESPACE POD [-c CONTAINER | --net] -- COMMAND..."
ns="$1" pod="$2"
shift 2
container="" net=false
while (($# > 0)) && [[ "$1" != "--" ]]; do
  case "$1" in
    -c) container="$2"; shift 2 ;;
    --net) net=true; shift ;;
    *) die "unknown option $1" ;;
  esac
done
[[ "${1:-}" == "--" ]] && shift
(($# > 0)) || die "no command given"
f="${TABLE}/${ns}_${pod}.json"
[[ -f "${f}" ]] || die "pod ${ns}/${pod} is not running in the lab at ${LAB_DIR} (no ${f})"
if "${net}"; then
  netns="$(jq -r .netns "${f}")" cg="$(jq -r .cgroup "${f}")"
  resolv="${LAB_DIR}/nodes/$(jq -r .node "${f}")/kubelet/pods/$(jq -r .uid "${f}")/resolv.conf"
  [[ -e "${netns}" ]] || die "the network namespace ${netns} of ${ns}/${pod} is gone"
  [[ -f "${resolv}" ]] || die "the resolv.conf of ${ns}/${pod} is gone (${resolv})"
  echo "$$" >"${cg}/cgroup.procs"
  # The pod's resolv.conf (cluster DNS), not this machine's: a name looked up by the probe goes to CoreDNS, never
  # to this machine's resolver from inside the pod.
  # shellcheck disable=SC2016 # expanded by the inner shell
  exec unshare -m --propagation private -- sh -c 'mount --bind "$1" /etc/resolv.conf && n="$2" && shift 2 && exec nsenter --net="$n" -- "$@"' _ "${resolv}" "${netns}" "$@"
fi
sel='.containers[0]'
[[ -n "${container}" ]] && sel=".containers[] | select(.name == \"${container}\")"
pid="$(jq -r "${sel} | .pid // empty" "${f}")"
cg="$(jq -r "${sel} | .cgroup // empty" "${f}")"
[[ -n "${pid}" && -d "/proc/${pid}" ]] || die "container ${container:-0} of ${ns}/${pod} is not running"
exec bash "${ROOT}/lab/kubelet/exec.sh" "${pid}" "${cg}" -- "$@"
