#!/usr/bin/env bash
# Starts the datapath lab's nodes (lab/up.sh runs it when LAB_DATAPATH=1, after the control plane): per node
#   - a network namespace <bridge>-<node> with eth0 on the bridge LAB_DP_BRIDGE (<net>.<10+i>/24, default route
#     via this machine's <net>.1): cross-node pod traffic goes over Cilium's tunnel between these addresses;
#   - the node's "host": LAB_DIR/nodes/<node>/host, where every hostPath of its pods lives (/run, /etc/cni/net.d,
#     /opt/cni/bin, ...; a shared bind mount, so namespaces made under host/run/netns reach the agent's view),
#     its own bpffs (LAB_DIR/nodes/<node>/bpffs, the node's /sys/fs/bpf), and its own cgroup, a child of this
#     machine's cgroup2 (<cgroup2>/microseg-<bridge>/<node>), mounted at the node's /run/cilium/cgroupv2 as the
#     chart's mount-cgroup init container does on a real node: Cilium's cgroup programs (socket load balancing)
#     attach there, so they see the node's processes only, never the machine's;
#   - the lab kubelet (lab/kubelet/main.ts), inside that cgroup and network namespace: it registers the Node and
#     runs the pods bound to it (see lab/kubelet/);
# and one namespace <bridge>-outside (<net>.250) standing for the world outside the cluster.
# Idempotent: what exists and runs is left alone. Everything is removed by lab/down.sh.
LAB_TAG=lab-nodes
# shellcheck source=lab/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ -f "${LAB_DIR}/env" ]] || die "${LAB_DIR}/env is missing: start the control plane with LAB_DATAPATH=1 lab/up.sh"
# shellcheck source=/dev/null
source "${LAB_DIR}/env"
[[ "${LAB_DATAPATH:-0}" == 1 ]] || die "the lab in ${LAB_DIR} runs kwok nodes (LAB_DATAPATH=0); lab/down.sh, then LAB_DATAPATH=1 lab/up.sh"
# shellcheck source=lab/versions.env
source "${ROOT}/lab/versions.env"
for tool in ip nsenter unshare jq node mountpoint findmnt setpriv; do
  command -v "${tool}" >/dev/null 2>&1 || die "'${tool}' is missing (lab/setup.sh installs what the lab needs)"
done
for b in cilium-agent cilium-cni cilium-dbg coredns kubectl; do
  [[ -x "${LAB_BIN_DIR}/${b}" ]] || die "${LAB_BIN_DIR}/${b} is missing: run lab/setup.sh"
done
[[ -x "${LAB_DIR}/share/nginx/usr/sbin/nginx" ]] || die "${LAB_DIR}/share/nginx is missing: run lab/setup.sh (lab/fetch-nginx.sh)"

CG2="$(findmnt -n -t cgroup2 -o TARGET | head -n1)"
[[ -n "${CG2}" ]] || die "no cgroup2 mount on this machine: the nodes' cgroups (Cilium's socket load balancer) need one"
CG_LAB="${CG2}/microseg-${LAB_DP_BRIDGE}"
IFS=, read -r -a NODES <<<"${LAB_NODE_NAMES}"
CHANGED=()
RUN="${LAB_RUN_DIR}"
LOGS="${LAB_LOG_DIR}"
mkdir -p "${RUN}" "${LOGS}" "${LAB_DIR}/pods" "${LAB_DIR}/nodes"
# What lab/down.sh must remove, even when the env file is gone.
printf 'LAB_DP_BRIDGE=%s\nLAB_DP_CGROUP=%s\n' "${LAB_DP_BRIDGE}" "${CG_LAB}" >"${LAB_DIR}/nodes/datapath.env"

