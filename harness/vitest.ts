/**
 * aiospec as a vitest suite: `import { conformance } from "aiospec/vitest"`.
 *
 * Called in a test file, `conformance(impl, options)` registers
 *
 *   describe("aiospec conformance: <impl id>")
 *     it("<clause id>: <statement>")            one test per clause, run with runClause
 *     it.skip("... [skipped: <reason>]")        clauses for other versions / unsupported features
 *     it("... [known failure: <reason>]")     clauses listed in options.knownFailures:
 *                                              passes while the clause fails
 *
 * A failing test's error is a ConformanceFailure whose message holds the
 * counterexample in a few dozen lines: the statement and the verdict, the
 * shrunk scenario (compact), expected vs got around the first difference,
 * how to replay the case (seed and fast-check path), and the paths of the
 * files holding the rest (.aiospec/failures/: the Python and TypeScript
 * reproducers, both traces whole; harness/reporting/failures.ts).
 *
 * A clause that checked too few of its cases (the others use features the
 * implementation declares unsupported) is inconclusive, not a pass: its test
 * is marked skipped with "inconclusive: checked N of M". A passing test is
 * annotated with "checked N of M".
 *
 * `impl` is best a module path ("./src/my-asyncio.ts", as the CLI's --impl):
 * the implementation then runs in a child process, like the CLI's module
 * targets (harness/targets/module.ts), and each case has `timeoutMs` to
 * produce its trace; an implementation that hangs or crashes fails that
 * case with the verdict "timeout" / "crash" / "error" and the other clauses
 * still run.
 * An object or a factory runs in vitest's own thread: fast and easy to
 * debug, but an infinite loop in it hangs the whole vitest run.
 *
 * This module imports vitest, so it only loads inside a vitest run. The
 * package exports it as an ES module ("aiospec/vitest" ->
 * dist/harness/vitest.mjs, the "import" condition), since vitest can only be
 * imported, not require()d (docs/vitest.md, "How aiospec/vitest is packaged").
 */
import * as path from "node:path";
import { afterAll, describe, it } from "vitest";
import type { AsyncioImplementation } from "./engine/api";
import { CLAUSES } from "../spec/clauses";
import type { Clause, Level } from "../spec/clauses/clause";
import { contractViolation } from "./engine/contract";
import { NEWEST } from "../implementations/reference";
import { PYTHON_VERSIONS as VERSIONS, isPythonVersion } from "../spec/scenario/versions";
import type { PythonVersion } from "../implementations/reference";
import { runClause, skipReason } from "./running/runner";
import type { ClauseResult } from "./running/runner";
import { DEFAULT_LIMITS, parseModuleId, resolveTarget, tsTarget } from "./targets";
import type { Target } from "./targets";
import { checkedText, clauseReport, inconclusiveText } from "./reporting/model";
import { pythonTarget } from "./reproducing/python";
import { writeFailureFiles } from "./reporting/failures";
import { failureText } from "./reporting/text";
import { printableLines } from "./reporting/terminal";
import { globMatch } from "./running/glob";

export type { AsyncioImplementation } from "./engine/api";
export type { Clause, Level } from "../spec/clauses/clause";
export type { ClauseResult } from "./running/runner";
export type { PythonVersion } from "../implementations/reference";

/**
 * The path of a module exporting an implementation or a factory (run
 * isolated, in a child process: the recommended form), an implementation, or
 * a function making one for a Python version (then `version` picks it).
 */
export type ImplementationSource = string | AsyncioImplementation | ((version: PythonVersion) => AsyncioImplementation);

