// IdentityCheck: kubeadm needs every node's hostname, MAC addresses and product_uuid unique (cloned VMs share them).
// One dynamic resource for the cluster that compares the identity lines the hosts' preflight steps printed, before
// any host is prepared.
// Decisions:
// - on a clash it runs every host's preflight again (read-only) and compares what it reads now: a failed check
//   records nothing, and the preflight steps keep their old output in the state, so without the fresh read a clash
//   fixed on the host would fail every later `up`. Without a clash it opens no connection;
// - it compares again whenever the hosts, their preflight commands or outputs change (an added host is compared
//   with all others);
// - every host's key and its bastion's are pinned (the keys the wait-ssh steps recorded, or those in config), as for
//   the host's own steps.
import * as pulumi from "@pulumi/pulumi";
import { identityClashes, parseIdentity, type HostIdentity } from "../../lib/cluster/host-scripts";
import type { SshConnectionArgs } from "./ssh-command";
import { runSpec, type Conn, type Spec } from "./ssh-session";

export interface IdentityCheckArgs {
    /** Every host of the cluster: its name (in errors) and how to reach it, `hostKey` pinned. */
    readonly hosts: ReadonlyArray<{ readonly hostName: string; readonly connection: pulumi.Input<SshConnectionArgs> }>;
    /** Each host's preflight command (prints its `identity …` line; read-only), by host name. */
    readonly commands: Readonly<Record<string, { readonly command: string; readonly stdin?: string }>>;
    /** What each host's preflight step printed, by host name. */
    readonly recorded: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

// Local bindings: the engine serializes the provider with the functions it uses, and a binding keeps it from taking
// the whole lib/cluster/host-scripts module (and the config schema behind it) along.
const parseLine = parseIdentity;
const clashesOf = identityClashes;

export interface IdentityCheckInputs { hosts: Array<{ hostName: string; connection: Conn }>; commands: Record<string, Spec>; recorded: Record<string, string> }
interface Outputs extends IdentityCheckInputs { identities: Record<string, HostIdentity>; readAgain: boolean }

/** The clashes among the recorded identity lines; a host without a line counts as one (its line must be read). */
export function recordedClashes(i: IdentityCheckInputs): { identities: Array<readonly [string, HostIdentity]>; clashes: string[] } {
    const identities: Array<readonly [string, HostIdentity]> = [];
    const missing: string[] = [];
    for (const h of i.hosts) {
        const id = parseLine(i.recorded[h.hostName] ?? "");
        if (id) identities.push([h.hostName, id]);
        else missing.push(`${h.hostName}: no identity line recorded`);
    }
    return { identities, clashes: [...missing, ...clashesOf(identities)] };
}

/** Compares the recorded lines; on a clash, reads every host again (in parallel) and refuses what still clashes. */
async function compare(i: IdentityCheckInputs): Promise<Outputs> {
    const recorded = recordedClashes(i);
    const plainOuts = (o: Outputs) => JSON.parse(JSON.stringify(o)) as Outputs;
    if (recorded.clashes.length === 0) return plainOuts({ ...i, identities: Object.fromEntries(recorded.identities), readAgain: false });
    const read = await Promise.all(i.hosts.map(async (h) => {
        const r = await runSpec({ hostName: h.hostName, stepName: "preflight", connection: h.connection }, i.commands[h.hostName]!, false, {});
        const id = parseLine(r.stdout);
        if (!id) throw new Error(`${h.hostName} preflight: printed no "identity hostname=… product_uuid=… macs=…" line`);
        return [h.hostName, id] as const;
    }));
    const clashes = clashesOf(read);
    if (clashes.length > 0) throw new Error(clashes.join("\n"));
    return plainOuts({ ...i, identities: Object.fromEntries(read), readAgain: true });
}

/** The provider; everything it calls is in this file or ssh-command.ts (the engine serializes it into the state). */
export const identityCheckProvider: pulumi.dynamic.ResourceProvider = {
    async diff(_id: string, olds: Outputs, news: IdentityCheckInputs) {
        const key = (x: IdentityCheckInputs) => JSON.stringify([x.hosts, x.commands, x.recorded]);
        return { changes: key(olds) !== key(news), replaces: [], deleteBeforeReplace: false };
    },
    async create(inputs: IdentityCheckInputs) {
        return { id: "identity-check", outs: await compare(inputs) };
    },
    async update(_id: string, _olds: Outputs, news: IdentityCheckInputs) {
        return { outs: await compare(news) };
    },
};

/** Compares the hosts' hostname, MAC addresses and product_uuid before any host is prepared. */
export class IdentityCheck extends pulumi.dynamic.Resource {
    /** Each host's identity as compared, by host name. */
    declare readonly identities: pulumi.Output<Record<string, HostIdentity>>;
    /** Whether the last check had to read the hosts again (the recorded lines clashed). */
    declare readonly readAgain: pulumi.Output<boolean>;

    constructor(name: string, args: IdentityCheckArgs, opts?: pulumi.CustomResourceOptions) {
        const additionalSecretOutputs = [...(opts?.additionalSecretOutputs ?? []), "hosts"];
        super(identityCheckProvider, name, { hosts: args.hosts, commands: args.commands, recorded: args.recorded, identities: undefined, readAgain: undefined }, { ...opts, additionalSecretOutputs }, "microseg", "IdentityCheck");
    }
}
