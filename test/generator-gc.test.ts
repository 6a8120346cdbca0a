/**
 * The generator's gc mode and newer forms, and what they needed:
 *   - scenarioArb puts gc and drop steps in some scenarios (gc mode), and
 *     uses "$current" / "$main", as_completed over coroutines and repeat;
 *   - those scenarios give the same trace on the reference and on CPython
 *     (what the reference had to learn to model: what asyncio's callbacks
 *     and frames hold, and what an exception's traceback and context keep),
 *     with the divergences `aiospec diff` found kept as regression cases;
 *   - wait_for accepts a negative timeout, as CPython does;
 *   - the validator refuses a child naming its own handle in its eager
 *     first step (the handle is not bound yet), in one line.
 */
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { scenarioArb } from "../spec/scenario/arbitraries";
import { usesGc } from "../spec/scenario/types";
import type { Scenario } from "../spec/scenario/types";
import { validateScenario } from "../spec/scenario/validate";
import { expandScenario } from "../spec/scenario/repeat";
import { canonicalJson, firstDifference } from "../spec/scenario/trace";
import type { Trace } from "../spec/scenario/trace";
import { runScenario } from "../harness/engine/interpreter";
import { makeReference } from "../implementations/reference";
import type { PythonVersion } from "../implementations/reference";
import { findCPython } from "../harness/targets";
import { runOnDriver } from "./helpers/driver";

/** Run scenarios in one CPython driver process; the traces (or the driver's error) by index. */
/** Each scenario's trace on CPython, or its error reply as "driver error: ..." (some cases expect one). */
function onCPython(python: string, scenarios: unknown[]): Array<Trace | string> {
  const run = runOnDriver(python, scenarios);
  return scenarios.map((_, i) => run.traces.get(i) ?? `driver error: ${run.errors.get(i)}`);
}

const pythons: Array<{ version: PythonVersion; python: string }> = (["3.11", "3.12", "3.13"] as const)
  .map((v) => ({ version: v, python: findCPython(v).path }))
  .filter((t) => t.python !== "");

describe("scenarioArb", () => {
  const samples = fc.sample(scenarioArb({ version: "3.13" }), { seed: 41, numRuns: 2000 });
  const count = (pred: (s: Scenario) => boolean) => samples.filter(pred).length;
  const has = (s: Scenario, pred: (x: string) => boolean) => pred(JSON.stringify(s));

  it("puts about one scenario in six in gc mode, with gc and drop steps", () => {
    const gc = count(usesGc);
    expect(gc).toBeGreaterThan(200);
    expect(gc).toBeLessThan(500);
    expect(count((s) => has(s, (j) => j.includes('"op":"gc"')))).toBeGreaterThan(100);
    expect(count((s) => has(s, (j) => j.includes('"op":"drop"')))).toBeGreaterThan(100);
  });

  it("uses $current, $main, as_completed over coroutines and repeat, each at a modest rate", () => {
    for (const [what, needle] of [["$current", '"$current"'], ["$main", '"$main"'], ["repeat", '"op":"repeat"'], ["as_completed {coro}", '"as_completed","on":[']] as const) {
      const n = count((s) => has(s, (j) => (what === "as_completed {coro}" ? /"op":"as_completed","on":\[[^\]]*"coro"/.test(j) : j.includes(needle))));
      expect(n, what).toBeGreaterThan(20);
      expect(n, what).toBeLessThan(400);
    }
  });

  it("makes negative wait_for timeouts that the validator accepts", () => {
    const negative = samples.filter((s) => JSON.stringify(s).includes('"timeout":-1'));
    expect(negative.length).toBeGreaterThan(10);
    for (const s of negative) expect(validateScenario(s).ok, JSON.stringify(s)).toBe(true);
  });
});