export interface ConformanceOptions {
  /**
   * The Python version whose behaviour is checked. Default: the
   * implementation's `pythonVersion` (an object), or the newest modelled
   * version (a factory, which is then called with it).
   */
  version?: PythonVersion;
  /** Scenarios per clause (default 100; the environment variable AIOSPEC_RUNS overrides it). */
  runs?: number;
  /**
   * The run's seed (default 1, so that every run checks the same scenarios;
   * AIOSPEC_SEED overrides it, AIOSPEC_SEED=random picks a new one per run).
   * Each clause derives its own seed from it and its id.
   */
  seed?: number;
  /**
   * Clause ids to check, as globs (`"gather.*"`, `?` for one character);
   * several globs (an array, or separated by commas) select their union.
   * Default: all.
   */
  clauses?: string | readonly string[];
  /**
   * "exact" (default): every clause. "documented": only what the Python
   * documentation guarantees; clauses of CPython's observed behaviour
   * (level "exact") are skipped.
   */
  level?: Level;
  /**
   * Clauses the implementation is known to fail, id -> why. Their test
   * passes while the clause fails, and fails once the implementation is
   * fixed (remove the entry then). Only the clause failing counts: a module
   * that cannot be loaded, or a clause that could not be checked, fails the
   * test. Unknown ids are an error.
   */
  knownFailures?: Readonly<Record<string, string>>;
  /**
   * The clauses to draw from (default: aiospec's whole specification,
   * CLAUSES). Pass your own Clause objects to check behaviour of your own
   * with the same machinery.
   */
  spec?: readonly Clause[];
  /**
   * A module path: the time one case (one scenario) may take, in
   * milliseconds, before it is stopped and fails with the verdict "timeout"
   * (default 5000, as the CLI's --timeout). An object or a factory: the
   * clause's vitest timeout (default 60000), which cannot stop a synchronous
   * loop.
   */
  timeoutMs?: number;
  /**
   * fast-check path of one case, to replay exactly the counterexample a
   * failure reported (with its seed); `clauses` must then select one clause.
   */
  path?: string;
}

/** What conformance() registers for one clause. */
export interface PlannedClause {
  clause: Clause;
  /** run: `it`; skip: `it.skip`; fails: a known failure (an `it` that passes while the clause fails). */
  mode: "run" | "skip" | "fails";
  /** Why the clause is skipped, or why it is known to fail. */
  reason?: string;
  title: string;
}

export interface ConformancePlan {
  /** The implementation's id, or the module path as given. */
  id: string;
  /** In-process: the implementation and its target. */
  implementation?: AsyncioImplementation;
  target?: Target;
  /** Isolated: the module's absolute path; its target starts with the first clause. */
  module?: string;
  /**
   * The version checked. Isolated without `version` or @3.X: the version a
   * factory is asked for; a module exporting an object checks the version
   * it claims (the CLI's rule), known once it is loaded.
   */
  version: PythonVersion;
  /** Isolated: the version was asked for (`version` or @3.X), so the module must claim it. */
  versionAsked?: boolean;
  runs: number;
  seed: number;
  path?: string;
  /** Isolated: the per-case limit. In-process: the clause's vitest timeout. */
  timeoutMs: number;
  /** The vitest timeout of one clause's test. */
  testTimeoutMs: number;
  /** The describe block's title. */
  title: string;
  clauses: PlannedClause[];
}

/** A clause failed: the message holds the counterexample, `result` all of it as data. */
export class ConformanceFailure extends Error {
  constructor(
    readonly clauseId: string,
    readonly result: ClauseResult,
    message: string,
  ) {
    // vitest prints the message on the terminal, and it quotes the implementation: escaped.
    super(printableLines(message));
    this.name = "ConformanceFailure";
  }
}

/** A mistake in the conformance() call itself (thrown when the test file is collected). */
export class ConformanceUsageError extends Error {
  constructor(message: string) {
    super(printableLines(`aiospec conformance: ${message}`));
    this.name = "ConformanceUsageError";
  }
}

/** Environment variables, as process.env holds them. */
export type Env = Readonly<Record<string, string | undefined>>;

export const DEFAULT_RUNS = 100;
export const DEFAULT_SEED = 1;
export const DEFAULT_TIMEOUT_MS = 60_000;
/** The default per-case limit of a module run isolated (the CLI's). */
export const DEFAULT_CASE_TIMEOUT_MS = DEFAULT_LIMITS.timeoutMs;

function envInt(name: string, env: Env, min: number): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === "") return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new ConformanceUsageError(`${name}=${raw}: expected an integer >= ${min}`);
  return n;
}

function seedFrom(options: ConformanceOptions, env: Env): number {
  if (env["AIOSPEC_SEED"] === "random") return (Date.now() ^ (Math.random() * 2 ** 31)) | 0;
  const fromEnv = envInt("AIOSPEC_SEED", env, -(2 ** 31));
  const seed = fromEnv ?? options.seed ?? DEFAULT_SEED;
  if (!Number.isInteger(seed)) throw new ConformanceUsageError(`seed ${seed}: expected an integer`);
  return seed | 0;
}

