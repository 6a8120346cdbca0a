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
// What --help needs, and no more: each command loads its machinery when it
// runs (the clauses, the targets, the reporters take a second to load).
import * as fs from "node:fs";
import { Command, CommanderError, InvalidArgumentError } from "commander";
import { combineSelection } from "../running/glob";
import { REALTIME, defaultJobs } from "../running/defaults";
import type { DiffSize } from "../running/sizes";
import { ImplementationError, TargetFailure, UsageError } from "../targets/errors";
import { MAX_TIMER_MS } from "../targets/isolation/limits";
import { DEFAULT_RUNS, DEFAULT_TIMEOUT_MS, REPORTS_DIR } from "./defaults";
import { addMutantsCommand } from "./mutants";
import { formatTrace } from "../reporting/format";
import { printableLines } from "../reporting/terminal";
import { canonicalJson } from "../../spec/scenario/trace";
import { tuneCompiler } from "../running/v8";

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
  const { SIZES } = require("../running/sizes") as typeof import("../running/sizes");
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

export { printableLines } from "../reporting/terminal";

async function cmdReplay(file: string, opts: { impl: string; json?: boolean }): Promise<number> {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const { parseScenarioText } = await import("../../spec/scenario/validate");
  const { resolveTarget } = await import("../targets");
  const parsed = parseScenarioText(text);
  if (!parsed.ok) {
    const lines = parsed.errors.map((e) => `${file}: ${e.path}: ${e.message}`);
    throw new UsageError(lines.join("\n"));
  }
  const target = await resolveTarget(opts.impl);
  try {
    const trace = await target.run(parsed.scenario);
    if (opts.json) process.stdout.write(canonicalJson(trace) + "\n");
    // (The trace quotes the scenario's names and the implementation's messages.)
    else process.stdout.write(printableLines(`# ${target.id}: ${target.description}\n${formatTrace(trace)}`) + "\n");
    return 0;
  } catch (e) {
    // No trace (timeout, crash, error): the implementation's doing, exit 1.
    const Fault = e instanceof TargetFailure ? ImplementationError : UsageError;
    throw new Fault(`${target.id} could not run ${file}: ${(e as Error).message}`);
  } finally {
    target.close();
  }
}

/** Commander's collector of a repeatable option. */
function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** --clause and --exclude as the one glob the run and report commands select with (running/glob.ts). */
async function withSelection<T extends { clause?: string }>(opts: T & { exclude?: string[] }): Promise<T> {
  const { exclude, ...rest } = opts;
  const clause = combineSelection(opts.clause, exclude);
  if (clause !== undefined) {
    const [{ selectClauses }, { loadClauses }] = await Promise.all([import("../running/glob"), import("../running/clauseset")]);
    selectClauses(loadClauses(), clause); // a usage error now, before anything starts
  }
  return { ...rest, clause } as unknown as T;
}

export async function main(argv: string[]): Promise<number> {
  tuneCompiler();
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
      const { cmdList } = await import("./list");
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
      const { cmdRun } = await import("./commands");
      code = await cmdRun(await withSelection(opts));
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
        const { cmdResume } = await import("./commands");
        code = await cmdResume(opts.resume, { json: opts.json, junit: opts.junit, markdown: opts.markdown, html: opts.html, out });
        return;
      }
      for (const f of ["json", "junit", "markdown", "html"]) {
        if (opts[f] !== undefined) throw new UsageError(`report --${f} goes with --resume (the matrix is written into --out)`);
      }
      const { cmdReport } = await import("./commands");
      code = await cmdReport(await withSelection(opts));
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
      const { cmdDiff } = await import("./diff");
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
      process.stderr.write(`aiospec: ${printableLines(e.message)}\n`);
      return 1;
    }
    if (e instanceof UsageError) {
      process.stderr.write(`aiospec: ${printableLines(e.message)}\n`);
      return 2;
    }
    // A stack's message may quote an implementation or a scenario too.
    process.stderr.write(`aiospec: internal error: ${printableLines(String((e as Error)?.stack ?? e))}\n`);
    return 2;
  }
}
