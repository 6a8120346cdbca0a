/**
 * Runs clauses against a target: clauses over traces, the target producing
 * the traces. One fast-check run per clause, with a seed derived from the
 * run's seed and the clause id (so selecting other clauses never changes a
 * clause's scenarios), shrinking the first counterexample.
 */
import * as fc from "fast-check";
import type { Clause, CheckContext } from "../spec/clauses/clause";
import type { Scenario } from "../spec/scenario/types";
import type { Trace } from "../spec/scenario/trace";
import { runScenario } from "./interpreter";
import { makeReference } from "../implementations/reference";
import type { Target } from "./targets";
import { unsupportedFeature } from "./differential";

export type CaseVerdict = "fail" | "timeout" | "error";

export interface Counterexample {
  scenario: Scenario;
  verdict: CaseVerdict;
  /** What went wrong, in a sentence. */
  message: string;
  trace?: Trace;
  expected?: Trace;
  /**
   * The run's seed (what `--seed` takes): with `path`, `aiospec run --clause
   * ID --seed SEED --path PATH` replays exactly this case.
   */
  seed: number;
  /** The clause's own seed, clauseSeed(seed, id): what fast-check ran with. */
  clauseSeed: number;
  /** fast-check's path of the shrunk case. */
  path: string;
}

export interface ClauseResult {
  id: string;
  level: Clause["level"];
  status: "pass" | "fail" | "skip" | "error";
  /** Why a clause was skipped, or how the harness failed. */
  reason?: string;
  runs: number;
  seed: number;
  elapsedMs: number;
  counterexample?: Counterexample;
  /** Cases skipped because the implementation declares a feature they use unsupported, by feature. */
  skipped?: Record<string, number>;
}

export interface RunOptions {
  runs: number;
  seed: number;
  /** fast-check path, to replay one case of one clause (with the run seed that reported it). */
  path?: string;
  /** Called after each case (generated or shrunk) with the number of cases so far. */
  onCase?: (n: number) => void;
  /**
   * Once aborted, the remaining cases fail at once and the result is
   * meaningless: the caller discards it (Ctrl-C, or a pool shutting down).
   */
  signal?: AbortSignal;
}

/** How often a clause run lets the event loop turn (signals, IPC, progress) while it runs in-process targets. */
const YIELD_EVERY_MS = 20;

/** A failure raised by the target itself (it could not produce a trace). */
export class TargetFailure extends Error {
  constructor(readonly verdict: "timeout" | "error", message: string) {
    super(message);
  }
}

/** 32-bit FNV-1a of the clause id mixed into the run seed. */
export function clauseSeed(seed: number, id: string): number {
  let h = 0x811c9dc5 ^ seed;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
}

export function skipReason(c: Clause, target: Target): string | null {
  if (!c.versions.includes(target.version)) {
    return `holds for Python ${c.versions.join(", ")}; ${target.id} behaves as ${target.version}${c.note ? ` (${c.note})` : ""}`;
  }
  const missing = c.needs.filter((n) => (target.unsupported ?? []).includes(n));
  if (missing.length > 0) return `${target.id} does not support ${missing.join(", ")}`;
  return null;
}

interface CaseOutcome {
  ok: boolean;
  verdict?: CaseVerdict;
  message?: string;
  trace?: Trace;
  expected?: Trace;
}

async function runCase(c: Clause, target: Target, s: Scenario): Promise<CaseOutcome> {
  let trace: Trace;
  try {
    trace = await target.run(s);
  } catch (e) {
    const verdict = e instanceof TargetFailure ? e.verdict : "error";
    return { ok: false, verdict, message: `${target.id}: ${(e as Error).message}` };
  }
  let expected: Trace | undefined;
  const ctx: CheckContext = {
    scenario: s,
    trace,
    version: target.version,
    expected: () => (expected ??= runScenario(makeReference(target.version), s)),
  };
  const verdict = c.check(ctx);
  if (verdict === true) return { ok: true };
  return { ok: false, verdict: "fail", message: verdict, trace, expected };
}

export async function runClause(c: Clause, target: Target, opts: RunOptions): Promise<ClauseResult> {
  const seed = clauseSeed(opts.seed, c.id);
  const started = Date.now();
  const base = { id: c.id, level: c.level, seed };
  const reason = skipReason(c, target);
  if (reason !== null) return { ...base, status: "skip", reason, runs: 0, elapsedMs: 0 };
  const skipped: Record<string, number> = {};
  let cases = 0;
  let lastYield = Date.now();
  const property = fc.asyncProperty(c.scenarios(target.version), async (s) => {
    // In-process targets run synchronously to the end of a scenario: let
    // timers, signals and messages through now and then.
    if (Date.now() - lastYield >= YIELD_EVERY_MS) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      lastYield = Date.now();
    }
    if (opts.signal?.aborted) throw new Error("aborted");
    opts.onCase?.(++cases);
    const feature = unsupportedFeature(s, [target]);
    if (feature !== null) {
      skipped[feature] = (skipped[feature] ?? 0) + 1;
      return true;
    }
    return (await runCase(c, target, s)).ok;
  });
  let details: fc.RunDetails<[Scenario]>;
  try {
    details = await fc.check(property, { numRuns: opts.runs, seed, path: opts.path });
  } catch (e) {
    return { ...base, status: "error", reason: `harness failure: ${(e as Error).message}`, runs: 0, elapsedMs: Date.now() - started };
  }
  const elapsedMs = Date.now() - started;
  if (!details.failed) return { ...base, status: "pass", runs: details.numRuns, elapsedMs, ...(Object.keys(skipped).length ? { skipped } : {}) };
  if (!details.counterexample) {
    return { ...base, status: "error", reason: String(details.errorInstance ?? "fast-check failed"), runs: details.numRuns, elapsedMs };
  }
  if (opts.signal?.aborted) return { ...base, status: "error", reason: "aborted", runs: details.numRuns, elapsedMs };
  const scenario = details.counterexample[0];
  const again = await runCase(c, target, scenario);
  return {
    ...base,
    status: "fail",
    runs: details.numRuns,
    elapsedMs,
    counterexample: {
      scenario,
      verdict: again.verdict ?? "fail",
      message: again.message ?? "the shrunk case passed when re-run: the implementation is not deterministic",
      trace: again.trace,
      expected: again.expected,
      seed: opts.seed,
      clauseSeed: seed,
      path: details.counterexamplePath ?? "",
    },
  };
}
