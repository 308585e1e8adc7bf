// Container probes as a kubelet runs them, from the node's network namespace (where the lab kubelet lives):
// httpGet (2xx/3xx is success), tcpSocket, exec (exit 0), grpc (grpc.health.v1.Health/Check answers SERVING).
import * as http from "node:http";
import * as https from "node:https";
import * as net from "node:net";
import * as grpc from "@grpc/grpc-js";
import type { Obj } from "./kube";
import type { ContainerState } from "./container-state";

export type Probe = Obj & { periodSeconds?: number; initialDelaySeconds?: number; timeoutSeconds?: number; failureThreshold?: number; successThreshold?: number };

export interface ProbeTarget {
    podIP: string;
    ports: Obj[];
    exec: (command: string[], timeoutMs: number) => Promise<{ code: number; output: string }>;
}

export interface ProbeResult {
    ok: boolean;
    message: string;
}

function port(p: number | string, ports: Obj[]): number {
    if (typeof p === "number" || /^\d+$/.test(String(p))) return Number(p);
    const found = ports.find((x) => x.name === p);
    if (!found) throw new Error(`probe port ${p} is not a named port of the container`);
    return Number(found.containerPort);
}

export async function runProbe(probe: Probe, t: ProbeTarget): Promise<ProbeResult> {
    const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
    try {
        if (probe.httpGet) return await httpProbe(probe.httpGet, t, timeoutMs);
        if (probe.tcpSocket) return await tcpProbe(probe.tcpSocket.host ?? t.podIP, port(probe.tcpSocket.port, t.ports), timeoutMs);
        if (probe.exec) {
            const r = await t.exec(probe.exec.command, timeoutMs);
            return { ok: r.code === 0, message: `exec ${JSON.stringify(probe.exec.command)}: exit ${r.code} ${r.output.slice(0, 200)}` };
        }
        if (probe.grpc) return await grpcProbe(t.podIP, Number(probe.grpc.port), probe.grpc.service ?? "", timeoutMs);
        return { ok: false, message: `probe type not supported: ${Object.keys(probe).join(",")}` };
    } catch (e) {
        return { ok: false, message: (e as Error).message };
    }
}

function httpProbe(g: Obj, t: ProbeTarget, timeoutMs: number): Promise<ProbeResult> {
    const scheme = String(g.scheme ?? "HTTP").toLowerCase();
    const host = g.host ?? t.podIP;
    const p = port(g.port, t.ports);
    const headers: Record<string, string> = { "user-agent": "kube-probe/lab" };
    for (const h of g.httpHeaders ?? []) headers[h.name] = h.value;
    const mod = scheme === "https" ? https : http;
    const url = `${scheme}://${host.includes(":") ? `[${host}]` : host}:${p}${g.path ?? "/"}`;
    return new Promise((resolve) => {
        const req = mod.get(url, { headers, timeout: timeoutMs, rejectUnauthorized: false } as https.RequestOptions, (res) => {
            res.resume();
            const code = res.statusCode ?? 0;
            resolve({ ok: code >= 200 && code < 400, message: `HTTP probe ${url}: ${code}` });
        });
        req.on("timeout", () => req.destroy(new Error("timeout")));
        req.on("error", (e) => resolve({ ok: false, message: `HTTP probe ${url}: ${e.message}` }));
    });
}

function tcpProbe(host: string, p: number, timeoutMs: number): Promise<ProbeResult> {
    return new Promise((resolve) => {
        const s = net.connect({ host, port: p, timeout: timeoutMs }, () => {
            s.destroy();
            resolve({ ok: true, message: `TCP ${host}:${p} open` });
        });
        s.on("timeout", () => { s.destroy(); resolve({ ok: false, message: `TCP ${host}:${p}: timeout` }); });
        s.on("error", (e) => resolve({ ok: false, message: `TCP ${host}:${p}: ${e.message}` }));
    });
}

/** grpc.health.v1.HealthCheckRequest{service} / HealthCheckResponse{status}: one string field, one enum field. */
function encodeRequest(service: string): Buffer {
    return Buffer.from(service.length === 0 ? "" : `\x0a${String.fromCharCode(service.length)}${service}`, "latin1");
}

function grpcProbe(host: string, p: number, service: string, timeoutMs: number): Promise<ProbeResult> {
    const client = new grpc.Client(`${host}:${p}`, grpc.credentials.createInsecure());
    return new Promise((resolve) => {
        client.makeUnaryRequest("/grpc.health.v1.Health/Check", encodeRequest, (b: Buffer) => (b.length >= 2 && b[0] === 0x08 ? b[1]! : 0), service,
            new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, status) => {
                client.close();
                if (err) return resolve({ ok: false, message: `gRPC probe ${host}:${p}: ${err.message}` });
                resolve({ ok: status === 1, message: `gRPC probe ${host}:${p}: status ${status === 1 ? "SERVING" : String(status)}` });
            });
    });
}

/**
 * Starts a container's probes as the kubelet does: the startup probe first (liveness and readiness wait for it),
 * readiness sets `c.ready`, liveness (and a failing startup probe) calls `kill` after failureThreshold failures.
 * The timers go to `c.probeTimers`; the caller clears them when the container ends.
 */
export function startProbes(c: ContainerState, spec: Obj, target: ProbeTarget, log: (m: string) => void, kill: () => void): void {
    const startup: Probe | undefined = spec.startupProbe;
    const readiness: Probe | undefined = spec.readinessProbe;
    const liveness: Probe | undefined = spec.livenessProbe;
    const every = (p: Probe, fn: () => Promise<void>) => {
        const first = setTimeout(() => {
            void fn();
            c.probeTimers.push(setInterval(() => void fn(), (p.periodSeconds ?? 10) * 1000));
        }, (p.initialDelaySeconds ?? 0) * 1000);
        c.probeTimers.push(first);
    };
    const afterStart = () => {
        c.started = true;
        if (!readiness) c.ready = true;
        if (readiness) {
            let ok = 0, bad = 0;
            every(readiness, async () => {
                const r = await runProbe(readiness, target);
                if (r.ok) { ok++; bad = 0; } else { bad++; ok = 0; }
                if (ok >= (readiness.successThreshold ?? 1) && !c.ready) {
                    c.ready = true;
                    log(`${c.name}: ready ${((Date.now() - Date.parse(c.startedAt!)) / 1000).toFixed(1)} s after its start`);
                }
                if (bad >= (readiness.failureThreshold ?? 3) || (!c.ready && !r.ok)) {
                    if (c.ready) log(`${c.name}: readiness probe failed: ${r.message}`);
                    c.ready = false;
                }
            });
        }
        if (liveness) {
            every(liveness, async () => {
                const r = await runProbe(liveness, target);
                c.livenessFailures = r.ok ? 0 : c.livenessFailures + 1;
                if (c.livenessFailures >= (liveness.failureThreshold ?? 3)) {
                    log(`${c.name}: liveness probe failed ${c.livenessFailures} times (${r.message}): killing it`);
                    c.livenessFailures = 0;
                    kill();
                }
            });
        }
    };
    if (!startup) return afterStart();
    let bad = 0;
    every(startup, async () => {
        if (c.started) return;
        const r = await runProbe(startup, target);
        if (r.ok) {
            for (const t of c.probeTimers) clearInterval(t);
            c.probeTimers = [];
            afterStart();
        } else if (++bad >= (startup.failureThreshold ?? 3)) {
            log(`${c.name}: startup probe failed ${bad} times (${r.message}): killing it`);
            bad = 0;
            kill();
        }
    });
}
