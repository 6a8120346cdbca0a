#!/usr/bin/env node
// The aiospec command.
//
// Two layouts, chosen by what is next to this file, never by a flag:
//  - a checkout of the repository (harness/cli/cli.ts is here): the
//    TypeScript sources run through ts-node (transpile only; type checking
//    is `npm run typecheck`'s job), so the developer loop needs no build and
//    can never run JavaScript older than the sources;
//  - the installed package (npm pack ships dist/, not the sources): the
//    JavaScript compiled by `npm run build`, which prepack runs.
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
if (fs.existsSync(sources)) {
  // An implementation that imports "aiospec/pyexc" must get the same module
  // the harness runs, or its exceptions are not the harness's PyBaseException:
  // the "aiospec-source" export condition maps the entries to these sources
  // in the processes the harness starts (a project linking this checkout).
  process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ""} --conditions=aiospec-source`.trim();
  require("ts-node").register({ transpileOnly: true, project: path.join(root, "tsconfig.json") });
  cli = require(sources);
} else {
  cli = require("../dist/harness/cli/cli.js");
}
cli.main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
