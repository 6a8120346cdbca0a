/**
 * Unit tests for the loop / coroutine / callback / future clauses: their
 * generators make valid scenarios, and the heap model agrees with the
 * reference's heap (and CPython's 12 equal deadlines).
 */
import { describe, expect, it } from "vitest";
import { OPTIONAL_FEATURES } from "../spec/clauses/clause";
import fc from "fast-check";
import { CLAUSES as loop, modelTimerRuns } from "../spec/clauses/loop";
import { CLAUSES as coroutines } from "../spec/clauses/coroutines";
import { CLAUSES as callbacks } from "../spec/clauses/callbacks";
import { CLAUSES as futures } from "../spec/clauses/futures";
import { validateScenario, formatValidationErrors, scenarioFeatures } from "../spec/scenario/validate";
import type { Step } from "../spec/scenario/types";
import { ALL_VERSIONS } from "../spec/clauses/clause";

const MINE = [...loop, ...coroutines, ...callbacks, ...futures];

describe.each(MINE.map((c) => [c.id, c] as const))("%s", (_id, c) => {
  it.each(ALL_VERSIONS.filter((v) => c.versions.includes(v)).map((v) => [v]))("generates valid scenarios for %s", (v) => {
    for (const s of fc.sample(c.scenarios(v), { numRuns: 150, seed: 3 })) {
      const r = validateScenario(s);
      if (!r.ok) expect.fail(`${formatValidationErrors(r.errors)}\n${JSON.stringify(s)}`);
    }
  });
});

describe("the heap model", () => {
  it("gives CPython's order for twelve equal deadlines", () => {
    const main: Step[] = [];
    for (let i = 0; i < 12; i++) main.push({ op: "call_at", when: 5, callback: `e${i}` });
    main.push({ op: "sleep", ticks: 10 });
    expect(modelTimerRuns(main).map((r) => Number(r.name.slice(1)))).toEqual([0, 2, 6, 5, 11, 10, 9, 8, 7, 1, 3, 4]);
  });
});

describe("needs", () => {
  it.each(MINE.map((c) => [c.id, c] as const))("%s lists every feature its scenarios use", (_id, c) => {
    const used = new Set<string>();
    for (const v of c.versions) for (const s of fc.sample(c.scenarios(v), { numRuns: 100, seed: 5 })) for (const f of scenarioFeatures(s)) used.add(f);
    expect([...used].filter((f) => !c.needs.includes(f) && !OPTIONAL_FEATURES.includes(f)).sort()).toEqual([]);
  });
});

describe("the heap model and the late rebuild", () => {
  it("reproduces CPython 3.11-3.13's order at t=2 after a rebuild triggered by a stale cancelled count", () => {
    // 100 timers due at t=1 (60 of them cancelled, none at the head), 110 due at t=2.
    const main: Step[] = [];
    for (let n = 0; n < 210; n++) main.push({ op: "call_later", delay: n < 100 ? 1 : 2, callback: `e${n}`, handle: `h${n}` });
    for (let i = 1; i <= 60; i++) main.push({ op: "cancel_handle", handle: `h${i + 20 < 100 ? i + 20 : i}` });
    main.push({ op: "sleep", ticks: 3 }, { op: "sleep", ticks: 1 });
    const atTwo = modelTimerRuns(main).filter((r) => r.time === 2).map((r) => r.name);
    // Observed on CPython 3.11.7, 3.12.1 and 3.13.0 (npx aiospec replay, see the clause loop.call_at.cancelled_rebuild).
    expect(atTwo.slice(0, 12)).toEqual(["e111", "e196", "e204", "e208", "e125", "e126", "e110", "e109", "e108", "e107", "e106", "e105"]);
  });
});
