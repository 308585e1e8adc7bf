#!/usr/bin/env bash
# Extracts Debian's nginx binary (package `nginx`, the demo's HTTP server in the datapath lab) into
# LAB_DIR/share/nginx with `apt-get download` + `dpkg -x`: nothing is installed on this machine, so no maintainer
# script runs (installing the package would start an nginx on this machine's port 80). Its libraries (libc, libcrypt,
# libpcre2, libssl, zlib) are the machine's; checked with ldd. Idempotent: a warm run does nothing.
LAB_TAG=fetch-nginx
# shellcheck source=lab/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DEST="${LAB_DIR}/share/nginx"

version="$(apt-cache policy nginx 2>/dev/null | sed -n 's/^ *Candidate: //p')"
[[ -n "${version}" && "${version}" != "(none)" ]] || die "no Debian package nginx known to apt (run apt-get update)"
if [[ -x "${DEST}/usr/sbin/nginx" && -f "${DEST}/.version" && "$(cat "${DEST}/.version")" == "${version}" ]]; then
  log "nginx ${version}: up to date (${DEST})"
  exit 0
fi
tmp="$(mktemp -d)"
trap 'rm -rf "${tmp}"' EXIT
chmod 755 "${tmp}" # apt's download user must write there
(cd "${tmp}" && apt-get download -q "nginx=${version}" >/dev/null 2>&1) || die "apt-get download nginx=${version} failed"
rm -rf "${DEST}.new" && mkdir -p "${DEST}.new"
dpkg -x "${tmp}"/nginx_*.deb "${DEST}.new"
missing="$(ldd "${DEST}.new/usr/sbin/nginx" | grep 'not found' || true)"
[[ -z "${missing}" ]] || die "nginx ${version} needs libraries this machine lacks: ${missing}"
printf '%s' "${version}" >"${DEST}.new/.version"
rm -rf "${DEST}" && mv "${DEST}.new" "${DEST}"
log "nginx ${version}: $("${DEST}/usr/sbin/nginx" -v 2>&1) in ${DEST}"
