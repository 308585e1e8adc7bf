#!/usr/bin/env bash
# Starts the lab's SSH hosts: N (LAB_HOST_COUNT, default 3) network namespaces ms-host-1..N, each with a veth
# into the bridge msbr0 (10.213.0.1/24 on this machine, host i at 10.213.0.(10+i)) and a real sshd on port 22
# with Debian's STOCK sshd_config (AcceptEnv LANG LC_* only, like Ubuntu) plus the per-host lines it needs
# (ListenAddress, HostKey, PidFile, and LogLevel VERBOSE so the log shows every connection and every publickey
# attempt, not only accepted logins). Each host gets its own ed25519 host key when first started; one client key
# pair is made for the user `ubuntu` (created if missing, passwordless sudo via /etc/sudoers.d), so `sudo -n` works.
#
# A netns isolates only the network: the hosts share this machine's filesystem, users and /home/ubuntu. So each host
# has its own working root for the lab host profile, MICROSEG_ROOT=/var/lib/microseg-lab/<host>, and scripts run
# "on" different hosts do not collide.
#
# Every command a host runs is counted on the host side: the client key's authorized_keys line has a `command=`
# wrapper that appends `<epoch> <command line>` to /var/lib/microseg-lab/counter/<host>/commands.log, linked from
# .lab/hosts/<host>/commands.log (stdin is never logged), then runs the command as sshd would. sshd logs
# (connections, publickey attempts, logins) go to .lab/hosts/<host>/sshd.log.
#
# Writes .lab/hosts/env (addresses, ports, key path, host public keys) and .lab/hosts/known_hosts.
# Idempotent: a running host is left alone (its sshd rereads its config, SIGHUP, only when that config changed), a
# dead sshd is restarted (same host keys), missing hosts are added.
# Options: --rekey NAME          give host NAME new host keys and restart its sshd (the tests' "host rebuilt").
#          --rsa-host-key NAME   host NAME also serves an RSA host key (3072 bits, made once, kept afterwards),
#                                listed as LAB_HOST_<i>_RSA_HOST_KEY; OpenSSH 9 signs with it only by rsa-sha2-*.
# Stop with lab/hosts-down.sh; check with lab/hosts-status.sh.
set -euo pipefail
export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${ROOT}/.lab/hosts"
COUNT="${LAB_HOST_COUNT:-3}"
BRIDGE=msbr0
PREFIX=10.213.0
WORK_ROOT=/var/lib/microseg-lab
SSH_USER=ubuntu

log() { printf '[hosts-up] %s\n' "$*"; }
die() { printf '[hosts-up] ERROR: %s\n' "$*" >&2; exit 1; }