function resolveImplementation(source: Exclude<ImplementationSource, string>, options: ConformanceOptions): [AsyncioImplementation, PythonVersion] {
  const known = VERSIONS.join(", ");
  if (options.version !== undefined && !isPythonVersion(options.version)) {
    throw new ConformanceUsageError(`version "${options.version}" is not a Python version aiospec knows (versions: ${known})`);
  }
  const fromFactory = typeof source === "function";
  const asked = options.version ?? NEWEST;
  const impl: AsyncioImplementation = fromFactory ? source(asked) : source;
  if (typeof impl !== "object" || impl === null || typeof impl.new_event_loop !== "function" || typeof impl.id !== "string") {
    throw new ConformanceUsageError("expected an AsyncioImplementation (id, pythonVersion, new_event_loop, ...) or a function returning one");
  }
  const claimed = impl.pythonVersion;
  if (!isPythonVersion(claimed)) throw new ConformanceUsageError(`${impl.id} claims Python ${claimed}; aiospec knows ${known}`);
  if (fromFactory && claimed !== asked) {
    throw new ConformanceUsageError(`the factory was asked for Python ${asked} but returned ${impl.id}, which claims ${claimed}`);
  }
  if (!fromFactory && options.version !== undefined && claimed !== options.version) {
    throw new ConformanceUsageError(
      `${impl.id} claims Python ${claimed}, not ${options.version}: pass a factory (version) => implementation to check other versions`,
    );
  }
  // The contract, as the CLI checks a module: functions, unsupported features.
  const violation = contractViolation(impl, impl.id);
  if (violation !== null) throw new ConformanceUsageError(violation);
  return [impl, claimed];
}

/** Decide what conformance() registers, without registering anything. `env` defaults to process.env. */
export function planConformance(source: ImplementationSource, options: ConformanceOptions = {}, env: Env = process.env): ConformancePlan {
  const clauses = options.spec ?? CLAUSES;
  const isolated = typeof source === "string";
  const [impl, version] = isolated ? [undefined, moduleVersion(source, options)] : resolveImplementation(source as Exclude<ImplementationSource, string>, options);
  const versionAsked = isolated && (options.version !== undefined || parseModuleId(source)!.version !== undefined);
  const runs = envInt("AIOSPEC_RUNS", env, 1) ?? options.runs ?? DEFAULT_RUNS;
  if (!Number.isInteger(runs) || runs < 1) throw new ConformanceUsageError(`runs ${runs}: expected an integer >= 1`);
  const seed = seedFrom(options, env);
  const timeoutMs = options.timeoutMs ?? (isolated ? DEFAULT_CASE_TIMEOUT_MS : DEFAULT_TIMEOUT_MS);
  if (!(timeoutMs > 0)) throw new ConformanceUsageError(`timeoutMs ${timeoutMs}: expected a positive number of milliseconds`);
  const level = options.level ?? "exact";
  if (level !== "exact" && level !== "documented") throw new ConformanceUsageError(`level "${level}": expected "documented" or "exact"`);

  // Several globs, as an array or separated by commas (as with the CLI's --clause).
  const globs = (options.clauses === undefined ? ["*"] : typeof options.clauses === "string" ? [options.clauses] : [...options.clauses])
    .flatMap((g) => g.split(","));
  const patterns = globs.map((g) => g.trim());
  const selected = clauses.filter((c) => patterns.some((g) => globMatch(g, c.id)));
  if (selected.length === 0) throw new ConformanceUsageError(`no clause matches ${globs.map((g) => JSON.stringify(g)).join(", ")}`);
  const known = options.knownFailures ?? {};
  const unknownIds = Object.keys(known).filter((id) => !clauses.some((c) => c.id === id));
  if (unknownIds.length > 0) throw new ConformanceUsageError(`knownFailures names no clause: ${unknownIds.join(", ")}`);
  if (options.path !== undefined && selected.length !== 1) {
    throw new ConformanceUsageError(`path replays one case of one clause, but ${selected.length} clauses are selected: set clauses to one id`);
  }

  const target = impl && tsTarget(impl, version, `${impl.id}, checked as Python ${version}`);
  const id = impl ? impl.id : (source as string);
  const planned = selected.map((c): PlannedClause => {
    const base = `${c.id}: ${c.statement}`;
    // Isolated: what the module supports is known once it is loaded; checkClause skips then.
    let reason = target ? skipReason(c, target) : null;
    if (reason === null && level === "documented" && c.level === "exact") {
      reason = "checks CPython's exact behaviour; level is \"documented\"";
    }
    if (reason !== null) return { clause: c, mode: "skip", reason, title: `${base} [skipped: ${reason}]` };
    const why = known[c.id];
    if (why !== undefined) return { clause: c, mode: "fails", reason: why, title: `${base} [known failure: ${why}]` };
    return { clause: c, mode: "run", title: base };
  });
  return {
    id,
    ...(impl && target ? { implementation: impl, target } : { module: path.resolve(parseModuleId(id)!.file), versionAsked }),
    version,
    runs,
    seed,
    ...(options.path !== undefined ? { path: options.path } : {}),
    timeoutMs,
    testTimeoutMs: isolated ? isolatedClauseBound(runs, timeoutMs) : timeoutMs,
    title: `aiospec conformance: ${id}${id.includes(version) || (isolated && !versionAsked) ? "" : ` (Python ${version})`}`,
    clauses: planned,
  };
}

