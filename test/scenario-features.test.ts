/**
 * scenarioFeatures is one plain walk, its answer kept per scenario object
 * (spec/scenario/validate.ts). Checked against the definition written with
 * walkSteps, on generated scenarios of every size (repeats included), and
 * for the keeping: a second call answers the same, and a caller changing
 * the array it got does not change the next answer.
 */
import { describe, expect, it } from "vitest";
import * as fc from "fast-check";
import { FEATURES, mayUseFeature, scenarioFeatures } from "../spec/scenario/validate";
import { expandScenario } from "../spec/scenario/repeat";
import { walkSteps } from "../spec/scenario/types";
import type { Awaitable, ExceptionSpec, Scenario } from "../spec/scenario/types";
import { sizedScenarioArb } from "../harness/running/sizes";

const GROUPS = new Set(["ExceptionGroup", "BaseExceptionGroup"]);
const KINDS = ["task", "coro", "sleep", "gather", "shield", "wait_for", "wait"];
const usesGroup = (e: ExceptionSpec): boolean => GROUPS.has(e.type) || (e.exceptions ?? []).some(usesGroup);

/** The definition, with walkSteps: every step's op and special features, every awaitable's kind. */
function oracle(s: Scenario): string[] {
  const found = new Set<string>();
  if (s.eager) found.add("eager");
  const aw = (a: Awaitable): void => {
    found.add(KINDS.find((k) => k in a)!);
    for (const x of "gather" in a ? a.gather : "wait" in a ? a.wait : "shield" in a ? [a.shield] : "wait_for" in a ? [a.wait_for] : []) aw(x);
  };
  for (const { step } of walkSteps(expandScenario(s))) {
    found.add(step.op);
    if (step.op === "try" && step.star) found.add("except*");
    if (step.op === "try" && (step.except ?? []).some((h) => GROUPS.has(h.type))) found.add("exception_group");
    if (step.op === "as_completed") {
      if (step.mode === "async") found.add("as_completed:async");
      step.on.forEach(aw);
    }
    if (step.op === "cancel" && step.msg !== undefined) found.add("cancel:msg");
    if ((step.op === "raise" || step.op === "set_exception") && usesGroup(step.exc)) found.add("exception_group");
    if (step.op === "await" || step.op === "ensure_future") aw(step.on);
  }
  return [...found].sort();
}

describe("scenarioFeatures", () => {
  for (const [version, size] of [["3.13", "small"], ["3.11", "medium"], ["3.13", "large"], ["3.9", "small"]] as const) {
    it(`agrees with the walkSteps definition on generated scenarios (${version}, ${size})`, () => {
      const scenarios = fc.sample(sizedScenarioArb(version, size), { numRuns: 300, seed: 7 });
      const seen = new Set<string>();
      for (const s of scenarios) {
        const want = oracle(s);
        expect(scenarioFeatures(s)).toEqual(want);
        expect(scenarioFeatures(s)).toEqual(want); // kept: the same answer
        want.forEach((f) => seen.add(f));
      }
      // The sample exercises the walk: many features, not a trivial few.
      expect(seen.size).toBeGreaterThan(15);
    });
  }

  it("hands each caller its own array", () => {
    const s: Scenario = { aiospec: 1, coroutines: [{ name: "main", body: [{ op: "sleep", ticks: 0 }] }] };
    const first = scenarioFeatures(s);
    first.push("gather");
    expect(scenarioFeatures(s)).toEqual(["sleep"]);
  });

  it("does not outlive a change to a top-level field (the generator drops eager after writing repeats out)", () => {
    const s: Scenario = {
      aiospec: 1,
      eager: true,
      coroutines: [{ name: "main", body: [{ op: "repeat", times: 2, var: "r", body: [{ op: "sleep", ticks: 0 }] } as never] }],
    };
    expect(scenarioFeatures(s)).toEqual(["eager", "sleep"]);
    expect(expandScenario(s).eager).toBe(true);
    delete s.eager;
    expect(scenarioFeatures(s)).toEqual(["sleep"]);
    expect(expandScenario(s).eager).toBeUndefined();
    expect(expandScenario(s).coroutines[0].body).toHaveLength(2);
  });
});

describe("mayUseFeature: the marks of a feature in a scenario's JSON", () => {
  for (const [version, size] of [["3.13", "small"], ["3.11", "medium"], ["3.13", "large"], ["3.12", "large"]] as const) {
    it(`never says no to a feature the scenario uses, and says no to most it does not (${version}, ${size})`, () => {
      const scenarios = fc.sample(sizedScenarioArb(version, size), { numRuns: 300, seed: 11 });
      let ruledOut = 0;
      let unused = 0;
      for (const s of scenarios) {
        const json = JSON.stringify(s);
        const used = new Set(oracle(s));
        for (const f of FEATURES) {
          if (used.has(f)) expect(mayUseFeature(json, [f]), `${f} in ${json}`).toBe(true);
          else {
            unused++;
            if (!mayUseFeature(json, [f])) ruledOut++;
          }
        }
      }
      // Marks found by accident cost only a walk; but the marks must settle most cases.
      expect(ruledOut / unused).toBeGreaterThan(0.9);
    });
  }

  it("reads marks, not names a label or a coroutine could spell", () => {
    const s: Scenario = {
      aiospec: 1,
      coroutines: [
        { name: "eager", body: [{ op: "log", label: '"eager":true "op":"gather" "star":' }] },
        { name: "main", body: [{ op: "await", on: { coro: "eager" } }] },
      ],
    };
    const json = JSON.stringify(s);
    expect(mayUseFeature(json, ["eager", "gather", "except*", "as_completed:async"])).toBe(false);
    expect(mayUseFeature(json, ["coro"])).toBe(true);
    expect(mayUseFeature(json, ["no-such-feature"])).toBe(true); // unknown: the walk decides
  });

  it("sees a feature inside a repeat not written out", () => {
    const s: Scenario = {
      aiospec: 1,
      coroutines: [{ name: "main", body: [{ op: "repeat", times: 2, var: "r", body: [{ op: "as_completed", on: [], mode: "async" }] } as never] }],
    };
    expect(scenarioFeatures(s)).toContain("as_completed:async");
    expect(mayUseFeature(JSON.stringify(s), ["as_completed:async"])).toBe(true);
  });
});
