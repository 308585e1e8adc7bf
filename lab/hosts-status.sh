#!/usr/bin/env bash
# Prints the lab's SSH hosts (lab/hosts-up.sh): per host its address, sshd pid, whether SSH answers with the
# recorded host key, and how many commands it has run. Exit 0 when every host is up, 1 when one is down,
# 3 when the hosts are not started (no .lab/hosts/env).
set -euo pipefail
export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${ROOT}/.lab/hosts"
if [[ ! -f "${DIR}/env" ]]; then
  echo "lab hosts: not started (no ${DIR}/env); start them with lab/hosts-up.sh"
  exit 3
fi
# shellcheck source=/dev/null
source "${DIR}/env"

healthy=true
IFS=, read -r -a names <<<"${LAB_HOST_NAMES}"
echo "lab hosts: ${#names[@]} on bridge ${LAB_HOSTS_BRIDGE}, user ${LAB_HOSTS_USER}, key ${LAB_HOSTS_KEY}"
for name in "${names[@]}"; do
  i="${name#host-}"
  addr_var="LAB_HOST_${i}_ADDRESS"
  addr="${!addr_var}"
  pid="-" state=DOWN
  if [[ -f "${DIR}/${name}/sshd.pid" ]]; then
    p="$(cat "${DIR}/${name}/sshd.pid")"
    if [[ "${p}" =~ ^[0-9]+$ && "$(readlink "/proc/${p}/exe" 2>/dev/null)" == /usr/sbin/sshd ]]; then pid="${p}"; fi
  fi
  if [[ "${pid}" != - ]]; then
    if timeout 10 ssh -q -o BatchMode=yes -o ConnectTimeout=5 -o StrictHostKeyChecking=yes \
      -o UserKnownHostsFile="${LAB_HOSTS_KNOWN_HOSTS}" -i "${LAB_HOSTS_KEY}" "${LAB_HOSTS_USER}@${addr}" true </dev/null; then
      state=up
    else
      state=UNREACHABLE
    fi
  fi
  [[ "${state}" == up ]] || healthy=false
  # The status probe itself is one more command on the host's counter.
  commands="$(wc -l <"${DIR}/${name}/commands.log" 2>/dev/null || echo 0)"
  printf '  %-8s %-12s %-15s pid %-8s commands %-5s MICROSEG_ROOT=%s/%s\n' "${name}" "${state}" "${addr}:22" "${pid}" \
    "${commands}" "${LAB_HOSTS_WORK_ROOT}" "${name}"
done
echo "  env: ${DIR}/env   known_hosts: ${LAB_HOSTS_KNOWN_HOSTS}"
if "${healthy}"; then echo "lab hosts: healthy"; else echo "lab hosts: NOT healthy (restart with lab/hosts-up.sh)"; exit 1; fi
