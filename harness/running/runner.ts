/**
 * Runs clauses against a target: clauses over traces, the target producing
 * the traces. One fast-check run per clause, with a seed derived from the
 * run's seed and the clause id (so selecting other clauses never changes a
 * clause's scenarios), shrinking the first counterexample.
 *
 * On a target whose clock is real (one tick is some milliseconds of wall
 * time: uvloop, `--clock real`), timing noise can make a correct
 * implementation fail a case now and then. There:
 *   - clauses marked `virtualTimeOnly` are skipped, with that reason;
 *   - a failing case is run again (`reruns`, 2 by default): it counts as a
 *     failure only if it fails every time; if a rerun passes, the case is
 *     flaky, and a clause whose only failures were flaky ends as "flaky"
 *     (it does not fail the run), keeping the failing trace and the passing
 *     rerun's trace;
 *   - shrinking runs at most `shrinkLimit` candidate cases (each takes real
 *     time), keeping the smallest failing case found by then.
 * On a virtual clock nothing of this applies: every run is deterministic, a
 * failure is a failure.
 *
 * Honest counts: a clause's result says how many cases were generated and
 * how many were actually checked (the others used a feature the
 * implementation declares unsupported). A clause with no failure that
 * checked too few of its cases (INCONCLUSIVE) is "inconclusive", not "pass".
 *
 * A case that produced no trace (timeout, crash, error reply, a target that
 * gave up after too many restarts) is reported as it was found, unshrunk:
 * such verdicts depend on the harness's state as much as on the scenario
 * (once the restart budget is spent every case fails at once), so shrinking
 * them leads to a scenario that passes on replay. A case whose trace broke
 * the clause is shrunk by fast-check and then minimised (./minimise.ts:
 * unused coroutines, callbacks, futures, tasks, timers and steps removed,
 * the failure re-checked after each removal).
 */
import * as fc from "fast-check";
import type { Clause, CheckContext } from "../../spec/clauses/clause";
import type { Scenario } from "../../spec/scenario/types";
import { Trace, canonicalJson } from "../../spec/scenario/trace";
import { expectedTrace, runMemoised } from "./memo";
import { isReferenceVersion } from "../../implementations/reference";
import type { Target } from "../targets";
import { TargetFailure } from "../targets/errors";
import { unsupportedFeature } from "./differential";
import { FEATURE_VERSIONS } from "../../spec/scenario/validate";
import { compareVersions, releaseIn } from "../../spec/scenario/versions";
import { MODELLED_RELEASES } from "../../implementations/reference/releases";
import { minimise } from "./minimise";
import { REALTIME } from "./defaults";

export { TargetFailure } from "../targets/errors";

export type CaseVerdict = "fail" | "timeout" | "error" | "crash";

/** A clause's verdict on one implementation. */
export type ClauseStatus = "pass" | "fail" | "flaky" | "inconclusive" | "skip" | "error";

/**
 * When a clause that found no failure is inconclusive rather than a pass:
 * it checked fewer than `fraction` of the cases it generated (the rest used
 * features the implementation declares unsupported), or none at all.
 * docs/reports.md, "Checked N of M".
 */
export const INCONCLUSIVE = { fraction: 0.2 } as const;

/** Is a clause that checked `checked` of `generated` cases inconclusive? */
export function isInconclusive(checked: number, generated: number): boolean {
  return generated > 0 && (checked === 0 || checked < INCONCLUSIVE.fraction * generated);
}

/**
 * The name of what produced a failure's expected trace, e.g. "the
 * reference's 3.12 profile", "the reference's 3.13 profile at 3.13.2" (a
 * release other than the one it models: targetRelease).
 */
export function referenceName(version: string, pyTask = false, release?: string): string {
  return `the reference's ${version} profile${release !== undefined ? ` at ${release}` : ""}${pyTask ? " (pure-Python Task)" : ""}`;
}

/**
 * The CPython release a target reports for its version ("3.13.2" in
 * "Pyodide 0.29.3 / 3.13.2"), when it reports one other than the release
 * the reference models for that version; else undefined. Clauses that
 * compare with the reference compare with the reference at this release
 * (the patch-release changes aiospec knows: spec/scenario/versions.ts), as
 * the clauses' own version-aware checks hold the target to it
 * (spec/clauses/clause.ts releaseOf).
 */
