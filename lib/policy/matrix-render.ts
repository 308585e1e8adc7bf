/**
 * Renders a verdict matrix (lib/policy/verdicts/) for people and programs: `table` (a text grid, then why each
 * flow decided by a policy is so), `json` (stable: sources, destinations, one flow per line) and `html` (one
 * self-contained page: a colour grid of sources x destination ports, the deciding policy and L7 rules on hover).
 * The json names every flow (from, to, port, protocol, verdict, reason, deciding policies, L7 rules), no prose.
 * Pure: strings in, strings out.
 */
import { describeOutcome, type Matrix, type Outcome, type Verdict } from "./verdicts";

export type MatrixFormat = "table" | "json" | "html";
export const MATRIX_FORMATS: readonly MatrixFormat[] = ["table", "json", "html"];

const GLYPH: Record<Verdict, string> = { allowed: "✓", "allowed-l7": "L7", "denied-default": "–", "denied-rule": "✕" };
const NAME: Record<Verdict, string> = {
  allowed: "allowed",
  "allowed-l7": "allowed through L7 rules",
  "denied-default": "denied by default deny",
  "denied-rule": "denied by a deny rule",
};
const VERDICTS: readonly Verdict[] = ["allowed", "allowed-l7", "denied-default", "denied-rule"];

const colName = (m: Matrix, c: number) => `${m.columns[c]!.to} ${m.columns[c]!.protocol}/${m.columns[c]!.port}`;
/** Allowed because nothing restricts it (no policy, or enforcement never), as opposed to allowed by a rule. */
const unrestricted = (o: Outcome) => o.verdict === "allowed" && o.policies.length === 0 && o.reason !== "allow-localhost";

function counts(m: Matrix): Record<Verdict, number> & { open: number } {
  const out = { allowed: 0, "allowed-l7": 0, "denied-default": 0, "denied-rule": 0, open: 0 };
  for (const o of m.cells) {
    if (o < 0) continue;
    const outcome = m.outcomes[o]!;
    out[outcome.verdict]++;
    if (unrestricted(outcome)) out.open++;
  }
  return out;
}

// ------------------------------------------------------------------------------------------- table

export function renderTable(m: Matrix): string {
  const lines: string[] = [];
  lines.push(`microseg matrix: ${m.sources.length} sources x ${m.columns.length} destination ports, policyEnforcementMode ${m.enforcement}`);
  lines.push(`legend: ${VERDICTS.map((v) => `${GLYPH[v]} ${NAME[v]}`).join("   ")}   . not evaluated (self, or no Cilium endpoint at either end)`);
  lines.push("");
  const width = String(m.columns.length).length;
  m.columns.forEach((_, c) => lines.push(`  [${String(c + 1).padStart(width)}] ${colName(m, c)}`));
  lines.push("");
  const left = Math.max(6, ...m.sources.map((s) => s.id.length));
  const cell = Math.max(3, width + 1);
  lines.push(`${"source".padEnd(left)} ${m.columns.map((_, c) => String(c + 1).padStart(cell)).join("")}`.trimEnd());
  m.sources.forEach((s, r) => {
    const row = m.columns.map((_, c) => {
      const o = m.at(r, c);
      return (o ? GLYPH[o.verdict] : ".").padStart(cell);
    });
    lines.push(`${s.id.padEnd(left)} ${row.join("")}`.trimEnd());
  });
  const why: string[] = [];
  m.sources.forEach((s, r) =>
    m.columns.forEach((_, c) => {
      const o = m.at(r, c);
      if (o && !unrestricted(o)) why.push(`  ${s.id} → ${colName(m, c)}: ${describeOutcome(o, s.id, m.columns[c]!.to)}`);
    }),
  );
  const n = counts(m);
  lines.push("", `${VERDICTS.map((v) => `${n[v]} ${NAME[v]}`).join(", ")} (${n.open} of the allowed with no policy applying)`);
  if (why.length > 0) lines.push("", "decided by policy:", ...why);
  return `${lines.join("\n")}\n`;
}

// -------------------------------------------------------------------------------------------- json

