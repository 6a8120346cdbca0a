/**
 * The differential property: on every generated scenario, implementation A's
 * trace equals implementation B's (exact level: canonical JSON equality).
 * fast-check generates the scenarios and shrinks the first counterexample.
 *
 * Every generated scenario ends up in exactly one of these counts:
 *   compared      both produced a trace, and the traces were compared
 *   skipped       it uses a feature one side declares unsupported, or that
 *                 the older side's Python version lacks (by feature)
 *   bothErrored   neither side produced a trace (both failed): nothing to compare
 *   ignored       the traces (or one side's failure) differ, but in a way an
 *                 --ignore pattern masks (by divergence signature)
 * and the last one, when the search stopped at a divergence, is that divergence.
 *
 * The search keeps several scenarios in flight (SEARCH_WINDOW): fast-check
 * generates them, each one's run is started at once, and the outcomes are
 * taken in order, so that a driver (which works through its requests one
 * after another) never waits for the harness's generation, its in-process
 * run of the other side, or the comparison. At the first divergence the
 * search stops, and fast-check replays that run (its path) and shrinks it,
 * one scenario at a time as before: the same scenarios, counts,
 * counterexample and path as a search with one scenario in flight.
 */
import * as fc from "fast-check";
import { sizedScenarioArb } from "./sizes";
import { withoutShrinking } from "../../spec/scenario/fastgen";
import type { DiffSize } from "./sizes";
import { FEATURE_VERSIONS, mayUseFeature, scenarioFeatures } from "../../spec/scenario/validate";
import type { Scenario } from "../../spec/scenario/types";
import { Trace, TraceDifference, firstDifference } from "../../spec/scenario/trace";
import { PythonVersion, compareVersions } from "../../spec/scenario/versions";
import { globMatch } from "./glob";
import type { Target } from "../targets";
import { ReplyTooLarge } from "../targets/errors";
import { mib } from "../targets/isolation/limits";
import { scenarioJson } from "../targets/target";

export interface DiffOptions {
  runs: number;
  seed: number;
  /** fast-check's replay path: re-run exactly one (shrunk) case. */
  path?: string;
  /** Called after each scenario (for progress). */
  onRun?: (done: number) => void;
  /**
   * Divergences to pass over (known ones): divergence signatures
   * (divergenceSignature), exact or as globs (`*` any run, `?` one character).
   * A scenario diverging that way counts as ignored and the search goes on.
   */
  ignore?: readonly string[];
  /** How big the generated scenarios are (harness/running/sizes.ts); default "small". */
  size?: DiffSize;
}

export interface Divergence {
  scenario: Scenario;
  a: Trace | { error: string };
  b: Trace | { error: string };
  /** Where the traces part; null when one side produced no trace. */
  difference: TraceDifference | null;
}

export interface DiffResult {
  /** Scenarios generated before the search stopped (fast-check's numRuns; the shrinking runs are not counted anywhere). */
  runs: number;
  seed: number;
  elapsedMs: number;
  /** Present when the implementations diverged. */
  divergence?: Divergence;
  /** fast-check's path of the shrunk counterexample (pass with --path to replay it). */
  path?: string;
  shrinks?: number;
  /** Scenarios run on both sides and compared: the equal ones, and the divergence the search stopped at. */
  compared: number;
  /**
   * Scenarios skipped, by feature: an implementation declares the feature
   * unsupported (Target.unsupported), or the older side's Python lacks it
   * (spec/scenario/validate.ts FEATURE_VERSIONS). Counted under the first
   * such feature of the scenario.
   */
  skipped: Record<string, number>;
  /** Scenarios neither side could run: both failed (timeout, error reply, crash). Not compared. */
  bothErrored: number;
  /** The first both-errored scenario's two failures, to show what they were. */
  bothErroredExample?: { a: string; b: string };
  /** Divergences passed over because an --ignore pattern matches their signature, by signature. */
  ignored: Record<string, number>;
}

/** The older of the two versions: the scenarios use only what it has. */
export function commonVersion(a: Target, b: Target): PythonVersion {
  return compareVersions(a.version, b.version) <= 0 ? a.version : b.version;
}

