/** Names the Cilium chart gives Hubble Relay's TLS pieces, shared by the RelayNodePort component and `microseg verify`. */

/** The Secret (kube-system) holding the relay's client certificate: ca.crt, tls.crt, tls.key. */
export const RELAY_CLIENT_CERTS_SECRET = "hubble-relay-client-certs";

/** The server name in the relay's certificate (the chart's `hubble.relay.tls.server`). */
export const RELAY_TLS_SERVER_NAME = "ui.hubble-relay.cilium.io";