# The cilium image's scripts (images/cilium/Dockerfile copies them into the image from the module).
img="${LAB_DIR}/share/cilium-image"
if [[ ! -f "${img}/.version" || "$(cat "${img}/.version")" != "${CILIUM_VERSION}" ]]; then
  mod="$(go env GOMODCACHE)/github.com/cilium/cilium@${CILIUM_VERSION}"
  [[ -d "${mod}" ]] || (cd "${LAB_DIR}" && go mod download "github.com/cilium/cilium@${CILIUM_VERSION}")
  mkdir -p "${img}"
  install -m 0755 "${mod}/images/cilium/init-container.sh" "${mod}/plugins/cilium-cni/install-plugin.sh" "${mod}/plugins/cilium-cni/cni-uninstall.sh" "${img}/"
  printf '%s' "${CILIUM_VERSION}" >"${img}/.version"
  log "share: the cilium image's scripts from github.com/cilium/cilium@${CILIUM_VERSION} in ${img}"
fi

# kubelet_running NODE: true while the pid file names a live lab kubelet of NODE.
kubelet_running() {
  local f="${RUN}/kubelet-$1.pid" pid
  [[ -f "${f}" ]] || return 1
  pid="$(cat "${f}")"
  [[ "${pid}" =~ ^[0-9]+$ ]] && tr '\0' ' ' 2>/dev/null <"/proc/${pid}/cmdline" | grep -q "lab/kubelet/main.ts --node $1 "
}

i=0
for node in "${NODES[@]}"; do
  ip_addr="${LAB_DP_NET}.$((10 + i))"
  ns="${LAB_DP_BRIDGE}-${node}"
  veth="${LAB_DP_BRIDGE}v${i}"
  i=$((i + 1))
  ndir="${LAB_DIR}/nodes/${node}"
  host="${ndir}/host"

  # A node namespace while no kubelet of this lab runs for it was left by an earlier lab (a killed session, another
  # checkout on the same bridge): its agent's devices, routes and BPF state would meet the new agent. Made again.
  if ! kubelet_running "${node}" && ip netns list | grep -qx "${ns}\( (id: [0-9]*)\)\?"; then
    log "${node}: network namespace ${ns} left by an earlier lab (no kubelet of this lab runs): made again"
    [[ -f "${CG_LAB}/${node}/cgroup.kill" ]] && echo 1 >"${CG_LAB}/${node}/cgroup.kill"
    ip netns del "${ns}"
    for _ in $(seq 50); do ip link show "${veth}" >/dev/null 2>&1 || break; sleep 0.1; done
    ip link del "${veth}" 2>/dev/null || true
  fi
  if ! ip netns list | grep -qx "${ns}\( (id: [0-9]*)\)\?"; then
    log "${node}: network namespace ${ns}, eth0 ${ip_addr}/24 on ${LAB_DP_BRIDGE}"
    ip netns add "${ns}"
    CHANGED+=("${node}-netns")
  fi
  if ! ip link show "${veth}" >/dev/null 2>&1; then
    ip link add "${veth}" type veth peer name eth0 netns "${ns}"
    ip link set "${veth}" master "${LAB_DP_BRIDGE}" up
    ip -n "${ns}" addr add "${ip_addr}/24" dev eth0
    ip -n "${ns}" link set lo up
    ip -n "${ns}" link set eth0 up
    ip -n "${ns}" route add default via "${LAB_DP_HOST}"
    # A node forwards (kubeadm's preflight wants it); this is the node namespace's own setting, not the machine's.
    ip netns exec "${ns}" sysctl -qw net.ipv4.ip_forward=1
    CHANGED+=("${node}-eth0")
  fi

  mkdir -p "${host}/run/netns" "${host}/run/cilium/cgroupv2" "${host}/etc/cni/net.d" "${host}/opt/cni/bin" "${ndir}/bpffs"
  if ! mountpoint -q "${host}"; then
    mount --bind "${host}" "${host}"
    mount --make-shared "${host}"
  fi
  mountpoint -q "${ndir}/bpffs" || { mount -t bpf bpffs "${ndir}/bpffs" && mount --make-private "${ndir}/bpffs"; }
  mkdir -p "${CG_LAB}/${node}"
  # A bind left from an earlier lab whose cgroup was removed (and made again since) points at a deleted cgroup:
  # containers could not bind it (ENOENT). Same cgroup means same inode (the cgroup id).
  if mountpoint -q "${host}/run/cilium/cgroupv2" &&
    [[ "$(stat -c %i "${host}/run/cilium/cgroupv2")" != "$(stat -c %i "${CG_LAB}/${node}")" ]]; then
    log "${node}: the cgroup bind at ${host}/run/cilium/cgroupv2 is stale: bound again"
    umount -l "${host}/run/cilium/cgroupv2"
  fi
  mountpoint -q "${host}/run/cilium/cgroupv2" || mount --bind "${CG_LAB}/${node}" "${host}/run/cilium/cgroupv2"
  # Upstream DNS of the node: this machine's bridge address, where nothing answers (no traffic leaves the machine).
  printf 'nameserver %s\n' "${LAB_DP_HOST}" >"${ndir}/resolv.conf"

  if kubelet_running "${node}"; then
    log "${node}: kubelet already running (pid $(cat "${RUN}/kubelet-${node}.pid"))"
    continue
  fi
  log "${node}: starting the lab kubelet (log ${LOGS}/kubelet-${node}.log)"
  printf '\n=== kubelet start %s\n' "$(date -u +%FT%TZ)" >>"${LOGS}/kubelet-${node}.log"
  (
    cd "${ROOT}"
    # shellcheck disable=SC2016 # $$ is the inner shell's pid: it enters the node's cgroup before exec'ing the kubelet
    setsid bash -c 'echo $$ >"$1/cgroup.procs"; shift; exec "$@"' _ "${CG_LAB}/${node}" \
      nsenter --net="/run/netns/${ns}" -- node --import tsx lab/kubelet/main.ts --node "${node}" --node-ip "${ip_addr}" \
      --lab-dir "${LAB_DIR}" --kubeconfig "${LAB_DIR}/conf/kubelet-${node}.conf" --cgroup "${CG_LAB}/${node}" \
      --node-netns "/run/netns/${ns}" --kubernetes-version "${LAB_KUBERNETES_VERSION}" \
      >>"${LOGS}/kubelet-${node}.log" 2>&1 </dev/null &
    echo "$!" >"${RUN}/kubelet-${node}.pid"
  )
  CHANGED+=("${node}-kubelet")
