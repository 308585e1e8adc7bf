#!/usr/bin/env bash
# Installs everything microseg's lab and tests need on a fresh Debian/Ubuntu machine, idempotently:
# Debian packages, the npm dependencies, the Pulumi engine and the lab's Kubernetes binaries (built from
# their Go modules). A warm run takes seconds.
set -euo pipefail
export PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

step() { printf '==> %s\n' "$*"; }

apt_packages=(openssl iproute2 shellcheck openssh-server openssh-client sudo procps psmisc util-linux curl jq ca-certificates chromium)
# The Cilium datapath lab (lab/build-cilium.sh): the agent's runtime BPF compiler (clang-<CILIUM_CLANG_MAJOR>), the
# tools it execs (iptables, ipset) or that inspect it (bpftool), and GNU time for the build figures.
# shellcheck source=lab/versions.env
source lab/versions.env
apt_packages+=("clang-${CILIUM_CLANG_MAJOR}" bpftool iptables ipset time)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  step "installing Debian packages: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: these Debian packages are missing and installing them needs root: ${missing[*]}" >&2
    echo "setup: run: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  step "Debian packages present"
fi

command -v node >/dev/null || { echo "setup: Node.js (>= 20) is missing: install it (e.g. apt-get install nodejs npm)" >&2; exit 1; }
stamp=node_modules/.microseg-lock-stamp
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  step "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json "$stamp"
else
  step "node_modules up to date"
fi

bash lab/build-engine.sh
bash lab/build-lab.sh
bash lab/build-cilium.sh
bash lab/build-coredns.sh
bash lab/fetch-nginx.sh
step "setup complete"
