// npm run mutation: StrykerJS over the reference, killed by the clause suite
// as `aiospec run --impl reference` runs it (vitest.mutation.config.ts,
// test/mutation/). docs/mutation.md.
//
// AIOSPEC_MUTATION_RUN=NAME keeps a run apart from the others, so that several
// can run at once in one checkout (one module each, say): its sandbox is
// .stryker-tmp-NAME/, its incremental results and reports are under
// .aiospec/mutation/NAME/. Without it: .stryker-tmp/ and .aiospec/mutation/.
const name = process.env.AIOSPEC_MUTATION_RUN ?? "";
if (!/^[A-Za-z0-9_-]*$/.test(name)) {
  throw new Error(`AIOSPEC_MUTATION_RUN must be letters, digits, - or _ (got ${JSON.stringify(name)})`);
}
const out = name ? `.aiospec/mutation/${name}` : ".aiospec/mutation";

export default {
  $schema: "./node_modules/@stryker-mutator/core/schema/stryker-schema.json",
  packageManager: "npm",
  testRunner: "vitest",
  vitest: { configFile: "vitest.mutation.config.ts" },
  mutate: ["implementations/reference/**/*.ts"],
  coverageAnalysis: "perTest",
  concurrency: 2,
  incremental: true,
  incrementalFile: `${out}/stryker-incremental.json`,
  reporters: ["clear-text", "progress", "json", "html"],
  jsonReporter: { fileName: `${out}/mutation.json` },
  htmlReporter: { fileName: `${out}/mutation.html` },
  // Other runs' sandboxes are not copied into this one's.
  ignorePatterns: [".peers", "scratch", "dist", "bench", "examples", "docs", ".aiospec", "tmp-*.ts", ".stryker-tmp*"],
  tempDirName: name ? `.stryker-tmp-${name}` : ".stryker-tmp",
  cleanTempDir: true,
};