done

# "Outside": a network namespace on the bridge that is no node and no pod (<net>.250), standing for a client or
# server outside the cluster (Cilium's world): `lab/pod-exec.sh --outside` probes from it and is the address pods
# probe for world. Routes to pods are added per probe (the node that runs the pod).
outside="${LAB_DP_BRIDGE}-outside"
if ! ip netns list | grep -qx "${outside}\( (id: [0-9]*)\)\?"; then
  log "outside: network namespace ${outside}, eth0 ${LAB_DP_NET}.250/24 on ${LAB_DP_BRIDGE}"
  ip netns add "${outside}"
  ip link add "${LAB_DP_BRIDGE}vo" type veth peer name eth0 netns "${outside}"
  ip link set "${LAB_DP_BRIDGE}vo" master "${LAB_DP_BRIDGE}" up
  ip -n "${outside}" addr add "${LAB_DP_NET}.250/24" dev eth0
  ip -n "${outside}" link set lo up
  ip -n "${outside}" link set eth0 up
  CHANGED+=("outside")
fi

# The kubelets register their Nodes (Ready once the Cilium agent wrote the CNI config: after the Helm release).
deadline=$(($(date +%s) + 60))
for node in "${NODES[@]}"; do
  until "${LAB_KUBECTL}" --kubeconfig "${KUBECONFIG}" get node "${node}" >/dev/null 2>&1; do
    kubelet_running "${node}" || { tail -n 20 "${LOGS}/kubelet-${node}.log" >&2; die "the kubelet of ${node} exited (log above)"; }
    (($(date +%s) < deadline)) || die "${node} not registered in 60 s (log ${LOGS}/kubelet-${node}.log)"
    sleep 0.5
  done
done
if ((${#CHANGED[@]} > 0)); then
  log "started or changed: ${CHANGED[*]}"
else
  log "nodes already up: ${LAB_NODE_NAMES}"
fi
