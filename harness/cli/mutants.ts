/**
 * `aiospec mutants`: how strong the clauses are, measured on the mutants of
 * implementations/mutants (harness/running/mutants.ts says how each one is
 * hunted). One line per mutant, killed or survived, with the clause that
 * killed it, the cases and seconds until its first failure and the size of
 * the shrunk counterexample; the totals and medians at the end.
 *
 * Exit codes: 0 every mutant killed, 1 some survived, 2 usage error or
 * harness failure, 130 interrupted.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Command, InvalidArgumentError } from "commander";
// Only what --help needs is loaded here; the command loads the rest when it runs.
import { NEWEST, VERSIONS, isReferenceVersion } from "../../implementations/reference/profile";
import type { PythonVersion } from "../../implementations/reference/profile";
import type { MutantResult, MutantTotals } from "../running/mutants";
import { UsageError } from "../targets/errors";
// What this command prints quotes mutant descriptions, clause messages and a
// Stryker report's paths and source text: escaped on its way out.
import { toStderr, toStdout } from "../reporting/terminal";

/** What the issue asks of the suite (docs/mutation.md). */
export const TARGETS = { medianSeconds: 1, medianSteps: 8 } as const;

export interface MutantsOptions {
  mutant?: string;
  /** Default: aiospec run's (DEFAULT_RUNS). */
  runs?: number;
  seed?: number;
  /** Default: one per core. */
  jobs?: number;
  /** Default: aiospec run's (DEFAULT_TIMEOUT_MS). */
  timeoutMs?: number;
  python?: PythonVersion;
  json?: string;
  /** The Stryker JSON reports to print instead (true: the default file). */
  stryker?: string | string[] | true;
}

function positive(name: string, max = Number.MAX_SAFE_INTEGER, why = "") {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be an integer >= 1`);
    if (n > max) throw new InvalidArgumentError(`${name} must be at most ${max}${why}`);
    return n;
  };
}

/** One job per core, as aiospec run. */
function cores(): number {
  return typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length;
}

function seed(value: string): number {
  const n = Number(value);
  if (!/^-?\d+$/.test(value) || n < -(2 ** 31) || n >= 2 ** 32) throw new InvalidArgumentError("seed must be a 32-bit integer");
  return n | 0;
}

function python(value: string): PythonVersion {
  if (!isReferenceVersion(value)) throw new InvalidArgumentError(`the reference models Python ${VERSIONS.join(", ")}`);
  return value;
}

/** The mutants a --mutant glob selects (all without one); a glob that selects none is a usage error. */
export async function selectMutants(glob: string | undefined): Promise<string[]> {
  const [{ MUTANTS }, { clauseMatcher }] = await Promise.all([import("../../implementations/mutants"), import("../running/glob")]);
  const names = MUTANTS.map((m) => m.name);
  if (glob === undefined) return names;
  const matches = clauseMatcher(glob);
  const chosen = names.filter(matches);
  if (chosen.length === 0) throw new UsageError(`--mutant "${glob}" matches no mutant (\`aiospec list\` shows them, as mutant:NAME)`);
  return chosen;
}

const seconds = (s: number) => `${s.toFixed(3)} s`;

/** One mutant's line. */
export function mutantLine(r: MutantResult, width: number): string {
  const name = r.name.padEnd(width);
  if (r.status === "error") return `error     ${name} ${r.error}`;
  if (r.status === "survived") return `SURVIVED  ${name} passed every clause it was run on (${r.clausesRun})`;
  const k = r.kill!;
  const also = r.alsoKilledBy.length ? ` (also ${r.alsoKilledBy.join(", ")})` : "";
  return `killed    ${name} @${k.version} by ${k.clause}: ${k.cases} case${k.cases === 1 ? "" : "s"}, ${seconds(k.seconds)}, shrunk to ${k.steps} step${k.steps === 1 ? "" : "s"}${also}`;
}

/** The closing lines: killed / total, the medians next to their targets. */
export function totalsLines(t: MutantTotals): string[] {
  const lines = [`killed ${t.killed}/${t.mutants}${t.survived.length ? `; survived: ${t.survived.join(", ")}` : ""}${t.errors.length ? `; errors: ${t.errors.join(", ")}` : ""}`];
  if (t.medianSeconds !== null) {
    const met = (ok: boolean) => (ok ? "met" : "NOT met");
    lines.push(`median time to first failure ${seconds(t.medianSeconds)} (target < ${TARGETS.medianSeconds} s: ${met(t.medianSeconds < TARGETS.medianSeconds)}); median cases to first failure ${t.medianCases}`);
    lines.push(`median shrunk counterexample ${t.medianSteps} step${t.medianSteps === 1 ? "" : "s"} (target <= ${TARGETS.medianSteps}: ${met(t.medianSteps! <= TARGETS.medianSteps)})`);
  }
  return lines;
}

