/**
 * `aiospec run` and `aiospec report`: validate everything, run the clauses
 * across the job pool, write the reports (each file whole or not at all),
 * and say how it went with the exit code (docs/cli.md, docs/reports.md).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Clause } from "../../spec/clauses/clause";
import { loadClauses } from "../running/clauseset";
import { selectClauses } from "../running/glob";
import { ClausePool, defaultJobs, openTarget } from "../running/pool";
import { makeProgress } from "../reporting/progress";
import { ClauseResult, REALTIME, clauseSeed, skipInfo, targetClock, targetTickMs } from "../running/runner";
import { IsolationEvent, Target, UsageError, findCPython } from "../targets";
import { parseInterpreterId } from "../targets/discovery";
import { StartedProcess, settleProcesses, withProcessLedger } from "../targets/isolation/processes";
import { VERSIONS, isReferenceVersion } from "../../implementations/reference";
import { patchLevelNote } from "../../implementations/reference/releases";
import { MUTANTS } from "../../implementations/mutants";
import { PYTHON_VERSIONS } from "../../spec/scenario/versions";
import { jsonChunks, writeFileAtomic } from "../reporting/atomic";
import { Baseline, applyBaseline, loadBaseline, staleEntries, updateBaseline, writeBaseline } from "../reporting/baseline";
import { renderHtml } from "../reporting/html";
import { renderJUnit } from "../reporting/junit";
import { MARKDOWN_MAX_BYTES, renderMarkdown, renderMatrixMarkdown } from "../reporting/markdown";
import { MatrixEntry, matrixEntries } from "../reporting/implementations";
import {
  AbsentImplementation,
  EXIT,
  ImplementationInfo,
  MATRIX_FORMAT,
  MatrixReport,
  RunReport,
  SCHEMA_VERSION,
  Timing,
  clauseReport,
  toolInfo,
  totalsLine,
} from "../reporting/model";
import { buildRunReport } from "../reporting/run-report";
import { failureText, flakySummary, indent, resultLine } from "../reporting/text";
import { writeFailureFiles } from "../reporting/failures";
import { pythonTarget } from "../reproducing/python";
import { JOURNAL_NAME, Journal, readJournal } from "./journal";
import { printableLines, toStderr, toStdout } from "../reporting/terminal";
import { checkPathExists, checkPathSyntax } from "./replay-path";

import { DEFAULT_RUNS, DEFAULT_TIMEOUT_MS, REPORTS_DIR } from "./defaults";

export { DEFAULT_RUNS, DEFAULT_TIMEOUT_MS, REPORTS_DIR } from "./defaults";

// Everything this module prints quotes implementations (ids, descriptions,
// messages, traces) or the user's files: escaped on its way out (terminal.ts's
// toStdout, toStderr).

export interface RunCommandOptions {
  impl: string;
  clause?: string;
  /** Scenarios per clause; default DEFAULT_RUNS, or REALTIME.runs on a real clock. */
  runs?: number;
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
  /** Per-case time limit; default DEFAULT_TIMEOUT_MS, or REALTIME.timeoutMs on a real clock. */
  timeoutMs?: number;
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
  let st: fs.Stats | null = null;
  try {
    st = fs.lstatSync(abs);
  } catch {
    /* does not exist yet: fine */
  }
  if (st?.isDirectory()) throw new UsageError(`${flag} ${file}: is a directory`);
  // Reports are written by renaming a temporary file over the path: that would replace a link or a FIFO.
  if (st && !st.isFile()) throw new UsageError(`${flag} ${file}: exists and is not a regular file (a link, FIFO or device); aiospec replaces only regular files`);
  if (!dirWillExist) probeDirectory(dir, `${flag} ${file}`);
  return abs;
}

/**
 * Permission bits do not tell everything (/proc, a read-only mount, a full
 * disk's quota): create and remove a file in `dir`, before the run, so that
 * an unwritable output is one line now rather than a stack trace after.
 */
