/**
 * The example scheduler (examples/scheduler, the project docs/implementers.md
 * builds) checked as an implementer checks theirs: copied into a project of
 * its own outside this repository, with aiospec installed there as a
 * dependency, type-checked with tsc and run through the aiospec CLI.
 *
 *  - the full scheduler (src/index.ts) and the minimal one (src/minimal.ts:
 *    only sleep and create_task, every other function left out) pass every
 *    clause they run;
 *  - the clauses that run are exactly the Python 3.12 clauses whose needs
 *    the implementation provides; each other clause is skipped, saying why
 *    (its versions, or the unsupported features it needs, by name);
 *  - every clause that ran checked cases, and the report says how many.
 *
 * Where aiospec comes from (the hook for the packed-package consumer test):
 * by default it is this repository, linked into the project as
 * `npm install <dir>` links it; with AIOSPEC_PACKAGE=<tarball from npm pack>
 * the tarball's contents are installed instead. aiospec's own dependencies
 * (and typescript) are linked from this repository's node_modules, where
 * npm would hoist them, so the test needs no network.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLAUSES } from "../spec/clauses";
import { FEATURE_VERSIONS } from "../spec/scenario/validate";
import { compareVersions } from "../spec/scenario/versions";

const ROOT = path.resolve(__dirname, "..");
const EXAMPLE = path.join(ROOT, "examples", "scheduler");
const RUNS = 100;
const SLOW = 300_000;

function run(cmd: string, args: string[], cwd: string) {
  const r = spawnSync(cmd, args, { cwd, env: { ...process.env, NO_COLOR: "1", CI: "1" }, encoding: "utf8", timeout: SLOW - 10_000 });
  return { status: r.status, stdout: r.stdout, out: `${r.stdout}\n${r.stderr}` };
}

/** Put aiospec at dest: the packed package AIOSPEC_PACKAGE names, else a link to this repository. */
function installAiospec(dest: string, tmp: string): void {
  const tarball = process.env.AIOSPEC_PACKAGE;
  if (!tarball) {
    fs.symlinkSync(ROOT, dest);
    return;
  }
  fs.mkdirSync(dest);
  const tar = run("tar", ["-xzf", path.resolve(tarball), "-C", dest, "--strip-components=1"], tmp);
  if (tar.status !== 0) throw new Error(`cannot unpack AIOSPEC_PACKAGE=${tarball}: ${tar.out}`);
}

/** A copy of examples/scheduler with node_modules laid out as an install lays it out. */
function makeProject(tmp: string): string {
  const proj = path.join(tmp, "example-scheduler");
  fs.cpSync(EXAMPLE, proj, { recursive: true, filter: (src) => !src.includes(`${path.sep}node_modules`) });
  const nm = path.join(proj, "node_modules");
  fs.mkdirSync(nm);
  for (const entry of fs.readdirSync(path.join(ROOT, "node_modules"))) {
    if (entry.startsWith(".")) continue;
    fs.symlinkSync(path.join(ROOT, "node_modules", entry), path.join(nm, entry));
  }
  installAiospec(path.join(nm, "aiospec"), tmp);
  return proj;
}

/** What `npx aiospec` runs in the project: the bin of the installed package. */
function aiospecBin(proj: string): string {
  const dir = path.join(proj, "node_modules", "aiospec");
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")) as { bin: Record<string, string> };
  return path.join(dir, pkg.bin.aiospec);
}

interface ClauseResult {
  id: string;
  status: string;
  reason?: string;
  skipKind?: string;
  runs: number;
  skippedCases?: Record<string, number>;
}

/** The cases a clause checked: the scenarios it drew, less those skipped as unsupported. */
function checkedCases(r: ClauseResult): number {
  return r.runs - Object.values(r.skippedCases ?? {}).reduce((a, b) => a + b, 0);
}

/** The `unsupported` list a module of the project declares (read from the module itself). */
async function declaredUnsupported(proj: string, file: string): Promise<string[]> {
  const mod = (await import(path.join(proj, file))) as { default: { unsupported?: string[]; pythonVersion: string } };
  expect(mod.default.pythonVersion).toBe("3.12");
  return [...(mod.default.unsupported ?? [])];
}

