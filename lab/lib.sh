#!/usr/bin/env bash
# The common start of the lab's scripts, sourced first, after the script sets its log tag:
#   LAB_TAG=lab-up
#   # shellcheck source=lab/lib.sh
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# Strict mode; a PATH with Go's toolchain first (the builders need it) and then the system's; the repository
# (ROOT) and the lab's directories (LAB_DIR may come from the caller: the test labs use their own); log and die
# printing "[<tag>] …". The host-lab scripts (hosts-*.sh) and pod-exec.sh keep their own start: they run with a
# fixed PATH, without the caller's.
# shellcheck disable=SC2034 # the variables are read by the scripts that source this file
set -euo pipefail
export PATH="/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:${PATH}"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LAB_DIR="${LAB_DIR:-${ROOT}/.lab}"
BIN_DIR="${LAB_DIR}/bin"
BUILD_DIR="${LAB_DIR}/build"

log() { printf '[%s] %s\n' "${LAB_TAG:?set LAB_TAG before sourcing lab/lib.sh}" "$*"; }
die() { printf '[%s] ERROR: %s\n' "${LAB_TAG:?set LAB_TAG before sourcing lab/lib.sh}" "$*" >&2; exit 1; }
