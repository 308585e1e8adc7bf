#!/usr/bin/env bash
# Builds the real Pulumi engine pieces from their Go modules into .engine/ (git-ignored):
#   .engine/bin/pulumi                    Pulumi CLI            (github.com/pulumi/pulumi/pkg/v3)
#   .engine/bin/pulumi-language-nodejs    Node.js language host (github.com/pulumi/pulumi/sdk/v3, see versions.env)
#   .engine/bin/helm                      helm CLI              (helm.sh/helm/v3)
#   .engine/pulumi-home/plugins/resource-kubernetes-v<ver>/pulumi-resource-kubernetes
#                                         Kubernetes provider, in the CLI's plugin cache at the exact version the
#                                         npm SDK asks for, so `pulumi up` never downloads a plugin.
# Every version comes from lab/versions.env. Each tool gets a small wrapper Go module generated under
# .engine/src/<tool>/: it requires the upstream module and repeats the upstream go.mod's `replace` lines
# (Go ignores the replace directives of dependencies). No upstream source is committed or vendored.
# Cached: a tool is skipped when its binary exists and its stamp (versions + recipe) matches.
#
# Usage: lab/build-engine.sh [--force]     (env: ENGINE_DIR to build elsewhere, default <repo>/.engine)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ENGINE="${ENGINE_DIR:-$REPO/.engine}"
# shellcheck source=lab/versions.env
source "$REPO/lab/versions.env"

# Bump when the way a tool is built changes (invalidates every stamp).
RECIPE=1
FORCE=0
[[ "${1:-}" == "--force" ]] && FORCE=1

log() { printf '[build-engine] %s\n' "$*"; }
die() { printf '[build-engine] ERROR: %s\n' "$*" >&2; exit 1; }

# --- Go toolchain ---------------------------------------------------------------------------------------
GO_HINT="Go >= ${GO_MIN_VERSION} is needed (lab/versions.env GO_MIN_VERSION). The project's 'go' machine kind has it
  at /usr/local/go/bin/go. Debian's golang-go (1.19 on bookworm) is too old. With any go >= 1.21 on PATH,
  export GOTOOLCHAIN=go${GO_MIN_VERSION} and re-run: go fetches that toolchain from the Go module proxy."
if ! command -v go >/dev/null 2>&1; then
  if [[ -x /usr/local/go/bin/go ]]; then
    die "'go' is not on PATH but /usr/local/go/bin/go exists: export PATH=/usr/local/go/bin:\$PATH and re-run."
  fi
  die "'go' was not found on PATH: the engine is built from Go modules. ${GO_HINT}"
fi
# No toolchain download unless the user asked for one; no VCS stamping (the wrapper modules are not repositories).
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}" GOFLAGS=-buildvcs=false
GO_HAVE="$(go env GOVERSION)"; GO_HAVE="${GO_HAVE#go}"; GO_HAVE="${GO_HAVE%%[!0-9.]*}"
if [[ "$(printf '%s\n%s\n' "$GO_MIN_VERSION" "$GO_HAVE" | sort -V | head -n1)" != "$GO_MIN_VERSION" ]]; then
  die "go ${GO_HAVE} ($(command -v go)) is too old. ${GO_HINT}"
fi
NICE=(nice -n 10)

BIN="$ENGINE/bin"
SRC="$ENGINE/src"
STAMPS="$ENGINE/stamps"
PULUMI_HOME_DIR="$ENGINE/pulumi-home"
LOGS="$ENGINE/logs"
mkdir -p "$BIN" "$SRC" "$STAMPS" "$LOGS" "$PULUMI_HOME_DIR/plugins"

# in_wrapper TOOL CMD... : runs CMD in .engine/src/TOOL, output to .engine/logs/TOOL.log (shown on failure)
in_wrapper() {
  local tool="$1"; shift
  if ! (cd "$SRC/$tool" && "$@") >>"$LOGS/$tool.log" 2>&1; then
    tail -n 40 "$LOGS/$tool.log" >&2
    die "$tool: '$*' failed (full log: $LOGS/$tool.log)"
  fi
}