export function renderJson(m: Matrix): string {
  const flows: string[] = [];
  m.sources.forEach((s, r) =>
    m.columns.forEach((col, c) => {
      const o = m.at(r, c);
      if (!o) return;
      flows.push(JSON.stringify({
        from: s.id,
        to: col.to,
        port: col.port,
        protocol: col.protocol,
        verdict: o.verdict,
        reason: o.reason,
        policies: o.policies,
        ...(o.l7.length > 0 ? { l7: o.l7.map((x) => ({ direction: x.direction, policy: x.policy, kind: x.kind, rule: x.text })) } : {}),
      }));
    }),
  );
  return [
    "{",
    `  "enforcement": ${JSON.stringify(m.enforcement)},`,
    `  "sources": ${JSON.stringify(m.sources.map((s) => s.id))},`,
    `  "destinations": ${JSON.stringify(m.columns)},`,
    `  "flows": [`,
    flows.map((f) => `    ${f}`).join(",\n"),
    "  ]",
    "}",
    "",
  ].join("\n");
}

// -------------------------------------------------------------------------------------------- html

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** The group a row or column belongs to: a pod's namespace, or "entities" / "external". */
function group(id: string): string {
  if (id.startsWith("external:")) return "external";
  const slash = id.indexOf("/");
  return slash < 0 ? "entities" : id.slice(0, slash);
}
const short = (id: string) => (id.startsWith("external:") ? id.slice("external:".length) : id.slice(id.indexOf("/") + 1));

function tooltip(from: string, to: string, port: string, o: Outcome): string {
  const lines = [`${from} → ${to} ${port}`, describeOutcome(o, from, to)];
  if (o.l7.length > 0) lines.push("L7 rules:", ...o.l7.map((x) => `  ${x.direction} ${x.policy}: ${x.text}`));
  return lines.join("\n");
}

const CSS = `
:root { --allowed:#1f9d55; --open:#b9e4c9; --l7:#2b6cb0; --default:#f2a30f; --rule:#d64545; --none:#eef0f3; --ink:#1d2330; --muted:#667085; }
* { box-sizing: border-box; }
body { margin: 24px; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #fafbfc; }
h1 { font-size: 20px; margin: 0 0 4px; }
.sub { color: var(--muted); margin: 0 0 16px; }
.legend { display: flex; flex-wrap: wrap; gap: 8px 18px; margin: 0 0 18px; padding: 0; list-style: none; }
.legend li { display: flex; align-items: center; gap: 6px; }
.chip { display: inline-flex; align-items: center; justify-content: center; width: 26px; height: 22px; border-radius: 4px; font-weight: 600; font-size: 12px; color: #fff; }
.wrap { display: inline-block; max-width: 100%; overflow: auto; max-height: 80vh; border: 1px solid #d0d5dd; border-radius: 8px; background: #fff; }
table { border-collapse: separate; border-spacing: 0; }
th, td { padding: 0; }
thead th { position: sticky; background: #fff; z-index: 2; font-weight: 600; }
thead tr.ns th { top: 0; height: 26px; border-bottom: 1px solid #e4e7ec; color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
thead tr.ns th { max-width: 0; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; padding: 0 4px; }
thead tr.dst th { top: 26px; height: 150px; vertical-align: bottom; border-bottom: 2px solid #98a2b3; }
thead tr.dst th.col span { display: inline-block; writing-mode: vertical-rl; transform: rotate(180deg); white-space: nowrap; padding: 6px 0; font-size: 12px; }
thead tr.dst th.col small { color: var(--muted); font-weight: 400; font-size: 11px; }
th.corner { left: 0; z-index: 3; text-align: left; padding: 0 10px; }
tbody th { position: sticky; left: 0; background: #fff; z-index: 1; text-align: left; font-weight: 500; white-space: nowrap; padding: 0 12px 0 10px; border-right: 2px solid #98a2b3; }
tbody th .ns { color: var(--muted); font-weight: 400; }
tbody tr.first th, tbody tr.first td { border-top: 1px solid #d0d5dd; }
.sep { border-left: 1px solid #d0d5dd; }
td.c { width: 30px; min-width: 30px; height: 26px; text-align: center; font-size: 12px; font-weight: 700; color: #fff; border: 1px solid #fff; border-radius: 4px; cursor: default; }
td.allowed { background: var(--allowed); }
td.open { background: var(--open); color: #2f6f48; }
td.allowed-l7 { background: var(--l7); }
td.denied-default { background: var(--default); }
td.denied-rule { background: var(--rule); }
td.none { background: var(--none); color: #c0c6d0; font-weight: 400; }
tbody tr:hover th { background: #f2f4f7; }
td.c:hover { outline: 3px solid var(--ink); outline-offset: -2px; }
.stats { margin: 16px 0 0; color: var(--muted); }
.notes { margin-top: 16px; color: var(--muted); font-size: 13px; }
`;

