/**
 * The aiospec command line (see docs/cli.md and ../shared/design.md):
 *
 *   aiospec list [--json]
 *   aiospec replay FILE.json --impl ID [--json]
 *   aiospec diff ID_A ID_B [--runs N] [--seed S] [--path P]
 *
 * Exit codes: 0 success / no divergence, 1 divergence, 2 usage error or
 * harness failure (one line on stderr says what).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Command, CommanderError, InvalidArgumentError } from "commander";
import { parseScenarioText } from "../spec/scenario/validate";
import { canonicalJson, firstDifference } from "../spec/scenario/trace";
import { findClauses } from "../spec/clauses";
import type { Clause } from "../spec/clauses/clause";
import { ClauseResult, runClause } from "./runner";
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

async function cmdRun(opts: { impl: string; clause?: string; runs: number; seed?: number; path?: string; json?: string }): Promise<number> {
  const clauses = findClauses(opts.clause);
  if (clauses.length === 0) throw new UsageError(`no clause matches "${opts.clause}" (see \`aiospec list\`)`);
  const target = await resolveTarget(opts.impl);
  const seed = opts.seed ?? (Date.now() ^ (Math.random() * 2 ** 31)) | 0;
  const results: ClauseResult[] = [];
  try {
    process.stderr.write(`aiospec run: ${target.id} (${target.description}); ${clauses.length} clause(s), ${opts.runs} runs each, seed ${seed}\n`);
    for (const c of clauses) {
      const r = await runClause(c, target, { runs: opts.runs, seed, path: opts.path });
      results.push(r);
      const tag = { pass: "PASS", fail: "FAIL", skip: "SKIP", error: "ERROR" }[r.status];
      process.stdout.write(`${tag.padEnd(5)} ${c.id} [${c.level}]${r.status === "skip" || r.status === "error" ? ` — ${r.reason}` : ` (${r.runs} scenarios, ${r.elapsedMs} ms)`}\n`);
      if (r.counterexample) process.stdout.write(describeCounterexample(c, target, r) + "\n");
    }
  } finally {
    target.close();
  }
  const failed = results.filter((r) => r.status === "fail").length;
  const errors = results.filter((r) => r.status === "error").length;
  process.stdout.write(`${results.filter((r) => r.status === "pass").length} passed, ${failed} failed, ${results.filter((r) => r.status === "skip").length} skipped${errors ? `, ${errors} errors` : ""}\n`);
  if (opts.json) fs.writeFileSync(opts.json, JSON.stringify({ implementation: target.id, version: target.version, seed, results }, null, 2) + "\n");
  return errors > 0 ? 2 : failed > 0 ? 1 : 0;
}

function describeCounterexample(c: Clause, target: Target, r: ClauseResult): string {
  const x = r.counterexample!;
  const lines = [
    `  ${c.statement}`,
    `  ${x.verdict}: ${x.message}`,
    "  Scenario (JSON):",
    JSON.stringify(x.scenario, null, 2).replace(/^/gm, "    "),
    "  As a Python program:",
    toPython(x.scenario, { title: `aiospec: ${c.id} fails on ${target.id}` }).replace(/^/gm, "    "),
  ];
  if (x.trace) lines.push(`  Trace of ${target.id}:`, formatTrace(x.trace).replace(/^/gm, "  "));
  if (x.expected) lines.push(`  Expected (reference@${target.version}):`, formatTrace(x.expected).replace(/^/gm, "  "));
  if (x.trace && x.expected) lines.push("  First difference:", formatDifference(firstDifference(x.trace, x.expected), target.id, "expected").replace(/^/gm, "  "));
  lines.push(`  Replay: npx aiospec run --impl ${target.id} --clause ${c.id} --seed ${r.seed} --path ${x.path} (clause seed ${r.seed})`);
  return lines.join("\n");
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
  if (opts.json) {
    process.stdout.write(JSON.stringify({ implementations: impls }, null, 2) + "\n");
  } else {
    for (const i of impls) process.stdout.write(`${i.available ? " " : "-"} ${i.id.padEnd(22)} ${i.description}\n`);
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
    .description("list the implementations aiospec can run here")
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
    .description("run the specification's clauses against one implementation")
    .requiredOption("--impl <id>", "implementation id (see `aiospec list`)")
    .option("--clause <glob>", "only clauses whose id matches, e.g. 'gather.*'")
    .option("--runs <n>", "scenarios per clause", intOption("runs", 1), 100)
    .option("--seed <s>", "seed (default: random, printed)", seedOption)
    .option("--path <p>", "fast-check path: replay one case (with --clause and the clause seed)")
    .option("--json <file>", "write the results as JSON")
    .action(async (opts) => {
      code = await cmdRun(opts);
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
      if (e.code === "commander.helpDisplayed" || e.code === "commander.help" || e.code === "commander.version") return 0;
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
