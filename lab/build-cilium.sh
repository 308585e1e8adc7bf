#!/usr/bin/env bash
# Builds the real Cilium pieces of the datapath lab from the one Go module github.com/cilium/cilium at
# CILIUM_VERSION (lab/versions.env), into LAB_DIR (default <repo>/.lab, git-ignored):
#   bin/cilium-agent bin/cilium-cni bin/cilium-operator-generic bin/hubble-relay bin/hubble
#   bin/cilium-dbg bin/cilium-health bin/cilium-health-responder
#   bin/cilium-tools/clang          -> Debian's clang-<CILIUM_CLANG_MAJOR>: the agent execs `clang` to compile its
#                                      BPF programs; put this directory first on the agent's PATH
#   share/cilium/bpf/               the module's bpf/ sources, as upstream's `make install-bpf` copies them
#                                   (so share/cilium is the agent's --lib-dir)
#   share/cilium/chart/cilium/      the released Helm chart install/kubernetes/cilium, unmodified
#   share/cilium/crds/              the CRDs pkg/k8s/apis/cilium.io/client/crds/v2/*.yaml, unmodified
# Not built: cilium-mount and cilium-sysctlfix (the chart's init containers mount cgroup2 and write sysctl.d files
# in the HOST's namespaces, which the lab must not touch), bugtool, clustermesh-apiserver, cilium-envoy (C++).
# A small wrapper module under LAB_DIR/build/cilium requires the upstream module and repeats its `replace` lines;
# two modules that the Go module proxy does not serve are replaced there (see versions.env). Nothing upstream is
# committed. Idempotent: each binary is rebuilt only when its stamp (versions, go, tags, recipe) changes or it is
# missing; a warm run runs no go command.
#
# Usage: lab/build-cilium.sh [--force]
LAB_TAG=build-cilium
# shellcheck source=lab/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TOOLS_DIR="${BIN_DIR}/cilium-tools"
WRAPPER="${BUILD_DIR}/cilium"
SHARE_DIR="${LAB_DIR}/share/cilium"

# shellcheck source=lab/versions.env
source "${ROOT}/lab/versions.env"
: "${CILIUM_VERSION:?missing in lab/versions.env}" "${CILIUM_GOBGP_VERSION:?missing in lab/versions.env}"
: "${CILIUM_CLANG_MAJOR:?missing in lab/versions.env}"
MODULE=github.com/cilium/cilium

# name|package (in the module)|build tags. Tags as upstream's Makefiles set them (Makefile.defs: osusergo;
# operator/Makefile: the chart's "operator-generic" image is the cilium-operator-generic target).
BINARIES=(
  "cilium-agent|daemon|osusergo"
  "cilium-operator-generic|operator|osusergo,ipam_provider_operator"
  "hubble-relay|hubble-relay|osusergo"
  "cilium-cni|plugins/cilium-cni|osusergo"
  "hubble|hubble|osusergo"
  "cilium-dbg|cilium-dbg|osusergo"
  "cilium-health|cilium-health|osusergo"
  "cilium-health-responder|cilium-health/responder|osusergo"
)
# Bump when the recipe below changes in a way that needs a rebuild (flags, wrapper module, copied files).
RECIPE=1
FORCE=0
[[ "${1:-}" == "--force" ]] && FORCE=1

# --- Go toolchain, as lab/build-engine.sh: no toolchain download unless the user asked for one -------------------
command -v go >/dev/null 2>&1 ||
  die "the 'go' command is not on PATH. Install Go >= 1.26 (cilium ${CILIUM_VERSION}'s go.mod says go 1.26.0), e.g. into /usr/local/go, then re-run lab/build-cilium.sh."
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}" GOFLAGS=-buildvcs=false CGO_ENABLED=0
GO_VERSION="$(go env GOVERSION)"
NICE=(nice -n 10)
command -v jq >/dev/null 2>&1 || die "jq is needed (apt-get install -y jq)"
[[ -x /usr/bin/time ]] || die "GNU time is needed for the build figures (apt-get install -y time)"

stamp_of() { # NAME PKG TAGS
  printf 'recipe=%s go=%s cilium=%s gobgp=%s pkg=%s tags=%s' "${RECIPE}" "${GO_VERSION}" "${CILIUM_VERSION}" \
    "${CILIUM_GOBGP_VERSION}" "$2" "$3"
}
stamp_file() { printf '%s/cilium-%s.stamp' "${BUILD_DIR}" "$1"; }
up_to_date() { # STAMP_FILE CONTENT [FILE...]: the stamp matches and every FILE exists
  local f="$1" content="$2"
  shift 2
  [[ "${FORCE}" == 0 && -f "${f}" && "$(cat "${f}")" == "${content}" ]] || return 1
  local x
  for x in "$@"; do [[ -e "${x}" ]] || return 1; done
}

