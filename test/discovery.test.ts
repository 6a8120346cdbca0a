/**
 * Interpreter ids (harness/targets/discovery.ts): the grammar, what the ids find on
 * this machine, and the targets they start. Tests that need a peer this
 * machine lacks are skipped, saying which (`npm run peers` installs them).
 */
import { afterAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  MODIFIERS,
  PEERS_COMMAND,
  driverArgs,
  listInterpreters,
  locate,
  looksLikeInterpreterId,
  parseInterpreterId,
} from "../harness/targets/discovery";
import { Target, UsageError, resolveTarget } from "../harness/targets";
import type { Scenario } from "../spec/scenario/types";

const open: Target[] = [];
afterAll(async () => {
  await Promise.all(open.map((t) => t.close()));
});

async function target(id: string, options = {}): Promise<Target> {
  const t = await resolveTarget(id, undefined, options);
  open.push(t);
  return t;
}

function refused(id: string): string {
  try {
    parseInterpreterId(id);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    const m = (e as Error).message;
    expect(m.split("\n")).toHaveLength(1);
    return m;
  }
  throw new Error(`${id} was accepted`);
}

describe("the id grammar", () => {
  it("parses bases and modifiers into a canonical id", () => {
    const cases: Array<[string, string, Record<string, unknown>]> = [
      ["cpython", "cpython", { family: "cpython", loop: "asyncio", pytask: false, realtime: false }],
      ["cpython-3.8", "cpython-3.8", { minor: "3.8", patch: undefined }],
      ["cpython-3.11.2", "cpython-3.11.2", { minor: "3.11", patch: "3.11.2" }],
      ["cpython-3.12+pytask", "cpython-3.12+pytask", { pytask: true }],
      ["cpython-3.11+uvloop+pytask", "cpython-3.11+pytask+uvloop", { loop: "uvloop", pytask: true, realtime: true }],
      ["cpython-3.11.2+uvloop", "cpython-3.11.2+uvloop", { patch: "3.11.2", loop: "uvloop" }],
      ["cpython-3.13+realtime+nest_asyncio", "cpython-3.13+nest_asyncio+realtime", { loop: "nest_asyncio", realtime: true }],
      ["nest_asyncio", "nest_asyncio", { family: "cpython", loop: "nest_asyncio", realtime: false }],
      ["nest_asyncio+pytask", "nest_asyncio+pytask", { loop: "nest_asyncio", pytask: true }],
      ["pypy-3.9", "pypy-3.9", { family: "pypy", minor: "3.9" }],
      ["pyodide-3.14+pytask", "pyodide-3.14+pytask", { family: "pyodide", minor: "3.14", pytask: true }],
    ];
    for (const [id, canonical, fields] of cases) {
      const p = parseInterpreterId(id)!;
      expect(p, id).not.toBeNull();
      expect(p.id, id).toBe(canonical);
      expect(p, id).toMatchObject(fields);
    }
  });

  it("is not consulted for other ids", () => {
    for (const id of ["reference", "reference@3.12", "mutant:lifo-ready", "cmd:python3 d.py", "./cpython.ts", "cpython.ts", "impl.js@3.12", "python3"]) {
      expect(looksLikeInterpreterId(id), id).toBe(false);
      expect(parseInterpreterId(id), id).toBeNull();
    }
  });

  it("refuses unknown modifiers with one line naming the valid ones", () => {
    expect(refused("cpython-3.11+fast")).toBe(`unknown modifier "+fast" in "cpython-3.11+fast": the modifiers are ${MODIFIERS.map((m) => "+" + m).join(", ")}`);
    expect(refused("cpython+")).toMatch(/unknown modifier "\+" .*\+pytask, \+uvloop, \+nest_asyncio, \+realtime/);
    expect(refused("pyodide-3.13+uvloop")).toBe(`modifier "+uvloop" does not apply to pyodide-3.13: it takes +pytask, +webloop`);
    expect(refused("nest_asyncio+uvloop")).toMatch(/does not apply to nest_asyncio: it takes \+pytask, \+realtime/);
  });

  it("refuses repeated and conflicting modifiers, unknown versions and malformed bases", () => {
    expect(refused("cpython+pytask+pytask")).toMatch(/\+pytask is given twice/);
    expect(refused("cpython-3.11+uvloop+nest_asyncio")).toMatch(/\+uvloop and \+nest_asyncio cannot be combined/);
    expect(refused("nest_asyncio+nest_asyncio")).toMatch(/already implied by nest_asyncio/);
    expect(refused("cpython-3.7")).toMatch(/CPython 3.7 is not a Python version aiospec knows \(3.8, .*3.14\)/);
    expect(refused("cpython-3.99+pytask")).toMatch(/3.99 is not a Python version/);
    expect(refused("pyodide-3.11")).toMatch(/Pyodide ids are pyodide-3.12 \(Pyodide 0.27\), pyodide-3.13 \(Pyodide 0.29\), pyodide-3.14 \(Pyodide 314\)/);
    expect(refused("pypy")).toMatch(/interpreter ids are cpython, cpython-3.X, cpython-3.X.Y, pypy-3.X/);
    expect(refused("cpython3.11")).toMatch(/unknown implementation "cpython3.11"/);
  });

  it("maps modifiers to the driver's arguments", () => {
    const args = (id: string) => driverArgs(parseInterpreterId(id)!);
    expect(args("cpython-3.12")).toEqual([]);
    expect(args("cpython-3.12+pytask")).toEqual([]); // a request option, not an argument
    expect(args("cpython-3.11+uvloop")).toEqual(["--loop", "uvloop"]);
    expect(args("cpython-3.11+realtime")).toEqual(["--clock", "real"]);
    expect(args("nest_asyncio+realtime")).toEqual(["--loop", "nest_asyncio", "--clock", "real"]);
  });
});