/**
 * The first feature of s that one of the targets declares unsupported, if
 * any. Most scenarios have none of their marks in the JSON text they are
 * sent as (written now, once: scenarioJson), which settles it without a
 * walk of the scenario.
 */
export function unsupportedFeature(s: Scenario, targets: Target[]): string | null {
  const missing = new Set(targets.flatMap((t) => t.unsupported ?? []));
  if (missing.size === 0 || !mayUseFeature(scenarioJson(s), missing)) return null;
  return scenarioFeatures(s).find((f) => missing.has(f)) ?? null;
}

/** The first feature of s that Python `version` does not have (FEATURE_VERSIONS), if any. */
export function tooNewFeature(s: Scenario, version: PythonVersion): string | null {
  return scenarioFeatures(s).find((f) => FEATURE_VERSIONS[f] !== undefined && compareVersions(FEATURE_VERSIONS[f], version) > 0) ?? null;
}

/** A side's failure; `overLimit`: its reply was over this many bytes, its limit (ReplyTooLarge). */
type Failed = { error: string; overLimit?: number };

async function traceOrError(t: Target, s: Scenario): Promise<Trace | Failed> {
  try {
    return await t.run(s);
  } catch (e) {
    return e instanceof ReplyTooLarge ? { error: e.message, overLimit: e.limitBytes } : { error: (e as Error).message };
  }
}

function isTrace(x: Trace | Failed): x is Trace {
  return !("error" in x);
}

/**
 * One side's trace held to the reply limit the other side's reply broke:
 * over it too, it is a failure as well (the scenario's trace is too large
 * to compare, on both sides); else the trace as it is.
 */
function heldTo(x: Trace | Failed, other: Trace | Failed): Trace | Failed {
  if (!isTrace(x) || isTrace(other) || other.overLimit === undefined) return x;
  const bytes = Buffer.byteLength(JSON.stringify(x), "utf8");
  if (bytes <= other.overLimit) return x;
  return { error: `the trace is ${mib(bytes)} of JSON, over the other side's ${mib(other.overLimit)} reply limit` };
}

type Outcome = { kind: "equal" } | { kind: "both-errored"; a: string; b: string } | { kind: "diverged"; divergence: Divergence };

/**
 * Scenarios the search keeps in flight (the driver's own pipeline is at most
 * MAX_PIPELINE deep): 64, so that the driver is woken less often (32
 * before; runner.ts CASE_WINDOW says why).
 */
export const SEARCH_WINDOW = 64;

/**
 * Whether two values surely have the same canonical JSON (the exact level's
 * equality), found without serialising them: plain objects and arrays,
 * strings, booleans, null and finite numbers, keys holding undefined left
 * out as JSON leaves them out. Anything else answers false, and the caller
 * falls back on firstDifference, which decides.
 */
