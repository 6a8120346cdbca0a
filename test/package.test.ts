/**
 * aiospec as an npm package, used the way a project outside this repository
 * uses it: `npm pack` here (prepack builds dist/), `npm install <tarball>`
 * into an empty temporary project, then from there:
 *
 *  - the tarball holds what a user needs (the compiled harness, its .d.ts,
 *    the Python and Pyodide drivers, the JSON schemas) and none of the
 *    repository's own files (test/, .ci, bench, scripts, reports, scratch);
 *    every `exports` target is in it;
 *  - without TypeScript installed: `npx aiospec --help`, `aiospec run` on the
 *    reference, `aiospec report` writing into ./reports of the project, a
 *    CommonJS require and an ES module import of the public entries; ES
 *    module (.mjs, and .js in a "type": "module" package) and CommonJS
 *    implementations run through the CLI and the programmatic API, a .mts
 *    is refused by both in one line; a .ts implementation, and
 *    AIOSPEC_CLAUSES=<file>.ts, are refused in one line that says to install
 *    typescript;
 *  - with TypeScript (and vitest) added, as an implementer's project has
 *    them: a consumer type-checks with strict, noUncheckedIndexedAccess and
 *    exactOptionalPropertyTypes (skipLibCheck), under both module
 *    resolutions; a .ts implementation runs; AIOSPEC_CLAUSES=<file>.ts runs
 *    those clauses; a vitest spec using aiospec/vitest passes on the
 *    reference in-process and on the ES module and CommonJS implementations
 *    isolated, and refuses the .mts in that suite's test; examples/scheduler
 *    passes its clauses.
 *
 * Runtime dependencies come from the npm cache (--prefer-offline); typescript
 * and vitest are linked from this repository's node_modules, as the
 * implementer's own devDependencies would be. The start-up time of
 * `aiospec --help` (through npx, next to npx running a no-op bin, and
 * without npx) is printed, not asserted: this machine's load decides it.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = path.resolve(__dirname, "..");
const SLOW = 600_000;

/** The environment of a child npm: none of the npm_* variables `npm test` sets for its own scripts. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
  return { ...env, NO_COLOR: "1", CI: "1" };
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  const started = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd, env: { ...cleanEnv(), ...env }, encoding: "utf8", timeout: SLOW - 10_000 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "", out: `${r.stdout}\n${r.stderr}\n${r.error ?? ""}`, seconds };
}

interface Packed {
  filename: string;
  size: number;
  entryCount: number;
  files: Array<{ path: string }>;
}

interface ClauseResult {
  id: string;
  status: string;
}

let tmp: string;
let proj: string;
let packed: Packed;

/** `npx aiospec ...` in the project, never fetching anything. */
function aiospec(...args: string[]) {
  return run("npx", ["--no", "--", "aiospec", ...args], proj);
}

/** The same, with environment variables set. */
function aiospecWith(env: NodeJS.ProcessEnv, ...args: string[]) {
  return run("npx", ["--no", "--", "aiospec", ...args], proj, env);
}

// Implementation modules of every kind the module contract names
// (docs/adapters.md): ES modules are imported (.mjs, with top-level await
// here, and a .js of a "type": "module" package), CommonJS required, .ts
// transpiled (which needs typescript), .mts refused.
const ESM_JS = 'import { makeReference } from "aiospec/reference";\nexport default (version) => makeReference(version);\n';
const MJS = 'import { makeReference } from "aiospec/reference";\nawait Promise.resolve();\nexport const implementation = makeReference("3.12");\n';
const CJS = 'const { makeReference } = require("aiospec/reference");\nmodule.exports = (version) => makeReference(version);\n';
const MODULES = ["./esm/impl.js", "./impl.mjs", "./impl.cjs"];

function writeModules(): void {
  write("esm/package.json", JSON.stringify({ type: "module" }));
  write("esm/impl.js", ESM_JS);
  write("impl.mjs", MJS);
  write("impl.cjs", CJS);
  write("impl.mts", 'import { makeReference } from "aiospec/reference";\nexport default makeReference("3.12");\n');
}

/**
 * Clauses of the implementer's own, in TypeScript, for AIOSPEC_CLAUSES
 * (the type import makes it TypeScript that plain require() cannot load).
 */
