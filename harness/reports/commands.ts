/**
 * `aiospec run` and `aiospec report`: validate everything, run the clauses
 * across the job pool, write the reports (each file whole or not at all),
 * and say how it went with the exit code (docs/cli.md, docs/reports.md).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Clause } from "../../spec/clauses/clause";
import { VERSIONS } from "../../implementations/reference";
import { MUTANTS } from "../../implementations/mutants";
import { loadClauses } from "../clauseset";
import { selectClauses } from "../glob";
import { ClausePool, defaultJobs, openTarget } from "../pool";
import { makeProgress } from "../progress";
import type { ClauseResult } from "../runner";
import { DEFAULT_LIMITS, Target, UsageError, findCPython } from "../targets";
import { writeFileAtomic } from "./atomic";
import { Baseline, applyBaseline, loadBaseline, staleEntries, updateBaseline, writeBaseline } from "./baseline";
import { renderHtml } from "./html";
import { renderJUnit } from "./junit";
import { renderMarkdown, renderMatrixMarkdown } from "./markdown";
import {
  EXIT,
  ImplementationInfo,
  MATRIX_FORMAT,
  MatrixReport,
  RunReport,
  SCHEMA_VERSION,
  Timing,
  buildRunReport,
  clauseReport,
  toolInfo,
  totalsLine,
} from "./model";
import { failureText, indent, resultLine, saveFailure } from "./text";

export const DEFAULT_RUNS = 100;
export const DEFAULT_TIMEOUT_MS = DEFAULT_LIMITS.timeoutMs;

export interface RunCommandOptions {
  impl: string;
  clause?: string;
  runs: number;
  seed?: number;
  path?: string;
  json?: string;
  junit?: string;
  markdown?: string;
  html?: string;
  out?: string;
  baseline?: string;
  updateBaseline?: boolean;
  strict?: boolean;
  timeoutMs: number;
  jobs?: number;
}

type Format = "json" | "junit" | "markdown" | "html";
const OUT_NAMES: Record<Format, string> = { json: "report.json", junit: "junit.xml", markdown: "report.md", html: "report.html" };

function randomSeed(): number {
  return (Date.now() ^ (Math.random() * 2 ** 31)) | 0;
}

/** A file we are going to write: its directory must exist (or be --out, created), and it must not be a directory. */
function checkWritable(file: string, flag: string, dirWillExist = false): string {
  const abs = path.resolve(file);
  const dir = path.dirname(abs);
  if (!dirWillExist) {
    let st: fs.Stats;
    try {
      st = fs.statSync(dir);
    } catch {
      throw new UsageError(`${flag} ${file}: directory ${dir} does not exist`);
    }
    if (!st.isDirectory()) throw new UsageError(`${flag} ${file}: ${dir} is not a directory`);
    try {
      fs.accessSync(dir, fs.constants.W_OK);
    } catch {
      throw new UsageError(`${flag} ${file}: cannot write in ${dir}`);
    }
  }
  try {
    if (fs.statSync(abs).isDirectory()) throw new UsageError(`${flag} ${file}: is a directory`);
  } catch (e) {
    if (e instanceof UsageError) throw e;
  }
  return abs;
}

function checkOutDir(dir: string): void {
  const abs = path.resolve(dir);
  try {
    if (!fs.statSync(abs).isDirectory()) throw new UsageError(`--out ${dir}: not a directory`);
    fs.accessSync(abs, fs.constants.W_OK);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw new UsageError(`--out ${dir}: cannot write there`);
    // Created later; its nearest existing ancestor must be writable.
    let up = path.dirname(abs);
    while (!fs.existsSync(up)) up = path.dirname(up);
    try {
      fs.accessSync(up, fs.constants.W_OK);
    } catch {
      throw new UsageError(`--out ${dir}: cannot create it (${up} is not writable)`);
    }
  }
}

/** Where each requested format goes. */
function planOutputs(opts: { json?: string; junit?: string; markdown?: string; html?: string; out?: string }): Partial<Record<Format, string>> {
  const plan: Partial<Record<Format, string>> = {};
  if (opts.out !== undefined) {
    checkOutDir(opts.out);
    for (const f of Object.keys(OUT_NAMES) as Format[]) plan[f] = checkWritable(path.join(opts.out, OUT_NAMES[f]), "--out", true);
  }
  for (const f of Object.keys(OUT_NAMES) as Format[]) {
    const file = opts[f];
    if (file !== undefined) plan[f] = checkWritable(file, `--${f}`);
  }
  const seen = new Map<string, Format>();
  for (const [f, file] of Object.entries(plan) as Array<[Format, string]>) {
    if (seen.has(file)) throw new UsageError(`--${seen.get(file)} and --${f} name the same file ${file}`);
    seen.set(file, f);
  }
  return plan;
}