// ---------------------------------------------------------------- on this machine

const listing = listInterpreters();
const row = async (id: string) => (await listing).find((r) => r.id === id);
const has = async (id: string) => (await row(id))?.status === "found";

describe("discovery on this machine", () => {
  it("lists every id of the grammar, found or absent, absent ones with the command that installs them", async () => {
    const rows = await listing;
    const ids = rows.map((r) => r.id);
    for (const v of ["3.8", "3.9", "3.10", "3.11", "3.12", "3.13", "3.14"]) {
      for (const suffix of ["", "+pytask", "+realtime", "+uvloop", "+nest_asyncio"]) expect(ids).toContain(`cpython-${v}${suffix}`);
    }
    expect(ids).toEqual(expect.arrayContaining(["cpython", "nest_asyncio", "pypy-3.9", "pyodide-3.12", "pyodide-3.13", "pyodide-3.14"]));
    for (const r of rows) {
      expect(["found", "absent"], r.id).toContain(r.status);
      if (r.status === "found") {
        expect(r.path, r.id).toBeTruthy();
        expect(r.fullVersion, r.id).toBeTruthy();
      } else {
        expect(r.why, r.id).toBeTruthy();
        expect(r.install, r.id).toBeTruthy();
      }
    }
    for (const r of rows.filter((x) => x.id.startsWith("pyodide-") && x.status === "absent")) expect(r.install).toBe(PEERS_COMMAND);
  });

  it("a release id finds that release: both 3.11s are reachable", async (ctx) => {
    const found = (await listing).filter((r) => /^cpython-3\.11\.\d+$/.test(r.id) && r.status === "found");
    if (found.length < 2) ctx.skip("needs two CPython 3.11 releases (pyenv's 3.11.7 and Debian's 3.11.2)");
    const paths = new Set(found.map((r) => r.path));
    expect(paths.size).toBe(found.length);
    for (const r of found) expect(r.fullVersion).toBe(r.id.slice("cpython-".length));
  });

  it("an absent release says which releases there are", async () => {
    const l = await locate(parseInterpreterId("cpython-3.11.99")!);
    expect(l.status).toBe("absent");
    expect(l.install).toMatch(/^pyenv install 3\.11\.99/);
  });

  it("Pyodide is found in the peers directory, and absent elsewhere with `npm run peers`", async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), "aiospec-no-peers-"));
    const saved = process.env.AIOSPEC_PEERS_DIR;
    process.env.AIOSPEC_PEERS_DIR = empty;
    try {
      const l = await locate(parseInterpreterId("pyodide-3.14")!);
      expect(l).toMatchObject({ status: "absent", install: PEERS_COMMAND });
      await expect(resolveTarget("pyodide-3.14")).rejects.toThrow(/^pyodide-3.14 is not installed here \(Pyodide 314 is not in .*\): run npm run peers$/);
    } finally {
      if (saved === undefined) delete process.env.AIOSPEC_PEERS_DIR;
      else process.env.AIOSPEC_PEERS_DIR = saved;
    }
  });
});

const sleepy: Scenario = {
  aiospec: 1,
  coroutines: [{ name: "main", body: [{ op: "sleep", ticks: 1 }, { op: "log", label: "done" }] }],
} as Scenario;

