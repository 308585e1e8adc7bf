#!/usr/bin/env bash
# Places the demo's pods (policies.demo: true) over the datapath lab's first two nodes so that allowed AND denied
# flows of policies/expectations.ts cross nodes (through Cilium's VXLAN tunnel) and some stay on one node:
#   clients' node: default/busybox, frontend/busybox          (the clients whose flows cross nodes)
#   servers' node: default/test-app, backend/backend-app, test/busybox
# e.g. frontend/busybox -> backend/backend-app:80 allowed and frontend/busybox -> default/test-app:80 denied cross
# nodes, test/busybox -> backend/backend-app:80 denied on one node. The scheduler alone does not do it: the demo
# pods are created while the nodes become Ready one after the other (when each Cilium agent writes its CNI config),
# so they all land on the first Ready node. A pod on the wrong node is moved the way an operator would: the other
# nodes are cordoned, the pod is deleted, its Deployment's replacement is scheduled on the wanted node, the nodes are
# uncordoned. Idempotent: pods already in place are left alone (prints "in place").
LAB_TAG=spread-demo
# shellcheck source=lab/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ -f "${LAB_DIR}/env" ]] || die "${LAB_DIR}/env is missing: no lab"
# shellcheck source=/dev/null
source "${LAB_DIR}/env"
[[ "${LAB_DATAPATH:-0}" == 1 ]] || die "the lab in ${LAB_DIR} is not a datapath lab"
IFS=, read -r -a NODES <<<"${LAB_NODE_NAMES}"
((${#NODES[@]} >= 2)) || { log "one node only: nothing to spread"; exit 0; }
k() { "${LAB_KUBECTL}" --kubeconfig "${KUBECONFIG}" "$@"; }

# The servers' node is where test-app already runs (the first Ready node): test-app is never moved, because a new
# endpoint of a pod with HTTP rules never gets its network without Envoy (README, "L7 without Envoy"), and on that
# node no new endpoint does once the agent waits for Envoy. The clients go to another node.
servers="$(k -n default get pods -l app=test-app,app.kubernetes.io/part-of=microseg-demo -o jsonpath='{.items[0].spec.nodeName}' 2>/dev/null || true)"
[[ -n "${servers}" ]] || servers="${NODES[1]}"
clients="${NODES[0]}"
[[ "${clients}" != "${servers}" ]] || clients="${NODES[1]}"
PLACEMENT=(
  "default app=busybox ${clients}"
  "frontend app=busybox ${clients}"
  "default app=test-app ${servers}"
  "backend app=backend-app ${servers}"
  "test app=busybox ${servers}"
)

cordoned=()
uncordon() {
  if ((${#cordoned[@]} > 0)); then k uncordon "${cordoned[@]}" >/dev/null; fi
  cordoned=()
}
trap uncordon EXIT

moved=0
for entry in "${PLACEMENT[@]}"; do
  read -r ns selector want <<<"${entry}"
  pod="$(k -n "${ns}" get pods -l "${selector},app.kubernetes.io/part-of=microseg-demo" -o jsonpath='{range .items[?(@.metadata.deletionTimestamp)]}{end}{range .items[*]}{.metadata.name} {.spec.nodeName}{"\n"}{end}' 2>/dev/null | head -n1 || true)"
  [[ -n "${pod}" ]] || { log "${ns}/${selector}: no demo pod (policies.demo off?): skipped"; continue; }
  read -r name node <<<"${pod}"
  if [[ "${node}" == "${want}" ]]; then
    log "${ns}/${name}: in place on ${want}"
    continue
  fi
  log "${ns}/${name}: on ${node:-no node}, moving it to ${want}"
  for n in "${NODES[@]}"; do [[ "${n}" == "${want}" ]] || cordoned+=("${n}"); done
  k cordon "${cordoned[@]}" >/dev/null
  k -n "${ns}" delete pod "${name}" --wait=true --timeout=60s >/dev/null
  deadline=$(($(date +%s) + 120))
  until k -n "${ns}" get pods -l "${selector},app.kubernetes.io/part-of=microseg-demo" \
    -o jsonpath='{range .items[*]}{.spec.nodeName} {.status.phase}{"\n"}{end}' | grep -qx "${want} Running"; do
    (($(date +%s) < deadline)) || die "${ns}/${selector}: no replacement Running on ${want} in 120 s"
    sleep 1
  done
  uncordon
  moved=$((moved + 1))
done
k -n default wait --for=condition=Ready pods -l app.kubernetes.io/part-of=microseg-demo --timeout=120s >/dev/null 2>&1 || true
log "done: ${moved} pod(s) moved"
