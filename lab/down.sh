#!/usr/bin/env bash
# Stops what lab/up.sh started (by the pids in .lab/run/, newest component first) and removes the lab's
# runtime state: etcd data, certificates, kubeconfigs, env file and logs. Keeps .lab/bin and the build cache.
# Options: --keep-logs  keep .lab/logs/ (e.g. to read why something failed).
set -euo pipefail
export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:${PATH}"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LAB_DIR="${LAB_DIR:-${ROOT}/.lab}"
BIN_DIR="${LAB_DIR}/bin"
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

log() { printf '[lab-down] %s\n' "$*"; }

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
