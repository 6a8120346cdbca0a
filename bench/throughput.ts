/**
 * Differential throughput, side by side in one run, on the same N scenarios:
 * the ones `aiospec diff reference cpython-3.X --runs N --seed 42` generates
 * (harness/running/differential.ts diffScenarioArb, sampled with its seed):
 *
 *   1. reference alone: the TS interpreter on the reference, in this process;
 *   2. driver alone: the scenarios piped into the Python driver as one batch
 *      of JSON lines once it said hello, no harness in the loop — the limit
 *      for a differential run against that CPython;
 *   3. harness -> driver, one request in flight at a time (DriverProcess);
 *   4. harness -> driver, pipelined: every scenario handed to the target at
 *      once, the isolation layer keeping up to 64 (MAX_PIPELINE) in flight (what `diff` and
 *      `run` get from a driver whose hello says it pipelines);
 *   5. `aiospec diff reference cpython-3.X`: generation, both sides, comparison
 *      (through the harness's own `differential`, as the CLI runs it).
 *
 * Each is timed twice, the rounds interleaved, and the better time kept: the
 * load of a shared machine drifts over the seconds a row takes.
 *
 * Part of `npm run bench` (bench/bench.ts); alone:
 *   npx ts-node -T bench/throughput.ts [N] [cpython-3.X]
 */
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import * as fc from "fast-check";
import { runScenario } from "../harness/engine/interpreter";
import { makeReference, isReferenceVersion } from "../implementations/reference";
import { DriverProcess } from "../harness/targets/driver";
import { DRIVER_PATH, resolvePair } from "../harness/targets";
import { diffScenarioArb, differential } from "../harness/running/differential";
import { tuneCompiler } from "../harness/running/v8";
import type { PythonVersion } from "../spec/scenario/versions";
import { ok, missing, withRatios, type Row } from "./lib/rows";

export interface Peer {
  /** cpython-3.X */
  id: string;
  version: string;
  /** The interpreter, when found. */
  python?: string;
  why?: string;
}

const SEED = 42;
/** Rounds of each row (the better time kept); AIOSPEC_BENCH_ROUNDS overrides it (a loaded machine needs more). */
const ROUNDS = Math.max(1, Number(process.env.AIOSPEC_BENCH_ROUNDS ?? 2) || 2);
/** AIOSPEC_BENCH_VERBOSE=1: each round's CPU per scenario on stderr (the spread behind the least). */
const VERBOSE = process.env.AIOSPEC_BENCH_VERBOSE === "1";

function elapsed(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/**
 * Wall seconds of the driver serving a batch of requests: from its hello
 * (its start-up done) to its exit, the whole batch written to its stdin at
 * once and its replies read as they come, nothing else in the loop.
 */
function batchSeconds(python: string, input: string): Promise<{ seconds: number; cpu: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(python, [DRIVER_PATH], { stdio: ["pipe", "pipe", "pipe"] });
    let t0: bigint | null = null;
    let cpu0: number | null = null;
    let cpu: number | null = null;
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-300)));
    child.stdout.on("data", (d: Buffer) => {
      // Its CPU as of its latest output (the last reply comes just before it exits).
      cpu = processCpuSeconds(child.pid);
      if (t0 === null && d.includes(10)) {
        t0 = process.hrtime.bigint();
        cpu0 = cpu;
        child.stdin.end(input);
      }
    });
    child.on("error", reject);
    child.on("exit", (code) => {
      if (code !== 0 || t0 === null) reject(new Error(`the driver failed (exit code ${code}): ${stderr}`));
      else resolve({ seconds: elapsed(t0), cpu: cpu !== null && cpu0 !== null ? cpu - cpu0 : null });
    });
  });
}

/** A process's CPU seconds so far (user + system, /proc; null elsewhere), at the kernel's tick resolution. */
function processCpuSeconds(pid: number | undefined): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime (fields 14, 15), USER_HZ 100
  } catch {
    return null;
  }
}