/** The version of a module form: `version`, or the path's @3.X suffix, or the newest. */
function moduleVersion(source: string, options: ConformanceOptions): PythonVersion {
  const mod = parseModuleId(source);
  if (mod === null) throw new ConformanceUsageError(`"${source}" is not a module path: expected ./file.ts, /abs/file.js or file.ts[@3.X]`);
  const asked = options.version ?? mod.version;
  if (asked !== undefined && !isPythonVersion(asked)) {
    throw new ConformanceUsageError(`version "${asked}" is not a Python version aiospec knows (versions: ${VERSIONS.join(", ")})`);
  }
  if (options.version !== undefined && mod.version !== undefined && mod.version !== options.version) {
    throw new ConformanceUsageError(`"${source}" asks for Python ${mod.version} but version is "${options.version}"`);
  }
  return asked ?? NEWEST;
}

/**
 * The vitest timeout of an isolated clause: every case is already bounded by
 * the per-case limit, so this only catches the harness itself going wrong
 * (starting the child, then every case at its limit twice over, for shrinking).
 */
function isolatedClauseBound(runs: number, caseMs: number): number {
  return DEFAULT_LIMITS.startTimeoutMs + 2 * (runs + 1) * caseMs;
}

/** Isolated plans' targets: started by the first clause that needs one, closed after the describe block. */
const moduleTargets = new WeakMap<ConformancePlan, Promise<Target>>();

/** The plan's target: in-process, or the module's child process (started once, on first use). */
export function targetOf(plan: ConformancePlan): Promise<Target> {
  if (plan.target) return Promise.resolve(plan.target);
  let started = moduleTargets.get(plan);
  if (started === undefined) {
    // An asked version makes the module's claim checked, as @3.X does on the CLI.
    const id = plan.versionAsked ? `${plan.module!}@${plan.version}` : plan.module!;
    started = resolveTarget(id, plan.version, { timeoutMs: plan.timeoutMs });
    moduleTargets.set(plan, started);
  }
  return started;
}

/** Stop an isolated plan's child process, if one was started. */
export async function closePlan(plan: ConformancePlan): Promise<void> {
  const started = moduleTargets.get(plan);
  if (started === undefined) return;
  moduleTargets.delete(plan);
  await started.then((t) => t.close(), () => {});
}

/** Where a failing clause's reproducers and traces are written, relative to the working directory. */
export const FAILURES_DIR = ".aiospec/failures";

