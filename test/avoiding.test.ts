/**
 * Clause scenarios drawn around the features an implementation lacks
 * (spec/scenario/avoiding.ts, applied by clause()): on CPython 3.8, which
 * has no cancel messages, uncancel or eager tasks, clauses whose generators
 * reach for them check their cases instead of skipping most of them.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { avoiding, MAX_DRAWS } from "../spec/scenario/avoiding";
import { scenarioFeatures } from "../spec/scenario/validate";
import { CLAUSES } from "../spec/clauses";
import type { Scenario } from "../spec/scenario/types";

const PY38_LACKS = ["cancel:msg", "uncancel", "eager"];
const uses = (s: Scenario, features: readonly string[]): boolean => scenarioFeatures(s).some((f) => features.includes(f));
const clauseById = (id: string) => {
  const c = CLAUSES.find((x) => x.id === id);
  if (!c) throw new Error(`no clause ${id}`);
  return c;
};

describe("clause scenarios around what the implementation lacks", () => {
  it("cancellation.self_cancel_then_return on 3.8: most cases usable, where without a target most are not", () => {
    const c = clauseById("cancellation.self_cancel_then_return");
    const around = fc.sample(c.scenarios("3.8", { unsupported: PY38_LACKS }), { numRuns: 200, seed: 7 });
    const plain = fc.sample(c.scenarios("3.8"), { numRuns: 200, seed: 7 });
    const usable = (xs: Scenario[]) => xs.filter((s) => !uses(s, PY38_LACKS)).length;
    expect(usable(plain)).toBeLessThan(40);
    expect(usable(around)).toBeGreaterThan(160);
  });

  it("every clause that draws a cancel message: usable on 3.8 in at least 9 cases of 10", () => {
    for (const id of ["fut.cancel", "gather.cancelled_child", "cancellation.returns_false_when_done", "tasks.result_cancelled"]) {
      const c = clauseById(id);
      const around = fc.sample(c.scenarios("3.8", { unsupported: PY38_LACKS }), { numRuns: 100, seed: 11 });
      expect(around.filter((s) => !uses(s, PY38_LACKS)).length, id).toBeGreaterThanOrEqual(90);
    }
  });

  it("without anything lacking, a clause's scenarios are the same, seed for seed", () => {
    const c = clauseById("cancellation.self_cancel_then_return");
    const a = fc.sample(c.scenarios("3.13", { unsupported: [] }), { numRuns: 50, seed: 3 });
    const b = fc.sample(c.scenarios("3.13"), { numRuns: 50, seed: 3 });
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
  });

  it("draws at most MAX_DRAWS times, then keeps the last draw; a seed names the same cases", () => {
    let draws = 0;
    const always: fc.Arbitrary<Scenario> = fc.nat(1000).map((i) => {
      draws++;
      return { aiospec: 1, coroutines: [{ name: "main", body: [{ op: "await", on: { gather: [{ sleep: i % 3 }] } }] }] } as Scenario;
    });
    const xs = fc.sample(avoiding(always, ["gather"]), { numRuns: 5, seed: 1 });
    expect(draws).toBe(5 * MAX_DRAWS);
    expect(xs.every((s) => uses(s, ["gather"]))).toBe(true);
    const again = fc.sample(avoiding(always, ["gather"]), { numRuns: 5, seed: 1 });
    expect(JSON.stringify(again)).toBe(JSON.stringify(xs));
  });

  it("shrinks only to scenarios that avoid the features", () => {
    const arb = avoiding(
      fc.array(fc.constantFrom("log", "gather"), { minLength: 1, maxLength: 6 }).map((ops): Scenario => ({
        aiospec: 1,
        coroutines: [{ name: "main", body: ops.map((op) => (op === "log" ? { op: "log", label: "x" } : { op: "await", on: { gather: [{ sleep: 0 }] } })) }],
      })),
      ["gather"],
    );
    // A property that fails on any scenario with two steps or more: the shrunk counterexample must still avoid gather.
    const out = fc.check(fc.property(arb, (s) => s.coroutines[0].body.length < 2), { seed: 5, numRuns: 200 });
    expect(out.failed).toBe(true);
    const shrunk = out.counterexample![0];
    expect(uses(shrunk, ["gather"])).toBe(false);
    expect(shrunk.coroutines[0].body.length).toBe(2);
  });
});
