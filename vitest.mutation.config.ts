/**
 * The vitest configuration StrykerJS runs (stryker.config.json,
 * docs/mutation.md): the clause suite on the reference, and nothing else.
 *
 * Stryker runs it in a sandbox, a copy of the repository under
 * .stryker-tmp/, where implementations/reference is mutated. The clauses
 * that compare a trace with the reference's (differential.trace and a few
 * exact ones) must not compare the mutant with itself: the oracle plugin
 * below makes the runner's two oracle imports (the reference and the
 * interpreter that runs it) load the repository's own, unmutated files.
 * Outside a sandbox it changes nothing.
 */
import * as path from "node:path";
import { defineConfig } from "vitest/config";
import type { Plugin } from "vite";

const SANDBOX = `${path.sep}.stryker-tmp${path.sep}`;
const here = __dirname;
const original = here.includes(SANDBOX) ? here.slice(0, here.indexOf(SANDBOX)) : null;

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
