/**
 * aiospec mutants (harness/cli/mutants.ts, harness/running/mutants.ts): on a
 * few mutants, through the command as a user runs it.
 */
import { describe, expect, it, vi } from "vitest";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { expectedKillers, median, versionOrder } from "../harness/running/mutants";
import { cmdMutants } from "../harness/cli/mutants";
import { CLAUSES } from "../spec/clauses";
import { NEWEST } from "../implementations/reference";

const BIN = path.resolve(__dirname, "..", "bin", "aiospec.js");
const FIXTURE = path.resolve(__dirname, "fixtures", "mutants-clauses.ts");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "aiospec-mutants-"));

function aiospec(env: Record<string, string>, ...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, "mutants", ...args], { encoding: "utf8", cwd: tmp, env: { ...process.env, CI: "1", ...env } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe("aiospec mutants", () => {
  // Each test starts the CLI (ts-node): tens of seconds on a loaded machine, hence the generous limits.
  it("kills the mutants it is given, in two jobs, and says by which clause, how fast and how small", { timeout: 300_000 }, () => {
    const json = path.join(tmp, "two.json");
    const r = aiospec({}, "--mutant", "lifo-ready,gather-dedup-*", "--seed", "1", "--jobs", "2", "--json", json);
    expect(r.code, r.err).toBe(0);
    const lines = r.out.trim().split("\n");
    expect(lines[0]).toMatch(/^killed +lifo-ready +@3\.\d+ by [a-z_.]+: \d+ cases?, \d+\.\d{3} s, shrunk to \d+ steps?/);
    expect(lines[1]).toMatch(/^killed +gather-dedup-collapses +@3\.\d+ by gather\.duplicate: /);
    expect(r.out).toContain("killed 2/2\n");
    expect(r.out).toMatch(/median time to first failure \d+\.\d{3} s \(target < 1 s: (met|NOT met)\)/);
    const report = JSON.parse(fs.readFileSync(json, "utf8"));
    expect(report.seed).toBe(1);
    expect(report.runs).toBe(100);
    expect(report.totals.killed).toBe(2);
    for (const m of report.mutants) {
      expect(m.status).toBe("killed");
      // The figures are the killing clause's: a clause that names the mutant, its own counts.
      expect(m.expected).toContain(m.kill.clause);
      expect(m.kill.cases).toBeGreaterThanOrEqual(1);
      expect(m.kill.cases).toBeLessThanOrEqual(100);
      expect(m.kill.steps).toBeGreaterThanOrEqual(1);
      expect(m.kill.seconds).toBeGreaterThan(0);
      expect(m.kill.seconds * 1000).toBeLessThanOrEqual(m.elapsedMs);
    }
    expect(report.totals.medianSteps).toBe(median(report.mutants.map((m: { kill: { steps: number } }) => m.kill.steps)));
  });

  it("reports a survivor, having tried every clause, and exits 1", { timeout: 300_000 }, () => {
    const json = path.join(tmp, "survivor.json");
    const r = aiospec({ AIOSPEC_CLAUSES: FIXTURE }, "--mutant", "lifo-ready,gather-empty-hangs", "--seed", "2", "--python", "3.12", "--json", json);
    expect(r.code, r.err).toBe(1);
    expect(r.out).toMatch(/^SURVIVED +lifo-ready +passed every clause it was run on \(2\)$/m);
    expect(r.out).toMatch(/^killed +gather-empty-hangs +@3\.12 by gather\.empty: /m);
    expect(r.out).toContain("killed 1/2; survived: lifo-ready\n");
    const report = JSON.parse(fs.readFileSync(json, "utf8"));
    expect(report.python).toBe("3.12");
    expect(report.totals.survived).toEqual(["lifo-ready"]);
  });

  it("refuses a --mutant glob that matches nothing, in one line, with exit code 2", { timeout: 300_000 }, () => {
    const r = aiospec({}, "--mutant", "no-such-*");
    expect(r.code).toBe(2);
    expect(r.err.trim().split("\n")).toEqual(['aiospec: --mutant "no-such-*" matches no mutant (`aiospec list` shows them, as mutant:NAME)']);
  });
});

describe("the search order", () => {
  it("tries the newest profile first, then the others newest first; --python only that one", () => {
    const order = versionOrder();
    expect(order[0]).toBe(NEWEST);
    expect([...order].sort()).toEqual(["3.11", "3.12", "3.13", "3.14"]);
    expect(versionOrder("3.11")).toEqual(["3.11"]);
  });

  it("starts with the clauses that name the mutant in brokenBy", () => {
    expect(expectedKillers("gather-empty-hangs", CLAUSES).map((c) => c.id)).toContain("gather.empty");
    expect(expectedKillers("no-such-mutant", CLAUSES)).toEqual([]);
  });

  it("medians: middle value, mean of the two middle ones, null when empty", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNull();
  });
});

