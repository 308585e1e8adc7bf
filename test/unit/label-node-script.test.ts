// components/cluster/scripts/label-node.sh run as a file (`bash label-node.sh`, lab profile) against the lab's
// kube-apiserver, on a fake Node that kwok keeps Ready: the keys it sets are recorded in the Node's
// microseg.io/managed-labels annotation and removed once dropped from NODE_LABELS; labels it did not set stay.
// The cases that need a Node are skipped with the reason when the lab is not running (bash lab/up.sh).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, beforeEach, describe, it } from "node:test";
import { scriptPath } from "../../lib/cluster/host-scripts";

const REPO = path.join(__dirname, "..", "..");
const LAB_BIN = path.join(REPO, ".lab", "bin");
const LAB_KUBECONFIG = path.join(process.env.LAB_DIR ?? path.join(REPO, ".lab"), "kubeconfig");
const MANAGED = "microseg.io/managed-labels";
/** Per process: other runs may share the lab. */
const NODE = `label-node-test-${process.pid}`;
const MISSING = `label-node-missing-${process.pid}`;

const labUp = fs.existsSync(LAB_KUBECONFIG) && spawnSync(path.join(LAB_BIN, "kubectl"), ["--kubeconfig", LAB_KUBECONFIG, "--request-timeout=5s", "get", "--raw", "/readyz"]).status === 0;

const root = fs.mkdtempSync(path.join(os.tmpdir(), "label-node-"));
fs.mkdirSync(path.join(root, "etc", "kubernetes"), { recursive: true });
if (labUp) fs.copyFileSync(LAB_KUBECONFIG, path.join(root, "etc", "kubernetes", "admin.conf"));

