#!/usr/bin/env bash
# Builds the local lab's cluster binaries from their Go modules into .lab/bin/ (git-ignored):
#   kube-apiserver kube-controller-manager kube-scheduler kubectl kubeadm   (k8s.io/kubernetes)
#   etcd                                                                    (go.etcd.io/etcd/server/v3)
#   kwok                                                                    (sigs.k8s.io/kwok)
# Versions come from lab/versions.env ("lab cluster" section). Idempotent: each group is rebuilt only when
# its stamp (versions + go version + this script's build recipe) changes or a binary is missing.
# Nothing upstream is committed: the small wrapper modules are generated under .lab/build/.
LAB_TAG=build-lab
# shellcheck source=lab/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

STAGES_DIR="${LAB_DIR}/share/kwok-stages"

# shellcheck source=lab/versions.env
source "${ROOT}/lab/versions.env"
: "${KUBERNETES_VERSION:?missing in lab/versions.env}" "${KUBERNETES_STAGING_VERSION:?missing in lab/versions.env}"
: "${ETCD_VERSION:?missing in lab/versions.env}" "${KWOK_VERSION:?missing in lab/versions.env}"

K8S_BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubectl kubeadm)
# Bump when the recipe below changes in a way that needs a rebuild (flags, wrapper modules).
RECIPE=2

if ! command -v go >/dev/null 2>&1; then
  die "the 'go' command is not on PATH. Install Go >= 1.26 (k8s ${KUBERNETES_VERSION} needs >= 1.25, kwok ${KWOK_VERSION} and etcd ${ETCD_VERSION} need >= 1.26), e.g. into /usr/local/go, then re-run lab/build-lab.sh."
fi
GO_VERSION="$(go env GOVERSION)"
go_minor="${GO_VERSION#go1.}"
go_minor="${go_minor%%[!0-9]*}"
if [[ ! "${go_minor}" =~ ^[0-9]+$ ]] || ((go_minor < 26)); then
  die "${GO_VERSION} is too old: kwok ${KWOK_VERSION} and etcd ${ETCD_VERSION} declare go 1.26.0 in their go.mod. Install Go >= 1.26."
fi
mkdir -p "${BIN_DIR}" "${BUILD_DIR}"

# Servers are static, like upstream's release builds; builds share the 2 cores politely.
export CGO_ENABLED=0
NICE=(nice -n 10)

# up_to_date STAMP_NAME CONTENT BINARY...: true when the stamp matches and every binary is there.
up_to_date() {
  local stamp="${BUILD_DIR}/$1.stamp" content="$2" b
  shift 2
  [[ -f "${stamp}" && "$(cat "${stamp}")" == "${content}" ]] || return 1
  for b in "$@"; do [[ -x "${BIN_DIR}/${b}" ]] || return 1; done
}

# timed LABEL CMD...: runs CMD and prints how long it took.
timed() {
  local label="$1" start end
  shift
  start=$(date +%s)
  "$@"
  end=$(date +%s)
  log "  ${label}: $((end - start))s"
}

get_kubernetes_deps() {
  local dir="$1"
  shift
  (cd "${dir}" && "${NICE[@]}" go get "$@" >"${dir}/go-get.log" 2>&1) ||
    { cat "${dir}/go-get.log" >&2; die "go get of the kubernetes commands failed"; }
}

build_kubernetes() {
  local stamp_content="recipe=${RECIPE} go=${GO_VERSION} kubernetes=${KUBERNETES_VERSION} staging=${KUBERNETES_STAGING_VERSION}"
  if up_to_date kubernetes "${stamp_content}" "${K8S_BINARIES[@]}"; then
    log "kubernetes ${KUBERNETES_VERSION}: up to date (${K8S_BINARIES[*]})"
    return
  fi
  log "kubernetes ${KUBERNETES_VERSION}: building ${K8S_BINARIES[*]} (cold: about 10 minutes on 2 idle cores)"
  local dir="${BUILD_DIR}/kubernetes" upstream_mod
  rm -rf "${dir}" && mkdir -p "${dir}"
  log "  downloading k8s.io/kubernetes@${KUBERNETES_VERSION}"
  upstream_mod="$(cd "${dir}" && go mod download -json "k8s.io/kubernetes@${KUBERNETES_VERSION}" | jq -r .GoMod)"
  [[ -f "${upstream_mod}" ]] || die "could not download k8s.io/kubernetes@${KUBERNETES_VERSION}"
  # k8s.io/kubernetes replaces its staging modules with ./staging/src/k8s.io/<name>, which a dependent module
  # cannot see: repeat each as a replace by the published tag of the same release.
  {
    printf 'module microseg.local/lab/kubernetes\n\ngo 1.25.0\n\ngodebug default=go1.25\n\n'
    printf 'require k8s.io/kubernetes %s\n\nreplace (\n' "${KUBERNETES_VERSION}"
    sed -n 's#^[[:space:]]*\(k8s\.io/[a-z0-9-]*\) => \./staging/src/k8s\.io/.*#\t\1 => \1 '"${KUBERNETES_STAGING_VERSION}"'#p' "${upstream_mod}"
    printf ')\n'
  } >"${dir}/go.mod"
  local n
  n=$(grep -c ' => ' "${dir}/go.mod")
  ((n > 20)) || die "found only ${n} staging replace lines in ${upstream_mod}; has k8s.io/kubernetes changed its layout?"
  log "  wrapper module ${dir}/go.mod (${n} staging replaces); resolving dependencies"
  local pkgs=() b
  for b in "${K8S_BINARIES[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/${b}"); done
  timed "go get (dependencies)" get_kubernetes_deps "${dir}" "${pkgs[@]/%/@${KUBERNETES_VERSION}}"

  # What upstream's hack/lib/version.sh stamps, so servers and clients report the real version
  # (Helm's kubeVersion checks and kubeadm's version skew checks read it).
  local minor ldflags=(-s -w) pkg kv
  minor="${KUBERNETES_VERSION#v*.}"
  minor="${minor%%.*}"
  for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
    for kv in "gitVersion=${KUBERNETES_VERSION}" "gitMajor=1" "gitMinor=${minor}" "gitTreeState=clean" \
      "buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"; do
      ldflags+=(-X "${pkg}.${kv}")
    done
  done
  for b in "${K8S_BINARIES[@]}"; do
    timed "${b}" "${NICE[@]}" go -C "${dir}" build -trimpath \
      -ldflags "${ldflags[*]}" -o "${BIN_DIR}/${b}.new" "k8s.io/kubernetes/cmd/${b}"
    mv -f "${BIN_DIR}/${b}.new" "${BIN_DIR}/${b}"
  done
  printf '%s' "${stamp_content}" >"${BUILD_DIR}/kubernetes.stamp"
}