export function targetRelease(target: Pick<Target, "version" | "fullVersion">): string | undefined {
  const release = releaseIn(target.version, target.fullVersion);
  return release !== undefined && release !== MODELLED_RELEASES[target.version] ? release : undefined;
}

/** Why a whole clause was skipped: the version it holds for, a feature the implementation lacks, or a real clock. */
export type SkipKind = "version" | "unsupported" | "virtual-time";

/** How an implementation's loop keeps time (Target.clock; the driver's hello says it). */
export type Clock = "virtual" | "real";

export interface Counterexample {
  scenario: Scenario;
  verdict: CaseVerdict;
  /** What went wrong, in a sentence. */
  message: string;
  trace?: Trace;
  expected?: Trace;
  /** What produced `expected`: "the reference's 3.12 profile". */
  expectedFrom?: string;
  /**
   * The run's seed (what `--seed` takes): with `path`, `aiospec run --clause
   * ID --seed SEED --path PATH` replays exactly this case.
   */
  seed: number;
  /** The clause's own seed, clauseSeed(seed, id): what fast-check ran with. */
  clauseSeed: number;
  /** fast-check's path of the shrunk case. */
  path: string;
  /** On a real clock: how many times the case was run, failing each time. */
  attempts?: number;
  /** false: a case with no trace (timeout, error), reported as generated, not shrunk. */
  shrunk: boolean;
  /** Steps, coroutines and callbacks the minimisation pass removed after shrinking (absent: none). */
  minimised?: { removed: number; tried: number };
}

/**
 * A case that failed and then passed when run again (real clock only): the
 * first failure, and the trace of the rerun that passed.
 */
export interface FlakyCase {
  scenario: Scenario;
  /** The run's seed and the clause's, as for a Counterexample. */
  seed: number;
  clauseSeed: number;
  /** fast-check's path of the case, when it is known (a generated case; not a shrink candidate). */
  path?: string;
  /** Runs of the case until one passed (2: it failed once, then passed). */
  attempts: number;
  /** The first run: its verdict, message and traces. */
  failing: { verdict: CaseVerdict; message: string; trace?: Trace; expected?: Trace };
  /** The rerun that passed. */
  passing: { trace?: Trace };
}

export interface ClauseResult {
  id: string;
  level: Clause["level"];
  status: ClauseStatus;
  /** Why a clause was skipped, or how the harness failed. */
  reason?: string;
  /** For a skipped clause: which kind of reason. */
  skipKind?: SkipKind;
  /** Cases generated (fast-check's numRuns; shrinking not counted). */
  runs: number;
  /**
   * Cases actually checked: run on the implementation and judged by the
   * clause. The other generated cases are in `skipped`. For a failing
   * clause, the failing case is the last one checked.
   */
  checked: number;
  seed: number;
  elapsedMs: number;
  counterexample?: Counterexample;
  /** Cases skipped because the implementation declares a feature they use unsupported, by feature. */
  skipped?: Record<string, number>;
  /** Real clock: the first flaky case, and how many cases were flaky (status "flaky", or "fail" when another case failed for good). */
  flaky?: FlakyCase & { cases: number };
  /** The clock the clause ran on (set for a real clock only). */
  clock?: Clock;
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
  /** Extra runs of a failing case before it counts as a failure (default: 2 on a real clock, 0 on a virtual one). */
  reruns?: number;
  /** Most shrink candidates run after a failure (default: REALTIME.shrinkLimit on a real clock, unlimited on a virtual one). */
  shrinkLimit?: number;
  /**
   * Cases in flight on the target (default: CASE_WINDOW on a target out of
   * this process on a virtual clock, else 1). 1 runs them one at a time;
   * the result is the same either way.
   */
  window?: number;
}

export { REALTIME } from "./defaults";

/** The clock of a target: "real" when it says so, else "virtual". */
export function targetClock(t: Target): Clock {
  return (t as Target & { clock?: string }).clock === "real" ? "real" : "virtual";
}

/** Milliseconds per tick of a real-clock target, when it says. */
export function targetTickMs(t: Target): number | undefined {
  const ms = (t as Target & { tickMs?: unknown }).tickMs;
  return typeof ms === "number" && ms > 0 ? ms : undefined;
}

/** Whether the target's collector is nondeterministic (Target.gc). */
export function targetGcNondeterministic(t: Target): boolean {
  return (t as Target & { gc?: string }).gc === "nondeterministic";
}

