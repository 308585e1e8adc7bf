// lib/kube/kube-api.ts readConfigMapData / readSecretData on a local HTTP server answering as an apiserver does:
// only the apiserver's own NotFound Status means "absent"; every other answer, and no answer, rejects with what
// happened. (test/lab/stack.test.ts runs the same reads against the real kube-apiserver.)
import assert from "node:assert/strict";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { ApiReadError, readConfigMapData, readSecretData, type ApiTarget } from "../../lib/kube/kube-api";

const status = (code: number, reason: string, message: string, kind?: string) =>
    JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", message, reason, code, ...(kind ? { details: { name: "x", kind } } : {}) });

/** path -> [status, body] */
const answers = new Map<string, [number, string]>();
let server: http.Server;
let target: ApiTarget;

before(async () => {
    server = http.createServer((req, res) => {
        const [code, body] = answers.get(req.url ?? "") ?? [599, "unexpected path"];
        res.writeHead(code, { "Content-Type": "application/json" });
        res.end(body);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    target = { server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, insecure: false, token: "t0ken-never-shown" };
});
after(() => server.close());

const CM = "/api/v1/namespaces/kube-system/configmaps/microseg-stack";

async function rejection(p: Promise<unknown>): Promise<ApiReadError> {
    try {
        await p;
    } catch (e) {
        assert.ok(e instanceof ApiReadError, String(e));
        assert.ok(!e.message.includes("t0ken"), e.message);
        return e;
    }
    assert.fail("resolved, expected a rejection");
}

describe("readConfigMapData", () => {
    it("the object: its data", async () => {
        answers.set(CM, [200, JSON.stringify({ kind: "ConfigMap", data: { stack: "dev" } })]);
        assert.deepEqual(await readConfigMapData(target, "kube-system", "microseg-stack"), { stack: "dev" });
    });

    it("the apiserver's NotFound of the ConfigMap, or of its namespace: undefined (no record)", async () => {
        answers.set(CM, [404, status(404, "NotFound", 'configmaps "microseg-stack" not found', "configmaps")]);
        assert.equal(await readConfigMapData(target, "kube-system", "microseg-stack"), undefined);
        answers.set(CM, [404, status(404, "NotFound", 'namespaces "kube-system" not found', "namespaces")]);
        assert.equal(await readConfigMapData(target, "kube-system", "microseg-stack"), undefined);
    });

    it("a 404 that is not the apiserver's NotFound (a proxy page, another resource kind): rejects", async () => {
        answers.set(CM, [404, "<html>404 page not found</html>"]);
        const e = await rejection(readConfigMapData(target, "kube-system", "microseg-stack"));
        assert.equal(e.message, `cannot read ConfigMap kube-system/microseg-stack at ${target.server}: HTTP 404 Not Found (<html>404 page not found</html>)`);
        answers.set(CM, [404, status(404, "NotFound", "the server could not find the requested resource", "pods")]);
        assert.equal((await rejection(readConfigMapData(target, "kube-system", "microseg-stack"))).status, 404);
    });

    it("403, 401 and 5xx reject with the status and the apiserver's message", async () => {
        const forbidden = 'configmaps "microseg-stack" is forbidden: User "system:serviceaccount:default:nobody" cannot get resource "configmaps" in API group "" in the namespace "kube-system"';
        answers.set(CM, [403, status(403, "Forbidden", forbidden, "configmaps")]);
        const e = await rejection(readConfigMapData(target, "kube-system", "microseg-stack"));
        assert.deepEqual([e.server, e.status, e.reason], [target.server, 403, forbidden]);
        assert.equal(e.answer, `HTTP 403 Forbidden (${forbidden})`);
        answers.set(CM, [401, status(401, "Unauthorized", "Unauthorized")]);
        assert.equal((await rejection(readConfigMapData(target, "kube-system", "microseg-stack"))).answer, "HTTP 401 Unauthorized (Unauthorized)");
        answers.set(CM, [503, status(503, "ServiceUnavailable", "etcdserver: request timed out")]);
        assert.equal((await rejection(readConfigMapData(target, "kube-system", "microseg-stack"))).answer, "HTTP 503 Service Unavailable (etcdserver: request timed out)");
    });

    it("a 200 that is not JSON rejects", async () => {
        answers.set(CM, [200, "<html>login page</html>"]);
        assert.equal((await rejection(readConfigMapData(target, "kube-system", "microseg-stack"))).reason, "not a Kubernetes object: <html>login page</html>");
    });

    it("a server not reached: rejects with no status and the cause", async () => {
        const closed = http.createServer();
        await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
        const port = (closed.address() as AddressInfo).port;
        await new Promise<void>((r) => closed.close(() => r()));
        const e = await rejection(readConfigMapData({ ...target, server: `http://127.0.0.1:${port}` }, "kube-system", "microseg-stack"));
        assert.equal(e.status, undefined);
        assert.equal(e.message, `cannot read ConfigMap kube-system/microseg-stack at http://127.0.0.1:${port}: not reached (connect ECONNREFUSED 127.0.0.1:${port})`);
    });
});

describe("readSecretData", () => {
    it("decodes the data; a missing Secret rejects naming it", async () => {
        const path = "/api/v1/namespaces/kube-system/secrets/hubble-relay-client-certs";
        answers.set(path, [200, JSON.stringify({ kind: "Secret", data: { "ca.crt": Buffer.from("CA").toString("base64") } })]);
        assert.deepEqual(await readSecretData(target, "kube-system", "hubble-relay-client-certs"), { "ca.crt": "CA" });
        answers.set(path, [404, status(404, "NotFound", 'secrets "hubble-relay-client-certs" not found', "secrets")]);
        assert.equal(
            (await rejection(readSecretData(target, "kube-system", "hubble-relay-client-certs"))).message,
            `cannot read Secret kube-system/hubble-relay-client-certs at ${target.server}: HTTP 404 Not Found (secrets "hubble-relay-client-certs" not found)`,
        );
    });
});
