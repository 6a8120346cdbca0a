/**
 * The generator leaves out what an implementation cannot run
 * (scenarioArb's `exclude`, spec/scenario/downgrade.ts withoutFeatures):
 *
 *  - no generated scenario uses an excluded feature, and each is valid;
 *  - with nothing excluded the scenarios are exactly those of before, seed
 *    for seed (saved seeds and replay paths stay valid);
 *  - so differential.trace on the minimal example scheduler (only sleep and
 *    create_task) checks nearly all its cases instead of skipping most.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { differential } from "../spec/clauses/differential";
import { scenarioArb } from "../spec/scenario/arbitraries";
import { scenarioFeatures, validateScenario } from "../spec/scenario/validate";
import type { PythonVersion } from "../spec/scenario/versions";

const ROOT = path.resolve(__dirname, "..");

/**
 * examples/scheduler copied into a project of its own, with aiospec linked
 * as its dependency (it imports "aiospec/api"), as test/example-scheduler.test.ts does.
 */
function exampleProject(tmp: string): string {
  const proj = path.join(tmp, "example-scheduler");
  fs.cpSync(path.join(ROOT, "examples", "scheduler"), proj, { recursive: true, filter: (src) => !src.includes(`${path.sep}node_modules`) });
  const nm = path.join(proj, "node_modules");
  fs.mkdirSync(nm);
  for (const entry of fs.readdirSync(path.join(ROOT, "node_modules"))) {
    if (!entry.startsWith(".")) fs.symlinkSync(path.join(ROOT, "node_modules", entry), path.join(nm, entry));
  }
  fs.symlinkSync(ROOT, path.join(nm, "aiospec"));
  return proj;
}

let tmp: string;
let proj: string;
/** What the minimal example (only sleep and create_task) declares unsupported. */
let minimalUnsupported: string[];

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "aiospec-genfeatures-"));
  proj = exampleProject(tmp);
  const mod = (await import(path.join(proj, "src", "minimal.ts"))) as { default: { unsupported?: string[] } };
  minimalUnsupported = [...(mod.default.unsupported ?? [])];
});

afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** Every sample valid and free of the excluded features. */
function expectWithout(version: PythonVersion, exclude: string[]): void {
  const samples = fc.sample(scenarioArb({ version, exclude }), { seed: 5, numRuns: 300 });
  expect(samples).toHaveLength(300);
  for (const s of samples) {
    const used = scenarioFeatures(s).filter((f) => exclude.includes(f));
    expect(used, JSON.stringify(s)).toEqual([]);
    const v = validateScenario(s);
    expect(v.ok, JSON.stringify(v)).toBe(true);
  }
}

const EXCLUSIONS: Array<{ name: string; version: PythonVersion; exclude: string[] }> = [
  { name: "no TaskGroup, no timeout", version: "3.13", exclude: ["taskgroup", "new_taskgroup", "timeout", "reschedule", "inspect_timeout"] },
  { name: "no combinators", version: "3.11", exclude: ["gather", "shield", "wait_for", "wait", "as_completed"] },
  { name: "no exception groups, messages or callbacks", version: "3.13", exclude: ["exception_group", "except*", "cancel:msg", "call_soon", "call_later", "add_done_callback"] },
  { name: "no futures or ensure_future, on 3.9", version: "3.9", exclude: ["create_future", "set_result", "set_exception", "ensure_future", "eager"] },
];

describe("scenarioArb({ exclude })", () => {
  it.each(EXCLUSIONS)("generates valid scenarios without the excluded features: $name", ({ version, exclude }) => {
    expectWithout(version, exclude);
  });

  it("generates valid scenarios without what the minimal example scheduler lacks", () => {
    expect(minimalUnsupported).toContain("taskgroup");
    expectWithout("3.12", minimalUnsupported);
  });

  it("with nothing excluded gives exactly the scenarios of before, seed for seed", () => {
    for (const version of ["3.8", "3.10", "3.12", "3.13"] as PythonVersion[]) {
      for (const seed of [1, 42]) {
        const before = fc.sample(scenarioArb({ version }), { seed, numRuns: 60 });
        expect(fc.sample(scenarioArb({ version, exclude: [] }), { seed, numRuns: 60 })).toEqual(before);
        // What the differential clause generated before it knew its target: the same, for a target lacking nothing.
        expect(fc.sample(differential.scenarios(version, { unsupported: [] }), { seed, numRuns: 60 })).toEqual(before);
        expect(fc.sample(differential.scenarios(version), { seed, numRuns: 60 })).toEqual(before);
      }
    }
  });

  it("is the same, seed for seed, for a Python lacking only what its version's generator never makes", () => {
    // CPython 3.12's driver declares as_completed:async (3.13) unsupported: its seeds must not move.
    const before = fc.sample(scenarioArb({ version: "3.12" }), { seed: 20261121, numRuns: 1000 });
    expect(fc.sample(scenarioArb({ version: "3.12", exclude: ["as_completed:async"] }), { seed: 20261121, numRuns: 1000 })).toEqual(before);
  });

  it("differs from the unexcluded scenarios only where they used an excluded feature", () => {
    // Scenarios already free of the features pass through untouched.
    const exclude = ["as_completed", "as_completed:async"];
    const plain = fc.sample(scenarioArb({ version: "3.13" }), { seed: 9, numRuns: 200 });
    const without = fc.sample(scenarioArb({ version: "3.13", exclude }), { seed: 9, numRuns: 200 });
    for (let i = 0; i < plain.length; i++) {
      if (!scenarioFeatures(plain[i]).some((f) => exclude.includes(f))) expect(without[i]).toEqual(plain[i]);
    }
  });
});

describe("differential.trace on the minimal example scheduler", () => {
  it("checks at least 80% of its cases, and passes", () => {
    const r = spawnSync(
      process.execPath,
      [path.join(ROOT, "bin", "aiospec.js"), "run", "--impl", "./src/minimal.ts", "--clause", "differential.trace", "--seed", "1", "--runs", "100", "--json", "report.json"],
      { cwd: proj, env: { ...process.env, NO_COLOR: "1", CI: "1" }, encoding: "utf8", timeout: 280_000 },
    );
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    const [result] = (JSON.parse(fs.readFileSync(path.join(proj, "report.json"), "utf8")) as {
      results: Array<{ id: string; status: string; runs: number; checked: number; skippedCases?: Record<string, number> }>;
    }).results;
    expect(result.id).toBe("differential.trace");
    expect(result.status, JSON.stringify(result)).toBe("pass");
    expect(result.runs).toBe(100);
    expect(result.checked, JSON.stringify(result.skippedCases)).toBeGreaterThanOrEqual(80);
  }, 300_000);
});
