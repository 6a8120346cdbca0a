import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { DRIVER_PATH, Target, TargetFailure, findCPython, resolveTarget } from "../harness/targets";
import { differential } from "../harness/running/differential";
import type { Scenario } from "../spec/scenario/types";

function driver(python: string, input: string): any[] {
  const r = spawnSync(python, [DRIVER_PATH], { input, encoding: "utf8" });
  expect(r.status).toBe(0);
  return r.stdout.trim().split("\n").map((l) => JSON.parse(l));
}

const tiny = { aiospec: 1, coroutines: [{ name: "main", body: [{ op: "log", label: "hi" }] }] };
const deadlock = {
  aiospec: 1,
  coroutines: [
    { name: "main", body: [{ op: "create_task", coro: "w", task: "t" }, { op: "await", on: { task: "t" } }] },
    { name: "w", body: [{ op: "create_task", coro: "x", task: "u" }, { op: "await", on: { task: "u" } }] },
    { name: "x", body: [{ op: "await", on: { task: "t" } }] },
  ],
};

const pythons = ["python3", ...["3.12", "3.13"].map((v) => findCPython(v).path).filter(Boolean)];

describe.each(pythons)("the Python driver on %s", (python) => {
  it("introduces itself, answers malformed lines with an error and keeps serving", () => {
    const lines = [
      "this is not json",
      JSON.stringify({ id: 1, scenario: tiny }),
      "[1, 2",
      JSON.stringify({ id: 2, nothing: true }),
      JSON.stringify({ id: 3, scenario: { aiospec: 1, coroutines: [{ name: "main", body: [{ op: "explode" }] }] } }),
      JSON.stringify({ id: 4, scenario: tiny }),
    ];
    const out = driver(python, lines.join("\n") + "\n");
    expect(out[0].hello.protocol).toBe(1);
    expect(out[1]).toMatchObject({ id: null, error: expect.stringMatching(/malformed JSON/) });
    expect(out[2].trace.events.map((e: any) => e.ev)).toEqual(["enter", "log", "exit"]);
    expect(out[3]).toMatchObject({ id: null, error: expect.stringMatching(/malformed JSON/) });
    expect(out[4]).toMatchObject({ id: 2, error: expect.stringMatching(/no scenario/) });
    expect(out[5]).toMatchObject({ id: 3, error: expect.stringMatching(/unknown op/) });
    expect(out[6].id).toBe(4);
    expect(out[6].trace.main).toEqual({ state: "result", value: null });
  });

  it("reports a deadlock as an outcome instead of hanging", () => {
    const out = driver(python, JSON.stringify({ id: 1, scenario: deadlock }) + "\n");
    expect(out[1].trace.end).toEqual({ kind: "deadlock" });
    expect(out[1].trace.main).toEqual({ state: "pending" });
  });

  it("never evaluates scenario text", () => {
    const evil = { aiospec: 1, coroutines: [{ name: "main", body: [{ op: "log", label: "__import__('os').system('false')" }, { op: "raise", exc: { type: "ValueError", args: ["'); exit(3) #"] } }] }] };
    const out = driver(python, JSON.stringify({ id: 1, scenario: evil }) + "\n");
    expect(out[1].trace.events[1].label).toBe("__import__('os').system('false')");
    expect(out[1].trace.main.exc).toEqual({ type: "ValueError", args: ["'); exit(3) #"] });
  });

  it("keeps scenarios apart: a deadlocked scenario's leftovers never reach the next one", () => {
    // w waits on x, x waits on t (w's own task): a deadlock. w's finally
    // block spawns a task; if the leftover coroutine were closed during a
    // later run, that task would land on the later scenario's loop.
    const a = {
      aiospec: 1,
      coroutines: [
        { name: "main", body: [{ op: "create_task", coro: "w", task: "t" }, { op: "await", on: { task: "t" } }] },
        { name: "w", body: [{ op: "create_task", coro: "x", task: "u" },
          { op: "try", body: [{ op: "await", on: { task: "u" } }], finally: [{ op: "create_task", coro: "y", task: "v" }] }] },
        { name: "x", body: [{ op: "sleep", ticks: 1 }, { op: "await", on: { task: "t" } }] },
        { name: "y", body: [{ op: "log", label: "ghost" }] },
      ],
    };
    const b = {
      aiospec: 1,
      coroutines: [
        { name: "main", body: [{ op: "create_task", coro: "k", task: "k1" }, { op: "sleep", ticks: 1 }, { op: "await", on: { gather: [{ coro: "k" }, { coro: "k" }] } }] },
        { name: "k", body: [{ op: "sleep", ticks: 0 }] },
      ],
    };
    const lines: string[] = [];
    for (let i = 0; i < 30; i++) {
      lines.push(JSON.stringify({ id: 2 * i, scenario: a }), JSON.stringify({ id: 2 * i + 1, scenario: b }));
    }
    const out = driver(python, lines.join("\n") + "\n").slice(1);
    const traces = out.filter((r) => r.id % 2 === 1).map((r) => JSON.stringify(r.trace));
    expect(out[0].trace.end).toEqual({ kind: "deadlock" });
    expect(new Set(traces).size).toBe(1);
    expect(traces[0]).not.toContain("ghost");
  });
});

