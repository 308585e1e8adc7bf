#!/usr/bin/env bash
# Prints figures (never pass/fail on time) for lab/build-cilium.sh:
#   1. a cold build into a fresh, empty lab dir with an EMPTY Go build cache (every package compiled), one line
#      per binary with its build time and peak RSS (from the script's own log lines), and the total;
#      --cold-modules also starts from an EMPTY Go module cache (so the figure includes the downloads) and prints
#      the disk that Cilium's modules take in it.
#   2. a warm re-run of the same (everything up to date).
#   3. disk: build cache, installed binaries, share/cilium.
# The machine's load average is printed first: other builds running at the same time slow the figures.
# Everything lives in a temporary directory, removed at the end; the real .lab is not touched.
#
# Usage: bench/cilium-build.sh [--cold-modules]
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
COLD_MODULES=0
case "${1:-}" in
  "") ;;
  --cold-modules) COLD_MODULES=1 ;;
  *) echo "usage: bench/cilium-build.sh [--cold-modules]" >&2; exit 2 ;;
esac
export PATH="/usr/local/go/bin:${PATH}"

tmp="$(mktemp -d /tmp/cilium-build-bench.XXXXXX)"
cleanup() {
  # The module cache is read-only by design: let go remove it.
  [[ -d "${tmp}/gomodcache" ]] && GOMODCACHE="${tmp}/gomodcache" go clean -modcache 2>/dev/null
  rm -rf "${tmp}"
}
trap cleanup EXIT
export LAB_DIR="${tmp}/lab" GOCACHE="${tmp}/gocache"
((COLD_MODULES)) && export GOMODCACHE="${tmp}/gomodcache"

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
mb() { du -sm "$1" | cut -f1; }

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) (2 cores: above 2 means other work shares them)"
echo "cold build (empty Go build cache$( ((COLD_MODULES)) && echo ", empty Go module cache")):"
t0=$(now)
bash "${REPO}/lab/build-cilium.sh" >"${tmp}/cold.log" 2>&1 || { cat "${tmp}/cold.log" >&2; exit 1; }
t1=$(now)
sed -n 's/^\[build-cilium\]   \(go get (dependencies)\): \([0-9]*\)s$/  \1: \2 s/p' "${tmp}/cold.log"
sed -n 's/^\[build-cilium\]   \([a-z-]*\): built in \([0-9]*\)s, peak RSS \([0-9]*\) MB, \([^ ,]*\) .*/  \1: \2 s, peak RSS \3 MB, \4/p' "${tmp}/cold.log"
echo "  total: $(secs "$t0" "$t1") s"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

t0=$(now)
bash "${REPO}/lab/build-cilium.sh" >"${tmp}/warm.log" 2>&1 || { cat "${tmp}/warm.log" >&2; exit 1; }
t1=$(now)
grep -q 'all up to date' "${tmp}/warm.log" || { cat "${tmp}/warm.log" >&2; echo "warm run rebuilt something" >&2; exit 1; }
echo "warm re-run (all up to date): $(secs "$t0" "$t1") s"

echo "disk:"
((COLD_MODULES)) && echo "  Go module cache (Cilium's modules only): $(mb "${GOMODCACHE}") MB"
echo "  Go build cache: $(mb "${GOCACHE}") MB"
echo "  binaries ($LAB_DIR/bin): $(mb "${LAB_DIR}/bin") MB"
echo "  share/cilium (bpf, chart, CRDs): $(mb "${LAB_DIR}/share/cilium") MB"