# upstream_replaces MODULE@VERSION RELMAP...
# Prints the `replace` lines of the upstream go.mod (from the module cache), one per line. A replace whose
# target is a relative path (a sibling module of the upstream repository) cannot be followed outside the
# upstream repository, so it is mapped through RELMAP entries "module=version" to a replace by a served version.
upstream_replaces() {
  local modver="$1"; shift
  local gomod
  gomod="$(go mod download -json "$modver" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')" ||
    die "go mod download $modver failed: $(go mod download "$modver" 2>&1 | tail -n 3)"
  [[ -f "$gomod" ]] || die "cannot read the go.mod of $modver"
  local line lhs rhs mapped m
  while IFS= read -r line; do
    line="${line%%//*}"
    [[ -z "${line//[[:space:]]/}" ]] && continue
    lhs="${line%%=>*}"; rhs="${line#*=>}"
    lhs="$(echo "$lhs" | xargs)"; rhs="$(echo "$rhs" | xargs)"
    if [[ "$rhs" == ./* || "$rhs" == ../* ]]; then
      mapped=""
      for m in "$@"; do
        [[ "${m%%=*}" == "${lhs%% *}" ]] && mapped="${lhs%% *} ${m#*=}"
      done
      [[ -n "$mapped" ]] || die "$modver: relative replace '$lhs => $rhs' has no mapping in build-engine.sh"
      echo "replace $lhs => $mapped"
    else
      echo "replace $lhs => $rhs"
    fi
  done < <(awk '/^replace[[:space:]]*\(/{b=1;next} b&&/^\)/{b=0;next} b{print;next} /^replace[[:space:]]/{sub(/^replace[[:space:]]+/,"");print}' "$gomod")
}

# new_wrapper TOOL MODULE VERSION RELMAP... : (re)creates .engine/src/TOOL/go.mod
new_wrapper() {
  local tool="$1" mod="$2" ver="$3"; shift 3
  local dir="$SRC/$tool"
  rm -rf "$dir"; mkdir -p "$dir"
  : >"$LOGS/$tool.log"
  {
    echo "// Generated by lab/build-engine.sh from lab/versions.env; do not edit."
    echo "module microseg.lab/engine/$tool"
    echo
    echo "go ${GO_MIN_VERSION}"
    echo
    echo "require $mod $ver"
    echo
    echo "// Repeated from the upstream go.mod of $mod@$ver:"
    upstream_replaces "$mod@$ver" "$@"
  } >"$dir/go.mod"
}

# stamp_ok TOOL STAMP OUTPUT : true when OUTPUT exists and the recorded stamp matches
stamp_ok() {
  [[ "$FORCE" == 0 && -x "$3" && -f "$STAMPS/$1" && "$(cat "$STAMPS/$1")" == "$2" ]]
}

build_go_main() { # TOOL PKG@VERSION OUT LDFLAGS
  local tool="$1" pkgver="$2" out="$3" ldflags="$4"
  in_wrapper "$tool" go get "$pkgver"
  in_wrapper "$tool" "${NICE[@]}" go build -trimpath -ldflags "$ldflags" -o "$out.tmp" "${pkgver%@*}"
  mv -f "$out.tmp" "$out"
}

human_size() { du -h "$1" | cut -f1; }
TIMES=()
timed() { # NAME FUNC : runs FUNC, records its wall time
  local t0=$SECONDS
  "$2"
  TIMES+=("$1=$((SECONDS - t0))s")
}

# --- 1. Pulumi CLI ----------------------------------------------------------------------------------------
build_pulumi() {
  local out="$BIN/pulumi" stamp="recipe=$RECIPE pulumi=$PULUMI_VERSION go=$GO_HAVE"
  if stamp_ok pulumi "$stamp" "$out"; then log "pulumi $PULUMI_VERSION: up to date"; return; fi
  log "pulumi $PULUMI_VERSION: building github.com/pulumi/pulumi/pkg/v3/cmd/pulumi (cold: several minutes)..."
  new_wrapper pulumi github.com/pulumi/pulumi/pkg/v3 "$PULUMI_VERSION" \
    "github.com/pulumi/pulumi/sdk/v3=$PULUMI_VERSION"
  build_go_main pulumi "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@$PULUMI_VERSION" "$out" \
    "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION"
  echo "$stamp" >"$STAMPS/pulumi"
  log "pulumi: built $out ($(human_size "$out")): $("$out" version)"
}

# --- 2. Node.js language host -----------------------------------------------------------------------------
build_language_nodejs() {
  local out="$BIN/pulumi-language-nodejs"
  local stamp="recipe=$RECIPE sdk=$PULUMI_LANGUAGE_NODEJS_SDK_VERSION go=$GO_HAVE"
  if stamp_ok language-nodejs "$stamp" "$out"; then
    log "pulumi-language-nodejs (sdk/v3 $PULUMI_LANGUAGE_NODEJS_SDK_VERSION): up to date"; return
  fi
  log "pulumi-language-nodejs: building from github.com/pulumi/pulumi/sdk/v3@$PULUMI_LANGUAGE_NODEJS_SDK_VERSION..."
  new_wrapper language-nodejs github.com/pulumi/pulumi/sdk/v3 "$PULUMI_LANGUAGE_NODEJS_SDK_VERSION"
  build_go_main language-nodejs \
    "github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs@$PULUMI_LANGUAGE_NODEJS_SDK_VERSION" "$out" \
    "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_LANGUAGE_NODEJS_SDK_VERSION"
  echo "$stamp" >"$STAMPS/language-nodejs"
  log "pulumi-language-nodejs: built $out ($(human_size "$out"))"
}

# --- 3. Kubernetes provider, installed into the CLI's plugin cache ----------------------------------------
build_kubernetes() {
  local name="resource-kubernetes-v$PULUMI_KUBERNETES_VERSION"
  local plugdir="$PULUMI_HOME_DIR/plugins/$name"
  local out="$plugdir/pulumi-resource-kubernetes"
  local stamp="recipe=$RECIPE kubernetes=$PULUMI_KUBERNETES_VERSION module=$PULUMI_KUBERNETES_PROVIDER_MODULE_VERSION sdk=$PULUMI_KUBERNETES_SDK_VERSION go=$GO_HAVE"
  if stamp_ok kubernetes "$stamp" "$out" && [[ ! -e "$plugdir.partial" ]]; then
    log "pulumi-resource-kubernetes $PULUMI_KUBERNETES_VERSION: up to date (plugin cache)"; return
  fi
  local mod=github.com/pulumi/pulumi-kubernetes/provider/v4 ver="$PULUMI_KUBERNETES_PROVIDER_MODULE_VERSION"
  log "pulumi-resource-kubernetes $PULUMI_KUBERNETES_VERSION: building from $mod@$ver..."
  new_wrapper kubernetes "$mod" "$ver" "github.com/pulumi/pulumi-kubernetes/sdk/v4=$PULUMI_KUBERNETES_SDK_VERSION"
  local dir="$SRC/kubernetes" up
  up="$(go mod download -json "$mod@$ver" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  # The upstream main package embeds schema-embed.json and terraform-mapping-embed.json, which upstream's
  # `go generate` (generate.go) writes from schema.json / terraform-mapping.json at release time: they are
  # not in the module zip, so that package cannot be built in place. Copy its four files (unchanged) into the
  # wrapper module and run upstream's own generate.go with VERSION set, as upstream's release build does.
  local f
  for f in main.go generate.go schema.json terraform-mapping.json; do
    install -m 0644 "$up/cmd/pulumi-resource-kubernetes/$f" "$dir/$f"
  done
  in_wrapper kubernetes go mod tidy
  in_wrapper kubernetes env VERSION="$PULUMI_KUBERNETES_VERSION" "${NICE[@]}" go run -mod=mod ./generate.go
  in_wrapper kubernetes "${NICE[@]}" go build -trimpath -o pulumi-resource-kubernetes -ldflags \
    "-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$PULUMI_KUBERNETES_VERSION" .
  # Install as the CLI's own installer does: <dir>.lock, <dir>.partial while copying, then drop .partial.
  : >"$plugdir.lock"
  : >"$plugdir.partial"
  rm -rf "$plugdir"; mkdir -p "$plugdir"
  install -m 0755 "$dir/pulumi-resource-kubernetes" "$out"
  rm -f "$dir/pulumi-resource-kubernetes" "$plugdir.partial"
  echo "$stamp" >"$STAMPS/kubernetes"
  log "pulumi-resource-kubernetes: installed $out ($(human_size "$out"))"
}

# --- 4. helm ----------------------------------------------------------------------------------------------
build_helm() {
  local out="$BIN/helm" stamp="recipe=$RECIPE helm=$HELM_VERSION go=$GO_HAVE"
  if stamp_ok helm "$stamp" "$out"; then log "helm $HELM_VERSION: up to date"; return; fi
  log "helm $HELM_VERSION: building helm.sh/helm/v3/cmd/helm..."
  new_wrapper helm helm.sh/helm/v3 "$HELM_VERSION"
  in_wrapper helm go get "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  # As upstream's Makefile: the Kubernetes version helm assumes offline comes from its client-go.
  local kv kmaj kmin
  kv="$(cd "$SRC/helm" && go list -m -f '{{.Version}}' k8s.io/client-go)"   # v0.33.3 -> 1.33
  kmin="${kv#v0.}"; kmin="${kmin%%.*}"; kmaj=1
  build_go_main helm "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" "$out" \
    "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean
     -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=$kmaj -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$kmin
     -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=$kmaj -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$kmin"
  echo "$stamp" >"$STAMPS/helm"
  log "helm: built $out ($(human_size "$out")): $("$out" version --short)"
}

# --- 5. Dynamic-provider plugin (pulumi-resource-pulumi-nodejs) --------------------------------------------
# The CLI runs Node.js dynamic providers (microseg's SshCommand) through this shim of the SDK module, which starts
# @pulumi/pulumi's cmd/dynamic-provider with the program's node. Copied from the module cache, never committed.
install_dynamic_provider() {
  local out="$BIN/pulumi-resource-pulumi-nodejs" dir
  dir="$(cd "$SRC/pulumi" && go mod download -json "github.com/pulumi/pulumi/sdk/v3@$PULUMI_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [[ -f "$dir/nodejs/dist/pulumi-resource-pulumi-nodejs" ]] ||
    die "pulumi-resource-pulumi-nodejs: not found in github.com/pulumi/pulumi/sdk/v3@$PULUMI_VERSION ($dir/nodejs/dist)"
  if cmp -s "$dir/nodejs/dist/pulumi-resource-pulumi-nodejs" "$out" 2>/dev/null; then
    log "pulumi-resource-pulumi-nodejs (sdk/v3 $PULUMI_VERSION): up to date"; return
  fi
  install -m 0755 "$dir/nodejs/dist/pulumi-resource-pulumi-nodejs" "$out"
  log "pulumi-resource-pulumi-nodejs: installed $out (from sdk/v3 $PULUMI_VERSION)"
}

T0=$SECONDS
log "engine dir: $ENGINE (go $GO_HAVE)"
timed pulumi build_pulumi
timed pulumi-language-nodejs build_language_nodejs
timed pulumi-resource-kubernetes build_kubernetes
timed helm build_helm
timed pulumi-resource-pulumi-nodejs install_dynamic_provider
log "done in $((SECONDS - T0))s (${TIMES[*]}); source lab/engine-env.sh to use it"
