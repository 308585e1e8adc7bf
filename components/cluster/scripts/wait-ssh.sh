#!/usr/bin/env bash
# wait-ssh: the first step on every host. It proves the SSH login works and that the command runs as root (the
# remote command line is `sudo -n env ... bash -s`, so a user without passwordless sudo fails here, not later).
# Read-only: re-runs change nothing. Profiles: MICROSEG_HOST_PROFILE=ubuntu (default) or lab (no root needed).
step=wait-ssh
# shellcheck source=components/cluster/scripts/prelude.sh
source "$(dirname "${BASH_SOURCE[0]}")/prelude.sh"
if [[ $profile == ubuntu ]]; then
  [[ $(id -u) == 0 ]] || fail "running as $(id -un), not root. Fix: give the SSH user passwordless sudo (the step runs under sudo -n)"
else
  echo "lab profile: skipped the root check" >&2
fi
echo "$step: $(cat /proc/sys/kernel/hostname) is reachable" >&2
