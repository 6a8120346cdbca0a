/**
 * Runs on a real clock (uvloop, --clock real): a failing case is run again
 * and counts as a failure only if it fails every time, else the clause is
 * flaky (exit 0, both traces kept); clauses marked virtualTimeOnly are
 * skipped with their reason; fewer scenarios and one job by default.
 *
 * The targets here are fakes: the TypeScript reference behind a Target that
 * says its clock is real and spoils chosen runs (a stray log event at the
 * end of the trace). No assertion depends on how long anything takes.
 */
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { REALTIME, runClause } from "../harness/running/runner";
import type { Target } from "../harness/targets";
import { runScenario } from "../harness/engine/interpreter";
import { makeReference } from "../implementations/reference";
import { canonicalJson } from "../spec/scenario/trace";
import type { Trace } from "../spec/scenario/trace";
import type { Scenario } from "../spec/scenario/types";
import { CLAUSES as FIXTURES, VIRTUAL_ONLY_REASON } from "./fixtures/realtime/clauses";
import { clauseReport } from "../harness/reporting/model";
import { buildRunReport } from "../harness/reporting/run-report";
import { reportProblems } from "../harness/reporting/schemas";
import { runPlan } from "../harness/cli/commands";

const ROOT = path.resolve(__dirname, "..");
const BIN = path.join(ROOT, "bin", "aiospec.js");
const CLAUSES_FILE = path.join(ROOT, "test", "fixtures", "realtime", "clauses.ts");
const DRIVER = path.join(ROOT, "test", "fixtures", "realtime", "driver.js");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "aiospec-realtime-"));

const clauseById = (id: string) => FIXTURES.find((c) => c.id === id)!;
const order = clauseById("fixture.fast.order"); // the reference's trace, exactly
const virtualOnly = clauseById("fixture.fast.virtual");

const STRAY = "late <tick>";

/**
 * The reference, claiming a clock; `spoil(k)` says whether the k-th run
 * (1-based) of a scenario gives a wrong trace.
 */
function fakeTarget(clock: "real" | "virtual", spoil: (run: number) => boolean): Target & { runs: number } {
  const seen = new Map<string, number>();
  const t = {
    id: `fake-${clock}`,
    version: "3.13" as const,
    description: "the reference, with spoiled runs",
    clock,
    tickMs: 30,
    runs: 0,
    async run(s: Scenario): Promise<Trace> {
      t.runs++;
      const key = canonicalJson(s);
      const k = (seen.get(key) ?? 0) + 1;
      seen.set(key, k);
      const trace = runScenario(makeReference("3.13"), s);
      if (spoil(k)) trace.events.push({ ev: "log", label: STRAY, time: trace.events.at(-1)?.time ?? 0, task: null });
      return trace;
    },
    close() {},
  };
  return t;
}

const hasStray = (t: Trace | undefined) => !!t && t.events.some((e) => e.ev === "log" && e.label === STRAY);