/**
 * Pipelining: a driver whose hello says `"pipeline": N` gets several
 * requests in flight and answers them in order; each still has its own time
 * limit (from when the driver can start on it) and its own verdict, and the
 * requests behind one that killed the driver run on its replacement.
 * Fixture: test/fixtures/pipeline/driver.py (the real driver, but for
 * scenarios that log "hang" or "crash").
 */
describe("pipelined requests to a driver", () => {
  const FIXTURE = path.join(__dirname, "fixtures", "pipeline", "driver.py");
  const logs = (label: string): Scenario => ({ aiospec: 1, coroutines: [{ name: "main", body: [{ op: "log", label }] }] });
  /** Run every scenario at once on the target; each outcome is a trace's log labels or the failure's verdict. */
  async function outcomes(t: Target, scenarios: Scenario[]): Promise<string[]> {
    return Promise.all(
      scenarios.map((s) =>
        t.run(s).then(
          (tr) => tr.events.filter((e) => e.ev === "log").map((e) => (e as { label: string }).label).join(","),
          (e: TargetFailure) => `${e.verdict}: ${e.message}`,
        ),
      ),
    );
  }
  const open = (mode = "", timeoutMs = 3000) => resolveTarget(`cmd:python3 ${FIXTURE}${mode ? ` ${mode}` : ""}`, undefined, { timeoutMs });

  it("the Python driver says it pipelines, and the requests queue up at it", async () => {
    const out = driver("python3", "");
    expect(out[0].hello.pipeline).toBeGreaterThan(1);
    const t = await open("--want-queue");
    try {
      expect(await outcomes(t, ["a", "b", "c", "d"].map(logs))).toEqual(["a", "b", "c", "d"]);
    } finally {
      await t.close();
    }
  }, 60_000);

  it("a request that hangs times out alone; the ones behind it run on the replacement driver", async () => {
    const t = await open("", 3000);
    try {
      const got = await outcomes(t, ["a", "hang", "b", "c"].map(logs));
      expect(got[0]).toBe("a");
      expect(got[1]).toMatch(/^timeout: timed out: no reply after 3000 ms/);
      expect(got.slice(2)).toEqual(["b", "c"]);
      expect(t.stats!()).toMatchObject({ cases: 4, timeouts: 1, errors: 0, restarts: 1 });
    } finally {
      await t.close();
    }
  }, 60_000);

  it("a request that crashes the driver gets the crash; the others their traces", async () => {
    const t = await open();
    try {
      const got = await outcomes(t, ["a", "b", "crash", "c", "d"].map(logs));
      expect(got.slice(0, 2)).toEqual(["a", "b"]);
      expect(got[2]).toMatch(/^crash: the driver exited with code 3.*crashing on request/);
      expect(got.slice(3)).toEqual(["c", "d"]);
      expect(t.stats!()).toMatchObject({ cases: 5, errors: 1, restarts: 1 });
    } finally {
      await t.close();
    }
  }, 60_000);

  it("a driver that says it pipelines but answers out of order is stopped, the request it skipped failing", async () => {
    const t = await open("--out-of-order");
    try {
      const got = await outcomes(t, ["a", "b"].map(logs));
      expect(got[0]).toMatch(/^error: the driver answered request 2 before request 1/);
      expect(got[1]).toBe("b");
    } finally {
      await t.close();
    }
  }, 60_000);

  it("a driver that does not say it pipelines gets one request at a time", async () => {
    const t = await open("--no-pipeline");
    try {
      expect(await outcomes(t, ["a", "b", "c", "d"].map(logs))).toEqual(["a", "b", "c", "d"]);
    } finally {
      await t.close();
    }
  }, 60_000);

  it("diff against a pipelining driver counts the same, and finds the same counterexample, as against one that is not", async () => {
    // The reference agrees with CPython 3.11; the LIFO mutant diverges within a few dozen scenarios.
    for (const [impl, seed] of [["reference@3.11", 5], ["mutant:lifo-ready@3.11", 2]] as const) {
      const a = await resolveTarget(impl);
      const results = [];
      for (const mode of ["", "--no-pipeline"]) {
        const t = await open(mode, 10_000);
        try {
          results.push(await differential(a, t, { runs: 300, seed }));
        } finally {
          await t.close();
        }
      }
      const [piped, single] = results.map(({ elapsedMs, ...rest }) => rest);
      expect(piped.compared).toBeGreaterThan(impl === "reference@3.11" ? 200 : 0);
      expect(piped.divergence === undefined).toBe(impl === "reference@3.11");
      expect(piped).toEqual(single);
    }
  }, 300_000);
});
