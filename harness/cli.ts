/**
 * The aiospec command line (see docs/cli.md, docs/reports.md and ../shared/design.md):
 *
 *   aiospec list [--json]
 *   aiospec run --impl ID [--clause GLOB] [--runs N] [--seed S] [--path P]
 *               [--json F] [--junit F] [--markdown F] [--html F] [--out DIR]
 *               [--baseline F [--update-baseline] [--strict]] [--timeout-ms N] [--jobs N]
 *   aiospec report [--out DIR] [--impl ID]... [--mutants] [--runs N] [--seed S] [--jobs N]
 *   aiospec replay FILE.json --impl ID [--json]
 *   aiospec diff ID_A ID_B [--runs N] [--seed S] [--path P]
 *
 * Exit codes: 0 success (conformant, matching the baseline, no divergence),
 * 1 conformance failures / divergence, 2 usage error or harness failure (one
 * line on stderr says what), 130 interrupted (the reports written hold the
 * clauses that finished, marked incomplete).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Command, CommanderError, InvalidArgumentError } from "commander";
import { parseScenarioText } from "../spec/scenario/validate";
import { canonicalJson, firstDifference } from "../spec/scenario/trace";
import { loadClauses } from "./clauseset";
import { defaultJobs } from "./pool";
import { DEFAULT_RUNS, DEFAULT_TIMEOUT_MS, REPORTS_DIR, cmdReport, cmdRun } from "./reports/commands";
import { Target, UsageError, findCPython, resolvePair, resolveTarget, whichSync } from "./targets";
import { DiffResult, Divergence, differential } from "./differential";
import { formatDifference, formatTrace } from "./format";
import { toPython } from "./reproducers/python";
import { MUTANTS } from "../implementations/mutants";
import { VERSIONS } from "../implementations/reference";

function intOption(name: string, min: number) {
  return (value: string): number => {
    if (!/^-?\d+$/.test(value)) throw new InvalidArgumentError(`${name} must be an integer`);
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
    return n;
  };
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
    throw new UsageError(`${target.id} could not run ${file}: ${(e as Error).message}`);
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

function saveCounterexample(a: Target, b: Target, seed: number, scenario: unknown): string {
  const dir = path.resolve(".aiospec", "counterexamples");
  fs.mkdirSync(dir, { recursive: true });
  const safe = (s: string) => s.replace(/[^A-Za-z0-9_.@+-]/g, "_");
  const file = path.join(dir, `diff-${safe(a.id)}-vs-${safe(b.id)}-seed${seed}.json`);
  fs.writeFileSync(file, JSON.stringify(scenario, null, 2) + "\n");
  return path.relative(process.cwd(), file);
}

/** A short key for a divergence: where the traces part and how, ignoring the details. */
export function divergenceSignature(d: Divergence): string {
  const diff = d.difference;
  if (diff === null) return "no-trace";
  const where = diff.where.replace(/\[\d+\]/, "");
  const shape = (x: unknown): string => {
    if (typeof x !== "object" || x === null) return String(x);
    const o = x as Record<string, unknown>;
    return typeof o.ev === "string" ? `${o.ev}` : typeof o.state === "string" ? `${o.state}` : Object.keys(o).sort().join(",");
  };
  const keys = (x: unknown) => (typeof x === "object" && x !== null ? Object.keys(x as object) : []);
  const a = diff.a as Record<string, unknown>;
  const b = diff.b as Record<string, unknown>;
  const changed = [...new Set([...keys(a), ...keys(b)])]
    .filter((k) => JSON.stringify(a?.[k]) !== JSON.stringify(b?.[k]))
    .sort();
  return `${where}:${shape(a)}/${shape(b)}:${changed.join(",")}`;
}

