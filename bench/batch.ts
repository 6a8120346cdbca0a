/**
 * The differential section's scenarios as the driver's input: N generated
 * scenarios (seed 42, as bench/throughput.ts samples them), one request a
 * line, on stdout. For profiling the driver alone:
 *
 *   npx ts-node -T bench/batch.ts 2000 3.11 > /tmp/batch.jsonl
 *   python3 -m cProfile -o /tmp/driver.prof implementations/python/aiospec_driver.py < /tmp/batch.jsonl > /dev/null
 */
import * as fc from "fast-check";
import { scenarioArb } from "../spec/scenario/arbitraries";
import { isReferenceVersion } from "../implementations/reference";

const n = Number(process.argv[2] ?? 2000);
const version = process.argv[3] ?? "3.11";
if (!Number.isInteger(n) || n < 1 || !isReferenceVersion(version)) {
  process.stderr.write("usage: ts-node -T bench/batch.ts N 3.X (a version the reference models)\n");
  process.exit(2);
}
const scenarios = fc.sample(scenarioArb({ version }), { numRuns: n, seed: 42 });
process.stdout.write(scenarios.map((s, i) => JSON.stringify({ id: i, scenario: s })).join("\n") + "\n");
