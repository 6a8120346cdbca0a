#!/usr/bin/env node
// The aiospec command.
//
// Which JavaScript runs is chosen by what is next to this file, never by a flag:
//  - the installed package (npm pack ships dist/, not the sources): the
//    JavaScript compiled by `npm run build`, which prepack runs;
//  - a checkout of the repository (harness/cli/cli.ts is here): the compiled
//    dist/ when it was built from exactly these sources (its recorded hash of
//    the build's inputs matches: scripts/build-inputs.js; `npm test` builds
//    first), otherwise the TypeScript sources through ts-node (transpile
//    only; type checking is `npm run typecheck`'s job). So the developer loop
//    needs no build and never runs JavaScript older than the sources, and a
//    built checkout starts as fast as the package (ts-node transpiling the
//    harness in every process costs seconds).
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const root = path.join(__dirname, "..");
const sources = path.join(root, "harness", "cli", "cli.ts");

// Output piped into `head` and the like: stop quietly when the reader goes away.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (e) => {
    if (e && e.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw e;
  });
}

let cli;
if (fs.existsSync(sources) && !require("../scripts/build-inputs.js").distIsCurrent()) {
  // An implementation that imports "aiospec/pyexc" must get the same module
  // the harness runs: the "aiospec-source" export condition maps the entries
  // to these sources in the processes the harness starts (a project linking
  // this checkout). (Exceptions are recognised across copies anyway:
  // harness/engine/brand.ts.)
  process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ""} --conditions=aiospec-source`.trim();
  require("ts-node").register({ transpileOnly: true, project: path.join(root, "tsconfig.json") });
  cli = require(sources);
} else {
  cli = require("../dist/harness/cli/cli.js");
}
cli.main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