# One run at a time (lab/setup.sh may be started from two shells): a second run waits, then finds the work done.
mkdir -p "${BUILD_DIR}"
exec 9>"${BUILD_DIR}/cilium.lock"
flock 9

# --- what is to do ---------------------------------------------------------------------------------------------
todo=()
for spec in "${BINARIES[@]}"; do
  IFS='|' read -r name pkg tags <<<"${spec}"
  if up_to_date "$(stamp_file "${name}")" "$(stamp_of "${name}" "${pkg}" "${tags}")" "${BIN_DIR}/${name}"; then
    log "${name} ${CILIUM_VERSION}: up to date"
  else
    todo+=("${spec}")
  fi
done
SHARE_STAMP="recipe=${RECIPE} cilium=${CILIUM_VERSION}"
share_ok=0
up_to_date "${BUILD_DIR}/cilium-share.stamp" "${SHARE_STAMP}" "${SHARE_DIR}/bpf/bpf_lxc.c" \
  "${SHARE_DIR}/chart/cilium/Chart.yaml" "${SHARE_DIR}/crds/ciliumnetworkpolicies.yaml" && share_ok=1
clang_target="/usr/bin/clang-${CILIUM_CLANG_MAJOR}"
tools_ok=0
[[ "$(readlink "${TOOLS_DIR}/clang" 2>/dev/null)" == "${clang_target}" && -x "${clang_target}" ]] && tools_ok=1

