// lib/policy/matrix-render.ts: goldens of the three formats (UPDATE_GOLDEN=1 rewrites them) and the html page in a real
// headless browser (Debian's chromium): the screenshot must exist and show the verdict colours.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { PNG } from "pngjs";
import { renderHtml, renderJson, renderMatrix, renderTable } from "../../lib/policy/matrix-render";
import { buildVerdictEngine, type Matrix } from "../../lib/policy/verdicts";
import { cnp } from "../../lib/policy/model/helpers";
import { policies } from "../fixtures/policies";
import { workloads } from "../fixtures/policies/workloads";
import { assertGolden } from "../fixtures/golden";


/** The demo, plus a deny rule (test may not reach backend) and an external address, so every verdict shows. */
function fixture(): { m: Matrix; notes: readonly string[] } {
  const denyTest = cnp("no-backend", "test", {
    endpointSelector: {},
    egress: [{ toEntities: ["all"] }],
    egressDeny: [{ toEndpoints: [{ matchLabels: { "k8s:io.kubernetes.pod.namespace": "backend" } }] }],
  });
  const e = buildVerdictEngine([...policies, denyTest], workloads, { externals: [{ name: "registry", address: "203.0.113.10" }] });
  return { m: e.matrix(), notes: e.notes };
}

describe("renderMatrix goldens", () => {
  const { m } = fixture();
  it("table", () => assertGolden("matrix/demo.table.txt", renderTable(m)));
  it("json", () => assertGolden("matrix/demo.json", renderJson(m)));
  it("html", () => assertGolden("matrix/demo.html", renderHtml(m)));
  it("renderMatrix dispatches on the format", () => {
    assert.equal(renderMatrix(m, "json"), renderJson(m));
    assert.equal(renderMatrix(m, "table"), renderTable(m));
  });
});

describe("renderJson", () => {
  it("is valid JSON with one flow per evaluated cell, the deciding policies and L7 rules", () => {
    const { m } = fixture();
    const doc = JSON.parse(renderJson(m)) as { enforcement: string; sources: string[]; flows: { from: string; to: string; port: string; protocol: string; verdict: string; policies: string[]; l7: { rule: string }[] }[] };
    assert.equal(doc.enforcement, "default");
    assert.equal(doc.flows.length, Array.from(m.cells).filter((c) => c >= 0).length);
    const f = (from: string, to: string) => doc.flows.find((x) => x.from === from && x.to === to)!;
    assert.deepEqual([f("default/busybox", "default/test-app").verdict, f("default/busybox", "default/test-app").l7.map((x) => x.rule)], ["allowed-l7", ["GET /api", "POST /submit"]]);
    assert.deepEqual([f("test/busybox", "backend/backend-app").verdict, f("test/busybox", "backend/backend-app").policies], ["denied-rule", ["test/no-backend"]]);
    assert.deepEqual([f("frontend/busybox", "default/test-app").verdict, f("frontend/busybox", "default/test-app").policies], ["denied-default", ["frontend/busybox-egress"]]);
  });
});

describe("renderHtml", () => {
  const { m, notes } = fixture();
  const html = renderHtml(m, { notes: ["a note <b>escaped</b>"] });
  it("is one self-contained page: inline CSS, no script, no external URL", () => {
    assert.match(html, /^<!doctype html>/);
    assert.doesNotMatch(html, /<script|<link|src=|url\(|https?:\/\//);
    assert.match(html, /<li>a note &lt;b&gt;escaped&lt;\/b&gt;<\/li>/);
    assert.deepEqual(notes, []);
  });
  it("puts the deciding policy and the L7 rules in each cell's title", () => {
    assert.ok(html.includes('title="default/busybox → default/test-app TCP/80\nallowed-l7 (allowed at egress of default/busybox by default/busybox-egress; L7 at ingress of default/test-app: default/http-filtering GET /api, default/http-filtering POST /submit)\nL7 rules:\n  ingress default/http-filtering: GET /api\n  ingress default/http-filtering: POST /submit"'));
    assert.ok(html.includes('title="test/busybox → backend/backend-app TCP/80\ndenied-rule (deny rule at egress of test/busybox from test/no-backend)"'));
  });

  const chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => fs.existsSync(p));
  it("renders in headless chromium: a non-trivial screenshot with the verdict colours", { skip: chromium ? false : "chromium is not installed (apt-get install -y chromium)", timeout: 120_000 }, () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "microseg-matrix-"));
    const page = path.join(dir, "matrix.html");
    const shot = path.join(dir, "matrix.png");
    fs.writeFileSync(page, html);
    const r = spawnSync(chromium!, [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", `--user-data-dir=${path.join(dir, "profile")}`, `--screenshot=${shot}`, "--window-size=1400,900", `file://${page}`,
    ], { encoding: "utf8", timeout: 90_000 });
    assert.ok(fs.existsSync(shot), `no screenshot; chromium exited ${r.status}:\n${r.stderr}`);
    assert.ok(fs.statSync(shot).size > 20_000, `screenshot is only ${fs.statSync(shot).size} bytes`);
    const png = PNG.sync.read(fs.readFileSync(shot));
    assert.deepEqual([png.width, png.height], [1400, 900]);
    // Count pixels of each verdict colour (the CSS variables), with a little tolerance for anti-aliasing.
    const want: Record<string, [number, number, number]> = { allowed: [0x1f, 0x9d, 0x55], open: [0xb9, 0xe4, 0xc9], l7: [0x2b, 0x6c, 0xb0], default: [0xf2, 0xa3, 0x0f], rule: [0xd6, 0x45, 0x45] };
    const seen: Record<string, number> = Object.fromEntries(Object.keys(want).map((k) => [k, 0]));
    for (let i = 0; i < png.data.length; i += 4) {
      for (const [k, [r0, g0, b0]] of Object.entries(want)) {
        if (Math.abs(png.data[i]! - r0) + Math.abs(png.data[i + 1]! - g0) + Math.abs(png.data[i + 2]! - b0) < 12) seen[k]!++;
      }
    }
    for (const [k, n] of Object.entries(seen)) assert.ok(n > 200, `colour ${k} covers only ${n} pixels: ${JSON.stringify(seen)}`);
  });
});
