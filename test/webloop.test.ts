/**
 * The +webloop targets: Pyodide's own event loop (pyodide.webloop.WebLoop),
 * run by implementations/pyodide/driver.js --loop webloop, which awaits each
 * scenario on Node's event loop (implementations/python/aiospec_webloop.py).
 *
 * The grammar and its refusals need nothing installed. The rest needs a
 * Pyodide in the peers directory (`npm run peers`) and is skipped, saying
 * so, without one. Nothing here depends on how fast the machine is: the
 * orders checked are those of setImmediate (first in, first out), and the
 * time limits are far from what the scenarios take.
 */
import { afterAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { driverArgs, listInterpreters, parseInterpreterId } from "../harness/targets/discovery";
import { Target, TargetFailure, UsageError, resolveTarget } from "../harness/targets";
import { runClause } from "../harness/running/runner";
import { selectMatrix } from "../harness/reporting/implementations";
import { loadClauses } from "../harness/running/clauseset";
import type { Scenario } from "../spec/scenario/types";

const ROOT = path.resolve(__dirname, "..");

function refusal(id: string): string {
  try {
    parseInterpreterId(id);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error(`${id} was accepted`);
}

describe("the +webloop ids", () => {
  it("name Pyodide's WebLoop on the real clock, started with --loop webloop", () => {
    for (const v of ["3.12", "3.13", "3.14"]) {
      const p = parseInterpreterId(`pyodide-${v}+webloop`)!;
      expect(p).toMatchObject({ id: `pyodide-${v}+webloop`, family: "pyodide", minor: v, loop: "webloop", realtime: true, pytask: false });
      expect(driverArgs(p)).toEqual(["--loop", "webloop"]);
    }
  });

  it("are refused, in one line, where they make no sense", () => {
    expect(refusal("cpython-3.13+webloop")).toBe(
      `modifier "+webloop" does not apply to cpython-3.13: it is Pyodide's own event loop (pyodide-3.12+webloop, pyodide-3.13+webloop, pyodide-3.14+webloop)`,
    );
    expect(refusal("pypy-3.9+webloop")).toMatch(/^modifier "\+webloop" does not apply to pypy-3.9/);
    expect(refusal("pyodide-3.13+webloop+pytask")).toMatch(/\+pytask and \+webloop cannot be combined \(the WebLoop makes its own tasks/);
    expect(refusal("pyodide-3.13+webloop+uvloop")).toBe(`modifier "+uvloop" does not apply to pyodide-3.13: it takes +pytask, +webloop`);
    expect(refusal("pyodide-3.13+webloop+webloop")).toBe(`"pyodide-3.13+webloop+webloop": +webloop is given twice`);
    expect(refusal("pyodide-3.11+webloop")).toMatch(/Pyodide ids are pyodide-3.12/);
  });

  it("the CLI refuses them with exit code 2 and one line", () => {
    const r = spawnSync(process.execPath, [path.join(ROOT, "bin", "aiospec.js"), "run", "--impl", "cpython-3.12+webloop", "--clause", "sleep.zero.once"], {
      encoding: "utf8",
    });
    expect(r.status, r.stdout + r.stderr).toBe(2);
    expect(r.stderr.trim().split("\n")).toEqual([
      `aiospec: modifier "+webloop" does not apply to cpython-3.12: it is Pyodide's own event loop (pyodide-3.12+webloop, pyodide-3.13+webloop, pyodide-3.14+webloop)`,
    ]);
  });
});

// ---------------------------------------------------------------- with a Pyodide

const listing = listInterpreters();

describe("aiospec list", () => {
  it("lists pyodide-3.X+webloop beside pyodide-3.X, found exactly when that Pyodide is", async () => {
    const rows = await listing;
    for (const v of ["3.12", "3.13", "3.14"]) {
      const plain = rows.find((r) => r.id === `pyodide-${v}`)!;
      const web = rows.find((r) => r.id === `pyodide-${v}+webloop`);
      expect(web, `pyodide-${v}+webloop`).toBeDefined();
      expect(web).toMatchObject({ status: plain.status, path: plain.path, fullVersion: plain.fullVersion, install: plain.install });
    }
  });
});

describe("the committed matrix (aiospec report)", () => {
  it("has one WebLoop row, the newest Pyodide line's, found or absent", async () => {
    const ids = selectMatrix(await listing).map((e) => e.id);
    expect(ids.filter((id) => id.includes("+webloop"))).toEqual(["pyodide-3.14+webloop"]);
    expect(ids.indexOf("pyodide-3.14+webloop")).toBe(ids.indexOf("pyodide-3.14") + 1);
  });
});

/** The newest Pyodide installed, as a +webloop id, or null. */
async function installedWebLoop(): Promise<string | null> {
  const rows = await listing;
  return rows.filter((r) => /^pyodide-3\.\d+\+webloop$/.test(r.id) && r.status === "found").map((r) => r.id).pop() ?? null;
}

const open: Target[] = [];
afterAll(async () => {
  await Promise.all(open.map((t) => t.close()));
});

const cb = (name: string) => ({ name, body: [] });

/** call_later(0) registered before a call_soon (the probe of docs/findings.md). */
const laterThenSoon: Scenario = {
  aiospec: 1,
  coroutines: [
    {
      name: "main",
      body: [
        { op: "call_later", delay: 0, callback: "later0" },
        { op: "call_soon", callback: "soon" },
        { op: "sleep", ticks: 1 },
      ],
    },
  ],
  callbacks: [cb("later0"), cb("soon")],
} as Scenario;

/** A failed task nobody waits for: the WebLoop's own done callback reports it at once, without a message. */
const unretrieved: Scenario = {
  aiospec: 1,
  coroutines: [
    { name: "main", body: [{ op: "create_task", coro: "boom", task: "t" }, { op: "sleep", ticks: 1 }] },
    { name: "boom", body: [{ op: "raise", exc: { type: "ValueError", args: ["boom"] } }] },
  ],
} as Scenario;

const stuck: Scenario = {
  aiospec: 1,
  coroutines: [{ name: "main", body: [{ op: "create_future", future: "f" }, { op: "await", on: { task: "f" } }] }],
} as Scenario;

const long: Scenario = {
  aiospec: 1,
  coroutines: [{ name: "main", body: [{ op: "sleep", ticks: 100_000 }] }],
} as Scenario;

describe("a +webloop target runs scenarios on the WebLoop", () => {
  it("says so in its hello, and runs call_later(0) before a later call_soon (both are setImmediate, first in first out)", async (ctx) => {
    const id = await installedWebLoop();
    if (id === null) ctx.skip("needs a Pyodide in .peers/: npm run peers");
    const t = await resolveTarget(id!, undefined, { timeoutMs: 60_000 });
    open.push(t);
    expect(t.clock).toBe("real");
    expect(t.tickMs).toBeGreaterThan(0);
    expect(t.description).toMatch(/on webloop \d/);
    const ran = (await t.run(laterThenSoon)).events.filter((e) => e.ev === "callback").map((e) => (e as { callback: string }).callback);
    // CPython: soon, then later0 (a timer becomes ready only at the next iteration).
    expect(ran).toEqual(["later0", "soon"]);
    const trace = await t.run(unretrieved);
    expect(trace.end).toEqual({ kind: "complete" });
    const heard = trace.events.filter((e) => e.ev === "exception_handler");
    // CPython says nothing here (it reports "Task exception was never retrieved" when the task is collected).
    expect(heard).toMatchObject([{ message: "None", exc: { type: "ValueError", args: ["boom"] } }]);
    // A deadlock is found by the driver's watchdog, not left to hang.
    expect((await t.run(stuck)).end).toEqual({ kind: "deadlock" });
  }, 120_000);

  it("a scenario that outlasts its time limit gets a timeout verdict, and the run goes on", async (ctx) => {
    const id = await installedWebLoop();
    if (id === null) ctx.skip("needs a Pyodide in .peers/: npm run peers");
    const t = await resolveTarget(id!, undefined, { timeoutMs: 3_000 });
    open.push(t);
    const failure = await t.run(long).then(
      () => null,
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(TargetFailure);
    expect((failure as TargetFailure).verdict).toBe("timeout");
    // A clause runs the real-clock plan on it and passes.
    const clause = loadClauses().find((c) => c.id === "sleep.zero.once")!;
    const r = await runClause(clause, t, { runs: 2, seed: 1 });
    expect(r.status, JSON.stringify(r)).toBe("pass");
  }, 180_000);
});
