#!/usr/bin/env node
/**
 * `aiospec diff reference cpython-3.X` in a process of its own, from the
 * compiled dist/ (npm run build first), for profiling the harness's side of
 * a differential run:
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/nprof bench/diff-profile.js [RUNS] [cpython-3.X]
 *   node bench/cpuprofile-top.js /tmp/nprof/*.cpuprofile 40
 *
 * A first short diff warms the code up; the second one (seed 42) is timed.
 */
"use strict";
const path = require("node:path");
const DIST = path.join(__dirname, "..", "dist");
const { resolvePair } = require(path.join(DIST, "harness", "targets", "index.js"));
const { differential } = require(path.join(DIST, "harness", "running", "differential.js"));

async function main() {
  const runs = Number(process.argv[2] ?? 3000);
  const [a, b] = await resolvePair("reference", process.argv[3] ?? "cpython-3.11");
  try {
    await differential(a, b, { runs: 300, seed: 1 });
    const r = await differential(a, b, { runs, seed: 42 });
    console.log(`diff ${a.id} ${b.id}: ${runs} scenarios in ${(r.elapsedMs / 1000).toFixed(2)} s, ${r.compared} compared${r.divergence ? ", diverged" : ""}`);
  } finally {
    await a.close();
    await b.close();
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
