/**
 * The minimisation pass after shrinking. fast-check shrinks a failing
 * scenario by shrinking the choices that generated it, which leaves things
 * the failure does not need: coroutines nothing calls any more, futures and
 * tasks nobody awaits, timers whose callbacks change nothing, steps that
 * only add noise. This pass removes them one at a time, keeping a removal
 * only when the scenario is still valid and still fails (the caller's
 * `stillFails` re-runs it), until no single removal is kept or the budget of
 * candidate runs is spent.
 *
 * Candidates, in order:
 *   1. every coroutine (but main) and callback that nothing refers to, all
 *      at once (they never run);
 *   2. each step, depth first in definition order, so that a whole `try`,
 *      TaskGroup or timeout block goes before the steps inside it; after a
 *      removal, the definitions it left unreferenced go with it.
 * Removing never adds a feature, so the scenario stays within what the
 * implementation and the Python version support.
 */
import type { Scenario } from "../../spec/scenario/types";
import { validateScenario } from "../../spec/scenario/validate";

export interface Minimised<T> {
  scenario: Scenario;
  /** Definitions and steps removed. */
  removed: number;
  /** Candidates run. */
  tried: number;
  /** What `stillFails` returned for the kept scenario (absent when nothing was removed). */
  outcome?: T;
}

type Json = unknown;

/** Is this array a list of steps (every element an object with an `op`)? */
function isStepList(x: Json): x is Array<Record<string, Json>> {
  return Array.isArray(x) && x.length > 0 && x.every((e) => typeof e === "object" && e !== null && typeof (e as { op?: unknown }).op === "string");
}

/**
 * Every step list of the scenario with each of its indexes, depth first:
 * a step comes before the steps nested in it. Found by shape, not by op, so
 * that ops added later (with bodies of their own) are walked too.
 */
function stepSlots(scenario: Scenario): Array<{ list: Array<Record<string, Json>>; index: number }> {
  const slots: Array<{ list: Array<Record<string, Json>>; index: number }> = [];
  const visit = (x: Json): void => {
    if (isStepList(x)) {
      x.forEach((step, index) => {
        slots.push({ list: x, index });
        visit(step);
      });
    } else if (Array.isArray(x)) x.forEach(visit);
    else if (typeof x === "object" && x !== null) for (const v of Object.values(x)) visit(v);
  };
  for (const def of [...scenario.coroutines, ...(scenario.callbacks ?? [])]) visit(def.body);
  return slots;
}

/** The names the scenario refers to as coroutines or callbacks (values of `coro` and `callback` keys, at any depth). */
function referencedNames(scenario: Scenario): Set<string> {
  const names = new Set<string>();
  const visit = (x: Json): void => {
    if (Array.isArray(x)) x.forEach(visit);
    else if (typeof x === "object" && x !== null) {
      for (const [k, v] of Object.entries(x)) {
        if ((k === "coro" || k === "callback") && typeof v === "string") names.add(v);
        else visit(v);
      }
    }
  };
  for (const def of [...scenario.coroutines, ...(scenario.callbacks ?? [])]) visit(def.body);
  return names;
}

/** Remove the definitions nothing refers to (main stays), until none is left; returns how many went. */
function dropUnreferenced(scenario: Scenario): number {
  let removed = 0;
  for (;;) {
    const used = referencedNames(scenario);
    const coroutines = scenario.coroutines.filter((c) => c.name === "main" || used.has(c.name));
    const callbacks = (scenario.callbacks ?? []).filter((c) => used.has(c.name));
    const gone = scenario.coroutines.length - coroutines.length + (scenario.callbacks ?? []).length - callbacks.length;
    if (gone === 0) return removed;
    removed += gone;
    scenario.coroutines = coroutines;
    if (scenario.callbacks !== undefined) {
      if (callbacks.length > 0) scenario.callbacks = callbacks;
      else delete scenario.callbacks;
    }
  }
}

function clone(s: Scenario): Scenario {
  return JSON.parse(JSON.stringify(s)) as Scenario;
}

/** The scenario without its step number n (depth-first order), and its definitions left unreferenced. */
function withoutStep(s: Scenario, n: number): { scenario: Scenario; removed: number } | null {
  const copy = clone(s);
  const slot = stepSlots(copy)[n];
  if (!slot) return null;
  slot.list.splice(slot.index, 1);
  return { scenario: copy, removed: 1 + dropUnreferenced(copy) };
}

/**
 * Remove from `scenario` what its failure does not need. `stillFails`
 * re-runs a candidate and returns a truthy outcome when it fails the same
 * way; at most `budget` candidates are run.
 */
export async function minimise<T>(
  scenario: Scenario,
  stillFails: (s: Scenario) => Promise<T | null>,
  budget: number,
  signal?: AbortSignal,
): Promise<Minimised<T>> {
  let current = scenario;
  let removed = 0;
  let tried = 0;
  let outcome: T | undefined;
  const attempt = async (candidate: Scenario, gone: number): Promise<boolean> => {
    if (gone === 0 || tried >= budget || signal?.aborted || !validateScenario(candidate).ok) return false;
    tried++;
    const o = await stillFails(candidate);
    if (o === null || o === undefined) return false;
    current = candidate;
    removed += gone;
    outcome = o;
    return true;
  };
  const unreferenced = clone(current);
  await attempt(unreferenced, dropUnreferenced(unreferenced));
  for (let n = 0; tried < budget && !signal?.aborted; ) {
    const next = withoutStep(current, n);
    if (next === null) break;
    // Kept: the next step has moved into slot n. Not kept: try the next slot.
    if (!(await attempt(next.scenario, next.removed))) n++;
  }
  return { scenario: current, removed, tried, ...(outcome !== undefined ? { outcome } : {}) };
}
