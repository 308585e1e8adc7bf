// IdentityCheck: kubeadm needs every node's hostname, MAC addresses and product_uuid unique (cloned VMs share them).
// One dynamic resource for the cluster that reads each host's identity (read-identity.sh) over SSH and compares them
// before any host is prepared.
// Decisions:
// - it reads the hosts itself, in its own create, rather than comparing what an earlier step printed: a failed
//   check records nothing, so after the VM is fixed the next `up` reads the hosts afresh (an earlier step's output
//   would stay in the state, and the check would keep failing on it);
// - it reads again only when the set of hosts or the script changes (an added host is compared with all others);
// - every host's key is pinned (the key its wait-ssh recorded, or the one in config), as for the host's own steps.
import * as pulumi from "@pulumi/pulumi";
import { identityClashes, parseIdentity, type HostIdentity } from "../../lib/host-scripts";
import { runSpec, type Conn, type SshConnectionArgs, type Spec } from "./ssh-command";

export interface IdentityCheckArgs {
    /** Every host of the cluster: its name (in errors) and how to reach it, `hostKey` pinned. */
    readonly hosts: ReadonlyArray<{ readonly hostName: string; readonly connection: pulumi.Input<SshConnectionArgs> }>;
    /** The remote command that prints the host's `identity …` line (`hostStep("read-identity", …)`), per host name. */
    readonly commands: Readonly<Record<string, { readonly command: string; readonly stdin: string }>>;
}

// Local bindings: the engine serializes the provider with the functions it uses, and a binding keeps it from taking
// the whole lib/host-scripts module (and the config schema behind it) along.
const parseLine = parseIdentity;
const clashesOf = identityClashes;

interface Inputs { hosts: Array<{ hostName: string; connection: Conn }>; commands: Record<string, Spec> }
interface Outputs extends Inputs { identities: Record<string, HostIdentity> }

/** The hosts' names and commands: what makes the check read the hosts again. */
const readsAgain = (olds: Inputs, news: Inputs) =>
    JSON.stringify([olds.hosts.map((h) => h.hostName), olds.commands]) !== JSON.stringify([news.hosts.map((h) => h.hostName), news.commands]);

/** Reads every host's identity (in parallel), then refuses the clashes, naming both hosts and the fix. */
async function readAndCompare(i: Inputs): Promise<Outputs> {
    const read = await Promise.all(i.hosts.map(async (h) => {
        const r = await runSpec({ hostName: h.hostName, stepName: "read-identity", connection: h.connection }, i.commands[h.hostName]!, false, {});
        const id = parseLine(r.stdout);
        if (!id) throw new Error(`${h.hostName} read-identity: printed no "identity hostname=… product_uuid=… macs=…" line`);
        return [h.hostName, id] as const;
    }));
    const clashes = clashesOf(read);
    if (clashes.length > 0) throw new Error(clashes.join("\n"));
    return JSON.parse(JSON.stringify({ ...i, identities: Object.fromEntries(read) })) as Outputs;
}

/** The provider; everything it calls is in this file or ssh-command.ts (the engine serializes it into the state). */
export const identityCheckProvider: pulumi.dynamic.ResourceProvider = {
    async diff(_id: string, olds: Outputs, news: Inputs) {
        return { changes: JSON.stringify([olds.hosts, olds.commands]) !== JSON.stringify([news.hosts, news.commands]), replaces: [], deleteBeforeReplace: false };
    },
    async create(inputs: Inputs) {
        return { id: "identity-check", outs: await readAndCompare(inputs) };
    },
    async update(_id: string, olds: Outputs, news: Inputs) {
        // A rotated key or a re-pinned host key alone reads nothing.
        return { outs: readsAgain(olds, news) ? await readAndCompare(news) : { ...news, identities: olds.identities } };
    },
};

/** Compares the hosts' hostname, MAC addresses and product_uuid before any host is prepared. */
export class IdentityCheck extends pulumi.dynamic.Resource {
    /** Each host's identity as read, by host name. */
    declare readonly identities: pulumi.Output<Record<string, HostIdentity>>;

    constructor(name: string, args: IdentityCheckArgs, opts?: pulumi.CustomResourceOptions) {
        const additionalSecretOutputs = [...(opts?.additionalSecretOutputs ?? []), "hosts"];
        super(identityCheckProvider, name, { hosts: args.hosts, commands: args.commands, identities: undefined }, { ...opts, additionalSecretOutputs }, "microseg", "IdentityCheck");
    }
}
