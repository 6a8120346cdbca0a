/**
 * The clauses' shortcuts mean what the long way means.
 *
 * The clauses' builders mark what they make as holding no `repeat`
 * (spec/clauses/clause.ts built()), so that expanding a clause's scenario
 * skips the walk over it. The mark must be true: a scenario marked so and
 * holding a repeat would run with its repeat unexpanded. For every clause
 * and version, a sample of its scenarios expands exactly as a copy of each
 * (a fresh object, never marked) does.
 *
 * The evidence walks a scenario's steps without walkSteps' paths
 * (spec/clauses/evidence.ts stepsIn): the same steps, coroutines and order.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { CLAUSES } from "../spec/clauses";
import { built } from "../spec/clauses/clause";
import { expandRepeats } from "../spec/scenario/repeat";
import type { Scenario } from "../spec/scenario/types";
import { walkSteps } from "../spec/scenario/types";
import { scenarioArb } from "../spec/scenario/arbitraries";
import { stepsIn } from "../spec/clauses/evidence";

/** walkSteps without its paths. */
const longWay = (s: Scenario) => walkSteps(s).map(({ step, coro }) => ({ step, coro }));

describe("clause scenarios marked repeat-free", () => {
  it.each(CLAUSES.map((c) => [c.id, c] as const))("%s: marks only what holds no repeat", (_id, c) => {
    let marked = 0;
    for (const version of c.versions) {
      for (const s of fc.sample(c.scenarios(version, { unsupported: [] }), { numRuns: 15, seed: 7 })) {
        const copy = structuredClone(s);
        const own = expandRepeats(s);
        const fresh = expandRepeats(copy);
        expect(own.ok && fresh.ok).toBe(true);
        if (!own.ok || !fresh.ok) continue;
        expect(own.expanded).toBe(fresh.expanded);
        expect(JSON.stringify(own.value)).toBe(JSON.stringify(fresh.value));
        if (!fresh.expanded) marked++;
      }
    }
    expect(marked).toBeGreaterThan(0);
  });

  it("a mark is trusted: a repeat in a scenario marked repeat-free is not expanded (why the marks must be true)", () => {
    const withRepeat = (): Scenario =>
      ({
        aiospec: 1,
        coroutines: [{ name: "main", body: [{ op: "repeat", times: 2, var: "i", body: [{ op: "log", label: "x{i}" }] }] }],
      }) as unknown as Scenario;
    expect(expandRepeats(withRepeat()).ok && (expandRepeats(withRepeat()) as { expanded: boolean }).expanded).toBe(true);
    const marked = built(withRepeat());
    expect((expandRepeats(marked) as { expanded: boolean }).expanded).toBe(false);
  });
});

describe("the evidence's walk over a scenario's steps", () => {
  it("is walkSteps without the paths, on every clause's scenarios", () => {
    let steps = 0;
    for (const c of CLAUSES) {
      for (const s of fc.sample(c.scenarios(c.versions[c.versions.length - 1], { unsupported: [] }), { numRuns: 5, seed: 3 })) {
        const got = stepsIn(s);
        expect(got).toEqual(longWay(s));
        steps += got.length;
      }
    }
    expect(steps).toBeGreaterThan(1000);
  });

  it("is walkSteps without the paths on generated scenarios: nested try / except / finally, taskgroups, timeouts, callbacks, repeats left in", () => {
    let nested = 0;
    let repeats = 0;
    for (const version of ["3.11", "3.13"] as const) {
      for (const s of fc.sample(scenarioArb({ version }), { numRuns: 300, seed: 11 })) {
        const want = longWay(s);
        expect(stepsIn(s)).toEqual(want);
        nested += want.filter(({ step }) => ["try", "taskgroup", "timeout"].includes(step.op)).length;
        repeats += want.filter(({ step }) => (step.op as string) === "repeat").length;
      }
    }
    expect(nested).toBeGreaterThan(50);
    expect(repeats).toBeGreaterThan(0);
  });
});
