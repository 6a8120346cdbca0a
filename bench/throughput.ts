/**
 * Differential throughput, side by side in one run (not a test):
 *
 *   1. reference alone: N scenarios through the TS interpreter on the reference;
 *   2. driver alone: the same N scenarios piped into the Python driver as one
 *      batch of JSON lines, no harness in the loop;
 *   3. harness, driver only: the same scenarios through DriverProcess, one
 *      request in flight at a time (what `aiospec diff` does);
 *   4. `aiospec diff reference cpython`: generation + both sides + comparison.
 *
 * Usage: npx ts-node -T bench/throughput.ts [N] [python]
 */
import { spawnSync } from "node:child_process";
import * as fc from "fast-check";
import { scenarioArb } from "../spec/scenario/arbitraries";
import { runScenario } from "../harness/engine/interpreter";
import { makeReference, isReferenceVersion as isPythonVersion } from "../implementations/reference";
import { DriverProcess } from "../harness/targets/driver";
import { DRIVER_PATH, resolvePair } from "../harness/targets";
import { differential } from "../harness/running/differential";

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 5000);
  const python = process.argv[3] ?? "python3";
  const probe = spawnSync(python, ["-c", "import sys; print('%d.%d' % sys.version_info[:2])"], { encoding: "utf8" });
  const version = probe.stdout.trim();
  if (!isPythonVersion(version)) throw new Error(`${python} is Python ${version}`);
  const scenarios = fc.sample(scenarioArb({ version }), { numRuns: n, seed: 42 });
  const rows: Array<[string, number]> = [];

  let t0 = process.hrtime.bigint();
  const impl = makeReference(version);
  for (const s of scenarios) runScenario(impl, s);
  rows.push(["reference alone (TS interpreter + reference)", elapsed(t0)]);

  const input = scenarios.map((s, i) => JSON.stringify({ id: i, scenario: s })).join("\n") + "\n";
  t0 = process.hrtime.bigint();
  const r = spawnSync(python, [DRIVER_PATH], { input, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(String(r.stderr));
  rows.push([`driver alone (${python}, one batch on stdin)`, elapsed(t0)]);

  const driver = new DriverProcess(python, ["-u", DRIVER_PATH]);
  await driver.hello;
  t0 = process.hrtime.bigint();
  for (const s of scenarios) await driver.run(s);
  rows.push(["harness -> driver, one request in flight", elapsed(t0)]);
  driver.close();

  const [a, b] = await resolvePair("reference", python === "python3" ? "cpython" : `cpython-${version}`);
  const result = await differential(a, b, { runs: n, seed: 42 });
  rows.push([`aiospec diff reference cpython-${version} (generate, run both, compare)`, result.elapsedMs / 1000]);
  a.close();
  b.close();

  const base = rows[1][1];
  console.log(`${n} scenarios, Python ${version}, ${new Date().toISOString()}`);
  console.log("what".padEnd(66), "seconds".padStart(8), "scen/s".padStart(8), "vs driver alone".padStart(16));
  for (const [what, secs] of rows) {
    console.log(what.padEnd(66), secs.toFixed(2).padStart(8), (n / secs).toFixed(0).padStart(8), `${(secs / base).toFixed(2)}x`.padStart(16));
  }
}

function elapsed(t0: bigint): number {
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
