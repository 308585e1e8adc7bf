// components/policy/crd-wait.ts: kubeconfig credentials, CRD states and the bounded wait, against a fake
// apiserver on loopback (plain HTTP; the lab test runs it against the real kube-apiserver over TLS).
import { strict as assert } from "node:assert";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { CrdWaitError, waitForCrdsEstablished } from "../../components/policy/crd-wait";
import { apiTargetFromKubeconfig } from "../../lib/kube/kube-api";

const requests: { url: string; auth?: string }[] = [];
/** CRD name -> what the fake answers: "missing", "pending" (NamesAccepted only) or "ready". */
const states = new Map<string, "missing" | "pending" | "ready">();
const server = http.createServer((req, res) => {
    requests.push({ url: req.url ?? "", auth: req.headers.authorization });
    const name = /customresourcedefinitions\/([^/?]+)$/.exec(req.url ?? "")?.[1] ?? "";
    const state = states.get(name) ?? "missing";
    if (state === "missing") return void res.writeHead(404).end("{}");
    const conditions = [{ type: "NamesAccepted", status: "True" }];
    if (state === "ready") conditions.push({ type: "Established", status: "True" });
    else conditions.push({ type: "Established", status: "False", message: "not all names are accepted" } as never);
    res.writeHead(200).end(JSON.stringify({ status: { conditions } }));
});
let server_ = "";
const kubeconfig = (user: string) => [
    "apiVersion: v1", "kind: Config", "current-context: fake",
    `clusters: [{name: fake, cluster: {server: "${server_}/"}}]`,
    `users: [{name: admin, user: ${user}}]`,
    "contexts: [{name: fake, context: {cluster: fake, user: admin}}, {name: other, context: {cluster: nowhere, user: admin}}]",
].join("\n");

before(async () => {
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    server_ = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => server.close());

describe("apiTargetFromKubeconfig", () => {
    it("reads server, CA, client certificate and key of the current context", () => {
        const t = apiTargetFromKubeconfig(kubeconfig(`{client-certificate-data: ${Buffer.from("CRT").toString("base64")}, client-key-data: ${Buffer.from("KEY").toString("base64")}}`)
            .replace("{server:", `{certificate-authority-data: ${Buffer.from("CA").toString("base64")}, server:`));
        assert.deepEqual([t.server, t.ca?.toString(), t.cert?.toString(), t.key?.toString(), t.insecure], [server_, "CA", "CRT", "KEY", false]);
    });
    it("runs an exec credential plugin and uses its token", () => {
        const t = apiTargetFromKubeconfig(kubeconfig(`{exec: {apiVersion: client.authentication.k8s.io/v1, command: node, args: ["-e", "process.stdout.write(JSON.stringify({status: {token: process.env.TOK}}))"], env: [{name: TOK, value: from-plugin}]}}`));
        assert.equal(t.token, "from-plugin");
    });
    it("names the missing context", () => {
        assert.throws(() => apiTargetFromKubeconfig(kubeconfig("{token: t}"), "absent"), { message: 'kubeconfig: context "absent" not found' });
        assert.throws(() => apiTargetFromKubeconfig(kubeconfig("{token: t}"), "other"), { message: 'kubeconfig: cluster "nowhere" of context "other" has no server' });
    });
});

describe("waitForCrdsEstablished", () => {
    it("polls until every CRD is Established, with the kubeconfig's bearer token", async () => {
        states.set("a.example.io", "missing");
        states.set("b.example.io", "pending");
        const waiting: string[] = [];
        const done = waitForCrdsEstablished({
            kubeconfig: kubeconfig("{token: s3cret}"), names: ["a.example.io", "b.example.io"], timeoutSeconds: 10, intervalMs: 50,
            onWaiting: (pending) => {
                waiting.push(pending.map((p) => `${p.name}: ${p.state}`).join("; "));
                if (waiting.length === 2) states.set("a.example.io", "pending");
                if (waiting.length === 3) { states.set("a.example.io", "ready"); states.set("b.example.io", "ready"); }
            },
        });
        await done;
        assert.deepEqual(waiting, [
            "a.example.io: not found; b.example.io: not Established yet: not all names are accepted",
            "a.example.io: not found; b.example.io: not Established yet: not all names are accepted",
            "a.example.io: not Established yet: not all names are accepted; b.example.io: not Established yet: not all names are accepted",
        ]);
        assert.equal(requests.at(-1)!.url, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/b.example.io");
        assert.equal(requests.at(-1)!.auth, "Bearer s3cret");
    });
    it("gives up after the timeout naming each CRD, its state and what to check", async () => {
        states.set("ciliumnetworkpolicies.cilium.io", "missing");
        states.set("ciliumclusterwidenetworkpolicies.cilium.io", "ready");
        const started = Date.now();
        await assert.rejects(waitForCrdsEstablished({
            kubeconfig: kubeconfig("{token: t}"), names: ["ciliumnetworkpolicies.cilium.io", "ciliumclusterwidenetworkpolicies.cilium.io"], timeoutSeconds: 1, intervalMs: 100,
        }), (e: unknown) => {
            assert.ok(e instanceof CrdWaitError);
            assert.equal(e.message, `timed out after 1 s waiting for the CRD ciliumnetworkpolicies.cilium.io (not found) to be Established at ${server_}. `
                + "cilium-operator registers them when it starts: check that it runs (kubectl -n kube-system get deploy/cilium-operator) "
                + "and read its logs (kubectl -n kube-system logs deploy/cilium-operator); or raise crdTimeoutSeconds.");
            return true;
        });
        const took = Date.now() - started;
        assert.ok(took >= 1000 && took < 3000, `bounded: took ${took} ms`);
    });
    it("reports an unreachable apiserver in the timeout message", async () => {
        const dead = kubeconfig("{token: t}").replace(server_, "http://127.0.0.1:1");
        await assert.rejects(waitForCrdsEstablished({ kubeconfig: dead, names: ["x.example.io"], timeoutSeconds: 0.2, intervalMs: 50 }),
            /^Error: timed out after 0\.2 s waiting for the CRD x\.example\.io \(apiserver unreachable: connect ECONNREFUSED 127\.0\.0\.1:1\) to be Established at http:\/\/127\.0\.0\.1:1\./);
    });
});
