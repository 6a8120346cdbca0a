/**
 * What dist/ is built from, and whether it is current.
 *
 * The inputs of `npm run build` are hashed (their paths and contents); the
 * build writes the hash to dist/.build-inputs. scripts/build.js skips a
 * build whose inputs have not changed, and bin/aiospec.js, in a checkout,
 * runs the compiled dist/ only when it was built from exactly the sources
 * that are there, never an older build.
 */
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const crypto = require("node:crypto");

const ROOT = path.resolve(__dirname, "..");
const DIST = path.join(ROOT, "dist");
const STAMP = path.join(DIST, ".build-inputs");

/** What the build reads: a change to any of these makes dist/ stale. */
const INPUT_DIRS = ["harness", "spec", "implementations"];
const INPUT_FILES = ["package.json", "tsconfig.json", "tsconfig.build.json", "scripts/build.js", "scripts/build-inputs.js"];

function filesUnder(dir) {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === "__pycache__" ? [] : filesUnder(rel);
    return [rel];
  });
}

function inputsHash() {
  const hash = crypto.createHash("sha256");
  for (const rel of [...INPUT_FILES, ...INPUT_DIRS.flatMap(filesUnder)].sort()) {
    hash.update(rel).update("\0").update(fs.readFileSync(path.join(ROOT, rel))).update("\0");
  }
  return hash.digest("hex");
}

/** dist/ was built from these inputs (the hash a build wrote matches). */
function builtFrom(hash) {
  try {
    return fs.readFileSync(STAMP, "utf8").trim() === hash;
  } catch {
    return false;
  }
}

/** dist/ is the build of the sources as they are now. */
function distIsCurrent() {
  try {
    return builtFrom(inputsHash());
  } catch {
    return false; // a file vanished while being hashed: someone is editing; use the sources
  }
}

module.exports = { ROOT, DIST, STAMP, inputsHash, builtFrom, distIsCurrent };
