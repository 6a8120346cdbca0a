/**
 * No pass without evidence: every clause fails on implementations that do
 * not run the scenario they are given (issue 14, point 1).
 *
 *  - "empty trace": answers every scenario with a trace that records nothing;
 *  - "main only": a trace in which the main task started and returned, and
 *    nothing else happened (past the check that the trace is of this
 *    scenario, so each clause's own evidence has to catch it);
 *  - "another scenario's trace": answers each scenario with the reference's
 *    trace of a different scenario of the same clause (one whose trace
 *    differs), so names, shapes and event kinds look right.
 *
 * A clause "fails" when the runner finds a counterexample, whose message
 * says what evidence was missing.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CLAUSES } from "../spec/clauses";
import type { Clause } from "../spec/clauses/clause";
import { canonicalJson } from "../spec/scenario/trace";
import type { Trace } from "../spec/scenario/trace";
import type { Scenario } from "../spec/scenario/types";
import { isReferenceVersion, makeReference } from "../implementations/reference";
import type { PythonVersion } from "../implementations/reference";
import { runClause, runScenario } from "../harness";
import type { Target } from "../harness";

const RUNS = 100;

/**
 * Clauses that a trace of another of their own scenarios cannot make fail:
 * their scenarios differ only in durations (how long main sleeps, the
 * deadline, when main cancels), so such a trace is the trace of the same
 * program run on another clock, and these clauses state no durations (the
 * sleep.*, loop.call_later.time and timeout.expires clauses do). They still
 * fail on the other two implementations.
 */
const SAME_BUT_FOR_TIME: ReadonlyMap<string, string> = new Map([
  ["wait.empty", "main sleeps 0-2 ticks, then awaits wait([]): the scenarios differ only in that sleep and in wait's timeout, which an empty set never reaches"],
  ["timeout.none", "a timeout(None) block around a sleep, after a sleep: the scenarios differ only in the two sleeps and in timeout vs timeout_at"],
  ["timeout.foreign_cancel", "the scenarios differ only in the deadline, when main cancels the worker, and the cleanup's sleep; the property holds of each such run"],
  ["taskgroup.collision_lost", "the scenarios differ only in when the child fails, when main cancels the worker and how long the victim's cleanup sleeps"],
  ["taskgroup.collision_kept", "the scenarios differ only in when the child fails, when main cancels the worker and how long the victim's cleanup sleeps"],
]);

const EMPTY: Trace = { events: [], end: { kind: "complete" }, main: { state: "result", value: null }, tasks: [] };

function mainOnly(s: Scenario): Trace {
  const main = s.coroutines[0].name;
  return {
    events: [
      { time: 0, task: "Task-1", ev: "enter", coro: main },
      { time: 0, task: "Task-1", ev: "exit", coro: main, value: null },
    ],
    end: { kind: "complete" },
    main: { state: "result", value: null },
    tasks: [{ name: "Task-1", ref: null, state: "result", value: null }],
  };
}

/** A pool of the clause's own scenarios; each scenario is answered with the trace of one whose reference trace differs. */
function anotherScenarios(c: Clause, v: PythonVersion): (s: Scenario) => Trace {
  const reference = makeReference(v);
  const pool = fc.sample(c.scenarios(v), { seed: 42, numRuns: 12 }).map((s) => ({ s, trace: runScenario(reference, s) }));
  return (s) => {
    const own = canonicalJson(runScenario(reference, s));
    const others = pool.filter((p) => canonicalJson(p.trace) !== own);
    if (others.length === 0) return EMPTY;
    // Which one: a function of the scenario, so that a re-run gives the same answer.
    let h = 0;
    for (const ch of canonicalJson(s)) h = (Math.imul(h, 31) + ch.charCodeAt(0)) | 0;
    return others[Math.abs(h) % others.length].trace;
  };
}

function fake(id: string, v: PythonVersion, answer: (s: Scenario) => Trace): Target {
  return { id, version: v, description: id, clock: "virtual", run: async (s) => answer(s), close: () => {} };
}

/** The oldest and the newest version the reference models among those the clause claims. */
function versionsOf(c: Clause): PythonVersion[] {
  const vs = c.versions.filter(isReferenceVersion);
  return [...new Set([vs[0], vs[vs.length - 1]])].filter((v) => v !== undefined);
}

const cases = CLAUSES.flatMap((c) => versionsOf(c).map((v) => [`${c.id}@${v}`, c, v] as const));

async function status(c: Clause, target: Target): Promise<string> {
  const r = await runClause(c, target, { runs: RUNS, seed: 1 });
  if (r.status !== "fail") return r.status;
  const message = r.counterexample?.message ?? "";
  // A property that threw on a trace it did not expect is no evidence check.
  expect(message).not.toMatch(/could not read this trace/);
  return `fail: ${message}`;
}

describe("every clause asks for evidence", () => {
  it("the exceptions name clauses that exist", () => {
    for (const id of SAME_BUT_FOR_TIME.keys()) expect(CLAUSES.map((c) => c.id)).toContain(id);
  });

  it.each(cases)("%s fails on an empty trace", async (_id, c, v) => {
    const s = await status(c, fake("empty-trace", v, () => EMPTY));
    expect(s).toMatch(/^fail: expected /);
  });

  it.each(cases)("%s fails when only main ran", async (_id, c, v) => {
    expect(await status(c, fake("main-only", v, mainOnly))).toMatch(/^fail: /);
  });

  it.each(cases.filter(([, c]) => !SAME_BUT_FOR_TIME.has(c.id)))("%s fails on another scenario's trace", async (_id, c, v) => {
    expect(await status(c, fake("another-scenario", v, anotherScenarios(c, v)))).toMatch(/^fail: /);
  });
});