/** How often a clause run lets the event loop turn (signals, IPC, progress) while it runs in-process targets. */
const YIELD_EVERY_MS = 20;

/** 32-bit FNV-1a of the clause id mixed into the run seed. */
export function clauseSeed(seed: number, id: string): number {
  let h = 0x811c9dc5 ^ seed;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
}

/** Does feature `f` come with a Python newer than `version` (FEATURE_VERSIONS)? */
function newerThan(f: string, version: string): boolean {
  const since = FEATURE_VERSIONS[f];
  return since !== undefined && compareVersions(since, version) > 0;
}

export function skipReason(c: Clause, target: Target): string | null {
  return skipInfo(c, target)?.reason ?? null;
}

/** Why a clause is skipped on a target, and which kind of reason it is; null when it runs. */
export function skipInfo(c: Clause, target: Target): { kind: SkipKind; reason: string } | null {
  if (!c.versions.includes(target.version)) {
    return { kind: "version", reason: `holds for Python ${c.versions.join(", ")}; ${target.id} behaves as ${target.version}${c.note ? ` (${c.note})` : ""}` };
  }
  // A feature newer than the target's Python (eager tasks on 3.11) is not
  // generated for that version, or only in some cases, which are skipped one
  // by one: only a feature the version should have skips the whole clause.
  const missing = c.needs.filter((n) => (target.unsupported ?? []).includes(n) && !newerThan(n, target.version));
  if (missing.length > 0) return { kind: "unsupported", reason: `${target.id} does not support ${missing.join(", ")}` };
  if (c.virtualTimeOnly !== undefined && targetClock(target) === "real") {
    return { kind: "virtual-time", reason: `virtual time only: ${c.virtualTimeOnly}; ${target.id} runs on a real clock` };
  }
  return null;
}

/** A case the search started ahead: the feature it uses that the target lacks (then it is not run), else its run. */
interface Ahead {
  feature: string | null;
  run?: Promise<Trace>;
}

/**
 * Cases a clause keeps in flight on a target out of this process (a driver
 * takes up to MAX_PIPELINE of them at once, harness/targets/driver.ts; a
 * module's child process one, the others waiting in its Supervisor).
 * 64, the Python driver's own pipeline: the window is refilled by halves,
 * each half one write, and a write that wakes an idle driver costs the
 * harness about a tenth of a millisecond on these VMs, so a wide window
 * wakes it less often (16 before: a default run 3-10% slower,
 * docs/performance.md, profile 11).
 */
export const CASE_WINDOW = 64;

/**
 * How many cases runClause runs ahead: one (none ahead) on a target in this
 * process (it runs a case synchronously: nothing to overlap), on a real
 * clock (a case's timing is left as it was), and when replaying a --path;
 * RunOptions.window when given.
 */
function caseWindow(target: Target, opts: RunOptions): number {
  if (opts.path !== undefined) return 1;
  if (opts.window !== undefined) return Math.max(1, Math.floor(opts.window));
  return target.isolation !== "process" || targetClock(target) === "real" ? 1 : CASE_WINDOW;
}

interface CaseOutcome {
  ok: boolean;
  verdict?: CaseVerdict;
  message?: string;
  trace?: Trace;
  expected?: Trace;
  /** The target produced no trace (TargetFailure or another error): not a verdict on the scenario alone. */
  noTrace?: boolean;
}

/**
 * `run`: the target's run of s, when it was started ahead (runClause's
 * search); else it is started here, from the memo of a deterministic
 * target's traces (./memo.ts) unless `fresh`.
 */
async function runCase(c: Clause, target: Target, s: Scenario, run?: Promise<Trace>, fresh = false): Promise<CaseOutcome> {
  let trace: Trace;
  try {
    trace = await (run ?? (fresh ? target.run(s) : runMemoised(target, s)));
  } catch (e) {
    const verdict = e instanceof TargetFailure ? e.verdict : "error";
    return { ok: false, verdict, message: `${target.id}: ${(e as Error).message}`, noTrace: true };
  }
  let expected: Trace | undefined;
  const ctx: CheckContext = {
    scenario: s,
    trace,
    version: target.version,
    // A check whose behaviour changed in a patch release reads the target's own release (clause.ts releaseOf).
    ...(target.fullVersion !== undefined ? { fullVersion: target.fullVersion } : {}),
    // The reference modelling the same Task (C or pure-Python) as the target.
    // at the target's release.
    expected: () => (expected ??= expectedTrace(target.version, target.task === "py", s, targetRelease(target))),
  };
  const verdict = c.check(ctx);
  if (verdict === true) return { ok: true, trace };
  return { ok: false, verdict: "fail", message: verdict, trace, expected };
}

