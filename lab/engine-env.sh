# shellcheck shell=bash
# Source this (bash) to use the engine built by lab/build-engine.sh:   source lab/engine-env.sh
# It never talks to the Pulumi service or the internet: local plugin cache, no update check, no plugin download.
# A backend and a passphrase are only defaulted for the lab when the user has not set their own: the program
# itself assumes no backend (any PULUMI_BACKEND_URL / `pulumi login` and secrets provider work the same).

MICROSEG_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MICROSEG_ENGINE="${ENGINE_DIR:-$MICROSEG_REPO/.engine}"
export MICROSEG_REPO MICROSEG_ENGINE

# The CLI, the Node.js language host (found next to `pulumi`) and helm.
case ":$PATH:" in
  *":$MICROSEG_ENGINE/bin:"*) ;;
  *) export PATH="$MICROSEG_ENGINE/bin:$PATH" ;;
esac

# Plugin cache holding pulumi-resource-kubernetes at the exact version @pulumi/kubernetes requests.
export PULUMI_HOME="$MICROSEG_ENGINE/pulumi-home"
# Offline: no CLI update check, never download a plugin (fail instead), no CLI-version probe by the
# Automation API (the CLI is built at the SDK's version anyway).
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK=true

# Lab defaults only when the user has not chosen: a local file backend (unless PULUMI_BACKEND_URL is set or
# `pulumi login <url>` was run with this PULUMI_HOME) and a passphrase secrets provider.
if [[ -z "${PULUMI_BACKEND_URL:-}" ]] &&
  ! grep -qs '"current": *"[^"]' "$PULUMI_HOME/credentials.json"; then
  mkdir -p "$MICROSEG_REPO/.pulumi-state"
  export PULUMI_BACKEND_URL="file://$MICROSEG_REPO/.pulumi-state"
fi
if [[ -z "${PULUMI_CONFIG_PASSPHRASE:-}" && -z "${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]]; then
  export PULUMI_CONFIG_PASSPHRASE="microseg-lab-only"
fi
