#!/usr/bin/env node
/**
 * npm run build: the package's JavaScript in dist/, from scratch.
 *
 * dist/ mirrors the repository (dist/harness, dist/spec, dist/implementations)
 * because the harness finds some files by their path relative to its own
 * (docs/dev/layout.md, "Files found at run time"): tsc compiles the
 * TypeScript, then the files that are not TypeScript are copied next to it:
 * the Python driver, the Pyodide driver, and the plain-JavaScript entries of
 * harness/ with the TypeScript loader. (The JSON schemas are imported, so tsc
 * emits them itself.)
 *
 * The build goes to a fresh directory that then replaces dist/ by renaming:
 * a compiled file whose source was deleted or moved does not linger, and a
 * test reading dist/ while another one packs never sees it half-built.
 *
 * A build whose inputs (the sources, the tsconfig files, package.json, this
 * script) have not changed since the last one is skipped: their hash is kept
 * in dist/.build-inputs (scripts/build-inputs.js). That is what lets `npm test` and `npm pack` build
 * every time (pretest, prepack) at the cost of hashing a few hundred files.
 * `--force` rebuilds anyway.
 */
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const { spawnSync } = require("node:child_process");
const { ROOT, DIST, inputsHash, builtFrom } = require("./build-inputs");

/** Where this build writes before it becomes dist/. */
const NEXT = path.join(ROOT, `.dist-${process.pid}`);

/** Files found by path at run time, copied as they are. */
const ASSETS = [
  { dir: "implementations/python", match: /\.py$/ },
  { dir: "implementations/pyodide", match: /^driver\.js$/ },
];

function compile() {
  const tsc = require.resolve("typescript/bin/tsc");
  const r = spawnSync(process.execPath, [tsc, "-p", path.join(ROOT, "tsconfig.build.json"), "--outDir", NEXT], { stdio: "inherit" });
  if (r.status !== 0) {
    fs.rmSync(NEXT, { recursive: true, force: true });
    process.exit(r.status ?? 1);
  }
}

function copyAssets() {
  for (const { dir, match } of ASSETS) {
    fs.mkdirSync(path.join(NEXT, dir), { recursive: true });
    for (const name of fs.readdirSync(path.join(ROOT, dir)).filter((n) => match.test(n))) {
      fs.copyFileSync(path.join(ROOT, dir, name), path.join(NEXT, dir, name));
    }
  }
}

/**
 * The plain-JavaScript files of harness/: entry points of child processes,
 * which register the TypeScript loader and then require their TypeScript
 * sibling by its .ts name, and the loader itself. In dist/ the sibling is
 * compiled, so the entry requires the .js. An entry with the same name as a
 * TypeScript module (running/pool-worker.js) is replaced by its compiled
 * module, which needs no loader.
 */
function copyEntries(dir = "harness") {
  for (const e of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    const rel = path.join(dir, e.name);
    if (e.isDirectory()) copyEntries(rel);
    else if (e.name.endsWith(".js") && !fs.existsSync(path.join(ROOT, rel.replace(/\.js$/, ".ts")))) {
      const text = fs.readFileSync(path.join(ROOT, rel), "utf8");
      fs.writeFileSync(path.join(NEXT, rel), text.replace(/require\("(\.\/[\w-]+)\.ts"\)/g, 'require("$1.js")'));
    }
  }
}

/**
 * Entries that must also exist as ES modules. aiospec/vitest imports vitest,
 * which refuses to be require()d: vitest loads test files as ES modules, and
 * so must the integration be. The .mjs is the same source transpiled to ES
 * module syntax; the harness modules it imports stay CommonJS (Node gives an
 * ES module their named exports), with their file names spelled out as ES
 * modules require.
 */
const ESM_ENTRIES = ["harness/vitest.ts"];

function emitEsmEntries() {
  const ts = require("typescript");
  for (const entry of ESM_ENTRIES) {
    const source = fs.readFileSync(path.join(ROOT, entry), "utf8");
    const { outputText } = ts.transpileModule(source, {
      fileName: entry,
      compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    });
    const dir = path.dirname(path.join(ROOT, entry));
    const text = outputText.replace(/(from\s+|import\s*\(\s*)"(\.{1,2}\/[^"]+)"/g, (_, head, spec) => `${head}"${esmSpecifier(dir, spec)}"`);
    fs.writeFileSync(path.join(NEXT, entry.replace(/\.ts$/, ".mjs")), text);
  }
}

/** A relative import as an ES module writes it: the compiled file, by its full name. */
function esmSpecifier(dir, spec) {
  const target = path.join(dir, spec);
  if (fs.existsSync(`${target}.ts`)) return `${spec}.js`;
  if (fs.existsSync(path.join(target, "index.ts"))) return `${spec}/index.js`;
  throw new Error(`build: cannot map the import "${spec}" of an ES module entry to a compiled file`);
}

/**
 * harness/reporting/model.ts imports ../../package.json for the version, so
 * tsc copies the whole manifest to dist/package.json; keep only what is read,
 * so that the shipped copy cannot be mistaken for the package's manifest.
 */
function trimManifest() {
  const { version } = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
  fs.writeFileSync(path.join(NEXT, "package.json"), JSON.stringify({ version }, null, 2) + "\n");
}

function build() {
  const hash = inputsHash();
  if (!process.argv.includes("--force") && builtFrom(hash)) {
    console.error("dist/ is up to date with the sources"); // stderr: npm pack --json prints JSON on stdout
    return;
  }
  compile();
  copyAssets();
  copyEntries();
  emitEsmEntries();
  trimManifest();
  fs.writeFileSync(path.join(NEXT, ".build-inputs"), hash + "\n");
  // Two renames: dist/ is missing only between them, not while the old one is deleted.
  const old = `${NEXT}-old`;
  if (fs.existsSync(DIST)) fs.renameSync(DIST, old);
  fs.renameSync(NEXT, DIST);
  fs.rmSync(old, { recursive: true, force: true });
}

build();
