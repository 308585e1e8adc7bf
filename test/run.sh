#!/usr/bin/env bash
# Runs every microseg test on this machine: sets up what is missing (lab/setup.sh), starts the local lab
# unless it already runs, runs shellcheck, the unit tests and the lab tests (real engine, real
# kube-apiserver) in one node test run, then stops the lab if this script started it.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

bash lab/setup.sh

# The tests get a Kubernetes lab of their own (state in .lab/test, other ports), so a lab stack that lab/main.sh
# deployed on the main lab is left alone: two stacks on one cluster are refused (they would fight over the
# Cilium release and the policies). Hard links: lab/up.sh knows its processes by /proc/<pid>/exe.
export LAB_DIR="$repo/.lab/test"
export LAB_APISERVER_PORT=27443 LAB_ETCD_CLIENT_PORT=23379 LAB_ETCD_PEER_PORT=23380 \
  LAB_CONTROLLER_MANAGER_PORT=21257 LAB_SCHEDULER_PORT=21259 LAB_KWOK_PORT=21247
if ! bash lab/status.sh >/dev/null 2>&1; then
  rm -rf "${LAB_DIR:?}/bin" "${LAB_DIR:?}/share"
  mkdir -p "$LAB_DIR"
  cp -al .lab/bin "$LAB_DIR/bin"
  cp -a .lab/share "$LAB_DIR/share"
fi

started_lab=no
if ! bash lab/status.sh >/dev/null 2>&1; then
  bash lab/up.sh
  started_lab=yes
fi

# The datapath suite (test/lab/datapath.test.ts) gets a datapath lab of its own: real Cilium on lab nodes, its own
# bridge msdp1 (10.215.0.0/24) and ports, so neither the kwok test lab nor lab/main.sh's lab is touched.
# Ports clear of the main lab's (26443...), the kwok test lab's (27443...) and the promote test's two labs (main
# lab's + 2000 and + 3000).
dp_lab=(env LAB_DIR="$repo/.lab/dptest" LAB_DATAPATH=1 LAB_DP_BRIDGE=msdp1 LAB_DP_NET=10.215.0 LAB_APISERVER_PORT=29643
  LAB_ETCD_CLIENT_PORT=25579 LAB_ETCD_PEER_PORT=25580 LAB_CONTROLLER_MANAGER_PORT=23457 LAB_SCHEDULER_PORT=23459)
started_dp_lab=no
if [ ! -f "$repo/.lab/dptest/env" ]; then
  rm -rf "$repo/.lab/dptest" && mkdir -p "$repo/.lab/dptest"
  cp -al .lab/bin "$repo/.lab/dptest/bin"
  cp -a .lab/share "$repo/.lab/dptest/share"
  started_dp_lab=yes
fi
"${dp_lab[@]}" bash lab/up.sh
export DATAPATH_LAB_DIR="$repo/.lab/dptest"
cleanup() {
  if [ "$started_dp_lab" = yes ]; then "${dp_lab[@]}" bash lab/down.sh || true; fi
  if [ "$started_lab" = yes ]; then bash lab/down.sh || true; fi
}
trap cleanup EXIT

echo "==> shellcheck"
mapfile -t scripts < <(git ls-files '*.sh' .ci/run)
shellcheck -x "${scripts[@]}"
echo "shellcheck: ${#scripts[@]} scripts clean"

echo "==> typecheck"
npx tsc -p tsconfig.json

# shellcheck source=lab/engine-env.sh
source lab/engine-env.sh
echo "==> tests"
# One run, so the runner's closing summary counts everything; lab test files share one lab, so files run
# one at a time.
node --import tsx --test --test-concurrency=1 --test-timeout=1200000 test/unit/*.test.ts test/lab/*.test.ts