/** The message of a failed or broken clause: the gist, how to replay it, and where the rest was written. */
export function formatFailure(plan: ConformancePlan, c: Clause, r: ClauseResult, id: string = plan.id): string {
  const head = `${c.id} fails on ${id} (Python ${plan.version})`;
  if (r.status === "error") return `${c.id} could not be checked on ${id}: ${r.reason}`;
  const x = r.counterexample;
  if (!x) return `${head}: ${c.statement}\n${r.reason ?? "no counterexample"}`;
  const report = clauseReport(c, r, id, { failuresDir: FAILURES_DIR, version: plan.version, target: pythonTarget({ id }) });
  if (!writeFailureFiles(report, id, plan.version)) delete report.failure!.files;
  const replay = `{ version: "${plan.version}", seed: ${plan.seed}, clauses: "${c.id}", path: "${x.path}" }`;
  const impl = plan.module !== undefined ? JSON.stringify(plan.id) : "impl";
  return [
    `${head} (${checkedText(report)}):`,
    failureText(report, id, plan.version, { replay: false }),
    `Replay in vitest: conformance(${impl}, ${replay})`,
    `  or: AIOSPEC_SEED=${plan.seed} npx vitest run -t "${c.id}"`,
  ].join("\n");
}

/**
 * Check one clause of a plan: resolves with the result when the clause
 * holds, throws a ConformanceFailure when it fails (or cannot be checked).
 */
export async function checkClause(plan: ConformancePlan, c: Clause): Promise<ClauseResult | { notRun: string }> {
  const target = await targetOf(plan);
  if (plan.module !== undefined) {
    const reason = skipReason(c, target);
    if (reason !== null) return { notRun: reason };
  }
  const r = await runClause(c, target, { runs: plan.runs, seed: plan.seed, ...(plan.path !== undefined ? { path: plan.path } : {}) });
  if (r.status === "fail" || r.status === "error") {
    // Isolated, the module had the last word on the version (an object claims its own).
    throw new ConformanceFailure(c.id, r, formatFailure({ ...plan, version: target.version }, c, r, target.id));
  }
  return r;
}

/** What a known failure's test found. */
export type KnownFailureOutcome =
  /** The clause failed, as expected: the test passes. */
  | { failed: ClauseResult }
  /** The clause did not run, or checked too few cases: the test is skipped. */
  | { notRun: string };

/**
 * Check a clause listed in knownFailures: resolves when it fails (or does
 * not run), throws when it holds, and passes on any other error. A module
 * that cannot be loaded (or a clause that could not be checked: status
 * "error") is no evidence of the known failure, and must not pass as it.
 */
export async function checkKnownFailure(plan: ConformancePlan, p: PlannedClause): Promise<KnownFailureOutcome> {
  let r: ClauseResult | { notRun: string };
  try {
    r = await checkClause(plan, p.clause);
  } catch (e) {
    if (e instanceof ConformanceFailure && e.result.status === "fail") return { failed: e.result };
    throw e;
  }
  if ("notRun" in r) return r;
  const counts = { checked: r.checked, runs: r.runs, ...(r.skipped ? { skippedCases: r.skipped } : {}) };
  if (r.status === "inconclusive") return { notRun: inconclusiveText(counts) };
  throw new Error(
    `${p.clause.id} is listed in knownFailures ("${p.reason}") but did not fail (${r.status}, ${checkedText(counts)}): remove it from knownFailures`,
  );
}

/**
 * Register the conformance suite of an implementation: call it at the top
 * level of a test file (or inside a describe). Returns the plan it
 * registered.
 */
export function conformance(impl: ImplementationSource, options: ConformanceOptions = {}): ConformancePlan {
  const plan = planConformance(impl, options);
  describe(plan.title, () => {
    afterAll(() => closePlan(plan));
    for (const p of plan.clauses) {
      if (p.mode === "skip") {
        it.skip(p.title, () => {});
        continue;
      }
      if (p.mode === "fails") {
        it(
          p.title,
          async (ctx) => {
            const r = await checkKnownFailure(plan, p);
            if ("notRun" in r) return ctx.skip(r.notRun);
            await ctx.annotate(`fails as known (${r.failed.counterexample?.verdict ?? "fail"}): ${p.reason}`);
          },
          plan.testTimeoutMs,
        );
        continue;
      }
      it(
        p.title,
        async (ctx) => {
          const r = await checkClause(plan, p.clause);
          if ("notRun" in r) return ctx.skip(r.notRun);
          const counts = { checked: r.checked, runs: r.runs, ...(r.skipped ? { skippedCases: r.skipped } : {}) };
          // Too few cases checked to mean anything: say so rather than pass.
          if (r.status === "inconclusive") ctx.skip(inconclusiveText(counts));
          await ctx.annotate(checkedText(counts));
        },
        plan.testTimeoutMs,
      );
    }
  });
  return plan;
}
