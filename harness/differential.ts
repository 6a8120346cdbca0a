/**
 * The differential property: on every generated scenario, implementation A's
 * trace equals implementation B's (exact level: canonical JSON equality).
 * fast-check generates the scenarios and shrinks the first counterexample.
 */
import * as fc from "fast-check";
import { scenarioArb } from "../spec/scenario/arbitraries";
import { compareVersions } from "../spec/scenario/versions";
import { scenarioFeatures } from "../spec/scenario/validate";
import type { Scenario } from "../spec/scenario/types";
import { Trace, TraceDifference, firstDifference } from "../spec/scenario/trace";
import type { Target } from "./targets";

export interface DiffOptions {
  runs: number;
  seed: number;
  /** fast-check's replay path: re-run exactly one (shrunk) case. */
  path?: string;
  /** Called after each scenario (for progress). */
  onRun?: (done: number) => void;
}

export interface Divergence {
  scenario: Scenario;
  a: Trace | { error: string };
  b: Trace | { error: string };
  difference: TraceDifference | null;
}

export interface DiffResult {
  runs: number;
  seed: number;
  elapsedMs: number;
  /** Present when the implementations diverged. */
  divergence?: Divergence;
  /** fast-check's path of the shrunk counterexample (pass with --path to replay it). */
  path?: string;
  shrinks?: number;
  /** Scenarios skipped because an implementation declares a feature they use unsupported, by feature. */
  skipped: Record<string, number>;
}

/** The first feature of s that one of the targets declares unsupported, if any. */
export function unsupportedFeature(s: Scenario, targets: Target[]): string | null {
  const missing = new Set(targets.flatMap((t) => t.unsupported ?? []));
  if (missing.size === 0) return null;
  return scenarioFeatures(s).find((f) => missing.has(f)) ?? null;
}

async function traceOrError(t: Target, s: Scenario): Promise<Trace | { error: string }> {
  try {
    return await t.run(s);
  } catch (e) {
    return { error: (e as Error).message };
  }
}

function isTrace(x: Trace | { error: string }): x is Trace {
  return !("error" in x);
}

export async function compareOn(a: Target, b: Target, s: Scenario): Promise<Divergence | null> {
  const [ta, tb] = await Promise.all([traceOrError(a, s), traceOrError(b, s)]);
  if (isTrace(ta) && isTrace(tb)) {
    const difference = firstDifference(ta, tb);
    return difference === null ? null : { scenario: s, a: ta, b: tb, difference };
  }
  if (!isTrace(ta) && !isTrace(tb) && ta.error === tb.error) return null;
  return { scenario: s, a: ta, b: tb, difference: null };
}

export async function differential(a: Target, b: Target, opts: DiffOptions): Promise<DiffResult> {
  const version = compareVersions(a.version, b.version) <= 0 ? a.version : b.version;
  const started = Date.now();
  let count = 0;
  const skipped: Record<string, number> = {};
  const property = fc.asyncProperty(scenarioArb({ version }), async (s) => {
    const feature = unsupportedFeature(s, [a, b]);
    if (feature !== null) {
      skipped[feature] = (skipped[feature] ?? 0) + 1;
      opts.onRun?.(++count);
      return true;
    }
    const d = await compareOn(a, b, s);
    opts.onRun?.(++count);
    return d === null;
  });
  const details = await fc.check(property, {
    numRuns: opts.runs,
    seed: opts.seed,
    path: opts.path,
    endOnFailure: false,
  });
  const result: DiffResult = { runs: details.numRuns, seed: details.seed, elapsedMs: Date.now() - started, skipped };
  if (details.failed && details.counterexample) {
    const scenario = details.counterexample[0];
    const divergence = await compareOn(a, b, scenario);
    result.path = details.counterexamplePath ?? undefined;
    result.shrinks = details.numShrinks;
    result.divergence = divergence ?? {
      scenario,
      a: { error: "the counterexample no longer diverges when re-run (non-deterministic implementation?)" },
      b: { error: String(details.errorInstance ?? "") },
      difference: null,
    };
  }
  return result;
}
