#!/usr/bin/env bash
# Starts the local lab's Kubernetes control plane on loopback, from the binaries built by lab/build-lab.sh:
# etcd, kube-apiserver (RBAC, default admission, certificates made now with openssl), kube-controller-manager,
# kube-scheduler, and then the nodes, one of two ways:
# - kwok (the default): kwok simulates N nodes (its own "fast" stages make pods Running and Ready). No kubelet, no
#   container runtime, no CNI: pods are objects with a simulated status, nothing runs in them.
# - LAB_DATAPATH=1 (lab/main.sh): N (default 2) real lab nodes, each a network namespace on the bridge
#   LAB_DP_BRIDGE with a lab kubelet that runs its pods (lab/nodes-up.sh); the apiserver listens on the bridge
#   address instead of loopback (the nodes reach it there: the stack's controlPlaneEndpoint), and kubeadm's CoreDNS
#   addon is applied by the real `kubeadm init phase addon coredns`. Cilium itself comes with the Helm release.
# Idempotent: a component that is running is left alone; a second run on a healthy lab changes nothing.
# Writes .lab/kubeconfig (admin), .lab/env (source it), logs to .lab/logs/. Runs as root without systemd.
LAB_TAG=lab-up
# shellcheck source=lab/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ENV_FILE="${LAB_DIR}/env"
START=$(date +%s)

# Settings of a lab that already has state win over the environment: ports and node names stay stable.
if [[ -f "${ENV_FILE}" ]]; then
  # shellcheck source=/dev/null
  source "${ENV_FILE}"
  log "existing lab state in ${LAB_DIR}: keeping its settings (lab/down.sh first to change them)"
fi
LAB_HOST=127.0.0.1
LAB_DATAPATH="${LAB_DATAPATH:-0}"
# The datapath lab's network: a bridge distinct from the SSH hosts' msbr0 (10.213.0.0/24); .1 is this machine.
LAB_DP_BRIDGE="${LAB_DP_BRIDGE:-msdp0}"
LAB_DP_NET="${LAB_DP_NET:-10.214.0}"
LAB_DP_HOST="${LAB_DP_NET}.1"
LAB_ETCD_CLIENT_PORT="${LAB_ETCD_CLIENT_PORT:-22379}"
LAB_ETCD_PEER_PORT="${LAB_ETCD_PEER_PORT:-22380}"
LAB_APISERVER_PORT="${LAB_APISERVER_PORT:-26443}"
LAB_CONTROLLER_MANAGER_PORT="${LAB_CONTROLLER_MANAGER_PORT:-20257}"
LAB_SCHEDULER_PORT="${LAB_SCHEDULER_PORT:-20259}"
LAB_KWOK_PORT="${LAB_KWOK_PORT:-20247}"
if [[ "${LAB_DATAPATH}" == 1 ]]; then LAB_NODE_COUNT="${LAB_NODE_COUNT:-2}"; else LAB_NODE_COUNT="${LAB_NODE_COUNT:-3}"; fi
LAB_NODE_PREFIX="${LAB_NODE_PREFIX:-lab-node-}"
LAB_SERVICE_CIDR="${LAB_SERVICE_CIDR:-10.96.0.0/12}"
LAB_POD_CIDR="${LAB_POD_CIDR:-10.244.0.0/16}"
LAB_NODE_PORT_RANGE="${LAB_NODE_PORT_RANGE:-30000-32767}"
# The first address of the service CIDR, which the apiserver's certificate must name (kubernetes.default).
LAB_KUBERNETES_SERVICE_IP="${LAB_KUBERNETES_SERVICE_IP:-10.96.0.1}"
LAB_READY_TIMEOUT="${LAB_READY_TIMEOUT:-120}"

