/**
 * The report writers: JSON (against its schema), JUnit XML, Markdown and the
 * HTML page, baselines, clause globs — and escaping: an implementation whose
 * exceptions carry markup (test/fixtures/reports/xss-impl.ts) and clauses
 * whose scenarios carry it in labels (test/fixtures/reports/clauses.ts) must
 * show up as text everywhere, which headless Chromium checks on the page.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { reportProblems } from "../harness/reporting/schemas";
import { renderJUnit } from "../harness/reporting/junit";
import { mdCode, mdText, renderMarkdown, renderMatrixMarkdown } from "../harness/reporting/markdown";
import { renderHtml } from "../harness/reporting/html";
import { applyBaseline, emptyBaseline, loadBaseline, staleEntries, updateBaseline } from "../harness/reporting/baseline";
import { AbsentImplementation, MATRIX_FORMAT, MatrixReport, RunReport, replayCommand, shellWord } from "../harness/reporting/model";
import { buildRunReport } from "../harness/reporting/run-report";
import { clauseMatcher } from "../harness/running/glob";
import { Target, UsageError } from "../harness/targets";
import { runClause } from "../harness/running/runner";
import { runScenario } from "../harness/engine/interpreter";
import { makeReference } from "../implementations/reference";
import { canonicalJson } from "../spec/scenario/trace";
import type { Scenario } from "../spec/scenario/types";
import { CLAUSES as FIXTURE_CLAUSES, HOSTILE } from "./fixtures/reports/clauses";
import { XSS_MESSAGE } from "./fixtures/reports/xss-impl";

const ROOT = path.resolve(__dirname, "..");
const BIN = path.join(ROOT, "bin", "aiospec.js");
const CLAUSES = path.join(ROOT, "test", "fixtures", "reports", "clauses.ts");
const XSS_IMPL = path.join(ROOT, "test", "fixtures", "reports", "xss-impl.ts");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "aiospec-reports-"));
const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];

function aiospec(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", cwd: tmp, env: { ...process.env, CI: "1", AIOSPEC_CLAUSES: CLAUSES, ...env } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const read = (f: string) => fs.readFileSync(f, "utf8");

let xss: RunReport;
let lifo: RunReport;
const XSS_DIR = path.join(tmp, "xss");
const LIFO_DIR = path.join(tmp, "lifo");

beforeAll(() => {
  // The hostile implementation, through the CLI, every format.
  const a = aiospec(["run", "--impl", XSS_IMPL, "--clause", "fixture.fast.*", "--runs", "20", "--seed", "5", "--out", XSS_DIR, "--jobs", "1"]);
  expect(a.code, a.err).toBe(1);
  xss = JSON.parse(read(path.join(XSS_DIR, "report.json")));
  const b = aiospec(["run", "--impl", "mutant:lifo-ready", "--clause", "fixture.fast.*", "--runs", "50", "--seed", "1", "--out", LIFO_DIR, "--jobs", "1"]);
  expect(b.code, b.err).toBe(1);
  lifo = JSON.parse(read(path.join(LIFO_DIR, "report.json")));
}, 600_000); // two CLI runs, each starting isolated children: minutes on a loaded machine

describe("JSON report", () => {
  it("validates against harness/reporting/report.schema.json and holds what the run found", () => {
    for (const r of [xss, lifo]) expect(reportProblems(r)).toEqual([]);
    expect(lifo.format).toBe("aiospec-report");
    expect(lifo.schemaVersion).toBe(3);
    expect(lifo.complete).toBe(true);
    expect(lifo.implementation).toMatchObject({ requested: "mutant:lifo-ready", id: "mutant:lifo-ready@3.13", version: "3.13" });
    expect(lifo.results.map((r) => [r.id, r.status])).toEqual([
      ["fixture.fast.holds", "pass"],
      ["fixture.fast.order", "fail"],
      ["fixture.fast.labels", "pass"],
      ["fixture.fast.old", "skip"],
    ]);
    expect(lifo.summary).toMatchObject({ total: 4, passed: 2, failed: 1, skipped: 1, errors: 0, notRun: 0 });
    expect(lifo.summary.byLevel.exact).toMatchObject({ total: 1, failed: 1 });
    expect(lifo.outcome).toBe("failures");
    expect(lifo.exitCode).toBe(1);
    const f = lifo.results[1].failure!;
    expect(f.seed).toBe(1);
    expect(f.replay).toBe(`npx aiospec run --impl mutant:lifo-ready@3.13 --clause fixture.fast.order --seed 1 --path ${f.path}`);
    expect(f.firstDifference?.where).toMatch(/^events\[\d+\]$/);
    expect(f.python).toMatch(/^#!\/usr\/bin\/env python3/);
    expect(lifo.results[3].reason).toMatch(/holds for Python 3\.11/);
  });

  it("the schema rejects what it should", () => {
    const bad = JSON.parse(JSON.stringify(lifo));
    bad.results[1].status = "bogus";
    delete bad.timing;
    const problems = reportProblems(bad);
    expect(problems.join("\n")).toMatch(/timing/);
    const failWithoutFailure = JSON.parse(JSON.stringify(lifo));
    delete failWithoutFailure.results[1].failure;
    expect(reportProblems(failWithoutFailure).join("\n")).toMatch(/failure/);
    expect(reportProblems({ ...lifo, extra: 1 }).length).toBeGreaterThan(0);
  });
});

describe("JUnit XML", () => {
  it("is well-formed, one test case per clause, failures with message and reproducer, skips with reasons", () => {
    const xml = read(path.join(LIFO_DIR, "junit.xml"));
    expect(XMLValidator.validate(xml)).toBe(true);
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "" }).parse(xml);
    const suite = doc.testsuites.testsuite;
    expect(doc.testsuites).toMatchObject({ tests: "4", failures: "1", errors: "0", skipped: "1" });
    const cases = suite.testcase as Array<Record<string, any>>;
    expect(cases.map((c) => c.name)).toEqual(["fixture.fast.holds", "fixture.fast.order", "fixture.fast.labels", "fixture.fast.old"]);
    const failure = cases[1].failure;
    expect(failure.message).toBe(lifo.results[1].failure!.message);
    expect(failure["#text"]).toContain(lifo.results[1].failure!.replay);
    // The Python program is not repeated in the body: its file is named, and holds it.
    expect(failure["#text"]).not.toContain("import asyncio");
    const py = /Full reproducers and traces: (\S+\.py) \(python3\.13\)/.exec(failure["#text"]);
    expect(py).not.toBeNull();
    expect(read(path.join(tmp, py![1]))).toContain("import asyncio");
    // Expected vs got around the first difference, each side named, then the whole traces.
    expect(failure["#text"]).toMatch(/First difference at events\[\d+\]:\n {2}Expected \(the reference's 3\.13 profile\):\n[\s\S]*\n {2}Got \(mutant:lifo-ready@3\.13\):\n/);
    expect(failure["#text"]).toContain("Trace of mutant:lifo-ready@3.13:");
    expect(cases[1]["system-out"]).toMatch(/checked \d+ of \d+/);
    expect(cases[3].skipped.message).toMatch(/holds for Python 3\.11/);
  });

  it("carries hostile text as text, and characters XML cannot hold as visible escapes", () => {
    const xml = read(path.join(XSS_DIR, "junit.xml"));
    expect(XMLValidator.validate(xml)).toBe(true);
    expect(xml).not.toContain("<script>");
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "" }).parse(xml);
    const labels = (doc.testsuites.testsuite.testcase as Array<Record<string, any>>).find((c) => c.name === "fixture.fast.labels")!;
    expect(labels.failure.message).toBe(xss.results.find((r) => r.id === "fixture.fast.labels")!.failure!.message);
    expect(labels.failure.message).toContain(XSS_MESSAGE.replace(/"/g, '\\"'));

    const nasty = JSON.parse(JSON.stringify(lifo)) as RunReport;
    nasty.results[1].failure!.message = "nul\u0000 esc\u001b[31m lone\ud800 end]]> ]]> </failure><x> &amp; &nbsp; &#65; a&b";
    const out = renderJUnit([nasty]);
    expect(XMLValidator.validate(out)).toBe(true);
    const parsed = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "" }).parse(out);
    expect(parsed.testsuites.testsuite.testcase[1].failure.message).toBe("nul\\u0000 esc\\u001b[31m lone\\ud800 end]]> ]]> </failure><x> &amp; &nbsp; &#65; a&b");
  });
});

describe("Markdown", () => {
  it("shows totals by level, failures with scenario, first difference and replay, and skips with reasons", () => {
    const md = read(path.join(LIFO_DIR, "report.md"));
    expect(md).toMatch(/^## aiospec: `mutant:lifo-ready@3\.13` — FAILURES/);
    expect(md).toMatch(/\| documented \| 3 \| 2 \| 0 \| 1 \| 0 \|/);
    expect(md).toMatch(/\| exact \| 1 \| 0 \| 1 \| 0 \| 0 \|/);
    expect(md).toMatch(/### Exact-level failures \(1\)/);
    expect(md).not.toMatch(/### Documented-level failures/);
    expect(md).toMatch(/First difference at events\[\d+\]:\n {2}Expected \(the reference's 3\.13 profile\):/);
    expect(md).toContain("  Got (mutant:lifo-ready@3.13):");
    expect(md).toMatch(/\| `fixture\.fast\.holds` \| pass \| checked \d+ of \d+ \|/);
    expect(md).toContain(lifo.results[1].failure!.replay);
    expect(md).toMatch(/```json\n\{\n {2}"aiospec": 1/);
    expect(md).toMatch(/### Skipped \(1\)\n\n\| clause \| level \| reason \|/);
  });

  it("escapes text from implementations and scenarios", () => {
    const md = read(path.join(XSS_DIR, "report.md"));
    // Outside code blocks, no raw markup survives.
    const prose = md.replace(/(`{3,})[^\n]*\n[\s\S]*?\n\1/g, "");
    expect(prose).not.toMatch(/<script|<img/);
    expect(prose).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(mdText("a | b <i>*x*</i>")).toBe("a \\| b &lt;i&gt;\\*x\\*&lt;/i&gt;");
    expect(mdCode("a`b")).toBe("``a`b``");
  });

  it("renders the matrix: the clauses that fail, are flaky or are skipped other than by version somewhere; the others counted", () => {
    const md = renderMatrixMarkdown({ format: MATRIX_FORMAT, schemaVersion: 3, tool: lifo.tool, complete: true, options: { runs: 50, seed: 1, timeoutMs: 5000 }, reports: [lifo, xss], absent: [], timing: lifo.timing });
    expect(md).toMatch(/\| `fixture.fast.labels` \| documented \| pass \| FAIL \|/);
    expect(md).toMatch(/\| `fixture.fast.order` \| exact \| FAIL \| FAIL \|/);
    expect(md).not.toMatch(/\| `fixture.fast.(holds|old)` \|/);
    expect(md).toMatch(/## Clauses whose verdicts differ \(2 of 4\)/);
    expect(md).toMatch(/Not listed: 1 clause\(s\) that pass everywhere, and 1 that pass wherever they apply/);
    expect(md).toMatch(/^\| `mutant:lifo-ready@3\.13` \| 3\.13 \| virtual \| 50 \| 2 \| 1 \| 0 \| 1 \| 0 \| \d+\.\d s \|/m);
  });
});

describe("HTML page", () => {
  it("is one self-contained page: no external resource, a CSP that admits only its own script", () => {
    const html = read(path.join(LIFO_DIR, "report.html"));
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/<(link|img|iframe|object|embed|audio|video|source)\b|<script[^>]*\ssrc=/);
    expect((html.match(/<script>/g) ?? []).length).toBe(1);
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)![1].replace(/&#39;/g, "'");
    expect(csp).toMatch(/default-src 'none'/);
    const script = /<script>([\s\S]*?)<\/script>/.exec(html)![1];
    const hash = createHash("sha256").update(script).digest("base64");
    expect(csp).toContain(`'sha256-${hash}'`);
  });

  it("escapes every string from the implementation and the scenarios", () => {
    const html = read(path.join(XSS_DIR, "report.html"));
    expect(html).not.toContain("<script>alert(1)");
    expect(html).not.toContain("<img src=x");
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    // The only markup-looking payload left is inside attribute values, quoted and escaped.
    const page = renderHtml([{ ...xss, implementation: { ...xss.implementation, id: HOSTILE, description: HOSTILE } }]);
    expect(page).not.toContain(HOSTILE);
    expect(page).not.toMatch(/<img|<script>alert/);
  });

  const haveChromium = fs.existsSync(CHROMIUM);

  it.skipIf(!haveChromium)("shows hostile messages as text in headless Chromium, runs no injected script (--dump-dom)", () => {
    const profile = fs.mkdtempSync(path.join(tmp, "chromium-"));
    const r = spawnSync(CHROMIUM, [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`, "--virtual-time-budget=2000", "--dump-dom", "file://" + path.join(XSS_DIR, "report.html")], {
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const dom = r.stdout;
    // The page's own script ran (the CSP hash admits it)...
    expect(dom).toMatch(/<html lang="en" data-ready="1">/);
    // ...and the hostile text is a text node, not elements.
    expect(dom).toContain("&lt;script&gt;alert(1)&lt;/script&gt;&lt;script&gt;window.__xss=1&lt;/script&gt;");
    expect(dom).not.toMatch(/<script>alert|<script>window|<img/);
    expect((dom.match(/<script\b/g) ?? []).length).toBe(1);
  });

  it.skipIf(!haveChromium)("in Chromium: window.__xss stays unset, messages read as the text they are, and the filters work", async () => {
    const { chromium } = await import("playwright-core");
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS.filter((f) => f !== "--headless") });
    try {
      const page = await browser.newPage();
      const dialogs: string[] = [];
      page.on("dialog", (d) => {
        dialogs.push(d.message());
        void d.dismiss();
      });
      await page.goto("file://" + path.join(XSS_DIR, "report.html"));
      await page.waitForFunction("document.documentElement.dataset.ready === '1'");
      expect(await page.evaluate("typeof window.__xss")).toBe("undefined");
      expect(dialogs).toEqual([]);
      const messages = await page.$$eval("article.failure .message", (els) => els.map((e) => e.textContent ?? ""));
      expect(messages.some((m) => m.includes(XSS_MESSAGE.replace(/"/g, '\\"')))).toBe(true);
      const labelsArticle = await page.$eval("article.failure[id$='fixture.fast.labels']", (e) => e.textContent ?? "");
      expect(labelsArticle).toContain(HOSTILE);
      expect(await page.$$eval("img", (els) => els.length)).toBe(0);

      const shown = () => page.$$eval("tr.clause:not([hidden])", (els) => els.map((e) => e.querySelector("code")!.textContent));
      expect(await shown()).toEqual(["fixture.fast.holds", "fixture.fast.order", "fixture.fast.labels", "fixture.fast.old"]);
      await page.selectOption("#f-status", "fail");
      expect(await shown()).toEqual(["fixture.fast.order", "fixture.fast.labels"]);
      expect(await page.textContent("#f-count")).toBe("2 of 4 clauses shown");
      await page.selectOption("#f-level", "exact");
      expect(await shown()).toEqual(["fixture.fast.order"]);
      expect(await page.$$eval("article.failure:not([hidden])", (els) => els.length)).toBe(1);
      await page.selectOption("#f-level", "");
      await page.selectOption("#f-status", "");
      await page.fill("#f-text", "3.11");
      expect(await shown()).toEqual(["fixture.fast.old"]);
      await page.fill("#f-text", "");
      await page.selectOption("#f-area", "fixture");
      expect((await shown()).length).toBe(4);
      // Filters live in the address: a link opens the page filtered.
      await page.selectOption("#f-status", "skip");
      expect(new URL(page.url()).hash).toBe("#status=skip&area=fixture");
      const again = await browser.newPage();
      await again.goto("file://" + path.join(XSS_DIR, "report.html") + "#status=pass");
      await again.waitForFunction("document.documentElement.dataset.ready === '1'");
      expect(await again.$$eval("tr.clause:not([hidden])", (els) => els.map((e) => e.querySelector("code")!.textContent))).toEqual(["fixture.fast.holds"]);
    } finally {
      await browser.close();
    }
  });

  if (!haveChromium) {
    it.skip(`Chromium checks skipped: ${CHROMIUM} is not installed (.ci/run installs Debian's chromium)`, () => {});
  }
});

describe("baselines", () => {
  const impl = { requested: "mutant:lifo-ready", id: "mutant:lifo-ready@3.13", version: "3.13", description: "" };
  const results = () => JSON.parse(JSON.stringify(lifo.results)) as RunReport["results"];

  it("loads valid files and rejects bad ones with one line naming the problem", () => {
    const file = (name: string, text: string) => {
      const p = path.join(tmp, name);
      fs.writeFileSync(p, text);
      return p;
    };
    const ok = file("ok.json", JSON.stringify({ format: "aiospec-baseline", schemaVersion: 1, knownFailures: [{ implementation: "cpython-3.12", clause: "gather.*", reason: "bpo-1" }] }));
    expect(loadBaseline(ok).knownFailures).toHaveLength(1);
    const cases: Array<[string, RegExp]> = [
      ["{", /malformed JSON/],
      [JSON.stringify({ format: "nope", schemaVersion: 1, knownFailures: [] }), /\$\.format: must be equal to constant/],
      [JSON.stringify({ format: "aiospec-baseline", schemaVersion: 1, knownFailures: [{ implementation: "x", clause: "y" }] }), /\$\.knownFailures\[0\]: must have required property 'reason'/],
      [JSON.stringify({ format: "aiospec-baseline", schemaVersion: 1, knownFailures: [], extra: 1 }), /must NOT have additional properties \(extra\)/],
      [JSON.stringify({ format: "aiospec-baseline", schemaVersion: 1, knownFailures: [{ implementation: "x", clause: "y", reason: "r" }, { implementation: "x", clause: "y", reason: "s" }] }), /listed twice/],
    ];
    for (const [text, re] of cases) {
      const p = file("bad.json", text);
      expect(() => loadBaseline(p)).toThrow(UsageError);
      try {
        loadBaseline(p);
      } catch (e) {
        expect((e as Error).message).toMatch(re);
        expect((e as Error).message).not.toContain("\n");
      }
    }
    expect(() => loadBaseline(path.join(tmp, "missing.json"))).toThrow(/cannot read baseline .*ENOENT/);
    expect(loadBaseline(path.join(tmp, "missing.json"), true)).toEqual(emptyBaseline());
  });

  it("marks known failures, new failures and unexpected passes; matches resolved ids and wildcards", () => {
    const b = { ...emptyBaseline(), knownFailures: [
      { implementation: "mutant:lifo-ready@3.13", clause: "fixture.fast.order", reason: "LIFO" },
      { implementation: "mutant:*", clause: "fixture.fast.h*", reason: "was failing" },
      { implementation: "cpython", clause: "fixture.fast.labels", reason: "another implementation" },
    ] };
    const rs = results();
    const out = applyBaseline(rs, b, "b.json", impl, false);
    expect(out).toEqual({ file: "b.json", strict: false, knownFailures: ["fixture.fast.order"], newFailures: [], unexpectedPasses: ["fixture.fast.holds"] });
    expect(rs[1].baseline).toEqual({ status: "known-failure", reason: "LIFO" });
    expect(rs[0].baseline).toEqual({ status: "unexpected-pass", reason: "was failing" });
    expect(rs[2].baseline).toBeUndefined();
    expect(applyBaseline(results(), emptyBaseline(), "b.json", impl, false).newFailures).toEqual(["fixture.fast.order"]);
    expect(staleEntries({ ...b, knownFailures: [...b.knownFailures, { implementation: "x", clause: "gone.away", reason: "r" }] }, rs.map((r) => r.id))).toEqual([{ implementation: "x", clause: "gone.away", reason: "r" }]);
  });

  it("updates: keeps other implementations' entries and reasons, adds new failures, drops fixed ones", () => {
    const old = { ...emptyBaseline(), knownFailures: [
      { implementation: "mutant:lifo-ready", clause: "fixture.fast.order", reason: "kept reason" },
      { implementation: "mutant:lifo-ready", clause: "fixture.fast.holds", reason: "fixed since" },
      { implementation: "mutant:lifo-ready", clause: "fixture.slow.busy", reason: "not checked in this run" },
      { implementation: "cpython", clause: "fixture.fast.order", reason: "other implementation" },
    ] };
    expect(updateBaseline(old, impl, results()).knownFailures).toEqual([
      { implementation: "cpython", clause: "fixture.fast.order", reason: "other implementation" },
      { implementation: "mutant:lifo-ready", clause: "fixture.fast.order", reason: "kept reason" },
      { implementation: "mutant:lifo-ready", clause: "fixture.slow.busy", reason: "not checked in this run" },
    ]);
    const fresh = updateBaseline(emptyBaseline(), impl, results());
    expect(fresh.knownFailures).toEqual([{ implementation: "mutant:lifo-ready", clause: "fixture.fast.order", reason: lifo.results[1].failure!.message }]);
  });
});

describe("clause globs and replay commands", () => {
  it("match ids with * and ?, several separated by commas; reject anything else", () => {
    const m = clauseMatcher("gather.*,wait?for.timeout");
    expect(["gather.order", "gather.x.y", "wait_for.timeout", "wait.timeout"].map(m)).toEqual([true, true, true, false]);
    expect(clauseMatcher("*")("anything.at.all")).toBe(true);
    for (const bad of ["x[", "a b", "", "gather.(order)", "a,,b"]) expect(() => clauseMatcher(bad), bad).toThrow(UsageError);
  });

  it("quote words the shell would split", () => {
    expect(shellWord("mutant:lifo-ready@3.13")).toBe("mutant:lifo-ready@3.13");
    expect(shellWord("cmd:python3 my driver.py")).toBe("'cmd:python3 my driver.py'");
    expect(shellWord("it's")).toBe(`'it'\\''s'`);
    expect(replayCommand("./impl.ts", "a.b", -5, "1:2")).toBe("npx aiospec run --impl ./impl.ts --clause a.b --seed -5 --path 1:2");
  });
});

describe("flaky clauses (real clock) and absent implementations", () => {
  // A real-clock fake: the reference, whose first run of every scenario has a
  // stray log event with a hostile label; every rerun is right.
  const fakeReal = (label: string): Target => {
    const seen = new Set<string>();
    return {
      id: "fake-realtime",
      version: "3.13",
      description: `real-clock fake ${label}`,
      clock: "real",
      tickMs: 30,
      run: async (s: Scenario) => {
        const trace = runScenario(makeReference("3.13"), s);
        const key = canonicalJson(s);
        if (!seen.has(key)) trace.events.push({ ev: "log", label, time: 0, task: null });
        seen.add(key);
        return trace;
      },
      close() {},
    } as Target;
  };
  const timing = { startedAt: new Date(0).toISOString(), finishedAt: new Date(60_000).toISOString(), elapsedMs: 61_000, jobs: 1 };
  let flaky: RunReport;
  let matrix: MatrixReport;
  const ABSENT: AbsentImplementation = { id: "cpython-3.14", description: "cpython-3.14 (Python 3.14)", reason: `no CPython 3.14 found ${HOSTILE}`, install: "pyenv install 3.14" };

  beforeAll(async () => {
    const clauses = FIXTURE_CLAUSES.filter((c) => c.id.startsWith("fixture.fast."));
    const target = fakeReal(HOSTILE);
    const results = [];
    for (const c of clauses) results.push(await runClause(c, target, { runs: 4, seed: 2 }));
    flaky = buildRunReport({
      implementation: { requested: target.id, id: target.id, version: "3.13", description: target.description, fullVersion: "3.13.0", clock: "real", tickMs: 30 },
      clauses,
      results,
      options: { runs: 4, seed: 2, clause: null, path: null, timeoutMs: 5000, strict: false, reruns: 2 },
      notes: ["fake-realtime runs on a real clock (one tick = 30 ms): 4 scenarios per clause"],
      baseline: null,
      interrupted: false,
      timing,
    });
    matrix = { format: MATRIX_FORMAT, schemaVersion: 3, tool: lifo.tool, complete: true, options: { runs: 50, seed: 1, timeoutMs: 5000 }, reports: [lifo, flaky], absent: [ABSENT], timing };
  });

  it("a flaky clause is its own status: counted, valid JSON, exit 0", () => {
    expect(flaky.results.map((r) => [r.id, r.status])).toEqual([
      // Its property ignores the stray event, but the evidence every clause asks for first
      // (spec/clauses/evidence.ts: every log label is one of the scenario's) does not.
      ["fixture.fast.holds", "flaky"],
      ["fixture.fast.order", "flaky"],
      ["fixture.fast.labels", "flaky"],
      ["fixture.fast.old", "skip"],
    ]);
    expect(flaky.summary).toMatchObject({ passed: 0, failed: 0, flaky: 3, skipped: 1 });
    expect(flaky.outcome).toBe("flaky");
    expect(flaky.exitCode).toBe(0);
    expect(reportProblems(flaky)).toEqual([]);
    expect(reportProblems(matrix)).toEqual([]);
    const f = flaky.results[1].flaky!;
    expect(f.trace!.events.at(-1)).toMatchObject({ ev: "log", label: HOSTILE });
    expect(f.passingTrace!.events.some((e) => e.ev === "log" && e.label === HOSTILE)).toBe(false);
    expect(f.replay).toBe("npx aiospec run --impl fake-realtime --clause fixture.fast.order --seed 2 --path 0");
    // The schema wants the flaky details with the status.
    const bad = JSON.parse(JSON.stringify(flaky));
    delete bad.results[1].flaky;
    expect(reportProblems(bad).join("\n")).toMatch(/flaky/);
  });

  it("Markdown matrix: implementation rows with version, clock and time; absent rows with the install command; flaky cells", () => {
    const md = renderMatrixMarkdown(matrix);
    expect(md).toMatch(/^\| `fake-realtime` \| 3\.13\.0 \| real, 30 ms\/tick \| 4 \| 0 \| 0 \| 3 \| 1 \| 0 \| 1 min 1 s \|/m);
    expect(md).toMatch(/^\| `cpython-3\.14` \| — \| — \| — \| absent \|.*install: `pyenv install 3\.14` \|$/m);
    expect(md).toMatch(/\| `fixture.fast.order` \| exact \| FAIL \| flaky \|/);
    expect(md).toMatch(/\| `fixture.fast.labels` \| documented \| pass \| flaky \|/);
    expect(md).toMatch(/\| `fixture.fast.holds` \| documented \| pass \| flaky \|/);
    expect(md).toMatch(/## Clauses whose verdicts differ \(3 of 4\)/);
    expect(md).not.toMatch(/\| `fixture.fast.old` \|/); // skipped on both: the same verdict
    expect(md).toContain("> `fake-realtime` runs on a real clock");
    const prose = md.replace(/`[^`\n]*`/g, "");
    expect(prose).not.toMatch(/<script|<img/);
    expect(Buffer.byteLength(md)).toBeLessThan(1024 * 1024);
  });

  it("Markdown run report: a Flaky section; the totals table gets a flaky column", () => {
    const md = renderMarkdown(flaky);
    expect(md).toMatch(/^## aiospec: `fake-realtime` — conformant, with flaky clauses/);
    expect(md).toMatch(/\| level \| clauses \| passed \| failed \| flaky \| skipped \| errors \|/);
    expect(md).toMatch(/### Flaky \(3\)/);
    expect(md).toContain("npx aiospec run --impl fake-realtime --clause fixture.fast.order --seed 2 --path 0");
    // A report without flaky clauses keeps the old table.
    expect(renderMarkdown(lifo)).not.toMatch(/\| flaky \|/);
  });

  it("JUnit: a flaky clause passes, with a <flakyFailure> holding both runs", () => {
    const xml = renderJUnit([flaky]);
    expect(XMLValidator.validate(xml)).toBe(true);
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "" }).parse(xml);
    expect(doc.testsuites).toMatchObject({ tests: "4", failures: "0", errors: "0", skipped: "1" });
    const tc = (doc.testsuites.testsuite.testcase as Array<Record<string, any>>)[1];
    expect(tc.failure).toBeUndefined();
    expect(tc.flakyFailure.message).toContain(HOSTILE);
    expect(tc.flakyFailure["#text"]).toContain("the failing run:");
    expect(tc.flakyFailure["#text"]).toContain("the rerun that passed:");
  });

  it("HTML: flaky cells and articles with both traces, absent rows, everything escaped", () => {
    const html = renderHtml(matrix.reports, { absent: matrix.absent });
    expect(html).toContain('<option value="flaky">flaky</option>');
    expect(html).toMatch(/<td class="st flaky" title="flaky: [^"]*"><a href="#f-1-fixture\.fast\.order">flaky<\/a><small>4\/4<\/small><\/td>/);
    expect(html).toContain('<section id="flaky"><h2>Flaky (3)</h2>');
    expect(html).toContain("Trace of fake-realtime, the failing run");
    expect(html).toContain("Trace of fake-realtime, the rerun that passed");
    expect(html).toContain('<tr class="absent"><td><code>cpython-3.14</code></td>');
    expect(html).toContain("install: <code>pyenv install 3.14</code>");
    expect(html).toContain('<td class="st skip" title="holds for Python 3.11');
    expect(html).toContain(">skip: version</td>");
    expect(html).toContain("<td>3.13.0</td><td>real (30 ms a tick)</td>");
    expect(html).not.toContain(HOSTILE);
    expect(html).not.toMatch(/<img|<script>alert/);
    fs.writeFileSync(path.join(tmp, "flaky-matrix.html"), html);
  });

  it.skipIf(!fs.existsSync(CHROMIUM))("in Chromium: the flaky and absent text reads as text, nothing runs, the flaky filter works", async () => {
    const { chromium } = await import("playwright-core");
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS.filter((f) => f !== "--headless") });
    try {
      const page = await browser.newPage();
      await page.goto("file://" + path.join(tmp, "flaky-matrix.html") + "#status=flaky");
      await page.waitForFunction("document.documentElement.dataset.ready === '1'");
      expect(await page.evaluate("typeof window.__xss")).toBe("undefined");
      expect(await page.$$eval("img", (els) => els.length)).toBe(0);
      const shown = await page.$$eval("tr.clause:not([hidden])", (els) => els.map((e) => e.querySelector("code")!.textContent));
      expect(shown).toEqual(["fixture.fast.holds", "fixture.fast.order", "fixture.fast.labels"]);
      expect(await page.textContent("tr.absent")).toContain(HOSTILE);
      const msg = await page.$$eval("article.flaky .message", (els) => els.map((e) => e.textContent ?? ""));
      expect(msg.some((m) => m.includes(HOSTILE))).toBe(true);
    } finally {
      await browser.close();
    }
  });

  it("baselines: a flaky clause is neither a new failure nor an unexpected pass, and --update-baseline keeps its entry", () => {
    const impl = flaky.implementation;
    const b = { ...emptyBaseline(), knownFailures: [{ implementation: "fake-realtime", clause: "fixture.fast.order", reason: "FIFO ties" }] };
    const rs = JSON.parse(JSON.stringify(flaky.results)) as RunReport["results"];
    const out = applyBaseline(rs, b, "b.json", impl, true);
    expect(out).toEqual({ file: "b.json", strict: true, knownFailures: [], newFailures: [], unexpectedPasses: [], flaky: ["fixture.fast.holds", "fixture.fast.order", "fixture.fast.labels"] });
    expect(rs[1].baseline).toBeUndefined();
    expect(updateBaseline(b, impl, rs).knownFailures).toEqual(b.knownFailures);
  });
});
