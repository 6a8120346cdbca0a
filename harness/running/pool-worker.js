// Entry point of a pool worker process (see pool.ts). Plain JavaScript: it
// makes require() able to load TypeScript with the isolation layer's cached
// transpiler (harness/targets/isolation/ts-loader.js: the same transpile-only emit
// as ts-node, cached on disk, so a worker starts in a fraction of a second
// once the cache is warm), then hands over to the worker proper.
"use strict";
const path = require("node:path");
require("../targets/isolation/ts-loader").register(path.join(__dirname, "..", "..", "tsconfig.json"));
require("./pool-worker.ts");