describe("aiospec mutants --stryker", () => {
  /** A Stryker JSON report as the JSON reporter writes it (mutation-testing-report-schema), trimmed to what is read. */
  const report = {
    schemaVersion: "2",
    files: {
      "implementations/reference/sleep.ts": {
        language: "typescript",
        source: "",
        mutants: [
          { id: "2", mutatorName: "BlockStatement", replacement: "{}", status: "Survived", location: { start: { line: 20, column: 7 }, end: { line: 20, column: 9 } } },
          { id: "1", mutatorName: "EqualityOperator", replacement: "delay < 0", status: "Killed", killedBy: ["7"], location: { start: { line: 13, column: 7 }, end: { line: 13, column: 16 } } },
          { id: "3", mutatorName: "ConditionalExpression", replacement: "false", status: "Timeout", location: { start: { line: 28, column: 7 }, end: { line: 28, column: 9 } } },
          { id: "4", mutatorName: "StringLiteral", replacement: '""', status: "NoCoverage", location: { start: { line: 29, column: 1 }, end: { line: 29, column: 3 } } },
          { id: "5", mutatorName: "StringLiteral", replacement: '""', status: "CompileError", location: { start: { line: 30, column: 1 }, end: { line: 30, column: 3 } } },
        ],
      },
    },
    testFiles: { "test/mutation/clauses.mutation.ts": { tests: [{ id: "7", name: "reference@3.13 loop.call_soon.fifo" }] } },
  };

  async function run(file: string | string[]): Promise<{ code: number; out: string }> {
    let out = "";
    const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => ((out += String(chunk)), true));
    try {
      const code = await cmdMutants({ jobs: 1, stryker: file });
      return { code, out };
    } finally {
      spy.mockRestore();
    }
  }

  it("prints each mutant in source order with the clause that killed it, and Stryker's score; survivors exit 1", async () => {
    const file = path.join(tmp, "mutation.json");
    fs.writeFileSync(file, JSON.stringify(report));
    const { code, out } = await run(file);
    expect(code).toBe(1);
    expect(out.trim().split("\n")).toEqual([
      'killed    implementations/reference/sleep.ts:13:7 EqualityOperator -> "delay < 0" by reference@3.13 loop.call_soon.fifo',
      'SURVIVED  implementations/reference/sleep.ts:20:7 BlockStatement -> "{}"',
      'timeout   implementations/reference/sleep.ts:28:7 ConditionalExpression -> "false"',
      'NO COVER  implementations/reference/sleep.ts:29:1 StringLiteral -> "\\"\\""',
      'error     implementations/reference/sleep.ts:30:1 StringLiteral -> "\\"\\""',
      // (1 killed + 1 timeout) / (2 + 1 survived + 1 not covered); the compile error is not counted.
      "Stryker mutation score 50.00%: 2 detected (1 killed, 1 timed out), 1 survived, 1 not covered, 1 not counted (errors, ignored); 5 mutants in 1 file(s)",
    ]);
  });

  it("escapes control characters a report quotes (a file name with ESC and CR) instead of sending them to the terminal", async () => {
    const file = path.join(tmp, "hostile.json");
    const hostile = { ...report, files: { "evil\x1b[2J\r.ts": report.files["implementations/reference/sleep.ts"] } };
    fs.writeFileSync(file, JSON.stringify(hostile));
    const { out } = await run(file);
    expect(out).not.toMatch(/[\x1b\r]/);
    expect(out).toContain("evil\\x1b[2J\\x0d.ts:13:7 EqualityOperator");
  });

  it("scores the reports of several named runs as one, and refuses a module given twice", async () => {
    const first = path.join(tmp, "first.json");
    fs.writeFileSync(first, JSON.stringify(report));
    const second = path.join(tmp, "second.json");
    const heapq = { language: "typescript", source: "", mutants: [
      { id: "1", mutatorName: "BooleanLiteral", replacement: "true", status: "Killed", killedBy: ["1"], location: { start: { line: 5, column: 3 }, end: { line: 5, column: 8 } } },
      { id: "2", mutatorName: "BooleanLiteral", replacement: "false", status: "Killed", killedBy: ["1"], location: { start: { line: 6, column: 3 }, end: { line: 6, column: 8 } } },
    ] };
    fs.writeFileSync(second, JSON.stringify({ schemaVersion: "2", files: { "implementations/reference/heapq.ts": heapq }, testFiles: { "t.ts": { tests: [{ id: "1", name: "reference@3.11 loop.call_at.order" }] } } }));
    const { code, out } = await run([first, second]);
    expect(code).toBe(1);
    const lines = out.trim().split("\n");
    // Test ids are per report: the second report's test "1" is its own, not the first's.
    expect(lines).toContain('killed    implementations/reference/heapq.ts:5:3 BooleanLiteral -> "true" by reference@3.11 loop.call_at.order');
    // (2 + 2 detected) / (4 + 1 survived + 1 not covered)
    expect(lines.at(-1)).toBe("Stryker mutation score 66.67%: 4 detected (3 killed, 1 timed out), 1 survived, 1 not covered, 1 not counted (errors, ignored); 7 mutants in 2 file(s) from 2 reports");
    await expect(run([first, second, first])).rejects.toThrow(`implementations/reference/sleep.ts is in both ${first} and ${first}`);
  });

  it("refuses a report that is missing or is not Stryker's", async () => {
    await expect(run(path.join(tmp, "absent.json"))).rejects.toThrow("no such file (run `npm run mutation` first)");
    const other = path.join(tmp, "other.json");
    fs.writeFileSync(other, "{}");
    await expect(run(other)).rejects.toThrow('not a Stryker JSON report (no "files")');
  });
});
