// lab/kubelet/container-state.ts: the pod status the lab kubelet writes (phase, conditions, container statuses).
import { strict as assert } from "node:assert";
import { describe, it } from "node:test";
import { newContainerState, podStatus, type ContainerState, type PodStatusInput } from "../../lab/kubelet/container-state";

const base = (containers: ContainerState[], over: Partial<PodStatusInput> = {}): PodStatusInput => ({
    uid: "u1", phase: "Pending", initialized: true, restartPolicy: undefined, startTime: "2026-01-01T00:00:00Z",
    nodeIP: "10.215.0.2", podIP: "10.0.1.5", containers, ...over,
});
const running = (name: string, ready: boolean): ContainerState => ({ ...newContainerState({ name, image: "busybox" }, false), pid: 42, proc: {} as ContainerState["proc"], started: true, ready, state: { running: { startedAt: "t" } } });
const ended = (name: string, exitCode: number): ContainerState => ({ ...newContainerState({ name, image: "busybox" }, false), state: { terminated: { exitCode } } });
const condition = (s: Record<string, unknown>, type: string) => (s["conditions"] as { type: string; status: string }[]).find((c) => c.type === type)!.status;

describe("podStatus", () => {
    it("a running pod whose containers are all ready is Running and Ready, with its IPs and container IDs", () => {
        const s = podStatus(base([running("app", true)]));
        assert.deepEqual([s["phase"], condition(s, "Ready"), s["podIP"], s["hostIP"]], ["Running", "True", "10.0.1.5", "10.215.0.2"]);
        assert.equal((s["containerStatuses"] as { containerID: string }[])[0]!.containerID, "lab://u1/app/0");
    });
    it("one container not ready keeps the pod not Ready (reason ContainersNotReady)", () => {
        const s = podStatus(base([running("app", true), running("sidecar", false)]));
        const ready = (s["conditions"] as { type: string; reason?: string }[]).find((c) => c.type === "Ready")!;
        assert.deepEqual([condition(s, "Ready"), ready.reason], ["False", "ContainersNotReady"]);
    });
    it("before init containers finish, the pod stays Pending and not Initialized", () => {
        const s = podStatus(base([running("app", true)], { initialized: false }));
        assert.deepEqual([s["phase"], condition(s, "Initialized")], ["Pending", "False"]);
    });
    it("ended containers: Succeeded or Failed under restartPolicy Never/OnFailure; Always keeps the last phase", () => {
        assert.equal(podStatus(base([ended("job", 0)], { phase: "Running", restartPolicy: "Never" }))["phase"], "Succeeded");
        assert.equal(podStatus(base([ended("job", 0), ended("b", 1)], { phase: "Running", restartPolicy: "OnFailure" }))["phase"], "Failed");
        assert.equal(podStatus(base([ended("web", 1)], { phase: "Running" }))["phase"], "Running");
    });
    it("no pod IP yet: no podIP field and PodReadyToStartContainers False", () => {
        const s = podStatus(base([], { podIP: undefined, initialized: false }));
        assert.deepEqual(["podIP" in s, condition(s, "PodReadyToStartContainers")], [false, "False"]);
    });
});