build_etcd() {
  local stamp_content="recipe=${RECIPE} go=${GO_VERSION} etcd=${ETCD_VERSION}"
  if up_to_date etcd "${stamp_content}" etcd; then
    log "etcd ${ETCD_VERSION}: up to date"
    return
  fi
  log "etcd ${ETCD_VERSION}: building"
  local dir="${BUILD_DIR}/etcd"
  rm -rf "${dir}" && mkdir -p "${dir}"
  # The same three lines as etcd's own main.go (which lives in the root module, not served at 3.6.16).
  cat >"${dir}/main.go" <<'EOF'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
EOF
  printf 'module microseg.local/lab/etcd\n\ngo 1.26.0\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "${ETCD_VERSION}" >"${dir}/go.mod"
  (cd "${dir}" && "${NICE[@]}" go mod tidy >"${dir}/go-mod-tidy.log" 2>&1) ||
    { cat "${dir}/go-mod-tidy.log" >&2; die "go mod tidy for etcd failed"; }
  timed etcd "${NICE[@]}" go -C "${dir}" build -trimpath -ldflags "-s -w" \
    -o "${BIN_DIR}/etcd.new" .
  mv -f "${BIN_DIR}/etcd.new" "${BIN_DIR}/etcd"
  printf '%s' "${stamp_content}" >"${BUILD_DIR}/etcd.stamp"
}

build_kwok() {
  local stamp_content="recipe=${RECIPE} go=${GO_VERSION} kwok=${KWOK_VERSION}"
  if up_to_date kwok "${stamp_content}" kwok && [[ -f "${STAGES_DIR}/pod-ready.yaml" ]]; then
    log "kwok ${KWOK_VERSION}: up to date"
    return
  fi
  log "kwok ${KWOK_VERSION}: building"
  local dir="${BUILD_DIR}/kwok"
  rm -rf "${dir}" && mkdir -p "${dir}"
  # kwok's go.mod has no replace directives, so `go install module@version` builds it as published.
  timed kwok env GOBIN="${dir}" "${NICE[@]}" go install -trimpath \
    -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@${KWOK_VERSION}"
  mv -f "${dir}/kwok" "${BIN_DIR}/kwok"
  # The kwok binary has no built-in stages (it exits with "no stages found"); kwokctl feeds it the ones
  # embedded from kustomize/stage/. Copy those same files of this version for lab/up.sh.
  local src f
  src="$(go mod download -json "sigs.k8s.io/kwok@${KWOK_VERSION}" | jq -r .Dir)/kustomize/stage"
  rm -rf "${STAGES_DIR}" && mkdir -p "${STAGES_DIR}"
  for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
    pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
    [[ -f "${src}/${f}" ]] || die "kwok ${KWOK_VERSION} has no ${f}; check its kustomize/stage/ layout"
    install -m 0644 "${src}/${f}" "${STAGES_DIR}/"
  done
  log "  kwok stages (node-initialize, node-heartbeat-with-lease, pod-ready/complete/delete) in ${STAGES_DIR}"
  printf '%s' "${stamp_content}" >"${BUILD_DIR}/kwok.stamp"
}

command -v jq >/dev/null 2>&1 || die "jq is needed (apt-get install -y jq)"
start=$(date +%s)
log "go ${GO_VERSION}; output ${BIN_DIR}"
build_etcd
build_kwok
build_kubernetes
log "done in $(($(date +%s) - start))s:"
for b in etcd kwok "${K8S_BINARIES[@]}"; do
  log "  ${BIN_DIR}/${b}"
done