[[ "${LAB_NODE_COUNT}" =~ ^[1-9][0-9]*$ ]] || die "LAB_NODE_COUNT must be a positive integer, got \"${LAB_NODE_COUNT}\""
[[ "${LAB_DATAPATH}" == 0 || "${LAB_DATAPATH}" == 1 ]] || die "LAB_DATAPATH must be 0 (kwok nodes) or 1 (real datapath nodes), got \"${LAB_DATAPATH}\""
if [[ "${LAB_DATAPATH}" == 1 ]]; then
  [[ "${LAB_DP_NET}" =~ ^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$ ]] || die "LAB_DP_NET must be the first three octets of a /24, e.g. 10.214.0, got \"${LAB_DP_NET}\""
  [[ "${LAB_DP_BRIDGE}" =~ ^[a-z0-9]{1,10}$ && "${LAB_DP_BRIDGE}" != msbr0 ]] || die "LAB_DP_BRIDGE must be a short interface name other than the SSH hosts' msbr0, got \"${LAB_DP_BRIDGE}\""
  ((LAB_NODE_COUNT <= 50)) || die "LAB_NODE_COUNT: at most 50 datapath nodes, got ${LAB_NODE_COUNT}"
fi
for p in LAB_ETCD_CLIENT_PORT LAB_ETCD_PEER_PORT LAB_APISERVER_PORT LAB_CONTROLLER_MANAGER_PORT LAB_SCHEDULER_PORT LAB_KWOK_PORT; do
  if ! [[ "${!p}" =~ ^[0-9]+$ ]] || ((${!p} < 1 || ${!p} > 65535)); then
    die "${p} must be a TCP port, got \"${!p}\""
  fi
done

PKI="${LAB_DIR}/pki"
CONF="${LAB_DIR}/conf"
RUN="${LAB_DIR}/run"
LOGS="${LAB_DIR}/logs"
DATA="${LAB_DIR}/data"
STAGES="${LAB_DIR}/share/kwok-stages"
KUBECONFIG_FILE="${LAB_DIR}/kubeconfig"
# The apiserver's address: loopback, or in the datapath lab the bridge address the nodes reach (it is this
# machine's too, so the admin kubeconfig uses it as well).
APISERVER_HOST="${LAB_HOST}"
[[ "${LAB_DATAPATH}" == 1 ]] && APISERVER_HOST="${LAB_DP_HOST}"
APISERVER_URL="https://${APISERVER_HOST}:${LAB_APISERVER_PORT}"
KUBECTL=("${BIN_DIR}/kubectl" --kubeconfig "${KUBECONFIG_FILE}")

lab_bins=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl)
if [[ "${LAB_DATAPATH}" == 1 ]]; then lab_bins+=(kubeadm); else lab_bins+=(kwok); fi
for b in "${lab_bins[@]}"; do
  [[ -x "${BIN_DIR}/${b}" ]] || die "${BIN_DIR}/${b} is missing: run lab/build-lab.sh first"
done
[[ "${LAB_DATAPATH}" == 1 ]] || compgen -G "${STAGES}/*.yaml" >/dev/null || die "kwok stages missing in ${STAGES}: run lab/build-lab.sh first"
for tool in openssl curl ss setsid; do
  command -v "${tool}" >/dev/null 2>&1 || die "'${tool}' is missing (apt-get install -y openssl curl iproute2 util-linux)"
done
mkdir -p "${PKI}" "${CONF}" "${RUN}" "${LOGS}" "${DATA}"
chmod 700 "${PKI}" "${CONF}"

CHANGED=()

# running NAME: true when the pid file names a live process of our binary.
running() {
  local pidfile="${RUN}/$1.pid" pid
  [[ -f "${pidfile}" ]] || return 1
  pid="$(cat "${pidfile}")"
  [[ "${pid}" =~ ^[0-9]+$ ]] && [[ "$(readlink "/proc/${pid}/exe" 2>/dev/null)" == "${BIN_DIR}/$1" ]]
}

