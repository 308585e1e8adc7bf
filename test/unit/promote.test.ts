// cli/promote.ts on a fake seam (no engine): the refusals with their reasons, the confirmation rules, the tags,
// and that promoting the same thing twice applies nothing.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { nextStep, promote, refusals, type HistoryEntry, type PreviewFacts, type PromoteFacts, type PromoteSeam } from "../../cli/promote";
import { policies } from "../../policies";
import { namespaceIsolation } from "../../policies/backend";
import { expectations } from "../../policies/expectations";
import { cnp, fromNamespace } from "../../policies/helpers";
import { workloads } from "../../policies/workloads";

const ok: HistoryEntry = { kind: "update", result: "succeeded", version: 3, startTime: "2026-01-01T00:00:00.000Z" };
const clean: PreviewFacts = { changes: {}, stdout: "" };
const facts = (f: Partial<PromoteFacts> = {}): PromoteFacts => ({
    from: "dev", to: "staging", fromExists: true, toExists: true, fromHistory: [ok], fromEnforcement: "default", fromPreview: clean, ...f,
});
const model = { policies, workloads, expectations };

describe("refusals (pure)", () => {
    it("none when FROM exists, last update succeeded, preview is empty and expectations hold", () => {
        assert.deepEqual(refusals(facts()), []);
    });
    it("FROM or TO missing, the same stack twice", () => {
        assert.deepEqual(refusals(facts({ fromExists: false, toExists: false })), [
            'stack "dev" does not exist (pulumi stack ls lists the stacks of this project and backend)',
            'stack "staging" does not exist: create it with its own config first (pulumi stack init staging, Pulumi.staging.yaml)',
        ]);
        assert.deepEqual(refusals(facts({ to: "dev" })), ['FROM and TO are the same stack "dev"']);
    });
    it("a failed last update, a stack never updated, a destroyed stack", () => {
        assert.deepEqual(refusals(facts({ fromHistory: [{ ...ok, version: 4, result: "failed" }, ok] })), [
            'the last update of "dev" (#4 at 2026-01-01T00:00:00.000Z) ended "failed": fix it and pulumi up --stack dev until it succeeds',
        ]);
        assert.deepEqual(refusals(facts({ fromHistory: [] })), ['stack "dev" has never been updated (no update in its history): pulumi up --stack dev first']);
        assert.deepEqual(refusals(facts({ fromHistory: [{ kind: "destroy", result: "succeeded", version: 5 }, ok] })), [
            'stack "dev" was destroyed by its last operation (#5, succeeded): nothing runs there to promote',
        ]);
        // A refresh after a good update does not hide it.
        assert.deepEqual(refusals(facts({ fromHistory: [{ kind: "refresh", result: "succeeded" }, ok] })), []);
    });
    it("pending changes, a failing preview", () => {
        assert.deepEqual(refusals(facts({ fromPreview: { changes: { update: 1, create: 2 }, stdout: "" } })), [
            '"dev" is not up to date with this code: its preview shows changes (create 2, update 1); pulumi up --stack dev (and test it) before promoting, or undo the edit',
        ]);
        assert.match(refusals(facts({ fromPreview: undefined, fromPreviewError: "boom\nline2" }))[0]!, /^the preview of "dev" fails, so it cannot be shown up to date:\n {6}boom\n {6}line2$/);
    });
    it("broken expectations and an invalid config, all reasons at once", () => {
        const r = refusals(facts({ brokenExpectations: "expectations (policyEnforcementMode default): 1 of 16 broken:\n  - x", fromConfigError: "bad", fromPreview: { changes: { update: 1 }, stdout: "" } }));
        assert.equal(r.length, 3);
        assert.equal(r[1], 'the expectations (policies/expectations.ts) fail on "dev":\n    expectations (policyEnforcementMode default): 1 of 16 broken:\n      - x');
    });
});

describe("nextStep (pure)", () => {
    const changed = { changes: { update: 1 }, stdout: "" };
    it("nothing to do on an empty preview, whatever the flags", () => {
        assert.equal(nextStep(clean, { yes: false, interactive: false }), "nothing-to-do");
        assert.equal(nextStep(clean, { yes: true, interactive: true }), "nothing-to-do");
    });
    it("--yes applies; a terminal asks; neither refuses", () => {
        assert.equal(nextStep(changed, { yes: true, interactive: false }), "apply");
        assert.equal(nextStep(changed, { yes: false, interactive: true }), "ask");
        assert.equal(nextStep(changed, { yes: false, interactive: false }), "refuse-no-confirmation");
    });
});

