// Which container images the lab kubelet can run, and with what: each image the chart, kubeadm's DNS addon and the
// demo use is mapped to the binaries built here (lab/build-cilium.sh, lab/build-coredns.sh) or installed from Debian
// (nginx, coreutils), laid out at the paths the real image has them, as an overlay layer over this machine's "/"
// (lab/kubelet/container.sh). An image with no binary here is NOT run: its pods stay Pending with a reason that
// says why (the lab never reports a container running that does not run).
import * as path from "node:path";

/** One entry of an image layer (container.sh creates them on the container's tmpfs). */
export type LayerEntry =
    | { type: "dir"; path: string }
    | { type: "symlink"; path: string; target: string }
    /** A copy of a (small) directory or file, writable in the container as in the image. */
    | { type: "copy"; path: string; target: string }
    | { type: "file"; path: string; content: string };

export interface LabImage {
    /** What the image is here, for logs and the README. */
    readonly what: string;
    readonly layer: LayerEntry[];
    /** The image's ENTRYPOINT and CMD (used when the pod spec gives no command / args). */
    readonly entrypoint: string[];
    readonly cmd: string[];
    /** The image's ENV. */
    readonly env: Record<string, string>;
    readonly workingDir: string;
    /** A container of this image the lab does not run, and why (e.g. init containers that act on the machine's namespaces). */
    readonly skip?: (argv: readonly string[]) => string | undefined;
}

export type ImageLookup = { image: LabImage } | { unavailable: string };

/** Where the lab's files are. */
export interface ImageDirs {
    readonly binDir: string;
    readonly shareDir: string;
}

const IMAGE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * Where a container sees the lab's bin/ and share/, which container.sh binds there read-only: at the root, where no
 * volume of a pod covers them (a checkout under /tmp would lie below the emptyDir Cilium's init containers mount at
 * /tmp, and their binaries would vanish). Image symlinks point here; `copy` entries read the host's paths.
 */
export const CONTAINER_LAB_DIRS: ImageDirs = { binDir: "/.microseg-lab/bin", shareDir: "/.microseg-lab/share" };
const inBin = (...p: string[]) => path.posix.join(CONTAINER_LAB_DIRS.binDir, ...p);
const inShare = (...p: string[]) => path.posix.join(CONTAINER_LAB_DIRS.shareDir, ...p);

const bins = (at: string, names: string[]): LayerEntry[] => names.map((n) => ({ type: "symlink", path: `${at}/${n}`, target: inBin(n) }));

/** The nginx image's main config, as the official image's (includes conf.d/*.conf), logging to the container's output. */
export const NGINX_MAIN_CONFIG = [
    "worker_processes 1;",
    "error_log stderr notice;",
    "pid /run/nginx.pid;",
    "events { worker_connections 256; }",
    "http {",
    "  default_type application/octet-stream;",
    "  access_log /dev/stdout;",
    "  sendfile on;",
    "  keepalive_timeout 65;",
    "  include /etc/nginx/conf.d/*.conf;",
    "}",
    "",
].join("\n");

/** The repository part of an image reference ("quay.io/cilium/cilium:v1.20.2@sha256:..." -> "quay.io/cilium/cilium"). */
export function imageRepository(ref: string): string {
    const noDigest = ref.split("@")[0]!;
    const slash = noDigest.lastIndexOf("/");
    const colon = noDigest.lastIndexOf(":");
    const repo = colon > slash ? noDigest.slice(0, colon) : noDigest;
    // Docker Hub short names, as a runtime normalises them.
    if (!repo.includes("/")) return `docker.io/library/${repo}`;
    if (!repo.split("/")[0]!.includes(".")) return `docker.io/${repo}`;
    return repo;
}

