/**
 * A clause: one documented behaviour of asyncio, stated in our own words,
 * tied to the documentation section it comes from, and checked by a property
 * over generated scenarios and the traces an implementation produces.
 *
 * Read a clause file like the documentation it encodes: each clause has its
 * id, its statement, its source and the versions it holds for, and its
 * property right under it.
 */
import type * as fc from "fast-check";
import type { Scenario } from "../scenario/types";
import { knownRepeatFree } from "../scenario/repeat";
import type { Trace } from "../scenario/trace";
import type { PythonVersion } from "../../implementations/reference/profile";
import { MODELLED_RELEASES } from "../../implementations/reference/releases";
import { releaseIn } from "../scenario/versions";
import { Evidence, firstMissing, ofThisScenario } from "./evidence";
import { avoiding } from "../scenario/avoiding";

export type Level = "documented" | "exact";

/** The pages the clauses come from. */
export const DOCS = {
  tasks: "https://docs.python.org/3/library/asyncio-task.html",
  futures: "https://docs.python.org/3/library/asyncio-future.html",
  loop: "https://docs.python.org/3/library/asyncio-eventloop.html",
  exceptions: "https://docs.python.org/3/library/asyncio-exceptions.html",
} as const;

export interface ClauseSource {
  /** The page and anchor, e.g. DOCS.tasks + "#asyncio.gather". */
  url: string;
  /** The section's title on that page, e.g. "Running Tasks Concurrently". */
  section: string;
}

/**
 * A scenario a clause's builder has just made, as it leaves the builder.
 * The clauses write out every step themselves and none is a `repeat`
 * (spec/scenario/repeat.ts), so this records that the scenario holds none:
 * expanding it (the evidence, its features, the reference's run) need not
 * walk every key of it to find out. test/clauses-shortcuts.test.ts checks
 * the claim on every clause's scenarios.
 */
export function built(s: Scenario): Scenario {
  knownRepeatFree(s);
  return s;
}

/** What a property sees: the scenario, the trace under test, and how to get the reference's trace. */
export interface CheckContext {
  scenario: Scenario;
  trace: Trace;
  version: PythonVersion;
  /**
   * The implementation's full version, when it reports one (Target.fullVersion:
   * "3.12.7" from a driver's hello, "Pyodide 0.27.8 / 3.12.7"). A check whose
   * behaviour changed in a patch release reads the release through releaseOf.
   */
  fullVersion?: string;
  /** The reference's trace for the same scenario and version (computed on demand). */
  expected(): Trace;
}

/**
 * The CPython release whose behaviour a check holds the implementation to
 * ("3.12.7"): the release of `version` its full version names; else, for an
 * implementation that claims only a minor version (the reference, a mutant, a
 * TypeScript module), the release the reference models for that version
 * (implementations/reference/releases.ts: 3.12 is 3.12.1), or the version's
 * first release (3.X.0) for a version the reference does not model. Never
 * "whichever release fits the trace": a check that accepted either behaviour
 * of a release it knows would pass a wrong one.
 */
export function releaseOf(ctx: Pick<CheckContext, "version" | "fullVersion">): string {
  return releaseIn(ctx.version, ctx.fullVersion) ?? MODELLED_RELEASES[ctx.version] ?? `${ctx.version}.0`;
}

/** A property's verdict: true when the behaviour holds, else a sentence saying what went wrong. */
export type Verdict = true | string;

/** What a clause's scenarios may need to know of the implementation under test. */
export interface ScenarioTarget {
  /** Features it declares unsupported (spec/scenario/validate.ts FEATURES). */
  unsupported: readonly string[];
}