/** A fake seam: two stacks, dev deployed; staging's preview has `pending` changes until an up. */
function fakeSeam(opts: { devPreview?: PreviewFacts; devHistory?: HistoryEntry[]; devConfig?: Record<string, unknown> } = {}) {
    const calls: string[] = [];
    let stagingPending: Record<string, number> = { update: 1 };
    const tags: Record<string, string> = {};
    const seam: PromoteSeam = {
        exists: async (s) => ["dev", "staging"].includes(s),
        history: async () => opts.devHistory ?? [ok],
        config: async () => opts.devConfig ?? { environment: "dev", cluster: { mode: "existing", kubeconfigPath: "k", controlPlaneEndpoint: "127.0.0.1:6443" }, cilium: { version: "1.18.2", policyEnforcementMode: "default" } },
        outputs: async () => ({ policyDigest: "abc123" }),
        preview: async (s) => {
            calls.push(`preview ${s}`);
            if (s === "dev") return opts.devPreview ?? clean;
            return { changes: stagingPending, stdout: Object.keys(stagingPending).length ? "~ update\ntraffic: a → b TCP/80: allowed → DENIED (x)" : "" };
        },
        up: async (s) => {
            calls.push(`up ${s}`);
            const changes = stagingPending;
            stagingPending = {};
            return { changes, stdout: "" };
        },
        setTags: async (s, t) => {
            calls.push(`tag ${s}`);
            Object.assign(tags, t);
        },
    };
    return { seam, calls, tags };
}

const run = async (seam: PromoteSeam, o: { yes?: boolean; interactive?: boolean; confirm?: () => Promise<boolean> } = {}, m = model) => {
    let out = "";
    const code = await promote({ from: "dev", to: "staging", yes: o.yes ?? false, interactive: o.interactive ?? false, confirm: o.confirm, projectDir: "/nonexistent", out: (s) => (out += s), commit: "f".repeat(40) }, seam, m);
    return { code, out };
};

describe("promote on a fake seam", () => {
    it("--yes: shows staging's preview with the traffic lines, applies, tags; a second run applies nothing", async () => {
        const { seam, calls, tags } = fakeSeam();
        const first = await run(seam, { yes: true });
        assert.equal(first.code, 0, first.out);
        assert.match(first.out, /preview of "staging":\n~ update\ntraffic: a → b TCP\/80: allowed → DENIED \(x\)\n/);
        assert.deepEqual(calls, ["preview dev", "preview staging", "up staging", "tag staging"]);
        assert.deepEqual(tags, { "microseg:promoted-from": "dev", "microseg:policy-digest": "abc123", "microseg:commit": "f".repeat(40) });
        const second = await run(seam, { yes: true });
        assert.equal(second.code, 0);
        assert.match(second.out, /"staging" already runs what "dev" runs: its preview shows no changes; nothing applied\./);
        assert.deepEqual(calls.slice(4), ["preview dev", "preview staging"]);
    });
    it("no terminal and no --yes: refused after the preview, exit 1, nothing applied", async () => {
        const { seam, calls } = fakeSeam();
        const r = await run(seam);
        assert.equal(r.code, 1);
        assert.match(r.out, /not applied: "staging" would change \(update 1\); there is no terminal to confirm on: pass --yes to apply\./);
        assert.ok(!calls.includes("up staging"));
    });
    it("a terminal: applies only when confirmed", async () => {
        const declined = fakeSeam();
        assert.equal((await run(declined.seam, { interactive: true, confirm: async () => false })).code, 1);
        assert.ok(!declined.calls.includes("up staging"));
        const confirmed = fakeSeam();
        assert.equal((await run(confirmed.seam, { interactive: true, confirm: async () => true })).code, 0);
        assert.ok(confirmed.calls.includes("up staging"));
    });
    it("pending changes on dev: refused with the reason before staging is even previewed", async () => {
        const { seam, calls } = fakeSeam({ devPreview: { changes: { update: 1 }, stdout: "" } });
        const r = await run(seam, { yes: true });
        assert.equal(r.code, 1);
        assert.equal(r.out, 'refusing to promote "dev" to "staging" (nothing was changed):\n  - "dev" is not up to date with this code: its preview shows changes (update 1); pulumi up --stack dev (and test it) before promoting, or undo the edit\n');
        assert.deepEqual(calls, ["preview dev"]);
    });
    it("expectations broken by the project's policies under dev's enforcement mode: refused naming the flow", async () => {
        const onlyTest = cnp("namespace-isolation", "backend", { endpointSelector: { matchLabels: { app: "backend-app" } }, ingress: [{ fromEndpoints: [fromNamespace("test")] }] });
        const broken = { ...model, policies: policies.map((p) => (p === namespaceIsolation ? onlyTest : p)) };
        const { seam } = fakeSeam();
        const r = await run(seam, { yes: true }, broken);
        assert.equal(r.code, 1);
        assert.match(r.out, /the expectations \(policies\/expectations\.ts\) fail on "dev":\n {4}expectations \(policyEnforcementMode default\): 2 of 16 broken:\n {6}- frontend\/busybox → backend\/backend-app TCP\/80: expected allowed, got denied-default/);
    });
    it("a failed last update on dev: refused", async () => {
        const { seam } = fakeSeam({ devHistory: [{ kind: "update", result: "failed", version: 7 }] });
        const r = await run(seam, { yes: true });
        assert.equal(r.code, 1);
        assert.match(r.out, /the last update of "dev" \(#7\) ended "failed"/);
    });
});
