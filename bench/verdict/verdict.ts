/**
 * Time to verdict: the full `aiospec run --impl ID` (every clause, 100
 * scenarios each, default jobs), timed from outside as a user waits for it,
 * on the reference, on a module implementation, on each CPython 3.8-3.14
 * (absent ones listed), and, with --realtime, on a real-clock loop.
 *
 * Each row also gives the run's CPU time, every process included; after
 * cpython-3.11 comes the same run with the memo of traces turned off
 * (AIOSPEC_MEMO=off), to show what asking each distinct case once saves.
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
  /**
   * Runs per row, one after the other: the row is the fastest of them
   * (with its CPU time), and gives every run's time. This VM's speed
   * drifts by up to 1.5x between minutes (docs/performance.md, profiles 7
   * and 11): the fastest run is the closest to the machine's own speed.
   */
  rounds: number;
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

/**
 * The run's CPU time, every process of it (the CLI, its pool workers, the
 * drivers they started): bash's `times` after the CLI has exited gives its
 * children's user and system time, and every process of the run was waited
 * for by its parent, so each one's time is in there. On 2 cores the wall
 * time of a CPU-bound run is at least half of it, and it moves much less
 * with the machine's load than the wall time does.
 */
function aiospecWithCpu(args: string[], timeoutMs: number, env?: NodeJS.ProcessEnv): Promise<Finished & { cpu?: number }> {
  const quoted = [process.execPath, CLI, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
  const script = `${quoted}; rc=$?; times >&2; exit $rc`;
  return runTimed("bash", ["-c", script], { timeoutMs, env: { ...process.env, CI: "1", ...env } }).then((f) => {
    // `times` prints two lines: the shell's own user/sys, then its children's ("0m12.345s 0m0.678s").
    const lines = f.stderr.trimEnd().split("\n");
    const m = /^(\d+)m([\d.]+)s (\d+)m([\d.]+)s$/.exec(lines[lines.length - 1] ?? "");
    if (m === null) return f;
    const cpu = Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4]);
    return { ...f, stderr: lines.slice(0, -2).join("\n"), cpu };
  });
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

async function verdictRow(id: string, opts: VerdictOptions, env?: NodeJS.ProcessEnv, label?: string): Promise<Row> {
  const name = `run --impl ${id}${label ? ` (${label})` : ""}`;
  opts.log(`verdict: ${name}`);
  const runs: Array<Finished & { cpu?: number }> = [];
  for (let k = 0; k < Math.max(1, opts.rounds); k++) {
    const f = await aiospecWithCpu(["run", "--impl", id], opts.timeoutMs, env);
    if (!verdictReached(f)) return missing("verdict", name, "failed", whyNot(f, opts.timeoutMs));
    runs.push(f);
  }
  const f = runs.reduce((best, r) => (r.seconds < best.seconds ? r : best));
  const row = ok("verdict", name, f.seconds, f.cpu !== undefined ? { cpu: f.cpu } : undefined);
  row.note = summary(f);
  if (runs.length > 1) row.note += `; fastest of ${runs.length} runs (${runs.map((r) => `${r.seconds.toFixed(2)} s`).join(", ")})`;
  if (label !== undefined) return row;
  if (opts.split.includes(id)) {
    opts.log(`verdict: ${name} --jobs 1 (phases)`);
    const split = await timeSplit(id, opts.timeoutMs);
    if (typeof split === "string") row.note += `; phases not measured: ${split}`;
    else row.figures = { ...row.figures, ...split };
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
    // What the memo of traces saves (harness/running/memo.ts): the same run asking every case afresh.
    if (c.id === "cpython-3.11" && c.found && c.run) rows.push(await verdictRow(c.id, opts, { AIOSPEC_MEMO: "off" }, "memo off"));
  }
  const rt = opts.realtime;
  const rtName = `run --impl ${rt.id}`;
  if (!rt.found) rows.push(missing("verdict", rtName, "absent", rt.why ?? "not found"));
  else if (!rt.run) rows.push(missing("verdict", rtName, "not run", "not run (use --realtime)"));
  else rows.push(await verdictRow(rt.id, opts));
  return withRatios(rows, "run --impl reference");
}