const OWN_CLAUSES = `
import fc from "fast-check";
import type { Clause } from "aiospec";

const SLEEPER = { aiospec: 1 as const, coroutines: [{ name: "main", body: [{ op: "sleep" as const, ticks: 1 }] }] };
const sleeps: Clause = {
  id: "own.sleep_completes",
  statement: "A main coroutine that only sleeps completes.",
  source: { url: "https://docs.python.org/3/library/asyncio-task.html#sleeping", section: "Sleeping" },
  versions: ["3.11", "3.12", "3.13", "3.14"],
  level: "documented",
  needs: ["sleep"],
  brokenBy: [],
  scenarios: () => fc.constant(SLEEPER),
  check: ({ trace }) => trace.end.kind === "complete" || \`the run ended \${trace.end.kind}\`,
};
export const CLAUSES: Clause[] = [sleeps, { ...sleeps, id: "own.sleep_completes_again" }];
`;

function results(file: string): ClauseResult[] {
  return (JSON.parse(fs.readFileSync(path.join(proj, file), "utf8")) as { results: ClauseResult[] }).results;
}

function write(rel: string, text: string): void {
  fs.mkdirSync(path.dirname(path.join(proj, rel)), { recursive: true });
  fs.writeFileSync(path.join(proj, rel), text);
}

/** A devDependency of the implementer's project, linked from this repository's node_modules. */
function linkDevDependency(name: string): void {
  const dest = path.join(proj, "node_modules", name);
  if (!fs.existsSync(dest)) fs.symlinkSync(path.join(ROOT, "node_modules", name), dest);
}

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "aiospec-package-"));
  const pack = run("npm", ["pack", "--pack-destination", tmp, "--json"], ROOT);
  expect(pack.status, pack.out).toBe(0);
  // prepack prints the build's output first; the JSON is the last thing on stdout.
  packed = (JSON.parse(pack.stdout.slice(pack.stdout.lastIndexOf("\n[") + 1)) as Packed[])[0]!;
  proj = path.join(tmp, "consumer");
  fs.mkdirSync(proj);
  write("package.json", JSON.stringify({ name: "consumer", version: "1.0.0", private: true }, null, 2));
  const install = run("npm", ["install", path.join(tmp, packed.filename), "--prefer-offline", "--no-audit", "--no-fund"], proj);
  expect(install.status, install.out).toBe(0);
  console.log(`aiospec package: ${packed.filename}, ${(packed.size / 1024).toFixed(0)} KiB packed, ${packed.entryCount} files`);
}, SLOW);