export async function cmdMutants(opts: MutantsOptions): Promise<number> {
  if (opts.stryker !== undefined) return cmdStryker(opts.stryker === true ? [STRYKER_REPORT] : [opts.stryker].flat());
  const names = await selectMutants(opts.mutant);
  const [{ huntMutants, mutantTotals }, { DEFAULT_RUNS, DEFAULT_TIMEOUT_MS }, { writeFileAtomic }] = await Promise.all([
    import("../running/mutants"),
    import("./commands"),
    import("../reporting/atomic"),
  ]);
  const runs = opts.runs ?? DEFAULT_RUNS;
  const json = opts.json === undefined ? undefined : path.resolve(opts.json);
  if (json && !fs.existsSync(path.dirname(json))) throw new UsageError(`--json ${opts.json}: directory ${path.dirname(json)} does not exist`);
  const runSeed = opts.seed ?? (Date.now() ^ (Math.random() * 2 ** 31)) | 0;
  const jobs = Math.min(opts.jobs ?? cores(), names.length);
  toStderr(`aiospec mutants: ${names.length} mutant(s), ${runs} runs a clause, seed ${runSeed}, ${jobs} job(s)${opts.python ? `, Python ${opts.python} only` : ""}\n`);
  const started = Date.now();
  const abort = new AbortController();
  const interrupt = () => abort.abort();
  process.once("SIGINT", interrupt);
  const width = Math.max(...names.map((n) => n.length));
  // Lines in mutant order, each as soon as it and those before it are done.
  const done = new Map<number, MutantResult>();
  let shown = 0;
  const search = { runs, seed: runSeed, timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, version: opts.python, signal: abort.signal };
  let results: Array<MutantResult | undefined>;
  try {
    results = await huntMutants(names, search, jobs, (i, r) => {
      done.set(i, r);
      for (; done.has(shown); shown++) toStdout(mutantLine(done.get(shown)!, width) + "\n");
    });
  } finally {
    process.off("SIGINT", interrupt);
  }
  const finished = results.filter((r): r is MutantResult => r !== undefined);
  const totals = mutantTotals(finished);
  toStdout(totalsLines(totals).join("\n") + "\n");
  const elapsedMs = Date.now() - started;
  toStderr(`aiospec mutants: ${(elapsedMs / 1000).toFixed(1)} s${abort.signal.aborted ? `; interrupted after ${finished.length} mutant(s)` : ""}\n`);
  if (json) {
    const report = { seed: runSeed, runs, jobs, python: opts.python ?? null, elapsedMs, complete: !abort.signal.aborted, totals, mutants: finished };
    writeFileAtomic(json, JSON.stringify(report, null, 2) + "\n");
    toStderr(`aiospec: wrote ${path.relative(process.cwd(), json) || json}\n`);
  }
  if (abort.signal.aborted) return 130;
  if (totals.errors.length) return 2;
  return totals.survived.length ? 1 : 0;
}

// ---------------------------------------------------------------- --stryker

/** Where stryker.config.mjs has the JSON reporter write. */
export const STRYKER_REPORT = ".aiospec/mutation/mutation.json";

/** The parts of a mutation-testing-report-schema report that are printed. */
interface StrykerReport {
  files: Record<string, { mutants: StrykerMutant[] }>;
  testFiles?: Record<string, { tests: Array<{ id: string; name: string }> }>;
}
interface StrykerMutant {
  id: string;
  mutatorName: string;
  replacement?: string;
  status: "Killed" | "Survived" | "Timeout" | "NoCoverage" | "CompileError" | "RuntimeError" | "Ignored" | "Pending";
  killedBy?: string[];
  location: { start: { line: number; column: number } };
}

/** Stryker's counts: detected (killed, timed out) over detected and undetected (survived, not covered). */
export function strykerScore(mutants: readonly StrykerMutant[]): { killed: number; timeout: number; survived: number; noCoverage: number; other: number; score: number | null } {
  const n = (st: StrykerMutant["status"]) => mutants.filter((m) => m.status === st).length;
  const killed = n("Killed");
  const timeout = n("Timeout");
  const survived = n("Survived");
  const noCoverage = n("NoCoverage");
  const valid = killed + timeout + survived + noCoverage;
  return { killed, timeout, survived, noCoverage, other: mutants.length - valid, score: valid ? ((killed + timeout) / valid) * 100 : null };
}

const STRYKER_LABELS: Record<StrykerMutant["status"], string> = {
  Killed: "killed",
  Timeout: "timeout",
  Survived: "SURVIVED",
  NoCoverage: "NO COVER",
  CompileError: "error",
  RuntimeError: "error",
  Ignored: "ignored",
  Pending: "pending",
};

