/**
 * Markdown, for CI step summaries ($GITHUB_STEP_SUMMARY) and for reading in
 * a repository: totals by level, failures (documented and exact levels
 * apart) with the shrunk scenario, the first difference and the replay
 * command, the baseline's verdict, flaky clauses (real clock: failed, then
 * passed when run again), and skipped clauses with their reasons.
 *
 * Text from an implementation or a scenario is either inside a code fence
 * longer than any run of backticks in it, or escaped: Markdown punctuation
 * gets a backslash and <, >, & become entities, so GitHub renders it as the
 * text it is, never as markup.
 */
import type { Level } from "../../spec/clauses/clause";
import type { ClauseReport, Counts, MatrixReport, RunReport } from "./model";
import { checkedText, totalsLine } from "./model";
import { INCONCLUSIVE } from "../running/runner";
import { expectedVsGot, scenarioPart } from "./text";
import { truncatedText } from "./caps";

/** Escape text for a Markdown paragraph or table cell. */
export function mdText(s: string): string {
  return s
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/([\\`*_[\]|~])/g, "\\$1")
    .replace(/\r?\n/g, " ")
    .replace(/^([#+-]|\d+\.)/, "\\$1");
}

/** Inline code that holds any text. */
export function mdCode(s: string): string {
  const one = s.replace(/\r?\n/g, " ");
  const longest = Math.max(0, ...(one.match(/`+/g) ?? []).map((r) => r.length));
  const fence = "`".repeat(longest + 1);
  const pad = one.startsWith("`") || one.endsWith("`") || one.startsWith(" ") ? " " : "";
  // Inside a table, | still splits cells: GitHub honours \| there.
  return `${fence}${pad}${one.replace(/\|/g, "\\|")}${pad}${fence}`;
}