export async function runClause(c: Clause, target: Target, opts: RunOptions): Promise<ClauseResult> {
  const seed = clauseSeed(opts.seed, c.id);
  const started = Date.now();
  const real = targetClock(target) === "real";
  const base = { id: c.id, level: c.level, seed, ...(real ? { clock: "real" as const } : {}) };
  const skip = skipInfo(c, target);
  if (skip !== null) return { ...base, status: "skip", reason: skip.reason, skipKind: skip.kind, runs: 0, checked: 0, elapsedMs: 0 };
  // An isolated target given up on in an earlier clause gets a fresh restart budget for this one.
  (target as Target & { resetRestarts?: () => void }).resetRestarts?.();
  // On a nondeterministic collector (PyPy) a gc-mode case's outcome depends on
  // what the process ran before, and which clauses ran before this one in its
  // job's process varies from run to run: a fresh process makes the clause's
  // verdict depend on its own cases (so on the seed) only.
  if (targetGcNondeterministic(target)) await target.renew?.();
  const reruns = Math.max(0, opts.reruns ?? (real ? REALTIME.reruns : 0));
  const shrinkLimit = opts.shrinkLimit ?? (real ? REALTIME.shrinkLimit : Infinity);
  const skipped: Record<string, number> = {};
  let cases = 0;
  let checked = 0;
  let lastYield = Date.now();
  // After the first failure every further case is a shrink candidate.
  let shrinking = false;
  let shrinkRuns = 0;
  let flaky: (FlakyCase & { cases: number }) | undefined;
  let flakyCases = 0;
  let lastFailure: { scenario: Scenario; outcome: CaseOutcome; attempts: number } | undefined;
  const arb = c.scenarios(target.version, { unsupported: target.unsupported ?? [] });
  /**
   * One case, as fast-check sees it: counted, skipped or run and checked,
   * re-run on a real clock; false when it fails. `ahead`: the case's
   * unsupported feature and its run, started ahead by the search below.
   */
  const judge = async (s: Scenario, ahead?: Ahead): Promise<boolean> => {
    // In-process targets run synchronously to the end of a scenario: let
    // timers, signals and messages through now and then.
    if (Date.now() - lastYield >= YIELD_EVERY_MS) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      lastYield = Date.now();
    }
    if (opts.signal?.aborted) throw new Error("aborted");
    const n = ++cases;
    opts.onCase?.(n);
    const feature = ahead ? ahead.feature : unsupportedFeature(s, [target]);
    if (feature !== null) {
      skipped[feature] = (skipped[feature] ?? 0) + 1;
      return true;
    }
    if (shrinking) {
      // A case with no trace is reported as found: every candidate "passes".
      if (lastFailure?.outcome.noTrace) return true;
      // Each candidate costs real time: past the limit, keep the smallest failure found so far.
      if (shrinkRuns >= shrinkLimit) return true;
      shrinkRuns++;
    } else checked++;
    const first = await runCase(c, target, s, ahead?.run);
    if (first.ok) return true;
    for (let k = 1; k <= reruns; k++) {
      if (opts.signal?.aborted) throw new Error("aborted");
      const again = await runCase(c, target, s);
      if (again.ok) {
        flakyCases++;
        if (!flaky) {
          const path = shrinking ? undefined : opts.path !== undefined ? (n === 1 ? opts.path : undefined) : String(n - 1);
          flaky = {
            scenario: s,
            seed: opts.seed,
            clauseSeed: seed,
            ...(path !== undefined ? { path } : {}),
            attempts: k + 1,
            failing: { verdict: first.verdict ?? "fail", message: first.message ?? "failed", trace: first.trace, expected: first.expected },
            passing: { trace: again.trace },
            cases: 0,
          };
        }
        return true;
      }
    }
    lastFailure = { scenario: s, outcome: first, attempts: reruns + 1 };
    shrinking = true;
    return false;
  };

  // The search: on a target out of this process, the clause's next cases
  // run ahead (CASE_WINDOW of them in flight), so that a driver never waits
  // for the harness's checks and generation, nor the harness for the
  // driver's round trips. fast-check generates them lazily, seed for seed
  // the cases of a one-at-a-time run, and judge() takes them in that order,
  // so the counts, the flaky cases and the first failure are the same. At
  // the first failure (run k) the search stops, the cases ahead are
  // abandoned, and fast-check replays run k by its path (its verdict is the
  // one the search got: it is not run again) and shrinks it one candidate at
  // a time, as before: the same candidates, counterexample and path.
  let failedRun: number | null = null;
  let searched = 0;
  let replayed: { scenario: Scenario } | null = null;
  const window = caseWindow(target, opts);
  if (window > 1) {
    const inFlight: Array<{ s: Scenario } & Ahead> = [];
    const takeOldest = async (): Promise<boolean> => {
      const { s, ...ahead } = inFlight.shift()!;
      const failedBefore = lastFailure;
      let ok: boolean;
      try {
        ok = await judge(s, ahead);
      } catch {
        ok = false; // fast-check's replay runs it again, and sees the throw
      }
      if (!ok) {
        // The cases ahead no longer matter: a target that hangs on each must not time out on each.
        target.abandon?.();
        failedRun = searched;
        if (lastFailure !== failedBefore) replayed = { scenario: s };
      }
      searched++;
      return !ok;
    };
    try {
      await fc.check(
        fc.asyncProperty(arb, async (s) => {
          const feature = unsupportedFeature(s, [target]);
          const run = feature === null ? runMemoised(target, s) : undefined;
          run?.catch(() => {}); // judged (and its failure reported) when its turn comes
          inFlight.push({ s, feature, run });
          // Full: take outcomes until half are left, then start the next half together (one write to a driver).
          if (inFlight.length >= window) while (inFlight.length > window / 2) if (await takeOldest()) return false;
          return true;
        }),
        { numRuns: opts.runs, seed, endOnFailure: true },
      );
      while (failedRun === null && inFlight.length > 0) await takeOldest();
    } catch (e) {
      return { ...base, status: "error", reason: `harness failure: ${(e as Error).message}`, runs: 0, checked, elapsedMs: Date.now() - started };
    } finally {
      if (inFlight.length > 0) target.abandon?.();
      await Promise.all(inFlight.map((a) => a.run?.catch(() => {})));
    }
    if (opts.signal?.aborted) return { ...base, status: "error", reason: "aborted", runs: searched, checked, elapsedMs: Date.now() - started };
  }
  const property = fc.asyncProperty(arb, async (s) => {
    if (replayed !== null) {
      // Run k of the replay: the case the search failed on, already judged.
      const same = replayed.scenario === s || canonicalJson(replayed.scenario) === canonicalJson(s);
      replayed = null;
      if (same) return false;
    }
    return judge(s);
  });
  const extra = () => ({
    ...(Object.keys(skipped).length ? { skipped } : {}),
    ...(flaky ? { flaky: { ...flaky, cases: flakyCases } } : {}),
  });
  if (window > 1 && failedRun === null) {
    const status = flaky ? "flaky" : isInconclusive(checked, searched) ? "inconclusive" : "pass";
    return { ...base, status, runs: searched, checked, elapsedMs: Date.now() - started, ...extra() };
  }
  let details: fc.RunDetails<[Scenario]>;
  try {
    details = await fc.check(property, { numRuns: opts.runs, seed, path: failedRun !== null ? String(failedRun) : opts.path });
  } catch (e) {
    return { ...base, status: "error", reason: `harness failure: ${(e as Error).message}`, runs: 0, checked, elapsedMs: Date.now() - started };
  }
  const runs = failedRun !== null ? failedRun + 1 : details.numRuns;
  if (!details.failed) {
    const status = flaky ? "flaky" : isInconclusive(checked, runs) ? "inconclusive" : "pass";
    return { ...base, status, runs, checked, elapsedMs: Date.now() - started, ...extra() };
  }
  if (!details.counterexample) {
    return { ...base, status: "error", reason: String(details.errorInstance ?? "fast-check failed"), runs, checked, elapsedMs: Date.now() - started };
  }
  if (opts.signal?.aborted) return { ...base, status: "error", reason: "aborted", runs, checked, elapsedMs: Date.now() - started };
  let scenario = details.counterexample[0];
  const noTrace = lastFailure?.outcome.noTrace === true;
  let again: CaseOutcome;
  let attempts: number | undefined;
  if (lastFailure && (noTrace || (reruns > 0 && (lastFailure.scenario === scenario || canonicalJson(lastFailure.scenario) === canonicalJson(scenario))))) {
    // A case with no trace is reported with the verdict it got (run again
    // after a give-up it would fail at once, for another reason). A case
    // already run reruns + 1 times, failing each time, needs no more runs.
    scenario = lastFailure.scenario;
    again = lastFailure.outcome;
    attempts = lastFailure.attempts;
  } else {
    // Asked afresh, not from the memo: a target that said it is
    // deterministic and is not shows here ("passed when re-run").
    again = await runCase(c, target, scenario, undefined, true);
  }
  let minimised: Counterexample["minimised"];
  if (!noTrace && !again.ok && again.verdict === "fail") {
    const budget = Math.max(0, Math.min(MINIMISE_LIMIT, shrinkLimit - shrinkRuns));
    // When the reference passes the case (as it should: it models CPython),
    // every candidate must keep it passing (failsTheSameWay).
    const premise = referencePasses(c, target, scenario);
    const m = await minimise(scenario, (s) => failsTheSameWay(c, target, s, again, reruns, premise), budget, opts.signal);
    if (m.removed > 0) {
      scenario = m.scenario;
      again = m.outcome ?? again;
    }
    if (m.tried > 0) minimised = { removed: m.removed, tried: m.tried };
  }
  return {
    ...base,
    status: "fail",
    runs,
    checked,
    elapsedMs: Date.now() - started,
    ...extra(),
    counterexample: {
      scenario,
      verdict: again.verdict ?? "fail",
      message: again.message ?? "the shrunk case passed when re-run: the implementation is not deterministic",
      trace: again.trace,
      expected: again.expected,
      ...(again.expected ? { expectedFrom: referenceName(target.version, target.task === "py", targetRelease(target)) } : {}),
      seed: opts.seed,
      clauseSeed: seed,
      path: details.counterexamplePath ?? "",
      ...(attempts !== undefined ? { attempts } : {}),
      shrunk: !noTrace,
      ...(minimised ? { minimised } : {}),
    },
  };
}

