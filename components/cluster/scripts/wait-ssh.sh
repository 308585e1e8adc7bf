#!/usr/bin/env bash
# wait-ssh: the first step on every host. It proves the SSH login works and that the command runs as root (the
# remote command line is `sudo -n env ... bash -s`, so a user without passwordless sudo fails here, not later).
# Read-only: re-runs change nothing. Profiles: MICROSEG_HOST_PROFILE=ubuntu (default) or lab (no root needed).
set -euo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
step=wait-ssh
fail() { echo "$step: $*" >&2; exit 1; }
case ${MICROSEG_HOST_PROFILE:-ubuntu} in
  ubuntu) [[ $(id -u) == 0 ]] || fail "running as $(id -un), not root. Fix: give the SSH user passwordless sudo (the step runs under sudo -n)" ;;
  lab) echo "lab profile: skipped the root check" >&2 ;;
  *) fail "unknown MICROSEG_HOST_PROFILE \"${MICROSEG_HOST_PROFILE}\". Fix: use ubuntu or lab" ;;
esac
echo "$step: $(cat /proc/sys/kernel/hostname) is reachable" >&2
