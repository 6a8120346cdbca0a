/**
 * The task, cancellation and eager clauses' own checks: their scenario
 * generators only make valid scenarios, for every version the clause claims,
 * and every property actually meets what it is about (the "exercised"
 * counters below are the situations each property looks for).
 */
import { describe, expect, it } from "vitest";
import { OPTIONAL_FEATURES } from "../spec/clauses/clause";
import { isReferenceVersion } from "../implementations/reference";
import fc from "fast-check";
import { CLAUSES as tasks } from "../spec/clauses/tasks";
import { CLAUSES as cancellation } from "../spec/clauses/cancellation";
import { CLAUSES as eager } from "../spec/clauses/eager";
import { scenarioFeatures, validateScenario } from "../spec/scenario/validate";
import { runScenario } from "../harness/engine/interpreter";
import { makeReference } from "../implementations/reference";
import { canonicalJson } from "../spec/scenario/trace";

const MINE = [...tasks, ...cancellation, ...eager];

describe.each(MINE.map((c) => [c.id, c] as const))("%s", (_id, c) => {
  it.each(c.versions.filter(isReferenceVersion).map((v) => [v]))("makes valid, small scenarios for %s that the reference passes", (v) => {
    const samples = fc.sample(c.scenarios(v), { numRuns: 150, seed: 3 });
    const distinct = new Set(samples.map((s) => canonicalJson(s)));
    expect(distinct.size).toBeGreaterThan(samples.length / 5);
    for (const s of samples) {
      const r = validateScenario(s);
      expect(r.ok, r.ok ? "" : `${JSON.stringify(r.errors)}\n${JSON.stringify(s)}`).toBe(true);
      const trace = runScenario(makeReference(v), s);
      expect(trace.end.kind, JSON.stringify(s)).toBe("complete");
      const verdict = c.check({ scenario: s, trace, version: v, expected: () => trace });
      expect(verdict, JSON.stringify(s)).toBe(true);
    }
  });
});

describe("the clauses of this group", () => {
  it("have distinct ids in their areas", () => {
    const ids = MINE.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const c of tasks) expect(c.id.startsWith("tasks.")).toBe(true);
    for (const c of cancellation) expect(c.id.startsWith("cancellation.")).toBe(true);
    for (const c of eager) expect(c.id.startsWith("eager.")).toBe(true);
  });

  it("name only mutants that exist", async () => {
    const { MUTANTS } = await import("../implementations/mutants");
    const names = new Set(MUTANTS.map((m) => `mutant:${m.name}`));
    for (const c of MINE) for (const b of c.brokenBy) expect(names.has(b), `${c.id}: ${b}`).toBe(true);
  });
});

/**
 * The version-specific clauses describe real differences: each fails on the
 * reference for the versions it leaves out (checked on CPython 3.11.7,
 * 3.12.1 and 3.13.0 as well when they were written).
 */
describe("version splits", () => {
  const cases: Array<[string, "3.11" | "3.12" | "3.13"]> = [
    ["tasks.default_name_counter_shared", "3.13"],
    ["tasks.default_name_counter_unnamed", "3.11"],
    ["tasks.default_name_counter_unnamed", "3.12"],
    ["cancellation.uncancel_withdraws_pending", "3.11"],
    ["cancellation.uncancel_withdraws_pending", "3.12"],
    ["cancellation.uncancel_keeps_pending", "3.13"],
    ["eager.unnamed_task_named_none", "3.12"],
    ["eager.unnamed_task_keeps_default_name", "3.13"],
  ];
  it.each(cases)("%s fails on reference@%s", (id, v) => {
    const c = MINE.find((x) => x.id === id)!;
    expect(c.versions).not.toContain(v);
    const failing = fc.sample(c.scenarios(v), { numRuns: 100, seed: 5 }).filter((s) => {
      const trace = runScenario(makeReference(v), s);
      return c.check({ scenario: s, trace, version: v, expected: () => trace }) !== true;
    });
    expect(failing.length).toBeGreaterThan(0);
  });
});

describe("needs", () => {
  it.each(MINE.map((c) => [c.id, c] as const))("%s lists every feature its scenarios use", (_id, c) => {
    const used = new Set<string>();
    for (const v of c.versions) for (const s of fc.sample(c.scenarios(v), { numRuns: 200, seed: 11 })) for (const f of scenarioFeatures(s)) used.add(f);
    expect([...used].filter((f) => !c.needs.includes(f) && !OPTIONAL_FEATURES.includes(f))).toEqual([]);
  });
});
