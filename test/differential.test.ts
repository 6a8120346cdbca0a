/**
 * The differential property: the reference's trace equals CPython's, exactly,
 * on generated scenarios — for every CPython version found on this machine.
 * (Long runs: `npm run long`, or `npx aiospec diff reference cpython-3.X --runs 20000`.)
 */
import { afterAll, describe, expect, it } from "vitest";
import * as fc from "fast-check";
import { differential, sameJson } from "../harness/running/differential";
import { Target, findCPython, resolvePair } from "../harness/targets";
import { countSteps } from "../spec/scenario/types";
import { canonicalJson } from "../spec/scenario/trace";
import { runScenario } from "../harness/engine/interpreter";
import { makeReference } from "../implementations/reference";

const RUNS = Number(process.env.AIOSPEC_TEST_RUNS ?? 2000);
const cpythons = ["cpython", ...["3.12", "3.13"].filter((v) => findCPython(v).path).map((v) => `cpython-${v}`)];
const open: Target[] = [];

async function pair(a: string, b: string): Promise<[Target, Target]> {
  const p = await resolvePair(a, b);
  open.push(...p);
  return p;
}

afterAll(() => open.forEach((t) => t.close()));

describe.each(cpythons)("reference vs %s", (cpython) => {
  it(`agrees on ${RUNS} generated scenarios (C Task)`, async () => {
    const [ref, py] = await pair("reference", cpython);
    expect(ref.version).toBe(py.version);
    const r = await differential(ref, py, { runs: RUNS, seed: 20261121 });
    expect(r.divergence, JSON.stringify(r.divergence, null, 1)).toBeUndefined();
    expect(r.runs).toBe(RUNS);
  });

  it(`agrees on ${RUNS / 4} generated scenarios (pure-Python Task)`, async () => {
    const [ref, py] = await pair("reference+pytask", `${cpython}+pytask`);
    const r = await differential(ref, py, { runs: RUNS / 4, seed: 7 });
    expect(r.divergence, JSON.stringify(r.divergence, null, 1)).toBeUndefined();
  });
});

describe("the differential property catches a faulty reference", () => {
  it("finds a LIFO ready queue and shrinks the counterexample to at most 6 steps", async () => {
    const [mutant, py] = await pair("mutant:lifo-ready", "cpython");
    const r = await differential(mutant, py, { runs: 1000, seed: 1 });
    expect(r.divergence).toBeDefined();
    const d = r.divergence!;
    expect(countSteps(d.scenario)).toBeLessThanOrEqual(6);
    expect(d.difference).not.toBeNull();
    expect(d.difference!.where).toMatch(/^events\[\d+\]$/);
    // Replaying the reported path gives the same shrunk scenario.
    const again = await differential(mutant, py, { runs: 1000, seed: r.seed, path: r.path });
    expect(again.divergence?.scenario).toEqual(d.scenario);
  });

  it("and finds it for every seed tried, within a few dozen scenarios", async () => {
    const [mutant, py] = await pair("mutant:lifo-ready", "cpython");
    for (const seed of [2, 3, 4]) {
      const r = await differential(mutant, py, { runs: 200, seed });
      expect(r.divergence).toBeDefined();
      expect(countSteps(r.divergence!.scenario)).toBeLessThanOrEqual(6);
    }
  });
});

describe("implementations that lack an operation", () => {
  it("declare it, and the scenarios are generated without it instead of failing", async () => {
    const { tsTarget } = await import("../harness/targets");
    const { makeReference } = await import("../implementations/reference");
    const lacking = {
      ...makeReference("3.11"),
      id: "no-taskgroup@3.11",
      unsupported: ["taskgroup", "new_taskgroup"],
      TaskGroup: () => {
        throw new Error("this implementation has no TaskGroup");
      },
    };
    const impl = tsTarget(lacking, "3.11", "a reference without TaskGroup");
    const [, py] = await pair("reference", "cpython");
    const r = await differential(impl, py, { runs: 300, seed: 11 });
    expect(r.divergence, JSON.stringify(r.divergence?.difference)).toBeUndefined();
    // Generated around (spec/scenario/downgrade.ts withoutFeatures), not skipped: nearly every case is compared.
    expect(r.skipped).toEqual({});
    expect(r.compared + r.bothErrored).toBe(300);
  });
});

