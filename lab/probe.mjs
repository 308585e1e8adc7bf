#!/usr/bin/env node
// One probe of a flow, run inside the source's network namespace (lab/pod-exec.sh --net / --node / --outside):
//   node lab/probe.mjs tcp IP PORT [METHOD PATH]   TCP connect; with METHOD PATH an HTTP/1.1 request, status read
//   node lab/probe.mjs udp-dns IP PORT             a DNS query (A kubernetes.default.svc.cluster.local), answer read
// Prints one JSON line: {"result": "answered" | "connected" | "refused" | "timeout" | "error", "detail": "..."}.
//   answered   a reply came back (HTTP status line, DNS response): the flow passed
//   connected  TCP handshake done, no HTTP asked or no reply in time: the flow passed at L3/L4
//   refused    RST / ICMP unreachable from the destination: the packets reached it (no server on that port)
//   timeout    nothing came back in TIMEOUT_MS (default 3000): dropped on the way (e.g. by policy)
// Plain Node, no dependencies: it runs with this machine's node inside any namespace.
import * as dgram from "node:dgram";
import * as net from "node:net";

const [kind, ip, portText, method, path] = process.argv.slice(2);
const port = Number(portText);
const timeoutMs = Number(process.env.TIMEOUT_MS ?? 3000);
const done = (result, detail = "") => {
  process.stdout.write(`${JSON.stringify({ result, detail })}\n`);
  process.exit(0);
};
if (!["tcp", "udp-dns"].includes(kind) || !net.isIP(ip ?? "") || !(port >= 1 && port <= 65535)) {
  process.stderr.write("usage: probe.mjs tcp|udp-dns IP PORT [METHOD PATH]\n");
  process.exit(2);
}

if (kind === "tcp") {
  const socket = net.connect({ host: ip, port });
  let connected = false;
  let reply = "";
  const timer = setTimeout(() => (connected ? done("connected", method ? "no HTTP reply" : "") : done("timeout")), timeoutMs);
  socket.on("connect", () => {
    connected = true;
    if (!method) {
      clearTimeout(timer);
      socket.destroy();
      done("connected");
    }
    socket.write(`${method} ${path ?? "/"} HTTP/1.1\r\nHost: ${ip}\r\nConnection: close\r\nUser-Agent: microseg-verify\r\n\r\n`);
  });
  socket.on("data", (d) => {
    reply += d.toString("latin1");
    const head = reply.split("\r\n\r\n");
    if (head.length > 1 || reply.length > 4096) {
      clearTimeout(timer);
      const status = reply.split("\r\n")[0] ?? "";
      const body = (head[1] ?? "").slice(0, 60).trim();
      done("answered", `${status.replace(/^HTTP\/\S+\s*/, "HTTP ")}${body ? ` ${JSON.stringify(body)}` : ""}`);
    }
  });
  socket.on("error", (e) => {
    clearTimeout(timer);
    if (e.code === "ECONNREFUSED") done("refused", "connection refused");
    if (e.code === "ECONNRESET" && connected) done("connected", "reset after connect");
    done("error", `${e.code ?? ""} ${e.message}`.trim());
  });
} else {
  const name = "kubernetes.default.svc.cluster.local";
  const id = Math.floor(Math.random() * 65535);
  const qname = Buffer.concat([...name.split(".").map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])), Buffer.from([0])]);
  const query = Buffer.concat([Buffer.from([id >> 8, id & 255, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), qname, Buffer.from([0, 1, 0, 1])]);
  const socket = dgram.createSocket(net.isIPv6(ip) ? "udp6" : "udp4");
  const timer = setTimeout(() => done("timeout"), timeoutMs);
  socket.on("message", (m) => {
    if (m.length < 4 || m.readUInt16BE(0) !== id) return;
    clearTimeout(timer);
    const rcode = m[3] & 15;
    done("answered", `DNS rcode ${["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"][rcode] ?? rcode}`);
  });
  socket.on("error", (e) => {
    clearTimeout(timer);
    if (e.code === "ECONNREFUSED") done("refused", "port unreachable");
    done("error", `${e.code ?? ""} ${e.message}`.trim());
  });
  socket.connect(port, ip, () => socket.send(query));
}
