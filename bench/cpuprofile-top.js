#!/usr/bin/env node
/**
 * The heaviest functions of a V8 CPU profile (node --cpu-prof), by self
 * time and by inclusive time, with the share of the samples:
 *
 *   node bench/cpuprofile-top.js FILE.cpuprofile [N]
 */
"use strict";
const fs = require("node:fs");

function main(file, top) {
  const profile = JSON.parse(fs.readFileSync(file, "utf8"));
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const label = (n) => {
    const f = n.callFrame;
    const where = f.url ? `${f.url.replace(/^.*\/(node_modules\/[^/]+|[^/]+\/[^/]+)\//, "$1/")}:${f.lineNumber + 1}` : "";
    return `${f.functionName || "(anonymous)"} ${where}`.trim();
  };
  // Time per sampled node: each sample lasts until the next one.
  const sampled = new Map();
  profile.samples.forEach((id, i) => sampled.set(id, (sampled.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0)));
  const self = new Map();
  const inclusive = new Map();
  let total = 0;
  for (const [id, us] of sampled) {
    total += us;
    const own = label(nodes.get(id));
    self.set(own, (self.get(own) ?? 0) + us);
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const l = label(nodes.get(cur));
      if (!seen.has(l)) inclusive.set(l, (inclusive.get(l) ?? 0) + us);
      seen.add(l);
    }
  }
  const show = (title, m) => {
    console.log(title);
    for (const [l, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      console.log(`${(us / 1000).toFixed(0).padStart(8)} ms ${((100 * us) / total).toFixed(1).padStart(5)}%  ${l}`);
    }
  };
  console.log(`${(total / 1000).toFixed(0)} ms sampled`);
  show("self time", self);
  show("inclusive time", inclusive);
}

main(process.argv[2], Number(process.argv[3] ?? 25));