afterAll(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe("the tarball", () => {
  it("holds the compiled harness, the drivers and the schemas, and nothing of the repository's own", () => {
    const files = packed.files.map((f) => f.path);
    for (const needed of [
      "bin/aiospec.js",
      "dist/harness/cli/cli.js",
      "dist/harness/index.d.ts",
      "dist/implementations/python/aiospec_driver.py",
      "dist/implementations/pyodide/driver.js",
      "dist/harness/reporting/report.schema.json",
      "dist/spec/scenario/scenario.schema.json",
    ]) {
      expect(files, needed).toContain(needed);
    }
    const foreign = files.filter((f) => /^(test|bench|scripts|reports|scratch|examples|\.ci|\.peers|node_modules)\//.test(f) || /\.ts$/.test(f.replace(/\.d\.ts$/, "")));
    expect(foreign).toEqual([]);
  });

  it("has every file its exports name", () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(proj, "node_modules", "aiospec", "package.json"), "utf8")) as { exports: Record<string, string | Record<string, string>> };
    const files = new Set(packed.files.map((f) => f.path));
    for (const [entry, target] of Object.entries(manifest.exports)) {
      if (entry.includes("*")) continue;
      // "aiospec-source" names the TypeScript sources, for a checkout only (docs/dev/packaging.md).
      const shipped = typeof target === "string" ? [target] : Object.entries(target).filter(([c]) => c !== "aiospec-source").map(([, f]) => f);
      for (const file of shipped) {
        expect(files.has(file.replace(/^\.\//, "")), `${entry}: ${file}`).toBe(true);
      }
    }
  });
});

describe("installed in a project without TypeScript", () => {
  it("npx aiospec --help starts from the compiled JavaScript", () => {
    const compiled = aiospec("--help");
    expect(compiled.status, compiled.out).toBe(0);
    expect(compiled.stdout).toContain("Usage: aiospec");
    // Side by side in the same minute (on a loaded machine the ratios are
    // what counts): npx itself, running a bin that does nothing, which bounds
    // what `npx aiospec` can reach; the installed bin without npx; and the
    // same help from this checkout (dist/ when current, else ts-node).
    const noop = path.join(proj, "node_modules", ".bin", "aiospec-noop");
    fs.writeFileSync(noop, "#!/usr/bin/env node\n", { mode: 0o755 });
    const npxAlone = run("npx", ["--no", "--", "aiospec-noop"], proj);
    expect(npxAlone.status, npxAlone.out).toBe(0);
    const direct = run(process.execPath, [path.join(proj, "node_modules", "aiospec", "bin", "aiospec.js"), "--help"], proj);
    const checkout = run(process.execPath, [path.join(ROOT, "bin", "aiospec.js"), "--help"], ROOT);
    expect(checkout.status, checkout.out).toBe(0);
    expect(direct.stdout).toBe(compiled.stdout);
    expect(checkout.stdout).toBe(compiled.stdout);
    const s = (r: { seconds: number }) => `${r.seconds.toFixed(2)} s`;
    console.log(`aiospec --help: ${s(compiled)} through npx (npx itself, a no-op bin: ${s(npxAlone)}), ${s(direct)} node on the installed bin (compiled), ${s(checkout)} in the checkout`);
  }, SLOW);

  it("runs the clauses on the reference", () => {
    const r = aiospec("run", "--impl", "reference", "--clause", "tasks.*", "--runs", "10", "--seed", "1", "--json", "run.json");
    expect(r.status, r.out).toBe(0);
    const rs = results("run.json");
    expect(rs.length).toBeGreaterThan(5);
    expect(rs.every((c) => c.id.startsWith("tasks.") && ["pass", "skip"].includes(c.status)), JSON.stringify(rs)).toBe(true);
    expect(rs.filter((c) => c.status === "pass").length).toBeGreaterThan(5);
  }, SLOW);

  it("aiospec report writes ./reports in the project, not into node_modules", () => {
    const r = aiospec("report", "--impl", "reference", "--clause", "tasks.result_*", "--runs", "5");
    expect(r.status, r.out).toBe(0);
    expect(fs.existsSync(path.join(proj, "reports", "matrix.json"))).toBe(true);
    expect(fs.existsSync(path.join(proj, "node_modules", "aiospec", "reports"))).toBe(false);
  }, SLOW);

  it("CommonJS: require() of the public entries runs a scenario on the reference", () => {
    const program = `
      const { runScenario, FEATURES } = require("aiospec");
      const { Deadlock } = require("aiospec/api");
      const { pyexc, isinstance } = require("aiospec/pyexc");
      const { makeReference } = require("aiospec/reference");
      const { heappush, heappop } = require("aiospec/reference/heapq");
      const trace = runScenario(makeReference("3.12"), { aiospec: 1, coroutines: [{ name: "main", body: [{ op: "sleep", ticks: 2 }] }] });
      const heap = [];
      for (const n of [3, 1, 2]) heappush(heap, { n, lt: (o) => n < o.n });
      console.log(JSON.stringify({ end: trace.end.kind, features: FEATURES.length, deadlock: typeof Deadlock,
        cancelled: isinstance(pyexc("CancelledError"), "BaseException"), first: heappop(heap).n }));`;
    const r = run(process.execPath, ["-e", program], proj);
    expect(r.status, r.out).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ end: "complete", deadlock: "function", cancelled: true, first: 1 });
    expect(JSON.parse(r.stdout).features).toBeGreaterThan(5);
  });

  it("ES module: import of the public entries, named exports included", () => {
    const program = `
      import { runScenario } from "aiospec";
      import { pyexc, isinstance } from "aiospec/pyexc";
      import { isCoroutine } from "aiospec/api";
      import { makeReference, VERSIONS } from "aiospec/reference";
      const trace = runScenario(makeReference("3.13"), { aiospec: 1, coroutines: [{ name: "main", body: [{ op: "sleep", ticks: 1 }] }] });
      console.log(JSON.stringify({ end: trace.end.kind, versions: VERSIONS, isCoroutine: typeof isCoroutine,
        exception: isinstance(pyexc("TimeoutError"), "Exception") }));`;
    const r = run(process.execPath, ["--input-type=module", "-e", program], proj);
    expect(r.status, r.out).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ end: "complete", isCoroutine: "function", exception: true });
    expect(JSON.parse(r.stdout).versions).toContain("3.13");
  });

  it("ES module and CommonJS implementations run through the CLI; a .mts is refused in one line that says what to do", () => {
    writeModules();
    for (const file of MODULES) {
      const json = `${path.basename(path.dirname(file))}-${path.basename(file)}.json`;
      const r = aiospec("run", "--impl", file, "--clause", "tasks.result_*", "--runs", "3", "--seed", "1", "--json", json);
      expect(r.status, `${file}: ${r.out}`).toBe(0);
      expect(results(json).filter((c) => c.status === "pass").length, file).toBeGreaterThan(0);
    }
    const mts = aiospec("run", "--impl", "./impl.mts", "--clause", "tasks.result_*", "--runs", "3");
    expect(mts.status, mts.out).toBe(2);
    expect(mts.stderr.trim().split("\n")).toEqual([
      'aiospec: implementation "./impl.mts" cannot be loaded: impl.mts is a TypeScript ES module (.mts), which aiospec does not transpile: rename it to .ts (transpiled to CommonJS), or compile it to .js / .mjs',
    ]);
  }, SLOW);

  it("the programmatic API loads the same modules and refuses the same .mts", () => {
    writeModules();
    const program = `
      const { resolveTarget } = require("aiospec");
      (async () => {
        const out = {};
        for (const file of ${JSON.stringify(MODULES)}) {
          const target = await resolveTarget(file);
          const trace = await target.run({ aiospec: 1, coroutines: [{ name: "main", body: [{ op: "sleep", ticks: 1 }] }] });
          out[file] = [target.version, trace.end.kind];
          await target.close();
        }
        await resolveTarget("./impl.mts").then(() => { out.mts = "loaded"; }, (e) => { out.mts = e.message; });
        console.log(JSON.stringify(out));
      })();`;
    const r = run(process.execPath, ["-e", program], proj);
    expect(r.status, r.out).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      "./esm/impl.js": ["3.13", "complete"],
      "./impl.mjs": ["3.12", "complete"],
      "./impl.cjs": ["3.13", "complete"],
      mts: expect.stringMatching(/^implementation "\.\/impl\.mts" cannot be loaded: impl\.mts is a TypeScript ES module \(\.mts\)/),
    });
  }, SLOW);

  it("AIOSPEC_CLAUSES=<file>.ts is refused in one line that says what to install", () => {
    write("own-clauses.ts", OWN_CLAUSES);
    const r = aiospecWith({ AIOSPEC_CLAUSES: "./own-clauses.ts" }, "run", "--impl", "reference", "--runs", "3");
    expect(r.status, r.out).toBe(2);
    expect(r.stderr.trim().split("\n")).toEqual([
      "aiospec: AIOSPEC_CLAUSES=./own-clauses.ts: a TypeScript file needs the typescript package: install it (npm install --save-dev typescript), or point AIOSPEC_CLAUSES at compiled JavaScript",
    ]);
  }, SLOW);

  it("a .ts implementation is refused in one line that says what to install", () => {
    write("impl.ts", 'import { makeReference } from "aiospec/reference";\nexport default makeReference("3.12");\n');
    const r = aiospec("run", "--impl", "./impl.ts", "--clause", "tasks.result_*", "--runs", "5");
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("install typescript");
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  }, SLOW);
});

