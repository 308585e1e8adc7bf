#!/usr/bin/env bash
# Prints the time to build, schema-check and render the Cilium values and chart at preview, and the time of a
# no-change preview of the lab stack with Cilium in it (needs a running lab; --no-lab skips that part).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=lab/engine-env.sh
source lab/engine-env.sh
node --import tsx bench/cilium.ts "$@"
