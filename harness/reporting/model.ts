/**
 * The report model: what one `aiospec run` found (RunReport) and what
 * `aiospec report` found across implementations (MatrixReport). Every writer
 * (JSON, JUnit XML, Markdown, HTML) renders these objects; the JSON writer
 * writes them as they are, and harness/reporting/report.schema.json is their
 * schema (docs/reports.md documents it).
 *
 * Fields that differ between two runs with the same inputs: `timing` and
 * every `results[].elapsedMs`. Everything else is a function of the
 * implementation, the clauses, the seed and the options.
 */
import type { Clause, Level } from "../../spec/clauses/clause";
import type { Scenario } from "../../spec/scenario/types";
import { Trace, firstDifference } from "../../spec/scenario/trace";
import type { CaseVerdict, ClauseResult, Clock, FlakyCase, SkipKind } from "../running/runner";
import { INCONCLUSIVE } from "../running/runner";
import { toPython, type PythonTarget } from "../reproducing/python";
import { formatDifference } from "./format";
import { areaOf } from "../running/clauseset";
import pkg from "../../package.json";

export const REPORT_FORMAT = "aiospec-report";
export const MATRIX_FORMAT = "aiospec-matrix";
/**
 * Bumped on any change that could break a reader of the reports (docs/reports.md).
 * 2: the status and outcome "flaky" (real-clock runs), counts.flaky, the
 * matrix's absent implementations.
 * 3: honest counts and self-explaining failures: every clause's `checked`
 * (of `runs` generated), the status "inconclusive" and counts.inconclusive,
 * a failure's `expectedFrom`, `shrunk`, `minimised` and `files` (where the
 * full reproducers and traces were written).
 */
export const SCHEMA_VERSION = 3;

/** Exit codes (docs/cli.md). */
export const EXIT = { ok: 0, failures: 1, usage: 2, interrupted: 130 } as const;

export type Status = ClauseResult["status"];

export interface Counts {
  total: number;
  passed: number;
  failed: number;
  /** Real clock: clauses whose failing cases all passed when run again. */
  flaky: number;
  /** Clauses with no failure that checked too few of their cases to count as a pass (INCONCLUSIVE). */
  inconclusive: number;
  skipped: number;
  errors: number;
}

export interface Summary extends Counts {
  /** Selected clauses that did not finish (the run was interrupted). */
  notRun: number;
  byLevel: Record<Level, Counts>;
}

export interface FirstDifference {
  /** "events[12]", "end", "main", "tasks[2]" or "shutdown". */
  where: string;
  /** The implementation's side. */
  actual: unknown;
  /** The reference's side. */
  expected: unknown;
  /** The same, as the terminal shows it. */
  text: string;
}

export interface FailureReport {
  verdict: CaseVerdict;
  message: string;
  /** The shrunk scenario. */
  scenario: Scenario;
  /** The shrunk scenario as a runnable Python program. */
  python: string;
  /** The implementation's trace (absent when it produced none). */
  trace?: Trace;
  /** The expected trace: the reference's, for the same version. */
  expected?: Trace;
  /** What produced `expected`: "the reference's 3.12 profile". */
  expectedFrom?: string;
  firstDifference?: FirstDifference;
  /** false: a case with no trace (timeout, error), reported as generated; true: shrunk (and minimised). */
  shrunk: boolean;
  /** What the minimisation pass after shrinking removed, in how many candidate runs. */
  minimised?: { removed: number; tried: number };
  /** Where the full reproducers and traces were written, relative to the working directory (FAILURE_FILES). */
  files?: FailureFiles;
  /** The run seed: `--seed` of the replay command. */
  seed: number;
  /** The clause's seed (what fast-check ran with). */
  clauseSeed: number;
  /** fast-check's path: `--path` of the replay command. */
  path: string;
  /** The command that replays exactly this case. */
  replay: string;
  /** Real clock: how many times the case ran, failing each time. */
  attempts?: number;
  /** What was cut to fit the report (caps.ts), and where the whole case is. */
  truncated?: Truncated;
}

/** The parts of a case cut to fit a report (caps.ts): what each kept, and the file with the whole case. */
export interface Truncated {
  /** By part ("trace", "expected", "python", ...): what of it the report kept. */
  parts: Record<string, string>;
  /** The failure's JSON file (files.json), which holds the case whole. */
  full?: string;
}

