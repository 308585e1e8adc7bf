#!/usr/bin/env bash
# Stops what lab/up.sh started (by the pids in .lab/run/, newest component first) and removes the lab's
# runtime state: etcd data, certificates, kubeconfigs, env file and logs. Keeps .lab/bin and the build cache.
# A datapath lab (lab/nodes-up.sh) goes first: every process of its nodes (kubelets, agents, pods: all in the
# nodes' cgroups) is killed, then its mounts (bpffs, pinned network namespaces, node directories), cgroups,
# network namespaces, veths and bridge are removed, and what was removed is listed.
# Options: --keep-logs  keep .lab/logs/ (e.g. to read why something failed).
LAB_TAG=lab-down
# shellcheck source=lab/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RUN="${LAB_DIR}/run"
COMPONENTS=(kwok kube-scheduler kube-controller-manager kube-apiserver etcd)

keep_logs=false
for arg in "$@"; do
  case "${arg}" in
    --keep-logs) keep_logs=true ;;
    -h | --help) sed -n '2,4p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) printf '[lab-down] ERROR: unknown option "%s" (known: --keep-logs)\n' "${arg}" >&2; exit 2 ;;
  esac
done

# ours PID NAME: true while PID is a live process of our NAME binary (a recycled pid is not ours).
ours() { [[ "$(readlink "/proc/$1/exe" 2>/dev/null)" == "${BIN_DIR}/$2" ]]; }

# stop_pid NAME PID: SIGTERM, up to 20 s for a clean exit, then SIGKILL.
stop_pid() {
  local name="$1" pid="$2" i
  kill -TERM "${pid}" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    ours "${pid}" "${name}" || { log "${name}: stopped (pid ${pid})"; return; }
    sleep 0.2
  done
  log "${name}: still running after 20s, sending SIGKILL (pid ${pid})"
  kill -KILL "${pid}" 2>/dev/null || true
  for ((i = 0; i < 25; i++)); do ours "${pid}" "${name}" || return 0; sleep 0.2; done
  log "${name}: pid ${pid} did not exit"
  return 1
}

# --- the datapath lab's nodes -----------------------------------------------------------------------------------
datapath_down() {
  local state="${LAB_DIR}/nodes/datapath.env" bridge="" cg="" d n pids mnts progs_before progs_after
  # shellcheck source=/dev/null
  [[ -f "${state}" ]] && source "${state}" && bridge="${LAB_DP_BRIDGE}" cg="${LAB_DP_CGROUP}"
  progs_before="$(bpftool prog list 2>/dev/null | grep -c '^[0-9]*:' || true)"
  if [[ -n "${cg}" && -d "${cg}" ]]; then
    for d in "${cg}"/*/; do
      [[ -d "${d}" ]] || continue
      n="$(find "${d}" -name cgroup.procs -exec cat {} + 2>/dev/null | wc -l)"
      # cgroup.kill: SIGKILL to every process of the node and of its descendants (kubelet, agents, pods).
      echo 1 >"${d}cgroup.kill"
      for _ in $(seq 50); do
        pids="$(find "${d}" -name cgroup.procs -exec cat {} + 2>/dev/null | wc -l)"
        ((pids == 0)) && break
        sleep 0.1
      done
      log "node $(basename "${d}"): killed ${n} processes (kubelet, agent, operator, pods)"
    done
  fi
  # Mounts under the lab dir (pinned pod network namespaces, the nodes' bpffs and cgroup binds, the shared node
  # roots), deepest first.
  mapfile -t mnts < <(findmnt -rn -o TARGET | grep -F "${LAB_DIR}/nodes/" | awk '{ print length, $0 }' | sort -rn | cut -d' ' -f2-)
  for m in "${mnts[@]}"; do umount "${m}" 2>/dev/null || umount -l "${m}"; done
  ((${#mnts[@]} == 0)) || log "unmounted ${#mnts[@]} mounts under ${LAB_DIR}/nodes (bpffs, network namespaces, node roots, cgroup binds)"
  if [[ -n "${cg}" && -d "${cg}" ]]; then
    find "${cg}" -depth -type d -exec rmdir {} + 2>/dev/null || true
    if [[ -d "${cg}" ]]; then log "WARNING: cgroup ${cg} could not be removed"; else log "removed the cgroups ${cg}"; fi
  fi
  if [[ -n "${bridge}" ]]; then
    while read -r ns _; do
      [[ "${ns}" == "${bridge}-"* ]] || continue
      ip netns del "${ns}" && log "removed network namespace ${ns} (its eth0, veth peer and BPF programs with it)"
    done < <(ip netns list)
    if ip link show "${bridge}" >/dev/null 2>&1; then ip link del "${bridge}" && log "removed bridge ${bridge}"; fi
  fi
  rm -rf "${LAB_DIR}/nodes" "${LAB_DIR}/pods"
  progs_after="$(bpftool prog list 2>/dev/null | grep -c '^[0-9]*:' || true)"
  log "BPF programs on this machine: ${progs_before} before, ${progs_after} after"
}
if [[ -d "${LAB_DIR}/nodes" ]]; then datapath_down; fi

stopped_any=false
for name in "${COMPONENTS[@]}"; do
  pidfile="${RUN}/${name}.pid"
  [[ -f "${pidfile}" ]] || continue
  pid="$(cat "${pidfile}")"
  if [[ "${pid}" =~ ^[0-9]+$ ]] && ours "${pid}" "${name}"; then
    stop_pid "${name}" "${pid}"
    stopped_any=true
  else
    log "${name}: not running (stale pid file)"
  fi
  rm -f "${pidfile}"
done

# A server of this lab without a pid file (e.g. a pid file removed by hand) is still ours: same binary path.
leftover=false
for name in "${COMPONENTS[@]}"; do
  while read -r pid; do
    if [[ -z "${pid}" ]] || ! ours "${pid}" "${name}"; then continue; fi
    log "${name}: found pid ${pid} without a pid file; stopping it"
    stop_pid "${name}" "${pid}" || leftover=true
    stopped_any=true
  done < <(pgrep -f "^${BIN_DIR}/${name}( |$)" || true)
done
if pgrep -f "^${BIN_DIR}/(etcd|kube-apiserver|kube-controller-manager|kube-scheduler|kwok)( |$)" >/dev/null; then
  leftover=true
fi
"${stopped_any}" || log "nothing was running"

rm -rf "${RUN}" "${LAB_DIR}/data" "${LAB_DIR}/pki" "${LAB_DIR}/conf" "${LAB_DIR}/kubeconfig" "${LAB_DIR}/env"
if "${keep_logs}"; then
  log "removed runtime state; kept logs in ${LAB_DIR}/logs"
else
  rm -rf "${LAB_DIR}/logs"
  log "removed runtime state (kept ${BIN_DIR})"
fi
if "${leftover}"; then
  log "ERROR: lab processes are still running:"
  pgrep -af "^${BIN_DIR}/" >&2 || true
  exit 1
fi
