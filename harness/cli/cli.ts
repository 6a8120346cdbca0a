/**
 * The aiospec command line (see docs/cli.md, docs/reports.md and ../shared/design.md):
 *
 *   aiospec list [--json]
 *   aiospec run --impl ID [--clause GLOB] [--runs N] [--seed S] [--path P]
 *               [--json F] [--junit F] [--markdown F] [--html F] [--out DIR]
 *               [--baseline F [--update-baseline] [--strict]] [--timeout-ms N] [--jobs N]
 *   aiospec report [--out DIR] [--impl ID]... [--mutants] [--runs N] [--seed S] [--jobs N]
 *   aiospec replay FILE.json --impl ID [--json]
 *   aiospec diff ID_A ID_B [--runs N] [--seed S] [--path P] [--distinct N] [--ignore SIG]... [--json]
 *               [--size small|medium|large]
 *
 * Exit codes: 0 success (conformant, matching the baseline, no divergence),
 * 1 conformance failures / divergence, 2 usage error or harness failure (one
 * line on stderr says what), 130 interrupted (the reports written hold the
 * clauses that finished, marked incomplete).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Command, CommanderError, InvalidArgumentError } from "commander";
import { FEATURE_VERSIONS, parseScenarioText } from "../../spec/scenario/validate";
import { canonicalJson } from "../../spec/scenario/trace";
import { compareVersions } from "../../spec/scenario/versions";
import { loadClauses } from "../running/clauseset";
import { defaultJobs } from "../running/pool";
import { DEFAULT_RUNS, DEFAULT_TIMEOUT_MS, REPORTS_DIR, cmdReport, cmdResume, cmdRun, releaseNote } from "./commands";
import { addMutantsCommand } from "./mutants";
import { REALTIME } from "../running/runner";
import { ImplementationError, Target, TargetFailure, UsageError, resolvePair, resolveTarget } from "../targets";
import { MAX_TIMER_MS } from "../targets/isolation/limits";
import { DiffResult, commonVersion, differential, divergenceSignature } from "../running/differential";
import { SIZES } from "../running/sizes";
import type { DiffSize } from "../running/sizes";
import { combineSelection, selectClauses } from "../running/glob";
import { PEERS_COMMAND, listInterpreters } from "../targets/discovery";
import { formatDifference, formatTrace } from "../reporting/format";
import { toPython } from "../reproducing/python";
import { MUTANTS } from "../../implementations/mutants";
import { VERSIONS } from "../../implementations/reference";

function intOption(name: string, min: number, max = Number.MAX_SAFE_INTEGER, why = "") {
  return (value: string): number => {
    if (!/^-?\d+$/.test(value)) throw new InvalidArgumentError(`${name} must be an integer`);
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
    if (n > max) throw new InvalidArgumentError(`${name} must be at most ${max}${why}`);
    return n;
  };
}

/** A time limit: Node's timers hold at most 2^31-1 ms (a longer one would fire at once). */
const timeoutOption = intOption("timeout-ms", 1, MAX_TIMER_MS, " (the longest timer Node can set, about 24.8 days)");

function sizeOption(value: string): DiffSize {
  if (!(SIZES as readonly string[]).includes(value)) throw new InvalidArgumentError(`size must be one of ${SIZES.join(", ")}`);
  return value as DiffSize;
}

/** fast-check seeds are 32-bit integers. */
function seedOption(value: string): number {
  if (!/^-?\d+$/.test(value)) throw new InvalidArgumentError("seed must be an integer");
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < -(2 ** 31) || n >= 2 ** 32) {
    throw new InvalidArgumentError("seed must be a 32-bit integer");
  }
  return n | 0;
}

async function cmdReplay(file: string, opts: { impl: string; json?: boolean }): Promise<number> {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const parsed = parseScenarioText(text);
  if (!parsed.ok) {
    const lines = parsed.errors.map((e) => `${file}: ${e.path}: ${e.message}`);
    throw new UsageError(lines.join("\n"));
  }
  const target = await resolveTarget(opts.impl);
  try {
    const trace = await target.run(parsed.scenario);
    if (opts.json) process.stdout.write(canonicalJson(trace) + "\n");
    else process.stdout.write(`# ${target.id}: ${target.description}\n${formatTrace(trace)}\n`);
    return 0;
  } catch (e) {
    // No trace (timeout, crash, error): the implementation's doing, exit 1.
    const Fault = e instanceof TargetFailure ? ImplementationError : UsageError;
    throw new Fault(`${target.id} could not run ${file}: ${(e as Error).message}`);
  } finally {
    target.close();
  }
}

