/**
 * Traces already obtained in this process, so that a run asks a
 * deterministic implementation each distinct scenario once.
 *
 * A third of a full run's cases repeat an earlier one: clauses whose
 * scenario spaces are small draw the same program again (a run of
 * `run --impl cpython-3.11 --seed 1` sent 15,600 requests, 10,537 of them
 * distinct). On a target that runs a scenario deterministically — a
 * virtual clock and a collector that frees the same objects whatever ran
 * before (Target.clock, Target.gc), as the reference, the mutants and
 * CPython's driver all say — a repeat tells nothing new: the trace is the
 * same, so the runner takes it from here and the case is judged again on
 * it. A target on a real clock, or with a nondeterministic collector
 * (PyPy), is asked every time: its answers may differ, and that is worth
 * seeing. The reference's expected traces (CheckContext.expected) are
 * memoised the same way: the reference is deterministic by construction.
 *
 * Only traces are kept, never failures (a timeout or a crash is asked
 * again). One trace may now be read by several clauses, so clauses must
 * not write into traces: under the test runner (VITEST) or with
 * AIOSPEC_FREEZE_TRACES=1 the memo freezes every trace it keeps, and a
 * clause that wrote into one throws (freezing costs a tenth of a heavy
 * clause's time, so a user's run does not pay it). The memo is bounded
 * (least recently used first out), and keyed by the scenario's JSON: two
 * spellings of one program are two entries, never a wrong hit.
 */
import type { Scenario } from "../../spec/scenario/types";
import type { Trace } from "../../spec/scenario/trace";
import { scenarioJson } from "../targets/target";
import type { Target } from "../targets";
import { runScenario } from "../engine/interpreter";
import { makeReference } from "../../implementations/reference";
import { MODELLED_RELEASES } from "../../implementations/reference/releases";
import type { AsyncioImplementation } from "../engine/api";

/** Freeze the traces kept (see above). */
const FREEZE = process.env.VITEST !== undefined || process.env.AIOSPEC_FREEZE_TRACES === "1";

/** Most traces kept per target (and for the reference's expected traces). */
export const MEMO_ENTRIES = 4096;

/** A bounded map from a scenario's JSON to its trace, least recently used first out. */
export class TraceMemo {
  private readonly traces = new Map<string, Trace>();
  hits = 0;
  misses = 0;

  constructor(private readonly limit = MEMO_ENTRIES) {}

  get(key: string): Trace | undefined {
    const trace = this.traces.get(key);
    if (trace === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    // Most recently used: to the end of the map's order.
    this.traces.delete(key);
    this.traces.set(key, trace);
    return trace;
  }

  set(key: string, trace: Trace): Trace {
    if (FREEZE) deepFreeze(trace);
    this.traces.set(key, trace);
    if (this.traces.size > this.limit) this.traces.delete(this.traces.keys().next().value as string);
    return trace;
  }

  get size(): number {
    return this.traces.size;
  }
}

/** Freeze a trace and everything in it (a clause that wrote into one would throw, not corrupt another's). */
function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/**
 * AIOSPEC_MEMO=off asks every case afresh (to measure what the memo saves:
 * bench/, docs/performance.md).
 */
const MEMO_ON = process.env.AIOSPEC_MEMO !== "off";

/** Does `target` give the same trace for the same scenario every time (so a repeat can be taken from the memo)? */
export function isDeterministic(target: Target): boolean {
  return target.clock !== "real" && target.gc !== "nondeterministic";
}

const targetMemos = new WeakMap<Target, TraceMemo>();

/**
 * A scenario's memo key, its JSON, written once per scenario object
 * (harness/targets/target.ts): a case looks up the target's trace, the expected
 * trace and, when minimised, the reference's again, and a driver's request
 * carries the same text.
 */
function keyOf(s: Scenario): string {
  return scenarioJson(s);
}

/** The memo of a target's traces (created on first use). */
export function memoOf(target: Target): TraceMemo {
  let memo = targetMemos.get(target);
  if (memo === undefined) targetMemos.set(target, (memo = new TraceMemo()));
  return memo;
}

/** A deterministic target's runs still in flight, by key. */
const targetRuns = new WeakMap<Target, Map<string, Promise<Trace>>>();

/**
 * target.run(s), or the trace the target gave for the same scenario before
 * when it is deterministic. A repeat that comes while the first run of its
 * scenario is still in flight (the runner keeps cases in flight: runner.ts
 * CASE_WINDOW) waits for that run instead of asking again, so that which
 * requests a run sends, and in what order, does not depend on when the
 * replies come (two runs of `--seed 1 --jobs 1` sent 30-odd requests more or
 * fewer, in shifted order, before). A failure is not kept: a repeat that
 * comes after it asks again.
 */
export function runMemoised(target: Target, s: Scenario): Promise<Trace> {
  if (!MEMO_ON || !isDeterministic(target)) return target.run(s);
  const memo = memoOf(target);
  const key = keyOf(s);
  const known = memo.get(key);
  if (known !== undefined) return Promise.resolve(known);
  let inFlight = targetRuns.get(target);
  if (inFlight === undefined) targetRuns.set(target, (inFlight = new Map()));
  const running = inFlight.get(key);
  if (running !== undefined) return running;
  const run = target.run(s).then(
    (trace) => {
      inFlight!.delete(key);
      return memo.set(key, trace);
    },
    (e: unknown) => {
      inFlight!.delete(key);
      throw e;
    },
  );
  inFlight.set(key, run);
  return run;
}

/** The reference's profiles, one instance each, by version, release and Task (a profile has no state between scenarios). */
const references = new Map<string, AsyncioImplementation>();
const expectedMemos = new Map<string, TraceMemo>();

/**
 * The reference's trace of s for `version` at `release` (a release of that
 * version, "3.13.2"; absent: the one the reference models for it), modelling
 * the pure-Python Task when pyTask: what clauses that compare with the
 * reference compare with. The memo is per profile, so the release is part
 * of the key: the reference at 3.13.0 and at 3.13.2 differ.
 */
export function expectedTrace(version: string, pyTask: boolean, s: Scenario, release?: string): Trace {
  // The release modelled anyway is the plain profile (one instance, one memo for both spellings).
  if (release === MODELLED_RELEASES[version as keyof typeof MODELLED_RELEASES]) release = undefined;
  const profile = `${release ?? version}${pyTask ? "+pytask" : ""}`;
  let reference = references.get(profile);
  if (reference === undefined) {
    references.set(profile, (reference = makeReference(version as Parameters<typeof makeReference>[0], { pyTask, ...(release !== undefined ? { release } : {}) })));
  }
  let memo = expectedMemos.get(profile);
  if (memo === undefined) expectedMemos.set(profile, (memo = new TraceMemo()));
  if (!MEMO_ON) return runScenario(reference, s);
  const key = keyOf(s);
  return memo.get(key) ?? memo.set(key, runScenario(reference, s));
}
