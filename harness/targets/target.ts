/**
 * What every kind of target is: something that runs scenarios and returns
 * traces, claiming one Python version's behaviour (harness/targets/index.ts
 * resolves an id to one). tsTarget wraps an implementation run in the
 * harness's own thread.
 */
import { UsageError } from "./errors";
import { runScenario } from "../engine/interpreter";
import type { AsyncioImplementation } from "../engine/api";
import { contractViolation } from "../engine/contract";
import type { Scenario } from "../../spec/scenario/types";
import type { Trace } from "../../spec/scenario/trace";
import type { PythonVersion } from "../../spec/scenario/versions";
import { IsolationEvent, IsolationLimits, IsolationStats, resolveLimits } from "./isolation/limits";

export interface Target {
  id: string;
  /** The Python version whose behaviour the target claims ("3.11", ...). */
  version: PythonVersion;
  /** A longer description (interpreter path, Task flavour). */
  description: string;
  /** Scenario features the implementation declares it lacks (clauses needing them are skipped). */
  unsupported?: readonly string[];
  /**
   * "virtual": time is the loop's virtual clock (deterministic); "real": one
   * tick of a scenario is `tickMs` milliseconds of real time (uvloop,
   * +realtime), so a loaded machine can make a run flaky.
   */
  clock: "virtual" | "real";
  /** Real clock: the length of one tick in milliseconds (from the driver's hello). */
  tickMs?: number;
  /**
   * "nondeterministic" when what a garbage collection frees depends on more
   * than the scenario (PyPy's collector: what the process ran before), so the
   * same gc-mode case can pass in one process and fail in another. Absent:
   * deterministic.
   */
  gc?: "deterministic" | "nondeterministic";
  /** The implementation's full version, for reports: "3.11.7" (the driver's hello), "Pyodide 0.27.8 / 3.12.7". */
  fullVersion?: string;
  /**
   * Which Task it runs, when known: "C" or "py" (the pure-Python Task of
   * +pytask, and PyPy's only one). Clauses that compare with the reference
   * compare with the reference modelling the same Task.
   */
  task?: "C" | "py";
  /** How it runs: in the harness's own thread (trusted code), in a worker thread, or in a child process. */
  isolation?: IsolationStats["isolation"];
  /**
   * Run one scenario. A failure of the implementation (no trace in time, a
   * crash, a malformed trace, ...) rejects with a TargetFailure (errors.ts)
   * whose verdict is "timeout" or "error".
   */
  run(scenario: Scenario): Promise<Trace>;
  /** Stop the target's worker / process; the promise (which never rejects) resolves once it is gone. */
  close(): void | Promise<void>;
  /** Counters of an isolated target: cases, timeouts, errors, restarts, and why it gave up. */
  stats?(): IsolationStats;
  /**
   * A fresh restart budget (isolated targets): the limit on restarts counts
   * from here, and a target that was given up on starts a new worker /
   * driver. The clause runner calls it at the start of every clause, so that
   * an implementation given up on in one clause still runs the others.
   */
  resetRestarts?(): void;
  /**
   * Run the next cases in a fresh process (isolated targets): the clause
   * runner calls it at the start of each clause when the collector is
   * nondeterministic, so that a clause's outcome depends on its own cases
   * only, not on which clauses its process ran before.
   */
  renew?(): Promise<void>;
  /**
   * Drop the cases submitted but not yet run (isolated targets): they reject
   * at once, and are not run again on a replacement. The clause runner,
   * which runs a clause's next cases ahead, calls it when a case failed.
   */
  abandon?(): void;
}

const scenarioJsons = new WeakMap<Scenario, string>();

/**
 * A scenario's JSON, written once per scenario object: what a driver is sent
 * (driver.ts) and what the memo keys traces by (harness/running/memo.ts),
 * so that a case the memo has not seen pays for it once. (A scenario is not
 * changed once it has been run: the evidence checks rely on it too.)
 */
export function scenarioJson(s: Scenario): string {
  let json = scenarioJsons.get(s);
  if (json === undefined) scenarioJsons.set(s, (json = JSON.stringify(s)));
  return json;
}

/** Options of resolveTarget / resolvePair. Every limit defaults to DEFAULT_LIMITS. */
export interface TargetOptions extends Partial<IsolationLimits> {
  /** Run the reference or a mutant in a worker thread too (modules and cmd: drivers are always isolated). */
  isolate?: boolean;
  /** Told about restarts and about a target giving up (e.g. to print a warning). */
  onEvent?: (e: IsolationEvent) => void;
}

/** A target for an in-process TypeScript implementation. */
export function tsTarget(impl: AsyncioImplementation, version: PythonVersion, description: string): Target {
  const violation = contractViolation(impl, impl.id ?? "the implementation");
  if (violation !== null) throw new UsageError(violation);
  return {
    id: impl.id,
    version,
    description,
    unsupported: impl.unsupported ?? [],
    clock: "virtual",
    // The release it claims: the clauses hold it to that release and compare it with the reference at it.
    ...(impl.pythonRelease !== undefined ? { fullVersion: impl.pythonRelease } : {}),
    isolation: "in-process",
    run: async (s) => runScenario(impl, s),
    close: () => {},
  };
}

/** The isolation limits of `options` (DEFAULT_LIMITS for the rest); bad ones are the user's error. */
export function limitsFrom(id: string, options: TargetOptions): IsolationLimits {
  try {
    return resolveLimits(options);
  } catch (e) {
    throw new UsageError(`implementation "${id}": ${(e as Error).message}`);
  }
}

