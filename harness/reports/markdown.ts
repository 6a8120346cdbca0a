/**
 * Markdown, for CI step summaries ($GITHUB_STEP_SUMMARY) and for reading in
 * a repository: totals by level, failures (documented and exact levels
 * apart) with the shrunk scenario, the first difference and the replay
 * command, the baseline's verdict, and skipped clauses with their reasons.
 *
 * Text from an implementation or a scenario is either inside a code fence
 * longer than any run of backticks in it, or escaped: Markdown punctuation
 * gets a backslash and <, >, & become entities, so GitHub renders it as the
 * text it is, never as markup.
 */
import type { Level } from "../../spec/clauses/clause";
import type { ClauseReport, Counts, MatrixReport, RunReport } from "./model";
import { totalsLine } from "./model";
import { scenarioPart } from "./text";

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
const STATUS_WORD = { pass: "pass", fail: "FAIL", skip: "skip", error: "ERROR" } as const;

function countsRow(name: string, c: Counts): string {
  return `| ${name} | ${c.total} | ${c.passed} | ${c.failed} | ${c.skipped} | ${c.errors} |`;
}

/** Failures shown in full; later ones get their message and replay command only (GitHub caps a step summary at 1 MiB). */
export const MARKDOWN_DETAILED_FAILURES = 25;

function failureSection(r: ClauseReport, detailed: boolean): string[] {
  const x = r.failure!;
  const mark = r.baseline ? ` — ${r.baseline.status.replace("-", " ")}${r.baseline.reason ? ` (${mdText(r.baseline.reason)})` : ""}` : "";
  const out = [
    `#### ${mdCode(r.id)}${mark}`,
    "",
    `${mdText(r.statement)} ([${mdText(r.source.section)}](${encodeURI(r.source.url).replace(/[()]/g, (c) => encodeURIComponent(c))}))`,
    "",
    `**${x.verdict}:** ${mdText(x.message)}`,
    "",
  ];
  if (x.firstDifference) out.push("First difference:", "", mdBlock(x.firstDifference.text), "");
  out.push("Replay:", "", mdBlock(x.replay, "sh"), "");
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

/** The Markdown summary of one run. */
export function renderMarkdown(report: RunReport): string {
  const s = report.summary;
  const impl = report.implementation;
  const out: string[] = [];
  const verdict = {
    conformant: "conformant",
    "matches-baseline": "matches the baseline",
    failures: "FAILURES",
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
  out.push("| level | clauses | passed | failed | skipped | errors |", "|---|---:|---:|---:|---:|---:|");
  for (const l of LEVELS) out.push(countsRow(l, s.byLevel[l]));
  out.push(countsRow("**all**", s), "");
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
    for (const r of mine) out.push(...failureSection(r, shown++ < MARKDOWN_DETAILED_FAILURES));
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
  return out.join("\n") + "\n";
}

/** The Markdown matrix: clauses × implementations. */
export function renderMatrixMarkdown(m: MatrixReport): string {
  const out: string[] = [];
  out.push("# aiospec conformance matrix", "");
  out.push(
    `Generated by \`aiospec report\` (aiospec ${m.tool.version}): seed ${m.options.seed}, ${m.options.runs} scenarios per clause${m.complete ? "" : " — **incomplete**"}. ` +
      "The HTML page (index.html) has the failures with their reproducers; matrix.json has everything.",
    "",
  );
  out.push("| implementation | description | passed | failed | skipped | errors |", "|---|---|---:|---:|---:|---:|");
  for (const r of m.reports) {
    const s = r.summary;
    out.push(`| ${mdCode(r.implementation.id)} | ${mdText(r.implementation.description)} | ${s.passed} | ${s.failed} | ${s.skipped} | ${s.errors} |`);
  }
  out.push("");
  const ids: Array<{ id: string; level: string }> = [];
  const seen = new Set<string>();
  for (const r of m.reports) {
    for (const c of [...r.results.map((x) => ({ id: x.id, level: x.level })), ...r.notRun.map((id) => ({ id, level: "" }))]) {
      if (!seen.has(c.id)) {
        seen.add(c.id);
        ids.push(c);
      }
    }
  }
  out.push(`| clause | level | ${m.reports.map((r) => mdCode(r.implementation.id)).join(" | ")} |`);
  out.push(`|---|---|${m.reports.map(() => "---").join("|")}|`);
  for (const c of ids) {
    const cells = m.reports.map((r) => {
      const x = r.results.find((y) => y.id === c.id);
      return x ? STATUS_WORD[x.status] : r.notRun.includes(c.id) ? "not run" : "";
    });
    out.push(`| ${mdCode(c.id)} | ${c.level} | ${cells.join(" | ")} |`);
  }
  return out.join("\n") + "\n";
}
