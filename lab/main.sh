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
  # The datapath lab: real lab nodes whose kubelets run what the Helm release deploys (the real cilium-agent,
  # operator, hubble-relay), kubeadm's CoreDNS and the demo pods; the operator registers Cilium's CRDs.
  # A lab already started keeps its mode (lab/up.sh reads it from .lab/env).
  LAB_DATAPATH=1 bash lab/up.sh
  # shellcheck source=/dev/null
  if [ "$(. "${LAB_DIR:-$repo/.lab}/env" && echo "${LAB_DATAPATH:-0}")" != 1 ]; then
    # A kwok lab (started by hand without LAB_DATAPATH=1) runs no cilium-operator: register the policy CRDs in its place.
    node --import tsx lab/cilium-crds.ts register
  fi
fi
# shellcheck source=lab/engine-env.sh
source lab/engine-env.sh

printf '==> checking Pulumi.%s.yaml\n' "$stack"
npx --no-install microseg check --stack "$stack"

printf '==> pulumi up (stack %s, backend %s)\n' "$stack" "$PULUMI_BACKEND_URL"
pulumi stack select --create "$stack" >/dev/null
record=""
if [ "$stack" = lab ]; then
  record="$("${LAB_DIR:-$repo/.lab}/bin/kubectl" --kubeconfig "${LAB_DIR:-$repo/.lab}/kubeconfig" -n kube-system get configmap microseg-stack 2>&1 || true)"
fi
if [ "$stack" = lab ] && [[ "$record" == *NotFound* ]] && pulumi stack ls --json | grep -q '"name": *"lab"'; then
  # A new lab cluster (lab/down.sh, then lab/up.sh: new certificates, empty etcd) with no stack record, while the lab
  # stack's state still holds the resources of the old one, which its provider (the old kubeconfig) can no longer
  # reach: they are dropped from the state so that the up below creates them again.
  printf '==> the lab cluster is new: forgetting the lab stack resources of the previous lab cluster\n'
  PULUMI_K8S_DELETE_UNREACHABLE=true pulumi refresh --yes --skip-preview --stack lab >/dev/null
fi
# The lab stack refreshes first: a lab rebuilt by lab/down.sh + lab/up.sh is a new, empty cluster that the stack's
# state still describes, so the resources it lost are created again (an unchanged lab refreshes to no change).
refresh=()
[ "$stack" = lab ] && refresh=(--refresh)
pulumi up --yes --stack "$stack" "${refresh[@]}"
printf '==> outputs of stack %s\n' "$stack"
pulumi stack output --stack "$stack"
if [ "$stack" = lab ]; then
  # shellcheck source=/dev/null
  if [ "$(. "${LAB_DIR:-$repo/.lab}/env" && echo "${LAB_DATAPATH:-0}")" = 1 ]; then
    printf '==> the demo over the lab nodes (flows cross nodes)\n'
    bash lab/spread-demo.sh
    # The expectations probed between the real pods, Hubble's verdicts read through the relay NodePort, both
    # compared with the offline engine's: a disagreement fails this script.
    printf '==> microseg verify --stack lab\n'
    npx --no-install microseg verify --stack lab
  fi
  printf '==> the lab\n'
  bash lab/status.sh || true
fi
