/**
 * aiospec/vitest: the specification as one vitest test per clause.
 *
 *  - conformance() registers the reference's clauses and they pass; a
 *    mutant's known failures pass because the clause fails (and a known
 *    failure that holds fails its test); clauses for other versions and
 *    unsupported features are it.skip (checked at the end of this file, on
 *    what vitest collected and ran);
 *  - planConformance: options, environment, usage errors;
 *  - a failing clause's error carries the counterexample, and its replay line
 *    replays it;
 *  - installed as a dependency (a packed copy, and a symlink as `npm link`
 *    makes), `import { conformance } from "aiospec/vitest"` works under
 *    `npx vitest run` (ESM and CommonJS projects) and type-checks: the
 *    example in examples/vitest runs as a project of its own.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as fc from "fast-check";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { RunnerTask, RunnerTestSuite } from "vitest";
import {
  ConformanceFailure,
  ConformanceUsageError,
  DEFAULT_RUNS,
  DEFAULT_SEED,
  checkClause,
  checkKnownFailure,
  conformance,
  formatFailure,
  planConformance,
} from "../harness/vitest";
import type { ConformancePlan } from "../harness/vitest";
import { makeReference } from "../implementations/reference";
import { findMutant } from "../implementations/mutants";
import { ALL_VERSIONS, DOCS, clause } from "../spec/clauses/clause";
import type { Clause } from "../spec/clauses/clause";
import { CLAUSES } from "../spec/clauses";
import { scenarioArb } from "../spec/scenario/arbitraries";
import type { Scenario } from "../spec/scenario/types";

const ROOT = path.resolve(__dirname, "..");
/** A small, stable subset of the specification, for speed. */
const SUBSET = "differential.*";
const lifo = findMutant("lifo-ready")!;

// ------------------------------------------------------------ own clauses, for skips

function ownClause(c: Partial<Clause> & Pick<Clause, "id" | "check">): Clause {
  return clause({
    statement: "A clause of this test, over generated scenarios.",
    source: { url: DOCS.tasks, section: "Coroutines and Tasks" },
    versions: ALL_VERSIONS,
    level: "documented",
    needs: [],
    brokenBy: ["mutant:lifo-ready"],
    scenarios: (version) => scenarioArb({ version }),
    ...c,
  });
}

const ENDS = ["complete", "deadlock", "interrupted", "error"];
const runEnds = ownClause({
  id: "own.run_ends",
  statement: "Every run ends: it completes, deadlocks, is interrupted or fails, within the iteration budget.",
  check: ({ trace }) => ENDS.includes(trace.end.kind) || `run ended with ${trace.end.kind}`,
});
const newerOnly = ownClause({ id: "own.newer_only", versions: ["3.12", "3.13"], note: "added in 3.12", check: () => true });
const needsGather = ownClause({ id: "own.needs_gather", needs: ["gather"], check: () => true });
const exactOne = ownClause({ id: "own.exact", level: "exact", check: () => true });
const SLEEPER: Scenario = { aiospec: 1, coroutines: [{ name: "main", body: [{ op: "sleep", ticks: 1 }] }] };
const onlySleeps = ownClause({ id: "own.only_sleeps", scenarios: () => fc.constant(SLEEPER), check: () => true });
const OWN = [runEnds, newerOnly, needsGather, exactOne, onlySleeps];

// ------------------------------------------------------------ registered through the integration

const referencePlans: ConformancePlan[] = [
  conformance(makeReference, { version: "3.13", clauses: SUBSET, runs: 20 }),
  conformance(makeReference("3.11"), { clauses: SUBSET, runs: 20 }),
];
const knownPlan = conformance(lifo.make, {
  version: "3.12",
  clauses: SUBSET,
  runs: 100,
  knownFailures: { "differential.trace": "ready callbacks run newest first" },
});
const withoutGather = { ...makeReference("3.11"), id: "no-gather@3.11", unsupported: ["gather"] };
const skipsPlan = conformance(withoutGather, { spec: OWN, level: "documented", runs: 30 });
const noSleep = { ...makeReference("3.13"), id: "no-sleep@3.13", unsupported: ["sleep"] };
const allSkippedPlan = conformance(noSleep, { spec: [onlySleeps], runs: 5 });

// ------------------------------------------------------------ planConformance

