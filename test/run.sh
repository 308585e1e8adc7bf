#!/usr/bin/env bash
# Runs every microseg test on this machine: sets up what is missing (lab/setup.sh), starts the local lab
# unless it already runs, runs shellcheck, the unit tests and the lab tests (real engine, real
# kube-apiserver) in one node test run, then stops the lab if this script started it.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

bash lab/setup.sh

started_lab=no
if ! bash lab/status.sh >/dev/null 2>&1; then
  bash lab/up.sh
  started_lab=yes
fi
cleanup() { if [ "$started_lab" = yes ]; then bash lab/down.sh || true; fi; }
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