/** Divergences `aiospec diff` found once gc mode was generated (shrunk), now regression cases. */
const FOUND: Array<{ why: string; scenario: Scenario }> = [
  {
    why: "wait_for(aw, -1) cancels aw and waits through a partial(_release_waiter, waiter) callback: aw holds the waiting task",
    scenario: { aiospec: 1, coroutines: [{ name: "main", body: [{ op: "create_task", coro: "c1", task: "t0" }, { op: "drop", handle: "t0" }] }, { name: "c1", body: [{ op: "await", on: { wait_for: { sleep: 0 }, timeout: -1 } }] }] },
  },
  {
    why: "an exception raised through wait_for's frame keeps the inner task (fut) alive",
    scenario: { aiospec: 1, coroutines: [{ name: "main", body: [{ op: "gc" }, { op: "taskgroup", group: "g0", body: [{ op: "create_task", coro: "c1", task: "t0", group: "g0" }] }] }, { name: "c1", body: [{ op: "log", label: "a" }, { op: "await", on: { wait_for: { sleep: 1 }, timeout: 1 } }] }] },
  },
  {
    why: "a raise in an except body gets the caught exception as __context__, which keeps what its traceback holds",
    scenario: { aiospec: 1, coroutines: [{ name: "main", body: [{ op: "gc" }, { op: "create_task", coro: "c2", task: "t0" }, { op: "timeout", delay: 1, body: [{ op: "sleep", ticks: 1 }] }] }, { name: "c2", body: [{ op: "try", body: [{ op: "await", on: { gather: [{ coro: "c3" }] } }], except: [{ type: "TimeoutError", body: [{ op: "raise", exc: { type: "ValueError" } }] }] }] }, { name: "c3", body: [{ op: "await", on: { wait_for: { sleep: 0 }, timeout: -1 } }] }] },
  },
  {
    why: "as_completed's waiting frame keeps the future it took when its exception is raised",
    scenario: { aiospec: 1, coroutines: [{ name: "main", body: [{ op: "gc" }, { op: "as_completed", on: [{ coro: "c1" }] }] }, { name: "c1", body: [{ op: "raise", exc: { type: "ValueError" } }] }] },
  },
  {
    why: "an exception leaving a timeout block keeps the block's timeout, which holds its task",
    scenario: { aiospec: 1, coroutines: [{ name: "main", body: [{ op: "gc" }, { op: "create_future", future: "f0" }, { op: "create_task", coro: "c2", task: "t0" }, { op: "await", on: { coro: "c2" } }] }, { name: "c2", body: [{ op: "taskgroup", group: "g0", body: [{ op: "create_task", coro: "c3", task: "t1", group: "g0" }] }] }, { name: "c3", body: [{ op: "timeout", delay: 1, body: [{ op: "raise", exc: { type: "ValueError" } }] }] }] },
  },
  {
    why: "3.11 / 3.12's as_completed generator, while suspended, keeps the last member its callback loop set (its `f`), done or not; 3.13's iterator does not",
    scenario: { aiospec: 1, coroutines: [{ name: "main", body: [{ op: "gc" }, { op: "create_future", future: "f0" }, { op: "as_completed", on: [{ task: "f0" }, { coro: "c1" }] }] }, { name: "c1", body: [] }] },
  },
  {
    why: "an exception leaving the for loop over as_completed takes the generator off the frame's stack: the traceback does not keep it",
    scenario: { aiospec: 1, coroutines: [{ name: "main", body: [{ op: "gc" }, { op: "call", coro: "c2" }] }, { name: "c2", body: [{ op: "as_completed", on: [{ coro: "c3" }], timeout: 0 }] }, { name: "c3", body: [] }] },
  },
];

