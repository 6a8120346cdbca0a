/**
 * How strong the clauses are, measured on the mutants (implementations/mutants):
 * each mutant is run through the clauses at the settings a user's
 * `aiospec run` has (100 cases a clause), and is killed when a clause fails.
 *
 * A mutant's figures are those of the clause that found it soonest (the
 * fewest cases; the fewest seconds among equals):
 *   - cases: generated cases up to and including the first failing one;
 *   - seconds: from the start of that clause to the end of that first
 *     failing case (before shrinking, which a user waits for too, but which
 *     says nothing about how hard the bug was to find);
 *   - steps: the size of the shrunk counterexample (countSteps), what a
 *     user has to read.
 *
 * The order of the search is what keeps it short (a whole run takes about a
 * minute; 119 mutants × 138 clauses would take hours):
 *   1. the clauses that name the mutant in their brokenBy, at each reference
 *      version in turn (the newest profile first, as `aiospec run --impl
 *      mutant:NAME` runs it), stopping at the first version where one fails;
 *   2. if none does, every other clause, version by version, stopping at the
 *      first failure.
 * A mutant that survives both has passed every clause at every version.
 */
import { fork } from "node:child_process";
import * as path from "node:path";
import type { Clause } from "../../spec/clauses/clause";
import { countSteps } from "../../spec/scenario/types";
import { NEWEST, VERSIONS } from "../../implementations/reference";
import type { PythonVersion } from "../../implementations/reference";
import { MUTANTS } from "../../implementations/mutants";
import { resolveTarget } from "../targets";
import type { Target } from "../targets";
import { ClauseResult, runClause, skipInfo } from "./runner";
import { loadClauses } from "./clauseset";

export interface MutantSearch {
  /** Cases a clause (default 100, as `aiospec run`). */
  runs: number;
  seed: number;
  /** Per-case time limit on the mutant. */
  timeoutMs: number;
  /** Only this reference version (default: every version, NEWEST first). */
  version?: PythonVersion;
  signal?: AbortSignal;
}

/** The clause that killed a mutant, and how quickly. */
export interface Kill {
  clause: string;
  version: PythonVersion;
  /** Generated cases up to and including the first failing one. */
  cases: number;
  /** Seconds from the clause's start to the end of its first failing case. */
  seconds: number;
  /** Steps of the shrunk counterexample. */
  steps: number;
  /** What went wrong, in the clause's words. */
  message: string;
}

export interface MutantResult {
  name: string;
  description: string;
  status: "killed" | "survived" | "error";
  /** The quickest of the clauses that failed (status "killed"): the fewest cases, then the fewest seconds. */
  kill?: Kill;
  /** The other clauses that failed at the same version. */
  alsoKilledBy: string[];
  /** Clauses whose brokenBy names this mutant. */
  expected: string[];
  /** (clause, version) runs that checked cases. */
  clausesRun: number;
  elapsedMs: number;
  /** Why the search could not finish (status "error"). */
  error?: string;
}

/** The reference versions a mutant is tried at, in order: the newest profile first, then the others, newest first. */
export function versionOrder(only?: PythonVersion): PythonVersion[] {
  if (only) return [only];
  return [NEWEST, ...[...VERSIONS].reverse().filter((v) => v !== NEWEST)];
}

/** The clauses that name a mutant as one of their breakers. */
export function expectedKillers(name: string, clauses: readonly Clause[]): Clause[] {
  return clauses.filter((c) => c.brokenBy.includes(`mutant:${name}`));
}

/** A clause run that remembers when each case started, to time the first failure. */
async function timedClause(c: Clause, target: Target, o: MutantSearch): Promise<{ result: ClauseResult; kill?: Kill }> {
  const started = Date.now();
  const caseStarts: number[] = [];
  const result = await runClause(c, target, { runs: o.runs, seed: o.seed, signal: o.signal, onCase: (n) => (caseStarts[n] = Date.now()) });
  if (result.status !== "fail" || !result.counterexample) return { result };
  // Case `runs` is the first failing one; the first shrink candidate starts
  // when it is done (no candidate at all: the whole clause is the bound).
  const end = caseStarts[result.runs + 1] ?? started + result.elapsedMs;
  return {
    result,
    kill: {
      clause: c.id,
      version: target.version as PythonVersion,
      cases: result.runs,
      seconds: (end - started) / 1000,
      steps: countSteps(result.counterexample.scenario),
      message: result.counterexample.message,
    },
  };
}

/**
 * Run `clauses` on the mutant at one version; all of them (when `all`), or
 * until the first failure. Returns the kills found and how many clauses ran.
 */
async function tryVersion(name: string, v: PythonVersion, clauses: readonly Clause[], all: boolean, o: MutantSearch): Promise<{ kills: Kill[]; ran: number }> {
  const target = await resolveTarget(`mutant:${name}@${v}`, undefined, { timeoutMs: o.timeoutMs });
  const kills: Kill[] = [];
  let ran = 0;
  try {
    for (const c of clauses) {
      if (skipInfo(c, target) !== null) continue;
      if (o.signal?.aborted) throw new Error("aborted");
      const { result, kill } = await timedClause(c, target, o);
      ran++;
      if (result.status === "error") throw new Error(`${c.id} on mutant:${name}@${v}: ${result.reason}`);
      if (kill) {
        kills.push(kill);
        if (!all) break;
      }
    }
  } finally {
    await target.close();
  }
  return { kills, ran };
}