function kubectl(args: string[], input?: string) {
  const r = spawnSync(path.join(LAB_BIN, "kubectl"), ["--kubeconfig", LAB_KUBECONFIG, "--request-timeout=30s", ...args], { input, encoding: "utf8" });
  assert.equal(r.status, 0, `kubectl ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

interface Run {
  status: number | null;
  stderr: string;
}

/** The script as the step runs it, but from its file, with only the variables given (NODE_LABELS undefined: unset). */
function run(labels: string | undefined, opts: { node?: string; wait?: string } = {}): Run {
  // HOME: kubectl keeps its cache there (relative to the working directory without one).
  const env: Record<string, string> = { PATH: process.env["PATH"]!, HOME: root, MICROSEG_HOST_PROFILE: "lab", MICROSEG_ROOT: root, MICROSEG_LAB_PATH: LAB_BIN, NODE_NAME: opts.node ?? NODE, NODE_WAIT_SECONDS: opts.wait ?? "0" };
  if (labels !== undefined) env["NODE_LABELS"] = labels;
  const r = spawnSync("bash", [scriptPath("label-node")], { cwd: root, env, encoding: "utf8" });
  return { status: r.status, stderr: r.stderr };
}

interface NodeState {
  labels: Record<string, string>;
  managed: string | undefined;
  resourceVersion: string;
}

function node(): NodeState {
  const n = JSON.parse(kubectl(["get", "node", NODE, "-o", "json"])) as { metadata: { labels?: Record<string, string>; annotations?: Record<string, string>; resourceVersion: string } };
  return { labels: n.metadata.labels ?? {}, managed: n.metadata.annotations?.[MANAGED], resourceVersion: n.metadata.resourceVersion };
}

/** A new fake Node as the kubelet would register it, plus a label set by hand; returns once kwok stops updating it. */
function freshNode(): void {
  kubectl(["delete", "node", NODE, "--ignore-not-found", "--wait"]);
  kubectl(["apply", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "Node", metadata: { name: NODE, labels: { "kubernetes.io/hostname": NODE }, annotations: { "kwok.x-k8s.io/node": "fake" } } }));
  kubectl(["label", "node", NODE, "hand=set"]);
  kubectl(["wait", "--for=condition=Ready", `node/${NODE}`, "--timeout=30s"]);
  // kwok and the TTL controller write the new Node once or twice; a later write would look like the script's.
  let rv = node().resourceVersion;
  for (let i = 0; i < 20; i++) {
    spawnSync("sleep", ["0.5"]);
    const now = node().resourceVersion;
    if (now === rv) return;
    rv = now;
  }
  assert.fail(`node ${NODE} kept changing (resourceVersion ${rv})`);
}

const theirs = { "kubernetes.io/hostname": NODE, hand: "set" };

describe("label-node.sh", () => {
  after(() => {
    if (labUp) spawnSync(path.join(LAB_BIN, "kubectl"), ["--kubeconfig", LAB_KUBECONFIG, "delete", "node", NODE, "--ignore-not-found"]);
    fs.rmSync(root, { recursive: true, force: true });
  });

  it("refuses a NODE_LABELS entry that is not key=value, and an unset NODE_LABELS, before any kubectl call", () => {
    const bad = run("a=1,b");
    assert.equal(bad.status, 1);
    assert.equal(bad.stderr, 'label-node: NODE_LABELS: "b" is not key=value. Fix: give "key=value,key2=value2"\n');
    assert.equal(run("=1").stderr, 'label-node: NODE_LABELS: "=1" is not key=value. Fix: give "key=value,key2=value2"\n');
    const unset = run(undefined);
    assert.equal(unset.status, 1);
    assert.match(unset.stderr, /NODE_LABELS: label-node: NODE_LABELS is required \(empty: no labels\)\n$/);
  });

  describe("against the lab's kube-apiserver", { skip: labUp ? false : "the lab is not running (bash lab/up.sh)" }, () => {
    beforeEach(freshNode);

    it("sets and records its labels; a re-run writes nothing; a dropped label goes, labels it did not set stay", () => {
      const set = run("a=1,b=2");
      assert.equal(set.status, 0, set.stderr);
      assert.equal(set.stderr, `label-node: labelled ${NODE}: set a=1 b=2\n`);
      const first = node();
      assert.deepEqual(first.labels, { ...theirs, a: "1", b: "2" });
      assert.equal(first.managed, "a,b");

      const again = run("a=1,b=2");
      assert.equal(again.status, 0, again.stderr);
      assert.equal(again.stderr, `label-node: nothing to do: node ${NODE} has a=1, b=2\n`);
      assert.equal(node().resourceVersion, first.resourceVersion, "the guard writes nothing");

      const changed = run("a=3");
      assert.equal(changed.status, 0, changed.stderr);
      assert.equal(changed.stderr, `label-node: labelled ${NODE}: set a=3; removed b\n`);
      assert.deepEqual(node().labels, { ...theirs, a: "3" });
      assert.equal(node().managed, "a");

      const none = run("");
      assert.equal(none.status, 0, none.stderr);
      assert.equal(none.stderr, `label-node: labelled ${NODE}: removed a\n`);
      assert.deepEqual(node().labels, theirs);
      assert.equal(node().managed, undefined, "no labels left to manage: the annotation is gone");

      const rv = node().resourceVersion;
      assert.equal(run("").stderr, `label-node: nothing to do: node ${NODE} has no labels set by microseg\n`);
      assert.equal(node().resourceVersion, rv);
    });

    it("prefixed keys and empty values; the annotation lists keys sorted", () => {
      const labels = "topology.kubernetes.io/zone=lab-a,node-role.kubernetes.io/worker=";
      const set = run(labels);
      assert.equal(set.status, 0, set.stderr);
      assert.equal(set.stderr, `label-node: labelled ${NODE}: set node-role.kubernetes.io/worker= topology.kubernetes.io/zone=lab-a\n`);
      assert.deepEqual(node().labels, { ...theirs, "node-role.kubernetes.io/worker": "", "topology.kubernetes.io/zone": "lab-a" });
      assert.equal(node().managed, "node-role.kubernetes.io/worker,topology.kubernetes.io/zone");
      assert.equal(run(labels).stderr, `label-node: nothing to do: node ${NODE} has topology.kubernetes.io/zone=lab-a, node-role.kubernetes.io/worker=\n`);

      const zone = run("node-role.kubernetes.io/worker=,topology.kubernetes.io/zone=");
      assert.equal(zone.stderr, `label-node: labelled ${NODE}: set topology.kubernetes.io/zone=\n`, "a value changed to empty is a change");
      const role = run("topology.kubernetes.io/zone=");
      assert.equal(role.stderr, `label-node: labelled ${NODE}: removed node-role.kubernetes.io/worker\n`);
      assert.deepEqual(node().labels, { ...theirs, "topology.kubernetes.io/zone": "" });
      assert.equal(node().managed, "topology.kubernetes.io/zone");
    });

    it("a configured label already on the Node (set before the annotation existed) is recorded without a label write", () => {
      kubectl(["label", "node", NODE, "pool=edge"]);
      const rv = node().resourceVersion;
      const r = run("pool=edge");
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stderr, `label-node: labelled ${NODE}: recorded ${MANAGED}=pool\n`);
      assert.equal(node().managed, "pool");
      assert.notEqual(node().resourceVersion, rv);
      // Recorded, so microseg now removes it when it leaves the config.
      assert.equal(run("").stderr, `label-node: labelled ${NODE}: removed pool\n`);
      assert.deepEqual(node().labels, theirs);
    });

    it("a recorded label already removed by hand: only the annotation is updated", () => {
      run("a=1,b=2");
      kubectl(["label", "node", NODE, "b-"]);
      const r = run("a=1");
      assert.equal(r.stderr, `label-node: labelled ${NODE}: recorded ${MANAGED}=a\n`);
      assert.equal(node().managed, "a");
      kubectl(["label", "node", NODE, "a-"]);
      assert.equal(run("").stderr, `label-node: labelled ${NODE}: removed the ${MANAGED} annotation\n`);
      assert.equal(node().managed, undefined);
    });

    it("a new label is recorded before it is set: a label write that fails leaves nothing set and unrecorded", () => {
      assert.equal(run("a=1").status, 0);
      // The apiserver refuses a value over 63 characters: the label write fails after the annotation grew.
      const r = run(`a=1,big=${"x".repeat(64)}`);
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, /label-node: kubectl label node \S+ failed\n$/);
      assert.equal(node().managed, "a,big", "recorded before the write");
      assert.equal(node().labels["big"], undefined);
      // The config drops it again: nothing to remove, the record shrinks back.
      const back = run("a=1");
      assert.equal(back.status, 0, back.stderr);
      assert.equal(node().managed, "a");
      assert.equal(run("").status, 0);
      assert.deepEqual(node().labels, theirs);
    });

    it("a missing Node: nothing to undo with empty NODE_LABELS and no wait; labels to set fail naming the Node", () => {
      spawnSync(path.join(LAB_BIN, "kubectl"), ["--kubeconfig", LAB_KUBECONFIG, "delete", "node", MISSING, "--ignore-not-found"]);
      const undo = run("", { node: MISSING, wait: "0" });
      assert.equal(undo.status, 0, undo.stderr);
      assert.equal(undo.stderr, `label-node: nothing to do: node ${MISSING} is not in the cluster\n`);
      const set = run("a=1", { node: MISSING, wait: "0" });
      assert.equal(set.status, 1);
      assert.equal(set.stderr, `label-node: node ${MISSING} did not register within 0s. Fix: check the kubelet on ${MISSING} (journalctl -u kubelet), then re-run pulumi up\n`);
    });
  });
});
