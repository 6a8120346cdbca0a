/**
 * Entry point of a child process running an implementation under test
 * (started by harness/targets/isolation/child-engine.ts). Plain JavaScript: it
 * makes require() able to load TypeScript, then hands over to child.ts.
 */
"use strict";
const path = require("node:path");
require("./ts-loader").register(path.join(__dirname, "..", "..", "..", "tsconfig.json"));
// Stack traces of the implementation's errors point at its TypeScript lines.
if (typeof process.setSourceMapsEnabled === "function") process.setSourceMapsEnabled(true);
require("./child.ts");