# start NAME PORT... -- ARGS...: starts BIN_DIR/NAME in its own session unless it is already running.
start() {
  local name="$1" ports=() port
  shift
  while [[ "$1" != "--" ]]; do ports+=("$1"); shift; done
  shift
  if running "${name}"; then
    log "${name}: already running (pid $(cat "${RUN}/${name}.pid"))"
    return
  fi
  for port in "${ports[@]}"; do
    if [[ -n "$(ss -Htln "sport = :${port}")" ]]; then
      die "${name}: port ${port} is already in use on this machine ($(ss -Htlnp "sport = :${port}" | awk '{print $NF}' | head -1)); set the matching LAB_*_PORT to a free port"
    fi
  done
  log "${name}: starting (log ${LOGS}/${name}.log)"
  printf '\n=== %s start %s\n' "${name}" "$(date -u +%FT%TZ)" >>"${LOGS}/${name}.log"
  setsid "${BIN_DIR}/${name}" "$@" >>"${LOGS}/${name}.log" 2>&1 </dev/null &
  echo "$!" >"${RUN}/${name}.pid"
  CHANGED+=("${name}")
}

# wait_until NAME WHAT CMD...: polls CMD until it succeeds; fails fast, with the log, if NAME died.
wait_until() {
  local name="$1" what="$2" deadline=$(($(date +%s) + LAB_READY_TIMEOUT))
  shift 2
  until "$@" >/dev/null 2>&1; do
    if ! running "${name}"; then
      tail -n 25 "${LOGS}/${name}.log" >&2 || true
      die "${name} exited while waiting for ${what} (log above, all of it in ${LOGS}/${name}.log); run lab/up.sh again to restart it"
    fi
    (($(date +%s) < deadline)) || { tail -n 25 "${LOGS}/${name}.log" >&2; die "${name}: ${what} not reached in ${LAB_READY_TIMEOUT}s"; }
    sleep 0.5
  done
}

# --- certificates (made once per lab; lab/down.sh removes them) ---
# cert NAME SIGNER CN O EKU [SANS]: key + certificate signed by SIGNER (ca or front-proxy-ca).
cert() {
  local name="$1" signer="$2" cn="$3" o="$4" eku="$5" sans="${6:-}" subj ext
  [[ -f "${PKI}/${name}.crt" ]] && return
  subj="/CN=${cn}"
  [[ -n "${o}" ]] && subj="/O=${o}${subj}"
  ext="basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=${eku}"
  [[ -n "${sans}" ]] && ext+=$'\n'"subjectAltName=${sans}"
  openssl req -new -newkey rsa:2048 -nodes -keyout "${PKI}/${name}.key" -subj "${subj}" -out "${PKI}/${name}.csr" 2>/dev/null
  openssl x509 -req -in "${PKI}/${name}.csr" -CA "${PKI}/${signer}.crt" -CAkey "${PKI}/${signer}.key" \
    -set_serial "0x$(openssl rand -hex 16)" -days 365 -sha256 -extfile <(printf '%s\n' "${ext}") \
    -out "${PKI}/${name}.crt" 2>/dev/null
  rm -f "${PKI}/${name}.csr"
}

ca() {
  [[ -f "${PKI}/$1.crt" ]] && return
  openssl req -x509 -new -newkey rsa:2048 -nodes -keyout "${PKI}/$1.key" -subj "/CN=$2" -days 3650 -sha256 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign" \
    -out "${PKI}/$1.crt" 2>/dev/null
}