/**
 * Does the clause hold of the reference's trace of s (the profile of the
 * target's version, release and Task)? False when the reference does not
 * model the version (3.8-3.10): nothing to compare with, so minimisation
 * judges each candidate on the target alone, as it does when the reference
 * fails the case too (a known difference of the reference, or a test's
 * clause). The reference runs at the target's release and is held to it
 * (targetRelease; none: the release it models).
 */
function referencePasses(c: Clause, target: Target, s: Scenario): boolean {
  if (!isReferenceVersion(target.version)) return false;
  const release = targetRelease(target);
  let trace: Trace;
  try {
    trace = expectedTrace(target.version, target.task === "py", s, release);
  } catch {
    return false; // the reference cannot run it: not a scenario to report
  }
  return c.check({ scenario: s, trace, version: target.version, ...(release !== undefined ? { fullVersion: release } : {}), expected: () => trace }) === true;
}

/** Most candidates the minimisation pass runs after shrinking (virtual clock; a real one is bounded by shrinkLimit). */
export const MINIMISE_LIMIT = 400;

/** A message with its numbers blanked: event indexes and task numbers shift when steps are removed. */
function messageShape(message: string | undefined): string {
  return (message ?? "").replace(/\d+/g, "#");
}

/**
 * Does scenario s break clause c the way `original` did: verdict "fail",
 * and the same message up to its numbers, on every one of 1 + reruns runs?
 * (A removal that turns one failure into another is not a simplification.)
 * With `premise` (the reference passed the case being minimised), does the
 * reference, at the target's version, still pass it? A removal can take a
 * case out of what the clause judges (the premise its generator always
 * builds: the callback that interrupts the loop, the task that is
 * cancelled), and a check that does not test its premise then fails on
 * CPython too, with the same message: such a scenario is no counterexample.
 */
async function failsTheSameWay(c: Clause, target: Target, s: Scenario, original: CaseOutcome, reruns: number, premise: boolean): Promise<CaseOutcome | null> {
  if (premise && !referencePasses(c, target, s)) return null;
  let outcome: CaseOutcome | null = null;
  for (let k = 0; k <= reruns; k++) {
    const o = await runCase(c, target, s);
    if (o.ok || o.verdict !== "fail" || messageShape(o.message) !== messageShape(original.message)) return null;
    outcome ??= o;
  }
  return outcome;
}
