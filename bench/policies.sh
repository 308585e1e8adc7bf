#!/usr/bin/env bash
# Prints preview times for 10/100/500 policies (PolicySet vs raw YAML through ConfigGroup, as a ratio) and the
# time of `microseg check` on 500 policies. Needs the engine and a running lab (bash lab/up.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=lab/engine-env.sh
source lab/engine-env.sh
bash lab/status.sh >/dev/null 2>&1 || { echo "bench: the lab is not running: bash lab/up.sh first" >&2; exit 1; }
node --import tsx bench/policies.ts
