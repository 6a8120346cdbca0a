/**
 * `aiospec diff --size small|medium|large`: how big the generated scenarios
 * are. `small` is scenarioArb's default (the arbitrary diff always used, so
 * old seeds and paths replay the same cases); the larger sizes raise the
 * generator's limits and then wrap up to three of main's top-level steps in
 * `repeat` steps (spec/scenario/repeat.ts), so one create_task or call_later
 * becomes tens or hundreds of tasks or timers — what CPython's timer-heap
 * rebuild (> 100 cancelled timers) and long ready queues need — at the cost
 * of one step. A wrapped step binds the same handle each time round (the
 * handle ends bound to the last object), which the language allows.
 */
import fc from "fast-check";
import { scenarioArb } from "../../spec/scenario/arbitraries";
import type { ScenarioArbOptions } from "../../spec/scenario/arbitraries";
import type { Scenario, Step } from "../../spec/scenario/types";
import type { PythonVersion } from "../../spec/scenario/versions";

export const SIZES = ["small", "medium", "large"] as const;
export type DiffSize = (typeof SIZES)[number];

interface SizeSpec {
  limits: Omit<ScenarioArbOptions, "version">;
  /** How many of main's steps may be wrapped in a repeat, and the largest `times`. */
  wraps: number;
  maxTimes: number;
}

export const SIZE_SPECS: Readonly<Record<DiffSize, SizeSpec>> = {
  small: { limits: {}, wraps: 0, maxTimes: 0 },
  medium: { limits: { maxCoroutines: 6, maxSteps: 10, maxCallbacks: 4 }, wraps: 2, maxTimes: 30 },
  large: { limits: { maxCoroutines: 8, maxSteps: 14, maxCallbacks: 6 }, wraps: 3, maxTimes: 200 },
};

const MAKERS = new Set(["create_task", "call_soon", "call_later", "call_at", "create_future", "cancel_handle", "cancel"]);

/** Wrap main's top-level steps at the given positions (`many`: the at-th of the steps that make tasks or timers) in repeats. */
export function wrapInRepeats(s: Scenario, wraps: ReadonlyArray<{ at: number; times: number; many?: boolean }>): Scenario {
  const main = s.coroutines.find((c) => c.name === "main");
  if (main === undefined || main.body.length === 0 || wraps.length === 0) return s;
  // Steps that make many objects when repeated: tasks, timers, futures.
  const makers = main.body.flatMap((step, i) => (MAKERS.has(step.op) ? [i] : []));
  const times = new Map<number, number>();
  for (const w of wraps) {
    const at = w.many && makers.length > 0 ? makers[w.at % makers.length] : w.at % main.body.length;
    if (!times.has(at)) times.set(at, w.times);
  }
  const body = main.body.map((step, i) => {
    const n = times.get(i);
    // A gc step is never repeated: each collects the whole heap.
    return n === undefined || step.op === "gc" ? step : ({ op: "repeat", times: n, var: "rep", body: [step] } as unknown as Step);
  });
  return { ...s, coroutines: s.coroutines.map((c) => (c === main ? { ...c, body } : c)) };
}

/**
 * The scenarios `diff --size SIZE` generates for Python `version`, using
 * none of the features in `exclude` (what one side declares unsupported).
 */
export function sizedScenarioArb(version: PythonVersion, size: DiffSize = "small", exclude: readonly string[] = []): fc.Arbitrary<Scenario> {
  const spec = SIZE_SPECS[size];
  const base = scenarioArb({ version, ...spec.limits, exclude });
  if (spec.wraps === 0) return base;
  const wraps = fc.array(fc.record({ at: fc.nat(64), times: fc.integer({ min: 2, max: spec.maxTimes }), many: fc.boolean() }), { maxLength: spec.wraps });
  return fc.tuple(base, wraps).map(([s, w]) => wrapInRepeats(s, w));
}