if ((${#todo[@]} == 0 && share_ok && tools_ok)); then
  log "all up to date (${BIN_DIR}, ${SHARE_DIR})"
  exit 0
fi
start=$(date +%s)
mkdir -p "${BIN_DIR}"

# --- runtime tool: clang for the agent's BPF compiler ------------------------------------------------------------
if ((!tools_ok)); then
  [[ -x "${clang_target}" ]] ||
    die "${clang_target} is missing: the agent compiles its BPF programs with clang at runtime. Fix: apt-get install -y clang-${CILIUM_CLANG_MAJOR} (lab/setup.sh does)"
  "${clang_target}" -print-targets 2>/dev/null | grep -qw bpf ||
    die "${clang_target} has no bpf target (${clang_target} -print-targets): install Debian's clang-${CILIUM_CLANG_MAJOR}"
  mkdir -p "${TOOLS_DIR}"
  ln -sfn "${clang_target}" "${TOOLS_DIR}/clang"
  log "cilium-tools: ${TOOLS_DIR}/clang -> ${clang_target} ($("${clang_target}" --version | head -n1))"
fi

# --- the upstream module -----------------------------------------------------------------------------------------
# Download only (no go.mod needed); Dir is the read-only module cache copy, Info its .info (commit time).
mod_json="$(cd "${BUILD_DIR}" && go mod download -json "${MODULE}@${CILIUM_VERSION}")" ||
  die "go mod download ${MODULE}@${CILIUM_VERSION} failed: ${mod_json}"
UP_DIR="$(jq -r .Dir <<<"${mod_json}")"
UP_GOMOD="$(jq -r .GoMod <<<"${mod_json}")"
UP_TIME="$(jq -r .Time "$(jq -r .Info <<<"${mod_json}")")"
[[ -d "${UP_DIR}" && -f "${UP_GOMOD}" ]] || die "could not download ${MODULE}@${CILIUM_VERSION}"
UP_VERSION="$(cat "${UP_DIR}/VERSION")"
[[ "${UP_VERSION}" == "${CILIUM_VERSION#v}" ]] ||
  die "${MODULE}@${CILIUM_VERSION} has VERSION '${UP_VERSION}', expected '${CILIUM_VERSION#v}'"
up_go="$(sed -n 's/^go \([0-9.]*\)$/\1/p' "${UP_GOMOD}")"
[[ "$(printf '%s\n%s\n' "${up_go}" "${GO_VERSION#go}" | sort -V | head -n1)" == "${up_go}" ]] ||
  die "${GO_VERSION} is too old: ${MODULE}@${CILIUM_VERSION} declares go ${up_go}. Install Go >= ${up_go} (or export GOTOOLCHAIN=go${up_go})."

# --- share/cilium: bpf sources, chart, CRDs (copies of the module cache, unmodified) ----------------------------
install_share() {
  local tmp="${SHARE_DIR}.new" f n=0
  rm -rf "${tmp}" && mkdir -p "${tmp}/bpf" "${tmp}/chart" "${tmp}/crds"
  # upstream Makefile.defs BPF_SRCFILES minus BPF_SRCFILES_IGNORE (the non-git branch): what install-bpf copies.
  while IFS= read -r f; do
    case "${f}" in
      tests/* | complexity-tests/* | custom/* | Makefile | Makefile.bpf | .gitignore | *.i | *.s | .rebuild_all) continue ;;
    esac
    install -D -m 0644 "${UP_DIR}/bpf/${f}" "${tmp}/bpf/${f}"
    n=$((n + 1))
  done < <(cd "${UP_DIR}/bpf" && find . -type f -printf '%P\n' | LC_ALL=C sort)
  cp -R "${UP_DIR}/install/kubernetes/cilium" "${tmp}/chart/cilium"
  chmod -R u+w "${tmp}/chart"
  local chart_version
  chart_version="$(sed -n 's/^version: *//p' "${tmp}/chart/cilium/Chart.yaml")"
  [[ "${chart_version}" == "${CILIUM_VERSION#v}" && -f "${tmp}/chart/cilium/values.schema.json" ]] ||
    die "the chart in ${MODULE}@${CILIUM_VERSION} is version '${chart_version}' (want ${CILIUM_VERSION#v}, with values.schema.json)"
  install -m 0644 "${UP_DIR}"/pkg/k8s/apis/cilium.io/client/crds/v2/*.yaml "${tmp}/crds/"
  rm -rf "${SHARE_DIR}" && mv "${tmp}" "${SHARE_DIR}"
  printf '%s' "${SHARE_STAMP}" >"${BUILD_DIR}/cilium-share.stamp"
  log "share: ${n} bpf sources, chart ${chart_version}, $(find "${SHARE_DIR}/crds" -name '*.yaml' | wc -l) CRDs in ${SHARE_DIR}"
}
((share_ok)) || install_share

if ((${#todo[@]} == 0)); then
  log "done in $(($(date +%s) - start))s"
  exit 0
fi

# --- the wrapper module ------------------------------------------------------------------------------------------
upstream_replaces() { # the upstream go.mod's replace lines (single and block form), as "replace A => B"
  local lines
  lines="$(awk '/^replace[[:space:]]*\(/{b=1;next} b&&/^\)/{b=0;next} b{print "replace " $0;next} /^replace[[:space:]]/{print}' "${UP_GOMOD}" |
    sed 's#//.*##; s/[[:space:]]*$//' | grep -v '^replace[[:space:]]*$' || true)"
  # A relative target is a directory of the upstream repository, which a dependent module cannot see.
  ! grep -qE '=>[[:space:]]*\.\.?/' <<<"${lines}" ||
    die "${MODULE}@${CILIUM_VERSION}'s go.mod replaces with a local directory; map it to a served version here: ${lines}"
  printf '%s\n' "${lines}"
}
new_wrapper() {
  rm -rf "${WRAPPER}" && mkdir -p "${WRAPPER}/mcs-api-controllers"
  {
    echo "// Generated by lab/build-cilium.sh from lab/versions.env; do not edit."
    echo "module microseg.local/lab/cilium"
    echo
    echo "go ${up_go}"
    echo
    echo "require ${MODULE} ${CILIUM_VERSION}"
    echo
    echo "// Repeated from the upstream go.mod of ${MODULE}@${CILIUM_VERSION}:"
    upstream_replaces
    echo
    echo "// Not served by the Go module proxy (see lab/versions.env):"
    echo "replace github.com/osrg/gobgp/v4 => github.com/osrg/gobgp/v4 ${CILIUM_GOBGP_VERSION}"
    echo "replace sigs.k8s.io/mcs-api/controllers => ./mcs-api-controllers"
  } >"${WRAPPER}/go.mod"
  # Start from upstream's go.sum, so every module the build downloads is checked against the hashes Cilium pinned.
  install -m 0644 "${UP_DIR}/go.sum" "${WRAPPER}/go.sum"
  # sigs.k8s.io/mcs-api/controllers: no version is served at all, and no served module holds that package (see
  # versions.env). Cilium uses one string constant from it (operator/pkg/gateway-api/helpers,
  # pkg/clustermesh/mcsapi: the operator only), so that constant is all this stand-in has. A Cilium bump that
  # uses more of the package fails to compile here with "undefined: mcsapicontrollers.<name>".
  printf '%s\nmodule sigs.k8s.io/mcs-api/controllers\n\ngo 1.23.0\n' \
    "// Generated by lab/build-cilium.sh: stands in for sigs.k8s.io/mcs-api/controllers v0.5.2 (not served)." \
    >"${WRAPPER}/mcs-api-controllers/go.mod"
  cat >"${WRAPPER}/mcs-api-controllers/controllers.go" <<'EOF'
// Package controllers stands in for sigs.k8s.io/mcs-api/controllers v0.5.2, which the Go module proxy does not
// serve. Generated by lab/build-cilium.sh; Cilium uses only this constant of it.
package controllers

// DerivedServiceAnnotation is set on a ServiceImport to reference the derived Service (mcs-api controllers/common.go).
const DerivedServiceAnnotation = "multicluster.kubernetes.io/derived-service"
EOF
}

# in_wrapper LOGNAME CMD...: runs CMD in the wrapper module, output to build/cilium/LOGNAME.log (shown on failure)
in_wrapper() {
  local logf="${WRAPPER}/$1.log"
  shift
  (cd "${WRAPPER}" && "$@") >"${logf}" 2>&1 || { tail -n 40 "${logf}" >&2; die "'$*' failed (full log: ${logf})"; }
}

log "${MODULE}@${CILIUM_VERSION} (${UP_TIME}); ${GO_VERSION}; building ${#todo[@]} binaries one at a time into ${BIN_DIR}"
new_wrapper
# Dependencies are resolved once for all binaries, with the union of their tags.
pkgs=() all_tags=""
for spec in "${BINARIES[@]}"; do
  IFS='|' read -r name pkg tags <<<"${spec}"
  pkgs+=("${MODULE}/${pkg}")
  for t in ${tags//,/ }; do [[ ",${all_tags}," == *",${t},"* ]] || all_tags+="${all_tags:+,}${t}"; done
done
t0=$(date +%s)
in_wrapper go-get "${NICE[@]}" go get -tags "${all_tags}" "${pkgs[@]/%/@${CILIUM_VERSION}}"
log "  go get (dependencies): $(($(date +%s) - t0))s"

# Every module the binaries are built from must be at the version upstream's go.mod pins (our replaces aside):
# a served version must never quietly raise another dependency.
export LC_ALL=C
(cd "${WRAPPER}" && go list -deps -tags "${all_tags}" -f '{{with .Module}}{{.Path}} {{.Version}}{{end}}' "${pkgs[@]}") |
  sort -u >"${WRAPPER}/deps.txt" || die "go list -deps failed in ${WRAPPER}"
awk '/^require[[:space:]]*\(/{b=1;next} b&&/^\)/{b=0;next} b{print $1, $2} /^require [^(]/{print $2, $3}' "${UP_GOMOD}" |
  sort -u >"${WRAPPER}/upstream-requires.txt"
drift="$(join "${WRAPPER}/deps.txt" "${WRAPPER}/upstream-requires.txt" | awk '$2 != $3')"
[[ -z "${drift}" ]] || die "the wrapper module selects other versions than ${MODULE}@${CILIUM_VERSION} pins (module wrapper upstream): ${drift}"

# Version stamping as upstream's Makefile.defs / hubble/Makefile. The module zip has no git metadata: the
# revision field is the module version and the date the module's commit time (pkg/version parses three fields).
envoy_sha="$(sed -nE 's/^ARG CILIUM_ENVOY_IMAGE=([^ ]*)/\1/p' "${UP_DIR}/images/cilium/Dockerfile" | head -n1 |
  sed -E 's/[^/]*\/[^:]*:(.*-)?([^:@]*).*/\2/p;d')"
[[ -n "${envoy_sha}" ]] || die "no CILIUM_ENVOY_IMAGE in ${UP_DIR}/images/cilium/Dockerfile"
ldflags="-s -w -X '${MODULE}/pkg/version.ciliumVersion=${UP_VERSION} ${CILIUM_VERSION} ${UP_TIME}' -X '${MODULE}/pkg/envoy.requiredEnvoyVersionSHA=${envoy_sha}'"

for spec in "${todo[@]}"; do
  IFS='|' read -r name pkg tags <<<"${spec}"
  extra=""
  [[ "${name}" == hubble ]] && extra=" -X '${MODULE}/hubble/pkg.Version=v${UP_VERSION}'"
  rm -f "$(stamp_file "${name}")"
  in_wrapper "build-${name}" /usr/bin/time -f '%e %M' -o "${WRAPPER}/time-${name}" "${NICE[@]}" \
    go build -trimpath -tags "${tags}" -ldflags "${ldflags}${extra}" -o "${BIN_DIR}/${name}.new" "${MODULE}/${pkg}"
  mv -f "${BIN_DIR}/${name}.new" "${BIN_DIR}/${name}"
  read -r secs rss_kb <"${WRAPPER}/time-${name}"
  stamp_of "${name}" "${pkg}" "${tags}" >"$(stamp_file "${name}")"
  log "  ${name}: built in ${secs%.*}s, peak RSS $((rss_kb / 1024)) MB, $(du -h "${BIN_DIR}/${name}" | cut -f1) (./${pkg}, tags ${tags})"
done
log "done in $(($(date +%s) - start))s: $("${BIN_DIR}/cilium-agent" --version 2>/dev/null | head -n1)"