describe("a real-clock target", () => {
  it("a case that fails once and passes when run again makes the clause flaky, with both traces", async () => {
    const target = fakeTarget("real", (k) => k === 1);
    const r = await runClause(order, target, { runs: 5, seed: 7 });
    expect(r.status).toBe("flaky");
    expect(r.counterexample).toBeUndefined();
    expect(r.clock).toBe("real");
    const f = r.flaky!;
    expect(f.cases).toBe(5); // every generated case failed on its first run
    expect(f.attempts).toBe(2);
    expect(f.path).toBe("0");
    expect(f.failing.verdict).toBe("fail");
    expect(f.failing.message).toMatch(/late <tick>/);
    expect(hasStray(f.failing.trace)).toBe(true);
    expect(f.passing.trace).toBeDefined();
    expect(hasStray(f.passing.trace)).toBe(false);
    // The rerun that passed gave the reference's trace. (The spoiled trace
    // fails the clause's evidence check, a log label the scenario does not
    // have, before the clause compares it with the expected trace.)
    expect(canonicalJson(f.passing.trace)).toBe(canonicalJson(runScenario(makeReference("3.13"), f.scenario)));
    // The report: status flaky, exit 0, valid against the schema, both traces in it.
    const report = buildRunReport({
      implementation: { requested: target.id, id: target.id, version: "3.13", description: target.description, clock: "real", tickMs: 30 },
      clauses: [order],
      results: [r],
      options: { runs: 5, seed: 7, clause: null, path: null, timeoutMs: 5000, strict: false, reruns: 2 },
      baseline: null,
      interrupted: false,
      timing: { startedAt: new Date(0).toISOString(), finishedAt: new Date(1).toISOString(), elapsedMs: 1, jobs: 1 },
    });
    expect(reportProblems(report)).toEqual([]);
    expect(report.outcome).toBe("flaky");
    expect(report.exitCode).toBe(0);
    expect(report.summary).toMatchObject({ passed: 0, failed: 0, flaky: 1 });
    const fr = report.results[0].flaky!;
    expect(hasStray(fr.trace)).toBe(true);
    expect(hasStray(fr.passingTrace)).toBe(false);
    expect(fr.replay).toMatch(/--seed 7 --path 0$/);
  });

  it("a case that fails twice and then passes is flaky too (3 runs)", async () => {
    const r = await runClause(order, fakeTarget("real", (k) => k <= 2), { runs: 3, seed: 1 });
    expect(r.status).toBe("flaky");
    expect(r.flaky!.attempts).toBe(3);
  });

  it("a failure that reproduces every time stays a failure, shrunk, with how many times it ran", async () => {
    const target = fakeTarget("real", () => true);
    const r = await runClause(order, target, { runs: 5, seed: 7 });
    expect(r.status).toBe("fail");
    expect(r.flaky).toBeUndefined();
    const x = r.counterexample!;
    expect(x.attempts).toBe(1 + REALTIME.reruns);
    expect(hasStray(x.trace)).toBe(true);
    expect(x.message).toMatch(/late <tick>/);
    const cr = clauseReport(order, r, target.id);
    expect(cr.failure!.attempts).toBe(3);
  });

  it("shrinking runs at most shrinkLimit candidates", async () => {
    const target = fakeTarget("real", () => true);
    const r = await runClause(order, target, { runs: 5, seed: 3, shrinkLimit: 4 });
    expect(r.status).toBe("fail");
    // The first failing case, then at most 4 candidates, each run 1 + reruns times.
    expect(target.runs).toBeLessThanOrEqual(5 * (1 + REALTIME.reruns));
  });

  it("skips a clause that only a virtual clock can check, with its reason", async () => {
    const target = fakeTarget("real", () => false);
    const r = await runClause(virtualOnly, target, { runs: 5, seed: 1 });
    expect(r).toMatchObject({ status: "skip", skipKind: "virtual-time", runs: 0 });
    expect(r.reason).toContain(VIRTUAL_ONLY_REASON);
    expect(r.reason).toMatch(/virtual time only: .* runs on a real clock/);
    expect(target.runs).toBe(0);
    // On a virtual clock the same clause runs.
    const v = await runClause(virtualOnly, fakeTarget("virtual", () => false), { runs: 1, seed: 1 });
    expect(v.status).toBe("pass");
  });

  it("on a virtual clock nothing is rerun: a failure on the first run is a failure", async () => {
    const target = fakeTarget("virtual", (k) => k === 1);
    const r = await runClause(order, target, { runs: 5, seed: 7 });
    expect(r.status).toBe("fail");
    expect(r.flaky).toBeUndefined();
    expect(r.counterexample!.attempts).toBeUndefined();
  });

  it("plans fewer scenarios and one job, says why, and lets --runs / --jobs override", () => {
    const real = fakeTarget("real", () => false);
    const plan = runPlan(real, FIXTURES, {});
    expect(plan).toMatchObject({ runs: REALTIME.runs, jobs: REALTIME.jobs, reruns: REALTIME.reruns });
    expect(plan.notes.join(" ")).toMatch(/real clock \(one tick = 30 ms\): 10 scenarios per clause instead of 100/);
    expect(plan.notes.join(" ")).toMatch(/1 clause\(s\) that need a virtual clock are skipped/);
    const given = runPlan(real, FIXTURES, { runs: 3, jobs: 2 });
    expect(given).toMatchObject({ runs: 3, jobs: 2 });
    expect(given.notes.join(" ")).not.toMatch(/scenarios per clause instead/);
    const virtual = runPlan(fakeTarget("virtual", () => false), FIXTURES, {});
    expect(virtual).toMatchObject({ runs: 100, reruns: 0, notes: [] });
  });
});