function readStrykerReport(file: string): StrykerReport {
  let report: StrykerReport;
  try {
    report = JSON.parse(fs.readFileSync(file, "utf8")) as StrykerReport;
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file (run `npm run mutation` first)" : (e as Error).message.split("\n")[0];
    throw new UsageError(`--stryker ${file}: ${why}`);
  }
  if (typeof report.files !== "object" || report.files === null) throw new UsageError(`--stryker ${file}: not a Stryker JSON report (no "files")`);
  return report;
}

/**
 * Print the mutants of one or more Stryker runs and their score as one. Several
 * reports are the named runs of docs/mutation.md, each over other modules; a
 * module in two of them would be counted twice, so that is refused.
 */
function cmdStryker(files: string[]): number {
  const all: StrykerMutant[] = [];
  const seen = new Map<string, string>();
  const reports = files.map((file) => ({ file, report: readStrykerReport(file) }));
  for (const { file, report } of reports) {
    for (const name of Object.keys(report.files)) {
      const other = seen.get(name);
      if (other !== undefined) throw new UsageError(`--stryker: ${name} is in both ${other} and ${file}; give each module's report once`);
      seen.set(name, file);
    }
  }
  for (const { report } of reports) {
    // Test ids to names (ids are per report): the clause suite names each test "reference@3.X clause.id".
    const names = new Map<string, string>();
    for (const t of Object.values(report.testFiles ?? {}).flatMap((f) => f.tests)) names.set(t.id, t.name);
    for (const [name, f] of Object.entries(report.files)) {
      for (const m of [...f.mutants].sort((a, b) => a.location.start.line - b.location.start.line || a.location.start.column - b.location.start.column)) {
        all.push(m);
        const where = `${name}:${m.location.start.line}:${m.location.start.column}`;
        const what = `${m.mutatorName}${m.replacement !== undefined ? ` -> ${JSON.stringify(m.replacement.split("\n")[0].slice(0, 40))}` : ""}`;
        const by = m.killedBy?.length ? ` by ${m.killedBy.map((id) => names.get(id) ?? `test ${id}`).join(", ")}` : "";
        toStdout(`${STRYKER_LABELS[m.status].padEnd(9)} ${where} ${what}${by}\n`);
      }
    }
  }
  const t = strykerScore(all);
  const score = t.score === null ? "no mutant tested" : `${t.score.toFixed(2)}%`;
  toStdout(
    `Stryker mutation score ${score}: ${t.killed + t.timeout} detected (${t.killed} killed, ${t.timeout} timed out), ${t.survived} survived, ${t.noCoverage} not covered` +
      `${t.other ? `, ${t.other} not counted (errors, ignored)` : ""}; ${all.length} mutants in ${seen.size} file(s)` +
      `${files.length > 1 ? ` from ${files.length} reports` : ""}\n`,
  );
  return t.survived + t.noCoverage > 0 ? 1 : 0;
}

/** Register the command on the aiospec program; `setCode` receives its exit code. */
export function addMutantsCommand(program: Command, setCode: (code: number) => void): void {
  program
    .command("mutants")
    .description("run the clauses on every mutant (implementations/mutants): killed or survived, by which clause, how fast, how small")
    .option("--mutant <glob>", "only mutants whose name matches, e.g. 'gather-*' (comma-separated globs)")
    .option("--runs <n>", "scenarios per clause (default: aiospec run's, 100)", positive("runs"))
    .option("--seed <s>", "run seed, a 32-bit integer (default: random, printed)", seed)
    .option("--jobs <n>", `mutants hunted in parallel (default: ${cores()}, the cores here)`, positive("jobs"))
    .option("--timeout-ms <n>", "time limit for one scenario (default: aiospec run's)", positive("timeout-ms", 2 ** 31 - 1, " (the longest timer Node can set)"))
    .option("--python <3.X>", `try the mutants at this reference version only (default: every profile, ${VERSIONS.join(", ")}, starting with ${NEWEST}, the one aiospec run uses)`, python)
    .option("--json <file>", "write the per-mutant figures and the totals as JSON")
    .option("--stryker [reports...]", `instead: print the mutants of the last StrykerJS run over the reference (npm run mutation; docs/mutation.md) from its JSON report (default: ${STRYKER_REPORT}); several reports (named runs over other modules) are scored as one`)
    .addHelpText("after", "\nExit codes: 0 every mutant killed, 1 some survived, 2 usage error or harness failure, 130 interrupted.")
    .action(async (opts: MutantsOptions) => {
      setCode(await cmdMutants(opts));
    });
}