function writeRunReports(plan: Partial<Record<Format, string>>, report: RunReport, outDir?: string): string[] {
  if (outDir !== undefined) fs.mkdirSync(outDir, { recursive: true });
  const written: string[] = [];
  const put = (f: Format, text: () => string) => {
    const file = plan[f];
    if (!file) return;
    writeFileAtomic(file, text());
    written.push(path.relative(process.cwd(), file) || file);
  };
  put("json", () => JSON.stringify(report, null, 2) + "\n");
  put("junit", () => renderJUnit([report]));
  put("markdown", () => renderMarkdown(report));
  put("html", () => renderHtml([report]));
  return written;
}

/** Ctrl-C (SIGINT) and SIGTERM: stop the pool once; a second signal exits at once. */
function onInterrupt(stop: (signal: NodeJS.Signals) => void): () => void {
  let seen = false;
  const handler = (signal: NodeJS.Signals) => {
    if (seen) process.exit(EXIT.interrupted);
    seen = true;
    stop(signal);
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  return () => {
    process.off("SIGINT", handler);
    process.off("SIGTERM", handler);
  };
}

function implementationInfo(requested: string, t: Target): ImplementationInfo {
  return { requested, id: t.id, version: t.version, description: t.description };
}

interface ExecuteResult {
  results: Array<ClauseResult | undefined>;
  interrupted: boolean;
  timing: Timing;
}

/**
 * Run the clauses on one implementation across the pool. `onResult` sees
 * each finished clause, in clause order.
 */
async function execute(
  clauses: readonly Clause[],
  target: Target,
  o: { impl: string; runs: number; seed: number; path?: string; timeoutMs: number; jobs: number },
  progressLabel: string,
  onOrdered: (index: number, r: ClauseResult, line: (text: string) => void) => void,
): Promise<ExecuteResult> {
  const started = new Date();
  const progress = makeProgress(clauses.length, o.runs, progressLabel);
  const pending = new Map<number, ClauseResult>();
  let nextToShow = 0;
  const pool = new ClausePool(clauses, target, o, {
    onCase: (i, n) => progress.update(i, n),
    onResult: (i, r) => {
      progress.finished(i);
      pending.set(i, r);
      while (pending.has(nextToShow)) {
        onOrdered(nextToShow, pending.get(nextToShow)!, (t) => progress.line(t));
        pending.delete(nextToShow);
        nextToShow++;
      }
    },
    onWarning: (m) => progress.line(`aiospec: warning: ${m}`),
  });
  let signal: NodeJS.Signals | null = null;
  const release = onInterrupt((s) => {
    signal = s;
    pool.interrupt();
  });
  let outcome;
  try {
    outcome = await pool.start();
  } finally {
    release();
    progress.stop();
  }
  // Finished clauses not yet shown (an interrupt left a gap before them).
  for (const [i, r] of [...pending.entries()].sort((a, b) => a[0] - b[0])) onOrdered(i, r, (t) => process.stdout.write(t + "\n"));
  if (signal) process.stderr.write(`\naiospec: ${signal === "SIGINT" ? "interrupted (Ctrl-C)" : `got ${signal}`}; reporting the ${outcome.results.filter(Boolean).length} clause(s) that finished\n`);
  const finished = new Date();
  return {
    results: outcome.results,
    interrupted: outcome.interrupted,
    timing: { startedAt: started.toISOString(), finishedAt: finished.toISOString(), elapsedMs: finished.getTime() - started.getTime(), jobs: outcome.jobs },
  };
}

export async function cmdRun(opts: RunCommandOptions): Promise<number> {
  // Everything is checked before anything runs or is written.
  const all = loadClauses();
  const clauses = selectClauses(all, opts.clause);
  if (opts.path !== undefined) {
    if (!/^\d+(:\d+)*$/.test(opts.path)) throw new UsageError(`bad --path "${opts.path}": expected numbers separated by colons, as a failure report prints it`);
    if (opts.seed === undefined) throw new UsageError("--path replays a case of an earlier run: give that run's --seed too");
    if (clauses.length !== 1) throw new UsageError(`--path replays a case of one clause, but --clause ${opts.clause ? `"${opts.clause}" selects` : "is missing: the run has"} ${clauses.length} clauses`);
  }
  if (opts.updateBaseline && opts.baseline === undefined) throw new UsageError("--update-baseline needs --baseline FILE (the file to write)");
  if (opts.strict && opts.baseline === undefined) throw new UsageError("--strict needs --baseline FILE (it makes unexpected passes fail the run)");
  const plan = planOutputs(opts);
  let baseline: Baseline | null = null;
  if (opts.baseline !== undefined) {
    baseline = loadBaseline(opts.baseline, opts.updateBaseline);
    if (opts.updateBaseline) checkWritable(opts.baseline, "--baseline");
  }
  const seed = opts.seed ?? randomSeed();
  const jobs = opts.jobs ?? defaultJobs();
  const warnings: string[] = [];
  const target = await openTarget(opts.impl, { timeoutMs: opts.timeoutMs, onEvent: (e) => warnings.push(`${e.target}: ${e.kind === "restart" ? `restarted after: ${e.reason}` : `gave up: ${e.reason}`}`) });
  const impl = implementationInfo(opts.impl, target);
  if (baseline) {
    for (const e of staleEntries(baseline, all.map((c) => c.id))) {
      process.stderr.write(`aiospec: warning: baseline ${opts.baseline}: no clause matches "${e.clause}" (${e.implementation})\n`);
    }
  }

  let run: ExecuteResult;
  try {
    process.stderr.write(
      `aiospec run: ${target.id} (${target.description}); ${clauses.length} clause(s), ${opts.runs} runs each, seed ${seed}, ${Math.min(jobs, clauses.length)} job(s)\n`,
    );
    run = await execute(clauses, target, { impl: opts.impl, runs: opts.runs, seed, path: opts.path, timeoutMs: opts.timeoutMs, jobs }, "aiospec", (i, r, line) => {
      const cr = clauseReport(clauses[i], r, target.id);
      if (baseline) applyBaseline([cr], baseline, opts.baseline!, impl, !!opts.strict);
      line(resultLine(cr));
      if (cr.failure && cr.baseline?.status !== "known-failure") {
        line(indent(failureText(cr, target.id, target.version, { program: "scenario", saved: saveFailure(cr, target.id) })));
      }
      else if (cr.failure) line(`  ${cr.failure.verdict}: ${cr.failure.message}\n  Replay: ${cr.failure.replay}`);
    });
  } finally {
    await target.close();
  }
  for (const w of warnings) process.stderr.write(`aiospec: warning: ${w}\n`);

  const base = { implementation: impl, clauses, results: run.results, interrupted: run.interrupted, timing: run.timing };
  const options = { runs: opts.runs, seed, clause: opts.clause ?? null, path: opts.path ?? null, timeoutMs: opts.timeoutMs, strict: !!opts.strict };
  let report = buildRunReport({ ...base, options, baseline: baseline ? { file: opts.baseline!, data: baseline } : null });
  let baselineNote = "";
  if (opts.updateBaseline && baseline && report.complete && report.summary.errors === 0) {
    const updated = updateBaseline(baseline, impl, report.results);
    writeBaseline(opts.baseline!, updated);
    const key = (e: { implementation: string; clause: string }) => `${e.implementation}\u0000${e.clause}`;
    const before = new Set(baseline.knownFailures.map(key));
    const after = new Set(updated.knownFailures.map(key));
    const added = [...after].filter((k) => !before.has(k)).length;
    const removed = [...before].filter((k) => !after.has(k)).length;
    baselineNote = `baseline ${opts.baseline} updated: ${updated.knownFailures.length} known failure(s) (+${added}, -${removed})`;
    report = buildRunReport({ ...base, options, baseline: { file: opts.baseline!, data: updated } });
  } else if (opts.updateBaseline) {
    baselineNote = `baseline ${opts.baseline} not updated: the run ${report.complete ? "had harness errors" : "did not finish"}`;
  }

  const written = writeRunReports(plan, report, opts.out);
  process.stdout.write(`${totalsLine(report.summary)}\n`);
  const b = report.baseline;
  if (b) {
    process.stdout.write(`baseline ${b.file}: ${b.knownFailures.length} known failure(s), ${b.newFailures.length} new failure(s), ${b.unexpectedPasses.length} unexpected pass(es)${b.strict ? " (strict)" : ""}\n`);
    if (b.newFailures.length) process.stdout.write(`  new failures: ${b.newFailures.join(", ")}\n`);
    if (b.unexpectedPasses.length) process.stdout.write(`  unexpected passes (no longer failing; remove them with --update-baseline): ${b.unexpectedPasses.join(", ")}\n`);
  }
  if (baselineNote) process.stdout.write(baselineNote + "\n");
  if (!report.complete) process.stdout.write(`incomplete: ${report.notRun.length} clause(s) did not run\n`);
  if (written.length) process.stderr.write(`aiospec: wrote ${written.join(", ")}\n`);
  return report.exitCode;
}

// ---------------------------------------------------------------- report

export interface ReportCommandOptions {
  out?: string;
  runs: number;
  seed: number;
  clause?: string;
  impl?: string[];
  mutants?: boolean;
  timeoutMs: number;
  jobs?: number;
}

export const REPORTS_DIR = path.resolve(__dirname, "..", "..", "reports");

/** The implementations of the matrix: every reference profile, every CPython found here, and (asked for) every mutant. */
export function matrixImplementations(mutants: boolean): string[] {
  const ids = VERSIONS.map((v) => `reference@${v}`);
  for (const v of VERSIONS) if (findCPython(v).path) ids.push(`cpython-${v}`);
  if (mutants) ids.push(...MUTANTS.map((m) => `mutant:${m.name}`));
  return ids;
}

export async function cmdReport(opts: ReportCommandOptions): Promise<number> {
  const clauses = selectClauses(loadClauses(), opts.clause);
  const out = path.resolve(opts.out ?? REPORTS_DIR);
  checkOutDir(out);
  const ids = opts.impl?.length ? opts.impl : matrixImplementations(!!opts.mutants);
  const jobs = opts.jobs ?? defaultJobs();
  // Resolve every implementation first: an unknown id is a usage error before anything runs.
  const targets: Target[] = [];
  try {
    for (const id of ids) targets.push(await openTarget(id, { timeoutMs: opts.timeoutMs }));
  } catch (e) {
    await Promise.all(targets.map((t) => t.close()));
    throw e;
  }
  const started = new Date();
  const reports: RunReport[] = [];
  let interrupted = false;
  process.stderr.write(`aiospec report: ${ids.length} implementation(s) × ${clauses.length} clause(s), ${opts.runs} runs each, seed ${opts.seed}, ${jobs} job(s)\n`);
  try {
    for (let k = 0; k < targets.length; k++) {
      const target = targets[k];
      if (interrupted) break;
      const run = await execute(clauses, target, { impl: ids[k], runs: opts.runs, seed: opts.seed, timeoutMs: opts.timeoutMs, jobs }, target.id, () => {});
      interrupted = run.interrupted;
      const report = buildRunReport({
        implementation: implementationInfo(ids[k], target),
        clauses,
        results: run.results,
        interrupted: run.interrupted,
        timing: run.timing,
        options: { runs: opts.runs, seed: opts.seed, clause: opts.clause ?? null, path: null, timeoutMs: opts.timeoutMs, strict: false },
        baseline: null,
      });
      reports.push(report);
      const line = `${target.id.padEnd(24)} ${totalsLine(report.summary)} (${(run.timing.elapsedMs / 1000).toFixed(1)} s)`;
      process.stdout.write(line + "\n");
    }
  } finally {
    await Promise.all(targets.map((t) => t.close()));
  }
  const finished = new Date();
  const matrix: MatrixReport = {
    format: MATRIX_FORMAT,
    schemaVersion: SCHEMA_VERSION,
    tool: toolInfo(),
    complete: !interrupted && reports.length === ids.length && reports.every((r) => r.complete),
    options: { runs: opts.runs, seed: opts.seed, timeoutMs: opts.timeoutMs },
    reports,
    timing: { startedAt: started.toISOString(), finishedAt: finished.toISOString(), elapsedMs: finished.getTime() - started.getTime(), jobs },
  };
  fs.mkdirSync(out, { recursive: true });
  writeFileAtomic(path.join(out, "matrix.json"), JSON.stringify(matrix, null, 2) + "\n");
  writeFileAtomic(path.join(out, "index.html"), renderHtml(reports, { seed: opts.seed, runs: opts.runs, generatedAt: matrix.timing.finishedAt }));
  writeFileAtomic(path.join(out, "summary.md"), renderMatrixMarkdown(matrix));
  process.stderr.write(`aiospec: wrote ${["matrix.json", "index.html", "summary.md"].map((f) => path.relative(process.cwd(), path.join(out, f)) || f).join(", ")}\n`);
  if (interrupted) return EXIT.interrupted;
  return reports.some((r) => r.summary.errors > 0) ? EXIT.usage : EXIT.ok;
}