describe.each(pythons)("reference@$version vs CPython ($python)", ({ version, python }) => {
  it("the divergences diff found are gone", () => {
    const cpython = onCPython(python, FOUND.map((f) => f.scenario));
    FOUND.forEach((f, i) => {
      const got = runScenario(makeReference(version), f.scenario);
      const want = cpython[i];
      expect(typeof want, String(want)).toBe("object");
      const d = firstDifference(got, want as Trace);
      expect(canonicalJson(got), `${f.why}: ${JSON.stringify(d)}`).toBe(canonicalJson(want));
    });
  });

  it("generated gc-mode scenarios give CPython's traces", { timeout: 300_000 }, () => {
    const scenarios = fc.sample(scenarioArb({ version }), { seed: 2026, numRuns: 1500 }).filter(usesGc).slice(0, 150);
    expect(scenarios.length).toBe(150);
    const cpython = onCPython(python, scenarios.map((s) => expandScenario(s)));
    scenarios.forEach((s, i) => {
      const got = runScenario(makeReference(version), s);
      const want = cpython[i];
      if (typeof want === "string") throw new Error(`${want}\n${JSON.stringify(s)}`);
      expect(canonicalJson(got), `${JSON.stringify(firstDifference(got, want))}\n${JSON.stringify(s)}`).toBe(canonicalJson(want));
    });
  });
});

describe("validator: a child's own handle in its eager first step", () => {
  const eager = (child: unknown[], extra: unknown[] = []): unknown => ({
    aiospec: 1,
    eager: true,
    coroutines: [
      { name: "main", body: [{ op: "create_task", coro: "child", task: "t" }, ...extra, { op: "sleep", ticks: 0 }] },
      { name: "child", body: child },
      { name: "helper", body: [{ op: "cancel", task: "t" }] },
    ],
  });
  const errors = (s: unknown) => {
    const r = validateScenario(s);
    return r.ok ? [] : r.errors;
  };

  it("is refused in one line at the use", () => {
    const e = errors(eager([{ op: "log", label: "x" }, { op: "inspect", task: "t" }, { op: "sleep", ticks: 0 }]));
    expect(e).toHaveLength(1);
    expect(e[0].path).toBe("$.coroutines[1].body[1].task");
    expect(e[0].message).toBe('with eager tasks, "child" runs its first step inside create_task, before "t" is bound: this use of its own handle finds it unbound; use "$current" for the running task');
  });

  it("is refused through an inline call and inside a block", () => {
    expect(errors(eager([{ op: "call", coro: "helper" }]))[0].path).toBe("$.coroutines[2].body[0].task");
    expect(errors(eager([{ op: "try", body: [{ op: "result", task: "t" }], finally: [] }]))[0].path).toBe("$.coroutines[1].body[0].body[0].task");
  });

  it("is accepted after a suspension, with $current, without eager tasks, or when the handle is bound elsewhere too", () => {
    expect(errors(eager([{ op: "sleep", ticks: 0 }, { op: "inspect", task: "t" }]))).toEqual([]);
    expect(errors(eager([{ op: "inspect", task: "$current" }]))).toEqual([]);
    const lazy = eager([{ op: "inspect", task: "t" }]) as { eager?: boolean };
    delete lazy.eager;
    expect(errors(lazy)).toEqual([]);
    expect(errors(eager([{ op: "inspect", task: "t" }], [{ op: "create_task", coro: "helper", task: "t" }]))).toEqual([]);
  });

  const python312 = findCPython("3.12").path;
  it.skipIf(python312 === "")("matches what CPython does: the handle is unbound there", () => {
    const [trace] = onCPython(python312, [eager([{ op: "inspect", task: "t" }])]);
    expect(typeof trace, String(trace)).toBe("object");
    expect((trace as Trace).events.find((e) => e.ev === "unbound")).toMatchObject({ ref: "t", task: "Task-2" });
  });
});

describe("wait_for's timeout", () => {
  const withTimeout = (timeout: number): unknown => ({
    aiospec: 1,
    coroutines: [{ name: "main", body: [{ op: "await", on: { wait_for: { sleep: 0, result: "x" }, timeout } }] }],
  });

  it("may be negative, as in asyncio.wait_for, down to -1000000", () => {
    expect(validateScenario(withTimeout(-1)).ok).toBe(true);
    expect(validateScenario(withTimeout(-1000000)).ok).toBe(true);
    const r = validateScenario(withTimeout(-1000001));
    expect(r.ok ? [] : r.errors).toEqual([{ path: "$.coroutines[0].body[0].on.timeout", message: "must be >= -1000000" }]);
  });
});