describe("planConformance", () => {
  const NOENV = {};

  it("takes the version from the implementation, or gives it to a factory", () => {
    const plan = planConformance(makeReference("3.12"), {}, NOENV);
    expect(plan.version).toBe("3.12");
    expect(plan.title).toBe("aiospec conformance: reference@3.12");
    const asked: string[] = [];
    const fromFactory = planConformance((v) => (asked.push(v), makeReference(v)), { version: "3.11" }, NOENV);
    expect(asked).toEqual(["3.11"]);
    expect(fromFactory.version).toBe("3.11");
    expect(planConformance(makeReference, {}, NOENV).version).toBe("3.13");
    const anon = planConformance({ ...makeReference("3.12"), id: "mine" }, {}, NOENV);
    expect(anon.title).toBe("aiospec conformance: mine (Python 3.12)");
  });

  it("defaults: every clause, 100 runs, seed 1; one title per clause", () => {
    const plan = planConformance(makeReference("3.13"), {}, NOENV);
    expect(plan.runs).toBe(DEFAULT_RUNS);
    expect(plan.seed).toBe(DEFAULT_SEED);
    expect(plan.clauses.map((p) => p.clause.id)).toEqual(CLAUSES.map((c) => c.id));
    for (const p of plan.clauses) expect(p.title.startsWith(`${p.clause.id}: ${p.clause.statement}`)).toBe(true);
  });

  it("AIOSPEC_RUNS and AIOSPEC_SEED override the options; AIOSPEC_SEED=random picks one", () => {
    const plan = planConformance(makeReference, { runs: 5, seed: 9 }, { AIOSPEC_RUNS: "77", AIOSPEC_SEED: "-3" });
    expect([plan.runs, plan.seed]).toEqual([77, -3]);
    expect(planConformance(makeReference, { runs: 5, seed: 9 }, NOENV)).toMatchObject({ runs: 5, seed: 9 });
    expect(Number.isInteger(planConformance(makeReference, {}, { AIOSPEC_SEED: "random" }).seed)).toBe(true);
    expect(() => planConformance(makeReference, {}, { AIOSPEC_RUNS: "many" })).toThrow(/AIOSPEC_RUNS=many/);
  });

  it("selects clauses by globs, in specification order", () => {
    const plan = planConformance(makeReference, { spec: OWN, clauses: ["own.only_*", "own.run_*"] }, NOENV);
    expect(plan.clauses.map((p) => p.clause.id)).toEqual(["own.run_ends", "own.only_sleeps"]);
    const commas = planConformance(makeReference, { spec: OWN, clauses: "own.only_*, own.ex?ct" }, NOENV);
    expect(commas.clauses.map((p) => p.clause.id)).toEqual(["own.exact", "own.only_sleeps"]);
  });

  it("skips clauses for other versions, for unsupported features, and above the level; known failures become it.fails", () => {
    const plan = planConformance(withoutGather, { spec: OWN, level: "documented", knownFailures: { "own.run_ends": "issue #1" } }, NOENV);
    const byId = Object.fromEntries(plan.clauses.map((p) => [p.clause.id, p]));
    expect(byId["own.run_ends"]).toMatchObject({ mode: "fails", reason: "issue #1" });
    expect(byId["own.run_ends"].title).toMatch(/\[known failure: issue #1\]$/);
    expect(byId["own.newer_only"].mode).toBe("skip");
    expect(byId["own.newer_only"].title).toMatch(/\[skipped: holds for Python 3\.12, 3\.13; no-gather@3\.11 behaves as 3\.11 \(added in 3\.12\)\]$/);
    expect(byId["own.needs_gather"].title).toMatch(/\[skipped: no-gather@3\.11 does not support gather\]$/);
    expect(byId["own.exact"].title).toMatch(/\[skipped: checks CPython's exact behaviour; level is "documented"\]$/);
    expect(byId["own.only_sleeps"].mode).toBe("run");
  });

  it("refuses mistakes when the test file is collected", () => {
    const bad: Array<[() => unknown, RegExp]> = [
      [() => planConformance(makeReference, { clauses: "nope.*" }, NOENV), /no clause matches "nope\.\*"/],
      [() => planConformance(makeReference, { knownFailures: { "gather.ordr": "typo" } }, NOENV), /knownFailures names no clause: gather\.ordr/],
      [() => planConformance(makeReference("3.11"), { version: "3.13" }, NOENV), /claims Python 3\.11, not 3\.13: pass a factory/],
      [() => planConformance(makeReference, { version: "3.7" as "3.11" }, NOENV), /version "3\.7" is not a Python version aiospec knows/],
      [() => planConformance({ ...makeReference("3.13"), pythonVersion: "2.7" as "3.13" }, {}, NOENV), /claims Python 2\.7; aiospec knows 3\.8, 3\.9, 3\.10, 3\.11, 3\.12, 3\.13, 3\.14/],
      [() => planConformance((v) => makeReference(v === "3.13" ? "3.12" : v), {}, NOENV), /asked for Python 3\.13 but returned reference@3\.12/],
      [() => planConformance({ ...makeReference("3.13"), unsupported: ["gathr"] }, {}, NOENV), /unknown feature\(s\) unsupported: gathr/],
      [() => planConformance({ id: "x", pythonVersion: "3.13" } as never, {}, NOENV), /expected an AsyncioImplementation/],
      [() => planConformance(makeReference, { spec: OWN, path: "0:1" }, NOENV), /path replays one case of one clause, but 5 clauses/],
    ];
    for (const [f, message] of bad) {
      expect(f).toThrow(ConformanceUsageError);
      expect(f).toThrow(message);
    }
  });
});

// ------------------------------------------------------------ counterexamples

describe("a failing clause", () => {
  const plan = planConformance(lifo.make, { version: "3.13", clauses: "differential.trace", runs: 100, seed: 7 }, {});
  let failure: ConformanceFailure;

  beforeAll(async () => {
    const e = await checkClause(plan, plan.clauses[0].clause).then(
      () => null,
      (x: unknown) => x,
    );
    expect(e).toBeInstanceOf(ConformanceFailure);
    failure = e as ConformanceFailure;
  });

  it("throws a ConformanceFailure whose message carries the gist of the counterexample and the paths of the rest", () => {
    const m = failure.message;
    const x = failure.result.counterexample!;
    expect(failure.clauseId).toBe("differential.trace");
    expect(m.split("\n")[0]).toMatch(/^differential\.trace fails on mutant:lifo-ready@3\.13 \(Python 3\.13\) \(checked \d+ of \d+\):$/);
    expect(m.split("\n")[1]).toBe(plan.clauses[0].clause.statement);
    expect(m).toContain(`fail: ${x.message}`.slice(0, 150));
    // Expected vs got around the first difference, each side named.
    expect(m).toMatch(/First difference at events\[\d+\]:\n {2}Expected \(the reference's 3\.13 profile\):\n[\s\S]*\n {2}Got \(mutant:lifo-ready@3\.13\):\n/);
    // How to replay it.
    expect(m).toContain(`conformance(impl, { version: "3.13", seed: 7, clauses: "differential.trace", path: "${x.path}" })`);
    expect(m).toContain(`AIOSPEC_SEED=7 npx vitest run -t "differential.trace"`);
    // Short: no program, no whole traces; the files hold them.
    expect(m.split("\n").length).toBeLessThanOrEqual(60);
    expect(m).not.toContain("import asyncio");
    const files = /Full reproducers and traces: (\S+\.py) \(python3\.13\), (\S+\.ts) \(TypeScript\), (\S+\.json)$/m.exec(m);
    expect(files, m).not.toBeNull();
    const [py, ts, json] = files!.slice(1);
    expect(fs.readFileSync(py, "utf8")).toContain(`# aiospec: differential.trace fails on mutant:lifo-ready@3.13 (seed 7, path ${x.path})`);
    expect(fs.readFileSync(ts, "utf8")).toContain(`const CLAUSE = "differential.trace";`);
    const saved = JSON.parse(fs.readFileSync(json, "utf8"));
    expect(saved.scenario).toEqual(x.scenario);
    expect(saved.trace).toEqual(x.trace);
    expect(saved.expected).toEqual(x.expected);
  });

  it("replays from its seed and path alone", async () => {
    const x = failure.result.counterexample!;
    const again = planConformance(lifo.make, { version: "3.13", clauses: "differential.trace", seed: 7, path: x.path }, {});
    const e = await checkClause(again, again.clauses[0].clause).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(ConformanceFailure);
    expect((e as ConformanceFailure).result.counterexample!.scenario).toEqual(x.scenario);
  });

  it("a known failure that holds fails its test, telling to remove the entry", async () => {
    const known = planConformance(makeReference, { version: "3.13", clauses: "differential.trace", runs: 5, knownFailures: { "differential.trace": "was broken" } }, {});
    expect(known.clauses[0].mode).toBe("fails");
    await expect(checkKnownFailure(known, known.clauses[0])).rejects.toThrow(
      /^differential\.trace is listed in knownFailures \("was broken"\) but did not fail \(pass, checked 5 of 5\): remove it from knownFailures$/,
    );
  });

  it("reports a harness error as such", () => {
    const m = formatFailure(plan, plan.clauses[0].clause, { ...failure.result, status: "error", reason: "harness failure: boom" });
    expect(m).toBe("differential.trace could not be checked on mutant:lifo-ready@3.13: harness failure: boom");
  });
});

// ------------------------------------------------------------ installed as a dependency

/** Subprocesses (vitest, tsc) on a loaded machine. */
const SLOW = 180_000;

/** Run a command; the child vitest must not think it is a worker of this one. */
function run(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(VITEST|TINYPOOL|NODE_OPTIONS$)/.test(k)));
  const r = spawnSync(cmd, args, { cwd, env: { ...clean, NO_COLOR: "1", ...env }, encoding: "utf8", timeout: 170_000 });
  return { status: r.status, stdout: r.stdout, out: `${r.stdout}\n${r.stderr}` };
}

interface JsonReport {
  success: boolean;
  numFailedTests: number;
  numPassedTests: number;
  numPendingTests: number;
  testResults: Array<{ name: string; assertionResults: Array<{ fullName: string; title: string; status: string; failureMessages: string[] }> }>;
}

function readReport(file: string): JsonReport {
  return JSON.parse(fs.readFileSync(file, "utf8")) as JsonReport;
}

/** A project of its own: a copy of examples/vitest, with aiospec and the rest of node_modules as an install lays them out. */
function makeProject(dir: string, aiospec: (dest: string) => void, type: "module" | "commonjs"): string {
  const proj = path.join(dir, `proj-${type}-${fs.readdirSync(dir).length}`);
  fs.cpSync(path.join(ROOT, "examples", "vitest"), proj, { recursive: true });
  const pkg = JSON.parse(fs.readFileSync(path.join(proj, "package.json"), "utf8"));
  pkg.type = type;
  fs.writeFileSync(path.join(proj, "package.json"), JSON.stringify(pkg, null, 2));
  const nm = path.join(proj, "node_modules");
  fs.mkdirSync(nm);
  // aiospec's dependencies and vitest, hoisted next to it as npm installs them.
  for (const entry of fs.readdirSync(path.join(ROOT, "node_modules"))) {
    if (entry.startsWith(".") && entry !== ".bin") continue;
    fs.symlinkSync(path.join(ROOT, "node_modules", entry), path.join(nm, entry));
  }
  aiospec(path.join(nm, "aiospec"));
  return proj;
}

describe("installed as a dependency: import { conformance } from \"aiospec/vitest\"", () => {
  let tmp: string;
  let unpacked: string;

  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "aiospec-vitest-"));
    // What `npm install aiospec` puts in node_modules: the packed package.
    const pack = run("npm", ["pack", "--pack-destination", tmp, "--json"], ROOT);
    expect(pack.status, pack.out).toBe(0);
    const tgz = path.join(tmp, (JSON.parse(pack.stdout) as Array<{ filename: string }>)[0].filename);
    unpacked = path.join(tmp, "unpacked");
    fs.mkdirSync(unpacked);
    const tar = run("tar", ["-xzf", tgz, "-C", unpacked, "--strip-components=1"], tmp);
    expect(tar.status, tar.out).toBe(0);
  }, 60_000);

  afterAll(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  const installed = (dest: string) => fs.cpSync(unpacked, dest, { recursive: true });
  const linked = (dest: string) => fs.symlinkSync(ROOT, dest);

  it.each([
    ["a packed copy", "module"],
    ["a packed copy", "commonjs"],
    ["a symlink (npm link)", "module"],
  ] as const)("the example runs under `npx vitest run` with aiospec as %s, in a %s project", (layout, type) => {
    const proj = makeProject(tmp, layout === "a packed copy" ? installed : linked, type);
    const r = run("npx", ["vitest", "run", "--reporter=json", "--outputFile=report.json"], proj, { AIOSPEC_RUNS: "5" });
    expect(r.status, r.out).toBe(0);
    const report = readReport(path.join(proj, "report.json"));
    expect(report.success).toBe(true);
    const tests = report.testResults.flatMap((f) => f.assertionResults);
    // Every clause (of the copy under test: the symlinked tree may have grown
    // since this process loaded CLAUSES), once per version, passed or skipped;
    // the module ran isolated, as the example names it by its path.
    const suite = (v: string) => `aiospec conformance: ./src/my-asyncio.ts (Python ${v}) `;
    const ids = (v: string) => tests.filter((t) => t.fullName.startsWith(suite(v))).map((t) => t.title.split(": ")[0]);
    expect(ids("3.13")).toEqual(ids("3.11"));
    expect(new Set(ids("3.13")).size).toBe(ids("3.13").length);
    expect(ids("3.13")).toEqual(expect.arrayContaining(CLAUSES.map((c) => c.id)));
    expect(tests.filter((t) => t.status !== "passed" && t.status !== "skipped" && t.status !== "pending")).toEqual([]);
    expect(report.numPassedTests).toBeGreaterThan(0);
    expect(tests.map((t) => t.fullName)).toContain(`${suite("3.13")}differential.trace: ${CLAUSES.find((c) => c.id === "differential.trace")!.statement}`);
    // Isolated: clauses needing what the module declares unsupported are
    // skipped once it is loaded (as_completed:async, on 3.13), saying so.
    expect(tests.filter((t) => t.fullName.startsWith(suite("3.13")) && t.status === "passed").length).toBeGreaterThan(10);
  }, SLOW);

  it("the example type-checks: the exports give TypeScript the sources' types", () => {
    const proj = makeProject(tmp, installed, "module");
    // With a mistake in the options next to it, which must be the only type error.
    fs.writeFileSync(
      path.join(proj, "test", "typo.test.ts"),
      'import { conformance } from "aiospec/vitest";\nimport { makeAsyncio } from "../src/my-asyncio.js";\nconformance(makeAsyncio, { version: "3.10", runz: 5 });\n',
    );
    const r = run("npx", ["tsc", "--noEmit", "-p", "."], proj);
    const errors = r.stdout.split("\n").filter((l) => / error TS\d+:/.test(l));
    expect(errors.length, r.out).toBeGreaterThan(0);
    expect(errors.filter((l) => !l.startsWith("test/typo.test.ts(3,")), r.out).toEqual([]);
  }, SLOW);

  it("a failing clause fails its test, and the report carries the counterexample", () => {
    const proj = makeProject(tmp, installed, "module");
    // mutant lifo-ready, made from the package's public exports.
    fs.writeFileSync(
      path.join(proj, "test", "conformance.test.ts"),
      [
        'import { conformance } from "aiospec/vitest";',
        'import { EventLoop, makeReference } from "aiospec/reference";',
        "class LifoLoop extends EventLoop {",
        "  protected takeReadyBatch() { return super.takeReadyBatch().reverse(); }",
        "}",
        'conformance((v) => ({ ...makeReference(v, { loopClass: LifoLoop }), id: `lifo@${v}` }), { clauses: "differential.trace", runs: 100 });',
        'conformance((v) => ({ ...makeReference(v, { loopClass: LifoLoop }), id: `lifo-known@${v}` }), {',
        '  clauses: "differential.trace", runs: 100, knownFailures: { "differential.trace": "LIFO ready queue" },',
        "});",
        "",
      ].join("\n"),
    );
    const r = run("npx", ["vitest", "run", "--reporter=json", "--outputFile=report.json"], proj);
    expect(r.status, r.out).toBe(1);
    const tests = readReport(path.join(proj, "report.json")).testResults.flatMap((f) => f.assertionResults);
    expect(tests.map((t) => [t.fullName.slice(0, t.fullName.indexOf(" differential.trace: ")), t.status])).toEqual([
      ["aiospec conformance: lifo@3.13", "failed"],
      ["aiospec conformance: lifo-known@3.13", "passed"],
    ]);
    expect(tests[1].title).toMatch(/^differential\.trace: .*\[known failure: LIFO ready queue\]$/);
    const message = tests[0].failureMessages.join("\n");
    for (const part of [
      "ConformanceFailure: differential.trace fails on lifo@3.13 (Python 3.13) (checked ",
      "Expected (the reference's 3.13 profile):",
      "Got (lifo@3.13):",
      'conformance(impl, { version: "3.13", seed: 1, clauses: "differential.trace", path: "',
      "Full reproducers and traces: .aiospec/failures/lifo@3.13--differential.trace.py (python3.13)",
    ]) {
      expect(message).toContain(part);
    }
    // The program is in the file, not in the message.
    expect(message).not.toContain("import asyncio");
    expect(fs.readFileSync(path.join(proj, ".aiospec", "failures", "lifo@3.13--differential.trace.py"), "utf8")).toContain("import asyncio");
  }, SLOW);
});

// ------------------------------------------------------------ what conformance() registered, and how it ran

/** Runs last in this file (tests run in order): looks at the tests registered above, as vitest collected and ran them. */
describe("registered by conformance()", () => {
  function suiteOf(task: RunnerTask, plan: ConformancePlan): RunnerTestSuite {
    const s = task.file.tasks.find((t) => t.type === "suite" && t.name === plan.title);
    if (!s || s.type !== "suite") throw new Error(`no suite ${plan.title}`);
    return s;
  }
  const tests = (s: RunnerTestSuite) =>
    s.tasks.map((t) => ({
      name: t.name,
      mode: t.mode,
      fails: t.type === "test" ? (t.fails ?? false) : false,
      state: t.result?.state,
      // Set by context.skip(note); not in TaskResult's type.
      note: (t.result as { note?: string } | undefined)?.note,
      annotations: t.type === "test" ? t.annotations.map((a) => a.message) : [],
    }));

  // With a name filter (-t) the tests registered above do not run: nothing to look at then.
  beforeEach(({ task, skip }) => {
    if (tests(suiteOf(task, referencePlans[0]))[0].mode !== "run") skip("the tests conformance() registered were filtered out");
  });

  it("the reference passes its clauses", ({ task }) => {
    for (const plan of referencePlans) {
      const got = tests(suiteOf(task, plan));
      expect(got.length).toBeGreaterThan(0);
      for (const t of got) expect(t, t.name).toMatchObject({ mode: "run", fails: false, state: "pass" });
    }
  });

  it("a known failure passes because the clause fails, and says so", ({ task }) => {
    expect(tests(suiteOf(task, knownPlan))).toEqual([
      expect.objectContaining({
        name: expect.stringMatching(/^differential\.trace: .*\[known failure: ready callbacks run newest first\]$/),
        state: "pass",
        annotations: ["fails as known (fail): ready callbacks run newest first"],
      }),
    ]);
  });

  it("clauses for other versions, features or levels are it.skip; scenarios are drawn around unsupported features", ({ task }) => {
    const got = Object.fromEntries(tests(suiteOf(task, skipsPlan)).map((t) => [t.name.split(":")[0], t]));
    expect(got["own.newer_only"]).toMatchObject({ mode: "skip" });
    expect(got["own.needs_gather"]).toMatchObject({ mode: "skip" });
    expect(got["own.exact"]).toMatchObject({ mode: "skip" });
    expect(got["own.only_sleeps"]).toMatchObject({ mode: "run", state: "pass" });
    expect(got["own.only_sleeps"].annotations).toEqual([expect.stringMatching(/^checked (\d+) of \1$/)]);
    // own.run_ends ran over generated scenarios drawn around gather (spec/scenario/avoiding.ts): all of them checked.
    expect(got["own.run_ends"]).toMatchObject({ mode: "run", state: "pass" });
    expect(got["own.run_ends"].annotations).toEqual(["checked 30 of 30"]);
  });

  it("a clause none of whose scenarios could run is reported skipped as inconclusive, not passed", ({ task }) => {
    expect(tests(suiteOf(task, allSkippedPlan))).toEqual([
      expect.objectContaining({
        name: "own.only_sleeps: A clause of this test, over generated scenarios.",
        state: "skip",
        note: "inconclusive: checked 0 of 5 (5 skipped as unsupported: sleep 5); a pass needs at least 20% of the cases checked",
      }),
    ]);
  });
});