/** Search for the clause that kills one mutant (see the top of this file). */
export async function huntMutant(name: string, clauses: readonly Clause[], o: MutantSearch): Promise<MutantResult> {
  const mutant = MUTANTS.find((m) => m.name === name);
  if (!mutant) throw new Error(`no mutant ${name}`);
  const started = Date.now();
  const expected = expectedKillers(name, clauses);
  const others = clauses.filter((c) => !expected.includes(c));
  const base = { name, description: mutant.description, expected: expected.map((c) => c.id) };
  let clausesRun = 0;
  try {
    for (const [phase, all] of [[expected, true], [others, false]] as const) {
      for (const v of versionOrder(o.version)) {
        const { kills, ran } = await tryVersion(name, v, phase, all, o);
        clausesRun += ran;
        if (kills.length === 0) continue;
        // The fewest cases first: a count does not move with the machine's load, seconds do.
        const [kill, ...rest] = [...kills].sort((a, b) => a.cases - b.cases || a.seconds - b.seconds);
        return { ...base, status: "killed", kill, alsoKilledBy: rest.map((k) => k.clause), clausesRun, elapsedMs: Date.now() - started };
      }
    }
    return { ...base, status: "survived", alsoKilledBy: [], clausesRun, elapsedMs: Date.now() - started };
  } catch (e) {
    return { ...base, status: "error", alsoKilledBy: [], clausesRun, elapsedMs: Date.now() - started, error: (e as Error).message };
  }
}

export interface MutantTotals {
  mutants: number;
  killed: number;
  survived: string[];
  errors: string[];
  /** Over the killed mutants; null when none was killed. */
  medianSeconds: number | null;
  medianCases: number | null;
  medianSteps: number | null;
}

/** The median of a list of numbers (the mean of the middle two for an even count). */
export function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export function mutantTotals(results: readonly MutantResult[]): MutantTotals {
  const kills = results.flatMap((r) => (r.kill ? [r.kill] : []));
  return {
    mutants: results.length,
    killed: kills.length,
    survived: results.filter((r) => r.status === "survived").map((r) => r.name),
    errors: results.filter((r) => r.status === "error").map((r) => r.name),
    medianSeconds: median(kills.map((k) => k.seconds)),
    medianCases: median(kills.map((k) => k.cases)),
    medianSteps: median(kills.map((k) => k.steps)),
  };
}

// ---------------------------------------------------------------- jobs

/** Messages to and from a mutants worker (mutants-worker.ts). */
export type ToMutantsWorker = { type: "hunt"; index: number; name: string; search: Omit<MutantSearch, "signal"> };
export type FromMutantsWorker = { type: "result"; index: number; result: MutantResult };

const WORKER = path.join(__dirname, "mutants-worker.js");

/**
 * Hunt every mutant named, `jobs` at a time: one in this process, the others
 * in worker processes (each takes the next mutant when it is done). Results
 * come back through `onResult` in completion order, and in `names` order
 * from the promise. An abort ends the workers; unfinished mutants are
 * left undefined.
 */
export async function huntMutants(
  names: readonly string[],
  search: MutantSearch,
  jobs: number,
  onResult: (index: number, r: MutantResult) => void = () => {},
): Promise<Array<MutantResult | undefined>> {
  const results: Array<MutantResult | undefined> = new Array(names.length).fill(undefined);
  let next = 0;
  const take = () => (search.signal?.aborted || next >= names.length ? null : next++);
  const record = (i: number, r: MutantResult) => {
    if (search.signal?.aborted) return;
    results[i] = r;
    onResult(i, r);
  };
  const clauses = loadClauses();
  const local = async () => {
    for (let i = take(); i !== null; i = take()) record(i, await huntMutant(names[i], clauses, search));
  };
  const { signal, ...plain } = search;
  const worker = async () => {
    if (next >= names.length) return;
    const child = fork(WORKER, [], { stdio: ["ignore", "ignore", "pipe", "ipc"], serialization: "advanced", env: process.env });
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    const stop = () => child.kill("SIGKILL");
    signal?.addEventListener("abort", stop);
    // One reply per mutant sent; null when the worker is gone.
    let waiting: ((m: FromMutantsWorker | null) => void) | null = null;
    let gone = false;
    const end = () => {
      gone = true;
      waiting?.(null);
    };
    child.on("message", (m: FromMutantsWorker) => waiting?.(m));
    child.on("exit", end);
    child.on("error", end);
    try {
      for (let i = take(); i !== null; i = take()) {
        const index = i;
        const reply = await new Promise<FromMutantsWorker | null>((resolve) => {
          if (gone) return resolve(null);
          waiting = resolve;
          child.send({ type: "hunt", index, name: names[index], search: plain } satisfies ToMutantsWorker);
        });
        waiting = null;
        if (reply === null) {
          // The worker died: this mutant gets an error, the other jobs go on.
          const why = `worker process ended${stderr.trim() ? `: ${stderr.trim().split("\n").slice(-1)[0]}` : ""}`;
          record(index, { name: names[index], description: "", status: "error", alsoKilledBy: [], expected: [], clausesRun: 0, elapsedMs: 0, error: why });
          return;
        }
        record(reply.index, reply.result);
      }
    } finally {
      signal?.removeEventListener("abort", stop);
      if (child.connected) child.disconnect();
    }
  };
  await Promise.all([local(), ...Array.from({ length: Math.max(0, Math.min(jobs, names.length) - 1) }, worker)]);
  return results;
}
