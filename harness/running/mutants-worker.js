// Entry point of a mutants worker process (see huntMutants in mutants.ts).
// Plain JavaScript, as pool-worker.js: it makes require() able to load
// TypeScript with the isolation layer's cached transpiler, then hands over
// to the worker proper.
"use strict";
const path = require("node:path");
require("../targets/isolation/ts-loader").register(path.join(__dirname, "..", "..", "tsconfig.json"));
require("./mutants-worker.ts");
