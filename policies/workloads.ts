/**
 * The walk-through's demo: busybox and test-app in `default`, backend-app in `backend`, a busybox in
 * `frontend` (should reach backend-app) and one in `test` (should not). kube-dns is declared because
 * every kubeadm cluster has it and DNS egress rules select it.
 */
import { Workloads, type WorkloadsInput } from "../lib/policy/model/workloads-schema";

const ns = (name: string, labels: Record<string, string> = {}) => ({ name, labels: { "kubernetes.io/metadata.name": name, ...labels } });

const input: WorkloadsInput = {
  namespaces: [ns("default"), ns("backend"), ns("frontend"), ns("test"), ns("kube-system")],
  workloads: [
    { name: "busybox", namespace: "default", labels: { app: "busybox" } },
    {
      name: "test-app",
      namespace: "default",
      labels: { app: "test-app" },
      serves: [{ port: 80, protocol: "TCP", http: [{ method: "GET", path: "/api" }, { method: "POST", path: "/submit" }] }],
    },
    { name: "backend-app", namespace: "backend", labels: { app: "backend-app" }, serves: [{ port: 80, protocol: "TCP" }] },
    { name: "busybox", namespace: "frontend", labels: { app: "busybox" } },
    { name: "busybox", namespace: "test", labels: { app: "busybox" } },
    {
      name: "coredns",
      namespace: "kube-system",
      labels: { "k8s-app": "kube-dns" },
      serves: [{ port: 53, protocol: "UDP" }, { port: 53, protocol: "TCP" }],
    },
  ],
};

export const workloads: Workloads = Workloads.parse(input);
