#!/usr/bin/env bash
# label-node: on the first control-plane host, sets the configured labels of a Node, all of them: the kubelet may
# not set some itself (NodeRestriction: kubernetes.io / k8s.io labels outside kubelet.kubernetes.io,
# node.kubernetes.io and the well-known set, e.g. node-role.kubernetes.io/*), and it applies its own node-labels
# only when it registers the Node, so a label changed after the join is set here. It records the keys it manages in
# the Node's annotation microseg.io/managed-labels (sorted, comma-separated) and removes those no longer configured;
# a label it did not set (e.g. kubernetes.io/hostname from the kubelet) is never removed.
# Guard: every label already has its value, none to remove, the annotation already right -> nothing to do. An empty
#   NODE_LABELS on a Node that is not there (after the wait) is nothing to do too: nothing to undo.
# Inputs (environment): NODE_NAME, NODE_LABELS ("key=value,key2=value2"; empty: remove every label microseg set),
#   NODE_WAIT_SECONDS (default 120: how long to wait for the kubelet to register the Node after its join; 0 when
#   unlabelling).
# Profiles: MICROSEG_HOST_PROFILE=ubuntu (default) or lab: paths below MICROSEG_ROOT, MICROSEG_LAB_PATH first on
#   PATH; kubectl talks to the API server in admin.conf for real.
step=label-node
# shellcheck source=components/cluster/scripts/prelude.sh
source "$(dirname "${BASH_SOURCE[0]}")/prelude.sh"

: "${NODE_NAME:?label-node: NODE_NAME is required}"
: "${NODE_LABELS?label-node: NODE_LABELS is required (empty: no labels)}"
managed_key=microseg.io/managed-labels

declare -A want=()
IFS=, read -ra entries <<<"$NODE_LABELS"
for l in "${entries[@]}"; do
  [[ $l == ?*=* ]] || fail "NODE_LABELS: \"$l\" is not key=value. Fix: give \"key=value,key2=value2\""
  want[${l%%=*}]=${l#*=}
done
wanted_keys=()
((${#want[@]} == 0)) || mapfile -t wanted_keys < <(printf '%s\n' "${!want[@]}" | LC_ALL=C sort)
wanted_csv=$(IFS=,; echo "${wanted_keys[*]}")

need_admin_kubectl

# The kubelet registers its Node shortly after the join: wait for it, bounded (NODE_WAIT_SECONDS, default 120).
wait=${NODE_WAIT_SECONDS:-120}
[[ $wait =~ ^[0-9]+$ ]] || fail "NODE_WAIT_SECONDS must be a number of seconds, got \"$wait\""
deadline=$((SECONDS + wait))
until node_exists; do
  if ((SECONDS >= deadline)); then
    if [[ -z $NODE_LABELS ]]; then
      log "nothing to do: node $NODE_NAME is not in the cluster"
      exit 0
    fi
    fail "node $NODE_NAME did not register within ${wait}s. Fix: check the kubelet on $NODE_NAME (journalctl -u kubelet), then re-run pulumi up"
  fi
  sleep 2
done

# One read: the annotation on the first line, then the labels, one key=value a line (neither can hold a newline).
# shellcheck disable=SC2016 # a Go template, not shell
state=$(k get node "$NODE_NAME" -o go-template='{{with .metadata.annotations}}{{index . "microseg.io/managed-labels"}}{{end}}{{"\n"}}{{range $k, $v := .metadata.labels}}{{$k}}={{$v}}{{"\n"}}{{end}}')
previous_csv=${state%%$'\n'*}
# index prints "<no value>" when the Node has annotations but not this one.
[[ $previous_csv != "<no value>" ]] || previous_csv=""
declare -A have=()
while IFS= read -r l; do
  [[ -z $l ]] || have[${l%%=*}]=${l#*=}
done <<<"${state#*$'\n'}"

args=() added=() removed=()
IFS=, read -ra previous <<<"$previous_csv"
for key in "${previous[@]}"; do
  # Only keys microseg recorded: a label it never set is left alone.
  if [[ -z ${want[$key]+x} && -n ${have[$key]+x} ]]; then
    args+=("$key-")
    removed+=("$key")
  fi
done
for key in "${wanted_keys[@]}"; do
  if [[ -z ${have[$key]+x} || ${have[$key]} != "${want[$key]}" ]]; then
    args+=("$key=${want[$key]}")
    added+=("$key=${want[$key]}")
  fi
done

if ((${#args[@]} == 0)) && [[ $previous_csv == "$wanted_csv" ]]; then
  if [[ -z $NODE_LABELS ]]; then
    log "nothing to do: node $NODE_NAME has no labels set by microseg"
  else
    log "nothing to do: node $NODE_NAME has ${NODE_LABELS//,/, }"
  fi
  exit 0
fi
# New keys are recorded before they are set, and dropped keys forgotten only after they are removed: a failure
# between the writes never leaves a label microseg set but did not record.
union_csv=$( ( printf '%s\n' "${previous[@]}" "${wanted_keys[@]}" | sed '/^$/d' | LC_ALL=C sort -u | paste -sd, - ) || true)
recorded=$previous_csv
if [[ $union_csv != "$previous_csv" ]]; then
  k annotate node "$NODE_NAME" --overwrite "$managed_key=$union_csv" >/dev/null || fail "kubectl annotate node $NODE_NAME failed"
  recorded=$union_csv
fi
if ((${#args[@]} > 0)); then
  k label node "$NODE_NAME" --overwrite "${args[@]}" >/dev/null || fail "kubectl label node $NODE_NAME failed"
fi
if [[ $recorded != "$wanted_csv" ]]; then
  if [[ -z $wanted_csv ]]; then
    k annotate node "$NODE_NAME" "$managed_key-" >/dev/null || fail "kubectl annotate node $NODE_NAME failed"
  else
    k annotate node "$NODE_NAME" --overwrite "$managed_key=$wanted_csv" >/dev/null || fail "kubectl annotate node $NODE_NAME failed"
  fi
fi
msg=""
((${#added[@]} == 0)) || msg="set ${added[*]}"
((${#removed[@]} == 0)) || msg="${msg:+$msg; }removed ${removed[*]}"
# Only the annotation changed: labels set before it existed, or removed by hand.
if [[ -z $msg && -n $wanted_csv ]]; then msg="recorded $managed_key=$wanted_csv"; fi
if [[ -z $msg ]]; then msg="removed the $managed_key annotation"; fi
log "labelled $NODE_NAME: $msg"