export interface HtmlOptions {
  /** Page title. @default "microseg connectivity matrix" */
  readonly title?: string;
  /** Lines shown under the grid (the engine's notes on what it could not evaluate). @default [] */
  readonly notes?: readonly string[];
}

export function renderHtml(m: Matrix, opts: HtmlOptions = {}): string {
  const title = opts.title ?? "microseg connectivity matrix";
  const n = counts(m);
  const cols = m.columns.map((c) => ({ ...c, group: group(c.to) }));
  const starts = cols.map((c, i) => i === 0 || cols[i - 1]!.group !== c.group);
  const nsRow: string[] = [];
  cols.forEach((c, i) => {
    if (!starts[i]) return;
    let span = 1;
    while (i + span < cols.length && cols[i + span]!.group === c.group) span++;
    nsRow.push(`<th colspan="${span}" class="sep" title="${esc(c.group)}">${esc(c.group)}</th>`);
  });
  const dstRow = cols.map((c, i) => `<th class="col${starts[i] ? " sep" : ""}" title="${esc(`${c.to} ${c.protocol}/${c.port}`)}"><span>${esc(short(c.to))} <small>${esc(`${c.port}/${c.protocol}`)}</small></span></th>`);
  const rows = m.sources.map((s, r) => {
    const g = group(s.id);
    const first = r === 0 || group(m.sources[r - 1]!.id) !== g;
    const tds = cols.map((c, k) => {
      const sep = starts[k] ? " sep" : "";
      const o = m.at(r, k);
      if (!o) return `<td class="c none${sep}" title="${esc(`${s.id} → ${c.to}: not evaluated (self, or no Cilium endpoint at either end)`)}">·</td>`;
      const cls = unrestricted(o) ? "open" : o.verdict;
      return `<td class="c ${cls}${sep}" title="${esc(tooltip(s.id, c.to, `${c.protocol}/${c.port}`, o))}">${GLYPH[o.verdict]}</td>`;
    });
    return `<tr${first ? ' class="first"' : ""}><th><span class="ns">${esc(g)} /</span> ${esc(short(s.id))}</th>${tds.join("")}</tr>`;
  });
  const legend = [
    `<li><span class="chip" style="background:var(--allowed)">✓</span>allowed by a policy (${n.allowed - n.open})</li>`,
    `<li><span class="chip" style="background:var(--open);color:#2f6f48">✓</span>allowed, no policy applies (${n.open})</li>`,
    `<li><span class="chip" style="background:var(--l7)">L7</span>allowed through L7 rules (${n["allowed-l7"]})</li>`,
    `<li><span class="chip" style="background:var(--default)">–</span>denied by default deny (${n["denied-default"]})</li>`,
    `<li><span class="chip" style="background:var(--rule)">✕</span>denied by a deny rule (${n["denied-rule"]})</li>`,
    `<li><span class="chip" style="background:var(--none);color:#98a2b3">·</span>not evaluated</li>`,
  ];
  const notes = (opts.notes ?? []).map((x) => `<li>${esc(x)}</li>`).join("");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
<h1>${esc(title)}</h1>
<p class="sub">${m.sources.length} sources × ${m.columns.length} destination ports · policyEnforcementMode <b>${esc(m.enforcement)}</b> · rows send, columns receive · hover a cell for the deciding policy and L7 rules</p>
<ul class="legend">${legend.join("")}</ul>
<div class="wrap">
<table>
<thead>
<tr class="ns"><th class="corner">source \\ destination</th>${nsRow.join("")}</tr>
<tr class="dst"><th class="corner"></th>${dstRow.join("")}</tr>
</thead>
<tbody>
${rows.join("\n")}
</tbody>
</table>
</div>
${notes ? `<ul class="notes">${notes}</ul>` : ""}
</body>
</html>
`;
}

export function renderMatrix(m: Matrix, format: MatrixFormat, opts: HtmlOptions = {}): string {
  switch (format) {
    case "table":
      return renderTable(m);
    case "json":
      return renderJson(m);
    case "html":
      return renderHtml(m, opts);
    default: {
      const never: never = format;
      throw new Error(`unknown format ${JSON.stringify(never)}`);
    }
  }
}