function probeDirectory(dir: string, what: string): void {
  const probe = path.join(dir, `.aiospec-probe-${process.pid}-${Math.random().toString(36).slice(2)}`);
  try {
    fs.writeFileSync(probe, "", { flag: "wx" });
  } catch (e) {
    throw new UsageError(`${what}: cannot write in ${dir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    fs.unlinkSync(probe);
  } catch {
    /* it was written; removing it is housekeeping */
  }
}

/**
 * A directory aiospec creates when it has something to put there (diff's
 * counterexamples): it, or its nearest existing ancestor, must let a file be
 * made, checked before anything runs.
 */
export function checkCreatable(dir: string, what: string): void {
  let up = path.resolve(dir);
  while (!fs.existsSync(up)) up = path.dirname(up);
  let st: fs.Stats;
  try {
    st = fs.statSync(up);
  } catch (e) {
    throw new UsageError(`${what}: cannot create ${dir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (!st.isDirectory()) throw new UsageError(`${what}: cannot create ${dir}: ${up} is not a directory`);
  probeDirectory(up, what);
}

function checkOutDir(dir: string): void {
  const abs = path.resolve(dir);
  try {
    if (!fs.statSync(abs).isDirectory()) throw new UsageError(`--out ${dir}: not a directory`);
    fs.accessSync(abs, fs.constants.W_OK);
    probeDirectory(abs, `--out ${dir}`);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw new UsageError(`--out ${dir}: cannot write there`);
    // Created later: a file must be creatable in its nearest existing ancestor (probed: permission bits
    // do not tell, e.g. /proc to root, where Node's recursive mkdirSync then never returns).
    checkCreatable(abs, `--out ${dir}`);
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

/**
 * Where failing clauses' reproducers and traces go: failures/ next to the
 * reports (in --out, or beside the first report file), else
 * .aiospec/failures; relative to the working directory.
 */
function failuresDirFor(plan: Partial<Record<Format, string>>, out?: string): string {
  const first = out !== undefined ? path.resolve(out) : (Object.values(plan)[0] && path.dirname(Object.values(plan)[0]!));
  const dir = first ? path.join(first, "failures") : path.resolve(".aiospec", "failures");
  return path.relative(process.cwd(), dir) || dir;
}

function writeRunReports(plan: Partial<Record<Format, string>>, report: RunReport, outDir?: string): string[] {
  if (outDir !== undefined) fs.mkdirSync(outDir, { recursive: true });
  const written: string[] = [];
  const put = (f: Format, text: () => string | ((write: (chunk: string) => void) => void)) => {
    const file = plan[f];
    if (!file) return;
    writeFileAtomic(file, text());
    written.push(path.relative(process.cwd(), file) || file);
  };
  // In chunks, never one string: V8 caps a string's length (docs/reports.md, Report size).
  put("json", () => (write) => jsonChunks(report, write));
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
  const full = (t as Target & { fullVersion?: string }).fullVersion;
  const clock = targetClock(t);
  const tickMs = targetTickMs(t);
  return {
    requested,
    id: t.id,
    version: t.version,
    description: t.description,
    ...(full ? { fullVersion: full } : {}),
    ...(t.task !== undefined ? { task: t.task } : {}),
    clock,
    ...(clock === "real" && tickMs !== undefined ? { tickMs } : {}),
  };
}

/**
 * How many scenarios and jobs a run on this target takes, and, on a real
 * clock, what changed from the defaults and why (shown on the terminal and
 * kept in the reports' `notes`).
 */
export function runPlan(
  t: Target,
  clauses: readonly Clause[],
  given: { runs?: number; jobs?: number; timeoutMs?: number },
): { runs: number; jobs: number; reruns: number; notes: string[] } {
  const cores = defaultJobs();
  const patch = releaseNote(t);
  if (targetClock(t) !== "real") return { runs: given.runs ?? DEFAULT_RUNS, jobs: given.jobs ?? cores, reruns: 0, notes: patch ? [patch] : [] };
  const runs = given.runs ?? REALTIME.runs;
  const jobs = given.jobs ?? REALTIME.jobs;
  const tick = targetTickMs(t);
  const changed: string[] = [];
  if (given.runs === undefined) changed.push(`${runs} scenarios per clause instead of ${DEFAULT_RUNS} (every tick is real time: the run takes minutes, not hours; --runs overrides)`);
  if (given.jobs === undefined && cores > REALTIME.jobs) {
    changed.push(`${jobs} job instead of ${cores} (drivers running side by side miss their ticks and fail spuriously; --jobs overrides)`);
  }
  if (given.timeoutMs === undefined) {
    changed.push(`${REALTIME.timeoutMs / 1000} s per scenario instead of ${DEFAULT_TIMEOUT_MS / 1000} s (the longest scenarios take 3 s of real time, more on a loaded machine; --timeout-ms overrides)`);
  }
  const vto = clauses.filter((c) => c.virtualTimeOnly !== undefined).length;
  const notes = [
    `${t.id} runs on a real clock${tick ? ` (one tick = ${tick} ms)` : ""}: ` +
      `${changed.length ? `${changed.join("; ")}; ` : ""}` +
      `a failing case is run ${REALTIME.reruns} more times and counts only if it fails every time, else the clause is flaky (shown, not failed); ` +
      `shrinking stops after ${REALTIME.shrinkLimit} candidates` +
      `${vto ? `; ${vto} clause(s) that need a virtual clock are skipped` : ""}.`,
  ];
  return { runs, jobs, reruns: REALTIME.reruns, notes: patch ? [...notes, patch] : notes };
}

/**
 * A line when the target is a patch release other than the one the clauses
 * were checked on (patch releases change behaviour: docs/findings.md), else
 * null. The release is the target's full version: what a real Python's
 * driver says in its hello, a reference@3.X.Y's release, or a TypeScript
 * implementation's pythonRelease; a target that names none gets no note.
 */
export function releaseNote(t: Target): string | null {
  if (!t.fullVersion || !isReferenceVersion(t.version)) return null;
  const note = patchLevelNote(t.version, t.fullVersion);
  return note && `${t.id}: ${note}`;
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
  onFinished: (index: number, r: ClauseResult) => void = () => {},
): Promise<ExecuteResult> {
  const started = new Date();
  const progress = makeProgress(clauses.length, o.runs, printableLines(progressLabel));
  const line = (text: string) => progress.line(printableLines(text));
  const pending = new Map<number, ClauseResult>();
  let nextToShow = 0;
  const pool = new ClausePool(clauses, target, o, {
    onCase: (i, n) => progress.update(i, n),
    onResult: (i, r) => {
      progress.finished(i, r.status);
      onFinished(i, r);
      pending.set(i, r);
      while (pending.has(nextToShow)) {
        onOrdered(nextToShow, pending.get(nextToShow)!, line);
        pending.delete(nextToShow);
        nextToShow++;
      }
    },
    onWarning: (m) => line(`aiospec: warning: ${m}`),
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
  for (const [i, r] of [...pending.entries()].sort((a, b) => a[0] - b[0])) onOrdered(i, r, (t) => toStdout(t + "\n"));
  if (signal) toStderr(`\naiospec: ${signal === "SIGINT" ? "interrupted (Ctrl-C)" : `got ${signal}`}; reporting the ${outcome.results.filter(Boolean).length} clause(s) that finished\n`);
  const finished = new Date();
  return {
    results: outcome.results,
    interrupted: outcome.interrupted,
    timing: { startedAt: started.toISOString(), finishedAt: finished.toISOString(), elapsedMs: finished.getTime() - started.getTime(), jobs: outcome.jobs },
  };
}

export async function cmdRun(opts: RunCommandOptions): Promise<number> {
  // What the implementation leaves running and aiospec has to kill is written down here (processes.ts).
  const ledger: StartedProcess[] = [];
  return withProcessLedger(ledger, () => runCommand(opts, ledger));
}

/**
 * What the run says about the processes it killed because the implementation
 * had started them and left them behind (in another session, say): the ones
 * it ended, and any still running once the run is over, named by pid.
 */
export function leftoverNotes(id: string, settled: { ended: StartedProcess[]; alive: StartedProcess[] }): string[] {
  const named = (ps: StartedProcess[]) => ps.map((p) => `pid ${p.pid} (${p.command})`).join(", ");
  const notes: string[] = [];
  if (settled.ended.length) {
    notes.push(`${id} left ${settled.ended.length} process(es) of its own behind (outside its process group, or after its process ended); aiospec killed them: ${named(settled.ended)}`);
  }
  if (settled.alive.length) {
    notes.push(`${settled.alive.length} process(es) that ${id} started escaped aiospec's kill and are still running after the run (abandoned): ${named(settled.alive)}`);
  }
  return notes;
}

async function runCommand(opts: RunCommandOptions, ledger: StartedProcess[]): Promise<number> {
  // Everything is checked before anything runs or is written.
  const all = loadClauses();
  const clauses = selectClauses(all, opts.clause);
  if (opts.path !== undefined) {
    checkPathSyntax(opts.path, "a failure report");
    if (opts.seed === undefined) throw new UsageError("--path replays a case of an earlier run: give that run's --seed too");
    if (clauses.length !== 1) throw new UsageError(`--path replays a case of one clause, but --clause ${opts.clause ? `"${opts.clause}" selects` : "is missing: the run has"} ${clauses.length} clauses`);
  }
  if (opts.updateBaseline && opts.baseline === undefined) throw new UsageError("--update-baseline needs --baseline FILE (the file to write)");
  if (opts.strict && opts.baseline === undefined) throw new UsageError("--strict needs --baseline FILE (it makes unexpected passes fail the run)");
  const outputs = planOutputs(opts);
  const failuresDir = failuresDirFor(outputs, opts.out);
  // The journal and the failure files go there as clauses finish: it must be creatable now. (Checked by
  // probing, not by mkdir: Node's recursive mkdirSync never returns under /proc.)
  const journalFile = path.join(path.dirname(path.resolve(failuresDir)), JOURNAL_NAME);
  checkCreatable(path.dirname(journalFile), `the run journal and failure files go into ${path.dirname(journalFile)}`);
  let baseline: Baseline | null = null;
  if (opts.baseline !== undefined) {
    baseline = loadBaseline(opts.baseline, opts.updateBaseline);
    if (opts.updateBaseline) checkWritable(opts.baseline, "--baseline");
  }
  const seed = opts.seed ?? randomSeed();
  const warnings: string[] = [];
  const { target, timeoutMs } = await openForRun(opts.impl, opts.timeoutMs, (e) =>
    warnings.push(`${e.target}: ${e.kind === "restart" ? `restarted after: ${e.reason}` : `gave up: ${e.reason}`}`),
  );
  if (opts.path !== undefined) {
    // Generated, not run: a path that leads nowhere is refused before any clause runs.
    const c = clauses[0];
    try {
      if (skipInfo(c, target) === null) {
        checkPathExists(c.scenarios(target.version, { unsupported: target.unsupported ?? [] }), clauseSeed(seed, c.id), opts.path, `the run of ${c.id} with seed ${seed} on ${target.id}`, "--seed and --clause of the run");
      }
    } catch (e) {
      await target.close();
      throw e;
    }
  }
  const impl = implementationInfo(opts.impl, target);
  const plan = runPlan(target, clauses, opts);
  const { runs, jobs } = plan;
  if (baseline) {
    for (const e of staleEntries(baseline, all.map((c) => c.id))) {
      toStderr(`aiospec: warning: baseline ${opts.baseline}: no clause matches "${e.clause}" (${e.implementation})\n`);
    }
  }

  // Each finished clause goes to the journal as it finishes: a run killed halfway keeps them (report --resume).
  const options = { runs, seed, clause: opts.clause ?? null, path: opts.path ?? null, timeoutMs, strict: !!opts.strict, ...(plan.reruns ? { reruns: plan.reruns } : {}) };
  let journal: Journal;
  try {
    fs.mkdirSync(path.dirname(journalFile), { recursive: true });
    journal = Journal.open(journalFile, {
      startedAt: new Date().toISOString(), implementation: impl, clauses: clauses.map((c) => c.id), options, notes: plan.notes, failuresDir,
    });
  } catch (e) {
    await target.close();
    throw new UsageError(`cannot write the run journal ${journalFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }

  let run: ExecuteResult;
  try {
    toStderr(
      `aiospec run: ${target.id} (${target.description}); ${clauses.length} clause(s), ${runs} runs each, seed ${seed}, ${Math.min(jobs, clauses.length)} job(s)\n`,
    );
    for (const n of plan.notes) toStderr(`aiospec: ${n}\n`);
    run = await execute(clauses, target, { impl: opts.impl, runs, seed, path: opts.path, timeoutMs, jobs }, "aiospec", (i, r, line) => {
      const cr = clauseReport(clauses[i], r, target.id, { failuresDir, version: target.version, target: pythonTarget(target) });
      if (baseline) applyBaseline([cr], baseline, opts.baseline!, impl, !!opts.strict);
      line(resultLine(cr));
      // The full reproducers and traces go to files; the terminal gets the gist and their paths.
      if (cr.failure && !writeFailureFiles(cr, target.id, target.version)) delete cr.failure.files;
      if (cr.failure && cr.baseline?.status !== "known-failure") line(indent(failureText(cr, target.id, target.version)));
      else if (cr.failure) line(`  ${cr.failure.verdict}: ${cr.failure.message}\n  Replay: ${cr.failure.replay}`);
      if (cr.status === "flaky") line(indent(flakySummary(cr)));
    }, (i, r) => journal.clause(i, r));
  } finally {
    await target.close();
  }
  for (const w of warnings) toStderr(`aiospec: warning: ${w}\n`);
  // Every process is closed now: what was killed on the implementation's behalf is gone, or escaped.
  const leftovers = leftoverNotes(target.id, await settleProcesses(ledger));
  for (const n of leftovers) toStderr(`aiospec: warning: ${n}\n`);
  const notes = [...plan.notes, ...leftovers];

  const base = { implementation: impl, clauses, results: run.results, interrupted: run.interrupted, timing: run.timing, failuresDir };
  let report = buildRunReport({ ...base, options, notes, baseline: baseline ? { file: opts.baseline!, data: baseline } : null });
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
    report = buildRunReport({ ...base, options, notes, baseline: { file: opts.baseline!, data: updated } });
  } else if (opts.updateBaseline) {
    baselineNote = `baseline ${opts.baseline} not updated: the run ${report.complete ? "had harness errors" : "did not finish"}`;
  }

  const written = writeRunReports(outputs, report, opts.out);
  toStdout(`${totalsLine(report.summary)}\n`);
  const b = report.baseline;
  if (b) {
    toStdout(`baseline ${b.file}: ${b.knownFailures.length} known failure(s), ${b.newFailures.length} new failure(s), ${b.unexpectedPasses.length} unexpected pass(es)${b.strict ? " (strict)" : ""}\n`);
    if (b.newFailures.length) toStdout(`  new failures: ${b.newFailures.join(", ")}\n`);
    if (b.unexpectedPasses.length) toStdout(`  unexpected passes (no longer failing; remove them with --update-baseline): ${b.unexpectedPasses.join(", ")}\n`);
  }
  const flaky = report.results.filter((r) => r.status === "flaky");
  if (flaky.length) {
    toStdout(`flaky (failed once, passed when run again; they do not fail the run): ${flaky.map((r) => r.id).join(", ")}\n`);
  }
  const inconclusive = report.results.filter((r) => r.status === "inconclusive");
  if (inconclusive.length) {
    toStdout(`inconclusive (no failure, but too few cases checked to call it a pass; they do not fail the run): ${inconclusive.map((r) => r.id).join(", ")}\n`);
  }
  if (baselineNote) toStdout(baselineNote + "\n");
  if (!report.complete) toStdout(`incomplete: ${report.notRun.length} clause(s) did not run\n`);
  if (written.length) toStderr(`aiospec: wrote ${written.join(", ")}\n`);
  journal.end(run.interrupted, run.timing);
  return report.exitCode;
}

export interface ResumeOptions {
  json?: string;
  junit?: string;
  markdown?: string;
  html?: string;
  /** Where to write every format; default: the journal's directory. */
  out?: string;
}

/**
 * `aiospec report --resume JOURNAL`: the reports of a run from its journal
 * (harness/cli/journal.ts), marked incomplete, with every clause that did not
 * finish listed as not run, when the run never reached its end.
 */
export async function cmdResume(file: string, opts: ResumeOptions): Promise<number> {
  const j = readJournal(file);
  const any = opts.json ?? opts.junit ?? opts.markdown ?? opts.html ?? opts.out;
  const outputs = planOutputs(any === undefined ? { out: path.dirname(path.resolve(file)) } : opts);
  const byId = new Map(loadClauses().map((c) => [c.id, c]));
  const unknown = j.start.clauses.filter((id) => !byId.has(id));
  if (unknown.length) throw new UsageError(`--resume ${file}: the journal names clauses this aiospec does not know: ${unknown.slice(0, 5).join(", ")}`);
  const clauses = j.start.clauses.map((id) => byId.get(id)!);
  const finished = j.results.filter(Boolean).length;
  const incomplete = !j.ended || j.interrupted;
  const notes = [...j.start.notes];
  if (!j.ended) notes.push(`resumed from the journal ${file}: the run did not reach its end (killed?); ${finished} of ${clauses.length} clause(s) had finished`);
  const timing = j.timing ?? { startedAt: j.start.startedAt, finishedAt: fs.statSync(file).mtime.toISOString(), elapsedMs: 0, jobs: 0 };
  const report = buildRunReport({
    implementation: j.start.implementation, clauses, results: j.results, interrupted: incomplete,
    timing, options: j.start.options, notes, baseline: null, failuresDir: j.start.failuresDir,
  });
  const written = writeRunReports(outputs, report, any === undefined ? path.dirname(path.resolve(file)) : opts.out);
  toStdout(`${totalsLine(report.summary)}\n`);
  if (!report.complete) toStdout(`incomplete: ${report.notRun.length} clause(s) did not run\n`);
  if (written.length) toStderr(`aiospec: wrote ${written.join(", ")}\n`);
  return report.exitCode;
}

/**
 * Open a target for a run. On a real clock the per-case time limit defaults
 * to REALTIME.timeoutMs: known from the id when it names a real-clock
 * interpreter (+uvloop, +realtime), else learnt from the hello, and then the
 * target is opened again with it.
 */
export async function openForRun(
  id: string,
  given: number | undefined,
  onEvent?: (e: IsolationEvent) => void,
): Promise<{ target: Target; timeoutMs: number }> {
  let real = false;
  try {
    real = parseInterpreterId(id)?.realtime ?? false;
  } catch {
    /* a malformed id: openTarget says what is wrong with it */
  }
  let timeoutMs = given ?? (real ? REALTIME.timeoutMs : DEFAULT_TIMEOUT_MS);
  let target = await openTarget(id, { timeoutMs, ...(onEvent ? { onEvent } : {}) });
  if (given === undefined && targetClock(target) === "real" && timeoutMs < REALTIME.timeoutMs) {
    await target.close();
    timeoutMs = REALTIME.timeoutMs;
    target = await openTarget(id, { timeoutMs, ...(onEvent ? { onEvent } : {}) });
  }
  return { target, timeoutMs };
}

// ---------------------------------------------------------------- report

export interface ReportCommandOptions {
  out?: string;
  /** Scenarios per clause; default DEFAULT_RUNS, or REALTIME.runs on a real clock. */
  runs?: number;
  seed: number;
  clause?: string;
  impl?: string[];
  mutants?: boolean;
  timeoutMs?: number;
  jobs?: number;
}

/**
 * The virtual-clock core of the matrix, without probing anything: every
 * reference profile and every CPython 3.X found (and, asked for, every
 * mutant). `aiospec report` runs more: matrixEntries (implementations.ts).
 */
export function matrixImplementations(mutants: boolean): string[] {
  const ids = VERSIONS.map((v) => `reference@${v}`);
  for (const v of PYTHON_VERSIONS) if (findCPython(v).path) ids.push(`cpython-${v}`);
  if (mutants) ids.push(...MUTANTS.map((m) => `mutant:${m.name}`));
  return ids;
}

function duration(ms: number): string {
  return ms >= 60_000 ? `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s` : `${(ms / 1000).toFixed(1)} s`;
}

export async function cmdReport(opts: ReportCommandOptions): Promise<number> {
  const clauses = selectClauses(loadClauses(), opts.clause);
  const out = path.resolve(opts.out ?? REPORTS_DIR);
  checkOutDir(out);
  // The default matrix: everything the discovery knows, absent ones too. With
  // --impl: exactly those, each of which must start (else a usage error).
  const explicit = !!opts.impl?.length;
  const entries: MatrixEntry[] = explicit ? opts.impl!.map((id) => ({ id, status: "found", description: id })) : await matrixEntries({ mutants: !!opts.mutants });
  const targets = new Map<string, { target: Target; timeoutMs: number }>();
  if (explicit) {
    try {
      for (const e of entries) targets.set(e.id, await openForRun(e.id, opts.timeoutMs));
    } catch (err) {
      await Promise.all([...targets.values()].map((t) => t.target.close()));
      throw err;
    }
  }
  const absent: AbsentImplementation[] = entries
    .filter((e) => e.status === "absent")
    .map((e) => ({ id: e.id, description: e.description, reason: e.why ?? "not found here", ...(e.install ? { install: e.install } : {}) }));
  const runnable = entries.filter((e) => e.status === "found");
  const started = new Date();
  const reports: RunReport[] = [];
  let interrupted = false;
  let runsShown = opts.runs ?? DEFAULT_RUNS;
  let internalErrors = 0;
  let maxJobs = 1;
  toStderr(
    `aiospec report: ${runnable.length} implementation(s) × ${clauses.length} clause(s), ${opts.runs ?? `${DEFAULT_RUNS} (${REALTIME.runs} on a real clock)`} runs each, seed ${opts.seed}` +
      `${absent.length ? `; absent here: ${absent.map((a) => a.id).join(", ")}` : ""}\n`,
  );
  try {
    for (let k = 0; k < runnable.length && !interrupted; k++) {
      const e = runnable[k];
      let opened = targets.get(e.id);
      if (!opened) {
        try {
          opened = await openForRun(e.id, opts.timeoutMs);
        } catch (err) {
          absent.push({ id: e.id, description: e.description, reason: `could not start: ${(err as Error).message}` });
          toStdout(`${e.id.padEnd(28)} could not start: ${(err as Error).message}\n`);
          continue;
        }
      }
      const { target, timeoutMs } = opened;
      try {
        const plan = runPlan(target, clauses, opts);
        runsShown = opts.runs ?? DEFAULT_RUNS;
        maxJobs = Math.max(maxJobs, plan.jobs);
        toStderr(`[${k + 1}/${runnable.length}] ${target.id}: ${target.description}; ${plan.runs} runs, ${plan.jobs} job(s)\n`);
        for (const n of plan.notes) toStderr(`  ${n}\n`);
        const run = await execute(clauses, target, { impl: e.id, runs: plan.runs, seed: opts.seed, timeoutMs, jobs: plan.jobs }, target.id, () => {});
        interrupted = run.interrupted;
        const report = buildRunReport({
          implementation: implementationInfo(e.id, target),
          clauses,
          results: run.results,
          interrupted: run.interrupted,
          timing: run.timing,
          options: {
            runs: plan.runs,
            seed: opts.seed,
            clause: opts.clause ?? null,
            path: null,
            timeoutMs,
            strict: false,
            ...(plan.reruns ? { reruns: plan.reruns } : {}),
          },
          notes: plan.notes,
          baseline: null,
        });
        reports.push(report);
        const line = `${target.id.padEnd(28)} ${totalsLine(report.summary)} (${duration(run.timing.elapsedMs)})`;
        toStdout(line + "\n");
      } catch (err) {
        // A bug of aiospec on one implementation must not lose the others' rows.
        internalErrors++;
        const message = (err as Error).message.split("\n")[0];
        absent.push({ id: e.id, description: e.description, reason: `aiospec failed on it (internal error): ${message}` });
        toStderr(`aiospec: internal error on ${e.id}: ${(err as Error).stack ?? err}\n`);
      } finally {
        await target.close();
        targets.delete(e.id);
      }
    }
  } finally {
    await Promise.all([...targets.values()].map((t) => t.target.close()));
  }
  const finished = new Date();
  const matrix: MatrixReport = {
    format: MATRIX_FORMAT,
    schemaVersion: SCHEMA_VERSION,
    tool: toolInfo(),
    complete: !interrupted && reports.length === runnable.length && reports.every((r) => r.complete),
    options: { runs: runsShown, seed: opts.seed, timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS },
    reports,
    absent,
    timing: { startedAt: started.toISOString(), finishedAt: finished.toISOString(), elapsedMs: finished.getTime() - started.getTime(), jobs: maxJobs },
  };
  fs.mkdirSync(out, { recursive: true });
  const md = renderMatrixMarkdown(matrix);
  if (Buffer.byteLength(md, "utf8") > MARKDOWN_MAX_BYTES + 4096) toStderr("aiospec: warning: summary.md is over 1 MiB\n");
  writeFileAtomic(path.join(out, "matrix.json"), (write) => jsonChunks(matrix, write));
  writeFileAtomic(path.join(out, "index.html"), renderHtml(reports, { seed: opts.seed, runs: runsShown, generatedAt: matrix.timing.finishedAt, absent }));
  writeFileAtomic(path.join(out, "summary.md"), md);
  if (absent.length) toStdout(`absent (${absent.length}): ${absent.map((a) => `${a.id}${a.install ? ` — ${a.install}` : ""}`).join("; ")}\n`);
  toStderr(`aiospec: wrote ${["matrix.json", "index.html", "summary.md"].map((f) => path.relative(process.cwd(), path.join(out, f)) || f).join(", ")} (${duration(matrix.timing.elapsedMs)})\n`);
  if (interrupted) return EXIT.interrupted;
  return internalErrors > 0 || reports.some((r) => r.summary.errors > 0) ? EXIT.usage : EXIT.ok;
}
