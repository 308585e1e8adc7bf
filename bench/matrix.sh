#!/usr/bin/env bash
# Prints time and peak memory of the verdict matrix (lib/policy/verdicts.ts) on synthetic workloads and policies
# (bench/matrix.ts, seeded): 100 / 1,000 workloads x 50 / 500 policies, each in its own process, with the
# process's maximum resident set from /usr/bin/time -v. Figures only, never pass/fail.
# Goal (issue 7): 1,000 x 500 in under 5 s and under 1 GiB.
#
# Usage: bench/matrix.sh [--json]   (--json also renders the matrix as JSON and times it)
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
extra=()
if [[ "${1:-}" == --json ]]; then extra=(--json); fi

for size in "100 50" "100 500" "1000 50" "1000 500" "2000 500"; do
  read -r w p <<<"$size"
  out=$(mktemp)
  start=$(date +%s.%N)
  /usr/bin/time -v -o "$out.time" node --import tsx bench/matrix.ts "$w" "$p" "${extra[@]}" >"$out"
  end=$(date +%s.%N)
  rss_kb=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$out.time")
  printf '%s\n  process: %.2f s wall (node start and tsx compile included), max RSS %d MB\n' \
    "$(cat "$out")" "$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')" "$((rss_kb / 1024))"
  rm -f "$out" "$out.time"
done
