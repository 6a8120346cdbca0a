/**
 * aiospec diff: generate scenarios until two implementations' traces differ,
 * then print the shrunk counterexample (docs/cli.md, "diff").
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { FEATURE_VERSIONS } from "../../spec/scenario/validate";
import { compareVersions } from "../../spec/scenario/versions";
import { checkCreatable, releaseNote } from "./commands";
import { Target, UsageError, resolvePair } from "../targets";
import { DiffResult, commonVersion, differential, divergenceSignature } from "../running/differential";
import { DiffSize, sizedScenarioArb } from "../running/sizes";
import { formatDifference, formatTrace } from "../reporting/format";
import { pythonTarget, toPython } from "../reproducing/python";
import { parseInterpreterId } from "../targets/discovery";
import { printableLines } from "../reporting/terminal";
import { checkPathExists, checkPathSyntax } from "./replay-path";

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

/** Where divergences are saved, relative to the working directory. */
const COUNTEREXAMPLES = path.join(".aiospec", "counterexamples");

function saveCounterexample(a: Target, b: Target, seed: number, scenario: unknown): string {
  const dir = path.resolve(COUNTEREXAMPLES);
  fs.mkdirSync(dir, { recursive: true });
  const safe = (s: string) => s.replace(/[^A-Za-z0-9_.@+-]/g, "_");
  const file = path.join(dir, `diff-${safe(a.id)}-vs-${safe(b.id)}-seed${seed}.json`);
  fs.writeFileSync(file, JSON.stringify(scenario, null, 2) + "\n");
  return path.relative(process.cwd(), file);
}

export interface DiffOptionsCli {
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

/**
 * The side the Python program follows (its Task, its Pyodide, its loop): the
 * first one that is a Python implementation (an interpreter id), not the
 * reference or a TypeScript module.
 */
function shownSide(a: Target, b: Target): Target {
  return parseInterpreterId(a.id) === null && parseInterpreterId(b.id) !== null ? b : a;
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
    toPython(d.scenario, { title: `aiospec counterexample: ${a.id} vs ${b.id}, seed ${f.seed}`, target: pythonTarget(shownSide(a, b)) }),
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

export async function cmdDiff(idA: string, idB: string, opts: DiffOptionsCli): Promise<number> {
  const ignore = opts.ignore ?? [];
  for (const p of ignore) if (p.trim() === "") throw new UsageError("--ignore needs a divergence signature (or a glob over signatures), as a divergence prints it");
  if (opts.path !== undefined) {
    checkPathSyntax(opts.path, "a divergence");
    if (opts.seed === undefined) throw new UsageError("--path replays a case of an earlier diff: give its --seed too");
  }
  // Where a divergence is saved: checked now, not after the search found one.
  checkCreatable(COUNTEREXAMPLES, `diff saves divergences in ${COUNTEREXAMPLES}`);
  // What the isolation layer did (a driver restarted after a crash, given up on): told at the end, by target.
  const restarts = new Map<string, { count: number; last: string; gaveUp: string | null }>();
  const [a, b] = await resolvePair(idA, idB, {
    onEvent: (e) => {
      const r = restarts.get(e.target) ?? { count: 0, last: "", gaveUp: null };
      if (e.kind === "restart") {
        r.count++;
        r.last = e.reason;
      } else r.gaveUp = e.reason;
      restarts.set(e.target, r);
    },
  });
  try {
    const seed = opts.seed ?? (Date.now() ^ (Math.random() * 2 ** 31)) | 0;
    if (opts.path !== undefined) {
      // The first search's generator (differential.ts): a path that leads nowhere is refused before anything runs.
      const unsupported = [...new Set([...(a.unsupported ?? []), ...(b.unsupported ?? [])])];
      checkPathExists(sizedScenarioArb(commonVersion(a, b), opts.size, unsupported), seed, opts.path, `the diff of ${a.id} and ${b.id} with seed ${seed}${opts.size === "small" ? "" : ` (--size ${opts.size})`}`, "--seed and --size of the diff");
    }
    process.stderr.write(printableLines(`aiospec diff: ${a.id} (${a.description}) vs ${b.id} (${b.description}); ${opts.runs} ${opts.size === "small" ? "" : `${opts.size} `}scenarios, seed ${seed}`) + "\n");
    const note = versionNote(a, b);
    if (note && !opts.json) process.stderr.write(printableLines(`note: ${note}`) + "\n");
    for (const t of [a, b]) {
      const release = releaseNote(t);
      if (release && !opts.json) process.stderr.write(printableLines(`note: ${release}`) + "\n");
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
    for (const [id, r] of restarts) {
      if (r.count > 0) process.stderr.write(printableLines(`aiospec: warning: ${id}: restarted ${r.count} time(s), the last after: ${r.last}`) + "\n");
      if (r.gaveUp !== null) process.stderr.write(printableLines(`aiospec: warning: ${id}: gave up: ${r.gaveUp}`) + "\n");
    }
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
    // The traces and messages quote both implementations: escaped for the terminal (terminal.ts).
    process.stdout.write(printableLines(lines.join("\n")) + "\n");
    return code;
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}