export interface Clause {
  /** Dotted id, area first: "gather.order". */
  id: string;
  /** One sentence, in our own words. */
  statement: string;
  source: ClauseSource;
  /** The Python versions the clause holds for. */
  versions: readonly PythonVersion[];
  /** documented: what the docs guarantee (orders they leave open are free); exact: CPython's observed behaviour. */
  level: Level;
  /** Scenario features the clause's scenarios use (see spec/scenario/validate.ts scenarioFeatures). */
  needs: readonly string[];
  /**
   * Scenarios that exercise the behaviour on every run. `target` says what
   * the implementation under test cannot run: `clause()` draws again where
   * a scenario needs it (spec/scenario/avoiding.ts), and a clause may also
   * generate around it itself (differential.trace).
   */
  scenarios(version: PythonVersion, target?: ScenarioTarget): fc.Arbitrary<Scenario>;
  /**
   * What the trace must record before the property reasons about it (see
   * ./evidence.ts): the callbacks ran, the tasks were created, the cancel
   * was delivered. Checked in order, after `ofThisScenario`, which every
   * clause asks for; the first piece missing is the verdict.
   */
  evidence?: readonly Evidence[];
  /** The property over one scenario and its trace, once its evidence is there. */
  check(ctx: CheckContext): Verdict;
  /** Why a version is excluded, when it is (e.g. "added in 3.12"). */
  note?: string;
  /**
   * Implementations on which the clause fails — proof that it can fail:
   * mutant ids ("mutant:NAME") or fixture ids, listed in docs/spec.md and
   * checked by test/clauses.test.ts.
   */
  brokenBy: readonly string[];
  /**
   * Set when the clause can only be checked on a virtual clock, saying why
   * ("needs up to 200 100 ticks: 100 minutes a scenario at 30 ms a tick").
   * On an implementation whose clock is real (one tick is some milliseconds
   * of wall time: uvloop, --clock real) the clause is skipped with this
   * reason: its scenarios would take too long, or what it states (exact
   * deadlines, hundreds of timers due in the same tick) only a virtual clock
   * can reproduce.
   */
  virtualTimeOnly?: string;
}

/**
 * Version ranges, each verified by running the clauses on that CPython
 * (scripts/verify-versions.ts; docs/findings.md says why a clause starts
 * later than 3.8).
 */
export const ALL_VERSIONS: readonly PythonVersion[] = ["3.8", "3.9", "3.10", "3.11", "3.12", "3.13", "3.14"];
/**
 * Features a clause may use in some of its cases without listing them in
 * `needs`: an implementation that lacks one (CPython 3.8 has no
 * cancel(msg)) skips those cases, counted, and runs the others.
 */
export const OPTIONAL_FEATURES: readonly string[] = ["cancel:msg"];

/** From 3.9: Task.cancel(msg), and wait_for's TimeoutError chained to the cancellation. */
export const SINCE_3_9: readonly PythonVersion[] = ["3.9", "3.10", "3.11", "3.12", "3.13", "3.14"];
/** From 3.11: TaskGroup, timeout(), uncancel()/cancelling(), cancel messages reaching the awaiter, wait() refusing coroutines. */
export const SINCE_3_11: readonly PythonVersion[] = ["3.11", "3.12", "3.13", "3.14"];

/**
 * A clause as the harness runs it: its check asks for the evidence first
 * (the trace is of this scenario, then the clause's own evidence), and a
 * property that cannot read a trace it did not expect fails with a sentence
 * rather than an exception.
 */
export function clause(c: Clause): Clause {
  if (!/^[a-z_]+(\.[a-z0-9_]+)+$/.test(c.id)) throw new Error(`clause id ${c.id} must be dotted lower-case, area first`);
  const evidence = [ofThisScenario, ...(c.evidence ?? [])];
  const property = c.check;
  const scenarios = c.scenarios;
  return {
    ...c,
    // Around what the implementation lacks: a case that needs it would only be skipped (avoiding.ts).
    scenarios: (version, target) => avoiding(scenarios.call(c, version, target), target?.unsupported ?? []),
    check(ctx) {
      const missing = firstMissing(ctx, evidence);
      if (missing !== true) return missing;
      try {
        return property.call(c, ctx);
      } catch (e) {
        return `the property could not read this trace: ${(e as Error).message}`;
      }
    },
  };
}