/** A case that failed once and passed when run again (real clock): both runs. */
export interface FlakyReport {
  /** How many cases of the clause were flaky. */
  cases: number;
  /** Runs of the first flaky case until one passed. */
  attempts: number;
  /** The failing run's verdict and message. */
  verdict: CaseVerdict;
  message: string;
  scenario: Scenario;
  python: string;
  /** The failing run's trace. */
  trace?: Trace;
  /** The trace of the rerun that passed. */
  passingTrace?: Trace;
  /** The reference's trace. */
  expected?: Trace;
  firstDifference?: FirstDifference;
  seed: number;
  clauseSeed: number;
  /** fast-check's path, when known (then `replay` runs that case again). */
  path?: string;
  replay?: string;
  /** What was cut to fit the report (caps.ts). */
  truncated?: Truncated;
}

/** What a baseline file made of the run (baseline.ts applies it). */
export interface BaselineOutcome {
  file: string;
  strict: boolean;
  /** Clauses that failed as the baseline says. */
  knownFailures: string[];
  /** Clauses that failed and are not in the baseline: they fail the run. */
  newFailures: string[];
  /** Clauses in the baseline that passed (fail the run only with --strict). */
  unexpectedPasses: string[];
  /** Flaky clauses (real clock), listed in the baseline or not: they fail nothing. */
  flaky?: string[];
}

/** The files a failing clause's details go to, under the reports' failures/ directory. */
export interface FailureFiles {
  /** The shrunk scenario as a standalone Python program, checking its Python version. */
  python: string;
  /** A TypeScript program running the scenario on the implementation through aiospec. */
  typescript: string;
  /** The scenario, both traces, the first difference and the replay command, as JSON. */
  json: string;
}

export type BaselineMark = "known-failure" | "new-failure" | "unexpected-pass";

export interface ClauseReport {
  id: string;
  area: string;
  statement: string;
  level: Level;
  versions: string[];
  source: { url: string; section: string };
  status: Status;
  /** Why the clause was skipped, or how the harness failed. */
  reason?: string;
  /** For a skipped clause: "version", "unsupported" (a feature the implementation lacks) or "virtual-time" (real clock). */
  skipKind?: SkipKind;
  /** Cases generated (shrinking not counted). */
  runs: number;
  /** Cases actually checked: `runs` less those skipped (skippedCases). "checked N of M" on every surface. */
  checked: number;
  /** The clause seed. */
  seed: number;
  elapsedMs: number;
  /** Cases skipped because the implementation lacks a feature they use, by feature. */
  skippedCases?: Record<string, number>;
  baseline?: { status: BaselineMark; reason?: string };
  failure?: FailureReport;
  /** Real clock: the first flaky case (status "flaky", or "fail" when another case failed for good). */
  flaky?: FlakyReport;
}

export interface ImplementationInfo {
  /** The id as given to --impl. */
  requested: string;
  /** The resolved id (e.g. reference@3.13 for reference). */
  id: string;
  /** The Python version whose behaviour it claims. */
  version: string;
  description: string;
  /** The implementation's full version ("3.11.7", "Pyodide 0.27.8"), when it says it. */
  fullVersion?: string;
  /** Which Task it runs, when it says: "C", or "py" (the pure-Python Task: +pytask, PyPy). */
  task?: "C" | "py";
  /** "real" when one tick is tickMs milliseconds of wall time (uvloop, --clock real); "virtual" otherwise. */
  clock?: Clock;
  tickMs?: number;
}

/**
 * "flaky": no failure, but some clause failed once and passed when run again (real clock).
 * "inconclusive": no failure, but some clause checked too few of its cases to count as a pass.
 */
export type Outcome = "conformant" | "flaky" | "inconclusive" | "matches-baseline" | "failures" | "harness-error" | "interrupted";

export interface Timing {
  startedAt: string;
  finishedAt: string;
  elapsedMs: number;
  jobs: number;
}

