/**
 * One self-contained HTML page: the implementation × clause matrix, with
 * filters (status, level, area, text) and, for every failure, its
 * reproducer (message, first difference, replay command with seed and
 * path, shrunk scenario as JSON, as a Python program, and both traces); for
 * every flaky clause (real clock), the failing run's trace and the passing
 * rerun's; implementations that are absent here, with how to install them.
 *
 * Everything that comes from an implementation, a scenario or a clause is
 * escaped (escape-html) before it enters the page, in text and in
 * attribute values alike; the page builds no markup at run time (its small
 * script only hides and shows rows). A Content-Security-Policy admits only
 * that script, by hash, and no external resource, as a second line of
 * defence.
 */
import { createHash } from "node:crypto";
import escapeHtml from "escape-html";
import { formatTrace } from "./format";
import type { AbsentImplementation, ClauseReport, RunReport, Summary } from "./model";
import { checkedText, inconclusiveText } from "./model";
import { expectedVsGot } from "./text";
import { cellWord } from "./markdown";
import { truncatedText } from "./caps";

const esc = (s: string | number | boolean): string => escapeHtml(String(s));

const STYLE = `
:root { --pass:#1a7f37; --fail:#cf222e; --skip:#6e7781; --error:#9a6700; --flaky:#bc4c00; --bg:#fff; --fg:#1f2328; --muted:#656d76; --line:#d0d7de; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); margin: 0 auto; padding: 1rem 1.5rem 3rem; max-width: 1400px; }
h1 { font-size: 1.5rem; margin: .2rem 0; } h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid var(--line); }
h3 { font-size: 1rem; margin: 0 0 .3rem; } h4 { font-size: .9rem; margin: .8rem 0 .2rem; }
.meta, .statement, .muted { color: var(--muted); }
.banner { background: #fff8c5; border: 1px solid #d4a72c; padding: .5rem .8rem; border-radius: 6px; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid var(--line); padding: .3rem .5rem; text-align: left; vertical-align: top; }
thead th { position: sticky; top: 0; background: #f6f8fa; }
thead th code { white-space: nowrap; }
td.st { text-align: center; white-space: nowrap; font-weight: 600; }
.pass { color: var(--pass); } .fail { color: var(--fail); } .skip { color: var(--skip); } .error, .notrun { color: var(--error); }
td.st.fail { background: #ffebe9; } td.st.pass { background: #dafbe1; } td.st.flaky { background: #fff1e5; }
.flaky { color: var(--flaky); } tr.absent td { color: var(--muted); }
.inconclusive { color: var(--error); } td.st.inconclusive { background: #fff8c5; }
td.st small { display: block; font-weight: normal; font-size: .75em; color: var(--muted); }
details > pre { max-height: 30em; overflow: auto; }
td.st.skip { font-weight: normal; font-size: .85em; }
code, pre { font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
pre { background: #f6f8fa; border: 1px solid var(--line); border-radius: 6px; padding: .5rem .7rem; overflow-x: auto; white-space: pre; margin: .2rem 0; }
.filters { display: flex; flex-wrap: wrap; gap: .8rem; align-items: end; margin: 1rem 0; padding: .6rem .8rem; background: #f6f8fa; border-radius: 6px; position: sticky; top: 0; z-index: 2; }
.filters label { display: flex; flex-direction: column; font-size: .8rem; color: var(--muted); }
.filters input, .filters select { font: inherit; padding: .15rem .3rem; }
article.failure { border: 1px solid var(--line); border-left: 4px solid var(--fail); border-radius: 6px; padding: .7rem 1rem; margin: 1rem 0; }
article.failure.known { border-left-color: var(--skip); }
article.failure.flaky { border-left-color: var(--flaky); }
.tag { display: inline-block; font-size: .75rem; border: 1px solid var(--line); border-radius: 1rem; padding: 0 .5rem; margin-left: .4rem; color: var(--muted); }
[hidden] { display: none !important; }
`;

