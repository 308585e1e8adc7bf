// A container's state as the lab kubelet tracks it, and the pod status written from those states (phase,
// conditions, container statuses), the way the kubelet reports them.
import type { ChildProcess } from "node:child_process";
import type { Obj } from "./kube";

export interface ContainerState {
    name: string;
    image: string;
    init: boolean;
    restartCount: number;
    proc?: ChildProcess;
    pid?: number;
    startedAt?: string;
    started: boolean;
    ready: boolean;
    state: Obj;
    lastState: Obj;
    /** Set when the container is not run (skipped init container, or an image with no binary). */
    skipped?: string;
    exited?: Promise<number>;
    probeTimers: NodeJS.Timeout[];
    livenessFailures: number;
}

export function newContainerState(c: Obj, init: boolean): ContainerState {
    return { name: c.name, image: c.image, init, restartCount: 0, started: false, ready: false, state: { waiting: { reason: "ContainerCreating" } }, lastState: {}, probeTimers: [], livenessFailures: 0 };
}

/** The containerID of a container's current run: a new one per restart, as with a real runtime. */
export function containerId(podUid: string, c: ContainerState): string {
    return `lab://${podUid}/${c.name}/${c.restartCount}`;
}

export interface PodStatusInput {
    uid: string;
    /** The phase reported so far: Running stays until every container ended, then Succeeded or Failed. */
    phase: string;
    initialized: boolean;
    restartPolicy: string | undefined;
    startTime: string;
    nodeIP: string;
    podIP: string | undefined;
    containers: readonly ContainerState[];
}

/** The pod's status object; its `phase` is the new phase to remember. */
export function podStatus(p: PodStatusInput): Obj {
    const mains = p.containers.filter((c) => !c.init);
    const inits = p.containers.filter((c) => c.init);
    const allReady = mains.every((c) => c.ready);
    const anyRunning = mains.some((c) => c.proc);
    const policy = p.restartPolicy ?? "Always";
    const allDone = mains.every((c) => c.state.terminated);
    let phase = p.phase;
    if (p.initialized && anyRunning) phase = "Running";
    else if (p.initialized && allDone && policy !== "Always") phase = mains.every((c) => c.state.terminated?.exitCode === 0) ? "Succeeded" : "Failed";
    const cond = (type: string, ok: boolean, reason?: string) => ({ type, status: ok ? "True" : "False", lastTransitionTime: p.startTime, ...(ok || !reason ? {} : { reason }) });
    const cs = (c: ContainerState) => ({
        name: c.name,
        image: c.image,
        imageID: "",
        ...(c.pid || c.state.terminated ? { containerID: containerId(p.uid, c) } : {}),
        ready: c.ready,
        started: c.init ? undefined : c.started,
        restartCount: c.restartCount,
        state: c.state,
        lastState: c.lastState,
    });
    return {
        phase,
        hostIP: p.nodeIP,
        hostIPs: [{ ip: p.nodeIP }],
        ...(p.podIP ? { podIP: p.podIP, podIPs: [{ ip: p.podIP }] } : {}),
        startTime: p.startTime,
        conditions: [
            cond("PodReadyToStartContainers", p.podIP !== undefined),
            cond("Initialized", p.initialized, "ContainersNotInitialized"),
            cond("Ready", p.initialized && allReady, "ContainersNotReady"),
            cond("ContainersReady", p.initialized && allReady, "ContainersNotReady"),
            cond("PodScheduled", true),
        ],
        ...(inits.length ? { initContainerStatuses: inits.map(cs) } : {}),
        containerStatuses: mains.map(cs),
    };
}