export function sameJson(x: unknown, y: unknown, depth = 0): boolean {
  if (typeof x === "number") return typeof y === "number" && Number.isFinite(x) && x === y; // -0 and 0 are both "0"
  if (typeof x === "string" || typeof x === "boolean" || x === null) return x === y;
  if (typeof x !== "object" || typeof y !== "object" || y === null || depth > 64) return false;
  if (x === y) return true;
  if (Array.isArray(x)) {
    if (!Array.isArray(y) || x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (x[i] === undefined || !sameJson(x[i], y[i], depth + 1)) return false;
    return true;
  }
  if (Array.isArray(y) || Object.getPrototypeOf(x) !== Object.prototype || Object.getPrototypeOf(y) !== Object.prototype) return false;
  const ox = x as Record<string, unknown>;
  const oy = y as Record<string, unknown>;
  let nx = 0;
  for (const k in ox) {
    if (ox[k] === undefined) continue;
    nx++;
    if (!Object.prototype.hasOwnProperty.call(oy, k) || !sameJson(ox[k], oy[k], depth + 1)) return false;
  }
  let ny = 0;
  for (const k in oy) if (oy[k] !== undefined) ny++;
  return nx === ny;
}

async function outcomeOn(a: Target, b: Target, s: Scenario): Promise<Outcome> {
  // The side out of this process first: its request is on its way while the other runs here.
  const bFirst = a.isolation === "in-process" && b.isolation !== "in-process";
  const tb0 = bFirst ? traceOrError(b, s) : null;
  const ta0 = traceOrError(a, s);
  const [a1, b1] = await Promise.all([ta0, tb0 ?? traceOrError(b, s)]);
  // A trace too large for one side's reply limit is held to it on the other
  // side too: both over it, neither could be compared (both-errored).
  const ta = heldTo(a1, b1);
  const tb = heldTo(b1, a1);
  if (isTrace(ta) && isTrace(tb)) {
    // Most traces agree: tell that without serialising them; firstDifference finds where they part.
    const difference = sameJson(ta, tb) ? null : firstDifference(ta, tb);
    return difference === null ? { kind: "equal" } : { kind: "diverged", divergence: { scenario: s, a: ta, b: tb, difference } };
  }
  if (!isTrace(ta) && !isTrace(tb)) return { kind: "both-errored", a: ta.error, b: tb.error };
  return { kind: "diverged", divergence: { scenario: s, a: ta, b: tb, difference: null } };
}

/** The divergence on s, or null when the traces agree or neither side produced one. */
export async function compareOn(a: Target, b: Target, s: Scenario): Promise<Divergence | null> {
  const o = await outcomeOn(a, b, s);
  return o.kind === "diverged" ? o.divergence : null;
}

/**
 * A short key for a divergence: where the traces part and how, ignoring the
 * details (times, values, names). `events:call/call:label` reads: at an
 * event, both sides have a "call" event, and their "label" fields differ.
 * `no-trace:a` / `no-trace:b`: the first / second implementation produced no
 * trace (it failed) and the other did.
 */
export function divergenceSignature(d: Divergence): string {
  const diff = d.difference;
  if (diff === null) return "error" in d.a ? "no-trace:a" : "no-trace:b";
  const where = diff.where.replace(/\[\d+\]/, "");
  const shape = (x: unknown): string => {
    if (typeof x !== "object" || x === null) return String(x);
    const o = x as Record<string, unknown>;
    return typeof o.ev === "string" ? `${o.ev}` : typeof o.state === "string" ? `${o.state}` : Object.keys(o).sort().join(",");
  };
  const keys = (x: unknown) => (typeof x === "object" && x !== null ? Object.keys(x as object) : []);
  const a = diff.a as Record<string, unknown>;
  const b = diff.b as Record<string, unknown>;
  const changed = [...new Set([...keys(a), ...keys(b)])]
    .filter((k) => JSON.stringify(a?.[k]) !== JSON.stringify(b?.[k]))
    .sort();
  return `${where}:${shape(a)}/${shape(b)}:${changed.join(",")}`;
}

/** The --ignore pattern that masks a signature, or null. */
export function ignoredBy(signature: string, patterns: readonly string[]): string | null {
  return patterns.find((p) => p === signature || globMatch(p, signature)) ?? null;
}

/** The features either side lacks. */
function lackedBy(a: Target, b: Target): string[] {
  return [...new Set([...(a.unsupported ?? []), ...(b.unsupported ?? [])])];
}

/**
 * The scenarios a diff of a and b generates (fc.sample of it with the diff's
 * seed gives them in the diff's order): generated around what either side
 * lacks, so that most cases are compared rather than skipped.
 */
export function diffScenarioArb(a: Target, b: Target, size: DiffSize = "small"): fc.Arbitrary<Scenario> {
  return sizedScenarioArb(commonVersion(a, b), size, lackedBy(a, b));
}

/** What one generated scenario came to: skipped (by feature) or its outcome. */
type Settled = { kind: "skipped"; feature: string } | Outcome;

export async function differential(a: Target, b: Target, opts: DiffOptions): Promise<DiffResult> {
  const version = commonVersion(a, b);
  const ignore = opts.ignore ?? [];
  const started = Date.now();
  let count = 0;
  const result: DiffResult = { runs: 0, seed: opts.seed, elapsedMs: 0, compared: 0, skipped: {}, bothErrored: 0, ignored: {} };
  const unsupported = lackedBy(a, b);
  const arb = diffScenarioArb(a, b, opts.size);

  const missing = new Set(unsupported);
  const settle = (s: Scenario): Promise<Settled> => {
    // As unsupportedFeature(s, [a, b]) ?? tooNewFeature(s, version), in one walk of the scenario.
    const features = scenarioFeatures(s);
    const feature = features.find((f) => missing.has(f)) ?? features.find((f) => FEATURE_VERSIONS[f] !== undefined && compareVersions(FEATURE_VERSIONS[f], version) > 0);
    return feature !== undefined ? Promise.resolve({ kind: "skipped", feature }) : outcomeOn(a, b, s);
  };
  /** Count one scenario of the search, in generation order; true when it is the divergence that stops it. */
  const tally = (o: Settled): boolean => {
    count++;
    opts.onRun?.(count);
    if (o.kind === "skipped") result.skipped[o.feature] = (result.skipped[o.feature] ?? 0) + 1;
    else if (o.kind === "equal") result.compared++;
    else if (o.kind === "both-errored") {
      result.bothErrored++;
      result.bothErroredExample ??= { a: o.a, b: o.b };
    } else {
      const sig = divergenceSignature(o.divergence);
      if (ignoredBy(sig, ignore) !== null) result.ignored[sig] = (result.ignored[sig] ?? 0) + 1;
      else {
        result.compared++;
        return true;
      }
    }
    return false;
  };
  // A scenario fails when it diverges in a way no pattern masks. Shrinking counts nothing;
  // replaying a --path counts its first run, as the search counts each of its runs.
  let counting = opts.path !== undefined;
  const holds = fc.asyncProperty(arb, async (s) => {
    // Each case of the shrinking gets a fresh restart budget: shrinking a
    // divergence where a side crashes crashes it once per smaller case, and
    // a side given up on would fail every case after, so that the shrinking
    // would end at a case that fails only because of that (the empty
    // scenario) instead of one that makes it crash.
    a.resetRestarts?.();
    b.resetRestarts?.();
    const o = await settle(s);
    if (counting) {
      counting = false;
      return !tally(o);
    }
    return o.kind !== "diverged" || ignoredBy(divergenceSignature(o.divergence), ignore) !== null;
  });

  // The search: the runs in generation order, SEARCH_WINDOW of them in flight.
  let failedRun: number | null = null;
  if (opts.path === undefined) {
    const inFlight: Array<Promise<Settled>> = [];
    let taken = 0;
    const takeOldest = async (): Promise<boolean> => {
      const o = await inFlight.shift()!;
      if (tally(o)) failedRun = taken;
      taken++;
      return failedRun !== null;
    };
    // fast-check generates (lazily, seed for seed the runs a one-at-a-time search would see);
    // a run that returns false only ends the generation: the divergence is the oldest one's.
    // The search never shrinks (the replay below does, on `arb` itself): it draws the same
    // scenarios from an arbitrary that keeps no shrink data (spec/scenario/fastgen.ts).
    await fc.check(
      fc.asyncProperty(withoutShrinking(arb), async (s) => {
        inFlight.push(settle(s));
        while (inFlight.length >= SEARCH_WINDOW) if (await takeOldest()) return false;
        return true;
      }),
      { numRuns: opts.runs, seed: opts.seed, endOnFailure: true },
    );
    while (failedRun === null && inFlight.length > 0) await takeOldest();
    // What is still in flight past the divergence is run for nothing: let it finish before shrinking.
    await Promise.all(inFlight);
    result.runs = failedRun === null ? count : failedRun + 1;
    if (failedRun === null) {
      result.elapsedMs = Date.now() - started;
      return result;
    }
  }

  // Shrink the divergence (fast-check replays its run by path), or replay the path asked for.
  const path = opts.path ?? String(failedRun);
  const details = await fc.check(holds, { numRuns: opts.runs, seed: opts.seed, path, endOnFailure: false });
  if (opts.path !== undefined) result.runs = details.numRuns;
  result.seed = details.seed;
  result.elapsedMs = Date.now() - started;
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
  } else if (opts.path === undefined) {
    result.divergence = {
      scenario: fc.sample(arb, { numRuns: failedRun! + 1, seed: opts.seed })[failedRun!],
      a: { error: "the divergence the search found did not recur when its run was replayed (non-deterministic implementation?)" },
      b: { error: "" },
      difference: null,
    };
    result.path = path;
    result.shrinks = 0;
  }
  return result;
}