make_pki() {
  [[ -f "${PKI}/sa.pub" && -f "${PKI}/apiserver.crt" ]] && return
  log "pki: making a CA and certificates with openssl in ${PKI}"
  ca ca microseg-lab-ca
  ca front-proxy-ca microseg-lab-front-proxy-ca
  cert apiserver ca kube-apiserver "" serverAuth \
    "DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:${LAB_HOST},IP:${LAB_KUBERNETES_SERVICE_IP},IP:${LAB_DP_HOST}"
  cert apiserver-kubelet-client ca kube-apiserver-kubelet-client system:masters clientAuth
  cert front-proxy-client front-proxy-ca front-proxy-client "" clientAuth
  # The lab's admin is a cluster-admin by group; so is kwok, which plays every kubelet at once.
  cert admin ca kubernetes-admin system:masters clientAuth
  cert controller-manager ca system:kube-controller-manager "" clientAuth
  cert scheduler ca system:kube-scheduler "" clientAuth
  cert kwok ca kwok-controller system:masters clientAuth
  openssl genrsa -out "${PKI}/sa.key" 2048 2>/dev/null
  openssl rsa -in "${PKI}/sa.key" -pubout -out "${PKI}/sa.pub" 2>/dev/null
  chmod 600 "${PKI}"/*.key
}

# kubeconfig FILE USER: a kubeconfig with embedded certificates for USER's client certificate.
kubeconfig() {
  local file="$1" user="$2" k=("${BIN_DIR}/kubectl" --kubeconfig "$1")
  [[ -f "${file}" ]] && return
  "${k[@]}" config set-cluster microseg-lab --server="${APISERVER_URL}" --certificate-authority="${PKI}/ca.crt" --embed-certs >/dev/null
  "${k[@]}" config set-credentials "${user}" --client-certificate="${PKI}/${user}.crt" --client-key="${PKI}/${user}.key" --embed-certs >/dev/null
  "${k[@]}" config set-context "${user}@microseg-lab" --cluster=microseg-lab --user="${user}" >/dev/null
  "${k[@]}" config use-context "${user}@microseg-lab" >/dev/null
  chmod 600 "${file}"
}

healthy_https() { curl -fsSk --max-time 2 "https://${LAB_HOST}:$1/healthz" >/dev/null; }

node_names() {
  local i
  for ((i = 0; i < LAB_NODE_COUNT; i++)); do printf '%s%d\n' "${LAB_NODE_PREFIX}" "${i}"; done
}

# One fake node: kwok manages it by its annotation. No taints, so DaemonSets land on every node.
# Its InternalIP is a loopback address (127.0.100.<i+1>): nothing listens there, but nothing that
# dials a node address from this machine (apiserver logs/exec, a NodePort probe) leaves the machine.
node_manifest() {
  local name="$1" i="$2"
  cat <<EOF
apiVersion: v1
kind: Node
metadata:
  name: ${name}
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    beta.kubernetes.io/arch: amd64
    beta.kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    kubernetes.io/os: linux
    kubernetes.io/hostname: ${name}
    node-role.kubernetes.io/agent: ""
    type: kwok
status:
  addresses:
  - type: InternalIP
    address: 127.0.100.$((i + 1))
  - type: Hostname
    address: ${name}
  allocatable: {cpu: "8", memory: 32Gi, pods: "110", ephemeral-storage: 100Gi}
  capacity: {cpu: "8", memory: 32Gi, pods: "110", ephemeral-storage: 100Gi}
  nodeInfo:
    architecture: amd64
    operatingSystem: linux
---
EOF
}

# make_bridge: the datapath lab's bridge, with this machine's address on it (the apiserver binds to it).
make_bridge() {
  if ! ip link show "${LAB_DP_BRIDGE}" >/dev/null 2>&1; then
    log "network: bridge ${LAB_DP_BRIDGE} ${LAB_DP_HOST}/24"
    ip link add "${LAB_DP_BRIDGE}" type bridge
    CHANGED+=("bridge")
  fi
  ip addr show dev "${LAB_DP_BRIDGE}" | grep -q "inet ${LAB_DP_HOST}/24" || ip addr add "${LAB_DP_HOST}/24" dev "${LAB_DP_BRIDGE}"
  ip link set "${LAB_DP_BRIDGE}" up
}

# --- etcd ---
start etcd "${LAB_ETCD_CLIENT_PORT}" "${LAB_ETCD_PEER_PORT}" -- \
  --name=lab --data-dir="${DATA}/etcd" \
  --listen-client-urls="http://${LAB_HOST}:${LAB_ETCD_CLIENT_PORT}" \
  --advertise-client-urls="http://${LAB_HOST}:${LAB_ETCD_CLIENT_PORT}" \
  --listen-peer-urls="http://${LAB_HOST}:${LAB_ETCD_PEER_PORT}" \
  --initial-advertise-peer-urls="http://${LAB_HOST}:${LAB_ETCD_PEER_PORT}" \
  --initial-cluster="lab=http://${LAB_HOST}:${LAB_ETCD_PEER_PORT}" \
  --log-level=warn
wait_until etcd "/health" curl -fsS --max-time 2 "http://${LAB_HOST}:${LAB_ETCD_CLIENT_PORT}/health"

# --- kube-apiserver ---
make_pki
kubeconfig "${KUBECONFIG_FILE}" admin
kubeconfig "${CONF}/controller-manager.conf" controller-manager
kubeconfig "${CONF}/scheduler.conf" scheduler
kubeconfig "${CONF}/kwok.conf" kwok
# kwok lab: --endpoint-reconciler-type=none: the default reconciler writes the advertise address into the
# Endpoints of the "kubernetes" Service, and validation rejects a loopback one ("may not be in the loopback
# range") every 10 s. The Service keeps its ClusterIP 10.96.0.1; nothing there routes to it.
# Datapath lab: advertised on the bridge address, so the Service's endpoints are real (Cilium's kube-proxy
# replacement takes pods from 10.96.0.1:443 to it), with the default lease reconciler.
reconciler=(--endpoint-reconciler-type=none)
if [[ "${LAB_DATAPATH}" == 1 ]]; then
  make_bridge
  reconciler=()
fi
start kube-apiserver "${LAB_APISERVER_PORT}" -- \
  --advertise-address="${APISERVER_HOST}" --bind-address="${APISERVER_HOST}" --secure-port="${LAB_APISERVER_PORT}" \
  --etcd-servers="http://${LAB_HOST}:${LAB_ETCD_CLIENT_PORT}" \
  --authorization-mode=Node,RBAC --allow-privileged=true --enable-bootstrap-token-auth=true \
  --client-ca-file="${PKI}/ca.crt" \
  --tls-cert-file="${PKI}/apiserver.crt" --tls-private-key-file="${PKI}/apiserver.key" \
  --kubelet-client-certificate="${PKI}/apiserver-kubelet-client.crt" \
  --kubelet-client-key="${PKI}/apiserver-kubelet-client.key" \
  --kubelet-preferred-address-types=InternalIP,Hostname \
  --proxy-client-cert-file="${PKI}/front-proxy-client.crt" --proxy-client-key-file="${PKI}/front-proxy-client.key" \
  --requestheader-client-ca-file="${PKI}/front-proxy-ca.crt" --requestheader-allowed-names=front-proxy-client \
  --requestheader-extra-headers-prefix=X-Remote-Extra- --requestheader-group-headers=X-Remote-Group \
  --requestheader-username-headers=X-Remote-User \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="${PKI}/sa.pub" --service-account-signing-key-file="${PKI}/sa.key" \
  --service-cluster-ip-range="${LAB_SERVICE_CIDR}" --service-node-port-range="${LAB_NODE_PORT_RANGE}" \
  "${reconciler[@]}"
wait_until kube-apiserver "/readyz" "${KUBECTL[@]}" get --raw=/readyz

# --- kube-controller-manager, kube-scheduler ---
start kube-controller-manager "${LAB_CONTROLLER_MANAGER_PORT}" -- \
  --kubeconfig="${CONF}/controller-manager.conf" \
  --authentication-kubeconfig="${CONF}/controller-manager.conf" \
  --authorization-kubeconfig="${CONF}/controller-manager.conf" \
  --bind-address="${LAB_HOST}" --secure-port="${LAB_CONTROLLER_MANAGER_PORT}" --leader-elect=false \
  --client-ca-file="${PKI}/ca.crt" --requestheader-client-ca-file="${PKI}/front-proxy-ca.crt" \
  --cluster-name=microseg-lab --cluster-signing-cert-file="${PKI}/ca.crt" --cluster-signing-key-file="${PKI}/ca.key" \
  --root-ca-file="${PKI}/ca.crt" --service-account-private-key-file="${PKI}/sa.key" \
  --use-service-account-credentials=true --controllers='*,bootstrapsigner,tokencleaner' \
  --allocate-node-cidrs=true --cluster-cidr="${LAB_POD_CIDR}" --service-cluster-ip-range="${LAB_SERVICE_CIDR}"
start kube-scheduler "${LAB_SCHEDULER_PORT}" -- \
  --kubeconfig="${CONF}/scheduler.conf" \
  --authentication-kubeconfig="${CONF}/scheduler.conf" --authorization-kubeconfig="${CONF}/scheduler.conf" \
  --bind-address="${LAB_HOST}" --secure-port="${LAB_SCHEDULER_PORT}" --leader-elect=false
wait_until kube-controller-manager "/healthz" healthy_https "${LAB_CONTROLLER_MANAGER_PORT}"
wait_until kube-scheduler "/healthz" healthy_https "${LAB_SCHEDULER_PORT}"

if [[ "${LAB_DATAPATH}" == 1 ]]; then
  mapfile -t NODES < <(node_names)
  # The kubelets of lab/nodes-up.sh register the nodes, each with its own node credentials (Node authorizer).
  for n in "${NODES[@]}"; do
    cert "node-${n}" ca "system:node:${n}" system:nodes clientAuth
    kubeconfig "${CONF}/kubelet-${n}.conf" "node-${n}"
  done
else
# --- kwok: kwok's own default stages (node-initialize, node-heartbeat-with-lease, pod-ready, pod-complete,
# pod-delete), copied by build-lab.sh from the kwok module of the pinned version ---
stage_args=()
for f in "${STAGES}"/*.yaml; do stage_args+=("--config=${f}"); done
start kwok "${LAB_KWOK_PORT}" -- \
  "${stage_args[@]}" --kubeconfig="${CONF}/kwok.conf" \
  --manage-all-nodes=false --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
  --node-lease-duration-seconds=40 --server-address="${LAB_HOST}:${LAB_KWOK_PORT}"
wait_until kwok "/healthz" curl -fsS --max-time 2 "http://${LAB_HOST}:${LAB_KWOK_PORT}/healthz"

# --- nodes ---
mapfile -t NODES < <(node_names)
missing=()
for n in "${NODES[@]}"; do
  "${KUBECTL[@]}" get node "${n}" >/dev/null 2>&1 || missing+=("${n}")
done
if ((${#missing[@]} > 0)); then
  log "nodes: creating ${missing[*]}"
  for i in "${!NODES[@]}"; do
    if [[ " ${missing[*]} " == *" ${NODES[i]} "* ]]; then node_manifest "${NODES[i]}" "${i}"; fi
  done | "${KUBECTL[@]}" create -f - >/dev/null
  CHANGED+=("nodes")
fi
wait_until kwok "nodes Ready" "${KUBECTL[@]}" wait --for=condition=Ready "${NODES[@]/#/node/}" --timeout=5s
fi
# The controller-manager's service-account controllers are up when "default" has its service account.
wait_until kube-controller-manager "the default service account" "${KUBECTL[@]}" -n default get serviceaccount default

if [[ "${LAB_DATAPATH}" == 1 ]]; then
  # kubeadm's DNS addon, applied by kubeadm itself (its Deployment, Service kube-dns on the 10th address of the
  # service CIDR, Corefile, RBAC), as `kubeadm init` does before any CNI runs: its pods wait for Ready nodes.
  if ! "${KUBECTL[@]}" -n kube-system get deployment coredns >/dev/null 2>&1; then
    log "coredns: kubeadm init phase addon coredns"
    cat >"${CONF}/kubeadm.yaml" <<EOF
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
kubernetesVersion: $("${BIN_DIR}/kubeadm" version -o short)
networking:
  serviceSubnet: ${LAB_SERVICE_CIDR}
  podSubnet: ${LAB_POD_CIDR}
  dnsDomain: cluster.local
EOF
    "${BIN_DIR}/kubeadm" init phase addon coredns --config "${CONF}/kubeadm.yaml" --kubeconfig "${KUBECONFIG_FILE}" >>"${LOGS}/kubeadm.log" 2>&1 ||
      { tail -n 20 "${LOGS}/kubeadm.log" >&2; die "kubeadm init phase addon coredns failed (log ${LOGS}/kubeadm.log)"; }
    CHANGED+=("coredns-addon")
  fi
fi

# --- env file and summary ---
node_csv="$(IFS=,; echo "${NODES[*]}")"
new_env="$(cat <<EOF
# Written by lab/up.sh; source it: . .lab/env
export LAB_DIR=${LAB_DIR}
export KUBECONFIG=${KUBECONFIG_FILE}
export LAB_KUBECTL=${BIN_DIR}/kubectl
export LAB_BIN_DIR=${BIN_DIR}
export LAB_APISERVER_URL=${APISERVER_URL}
export LAB_APISERVER_HOST=${APISERVER_HOST}
export LAB_APISERVER_PORT=${LAB_APISERVER_PORT}
export LAB_CA_CERT=${PKI}/ca.crt
export LAB_ETCD_URL=http://${LAB_HOST}:${LAB_ETCD_CLIENT_PORT}
export LAB_ETCD_CLIENT_PORT=${LAB_ETCD_CLIENT_PORT}
export LAB_ETCD_PEER_PORT=${LAB_ETCD_PEER_PORT}
export LAB_CONTROLLER_MANAGER_PORT=${LAB_CONTROLLER_MANAGER_PORT}
export LAB_SCHEDULER_PORT=${LAB_SCHEDULER_PORT}
export LAB_KWOK_PORT=${LAB_KWOK_PORT}
export LAB_NODE_COUNT=${LAB_NODE_COUNT}
export LAB_NODE_PREFIX=${LAB_NODE_PREFIX}
export LAB_NODE_NAMES=${node_csv}
export LAB_SERVICE_CIDR=${LAB_SERVICE_CIDR}
export LAB_POD_CIDR=${LAB_POD_CIDR}
export LAB_NODE_PORT_RANGE=${LAB_NODE_PORT_RANGE}
export LAB_KUBERNETES_VERSION=$("${KUBECTL[@]}" version -o json | jq -r .serverVersion.gitVersion)
export LAB_LOG_DIR=${LOGS}
export LAB_RUN_DIR=${RUN}
export LAB_DATAPATH=${LAB_DATAPATH}
export LAB_DP_BRIDGE=${LAB_DP_BRIDGE}
export LAB_DP_NET=${LAB_DP_NET}
export LAB_DP_HOST=${LAB_DP_HOST}
EOF
)"
if [[ ! -f "${ENV_FILE}" || "$(cat "${ENV_FILE}")" != "${new_env}" ]]; then
  printf '%s\n' "${new_env}" >"${ENV_FILE}"
  CHANGED+=("env")
fi

if [[ "${LAB_DATAPATH}" == 1 ]]; then
  # The nodes: network namespaces and their kubelets (lab/nodes-up.sh is idempotent too and says what it changed).
  nodes_out="$(bash "${ROOT}/lab/nodes-up.sh")" || { printf '%s\n' "${nodes_out}"; die "lab/nodes-up.sh failed"; }
  printf '%s\n' "${nodes_out}"
  if grep -q '^\[lab-nodes\] started or changed' <<<"${nodes_out}"; then CHANGED+=("nodes"); fi
fi

if ((${#CHANGED[@]} == 0)); then
  log "the lab was already up and healthy: nothing changed"
else
  log "started or changed: ${CHANGED[*]} (ready in $(($(date +%s) - START))s)"
fi
cat <<EOF
[lab-up] Kubernetes $(grep -o 'LAB_KUBERNETES_VERSION=.*' "${ENV_FILE}" | cut -d= -f2) control plane on ${LAB_HOST}:
  apiserver       ${APISERVER_URL}   (etcd http://${LAB_HOST}:${LAB_ETCD_CLIENT_PORT})
  nodes           ${node_csv} ($([[ "${LAB_DATAPATH}" == 1 ]] && echo "datapath: lab/status.sh shows the agents" || echo kwok))
  kubeconfig      ${KUBECONFIG_FILE}
  env             ${ENV_FILE}   (. ${ENV_FILE}; then ${BIN_DIR}/kubectl get nodes)
  pki / logs      ${PKI}   ${LOGS}
  status / stop   lab/status.sh   lab/down.sh
EOF