/** A fenced code block that holds any text. */
export function mdBlock(s: string, lang = ""): string {
  const longest = Math.max(2, ...(s.match(/`{3,}/g) ?? []).map((r) => r.length));
  const fence = "`".repeat(longest + 1);
  return `${fence}${lang}\n${s.replace(/\n$/, "")}\n${fence}`;
}

const LEVELS: Level[] = ["documented", "exact"];
const STATUS_WORD = { pass: "pass", fail: "FAIL", flaky: "flaky", inconclusive: "inconclusive", skip: "skip", error: "ERROR" } as const;

/** The totals table; the flaky and inconclusive columns only when some clause was. */
function countsRow(name: string, c: Counts, withFlaky: boolean, withInconclusive: boolean): string {
  return `| ${name} | ${c.total} | ${c.passed} | ${c.failed} |${withFlaky ? ` ${c.flaky} |` : ""}${withInconclusive ? ` ${c.inconclusive} |` : ""} ${c.skipped} | ${c.errors} |`;
}

/** Failures shown in full; later ones get their message and replay command only (GitHub caps a step summary at 1 MiB). */
export const MARKDOWN_DETAILED_FAILURES = 25;

function failureSection(r: ClauseReport, detailed: boolean, implId: string): string[] {
  const x = r.failure!;
  const mark = r.baseline ? ` — ${r.baseline.status.replace("-", " ")}${r.baseline.reason ? ` (${mdText(r.baseline.reason)})` : ""}` : "";
  const out = [
    `#### ${mdCode(r.id)}${mark}`,
    "",
    `${mdText(r.statement)} ([${mdText(r.source.section)}](${encodeURI(r.source.url).replace(/[()]/g, (c) => encodeURIComponent(c))}))`,
    "",
    `**${x.verdict}:** ${mdText(x.message)} (${mdText(checkedText(r))})`,
    "",
  ];
  if (x.trace || x.expected) out.push(mdBlock(expectedVsGot(x, implId).join("\n")), "");
  out.push("Replay:", "", mdBlock(x.replay, "sh"), "");
  if (x.truncated) out.push(`**Cut:** ${mdText(truncatedText(x.truncated))}`, "");
  if (x.files) out.push(`Full reproducers and traces: ${[x.files.python, x.files.typescript, x.files.json].map(mdCode).join(", ")}`, "");
  if (!detailed) return out;
  out.push(
    "<details><summary>Shrunk scenario (JSON)</summary>",
    "",
    mdBlock(JSON.stringify(x.scenario, null, 2), "json"),
    "",
    "</details>",
    "",
    "<details><summary>As a Python program (the scenario part; the JSON and HTML reports have the whole program)</summary>",
    "",
    mdBlock(scenarioPart(x.python), "python"),
    "",
    "</details>",
    "",
  );
  return out;
}

function flakySection(r: ClauseReport): string[] {
  const f = r.flaky!;
  const out = [
    `#### ${mdCode(r.id)}`,
    "",
    `${f.cases} flaky case(s). The first failed ${f.attempts - 1} time(s) (**${f.verdict}:** ${mdText(f.message)}), then passed on run ${f.attempts}.`,
    "",
  ];
  if (f.firstDifference) out.push("First difference of the failing run:", "", mdBlock(f.firstDifference.text), "");
  if (f.replay) out.push("Replay:", "", mdBlock(f.replay, "sh"), "");
  if (f.truncated) out.push(`**Cut:** ${mdText(truncatedText(f.truncated))}`, "");
  out.push("<details><summary>The case (JSON)</summary>", "", mdBlock(JSON.stringify(f.scenario, null, 2), "json"), "", "</details>", "");
  return out;
}

/** The Markdown summary of one run. */
export function renderMarkdown(report: RunReport): string {
  const s = report.summary;
  const impl = report.implementation;
  const out: string[] = [];
  const verdict = {
    conformant: "conformant",
    "matches-baseline": "matches the baseline",
    failures: "FAILURES",
    flaky: "conformant, with flaky clauses",
    inconclusive: "no failures, but INCONCLUSIVE clauses",
    "harness-error": "HARNESS ERROR",
    interrupted: "INTERRUPTED (incomplete report)",
  }[report.outcome];
  out.push(`## aiospec: ${mdCode(impl.id)} — ${verdict}`, "");
  out.push(
    `${mdText(impl.description)}. Seed ${report.options.seed}, ${report.options.runs} scenarios per clause` +
      `${report.options.clause ? `, clauses ${mdCode(report.options.clause)}` : ""}. ${mdText(totalsLine(s))}.`,
    "",
  );
  if (!report.complete) out.push(`> **Incomplete:** ${report.notRun.length} selected clause(s) did not run.`, "");
  for (const n of report.notes ?? []) out.push(`> ${mdText(n)}`, "");
  const withFlaky = s.flaky > 0;
  const withInc = s.inconclusive > 0;
  out.push(
    `| level | clauses | passed | failed |${withFlaky ? " flaky |" : ""}${withInc ? " inconclusive |" : ""} skipped | errors |`,
    `|---|---:|---:|---:|${withFlaky ? "---:|" : ""}${withInc ? "---:|" : ""}---:|---:|`,
  );
  for (const l of LEVELS) out.push(countsRow(l, s.byLevel[l], withFlaky, withInc));
  out.push(countsRow("**all**", s, withFlaky, withInc), "");
  const b = report.baseline;
  if (b) {
    out.push(
      `Baseline ${mdCode(b.file)}${b.strict ? " (strict)" : ""}: ${b.knownFailures.length} known failure(s), ` +
        `${b.newFailures.length} new failure(s), ${b.unexpectedPasses.length} unexpected pass(es).`,
      "",
    );
    if (b.newFailures.length) out.push(`New failures: ${b.newFailures.map(mdCode).join(", ")}`, "");
    if (b.unexpectedPasses.length) {
      out.push(`Unexpected passes (listed as known failures; remove them with \`--update-baseline\`): ${b.unexpectedPasses.map(mdCode).join(", ")}`, "");
    }
  }
  const failing = report.results.filter((r) => r.status === "fail");
  let shown = 0;
  for (const l of LEVELS) {
    const mine = failing.filter((r) => r.level === l);
    if (mine.length === 0) continue;
    out.push(`### ${l === "documented" ? "Documented" : "Exact"}-level failures (${mine.length})`, "");
    for (const r of mine) {
      // Past half the budget, failures get the short form: the tables after them must fit too.
      const roomy = Buffer.byteLength(out.join("\n"), "utf8") < MARKDOWN_MAX_BYTES / 2;
      out.push(...failureSection(r, roomy && shown++ < MARKDOWN_DETAILED_FAILURES, impl.id));
    }
  }
  const flaky = report.results.filter((r) => r.status === "flaky");
  if (flaky.length) {
    out.push(
      `### Flaky (${flaky.length})`,
      "",
      "A case failed, then passed when run again: timing noise of a real clock, not a reproducible failure. These do not fail the run.",
      "",
    );
    for (const r of flaky) out.push(...flakySection(r));
  }
  const inconclusive = report.results.filter((r) => r.status === "inconclusive");
  if (inconclusive.length) {
    out.push(
      `### Inconclusive (${inconclusive.length})`,
      "",
      `No failure, but too few cases checked to call it a pass (under ${Math.round(INCONCLUSIVE.fraction * 100)}% of those generated: the others use features the implementation declares unsupported). They do not fail the run.`,
      "",
      "| clause | level | cases |",
      "|---|---|---|",
    );
    for (const r of inconclusive) out.push(`| ${mdCode(r.id)} | ${r.level} | ${mdText(checkedText(r))} |`);
    out.push("");
  }
  const errors = report.results.filter((r) => r.status === "error");
  if (errors.length) {
    out.push(`### Harness errors (${errors.length})`, "", "| clause | error |", "|---|---|");
    for (const r of errors) out.push(`| ${mdCode(r.id)} | ${mdText(r.reason ?? "")} |`);
    out.push("");
  }
  const skipped = report.results.filter((r) => r.status === "skip");
  if (skipped.length) {
    out.push(`### Skipped (${skipped.length})`, "", "| clause | level | reason |", "|---|---|---|");
    for (const r of skipped) out.push(`| ${mdCode(r.id)} | ${r.level} | ${mdText(r.reason ?? "")} |`);
    out.push("");
  }
  if (report.notRun.length) out.push(`Not run (interrupted): ${report.notRun.map(mdCode).join(", ")}`, "");
  const ran = report.results.filter((r) => r.status !== "skip" && r.status !== "error");
  if (ran.length) {
    out.push("<details><summary>Cases checked, clause by clause</summary>", "", "| clause | status | cases |", "|---|---|---|");
    for (const r of ran) out.push(`| ${mdCode(r.id)} | ${STATUS_WORD[r.status]} | ${mdText(checkedText(r))} |`);
    out.push("", "</details>", "");
  }
  return fitMarkdown(out.join("\n") + "\n");
}

/**
 * Markdown within MARKDOWN_MAX_BYTES, whatever the implementation sent: cut
 * at the last blank line outside a code fence that leaves room for a note
 * saying so (the JSON and HTML reports and the failure files have the rest).
 */
export function fitMarkdown(md: string): string {
  if (Buffer.byteLength(md, "utf8") <= MARKDOWN_MAX_BYTES) return md;
  const note = "\n> **Cut here** to stay under GitHub's 1 MiB step summary: the JSON and HTML reports and the failures/ files have the rest.\n";
  const room = MARKDOWN_MAX_BYTES - Buffer.byteLength(note, "utf8");
  let fence: string | null = null;
  let used = 0;
  let cutAt = 0;
  for (const line of md.split("\n")) {
    used += Buffer.byteLength(line, "utf8") + 1;
    if (used > room) break;
    const f = /^(`{3,})/.exec(line)?.[1];
    if (f && fence === null) fence = f;
    else if (f && fence !== null && line.trim() === fence) fence = null;
    else if (line === "" && fence === null) cutAt = used;
  }
  return Buffer.from(md, "utf8").subarray(0, cutAt).toString("utf8") + note;
}

/** GitHub refuses a step summary over 1 MiB; the matrix stays under this many bytes. */
export const MARKDOWN_MAX_BYTES = 1024 * 1024 - 4096;

/** A cell of the matrix as a short word: "pass", "FAIL", "flaky", "skip: version", "skip: no eager_task_factory", "skip: virtual time". */
export function cellWord(r: ClauseReport | undefined, notRun: boolean): string {
  if (!r) return notRun ? "not run" : "";
  if (r.status !== "skip") return STATUS_WORD[r.status];
  if (r.skipKind === "version") return "skip: version";
  if (r.skipKind === "virtual-time") return "skip: virtual time";
  if (r.skipKind === "unsupported") {
    const m = / does not support (.*)$/.exec(r.reason ?? "");
    return m ? `skip: no ${m[1]}` : "skip: unsupported";
  }
  return "skip";
}

/** A version string as it is when it is harmless ("3.11.7", "Pyodide 0.27.8"), else as inline code. */
function plainOrCode(s: string): string {
  return /^[A-Za-z0-9][A-Za-z0-9 ._\/+-]*$/.test(s) ? s : mdCode(s);
}

function seconds(ms: number): string {
  return ms >= 60_000 ? `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s` : `${(ms / 1000).toFixed(1)} s`;
}

/**
 * The Markdown matrix: one row per implementation (its full version, clock,
 * totals and run time; absent ones with the command that installs them),
 * then the clauses whose verdicts differ between implementations, one
 * column per implementation. Clauses with the same verdict everywhere are
 * counted, not listed (the HTML page and matrix.json have every one).
 */
export function renderMatrixMarkdown(m: MatrixReport): string {
  const out: string[] = [];
  out.push("# aiospec conformance matrix", "");
  out.push(
    `Generated by \`aiospec report\` (aiospec ${m.tool.version}): seed ${m.options.seed}, ${m.options.runs} scenarios per clause ` +
      `(fewer on a real clock: see each implementation's runs)${m.complete ? "" : " — **incomplete**"}. ` +
      "The HTML page (index.html) has every clause, the failures with their reproducers and the reasons of every skip; matrix.json has everything.",
    "",
  );
  out.push(
    "| implementation | version | clock | runs | passed | failed | flaky | skipped | errors | time | description |",
    "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
  );
  for (const r of m.reports) {
    const s = r.summary;
    const impl = r.implementation;
    const clock = impl.clock === "real" ? `real${impl.tickMs ? `, ${impl.tickMs} ms/tick` : ""}` : "virtual";
    out.push(
      `| ${mdCode(impl.id)} | ${plainOrCode(impl.fullVersion ?? impl.version)} | ${clock} | ${r.options.runs} | ${s.passed} | ${s.failed} | ${s.flaky} | ${s.skipped} | ${s.errors} | ${seconds(r.timing.elapsedMs)} | ${mdText(impl.description)} |`,
    );
  }
  for (const a of m.absent ?? []) {
    out.push(`| ${mdCode(a.id)} | — | — | — | absent | | | | | | ${mdText(a.reason)}${a.install ? `; install: ${mdCode(a.install)}` : ""} |`);
  }
  out.push("");
  // The same note for several implementations (real clock) once, naming them all.
  const notes = new Map<string, string[]>();
  for (const r of m.reports) {
    for (const n of r.notes ?? []) {
      const id = r.implementation.id;
      const key = n.startsWith(id) ? n.slice(id.length) : n;
      notes.set(key, [...(notes.get(key) ?? []), ...(n.startsWith(id) ? [id] : [])]);
    }
  }
  for (const [n, ids] of notes) out.push(`> ${ids.length ? `${ids.map(mdCode).join(", ")}${ids.length > 1 ? " each" : ""}` : ""}${mdText(n)}`, "");
  const ids: Array<{ id: string; level: string }> = [];
  const seen = new Set<string>();
  for (const r of m.reports) {
    for (const c of [...r.results.map((x) => ({ id: x.id, level: x.level as string })), ...r.notRun.map((id) => ({ id, level: "" }))]) {
      if (!seen.has(c.id)) {
        seen.add(c.id);
        ids.push(c);
      }
    }
  }
  const byReport = m.reports.map((r) => new Map(r.results.map((x) => [x.id, x])));
  const rows: string[] = [];
  let allPass = 0;
  let passOrVersion = 0;
  for (const c of ids) {
    const cells = m.reports.map((r, k) => cellWord(byReport[k].get(c.id), r.notRun.includes(c.id)));
    // Passing, or skipped because the clause holds for other Python versions, everywhere: nothing to see.
    if (cells.every((w) => w === "pass" || w === "skip: version")) {
      if (cells.every((w) => w === "pass")) allPass++;
      else passOrVersion++;
      continue;
    }
    rows.push(`| ${mdCode(c.id)} | ${c.level} | ${cells.join(" | ")} |`);
  }
  out.push(`## Clauses whose verdicts differ (${rows.length} of ${ids.length})`, "");
  out.push(
    `The clauses with a failure, a flaky run, a harness error, or a skip other than by version somewhere. ` +
      `Not listed: ${allPass} clause(s) that pass everywhere, and ${passOrVersion} that pass wherever they apply ` +
      "(the others skip them: they hold for other Python versions).",
    "",
  );
  if (rows.length) {
    out.push(`| clause | level | ${m.reports.map((r) => mdCode(r.implementation.id)).join(" | ")} |`);
    out.push(`|---|---|${m.reports.map(() => "---").join("|")}|`);
    let size = Buffer.byteLength(out.join("\n"), "utf8");
    let shown = 0;
    for (const row of rows) {
      size += Buffer.byteLength(row, "utf8") + 1;
      if (size > MARKDOWN_MAX_BYTES - 512) break;
      out.push(row);
      shown++;
    }
    if (shown < rows.length) out.push("", `…and ${rows.length - shown} more rows: cut to stay under GitHub's 1 MiB (index.html and matrix.json have them).`);
  }
  return out.join("\n") + "\n";
}