function describeDivergence(a: Target, b: Target, idA: string, idB: string, seed: number, result: DiffResult): string {
  const d = result.divergence!;
  const file = saveCounterexample(a, b, seed, d.scenario);
  return [
    `DIVERGENCE between ${a.id} and ${b.id} (after ${result.runs} scenarios, shrunk ${result.shrinks ?? 0} times)`,
    "",
    "Scenario (JSON):",
    JSON.stringify(d.scenario, null, 2),
    "",
    "Scenario as a Python program:",
    toPython(d.scenario, { title: `aiospec counterexample: ${a.id} vs ${b.id}, seed ${seed}` }),
    `Trace of ${a.id}:`,
    formatTrace(d.a),
    "",
    `Trace of ${b.id}:`,
    formatTrace(d.b),
    "",
    "First difference:",
    formatDifference(d.difference, a.id, b.id),
    "",
    `Seed ${seed}, path ${result.path ?? "-"}. Replay it with:`,
    `  npx aiospec diff ${idA} ${idB} --seed ${seed} --path ${result.path ?? ""}`,
    `  npx aiospec replay ${file} --impl ${a.id}`,
    "",
  ].join("\n");
}

async function cmdDiff(
  idA: string,
  idB: string,
  opts: { runs: number; seed?: number; path?: string; distinct: number },
): Promise<number> {
  const [a, b] = await resolvePair(idA, idB);
  try {
    const seed = opts.seed ?? (Date.now() ^ (Math.random() * 2 ** 31)) | 0;
    process.stderr.write(`aiospec diff: ${a.id} (${a.description}) vs ${b.id} (${b.description}); ${opts.runs} scenarios, seed ${seed}\n`);
    const progress = progressReporter(opts.runs);
    // Each search stops at its first divergence; with --distinct N, new
    // searches (next seeds) go on, within the --runs budget, until N
    // divergences of different shapes are found.
    const found = new Map<string, { seed: number; result: DiffResult }>();
    let used = 0;
    let elapsed = 0;
    const skipped: Record<string, number> = {};
    for (let i = 0; used < opts.runs && found.size < opts.distinct; i++) {
      const s = (seed + i) | 0;
      const base = used;
      const result = await differential(a, b, {
        runs: opts.runs - used, seed: s, path: i === 0 ? opts.path : undefined, onRun: (n) => progress.tick(base + n),
      });
      used += result.runs;
      elapsed += result.elapsedMs;
      for (const [f, n] of Object.entries(result.skipped)) skipped[f] = (skipped[f] ?? 0) + n;
      if (!result.divergence) break;
      const sig = divergenceSignature(result.divergence);
      if (!found.has(sig)) found.set(sig, { seed: s, result });
      if (opts.path) break;
    }
    progress.done();
    if (found.size === 0) {
      const rate = (used / Math.max(elapsed, 1)) * 1000;
      process.stdout.write(`no divergence: ${used} scenarios in ${(elapsed / 1000).toFixed(1)} s (${rate.toFixed(0)} scenarios/s), seed ${seed}\n`);
      for (const [feature, n] of Object.entries(skipped)) {
        process.stdout.write(`  ${n} scenario(s) skipped: they use ${feature}, which an implementation declares unsupported\n`);
      }
      return 0;
    }
    const parts = [...found.values()].map(({ seed: s, result }) => describeDivergence(a, b, idA, idB, s, result));
    if (opts.distinct > 1) {
      parts.push(`${found.size} distinct divergence(s) in ${used} scenarios:`);
      for (const sig of found.keys()) parts.push(`  ${sig}`);
      parts.push("");
    }
    process.stdout.write(parts.join("\n"));
    return 1;
  } finally {
    a.close();
    b.close();
  }
}

