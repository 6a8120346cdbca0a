/**
 * The diff's harness work, one part at a time, for instruction counts
 * (docs/performance.md, profile 9). Two rounds of N scenarios of
 * `aiospec diff reference cpython-3.11` (seeds 42 and 43), after start-up
 * and the driver's hello, doing only:
 *
 *   gen    fast-check generating them (the search's withoutShrinking arbitrary)
 *   ref    gen, then each one's feature walk and the reference's run
 *   piped  gen, then each one sent to the driver, up to MAX_PIPELINE (64) in flight (the target's run)
 *   all    gen, ref and piped, and the comparison
 *
 * The difference of two N gives a part's cost a scenario, warm:
 *   valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null \
 *     node --single-threaded bench/diff-parts.js gen 1500
 * (--single-threaded: the collector and the compiler on the one thread
 * cachegrind counts). Runs the compiled harness: `npm run build` first.
 */
const path = require("node:path");
const fc = require("fast-check");
const dist = (m) => require(path.join(__dirname, "..", "dist", m));
const { diffScenarioArb, sameJson } = dist("harness/running/differential");
const { resolvePair } = dist("harness/targets");
const { makeReference } = dist("implementations/reference");
const { runScenario } = dist("harness/engine/interpreter");
const { withoutShrinking } = dist("spec/scenario/fastgen");
const { scenarioFeatures } = dist("spec/scenario/validate");

async function main() {
  const mode = process.argv[2];
  const n = Number(process.argv[3] ?? 1500);
  if (!["gen", "ref", "piped", "all"].includes(mode) || !(n > 0)) {
    console.error("usage: node bench/diff-parts.js gen|ref|piped|all N");
    process.exit(2);
  }
  const [a, b] = await resolvePair("reference", "cpython-3.11");
  try {
    const impl = makeReference("3.11");
    const arb = withoutShrinking(diffScenarioArb(a, b));
    await b.run({ aiospec: 1, coroutines: [{ name: "main", body: [] }] });
    for (let round = 0; round < 2; round++) {
      const scenarios = [];
      fc.assert(fc.property(arb, (s) => (scenarios.push(s), true)), { numRuns: n, seed: 42 + round });
      const expected = mode === "ref" || mode === "all" ? scenarios.map((s) => (scenarioFeatures(s), runScenario(impl, s))) : [];
      if (mode === "piped" || mode === "all") {
        const traces = await Promise.all(scenarios.map((s) => b.run(s)));
        const differ = mode === "all" ? traces.filter((t, i) => !sameJson(t, expected[i])).length : 0;
        if (differ > 0) throw new Error(`${differ} of the round's traces differ from the reference's: the parts would not be the diff's`);
      }
    }
  } finally {
    await a.close();
    await b.close();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