describe("what a diff counts", () => {
  it("every generated scenario once: compared, skipped, both errored or ignored", async () => {
    const [ref, py] = await pair("reference", "cpython");
    const r = await differential(ref, py, { runs: 300, seed: 3 });
    expect(r.divergence).toBeUndefined();
    const skipped = Object.values(r.skipped).reduce((x, y) => x + y, 0);
    const ignored = Object.values(r.ignored).reduce((x, y) => x + y, 0);
    expect(r.compared + skipped + r.bothErrored + ignored).toBe(300);
    expect(r.compared).toBeGreaterThan(200);
  });

  it("an ignored signature (or a glob over it) is passed over and the search goes on", async () => {
    const [mutant, ref] = await pair("mutant:lifo-ready", "reference");
    const first = await differential(mutant, ref, { runs: 300, seed: 1 });
    expect(first.divergence).toBeDefined();
    const all = await differential(mutant, ref, { runs: 300, seed: 1, ignore: ["*"] });
    expect(all.divergence).toBeUndefined();
    const ignored = Object.values(all.ignored).reduce((x, y) => x + y, 0);
    expect(ignored).toBeGreaterThan(0);
    expect(all.compared + ignored).toBe(300);
  });

  it("versions are compared as numbers: 3.9 is older than 3.10", async () => {
    const { commonVersion, tooNewFeature } = await import("../harness/running/differential");
    const stub = (version: string) => ({ version }) as unknown as Target;
    expect(commonVersion(stub("3.10"), stub("3.9"))).toBe("3.9");
    expect(commonVersion(stub("3.13"), stub("3.12"))).toBe("3.12");
    const tg = { aiospec: 1, coroutines: [{ name: "main", body: [{ op: "taskgroup", body: [] }] }] } as never;
    expect(tooNewFeature(tg, "3.9")).toBe("taskgroup");
    expect(tooNewFeature(tg, "3.11")).toBeNull();
  });
});

describe("comparing traces without serialising them (sameJson)", () => {
  // Values as traces hold them, and then some: -0, NaN, undefined in objects and arrays, nesting.
  const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
    v: fc.oneof(
      { depthSize: "small", withCrossShrink: true },
      fc.constantFrom(null, true, false, 0, -0, 1, NaN, Infinity, "", "a", undefined),
      fc.array(tie("v"), { maxLength: 3 }),
      fc.dictionary(fc.constantFrom("a", "b", "c"), tie("v"), { maxKeys: 3 }),
    ),
  })).v;
  /** The same value with its objects' keys in reverse order. */
  const reordered = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(reordered) : v !== null && typeof v === "object" ? Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reordered(x)])) : v;

  it("says equal only when the canonical JSON is equal, and says it for a trace and its JSON round trip", () => {
    fc.assert(
      fc.property(value, value, (x, y) => {
        if (sameJson(x, y)) expect(canonicalJson(x)).toBe(canonicalJson(y));
        if (sameJson(x, reordered(x))) expect(canonicalJson(x)).toBe(canonicalJson(reordered(x)));
      }),
      { numRuns: 3000, seed: 12 },
    );
    const trace = runScenario(makeReference("3.11"), { aiospec: 1, coroutines: [{ name: "main", body: [{ op: "log", label: "x" }, { op: "raise", exc: { type: "ValueError", args: [-0, "m"] } }] }] } as never);
    expect(sameJson(trace, JSON.parse(JSON.stringify(reordered(trace))))).toBe(true);
    expect(sameJson({ a: 1, b: undefined }, { a: 1 })).toBe(true);
    expect(sameJson({ a: 1 }, { a: 2 })).toBe(false);
    expect(sameJson([1, 2], [1, 2, 3])).toBe(false);
  });
});
