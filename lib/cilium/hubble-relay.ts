/** Names the Cilium chart gives Hubble Relay's TLS pieces, shared by the RelayNodePort component and `microseg verify`; waiting for the relay. */
import { spawnSync } from "node:child_process";

/** The Secret (kube-system) holding the relay's client certificate: ca.crt, tls.crt, tls.key. */
export const RELAY_CLIENT_CERTS_SECRET = "hubble-relay-client-certs";

/** The server name in the relay's certificate (the chart's `hubble.relay.tls.server`). */
export const RELAY_TLS_SERVER_NAME = "ui.hubble-relay.cilium.io";

/**
 * Waits until `hubble status` (with `args`: server, TLS files) succeeds, polling every 2 s: the relay's pod may just
 * have started. Resolves undefined once it answers, or the last line hubble printed when `timeoutMs` ran out.
 */
export async function waitForHubbleStatus(hubble: string, args: readonly string[], timeoutMs: number): Promise<string | undefined> {
    const deadline = Date.now() + timeoutMs;
    let last = "";
    while (Date.now() < deadline) {
        const r = spawnSync(hubble, ["status", ...args], { encoding: "utf8", timeout: 20_000 });
        if (r.status === 0) return undefined;
        last = (r.stderr || r.stdout || String(r.error ?? "")).trim().split("\n").pop() ?? "";
        await new Promise((res) => setTimeout(res, 2000));
    }
    return last || "(no output)";
}
