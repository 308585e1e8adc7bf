#!/usr/bin/env bash
# Prints figures (never pass/fail on time) for the engine built by lab/build-engine.sh:
#   1. cold build: into a fresh, empty engine dir, with the Go module and build caches KEPT (so it measures
#      wrapper generation + `go get` resolution + compile of what the cache lacks + link; not downloads).
#      --cold-gocache also empties the Go build cache for that run (a true compile-from-scratch; slow).
#   2. warm run of lab/build-engine.sh on the real .engine (everything up to date).
#   3. a no-change `pulumi preview`: by default of the real program's `lab` stack (a throwaway copy brought up
#      against the running lab, see bench/lab-stack.ts), or of PROJECT_DIR's STACK (must exist, up to date).
#
# Usage: bench/engine.sh [--no-cold] [--cold-gocache] [PROJECT_DIR [STACK]]
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
COLD=1 COLD_GOCACHE=0
while [[ "${1:-}" == --* ]]; do
  case "$1" in
    --no-cold) COLD=0 ;;
    --cold-gocache) COLD_GOCACHE=1 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
PROJECT_DIR="${1:-}"
STACK="${2:-}"
[[ -z "$PROJECT_DIR" || -f "$PROJECT_DIR/Pulumi.yaml" ]] ||
  { echo "usage: bench/engine.sh [--no-cold] [--cold-gocache] [PROJECT_DIR [STACK]] (PROJECT_DIR holds Pulumi.yaml)" >&2; exit 2; }

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

if [[ "$COLD" == 1 ]]; then
  mkdir -p "$REPO/.engine"   # git-ignored; the real engine in .engine/{bin,pulumi-home,...} is not touched
  cold_dir="$(mktemp -d "$REPO/.engine/bench-cold.XXXXXX")"
  gocache_note="Go module and build caches kept"
  extra_env=()
  if [[ "$COLD_GOCACHE" == 1 ]]; then
    gocache_dir="$(mktemp -d)"
    extra_env=(GOCACHE="$gocache_dir")
    gocache_note="Go module cache kept, EMPTY Go build cache"
  fi
  t0="$(now)"
  env "${extra_env[@]}" ENGINE_DIR="$cold_dir" bash "$REPO/lab/build-engine.sh" --force >"$cold_dir.log" 2>&1 ||
    { cat "$cold_dir.log" >&2; exit 1; }
  t1="$(now)"
  echo "engine build, cold (fresh engine dir; $gocache_note): $(secs "$t0" "$t1") s"
  sed -n 's/^\[build-engine\] done in [0-9]*s (\(.*\));.*$/  per tool: \1/p' "$cold_dir.log"
  rm -rf "$cold_dir" "$cold_dir.log"
  if [[ -n "${gocache_dir:-}" ]]; then rm -rf "$gocache_dir"; fi
fi

t0="$(now)"
bash "$REPO/lab/build-engine.sh" >/dev/null
t1="$(now)"
echo "engine build, warm (lab/build-engine.sh, all up to date): $(secs "$t0" "$t1") s"

# shellcheck source=lab/engine-env.sh
source "$REPO/lab/engine-env.sh"
if [[ -z "$PROJECT_DIR" ]]; then
  bash "$REPO/lab/status.sh" >/dev/null 2>&1 || { echo "bench: the lab is not running: bash lab/up.sh first" >&2; exit 1; }
  cd "$REPO"
  node --import tsx bench/lab-stack.ts
  exit 0
fi
stack_args=()
[[ -n "$STACK" ]] && stack_args=(--stack "$STACK")
cd "$PROJECT_DIR"
t0="$(now)"
pulumi preview --non-interactive --expect-no-changes "${stack_args[@]}" >/dev/null
t1="$(now)"
echo "pulumi preview, no changes ($PROJECT_DIR${STACK:+ stack $STACK}): $(secs "$t0" "$t1") s"