function progressReporter(total: number): { tick: (n: number) => void; done: () => void } {
  const tty = process.stderr.isTTY && !process.env.CI;
  let last = 0;
  return {
    tick(n) {
      const now = Date.now();
      if (tty && now - last > 200) {
        last = now;
        process.stderr.write(`\r  ${n}/${total} scenarios`);
      } else if (!tty && n % 5000 === 0) {
        process.stderr.write(`  ${n}/${total} scenarios\n`);
      }
    },
    done() {
      if (tty) process.stderr.write("\r\x1b[K");
    },
  };
}

/** A word for a POSIX shell: as is when safe, else single-quoted (so that printed commands can be pasted). */
export function shellWord(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function saveCounterexample(a: Target, b: Target, seed: number, scenario: unknown): string {
  const dir = path.resolve(".aiospec", "counterexamples");
  fs.mkdirSync(dir, { recursive: true });
  const safe = (s: string) => s.replace(/[^A-Za-z0-9_.@+-]/g, "_");
  const file = path.join(dir, `diff-${safe(a.id)}-vs-${safe(b.id)}-seed${seed}.json`);
  fs.writeFileSync(file, JSON.stringify(scenario, null, 2) + "\n");
  return path.relative(process.cwd(), file);
}

export { divergenceSignature } from "../running/differential";

interface DiffOptionsCli {
  runs: number;
  seed?: number;
  path?: string;
  distinct: number;
  ignore?: string[];
  json?: boolean;
  size: DiffSize;
}

/** One divergence found: what the text and the JSON output show. */
interface Found {
  signature: string;
  seed: number;
  result: DiffResult;
  saved: string;
  replay: string[];
}

function replayCommands(a: Target, b: Target, seed: number, result: DiffResult, ignore: readonly string[], saved: string, size: DiffSize = "small"): string[] {
  const ignores = ignore.map((p) => ` --ignore ${shellWord(p)}`).join("");
  const sized = size === "small" ? "" : ` --size ${size}`;
  return [
    `npx aiospec diff ${shellWord(a.id)} ${shellWord(b.id)}${sized} --seed ${seed} --path ${shellWord(result.path ?? "")}${ignores}`,
    `npx aiospec replay ${shellWord(saved)} --impl ${shellWord(a.id)}`,
  ];
}

function describeDivergence(a: Target, b: Target, f: Found): string {
  const d = f.result.divergence!;
  return [
    `DIVERGENCE between ${a.id} and ${b.id} (after ${f.result.runs} scenarios, shrunk ${f.result.shrinks ?? 0} times)`,
    "",
    "Scenario (JSON):",
    JSON.stringify(d.scenario, null, 2),
    "",
    "Scenario as a Python program:",
    toPython(d.scenario, { title: `aiospec counterexample: ${a.id} vs ${b.id}, seed ${f.seed}` }),
    `Trace of ${a.id}:`,
    formatTrace(d.a),
    "",
    `Trace of ${b.id}:`,
    formatTrace(d.b),
    "",
    "First difference:",
    formatDifference(d.difference, a.id, b.id),
    "",
    `Signature: ${f.signature} (to pass over divergences of this shape and search on: --ignore ${shellWord(f.signature)})`,
    `Seed ${f.seed}, path ${f.result.path ?? "-"}. Replay it with:`,
    ...f.replay.map((c) => `  ${c}`),
    "",
  ].join("\n");
}

/** Why a feature's scenarios were skipped: who declares it unsupported, or which version lacks it. */
function skipWhy(feature: string, a: Target, b: Target): string {
  const who = [a, b].filter((t) => (t.unsupported ?? []).includes(feature)).map((t) => t.id);
  if (who.length > 0) return `${who.join(" and ")} declare${who.length === 1 ? "s" : ""} unsupported`;
  const since = FEATURE_VERSIONS[feature];
  return `Python ${commonVersion(a, b)} lacks${since ? ` (added in ${since})` : ""}`;
}

/** A line when the two sides are not the same Python (version, or release), or null. */
function versionNote(a: Target, b: Target): string | null {
  const full = (t: Target) => (t.fullVersion && t.fullVersion !== t.version ? ` (${t.fullVersion})` : "");
  if (compareVersions(a.version, b.version) !== 0) {
    const older = commonVersion(a, b);
    const newer = older === a.version ? b.version : a.version;
    return `${a.id} behaves as Python ${a.version}${full(a)} and ${b.id} as ${b.version}${full(b)}: the scenarios use only what ${older} has, and what changed up to ${newer} shows up as divergences`;
  }
  if (a.fullVersion && b.fullVersion && a.fullVersion !== b.fullVersion) {
    return `both behave as Python ${a.version}, but ${a.id} is ${a.fullVersion} and ${b.id} is ${b.fullVersion}`;
  }
  return null;
}

async function cmdDiff(idA: string, idB: string, opts: DiffOptionsCli): Promise<number> {
  const ignore = opts.ignore ?? [];
  for (const p of ignore) if (p.trim() === "") throw new UsageError("--ignore needs a divergence signature (or a glob over signatures), as a divergence prints it");
  if (opts.path !== undefined) {
    if (!/^\d+(:\d+)*$/.test(opts.path)) throw new UsageError(`bad --path "${opts.path}": expected numbers separated by colons, as a divergence prints it`);
    if (opts.seed === undefined) throw new UsageError("--path replays a case of an earlier diff: give its --seed too");
  }
  const [a, b] = await resolvePair(idA, idB);
  try {
    const seed = opts.seed ?? (Date.now() ^ (Math.random() * 2 ** 31)) | 0;
    process.stderr.write(`aiospec diff: ${a.id} (${a.description}) vs ${b.id} (${b.description}); ${opts.runs} ${opts.size === "small" ? "" : `${opts.size} `}scenarios, seed ${seed}\n`);
    const note = versionNote(a, b);
    if (note && !opts.json) process.stderr.write(`note: ${note}\n`);
    for (const t of [a, b]) {
      const release = releaseNote(t);
      if (release && !opts.json) process.stderr.write(`note: ${release}\n`);
    }
    const progress = progressReporter(opts.runs);
    // Each search stops at its first divergence; with --distinct N, new
    // searches (next seeds) go on, within the --runs budget, until N
    // divergences of different shapes are found.
    const found = new Map<string, Found>();
    let used = 0;
    let elapsed = 0;
    let compared = 0;
    let bothErrored = 0;
    let bothErroredExample: { a: string; b: string } | undefined;
    const skipped: Record<string, number> = {};
    const ignored: Record<string, number> = {};
    for (let i = 0; used < opts.runs && found.size < opts.distinct; i++) {
      const s = (seed + i) | 0;
      const base = used;
      const result = await differential(a, b, {
        runs: opts.runs - used, seed: s, path: i === 0 ? opts.path : undefined, ignore, onRun: (n) => progress.tick(base + n), size: opts.size,
      });
      used += result.runs;
      elapsed += result.elapsedMs;
      compared += result.compared;
      bothErrored += result.bothErrored;
      bothErroredExample ??= result.bothErroredExample;
      for (const [f, n] of Object.entries(result.skipped)) skipped[f] = (skipped[f] ?? 0) + n;
      for (const [g, n] of Object.entries(result.ignored)) ignored[g] = (ignored[g] ?? 0) + n;
      if (!result.divergence) break;
      const sig = divergenceSignature(result.divergence);
      if (!found.has(sig)) {
        const saved = saveCounterexample(a, b, s, result.divergence.scenario);
        found.set(sig, { signature: sig, seed: s, result, saved, replay: replayCommands(a, b, s, result, ignore, saved, opts.size) });
      }
      if (opts.path) break;
    }
    progress.done();
    const skippedTotal = Object.values(skipped).reduce((x, y) => x + y, 0);
    const ignoredTotal = Object.values(ignored).reduce((x, y) => x + y, 0);
    const code = found.size === 0 ? 0 : 1;
    if (opts.json) {
      const side = (t: Target, requested: string) => ({
        requested,
        id: t.id,
        version: t.version,
        fullVersion: t.fullVersion ?? null,
        description: t.description,
        clock: t.clock,
        unsupported: [...(t.unsupported ?? [])],
      });
      const out = {
        a: side(a, idA),
        b: side(b, idB),
        versionsDiffer: compareVersions(a.version, b.version) !== 0,
        note,
        seed,
        scenarios: used,
        compared,
        skipped,
        skippedTotal,
        bothErrored,
        bothErroredExample: bothErroredExample ?? null,
        ignored,
        ignoredTotal,
        elapsedMs: elapsed,
        divergences: [...found.values()].map((f) => ({
          signature: f.signature,
          seed: f.seed,
          path: f.result.path ?? null,
          shrinks: f.result.shrinks ?? 0,
          scenario: f.result.divergence!.scenario,
          a: f.result.divergence!.a,
          b: f.result.divergence!.b,
          difference: f.result.divergence!.difference,
          saved: f.saved,
          replay: f.replay,
        })),
      };
      process.stdout.write(JSON.stringify(out, null, 2) + "\n");
      return code;
    }
    const lines: string[] = [];
    if (found.size > 0) {
      lines.push(...[...found.values()].map((f) => describeDivergence(a, b, f)));
      if (opts.distinct > 1) {
        lines.push(`${found.size} distinct divergence(s) in ${used} scenarios:`);
        for (const sig of found.keys()) lines.push(`  ${sig}`);
        lines.push("");
      }
    } else {
      const rate = (used / Math.max(elapsed, 1)) * 1000;
      lines.push(`no divergence: ${used} scenarios in ${(elapsed / 1000).toFixed(1)} s (${rate.toFixed(0)} scenarios/s), seed ${seed}`);
    }
    if (note) lines.push(`note: ${note}`);
    lines.push(`${used} scenario${used === 1 ? "" : "s"}: ${compared} compared, ${skippedTotal} skipped, ${bothErrored} both errored, ${ignoredTotal} ignored`);
    for (const [feature, n] of Object.entries(skipped).sort((x, y) => y[1] - x[1])) {
      lines.push(`  skipped ${n}: they use ${feature}, which ${skipWhy(feature, a, b)}`);
    }
    if (bothErrored > 0) {
      const e = bothErroredExample!;
      lines.push(`  both errored ${bothErrored}: neither side produced a trace (not compared); the first: ${a.id}: ${e.a} | ${b.id}: ${e.b}`);
    }
    for (const [sig, n] of Object.entries(ignored).sort((x, y) => y[1] - x[1])) lines.push(`  ignored ${n}: ${sig}`);
    process.stdout.write(lines.join("\n") + "\n");
    return code;
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}

async function cmdList(opts: { json?: boolean }): Promise<number> {
  interface Row {
    id: string;
    kind: "reference" | "cpython" | "pypy" | "pyodide" | "mutant";
    status: "found" | "absent";
    available: boolean;
    version: string | null;
    fullVersion: string | null;
    path: string | null;
    package: { name: string; version: string } | null;
    description: string;
    why: string | null;
    install: string | null;
  }
  const rows: Row[] = [];
  const inProcess = (id: string, kind: Row["kind"], version: string | null, description: string): Row =>
    ({ id, kind, status: "found", available: true, version, fullVersion: null, path: null, package: null, description, why: null, install: null });
  for (const v of VERSIONS) rows.push(inProcess(`reference@${v}`, "reference", v, `TypeScript reference, Python ${v} profile`));
  for (const l of await listInterpreters()) {
    const found = l.status === "found";
    const description = found
      ? [l.path ?? "", l.package ? `${l.package.name} ${l.package.version}` : ""].filter(Boolean).join(", ")
      : `absent: ${l.why}; install: ${l.install}`;
    const { family, ...rest } = l;
    rows.push({ ...rest, kind: family, available: found, description });
  }
  for (const m of MUTANTS) rows.push(inProcess(`mutant:${m.name}`, "mutant", null, m.description));
  const clauses = loadClauses().map((c) => ({ id: c.id, level: c.level, versions: [...c.versions], statement: c.statement }));
  const peers = `${PEERS_COMMAND} (scripts/peers.sh, as in the README) installs the missing uvloop, nest_asyncio, PyPy and Pyodide peers; CPythons come from pyenv`;
  if (opts.json) {
    process.stdout.write(JSON.stringify({ implementations: rows, peers: PEERS_COMMAND, clauses }, null, 2) + "\n");
  } else {
    process.stdout.write("Implementations (- = absent here, with the command that installs it):\n");
    const width = Math.max(...rows.filter((r) => r.kind !== "mutant").map((r) => r.id.length)) + 1;
    for (const r of rows) {
      const version = r.fullVersion ?? r.version ?? "";
      process.stdout.write(`${r.available ? " " : "-"} ${r.id.padEnd(width)} ${version.padEnd(15)} ${r.description}\n`);
    }
    process.stdout.write(`\n${peers}.\n`);
    process.stdout.write(`\nClauses (${clauses.length}):\n`);
    for (const c of clauses) process.stdout.write(`  ${c.id.padEnd(40)} ${c.level.padEnd(10)} ${c.versions.join(",").padEnd(15)} ${c.statement}\n`);
  }
  return 0;
}

/** Commander's collector of a repeatable option. */
function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** --clause and --exclude as the one glob the run and report commands select with (running/glob.ts). */
function withSelection<T extends { clause?: string }>(opts: T & { exclude?: string[] }): T {
  const { exclude, ...rest } = opts;
  const clause = combineSelection(opts.clause, exclude);
  if (clause !== undefined) selectClauses(loadClauses(), clause); // a usage error now, before anything starts
  return { ...rest, clause } as unknown as T;
}

export async function main(argv: string[]): Promise<number> {
  let code = 0;
  const program = new Command();
  program
    .name("aiospec")
    .description("Executable specification of Python asyncio's task semantics")
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .showHelpAfterError(false);

  program
    .command("list")
    .description("list the implementations aiospec can run here, and the clauses")
    .option("--json", "machine-readable output")
    .action(async (opts) => {
      code = await cmdList(opts);
    });

  program
    .command("replay")
    .description("run one scenario file and print its trace")
    .argument("<file>", "scenario JSON file")
    .requiredOption("--impl <id>", "implementation id (see `aiospec list`)")
    .option("--json", "print the trace as canonical JSON")
    .action(async (file, opts) => {
      code = await cmdReplay(file, opts);
    });

  program
    .command("run")
    .description("check the specification's clauses against one implementation and write conformance reports")
    .requiredOption("--impl <id>", "implementation id (see `aiospec list`)")
    .option("--clause <glob>", "only clauses whose id matches, e.g. 'gather.*' (* any run, ? one character; comma-separated)")
    .option("--exclude <glob>", "leave out the clauses whose id matches (repeatable; same syntax as --clause)", collect)
    .option("--runs <n>", `scenarios per clause (default: ${DEFAULT_RUNS}; ${REALTIME.runs} on a real-clock implementation)`, intOption("runs", 1))
    .option("--seed <s>", "run seed, a 32-bit integer (default: random, printed)", seedOption)
    .option("--path <p>", "replay one case: the fast-check path a failure printed (with its --seed and --clause)")
    .option("--json <file>", "write the JSON report (harness/reporting/report.schema.json)")
    .option("--junit <file>", "write a JUnit XML report (one test case per clause)")
    .option("--markdown <file>", "write a Markdown summary (e.g. $GITHUB_STEP_SUMMARY)")
    .option("--html <file>", "write a self-contained HTML page")
    .option("--out <dir>", "write every format into DIR (report.json, junit.xml, report.md, report.html)")
    .option("--baseline <file>", "known failures: failures listed there do not fail the run (docs/reports.md)")
    .option("--update-baseline", "rewrite the --baseline file from this run's failures")
    .option("--strict", "with --baseline: an unexpected pass (a listed failure that passes) fails the run")
    .option("--timeout-ms <n>", `time limit for one scenario on the implementation (default: ${DEFAULT_TIMEOUT_MS}; ${REALTIME.timeoutMs} on a real-clock implementation)`, timeoutOption)
    .option("--jobs <n>", `clauses run in parallel, each job with its own implementation instance (default: ${defaultJobs()}, the cores here; ${REALTIME.jobs} on a real-clock implementation)`, intOption("jobs", 1))
    .addHelpText(
      "after",
      "\nExit codes: 0 conformant (or only the baseline's known failures), 1 failures (anything the implementation did: fail, error, timeout, crash, malformed output, not starting), 2 usage error or harness failure, 130 interrupted (Ctrl-C; reports are written, marked incomplete). Each finished clause is appended to aiospec-journal.jsonl next to the reports: `aiospec report --resume` makes reports from it.",
    )
    .action(async (opts) => {
      code = await cmdRun(withSelection(opts));
    });

  program
    .command("report")
    .description("regenerate the conformance matrix (implementations here × clauses) into reports/")
    .option("--out <dir>", "where to write matrix.json, index.html and summary.md", REPORTS_DIR)
    .option("--impl <id>", "an implementation for the matrix (repeatable; default: the references and every real asyncio aiospec knows, absent ones listed as absent)", (v: string, prev: string[] = []) => [...prev, v])
    .option("--mutants", "add every mutant (mutant:NAME) to the matrix")
    .option("--clause <glob>", "only clauses whose id matches")
    .option("--exclude <glob>", "leave out the clauses whose id matches (repeatable)", collect)
    .option("--runs <n>", `scenarios per clause (default: ${DEFAULT_RUNS}; ${REALTIME.runs} on a real-clock implementation)`, intOption("runs", 1))
    .option("--seed <s>", "run seed (fixed by default, so the committed reports are reproducible)", seedOption, 1)
    .option("--timeout-ms <n>", `time limit for one scenario (default: ${DEFAULT_TIMEOUT_MS}; ${REALTIME.timeoutMs} on a real-clock implementation)`, timeoutOption)
    .option("--jobs <n>", `clauses run in parallel (default: the cores here; ${REALTIME.jobs} on a real-clock implementation)`, intOption("jobs", 1))
    .option("--resume <journal>", "instead: write the reports of one `aiospec run` from its journal (aiospec-journal.jsonl), marked incomplete if the run did not end; into the journal's directory unless --out or a format is given")
    .option("--json <file>", "with --resume: write the JSON report")
    .option("--junit <file>", "with --resume: write the JUnit report")
    .option("--markdown <file>", "with --resume: write the Markdown summary")
    .option("--html <file>", "with --resume: write the HTML page")
    .action(async (opts, cmd: Command) => {
      if (opts.resume !== undefined) {
        const out = cmd.getOptionValueSource("out") === "default" ? undefined : opts.out;
        code = await cmdResume(opts.resume, { json: opts.json, junit: opts.junit, markdown: opts.markdown, html: opts.html, out });
        return;
      }
      for (const f of ["json", "junit", "markdown", "html"]) {
        if (opts[f] !== undefined) throw new UsageError(`report --${f} goes with --resume (the matrix is written into --out)`);
      }
      code = await cmdReport(withSelection(opts));
    });

  program
    .command("diff")
    .description("generate scenarios until two implementations' traces differ; print the shrunk counterexample")
    .argument("<implA>", "implementation id")
    .argument("<implB>", "implementation id")
    .option("--runs <n>", "number of scenarios", intOption("runs", 1), 1000)
    .option("--seed <s>", "fast-check seed (default: random, printed)", seedOption)
    .option("--path <p>", "fast-check path: replay exactly the case a previous run reported")
    .option("--distinct <n>", "keep searching (next seeds, within --runs) until N differently-shaped divergences are found", intOption("distinct", 1), 1)
    .option("--ignore <signature>", "pass over divergences with this signature (as a divergence prints it; * and ? glob) and search on (repeatable)", collect)
    .option("--json", "print the counts and the divergences as JSON")
    .option("--size <size>", "how big the generated scenarios are: small (default), medium, large (hundreds of tasks and timers, through repeat)", sizeOption, "small")
    .action(async (a, b, opts) => {
      code = await cmdDiff(a, b, opts);
    });

  addMutantsCommand(program, (c) => (code = c));

  try {
    await program.parseAsync(argv, { from: "user" });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version are successes; every other parse error is a usage error.
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version") return 0;
      if (e.code === "commander.help") return e.exitCode === 0 ? 0 : 2;
      return 2;
    }
    // The implementation could not start (it threw, hung or exited while loading, or said a bad hello): its fault, not the user's.
    // (Checked first: it is a UsageError to every other caller.)
    if (e instanceof ImplementationError) {
      process.stderr.write(`aiospec: ${e.message}\n`);
      return 1;
    }
    if (e instanceof UsageError) {
      process.stderr.write(`aiospec: ${e.message}\n`);
      return 2;
    }
    process.stderr.write(`aiospec: internal error: ${(e as Error).stack ?? e}\n`);
    return 2;
  }
}
