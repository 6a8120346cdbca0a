/**
 * The vitest configuration StrykerJS runs (stryker.config.mjs,
 * docs/mutation.md): the clause suite on the reference, and nothing else.
 *
 * Stryker runs it in a sandbox, a copy of the repository under
 * .stryker-tmp/ (or .stryker-tmp-NAME/), where implementations/reference is mutated. The clauses
 * that compare a trace with the reference's (differential.trace and a few
 * exact ones) must not compare the mutant with itself: the oracle plugin
 * below makes the runner's two oracle imports (the reference and the
 * interpreter that runs it) load the repository's own, unmutated files.
 * Outside a sandbox it changes nothing.
 */
import * as path from "node:path";
import { defineConfig } from "vitest/config";
import type { Plugin } from "vite";

/** A sandbox's folder: .stryker-tmp, or .stryker-tmp-NAME for a named run (stryker.config.mjs). */
const SANDBOX = /[\\/]\.stryker-tmp(-[A-Za-z0-9_-]+)?[\\/]/;
const here = __dirname;
const inSandbox = SANDBOX.exec(here);
const original = inSandbox ? here.slice(0, inSandbox.index) : null;

/** The runner's imports that produce the expected trace. */
const ORACLE_IMPORTS = new Map([
  ["../../implementations/reference", "implementations/reference/index.ts"],
  ["../engine/interpreter", "harness/engine/interpreter.ts"],
]);

function unmutatedOracle(): Plugin {
  const runner = path.join(here, "harness", "running", "runner.ts");
  return {
    name: "aiospec-unmutated-oracle",
    enforce: "pre",
    resolveId(source, importer) {
      if (original === null || importer === undefined || path.resolve(importer) !== runner) return null;
      const file = ORACLE_IMPORTS.get(source);
      return file ? path.join(original, file) : null;
    },
  };
}

export default defineConfig({
  plugins: [unmutatedOracle()],
  test: {
    // Not *.test.ts: npm test (vitest.config.ts) must not run the clause suite a second time.
    include: ["test/mutation/clauses.mutation.ts"],
    testTimeout: 300_000,
  },
});
