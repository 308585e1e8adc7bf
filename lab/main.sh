#!/usr/bin/env bash
# The main job: set up this machine, then `pulumi up` a microseg stack and print its outputs.
# With no argument it runs the `lab` stack against the local lab (started here); with a stack name
# (dev, staging, prod) it runs that stack against the hosts configured in Pulumi.<stack>.yaml.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
stack=${1:-lab}

bash lab/setup.sh
if [ "$stack" = lab ]; then
  bash lab/up.sh
  # The lab runs no cilium-operator (kwok pods run no process): register the policy CRDs in its place.
  node --import tsx lab/cilium-crds.ts register
fi
# shellcheck source=lab/engine-env.sh
source lab/engine-env.sh

printf '==> checking Pulumi.%s.yaml\n' "$stack"
node bin/microseg.js check --stack "$stack"

printf '==> pulumi up (stack %s, backend %s)\n' "$stack" "$PULUMI_BACKEND_URL"
pulumi stack select --create "$stack" >/dev/null
pulumi up --yes --stack "$stack"
printf '==> outputs of stack %s\n' "$stack"
pulumi stack output --stack "$stack"
