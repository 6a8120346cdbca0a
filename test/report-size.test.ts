/**
 * Report size (issue 14, point 5; docs/reports.md, "Report size"): an
 * implementation whose failing traces are huge (7 MiB each, under the 8 MiB
 * reply limit) still gets every report, each bounded by the caps of
 * harness/reporting/caps.ts, valid, and pointing at the failure file that
 * holds the whole trace. Before the caps the same run wrote a JSON report of
 * hundreds of megabytes, or none ("Invalid string length").
 */
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { main } from "../harness/cli/cli";
import { reportProblems } from "../harness/reporting/schemas";
import { MARKDOWN_MAX_BYTES, fitMarkdown, renderMarkdown } from "../harness/reporting/markdown";
import type { RunReport } from "../harness/reporting/model";
import { jsonChunks } from "../harness/reporting/atomic";

const HOSTILE = path.join(__dirname, "fixtures", "hostile");
const python3 = spawnSync("python3", ["--version"]).status === 0;
const MiB = 1024 * 1024;
/** The documented bound: a report embeds at most this much per failing clause (caps.ts: 3 traces, scenario, program, difference). */
const PER_CLAUSE = 0.5 * MiB;

describe("reports of huge failing traces are bounded", () => {
  it.skipIf(!python3)("a driver sending 7 MiB traces: JSON, HTML and Markdown bounded, valid, pointing at the full trace", async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "aiospec-size-"));
    const impl = `cmd:python3 ${path.join(HOSTILE, "hostile_driver.py")} huge`;
    const clauses = "sleep.result,gather.order";
    const code = await main(["run", "--impl", impl, "--clause", clauses, "--runs", "5", "--seed", "1", "--out", out, "--timeout-ms", "30000", "--jobs", "1"]);
    expect(code).toBe(1);
    const size = (f: string) => fs.statSync(path.join(out, f)).size;
    const text = fs.readFileSync(path.join(out, "report.json"), "utf8");
    const report = JSON.parse(text) as RunReport;
    // Written in chunks (jsonChunks), byte for byte what JSON.stringify would have made.
    expect(text).toBe(JSON.stringify(report, null, 2) + "\n");
    expect(reportProblems(report)).toEqual([]);
    const failing = report.results.filter((r) => r.failure);
    expect(failing.length).toBeGreaterThan(0);
    process.stderr.write(`report-size: ${failing.length} failing clause(s); report.json ${size("report.json")} B, report.html ${size("report.html")} B, report.md ${size("report.md")} B\n`);
    // Two clauses: 64 KiB of report around them, PER_CLAUSE for each.
    expect(size("report.json")).toBeLessThan(64 * 1024 + 2 * PER_CLAUSE);
    expect(size("report.html")).toBeLessThan(256 * 1024 + 2 * 2 * PER_CLAUSE);
    expect(size("report.md")).toBeLessThanOrEqual(MARKDOWN_MAX_BYTES);
    for (const r of failing) {
      const x = r.failure!;
      // The trace was cut, and the report says where the whole is: a file that holds it.
      expect(x.truncated?.parts.trace).toMatch(/^\d+ of \d+ events/);
      expect(x.truncated?.full).toBe(x.files!.json);
      const whole = JSON.parse(fs.readFileSync(x.truncated!.full!, "utf8"));
      expect(whole.trace.events.length).toBeGreaterThan(x.trace!.events.length);
      expect(fs.readFileSync(path.join(out, "report.md"), "utf8")).toContain(x.files!.json);
      expect(fs.readFileSync(path.join(out, "report.html"), "utf8")).toContain(x.files!.json);
    }
    fs.rmSync(out, { recursive: true, force: true });
  }, 1_200_000);

  it.skipIf(!python3)("the harness stays under 1 GB of memory doing it (peak resident set of the aiospec process)", () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "aiospec-size-rss-"));
    // A preload that reports the process's peak resident set as it exits.
    const probe = path.join(out, "maxrss.js");
    fs.writeFileSync(probe, 'process.on("exit", () => process.stderr.write(`maxRSS ${process.resourceUsage().maxRSS}\\n`));\n');
    const impl = `cmd:python3 ${path.join(HOSTILE, "hostile_driver.py")} huge`;
    const bin = path.join(__dirname, "..", "bin", "aiospec.js");
    const args = ["run", "--impl", impl, "--clause", "sleep.result,gather.order", "--runs", "5", "--seed", "1", "--out", out, "--timeout-ms", "30000", "--jobs", "1"];
    const r = spawnSync(process.execPath, ["--require", probe, bin, ...args], { encoding: "utf8", cwd: out, maxBuffer: 64 * MiB });
    expect(r.status, r.stderr).toBe(1);
    expect(reportProblems(JSON.parse(fs.readFileSync(path.join(out, "report.json"), "utf8")) as RunReport)).toEqual([]);
    const kib = Number(/maxRSS (\d+)/.exec(r.stderr)?.[1]);
    process.stderr.write(`report-size: the aiospec process peaked at ${(kib / 1024).toFixed(0)} MiB resident\n`);
    expect(kib).toBeGreaterThan(0);
    expect(kib).toBeLessThan(1024 * 1024); // KiB: 1 GiB
    fs.rmSync(out, { recursive: true, force: true });
  }, 1_200_000);

  it("Markdown stays under 1 MiB whatever the messages, cut with a note and no open code fence", () => {
    const big = "m".repeat(200 * 1024);
    const template = {
      id: "sleep.result", area: "sleep", statement: "s", level: "exact", versions: ["3.13"], source: { url: "https://docs.python.org/", section: "x" },
      status: "fail", runs: 5, checked: 5, seed: 1, elapsedMs: 1,
      failure: { verdict: "fail", message: big, scenario: { aiospec: 1, coroutines: [] }, python: "", shrunk: true, seed: 1, clauseSeed: 1, path: "0", replay: "npx aiospec run --impl x" },
    };
    const results = Array.from({ length: 20 }, (_, i) => ({ ...template, id: `clause.${i}` }));
    const report = {
      implementation: { requested: "x", id: "x", version: "3.13", description: "x" },
      options: { runs: 5, seed: 1, clause: null, path: null, timeoutMs: 1, strict: false },
      outcome: "failures", complete: true, notRun: [], baseline: null, results,
      summary: { total: 20, passed: 0, failed: 20, flaky: 0, inconclusive: 0, skipped: 0, errors: 0, notRun: 0, byLevel: {
        documented: { total: 0, passed: 0, failed: 0, flaky: 0, inconclusive: 0, skipped: 0, errors: 0 },
        exact: { total: 20, passed: 0, failed: 20, flaky: 0, inconclusive: 0, skipped: 0, errors: 0 } } },
    } as unknown as RunReport;
    const md = renderMarkdown(report);
    expect(Buffer.byteLength(md, "utf8")).toBeLessThanOrEqual(MARKDOWN_MAX_BYTES);
    expect(md).toContain("**Cut here**");
    // The cut is outside any fence: an even number of fence lines.
    expect((md.match(/^`{3,}/gm) ?? []).length % 2).toBe(0);
    // Short input is left alone.
    expect(fitMarkdown("# a\n")).toBe("# a\n");
  });

  it("the JSON writer never holds the whole report in one string: each chunk is one clause or less", () => {
    const clause = (i: number) => ({ id: `c.${i}`, failure: { trace: { events: Array.from({ length: 200 }, (_, k) => ({ ev: "log", time: k, label: "x".repeat(100) })) } } });
    const report = { format: "aiospec-report", results: Array.from({ length: 50 }, (_, i) => clause(i)), notRun: [], options: { seed: 1 } };
    const chunks: string[] = [];
    jsonChunks(report, (c) => chunks.push(c));
    const whole = chunks.join("");
    expect(whole).toBe(JSON.stringify(report, null, 2) + "\n");
    const largest = Math.max(...chunks.map((c) => c.length));
    expect(largest).toBeLessThan(whole.length / 40);
  });
});
