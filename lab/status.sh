#!/usr/bin/env bash
# Prints what of the local lab runs and where. Exit 0 when every component is running and healthy and every
# node is Ready; 1 when something is down or unhealthy; 3 when the lab is not started (no .lab/env).
# In a datapath lab: each node's kubelet, and its Cilium agent's `cilium-dbg status --brief` (run inside the agent).
LAB_TAG=lab-status
# shellcheck source=lab/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RUN="${LAB_DIR}/run"

if [[ ! -f "${LAB_DIR}/env" ]]; then
  echo "lab: not started (no ${LAB_DIR}/env); start it with lab/up.sh"
  if pgrep -af "^${BIN_DIR}/(etcd|kube-apiserver|kube-controller-manager|kube-scheduler|kwok)( |$)"; then
    echo "lab: but these lab processes run without state: stop them with lab/down.sh"
    exit 1
  fi
  exit 3
fi
# shellcheck source=/dev/null
source "${LAB_DIR}/env"
# kube-controller-manager, kube-scheduler and kwok listen on loopback (the apiserver too, or on the bridge).
H=127.0.0.1

healthy=true
# check NAME ENDPOINT PROBE...: one line per component: pid, RSS, endpoint, health.
check() {
  local name="$1" endpoint="$2" pid="" state rss="-"
  shift 2
  [[ -f "${RUN}/${name}.pid" ]] && pid="$(cat "${RUN}/${name}.pid")"
  if [[ -n "${pid}" && "$(readlink "/proc/${pid}/exe" 2>/dev/null)" == "${BIN_DIR}/${name}" ]]; then
    rss="$(awk '/^VmRSS/ {printf "%d MiB", $2 / 1024}' "/proc/${pid}/status")"
    if "$@" >/dev/null 2>&1; then state=healthy; else state=UNHEALTHY; healthy=false; fi
  else
    state=DOWN pid="-"
    healthy=false
  fi
  printf '  %-24s %-10s pid %-8s rss %-9s %s\n' "${name}" "${state}" "${pid}" "${rss}" "${endpoint}"
}

kubectl_lab() { "${LAB_KUBECTL}" --kubeconfig "${KUBECONFIG}" --request-timeout=5s "$@"; }

echo "lab: ${LAB_DIR} (Kubernetes ${LAB_KUBERNETES_VERSION})"
check etcd "${LAB_ETCD_URL}" curl -fsS --max-time 2 "${LAB_ETCD_URL}/health"
check kube-apiserver "${LAB_APISERVER_URL}" kubectl_lab get --raw=/readyz
check kube-controller-manager "https://${H}:${LAB_CONTROLLER_MANAGER_PORT}" \
  curl -fsSk --max-time 2 "https://${H}:${LAB_CONTROLLER_MANAGER_PORT}/healthz"
check kube-scheduler "https://${H}:${LAB_SCHEDULER_PORT}" curl -fsSk --max-time 2 "https://${H}:${LAB_SCHEDULER_PORT}/healthz"
if [[ "${LAB_DATAPATH:-0}" == 1 ]]; then
  IFS=, read -r -a dp_nodes <<<"${LAB_NODE_NAMES}"
  for n in "${dp_nodes[@]}"; do
    pid="$(cat "${RUN}/kubelet-${n}.pid" 2>/dev/null || true)"
    if [[ -n "${pid}" ]] && tr '\0' ' ' 2>/dev/null <"/proc/${pid}/cmdline" | grep -q "lab/kubelet/main.ts --node ${n} "; then
      rss="$(awk '/^VmRSS/ {printf "%d MiB", $2 / 1024}' "/proc/${pid}/status")"
      printf '  %-24s %-10s pid %-8s rss %-9s %s\n' "kubelet ${n}" running "${pid}" "${rss}" "netns ${LAB_DP_BRIDGE}-${n}"
    else
      printf '  %-24s %-10s\n' "kubelet ${n}" DOWN
      healthy=false
    fi
    agent="$(jq -r --arg n "${n}" 'select(.node == $n and .namespace == "kube-system" and .labels["k8s-app"] == "cilium") | .name' "${LAB_DIR}"/pods/*.json 2>/dev/null | head -n1 || true)"
    if [[ -z "${agent}" ]]; then
      printf '    cilium-agent: not running on %s (no Helm release yet? pulumi up --stack lab)\n' "${n}"
      continue
    fi
    brief="$(timeout 20 bash "${ROOT}/lab/pod-exec.sh" kube-system "${agent}" -c cilium-agent -- cilium-dbg status --brief 2>&1 || true)"
    printf '    cilium-agent %s: cilium-dbg status --brief: %s\n' "${agent}" "$(tr '\n' ' ' <<<"${brief}")"
    [[ "${brief}" == OK* ]] || healthy=false
  done
else
  check kwok "http://${H}:${LAB_KWOK_PORT}" curl -fsS --max-time 2 "http://${H}:${LAB_KWOK_PORT}/healthz"
fi

ready=0
IFS=, read -r -a nodes <<<"${LAB_NODE_NAMES}"
for n in "${nodes[@]}"; do
  s="$(kubectl_lab get node "${n}" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null || true)"
  if [[ "${s}" == "True" ]]; then ready=$((ready + 1)); else healthy=false; fi
done
echo "  nodes: ${ready}/${#nodes[@]} Ready (${LAB_NODE_NAMES})"
echo "  kubeconfig: ${KUBECONFIG}   env: ${LAB_DIR}/env   logs: ${LAB_LOG_DIR}"
if "${healthy}"; then
  echo "lab: healthy"
else
  echo "lab: NOT healthy (see ${LAB_LOG_DIR}; restart missing components with lab/up.sh)"
  exit 1
fi
