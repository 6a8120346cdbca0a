/**
 * Time to verdict: the full `aiospec run --impl ID` (every clause, 100
 * scenarios each, default jobs), timed from outside as a user waits for it,
 * on the reference, on a module implementation, on each CPython 3.8-3.14
 * (absent ones listed), and, with --realtime, on a real-clock loop.
 *
 * For the targets named in `split`, a second run with `--jobs 1` and the
 * timed clause set (probe-clauses.ts) splits the wall time into phases:
 *   start-up    process start to the first generated scenario (loading the
 *               code, resolving and starting the target);
 *   generation  fast-check generating scenarios and shrink candidates;
 *   running     the rest of the clause loop: the target running scenarios
 *               (round trips to a driver included) and fast-check's own work;
 *   comparing   the clauses' checks, with the reference run for the expected trace;
 *   reporting   the end of the last check to the process's exit (summary, reports, shutdown).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ROOT, runTimed, type Finished } from "../lib/child";
import { ok, missing, withRatios, type Row } from "../lib/rows";

const CLI = path.join(ROOT, "bin", "aiospec.js");
const MODULE_ID = "bench/verdict/reference-module.ts";
const PROBE = path.join(ROOT, "bench", "verdict", "probe-clauses.ts");

export interface VerdictOptions {
  /** The CPython ids (found or not), cpython-3.8 ...; those with run false are listed as "not run". */
  cpythons: Array<{ id: string; found: boolean; why?: string; run: boolean }>;
  /** The real-clock id and whether it is here; run only with --realtime. */
  realtime: { id: string; found: boolean; why?: string; run: boolean };
  /** Ids whose time is split into phases. */
  split: string[];
  timeoutMs: number;
  log: (line: string) => void;
}

interface Phases {
  pid: number;
  generationMs: number;
  comparingMs: number;
  cases: number;
  firstCase: number;
  lastCheck: number;
}

function aiospec(args: string[], timeoutMs: number, env?: NodeJS.ProcessEnv): Promise<Finished> {
  return runTimed(process.execPath, [CLI, ...args], { timeoutMs, env: { ...process.env, CI: "1", ...env } });
}

/** The verdict is in: exit 0 (all pass) or 1 (failures); anything else is a failure of the run. */
function verdictReached(f: Finished): boolean {
  return !f.timedOut && (f.code === 0 || f.code === 1);
}

function whyNot(f: Finished, timeoutMs: number): string {
  if (f.timedOut) return `stopped after ${Math.round(timeoutMs / 1000)} s`;
  return `exit ${f.code}: ${f.stderr.trim().split("\n").slice(-1)[0]?.slice(0, 160) ?? ""}`;
}

/** The summary line `aiospec run` ends with: "129 passed, 0 failed, 8 skipped". */
function summary(f: Finished): string {
  return f.stdout.match(/^\d+ passed.*$/m)?.[0] ?? "";
}

async function timeSplit(id: string, timeoutMs: number): Promise<Record<string, number> | string> {
  const file = path.join(os.tmpdir(), `aiospec-bench-phases-${process.pid}-${Date.now()}.jsonl`);
  const started = performance.timeOrigin + performance.now();
  const f = await aiospec(["run", "--impl", id, "--jobs", "1"], timeoutMs, { AIOSPEC_CLAUSES: PROBE, AIOSPEC_BENCH_PHASES: file });
  const ended = started + f.seconds * 1000;
  if (!verdictReached(f)) return whyNot(f, timeoutMs);
  const lines = fs.existsSync(file) ? fs.readFileSync(file, "utf8").trim().split("\n") : [];
  fs.rmSync(file, { force: true });
  if (lines.length !== 1) return `the probe reported ${lines.length} processes`;
  const p = JSON.parse(lines[0]) as Phases;
  const loop = p.lastCheck - p.firstCase;
  return {
    total: f.seconds,
    startup: (p.firstCase - started) / 1000,
    generation: p.generationMs / 1000,
    running: (loop - p.generationMs - p.comparingMs) / 1000,
    comparing: p.comparingMs / 1000,
    reporting: (ended - p.lastCheck) / 1000,
    cases: p.cases,
  };
}

async function verdictRow(id: string, opts: VerdictOptions): Promise<Row> {
  const name = `run --impl ${id}`;
  opts.log(`verdict: ${name}`);
  const f = await aiospec(["run", "--impl", id], opts.timeoutMs);
  if (!verdictReached(f)) return missing("verdict", name, "failed", whyNot(f, opts.timeoutMs));
  const row = ok("verdict", name, f.seconds);
  row.note = summary(f);
  if (opts.split.includes(id)) {
    opts.log(`verdict: ${name} --jobs 1 (phases)`);
    const split = await timeSplit(id, opts.timeoutMs);
    if (typeof split === "string") row.note += `; phases not measured: ${split}`;
    else row.figures = split;
  }
  return row;
}

export async function verdictRows(opts: VerdictOptions): Promise<Row[]> {
  const rows: Row[] = [];
  rows.push(await verdictRow("reference", opts));
  rows.push(await verdictRow(MODULE_ID, opts));
  for (const c of opts.cpythons) {
    const name = `run --impl ${c.id}`;
    if (!c.found) rows.push(missing("verdict", name, "absent", c.why ?? "not found"));
    else if (!c.run) rows.push(missing("verdict", name, "not run", "not run (--quick)"));
    else rows.push(await verdictRow(c.id, opts));
  }
  const rt = opts.realtime;
  const rtName = `run --impl ${rt.id}`;
  if (!rt.found) rows.push(missing("verdict", rtName, "absent", rt.why ?? "not found"));
  else if (!rt.run) rows.push(missing("verdict", rtName, "not run", "not run (use --realtime)"));
  else rows.push(await verdictRow(rt.id, opts));
  return withRatios(rows, "run --impl reference");
}
