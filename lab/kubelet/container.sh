#!/usr/bin/env bash
# The lab kubelet's container runtime: runs ONE container (or a CNI plugin) of a lab node from a JSON spec that
# lab/kubelet/runtime.ts writes. Started as `unshare -m -u --propagation unchanged -- bash container.sh SPEC`, already
# in the network namespace the process must live in (the pod's, or the node's for hostNetwork pods); it builds the
# container's file system in its private mount namespace and finally execs the command, so the process the kubelet
# started IS the container's main process (same pid: every step execs).
#
# The root file system is an overlay: the image layer (spec.layer: the files of the image this lab maps to binaries
# built here, e.g. quay.io/cilium/cilium -> .lab/bin/cilium-agent at /usr/bin/cilium-agent) over this machine's "/",
# with writes going to a tmpfs that dies with the container (nothing a container writes outside its volumes reaches
# the machine's disk). /tmp, /run, /root, /home and /work are empty tmpfs (the host's are not the container's); the
# lab's bin/ and share/ are bound read-only at /.microseg-lab/ because the image layers link there. Then the
# volumes (spec.mounts: hostPath mapped to the node's own directories, configMap/secret/projected/emptyDir files the
# kubelet wrote), a fresh sysfs of the network namespace, /etc/hosts, /etc/resolv.conf, the hostname, the cgroup
# (spec.cgroup: a child of the node's cgroup), and the security context (setpriv: user, groups, bounding set,
# no_new_privs).
set -euo pipefail
export PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

spec="$1"
[[ -f "${spec}" ]] || { echo "container.sh: spec file ${spec} not found" >&2; exit 127; }
j() { jq -r "$1" "${spec}"; }

# The cgroup first, so that everything below (and the container's children) is counted and killed with it.
cg="$(j '.cgroup // ""')"
[[ -z "${cg}" ]] || echo "$$" >"${cg}/cgroup.procs"

base="$(j .base)" # a directory of this container (the kubelet's): the tmpfs is mounted there
mkdir -p "${base}"
mount --make-rslave /
mount -t tmpfs -o mode=0755 "ctr" "${base}"
mkdir -p "${base}/layer" "${base}/upper" "${base}/work" "${base}/root"

# The image layer: dirs, symlinks and small files.
while IFS=$'\t' read -r kind path arg; do
  case "${kind}" in
    dir) mkdir -p "${base}/layer${path}" ;;
    symlink) mkdir -p "$(dirname "${base}/layer${path}")" && ln -sfn "${arg}" "${base}/layer${path}" ;;
    copy) mkdir -p "$(dirname "${base}/layer${path}")" && cp -a "${arg}" "${base}/layer${path}" ;;
    file) mkdir -p "$(dirname "${base}/layer${path}")" && jq -j --arg p "${path}" '.layer[] | select(.path == $p) | .content' "${spec}" >"${base}/layer${path}" ;;
    *) echo "container.sh: unknown layer entry '${kind}'" >&2; exit 127 ;;
  esac
done < <(jq -r '.layer[] | [.type, .path, (.target // "")] | @tsv' "${spec}")

mount -t overlay overlay -o "lowerdir=${base}/layer:/,upperdir=${base}/upper,workdir=${base}/work" "${base}/root"
r="${base}/root"
mount --rbind /dev "${r}/dev"
mount --make-rslave "${r}/dev"
mount -t tmpfs -o mode=1777 shm "${r}/dev/shm"
mount --rbind /proc "${r}/proc"
mount --make-rslave "${r}/proc"
mount -t sysfs sysfs "${r}/sys"
for d in /tmp /run /root /home /work; do
  [[ -d "${r}${d}" ]] || continue
  mode=0755
  [[ "${d}" == /tmp ]] && mode=1777
  mount -t tmpfs -o "mode=${mode}" "lab" "${r}${d}"
done
# inroot PATH: PATH as a path of this mount namespace, with its symlinks resolved INSIDE the container root
# (the image's /var/run -> /run must not lead to this machine's /run). Creates missing directories on the way.
inroot() {
  local rel="$1" dir
  dir="$(dirname "${rel}")"
  chroot "${r}" mkdir -p "${dir}"
  printf '%s%s' "${r}" "$(chroot "${r}" realpath -m "${rel}")"
}
# The lab's bin/ and share/, read-only, where the image layer links to them (at the root: no volume covers them).
while IFS=$'\t' read -r src dst; do
  [[ -n "${src}" ]] || continue
  t="$(inroot "${dst}")"
  mkdir -p "${t}"
  mount --rbind "${src}" "${t}"
  mount -o remount,bind,ro "${t}"
done < <(jq -r '.readOnlyPaths[]? | [.source, .target] | @tsv' "${spec}")

# mountpoint_for SRC TARGET: creates TARGET (a file when SRC is one) in the container root; prints its path here.
mountpoint_for() {
  local dst
  dst="$(inroot "$2")"
  if [[ -d "$1" ]]; then mkdir -p "${dst}"; elif [[ ! -e "${dst}" ]]; then : >"${dst}"; fi
  printf '%s' "${dst}"
}
# Volumes, in the kubelet's order (parents before children).
n="$(j '.mounts | length')"
for ((i = 0; i < n; i++)); do
  src="$(j ".mounts[${i}].source")"
  ro="$(j ".mounts[${i}].readOnly // false")"
  prop="$(j ".mounts[${i}].propagation // \"None\"")"
  dst="$(mountpoint_for "${src}" "$(j ".mounts[${i}].target")")"
  mount --rbind "${src}" "${dst}"
  case "${prop}" in
    Bidirectional) mount --make-rshared "${dst}" ;;
    HostToContainer) mount --make-rslave "${dst}" ;;
    *) mount --make-rprivate "${dst}" ;;
  esac
  [[ "${ro}" != true ]] || mount -o remount,bind,ro "${dst}"
done

hn="$(j '.hostname // ""')"
[[ -z "${hn}" ]] || hostname "${hn}"
for f in hosts resolvConf; do
  src="$(j ".${f} // \"\"")"
  [[ -n "${src}" ]] || continue
  dst="${r}/etc/hosts"
  [[ "${f}" == resolvConf ]] && dst="$(inroot /etc/resolv.conf)"
  [[ -f "${dst}" && ! -L "${dst}" ]] || { rm -f "${dst}" && : >"${dst}"; }
  mount --bind "${src}" "${dst}"
done
[[ "$(j '.readOnlyRootFilesystem // false')" != true ]] || mount -o remount,ro "${r}"

# The security context, as setpriv arguments (empty for a privileged container).
# NUL-separated: values and arguments may hold newlines (scripts passed to bash -c).
mapfile -d '' -t priv < <(jq -j '.setpriv[]? | "\(.)\u0000"' "${spec}")
mapfile -d '' -t envs < <(jq -j '.env[] | "\(.[0])=\(.[1])\u0000"' "${spec}")
mapfile -d '' -t argv < <(jq -j '.argv[] | "\(.)\u0000"' "${spec}")
cwd="$(j '.workingDir // "/"')"
chroot "${r}" mkdir -p "${cwd}"
if ((${#priv[@]} > 0)); then
  exec chroot "${r}" setpriv "${priv[@]}" env -i -C "${cwd}" "${envs[@]}" "${argv[@]}"
fi
exec chroot "${r}" env -i -C "${cwd}" "${envs[@]}" "${argv[@]}"