export interface RunReport {
  format: typeof REPORT_FORMAT;
  schemaVersion: typeof SCHEMA_VERSION;
  tool: { name: "aiospec"; version: string };
  /** false when the run was interrupted: `results` then holds the clauses that finished. */
  complete: boolean;
  implementation: ImplementationInfo;
  options: {
    runs: number;
    seed: number;
    clause: string | null;
    path: string | null;
    timeoutMs: number;
    strict: boolean;
    /** Extra runs of a failing case before it counts (real clock: 2). */
    reruns?: number;
  };
  /** Defaults that changed because the implementation runs on a real clock, each with why. */
  notes?: string[];
  outcome: Outcome;
  exitCode: number;
  summary: Summary;
  baseline: BaselineOutcome | null;
  /** Finished clauses, in specification order. */
  results: ClauseReport[];
  /** Selected clauses that did not finish, in specification order. */
  notRun: string[];
  timing: Timing;
}

export interface MatrixReport {
  format: typeof MATRIX_FORMAT;
  schemaVersion: typeof SCHEMA_VERSION;
  tool: { name: "aiospec"; version: string };
  complete: boolean;
  options: { runs: number; seed: number; timeoutMs: number };
  /** One run report per implementation, in matrix column order. */
  reports: RunReport[];
  /** Implementations of the matrix that are not installed here (or could not start): why, and how to install them. */
  absent: AbsentImplementation[];
  timing: Timing;
}

export interface AbsentImplementation {
  id: string;
  description: string;
  /** Why it did not run. */
  reason: string;
  /** The command that installs it, when there is one. */
  install?: string;
}

export function toolInfo(): { name: "aiospec"; version: string } {
  return { name: "aiospec", version: pkg.version };
}