describe("installed in a project with TypeScript and vitest", () => {
  beforeAll(() => {
    for (const dep of ["typescript", "vitest", "@types"]) linkDevDependency(dep);
  });

  const STRICT = { strict: true, noUncheckedIndexedAccess: true, exactOptionalPropertyTypes: true, skipLibCheck: true, noEmit: true, target: "ES2022", types: ["node"] };
  const CONSUMER = `
import type { AsyncioImplementation } from "aiospec/api";
import { pyexc, isinstance } from "aiospec/pyexc";
import { makeReference } from "aiospec/reference";
import type { PythonVersion } from "aiospec/reference";
import { heappush, heappop } from "aiospec/reference/heapq";
import type { Ordered } from "aiospec/reference/heapq";
import { FEATURES, resolveTarget, runScenario } from "aiospec";
import type { Scenario, Trace } from "aiospec";

class Timer implements Ordered<Timer> {
  constructor(readonly when: number) {}
  lt(other: Timer): boolean {
    return this.when < other.when;
  }
}

const version: PythonVersion = "3.12";
const impl: AsyncioImplementation = { ...makeReference(version), id: "mine", unsupported: [FEATURES[0] ?? "gather"] };
const heap: Timer[] = [];
heappush(heap, new Timer(3));
const first: Timer = heappop(heap);
const cancelled: boolean = isinstance(pyexc("CancelledError"), "BaseException");
const scenario: Scenario = { aiospec: 1, coroutines: [{ name: "main", body: [{ op: "sleep", ticks: 1 }] }] };
const trace: Trace = runScenario(impl, scenario);
export const checks = [first.when, cancelled, trace.end.kind, resolveTarget("reference")];
`;

  it.each([
    ["nodenext", { module: "nodenext", moduleResolution: "nodenext" }],
    ["node10 (CommonJS)", { module: "commonjs", moduleResolution: "node10" }],
  ])("a strict TypeScript consumer type-checks against the shipped .d.ts (%s resolution)", (name, resolution) => {
    const dir = `strict-${name.split(" ")[0]}`;
    write(`${dir}/consumer.ts`, CONSUMER);
    write(`${dir}/tsconfig.json`, JSON.stringify({ compilerOptions: { ...STRICT, ...resolution }, files: ["consumer.ts"] }, null, 2));
    const r = run(process.execPath, [path.join(proj, "node_modules", "typescript", "bin", "tsc"), "-p", dir], proj);
    expect(r.status, r.out).toBe(0);
  }, SLOW);

  it("a .ts implementation runs through the CLI", () => {
    write("impl.ts", 'import { makeReference } from "aiospec/reference";\nimport type { PythonVersion } from "aiospec/reference";\nexport default (version: PythonVersion) => makeReference(version);\n');
    const r = aiospec("run", "--impl", "./impl.ts", "--clause", "tasks.result_*", "--runs", "5", "--seed", "1", "--json", "impl.json");
    expect(r.status, r.out).toBe(0);
    expect(results("impl.json").filter((c) => c.status === "pass").length).toBeGreaterThan(0);
  }, SLOW);

  it("AIOSPEC_CLAUSES=<file>.ts runs those clauses, in the pool's workers too", () => {
    write("own-clauses.ts", OWN_CLAUSES);
    const r = aiospecWith({ AIOSPEC_CLAUSES: "./own-clauses.ts" }, "run", "--impl", "reference", "--runs", "3", "--jobs", "2", "--json", "own.json");
    expect(r.status, r.out).toBe(0);
    expect(results("own.json").map((c) => [c.id, c.status])).toEqual([
      ["own.sleep_completes", "pass"],
      ["own.sleep_completes_again", "pass"],
    ]);
  }, SLOW);

  it("a vitest spec using aiospec/vitest passes, in-process and on ES module and CommonJS modules run isolated", () => {
    write("vitest-project/package.json", JSON.stringify({ name: "vitest-project", private: true, type: "module" }));
    writeModules();
    write(
      "vitest-project/test/conformance.test.ts",
      [
        'import { conformance } from "aiospec/vitest";',
        'import { makeReference } from "aiospec/reference";',
        "",
        'conformance(makeReference, { version: "3.12", clauses: "tasks.result_*", runs: 5 });',
        // Paths are relative to the directory vitest runs in: vitest-project.
        ...MODULES.map((m) => `conformance(${JSON.stringify(`.${m}`)}, { clauses: "tasks.result_*", runs: 5 });`),
        'conformance("../impl.mts", { clauses: "tasks.result_cancelled", runs: 5 });',
        "",
      ].join("\n"),
    );
    const r = run(process.execPath, [path.join(proj, "node_modules", "vitest", "vitest.mjs"), "run"], path.join(proj, "vitest-project"));
    // The .mts suite's one test fails, with the refusal; everything else passes.
    expect(r.status, r.out).toBe(1);
    const passed = /Tests\s+1 failed \| (\d+) passed/.exec(r.stdout);
    expect(passed, r.out).not.toBeNull();
    expect(Number(passed![1])).toBeGreaterThanOrEqual(4 * 2);
    expect(r.out).toContain("impl.mts is a TypeScript ES module (.mts), which aiospec does not transpile: rename it to .ts");
  }, SLOW);

  it("examples/scheduler passes the clauses it runs", () => {
    fs.cpSync(path.join(ROOT, "examples", "scheduler", "src"), path.join(proj, "scheduler"), { recursive: true });
    const r = aiospec("run", "--impl", "./scheduler/index.ts", "--runs", "20", "--seed", "1", "--json", "scheduler.json");
    expect(r.status, r.out).toBe(0);
    const rs = results("scheduler.json");
    expect(rs.filter((c) => c.status === "pass").length).toBeGreaterThan(10);
    // Inconclusive (too few cases checked, the rest unsupported) is not a failure.
    expect(rs.filter((c) => ["fail", "flaky", "error"].includes(c.status))).toEqual([]);
  }, SLOW);
});
