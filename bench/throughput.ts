/**
 * Differential throughput, side by side in one run, on the same N generated
 * scenarios (seed 42):
 *
 *   1. reference alone: the TS interpreter on the reference, in this process;
 *   2. driver alone: the scenarios piped into the Python driver as one batch
 *      of JSON lines, no harness in the loop — the limit for a differential
 *      run against that CPython;
 *   3. harness -> driver: the same scenarios through DriverProcess, one
 *      request in flight at a time;
 *   4. `aiospec diff reference cpython-3.X`: generation, both sides, comparison
 *      (through the harness's own `differential`, as the CLI runs it).
 *
 * Part of `npm run bench` (bench/bench.ts); alone:
 *   npx ts-node -T bench/throughput.ts [N] [cpython-3.X]
 */
import { spawnSync } from "node:child_process";
import * as fc from "fast-check";
import { scenarioArb } from "../spec/scenario/arbitraries";
import { runScenario } from "../harness/engine/interpreter";
import { makeReference, isReferenceVersion } from "../implementations/reference";
import { DriverProcess } from "../harness/targets/driver";
import { DRIVER_PATH, resolvePair } from "../harness/targets";
import { differential } from "../harness/running/differential";
import { ok, missing, withRatios, type Row } from "./lib/rows";

export interface Peer {
  /** cpython-3.X */
  id: string;
  version: string;
  /** The interpreter, when found. */
  python?: string;
  why?: string;
}

function elapsed(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

function rate(n: number, name: string, seconds: number): Row {
  return ok("differential", name, seconds, { scenarios: n, perSecond: n / seconds });
}

/** Wall seconds of the driver reading a batch of requests from stdin to its exit. */
function batchSeconds(python: string, input: string): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(python, [DRIVER_PATH], { input, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`the driver failed: ${String(r.stderr).slice(-300)}`);
  return elapsed(t0);
}

/** The four rows for one CPython; the ratios are to the driver alone. */
export async function throughputRows(n: number, peer: Peer): Promise<Row[]> {
  const tag = `[${peer.id}, ${n} scenarios]`;
  const names = {
    reference: `reference alone ${tag}`,
    driver: `driver alone, one batch on stdin ${tag}`,
    harness: `harness -> driver, one request in flight ${tag}`,
    diff: `diff reference ${peer.id} ${tag}`,
  };
  if (!peer.python || !isReferenceVersion(peer.version)) {
    const why = peer.why ?? `the reference does not model Python ${peer.version}`;
    return Object.values(names).map((name) => missing("differential", name, "absent", why));
  }
  const scenarios = fc.sample(scenarioArb({ version: peer.version }), { numRuns: n, seed: 42 });
  const rows: Row[] = [];

  let t0 = process.hrtime.bigint();
  const impl = makeReference(peer.version);
  for (const s of scenarios) runScenario(impl, s);
  rows.push(rate(n, names.reference, elapsed(t0)));

  // The driver's own start-up (an empty batch) is taken off, as the harness
  // rows below start timing once the driver has said hello.
  const startup = batchSeconds(peer.python, "");
  const input = scenarios.map((s, i) => JSON.stringify({ id: i, scenario: s })).join("\n") + "\n";
  rows.push(rate(n, names.driver, batchSeconds(peer.python, input) - startup));

  const driver = new DriverProcess(peer.python, ["-u", DRIVER_PATH]);
  await driver.hello;
  t0 = process.hrtime.bigint();
  for (const s of scenarios) await driver.run(s);
  rows.push(rate(n, names.harness, elapsed(t0)));
  driver.close();

  const [a, b] = await resolvePair("reference", peer.id);
  try {
    const result = await differential(a, b, { runs: n, seed: 42 });
    rows.push(rate(n, names.diff, result.elapsedMs / 1000));
  } finally {
    await a.close();
    await b.close();
  }
  return withRatios(rows, names.driver);
}

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 5000);
  const id = process.argv[3] ?? "cpython-3.11";
  const version = id.replace(/^cpython-/, "");
  const which = spawnSync("node", ["bin/aiospec.js", "list", "--json"], { encoding: "utf8", cwd: `${__dirname}/..` });
  const found = (JSON.parse(which.stdout).implementations as Array<{ id: string; path: string | null }>).find((i) => i.id === id);
  const rows = await throughputRows(n, { id, version, python: found?.path ?? undefined });
  for (const row of rows) console.log(row.name.padEnd(72), row.seconds?.toFixed(2).padStart(7), `${row.ratio?.toFixed(2)}x`.padStart(7));
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