const SCRIPT = `(function () {
  "use strict";
  var byId = function (id) { return document.getElementById(id); };
  var status = byId("f-status"), level = byId("f-level"), area = byId("f-area"), text = byId("f-text"), count = byId("f-count");
  var items = Array.prototype.slice.call(document.querySelectorAll("[data-filter]"));
  function has(list, token) { return (" " + list + " ").indexOf(" " + token + " ") >= 0; }
  function apply(updateHash) {
    var st = status.value, lv = level.value, ar = area.value, tx = text.value.trim().toLowerCase();
    var shown = 0, total = 0;
    items.forEach(function (el) {
      var ok = (!st || has(el.getAttribute("data-status"), st)) &&
        (!lv || el.getAttribute("data-level") === lv) &&
        (!ar || el.getAttribute("data-area") === ar) &&
        (!tx || el.getAttribute("data-text").indexOf(tx) >= 0);
      el.hidden = !ok;
      if (el.classList.contains("clause")) { total++; if (ok) shown++; }
    });
    count.textContent = shown + " of " + total + " clauses shown";
    if (updateHash) {
      var parts = [];
      if (st) parts.push("status=" + encodeURIComponent(st));
      if (lv) parts.push("level=" + encodeURIComponent(lv));
      if (ar) parts.push("area=" + encodeURIComponent(ar));
      if (tx) parts.push("q=" + encodeURIComponent(tx));
      try { history.replaceState(null, "", parts.length ? "#" + parts.join("&") : location.pathname + location.search); } catch (e) { /* file: URLs in some browsers */ }
    }
  }
  var hash = location.hash.slice(1);
  if (hash.indexOf("=") >= 0) {
    hash.split("&").forEach(function (kv) {
      var i = kv.indexOf("="), k = kv.slice(0, i), v = decodeURIComponent(kv.slice(i + 1));
      if (k === "status") status.value = v;
      else if (k === "level") level.value = v;
      else if (k === "area") area.value = v;
      else if (k === "q") text.value = v;
    });
  }
  [status, level, area].forEach(function (el) { el.addEventListener("change", function () { apply(true); }); });
  text.addEventListener("input", function () { apply(true); });
  apply(false);
  document.documentElement.setAttribute("data-ready", "1");
})();`;

const SCRIPT_HASH = createHash("sha256").update(SCRIPT, "utf8").digest("base64");

const CSP = `default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-${SCRIPT_HASH}'; img-src data:; base-uri 'none'; form-action 'none'`;

const WORD = { pass: "pass", fail: "FAIL", flaky: "flaky", inconclusive: "inconclusive", skip: "skip", error: "ERROR", notrun: "not run" } as const;