describe("examples/scheduler in a project of its own", () => {
  let tmp: string;
  let proj: string;

  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "aiospec-example-"));
    proj = makeProject(tmp);
  });

  afterAll(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("type-checks against aiospec's types", () => {
    const r = run(process.execPath, [path.join(proj, "node_modules", "typescript", "bin", "tsc"), "--noEmit", "-p", "."], proj);
    expect(r.status, r.out).toBe(0);
  }, SLOW);

  it.each([
    ["the full scheduler", "src/index.ts"],
    ["the minimal scheduler (only sleep and create_task)", "src/minimal.ts"],
  ])("%s passes every clause it runs, and skips exactly the others, saying why", async (_name, file) => {
    const unsupported = await declaredUnsupported(proj, file);
    const r = run(process.execPath, [aiospecBin(proj), "run", "--impl", `./${file}`, "--seed", "1", "--runs", String(RUNS), "--json", "report.json"], proj);
    expect(r.status, r.out).toBe(0);
    const results = (JSON.parse(fs.readFileSync(path.join(proj, "report.json"), "utf8")) as { results: ClauseResult[] }).results;
    expect(results.map((c) => c.id).sort()).toEqual(CLAUSES.map((c) => c.id).sort());

    for (const clause of CLAUSES) {
      const result = results.find((c) => c.id === clause.id)!;
      // A feature newer than 3.12 (as_completed:async) is not generated for 3.12: it skips nothing.
      const newer = (f: string) => FEATURE_VERSIONS[f] !== undefined && compareVersions(FEATURE_VERSIONS[f], "3.12") > 0;
      const missing = clause.needs.filter((f) => unsupported.includes(f) && !newer(f));
      if (!clause.versions.includes("3.12")) {
        expect(result, clause.id).toMatchObject({ status: "skip", skipKind: "version" });
      } else if (missing.length > 0) {
        expect(result, clause.id).toMatchObject({ status: "skip", skipKind: "unsupported" });
        for (const f of missing) expect(result.reason, clause.id).toContain(f);
      } else {
        // It runs. Most generated scenarios of differential.trace use features the
        // examples leave out: a runner that calls a clause checking too few of
        // its cases inconclusive rather than passed may say so.
        expect(["pass", "inconclusive"], `${clause.id}: ${JSON.stringify(result)}`).toContain(result.status);
        expect(result.runs, clause.id).toBe(RUNS);
        if (result.status === "pass") expect(checkedCases(result), `${clause.id} checked no case`).toBeGreaterThan(0);
      }
    }
    const passed = results.filter((c) => c.status === "pass").length;
    expect(passed).toBeGreaterThan(0);
    expect(r.stdout).toContain(`${passed} passed, 0 failed`);
    expect(results.filter((c) => c.status === "fail" || c.status === "error" || c.status === "flaky")).toEqual([]);
  }, SLOW);

  // A task cancels itself with a message, then awaits a gather (return_exceptions)
  // of sleep(0) and a second awaitable: the gather is cancelled, and its
  // CancelledError comes from its last child in argument order. CPython 3.11,
  // 3.12 and 3.13 (observed): the message is lost when that child finished
  // otherwise (an empty gather, done at once), kept when it was cancelled with
  // it. The example's gather once took the error from the child that finished
  // last and kept the message in both (docs/implementers.md, section 5).
  it.each([
    ["an empty gather, done at once: the message is lost", { gather: [] }, []],
    ["a sleep(0), cancelled with it: the message is kept", { sleep: 0 }, ["stop"]],
  ])("a gather cancelled with a message whose last child is %s", (_name, last, args) => {
    const scenario = {
      aiospec: 1,
      coroutines: [
        { name: "main", body: [{ op: "create_task", coro: "c1", task: "t0" }, { op: "sleep", ticks: 1 }] },
        {
          name: "c1",
          body: [
            { op: "cancel", task: "t0", msg: "stop" },
            { op: "try", body: [{ op: "await", on: { gather: [{ sleep: 0 }, last], return_exceptions: true } }], except: [{ type: "CancelledError" }] },
          ],
        },
      ],
    };
    fs.writeFileSync(path.join(proj, "cancelled-gather.json"), JSON.stringify(scenario));
    const r = run(process.execPath, [aiospecBin(proj), "replay", "cancelled-gather.json", "--impl", "./src/index.ts", "--json"], proj);
    expect(r.status, r.out).toBe(0);
    const events = (JSON.parse(r.stdout) as { events: Array<{ ev: string; exc?: { type: string; args: unknown[] } }> }).events;
    expect(events.filter((e) => e.ev === "awaited" || e.ev === "caught").map((e) => [e.ev, e.exc])).toEqual([
      ["awaited", { type: "CancelledError", args }],
      ["caught", { type: "CancelledError", args }],
    ]);
  }, SLOW);
});