describe("targets started from interpreter ids", () => {
  it("carry the full version and the clock from the driver's hello", async (ctx) => {
    if (!(await has("cpython-3.11.2"))) ctx.skip("needs Debian's /usr/bin/python3.11 (3.11.2)");
    const t = await target("cpython-3.11.2");
    expect(t).toMatchObject({ id: "cpython-3.11.2", version: "3.11", fullVersion: "3.11.2", clock: "virtual" });
    expect((await t.run(sleepy)).events.some((e) => e.ev === "log")).toBe(true);
  });

  it("+uvloop runs on the real clock, with the tick from the hello", async (ctx) => {
    if (!(await has("cpython-3.11+uvloop"))) ctx.skip("needs uvloop for a CPython 3.11: npm run peers");
    const t = await target("cpython-3.11+uvloop");
    expect(t.clock).toBe("real");
    expect(t.tickMs).toBeGreaterThan(0);
    expect(t.description).toMatch(/on uvloop \d/);
    expect((await t.run(sleepy)).end).toEqual({ kind: "complete" });
  });

  it("pypy-3.9 is a PyPy claiming 3.9, declaring what 3.9 lacks unsupported", async (ctx) => {
    if (!(await has("pypy-3.9"))) ctx.skip("needs PyPy 3.9: npm run peers (apt-get install pypy3)");
    const t = await target("pypy-3.9");
    expect(t.version).toBe("3.9");
    expect(t.description).toMatch(/PyPy/);
    expect(t.unsupported).toContain("taskgroup");
  });

  it("an absent interpreter is one UsageError naming the install command", async (ctx) => {
    if (await has("cpython-3.14")) ctx.skip("this machine has a CPython 3.14: nothing absent to try");
    await expect(resolveTarget("cpython-3.14")).rejects.toThrow(/^cpython-3.14 is not installed here \(no CPython 3.14 found .*\): run pyenv install 3.14/);
  });

  it("the reference cannot follow a version it does not model", async () => {
    await expect(resolveTarget("reference", "3.9")).rejects.toThrow(/reference cannot follow Python 3.9: the reference models 3.11/);
  });
});

describe("restart limits are per clause: resetRestarts", () => {
  const MISBEHAVING = path.resolve(__dirname, "fixtures", "impls", "misbehaving_driver.py");
  const quiet: Scenario = { aiospec: 1, coroutines: [{ name: "main", body: [{ op: "log", label: "x" }] }] } as Scenario;

  it("a target given up on runs again after resetRestarts", async () => {
    const t = await target(`cmd:python3 ${MISBEHAVING} exit`, { maxRestarts: 1 });
    // Each sleeping scenario kills the driver: one restart, then it gives up.
    for (let i = 0; i < 3; i++) await expect(t.run(sleepy)).rejects.toThrow();
    await expect(t.run(quiet)).rejects.toThrow(/given up after 1 restart/);
    t.resetRestarts!();
    expect((await t.run(quiet)).events.some((e) => e.ev === "log")).toBe(true);
    // A fresh budget: one more restart is allowed, then it gives up again, saying the limit is per clause.
    for (let i = 0; i < 3; i++) await expect(t.run(sleepy)).rejects.toThrow();
    await expect(t.run(quiet)).rejects.toThrow(/given up after 1 restart\(s\) .*\(the limit is 1 per clause\)/);
    expect(t.stats!().restarts).toBe(2);
  });
});

describe("the CLI finds what the library finds", () => {
  // bin/aiospec.js runs dist/ when it is current: paths the harness finds
  // relative to its own files (.peers/, the drivers) must not move with it.
  it("aiospec list --json, as a process, lists the same implementations found", async () => {
    const { spawnSync } = await import("node:child_process");
    const bin = path.resolve(__dirname, "..", "bin", "aiospec.js");
    const r = spawnSync(process.execPath, [bin, "list", "--json"], { encoding: "utf8", cwd: os.tmpdir() });
    expect(r.status, r.stderr).toBe(0);
    const rows = (JSON.parse(r.stdout) as { implementations: Array<{ id: string; status: string }> }).implementations;
    const library = await listInterpreters();
    const ids = new Set(library.map((x) => x.id));
    const found = (xs: Array<{ id: string; status: string }>) => xs.filter((x) => ids.has(x.id) && x.status === "found").map((x) => x.id).sort();
    expect(found(library).length).toBeGreaterThan(0);
    expect(found(rows)).toEqual(found(library));
    // And what it finds starts: a Pyodide driver (compiled, it runs from dist/) finds its Pyodide.
    const pyodide = found(rows).find((id) => id.startsWith("pyodide-"));
    if (pyodide !== undefined) {
      const run = spawnSync(process.execPath, [bin, "run", "--impl", pyodide, "--clause", "sleep.zero.once", "--runs", "3", "--seed", "1"], { encoding: "utf8", cwd: os.tmpdir() });
      expect(run.status, `${pyodide}: ${run.stdout}${run.stderr}`).toBe(0);
    }
  }, 300_000);
});