async function cmdList(opts: { json?: boolean }): Promise<number> {
  const impls: Array<{ id: string; description: string; available: boolean }> = [];
  for (const v of VERSIONS) impls.push({ id: `reference@${v}`, description: `TypeScript reference, Python ${v} profile`, available: true });
  const python3 = whichSync("python3");
  impls.push({ id: "cpython", description: `python3 on PATH${python3 ? ` (${python3})` : ""}`, available: python3 !== null });
  for (const v of VERSIONS) {
    const found = findCPython(v);
    impls.push({ id: `cpython-${v}`, description: found.path || `not found (looked for ${found.looked.join(" and ")})`, available: !!found.path });
    impls.push({ id: `cpython-${v}+pytask`, description: `${found.path || "not found"}, pure-Python Task`, available: !!found.path });
  }
  for (const m of MUTANTS) impls.push({ id: `mutant:${m.name}`, description: m.description, available: true });
  const clauses = loadClauses().map((c) => ({ id: c.id, level: c.level, versions: [...c.versions], statement: c.statement }));
  if (opts.json) {
    process.stdout.write(JSON.stringify({ implementations: impls, clauses }, null, 2) + "\n");
  } else {
    process.stdout.write("Implementations (- = not available here):\n");
    for (const i of impls) process.stdout.write(`${i.available ? " " : "-"} ${i.id.padEnd(22)} ${i.description}\n`);
    process.stdout.write(`\nClauses (${clauses.length}):\n`);
    for (const c of clauses) process.stdout.write(`  ${c.id.padEnd(40)} ${c.level.padEnd(10)} ${c.versions.join(",").padEnd(15)} ${c.statement}\n`);
  }
  return 0;
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
    .option("--runs <n>", "scenarios per clause", intOption("runs", 1), DEFAULT_RUNS)
    .option("--seed <s>", "run seed, a 32-bit integer (default: random, printed)", seedOption)
    .option("--path <p>", "replay one case: the fast-check path a failure printed (with its --seed and --clause)")
    .option("--json <file>", "write the JSON report (harness/reports/report.schema.json)")
    .option("--junit <file>", "write a JUnit XML report (one test case per clause)")
    .option("--markdown <file>", "write a Markdown summary (e.g. $GITHUB_STEP_SUMMARY)")
    .option("--html <file>", "write a self-contained HTML page")
    .option("--out <dir>", "write every format into DIR (report.json, junit.xml, report.md, report.html)")
    .option("--baseline <file>", "known failures: failures listed there do not fail the run (docs/reports.md)")
    .option("--update-baseline", "rewrite the --baseline file from this run's failures")
    .option("--strict", "with --baseline: an unexpected pass (a listed failure that passes) fails the run")
    .option("--timeout-ms <n>", "time limit for one scenario on the implementation", intOption("timeout-ms", 1), DEFAULT_TIMEOUT_MS)
    .option("--jobs <n>", `clauses run in parallel, each job with its own implementation instance (default: ${defaultJobs()}, the cores here)`, intOption("jobs", 1))
    .addHelpText(
      "after",
      "\nExit codes: 0 conformant (or only the baseline's known failures), 1 failures, 2 usage error or harness failure, 130 interrupted (Ctrl-C; reports are written, marked incomplete).",
    )
    .action(async (opts) => {
      code = await cmdRun(opts);
    });

  program
    .command("report")
    .description("regenerate the conformance matrix (implementations here × clauses) into reports/")
    .option("--out <dir>", "where to write matrix.json, index.html and summary.md", REPORTS_DIR)
    .option("--impl <id>", "an implementation for the matrix (repeatable; default: reference@3.11..3.13 and every cpython-3.X found)", (v: string, prev: string[] = []) => [...prev, v])
    .option("--mutants", "add every mutant (mutant:NAME) to the matrix")
    .option("--clause <glob>", "only clauses whose id matches")
    .option("--runs <n>", "scenarios per clause", intOption("runs", 1), DEFAULT_RUNS)
    .option("--seed <s>", "run seed (fixed by default, so the committed reports are reproducible)", seedOption, 1)
    .option("--timeout-ms <n>", "time limit for one scenario", intOption("timeout-ms", 1), DEFAULT_TIMEOUT_MS)
    .option("--jobs <n>", "clauses run in parallel", intOption("jobs", 1))
    .action(async (opts) => {
      code = await cmdReport(opts);
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
    .action(async (a, b, opts) => {
      code = await cmdDiff(a, b, opts);
    });

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
    if (e instanceof UsageError) {
      process.stderr.write(`aiospec: ${e.message}\n`);
      return 2;
    }
    process.stderr.write(`aiospec: internal error: ${(e as Error).stack ?? e}\n`);
    return 2;
  }
}