export function lookupImage(ref: string, dirs: ImageDirs): ImageLookup {
    const repo = imageRepository(ref);
    const cilium = path.join(dirs.shareDir, "cilium");
    switch (repo) {
        case "quay.io/cilium/cilium":
            return {
                image: {
                    what: "cilium-agent and its tools, built by lab/build-cilium.sh",
                    layer: [
                        ...bins("/usr/bin", ["cilium-agent", "cilium-dbg", "cilium-health", "cilium-health-responder", "hubble"]),
                        { type: "symlink", path: "/opt/cni/bin/cilium-cni", target: inBin("cilium-cni") },
                        // The image's scripts (images/cilium/Dockerfile copies them from the module), copied by lab/nodes-up.sh.
                        ...["init-container.sh", "install-plugin.sh", "cni-uninstall.sh"].map((s): LayerEntry => ({ type: "symlink", path: `/${s}`, target: inShare("cilium-image", s) })),
                        // The agent's default --lib-dir is /var/lib/cilium: the bpf/ sources live there in the image,
                        // writable (the agent writes its feature headers into bpf/include/bpf/).
                        { type: "copy", path: "/var/lib/cilium/bpf", target: path.join(cilium, "bpf") },
                        // The agent execs `clang` from PATH to compile its programs (the image has it in /usr/local/bin).
                        { type: "symlink", path: "/usr/local/bin/clang", target: inBin("cilium-tools", "clang") },
                        { type: "dir", path: "/home/cilium" },
                    ],
                    entrypoint: [],
                    cmd: ["/usr/bin/cilium-dbg"],
                    env: { PATH: IMAGE_PATH, HUBBLE_SERVER: "unix:///var/run/cilium/hubble.sock", INITSYSTEM: "SYSTEMD" },
                    workingDir: "/home/cilium",
                    skip: (argv) => {
                        const line = argv.join(" ");
                        if (line.includes("cilium-mount")) {
                            return "not run in the lab: it enters the namespaces of the machine's PID 1 (nsenter --cgroup=/hostproc/1/ns/cgroup --mount=/hostproc/1/ns/mnt) to mount cgroup2 on the machine; lab/nodes-up.sh mounts this node's own cgroup (a child of the machine's cgroup2) at the node's /run/cilium/cgroupv2 instead";
                        }
                        if (line.includes("cilium-sysctlfix")) {
                            return "not run in the lab: it enters the machine's mount namespace (nsenter --mount=/hostproc/1/ns/mnt) to write sysctl.d files for the machine's systemd; the lab leaves the machine's sysctls alone";
                        }
                        return undefined;
                    },
                },
            };
        case "quay.io/cilium/operator-generic":
            // ENV and WORKDIR as images/operator/Dockerfile and images/hubble-relay/Dockerfile set them.
            return { image: { what: "cilium-operator-generic, built by lab/build-cilium.sh", layer: [...bins("/usr/bin", ["cilium-operator-generic"]), { type: "dir", path: "/home/gops" }], entrypoint: [], cmd: ["/usr/bin/cilium-operator-generic"], env: { PATH: IMAGE_PATH, GOPS_CONFIG_DIR: "/home/gops" }, workingDir: "/" } };
        case "quay.io/cilium/hubble-relay":
            return { image: { what: "hubble-relay, built by lab/build-cilium.sh", layer: bins("/usr/bin", ["hubble-relay"]), entrypoint: ["/usr/bin/hubble-relay"], cmd: ["serve"], env: { PATH: IMAGE_PATH, GOPS_CONFIG_DIR: "/tmp" }, workingDir: "/tmp" } };
        case "registry.k8s.io/coredns/coredns":
            return { image: { what: "CoreDNS, built by lab/build-coredns.sh", layer: [{ type: "symlink", path: "/coredns", target: inBin("coredns") }], entrypoint: ["/coredns"], cmd: [], env: { PATH: IMAGE_PATH }, workingDir: "/" } };
        case "docker.io/library/nginx":
            return {
                image: {
                    what: "Debian's nginx (nginx-light, extracted by lab/fetch-nginx.sh) with the image's layout: /etc/nginx/nginx.conf including conf.d/*.conf",
                    layer: [
                        { type: "symlink", path: "/usr/sbin/nginx", target: inShare("nginx", "usr", "sbin", "nginx") },
                        { type: "file", path: "/etc/nginx/nginx.conf", content: NGINX_MAIN_CONFIG },
                        { type: "dir", path: "/etc/nginx/conf.d" },
                        { type: "dir", path: "/var/lib/nginx" },
                        { type: "dir", path: "/var/log/nginx" },
                        { type: "dir", path: "/var/cache/nginx" },
                    ],
                    // The image's /docker-entrypoint.sh only runs its template/IPv6 helper scripts before exec'ing CMD.
                    entrypoint: [],
                    cmd: ["nginx", "-g", "daemon off;"],
                    env: { PATH: IMAGE_PATH },
                    workingDir: "/",
                },
            };
        case "docker.io/library/busybox":
            // The demo runs `sleep infinity`: coreutils' sleep (and the machine's tools for probes) from the lower layer.
            return { image: { what: "this machine's coreutils in place of busybox's applets", layer: [], entrypoint: [], cmd: ["sh"], env: { PATH: IMAGE_PATH }, workingDir: "/" } };
        case "quay.io/cilium/cilium-envoy":
            return { unavailable: "no cilium-envoy binary in this lab: Envoy is C++ built with Bazel, which this machine cannot fetch or build (no Debian or npm package of Cilium's Envoy either)" };
        case "quay.io/cilium/hubble-ui":
        case "quay.io/cilium/hubble-ui-backend":
            return { unavailable: `no ${repo.split("/").pop()} binary in this lab: Hubble UI is not built here (reach flows with the hubble CLI through the relay)` };
        default:
            return { unavailable: `no binary for image ${ref} in this lab (lab/kubelet/images.ts maps the images of the chart, kubeadm's CoreDNS and the demo only)` };
    }
}