describe("aiospec run on a real-clock driver (test/fixtures/realtime/driver.js)", () => {
  const run = (mode: string, ...args: string[]) => {
    const r = spawnSync(process.execPath, [BIN, "run", "--impl", `cmd:node ${DRIVER} --mode ${mode}`, "--seed", "3", ...args], {
      encoding: "utf8",
      cwd: tmp,
      env: { ...process.env, CI: "1", AIOSPEC_CLAUSES: CLAUSES_FILE },
      timeout: 180_000,
    });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };

  it("flaky clauses: exit 0, shown on the terminal and in every report with both traces", () => {
    const out = path.join(tmp, "flaky");
    const r = run("flaky", "--out", out);
    expect(r.code, r.err + r.out).toBe(0);
    expect(r.err).toMatch(/runs on a real clock \(one tick = 30 ms\): 10 scenarios per clause instead of 100/);
    expect(r.err).toMatch(/1 job instead of \d+|1 job\(s\)/);
    expect(r.out).toMatch(/^FLAKY fixture\.fast\.order \[exact\]/m);
    expect(r.out).toMatch(/^SKIP  fixture\.fast\.virtual \[exact\] — virtual time only: needs 200 000 ticks/m);
    // fixture.fast.holds holds on any trace of its scenario, but a stray
    // event is not of its scenario (evidence, spec/clauses/evidence.ts):
    // flaky too.
    expect(r.out).toMatch(/^FLAKY fixture\.fast\.holds/m);
    expect(r.out).toMatch(/^0 passed, 0 failed, 3 flaky, 2 skipped$/m);
    const report = JSON.parse(fs.readFileSync(path.join(out, "report.json"), "utf8"));
    expect(reportProblems(report)).toEqual([]);
    expect(report.outcome).toBe("flaky");
    expect(report.options).toMatchObject({ runs: 10, reruns: 2, timeoutMs: REALTIME.timeoutMs });
    expect(report.timing.jobs).toBe(1);
    expect(report.implementation).toMatchObject({ clock: "real", tickMs: 30, fullVersion: "3.13.99" });
    expect(report.notes[0]).toMatch(/real clock/);
    const order = report.results.find((x: any) => x.id === "fixture.fast.order");
    expect(order.status).toBe("flaky");
    expect(hasStray(order.flaky.trace)).toBe(true);
    expect(hasStray(order.flaky.passingTrace)).toBe(false);
    const virtual = report.results.find((x: any) => x.id === "fixture.fast.virtual");
    expect(virtual).toMatchObject({ status: "skip", skipKind: "virtual-time" });

    const xml = fs.readFileSync(path.join(out, "junit.xml"), "utf8");
    expect(XMLValidator.validate(xml)).toBe(true);
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "" }).parse(xml);
    expect(doc.testsuites).toMatchObject({ failures: "0", errors: "0" });
    const tc = (doc.testsuites.testsuite.testcase as any[]).find((c) => c.name === "fixture.fast.order");
    expect(tc.failure).toBeUndefined();
    expect(tc.flakyFailure.message).toMatch(/^flaky: /);
    expect(tc.flakyFailure["#text"]).toContain("the rerun that passed");

    const md = fs.readFileSync(path.join(out, "report.md"), "utf8");
    expect(md).toMatch(/conformant, with flaky clauses/);
    expect(md).toMatch(/### Flaky \(3\)/);
    expect(md).toMatch(/\| level \| clauses \| passed \| failed \| flaky \| skipped \| errors \|/);
    const html = fs.readFileSync(path.join(out, "report.html"), "utf8");
    expect(html).toContain('<section id="flaky"><h2>Flaky (3)</h2>');
    expect(html).toContain("the rerun that passed");
    expect(html).toContain("late &lt;tick&gt;");
    expect(html).not.toContain("late <tick>");
  });

  it("a deterministic failure fails the run (exit 1) after 3 runs of the case", () => {
    const json = path.join(tmp, "broken.json");
    const r = run("broken", "--clause", "fixture.fast.order", "--runs", "3", "--json", json);
    expect(r.code, r.err + r.out).toBe(1);
    expect(r.out).toMatch(/^FAIL  fixture\.fast\.order/m);
    expect(r.out).toContain("the case ran 3 times and failed every time");
    const report = JSON.parse(fs.readFileSync(json, "utf8"));
    expect(report.results[0]).toMatchObject({ status: "fail", failure: { attempts: 3 } });
    expect(report.options.runs).toBe(3);
    expect(report.notes[0]).toMatch(/20 s per scenario instead of 5 s/);
    expect(report.notes[0]).not.toMatch(/scenarios per clause instead/);
  });
});