rekey=""
rsa_hosts=()
while (($#)); do
  case "$1" in
    --rekey) [[ $# -ge 2 ]] || die "--rekey needs a host name (e.g. host-1)"; rekey="$2"; shift 2 ;;
    --rsa-host-key) [[ $# -ge 2 ]] || die "--rsa-host-key needs a host name (e.g. host-2)"; rsa_hosts+=("$2"); shift 2 ;;
    -h | --help) sed -n '2,23p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option \"$1\" (known: --rekey NAME, --rsa-host-key NAME)" ;;
  esac
done
if ! [[ "${COUNT}" =~ ^[0-9]+$ ]] || ((COUNT < 1 || COUNT > 200)); then
  die "LAB_HOST_COUNT=\"${COUNT}\" must be a number from 1 to 200"
fi
[[ $(id -u) == 0 ]] || die "run as root (network namespaces, a bridge and sshd need it)"

# --- packages and the user ---------------------------------------------------------------------------------
missing=()
[[ -x /usr/sbin/sshd ]] || missing+=(openssh-server)
command -v sudo >/dev/null || missing+=(sudo)
command -v ip >/dev/null || missing+=(iproute2)
if ((${#missing[@]})); then
  log "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
STOCK_CONFIG=/usr/share/openssh/sshd_config
[[ -f "${STOCK_CONFIG}" ]] || die "${STOCK_CONFIG} (Debian's stock sshd_config) is missing; reinstall openssh-server"

if ! id "${SSH_USER}" >/dev/null 2>&1; then
  log "creating user ${SSH_USER}"
  useradd --create-home --shell /bin/bash "${SSH_USER}"
fi
# A locked password ("!") makes sshd refuse even key logins without PAM; "*" means "no password" but not locked.
usermod -p '*' "${SSH_USER}"
printf '%s ALL=(ALL) NOPASSWD:ALL\n' "${SSH_USER}" >/etc/sudoers.d/microseg-lab
chmod 0440 /etc/sudoers.d/microseg-lab
mkdir -p /run/sshd
chmod 0755 /run/sshd

# --- the client key and the command counter ----------------------------------------------------------------
mkdir -p "${DIR}"
chmod 0755 "${DIR}"
[[ -f "${DIR}/id_ed25519" ]] || ssh-keygen -q -t ed25519 -N '' -C microseg-lab -f "${DIR}/id_ed25519"

# Runs as the SSH user for every login with the lab key: finds the host by the server address of the connection.
# It and the counts it writes live under ${WORK_ROOT}/counter (root's, world-traversable), not in this checkout:
# the SSH user may not be able to reach a checkout (e.g. one cloned into a 0700 mktemp directory).
COUNTER="${WORK_ROOT}/counter"
install -d -m 0755 "${WORK_ROOT}" "${COUNTER}"
cat >"${COUNTER}/count-command" <<EOF
#!/bin/bash
# Written by lab/hosts-up.sh: counts the commands run on each lab host, then runs the command like sshd would.
set -u
server=\$(printf '%s' "\${SSH_CONNECTION:-}" | cut -d' ' -f3)
for d in ${COUNTER}/host-*/; do
  if [[ -f \$d/address && \$(cat "\$d/address") == "\$server" ]]; then
    printf '%s %s\n' "\$(date +%s.%N)" "\${SSH_ORIGINAL_COMMAND:-<login shell>}" >>"\$d/commands.log"
  fi
done
if [[ -n \${SSH_ORIGINAL_COMMAND:-} ]]; then exec /bin/bash -c "\$SSH_ORIGINAL_COMMAND"; fi
exec /bin/bash -l
EOF
chmod 0755 "${COUNTER}/count-command"

home="$(getent passwd "${SSH_USER}" | cut -d: -f6)"
install -d -m 0700 -o "${SSH_USER}" -g "${SSH_USER}" "${home}/.ssh"
touch "${home}/.ssh/authorized_keys"
{
  grep -v ' microseg-lab$' "${home}/.ssh/authorized_keys" || true
  printf 'command="%s" %s\n' "${COUNTER}/count-command" "$(cat "${DIR}/id_ed25519.pub")"
} >"${home}/.ssh/authorized_keys.new"
mv "${home}/.ssh/authorized_keys.new" "${home}/.ssh/authorized_keys"
chown "${SSH_USER}:${SSH_USER}" "${home}/.ssh/authorized_keys"
chmod 0600 "${home}/.ssh/authorized_keys"

# --- the bridge --------------------------------------------------------------------------------------------
if ! ip link show "${BRIDGE}" >/dev/null 2>&1; then
  ip link add "${BRIDGE}" type bridge
fi
ip addr replace "${PREFIX}.1/24" dev "${BRIDGE}"
ip link set "${BRIDGE}" up

# --- the hosts ---------------------------------------------------------------------------------------------
sshd_pid() { # NAME -> the pid of that host's listening sshd, if it runs
  local pidfile="${DIR}/$1/sshd.pid" pid
  [[ -f "${pidfile}" ]] || return 1
  pid="$(cat "${pidfile}")"
  [[ "${pid}" =~ ^[0-9]+$ && "$(readlink "/proc/${pid}/exe" 2>/dev/null)" == /usr/sbin/sshd ]] || return 1
  # ...and it runs in this host's namespace (a recycled pid or another sshd is not ours).
  [[ "$(readlink "/proc/${pid}/ns/net")" == "net:[$(stat -L -c %i "/run/netns/ms-$1" 2>/dev/null)]" ]] || return 1
  printf '%s\n' "${pid}"
}

start_host() { # INDEX
  local i="$1" name="host-$1" ns="ms-host-$1" veth="msv-host-$1" addr="${PREFIX}.$((10 + $1))" hd pid
  hd="${DIR}/${name}"
  mkdir -p "${hd}"
  printf '%s\n' "${addr}" >"${hd}/address"
  # The count is written under ${COUNTER} (see count-command); the checkout's commands.log is a link to it.
  install -d -m 0755 "${COUNTER}/${name}"
  printf '%s\n' "${addr}" >"${COUNTER}/${name}/address"
  touch "${COUNTER}/${name}/commands.log"
  chown "${SSH_USER}" "${COUNTER}/${name}/commands.log"
  ln -sfn "${COUNTER}/${name}/commands.log" "${hd}/commands.log"
  install -d -m 0755 "${WORK_ROOT}/${name}"

  [[ -e "/run/netns/${ns}" ]] || ip netns add "${ns}"
  if ! ip link show "${veth}" >/dev/null 2>&1; then
    ip link add "${veth}" type veth peer name eth0 netns "${ns}"
    ip link set "${veth}" master "${BRIDGE}" up
  fi
  ip -n "${ns}" link set lo up
  ip -n "${ns}" addr replace "${addr}/24" dev eth0
  ip -n "${ns}" link set eth0 up
  ip -n "${ns}" route replace default via "${PREFIX}.1"

  local rsa=no
  [[ " ${rsa_hosts[*]} " == *" ${name} "* || -f "${hd}/ssh_host_rsa_key" ]] && rsa=yes
  if [[ "${rekey}" == "${name}" ]]; then
    if pid="$(sshd_pid "${name}")"; then stop_sshd "${name}" "${pid}"; fi
    rm -f "${hd}"/ssh_host_*_key "${hd}"/ssh_host_*_key.pub
    log "${name}: new host key"
  fi
  [[ -f "${hd}/ssh_host_ed25519_key" ]] || ssh-keygen -q -t ed25519 -N '' -C "${name}" -f "${hd}/ssh_host_ed25519_key"
  if [[ ${rsa} == yes && ! -f "${hd}/ssh_host_rsa_key" ]]; then
    ssh-keygen -q -t rsa -b 3072 -N '' -C "${name}" -f "${hd}/ssh_host_rsa_key"
    log "${name}: RSA host key made"
  fi
  {
    printf '# lab/hosts-up.sh, host %s: the per-host lines, then Debian'"'"'s stock sshd_config unchanged.\n' "${name}"
    printf 'ListenAddress %s:22\nHostKey %s\n' "${addr}" "${hd}/ssh_host_ed25519_key"
    [[ ${rsa} == no ]] || printf 'HostKey %s\n' "${hd}/ssh_host_rsa_key"
    printf 'PidFile %s\nLogLevel VERBOSE\n' "${hd}/sshd.pid"
    cat "${STOCK_CONFIG}"
  } >"${hd}/sshd_config.new"
  /usr/sbin/sshd -t -f "${hd}/sshd_config.new" || die "${name}: sshd -t refused ${hd}/sshd_config.new"

  if pid="$(sshd_pid "${name}")"; then
    if cmp -s "${hd}/sshd_config.new" "${hd}/sshd_config"; then
      rm -f "${hd}/sshd_config.new"
      log "${name}: sshd already running (pid ${pid})"
      return
    fi
    # sshd re-executes itself with its arguments on SIGHUP: same pid, same log, the new config.
    local started
    started="$(grep -c '^Server listening on' "${hd}/sshd.log" || true)"
    mv -f "${hd}/sshd_config.new" "${hd}/sshd_config"
    kill -HUP "${pid}"
    for _ in $(seq 50); do
      if (($(grep -c '^Server listening on' "${hd}/sshd.log" || true) > started)); then log "${name}: sshd reread its changed config (pid ${pid})"; return; fi
      sleep 0.1
    done
    die "${name}: sshd did not come back after SIGHUP; see ${hd}/sshd.log"
  fi
  mv -f "${hd}/sshd_config.new" "${hd}/sshd_config"
  ip netns exec "${ns}" /usr/sbin/sshd -f "${hd}/sshd_config" -E "${hd}/sshd.log"
  for _ in $(seq 50); do
    if pid="$(sshd_pid "${name}")"; then log "${name}: sshd started (pid ${pid}) on ${addr}:22"; return; fi
    sleep 0.1
  done
  die "${name}: sshd did not start; see ${hd}/sshd.log"
}

stop_sshd() { # NAME PID
  kill -TERM "$2" 2>/dev/null || true
  for _ in $(seq 50); do
    [[ -d "/proc/$2" ]] || return 0
    sleep 0.1
  done
  kill -KILL "$2" 2>/dev/null || true
}

if [[ -n "${rekey}" && ! -d "${DIR}/${rekey}" ]]; then die "--rekey ${rekey}: no such host (hosts are host-1..host-${COUNT})"; fi
for h in "${rsa_hosts[@]}"; do
  if ! [[ "${h}" =~ ^host-([0-9]+)$ ]] || ((BASH_REMATCH[1] < 1 || BASH_REMATCH[1] > COUNT)); then
    die "--rsa-host-key ${h}: no such host (hosts are host-1..host-${COUNT})"
  fi
done
for ((i = 1; i <= COUNT; i++)); do start_host "${i}"; done

# --- env and known_hosts -----------------------------------------------------------------------------------
{
  printf '# Written by lab/hosts-up.sh. The lab SSH hosts: network namespaces on bridge %s, sharing this filesystem.\n' "${BRIDGE}"
  printf 'LAB_HOSTS_DIR=%s\n' "${DIR}"
  printf 'LAB_HOSTS_BRIDGE=%s\n' "${BRIDGE}"
  printf 'LAB_HOSTS_USER=%s\n' "${SSH_USER}"
  printf 'LAB_HOSTS_KEY=%s\n' "${DIR}/id_ed25519"
  printf 'LAB_HOSTS_KNOWN_HOSTS=%s\n' "${DIR}/known_hosts"
  printf 'LAB_HOSTS_WORK_ROOT=%s\n' "${WORK_ROOT}"
  printf 'LAB_HOST_COUNT=%s\n' "${COUNT}"
  names=()
  for ((i = 1; i <= COUNT; i++)); do
    names+=("host-${i}")
    printf 'LAB_HOST_%s_ADDRESS=%s\n' "${i}" "${PREFIX}.$((10 + i))"
    printf 'LAB_HOST_%s_PORT=22\n' "${i}"
    printf 'LAB_HOST_%s_NETNS=ms-host-%s\n' "${i}" "${i}"
    printf 'LAB_HOST_%s_ROOT=%s\n' "${i}" "${WORK_ROOT}/host-${i}"
    printf 'LAB_HOST_%s_HOST_KEY="%s"\n' "${i}" "$(cut -d' ' -f1,2 "${DIR}/host-${i}/ssh_host_ed25519_key.pub")"
    if [[ -f "${DIR}/host-${i}/ssh_host_rsa_key.pub" ]]; then
      printf 'LAB_HOST_%s_RSA_HOST_KEY="%s"\n' "${i}" "$(cut -d' ' -f1,2 "${DIR}/host-${i}/ssh_host_rsa_key.pub")"
    fi
  done
  printf 'LAB_HOST_NAMES=%s\n' "$(IFS=,; printf '%s' "${names[*]}")"
} >"${DIR}/env"
for ((i = 1; i <= COUNT; i++)); do
  for pub in "${DIR}/host-${i}"/ssh_host_{ed25519,rsa}_key.pub; do
    [[ ! -f "${pub}" ]] || printf '%s %s\n' "${PREFIX}.$((10 + i))" "$(cut -d' ' -f1,2 "${pub}")"
  done
done >"${DIR}/known_hosts"

log "${COUNT} hosts up: ${PREFIX}.11..${PREFIX}.$((10 + COUNT)) port 22, user ${SSH_USER}, key ${DIR}/id_ed25519"
log "env: ${DIR}/env   known_hosts: ${DIR}/known_hosts   per host: ${DIR}/host-N/{sshd.log,commands.log}"
log "the hosts share this machine's filesystem; each has its own MICROSEG_ROOT=${WORK_ROOT}/host-N"
log "try: ssh -i ${DIR}/id_ed25519 -o UserKnownHostsFile=${DIR}/known_hosts ${SSH_USER}@${PREFIX}.11 true"