/** A word for the shell: as is when safe, else single-quoted. */
export function shellWord(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export function replayCommand(impl: string, clause: string, seed: number, path: string): string {
  return `npx aiospec run --impl ${shellWord(impl)} --clause ${shellWord(clause)} --seed ${seed} --path ${shellWord(path)}`;
}

function emptyCounts(): Counts {
  return { total: 0, passed: 0, failed: 0, flaky: 0, inconclusive: 0, skipped: 0, errors: 0 };
}

function count(c: Counts, status: Status): void {
  c.total++;
  if (status === "pass") c.passed++;
  else if (status === "fail") c.failed++;
  else if (status === "flaky") c.flaky++;
  else if (status === "inconclusive") c.inconclusive++;
  else if (status === "skip") c.skipped++;
  else c.errors++;
}

export function summarize(results: readonly ClauseReport[], notRun: number): Summary {
  const s: Summary = { ...emptyCounts(), notRun, byLevel: { documented: emptyCounts(), exact: emptyCounts() } };
  for (const r of results) {
    count(s, r.status);
    count(s.byLevel[r.level], r.status);
  }
  return s;
}

/** The Python reproducer, or a comment saying why there is none (a scenario the driver would reject). */
function pythonReproducer(scenario: Scenario, title: string, python?: string, target?: PythonTarget): string {
  try {
    return toPython(scenario, { title, ...(python !== undefined ? { python } : {}), ...(target !== undefined ? { target } : {}) });
  } catch (e) {
    return `# no Python reproducer for this scenario: ${String((e as Error).message).replace(/\n/g, " ")}\n`;
  }
}

/** "checked 12 of 100", with the skipped cases by feature when there are any. */
export function checkedText(r: Pick<ClauseReport, "checked" | "runs" | "skippedCases">): string {
  const skipped = Object.entries(r.skippedCases ?? {});
  const total = skipped.reduce((n, [, k]) => n + k, 0);
  const why = skipped.length ? ` (${total} skipped as unsupported: ${skipped.map(([f, n]) => `${f} ${n}`).join(", ")})` : "";
  return `checked ${r.checked} of ${r.runs}${why}`;
}

/** Why an inconclusive clause is not a pass, in a sentence. */
export function inconclusiveText(r: Pick<ClauseReport, "checked" | "runs" | "skippedCases">): string {
  return `inconclusive: ${checkedText(r)}; a pass needs at least ${Math.round(INCONCLUSIVE.fraction * 100)}% of the cases checked`;
}

export interface ClauseReportOptions {
  /** The reports' failures/ directory: a failure's `files` name what goes there (failureFiles). */
  failuresDir?: string;
  /** The implementation's Python version: the reproducer checks it is run on that version. */
  version?: string;
  /** What the reproducer follows of the implementation (its Task, Pyodide, its own loop): reproducing/python.ts pythonTarget. */
  target?: PythonTarget;
}

/** Where a failing clause's details go: <dir>/<implementation>--<clause>.{py,ts,json}. */
export function failureFiles(dir: string, targetId: string, clauseId: string): FailureFiles {
  const safe = (s: string) => s.replace(/^.*[\\/]/, "").replace(/[^A-Za-z0-9_.@+-]/g, "_");
  const stem = `${dir.replace(/[\\/]+$/, "")}/${safe(targetId)}--${safe(clauseId)}`;
  return { python: `${stem}.py`, typescript: `${stem}.ts`, json: `${stem}.json` };
}

export function clauseReport(c: Clause, r: ClauseResult, targetId: string, opts: ClauseReportOptions = {}): ClauseReport {
  const out: ClauseReport = {
    id: c.id,
    area: areaOf(c.id),
    statement: c.statement,
    level: c.level,
    versions: [...c.versions],
    source: { url: c.source.url, section: c.source.section },
    status: r.status,
    ...(r.reason !== undefined ? { reason: r.reason } : {}),
    ...(r.skipKind !== undefined ? { skipKind: r.skipKind } : {}),
    runs: r.runs,
    checked: r.checked ?? 0,
    seed: r.seed,
    elapsedMs: r.elapsedMs,
    ...(r.skipped && Object.keys(r.skipped).length ? { skippedCases: { ...r.skipped } } : {}),
  };
  const x = r.counterexample;
  if (x) {
    const d = x.trace && x.expected ? firstDifference(x.trace, x.expected) : null;
    out.failure = {
      verdict: x.verdict,
      message: x.message,
      scenario: x.scenario,
      python: pythonReproducer(x.scenario, `aiospec: ${c.id} fails on ${targetId} (seed ${x.seed}, path ${x.path})`, opts.version, opts.target),
      ...(x.trace ? { trace: x.trace } : {}),
      ...(x.expected ? { expected: x.expected } : {}),
      ...(x.expectedFrom ? { expectedFrom: x.expectedFrom } : {}),
      ...(d ? { firstDifference: { where: d.where, actual: d.a, expected: d.b, text: formatDifference(d, targetId, x.expectedFrom ?? "expected") } } : {}),
      shrunk: x.shrunk ?? true,
      ...(x.minimised ? { minimised: x.minimised } : {}),
      ...(opts.failuresDir !== undefined ? { files: failureFiles(opts.failuresDir, targetId, c.id) } : {}),
      seed: x.seed,
      clauseSeed: x.clauseSeed,
      path: x.path,
      replay: replayCommand(targetId, c.id, x.seed, x.path),
      ...(x.attempts !== undefined ? { attempts: x.attempts } : {}),
    };
  }
  if (r.flaky) out.flaky = flakyReport(c, r.flaky, targetId, opts.target);
  return out;
}

function flakyReport(c: Clause, f: FlakyCase & { cases: number }, targetId: string, target?: PythonTarget): FlakyReport {
  const x = f.failing;
  const d = x.trace && x.expected ? firstDifference(x.trace, x.expected) : null;
  return {
    cases: f.cases,
    attempts: f.attempts,
    verdict: x.verdict,
    message: x.message,
    scenario: f.scenario,
    python: pythonReproducer(f.scenario, `aiospec: ${c.id} was flaky on ${targetId} (seed ${f.seed}${f.path !== undefined ? `, path ${f.path}` : ""})`, undefined, target),
    ...(x.trace ? { trace: x.trace } : {}),
    ...(f.passing.trace ? { passingTrace: f.passing.trace } : {}),
    ...(x.expected ? { expected: x.expected } : {}),
    ...(d ? { firstDifference: { where: d.where, actual: d.a, expected: d.b, text: formatDifference(d, targetId, "expected") } } : {}),
    seed: f.seed,
    clauseSeed: f.clauseSeed,
    ...(f.path !== undefined ? { path: f.path, replay: replayCommand(targetId, c.id, f.seed, f.path) } : {}),
  };
}

/** A report as a one-line total: "88 passed, 1 failed, 2 flaky, 3 inconclusive, 1 skipped". */
export function totalsLine(s: Summary): string {
  return `${s.passed} passed, ${s.failed} failed, ${s.flaky ? `${s.flaky} flaky, ` : ""}${s.inconclusive ? `${s.inconclusive} inconclusive, ` : ""}${s.skipped} skipped${s.errors ? `, ${s.errors} errors` : ""}${s.notRun ? `, ${s.notRun} not run` : ""}`;
}
