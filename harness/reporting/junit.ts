/**
 * JUnit XML: one <testsuite> per implementation, one <testcase> per
 * selected clause. A failing clause is a <failure> whose message is the
 * property's verdict and whose body is the reproducer (first difference,
 * replay command, shrunk scenario, Python program, traces); a harness error
 * is an <error>; a skipped clause, a clause that did not run (interrupted)
 * and a known failure of the baseline are <skipped> with the reason. A
 * flaky clause (real clock: a case failed, then passed when run again)
 * passes, with a <flakyFailure> (Maven Surefire's element for a test that
 * passed on a rerun) holding the failing and the passing run.
 *
 * xmlbuilder2 escapes <, > and quotes in text and attribute values, but
 * leaves an "&" that starts something entity-like ("&amp;", "&nbsp;") as it
 * is: "&nbsp;" from an implementation would make the document ill-formed
 * and "&amp;" would read back as "&". So xmlSafe turns every "&" into
 * "&amp;" first (which xmlbuilder2 then keeps), and writes the characters
 * XML 1.0 cannot carry at all (most control characters, lone surrogates) as
 * visible \uXXXX escapes, so nothing an implementation prints can break the
 * document or change on the way.
 */
import type { XMLBuilder } from "xmlbuilder2/lib/interfaces";
import type { RunReport } from "./model";
import { checkedText, inconclusiveText } from "./model";
import { failureText, flakyText } from "./text";

// eslint-disable-next-line no-control-regex
const INVALID_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

export function xmlSafe(s: string): string {
  return s.replace(INVALID_XML, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`).replace(/&/g, "&amp;");
}

const seconds = (ms: number) => (ms / 1000).toFixed(3);

function suite(root: XMLBuilder, report: RunReport, index: number): number[] {
  const impl = report.implementation;
  const strict = report.options.strict;
  const cases: Array<{ name: string; area: string; time: number; kind: "pass" | "failure" | "error" | "skipped"; message?: string; type?: string; body?: string; out?: string; flaky?: { message: string; type: string; body: string } }> = [];
  for (const r of report.results) {
    const out = [`${r.statement}`, `source: ${r.source.section} <${r.source.url}>`, `level: ${r.level}; clause seed ${r.seed}; ${checkedText(r)}`];
    if (r.skippedCases) out.push(`cases skipped (unsupported features): ${JSON.stringify(r.skippedCases)}`);
    const flaky = r.flaky ? { message: `flaky: ${r.flaky.message}`, type: r.flaky.verdict, body: flakyText(r, impl.id, impl.version) } : undefined;
    const base = { name: r.id, area: r.area, time: r.elapsedMs, ...(flaky ? { flaky } : {}) };
    if (r.status === "fail" && r.baseline?.status === "known-failure") {
      cases.push({ ...base, kind: "skipped", message: `known failure (baseline): ${r.baseline.reason ?? ""}`, out: [...out, "", failureText(r, impl.id, impl.version, { full: true })].join("\n") });
    } else if (r.status === "fail") {
      cases.push({ ...base, kind: "failure", message: r.failure!.message, type: r.failure!.verdict, body: failureText(r, impl.id, impl.version, { full: true }), out: out.join("\n") });
    } else if (r.status === "error") {
      cases.push({ ...base, kind: "error", message: r.reason ?? "harness error", type: "harness", out: out.join("\n") });
    } else if (r.status === "flaky") {
      cases.push({ ...base, kind: "pass", out: [...out, `flaky: ${r.flaky!.cases} case(s) failed, then passed when run again`].join("\n") });
    } else if (r.status === "inconclusive") {
      // JUnit has no such state: skipped, so that no tool counts it as a pass.
      cases.push({ ...base, kind: "skipped", message: inconclusiveText(r), out: out.join("\n") });
    } else if (r.status === "skip") {
      cases.push({ ...base, kind: "skipped", message: r.reason ?? "skipped", out: out.join("\n") });
    } else if (r.baseline?.status === "unexpected-pass" && strict) {
      cases.push({ ...base, kind: "failure", type: "unexpected-pass", message: `unexpected pass: the baseline lists it as a known failure (${r.baseline.reason ?? ""})`, body: "Remove it from the baseline (aiospec run --update-baseline).", out: out.join("\n") });
    } else {
      if (r.baseline?.status === "unexpected-pass") out.push(`unexpected pass: the baseline lists it as a known failure (${r.baseline.reason ?? ""})`);
      cases.push({ ...base, kind: "pass", out: out.join("\n") });
    }
  }
  for (const id of report.notRun) {
    cases.push({ name: id, area: id.split(".")[0], time: 0, kind: "skipped", message: "not run: the run was interrupted" });
  }
  const n = (k: string) => cases.filter((c) => c.kind === k).length;
  const s = root.ele("testsuite", {
    name: xmlSafe(`aiospec ${impl.id}`),
    id: String(index),
    package: "aiospec",
    tests: String(cases.length),
    failures: String(n("failure")),
    errors: String(n("error")),
    skipped: String(n("skipped")),
    time: seconds(report.timing.elapsedMs),
    timestamp: report.timing.startedAt.replace(/\.\d+Z$/, ""),
  });
  const props = s.ele("properties");
  const prop = (name: string, value: string | number | boolean) => props.ele("property", { name, value: xmlSafe(String(value)) });
  prop("implementation", impl.id);
  prop("requested", impl.requested);
  prop("python-version", impl.version);
  prop("description", impl.description);
  prop("seed", report.options.seed);
  prop("runs", report.options.runs);
  prop("complete", report.complete);
  prop("outcome", report.outcome);
  for (const c of cases) {
    const tc = s.ele("testcase", { name: xmlSafe(c.name), classname: xmlSafe(`${c.area} (${impl.id})`), time: seconds(c.time) });
    if (c.kind === "failure") tc.ele("failure", { message: xmlSafe(c.message!), type: c.type! }).txt(xmlSafe(c.body ?? ""));
    if (c.flaky) tc.ele("flakyFailure", { message: xmlSafe(c.flaky.message), type: xmlSafe(c.flaky.type) }).txt(xmlSafe(c.flaky.body));
    else if (c.kind === "error") tc.ele("error", { message: xmlSafe(c.message!), type: c.type! });
    else if (c.kind === "skipped") tc.ele("skipped", { message: xmlSafe(c.message!) });
    if (c.out) tc.ele("system-out").txt(xmlSafe(c.out));
  }
  return [cases.length, n("failure"), n("error"), n("skipped")];
}

export function renderJUnit(reports: readonly RunReport[]): string {
  // Loaded here, when a JUnit report is written: xmlbuilder2 is some 160
  // modules, about 0.1 s of CPU, which every run paid at start-up before.
  const { create } = require("xmlbuilder2") as typeof import("xmlbuilder2");
  const doc = create({ version: "1.0", encoding: "UTF-8" });
  const root = doc.ele("testsuites", { name: "aiospec" });
  const totals = [0, 0, 0, 0];
  reports.forEach((r, i) => suite(root, r, i).forEach((n, k) => (totals[k] += n)));
  const [tests, failures, errors, skipped] = totals.map(String);
  root.att({ tests, failures, errors, skipped, time: seconds(reports.reduce((a, r) => a + r.timing.elapsedMs, 0)) });
  return doc.end({ prettyPrint: true }) + "\n";
}
