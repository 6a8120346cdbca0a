#!/usr/bin/env node
/**
 * A/B of the diff's harness CPU per scenario between two built trees (each
 * with its own dist/: `npm run build` in each; a tree can be `git archive`d
 * into a directory with node_modules linked), in ONE process, rounds
 * alternated, so that the load of a shared machine falls on both alike:
 *
 *   node bench/ab-diff.js TREE_A TREE_B [RUNS=3000] [ROUNDS=8] [cpython-3.11]
 *
 * Each tree gets its own reference and driver; each round runs
 * `differential(reference, cpython-3.X, {runs, seed})` on one tree then the
 * other (the order flips every round), seeds 1-3 (clean on 3.11 and 3.13 at
 * 3,000 runs), after a 500-scenario warm-up of each. Prints the harness's CPU
 * per scenario (process.cpuUsage: every thread of this process, not the
 * drivers) and the wall per scenario, least / median / most over the rounds.
 *
 * Caveat, measured (2026-12-06, load 10-13): the load order biases the
 * figures by up to 15%. Two A/A runs of one tree against a copy of itself,
 * first-loaded / second-loaded: least 0.428 / 0.353 and 0.373 / 0.413 ms,
 * median 0.569 / 0.527 and 0.530 / 0.510. Run both orders (A B, then B A),
 * average them, and trust only a difference larger than that.
 */
"use strict";
const path = require("node:path");

function load(root) {
  const dist = path.join(path.resolve(root), "dist");
  return {
    resolvePair: require(path.join(dist, "harness/targets/index.js")).resolvePair,
    differential: require(path.join(dist, "harness/running/differential.js")).differential,
  };
}

function stats(xs) {
  const s = [...xs].sort((x, y) => x - y);
  return `least ${s[0].toFixed(3)} median ${s[s.length >> 1].toFixed(3)} most ${s[s.length - 1].toFixed(3)}`;
}

async function main() {
  const [treeA, treeB] = process.argv.slice(2, 4);
  if (!treeA || !treeB) {
    console.error("usage: node bench/ab-diff.js TREE_A TREE_B [RUNS] [ROUNDS] [cpython-3.X]");
    process.exit(2);
  }
  const runs = Number(process.argv[4] ?? 3000);
  const rounds = Number(process.argv[5] ?? 8);
  const impl = process.argv[6] ?? "cpython-3.11";
  const cpuMs = () => {
    const c = process.cpuUsage();
    return (c.user + c.system) / 1000;
  };
  const sides = [];
  for (const tree of [treeA, treeB]) {
    const m = load(tree);
    const [a, b] = await m.resolvePair("reference", impl);
    await m.differential(a, b, { runs: 500, seed: 1 });
    sides.push({ tree, m, a, b, cpu: [], wall: [] });
  }
  try {
    for (let r = 0; r < rounds; r++) {
      for (const s of r % 2 ? [sides[1], sides[0]] : sides) {
        const seed = 1 + ((r >> 1) % 3);
        const c0 = cpuMs();
        const w0 = Date.now();
        const out = await s.m.differential(s.a, s.b, { runs, seed });
        if (out.divergence) throw new Error(`${s.tree}: seed ${seed} diverged after ${out.runs} scenarios: the rounds would not be comparable`);
        s.cpu.push((cpuMs() - c0) / runs);
        s.wall.push((Date.now() - w0) / runs);
      }
    }
    for (const s of sides) console.log(`${s.tree}: harness CPU ms/scenario ${stats(s.cpu)} | wall ms/scenario ${stats(s.wall)}`);
  } finally {
    for (const s of sides) {
      await s.a.close();
      await s.b.close();
    }
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