/** This process's CPU seconds so far (user + system, every thread: V8's collector's too). */
function ownCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** The five rows for one CPython; the ratios are to the driver alone. */
export async function throughputRows(n: number, peer: Peer): Promise<Row[]> {
  // These rows run in this process, as the CLI runs a diff: with its V8 flags.
  tuneCompiler();
  const tag = `[${peer.id}, ${n} scenarios]`;
  const names = {
    reference: `reference alone ${tag}`,
    driver: `driver alone, one batch on stdin ${tag}`,
    single: `harness -> driver, one request in flight ${tag}`,
    piped: `harness -> driver, pipelined ${tag}`,
    diff: `diff reference ${peer.id} ${tag}`,
  };
  if (!peer.python || !isReferenceVersion(peer.version)) {
    const why = peer.why ?? `the reference does not model Python ${peer.version}`;
    return Object.values(names).map((name) => missing("differential", name, "absent", why));
  }
  const [a, b] = await resolvePair("reference", peer.id);
  try {
    const scenarios = fc.sample(diffScenarioArb(a, b), { numRuns: n, seed: SEED });
    const input = scenarios.map((s, i) => JSON.stringify({ id: i, scenario: s })).join("\n") + "\n";
    const impl = makeReference(peer.version as PythonVersion);
    const best: Record<keyof typeof names, number> = { reference: Infinity, driver: Infinity, single: Infinity, piped: Infinity, diff: Infinity };
    let compared = 0;
    // CPU seconds (least of the rounds) of the driver alone and of the harness during the diff.
    let driverCpu = Infinity;
    let diffCpu = Infinity;
    // The diff's time in its first round: the least warm the harness's code is in this run (profile 14).
    let firstDiff = Infinity;
    for (let round = 0; round < ROUNDS; round++) {
      let t0 = process.hrtime.bigint();
      for (const s of scenarios) runScenario(impl, s);
      best.reference = Math.min(best.reference, elapsed(t0));

      // Timed from the driver's hello, as the harness rows below are.
      const batch = await batchSeconds(peer.python, input);
      best.driver = Math.min(best.driver, batch.seconds);
      if (batch.cpu !== null) driverCpu = Math.min(driverCpu, batch.cpu);

      const driver = new DriverProcess(peer.python, ["-u", DRIVER_PATH]);
      await driver.hello;
      t0 = process.hrtime.bigint();
      for (const s of scenarios) await driver.run(s);
      best.single = Math.min(best.single, elapsed(t0));
      await driver.close();

      t0 = process.hrtime.bigint();
      await Promise.all(scenarios.map((s) => b.run(s)));
      best.piped = Math.min(best.piped, elapsed(t0));

      const cpu0 = ownCpuSeconds();
      const result = await differential(a, b, { runs: n, seed: SEED });
      const roundCpu = ownCpuSeconds() - cpu0;
      diffCpu = Math.min(diffCpu, roundCpu);
      if (VERBOSE) {
        const ms = (x: number | null): string => (x === null ? "?" : ((x * 1000) / n).toFixed(3));
        console.error(`round ${round}: harness ${ms(roundCpu)} ms/scenario during the diff, driver alone ${ms(batch.cpu)}; diff ${(result.elapsedMs / 1000).toFixed(2)} s, driver alone ${batch.seconds.toFixed(2)} s`);
      }
      if (result.divergence) throw new Error(`diff reference ${peer.id} --seed ${SEED} diverged: the rows would not be comparable`);
      compared = result.compared;
      if (round === 0) firstDiff = result.elapsedMs / 1000;
      best.diff = Math.min(best.diff, result.elapsedMs / 1000);
    }
    const rows: Row[] = (Object.keys(names) as Array<keyof typeof names>).map((k) => {
      const figures: Record<string, number> = { scenarios: n, perSecond: n / best[k] };
      // The measure: the diff's rate as a fraction of the driver-alone rate (target >= 0.8).
      if (k === "diff") {
        Object.assign(figures, { compared, ofDriverRate: best.driver / best.diff, firstRoundOfDriverRate: best.driver / firstDiff });
        // What a loaded machine's wall times hide: the CPU each side spends per scenario. With the
        // harness and the driver each on a core of their own, the diff runs at most at
        // driver / max(harness, driver) of the driver-alone rate (the target: 0.8).
        if (Number.isFinite(driverCpu) && driverCpu > 0) {
          Object.assign(figures, {
            harnessCpuMsPerScenario: (diffCpu * 1000) / n,
            driverCpuMsPerScenario: (driverCpu * 1000) / n,
            cpuBoundOfDriverRate: driverCpu / Math.max(diffCpu, driverCpu),
          });
        }
      }
      return ok("differential", names[k], best[k], figures);
    });
    return withRatios(rows, names.driver);
  } finally {
    await a.close();
    await b.close();
  }
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 5000);
  const id = process.argv[3] ?? "cpython-3.11";
  const version = id.replace(/^cpython-/, "");
  const which = spawnSync("node", ["bin/aiospec.js", "list", "--json"], { encoding: "utf8", cwd: `${__dirname}/..` });
  const found = (JSON.parse(which.stdout).implementations as Array<{ id: string; path: string | null }>).find((i) => i.id === id);
  const rows = await throughputRows(n, { id, version, python: found?.path ?? undefined });
  for (const row of rows) {
    const f = row.figures ?? {};
    const cpu = f.cpuBoundOfDriverRate !== undefined
      ? `; CPU per scenario: harness ${f.harnessCpuMsPerScenario.toFixed(3)} ms, driver ${f.driverCpuMsPerScenario.toFixed(3)} ms: at most ${f.cpuBoundOfDriverRate.toFixed(2)}x on 2 free cores`
      : "";
    const first = f.firstRoundOfDriverRate !== undefined ? `, ${f.firstRoundOfDriverRate.toFixed(2)}x in the first round` : "";
    const rate = f.ofDriverRate !== undefined ? `  (${f.ofDriverRate.toFixed(2)}x the driver-alone rate${first}${cpu})` : "";
    console.log(row.name.padEnd(72), row.seconds?.toFixed(2).padStart(7), `${row.ratio?.toFixed(2)}x`.padStart(7) + rate);
  }
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