function safeUrl(u: string): string | null {
  return /^https?:\/\/[^\s"'<>]+$/.test(u) ? u : null;
}

function totals(s: Summary): string {
  return `<td class="pass">${s.passed}</td><td class="fail">${s.failed}</td><td class="flaky">${s.flaky}</td><td class="inconclusive">${s.inconclusive ?? 0}</td><td class="skip">${s.skipped}</td><td class="error">${s.errors}</td><td class="notrun">${s.notRun}</td>` +
    `<td class="muted">documented ${s.byLevel.documented.passed}/${s.byLevel.documented.total - s.byLevel.documented.skipped} · exact ${s.byLevel.exact.passed}/${s.byLevel.exact.total - s.byLevel.exact.skipped}</td>`;
}

interface Row {
  id: string;
  area: string;
  level: string;
  statement: string;
  section: string;
  url: string;
  cells: Array<{ report: number; result?: ClauseReport; notRun: boolean }>;
}

function anchor(report: number, clause: string): string {
  return `f-${report}-${clause.replace(/[^A-Za-z0-9_.-]/g, "_")}`;
}

function failureArticle(r: ClauseReport, report: RunReport, index: number): string {
  const x = r.failure!;
  const impl = report.implementation;
  const known = r.baseline?.status === "known-failure";
  const text = [r.id, impl.id, r.statement, x.message, r.baseline?.reason ?? ""].join(" ").toLowerCase();
  const parts = [
    `<article class="failure${known ? " known" : ""}" id="${esc(anchor(index, r.id))}" data-filter data-status="fail${known ? " known-failure" : ""}" data-level="${esc(r.level)}" data-area="${esc(r.area)}" data-text="${esc(text)}">`,
    `<h3><code>${esc(r.id)}</code> on <code>${esc(impl.id)}</code><span class="tag">${esc(r.level)}</span>${r.baseline ? `<span class="tag">${esc(r.baseline.status.replace("-", " "))}</span>` : ""}</h3>`,
    `<p class="statement">${esc(r.statement)}</p>`,
    `<p><b>${esc(x.verdict)}:</b> <span class="message">${esc(x.message)}</span></p>`,
    `<p class="muted">${esc(checkedText(r))}</p>`,
  ];
  if (r.baseline?.reason) parts.push(`<p class="muted">Baseline: ${esc(r.baseline.reason)}</p>`);
  // The card shows the difference; everything whole is collapsed below it (each block scrolls, capped in height).
  if (x.trace || x.expected) parts.push(`<h4>Expected vs got</h4><pre>${esc(expectedVsGot(x, impl.id).join("\n"))}</pre>`);
  parts.push(
    `<h4>Replay</h4><pre>${esc(x.replay)}</pre>`,
    `<p class="muted">Seed ${esc(x.seed)} (clause seed ${esc(x.clauseSeed)}), path <code>${esc(x.path)}</code>${x.files ? `; full reproducers and traces: ${[x.files.python, x.files.typescript, x.files.json].map((f) => `<code>${esc(f)}</code>`).join(", ")}` : ""}</p>`,
    `<details><summary>Shrunk scenario (JSON)</summary><pre>${esc(JSON.stringify(x.scenario, null, 2))}</pre></details>`,
  );
  if (x.truncated) parts.push(`<p class="muted"><strong>Cut:</strong> ${esc(truncatedText(x.truncated))}</p>`);
  if (x.trace) parts.push(`<details><summary>Whole trace of ${esc(impl.id)}</summary><pre>${esc(formatTrace(x.trace))}</pre></details>`);
  if (x.expected) parts.push(`<details><summary>Whole expected trace (${esc(x.expectedFrom ?? `reference@${impl.version}`)})</summary><pre>${esc(formatTrace(x.expected))}</pre></details>`);
  parts.push(`<details><summary>As a Python program</summary><pre>${esc(x.python)}</pre></details>`);
  parts.push("</article>");
  return parts.join("\n");
}

function flakyArticle(r: ClauseReport, report: RunReport, index: number): string {
  const f = r.flaky!;
  const impl = report.implementation;
  const text = [r.id, impl.id, r.statement, f.message, "flaky"].join(" ").toLowerCase();
  const parts = [
    `<article class="failure flaky" id="${esc(anchor(index, r.id))}" data-filter data-status="${esc(r.status === "flaky" ? "flaky" : "fail")}" data-level="${esc(r.level)}" data-area="${esc(r.area)}" data-text="${esc(text)}">`,
    `<h3><code>${esc(r.id)}</code> on <code>${esc(impl.id)}</code><span class="tag">${esc(r.level)}</span><span class="tag">flaky</span></h3>`,
    `<p class="statement">${esc(r.statement)}</p>`,
    `<p>${esc(f.cases)} case(s) failed, then passed when run again. The first failed ${esc(f.attempts - 1)} time(s), then passed on run ${esc(f.attempts)}:</p>`,
    `<p><b>${esc(f.verdict)}:</b> <span class="message">${esc(f.message)}</span></p>`,
  ];
  if (f.firstDifference) parts.push(`<h4>First difference of the failing run</h4><pre>${esc(f.firstDifference.text)}</pre>`);
  if (f.replay) parts.push(`<h4>Replay</h4><pre>${esc(f.replay)}</pre>`);
  parts.push(
    `<p class="muted">Seed ${esc(f.seed)} (clause seed ${esc(f.clauseSeed)})${f.path !== undefined ? `, path <code>${esc(f.path)}</code>` : ""}</p>`,
    `<details><summary>The case (JSON)</summary><pre>${esc(JSON.stringify(f.scenario, null, 2))}</pre></details>`,
    `<details><summary>As a Python program</summary><pre>${esc(f.python)}</pre></details>`,
  );
  if (f.truncated) parts.push(`<p class="muted"><strong>Cut:</strong> ${esc(truncatedText(f.truncated))}</p>`);
  if (f.trace) parts.push(`<details><summary>Trace of ${esc(impl.id)}, the failing run</summary><pre>${esc(formatTrace(f.trace))}</pre></details>`);
  if (f.passingTrace) parts.push(`<details><summary>Trace of ${esc(impl.id)}, the rerun that passed</summary><pre>${esc(formatTrace(f.passingTrace))}</pre></details>`);
  if (f.expected) parts.push(`<details><summary>Expected (reference@${esc(impl.version)})</summary><pre>${esc(formatTrace(f.expected))}</pre></details>`);
  parts.push("</article>");
  return parts.join("\n");
}

function duration(ms: number): string {
  return ms >= 60_000 ? `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s` : `${(ms / 1000).toFixed(1)} s`;
}

export interface HtmlOptions {
  /** Implementations of the matrix that did not run here (listed with how to install them). */
  absent?: readonly AbsentImplementation[];
  title?: string;
  /** Run seed and scenarios per clause, shown in the header. */
  seed?: number;
  runs?: number;
  generatedAt?: string;
  toolVersion?: string;
}

/** The page for one or more run reports (one column each). */
export function renderHtml(reports: readonly RunReport[], opts: HtmlOptions = {}): string {
  const rows = new Map<string, Row>();
  reports.forEach((rep, i) => {
    for (const r of rep.results) {
      let row = rows.get(r.id);
      if (!row) rows.set(r.id, (row = { id: r.id, area: r.area, level: r.level, statement: r.statement, section: r.source.section, url: r.source.url, cells: [] }));
      row.cells[i] = { report: i, result: r, notRun: false };
    }
  });
  reports.forEach((rep, i) => {
    for (const id of rep.notRun) {
      const row = rows.get(id);
      if (row) row.cells[i] = { report: i, notRun: true };
      else rows.set(id, { id, area: id.split(".")[0], level: "", statement: "", section: "", url: "", cells: Object.assign([], { [i]: { report: i, notRun: true } }) });
    }
  });
  const areas = [...new Set([...rows.values()].map((r) => r.area))];
  const first = reports[0];
  const single = reports.length === 1 ? first : undefined;
  const title = opts.title ?? (single ? `aiospec conformance: ${single.implementation.id}` : "aiospec conformance matrix");
  const seed = opts.seed ?? first?.options.seed;
  const runs = opts.runs ?? first?.options.runs;
  const generated = opts.generatedAt ?? first?.timing.finishedAt ?? "";
  const incomplete = reports.some((r) => !r.complete);

  const out: string[] = [];
  out.push(
    "<!doctype html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<meta http-equiv="Content-Security-Policy" content="${esc(CSP)}">`,
    `<title>${esc(title)}</title>`,
    `<style>${STYLE}</style>`,
    "</head>",
    "<body>",
    "<header>",
    `<h1>${esc(title)}</h1>`,
    `<p class="meta">aiospec ${esc(opts.toolVersion ?? first?.tool.version ?? "")} · seed ${esc(seed ?? "")} · ${esc(runs ?? "")} scenarios per clause · generated ${esc(generated)}</p>`,
  );
  if (incomplete) out.push('<p class="banner"><b>Incomplete:</b> the run was interrupted; clauses marked “not run” did not finish.</p>');
  out.push("</header>");

  out.push('<section id="summary"><h2>Implementations</h2><table>');
  out.push(
    "<thead><tr><th>implementation</th><th>version</th><th>clock</th><th>description</th><th>outcome</th><th>passed</th><th>failed</th><th>flaky</th><th>inconclusive</th><th>skipped</th><th>errors</th><th>not run</th><th>by level (passed / run)</th><th>runs</th><th>time</th></tr></thead><tbody>",
  );
  for (const r of reports) {
    const b = r.baseline;
    const impl = r.implementation;
    const outcome = r.outcome + (b ? ` (baseline: ${b.knownFailures.length} known, ${b.newFailures.length} new, ${b.unexpectedPasses.length} unexpected passes)` : "");
    const clock = impl.clock === "real" ? `real${impl.tickMs ? ` (${impl.tickMs} ms a tick)` : ""}` : "virtual";
    out.push(
      `<tr><td><code>${esc(impl.id)}</code></td><td>${esc(impl.fullVersion ?? impl.version)}</td><td>${esc(clock)}</td><td>${esc(impl.description)}</td><td>${esc(outcome)}</td>${totals(r.summary)}` +
        `<td>${esc(r.options.runs)}</td><td>${esc(duration(r.timing.elapsedMs))}</td></tr>`,
    );
  }
  for (const a of opts.absent ?? []) {
    out.push(
      `<tr class="absent"><td><code>${esc(a.id)}</code></td><td>—</td><td>—</td><td>${esc(a.description)}</td><td>absent: ${esc(a.reason)}${a.install ? `<br>install: <code>${esc(a.install)}</code>` : ""}</td>` +
        '<td colspan="9"></td></tr>',
    );
  }
  out.push("</tbody></table>");
  const notes = [...new Set(reports.flatMap((r) => r.notes ?? []))];
  for (const n of notes) out.push(`<p class="banner">${esc(n)}</p>`);
  out.push("</section>");

  out.push(
    '<section class="filters" aria-label="filters">',
    '<label>Status <select id="f-status"><option value="">any</option><option value="fail">failing</option><option value="flaky">flaky</option><option value="inconclusive">inconclusive</option><option value="pass">passing</option><option value="skip">skipped</option><option value="error">harness error</option><option value="notrun">not run</option>' +
      (reports.length > 1 ? '<option value="differs">differs between implementations</option>' : "") +
      "</select></label>",
    '<label>Level <select id="f-level"><option value="">any</option><option value="documented">documented</option><option value="exact">exact</option></select></label>',
    `<label>Area <select id="f-area"><option value="">any</option>${areas.map((a) => `<option value="${esc(a)}">${esc(a)}</option>`).join("")}</select></label>`,
    '<label>Text <input id="f-text" type="search" placeholder="clause, statement, message"></label>',
    '<span id="f-count" class="muted"></span>',
    "</section>",
  );

  out.push('<section id="matrix-section"><h2>Clauses</h2><table id="matrix"><thead><tr><th>clause</th><th>level</th>');
  for (const r of reports) out.push(`<th title="${esc(r.implementation.description)}"><code>${esc(r.implementation.id)}</code></th>`);
  out.push("</tr></thead><tbody>");
  for (const row of rows.values()) {
    const statuses = reports.map((_, i) => {
      const c = row.cells[i];
      return c?.result ? c.result.status : c?.notRun ? "notrun" : "none";
    });
    const tokens = new Set<string>(statuses.filter((s) => s !== "none"));
    if (tokens.size > 1) tokens.add("differs");
    const text = [row.id, row.statement, row.section, ...row.cells.flatMap((c) => (c?.result ? [c.result.reason ?? "", c.result.failure?.message ?? ""] : []))].join(" ").toLowerCase();
    const url = safeUrl(row.url);
    out.push(
      `<tr class="clause" data-filter data-status="${esc([...tokens].join(" "))}" data-level="${esc(row.level)}" data-area="${esc(row.area)}" data-text="${esc(text)}">`,
      `<td>${url ? `<a href="${esc(url)}" rel="noreferrer"><code>${esc(row.id)}</code></a>` : `<code>${esc(row.id)}</code>`}<div class="statement">${esc(row.statement)}</div></td>`,
      `<td>${esc(row.level)}</td>`,
    );
    reports.forEach((_rep, i) => {
      const c = row.cells[i];
      const st = statuses[i];
      if (!c || st === "none") {
        out.push('<td class="st"></td>');
        return;
      }
      const r = c.result;
      const label = (r ? cellWord(r, false) : WORD[st as keyof typeof WORD]) + (r?.baseline ? ` (${r.baseline.status === "known-failure" ? "known" : r.baseline.status === "new-failure" ? "new" : "unexpected"})` : "");
      const title = r
        ? r.status === "fail"
          ? r.failure?.message ?? ""
          : r.status === "flaky"
            ? `flaky: ${r.flaky?.message ?? ""}`
            : r.reason ?? checkedText(r)
        : "did not finish";
      const cases = r && r.status !== "skip" && r.status !== "error" ? `<small>${esc(`${r.checked ?? 0}/${r.runs}`)}</small>` : "";
      const inner = (r?.status === "fail" || r?.status === "flaky" ? `<a href="#${esc(anchor(i, r.id))}">${esc(label)}</a>` : esc(label)) + cases;
      out.push(`<td class="st ${esc(st)}" title="${esc(title)}">${inner}</td>`);
    });
    out.push("</tr>");
  }
  out.push("</tbody></table></section>");

  const failures = reports.flatMap((rep, i) => rep.results.filter((r) => r.status === "fail").map((r) => failureArticle(r, rep, i)));
  out.push(`<section id="failures"><h2>Failures (${failures.length})</h2>`);
  if (failures.length === 0) out.push('<p class="muted">None.</p>');
  out.push(...failures, "</section>");

  const flaky = reports.flatMap((rep, i) => rep.results.filter((r) => r.status === "flaky").map((r) => flakyArticle(r, rep, i)));
  if (flaky.length) out.push(`<section id="flaky"><h2>Flaky (${flaky.length})</h2>`, '<p class="muted">A case failed, then passed when run again: timing noise on a real clock, not a reproducible failure. Flaky clauses do not fail a run.</p>', ...flaky, "</section>");

  const other = reports.flatMap((rep) => rep.results.filter((r) => r.status === "skip" || r.status === "error" || r.status === "inconclusive").map((r) => ({ rep, r })));
  out.push(`<section id="skipped"><h2>Inconclusive, skipped and harness errors (${other.length})</h2>`);
  if (other.length) {
    out.push("<table><thead><tr><th>clause</th><th>implementation</th><th>status</th><th>reason</th></tr></thead><tbody>");
    for (const { rep, r } of other) {
      const text = [r.id, rep.implementation.id, r.reason ?? ""].join(" ").toLowerCase();
      out.push(
        `<tr data-filter data-status="${esc(r.status)}" data-level="${esc(r.level)}" data-area="${esc(r.area)}" data-text="${esc(text)}" class="other">` +
          `<td><code>${esc(r.id)}</code></td><td><code>${esc(rep.implementation.id)}</code></td><td class="${esc(r.status)}">${esc(WORD[r.status])}</td><td>${esc(r.status === "inconclusive" ? inconclusiveText(r) : r.reason ?? "")}</td></tr>`,
      );
    }
    out.push("</tbody></table>");
  } else out.push('<p class="muted">None.</p>');
  out.push("</section>");

  out.push(
    '<footer class="muted"><p>Replay any failure with the command shown; <code>aiospec replay</code> runs a saved scenario. Generated by aiospec.</p></footer>',
    `<script>${SCRIPT}</script>`,
    "</body>",
    "</html>",
  );
  return out.join("\n") + "\n";
}
