#!/usr/bin/env bash
# Stops the lab's SSH hosts started by lab/hosts-up.sh: every process in each ms-host-* network namespace (sshd
# and whatever its sessions still run), the namespaces, their veths, the bridge msbr0, the lab key's
# authorized_keys line and .lab/hosts/. Keeps the user `ubuntu`, its sudoers file and the hosts' working roots
# under /var/lib/microseg-lab (remove those by hand if you want them gone). Safe to run when nothing is up.
set -euo pipefail
export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${ROOT}/.lab/hosts"
BRIDGE=msbr0
SSH_USER=ubuntu

log() { printf '[hosts-down] %s\n' "$*"; }
[[ $(id -u) == 0 ]] || { echo "[hosts-down] ERROR: run as root" >&2; exit 1; }

stopped=0
while read -r ns _; do
  [[ "${ns}" == ms-host-* ]] || continue
  mapfile -t pids < <(ip netns pids "${ns}" 2>/dev/null || true)
  if ((${#pids[@]})); then
    kill -TERM "${pids[@]}" 2>/dev/null || true
    for _ in $(seq 50); do
      [[ -z "$(ip netns pids "${ns}" 2>/dev/null)" ]] && break
      sleep 0.1
    done
    mapfile -t pids < <(ip netns pids "${ns}" 2>/dev/null || true)
    if ((${#pids[@]})); then kill -KILL "${pids[@]}" 2>/dev/null || true; fi
  fi
  ip link del "msv-${ns#ms-}" 2>/dev/null || true
  ip netns del "${ns}"
  stopped=$((stopped + 1))
  log "${ns#ms-}: stopped"
done < <(ip netns list)

if ip link show "${BRIDGE}" >/dev/null 2>&1; then
  ip link del "${BRIDGE}"
  log "bridge ${BRIDGE}: removed"
fi

home="$(getent passwd "${SSH_USER}" | cut -d: -f6 || true)"
if [[ -n "${home}" && -f "${home}/.ssh/authorized_keys" ]] && grep -q ' microseg-lab$' "${home}/.ssh/authorized_keys"; then
  grep -v ' microseg-lab$' "${home}/.ssh/authorized_keys" >"${home}/.ssh/authorized_keys.new" || true
  mv "${home}/.ssh/authorized_keys.new" "${home}/.ssh/authorized_keys"
  chown "${SSH_USER}:${SSH_USER}" "${home}/.ssh/authorized_keys"
  chmod 0600 "${home}/.ssh/authorized_keys"
fi
rm -rf "${DIR}"

((stopped)) || log "no lab host was running"
if pgrep -f "sshd -f ${DIR}/" >/dev/null; then
  log "ERROR: lab sshd processes still run:"
  pgrep -af "sshd -f ${DIR}/" >&2
  exit 1
fi
log "removed ${DIR} (kept user ${SSH_USER}, /etc/sudoers.d/microseg-lab, /var/lib/microseg-lab)"
