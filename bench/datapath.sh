#!/usr/bin/env bash
# Prints figures of the datapath lab (bash lab/main.sh first: the lab stack deployed on the real Cilium):
#   1. cilium-agent start: an agent pod deleted, seconds until its DaemonSet's replacement on the same node is Ready
#      (the chart's init containers, the agent's start, its BPF programs, the startup probe; the node's
#      /var/run/cilium state stays, as on a real node);
#   2. policy change: `pulumi up` of the lab stack with test admitted to backend-app (a copy of the project, same
#      stack), seconds from the start of the up to the first probe test/busybox -> backend-app answered, and from the
#      end of the up; then the same for the revert (until the probe is dropped again);
#   3. `npx microseg verify --stack lab` wall time for the demo's expectations, and with --all;
#   4. the offline engine against the datapath on generated policies (bench/datapath-agreement.ts, SEEDS seeds).
# Figures only, never pass/fail.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
LAB_DIR="${LAB_DIR:-${REPO}/.lab}"
[[ -f "${LAB_DIR}/env" ]] || { echo "bench/datapath.sh: no lab at ${LAB_DIR}: run bash lab/main.sh first" >&2; exit 1; }
# shellcheck source=/dev/null
source "${LAB_DIR}/env"
[[ "${LAB_DATAPATH:-0}" == 1 ]] || { echo "bench/datapath.sh: ${LAB_DIR} is not a datapath lab (lab/main.sh starts one)" >&2; exit 1; }
# shellcheck source=lab/engine-env.sh
source lab/engine-env.sh
k() { "${LAB_KUBECTL}" --kubeconfig "${KUBECONFIG}" "$@"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
pod_of() { k -n "$1" get pods -l "$2" --field-selector=status.phase=Running -o jsonpath='{.items[0].metadata.name}'; }
ip_of() { k -n "$1" get pod "$2" -o jsonpath='{.status.podIP}'; }

echo "== cilium-agent start"
node="$(k get nodes -o jsonpath='{.items[1].metadata.name}')"
agent="$(k -n kube-system get pods -l k8s-app=cilium --field-selector "spec.nodeName=${node}" -o jsonpath='{.items[0].metadata.name}')"
t0="$(now)"
k -n kube-system delete pod "${agent}" --wait=true >/dev/null
until new="$(k -n kube-system get pods -l k8s-app=cilium --field-selector "spec.nodeName=${node}" -o jsonpath='{.items[0].metadata.name}' 2>/dev/null)" && [[ -n "${new}" && "${new}" != "${agent}" ]]; do sleep 0.5; done
k -n kube-system wait --for=condition=Ready "pod/${new}" --timeout=600s >/dev/null
printf '  agent on %s deleted and replaced (%s): Ready after %s s\n' "${node}" "${new}" "$(since "${t0}")"

echo "== policy change: pulumi up -> datapath enforcing it"
src="$(pod_of test app=busybox)" dst_pod="$(pod_of backend app=backend-app)"
dst="$(ip_of backend "${dst_pod}")"
probe() { bash lab/pod-exec.sh test "${src}" --net -- env TIMEOUT_MS=1000 node lab/probe.mjs tcp "${dst}" 80 | jq -r .result; }
work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT
for e in Pulumi.yaml Pulumi.lab.yaml package.json tsconfig.json index.ts config.ts components policies lib; do cp -r "${e}" "${work}/"; done
ln -s "${REPO}/node_modules" "${work}/node_modules"
# Relative paths of the lab stack (kubeconfig, chart) resolve against the project: point them at this checkout.
sed -i "s|kubeconfigPath: .lab/kubeconfig|kubeconfigPath: ${LAB_DIR}/kubeconfig|; s|path: .lab/share|path: ${LAB_DIR}/share|" "${work}/Pulumi.lab.yaml"
sed -i 's|ingress: \[{ fromEndpoints: \[fromNamespace("frontend")\] }\],|ingress: [{ fromEndpoints: [fromNamespace("frontend")] }, { fromEndpoints: [fromNamespace("test")] }],|' "${work}/policies/backend.ts"
grep -q 'fromNamespace("test")' "${work}/policies/backend.ts" || { echo "bench/datapath.sh: namespace-isolation's ingress not found in policies/backend.ts" >&2; exit 1; }
measure() { # measure DIR WANT: pulumi up of the lab stack in DIR, then poll the probe until it says WANT
  local dir="$1" want="$2" t0 t1 got
  printf '  before: test/busybox -> backend-app:80 %s\n' "$(probe)"
  t0="$(now)"
  pulumi up --yes --skip-preview --stack lab --cwd "${dir}" >/dev/null
  t1="$(now)"
  printf '  pulumi up: %s s\n' "$(since "${t0}")"
  until got="$(probe)" && [[ "${got}" == "${want}" ]]; do
    awk -v a="${t1}" -v b="$(now)" 'BEGIN { exit !(b - a > 120) }' && { echo "  not ${want} 120 s after the up (${got})"; return; }
    sleep 0.2
  done
  printf '  probe %s: %s s after the start of the up, %s s after its end\n' "${want}" "$(since "${t0}")" "$(since "${t1}")"
}
echo " admit test (policies/backend.ts in a copy):"
measure "${work}" connected
echo " revert (this checkout's policies):"
measure "${REPO}" timeout

echo "== microseg verify --stack lab"
for args in "" "--all"; do
  t0="$(now)"
  # shellcheck disable=SC2086 # "" is no argument
  summary="$(npx --no-install microseg verify --stack lab ${args} 2>/dev/null | tail -n1 || true)"
  printf '  verify %-5s %s s: %s\n' "${args}" "$(since "${t0}")" "${summary}"
done

echo "== agreement on generated policies (SEEDS=${SEEDS:-5})"
node --import tsx bench/datapath-agreement.ts
