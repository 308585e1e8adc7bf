/** The policy set deployed by PolicySet: every file of policies/, in a stable order. */
import type { PolicyManifest } from "../lib/policy/model/schema";
import { policies as backend } from "./backend";
import { policies as defaultTestApp } from "./default-test-app";
import { policies as frontend } from "./frontend";
import { policies as kubeSystem } from "./kube-system";

export const policies: readonly PolicyManifest[] = [...defaultTestApp, ...backend, ...frontend, ...kubeSystem];
